//! Client authentication at the token endpoint and its siblings (RFC 6749 §2.3).
//!
//! A [`ClientAuthentication`] adds what proves the client's identity to an outgoing form request:
//! a header, form parameters, or both. grantline ships:
//!
//! | type | `token_endpoint_auth_method` | what it sends |
//! | --- | --- | --- |
//! | [`ClientSecretBasic`] | `client_secret_basic` | `Authorization: Basic base64(urlenc(id):urlenc(secret))` |
//! | [`ClientSecretPost`] | `client_secret_post` | `client_id` and `client_secret` in the form |
//! | [`PublicClient`] | `none` | `client_id` in the form |
//!
//! JWT-based methods (`client_secret_jwt`, `private_key_jwt`, a signer in an HSM or cloud KMS)
//! implement the same trait: [`AuthContext`] gives them the endpoint URL (the JWT's audience),
//! the time (`iat`, `exp`) and a random source (`jti`).

use std::sync::OnceLock;

use base64::Engine as _;
use http::{HeaderName, HeaderValue};
use url::Url;

use crate::EndpointKind;
use crate::error::ConfigError;
use crate::random::Randomness;
use crate::secret::ClientSecret;
use crate::{Error, Now};

#[cfg(feature = "jose")]
pub use crate::jose::{ClientSecretJwt, PrivateKeyJwt};

/// A way for the client to prove who it is to the authorization server.
///
/// ```
/// use grantline::client_auth::{AuthContext, AuthTarget, ClientAuthentication};
///
/// /// A vendor method that sends an API key header.
/// #[derive(Debug)]
/// struct ApiKey(String);
///
/// impl ClientAuthentication for ApiKey {
///     fn method(&self) -> &str {
///         "vendor_api_key"
///     }
///     fn authenticate(&self, ctx: &AuthContext<'_>, target: &mut AuthTarget) -> Result<(), grantline::Error> {
///         target.add_param("client_id", ctx.client_id());
///         target.set_sensitive_header(http::HeaderName::from_static("x-api-key"), &self.0)
///     }
/// }
///
/// let client = grantline::Client::builder("my-client")
///     .token_endpoint("https://as.example/token")
///     .auth(ApiKey("k".into()))
///     .build()
///     .unwrap();
/// assert_eq!(client.auth_method(), "vendor_api_key");
/// ```
pub trait ClientAuthentication: std::fmt::Debug + Send + Sync {
    /// The method's registered name (`client_secret_basic`, `private_key_jwt`, ...), as used in
    /// server metadata and client registration.
    fn method(&self) -> &str;

    /// Adds the client's credentials to `target`, a request about to be sent to
    /// `ctx.endpoint()`.
    ///
    /// Called each time a flow builds a request, so a method that must be fresh per request
    /// (a JWT with a new `jti`) is.
    ///
    /// # Errors
    ///
    /// Credentials that cannot be sent this way ([`ConfigError::InvalidCredentials`]), or a
    /// failing random source or signer.
    fn authenticate(&self, ctx: &AuthContext<'_>, target: &mut AuthTarget) -> Result<(), Error>;
}

/// What a [`ClientAuthentication`] may need to know about the request it authenticates.
///
/// ```
/// # use grantline::client_auth::AuthContext;
/// fn audience(ctx: &AuthContext<'_>) -> String {
///     ctx.endpoint().to_string()
/// }
/// # let _ = audience;
/// ```
#[derive(Debug)]
pub struct AuthContext<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) endpoint: &'a Url,
    pub(crate) endpoint_kind: EndpointKind,
    pub(crate) now: Now,
    pub(crate) randomness: &'a dyn Randomness,
    /// The issuer, when the client is a FAPI 2.0 client: a client assertion's `aud` must then
    /// be it, and its algorithm one the profile allows.
    #[cfg_attr(not(feature = "jose"), allow(dead_code))]
    pub(crate) fapi2_issuer: Option<&'a str>,
}

