//! The authorization request: the URL a person opens (RFC 6749 §4.1.1).

use std::time::Duration;

use url::Url;

use super::pending::PendingAuthorization;
use super::pkce::{PkceMethod, check_verifier, encode_token, random_bytes};
use super::pushed::PushFlow;
use super::redirect_uri::RedirectUri;
use crate::EndpointKind;
use crate::error::{ConfigError, Fapi2Rule};
use crate::flow::{EndpointCall, Params};
use crate::{Client, Error, Scope};

/// Parameters grantline sets itself, which [`AuthorizationRequest::param`] refuses.
const RESERVED: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "request_uri",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
];

/// A request object's signer and time, when the request is to be signed.
#[cfg(feature = "jose")]
type Signing = (
    std::sync::Arc<dyn crate::jose::JwsSigner>,
    std::time::SystemTime,
);
/// Without the `jose` feature there is nothing to sign with.
#[cfg(not(feature = "jose"))]
type Signing = ();

/// How PKCE is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pkce {
    On(PkceMethod),
    Off,
}

/// An authorization request being built. Made by [`Client::authorization_request`].
///
/// ```
/// use std::time::Duration;
///
/// let client = grantline::Client::builder("app")
///     .redirect_uri("https://app.example/callback")
///     .issuer("https://as.example")
///     .authorization_endpoint("https://as.example/authorize")
///     .token_endpoint("https://as.example/token")
///     .jwks_uri("https://as.example/jwks") // with openid, the exchange validates the ID token
///     .build()?;
/// let (url, _pending) = client
///     .authorization_request()
///     .scope("openid email")
///     .prompt("login consent")
///     .max_age(Duration::from_secs(3600))
///     .login_hint("alice@example.com")
///     .ui_locales("fr-CA fr en")
///     .acr_values("urn:mace:incommon:iap:silver")
///     .claims(r#"{"id_token":{"email_verified":null}}"#)
///     .resource("https://api.example/")
///     .response_mode("form_post")
///     .param("audience", "api")
///     .into_redirect()?;
/// let names: Vec<_> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
/// for expected in ["response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
///                  "code_challenge", "code_challenge_method", "prompt", "max_age", "login_hint",
///                  "ui_locales", "acr_values", "claims", "resource", "response_mode", "audience"] {
///     assert!(names.iter().any(|n| n == expected), "{expected}");
/// }
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Clone)]
#[must_use = "an authorization request does nothing until into_redirect or into_pushed"]
pub struct AuthorizationRequest {
    client: Client,
    /// This request's own redirect URI, instead of the client's.
    redirect_uri: Option<RedirectUri>,
    scope: Option<Scope>,
    state: Option<String>,
    nonce: Option<String>,
    code_verifier: Option<String>,
    pkce: Pkce,
    params: Params,
    invalid: Option<ConfigError>,
    /// The named opt-out of ID token validation (and of the setup it needs).
    skip_id_token_validation: bool,
    /// Sign the parameters into a request object (RFC 9101) with this signer, at this time.
    #[cfg(feature = "jose")]
    request_object: Option<(
        std::sync::Arc<dyn crate::jose::JwsSigner>,
        std::time::SystemTime,
    )>,
}

impl std::fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("client_id", &self.client.client_id())
            .field("redirect_uri", &self.redirect_uri_or_client())
            .field("scope", &self.scope)
            .field("pkce", &self.pkce)
            .field(
                "params",
                &self.params.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts an authorization request that will come back to the client's redirect URI
    /// ([`ClientBuilder::redirect_uri`](crate::ClientBuilder::redirect_uri)), or to the one
    /// given with [`AuthorizationRequest::redirect_uri`].
    ///
    /// ```
    /// let client = grantline::Client::builder("app")
    ///     .redirect_uri("http://127.0.0.1:8765/callback")
    ///     .build()?;
    /// let request = client.authorization_request();
    /// # let _ = request;
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn authorization_request(&self) -> AuthorizationRequest {
        AuthorizationRequest {
            client: self.clone(),
            redirect_uri: None,
            scope: None,
            state: None,
            nonce: None,
            code_verifier: None,
            pkce: Pkce::On(PkceMethod::S256),
            params: Params::new(),
            invalid: None,
            skip_id_token_validation: false,
            #[cfg(feature = "jose")]
            request_object: None,
        }
    }
}

