//! ID token validation (OpenID Connect Core §3.1.3.7, §2 for the claims, §12.2 for refreshes).

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::error::{JoseError, Misuse};
use crate::flow::{Flow, Step};
use crate::jose::{Algorithm, Claims, JwkSet, UnverifiedJws, b64_encode, constant_time_eq, digest};
use crate::secret::{AccessToken, IdToken};
use crate::{Error, Now};

use super::jwks::{JwksCache, KeyRefresh};

/// The clock skew allowed by default between the issuer's clock and ours.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::from_secs(60);

/// Checks ID tokens for one client of one issuer: every rule of OpenID Connect Core §3.1.3.7.
///
/// Build one per login (it carries that login's `nonce`, and optionally its `max_age`, access
/// token and code), then call [`validate`](IdTokenValidator::validate) with the issuer's keys,
/// or [`verify`](IdTokenValidator::verify) to let a [`JwksCache`] fetch them as needed.
///
/// | rule (§3.1.3.7) | check | error |
/// | --- | --- | --- |
/// | 6, 7, 8 | signature with the issuer's keys, under an allowed algorithm (RS256 unless set), never `none` | [`JoseError::InvalidSignature`], [`JoseError::AlgorithmNotAllowed`], [`JoseError::Unsecured`], [`JoseError::NoMatchingKey`], [`JoseError::KeyAlgorithmMismatch`] |
/// | 2 | `iss` is the issuer, exactly (a `{tenantid}` template resolved with the token's `tid`) | [`JoseError::IssuerMismatch`] |
/// | 3 | `aud` holds the client id, and no audience the client does not trust | [`JoseError::AudienceMismatch`] |
/// | 4, 5 | `azp` is present with several audiences, and is the client id when present | [`JoseError::AuthorizedPartyMismatch`] |
/// | 9 | `exp` is after now, less the clock skew | [`JoseError::Expired`] |
/// | 10 | `iat` is not after now plus the skew, nor after `exp`, nor older than the maximum token age if set | [`JoseError::IssuedAtInvalid`] |
/// | — | `nbf`, when present, is not after now plus the skew | [`JoseError::NotYetValid`] |
/// | 11 | `nonce` is the one sent (compared in constant time) | [`JoseError::MissingNonce`], [`JoseError::NonceMismatch`] |
/// | 13 | `auth_time` is present and recent enough when `max_age` was sent | [`JoseError::MissingAuthTime`], [`JoseError::AuthenticationTooOld`] |
/// | §3.1.3.8, §3.3.2.11 | `at_hash` / `c_hash`, when present, match the access token / code | [`JoseError::AccessTokenHashMismatch`], [`JoseError::CodeHashMismatch`] |
/// | §2 | `sub`, `iss`, `aud`, `exp`, `iat` are present and well-typed | [`JoseError::MissingClaim`], [`JoseError::InvalidClaim`] |
/// | RFC 8725 §3.11 | a `typ` header naming another kind of JWT (`at+jwt`, `logout+jwt`...) | [`JoseError::UnexpectedType`] |
/// | §12.2 | a refreshed ID token has the same `sub`, and the same `auth_time` and `nonce` when present | [`JoseError::SubjectMismatch`], [`JoseError::RefreshMismatch`] |
///
/// An HMAC-signed ID token (HS256...) is checked with the client secret: put
/// [`Jwk::symmetric`](crate::jose::Jwk::symmetric)`(secret)` in the key set and allow the
/// algorithm.
///
/// ```
/// use grantline::jose::{self, Algorithm, Claims, JwkSet, JwsHeader, SigningKey};
/// use grantline::oidc::IdTokenValidator;
/// use grantline::secret::IdToken;
/// use std::time::{Duration, SystemTime};
///
/// // The provider's side, for the example.
/// let key = SigningKey::from_jwk(r#"{"kty":"OKP","crv":"Ed25519","kid":"k1",
///     "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let claims = Claims::new()
///     .with("iss", "https://op.example").with("sub", "alice").with("aud", "my-client")
///     .with("nonce", "n-0S6_WzA2Mj")
///     .with_time("iat", now).with_time("exp", now + Duration::from_secs(300));
/// let id_token = IdToken::new(jose::sign(&key, JwsHeader::for_signer(&key), &claims.to_json())?);
/// let keys = JwkSet::from(key.public_jwk().unwrap());
///
/// // The client's side.
/// let validated = IdTokenValidator::new("https://op.example", "my-client")
///     .algorithms([Algorithm::EdDSA])
///     .nonce("n-0S6_WzA2Mj")
///     .validate(&id_token, &keys, now)?;
/// assert_eq!(validated.subject(), "alice");
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Clone)]
pub struct IdTokenValidator {
    issuer: String,
    client_id: String,
    algorithms: Vec<Algorithm>,
    trusted_audiences: Vec<String>,
    nonce: Option<String>,
    max_age: Option<Duration>,
    require_auth_time: bool,
    clock_skew: Duration,
    max_token_age: Option<Duration>,
    access_token: Option<AccessToken>,
    code: Option<String>,
    previous: Option<Previous>,
}