impl AuthContext<'_> {
    /// The client identifier.
    ///
    /// ```
    /// # fn f(ctx: &grantline::client_auth::AuthContext<'_>) -> String { ctx.client_id().to_owned() }
    /// ```
    #[must_use]
    pub fn client_id(&self) -> &str {
        self.client_id
    }

    /// The URL the request goes to (the audience of a client assertion).
    ///
    /// ```
    /// # fn f(ctx: &grantline::client_auth::AuthContext<'_>) -> bool { ctx.endpoint().scheme() == "https" }
    /// ```
    #[must_use]
    pub fn endpoint(&self) -> &Url {
        self.endpoint
    }

    /// Which endpoint the request goes to.
    ///
    /// ```
    /// # use grantline::EndpointKind;
    /// # fn f(ctx: &grantline::client_auth::AuthContext<'_>) -> bool { ctx.endpoint_kind() == EndpointKind::Token }
    /// ```
    #[must_use]
    pub fn endpoint_kind(&self) -> EndpointKind {
        self.endpoint_kind
    }

    /// The time the request is built at (`iat` and `exp` of a client assertion).
    ///
    /// ```
    /// # fn f(ctx: &grantline::client_auth::AuthContext<'_>) -> std::time::SystemTime { ctx.now().wall() }
    /// ```
    #[must_use]
    pub fn now(&self) -> Now {
        self.now
    }

    /// The client's random source (the `jti` of a client assertion).
    ///
    /// ```
    /// # fn f(ctx: &grantline::client_auth::AuthContext<'_>) -> Result<[u8; 16], grantline::Error> {
    /// let mut jti = [0u8; 16];
    /// ctx.randomness().fill(&mut jti)?;
    /// # Ok(jti) }
    /// ```
    #[must_use]
    pub fn randomness(&self) -> &dyn Randomness {
        self.randomness
    }
}

/// The parts of an outgoing form request that client authentication may add to.
///
/// ```
/// # use grantline::client_auth::AuthTarget;
/// fn add_id(target: &mut AuthTarget) {
///     target.add_param("client_id", "my-client");
/// }
/// # let _ = add_id;
/// ```
#[derive(Default)]
pub struct AuthTarget {
    pub(crate) headers: http::HeaderMap,
    pub(crate) params: Vec<(String, String)>,
}

impl std::fmt::Debug for AuthTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthTarget")
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field(
                "params",
                &self.params.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl AuthTarget {
    /// Adds a form parameter.
    ///
    /// ```
    /// let mut target = grantline::client_auth::AuthTarget::default();
    /// target.add_param("client_id", "c");
    /// ```
    pub fn add_param(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.params.push((name.into(), value.into()));
    }

    /// Sets a header whose value is a secret: it is marked sensitive, so `http`'s `Debug` hides
    /// it and HTTP/2 encoders never index it.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidCredentials`] if `value` cannot be a header value (a control
    /// character, for instance).
    ///
    /// ```
    /// let mut target = grantline::client_auth::AuthTarget::default();
    /// target.set_sensitive_header(http::header::AUTHORIZATION, "Basic abc").unwrap();
    /// assert!(target.set_sensitive_header(http::header::AUTHORIZATION, "bad\nvalue").is_err());
    /// ```
    pub fn set_sensitive_header(&mut self, name: HeaderName, value: &str) -> Result<(), Error> {
        let mut value = HeaderValue::from_str(value).map_err(|_| {
            ConfigError::InvalidCredentials("the credentials cannot be put in an HTTP header")
        })?;
        value.set_sensitive(true);
        self.headers.insert(name, value);
        Ok(())
    }
}

/// How [`ClientSecretBasic`] encodes the id and secret before base64.
///
/// ```
/// use grantline::client_auth::{BasicEncoding, ClientSecretBasic};
/// let auth = ClientSecretBasic::new("secret").encoding(BasicEncoding::Raw);
/// # let _ = auth;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(clippy::exhaustive_enums)]
pub enum BasicEncoding {
    /// Form-urlencode the id and the secret first, as RFC 6749 §2.3.1 requires. The default.
    #[default]
    FormUrlEncoded,
    /// Send them as they are. Some servers (Amazon Cognito among them) reject the encoded form of
    /// secrets holding special characters. A client id holding `:` cannot be sent raw.
    Raw,
}

/// `client_secret_basic`: HTTP Basic authentication with the client id and secret.
///
/// Per RFC 6749 §2.3.1 both are `application/x-www-form-urlencoded` before they are joined
/// with `:` and base64-encoded, so a secret holding `:`, `+`, `%`, a space or non-ASCII is read
/// back correctly by a compliant server. [`BasicEncoding::Raw`] turns that off for servers that
/// expect the raw form.
///
/// The header value is encoded once, on the first request, and reused by every later request
/// of the same client (a cheap reference-counted copy, marked sensitive).
///
/// ```
/// let client = grantline::Client::builder("my-client")
///     .token_endpoint("https://as.example/token")
///     .auth(grantline::client_auth::ClientSecretBasic::new("s3cr3t"))
///     .build()
///     .unwrap();
/// assert_eq!(client.auth_method(), "client_secret_basic");
/// ```
#[derive(Clone)]
pub struct ClientSecretBasic {
    secret: ClientSecret,
    encoding: BasicEncoding,
    /// The `Authorization` value for the client id it was encoded for.
    header: OnceLock<BasicHeader>,
}

/// An encoded `Authorization: Basic ...` value and the client id it holds.
#[derive(Clone)]
struct BasicHeader {
    client_id: String,
    value: HeaderValue,
}

impl std::fmt::Debug for ClientSecretBasic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSecretBasic")
            .field("secret", &self.secret)
            .field("encoding", &self.encoding)
            .finish_non_exhaustive()
    }
}

