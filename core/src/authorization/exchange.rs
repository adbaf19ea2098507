//! Exchanging the code for tokens (RFC 6749 §4.1.3).

use super::pending::PendingAuthorization;
use crate::error::{ConfigError, EndpointKind};
use crate::request::{EndpointCall, OneShot};
use crate::secret::Assertion;
use crate::{Client, Error, TokenResponse};

/// A validated authorization code, ready to be exchanged once.
///
/// Made by [`PendingAuthorization::validate_callback`]; consumed by [`Client::exchange_code`],
/// so a code cannot be exchanged twice through it. `Debug` hides the code.
///
/// ```
/// # let client = grantline::Client::builder("app")
/// #     .endpoint(grantline::error::EndpointKind::Authorization, "https://as.example/authorize")
/// #     .build()?;
/// let (url, pending) = client.authorization_request("https://app.example/cb").scope("openid").into_redirect()?;
/// let state = pending.state().to_owned();
/// let code = pending.validate_callback(format!("code=SplxlOBeZQQYbYS6WxSbIA&state={state}").as_str())?;
/// assert!(code.nonce().is_some());
/// assert!(!format!("{code:?}").contains("SplxlOBeZQQYbYS6WxSbIA"));
/// # let _ = url;
/// # Ok::<(), grantline::Error>(())
/// ```
pub struct AuthorizationCode {
    pub(super) code: Assertion,
    pending: PendingAuthorization,
}

impl std::fmt::Debug for AuthorizationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationCode")
            .field("code", &"[redacted]")
            .field("pending", &self.pending)
            .finish()
    }
}

impl AuthorizationCode {
    pub(crate) fn new(code: String, pending: PendingAuthorization) -> Self {
        Self {
            code: Assertion::new(code),
            pending,
        }
    }

    /// The `nonce` the request carried (the ID token must carry it too).
    ///
    /// ```
    /// # fn f(code: &grantline::authorization::AuthorizationCode) -> Option<&str> { code.nonce() }
    /// ```
    #[must_use]
    pub fn nonce(&self) -> Option<&str> {
        self.pending.nonce()
    }

    /// The issuer the response was checked against, if known (the ID token's `iss`).
    ///
    /// ```
    /// # fn f(code: &grantline::authorization::AuthorizationCode) -> Option<&str> { code.issuer() }
    /// ```
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        self.pending.issuer()
    }
}

impl Client {
    /// A flow that exchanges `code` at the token endpoint, with its redirect URI and PKCE
    /// verifier, authenticated as this client.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingEndpoint`] without a token endpoint;
    /// [`ConfigError::InvalidParameter`] when the code was obtained for another client.
    ///
    /// ```
    /// # let client = grantline::Client::builder("app")
    /// #     .endpoint(grantline::error::EndpointKind::Authorization, "https://as.example/authorize")
    /// #     .build()?;
    /// let (_url, pending) = client.authorization_request("https://app.example/cb").into_redirect()?;
    /// let state = pending.state().to_owned();
    /// let code = pending.validate_callback(format!("code=c&state={state}").as_str())?;
    /// assert!(client.exchange_code(code).is_err()); // this client has no token endpoint
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn exchange_code(&self, code: AuthorizationCode) -> Result<CodeExchangeFlow, Error> {
        if code.pending.client_id() != self.client_id() {
            return Err(ConfigError::InvalidParameter {
                name: "client_id".to_owned(),
                reason: "the code was obtained for another client",
            }
            .into());
        }
        let mut params = vec![
            ("grant_type".to_owned(), "authorization_code".to_owned()),
            ("code".to_owned(), code.code.secret().to_owned()),
            (
                "redirect_uri".to_owned(),
                code.pending.redirect_uri().to_owned(),
            ),
        ];
        if let Some(verifier) = code.pending.code_verifier() {
            params.push(("code_verifier".to_owned(), verifier.to_owned()));
        }
        let call = EndpointCall::new(self, EndpointKind::Token, params, &[])?;
        Ok(CodeExchangeFlow {
            inner: OneShot::new(call, TokenResponse::from_response),
            nonce: code.pending.nonce().map(str::to_owned),
            issuer: code.pending.issuer().map(str::to_owned),
            #[cfg(feature = "jose")]
            id_token: if code.pending.openid() {
                IdTokenCheck::Validate {
                    client: self.clone(),
                    max_age: code.pending.max_age(),
                }
            } else {
                IdTokenCheck::NotRequested
            },
            #[cfg(feature = "jose")]
            verifying: None,
        })
    }
}

