//! The client: who we are to the authorization server, and where its endpoints are.

use std::collections::HashMap;
use std::sync::Arc;

use url::Url;

use crate::EndpointKind;
use crate::Error;
use crate::authorization::RedirectUri;
use crate::client_auth::{ClientAuthentication, ClientSecretBasic, ClientSecretPost, PublicClient};
use crate::discovery::ServerMetadata;
use crate::endpoint::check_endpoint;
use crate::error::ConfigError;
use crate::random::{Randomness, SystemRandom};
use crate::secret::ClientSecret;

/// An OAuth client: its identifier, how it authenticates, and the server's endpoints.
///
/// Cheap to clone (the data is shared), so every flow holds its own handle.
///
/// ```
/// use grantline::Client;
///
/// let client = Client::builder("my-client")
///     .token_endpoint("https://as.example/oauth2/token")
///     .revocation_endpoint("https://as.example/oauth2/revoke")
///     .client_secret_basic("s3cr3t")
///     .build()?;
/// assert_eq!(client.client_id(), "my-client");
/// assert_eq!(client.auth_method(), "client_secret_basic");
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    /// Shared with every pending authorization, which keeps it without copying it.
    client_id: String,
    auth: Arc<dyn ClientAuthentication>,
    endpoints: HashMap<EndpointKind, Url>,
    randomness: Arc<dyn Randomness>,
    /// Shared like `client_id`.
    issuer: Option<String>,
    /// Parsed once; every pending authorization shares it.
    redirect_uri: Option<RedirectUri>,
    metadata: Option<Arc<ServerMetadata>>,
    /// The issuer's keys, shared by every flow of this client (and its clones) that validates
    /// an ID token.
    #[cfg(feature = "jose")]
    jwks: Option<std::sync::Mutex<crate::oidc::JwksCache>>,
    /// The DPoP key, the servers' nonces, and whether a Bearer answer is acceptable.
    #[cfg(feature = "jose")]
    dpop: Option<Dpop>,
    /// The FAPI 2.0 Security Profile is on ([`ClientBuilder::fapi2`]).
    fapi2: bool,
    /// Authorization responses are asked for as JWTs (JARM) by default ([`ClientBuilder::jarm`]).
    jarm: bool,
}

