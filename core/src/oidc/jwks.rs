//! Fetching an issuer's JWK Set, and keeping it: the [`JwksCache`] and its [`JwksFetch`] flow.

use std::time::{Duration, Instant};

use url::Url;

use crate::EndpointKind;
use crate::error::{ConfigError, Misuse};
use crate::flow::{DocumentCall, OneShot, one_shot_flow};
use crate::jose::{JwkSet, JwsHeader};
use crate::response::success_object;
use crate::{Client, Error, Flow as _, Now, Step};

/// After a fetch, how long before an unknown `kid` may trigger another one (rate limit).
pub const DEFAULT_REFETCH_COOLDOWN: Duration = Duration::from_secs(30);

/// How long a fetched key set is used before it is fetched again on next use.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(10 * 60);

impl JwkSet {
    /// Parses a JWK Set endpoint's response (any 2xx with a JSON object holding `keys`).
    ///
    /// # Errors
    ///
    /// [`Error::UnexpectedResponse`] for an answer that is not a JSON object (HTML, a redirect,
    /// an error status), [`JoseError::Malformed`](crate::error::JoseError::Malformed) for an
    /// object without a `keys` array.
    ///
    /// ```
    /// let response = http::Response::builder()
    ///     .status(200)
    ///     .header("content-type", "application/jwk-set+json")
    ///     .body(br#"{"keys":[]}"#.to_vec())
    ///     .unwrap();
    /// let set = grantline::jose::JwkSet::from_response(&response, grantline::Now::system())?;
    /// assert!(set.keys().is_empty());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn from_response(response: &http::Response<Vec<u8>>, now: Now) -> Result<Self, Error> {
        let _ = now;
        let object = success_object(response)?;
        Ok(JwkSet::from_object(&object)?)
    }
}

/// Fetches a JWK Set: a `GET` of the `jwks_uri`, parsed into a [`JwkSet`].
///
/// ```
/// use grantline::{Flow, Now, Step, oidc::JwksFetch};
///
/// let mut fetch = JwksFetch::new("https://as.example/jwks")?;
/// let Step::Send(request) = fetch.next(Now::system())? else { unreachable!() };
/// assert_eq!(request.method(), "GET");
/// let response = http::Response::builder().status(200).body(br#"{"keys":[]}"#.to_vec()).unwrap();
/// fetch.handle_response(response, Now::system())?;
/// let Step::Done(set) = fetch.next(Now::system())? else { unreachable!() };
/// assert!(set.keys().is_empty());
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Debug)]
pub struct JwksFetch(OneShot<JwkSet>);

one_shot_flow!(JwksFetch, JwkSet);

impl JwksFetch {
    /// A fetch of the JWK Set at `jwks_uri`, which must be `https` (or `http` on a loopback
    /// address).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidEndpoint`] or [`ConfigError::InsecureEndpoint`] for a URL that is
    /// not an acceptable endpoint.
    ///
    /// ```
    /// assert!(grantline::oidc::JwksFetch::new("http://as.example/jwks").is_err());
    /// ```
    pub fn new(jwks_uri: &str) -> Result<Self, Error> {
        let url = crate::endpoint::check_endpoint(EndpointKind::Jwks, jwks_uri, false)?;
        Ok(Self::for_url(url))
    }

    /// A fetch of the client's JWK Set URL (set by hand or from server metadata).
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingEndpoint`] when the client has no JWK Set URL.
    ///
    /// ```
    /// use grantline::{Client, EndpointKind, oidc::JwksFetch};
    /// let client = Client::builder("c").endpoint(EndpointKind::Jwks, "https://as.example/jwks").build()?;
    /// let _fetch = JwksFetch::for_client(&client)?;
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn for_client(client: &Client) -> Result<Self, Error> {
        let url = client
            .endpoint(EndpointKind::Jwks)
            .ok_or(ConfigError::MissingEndpoint(EndpointKind::Jwks))?;
        Ok(Self::for_url(url.clone()))
    }

    fn for_url(url: Url) -> Self {
        Self(OneShot::new(
            DocumentCall::new(url, EndpointKind::Jwks),
            JwkSet::from_response,
        ))
    }
}