/// What the code exchange does with an ID token.
#[cfg(feature = "jose")]
#[derive(Debug)]
enum IdTokenCheck {
    /// `openid` was not in scope: an ID token, if any, is left as it is.
    NotRequested,
    /// Validate it with the client's keys (fetched when needed).
    Validate {
        client: Client,
        max_age: Option<u64>,
    },
    /// The caller opted out.
    Skipped,
}

/// An ID token being validated: the token response, and the key fetch under way, if any.
#[cfg(feature = "jose")]
#[derive(Debug)]
struct Verifying {
    token: TokenResponse,
    fetch: Option<crate::oidc::JwksFetch>,
    fetched: bool,
}

/// A flow that exchanges an authorization code for tokens. Made by [`Client::exchange_code`].
///
/// When the request's scope had `openid` (and the `jose` feature is on, as by default), the
/// flow also validates the ID token (OpenID Connect Core §3.1.3.7) before it is done: the
/// signature with the issuer's keys (fetched from the client's JWK Set URL into a cache the
/// client keeps, and fetched again once for an unknown `kid`), `iss`, `aud`, `azp`, `exp`,
/// `iat`, the `nonce` the request carried, `auth_time` when `max_age` was sent, and `at_hash`.
/// Allowed algorithms are those the server's metadata lists for ID tokens (RS256 when it lists
/// none; never `none`, never HMAC). A missing ID token is an error. The claims are then on the
/// token response ([`TokenResponse::id_token_claims`]).
#[derive(Debug)]
pub struct CodeExchangeFlow {
    inner: OneShot<TokenResponse>,
    nonce: Option<String>,
    issuer: Option<String>,
    #[cfg(feature = "jose")]
    id_token: IdTokenCheck,
    #[cfg(feature = "jose")]
    verifying: Option<Verifying>,
}

impl CodeExchangeFlow {
    /// The `nonce` the ID token must carry, if one was sent.
    ///
    /// ```
    /// # fn f(flow: &grantline::authorization::CodeExchangeFlow) -> Option<&str> { flow.nonce() }
    /// ```
    #[must_use]
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// The issuer the ID token must name, if known.
    ///
    /// ```
    /// # fn f(flow: &grantline::authorization::CodeExchangeFlow) -> Option<&str> { flow.issuer() }
    /// ```
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }
}

impl CodeExchangeFlow {
    /// Does not validate the ID token. Only for a server whose ID tokens cannot be validated
    /// (no JWK Set URL, an algorithm grantline does not support): without validation, an ID
    /// token proves nothing about who logged in.
    ///
    /// ```
    /// # fn f(flow: grantline::authorization::CodeExchangeFlow) -> grantline::authorization::CodeExchangeFlow {
    /// flow.insecure_skip_id_token_validation()
    /// # }
    /// ```
    #[must_use]
    #[cfg_attr(not(feature = "jose"), allow(unused_mut))]
    pub fn insecure_skip_id_token_validation(mut self) -> Self {
        #[cfg(feature = "jose")]
        {
            self.id_token = IdTokenCheck::Skipped;
        }
        self
    }

