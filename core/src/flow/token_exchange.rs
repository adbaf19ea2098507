//! A token endpoint exchange followed, when asked, by validating the ID token that came back:
//! one piece of code behind the code exchange, the refresh grant, and the device and CIBA
//! polling grants.
//!
//! ```text
//! next ─▶ (setup: JWK Set URL and issuer known?) ─▶ Send(token request) ─▶ handle_response
//!          one request (OneShot) or polling (Poller)                            │
//!                                                                         TokenResponse
//!                                                     │ no check, or no ID token to check
//!                                                     ├──────────────────────────────▶ Done
//!                                                     │ keys missing, stale, unknown kid
//!                                                     ├─▶ Send(GET jwks_uri) ─▶ handle_response
//!                                                     ▼
//!                                       validate (signature, iss, aud, nonce, ...) ─▶ Done
//! ```

use crate::error::ConfigError;
use crate::flow::{OneShot, Poller, PollingStatus, Recovery};
use crate::{Client, EndpointKind, Error, Now, Step, TokenResponse};

/// Whether `client` has what validating an ID token from `issuer` needs: the issuer's JWK Set
/// URL and the issuer itself. The one place this rule lives: the authorization request checks it
/// before the person is sent away, the token flows before their first request.
///
/// Without the `jose` feature nothing is validated, so nothing is needed.
pub(crate) fn require_validation_setup(client: &Client, issuer: Option<&str>) -> Result<(), Error> {
    if !cfg!(feature = "jose") {
        return Ok(());
    }
    client.require_endpoint(EndpointKind::Jwks)?;
    if issuer.is_none_or(str::is_empty) {
        return Err(ConfigError::MissingIssuer.into());
    }
    Ok(())
}

/// How the ID token of a token response is checked.
#[derive(Debug)]
pub(crate) struct IdTokenCheck {
    #[cfg(feature = "jose")]
    inner: jose::Check,
}

impl IdTokenCheck {
    /// Whether the client can run this check (see [`require_validation_setup`]).
    fn require_setup(&self) -> Result<(), Error> {
        #[cfg(feature = "jose")]
        {
            require_validation_setup(&self.inner.client, self.inner.issuer.as_deref())
        }
        #[cfg(not(feature = "jose"))]
        {
            Ok(())
        }
    }
}

#[cfg(feature = "jose")]
impl IdTokenCheck {
    /// The code exchange's check: an ID token is required and validated against the issuer,
    /// the nonce sent and the `max_age` sent.
    pub(crate) fn authentication(
        client: &Client,
        issuer: Option<String>,
        nonce: Option<String>,
        max_age: Option<u64>,
    ) -> Self {
        Self {
            inner: jose::Check {
                client: client.clone(),
                issuer,
                nonce,
                max_age,
                refresh_of: None,
                required: true,
            },
        }
    }

    /// The CIBA grant's check (CIBA Core §10.2.1): an ID token is required (CIBA always asks for
    /// `openid`) and validated as the code exchange's is, with no nonce (CIBA sends none).
    pub(crate) fn backchannel(client: &Client) -> Self {
        Self::authentication(client, client.issuer().map(str::to_owned), None, None)
    }

    /// The device grant's check, when `openid` was asked for: RFC 8628 does not make the
    /// server send an ID token (django-oauth-toolkit sends none), but one that comes is
    /// validated as the code exchange's is, with no nonce (the device request sends none).
    pub(crate) fn device(client: &Client) -> Self {
        let mut check =
            Self::authentication(client, client.issuer().map(str::to_owned), None, None);
        check.inner.required = false;
        check
    }

    /// The refresh grant's check (OpenID Connect Core §12.2): an ID token, if one comes back,
    /// must have the original's `iss` and `sub` (and the other rules).
    pub(crate) fn refresh_of(client: &Client, original: &crate::oidc::IdTokenClaims) -> Self {
        Self {
            inner: jose::Check {
                client: client.clone(),
                issuer: Some(original.issuer().to_owned()),
                nonce: None,
                max_age: None,
                refresh_of: Some(Box::new(original.clone())),
                required: false,
            },
        }
    }
}

/// Where the token response comes from: one request, or polling (device, CIBA).
// One per flow, never in a collection: boxing the large variant would only add a pointer hop.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum TokenSource {
    OneShot(OneShot<TokenResponse>),
    Poller(Poller),
}