impl ClientSecretBasic {
    /// Basic authentication with `secret`, form-urlencoded as the RFC requires.
    ///
    /// ```
    /// let auth = grantline::client_auth::ClientSecretBasic::new("s3cr3t");
    /// assert!(!format!("{auth:?}").contains("s3cr3t"));
    /// ```
    #[must_use]
    pub fn new(secret: impl Into<ClientSecret>) -> Self {
        Self {
            secret: secret.into(),
            encoding: BasicEncoding::FormUrlEncoded,
            header: OnceLock::new(),
        }
    }

    /// Chooses how id and secret are encoded (see [`BasicEncoding`]).
    ///
    /// ```
    /// use grantline::client_auth::{BasicEncoding, ClientSecretBasic};
    /// let auth = ClientSecretBasic::new("s").encoding(BasicEncoding::Raw);
    /// # let _ = auth;
    /// ```
    #[must_use]
    pub fn encoding(mut self, encoding: BasicEncoding) -> Self {
        self.encoding = encoding;
        self.header = OnceLock::new();
        self
    }

    /// The header value for `client_id`: the one encoded before when it was for the same id,
    /// else a new one (kept for the next request when none was kept yet).
    fn header(&self, client_id: &str) -> Result<HeaderValue, Error> {
        if let Some(kept) = self.header.get() {
            if kept.client_id == client_id {
                return Ok(kept.value.clone());
            }
            return self.encode(client_id);
        }
        let value = self.encode(client_id)?;
        // Another thread may have kept one first: it holds the same value.
        let _ = self.header.set(BasicHeader {
            client_id: client_id.to_owned(),
            value: value.clone(),
        });
        Ok(value)
    }