/// An issuer's keys, kept between validations, refreshed when they are stale or when a token
/// names a key the cache does not have (key rotation), at most once per cooldown.
///
/// The cache does no I/O. It says when it wants a fetch ([`needs_fetch`](JwksCache::needs_fetch))
/// and hands out the [`JwksFetch`] flow to run ([`fetch`](JwksCache::fetch)); the result comes
/// back through [`store`](JwksCache::store). [`IdTokenValidator::verify`] drives all of this as
/// one flow.
///
/// Rules:
/// - no keys yet, or keys older than `max_age` (10 minutes by default): fetch;
/// - a token whose `kid` (or, without a `kid`, whose algorithm) no cached key fits: fetch,
///   unless the last fetch was less than `refetch_cooldown` ago (30 seconds by default), so a
///   stream of tokens with made-up `kid`s cannot make the client hammer the server.
///
/// [`IdTokenValidator::verify`]: crate::oidc::IdTokenValidator::verify
///
/// ```
/// use grantline::{Now, jose::{JwkSet, JwsHeader, Algorithm}, oidc::JwksCache};
///
/// let mut cache = JwksCache::new("https://as.example/jwks")?;
/// let now = Now::system();
/// let header = JwsHeader::new(Algorithm::RS256).with_key_id("k1");
/// assert!(cache.needs_fetch(&header, now.monotonic()));  // nothing cached yet
/// cache.store(JwkSet::default(), now.monotonic());
/// // k1 is unknown, but a fetch just happened: wait for the cooldown.
/// assert!(!cache.needs_fetch(&header, now.monotonic()));
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct JwksCache {
    url: Url,
    keys: Option<JwkSet>,
    fetched_at: Option<Instant>,
    max_age: Duration,
    cooldown: Duration,
}

impl JwksCache {
    /// An empty cache for the JWK Set at `jwks_uri` (`https`, or `http` on loopback).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidEndpoint`] or [`ConfigError::InsecureEndpoint`].
    ///
    /// ```
    /// let cache = grantline::oidc::JwksCache::new("https://as.example/jwks")?;
    /// assert!(cache.keys().is_none());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn new(jwks_uri: &str) -> Result<Self, Error> {
        let url = crate::endpoint::check_endpoint(EndpointKind::Jwks, jwks_uri, false)?;
        Ok(Self::for_url(url))
    }

    /// An empty cache for the client's JWK Set URL (set by hand or from server metadata).
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingEndpoint`] when the client has no JWK Set URL.
    ///
    /// ```
    /// use grantline::{Client, EndpointKind, oidc::JwksCache};
    /// let client = Client::builder("c").endpoint(EndpointKind::Jwks, "https://as.example/jwks").build()?;
    /// let _cache = JwksCache::for_client(&client)?;
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn for_client(client: &Client) -> Result<Self, Error> {
        let url = client
            .endpoint(EndpointKind::Jwks)
            .ok_or(ConfigError::MissingEndpoint(EndpointKind::Jwks))?;
        Ok(Self::for_url(url.clone()))
    }

    pub(crate) fn for_url(url: Url) -> Self {
        Self {
            url,
            keys: None,
            fetched_at: None,
            max_age: DEFAULT_MAX_AGE,
            cooldown: DEFAULT_REFETCH_COOLDOWN,
        }
    }

    /// Sets how long fetched keys are used before they are fetched again.
    ///
    /// ```
    /// let cache = grantline::oidc::JwksCache::new("https://as.example/jwks")?
    ///     .max_age(std::time::Duration::from_secs(3600));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Sets the least time between two fetches triggered by unknown keys.
    ///
    /// ```
    /// let cache = grantline::oidc::JwksCache::new("https://as.example/jwks")?
    ///     .refetch_cooldown(std::time::Duration::from_secs(60));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn refetch_cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// The cached keys, if any were fetched or stored.
    ///
    /// ```
    /// assert!(grantline::oidc::JwksCache::new("https://as.example/jwks")?.keys().is_none());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn keys(&self) -> Option<&JwkSet> {
        self.keys.as_ref()
    }

    /// Whether the cache wants a fetch before verifying a token with this header, at `now`.
    ///
    /// ```
    /// # use grantline::{jose::{Algorithm, JwsHeader}, oidc::JwksCache};
    /// let cache = JwksCache::new("https://as.example/jwks")?;
    /// assert!(cache.needs_fetch(&JwsHeader::new(Algorithm::ES256), grantline::Now::system().monotonic()));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn needs_fetch(&self, header: &JwsHeader, now: Instant) -> bool {
        let (Some(keys), Some(fetched_at)) = (&self.keys, self.fetched_at) else {
            return true;
        };
        let age = now.saturating_duration_since(fetched_at);
        if age >= self.max_age {
            return true;
        }
        !has_candidate(keys, header) && age >= self.cooldown
    }

    /// The flow that fetches the key set; give its output to [`store`](JwksCache::store).
    ///
    /// ```
    /// let fetch = grantline::oidc::JwksCache::new("https://as.example/jwks")?.fetch();
    /// # let _ = fetch;
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn fetch(&self) -> JwksFetch {
        JwksFetch::for_url(self.url.clone())
    }

    /// Keeps `keys`, fetched at `now`.
    ///
    /// ```
    /// let mut cache = grantline::oidc::JwksCache::new("https://as.example/jwks")?;
    /// cache.store(grantline::jose::JwkSet::default(), grantline::Now::system().monotonic());
    /// assert!(cache.keys().is_some());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn store(&mut self, keys: JwkSet, now: Instant) {
        self.keys = Some(keys);
        self.fetched_at = Some(now);
    }
}

