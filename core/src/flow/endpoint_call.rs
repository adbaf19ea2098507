//! Building the requests to the server's endpoints.
//!
//! Every endpoint that takes a client-authenticated form (token, revocation, introspection,
//! device authorization, PAR and CIBA) goes through [`EndpointCall`]; a plain `GET` of a
//! document or a JSON request with a bearer token goes through [`DocumentCall`].

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderValue, Method};
use url::form_urlencoded;

use crate::EndpointKind;
use crate::client_auth::{AUTH_PARAMS, AuthContext, AuthTarget};
use crate::error::ConfigError;
use crate::{Client, Error, Now};

/// Form parameters, in order. Values may be secrets: never print them.
pub(crate) type Params = Vec<(String, String)>;

/// A client-authenticated form POST to one endpoint, rebuilt on every call (so per-request
/// credentials such as a JWT's `jti` are fresh).
#[derive(Clone)]
pub(crate) struct EndpointCall {
    client: Client,
    kind: EndpointKind,
    /// The flow's own parameters and the caller's extra ones, form-urlencoded once: they are
    /// the same in every request the call builds.
    form: String,
    /// Parameters whose value a source gives anew for every request (a JWT bearer assertion, a
    /// subject token), written after `form`.
    dynamic: Vec<(
        &'static str,
        std::sync::Arc<dyn crate::assertion::AssertionSource>,
    )>,
    /// The media type asked for (`Accept`): JSON, unless a flow wants another (a signed
    /// introspection answer, RFC 9701).
    accept: &'static str,
}

impl std::fmt::Debug for EndpointCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointCall")
            .field("client_id", &self.client.client_id())
            .field("endpoint", &self.kind)
            .field("params", &form_names(&self.form).collect::<Vec<_>>())
            .field("asked_each_time", &self.dynamic)
            .finish()
    }
}

/// The (encoded) names of a form's parameters, in order; never their values.
fn form_names(form: &str) -> impl Iterator<Item = &str> {
    form.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').map_or(pair, |(name, _)| name))
}

impl EndpointCall {
    /// A call to `kind` with the flow's own `params` and the caller's `extra` ones.
    ///
    /// Fails when the client lacks the endpoint, or when an extra parameter would override one
    /// that grantline sets (the flow's own, or client authentication's).
    pub(crate) fn new(
        client: &Client,
        kind: EndpointKind,
        params: Params,
        extra: &[(String, String)],
    ) -> Result<Self, Error> {
        let own = |name: &str| params.iter().any(|(n, _)| n == name);
        check_extra(extra, own)?;
        let mut form = Form::new();
        for (name, value) in params.iter().chain(extra) {
            form.pair(name, value);
        }
        Self::with_form(client, kind, form)
    }

    /// A call to `kind` with a form the caller wrote (and checked: see [`check_extra`]).
    ///
    /// Fails when the client lacks the endpoint.
    pub(crate) fn with_form(
        client: &Client,
        kind: EndpointKind,
        form: Form,
    ) -> Result<Self, Error> {
        client.require_endpoint(kind)?;
        Ok(Self {
            client: client.clone(),
            kind,
            form: form.into_string(),
            dynamic: Vec::new(),
            accept: "application/json",
        })
    }

    /// Asks for `media_type` (`Accept`) instead of JSON.
    #[cfg_attr(not(feature = "jose"), allow(dead_code))]
    pub(crate) fn with_accept(mut self, media_type: &'static str) -> Self {
        self.accept = media_type;
        self
    }

    /// Adds a parameter whose value `source` gives for every request built.
    pub(crate) fn with_dynamic(
        mut self,
        name: &'static str,
        source: std::sync::Arc<dyn crate::assertion::AssertionSource>,
    ) -> Self {
        self.dynamic.push((name, source));
        self
    }