    /// `Basic base64(id:secret)`, encoded as [`BasicEncoding`] says, written into one string
    /// of the exact length and marked sensitive.
    fn encode(&self, client_id: &str) -> Result<HeaderValue, Error> {
        let secret = self.secret.secret();
        let credentials = match self.encoding {
            BasicEncoding::FormUrlEncoded => {
                use url::form_urlencoded::byte_serialize;
                byte_serialize(client_id.as_bytes())
                    .chain([":"])
                    .chain(byte_serialize(secret.as_bytes()))
                    .collect::<String>()
            }
            BasicEncoding::Raw => {
                if client_id.contains(':') {
                    return Err(ConfigError::InvalidCredentials(
                        "a client id holding `:` cannot be sent with raw Basic encoding",
                    )
                    .into());
                }
                let mut credentials = String::with_capacity(client_id.len() + 1 + secret.len());
                credentials.push_str(client_id);
                credentials.push(':');
                credentials.push_str(secret);
                credentials
            }
        };
        const PREFIX: &str = "Basic ";
        let encoded_len = base64::encoded_len(credentials.len(), true).unwrap_or_default();
        let mut header = String::with_capacity(PREFIX.len() + encoded_len);
        header.push_str(PREFIX);
        base64::engine::general_purpose::STANDARD.encode_string(credentials, &mut header);
        let mut value = HeaderValue::try_from(header).map_err(|_| {
            ConfigError::InvalidCredentials("the credentials cannot be put in an HTTP header")
        })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl ClientAuthentication for ClientSecretBasic {
    fn method(&self) -> &str {
        "client_secret_basic"
    }

    fn authenticate(&self, ctx: &AuthContext<'_>, target: &mut AuthTarget) -> Result<(), Error> {
        let value = self.header(ctx.client_id)?;
        target.headers.insert(http::header::AUTHORIZATION, value);
        Ok(())
    }
}

/// `client_secret_post`: the client id and secret as form parameters.
///
/// ```
/// let auth = grantline::client_auth::ClientSecretPost::new("s3cr3t");
/// assert!(!format!("{auth:?}").contains("s3cr3t"));
/// ```
#[derive(Debug, Clone)]
pub struct ClientSecretPost {
    secret: ClientSecret,
}

impl ClientSecretPost {
    /// Form-parameter authentication with `secret`.
    ///
    /// ```
    /// let _ = grantline::client_auth::ClientSecretPost::new("s3cr3t");
    /// ```
    #[must_use]
    pub fn new(secret: impl Into<ClientSecret>) -> Self {
        Self {
            secret: secret.into(),
        }
    }
}

impl ClientAuthentication for ClientSecretPost {
    fn method(&self) -> &str {
        "client_secret_post"
    }

    fn authenticate(&self, ctx: &AuthContext<'_>, target: &mut AuthTarget) -> Result<(), Error> {
        target.add_param("client_id", ctx.client_id);
        target.add_param("client_secret", self.secret.secret());
        Ok(())
    }
}

/// `none`: a public client, which only names itself with `client_id`.
///
/// ```
/// let client = grantline::Client::builder("cli-app")
///     .token_endpoint("https://as.example/token")
///     .build()
///     .unwrap();
/// assert_eq!(client.auth_method(), "none");
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct PublicClient;

impl ClientAuthentication for PublicClient {
    fn method(&self) -> &str {
        "none"
    }

    fn authenticate(&self, ctx: &AuthContext<'_>, target: &mut AuthTarget) -> Result<(), Error> {
        target.add_param("client_id", ctx.client_id);
        Ok(())
    }
}

/// `tls_client_auth` or `self_signed_tls_client_auth` (RFC 8705 §2): the client proves who it
/// is with the TLS client certificate of the connection, so the request only names the client
/// with `client_id`.
///
/// The certificate is your HTTP client's: give it to the ureq agent
/// (`ureq::tls::TlsConfig::builder().client_cert(Some(ureq::tls::ClientCert::new_with_certs(&certs, key)))`)
/// or the reqwest client builder (`reqwest::ClientBuilder::identity(reqwest::Identity::from_pem(..)?)`),
/// and build the grantline client with
/// [`ClientBuilder::use_mtls_endpoint_aliases`](crate::ClientBuilder::use_mtls_endpoint_aliases)
/// so requests go to the server's mTLS endpoints.
///
/// ```
/// use grantline::client_auth::TlsClientAuth;
/// let client = grantline::Client::builder("device-42")
///     .token_endpoint("https://mtls.as.example/token")
///     .auth(TlsClientAuth::pki())
///     .build()?;
/// assert_eq!(client.auth_method(), "tls_client_auth");
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TlsClientAuth {
    self_signed: bool,
}

impl TlsClientAuth {
    /// `tls_client_auth`: a certificate from a CA the server trusts, matched by subject.
    ///
    /// ```
    /// let _ = grantline::client_auth::TlsClientAuth::pki();
    /// ```
    #[must_use]
    pub fn pki() -> Self {
        Self { self_signed: false }
    }

    /// `self_signed_tls_client_auth`: a self-signed certificate registered with the client.
    ///
    /// ```
    /// let auth = grantline::client_auth::TlsClientAuth::self_signed();
    /// # let _ = auth;
    /// ```
    #[must_use]
    pub fn self_signed() -> Self {
        Self { self_signed: true }
    }
}

impl ClientAuthentication for TlsClientAuth {
    fn method(&self) -> &str {
        if self.self_signed {
            "self_signed_tls_client_auth"
        } else {
            "tls_client_auth"
        }
    }

    fn authenticate(&self, ctx: &AuthContext<'_>, target: &mut AuthTarget) -> Result<(), Error> {
        target.add_param("client_id", ctx.client_id);
        Ok(())
    }
}

/// The `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const JWT_BEARER_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client assertion (RFC 7521 §4.2) from an [`AssertionSource`](crate::assertion::AssertionSource),
/// asked for each request: a federated credential the platform rotates (Kubernetes projected
/// service account token, Azure workload identity's `AZURE_FEDERATED_TOKEN_FILE`: see
/// [`AssertionFile`](crate::assertion::AssertionFile)), or one your own code mints.
///
/// Sends `client_id`, `client_assertion_type` (the JWT bearer type unless
/// [`assertion_type`](Self::assertion_type) says otherwise) and `client_assertion`. To sign an
/// assertion with a key the client holds, use `private_key_jwt`
/// ([`ClientBuilder::private_key_jwt`](crate::ClientBuilder::private_key_jwt)) instead.
///
/// ```
/// use grantline::{assertion, client_auth::ClientAssertion, secret::Assertion};
///
/// let auth = ClientAssertion::new(assertion::from_fn("federated", |_| Ok(Assertion::new("eyJ..."))));
/// let client = grantline::Client::builder("00000000-app")
///     .token_endpoint("https://login.example/token")
///     .auth(auth)
///     .build()?;
/// assert_eq!(client.auth_method(), "private_key_jwt");
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientAssertion {
    source: std::sync::Arc<dyn crate::assertion::AssertionSource>,
    method: String,
    assertion_type: String,
}

impl ClientAssertion {
    /// Client authentication with the assertions `source` gives, as `private_key_jwt` (the
    /// method name servers register a JWT client assertion under).
    ///
    /// ```
    /// use grantline::{assertion, client_auth::ClientAssertion, secret::Assertion};
    /// let _ = ClientAssertion::new(assertion::from_fn("x", |_| Ok(Assertion::new("a"))));
    /// ```
    #[must_use]
    pub fn new(source: impl crate::assertion::AssertionSource + 'static) -> Self {
        Self {
            source: std::sync::Arc::new(source),
            method: "private_key_jwt".to_owned(),
            assertion_type: JWT_BEARER_ASSERTION_TYPE.to_owned(),
        }
    }

    /// Registers under another method name (`client_secret_jwt` for an HMAC assertion you
    /// sign yourself, or a vendor's).
    ///
    /// ```
    /// # use grantline::{assertion, client_auth::ClientAssertion, secret::Assertion};
    /// let auth = ClientAssertion::new(assertion::from_fn("x", |_| Ok(Assertion::new("a"))))
    ///     .method("client_secret_jwt");
    /// # let _ = auth;
    /// ```
    #[must_use]
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = method.into();
        self
    }

    /// Sends another `client_assertion_type` (a SAML 2.0 assertion's, RFC 7522 §2.2).
    ///
    /// ```
    /// # use grantline::{assertion, client_auth::ClientAssertion, secret::Assertion};
    /// let auth = ClientAssertion::new(assertion::from_fn("x", |_| Ok(Assertion::new("a"))))
    ///     .assertion_type("urn:ietf:params:oauth:client-assertion-type:saml2-bearer");
    /// # let _ = auth;
    /// ```
    #[must_use]
    pub fn assertion_type(mut self, assertion_type: impl Into<String>) -> Self {
        self.assertion_type = assertion_type.into();
        self
    }
}

impl ClientAuthentication for ClientAssertion {
    fn method(&self) -> &str {
        &self.method
    }

