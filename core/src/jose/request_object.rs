//! Signed request objects: the authorization request as a JWT (RFC 9101, JAR).

use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::claims::{Claims, unix_seconds};
use super::client_assertion::new_jti;
use super::jws::{JwsHeader, sign};
use super::signing_key::JwsSigner;
use crate::Error;
use crate::error::ConfigError;
use crate::random::Randomness;

/// The explicit type of a request object (RFC 9101 §10.8).
const REQUEST_OBJECT_TYPE: &str = "oauth-authz-req+jwt";

/// Parameters whose value is JSON rather than a string inside a request object.
const JSON_PARAMETERS: &[&str] = &["claims", "authorization_details"];

/// Parameters whose value is a number inside a request object.
const NUMBER_PARAMETERS: &[&str] = &["max_age"];

/// Parameters a request object must not contain (RFC 9101 §4).
const FORBIDDEN: &[&str] = &["request", "request_uri"];

/// An authorization request to send as a signed request object (RFC 9101 §4), by value in the
/// `request` parameter or pushed to the PAR endpoint (RFC 9126 §3).
///
/// The JWT carries every authorization parameter as a claim (`max_age` as a number, `claims`
/// and `authorization_details` as JSON when their value is JSON), plus `iss` (the client id),
/// `aud` (the authorization server's issuer identifier, RFC 9101 §4), `iat`, `nbf`, `exp`
/// (`iat` plus the lifetime, 5 minutes by default) and a random `jti`. Its header has
/// `typ: oauth-authz-req+jwt` unless turned off.
///
/// ```
/// use grantline::jose::{Algorithm, RequestObject, SigningKey};
/// use std::time::SystemTime;
///
/// let key = SigningKey::hmac(Algorithm::HS256, b"client secret")?;
/// let request = RequestObject::new("my-client", "https://as.example")
///     .param("response_type", "code")
///     .param("redirect_uri", "https://app.example/cb")
///     .param("scope", "openid profile")
///     .param("state", "af0ifjsldkj")
///     .param("max_age", "600");
/// let jwt = request.sign(&key, grantline::Now::system().wall(), &grantline::random::SystemRandom)?;
///
/// // By value: the authorization URL carries client_id and request (plus, for OpenID Connect
/// // servers, response_type and scope again).
/// let query = request.query_params(&jwt);
/// assert_eq!(query[0], ("client_id".to_owned(), "my-client".to_owned()));
/// assert_eq!(query[1].0, "request");
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Clone)]
pub struct RequestObject {
    client_id: String,
    audience: String,
    params: Vec<(String, String)>,
    lifetime: Duration,
    explicit_type: bool,
}

/// The parameters show their names only (their values include the state and the nonce).
impl std::fmt::Debug for RequestObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.params.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("RequestObject")
            .field("client_id", &self.client_id)
            .field("audience", &self.audience)
            .field("params", &names)
            .field("lifetime", &self.lifetime)
            .field("explicit_type", &self.explicit_type)
            .finish()
    }
}