/// A client's DPoP settings.
#[cfg(feature = "jose")]
#[derive(Debug)]
pub(crate) struct Dpop {
    pub(crate) key: crate::dpop::DpopKey,
    pub(crate) nonces: crate::dpop::DpopNonces,
    pub(crate) allow_bearer: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.inner.client_id)
            .field("auth", &self.inner.auth)
            .field("endpoints", &self.inner.endpoints)
            .field("issuer", &self.inner.issuer)
            .field("redirect_uri", &self.inner.redirect_uri)
            .field("fapi2", &self.inner.fapi2)
            .field("jarm", &self.inner.jarm)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts building a client with identifier `client_id`.
    ///
    /// ```
    /// let builder = grantline::Client::builder("my-client");
    /// # let _ = builder;
    /// ```
    pub fn builder(client_id: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            client_id: client_id.into(),
            auth: Arc::new(PublicClient),
            endpoints: Vec::new(),
            insecure_http: false,
            randomness: Arc::new(SystemRandom),
            issuer: None,
            redirect_uri: None,
            metadata: None,
            mtls_aliases: false,
            #[cfg(feature = "jose")]
            dpop: None,
            fapi2: false,
            jarm: false,
        }
    }

    /// Whether the client enforces the FAPI 2.0 Security Profile ([`ClientBuilder::fapi2`]).
    ///
    /// ```
    /// let client = grantline::Client::builder("c").build()?;
    /// assert!(!client.is_fapi2());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn is_fapi2(&self) -> bool {
        self.inner.fapi2
    }

    /// Whether the client's authorization requests ask for JWT-secured responses (JARM) by
    /// default ([`ClientBuilder::jarm`]).
    ///
    /// ```
    /// let client = grantline::Client::builder("c").build()?;
    /// assert!(!client.uses_jarm());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn uses_jarm(&self) -> bool {
        self.inner.jarm
    }

    /// The authorization server's issuer identifier, if known (set explicitly or from
    /// metadata). With it, callbacks are checked for `iss` (RFC 9207).
    ///
    /// ```
    /// let client = grantline::Client::builder("c").issuer("https://as.example").build().unwrap();
    /// assert_eq!(client.issuer(), Some("https://as.example"));
    /// ```
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        self.inner.issuer.as_deref()
    }

    /// The client's redirect URI, if it has one (set with
    /// [`ClientBuilder::redirect_uri`]): where authorization requests come back to.
    ///
    /// ```
    /// let client = grantline::Client::builder("c").redirect_uri("http://127.0.0.1:8080/cb").build()?;
    /// assert_eq!(client.redirect_uri().unwrap().as_str(), "http://127.0.0.1:8080/cb");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn redirect_uri(&self) -> Option<&RedirectUri> {
        self.inner.redirect_uri.as_ref()
    }

    /// The server metadata the client was built from, if any.
    ///
    /// ```
    /// let client = grantline::Client::builder("c").build().unwrap();
    /// assert!(client.metadata().is_none());
    /// ```
    #[must_use]
    pub fn metadata(&self) -> Option<&ServerMetadata> {
        self.inner.metadata.as_deref()
    }

    /// The client identifier.
    ///
    /// ```
    /// let client = grantline::Client::builder("c").build().unwrap();
    /// assert_eq!(client.client_id(), "c");
    /// ```
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// The registered name of the client authentication method.
    ///
    /// ```
    /// let client = grantline::Client::builder("c").client_secret_post("s").build().unwrap();
    /// assert_eq!(client.auth_method(), "client_secret_post");
    /// ```
    #[must_use]
    pub fn auth_method(&self) -> &str {
        self.inner.auth.method()
    }

    /// The URL of an endpoint, if the client has it.
    ///
    /// ```
    /// use grantline::EndpointKind;
    /// let client = grantline::Client::builder("c")
    ///     .token_endpoint("https://as.example/token")
    ///     .build()
    ///     .unwrap();
    /// assert!(client.endpoint(EndpointKind::Token).is_some());
    /// assert!(client.endpoint(EndpointKind::Revocation).is_none());
    /// ```
    #[must_use]
    pub fn endpoint(&self, kind: EndpointKind) -> Option<&Url> {
        self.inner.endpoints.get(&kind)
    }

    /// The URL of an endpoint a flow needs, or the typed error saying it is missing.
    pub(crate) fn require_endpoint(&self, kind: EndpointKind) -> Result<&Url, Error> {
        self.endpoint(kind)
            .ok_or(Error::Config(ConfigError::MissingEndpoint(kind)))
    }

    /// The client's DPoP key, if DPoP is on.
    ///
    /// ```
    /// let client = grantline::Client::builder("c").build().unwrap();
    /// assert!(client.dpop_key().is_none());
    /// ```
    #[cfg(feature = "jose")]
    #[must_use]
    pub fn dpop_key(&self) -> Option<&crate::dpop::DpopKey> {
        self.inner.dpop.as_ref().map(|d| &d.key)
    }

    /// The last DPoP nonce each server gave this client (for resource-server proofs too).
    /// `None` when DPoP is off.
    ///
    /// ```
    /// let client = grantline::Client::builder("c").build().unwrap();
    /// assert!(client.dpop_nonces().is_none());
    /// ```
    #[cfg(feature = "jose")]
    #[must_use]
    pub fn dpop_nonces(&self) -> Option<&crate::dpop::DpopNonces> {
        self.inner.dpop.as_ref().map(|d| &d.nonces)
    }

    #[cfg(feature = "jose")]
    pub(crate) fn dpop(&self) -> Option<&Dpop> {
        self.inner.dpop.as_ref()
    }

    /// Whether the client has a DPoP key (always `false` without the `jose` feature).
    pub(crate) fn dpop_key_present(&self) -> bool {
        #[cfg(feature = "jose")]
        {
            self.dpop_key().is_some()
        }
        #[cfg(not(feature = "jose"))]
        {
            false
        }
    }

    /// The client's cache of the issuer's keys, if it knows a JWK Set URL.
    #[cfg(feature = "jose")]
    pub(crate) fn jwks_cache(&self) -> Option<&std::sync::Mutex<crate::oidc::JwksCache>> {
        self.inner.jwks.as_ref()
    }

    pub(crate) fn auth(&self) -> &dyn ClientAuthentication {
        &*self.inner.auth
    }

    /// The client's random source.
    ///
    /// ```
    /// let client = grantline::Client::builder("c").build().unwrap();
    /// let mut bytes = [0u8; 8];
    /// client.randomness().fill(&mut bytes).unwrap();
    /// ```
    #[must_use]
    pub fn randomness(&self) -> &dyn Randomness {
        &*self.inner.randomness
    }
}

