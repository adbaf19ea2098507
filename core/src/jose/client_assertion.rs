//! JWT client authentication (`client_secret_jwt`, `private_key_jwt`: RFC 7523 §2.2, OpenID
//! Connect Core §9) and JWT bearer assertions (RFC 7523 §2.1).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::algorithm::Algorithm;
use super::claims::{Claims, unix_seconds};
use super::jwk::b64_encode;
use super::jws::{JwsHeader, sign};
use super::signing_key::{JwsSigner, SigningKey};
use crate::Error;
use crate::client_auth::{AuthContext, AuthTarget, ClientAuthentication};
use crate::error::{ConfigError, Fapi2Rule};
use crate::random::Randomness;
use crate::secret::{Assertion, ClientSecret};

/// The `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
const ASSERTION_TYPE: &str = crate::client_auth::JWT_BEARER_ASSERTION_TYPE;

/// The explicit type of a client authentication JWT (draft-ietf-oauth-rfc7523bis).
const CLIENT_AUTH_TYPE: &str = "client-authentication+jwt";

/// How long a client assertion lives by default: short, since each request gets a fresh one.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);

/// Random bytes in a `jti` (128 bits).
const JTI_BYTES: usize = 16;

/// Who a client assertion is addressed to: its `aud` claim.
///
/// RFC 7523 §3 and OpenID Connect Core §9 ask for a value that identifies the authorization
/// server and suggest the token endpoint URL, which is what most deployed servers expect
/// ([`Endpoint`](AssertionAudience::Endpoint), the default). The update in
/// draft-ietf-oauth-rfc7523bis (written after an audience-injection attack on clients that talk
/// to several authorization servers) requires the server's **issuer identifier** as a single
/// string instead ([`Issuer`](AssertionAudience::Issuer)); use it when the server accepts it,
/// and always when the client trusts more than one authorization server. RFC 9126 §2 already
/// asks servers to accept the issuer for pushed authorization requests.
///
/// ```
/// use grantline::jose::AssertionAudience;
/// let audience = AssertionAudience::Issuer("https://as.example".into());
/// # let _ = audience;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AssertionAudience {
    /// The URL the request is sent to: the token endpoint for token requests, the PAR,
    /// revocation or introspection endpoint for those.
    #[default]
    Endpoint,
    /// The authorization server's issuer identifier (draft-ietf-oauth-rfc7523bis).
    Issuer(String),
    /// A fixed value the server documents.
    Value(String),
}

impl AssertionAudience {
    fn resolve(&self, endpoint: &url::Url) -> String {
        match self {
            AssertionAudience::Endpoint => endpoint.as_str().to_owned(),
            AssertionAudience::Issuer(value) | AssertionAudience::Value(value) => value.clone(),
        }
    }
}

/// A fresh `jti`: 128 random bits, base64url.
pub(crate) fn new_jti(randomness: &dyn Randomness) -> Result<String, Error> {
    let mut bytes = [0u8; JTI_BYTES];
    randomness.fill(&mut bytes)?;
    Ok(b64_encode(&bytes))
}

/// A signed JWT assertion: for the JWT bearer grant (RFC 7523 §2.1), or any other party that
/// takes one. Client authentication builds its assertions with this too.
///
/// The JWT carries `iss`, `sub`, `aud` (a single string when there is one audience), `iat`,
/// `exp` (`iat` plus the lifetime), a random `jti`, and any extra claims.
///
/// ```
/// use grantline::{grant::TokenRequest, jose::{Algorithm, JwtAssertion, SigningKey}, random::SystemRandom};
/// use std::time::SystemTime;
///
/// let key = SigningKey::hmac(Algorithm::HS256, b"a secret shared with the server")?;
/// let assertion = JwtAssertion::new("my-service", "user@example.com", "https://as.example")
///     .claim("scope", "read")
///     .sign(&key, grantline::Now::system().wall(), &SystemRandom)?;
/// let request = TokenRequest::jwt_bearer(assertion);
/// # let _ = request;
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct JwtAssertion {
    issuer: String,
    subject: String,
    audience: Vec<String>,
    lifetime: Duration,
    token_type: Option<String>,
    extra: Claims,
}