    /// The request, with client authentication applied at `now`.
    pub(crate) fn build(&self, now: Now) -> Result<http::Request<Vec<u8>>, Error> {
        let endpoint = self.client.require_endpoint(self.kind)?;
        let ctx = AuthContext {
            client_id: self.client.client_id(),
            endpoint,
            endpoint_kind: self.kind,
            now,
            randomness: self.client.randomness(),
            fapi2_issuer: self
                .client
                .is_fapi2()
                .then(|| self.client.issuer())
                .flatten(),
        };
        // The request's own headers: client authentication adds to (or replaces in) them.
        let mut headers = http::HeaderMap::with_capacity(4);
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        headers.insert(ACCEPT, HeaderValue::from_static(self.accept));
        let mut target = AuthTarget {
            headers,
            params: Vec::new(),
        };
        self.client.auth().authenticate(&ctx, &mut target)?;

        // A parameter the flow already sends with the same value (PAR's `client_id`) is not
        // sent twice.
        let auth_params = target.params.iter().filter(|(name, value)| {
            !self
                .form
                .split('&')
                .any(|pair| is_encoded_pair(pair, name, value))
        });
        let mut body = form_urlencoded::Serializer::for_suffix(self.form.clone(), 0);
        for (name, source) in &self.dynamic {
            body.append_pair(name, source.assertion(&ctx)?.secret());
        }
        body.extend_pairs(auth_params);

        #[cfg(feature = "jose")]
        if let Some(proof) = self.dpop_proof(endpoint, now)? {
            target.headers.insert("dpop", proof);
        }
        let uri = http::Uri::try_from(endpoint.as_str()).map_err(|_| {
            Error::Config(ConfigError::InvalidEndpoint {
                kind: self.kind,
                reason: "it cannot be used as an HTTP request URI",
            })
        })?;
        let mut request = http::Request::new(body.finish().into_bytes());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri;
        *request.headers_mut() = target.headers;
        Ok(request)
    }
}

/// Refuses an extra parameter that would override one grantline sets: client authentication's,
/// or one the flow sends itself (`own` tells which names those are).
///
/// Extra parameters may repeat among themselves (`resource` does), so they are only checked
/// against what grantline sets.
pub(crate) fn check_extra(
    extra: &[(String, String)],
    own: impl Fn(&str) -> bool,
) -> Result<(), Error> {
    match extra
        .iter()
        .find(|(name, _)| AUTH_PARAMS.contains(&name.as_str()) || own(name))
    {
        Some((name, _)) => Err(ConfigError::ReservedParameter(name.clone()).into()),
        None => Ok(()),
    }
}

/// An `application/x-www-form-urlencoded` body being written.
pub(crate) struct Form(form_urlencoded::Serializer<'static, String>);

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Form")
    }
}

impl Form {
    /// An empty form.
    pub(crate) fn new() -> Self {
        Self(form_urlencoded::Serializer::new(String::new()))
    }

    /// Appends `name=value`.
    pub(crate) fn pair(&mut self, name: &str, value: &str) {
        self.0.append_pair(name, value);
    }

    /// The encoded form.
    pub(crate) fn into_string(mut self) -> String {
        self.0.finish()
    }
}

/// Whether `pair` (one `&`-separated piece of an encoded form) is `name=value`. The encoding is
/// canonical, so comparing encoded text compares the decoded pair, without decoding it.
fn is_encoded_pair(pair: &str, name: &str, value: &str) -> bool {
    let mut rest = pair;
    let mut eat = |piece: &str| match rest.strip_prefix(piece) {
        Some(after) => {
            rest = after;
            true
        }
        None => false,
    };
    form_urlencoded::byte_serialize(name.as_bytes()).all(&mut eat)
        && eat("=")
        && form_urlencoded::byte_serialize(value.as_bytes()).all(&mut eat)
        && rest.is_empty()
}

/// A request that is not a client-authenticated form: an unauthenticated `GET` of a document
/// (server metadata, a JWK Set), or a JSON request with a bearer token (client registration and
/// its management, RFC 7591/7592). Always with `Accept: application/json`.
#[derive(Clone)]
pub(crate) struct DocumentCall {
    url: url::Url,
    kind: EndpointKind,
    method: Method,
    bearer: Option<String>,
    json: Option<Vec<u8>>,
}

impl std::fmt::Debug for DocumentCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentCall")
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .field("bearer", &self.bearer.as_ref().map(|_| "[redacted]"))
            .field("json", &self.json.as_ref().map(Vec::len))
            .finish()
    }
}

impl DocumentCall {
    /// `GET url`.
    pub(crate) fn new(url: url::Url, kind: EndpointKind) -> Self {
        Self {
            url,
            kind,
            method: Method::GET,
            bearer: None,
            json: None,
        }
    }

    /// With another method.
    pub(crate) fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// With `Authorization: Bearer token` (marked sensitive).
    pub(crate) fn bearer(mut self, token: Option<String>) -> Self {
        self.bearer = token;
        self
    }