/// Builds a [`Client`]; endpoints are checked by [`build`](ClientBuilder::build).
///
/// ```
/// let client = grantline::Client::builder("my-client")
///     .token_endpoint("http://127.0.0.1:8080/token") // loopback: http is fine
///     .build()?;
/// # let _ = client;
/// # Ok::<(), grantline::Error>(())
/// ```
#[must_use = "a builder does nothing until build() is called"]
pub struct ClientBuilder {
    client_id: String,
    auth: Arc<dyn ClientAuthentication>,
    endpoints: Vec<(EndpointKind, String)>,
    insecure_http: bool,
    randomness: Arc<dyn Randomness>,
    issuer: Option<String>,
    redirect_uri: Option<String>,
    metadata: Option<ServerMetadata>,
    mtls_aliases: bool,
    #[cfg(feature = "jose")]
    dpop: Option<(crate::dpop::DpopKey, bool)>,
    fapi2: bool,
    jarm: bool,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("client_id", &self.client_id)
            .field("auth", &self.auth)
            .field("endpoints", &self.endpoints)
            .field("insecure_http", &self.insecure_http)
            .field("redirect_uri", &self.redirect_uri)
            .field("fapi2", &self.fapi2)
            .field("jarm", &self.jarm)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Sets an endpoint of any kind.
    ///
    /// ```
    /// use grantline::EndpointKind;
    /// let client = grantline::Client::builder("c")
    ///     .endpoint(EndpointKind::Introspection, "https://as.example/introspect")
    ///     .build()
    ///     .unwrap();
    /// assert!(client.endpoint(EndpointKind::Introspection).is_some());
    /// ```
    pub fn endpoint(mut self, kind: EndpointKind, url: impl Into<String>) -> Self {
        self.endpoints.retain(|(k, _)| *k != kind);
        self.endpoints.push((kind, url.into()));
        self
    }