impl AuthorizationRequest {
    /// Comes back to `redirect_uri` instead of the client's redirect URI (a loopback port
    /// chosen at run time, one redirect URI per tenant, ...).
    ///
    /// ```
    /// use grantline::authorization::RedirectUri;
    /// # let client = grantline::Client::builder("app")
    /// #     .authorization_endpoint("https://as.example/authorize")
    /// #     .token_endpoint("https://as.example/token")
    /// #     .build()?;
    /// let redirect_uri = RedirectUri::new("http://127.0.0.1:49152/callback")?;
    /// let (_url, pending) = client.authorization_request().redirect_uri(redirect_uri).into_redirect()?;
    /// assert_eq!(pending.redirect_uri(), "http://127.0.0.1:49152/callback");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn redirect_uri(mut self, redirect_uri: RedirectUri) -> Self {
        self.redirect_uri = Some(redirect_uri);
        self
    }

    /// The redirect URI the request will carry, if it has one.
    fn redirect_uri_or_client(&self) -> Option<&RedirectUri> {
        self.redirect_uri.as_ref().or(self.client.redirect_uri())
    }

    /// Sets the scope. With `openid` in it, a `nonce` is generated (unless given).
    ///
    /// ```
    /// # let client = grantline::Client::builder("app").build().unwrap();
    /// let _ = client.authorization_request().scope(["openid", "profile"]);
    /// ```
    pub fn scope(mut self, scope: impl Into<Scope>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Uses this `state` instead of a generated one (at least 128 bits of entropy, please).
    ///
    /// ```
    /// # let client = grantline::Client::builder("app").build().unwrap();
    /// let _ = client.authorization_request().state("af0ifjsldkj-3x9r-2c");
    /// ```
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// Uses this `nonce` (sent even without `openid` in scope).
    ///
    /// ```
    /// # let client = grantline::Client::builder("app").build().unwrap();
    /// let _ = client.authorization_request().nonce("n-0S6_WzA2Mj");
    /// ```
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// Uses this PKCE code verifier instead of a generated one (43 to 128 unreserved
    /// characters, RFC 7636 §4.1).
    ///
    /// ```
    /// # let client = grantline::Client::builder("app").build().unwrap();
    /// let _ = client
    ///     .authorization_request()
    ///     .code_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    /// ```
    pub fn code_verifier(mut self, verifier: impl Into<String>) -> Self {
        self.code_verifier = Some(verifier.into());
        self
    }

    /// Uses PKCE with the `plain` method. Only for a server that cannot do `S256`: a `plain`
    /// challenge is the verifier itself, so it protects nothing if the request is seen.
    ///
    /// ```
    /// # let client = grantline::Client::builder("app").build().unwrap();
    /// let _ = client.authorization_request().insecure_pkce_plain();
    /// ```
    pub fn insecure_pkce_plain(mut self) -> Self {
        self.pkce = Pkce::On(PkceMethod::Plain);
        self
    }

    /// Sends no PKCE at all. Only for a server that rejects it: without PKCE a stolen code can
    /// be exchanged by whoever steals it.
    ///
    /// ```
    /// # let client = grantline::Client::builder("app").build().unwrap();
    /// let _ = client.authorization_request().insecure_without_pkce();
    /// ```
    pub fn insecure_without_pkce(mut self) -> Self {
        self.pkce = Pkce::Off;
        self
    }

    /// Does not validate the ID token the code exchange returns, and so does not need the
    /// issuer's JWK Set URL or issuer. The same opt-out as
    /// [`CodeExchangeFlow::insecure_skip_id_token_validation`](super::CodeExchangeFlow::insecure_skip_id_token_validation),
    /// made before the person is sent away. Only for a server whose ID tokens cannot be
    /// validated: without validation, an ID token proves nothing about who logged in.
    ///
    /// ```
    /// let client = grantline::Client::builder("app")
    ///     .authorization_endpoint("https://as.example/authorize")
    ///     .token_endpoint("https://as.example/token")
    ///     .redirect_uri("https://app.example/cb")
    ///     .build()?;
    /// // No JWK Set URL and no issuer: refused, unless validation is given up by name.
    /// assert!(client.authorization_request().scope("openid").into_redirect().is_err());
    /// let (_url, _pending) = client
    ///     .authorization_request()
    ///     .scope("openid")
    ///     .insecure_skip_id_token_validation()
    ///     .into_redirect()?;
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn insecure_skip_id_token_validation(mut self) -> Self {
        self.skip_id_token_validation = true;
        self
    }

    fn push(mut self, name: &str, value: impl Into<String>) -> Self {
        self.params.push((name.to_owned(), value.into()));
        self
    }

    /// `prompt`: space-separated `none`, `login`, `consent`, `select_account`, `create`.
    ///
    /// ```
    /// # let client = grantline::Client::builder("app").build().unwrap();
    /// let _ = client.authorization_request().prompt("consent");
    /// ```
    pub fn prompt(self, prompt: impl Into<String>) -> Self {
        self.push("prompt", prompt)
    }

    /// `max_age`: the longest time since the person last authenticated (whole seconds).
    ///
    /// ```
    /// # let client = grantline::Client::builder("app").build().unwrap();
    /// let _ = client.authorization_request().max_age(std::time::Duration::from_secs(600));
    /// ```
    pub fn max_age(self, max_age: Duration) -> Self {
        self.push("max_age", max_age.as_secs().to_string())
    }

    /// `login_hint`: who is expected to log in.
    ///
    /// ```
    /// # let client = grantline::Client::builder("app").build().unwrap();
    /// let _ = client.authorization_request().login_hint("alice@example.com");
    /// ```
    pub fn login_hint(self, hint: impl Into<String>) -> Self {
        self.push("login_hint", hint)
    }

    /// `ui_locales`: preferred languages, space-separated BCP 47 tags.
    ///
    /// ```
    /// # let client = grantline::Client::builder("app").build().unwrap();
    /// let _ = client.authorization_request().ui_locales("de en");
    /// ```
    pub fn ui_locales(self, locales: impl Into<String>) -> Self {
        self.push("ui_locales", locales)
    }

    /// `acr_values`: requested authentication context classes, space-separated.
    ///
    /// ```
    /// # let client = grantline::Client::builder("app").build().unwrap();
    /// let _ = client.authorization_request().acr_values("mfa");
    /// ```
    pub fn acr_values(self, values: impl Into<String>) -> Self {
        self.push("acr_values", values)
    }

    /// `claims` (OpenID Connect §5.5): a JSON object, checked to be one.
    ///
    /// ```
    /// # let client = grantline::Client::builder("app").build().unwrap();
    /// let _ = client.authorization_request()
    ///     .claims(r#"{"userinfo":{"email":{"essential":true}}}"#);
    /// ```
    pub fn claims(mut self, claims: impl Into<String>) -> Self {
        let claims = claims.into();
        if !matches!(
            serde_json::from_str(&claims),
            Ok(serde_json::Value::Object(_))
        ) {
            self.invalid.get_or_insert(ConfigError::InvalidParameter {
                name: "claims".to_owned(),
                reason: "it is not a JSON object",
            });
        }
        self.push("claims", claims)
    }

    /// `resource` (RFC 8707): an absolute URI without fragment. Repeatable.
    ///
    /// ```
    /// # let client = grantline::Client::builder("app").build().unwrap();
    /// let _ = client.authorization_request().resource("https://api.example/");
    /// ```
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        let resource = resource.into();
        let valid = Url::parse(&resource).is_ok_and(|u| u.fragment().is_none());
        if !valid {
            self.invalid.get_or_insert(ConfigError::InvalidParameter {
                name: "resource".to_owned(),
                reason: "it must be an absolute URI without a fragment",
            });
        }
        self.push("resource", resource)
    }

    /// `response_mode`: `query`, `fragment`, `form_post`, ...
    ///
    /// ```
    /// # let client = grantline::Client::builder("app").build().unwrap();
    /// let _ = client.authorization_request().response_mode("form_post");
    /// ```
    pub fn response_mode(self, mode: impl Into<String>) -> Self {
        self.push("response_mode", mode)
    }

    /// `dpop_jkt` (RFC 9449 §10): binds the authorization code to the client's DPoP key, so
    /// only the holder of that key can exchange it.
    ///
    /// ```
    /// use grantline::{dpop::DpopKey, EndpointKind, jose::Algorithm};
    /// let client = grantline::Client::builder("app")
    ///     .redirect_uri("https://app.example/cb")
    ///     .authorization_endpoint("https://as.example/authorize")
    ///     .token_endpoint("https://as.example/token")
    ///     .dpop(DpopKey::generate(Algorithm::ES256)?)
    ///     .build()?;
    /// let (url, _) = client.authorization_request().dpop_jkt().into_redirect()?;
    /// let jkt = client.dpop_key().unwrap().thumbprint().to_owned();
    /// assert!(url.query_pairs().any(|(k, v)| k == "dpop_jkt" && v == jkt));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[cfg(feature = "jose")]
    pub fn dpop_jkt(mut self) -> Self {
        match self.client.dpop_key().map(|k| k.thumbprint().to_owned()) {
            Some(jkt) => self.push("dpop_jkt", jkt),
            None => {
                self.invalid.get_or_insert(ConfigError::InvalidParameter {
                    name: "dpop_jkt".to_owned(),
                    reason: "the client has no DPoP key: set one with ClientBuilder::dpop",
                });
                self
            }
        }
    }

    /// Any other parameter. Names grantline sets itself (`state`, `code_challenge`, ...) are
    /// refused when the request is turned into a URL.
    ///
    /// ```
    /// # let client = grantline::Client::builder("app").build().unwrap();
    /// let _ = client.authorization_request().param("organization", "acme");
    /// ```
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        if RESERVED.contains(&name.as_str()) {
            self.invalid
                .get_or_insert(ConfigError::ReservedParameter(name.clone()));
        }
        self.params.push((name, value.into()));
        self
    }

    /// Sends the request as a signed request object (RFC 9101, JAR): every parameter goes into a
    /// JWT signed by `signer` at `now` (`iss` the client id, `aud` the issuer, a 5-minute
    /// lifetime). By value, the URL carries `client_id`, `request`, and `response_type` and
    /// `scope` again for OpenID Connect servers; pushed (PAR), the body carries `client_id` and
    /// `request`. The client must know its issuer.
    ///
    /// ```
    /// use grantline::{EndpointKind, jose::{Algorithm, SigningKey}};
    /// let client = grantline::Client::builder("app")
    ///     .redirect_uri("https://app.example/cb")
    ///     .issuer("https://as.example")
    ///     .authorization_endpoint("https://as.example/authorize")
    ///     .token_endpoint("https://as.example/token")
    ///     .jwks_uri("https://as.example/jwks")
    ///     .build()?;
    /// let key = SigningKey::hmac(Algorithm::HS256, b"the client secret, long enough to be a key")?;
    /// let (url, _pending) = client
    ///     .authorization_request()
    ///     .scope("openid")
    ///     .request_object(key, grantline::Now::system().wall())
    ///     .into_redirect()?;
    /// let names: Vec<_> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    /// assert_eq!(names, ["client_id", "request", "response_type", "scope"]);
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[cfg(feature = "jose")]
    pub fn request_object(
        mut self,
        signer: impl crate::jose::JwsSigner + 'static,
        now: std::time::SystemTime,
    ) -> Self {
        self.request_object = Some((std::sync::Arc::new(signer), now));
        self
    }

    /// The parameters to send: as they are, or folded into a signed request object.
    fn finish_params(
        client: &Client,
        params: Params,
        pushed: bool,
        signing: Option<Signing>,
    ) -> Result<Params, Error> {
        #[cfg(feature = "jose")]
        if let Some((signer, now)) = signing {
            let issuer = client.issuer().ok_or(ConfigError::InvalidParameter {
                name: "request".to_owned(),
                reason: "a request object's audience is the issuer: build the client from metadata or set ClientBuilder::issuer",
            })?;
            if client.is_fapi2() && !crate::jose::fapi2_allows(signer.algorithm()) {
                return Err(ConfigError::Fapi2(Fapi2Rule::SigningAlgorithm).into());
            }
            let object = crate::jose::RequestObject::new(client.client_id(), issuer)
                .params(params.iter().filter(|(n, _)| n != "client_id").cloned());
            let signed = object.sign(&*signer, now, client.randomness())?;
            return Ok(if pushed {
                vec![
                    ("client_id".to_owned(), client.client_id().to_owned()),
                    ("request".to_owned(), signed),
                ]
            } else {
                object.query_params(&signed)
            });
        }
        #[cfg(not(feature = "jose"))]
        let _ = (client, pushed, signing);
        Ok(params)
    }

    fn signing(&self) -> Option<Signing> {
        #[cfg(feature = "jose")]
        {
            self.request_object.clone()
        }
        #[cfg(not(feature = "jose"))]
        {
            None
        }
    }

    /// Checks the request, generates what was not given, and returns what it sends and the
    /// state to keep.
    fn prepare(mut self) -> Result<Prepared, Error> {
        if let Some(invalid) = self.invalid {
            return Err(invalid.into());
        }
        let fapi2 = self.client.is_fapi2();
        if fapi2 && self.pkce != Pkce::On(PkceMethod::S256) {
            return Err(ConfigError::Fapi2(Fapi2Rule::PkceS256).into());
        }
        // JARM: asked for by the request's response mode, or by the client's default.
        let mut jarm = false;
        match self.params.iter().find(|(n, _)| n == "response_mode") {
            Some((_, mode)) => jarm = is_jarm_mode(mode),
            None if self.client.uses_jarm() => {
                self.params
                    .push(("response_mode".to_owned(), "jwt".to_owned()));
                jarm = true;
            }
            None => {}
        }
        if jarm {
            // The response is verified with the issuer's keys, against the issuer: checked
            // before the person is sent away.
            crate::flow::require_validation_setup(&self.client, self.client.issuer())?;
            if !cfg!(feature = "jose") {
                return Err(ConfigError::InvalidParameter {
                    name: "response_mode".to_owned(),
                    reason: "a JWT response mode (JARM) needs grantline's `jose` feature",
                }
                .into());
            }
        }
        let redirect_uri = self
            .redirect_uri_or_client()
            .ok_or(ConfigError::MissingRedirectUri)?
            .clone();
        if self.state.as_deref() == Some("") {
            return Err(ConfigError::InvalidParameter {
                name: "state".to_owned(),
                reason: "it is empty",
            }
            .into());
        }
        let openid = self.scope.as_ref().is_some_and(|s| s.contains("openid"));
        // What the code exchange will need, checked before the person is sent away (their code
        // would be spent on a request that cannot succeed).
        self.client.require_endpoint(EndpointKind::Token)?;
        let validate_id_token = openid && !self.skip_id_token_validation;
        if validate_id_token {
            crate::flow::require_validation_setup(&self.client, self.client.issuer())?;
        }
        let pkce = match self.pkce {
            Pkce::On(method) => Some(method),
            Pkce::Off => None,
        };
        if let (Some(_), Some(verifier)) = (pkce, &self.code_verifier) {
            check_verifier(verifier)?;
        }

        // Every value to generate comes from one draw of random bytes, in this order.
        let generate_state = self.state.is_none();
        let generate_nonce = self.nonce.is_none() && openid;
        let generate_verifier = pkce.is_some() && self.code_verifier.is_none();
        let count = usize::from(generate_state)
            + usize::from(generate_nonce)
            + usize::from(generate_verifier);
        let random = random_bytes(self.client.randomness(), count)?;
        let mut random = random.iter().map(encode_token);
        let mut next = || random.next().unwrap_or_default();

        let state = self.state.unwrap_or_else(&mut next);
        let nonce = self.nonce.or_else(|| generate_nonce.then(&mut next));
        let pkce = pkce.map(|method| (method, self.code_verifier.unwrap_or_else(&mut next)));
        let challenge = pkce
            .as_ref()
            .map(|(method, verifier)| (*method, method.challenge(verifier.as_str())));

        let max_age = self
            .params
            .iter()
            .find(|(n, _)| n == "max_age")
            .and_then(|(_, v)| v.parse().ok());
        // FAPI 2.0 §5.3.3.2: the response's issuer is always checked.
        let iss_required = fapi2
            || self
                .client
                .metadata()
                .is_some_and(|m| m.authorization_response_iss_parameter_supported);
        let pending =
            PendingAuthorization::new(&self.client, redirect_uri, state, nonce, pkce, iss_required)
                .with_openid(validate_id_token, max_age)
                .with_jarm(jarm);
        Ok(Prepared {
            client: self.client,
            scope: self.scope.filter(|s| !s.is_empty()),
            challenge,
            params: self.params,
            pending,
        })
    }

    /// The URL to send the person to, and the state to keep until they come back.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingEndpoint`] without an authorization endpoint or a token endpoint
    /// (the exchange will need it); with `openid` in scope, also without the issuer's JWK Set
    /// URL, and [`ConfigError::MissingIssuer`] without the issuer (the exchange validates the
    /// ID token with both), unless
    /// [`insecure_skip_id_token_validation`](Self::insecure_skip_id_token_validation);
    /// [`ConfigError::ParRequired`] when the server's metadata requires pushed requests;
    /// [`ConfigError::MissingRedirectUri`] when neither the client nor the request has a
    /// redirect URI; [`ConfigError::InvalidParameter`] or [`ConfigError::ReservedParameter`]
    /// for a bad parameter; [`Error::Randomness`] if the random source fails.
    ///
    /// ```
    /// use grantline::{Error, EndpointKind, error::ConfigError};
    /// let client = grantline::Client::builder("app").redirect_uri("https://app.example/cb").build()?;
    /// let e = client.authorization_request().into_redirect().unwrap_err();
    /// assert!(matches!(e, Error::Config(ConfigError::MissingEndpoint(EndpointKind::Authorization))));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn into_redirect(self) -> Result<(Url, PendingAuthorization), Error> {
        let mut url = self
            .client
            .require_endpoint(EndpointKind::Authorization)?
            .clone();
        if self.client.is_fapi2() {
            return Err(ConfigError::Fapi2(Fapi2Rule::PushedAuthorizationRequests).into());
        }
        if self
            .client
            .metadata()
            .is_some_and(|m| m.require_pushed_authorization_requests)
        {
            return Err(ConfigError::ParRequired.into());
        }
        let signing = self.signing();
        let prepared = self.prepare()?;
        if signing.is_none() {
            // The usual case: every parameter written straight into the URL.
            let mut query = url.query_pairs_mut();
            prepared.for_each_param(|name, value| {
                query.append_pair(name, value);
            });
            drop(query);
            return Ok((url, prepared.pending));
        }
        let (client, params, pending) = prepared.into_params();
        let params = Self::finish_params(&client, params, false, signing)?;
        url.query_pairs_mut().extend_pairs(&params);
        Ok((url, pending))
    }

    /// Pushes the request to the server first (RFC 9126): the flow yields a URL that carries
    /// only `client_id` and `request_uri`, so nothing of the request shows in the browser.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingEndpoint`] without a pushed authorization request endpoint or an
    /// authorization endpoint, and the errors of [`into_redirect`](Self::into_redirect) for bad
    /// parameters.
    ///
    /// ```
    /// // `testing::Driver` plays the server here; it needs grantline's `testing` feature.
    /// use grantline::{EndpointKind, testing::Driver};
    /// let client = grantline::Client::builder("app")
    ///     .redirect_uri("https://app.example/cb")
    ///     .authorization_endpoint("https://as.example/authorize")
    ///     .endpoint(EndpointKind::PushedAuthorization, "https://as.example/par")
    ///     .token_endpoint("https://as.example/token")
    ///     .client_secret_basic("s")
    ///     .build()?;
    /// let (flow, _pending) = client.authorization_request().into_pushed()?;
    /// let mut driver = Driver::new()
    ///     .reply_json(201, r#"{"request_uri":"urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c","expires_in":60}"#);
    /// let pushed = driver.run(flow).unwrap();
    /// assert_eq!(
    ///     pushed.url().as_str(),
    ///     "https://as.example/authorize?client_id=app&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3A6esc_11ACC5bwc014ltc14eY22c"
    /// );
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn into_pushed(self) -> Result<(PushFlow, PendingAuthorization), Error> {
        let authorization = self
            .client
            .require_endpoint(EndpointKind::Authorization)?
            .clone();
        self.client
            .require_endpoint(EndpointKind::PushedAuthorization)?;
        // The pushed parameters keep `client_id` (RFC 9126 §2.1; oidc-provider requires it even
        // with Basic authentication); client authentication does not add it a second time.
        let signing = self.signing();
        let (client, params, pending) = self.prepare()?.into_params();
        let params = Self::finish_params(&client, params, true, signing)?;
        let call = EndpointCall::new(&client, EndpointKind::PushedAuthorization, params, &[])?;
        Ok((
            PushFlow::new(
                call,
                authorization,
                client.client_id().to_owned(),
                client.is_fapi2(),
            ),
            pending,
        ))
    }
}

