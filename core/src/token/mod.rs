//! Token responses (RFC 6749 §5.1) and the tokens they carry.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::response::{Answer, parse, with_headers};

mod stored;
mod wire;
use crate::secret::{AccessToken, IdToken, RefreshToken};
use crate::{Error, Now, Scope};

/// The `token_type` of an access token, compared case-insensitively (RFC 6749 §5.1).
///
/// ```
/// use grantline::TokenType;
///
/// assert_eq!(TokenType::from("bearer"), TokenType::Bearer);
/// assert_eq!(TokenType::from("DPOP"), TokenType::DPoP);
/// assert_eq!(TokenType::from("mac").as_str(), "mac");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenType {
    /// `Bearer` (RFC 6750).
    Bearer,
    /// `DPoP` (RFC 9449).
    DPoP,
    /// `N_A`: the issued token is not an access token (RFC 8693 §2.2.1).
    NotApplicable,
    /// Any other type, as sent.
    Other(String),
}

impl TokenType {
    /// The type as used in an `Authorization` header (`Bearer`, `DPoP`) or as sent.
    ///
    /// ```
    /// assert_eq!(grantline::TokenType::Bearer.as_str(), "Bearer");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            TokenType::Bearer => "Bearer",
            TokenType::DPoP => "DPoP",
            TokenType::NotApplicable => "N_A",
            TokenType::Other(other) => other,
        }
    }
}

impl From<&str> for TokenType {
    fn from(value: &str) -> Self {
        // `Bearer` as servers spell it is one comparison; any other spelling is still Bearer.
        if value == "Bearer" || value.eq_ignore_ascii_case("bearer") {
            TokenType::Bearer
        } else if value.eq_ignore_ascii_case("dpop") {
            TokenType::DPoP
        } else if value.eq_ignore_ascii_case("n_a") {
            TokenType::NotApplicable
        } else {
            TokenType::Other(value.to_owned())
        }
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for TokenType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TokenType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|s| TokenType::from(s.as_str()))
    }
}

/// A successful token response: the tokens, their type and lifetime, and every other field.
///
/// `Debug` shows no token. It serializes to its own stored format (versioned, with
/// `expires_at` as unix seconds) so an application can store it and read it back after a
/// restart; a token endpoint's answer is not that format and is read with
/// [`from_body`](Self::from_body) or [`from_response`](Self::from_response).
///
/// ```
/// use grantline::{Now, TokenResponse};
/// use std::time::Duration;
///
/// let now = Now::system();
/// let response = http::Response::builder()
///     .status(200)
///     .header("content-type", "application/json")
///     .body(br#"{"access_token":"at","token_type":"bearer","expires_in":"3600","tenant":"x"}"#.to_vec())
///     .unwrap();
/// let token = TokenResponse::from_response(&response, now)?;
/// assert_eq!(token.access_token().secret(), "at");
/// assert_eq!(token.token_type(), &grantline::TokenType::Bearer);
/// assert_eq!(token.expires_at(), Some(now.wall() + Duration::from_secs(3600)));
/// assert!(!token.is_expired(now.wall(), Duration::from_secs(30)));
/// assert_eq!(token.extra()["tenant"], "x");
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct TokenResponse {
    access_token: AccessToken,
    token_type: TokenType,
    expires_at: Option<SystemTime>,
    refresh_token: Option<RefreshToken>,
    id_token: Option<IdToken>,
    scope: Option<Scope>,
    issued_token_type: Option<String>,
    /// `None` when there is none: an empty map costs a drop. Never `Some` of an empty map.
    extra: Option<Map<String, Value>>,
    /// The ID token's claims, once a flow validated it (the code exchange does).
    #[cfg(feature = "jose")]
    id_token_claims: Option<Box<crate::oidc::IdTokenClaims>>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &self.access_token)
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("refresh_token", &self.refresh_token)
            .field("id_token", &self.id_token)
            .field("scope", &self.scope)
            .field("issued_token_type", &self.issued_token_type)
            .field("extra", &self.extra().keys().collect::<Vec<_>>())
            .field("id_token_validated", &self.id_token_validated())
            .finish()
    }
}