impl JwtAssertion {
    /// An assertion from `issuer` about `subject`, for `audience`.
    ///
    /// ```
    /// let _ = grantline::jose::JwtAssertion::new("iss", "sub", "https://as.example/token");
    /// ```
    #[must_use]
    pub fn new(
        issuer: impl Into<String>,
        subject: impl Into<String>,
        audience: impl Into<String>,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            subject: subject.into(),
            audience: vec![audience.into()],
            lifetime: DEFAULT_LIFETIME,
            token_type: None,
            extra: Claims::new(),
        }
    }

    /// Adds another audience (`aud` becomes an array).
    ///
    /// ```
    /// let _ = grantline::jose::JwtAssertion::new("i", "s", "a").also_for("b");
    /// ```
    #[must_use]
    pub fn also_for(mut self, audience: impl Into<String>) -> Self {
        self.audience.push(audience.into());
        self
    }

    /// How long the assertion is valid (`exp - iat`); 60 seconds by default.
    ///
    /// ```
    /// let _ = grantline::jose::JwtAssertion::new("i", "s", "a").lifetime(std::time::Duration::from_secs(300));
    /// ```
    #[must_use]
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Sets the header's `typ`.
    ///
    /// ```
    /// let _ = grantline::jose::JwtAssertion::new("i", "s", "a").token_type("JWT");
    /// ```
    #[must_use]
    pub fn token_type(mut self, typ: impl Into<String>) -> Self {
        self.token_type = Some(typ.into());
        self
    }

    /// Adds a claim. The registered claims grantline sets (`iss`, `sub`, `aud`, `iat`, `exp`,
    /// `jti`) cannot be overridden this way: they are written last.
    ///
    /// ```
    /// let _ = grantline::jose::JwtAssertion::new("i", "s", "a").claim("tenant", "t1");
    /// ```
    #[must_use]
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.extra = self.extra.with(name, value);
        self
    }

    /// The claims the assertion will carry when signed at `now` with `jti`.
    fn claims(&self, now: SystemTime, jti: String) -> Claims {
        let iat = unix_seconds(now);
        let audience: serde_json::Value = match self.audience.as_slice() {
            [one] => one.clone().into(),
            many => many.to_vec().into(),
        };
        self.extra
            .clone()
            .with("iss", self.issuer.clone())
            .with("sub", self.subject.clone())
            .with("aud", audience)
            .with("iat", iat)
            .with("exp", iat.saturating_add(self.lifetime.as_secs()))
            .with("jti", jti)
    }

    /// Signs the assertion at `now`, with a fresh `jti` from `randomness`.
    ///
    /// # Errors
    ///
    /// [`Error::Randomness`] or the signer's error.
    ///
    /// ```
    /// use grantline::jose::{Algorithm, JwtAssertion, SigningKey};
    /// let key = SigningKey::hmac(Algorithm::HS256, b"k")?;
    /// let jwt = JwtAssertion::new("i", "s", "a")
    ///     .sign(&key, grantline::Now::system().wall(), &grantline::random::SystemRandom)?;
    /// assert_eq!(jwt.secret().split('.').count(), 3);
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn sign(
        &self,
        signer: &dyn JwsSigner,
        now: SystemTime,
        randomness: &dyn Randomness,
    ) -> Result<Assertion, Error> {
        let claims = self.claims(now, new_jti(randomness)?);
        let mut header = JwsHeader::for_signer(signer);
        if let Some(typ) = &self.token_type {
            header = header.with_type(typ.clone());
        }
        Ok(Assertion::new(sign(signer, header, &claims.to_json())?))
    }
}