    fn authenticate(&self, ctx: &AuthContext<'_>, target: &mut AuthTarget) -> Result<(), Error> {
        let assertion = self.source.assertion(ctx)?;
        target.add_param("client_id", ctx.client_id);
        target.add_param("client_assertion_type", self.assertion_type.as_str());
        target.add_param("client_assertion", assertion.into_secret());
        Ok(())
    }
}

/// Parameter names that client authentication may set, which extra parameters must not.
pub(crate) const AUTH_PARAMS: &[&str] = &[
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SystemRandom;
    use url::form_urlencoded::byte_serialize;

    fn run(auth: &dyn ClientAuthentication, client_id: &str) -> Result<AuthTarget, Error> {
        let endpoint = Url::parse("https://as.example/token").unwrap();
        let ctx = AuthContext {
            client_id,
            endpoint: &endpoint,
            endpoint_kind: EndpointKind::Token,
            now: Now::system(),
            randomness: &SystemRandom,
            fapi2_issuer: None,
        };
        let mut target = AuthTarget::default();
        auth.authenticate(&ctx, &mut target)?;
        Ok(target)
    }

    fn basic_credentials(target: &AuthTarget) -> String {
        let header = target.headers.get(http::header::AUTHORIZATION).unwrap();
        assert!(header.is_sensitive());
        let encoded = header.to_str().unwrap().strip_prefix("Basic ").unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        String::from_utf8(decoded).unwrap()
    }

    #[test]
    fn basic_form_encodes_id_and_secret() {
        let secret = "a:b+c%d e\u{e9}\u{1F511}";
        let target = run(&ClientSecretBasic::new(secret), "client:id é").unwrap();
        let credentials = basic_credentials(&target);
        assert_eq!(
            credentials,
            "client%3Aid+%C3%A9:a%3Ab%2Bc%25d+e%C3%A9%F0%9F%94%91"
        );
        // A compliant server splits on the first `:` and form-decodes each half.
        let (id, secret_back) = credentials.split_once(':').unwrap();
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .unwrap()
                .1
                .into_owned()
        };
        assert_eq!(decode(id), "client:id é");
        assert_eq!(decode(secret_back), secret);
        assert!(target.params.is_empty(), "basic sends nothing in the form");
    }