impl TokenResponse {
    /// A token made by hand: for a token obtained elsewhere, or for tests.
    ///
    /// ```
    /// use grantline::{TokenResponse, TokenType, secret::AccessToken};
    /// let token = TokenResponse::new(AccessToken::new("at"), TokenType::Bearer);
    /// assert_eq!(token.expires_at(), None);
    /// ```
    #[must_use]
    pub fn new(access_token: AccessToken, token_type: TokenType) -> Self {
        Self {
            access_token,
            token_type,
            expires_at: None,
            refresh_token: None,
            id_token: None,
            scope: None,
            issued_token_type: None,
            extra: None,
            #[cfg(feature = "jose")]
            id_token_claims: None,
        }
    }

    /// Parses a token endpoint's response received at `now`.
    ///
    /// [`from_body`](Self::from_body) on the response's status, content type and body; an
    /// error keeps the response's `WWW-Authenticate`, `DPoP-Nonce` and `Retry-After` headers.
    ///
    /// # Errors
    ///
    /// As [`from_body`](Self::from_body).
    ///
    /// ```
    /// use grantline::{Error, Now, TokenResponse, error::ErrorCode};
    /// let response = http::Response::builder()
    ///     .status(400)
    ///     .body(br#"{"error":"invalid_grant"}"#.to_vec())
    ///     .unwrap();
    /// let e = TokenResponse::from_response(&response, Now::system()).unwrap_err();
    /// assert_eq!(e.oauth_code(), Some(&ErrorCode::InvalidGrant));
    /// ```
    pub fn from_response(response: &http::Response<Vec<u8>>, now: Now) -> Result<Self, Error> {
        Self::from_answer(Answer::of(response), now)
            .map_err(|e| with_headers(e, response.headers()))
    }