/// A [`JwtAssertion`] signed anew for every request that needs one: the assertion source of a
/// JWT bearer grant that renews unattended (the Google service-account pattern), or of a client
/// assertion. Each signature gets `iat` from the flow's [`Now`](crate::Now), `exp` that plus the
/// assertion's lifetime, and a fresh `jti` from the client's [`Randomness`], so no assertion is
/// ever sent twice.
///
/// `Debug` shows the claims' `iss`, `sub` and `aud` and the algorithm, never the key.
///
/// ```
/// use grantline::{Client, Flow, Now, Step, grant::TokenRequest};
/// use grantline::jose::{Algorithm, JwtAssertion, JwtAssertionSource, SigningKey, UnverifiedJws};
/// use std::time::Duration;
///
/// let key = SigningKey::hmac(Algorithm::HS256, b"a secret shared with the server")?;
/// let source = JwtAssertionSource::new(
///     JwtAssertion::new("svc", "svc", "https://as.example/token").lifetime(Duration::from_secs(300)),
///     key,
/// );
/// let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
/// let mut flow = client.request_token(TokenRequest::jwt_bearer_from(source))?;
/// let now = Now::system();
/// let assertion = |step: Step<_>| match step {
///     Step::Send(request) => url::form_urlencoded::parse(request.body())
///         .find(|(k, _)| k == "assertion").unwrap().1.into_owned(),
///     _ => unreachable!(),
/// };
/// let first = assertion(flow.next(now)?);
/// let later = assertion(flow.next(now.advance(Duration::from_secs(3600)))?);
/// let claims = |jwt: &str| -> serde_json::Value {
///     serde_json::from_slice(UnverifiedJws::parse(jwt).unwrap().unverified_payload()).unwrap()
/// };
/// let (first, later) = (claims(&first), claims(&later));
/// assert_ne!(first["jti"], later["jti"]);
/// assert_eq!(later["iat"].as_u64().unwrap() - first["iat"].as_u64().unwrap(), 3600);
/// assert_eq!(later["exp"].as_u64().unwrap() - later["iat"].as_u64().unwrap(), 300);
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Clone)]
pub struct JwtAssertionSource {
    template: JwtAssertion,
    signer: Arc<dyn JwsSigner>,
}

impl std::fmt::Debug for JwtAssertionSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAssertionSource")
            .field("iss", &self.template.issuer)
            .field("sub", &self.template.subject)
            .field("aud", &self.template.audience)
            .field("lifetime", &self.template.lifetime)
            .field("alg", &self.signer.algorithm())
            .field("kid", &self.signer.key_id())
            .finish_non_exhaustive()
    }
}

impl JwtAssertionSource {
    /// `assertion` signed with `key` for every request.
    ///
    /// ```
    /// use grantline::jose::{Algorithm, JwtAssertion, JwtAssertionSource, SigningKey};
    /// let key = SigningKey::hmac(Algorithm::HS256, b"k")?;
    /// let source = JwtAssertionSource::new(JwtAssertion::new("i", "s", "a"), key);
    /// assert!(!format!("{source:?}").contains("k\""));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn new(assertion: JwtAssertion, key: SigningKey) -> Self {
        Self::with_signer(assertion, key)
    }

    /// `assertion` signed by a signer you bring (an HSM, a cloud KMS) for every request.
    ///
    /// ```
    /// use grantline::jose::{Algorithm, JwtAssertion, JwtAssertionSource, SigningKey};
    /// let signer = SigningKey::hmac(Algorithm::HS256, b"k")?; // in real use, your KMS signer
    /// let _ = JwtAssertionSource::with_signer(JwtAssertion::new("i", "s", "a"), signer);
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn with_signer(assertion: JwtAssertion, signer: impl JwsSigner + 'static) -> Self {
        Self {
            template: assertion,
            signer: Arc::new(signer),
        }
    }
}

impl crate::assertion::AssertionSource for JwtAssertionSource {
    fn assertion(&self, ctx: &AuthContext<'_>) -> Result<Assertion, Error> {
        self.template
            .sign(&*self.signer, ctx.now().wall(), ctx.randomness())
    }
}

/// What the two JWT client authentication methods share.
#[derive(Debug, Clone, Default)]
struct AssertionSettings {
    audience: AssertionAudience,
    lifetime: Option<Duration>,
    explicit_type: bool,
}