    #[test]
    fn basic_raw_sends_the_values_as_they_are() {
        let auth = ClientSecretBasic::new("a:b+c%d e").encoding(BasicEncoding::Raw);
        let target = run(&auth, "client").unwrap();
        assert_eq!(basic_credentials(&target), "client:a:b+c%d e");
        let refused = run(&auth, "client:id").unwrap_err();
        assert!(matches!(
            refused,
            Error::Config(ConfigError::InvalidCredentials(_))
        ));
    }

    #[test]
    fn post_and_none_use_the_form() {
        let target = run(&ClientSecretPost::new("s"), "c").unwrap();
        assert_eq!(
            target.params,
            [
                ("client_id".to_owned(), "c".to_owned()),
                ("client_secret".to_owned(), "s".to_owned())
            ]
        );
        assert!(target.headers.is_empty());
        let target = run(&PublicClient, "c").unwrap();
        assert_eq!(target.params, [("client_id".to_owned(), "c".to_owned())]);
    }

    #[test]
    fn tls_client_auth_sends_only_the_client_id() {
        for (auth, method) in [
            (TlsClientAuth::pki(), "tls_client_auth"),
            (TlsClientAuth::self_signed(), "self_signed_tls_client_auth"),
        ] {
            assert_eq!(auth.method(), method);
            let target = run(&auth, "device-42").unwrap();
            assert_eq!(
                target.params,
                [("client_id".to_owned(), "device-42".to_owned())]
            );
            assert!(target.headers.is_empty());
        }
    }