impl From<OneShot<TokenResponse>> for TokenSource {
    fn from(one_shot: OneShot<TokenResponse>) -> Self {
        TokenSource::OneShot(one_shot)
    }
}

impl From<Poller> for TokenSource {
    fn from(poller: Poller) -> Self {
        TokenSource::Poller(poller)
    }
}

impl TokenSource {
    fn next(&mut self, now: Now) -> Result<Step<TokenResponse>, Error> {
        match self {
            TokenSource::OneShot(one_shot) => {
                let step = one_shot.next(now)?;
                if let (Step::Done(token), Some(call)) = (&step, one_shot.form_call()) {
                    call.check_binding(token)?;
                }
                Ok(step)
            }
            // The poller checks the binding of what it receives itself.
            TokenSource::Poller(poller) => poller.next(now),
        }
    }

    fn handle_response(
        &mut self,
        response: &http::Response<Vec<u8>>,
        now: Now,
    ) -> Result<(), Error> {
        match self {
            TokenSource::OneShot(one_shot) => one_shot.handle_response(response, now),
            TokenSource::Poller(poller) => poller.handle_response(response, now),
        }
    }
}

/// A token request (or polling), then an optional ID token check.
#[derive(Debug)]
pub(crate) struct TokenExchange {
    inner: TokenSource,
    check: Option<IdTokenCheck>,
    /// Whether the check's setup was found complete (checked once, before the first request).
    setup_checked: bool,
    #[cfg(feature = "jose")]
    checking: Option<jose::Checking>,
}

impl TokenExchange {
    pub(crate) fn new(inner: impl Into<TokenSource>, check: Option<IdTokenCheck>) -> Self {
        Self {
            inner: inner.into(),
            check,
            setup_checked: false,
            #[cfg(feature = "jose")]
            checking: None,
        }
    }

    /// Drops the check (a named opt-out on the public flows).
    pub(crate) fn skip_check(&mut self) {
        self.check = None;
    }

    /// Where polling stands (a one-shot exchange has nothing to report).
    pub(crate) fn polling_status(&self, now: Now) -> PollingStatus {
        match &self.inner {
            TokenSource::Poller(poller) => poller.status(now),
            TokenSource::OneShot(_) => PollingStatus {
                interval: std::time::Duration::ZERO,
                polls: 0,
                deadline: now.monotonic(),
                time_left: std::time::Duration::ZERO,
                next_poll_in: std::time::Duration::ZERO,
                failures: 0,
            },
        }
    }

    pub(crate) fn next(&mut self, now: Now) -> Result<Step<TokenResponse>, Error> {
        if !self.setup_checked {
            if let Some(check) = &self.check {
                check.require_setup()?;
            }
            self.setup_checked = true;
        }
        #[cfg(feature = "jose")]
        {
            if let Some(checking) = &mut self.checking {
                let check = self
                    .check
                    .as_ref()
                    .ok_or(crate::error::Misuse::AlreadyDone)?;
                let step = checking.next(&check.inner, now);
                if matches!(step, Ok(Step::Done(_)) | Err(_)) {
                    self.checking = None;
                }
                return step;
            }
            match self.inner.next(now)? {
                Step::Done(token) if self.check.is_some() => {
                    self.checking = Some(jose::Checking::new(token));
                    self.next(now)
                }
                step => Ok(step),
            }
        }
        #[cfg(not(feature = "jose"))]
        {
            self.inner.next(now)
        }
    }

    pub(crate) fn handle_response(
        &mut self,
        response: &http::Response<Vec<u8>>,
        now: Now,
    ) -> Result<(), Error> {
        #[cfg(feature = "jose")]
        if let (Some(checking), Some(check)) = (&mut self.checking, &self.check) {
            return checking.handle_response(&check.inner, response, now);
        }
        self.inner.handle_response(response, now)
    }

    pub(crate) fn handle_transport_error(&mut self, now: Now) -> Recovery {
        #[cfg(feature = "jose")]
        if self.checking.is_some() {
            // The key set fetch is one-shot: the driver reports its error.
            return Recovery::GiveUp;
        }
        match &mut self.inner {
            TokenSource::Poller(poller) => poller.handle_transport_error(now),
            TokenSource::OneShot(_) => Recovery::GiveUp,
        }
    }
}