/// What §12.2 compares a refreshed ID token against.
#[derive(Clone)]
struct Previous {
    subject: String,
    auth_time: Option<SystemTime>,
    nonce: Option<String>,
}

impl fmt::Debug for IdTokenValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdTokenValidator")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("algorithms", &self.algorithms)
            .field("trusted_audiences", &self.trusted_audiences)
            .field("nonce", &self.nonce.as_ref().map(|_| "[redacted]"))
            .field("max_age", &self.max_age)
            .field("require_auth_time", &self.require_auth_time)
            .field("clock_skew", &self.clock_skew)
            .field("max_token_age", &self.max_token_age)
            .field("access_token", &self.access_token)
            .field("code", &self.code.as_ref().map(|_| "[redacted]"))
            .field("refresh", &self.previous.is_some())
            .finish()
    }
}

impl IdTokenValidator {
    /// A validator for tokens from `issuer` (compared exactly) to `client_id`, accepting RS256
    /// (the default of OpenID Connect registration), with a clock skew of 60 seconds.
    ///
    /// An `issuer` holding `{tenantid}` (Microsoft Entra ID's multi-tenant metadata, accepted by
    /// [`DiscoveryFlow::allow_tenant_template`](crate::discovery::DiscoveryFlow::allow_tenant_template))
    /// is resolved with each token's `tid` claim: `iss` must then equal the template with `tid`
    /// in its place, so a token from one tenant cannot claim another's issuer.
    ///
    /// ```
    /// let validator = grantline::oidc::IdTokenValidator::new("https://op.example", "my-client");
    /// # let _ = validator;
    /// ```
    #[must_use]
    pub fn new(issuer: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            client_id: client_id.into(),
            algorithms: vec![Algorithm::RS256],
            trusted_audiences: Vec::new(),
            nonce: None,
            max_age: None,
            require_auth_time: false,
            clock_skew: DEFAULT_CLOCK_SKEW,
            max_token_age: None,
            access_token: None,
            code: None,
            previous: None,
        }
    }

    /// The signature algorithms accepted (the client's `id_token_signed_response_alg`, or the
    /// provider's `id_token_signing_alg_values_supported` the client trusts). Replaces the
    /// default RS256.
    ///
    /// ```
    /// use grantline::jose::Algorithm;
    /// let v = grantline::oidc::IdTokenValidator::new("https://op.example", "c")
    ///     .algorithms([Algorithm::RS256, Algorithm::ES256]);
    /// # let _ = v;
    /// ```
    #[must_use]
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Trusts another audience next to the client id (rule 3 rejects any audience the client
    /// does not trust).
    ///
    /// ```
    /// let v = grantline::oidc::IdTokenValidator::new("https://op.example", "c")
    ///     .trust_audience("https://api.example");
    /// # let _ = v;
    /// ```
    #[must_use]
    pub fn trust_audience(mut self, audience: impl Into<String>) -> Self {
        self.trusted_audiences.push(audience.into());
        self
    }

    /// The `nonce` sent in the authentication request; the token must carry the same. Pass the
    /// value the authorization request generated (`PendingAuthorization::nonce`). `None` (no
    /// nonce sent) skips the check.
    ///
    /// ```
    /// let v = grantline::oidc::IdTokenValidator::new("https://op.example", "c").nonce("n-0S6");
    /// assert!(!format!("{v:?}").contains("n-0S6"));
    /// ```
    #[must_use]
    pub fn nonce<'n>(mut self, nonce: impl Into<Option<&'n str>>) -> Self {
        self.nonce = nonce.into().map(str::to_owned);
        self
    }

    /// The `max_age` sent in the authentication request: `auth_time` must then be present and
    /// no older than `max_age` (plus the clock skew).
    ///
    /// ```
    /// let v = grantline::oidc::IdTokenValidator::new("https://op.example", "c")
    ///     .max_age(std::time::Duration::from_secs(600));
    /// # let _ = v;
    /// ```
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// Requires `auth_time` even without `max_age` (the client registered
    /// `require_auth_time`).
    ///
    /// ```
    /// let v = grantline::oidc::IdTokenValidator::new("https://op.example", "c").require_auth_time(true);
    /// # let _ = v;
    /// ```
    #[must_use]
    pub fn require_auth_time(mut self, require: bool) -> Self {
        self.require_auth_time = require;
        self
    }

    /// The clock skew tolerated on `exp`, `iat`, `nbf` and `auth_time` (60 seconds by default).
    ///
    /// ```
    /// let v = grantline::oidc::IdTokenValidator::new("https://op.example", "c")
    ///     .clock_skew(std::time::Duration::from_secs(5));
    /// # let _ = v;
    /// ```
    #[must_use]
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.clock_skew = skew;
        self
    }

    /// Refuses tokens issued (`iat`) longer ago than `age` (plus the clock skew). Unset by
    /// default: `exp` bounds a token's life.
    ///
    /// ```
    /// let v = grantline::oidc::IdTokenValidator::new("https://op.example", "c")
    ///     .max_token_age(std::time::Duration::from_secs(600));
    /// # let _ = v;
    /// ```
    #[must_use]
    pub fn max_token_age(mut self, age: Duration) -> Self {
        self.max_token_age = Some(age);
        self
    }

    /// The access token issued with the ID token: `at_hash`, when present, must match it.
    ///
    /// ```
    /// use grantline::secret::AccessToken;
    /// let v = grantline::oidc::IdTokenValidator::new("https://op.example", "c")
    ///     .access_token(&AccessToken::new("at"));
    /// # let _ = v;
    /// ```
    #[must_use]
    pub fn access_token(mut self, access_token: &AccessToken) -> Self {
        self.access_token = Some(access_token.clone());
        self
    }

    /// The authorization code the ID token came with (hybrid flow): `c_hash`, when present,
    /// must match it.
    ///
    /// ```
    /// let v = grantline::oidc::IdTokenValidator::new("https://op.example", "c").code("SplxlOBeZQQYbYS6WxSbIA");
    /// # let _ = v;
    /// ```
    #[must_use]
    pub fn code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// A validator for the ID token of a refresh response (Core §12.2), given the claims of
    /// the ID token from the original authentication: the same `sub` is required, `auth_time`
    /// and `nonce` must be unchanged when present, and no new nonce is expected.
    ///
    /// ```
    /// # fn f(validator: grantline::oidc::IdTokenValidator, original: &grantline::oidc::IdTokenClaims) {
    /// let for_refresh = validator.for_refresh_of(original);
    /// # let _ = for_refresh; }
    /// ```
    #[must_use]
    pub fn for_refresh_of(mut self, original: &IdTokenClaims) -> Self {
        self.nonce = None;
        self.previous = Some(Previous {
            subject: original.subject.clone(),
            auth_time: original.auth_time,
            nonce: original.claims.string("nonce").map(str::to_owned),
        });
        self
    }

    pub(crate) fn allowed_algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }

    pub(crate) fn expected_issuer(&self) -> &str {
        &self.issuer
    }

    pub(crate) fn expected_client_id(&self) -> &str {
        &self.client_id
    }

    /// Validates `id_token` with the issuer's `keys` at wall-clock time `now`.
    ///
    /// # Errors
    ///
    /// [`Error::Jose`] with the [`JoseError`] of the first rule the token breaks (see the table
    /// above).
    ///
    /// ```
    /// use grantline::{Error, error::JoseError, jose::JwkSet, oidc::IdTokenValidator, secret::IdToken};
    /// // An unsecured token ({"alg":"none"}) is refused before anything else.
    /// let token = IdToken::new("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.");
    /// let e = IdTokenValidator::new("https://op.example", "c")
    ///     .validate(&token, &JwkSet::default(), grantline::Now::system().wall())
    ///     .unwrap_err();
    /// assert!(matches!(e, Error::Jose(JoseError::Unsecured)));
    /// ```
    pub fn validate(
        &self,
        id_token: &IdToken,
        keys: &JwkSet,
        now: SystemTime,
    ) -> Result<IdTokenClaims, Error> {
        let jws = UnverifiedJws::parse(id_token.secret())?;
        self.validate_parsed(jws, keys, now)
    }

    fn validate_parsed(
        &self,
        jws: UnverifiedJws,
        keys: &JwkSet,
        now: SystemTime,
    ) -> Result<IdTokenClaims, Error> {
        check_type(jws.header().token_type())?;
        let verified = jws.verify(keys, &self.algorithms)?;
        let alg = verified.header().algorithm();
        let claims = verified.claims()?;
        Ok(self.check_claims(claims, alg, now)?)
    }

    /// A flow that validates `id_token`, fetching the issuer's keys into `cache` first when it
    /// has none, when they are stale, or when the token names a key it does not have (once, and
    /// at most once per cooldown: key rotation). Run it like any [`Flow`]; its output is the
    /// validated claims.
    ///
    /// # Errors
    ///
    /// A token that is not a well-formed JWS fails here already; everything else fails from
    /// the flow.
    ///
    /// ```
    /// use grantline::{Flow, Now, Step, jose::JwkSet, oidc::{IdTokenValidator, JwksCache}, secret::IdToken};
    ///
    /// let validator = IdTokenValidator::new("https://op.example", "c");
    /// let mut cache = JwksCache::new("https://op.example/jwks")?;
    /// // eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0 = {"alg":"RS256","kid":"k1"}
    /// let token = IdToken::new("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.e30.AA");
    /// let mut flow = validator.verify(&token, &mut cache)?;
    /// // Nothing cached: the flow asks for the key set first.
    /// assert!(matches!(flow.next(Now::system())?, Step::Send(r) if r.uri() == "https://op.example/jwks"));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn verify<'a>(
        &'a self,
        id_token: &IdToken,
        cache: &'a mut JwksCache,
    ) -> Result<IdTokenVerification<'a>, Error> {
        Ok(IdTokenVerification {
            validator: self,
            jws: Some(UnverifiedJws::parse(id_token.secret())?),
            cache,
            keys: KeyRefresh::default(),
            failed: false,
        })
    }

    fn check_claims(
        &self,
        claims: Claims,
        alg: Algorithm,
        now: SystemTime,
    ) -> Result<IdTokenClaims, JoseError> {
        let skew = self.clock_skew;
        let required = |name: &'static str| -> Result<String, JoseError> {
            match claims.get(name) {
                None | Some(serde_json::Value::Null) => Err(JoseError::MissingClaim(name)),
                Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(s.clone()),
                Some(_) => Err(JoseError::InvalidClaim {
                    claim: name,
                    problem: "is not a non-empty string",
                }),
            }
        };

        // Rule 2: the issuer, exactly. A multi-tenant template (Microsoft Entra ID's
        // `https://login.microsoftonline.com/{tenantid}/v2.0`) is resolved with the token's own
        // `tid` first, so `iss` must name the tenant the token says it is from.
        let issuer = required("iss")?;
        let resolved;
        let expected = if crate::discovery::is_tenant_template(&self.issuer) {
            let tid = required("tid")?;
            resolved = crate::discovery::resolve_tenant(&self.issuer, &tid).ok_or(
                JoseError::InvalidClaim {
                    claim: "tid",
                    problem: "is not one path segment, so it names no tenant issuer",
                },
            )?;
            resolved.as_str()
        } else {
            self.issuer.as_str()
        };
        if issuer != expected {
            return Err(JoseError::IssuerMismatch {
                found: crate::error::bounded(&issuer, 512),
            });
        }
        let subject = required("sub")?;

        // Rule 3: the audience holds the client id and nothing untrusted.
        if claims.get("aud").is_none() {
            return Err(JoseError::MissingClaim("aud"));
        }
        let audience: Vec<String> = claims
            .audience()
            .map_err(|_| JoseError::InvalidClaim {
                claim: "aud",
                problem: "is neither a string nor an array of strings",
            })?
            .into_iter()
            .map(str::to_owned)
            .collect();
        if !audience.contains(&self.client_id) {
            return Err(JoseError::AudienceMismatch);
        }
        if audience
            .iter()
            .any(|a| *a != self.client_id && !self.trusted_audiences.contains(a))
        {
            return Err(JoseError::AudienceMismatch);
        }

        // Rules 4 and 5: the authorized party.
        let azp = match claims.get("azp") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(azp)) => Some(azp.clone()),
            Some(_) => return Err(JoseError::AuthorizedPartyMismatch),
        };
        match &azp {
            Some(azp) if *azp != self.client_id => return Err(JoseError::AuthorizedPartyMismatch),
            None if audience.len() > 1 => return Err(JoseError::AuthorizedPartyMismatch),
            _ => {}
        }

        // Rule 9: not expired.
        let expires_at = claims
            .numeric_date("exp")?
            .ok_or(JoseError::MissingClaim("exp"))?;
        if now >= expires_at.checked_add(skew).unwrap_or(expires_at) {
            return Err(JoseError::Expired);
        }

        // Rule 10: a sensible issue time.
        let issued_at = claims
            .numeric_date("iat")?
            .ok_or(JoseError::MissingClaim("iat"))?;
        let latest = now.checked_add(skew).unwrap_or(now);
        if issued_at > latest || issued_at > expires_at {
            return Err(JoseError::IssuedAtInvalid);
        }
        if let Some(max) = self.max_token_age {
            if too_old(issued_at, max, skew, now) {
                return Err(JoseError::IssuedAtInvalid);
            }
        }
        if let Some(nbf) = claims.numeric_date("nbf")? {
            if nbf > latest {
                return Err(JoseError::NotYetValid);
            }
        }

        // Rule 11: the nonce sent.
        let nonce = match claims.get("nonce") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(nonce)) => Some(nonce.as_str()),
            Some(_) => {
                return Err(JoseError::InvalidClaim {
                    claim: "nonce",
                    problem: "is not a string",
                });
            }
        };
        if let Some(expected) = &self.nonce {
            match nonce {
                None => return Err(JoseError::MissingNonce),
                Some(found) if !constant_time_eq(found.as_bytes(), expected.as_bytes()) => {
                    return Err(JoseError::NonceMismatch);
                }
                Some(_) => {}
            }
        }

        // Rule 13: auth_time when max_age was requested.
        let auth_time = claims.numeric_date("auth_time")?;
        if self.max_age.is_some() || self.require_auth_time {
            let Some(at) = auth_time else {
                return Err(JoseError::MissingAuthTime);
            };
            if let Some(max_age) = self.max_age {
                if too_old(at, max_age, skew, now) {
                    return Err(JoseError::AuthenticationTooOld);
                }
            }
        }

        // at_hash and c_hash, when present and the value is known.
        if let Some(access_token) = &self.access_token {
            check_hash(&claims, "at_hash", access_token.secret(), alg)
                .map_err(|()| JoseError::AccessTokenHashMismatch)?;
        }
        if let Some(code) = &self.code {
            check_hash(&claims, "c_hash", code, alg).map_err(|()| JoseError::CodeHashMismatch)?;
        }

        // §12.2: a refreshed ID token is about the same authentication.
        if let Some(previous) = &self.previous {
            if subject != previous.subject {
                return Err(JoseError::SubjectMismatch);
            }
            if let (Some(new), Some(old)) = (auth_time, previous.auth_time) {
                if new != old {
                    return Err(JoseError::RefreshMismatch("auth_time"));
                }
            }
            if let Some(new) = nonce {
                let same = previous
                    .nonce
                    .as_deref()
                    .is_some_and(|old| constant_time_eq(old.as_bytes(), new.as_bytes()));
                if !same {
                    return Err(JoseError::RefreshMismatch("nonce"));
                }
            }
        }

        Ok(IdTokenClaims {
            issuer,
            subject,
            audience,
            expires_at,
            issued_at,
            auth_time,
            authorized_party: azp,
            algorithm: alg,
            claims,
        })
    }
}