    /// The header as RFC 6749 §2.3.1 describes it, written the plain way.
    fn reference_header(client_id: &str, secret: &str, encoding: BasicEncoding) -> String {
        let credentials = match encoding {
            BasicEncoding::FormUrlEncoded => format!(
                "{}:{}",
                byte_serialize(client_id.as_bytes()).collect::<String>(),
                byte_serialize(secret.as_bytes()).collect::<String>()
            ),
            BasicEncoding::Raw => format!("{client_id}:{secret}"),
        };
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        format!("Basic {encoded}")
    }

    fn authorization(target: &AuthTarget) -> &HeaderValue {
        target.headers.get(http::header::AUTHORIZATION).unwrap()
    }

    #[test]
    fn basic_encodes_the_header_once_per_client_id() {
        let auth = ClientSecretBasic::new("s3cr3t");
        assert!(auth.header.get().is_none());
        let first = run(&auth, "client").unwrap();
        let kept = auth.header.get().unwrap();
        assert_eq!(kept.client_id, "client");
        assert_eq!(authorization(&first), kept.value);
        let again = run(&auth, "client").unwrap();
        assert_eq!(authorization(&again), authorization(&first));
        assert!(authorization(&again).is_sensitive());
        // Another client id is encoded for itself; the kept header stays the first one's.
        let other = run(&auth, "other").unwrap();
        assert_eq!(
            authorization(&other),
            reference_header("other", "s3cr3t", BasicEncoding::FormUrlEncoded).as_str()
        );
        assert_eq!(auth.header.get().unwrap().client_id, "client");
    }

    #[test]
    fn choosing_an_encoding_drops_the_kept_header() {
        let auth = ClientSecretBasic::new("a b");
        run(&auth, "client").unwrap();
        let raw = auth.clone().encoding(BasicEncoding::Raw);
        assert!(raw.header.get().is_none());
        assert_eq!(
            basic_credentials(&run(&raw, "client").unwrap()),
            "client:a b"
        );
        assert_eq!(
            basic_credentials(&run(&auth, "client").unwrap()),
            "client:a+b"
        );
    }

    proptest::proptest! {
        #[test]
        fn the_kept_header_is_the_one_the_rfc_describes(
            client_id in ".{0,12}",
            secret in ".{0,24}",
            raw in proptest::bool::ANY,
        ) {
            let encoding = if raw { BasicEncoding::Raw } else { BasicEncoding::FormUrlEncoded };
            let auth = ClientSecretBasic::new(secret.as_str()).encoding(encoding);
            if raw && client_id.contains(':') {
                proptest::prop_assert!(run(&auth, &client_id).is_err());
                proptest::prop_assert!(auth.header.get().is_none());
                return Ok(());
            }
            let expected = reference_header(&client_id, &secret, encoding);
            for _ in 0..2 {
                let target = run(&auth, &client_id).unwrap();
                proptest::prop_assert_eq!(authorization(&target), expected.as_str());
            }
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let used = ClientSecretBasic::new("hunter2");
        run(&used, "c").unwrap();
        let shown = format!("{used:?}");
        let encoded = reference_header("c", "hunter2", BasicEncoding::FormUrlEncoded);
        assert!(
            !shown.contains("hunter2") && !shown.contains(&encoded[6..]),
            "{shown}"
        );
        let basic = format!("{:?}", ClientSecretBasic::new("hunter2"));
        let post = format!("{:?}", ClientSecretPost::new("hunter2"));
        assert!(!basic.contains("hunter2") && !post.contains("hunter2"));
        let target = run(&ClientSecretPost::new("hunter2"), "c").unwrap();
        assert!(!format!("{target:?}").contains("hunter2"));
    }
}