    /// With a JSON body.
    pub(crate) fn json(mut self, body: Vec<u8>) -> Self {
        self.json = Some(body);
        self
    }

    pub(crate) fn build(&self) -> Result<http::Request<Vec<u8>>, Error> {
        let invalid = |_| {
            Error::Config(ConfigError::InvalidEndpoint {
                kind: self.kind,
                reason: "it cannot be used as an HTTP request URI",
            })
        };
        let mut builder = http::Request::builder()
            .method(self.method.clone())
            .uri(self.url.as_str())
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(token) = &self.bearer {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                ConfigError::InvalidCredentials("the token cannot be put in an HTTP header")
            })?;
            value.set_sensitive(true);
            builder = builder.header(http::header::AUTHORIZATION, value);
        }
        match &self.json {
            Some(body) => builder
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body.clone())
                .map_err(invalid),
            None => builder.body(Vec::new()).map_err(invalid),
        }
    }
}

#[cfg(feature = "jose")]
impl EndpointCall {
    /// Whether this call carries DPoP proofs: the client has a key, and the endpoint is one
    /// that binds tokens (the token endpoint) or takes proofs (PAR).
    fn uses_dpop(&self) -> bool {
        self.client.dpop().is_some()
            && matches!(
                self.kind,
                EndpointKind::Token | EndpointKind::PushedAuthorization
            )
    }

    fn dpop_proof(&self, endpoint: &url::Url, now: Now) -> Result<Option<HeaderValue>, Error> {
        let Some(dpop) = self.client.dpop().filter(|_| self.uses_dpop()) else {
            return Ok(None);
        };
        let nonce = dpop.nonces.get(endpoint.as_str());
        let proof = dpop.key.proof(
            "POST",
            endpoint.as_str(),
            now.wall(),
            self.client.randomness(),
            nonce.as_deref(),
            None,
        )?;
        let mut value = HeaderValue::from_str(&proof).map_err(|_| {
            ConfigError::InvalidCredentials("the DPoP proof cannot be put in an HTTP header")
        })?;
        value.set_sensitive(true);
        Ok(Some(value))
    }
}

impl EndpointCall {
    /// Takes what a response says about DPoP: remembers its nonce, and tells whether the request
    /// should be sent again with it (a `use_dpop_nonce` answer to a request that carried a
    /// proof).
    pub(crate) fn dpop_retry(&self, response: &http::Response<Vec<u8>>) -> bool {
        #[cfg(feature = "jose")]
        if self.uses_dpop() {
            if let (Some(dpop), Ok(endpoint)) =
                (self.client.dpop(), self.client.require_endpoint(self.kind))
            {
                dpop.nonces
                    .remember_from(endpoint.as_str(), response.headers());
            }
            return crate::dpop::asks_for_nonce(response);
        }
        let _ = response;
        false
    }

    /// Whether `token` is bound as the client asked: with DPoP on (and Bearer not allowed), its
    /// type must be `DPoP`.
    pub(crate) fn check_binding(&self, token: &crate::TokenResponse) -> Result<(), Error> {
        #[cfg(feature = "jose")]
        if let Some(dpop) = self
            .client
            .dpop()
            .filter(|_| self.kind == EndpointKind::Token)
        {
            if self.client.is_fapi2() && token.token_type() != &crate::TokenType::DPoP {
                return Err(crate::error::ValidationError::Fapi2(
                    crate::error::Fapi2Rule::SenderConstrainedTokens,
                )
                .into());
            }
            if !dpop.allow_bearer && token.token_type() != &crate::TokenType::DPoP {
                return Err(crate::error::InvalidResponse::new(
                    "token_type",
                    "is not DPoP, though the request carried a DPoP proof (the server did not bind the token; allow it with insecure_dpop_allow_bearer)",
                )
                .into());
            }
        }
        let _ = token;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`form_urlencoded::Serializer`] writes for `pairs`.
    fn serialized(pairs: &[(String, String)]) -> String {
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs {
            form.append_pair(name, value);
        }
        form.finish()
    }

    fn client(auth: impl crate::client_auth::ClientAuthentication + 'static) -> Client {
        Client::builder("c i")
            .token_endpoint("https://as.example/token?tenant=t1")
            .auth(auth)
            .build()
            .unwrap()
    }