    /// Sets the authorization endpoint (RFC 6749 §3.1), where the person is sent to approve.
    ///
    /// ```
    /// let client = grantline::Client::builder("app")
    ///     .redirect_uri("https://app.example/cb")
    ///     .authorization_endpoint("https://as.example/authorize")
    ///     .token_endpoint("https://as.example/token")
    ///     .build()?;
    /// let (url, _pending) = client.authorization_request().into_redirect()?;
    /// assert!(url.as_str().starts_with("https://as.example/authorize?response_type=code"));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn authorization_endpoint(self, url: impl Into<String>) -> Self {
        self.endpoint(EndpointKind::Authorization, url)
    }

    /// Sets the token endpoint (RFC 6749 §3.2). A query component is kept.
    ///
    /// ```
    /// let client = grantline::Client::builder("c")
    ///     .token_endpoint("https://broker.example:8443/oauth2/token?grant_type=client_credentials")
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    pub fn token_endpoint(self, url: impl Into<String>) -> Self {
        self.endpoint(EndpointKind::Token, url)
    }

    /// Sets the revocation endpoint (RFC 7009).
    ///
    /// ```
    /// let _ = grantline::Client::builder("c").revocation_endpoint("https://as.example/revoke");
    /// ```
    pub fn revocation_endpoint(self, url: impl Into<String>) -> Self {
        self.endpoint(EndpointKind::Revocation, url)
    }

    /// Sets the introspection endpoint (RFC 7662).
    ///
    /// ```
    /// let _ = grantline::Client::builder("c").introspection_endpoint("https://as.example/introspect");
    /// ```
    pub fn introspection_endpoint(self, url: impl Into<String>) -> Self {
        self.endpoint(EndpointKind::Introspection, url)
    }

    /// Sets the device authorization endpoint (RFC 8628 §3.1).
    ///
    /// ```
    /// let _ = grantline::Client::builder("c").device_authorization_endpoint("https://as.example/device");
    /// ```
    pub fn device_authorization_endpoint(self, url: impl Into<String>) -> Self {
        self.endpoint(EndpointKind::DeviceAuthorization, url)
    }

    /// Sets the backchannel authentication endpoint (CIBA §7).
    ///
    /// ```
    /// let _ = grantline::Client::builder("c").backchannel_authentication_endpoint("https://as.example/bc-authorize");
    /// ```
    pub fn backchannel_authentication_endpoint(self, url: impl Into<String>) -> Self {
        self.endpoint(EndpointKind::BackchannelAuthentication, url)
    }

    /// Sets the authorization server's issuer identifier, so that callbacks are checked for
    /// `iss` (RFC 9207). [`Client::from_metadata`] sets it from the metadata.
    ///
    /// ```
    /// let _ = grantline::Client::builder("c").issuer("https://as.example");
    /// ```
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Sets the redirect URI (RFC 6749 §3.1.2) that authorization requests come back to,
    /// checked and parsed once by [`build`](Self::build). A request can name another with
    /// [`AuthorizationRequest::redirect_uri`](crate::authorization::AuthorizationRequest::redirect_uri).
    ///
    /// ```
    /// let client = grantline::Client::builder("app")
    ///     .authorization_endpoint("https://as.example/authorize")
    ///     .token_endpoint("https://as.example/token")
    ///     .redirect_uri("https://app.example/cb")
    ///     .build()?;
    /// let (url, _pending) = client.authorization_request().into_redirect()?;
    /// assert!(url.query_pairs().any(|(k, v)| k == "redirect_uri" && v == "https://app.example/cb"));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn redirect_uri(mut self, redirect_uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(redirect_uri.into());
        self
    }

    /// Keeps the server's metadata: its issuer, and what it requires (pushed authorization
    /// requests, the `iss` response parameter). Endpoints are not taken from it: use
    /// [`Client::from_metadata`] for that.
    ///
    /// ```
    /// let _ = grantline::Client::builder("c").server_metadata(Default::default());
    /// ```
    pub fn server_metadata(mut self, metadata: ServerMetadata) -> Self {
        if self.issuer.is_none() && !metadata.issuer.is_empty() {
            self.issuer = Some(metadata.issuer.clone());
        }
        self.metadata = Some(metadata);
        self
    }

    /// Sets the dynamic client registration endpoint (RFC 7591).
    ///
    /// ```
    /// let _ = grantline::Client::builder("c").registration_endpoint("https://as.example/register");
    /// ```
    pub fn registration_endpoint(self, url: impl Into<String>) -> Self {
        self.endpoint(EndpointKind::Registration, url)
    }

    /// Sets the issuer's JWK Set URL (`jwks_uri`), whose keys validate ID tokens.
    ///
    /// ```
    /// let _ = grantline::Client::builder("c").jwks_uri("https://as.example/jwks");
    /// ```
    pub fn jwks_uri(self, url: impl Into<String>) -> Self {
        self.endpoint(EndpointKind::Jwks, url)
    }

    /// Sets how the client authenticates. The default is [`PublicClient`] (`none`).
    ///
    /// ```
    /// use grantline::client_auth::ClientSecretBasic;
    /// let _ = grantline::Client::builder("c").auth(ClientSecretBasic::new("s"));
    /// ```
    pub fn auth(mut self, auth: impl ClientAuthentication + 'static) -> Self {
        self.auth = Arc::new(auth);
        self
    }

    /// Shorthand for `auth(ClientSecretBasic::new(secret))`.
    ///
    /// ```
    /// let _ = grantline::Client::builder("c").client_secret_basic("s");
    /// ```
    pub fn client_secret_basic(self, secret: impl Into<ClientSecret>) -> Self {
        self.auth(ClientSecretBasic::new(secret))
    }

    /// Shorthand for `auth(ClientSecretPost::new(secret))`.
    ///
    /// ```
    /// let _ = grantline::Client::builder("c").client_secret_post("s");
    /// ```
    pub fn client_secret_post(self, secret: impl Into<ClientSecret>) -> Self {
        self.auth(ClientSecretPost::new(secret))
    }

    /// Shorthand for `auth(ClientSecretJwt::new(secret))`: `client_secret_jwt`, an HS256
    /// assertion made with the client secret (RFC 7523 §2.2).
    ///
    /// ```
    /// let client = grantline::Client::builder("c").client_secret_jwt("a-long-shared-secret").build()?;
    /// assert_eq!(client.auth_method(), "client_secret_jwt");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[cfg(feature = "jose")]
    pub fn client_secret_jwt(self, secret: impl Into<ClientSecret>) -> Self {
        self.auth(crate::jose::ClientSecretJwt::new(secret))
    }

    /// Shorthand for `auth(PrivateKeyJwt::new(key))`: `private_key_jwt`, an assertion signed
    /// with the client's private key (RFC 7523 §2.2).
    ///
    /// ```
    /// use grantline::jose::{Algorithm, SigningKey};
    /// let key = SigningKey::from_jwk(r#"{"kty":"OKP","crv":"Ed25519","kid":"k1",
    ///     "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    ///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
    /// let client = grantline::Client::builder("c").private_key_jwt(key).build()?;
    /// assert_eq!(client.auth_method(), "private_key_jwt");
    /// # let _ = Algorithm::EdDSA;
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[cfg(feature = "jose")]
    pub fn private_key_jwt(self, key: crate::jose::SigningKey) -> Self {
        self.auth(crate::jose::PrivateKeyJwt::new(key))
    }

    /// Turns DPoP on (RFC 9449): every token and PAR request carries a proof made with `key`, and
    /// the tokens that come back are bound to it. See [`crate::dpop`].
    ///
    /// ```
    /// use grantline::{dpop::DpopKey, jose::Algorithm};
    /// let client = grantline::Client::builder("c").dpop(DpopKey::generate(Algorithm::ES256)?).build()?;
    /// assert!(client.dpop_key().is_some());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[cfg(feature = "jose")]
    pub fn dpop(mut self, key: crate::dpop::DpopKey) -> Self {
        self.dpop = Some((key, false));
        self
    }

    /// With DPoP on, accepts a `Bearer` token from a server that did not bind it (by default that
    /// is [`Error::InvalidResponse`] for `token_type`: the application asked for a bound token).
    ///
    /// ```
    /// use grantline::{dpop::DpopKey, jose::Algorithm};
    /// let _ = grantline::Client::builder("c").dpop(DpopKey::generate(Algorithm::ES256)?).insecure_dpop_allow_bearer();
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[cfg(feature = "jose")]
    pub fn insecure_dpop_allow_bearer(mut self) -> Self {
        if let Some((_, allow)) = &mut self.dpop {
            *allow = true;
        }
        self
    }

    /// Sends requests to the server's mTLS endpoint aliases (RFC 8705 §5, `mtls_endpoint_aliases`
    /// in the metadata given with [`server_metadata`](Self::server_metadata) or
    /// [`Client::from_metadata`]) instead of its plain endpoints, for a client that
    /// authenticates with its TLS certificate or gets certificate-bound tokens. An endpoint set
    /// by hand with [`endpoint`](Self::endpoint) (another URL than the metadata's) is kept.
    ///
    /// ```
    /// use grantline::{Client, discovery::ServerMetadata, EndpointKind};
    /// let mut metadata = ServerMetadata::default();
    /// metadata.issuer = "https://as.example".into();
    /// metadata.token_endpoint = Some("https://as.example/token".into());
    /// metadata.mtls_endpoint_aliases =
    ///     serde_json::json!({"token_endpoint": "https://mtls.as.example/token"}).as_object().cloned();
    /// let client = Client::from_metadata("c", &metadata).use_mtls_endpoint_aliases().build()?;
    /// assert_eq!(client.endpoint(EndpointKind::Token).unwrap().as_str(), "https://mtls.as.example/token");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn use_mtls_endpoint_aliases(mut self) -> Self {
        self.mtls_aliases = true;
        self
    }

    /// Shorthand for `auth(TlsClientAuth::pki())` and
    /// [`use_mtls_endpoint_aliases`](Self::use_mtls_endpoint_aliases): `tls_client_auth`
    /// (RFC 8705 §2.1).
    ///
    /// ```
    /// let client = grantline::Client::builder("c").tls_client_auth().build()?;
    /// assert_eq!(client.auth_method(), "tls_client_auth");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn tls_client_auth(self) -> Self {
        self.auth(crate::client_auth::TlsClientAuth::pki())
            .use_mtls_endpoint_aliases()
    }

    /// Makes this a FAPI 2.0 client: [`build`](Self::build) and every flow then enforce the
    /// client rules of the FAPI 2.0 Security Profile, and refuse anything outside them with
    /// [`ConfigError::Fapi2`] (the client's own setup or request) or
    /// [`ValidationError::Fapi2`](crate::error::ValidationError::Fapi2) (the server's answer),
    /// naming the rule ([`Fapi2Rule`](crate::error::Fapi2Rule), with its section).
    ///
    /// | rule | enforced | section |
    /// | --- | --- | --- |
    /// | pushed authorization requests only | `into_redirect` refused; use `into_pushed` | §5.3.3.2 |
    /// | PKCE with S256 | `insecure_pkce_plain` and `insecure_without_pkce` refused | §5.3.3.2 |
    /// | `response_type=code` | nothing to refuse: the only response type grantline sends (`response_type` is a reserved parameter) | §5.3.3.2 (the authorization code grant), §5.3.2.2 |
    /// | `iss` in the authorization response | the issuer must be known; a response without `iss` is refused | §5.3.3.2 |
    /// | sender-constrained tokens | DPoP ([`dpop`](Self::dpop)) or mutual TLS (`tls_client_auth` or [`use_mtls_endpoint_aliases`](Self::use_mtls_endpoint_aliases)) at build; [`insecure_dpop_allow_bearer`](Self::insecure_dpop_allow_bearer) refused; a `Bearer` answer to a DPoP request refused | §5.3.3.1 |
    /// | client authentication | `private_key_jwt`, `tls_client_auth` or `self_signed_tls_client_auth` only | §5.3.3.1 |
    /// | assertion audience | a client assertion's `aud` is the issuer (the default [`AssertionAudience::Endpoint`](crate::jose::AssertionAudience::Endpoint) becomes the issuer; another value is refused) | §5.3.3.1 |
    /// | algorithms | PS256, ES256, EdDSA for the client assertion, request objects and the DPoP key, and for the ID tokens, JARM responses and JWT introspection answers accepted | §5.4.1 |
    /// | lifetimes | a `request_uri` living 600 seconds or more is refused (the server's rule, checked) | §5.3.2.2 |
    /// | TLS | [`insecure_http`](Self::insecure_http) refused (plain `http` stays allowed on loopback only, as for every client) | §5.2.1 |
    /// | server metadata | when given, it must name a PAR endpoint, allow S256 (if it lists methods) and say it sends `iss` (the server's rules, checked) | §5.3.2.2 |
    ///
    /// Sections are those of the final FAPI 2.0 Security Profile (February 2025): §5.3.2 holds the
    /// authorization server's rules, §5.3.3 the client's, §5.4 the cryptography.
    ///
    /// The profile does not make responses signed; for the Message Signing profile add
    /// [`jarm`](Self::jarm) and [`Client::introspect_jwt`].
    ///
    /// ```
    /// use grantline::{Error, dpop::DpopKey, error::{ConfigError, Fapi2Rule}, jose::{Algorithm, SigningKey}};
    /// let key = SigningKey::from_jwk(r#"{"kty":"OKP","crv":"Ed25519","kid":"k1",
    ///     "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    ///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
    /// let builder = || grantline::Client::builder("app")
    ///     .issuer("https://as.example")
    ///     .authorization_endpoint("https://as.example/authorize")
    ///     .endpoint(grantline::EndpointKind::PushedAuthorization, "https://as.example/par")
    ///     .token_endpoint("https://as.example/token")
    ///     .redirect_uri("https://app.example/cb")
    ///     .fapi2();
    /// // A client secret is outside the profile:
    /// let e = builder().client_secret_basic("s").dpop(DpopKey::generate(Algorithm::ES256)?).build().unwrap_err();
    /// assert!(matches!(e, Error::Config(ConfigError::Fapi2(Fapi2Rule::ClientAuthentication))));
    /// // private_key_jwt and DPoP are inside it; a plain authorization request is not:
    /// let client = builder().private_key_jwt(key).dpop(DpopKey::generate(Algorithm::ES256)?).build()?;
    /// let e = client.authorization_request().into_redirect().unwrap_err();
    /// assert!(matches!(e, Error::Config(ConfigError::Fapi2(Fapi2Rule::PushedAuthorizationRequests))));
    /// assert!(client.authorization_request().into_pushed().is_ok());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[cfg(feature = "jose")]
    pub fn fapi2(mut self) -> Self {
        self.fapi2 = true;
        self
    }

    /// Asks for JWT-secured authorization responses (JARM) on every authorization request
    /// (`response_mode=jwt`, unless the request sets another mode): the callback is then
    /// verified with the issuer's keys by [`Client::verify_callback`]. See
    /// [`crate::authorization`] for the checks.
    ///
    /// ```
    /// let client = grantline::Client::builder("app")
    ///     .issuer("https://as.example")
    ///     .jwks_uri("https://as.example/jwks")
    ///     .authorization_endpoint("https://as.example/authorize")
    ///     .token_endpoint("https://as.example/token")
    ///     .redirect_uri("https://app.example/cb")
    ///     .jarm()
    ///     .build()?;
    /// let (url, _pending) = client.authorization_request().into_redirect()?;
    /// assert!(url.query_pairs().any(|(k, v)| k == "response_mode" && v == "jwt"));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[cfg(feature = "jose")]
    pub fn jarm(mut self) -> Self {
        self.jarm = true;
        self
    }

    /// Allows plain `http` endpoints on hosts that are not loopback addresses.
    ///
    /// Everything sent to such an endpoint (client secrets, tokens, codes) can be read and changed
    /// by anyone on the network path. Use it only on a network you trust, such as a test cluster.
    ///
    /// ```
    /// let client = grantline::Client::builder("c")
    ///     .token_endpoint("http://as.internal/token")
    ///     .insecure_http()
    ///     .build();
    /// assert!(client.is_ok());
    /// ```
    pub fn insecure_http(mut self) -> Self {
        self.insecure_http = true;
        self
    }

    /// Replaces the random source (for deterministic tests).
    ///
    /// ```
    /// let _ = grantline::Client::builder("c").randomness(grantline::random::SystemRandom);
    /// ```
    pub fn randomness(mut self, randomness: impl Randomness + 'static) -> Self {
        self.randomness = Arc::new(randomness);
        self
    }

    /// Checks everything and builds the client.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidCredentials`] for an empty client id,
    /// [`ConfigError::InvalidEndpoint`] for an endpoint that is not an absolute URL or has a
    /// fragment or user info, [`ConfigError::InsecureEndpoint`] for plain `http` to a host
    /// that is not loopback without [`insecure_http`](Self::insecure_http), and
    /// [`ConfigError::InvalidParameter`] for a redirect URI that is not an absolute URL without
    /// a fragment ([`RedirectUri::new`]).
    ///
    /// ```
    /// use grantline::{Error, error::ConfigError};
    /// let refused = grantline::Client::builder("c")
    ///     .token_endpoint("http://as.example/token")
    ///     .build();
    /// assert!(matches!(refused, Err(Error::Config(ConfigError::InsecureEndpoint { .. }))));
    /// ```
    pub fn build(self) -> Result<Client, Error> {
        if self.client_id.is_empty() {
            return Err(ConfigError::InvalidCredentials("the client id is empty").into());
        }
        let mut endpoints = HashMap::with_capacity(self.endpoints.len());
        let mut configured = self.endpoints.clone();
        if let Some(metadata) = self.metadata.as_ref().filter(|_| self.mtls_aliases) {
            for (kind, alias) in mtls_aliases(metadata) {
                // An endpoint set by hand (not the metadata's own URL) wins over the alias.
                let plain = metadata
                    .endpoints()
                    .find(|(k, _)| *k == kind)
                    .map(|(_, u)| u);
                let by_hand = configured
                    .iter()
                    .any(|(k, url)| *k == kind && Some(url.as_str()) != plain);
                if !by_hand {
                    configured.retain(|(k, _)| *k != kind);
                    configured.push((kind, alias));
                }
            }
        }
        for (kind, raw) in &configured {
            let url = check_endpoint(*kind, raw, self.insecure_http)?;
            endpoints.insert(*kind, url);
        }
        if self.fapi2 {
            self.check_fapi2()?;
        }
        let redirect_uri = self.redirect_uri.map(RedirectUri::new).transpose()?;
        #[cfg(feature = "jose")]
        // Already checked above, with the builder's http policy.
        let jwks = endpoints
            .get(&EndpointKind::Jwks)
            .map(|url| std::sync::Mutex::new(crate::oidc::JwksCache::for_url(url.clone())));
        Ok(Client {
            inner: Arc::new(Inner {
                client_id: self.client_id,
                auth: self.auth,
                endpoints,
                randomness: self.randomness,
                issuer: self.issuer,
                redirect_uri,
                metadata: self.metadata.map(Arc::new),
                #[cfg(feature = "jose")]
                jwks,
                #[cfg(feature = "jose")]
                dpop: self.dpop.map(|(key, allow_bearer)| Dpop {
                    key,
                    nonces: crate::dpop::DpopNonces::default(),
                    allow_bearer,
                }),
                fapi2: self.fapi2,
                jarm: self.jarm,
            }),
        })
    }

    /// The client rules of the FAPI 2.0 Security Profile that can be checked before anything
    /// is sent (see [`fapi2`](Self::fapi2)).
    fn check_fapi2(&self) -> Result<(), ConfigError> {
        use crate::error::Fapi2Rule;
        let method = self.auth.method();
        let mtls_auth = matches!(method, "tls_client_auth" | "self_signed_tls_client_auth");
        if !mtls_auth && method != "private_key_jwt" {
            return Err(ConfigError::Fapi2(Fapi2Rule::ClientAuthentication));
        }
        if self.issuer.as_deref().is_none_or(str::is_empty) {
            return Err(ConfigError::Fapi2(Fapi2Rule::IssParameter));
        }
        if self.insecure_http {
            return Err(ConfigError::Fapi2(Fapi2Rule::Tls));
        }
        #[cfg(feature = "jose")]
        let dpop = self.dpop.as_ref();
        #[cfg(not(feature = "jose"))]
        let dpop: Option<&((), bool)> = None;
        match dpop {
            Some((_, true)) => return Err(ConfigError::Fapi2(Fapi2Rule::SenderConstrainedTokens)),
            None if !mtls_auth && !self.mtls_aliases => {
                return Err(ConfigError::Fapi2(Fapi2Rule::SenderConstrainedTokens));
            }
            _ => {}
        }
        #[cfg(feature = "jose")]
        if let Some((key, _)) = dpop {
            if !crate::jose::fapi2_allows(key.algorithm()) {
                return Err(ConfigError::Fapi2(Fapi2Rule::SigningAlgorithm));
            }
        }
        if let Some(metadata) = &self.metadata {
            let s256 = metadata.code_challenge_methods_supported.is_empty()
                || metadata
                    .code_challenge_methods_supported
                    .iter()
                    .any(|m| m == "S256");
            if metadata.pushed_authorization_request_endpoint.is_none()
                || !s256
                || !metadata.authorization_response_iss_parameter_supported
            {
                return Err(ConfigError::Fapi2(Fapi2Rule::ServerMetadata));
            }
        }
        Ok(())
    }
}