/// Whether `time` lies more than `max + skew` before `now`.
fn too_old(time: SystemTime, max: Duration, skew: Duration, now: SystemTime) -> bool {
    now.duration_since(time)
        .is_ok_and(|age| age > max.saturating_add(skew))
}

/// Refuses a `typ` that names another kind of JWT.
fn check_type(typ: Option<&str>) -> Result<(), JoseError> {
    match typ {
        None => Ok(()),
        Some(typ)
            if typ.eq_ignore_ascii_case("JWT") || typ.eq_ignore_ascii_case("application/jwt") =>
        {
            Ok(())
        }
        Some(typ) => Err(JoseError::UnexpectedType(crate::error::bounded(typ, 64))),
    }
}

/// Checks a `*_hash` claim (Core §3.1.3.6): base64url of the left half of the hash of `value`
/// with the token's algorithm. Absent claims pass.
fn check_hash(claims: &Claims, name: &str, value: &str, alg: Algorithm) -> Result<(), ()> {
    let Some(found) = claims.get(name) else {
        return Ok(());
    };
    let found = found.as_str().ok_or(())?;
    let hash = digest(alg, value.as_bytes());
    let expected = b64_encode(hash.get(..hash.len() / 2).unwrap_or_default());
    if constant_time_eq(found.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(())
    }
}