impl AssertionSettings {
    fn authenticate(
        &self,
        signer: &dyn JwsSigner,
        ctx: &AuthContext<'_>,
        target: &mut AuthTarget,
    ) -> Result<(), Error> {
        let audience = match ctx.fapi2_issuer {
            // FAPI 2.0 §5.3.3.1: the issuer, as one string; the default becomes it.
            Some(issuer) => {
                if !crate::jose::fapi2_allows(signer.algorithm()) {
                    return Err(ConfigError::Fapi2(Fapi2Rule::SigningAlgorithm).into());
                }
                match &self.audience {
                    AssertionAudience::Endpoint => issuer.to_owned(),
                    AssertionAudience::Issuer(value) | AssertionAudience::Value(value)
                        if value == issuer =>
                    {
                        issuer.to_owned()
                    }
                    _ => return Err(ConfigError::Fapi2(Fapi2Rule::AssertionAudience).into()),
                }
            }
            None => self.audience.resolve(ctx.endpoint()),
        };
        let mut assertion = JwtAssertion::new(ctx.client_id(), ctx.client_id(), audience)
            .lifetime(self.lifetime.unwrap_or(DEFAULT_LIFETIME));
        if self.explicit_type {
            assertion = assertion.token_type(CLIENT_AUTH_TYPE);
        }
        let jwt = assertion.sign(signer, ctx.now().wall(), ctx.randomness())?;
        target.add_param("client_id", ctx.client_id());
        target.add_param("client_assertion_type", ASSERTION_TYPE);
        target.add_param("client_assertion", jwt.into_secret());
        Ok(())
    }
}

macro_rules! assertion_settings {
    ($new:literal) => {
        /// Sets the assertion's audience (see [`AssertionAudience`]; the endpoint URL by
        /// default).
        ///
        /// ```
        #[doc = concat!("let auth = ", $new, ";")]
        /// let _ = auth.audience(grantline::jose::AssertionAudience::Issuer("https://as.example".into()));
        /// ```
        #[must_use]
        pub fn audience(mut self, audience: AssertionAudience) -> Self {
            self.settings.audience = audience;
            self
        }

        /// Sets how long each assertion is valid (`exp - iat`); 60 seconds by default.
        ///
        /// ```
        #[doc = concat!("let auth = ", $new, ";")]
        /// let _ = auth.lifetime(std::time::Duration::from_secs(30));
        /// ```
        #[must_use]
        pub fn lifetime(mut self, lifetime: Duration) -> Self {
            self.settings.lifetime = Some(lifetime);
            self
        }

        /// Marks assertions with `typ: client-authentication+jwt` (draft-ietf-oauth-rfc7523bis).
        /// Off by default: some deployed servers refuse a `typ` they do not know, others
        /// (following the update) require it.
        ///
        /// ```
        #[doc = concat!("let auth = ", $new, ";")]
        /// let _ = auth.explicit_type(true);
        /// ```
        #[must_use]
        pub fn explicit_type(mut self, explicit: bool) -> Self {
            self.settings.explicit_type = explicit;
            self
        }
    };
}

/// `client_secret_jwt`: a JWT signed with HMAC over the client secret (OpenID Connect Core §9).
///
/// Each request gets a fresh assertion: `iss` = `sub` = the client id, `aud` as configured
/// (the endpoint URL by default), `iat` from the flow's `now`, `exp` 60 seconds later, and a
/// random `jti` from the client's [`Randomness`]. HS256 by default.
///
/// ```
/// use grantline::client_auth::ClientSecretJwt;
/// use grantline::jose::{Algorithm, AssertionAudience};
///
/// let client = grantline::Client::builder("my-client")
///     .token_endpoint("https://as.example/token")
///     .auth(ClientSecretJwt::new("s3cr3t")
///         .algorithm(Algorithm::HS512)
///         .audience(AssertionAudience::Issuer("https://as.example".into())))
///     .build()?;
/// assert_eq!(client.auth_method(), "client_secret_jwt");
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientSecretJwt {
    secret: ClientSecret,
    algorithm: Algorithm,
    settings: AssertionSettings,
}