/// Whether some key of `keys` could verify a token with `header`.
fn has_candidate(keys: &JwkSet, header: &JwsHeader) -> bool {
    keys.keys().iter().any(|key| {
        header.key_id().is_none_or(|kid| key.key_id() == Some(kid))
            && key.can_verify(header.algorithm())
    })
}
/// The one JWKS-refetch state machine: before a JWS is verified, fetches the issuer's keys
/// into a [`JwksCache`] when it has none, when they are stale, or when the JWS names a key it
/// does not have (at most once per verification, and at most once per cooldown: key rotation).
/// [`IdTokenVerification`](super::IdTokenVerification) and the code exchange's ID token check
/// both run on it.
#[derive(Debug, Default)]
pub(crate) struct KeyRefresh {
    fetch: Option<JwksFetch>,
    fetched: bool,
}

impl KeyRefresh {
    /// What to do before verifying a JWS with `header` against `cache`: a step to hand the
    /// driver (the key set request), or `None` when the cached keys are the ones to use.
    pub(crate) fn next<T>(
        &mut self,
        cache: &JwksCache,
        header: &JwsHeader,
        now: Now,
    ) -> Result<Option<Step<T>>, Error> {
        if self.fetch.is_none() {
            if self.fetched || !cache.needs_fetch(header, now.monotonic()) {
                return Ok(None);
            }
            self.fetch = Some(cache.fetch());
        }
        let fetch = self.fetch.as_mut().ok_or(Misuse::AlreadyDone)?;
        match fetch.next(now)? {
            Step::Send(request) => Ok(Some(Step::Send(request))),
            Step::Wait(duration) => Ok(Some(Step::Wait(duration))),
            // Not reached: the output is taken in handle_response.
            Step::Done(_) => Err(Misuse::AlreadyDone.into()),
        }
    }

    /// Takes the key set response and stores the keys in `cache`.
    ///
    /// # Errors
    ///
    /// [`Misuse::UnexpectedResponse`] when no key set was asked for; the fetch's error when the
    /// answer is not a key set.
    pub(crate) fn handle_response(
        &mut self,
        cache: &mut JwksCache,
        response: http::Response<Vec<u8>>,
        now: Now,
    ) -> Result<(), Error> {
        let mut fetch = self.fetch.take().ok_or(Misuse::UnexpectedResponse)?;
        self.fetched = true;
        fetch.handle_response(response, now)?;
        let Step::Done(keys) = fetch.next(now)? else {
            return Err(Misuse::UnexpectedResponse.into());
        };
        cache.store(keys, now.monotonic());
        Ok(())
    }
}

/// A JWT answer signed by the issuer (a JARM response, an RFC 9701 introspection answer),
/// verified with the client's cache of the issuer's keys: the same cache, refresh and rotation
/// rules as ID tokens ([`KeyRefresh`]).
#[derive(Debug)]
pub(crate) struct SignedAnswer {
    jws: Option<crate::jose::UnverifiedJws>,
    keys: KeyRefresh,
}

impl SignedAnswer {
    pub(crate) fn new(jws: crate::jose::UnverifiedJws) -> Self {
        Self {
            jws: Some(jws),
            keys: KeyRefresh::default(),
        }
    }