/// Whether `mode` is one of JARM's response modes (`jwt`, `query.jwt`, `fragment.jwt`,
/// `form_post.jwt`).
fn is_jarm_mode(mode: &str) -> bool {
    matches!(mode, "jwt" | "query.jwt" | "fragment.jwt" | "form_post.jwt")
}

/// A checked authorization request, its generated values made: what it sends, and the state to
/// keep until the callback.
struct Prepared {
    client: Client,
    /// Not empty.
    scope: Option<Scope>,
    /// The PKCE method and challenge.
    challenge: Option<(PkceMethod, String)>,
    /// The other parameters, in the order they were set.
    params: Params,
    pending: PendingAuthorization,
}

impl Prepared {
    /// Hands every parameter to `f`, in the order they are sent.
    fn for_each_param(&self, mut f: impl FnMut(&str, &str)) {
        f("response_type", "code");
        f("client_id", self.client.client_id());
        f("redirect_uri", self.pending.redirect_uri());
        if let Some(scope) = &self.scope {
            let mut tokens = scope.iter();
            match (tokens.next(), tokens.next()) {
                (Some(only), None) => f("scope", only),
                _ => f("scope", &scope.to_string()),
            }
        }
        f("state", self.pending.state());
        if let Some(nonce) = self.pending.nonce() {
            f("nonce", nonce);
        }
        if let Some((method, challenge)) = &self.challenge {
            f("code_challenge", challenge.as_str());
            f("code_challenge_method", method.as_str());
        }
        for (name, value) in &self.params {
            f(name, value);
        }
    }

    /// The parameters as owned pairs (for a pushed request or a request object), the client
    /// and the state to keep.
    fn into_params(self) -> (Client, Params, PendingAuthorization) {
        let mut params = Params::with_capacity(8 + self.params.len());
        self.for_each_param(|name, value| params.push((name.to_owned(), value.to_owned())));
        (self.client, params, self.pending)
    }
}