impl ClientSecretJwt {
    /// `client_secret_jwt` with `secret`, signing with HS256.
    ///
    /// ```
    /// let auth = grantline::client_auth::ClientSecretJwt::new("s3cr3t");
    /// assert!(!format!("{auth:?}").contains("s3cr3t"));
    /// ```
    #[must_use]
    pub fn new(secret: impl Into<ClientSecret>) -> Self {
        Self {
            secret: secret.into(),
            algorithm: Algorithm::HS256,
            settings: AssertionSettings::default(),
        }
    }

    /// Signs with `HS384` or `HS512` instead (another algorithm fails when a request is built,
    /// with [`ConfigError::InvalidCredentials`]).
    ///
    /// ```
    /// let _ = grantline::client_auth::ClientSecretJwt::new("s").algorithm(grantline::jose::Algorithm::HS384);
    /// ```
    #[must_use]
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    assertion_settings!("grantline::client_auth::ClientSecretJwt::new(\"s3cr3t\")");
}

impl ClientAuthentication for ClientSecretJwt {
    fn method(&self) -> &str {
        "client_secret_jwt"
    }

    fn authenticate(&self, ctx: &AuthContext<'_>, target: &mut AuthTarget) -> Result<(), Error> {
        let key = SigningKey::hmac(self.algorithm, self.secret.secret().as_bytes()).map_err(
            |_| {
                ConfigError::InvalidCredentials(
                    "client_secret_jwt needs a non-empty secret and an HMAC algorithm (HS256, HS384, HS512)",
                )
            },
        )?;
        self.settings.authenticate(&key, ctx, target)
    }
}

/// `private_key_jwt`: a JWT signed with the client's private key (RFC 7523 §2.2, OpenID Connect
/// Core §9), held in memory ([`SigningKey`]) or by a signer you bring (HSM, cloud KMS:
/// [`JwsSigner`]).
///
/// Each request gets a fresh assertion, as for [`ClientSecretJwt`]; the header carries the
/// signer's `kid` when it has one, which most servers need to pick the registered key.
///
/// ```
/// use grantline::client_auth::PrivateKeyJwt;
/// use grantline::jose::SigningKey;
///
/// let key = SigningKey::from_jwk(r#"{"kty":"OKP","crv":"Ed25519","kid":"client-key-1",
///     "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
/// let client = grantline::Client::builder("my-client")
///     .token_endpoint("https://as.example/token")
///     .auth(PrivateKeyJwt::new(key))
///     .build()?;
/// assert_eq!(client.auth_method(), "private_key_jwt");
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct PrivateKeyJwt {
    signer: Arc<dyn JwsSigner>,
    settings: AssertionSettings,
}

impl PrivateKeyJwt {
    /// `private_key_jwt` with a key held in memory.
    ///
    /// ```
    /// # use grantline::jose::{Algorithm, SigningKey};
    /// # let key = SigningKey::hmac(Algorithm::HS256, b"k")?;
    /// let _ = grantline::client_auth::PrivateKeyJwt::new(key);
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn new(key: SigningKey) -> Self {
        Self::with_signer(key)
    }

    /// `private_key_jwt` with a signer you bring (an HSM, a cloud KMS). See [`JwsSigner`].
    ///
    /// ```
    /// # use grantline::jose::{Algorithm, SigningKey};
    /// # let key = SigningKey::hmac(Algorithm::HS256, b"k")?;
    /// let _ = grantline::client_auth::PrivateKeyJwt::with_signer(key);
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn with_signer(signer: impl JwsSigner + 'static) -> Self {
        Self {
            signer: Arc::new(signer),
            settings: AssertionSettings::default(),
        }
    }

    assertion_settings!(
        "grantline::client_auth::PrivateKeyJwt::new(grantline::jose::SigningKey::hmac(grantline::jose::Algorithm::HS256, b\"k\").unwrap())"
    );
}

impl ClientAuthentication for PrivateKeyJwt {
    fn method(&self) -> &str {
        "private_key_jwt"
    }

    fn authenticate(&self, ctx: &AuthContext<'_>, target: &mut AuthTarget) -> Result<(), Error> {
        self.settings.authenticate(&*self.signer, ctx, target)
    }
}