    /// Parses a token endpoint's answer received at `now`, from its status, its
    /// `Content-Type` (if any) and its body: for an HTTP stack that has no [`http::Response`].
    ///
    /// Any 2xx is a success; a JSON body is read whatever the content type says, and a form
    /// body (`application/x-www-form-urlencoded`) as strings. `expires_in` becomes an
    /// [`expires_at`](Self::expires_at) counted from `now`.
    ///
    /// # Errors
    ///
    /// [`Error::OAuth`] for an OAuth error (also inside a 2xx), [`Error::UnexpectedResponse`] for
    /// an answer that is not a JSON object, [`Error::InvalidResponse`] for a missing
    /// `access_token` or a field of the wrong type.
    ///
    /// ```
    /// use grantline::{Now, TokenResponse, error::ErrorCode};
    /// use http::StatusCode;
    ///
    /// let body = br#"{"access_token":"at","token_type":"Bearer","expires_in":3600}"#;
    /// let token = TokenResponse::from_body(StatusCode::OK, Some("application/json"), body, Now::system())?;
    /// assert_eq!(token.access_token().secret(), "at");
    ///
    /// let body = br#"{"error":"invalid_client"}"#;
    /// let e = TokenResponse::from_body(StatusCode::UNAUTHORIZED, None, body, Now::system()).unwrap_err();
    /// assert_eq!(e.oauth_code(), Some(&ErrorCode::InvalidClient));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn from_body(
        status: http::StatusCode,
        content_type: Option<&str>,
        body: &[u8],
        now: Now,
    ) -> Result<Self, Error> {
        Self::from_answer(
            Answer {
                status,
                content_type: content_type.map(str::as_bytes),
                body,
            },
            now,
        )
    }

    fn from_answer(answer: Answer<'_>, now: Now) -> Result<Self, Error> {
        parse::<wire::Token>(answer, "token response")?.check(answer, now)
    }

    /// The access token.
    ///
    /// ```
    /// # let token = grantline::TokenResponse::new("at".into(), grantline::TokenType::Bearer);
    /// assert_eq!(token.access_token().secret(), "at");
    /// ```
    #[must_use]
    pub fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    /// The token type (`Bearer` when the server left it out).
    ///
    /// ```
    /// # let token = grantline::TokenResponse::new("at".into(), grantline::TokenType::DPoP);
    /// assert_eq!(token.token_type().as_str(), "DPoP");
    /// ```
    #[must_use]
    pub fn token_type(&self) -> &TokenType {
        &self.token_type
    }

    /// When the access token expires: the `now` it was received at plus `expires_in`.
    /// `None` when the server did not say.
    ///
    /// ```
    /// # let token = grantline::TokenResponse::new("at".into(), grantline::TokenType::Bearer);
    /// assert!(token.expires_at().is_none());
    /// ```
    #[must_use]
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// How long the access token has left at `now` (zero once expired), if its expiry is known.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// let t0 = SystemTime::UNIX_EPOCH;
    /// let token = grantline::TokenResponse::new("at".into(), grantline::TokenType::Bearer)
    ///     .with_expires_at(Some(t0 + Duration::from_secs(60)));
    /// assert_eq!(token.expires_in(t0 + Duration::from_secs(50)), Some(Duration::from_secs(10)));
    /// assert_eq!(token.expires_in(t0 + Duration::from_secs(70)), Some(Duration::ZERO));
    /// ```
    #[must_use]
    pub fn expires_in(&self, now: SystemTime) -> Option<Duration> {
        self.expires_at
            .map(|at| at.duration_since(now).unwrap_or(Duration::ZERO))
    }

    /// Whether the access token is expired at `now`, or will be within `leeway`.
    ///
    /// A token without a known expiry is never considered expired: the server will say so
    /// when it stops accepting it.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// let t0 = SystemTime::UNIX_EPOCH;
    /// let token = grantline::TokenResponse::new("at".into(), grantline::TokenType::Bearer)
    ///     .with_expires_at(Some(t0 + Duration::from_secs(60)));
    /// let leeway = Duration::from_secs(30);
    /// assert!(!token.is_expired(t0 + Duration::from_secs(29), leeway));
    /// assert!(token.is_expired(t0 + Duration::from_secs(30), leeway));
    /// ```
    #[must_use]
    pub fn is_expired(&self, now: SystemTime, leeway: Duration) -> bool {
        match self.expires_at {
            None => false,
            Some(at) => now.checked_add(leeway).is_none_or(|edge| edge >= at),
        }
    }

    /// The refresh token, if one was issued.
    ///
    /// ```
    /// # let token = grantline::TokenResponse::new("at".into(), grantline::TokenType::Bearer);
    /// assert!(token.refresh_token().is_none());
    /// ```
    #[must_use]
    pub fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }

    /// The OpenID Connect ID token, if one was issued (not yet validated).
    ///
    /// ```
    /// # let token = grantline::TokenResponse::new("at".into(), grantline::TokenType::Bearer);
    /// assert!(token.id_token().is_none());
    /// ```
    #[must_use]
    pub fn id_token(&self) -> Option<&IdToken> {
        self.id_token.as_ref()
    }

    /// The granted scope, if the server said (RFC 6749 §5.1: when it differs from the request).
    ///
    /// ```
    /// # let token = grantline::TokenResponse::new("at".into(), grantline::TokenType::Bearer);
    /// assert!(token.scope().is_none());
    /// ```
    #[must_use]
    pub fn scope(&self) -> Option<&Scope> {
        self.scope.as_ref()
    }

    /// The `issued_token_type` of a token exchange response (RFC 8693 §2.2.1).
    ///
    /// ```
    /// # let token = grantline::TokenResponse::new("at".into(), grantline::TokenType::Bearer);
    /// assert!(token.issued_token_type().is_none());
    /// ```
    #[must_use]
    pub fn issued_token_type(&self) -> Option<&str> {
        self.issued_token_type.as_deref()
    }

    /// Every field of the response that grantline does not model, as sent.
    ///
    /// ```
    /// # let token = grantline::TokenResponse::new("at".into(), grantline::TokenType::Bearer);
    /// assert!(token.extra().is_empty());
    /// ```
    #[must_use]
    pub fn extra(&self) -> &Map<String, Value> {
        static NONE: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
        self.extra.as_ref().unwrap_or(&NONE)
    }

    /// Sets the expiry (for a token made by hand, or read back from storage).
    ///
    /// ```
    /// let token = grantline::TokenResponse::new("at".into(), grantline::TokenType::Bearer)
    ///     .with_expires_at(Some(std::time::SystemTime::UNIX_EPOCH));
    /// assert!(token.expires_at().is_some());
    /// ```
    #[must_use]
    pub fn with_expires_at(mut self, expires_at: Option<SystemTime>) -> Self {
        self.expires_at = expires_at;
        self
    }

    /// Whether a flow validated the ID token (signature, issuer, audience, expiry, nonce, ...).
    ///
    /// ```
    /// # let token = grantline::TokenResponse::new("at".into(), grantline::TokenType::Bearer);
    /// assert!(!token.id_token_validated());
    /// ```
    #[must_use]
    pub fn id_token_validated(&self) -> bool {
        #[cfg(feature = "jose")]
        {
            self.id_token_claims.is_some()
        }
        #[cfg(not(feature = "jose"))]
        {
            false
        }
    }

    /// The claims of the ID token, when a flow validated it (the code exchange does, when the
    /// scope had `openid`).
    ///
    /// ```
    /// # let token = grantline::TokenResponse::new("at".into(), grantline::TokenType::Bearer);
    /// assert!(token.id_token_claims().is_none());
    /// ```
    #[cfg(feature = "jose")]
    #[must_use]
    pub fn id_token_claims(&self) -> Option<&crate::oidc::IdTokenClaims> {
        self.id_token_claims.as_deref()
    }

    #[cfg(feature = "jose")]
    pub(crate) fn set_id_token_claims(&mut self, claims: crate::oidc::IdTokenClaims) {
        self.id_token_claims = Some(Box::new(claims));
    }

    /// Sets the refresh token.
    ///
    /// ```
    /// use grantline::secret::RefreshToken;
    /// let token = grantline::TokenResponse::new("at".into(), grantline::TokenType::Bearer)
    ///     .with_refresh_token(Some(RefreshToken::new("rt")));
    /// assert_eq!(token.refresh_token().unwrap().secret(), "rt");
    /// ```
    #[must_use]
    pub fn with_refresh_token(mut self, refresh_token: Option<RefreshToken>) -> Self {
        self.refresh_token = refresh_token;
        self
    }
}