/// The mTLS aliases (RFC 8705 §5) a metadata document names, by endpoint kind.
fn mtls_aliases(metadata: &ServerMetadata) -> Vec<(EndpointKind, String)> {
    let Some(aliases) = &metadata.mtls_endpoint_aliases else {
        return Vec::new();
    };
    [
        ("token_endpoint", EndpointKind::Token),
        ("revocation_endpoint", EndpointKind::Revocation),
        ("introspection_endpoint", EndpointKind::Introspection),
        (
            "device_authorization_endpoint",
            EndpointKind::DeviceAuthorization,
        ),
        (
            "pushed_authorization_request_endpoint",
            EndpointKind::PushedAuthorization,
        ),
        (
            "backchannel_authentication_endpoint",
            EndpointKind::BackchannelAuthentication,
        ),
        ("userinfo_endpoint", EndpointKind::Userinfo),
        ("registration_endpoint", EndpointKind::Registration),
    ]
    .into_iter()
    .filter_map(|(name, kind)| {
        aliases
            .get(name)
            .and_then(|v| v.as_str())
            .map(|url| (kind, url.to_owned()))
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_endpoint_is_refused_at_build_time() {
        let e = Client::builder("c")
            .token_endpoint("https://as.example/token")
            .revocation_endpoint("http://as.example/revoke")
            .build()
            .unwrap_err();
        assert!(matches!(
            e,
            Error::Config(ConfigError::InsecureEndpoint {
                kind: EndpointKind::Revocation,
                ..
            })
        ));
    }

    #[test]
    fn the_redirect_uri_is_checked_and_parsed_at_build_time() {
        for bad in ["not a uri", "https://app.example/cb#f", "http://[::1/cb"] {
            assert!(matches!(
                Client::builder("c").redirect_uri(bad).build(),
                Err(Error::Config(ConfigError::InvalidParameter { ref name, .. })) if name == "redirect_uri"
            ));
        }
        let client = Client::builder("c")
            .redirect_uri("http://127.0.0.1:8080/callback")
            .build()
            .unwrap();
        let uri = client.redirect_uri().unwrap();
        assert_eq!(uri.url().port(), Some(8080));
        // Clones of the client share the one parsed URL.
        let clone = client.clone();
        assert!(std::ptr::eq(clone.redirect_uri().unwrap().url(), uri.url()));
    }

    #[test]
    fn an_empty_client_id_is_refused() {
        assert!(matches!(
            Client::builder("").build(),
            Err(Error::Config(ConfigError::InvalidCredentials(_)))
        ));
    }

    #[test]
    fn a_missing_endpoint_is_a_typed_error() {
        let client = Client::builder("c").build().unwrap();
        assert!(matches!(
            client.require_endpoint(EndpointKind::Token),
            Err(Error::Config(ConfigError::MissingEndpoint(
                EndpointKind::Token
            )))
        ));
    }

    #[test]
    fn mtls_aliases_replace_the_plain_endpoints_only_when_asked() {
        let mut metadata = ServerMetadata {
            issuer: "https://as.example".into(),
            token_endpoint: Some("https://as.example/token".into()),
            revocation_endpoint: Some("https://as.example/revoke".into()),
            mtls_endpoint_aliases: serde_json::json!({
                "token_endpoint": "https://mtls.as.example/token",
                "introspection_endpoint": "https://mtls.as.example/introspect",
                "unknown_endpoint": "https://mtls.as.example/x"
            })
            .as_object()
            .cloned(),
            ..ServerMetadata::default()
        };
        let plain = Client::from_metadata("c", &metadata).build().unwrap();
        assert_eq!(
            plain.endpoint(EndpointKind::Token).unwrap().as_str(),
            "https://as.example/token"
        );
        let mtls = Client::from_metadata("c", &metadata)
            .tls_client_auth()
            .build()
            .unwrap();
        assert_eq!(mtls.auth_method(), "tls_client_auth");
        assert_eq!(
            mtls.endpoint(EndpointKind::Token).unwrap().as_str(),
            "https://mtls.as.example/token"
        );
        assert_eq!(
            mtls.endpoint(EndpointKind::Introspection).unwrap().as_str(),
            "https://mtls.as.example/introspect"
        );
        assert_eq!(
            mtls.endpoint(EndpointKind::Revocation).unwrap().as_str(),
            "https://as.example/revoke"
        );
        // An endpoint set by hand wins over its alias; the others still move to theirs.
        let by_hand = Client::from_metadata("c", &metadata)
            .token_endpoint("https://proxy.example/token")
            .tls_client_auth()
            .build()
            .unwrap();
        assert_eq!(
            by_hand.endpoint(EndpointKind::Token).unwrap().as_str(),
            "https://proxy.example/token"
        );
        assert_eq!(
            by_hand
                .endpoint(EndpointKind::Introspection)
                .unwrap()
                .as_str(),
            "https://mtls.as.example/introspect"
        );
        // An alias is an endpoint like any other: plain http off loopback is refused.
        metadata.mtls_endpoint_aliases =
            serde_json::json!({"token_endpoint": "http://mtls.as.example/t"})
                .as_object()
                .cloned();
        assert!(matches!(
            Client::from_metadata("c", &metadata)
                .tls_client_auth()
                .build(),
            Err(Error::Config(ConfigError::InsecureEndpoint { .. }))
        ));
    }

    #[test]
    fn debug_shows_no_secret() {
        let client = Client::builder("c")
            .client_secret_basic("hunter2")
            .build()
            .unwrap();
        assert!(!format!("{client:?}").contains("hunter2"));
        let builder = Client::builder("c").client_secret_post("hunter2");
        assert!(!format!("{builder:?}").contains("hunter2"));
    }
}