    /// Starts (or goes on with) validating the ID token of `token`.
    #[cfg(feature = "jose")]
    fn verify(&mut self, now: crate::Now) -> Result<crate::Step<TokenResponse>, Error> {
        use crate::Flow as _;
        use crate::error::{ConfigError, InvalidResponse};
        use crate::oidc::IdTokenValidator;

        let Some(verifying) = &mut self.verifying else {
            return Err(crate::error::Misuse::AlreadyDone.into());
        };
        if let Some(fetch) = &mut verifying.fetch {
            return match fetch.next(now)? {
                crate::Step::Send(request) => Ok(crate::Step::Send(request)),
                crate::Step::Wait(wait) => Ok(crate::Step::Wait(wait)),
                crate::Step::Done(_) => Err(crate::error::Misuse::AlreadyDone.into()),
            };
        }
        let IdTokenCheck::Validate { client, max_age } = &self.id_token else {
            let token = self.verifying.take().map(|v| v.token);
            return token
                .map(crate::Step::Done)
                .ok_or_else(|| crate::error::Misuse::AlreadyDone.into());
        };
        let id_token = verifying
            .token
            .id_token()
            .ok_or(InvalidResponse::new(
                "id_token",
                "is missing, though the scope had openid",
            ))?
            .clone();
        let cache = client
            .jwks_cache()
            .ok_or(ConfigError::MissingEndpoint(EndpointKind::Jwks))?;
        let jws = crate::jose::UnverifiedJws::parse(id_token.secret())?;
        {
            let cache = cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if !verifying.fetched && cache.needs_fetch(jws.header(), now.monotonic()) {
                let mut fetch = cache.fetch();
                let step = fetch.next(now)?;
                verifying.fetch = Some(fetch);
                return match step {
                    crate::Step::Send(request) => Ok(crate::Step::Send(request)),
                    crate::Step::Wait(wait) => Ok(crate::Step::Wait(wait)),
                    crate::Step::Done(_) => Err(crate::error::Misuse::AlreadyDone.into()),
                };
            }
        }
        let issuer = self.issuer.clone().ok_or(ConfigError::InvalidParameter {
            name: "issuer".to_owned(),
            reason: "the client has no issuer, which ID token validation needs: build it from metadata or set ClientBuilder::issuer",
        })?;
        let mut validator = IdTokenValidator::new(issuer, client.client_id())
            .nonce(self.nonce.as_deref())
            .access_token(verifying.token.access_token());
        if let Some(max_age) = max_age {
            validator = validator.max_age(std::time::Duration::from_secs(*max_age));
        }
        let allowed: Vec<crate::jose::Algorithm> = client
            .metadata()
            .map(|m| m.id_token_signing_alg_values_supported.iter())
            .into_iter()
            .flatten()
            .filter_map(|name| crate::jose::Algorithm::from_name(name))
            .filter(|alg| !alg.is_symmetric())
            .collect();
        if !allowed.is_empty() {
            validator = validator.algorithms(allowed);
        }
        let keys = cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .keys()
            .cloned()
            .unwrap_or_default();
        let claims = validator.validate(&id_token, &keys, now.wall());
        let Some(Verifying { mut token, .. }) = self.verifying.take() else {
            return Err(crate::error::Misuse::AlreadyDone.into());
        };
        token.set_id_token_claims(claims?);
        Ok(crate::Step::Done(token))
    }
}

impl crate::Flow for CodeExchangeFlow {
    type Output = TokenResponse;

    fn next(&mut self, now: crate::Now) -> Result<crate::Step<TokenResponse>, Error> {
        #[cfg(feature = "jose")]
        {
            if self.verifying.is_some() {
                return self.verify(now);
            }
            match self.inner.next(now)? {
                crate::Step::Done(token)
                    if matches!(self.id_token, IdTokenCheck::Validate { .. }) =>
                {
                    self.verifying = Some(Verifying {
                        token,
                        fetch: None,
                        fetched: false,
                    });
                    self.verify(now)
                }
                step => Ok(step),
            }
        }
        #[cfg(not(feature = "jose"))]
        {
            self.inner.next(now)
        }
    }

    fn handle_response(
        &mut self,
        response: http::Response<Vec<u8>>,
        now: crate::Now,
    ) -> Result<(), Error> {
        #[cfg(feature = "jose")]
        if let Some(verifying) = &mut self.verifying {
            let Some(mut fetch) = verifying.fetch.take() else {
                return Err(crate::error::Misuse::UnexpectedResponse.into());
            };
            verifying.fetched = true;
            fetch.handle_response(response, now)?;
            let crate::Step::Done(keys) = fetch.next(now)? else {
                return Err(crate::error::Misuse::UnexpectedResponse.into());
            };
            if let IdTokenCheck::Validate { client, .. } = &self.id_token {
                if let Some(cache) = client.jwks_cache() {
                    cache
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .store(keys, now.monotonic());
                }
            }
            return Ok(());
        }
        self.inner.handle_response(&response, now)
    }
}