/// The claims of a validated ID token.
///
/// Typed accessors for the claims every ID token has; [`claims`](IdTokenClaims::claims) for all
/// of them (profile claims, `acr`, `amr`, `sid`, provider extensions). `Debug` shows the
/// registered claims but not the values of the others.
///
/// ```
/// # fn f(claims: &grantline::oidc::IdTokenClaims) {
/// let user = claims.subject();
/// let email = claims.claims().string("email");
/// # let _ = (user, email); }
/// ```
#[derive(Clone, PartialEq)]
pub struct IdTokenClaims {
    issuer: String,
    subject: String,
    audience: Vec<String>,
    expires_at: SystemTime,
    issued_at: SystemTime,
    auth_time: Option<SystemTime>,
    authorized_party: Option<String>,
    algorithm: Algorithm,
    claims: Claims,
}

impl fmt::Debug for IdTokenClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdTokenClaims")
            .field("iss", &self.issuer)
            .field("sub", &self.subject)
            .field("aud", &self.audience)
            .field("exp", &self.expires_at)
            .field("iat", &self.issued_at)
            .field("auth_time", &self.auth_time)
            .field("azp", &self.authorized_party)
            .field("alg", &self.algorithm)
            .field("claims", &self.claims)
            .finish()
    }
}

impl IdTokenClaims {
    /// `iss`: the issuer (equal to the expected one).
    ///
    /// ```
    /// # fn f(c: &grantline::oidc::IdTokenClaims) -> &str { c.issuer() }
    /// ```
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `sub`: the user, as the issuer identifies them (unique and stable per issuer: key your
    /// accounts on `(iss, sub)`).
    ///
    /// ```
    /// # fn f(c: &grantline::oidc::IdTokenClaims) -> &str { c.subject() }
    /// ```
    #[must_use]
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// `aud`: the audiences (the client id among them).
    ///
    /// ```
    /// # fn f(c: &grantline::oidc::IdTokenClaims) -> usize { c.audience().len() }
    /// ```
    #[must_use]
    pub fn audience(&self) -> &[String] {
        &self.audience
    }

    /// `exp`: when the ID token expires.
    ///
    /// ```
    /// # fn f(c: &grantline::oidc::IdTokenClaims) -> std::time::SystemTime { c.expires_at() }
    /// ```
    #[must_use]
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// `iat`: when it was issued.
    ///
    /// ```
    /// # fn f(c: &grantline::oidc::IdTokenClaims) -> std::time::SystemTime { c.issued_at() }
    /// ```
    #[must_use]
    pub fn issued_at(&self) -> SystemTime {
        self.issued_at
    }

    /// `auth_time`: when the user authenticated, if the issuer said.
    ///
    /// ```
    /// # fn f(c: &grantline::oidc::IdTokenClaims) -> Option<std::time::SystemTime> { c.auth_time() }
    /// ```
    #[must_use]
    pub fn auth_time(&self) -> Option<SystemTime> {
        self.auth_time
    }

    /// `azp`: the authorized party, if present (the client id).
    ///
    /// ```
    /// # fn f(c: &grantline::oidc::IdTokenClaims) -> Option<&str> { c.authorized_party() }
    /// ```
    #[must_use]
    pub fn authorized_party(&self) -> Option<&str> {
        self.authorized_party.as_deref()
    }

    /// The algorithm the token was signed with.
    ///
    /// ```
    /// # fn f(c: &grantline::oidc::IdTokenClaims) -> grantline::jose::Algorithm { c.algorithm() }
    /// ```
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Every claim, as sent.
    ///
    /// ```
    /// # fn f(c: &grantline::oidc::IdTokenClaims) -> Option<&str> { c.claims().string("acr") }
    /// ```
    #[must_use]
    pub fn claims(&self) -> &Claims {
        &self.claims
    }
}

/// The flow [`IdTokenValidator::verify`] returns: validates an ID token, fetching the issuer's
/// keys into a [`JwksCache`] first when needed (at most one fetch).
///
/// ```text
///   next ──(keys fit and fresh)──────────────────────────────▶ Done(claims) | Err(rule)
///     │
///     └─(no keys / stale / unknown kid, cooldown over)──▶ Send(GET jwks_uri)
///                                                              │ handle_response: store in cache
///                                                              ▼
///                                                  next ─────▶ Done(claims) | Err(rule)
/// ```
#[derive(Debug)]
pub struct IdTokenVerification<'a> {
    validator: &'a IdTokenValidator,
    jws: Option<UnverifiedJws>,
    cache: &'a mut JwksCache,
    keys: KeyRefresh,
    failed: bool,
}

impl Flow for IdTokenVerification<'_> {
    type Output = IdTokenClaims;

    fn next(&mut self, now: Now) -> Result<Step<IdTokenClaims>, Error> {
        let Some(jws) = &self.jws else {
            return Err(if self.failed {
                Misuse::AlreadyFailed
            } else {
                Misuse::AlreadyDone
            }
            .into());
        };
        if let Some(step) = self.keys.next(self.cache, jws.header(), now)? {
            return Ok(step);
        }
        let jws = self.jws.take().ok_or(Misuse::AlreadyDone)?;
        let empty = JwkSet::default();
        let keys = self.cache.keys().unwrap_or(&empty);
        let result = self.validator.validate_parsed(jws, keys, now.wall());
        self.failed = result.is_err();
        result.map(Step::Done)
    }

    fn handle_response(
        &mut self,
        response: http::Response<Vec<u8>>,
        now: Now,
    ) -> Result<(), Error> {
        let result = self.keys.handle_response(self.cache, response, now);
        if result.is_err() && !matches!(result, Err(Error::Misuse(_))) {
            self.jws = None;
            self.failed = true;
        }
        result
    }
}