/// About 100 years: longer lifetimes are capped so that expiry arithmetic cannot overflow.
pub(crate) const MAX_LIFETIME: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// A hint about the kind of token sent for revocation or introspection (RFC 7009 §2.1).
///
/// ```
/// use grantline::token::TokenTypeHint;
/// assert_eq!(TokenTypeHint::RefreshToken.as_str(), "refresh_token");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenTypeHint {
    /// `access_token`.
    AccessToken,
    /// `refresh_token`.
    RefreshToken,
    /// Any other registered hint.
    Other(String),
}

impl TokenTypeHint {
    /// The hint as sent.
    ///
    /// ```
    /// # use grantline::token::TokenTypeHint;
    /// assert_eq!(TokenTypeHint::Other("pct".into()).as_str(), "pct");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            TokenTypeHint::AccessToken => "access_token",
            TokenTypeHint::RefreshToken => "refresh_token",
            TokenTypeHint::Other(other) => other,
        }
    }
}

/// A token sent to the revocation or introspection endpoint, with an optional hint.
///
/// ```
/// use grantline::token::{TargetToken, TokenTypeHint};
/// use grantline::secret::RefreshToken;
///
/// let target = TargetToken::from(&RefreshToken::new("rt"));
/// assert_eq!(target.hint(), Some(&TokenTypeHint::RefreshToken));
/// assert!(!format!("{target:?}").contains("rt\""));
/// ```
#[derive(Clone)]
pub struct TargetToken {
    token: String,
    hint: Option<TokenTypeHint>,
    /// Other parameters, sent after `token` and `token_type_hint`.
    extra: Vec<(String, String)>,
}

