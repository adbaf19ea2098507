//! The state kept between sending the person away and their coming back.

use serde::{Deserialize, Serialize};

use super::callback::{Callback, CallbackParams};
use super::exchange::AuthorizationCode;
use super::pkce::{PkceMethod, constant_time_eq};
use super::redirect_uri::RedirectUri;
use crate::error::{ErrorCode, OAuthError, ResponseHeaders, ValidationError};
use crate::{Client, Error};

/// What an authorization request must remember until the callback: `state`, `nonce`, the PKCE
/// verifier, the redirect URI and the issuer.
///
/// It serializes (a web application keeps it in its session store across the browser round
/// trip; the redirect URI as its string, checked and parsed again when read back) and is
/// consumed by [`validate_callback`](Self::validate_callback), so one request is validated
/// once. `Debug` shows none of its secrets.
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
/// let shown = format!("{pending:?}");
/// assert!(!shown.contains(pending.state()));
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Serialize, Deserialize)]
pub struct PendingAuthorization {
    client_id: String,
    /// Parsed once, shared with the client or request it came from; a string when stored.
    pub(super) redirect_uri: RedirectUri,
    state: String,
    nonce: Option<String>,
    code_verifier: Option<String>,
    pkce_method: Option<PkceMethod>,
    issuer: Option<String>,
    iss_required: bool,
    /// Whether `openid` was in scope: the code exchange then validates the ID token.
    #[serde(default)]
    openid: bool,
    /// The `max_age` sent, in seconds, if any.
    #[serde(default)]
    max_age: Option<u64>,
    /// Whether a JWT-secured response (JARM) was asked for: the callback must then carry it,
    /// and is verified by [`Client::verify_callback`]. Left out when false, so what was stored
    /// before it existed and what is stored now read the same.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    jarm: bool,
}

impl std::fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingAuthorization")
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("state", &"[redacted]")
            .field("nonce", &self.nonce.as_ref().map(|_| "[redacted]"))
            .field(
                "code_verifier",
                &self.code_verifier.as_ref().map(|_| "[redacted]"),
            )
            .field("pkce_method", &self.pkce_method)
            .field("issuer", &self.issuer)
            .field("iss_required", &self.iss_required)
            .field("openid", &self.openid)
            .field("max_age", &self.max_age)
            .field("jarm", &self.jarm)
            .finish()
    }
}

impl PendingAuthorization {
    pub(crate) fn new(
        client: &Client,
        redirect_uri: RedirectUri,
        state: String,
        nonce: Option<String>,
        pkce: Option<(PkceMethod, String)>,
        iss_required: bool,
    ) -> Self {
        let (pkce_method, code_verifier) = match pkce {
            Some((method, verifier)) => (Some(method), Some(verifier)),
            None => (None, None),
        };
        Self {
            client_id: client.client_id().to_owned(),
            redirect_uri,
            state,
            nonce,
            code_verifier,
            pkce_method,
            issuer: client.issuer().map(str::to_owned),
            iss_required,
            openid: false,
            max_age: None,
            jarm: false,
        }
    }

    /// Records that a JWT-secured response (JARM) was asked for.
    pub(crate) fn with_jarm(mut self, jarm: bool) -> Self {
        self.jarm = jarm;
        self
    }