#[cfg(feature = "jose")]
mod jose {
    use crate::EndpointKind;
    use crate::error::{ConfigError, InvalidResponse, Misuse};
    use crate::jose::{Algorithm, UnverifiedJws};
    use crate::oidc::{IdTokenClaims, IdTokenValidator, KeyRefresh};
    use crate::{Client, Error, Now, Step, TokenResponse};

    pub(super) struct Check {
        pub(super) client: Client,
        pub(super) issuer: Option<String>,
        pub(super) nonce: Option<String>,
        pub(super) max_age: Option<u64>,
        pub(super) refresh_of: Option<Box<IdTokenClaims>>,
        pub(super) required: bool,
    }

    impl std::fmt::Debug for Check {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            // The nonce binds the ID token to this login: never printed.
            f.debug_struct("Check")
                .field("issuer", &self.issuer)
                .field("nonce", &self.nonce.as_ref().map(|_| "[redacted]"))
                .field("max_age", &self.max_age)
                .field("required", &self.required)
                .finish_non_exhaustive()
        }
    }

    /// A token response whose ID token is being checked.
    #[derive(Debug)]
    pub(super) struct Checking {
        token: Option<TokenResponse>,
        keys: KeyRefresh,
    }

    impl Checking {
        pub(super) fn new(token: TokenResponse) -> Self {
            Self {
                token: Some(token),
                keys: KeyRefresh::default(),
            }
        }

        pub(super) fn next(
            &mut self,
            check: &Check,
            now: Now,
        ) -> Result<Step<TokenResponse>, Error> {
            let token = self.token.as_ref().ok_or(Misuse::AlreadyDone)?;
            let Some(id_token) = token.id_token().cloned() else {
                if check.required {
                    return Err(InvalidResponse::new(
                        "id_token",
                        "is missing, though the scope had openid",
                    )
                    .into());
                }
                return self
                    .token
                    .take()
                    .map(Step::Done)
                    .ok_or_else(|| Misuse::AlreadyDone.into());
            };
            let cache = check
                .client
                .jwks_cache()
                .ok_or(ConfigError::MissingEndpoint(EndpointKind::Jwks))?;
            let jws = UnverifiedJws::parse(id_token.secret())?;
            {
                let cache = cache
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some(step) = self.keys.next(&cache, jws.header(), now)? {
                    return Ok(step);
                }
            }
            let issuer = check.issuer.clone().ok_or(ConfigError::MissingIssuer)?;
            let mut validator = IdTokenValidator::new(issuer, check.client.client_id())
                .nonce(check.nonce.as_deref())
                .access_token(token.access_token());
            if let Some(max_age) = check.max_age {
                validator = validator.max_age(std::time::Duration::from_secs(max_age));
            }
            if let Some(original) = &check.refresh_of {
                validator = validator.for_refresh_of(original);
            }
            let mut allowed: Vec<Algorithm> = check
                .client
                .metadata()
                .map(|m| m.id_token_signing_alg_values_supported.iter())
                .into_iter()
                .flatten()
                .filter_map(|name| Algorithm::from_name(name))
                .filter(|alg| !alg.is_symmetric())
                .collect();
            if check.client.is_fapi2() {
                // FAPI 2.0 §5.4.1: PS256, ES256 or EdDSA only.
                allowed.retain(|alg| crate::jose::fapi2_allows(*alg));
                if allowed.is_empty() {
                    allowed = crate::jose::FAPI2_ALGORITHMS.to_vec();
                }
            }
            if !allowed.is_empty() {
                validator = validator.algorithms(allowed);
            }
            let keys = cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .keys()
                .cloned()
                .unwrap_or_default();
            let claims = validator.validate(&id_token, &keys, now.wall())?;
            let mut token = self.token.take().ok_or(Misuse::AlreadyDone)?;
            token.set_id_token_claims(claims);
            Ok(Step::Done(token))
        }

        pub(super) fn handle_response(
            &mut self,
            check: &Check,
            response: &http::Response<Vec<u8>>,
            now: Now,
        ) -> Result<(), Error> {
            let cache = check
                .client
                .jwks_cache()
                .ok_or(ConfigError::MissingEndpoint(EndpointKind::Jwks))?;
            let mut cache = cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            self.keys.handle_response(&mut cache, response.clone(), now)
        }
    }
}