    fn owned(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn body_pairs(request: &http::Request<Vec<u8>>) -> Vec<(String, String)> {
        form_urlencoded::parse(request.body())
            .into_owned()
            .collect()
    }

    #[test]
    fn a_call_posts_the_form_with_its_headers() {
        let call = EndpointCall::new(
            &client(crate::client_auth::ClientSecretBasic::new("s")),
            EndpointKind::Token,
            owned(&[("grant_type", "client_credentials"), ("scope", "a b")]),
            &owned(&[("resource", "urn:r"), ("resource", "urn:s")]),
        )
        .unwrap();
        let request = call.build(Now::system()).unwrap();
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.uri(), "https://as.example/token?tenant=t1");
        assert_eq!(
            request.headers()[CONTENT_TYPE],
            "application/x-www-form-urlencoded"
        );
        assert_eq!(request.headers()[ACCEPT], "application/json");
        let authorization = &request.headers()[http::header::AUTHORIZATION];
        assert!(authorization.is_sensitive());
        assert_eq!(request.headers().len(), 3);
        assert_eq!(
            request.body(),
            b"grant_type=client_credentials&scope=a+b&resource=urn%3Ar&resource=urn%3As"
        );
        // Built again: the same request.
        let again = call.build(Now::system()).unwrap();
        assert_eq!(again.body(), request.body());
        assert_eq!(again.headers(), request.headers());
    }

    #[test]
    fn extra_parameters_may_not_override_grantlines() {
        let client = client(crate::client_auth::ClientSecretPost::new("s"));
        for name in [
            "grant_type",
            "client_id",
            "client_secret",
            "client_assertion",
        ] {
            let e = EndpointCall::new(
                &client,
                EndpointKind::Token,
                owned(&[("grant_type", "x")]),
                &owned(&[("ok", "1"), (name, "v")]),
            )
            .unwrap_err();
            assert!(
                matches!(e, Error::Config(ConfigError::ReservedParameter(ref n)) if n == name),
                "{name}"
            );
        }
        // Extra parameters may repeat among themselves.
        EndpointCall::new(
            &client,
            EndpointKind::Token,
            Params::new(),
            &owned(&[("k", "1"), ("k", "2")]),
        )
        .unwrap();
    }

    #[test]
    fn an_auth_parameter_the_flow_already_sends_is_sent_once() {
        let client = client(crate::client_auth::ClientSecretPost::new("s&t"));
        let call = EndpointCall::new(
            &client,
            EndpointKind::Token,
            owned(&[("client_id", "c i"), ("x", "client_id=c+i")]),
            &[],
        )
        .unwrap();
        let request = call.build(Now::system()).unwrap();
        assert_eq!(
            body_pairs(&request),
            owned(&[
                ("client_id", "c i"),
                ("x", "client_id=c+i"),
                ("client_secret", "s&t")
            ])
        );
        // The same name with another value is not the same parameter.
        let call = EndpointCall::new(
            &client,
            EndpointKind::Token,
            owned(&[("client_id", "other")]),
            &[],
        )
        .unwrap();
        let request = call.build(Now::system()).unwrap();
        assert_eq!(
            body_pairs(&request),
            owned(&[
                ("client_id", "other"),
                ("client_id", "c i"),
                ("client_secret", "s&t")
            ])
        );
    }

    #[test]
    fn debug_shows_parameter_names_only() {
        let call = EndpointCall::new(
            &client(crate::client_auth::PublicClient),
            EndpointKind::Token,
            owned(&[("refresh_token", "RT-SECRET"), ("empty", "")]),
            &owned(&[("x y", "VALUE")]),
        )
        .unwrap();
        let shown = format!("{call:?}");
        assert!(
            shown.contains(r#"["refresh_token", "empty", "x+y"]"#),
            "{shown}"
        );
        assert!(
            !shown.contains("RT-SECRET") && !shown.contains("VALUE"),
            "{shown}"
        );
    }

    proptest::proptest! {
        #[test]
        fn an_encoded_pair_is_recognised_as_its_decoded_one(
            name in ".{0,8}", value in ".{0,8}", other_name in ".{0,8}", other_value in ".{0,8}"
        ) {
            let form = serialized(&[(other_name.clone(), other_value.clone())]);
            proptest::prop_assert_eq!(
                is_encoded_pair(&form, &name, &value),
                name == other_name && value == other_value
            );
            let form = serialized(&[(name.clone(), value.clone())]);
            proptest::prop_assert!(is_encoded_pair(&form, &name, &value));
        }
    }
}
