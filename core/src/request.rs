//! Building form POST requests to the server's endpoints, and the one-shot flow that sends one.
//!
//! Every endpoint that takes a client-authenticated form (token, revocation, introspection, and
//! later device authorization, PAR and CIBA) goes through [`EndpointCall`]; every exchange that
//! sends once and parses once is a [`OneShot`]. Flows are thin named wrappers around these.

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderValue, Method};
use url::form_urlencoded;

use crate::client_auth::{AUTH_PARAMS, AuthContext, AuthTarget};
use crate::error::{ConfigError, EndpointKind, Misuse};
use crate::flow::Step;
use crate::{Client, Error, Now};

/// Form parameters, in order. Values may be secrets: never print them.
pub(crate) type Params = Vec<(String, String)>;

/// A client-authenticated form POST to one endpoint, rebuilt on every call (so per-request
/// credentials such as a JWT's `jti` are fresh).
#[derive(Clone)]
pub(crate) struct EndpointCall {
    client: Client,
    kind: EndpointKind,
    params: Params,
}

impl std::fmt::Debug for EndpointCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointCall")
            .field("client_id", &self.client.client_id())
            .field("endpoint", &self.kind)
            .field(
                "params",
                &self.params.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl EndpointCall {
    /// A call to `kind` with the flow's own `params` and the caller's `extra` ones.
    ///
    /// Fails when the client lacks the endpoint, or when an extra parameter would override one
    /// that grantline sets (the flow's own, or client authentication's).
    pub(crate) fn new(
        client: &Client,
        kind: EndpointKind,
        mut params: Params,
        extra: &[(String, String)],
    ) -> Result<Self, Error> {
        client.require_endpoint(kind)?;
        let own = params.len();
        for (name, value) in extra {
            let taken = AUTH_PARAMS.contains(&name.as_str())
                || params.iter().take(own).any(|(n, _)| n == name);
            if taken {
                return Err(ConfigError::ReservedParameter(name.clone()).into());
            }
            params.push((name.clone(), value.clone()));
        }
        // Extra parameters may repeat among themselves (`resource` does), so they are only
        // checked against what grantline sets.
        Ok(Self {
            client: client.clone(),
            kind,
            params,
        })
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
        };
        let mut target = AuthTarget::default();
        self.client.auth().authenticate(&ctx, &mut target)?;

        // A parameter the flow already sends with the same value (PAR's `client_id`) is not
        // sent twice.
        let auth_params = target
            .params
            .iter()
            .filter(|(name, value)| !self.params.iter().any(|(n, v)| n == name && v == value));
        let pairs = || self.params.iter().chain(auth_params.clone());
        // The body's exact length first, so that it is written into one allocation.
        let length = pairs()
            .map(|(name, value)| encoded_len(name) + encoded_len(value) + 2)
            .sum::<usize>();
        let mut form = form_urlencoded::Serializer::new(String::with_capacity(length));
        for (name, value) in pairs() {
            form.append_pair(name, value);
        }
        let body = form.finish().into_bytes();

        let mut builder = http::Request::builder()
            .method(Method::POST)
            .uri(endpoint.as_str())
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(headers) = builder.headers_mut() {
            headers.extend(target.headers);
            #[cfg(feature = "jose")]
            if let Some(proof) = self.dpop_proof(endpoint, now)? {
                headers.insert("dpop", proof);
            }
        }
        builder.body(body).map_err(|_| {
            Error::Config(ConfigError::InvalidEndpoint {
                kind: self.kind,
                reason: "it cannot be used as an HTTP request URI",
            })
        })
    }
}

/// The length of `text` form-urlencoded, as [`form_urlencoded::byte_serialize`] writes it: the
/// unreserved bytes and `+` for a space take one byte, any other byte three (`%XX`).
fn encoded_len(text: &str) -> usize {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_' | b' ') {
                1
            } else {
                3
            }
        })
        .sum()
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

/// What a one-shot flow sends.
#[derive(Debug, Clone)]
pub(crate) enum Call {
    /// A client-authenticated form POST.
    Form(EndpointCall),
    /// A plain GET of a document.
    Document(DocumentCall),
}

impl Call {
    fn build(&self, now: Now) -> Result<http::Request<Vec<u8>>, Error> {
        match self {
            Call::Form(call) => call.build(now),
            Call::Document(call) => call.build(),
        }
    }
}

impl From<EndpointCall> for Call {
    fn from(call: EndpointCall) -> Self {
        Call::Form(call)
    }
}

impl From<DocumentCall> for Call {
    fn from(call: DocumentCall) -> Self {
        Call::Document(call)
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
            if !dpop.allow_bearer && token.token_type() != &crate::TokenType::DPoP {
                return Err(crate::error::InvalidResponse::new(
                    "token_type",
                    "is not DPoP, though the request carried a DPoP proof (the server did not bind the token; allow it with dpop_allow_bearer)",
                )
                .into());
            }
        }
        let _ = token;
        Ok(())
    }
}