impl RequestObject {
    /// A request object from `client_id` to the authorization server `issuer`.
    ///
    /// ```
    /// let _ = grantline::jose::RequestObject::new("client", "https://as.example");
    /// ```
    #[must_use]
    pub fn new(client_id: impl Into<String>, issuer: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            audience: issuer.into(),
            params: Vec::new(),
            lifetime: Duration::from_secs(300),
            explicit_type: true,
        }
    }

    /// Adds an authorization request parameter (a later value for the same name replaces an
    /// earlier one).
    ///
    /// ```
    /// let _ = grantline::jose::RequestObject::new("c", "https://as.example").param("nonce", "n-0S6");
    /// ```
    #[must_use]
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        self.params.retain(|(n, _)| *n != name);
        self.params.push((name, value.into()));
        self
    }

    /// Adds every `(name, value)` pair, as [`param`](RequestObject::param) does.
    ///
    /// ```
    /// let params = vec![("response_type".to_owned(), "code".to_owned())];
    /// let _ = grantline::jose::RequestObject::new("c", "https://as.example").params(params);
    /// ```
    #[must_use]
    pub fn params<N, V>(self, params: impl IntoIterator<Item = (N, V)>) -> Self
    where
        N: Into<String>,
        V: Into<String>,
    {
        params
            .into_iter()
            .fold(self, |request, (name, value)| request.param(name, value))
    }

    /// How long the request object is valid (`exp - iat`); 5 minutes by default (FAPI 2.0
    /// allows at most 60).
    ///
    /// ```
    /// let _ = grantline::jose::RequestObject::new("c", "https://as.example")
    ///     .lifetime(std::time::Duration::from_secs(60));
    /// ```
    #[must_use]
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Whether the header says `typ: oauth-authz-req+jwt` (on by default, as RFC 9101 §10.8
    /// recommends; turn it off for a server that refuses it).
    ///
    /// ```
    /// let _ = grantline::jose::RequestObject::new("c", "https://as.example").explicit_type(false);
    /// ```
    #[must_use]
    pub fn explicit_type(mut self, explicit: bool) -> Self {
        self.explicit_type = explicit;
        self
    }

    /// The claims the request object carries when signed at `now` with `jti`.
    fn claims(&self, now: SystemTime, jti: String) -> Result<Claims, Error> {
        let mut claims = Claims::new();
        for (name, value) in &self.params {
            if FORBIDDEN.contains(&name.as_str()) {
                return Err(ConfigError::InvalidParameter {
                    name: name.clone(),
                    reason: "a request object cannot contain `request` or `request_uri`",
                }
                .into());
            }
            let claim = if NUMBER_PARAMETERS.contains(&name.as_str()) {
                value.parse::<u64>().map(Value::from).map_err(|_| {
                    ConfigError::InvalidParameter {
                        name: name.clone(),
                        reason: "is not a non-negative whole number",
                    }
                })?
            } else if JSON_PARAMETERS.contains(&name.as_str()) {
                serde_json::from_str(value).unwrap_or_else(|_| Value::from(value.clone()))
            } else {
                Value::from(value.clone())
            };
            claims = claims.with(name.clone(), claim);
        }
        let iat = unix_seconds(now);
        Ok(claims
            .with("iss", self.client_id.clone())
            .with("client_id", self.client_id.clone())
            .with("aud", self.audience.clone())
            .with("iat", iat)
            .with("nbf", iat)
            .with("exp", iat.saturating_add(self.lifetime.as_secs()))
            .with("jti", jti))
    }

    /// Signs the request object at `now`, with a fresh `jti` from `randomness`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidParameter`] for a `request`/`request_uri` parameter or a
    /// non-numeric `max_age`; [`Error::Randomness`]; the signer's error.
    ///
    /// ```
    /// use grantline::jose::{Algorithm, RequestObject, SigningKey};
    /// let key = SigningKey::hmac(Algorithm::HS256, b"k")?;
    /// let e = RequestObject::new("c", "https://as.example")
    ///     .param("request_uri", "urn:x")
    ///     .sign(&key, grantline::Now::system().wall(), &grantline::random::SystemRandom);
    /// assert!(e.is_err());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn sign(
        &self,
        signer: &dyn JwsSigner,
        now: SystemTime,
        randomness: &dyn Randomness,
    ) -> Result<String, Error> {
        let claims = self.claims(now, new_jti(randomness)?)?;
        let mut header = JwsHeader::for_signer(signer);
        if self.explicit_type {
            header = header.with_type(REQUEST_OBJECT_TYPE);
        }
        sign(signer, header, &claims.to_json())
    }

    /// The parameters of an authorization URL that passes the signed request object by value
    /// (RFC 9101 §5.1): `client_id` and `request`, followed by `response_type` and `scope`
    /// again when set, which OpenID Connect servers require outside the object too (Core
    /// §6.1). For PAR, send `client_id` and `request` in the pushed request's body instead.
    ///
    /// ```
    /// let request = grantline::jose::RequestObject::new("c", "https://as.example").param("scope", "openid");
    /// let names: Vec<String> = request.query_params("h.p.s").into_iter().map(|(n, _)| n).collect();
    /// assert_eq!(names, ["client_id", "request", "scope"]);
    /// ```
    #[must_use]
    pub fn query_params(&self, signed: &str) -> Vec<(String, String)> {
        let mut query = vec![
            ("client_id".to_owned(), self.client_id.clone()),
            ("request".to_owned(), signed.to_owned()),
        ];
        for name in ["response_type", "scope"] {
            if let Some((_, value)) = self.params.iter().find(|(n, _)| n == name) {
                query.push((name.to_owned(), value.clone()));
            }
        }
        query
    }
}