impl fmt::Debug for TargetToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TargetToken")
            .field("token", &"[redacted]")
            .field("hint", &self.hint)
            .field(
                "extra",
                &self.extra.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl TargetToken {
    /// A token of unspecified kind (no hint is sent).
    ///
    /// ```
    /// assert!(grantline::token::TargetToken::new("t").hint().is_none());
    /// ```
    #[must_use]
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            hint: None,
            extra: Vec::new(),
        }
    }

    /// Adds another parameter to the revocation or introspection request (a vendor's
    /// `resource`, `client_id` of another tenant's token, Keycloak's or Okta's extensions).
    /// Names grantline sets (`token`, `token_type_hint`, client authentication's) are refused
    /// when the request is made, with [`ConfigError::ReservedParameter`](crate::error::ConfigError::ReservedParameter).
    ///
    /// ```
    /// use grantline::token::TargetToken;
    /// let client = grantline::Client::builder("c")
    ///     .revocation_endpoint("https://as.example/revoke")
    ///     .build()?;
    /// let mut flow = client.revoke(TargetToken::new("t").param("resource", "https://api.example/"))?;
    /// let grantline::Step::Send(request) = grantline::Flow::next(&mut flow, grantline::Now::system())? else { unreachable!() };
    /// assert_eq!(request.body(), b"token=t&resource=https%3A%2F%2Fapi.example%2F&client_id=c");
    /// assert!(client.revoke(TargetToken::new("t").param("token", "other")).is_err());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.push((name.into(), value.into()));
        self
    }

    /// The extra parameters, for the request.
    pub(crate) fn extra(&self) -> &[(String, String)] {
        &self.extra
    }

    /// Sets the `token_type_hint`.
    ///
    /// ```
    /// use grantline::token::{TargetToken, TokenTypeHint};
    /// let target = TargetToken::new("t").with_hint(TokenTypeHint::AccessToken);
    /// assert_eq!(target.hint(), Some(&TokenTypeHint::AccessToken));
    /// ```
    #[must_use]
    pub fn with_hint(mut self, hint: TokenTypeHint) -> Self {
        self.hint = Some(hint);
        self
    }

    /// The hint, if any.
    ///
    /// ```
    /// assert!(grantline::token::TargetToken::new("t").hint().is_none());
    /// ```
    #[must_use]
    pub fn hint(&self) -> Option<&TokenTypeHint> {
        self.hint.as_ref()
    }

    /// The form parameters `token` and `token_type_hint`.
    pub(crate) fn params(&self) -> Vec<(String, String)> {
        let mut params = vec![("token".to_owned(), self.token.clone())];
        if let Some(hint) = &self.hint {
            params.push(("token_type_hint".to_owned(), hint.as_str().to_owned()));
        }
        params
    }
}

impl From<&AccessToken> for TargetToken {
    fn from(token: &AccessToken) -> Self {
        TargetToken::new(token.secret()).with_hint(TokenTypeHint::AccessToken)
    }
}