    /// Whether a JWT-secured response (JARM) was asked for (`response_mode` `jwt`,
    /// `query.jwt`, `fragment.jwt` or `form_post.jwt`): the callback is then verified with the
    /// issuer's keys by [`Client::verify_callback`], not by
    /// [`validate_callback`](Self::validate_callback).
    ///
    /// ```
    /// # let client = grantline::Client::builder("app")
    /// #     .redirect_uri("https://app.example/cb")
    /// #     .authorization_endpoint("https://as.example/authorize")
    /// #     .issuer("https://as.example")
    /// #     .token_endpoint("https://as.example/token")
    /// #     .jwks_uri("https://as.example/jwks")
    /// #     .build()?;
    /// let (_url, pending) = client.authorization_request().response_mode("query.jwt").into_redirect()?;
    /// assert!(pending.expects_jarm());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn expects_jarm(&self) -> bool {
        self.jarm
    }

    /// Records that `openid` was in scope, and the `max_age` sent: the code exchange then
    /// validates the ID token with them.
    pub(crate) fn with_openid(mut self, openid: bool, max_age: Option<u64>) -> Self {
        self.openid = openid;
        self.max_age = max_age;
        self
    }

    /// The `state` sent (to key a session store by, for instance).
    ///
    /// ```
    /// # let client = grantline::Client::builder("app")
    /// #     .redirect_uri("https://app.example/cb")
    /// #     .authorization_endpoint("https://as.example/authorize")
    /// #     .issuer("https://as.example")
    /// #     .token_endpoint("https://as.example/token")
    /// #     .jwks_uri("https://as.example/jwks")
    /// #     .build()?;
    /// let (url, pending) = client.authorization_request().into_redirect()?;
    /// assert!(url.query_pairs().any(|(k, v)| k == "state" && v == pending.state()));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn state(&self) -> &str {
        self.state.as_str()
    }

    /// The `nonce` sent, if any (the ID token must carry it).
    ///
    /// ```
    /// # let client = grantline::Client::builder("app")
    /// #     .redirect_uri("https://app.example/cb")
    /// #     .authorization_endpoint("https://as.example/authorize")
    /// #     .issuer("https://as.example")
    /// #     .token_endpoint("https://as.example/token")
    /// #     .jwks_uri("https://as.example/jwks")
    /// #     .build()?;
    /// let (_url, pending) = client.authorization_request().scope("openid").into_redirect()?;
    /// assert!(pending.nonce().is_some());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// The redirect URI the request was sent with.
    ///
    /// ```
    /// # let client = grantline::Client::builder("app")
    /// #     .authorization_endpoint("https://as.example/authorize")
    /// #     .redirect_uri("https://app.example/cb")
    /// #     .issuer("https://as.example")
    /// #     .token_endpoint("https://as.example/token")
    /// #     .jwks_uri("https://as.example/jwks")
    /// #     .build()?;
    /// let (_url, pending) = client.authorization_request().into_redirect()?;
    /// assert_eq!(pending.redirect_uri(), "https://app.example/cb");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn redirect_uri(&self) -> &str {
        self.redirect_uri.as_str()
    }

    /// Checks the authorization response and, if it is sound, yields the code to exchange.
    ///
    /// The checks, in order: the callback is readable and has no duplicate parameter; a URL
    /// callback is at the redirect URI; `state` matches (compared in constant time); `iss`, when
    /// present, equals the issuer, and is present when the server says it always sends it
    /// (RFC 9207); an `error` becomes [`Error::OAuth`]; the `code` is there.
    ///
    /// A JWT-secured response (JARM, [`expects_jarm`](Self::expects_jarm)) needs the
    /// issuer's keys: verify it with [`Client::verify_callback`], which runs these same checks
    /// on what the JWT carries.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] for a failed check (discard the response: it may be an attack),
    /// [`Error::OAuth`] when the server answered with an error (`access_denied`, ...; its
    /// `status` is 302, the redirect that carried it); [`ConfigError::InvalidParameter`] for
    /// `response_mode` when a JWT-secured response was asked for.
    ///
    /// [`ConfigError::InvalidParameter`]: crate::error::ConfigError::InvalidParameter
    ///
    /// ```
    /// use grantline::{Error, error::{ErrorCode, ValidationError}};
    /// # let client = grantline::Client::builder("app")
    /// #     .redirect_uri("https://app.example/cb")
    /// #     .authorization_endpoint("https://as.example/authorize")
    /// #     .issuer("https://as.example")
    /// #     .token_endpoint("https://as.example/token")
    /// #     .jwks_uri("https://as.example/jwks")
    /// #     .build()?;
    /// let (_url, pending) = client.authorization_request().into_redirect()?;
    /// let e = pending.validate_callback("https://app.example/cb?code=x&state=forged").unwrap_err();
    /// assert!(matches!(e, Error::Validation(ValidationError::StateMismatch)));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn validate_callback(
        self,
        callback: impl Into<Callback>,
    ) -> Result<AuthorizationCode, Error> {
        if self.jarm {
            return Err(crate::error::ConfigError::InvalidParameter {
                name: "response_mode".to_owned(),
                reason: "a JWT-secured response (JARM) is verified with the issuer's keys: use Client::verify_callback",
            }
            .into());
        }
        let callback = callback.into();
        let params = callback.parameters(self.redirect_uri.url())?;
        self.check(params)
    }

    /// The checks of an authorization response's parameters, read from the callback itself or
    /// from the JARM JWT it carried: `state`, `iss`, an error, the `code`.
    pub(crate) fn check(self, params: CallbackParams<'_>) -> Result<AuthorizationCode, Error> {
        match &params.state {
            Some(state) if !constant_time_eq(state.as_bytes(), self.state.as_bytes()) => {
                return Err(ValidationError::StateMismatch.into());
            }
            Some(_) => {}
            // An error without state is only reported: it can carry no code, so it grants
            // nothing to whoever forged it.
            None if params.error.is_some() => {}
            None => return Err(ValidationError::StateMissing.into()),
        }

        match (&params.iss, &self.issuer) {
            (Some(received), Some(expected)) if received != expected => {
                return Err(ValidationError::IssuerParameterMismatch {
                    expected: expected.clone(),
                    received: received.clone().into_owned(),
                }
                .into());
            }
            (None, _) if self.iss_required => {
                return Err(ValidationError::IssuerParameterMissing.into());
            }
            _ => {}
        }

        if let Some(code) = &params.error {
            return Err(error_response(code, &params).into());
        }

        let code = match params.code {
            Some(code) if !code.is_empty() => code.into_owned(),
            _ => return Err(ValidationError::CodeMissing.into()),
        };
        Ok(AuthorizationCode::new(code, self))
    }

    #[cfg_attr(not(feature = "jose"), allow(dead_code))]
    pub(crate) fn redirect_uri_url(&self) -> &url::Url {
        self.redirect_uri.url()
    }

    pub(crate) fn client_id(&self) -> &str {
        self.client_id.as_str()
    }

    pub(crate) fn code_verifier(&self) -> Option<&str> {
        self.code_verifier.as_deref()
    }

    pub(crate) fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    #[cfg_attr(not(feature = "jose"), allow(dead_code))]
    pub(crate) fn openid(&self) -> bool {
        self.openid
    }

    #[cfg_attr(not(feature = "jose"), allow(dead_code))]
    pub(crate) fn max_age(&self) -> Option<u64> {
        self.max_age
    }
}

/// The error response (RFC 6749 §4.1.2.1) the callback carries, with every parameter it does
/// not model kept in `extra`.
fn error_response(code: &str, params: &CallbackParams<'_>) -> OAuthError {
    let text = |value: &str| serde_json::Value::String(value.to_owned());
    let mut extra = serde_json::Map::new();
    if let Some(value) = &params.code {
        extra.insert("code".to_owned(), text(value));
    }
    for (name, value) in &params.others {
        extra.insert(name.clone().into_owned(), text(value));
    }
    OAuthError {
        code: ErrorCode::from(code),
        description: params.error_description.as_deref().map(str::to_owned),
        uri: params.error_uri.as_deref().map(str::to_owned),
        status: http::StatusCode::FOUND,
        headers: ResponseHeaders::default(),
        extra,
    }
}
