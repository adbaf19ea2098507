//! Exchanging the code for tokens (RFC 6749 §4.1.3).

use super::pending::PendingAuthorization;
use crate::EndpointKind;
use crate::error::ConfigError;
use crate::flow::{EndpointCall, OneShot};
use crate::flow::{IdTokenCheck, TokenExchange};
use crate::secret::Assertion;
use crate::{Client, Error, TokenResponse};

/// A validated authorization code, ready to be exchanged once.
///
/// Made by [`PendingAuthorization::validate_callback`]; consumed by [`Client::exchange_code`],
/// so a code cannot be exchanged twice through it. `Debug` hides the code.
///
/// ```
/// # let client = grantline::Client::builder("app")
/// #     .redirect_uri("https://app.example/cb")
/// #     .authorization_endpoint("https://as.example/authorize")
/// #     .issuer("https://as.example")
/// #     .token_endpoint("https://as.example/token")
/// #     .jwks_uri("https://as.example/jwks")
/// #     .build()?;
/// let (url, pending) = client.authorization_request().scope("openid").into_redirect()?;
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
    /// #     .redirect_uri("https://app.example/cb")
    /// #     .authorization_endpoint("https://as.example/authorize")
    /// #     .issuer("https://as.example")
    /// #     .token_endpoint("https://as.example/token")
    /// #     .jwks_uri("https://as.example/jwks")
    /// #     .build()?;
    /// let (_url, pending) = client.authorization_request().into_redirect()?;
    /// let state = pending.state().to_owned();
    /// let code = pending.validate_callback(format!("code=c&state={state}").as_str())?;
    /// // Another client may not spend this client's code.
    /// let other = grantline::Client::builder("other").token_endpoint("https://as.example/token").build()?;
    /// assert!(other.exchange_code(code).is_err());
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
        let nonce = code.pending.nonce().map(str::to_owned);
        let issuer = code.pending.issuer().map(str::to_owned);
        #[cfg(feature = "jose")]
        let check = code.pending.openid().then(|| {
            IdTokenCheck::authentication(
                self,
                issuer.clone(),
                nonce.clone(),
                code.pending.max_age(),
            )
        });
        #[cfg(not(feature = "jose"))]
        let check: Option<IdTokenCheck> = None;
        Ok(CodeExchangeFlow {
            inner: TokenExchange::new(OneShot::new(call, TokenResponse::from_response), check),
            nonce,
            issuer,
        })
    }
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
pub struct CodeExchangeFlow {
    inner: TokenExchange,
    nonce: Option<String>,
    issuer: Option<String>,
}

impl std::fmt::Debug for CodeExchangeFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The nonce binds the ID token to this login: never printed.
        f.debug_struct("CodeExchangeFlow")
            .field("inner", &self.inner)
            .field("nonce", &self.nonce.as_ref().map(|_| "[redacted]"))
            .field("issuer", &self.issuer)
            .finish()
    }
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
    pub fn insecure_skip_id_token_validation(mut self) -> Self {
        self.inner.skip_check();
        self
    }
}

impl crate::Flow for CodeExchangeFlow {
    type Output = TokenResponse;

    fn next(&mut self, now: crate::Now) -> Result<crate::Step<TokenResponse>, Error> {
        self.inner.next(now)
    }

    fn handle_response(
        &mut self,
        response: http::Response<Vec<u8>>,
        now: crate::Now,
    ) -> Result<(), Error> {
        self.inner.handle_response(&response, now)
    }
}