impl From<&RefreshToken> for TargetToken {
    fn from(token: &RefreshToken) -> Self {
        TargetToken::new(token.secret()).with_hint(TokenTypeHint::RefreshToken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorCode, InvalidResponse};

    fn now() -> Now {
        Now::new(
            Now::system().monotonic(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        )
    }

    fn parse(status: u16, body: &str) -> Result<TokenResponse, Error> {
        let response = http::Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(body.as_bytes().to_vec())
            .unwrap();
        TokenResponse::from_response(&response, now())
    }

    fn invalid(body: &str) -> InvalidResponse {
        match parse(200, body) {
            Err(Error::InvalidResponse(e)) => e,
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn a_full_response_is_read() {
        let token = parse(
            200,
            r#"{"access_token":"at","token_type":"Bearer","expires_in":3600,"refresh_token":"rt",
                "id_token":"h.p.s","scope":"openid profile","issued_token_type":"urn:ietf:params:oauth:token-type:access_token",
                "ext":{"nested":true}}"#,
        )
        .unwrap();
        assert_eq!(token.access_token().secret(), "at");
        assert_eq!(token.refresh_token().unwrap().secret(), "rt");
        assert_eq!(token.id_token().unwrap().secret(), "h.p.s");
        assert!(token.scope().unwrap().contains("profile"));
        assert_eq!(
            token.expires_at(),
            Some(now().wall() + Duration::from_secs(3600))
        );
        assert!(token.issued_token_type().unwrap().ends_with("access_token"));
        assert_eq!(token.extra()["ext"]["nested"], true);
        assert_eq!(token.extra().len(), 1);
    }

    #[test]
    fn odd_members_are_read_or_named() {
        let token = parse(
            200,
            r#"{"access_token":"a\"t","token_type":"Be\u0061rer","scope":"openid\u0020profile","id_token":null,"error":{"nested":true}}"#,
        )
        .unwrap();
        assert_eq!(token.access_token().secret(), "a\"t");
        assert_eq!(token.token_type(), &TokenType::Bearer);
        assert_eq!(token.scope().unwrap().to_string(), "openid profile");
        assert!(token.id_token().is_none());
        assert_eq!(token.extra()["error"]["nested"], true);
        // `token_type` is read as a string: another type makes the document invalid.
        assert_eq!(
            invalid(r#"{"access_token":"at","token_type":7}"#).field,
            "token response"
        );
        // A member sent twice is refused rather than one of its values picked.
        assert!(matches!(
            parse(200, r#"{"access_token":"first","access_token":"last"}"#),
            Err(Error::InvalidResponse(_))
        ));
    }

    #[test]
    fn a_form_body_is_read() {
        let response = http::Response::builder()
            .status(200)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(b"access_token=gho_abc&scope=repo%2Cgist&token_type=bearer&x=1".to_vec())
            .unwrap();
        let token = TokenResponse::from_response(&response, now()).unwrap();
        assert_eq!(token.access_token().secret(), "gho_abc");
        assert_eq!(token.token_type(), &TokenType::Bearer);
        assert_eq!(token.extra()["x"], "1");
    }

    #[test]
    fn from_body_reads_what_from_response_reads() {
        let body = br#"{"access_token":"at","expires_in":60,"x":[1]}"#;
        let token = TokenResponse::from_body(http::StatusCode::OK, None, body, now()).unwrap();
        assert_eq!(
            token,
            parse(200, std::str::from_utf8(body).unwrap()).unwrap()
        );
        let e = TokenResponse::from_body(
            http::StatusCode::OK,
            Some("application/json"),
            br#"{"error":"slow_down"}"#,
            now(),
        )
        .unwrap_err();
        assert_eq!(e.oauth_code(), Some(&ErrorCode::SlowDown));
    }

    #[test]
    fn token_type_is_case_insensitive_and_unknown_types_are_kept() {
        assert_eq!(
            parse(200, r#"{"access_token":"a","token_type":"BEARER"}"#)
                .unwrap()
                .token_type(),
            &TokenType::Bearer
        );
        assert_eq!(
            parse(200, r#"{"access_token":"a","token_type":"dpop"}"#)
                .unwrap()
                .token_type(),
            &TokenType::DPoP
        );
        assert_eq!(
            parse(200, r#"{"access_token":"a","token_type":"MAC"}"#)
                .unwrap()
                .token_type(),
            &TokenType::Other("MAC".into())
        );
        assert_eq!(
            parse(200, r#"{"access_token":"a"}"#).unwrap().token_type(),
            &TokenType::Bearer
        );
    }

    #[test]
    fn expires_in_takes_numbers_and_numeric_strings() {
        for (value, secs) in [
            ("60", 60),
            ("\"60\"", 60),
            ("\" 60 \"", 60),
            ("59.9", 59),
            ("0", 0),
            ("null", u64::MAX),
        ] {
            let token = parse(
                200,
                &format!(r#"{{"access_token":"a","expires_in":{value}}}"#),
            )
            .unwrap();
            if secs == u64::MAX {
                assert_eq!(token.expires_at(), None);
            } else {
                assert_eq!(
                    token.expires_at(),
                    Some(now().wall() + Duration::from_secs(secs)),
                    "{value}"
                );
            }
        }
        let huge = parse(200, r#"{"access_token":"a","expires_in":1e300}"#).unwrap();
        assert!(huge.expires_at().unwrap() > now().wall());
        for bad in ["-1", "\"soon\"", "true", "[60]", "\"-5\""] {
            let e = invalid(&format!(r#"{{"access_token":"a","expires_in":{bad}}}"#));
            assert_eq!(e.field, "expires_in", "{bad}");
        }
    }

    #[test]
    fn a_missing_or_empty_access_token_is_invalid() {
        assert_eq!(
            invalid(r#"{"token_type":"Bearer"}"#),
            InvalidResponse::new("access_token", "is missing")
        );
        assert_eq!(
            invalid(r#"{"access_token":""}"#),
            InvalidResponse::new("access_token", "is empty")
        );
        assert_eq!(
            invalid(r#"{"access_token":42}"#),
            InvalidResponse::new("access_token", "is not a string")
        );
        assert_eq!(
            invalid(r#"{"access_token":"a","refresh_token":1}"#).field,
            "refresh_token"
        );
        assert_eq!(invalid(r#"{"access_token":"a","scope":{}}"#).field, "scope");
    }

    #[test]
    fn scope_may_come_as_an_array() {
        let token = parse(200, r#"{"access_token":"a","scope":["read","write"]}"#).unwrap();
        assert_eq!(token.scope().unwrap().to_string(), "read write");
    }

    #[test]
    fn errors_come_out_typed() {
        let e = parse(
            401,
            r#"{"error":"invalid_client","error_description":"bad secret"}"#,
        )
        .unwrap_err();
        assert_eq!(e.oauth_code(), Some(&ErrorCode::InvalidClient));
        assert_eq!(e.status(), Some(http::StatusCode::UNAUTHORIZED));
        let e = parse(200, r#"{"error":"invalid_grant"}"#).unwrap_err();
        assert_eq!(e.oauth_code(), Some(&ErrorCode::InvalidGrant));
        let e = parse(400, r#"{"error":"new_vendor_code"}"#).unwrap_err();
        assert_eq!(
            e.oauth_code(),
            Some(&ErrorCode::Other("new_vendor_code".into()))
        );
        assert!(matches!(
            parse(500, "<html>"),
            Err(Error::UnexpectedResponse(_))
        ));
        assert!(matches!(parse(200, ""), Err(Error::UnexpectedResponse(_))));
    }

    #[test]
    fn expiry_with_leeway() {
        let token = parse(200, r#"{"access_token":"a","expires_in":100}"#).unwrap();
        let t0 = now().wall();
        assert!(!token.is_expired(t0, Duration::from_secs(30)));
        assert!(!token.is_expired(t0 + Duration::from_secs(69), Duration::from_secs(30)));
        assert!(token.is_expired(t0 + Duration::from_secs(70), Duration::from_secs(30)));
        assert!(token.is_expired(t0 + Duration::from_secs(100), Duration::ZERO));
        let no_expiry = parse(200, r#"{"access_token":"a"}"#).unwrap();
        assert!(
            !no_expiry.is_expired(t0 + Duration::from_secs(1_000_000), Duration::from_secs(30))
        );
    }

    #[test]
    fn debug_hides_every_token() {
        let token = parse(200, r#"{"access_token":"AT-SECRET","refresh_token":"RT-SECRET","id_token":"ID-SECRET","x":"X-VALUE"}"#).unwrap();
        let shown = format!("{token:?}");
        for secret in ["AT-SECRET", "RT-SECRET", "ID-SECRET", "X-VALUE"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn a_token_without_extras_has_an_empty_extra_map() {
        let token = parse(200, r#"{"access_token":"a","expires_in":60}"#).unwrap();
        assert!(token.extra().is_empty());
        let back: TokenResponse =
            serde_json::from_str(&serde_json::to_string(&token).unwrap()).unwrap();
        assert_eq!(back, token);
        let by_hand = TokenResponse::new(AccessToken::new("a"), TokenType::Bearer)
            .with_expires_at(token.expires_at());
        assert_eq!(by_hand, token);
    }

    #[test]
    fn storage_round_trips() {
        let token = parse(
            200,
            r#"{"access_token":"a","refresh_token":"r","expires_in":60,"scope":"x y","k":[1]}"#,
        )
        .unwrap();
        let stored = serde_json::to_string(&token).unwrap();
        let back: TokenResponse = serde_json::from_str(&stored).unwrap();
        assert_eq!(back, token);
    }
}