/// Parses a response into a flow's output (a closure, so a parser can carry what it checks
/// against, such as an expected issuer).
pub(crate) type Parser<T> =
    Box<dyn Fn(&http::Response<Vec<u8>>, Now) -> Result<T, Error> + Send + Sync>;

/// A flow that sends one request and parses one response.
pub(crate) struct OneShot<T> {
    nonce_retried: bool,
    call: Call,
    parse: Parser<T>,
    state: State<T>,
}

enum State<T> {
    /// Nothing sent yet, or a request is out and may be sent again.
    Ready { awaiting: bool },
    /// The output is ready to hand out.
    Finished(T),
    /// The output was handed out.
    Done,
    /// The server's answer was an error.
    Failed,
}

impl<T> std::fmt::Debug for OneShot<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Ready { awaiting: false } => "ready",
            State::Ready { awaiting: true } => "awaiting response",
            State::Finished(_) => "finished",
            State::Done => "done",
            State::Failed => "failed",
        };
        f.debug_struct("OneShot")
            .field("call", &self.call)
            .field("state", &state)
            .finish()
    }
}

impl<T> OneShot<T> {
    /// The form call, if this one-shot sends one.
    pub(crate) fn form_call(&self) -> Option<&EndpointCall> {
        match &self.call {
            Call::Form(call) => Some(call),
            Call::Document(_) => None,
        }
    }

    pub(crate) fn new(
        call: impl Into<Call>,
        parse: impl Fn(&http::Response<Vec<u8>>, Now) -> Result<T, Error> + Send + Sync + 'static,
    ) -> Self {
        Self {
            nonce_retried: false,
            call: call.into(),
            parse: Box::new(parse),
            state: State::Ready { awaiting: false },
        }
    }

    pub(crate) fn next(&mut self, now: Now) -> Result<Step<T>, Error> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Ready { awaiting } => match self.call.build(now) {
                Ok(request) => {
                    self.state = State::Ready { awaiting: true };
                    Ok(Step::Send(request))
                }
                Err(e) => {
                    self.state = State::Ready { awaiting };
                    Err(e)
                }
            },
            State::Finished(output) => Ok(Step::Done(output)),
            State::Done => Err(Misuse::AlreadyDone.into()),
            State::Failed => {
                self.state = State::Failed;
                Err(Misuse::AlreadyFailed.into())
            }
        }
    }

    pub(crate) fn handle_response(
        &mut self,
        response: &http::Response<Vec<u8>>,
        now: Now,
    ) -> Result<(), Error> {
        if !matches!(self.state, State::Ready { awaiting: true }) {
            return Err(Misuse::UnexpectedResponse.into());
        }
        if let Call::Form(call) = &self.call {
            // One more try with the server's fresh nonce; a second `use_dpop_nonce` in a row
            // is the server's error, not a loop.
            if call.dpop_retry(response) && !self.nonce_retried {
                self.nonce_retried = true;
                self.state = State::Ready { awaiting: false };
                return Ok(());
            }
        }
        match (self.parse)(response, now) {
            Ok(output) => {
                self.state = State::Finished(output);
                Ok(())
            }
            Err(e) => {
                self.state = State::Failed;
                Err(e)
            }
        }
    }
}

/// Implements [`Flow`](crate::Flow) for a public wrapper around a [`OneShot`] in field `0`.
macro_rules! one_shot_flow {
    ($flow:ty, $output:ty) => {
        impl $crate::Flow for $flow {
            type Output = $output;

            fn next(
                &mut self,
                now: $crate::Now,
            ) -> Result<$crate::Step<Self::Output>, $crate::Error> {
                self.0.next(now)
            }

            fn handle_response(
                &mut self,
                response: http::Response<Vec<u8>>,
                now: $crate::Now,
            ) -> Result<(), $crate::Error> {
                self.0.handle_response(&response, now)
            }
        }
    };
}
pub(crate) use one_shot_flow;

#[cfg(test)]
mod tests {
    use super::*;

    fn serialized_len(text: &str) -> usize {
        form_urlencoded::byte_serialize(text.as_bytes())
            .map(str::len)
            .sum()
    }

    #[test]
    fn the_encoded_length_is_what_the_serializer_writes() {
        let ascii: String = (0..=0x7f_u8).map(char::from).collect();
        for text in [
            "",
            "client_credentials",
            "api:read write",
            "https://api.example/?a=b&c=d#f",
            "é ü ✓ 🦀",
            "s3cr3t+/=%*-._~",
            &ascii,
        ] {
            assert_eq!(encoded_len(text), serialized_len(text), "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_encoded_length_of_any_text_is_what_the_serializer_writes(text in ".*") {
            proptest::prop_assert_eq!(encoded_len(&text), serialized_len(&text));
        }
    }
}