    fn cache(client: &Client) -> Result<&std::sync::Mutex<JwksCache>, Error> {
        client
            .jwks_cache()
            .ok_or_else(|| ConfigError::MissingEndpoint(EndpointKind::Jwks).into())
    }

    /// A key set request to run first, or `None` when the cached keys are the ones to use.
    pub(crate) fn next<T>(&mut self, client: &Client, now: Now) -> Result<Option<Step<T>>, Error> {
        let jws = self.jws.as_ref().ok_or(Misuse::AlreadyDone)?;
        let cache = Self::cache(client)?
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.keys.next(&cache, jws.header(), now)
    }

    /// Takes the key set response into the client's cache.
    pub(crate) fn handle_response(
        &mut self,
        client: &Client,
        response: http::Response<Vec<u8>>,
        now: Now,
    ) -> Result<(), Error> {
        let mut cache = Self::cache(client)?
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.keys.handle_response(&mut cache, response, now)
    }

    /// Verifies the signature with the cached keys under one of `allowed` (once: the JWS is
    /// used up), then the claims every signed answer has: `iss` the issuer, `aud` holding the
    /// client id, and `exp`, when present or `require_exp`, not past (with `skew`).
    pub(crate) fn verify(
        &mut self,
        client: &Client,
        allowed: &[crate::jose::Algorithm],
        issuer: &str,
        require_exp: bool,
        now: std::time::SystemTime,
    ) -> Result<crate::jose::Claims, Error> {
        let jws = self.jws.take().ok_or(Misuse::AlreadyDone)?;
        let keys = Self::cache(client)?
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .keys()
            .cloned()
            .unwrap_or_default();
        let claims = jws.verify(&keys, allowed)?.claims()?;
        check_answer_claims(&claims, issuer, client.client_id(), require_exp, now)?;
        Ok(claims)
    }
}

/// `iss`, `aud` and `exp` of a signed answer (JARM §2.1 and §4.4, RFC 9701 §5).
fn check_answer_claims(
    claims: &crate::jose::Claims,
    issuer: &str,
    client_id: &str,
    require_exp: bool,
    now: std::time::SystemTime,
) -> Result<(), crate::error::JoseError> {
    use crate::error::JoseError;
    match claims.get("iss") {
        None => return Err(JoseError::MissingClaim("iss")),
        Some(serde_json::Value::String(iss)) if iss == issuer => {}
        Some(serde_json::Value::String(iss)) => {
            return Err(JoseError::IssuerMismatch {
                found: crate::error::bounded(iss, 512),
            });
        }
        Some(_) => {
            return Err(JoseError::InvalidClaim {
                claim: "iss",
                problem: "is not a string",
            });
        }
    }
    if claims.get("aud").is_none() {
        return Err(JoseError::MissingClaim("aud"));
    }
    let audience = claims.audience().map_err(|_| JoseError::InvalidClaim {
        claim: "aud",
        problem: "is neither a string nor an array of strings",
    })?;
    if !audience.contains(&client_id) {
        return Err(JoseError::AudienceMismatch);
    }
    let skew = super::DEFAULT_CLOCK_SKEW;
    match claims.numeric_date("exp")? {
        Some(exp) if now >= exp.checked_add(skew).unwrap_or(exp) => Err(JoseError::Expired),
        Some(_) => Ok(()),
        None if require_exp => Err(JoseError::MissingClaim("exp")),
        None => Ok(()),
    }
}

/// The algorithms a signed answer may use: the FAPI 2.0 ones for a FAPI 2.0 client (§5.4.1);
/// otherwise the asymmetric ones the server's metadata lists under `member`, or RS256 (the
/// default of JARM and RFC 9701) when it lists none.
pub(crate) fn answer_algorithms(client: &Client, member: &str) -> Vec<crate::jose::Algorithm> {
    use crate::jose::Algorithm;
    if client.is_fapi2() {
        return crate::jose::FAPI2_ALGORITHMS.to_vec();
    }
    let listed: Vec<Algorithm> = client
        .metadata()
        .and_then(|m| m.extra.get(member))
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_str)
        .filter_map(Algorithm::from_name)
        .filter(|alg| !alg.is_symmetric())
        .collect();
    if listed.is_empty() {
        vec![Algorithm::RS256]
    } else {
        listed
    }
}
