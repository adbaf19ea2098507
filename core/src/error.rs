//! The one error type, with kinds you can match on.
//!
//! Every fallible function in grantline returns [`Error`]. Its variants say *whose* fault it is:
//!
//! | variant | meaning | what to do |
//! | --- | --- | --- |
//! | [`Error::OAuth`] | the server answered with an OAuth error (RFC 6749 §5.2) | match [`OAuthError::code`] |
//! | [`Error::UnexpectedResponse`] | an answer that is not OAuth at all (HTML 500, empty 200, a redirect) | look at status and excerpt; often a wrong endpoint or a proxy |
//! | [`Error::InvalidResponse`] | JSON that breaks the spec (no `access_token`, `expires_in` not a number) | report to the server's operator |
//! | [`Error::Config`] | the client or request was set up wrong (missing endpoint, `http` endpoint) | fix the configuration |
//! | [`Error::Misuse`] | a flow was driven out of order | fix the driver |
//! | [`Error::Randomness`] | the operating system's random source failed | retry or abort |
//! | [`Error::Expired`] | a device code or backchannel request expired before approval | start again |
//! | [`Error::Validation`] | a wrong issuer, a callback with a wrong `state` or `iss` (a possible attack) | start again; do not use anything from that answer |
//! | [`Error::Jose`] | a JWT, JWS or JWK was refused, or an ID token broke a validation rule | see [`JoseError`]; never use the token |
//!
//! No message contains a secret or a whole response body: server-supplied text is escaped and
//! cut to a bounded length.

use std::fmt;
use std::time::{Duration, SystemTime};

use http::header::{HeaderName, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, StatusCode};

use crate::EndpointKind;

mod jose;
pub use self::jose::JoseError;

/// Everything that can go wrong in grantline.
///
/// ```
/// use grantline::{Error, error::ErrorCode};
///
/// fn explain(error: &Error) -> &'static str {
///     match error {
///         Error::OAuth(e) if e.code == ErrorCode::InvalidClient => "check the client secret",
///         Error::OAuth(_) => "the server refused",
///         Error::Config(_) => "fix the configuration",
///         _ => "something else",
///     }
/// }
/// # let _ = explain;
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an OAuth error response.
    OAuth(Box<OAuthError>),
    /// The server answered with something that is not an OAuth response at all.
    UnexpectedResponse(Box<UnexpectedResponse>),
    /// The server answered with JSON that breaks the specification.
    InvalidResponse(InvalidResponse),
    /// The client or the request is configured wrong.
    Config(ConfigError),
    /// A flow or step was used out of order.
    Misuse(Misuse),
    /// The random number source failed.
    Randomness(RandomnessError),
    /// A grant expired before the person approved it (a device code, a backchannel
    /// authentication request); the flow stopped without sending another request.
    Expired(Expired),
    /// A check on what the server or the browser sent failed: an issuer that does not match,
    /// a callback with the wrong `state` or `iss`, a malformed callback.
    Validation(ValidationError),
    /// A JWS, JWK or JWT was refused (signature, algorithm, key) or an ID token or userinfo
    /// answer broke an OpenID Connect validation rule: see [`JoseError`] for each rule.
    Jose(JoseError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::OAuth(e) => e.fmt(f),
            Error::UnexpectedResponse(e) => e.fmt(f),
            Error::InvalidResponse(e) => e.fmt(f),
            Error::Config(e) => e.fmt(f),
            Error::Misuse(e) => e.fmt(f),
            Error::Randomness(e) => e.fmt(f),
            Error::Expired(e) => e.fmt(f),
            Error::Validation(e) => e.fmt(f),
            Error::Jose(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Randomness(e) => Some(e),
            Error::Jose(e) => Some(e),
            _ => None,
        }
    }
}

impl Error {
    /// The OAuth error code, if the server sent one.
    ///
    /// ```
    /// # use grantline::{Error, EndpointKind, error::{ErrorCode, ConfigError}};
    /// let error = Error::Config(ConfigError::MissingEndpoint(EndpointKind::Token));
    /// assert_eq!(error.oauth_code(), None);
    /// ```
    #[must_use]
    pub fn oauth_code(&self) -> Option<&ErrorCode> {
        match self {
            Error::OAuth(e) => Some(&e.code),
            _ => None,
        }
    }

    /// The HTTP status of the answer this error came from, if it came from one.
    ///
    /// ```
    /// # use grantline::{Error, EndpointKind, error::ConfigError};
    /// let error = Error::Config(ConfigError::MissingEndpoint(EndpointKind::Token));
    /// assert_eq!(error.status(), None);
    /// ```
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::OAuth(e) => Some(e.status),
            Error::UnexpectedResponse(e) => Some(e.status),
            _ => None,
        }
    }
}

impl From<OAuthError> for Error {
    fn from(e: OAuthError) -> Self {
        Error::OAuth(Box::new(e))
    }
}

impl From<UnexpectedResponse> for Error {
    fn from(e: UnexpectedResponse) -> Self {
        Error::UnexpectedResponse(Box::new(e))
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}

impl From<InvalidResponse> for Error {
    fn from(e: InvalidResponse) -> Self {
        Error::InvalidResponse(e)
    }
}

impl From<Misuse> for Error {
    fn from(e: Misuse) -> Self {
        Error::Misuse(e)
    }
}

/// An OAuth error response (RFC 6749 §5.2), with what a caller needs to react to it.
///
/// ```
/// use grantline::error::{OAuthError, ErrorCode};
///
/// fn should_reauthenticate(e: &OAuthError) -> bool {
///     e.code == ErrorCode::InvalidGrant
/// }
/// # let _ = should_reauthenticate;
/// ```
///
/// `Debug` shows every member, but the values of those that carry credentials (`code`,
/// `refresh_token`, `access_token`, `id_token`, an assertion, ...) as `[redacted]`, at any depth:
/// a server may echo them in an error.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct OAuthError {
    /// The `error` code.
    pub code: ErrorCode,
    /// The `error_description`, as sent (read it as untrusted text).
    pub description: Option<String>,
    /// The `error_uri`, as sent.
    pub uri: Option<String>,
    /// The HTTP status of the answer (a 200 when the server put an error in a success).
    pub status: StatusCode,
    /// The headers a caller needs next.
    pub headers: ResponseHeaders,
    /// Every other member of the error object.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl fmt::Debug for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthError")
            .field("code", &self.code)
            .field("description", &self.description)
            .field("uri", &self.uri)
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("extra", &redact_members(&self.extra))
            .finish()
    }
}

/// `members` with the values of credential members replaced by `"[redacted]"`, at any depth.
pub(crate) fn redact_members(
    members: &serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    fn redact_value(value: &serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(members) => {
                serde_json::Value::Object(redact_members(members))
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(redact_value).collect())
            }
            other => other.clone(),
        }
    }
    members
        .iter()
        .map(|(name, value)| {
            let value = if CREDENTIAL_FIELDS.contains(&name.as_str()) {
                serde_json::Value::from("[redacted]")
            } else {
                redact_value(value)
            };
            (name.clone(), value)
        })
        .collect()
}

impl OAuthError {
    /// Reads an OAuth error response (RFC 6749 §5.2) from its status, its `Content-Type` (if
    /// any) and its body: for an HTTP stack that has no [`http::Response`]. A JSON body is read
    /// whatever the content type says; a form body as strings. No headers are kept
    /// ([`headers`](Self::headers) is empty).
    ///
    /// # Errors
    ///
    /// [`Error::UnexpectedResponse`] when the body holds no OAuth error object (an HTML page,
    /// an empty body, JSON without a string `error`).
    ///
    /// ```
    /// use grantline::error::{ErrorCode, OAuthError};
    /// use http::StatusCode;
    ///
    /// let body = br#"{"error":"invalid_client","error_description":"bad secret"}"#;
    /// let e = OAuthError::from_body(StatusCode::UNAUTHORIZED, Some("application/json"), body)?;
    /// assert_eq!(e.code, ErrorCode::InvalidClient);
    /// assert_eq!(e.description.as_deref(), Some("bad secret"));
    ///
    /// assert!(OAuthError::from_body(StatusCode::BAD_GATEWAY, Some("text/html"), b"<html>").is_err());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn from_body(
        status: StatusCode,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Self, Error> {
        crate::response::oauth_error(crate::response::Answer {
            status,
            content_type: content_type.map(str::as_bytes),
            body,
        })
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server answered with OAuth error `{}` (HTTP {})",
            Escaped(self.code.as_str(), 64),
            self.status.as_u16()
        )?;
        if let Some(description) = &self.description {
            write!(f, ": {}", Escaped(description, 200))?;
        }
        Ok(())
    }
}

/// An OAuth error code: the registered ones, and any other kept as sent.
///
/// ```
/// use grantline::error::ErrorCode;
///
/// assert_eq!(ErrorCode::from("invalid_grant"), ErrorCode::InvalidGrant);
/// assert_eq!(ErrorCode::from("vendor_specific").as_str(), "vendor_specific");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request` (RFC 6749).
    InvalidRequest,
    /// `invalid_client` (RFC 6749).
    InvalidClient,
    /// `invalid_grant` (RFC 6749).
    InvalidGrant,
    /// `unauthorized_client` (RFC 6749).
    UnauthorizedClient,
    /// `unsupported_grant_type` (RFC 6749).
    UnsupportedGrantType,
    /// `invalid_scope` (RFC 6749).
    InvalidScope,
    /// `access_denied` (RFC 6749, RFC 8628, CIBA).
    AccessDenied,
    /// `unsupported_response_type` (RFC 6749).
    UnsupportedResponseType,
    /// `server_error` (RFC 6749).
    ServerError,
    /// `temporarily_unavailable` (RFC 6749).
    TemporarilyUnavailable,
    /// `authorization_pending` (RFC 8628, CIBA).
    AuthorizationPending,
    /// `slow_down` (RFC 8628, CIBA).
    SlowDown,
    /// `expired_token` (RFC 8628, CIBA).
    ExpiredToken,
    /// `invalid_target` (RFC 8707).
    InvalidTarget,
    /// `unsupported_token_type` (RFC 7009).
    UnsupportedTokenType,
    /// `invalid_token` (RFC 6750).
    InvalidToken,
    /// `insufficient_scope` (RFC 6750).
    InsufficientScope,
    /// `invalid_dpop_proof` (RFC 9449).
    InvalidDpopProof,
    /// `use_dpop_nonce` (RFC 9449).
    UseDpopNonce,
    /// `interaction_required` (OpenID Connect).
    InteractionRequired,
    /// `login_required` (OpenID Connect).
    LoginRequired,
    /// `consent_required` (OpenID Connect).
    ConsentRequired,
    /// `invalid_request_uri` (RFC 9101).
    InvalidRequestUri,
    /// `invalid_request_object` (RFC 9101).
    InvalidRequestObject,
    /// `invalid_client_metadata` (RFC 7591).
    InvalidClientMetadata,
    /// `invalid_redirect_uri` (RFC 7591).
    InvalidRedirectUri,
    /// `transaction_failed` (CIBA).
    TransactionFailed,
    /// Any other code, as sent.
    Other(String),
}

const ERROR_CODES: &[(&str, ErrorCode)] = &[
    ("invalid_request", ErrorCode::InvalidRequest),
    ("invalid_client", ErrorCode::InvalidClient),
    ("invalid_grant", ErrorCode::InvalidGrant),
    ("unauthorized_client", ErrorCode::UnauthorizedClient),
    ("unsupported_grant_type", ErrorCode::UnsupportedGrantType),
    ("invalid_scope", ErrorCode::InvalidScope),
    ("access_denied", ErrorCode::AccessDenied),
    (
        "unsupported_response_type",
        ErrorCode::UnsupportedResponseType,
    ),
    ("server_error", ErrorCode::ServerError),
    ("temporarily_unavailable", ErrorCode::TemporarilyUnavailable),
    ("authorization_pending", ErrorCode::AuthorizationPending),
    ("slow_down", ErrorCode::SlowDown),
    ("expired_token", ErrorCode::ExpiredToken),
    ("invalid_target", ErrorCode::InvalidTarget),
    ("unsupported_token_type", ErrorCode::UnsupportedTokenType),
    ("invalid_token", ErrorCode::InvalidToken),
    ("insufficient_scope", ErrorCode::InsufficientScope),
    ("invalid_dpop_proof", ErrorCode::InvalidDpopProof),
    ("use_dpop_nonce", ErrorCode::UseDpopNonce),
    ("interaction_required", ErrorCode::InteractionRequired),
    ("login_required", ErrorCode::LoginRequired),
    ("consent_required", ErrorCode::ConsentRequired),
    ("invalid_request_uri", ErrorCode::InvalidRequestUri),
    ("invalid_request_object", ErrorCode::InvalidRequestObject),
    ("invalid_client_metadata", ErrorCode::InvalidClientMetadata),
    ("invalid_redirect_uri", ErrorCode::InvalidRedirectUri),
    ("transaction_failed", ErrorCode::TransactionFailed),
];

impl ErrorCode {
    /// The code as it appears on the wire.
    ///
    /// ```
    /// assert_eq!(grantline::error::ErrorCode::SlowDown.as_str(), "slow_down");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        if let ErrorCode::Other(code) = self {
            return code;
        }
        ERROR_CODES
            .iter()
            .find(|(_, known)| known == self)
            .map_or("", |(name, _)| name)
    }
}

impl From<&str> for ErrorCode {
    fn from(code: &str) -> Self {
        ERROR_CODES
            .iter()
            .find(|(name, _)| *name == code)
            .map_or_else(
                || ErrorCode::Other(code.to_owned()),
                |(_, known)| known.clone(),
            )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Escaped(self.as_str(), 64).fmt(f)
    }
}

/// The response headers a caller needs to take the next step after an error.
///
/// ```
/// use grantline::error::ResponseHeaders;
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert("retry-after", "7".parse().unwrap());
/// headers.insert("dpop-nonce", "n-1".parse().unwrap());
/// let kept = ResponseHeaders::from_headers(&headers);
/// assert_eq!(kept.dpop_nonce.as_deref(), Some("n-1"));
/// assert_eq!(kept.retry_after, Some(grantline::error::RetryAfter::Delay(std::time::Duration::from_secs(7))));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseHeaders {
    /// `WWW-Authenticate`, as sent (RFC 6750 §3, RFC 9449 §7.1).
    pub www_authenticate: Option<String>,
    /// `DPoP-Nonce` (RFC 9449 §8).
    pub dpop_nonce: Option<String>,
    /// `Retry-After` (RFC 9110 §10.2.3), when it could be read.
    pub retry_after: Option<RetryAfter>,
}

impl ResponseHeaders {
    /// Picks the headers grantline keeps out of a response's headers.
    ///
    /// Values that are not visible ASCII, and `Retry-After` values that are neither a number of
    /// seconds nor an HTTP date, are left out.
    ///
    /// ```
    /// let kept = grantline::error::ResponseHeaders::from_headers(&http::HeaderMap::new());
    /// assert_eq!(kept, Default::default());
    /// ```
    #[must_use]
    pub fn from_headers(headers: &HeaderMap) -> Self {
        // One pass over the headers (an answer has a handful): the first value of each name.
        let mut www_authenticate = None;
        let mut dpop_nonce = None;
        let mut retry_after = None;
        for (name, value) in headers {
            let slot = if name == WWW_AUTHENTICATE {
                &mut www_authenticate
            } else if name == DPOP_NONCE {
                &mut dpop_nonce
            } else if name == RETRY_AFTER {
                &mut retry_after
            } else {
                continue;
            };
            slot.get_or_insert(value);
        }
        let text = |value: Option<&http::HeaderValue>| {
            value
                .and_then(|v| v.to_str().ok())
                .map(|v| bounded(v, MAX_HEADER_KEPT))
        };
        Self {
            www_authenticate: text(www_authenticate),
            dpop_nonce: text(dpop_nonce),
            retry_after: retry_after
                .and_then(|v| v.to_str().ok())
                .and_then(RetryAfter::parse),
        }
    }
}

const MAX_HEADER_KEPT: usize = 4096;

/// The `DPoP-Nonce` header (RFC 9449 §8), which `http` has no constant for.
pub(crate) const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// A `Retry-After` value: a delay, or a date.
///
/// ```
/// use grantline::error::RetryAfter;
/// use std::time::{Duration, SystemTime};
///
/// assert_eq!(RetryAfter::parse("120"), Some(RetryAfter::Delay(Duration::from_secs(120))));
/// let date = RetryAfter::parse("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
/// assert_eq!(date, RetryAfter::At(SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777)));
/// assert_eq!(RetryAfter::parse("soon"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::exhaustive_enums)]
pub enum RetryAfter {
    /// Wait this long.
    Delay(Duration),
    /// Wait until this wall-clock time.
    At(SystemTime),
}

impl RetryAfter {
    /// Reads a `Retry-After` value: delta-seconds or an IMF-fixdate (RFC 9110 §5.6.7).
    ///
    /// ```
    /// assert!(grantline::error::RetryAfter::parse("-1").is_none());
    /// ```
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            // Very long numbers saturate rather than fail: the server asked for "a long time".
            let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
            return Some(RetryAfter::Delay(Duration::from_secs(seconds)));
        }
        parse_imf_fixdate(value).map(RetryAfter::At)
    }

    /// How long to wait from `now` (zero for a date in the past).
    ///
    /// ```
    /// use grantline::error::RetryAfter;
    /// use std::time::{Duration, SystemTime};
    /// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
    /// let at = RetryAfter::At(SystemTime::UNIX_EPOCH + Duration::from_secs(130));
    /// assert_eq!(at.delay_from(now), Duration::from_secs(30));
    /// ```
    #[must_use]
    pub fn delay_from(&self, now: SystemTime) -> Duration {
        match self {
            RetryAfter::Delay(delay) => *delay,
            RetryAfter::At(at) => at.duration_since(now).unwrap_or(Duration::ZERO),
        }
    }
}

/// `Sun, 06 Nov 1994 08:49:37 GMT`.
fn parse_imf_fixdate(value: &str) -> Option<SystemTime> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut parts = value.split(' ');
    let _weekday = parts.next().filter(|d| d.len() == 4 && d.ends_with(','))?;
    let day: u64 = parts.next().filter(|d| d.len() == 2)?.parse().ok()?;
    let month = parts.next()?;
    let month = MONTHS.iter().position(|m| *m == month)? as u64 + 1;
    let year: u64 = parts.next().filter(|y| y.len() == 4)?.parse().ok()?;
    let mut clock = parts.next().filter(|t| t.len() == 8)?.split(':');
    let hour: u64 = clock.next()?.parse().ok()?;
    let minute: u64 = clock.next()?.parse().ok()?;
    let second: u64 = clock.next()?.parse().ok()?;
    if parts.next()? != "GMT" || parts.next().is_some() {
        return None;
    }
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 || year < 1970 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm), for years from 1970.
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// An answer that is not an OAuth response: wrong content type, not JSON, not an object, empty,
/// a redirect, or an error status without an OAuth error object.
///
/// Keeps only a short excerpt of the body, so a huge or hostile body never ends up in a log whole.
///
/// ```
/// use grantline::error::UnexpectedResponse;
///
/// let response = http::Response::builder()
///     .status(500)
///     .header("content-type", "text/html")
///     .body(b"<html>Internal Server Error</html>".to_vec())
///     .unwrap();
/// let e = UnexpectedResponse::from_response(&response, "the body is not JSON");
/// assert_eq!(e.status, 500);
/// assert_eq!(e.content_type.as_deref(), Some("text/html"));
/// assert!(e.excerpt.starts_with("<html>"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnexpectedResponse {
    /// The HTTP status.
    pub status: StatusCode,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// What was wrong with it.
    pub reason: &'static str,
    /// The body's length in bytes.
    pub body_len: usize,
    /// The first bytes of the body (at most [`UnexpectedResponse::EXCERPT_LEN`]), as lossy UTF-8,
    /// with the values of credential fields (`access_token`, `refresh_token`, `client_secret`,
    /// ...) replaced by `[redacted]`.
    pub excerpt: String,
    /// The headers a caller needs next.
    pub headers: ResponseHeaders,
}

impl UnexpectedResponse {
    /// The most bytes of a body kept in [`excerpt`](Self::excerpt).
    pub const EXCERPT_LEN: usize = 256;

    /// Describes `response` as unexpected, for `reason`.
    ///
    /// ```
    /// let response = http::Response::new(Vec::new());
    /// let e = grantline::error::UnexpectedResponse::from_response(&response, "the body is empty");
    /// assert_eq!(e.body_len, 0);
    /// ```
    #[must_use]
    pub fn from_response(response: &http::Response<Vec<u8>>, reason: &'static str) -> Self {
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        Self {
            headers: ResponseHeaders::from_headers(response.headers()),
            ..Self::from_parts(response.status(), content_type, response.body(), reason)
        }
    }

    /// Describes an answer known by its status, content type and body (no headers kept).
    pub(crate) fn from_parts(
        status: StatusCode,
        content_type: Option<&str>,
        body: &[u8],
        reason: &'static str,
    ) -> Self {
        let cut = body.get(..Self::EXCERPT_LEN).unwrap_or(body);
        Self {
            status,
            content_type: content_type.map(|v| bounded(v, 128)),
            reason,
            body_len: body.len(),
            excerpt: redact(&String::from_utf8_lossy(cut)),
            headers: ResponseHeaders::default(),
        }
    }
}

impl fmt::Display for UnexpectedResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unexpected answer from the server (HTTP {}, ",
            self.status.as_u16()
        )?;
        match &self.content_type {
            Some(ct) => write!(f, "{}", Escaped(ct, 64))?,
            None => f.write_str("no content type")?,
        }
        write!(f, ", {} bytes): {}", self.body_len, self.reason)
    }
}

/// A response that parsed but breaks the specification: a required field missing, or a field
/// of the wrong type.
///
/// ```
/// let e = grantline::error::InvalidResponse::new("expires_in", "is not a non-negative number");
/// assert_eq!(e.to_string(), "invalid response from the server: `expires_in` is not a non-negative number");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvalidResponse {
    /// The field at fault.
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl InvalidResponse {
    /// A field and its problem.
    ///
    /// ```
    /// let e = grantline::error::InvalidResponse::new("access_token", "is missing");
    /// assert_eq!(e.field, "access_token");
    /// ```
    #[must_use]
    pub const fn new(field: &'static str, problem: &'static str) -> Self {
        Self { field, problem }
    }
}

impl fmt::Display for InvalidResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid response from the server: `{}` {}",
            self.field, self.problem
        )
    }
}

/// A configuration mistake, found before anything was sent.
///
/// ```
/// use grantline::EndpointKind;
/// use grantline::error::ConfigError;
/// let e = ConfigError::MissingEndpoint(EndpointKind::Revocation);
/// assert!(e.to_string().contains("revocation endpoint"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The flow needs an endpoint the client was not given.
    MissingEndpoint(EndpointKind),
    /// An authorization request has no redirect URI: give the client one with
    /// [`ClientBuilder::redirect_uri`](crate::ClientBuilder::redirect_uri), or the request with
    /// [`AuthorizationRequest::redirect_uri`](crate::authorization::AuthorizationRequest::redirect_uri).
    MissingRedirectUri,
    /// An endpoint is not a valid absolute URL, or has a fragment or user info.
    InvalidEndpoint {
        /// Which endpoint.
        kind: EndpointKind,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An endpoint uses plain `http` on a host that is not a loopback address, and
    /// [`ClientBuilder::insecure_http`](crate::ClientBuilder::insecure_http) was not
    /// set.
    InsecureEndpoint {
        /// Which endpoint.
        kind: EndpointKind,
        /// Its host.
        host: String,
    },
    /// A request parameter has a value the specification does not allow.
    InvalidParameter {
        /// The parameter.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An extra parameter tried to set one that grantline sets itself (`grant_type`,
    /// `client_id`, `client_secret`, ...). Use the dedicated builder method instead.
    ReservedParameter(String),
    /// The client identifier or secret cannot be sent with the chosen authentication method.
    InvalidCredentials(&'static str),
    /// The server requires pushed authorization requests (RFC 9126 §5): use
    /// [`AuthorizationRequest::into_pushed`](crate::authorization::AuthorizationRequest::into_pushed).
    ParRequired,
    /// An access token was to be sent to a URL that is not `https` and not on a loopback host
    /// (or has no scheme and host), and the application did not opt in with
    /// [`Authorizer::insecure_http`](crate::authorizer::Authorizer::insecure_http).
    /// Nothing was sent.
    InsecureResource {
        /// The URL's host (empty when it has none).
        host: String,
    },
    /// ID tokens are to be validated (OpenID Connect Core §3.1.3.7 rule 2 compares `iss` with
    /// the issuer) but the client does not know its issuer. Build the client from metadata, set
    /// [`ClientBuilder::issuer`](crate::ClientBuilder::issuer), or opt out of validation by name
    /// (`insecure_skip_id_token_validation`).
    MissingIssuer,
    /// An assertion source (a JWT bearer assertion, a client assertion, a subject token) could
    /// not give an assertion: a file that cannot be read, is empty or too large, a signer that
    /// failed. Nothing was sent.
    AssertionUnavailable {
        /// Which source (a file path, or the name the application gave it).
        source: String,
        /// What went wrong (never the assertion itself).
        reason: String,
    },
    /// The client is a FAPI 2.0 client ([`ClientBuilder::fapi2`](crate::ClientBuilder::fapi2))
    /// and its setup or this request breaks a rule of the profile. Nothing was sent.
    Fapi2(Fapi2Rule),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::MissingEndpoint(kind) => write!(
                f,
                "the client has no {kind}: set it when building the client, or build the client from server metadata"
            ),
            ConfigError::InvalidEndpoint { kind, reason } => {
                write!(f, "the {kind} is not usable: {reason}")
            }
            ConfigError::InsecureEndpoint { kind, host } => write!(
                f,
                "the {kind} uses plain http on `{}`, which is not a loopback address: use https, or opt in with insecure_http",
                Escaped(host, 128)
            ),
            ConfigError::InvalidParameter { name, reason } => {
                write!(f, "parameter `{}` is invalid: {reason}", Escaped(name, 64))
            }
            ConfigError::ReservedParameter(name) => write!(
                f,
                "parameter `{}` is set by grantline itself and cannot be given as an extra parameter",
                Escaped(name, 64)
            ),
            ConfigError::InvalidCredentials(reason) => {
                write!(f, "the client credentials cannot be sent: {reason}")
            }
            ConfigError::InsecureResource { host } if host.is_empty() => f.write_str(
                "refusing to send an access token to a URL without a scheme and host: give the request an absolute https URL",
            ),
            ConfigError::InsecureResource { host } => write!(
                f,
                "refusing to send an access token over plain http to `{}`, which is not a loopback address: use https, or opt in with insecure_http",
                Escaped(host, 128)
            ),
            ConfigError::MissingRedirectUri => f.write_str(
                "the authorization request has no redirect URI: set one when building the client, or on the request",
            ),
            ConfigError::MissingIssuer => f.write_str(
                "ID token validation needs the issuer (its `iss` is compared with it), and the client has none: build the client from server metadata or set ClientBuilder::issuer, or opt out with insecure_skip_id_token_validation",
            ),
            ConfigError::AssertionUnavailable { source, reason } => write!(
                f,
                "the assertion source `{}` gave no assertion: {}",
                Escaped(source, 256),
                Escaped(reason, 256)
            ),
            ConfigError::ParRequired => f.write_str(
                "the server requires pushed authorization requests: push the request first (into_pushed) and send the person to the URL it returns",
            ),
            ConfigError::Fapi2(rule) => write!(
                f,
                "the FAPI 2.0 Security Profile forbids this ({}): {}",
                rule.section(),
                rule.requirement()
            ),
        }
    }
}

/// A flow or step used out of order (the caller's mistake, not the server's).
///
/// ```
/// let e = grantline::error::Misuse::AlreadyDone;
/// assert!(e.to_string().contains("already"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Misuse {
    /// `next` was called after the flow returned `Done`.
    AlreadyDone,
    /// `next` was called after the flow failed.
    AlreadyFailed,
    /// A response was handed in when no request was outstanding.
    UnexpectedResponse,
}

impl fmt::Display for Misuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Misuse::AlreadyDone => "the flow is already done: start a new one",
            Misuse::AlreadyFailed => "the flow already failed: start a new one",
            Misuse::UnexpectedResponse => {
                "a response was given to a flow that has no request outstanding: call next() first"
            }
        })
    }
}

/// A failed check on what the server or the browser sent.
///
/// Each of these can be an attack (a forged callback, an authorization server mix-up): when one
/// occurs, discard the answer and start again.
///
/// ```
/// use grantline::error::ValidationError;
/// assert!(ValidationError::StateMismatch.to_string().contains("state"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidationError {
    /// The metadata document names another issuer than the one it was fetched for
    /// (RFC 8414 §3.3, OpenID Connect Discovery §4.3).
    IssuerMismatch {
        /// The issuer expected.
        expected: String,
        /// The issuer the document named.
        received: String,
    },
    /// The callback has no `state`.
    StateMissing,
    /// The callback's `state` is not the one sent (a forged or replayed callback).
    StateMismatch,
    /// The callback's `iss` is not the expected issuer (RFC 9207: a mix-up attack).
    IssuerParameterMismatch {
        /// The issuer expected.
        expected: String,
        /// The `iss` received.
        received: String,
    },
    /// The callback has no `iss`, but the server says it always sends one (RFC 9207).
    IssuerParameterMissing,
    /// A parameter appears more than once in the callback.
    DuplicateParameter(String),
    /// The callback has no `code` and no `error`.
    CodeMissing,
    /// The callback URL is not at the registered redirect URI.
    RedirectUriMismatch,
    /// The callback could not be read at all.
    MalformedCallback(&'static str),
    /// A signed answer was asked for and a plain one came: a callback without the JARM
    /// `response` JWT when `response_mode` was `jwt`, `query.jwt`, `fragment.jwt` or
    /// `form_post.jwt`, or a JSON introspection answer when a JWT one (RFC 9701) was asked for.
    /// The string names the answer.
    UnsignedResponse(&'static str),
    /// The client is a FAPI 2.0 client and the server's answer breaks a rule of the profile
    /// (a `Bearer` token where a sender-constrained one is required, a `request_uri` that lives
    /// too long). Nothing from the answer was used.
    Fapi2(Fapi2Rule),
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValidationError::IssuerMismatch { expected, received } => write!(
                f,
                "the metadata names issuer `{}`, not the expected `{}`: do not use this server's metadata",
                Escaped(received, 200),
                Escaped(expected, 200)
            ),
            ValidationError::StateMissing => {
                f.write_str("the callback has no state: it did not come from this authorization request")
            }
            ValidationError::StateMismatch => f.write_str(
                "the callback's state does not match the request's: it was forged or belongs to another login; start again",
            ),
            ValidationError::IssuerParameterMismatch { expected, received } => write!(
                f,
                "the callback's iss is `{}`, not `{}`: a possible mix-up attack; start again",
                Escaped(received, 200),
                Escaped(expected, 200)
            ),
            ValidationError::IssuerParameterMissing => f.write_str(
                "the callback has no iss, though the server says it always sends one (RFC 9207): start again",
            ),
            ValidationError::DuplicateParameter(name) => write!(
                f,
                "the callback has the parameter `{}` more than once",
                Escaped(name, 64)
            ),
            ValidationError::CodeMissing => f.write_str("the callback has neither a code nor an error"),
            ValidationError::RedirectUriMismatch => {
                f.write_str("the callback URL is not at the redirect URI the request was sent with")
            }
            ValidationError::MalformedCallback(reason) => {
                write!(f, "the callback cannot be read: {reason}")
            }
            ValidationError::UnsignedResponse(what) => write!(
                f,
                "the {what} is not signed, though a signed one was asked for: do not use it; start again"
            ),
            ValidationError::Fapi2(rule) => write!(
                f,
                "the server's answer breaks the FAPI 2.0 Security Profile ({}): {}",
                rule.section(),
                rule.requirement()
            ),
        }
    }
}

/// A rule of the FAPI 2.0 Security Profile (OpenID Foundation, final, February 2025) that a
/// FAPI 2.0 client ([`ClientBuilder::fapi2`](crate::ClientBuilder::fapi2)) enforces on itself
/// and on the server. Carried by [`ConfigError::Fapi2`] (the client's own setup or request) and
/// [`ValidationError::Fapi2`] (the server's answer).
///
/// ```
/// use grantline::error::Fapi2Rule;
/// assert_eq!(Fapi2Rule::PushedAuthorizationRequests.section(), "§5.3.3.2");
/// assert!(Fapi2Rule::SigningAlgorithm.requirement().contains("PS256"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fapi2Rule {
    /// Authorization requests are pushed (RFC 9126): a plain front-channel request is refused.
    PushedAuthorizationRequests,
    /// PKCE with `S256` on every authorization request (`plain` and no PKCE are refused).
    PkceS256,
    /// Access tokens are sender-constrained, by DPoP (RFC 9449) or mutual TLS (RFC 8705): a
    /// client with neither, a client that accepts `Bearer` answers to DPoP requests, or a
    /// `Bearer` token in the answer to a DPoP-bound request.
    SenderConstrainedTokens,
    /// The client authenticates with `private_key_jwt` or mutual TLS (`tls_client_auth`,
    /// `self_signed_tls_client_auth`) only.
    ClientAuthentication,
    /// A client assertion's `aud` is the issuer identifier, as a single string.
    AssertionAudience,
    /// JWS algorithms are PS256, ES256 or EdDSA (Ed25519), for what the client signs and for
    /// what it accepts.
    SigningAlgorithm,
    /// The authorization response's issuer is checked (RFC 9207): the client must know its
    /// issuer, and a response without `iss` is refused.
    IssParameter,
    /// Lifetimes: a `request_uri` from the pushed authorization endpoint lives less than 600
    /// seconds.
    Lifetime,
    /// Every endpoint is reached over TLS: plain `http` off loopback
    /// ([`ClientBuilder::insecure_http`](crate::ClientBuilder::insecure_http)) is refused.
    Tls,
    /// The server's metadata must offer what the profile needs: a pushed authorization request
    /// endpoint, `S256` among the code challenge methods, the `iss` response parameter.
    ServerMetadata,
}

impl Fapi2Rule {
    /// The section of the FAPI 2.0 Security Profile (final) the rule comes from: §5.3.3 for the
    /// client's own rules, §5.3.2 for the server's rules the client checks, §5.2.1 for TLS,
    /// §5.4.1 for the algorithms.
    ///
    /// ```
    /// assert_eq!(grantline::error::Fapi2Rule::SigningAlgorithm.section(), "§5.4.1");
    /// ```
    #[must_use]
    pub const fn section(self) -> &'static str {
        match self {
            Fapi2Rule::PushedAuthorizationRequests
            | Fapi2Rule::PkceS256
            | Fapi2Rule::IssParameter => "§5.3.3.2",
            Fapi2Rule::SenderConstrainedTokens
            | Fapi2Rule::ClientAuthentication
            | Fapi2Rule::AssertionAudience => "§5.3.3.1",
            Fapi2Rule::ServerMetadata | Fapi2Rule::Lifetime => "§5.3.2.2",
            Fapi2Rule::SigningAlgorithm => "§5.4.1",
            Fapi2Rule::Tls => "§5.2.1",
        }
    }

    /// What the rule requires, in one sentence.
    ///
    /// ```
    /// assert!(grantline::error::Fapi2Rule::PkceS256.requirement().contains("S256"));
    /// ```
    #[must_use]
    pub const fn requirement(self) -> &'static str {
        match self {
            Fapi2Rule::PushedAuthorizationRequests => {
                "authorization requests must be pushed (RFC 9126): use into_pushed"
            }
            Fapi2Rule::PkceS256 => "every authorization request must use PKCE with S256",
            Fapi2Rule::SenderConstrainedTokens => {
                "access tokens must be sender-constrained by DPoP or mutual TLS, and a Bearer token is refused"
            }
            Fapi2Rule::ClientAuthentication => {
                "the client must authenticate with private_key_jwt, tls_client_auth or self_signed_tls_client_auth"
            }
            Fapi2Rule::AssertionAudience => {
                "a client assertion's `aud` must be the issuer identifier"
            }
            Fapi2Rule::SigningAlgorithm => "JWS algorithms must be PS256, ES256 or EdDSA",
            Fapi2Rule::IssParameter => {
                "the authorization response's `iss` must be checked: the client must know its issuer"
            }
            Fapi2Rule::Lifetime => "a request_uri must expire in less than 600 seconds",
            Fapi2Rule::Tls => "endpoints must be reached over TLS: insecure_http is refused",
            Fapi2Rule::ServerMetadata => {
                "the server's metadata must offer a pushed authorization request endpoint, S256 and the iss response parameter"
            }
        }
    }
}

impl From<ValidationError> for Error {
    fn from(e: ValidationError) -> Self {
        Error::Validation(e)
    }
}

/// What expired before a polling flow finished.
///
/// ```
/// let e = grantline::error::Expired::DeviceCode;
/// assert!(e.to_string().contains("device code"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expired {
    /// The device code (RFC 8628 §3.2 `expires_in`).
    DeviceCode,
    /// The backchannel authentication request (CIBA §7.3 `expires_in`).
    BackchannelRequest,
}

impl fmt::Display for Expired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expired::DeviceCode => {
                "the device code expired before the user approved the request: start a new device authorization"
            }
            Expired::BackchannelRequest => {
                "the backchannel authentication request expired before the user approved it: send a new one"
            }
        })
    }
}

impl From<Expired> for Error {
    fn from(e: Expired) -> Self {
        Error::Expired(e)
    }
}

/// The operating system's random source failed.
///
/// ```
/// # use grantline::error::RandomnessError;
/// let e = RandomnessError::new("entropy source unavailable");
/// assert!(e.to_string().contains("random"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RandomnessError {
    detail: String,
}

impl RandomnessError {
    /// A failure of the random source, described by `detail`.
    ///
    /// ```
    /// let _ = grantline::error::RandomnessError::new("no entropy");
    /// ```
    #[must_use]
    pub fn new(detail: impl Into<String>) -> Self {
        Self {
            detail: detail.into(),
        }
    }
}

impl fmt::Display for RandomnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the random number source failed: {}",
            Escaped(&self.detail, 200)
        )
    }
}

impl std::error::Error for RandomnessError {}

/// Names whose values are credentials, wherever they appear in a body.
const CREDENTIAL_FIELDS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "code",
    "code_verifier",
    "device_code",
    "auth_req_id",
    "password",
    "assertion",
    "client_assertion",
    "subject_token",
    "actor_token",
    "registration_access_token",
    "token",
    "software_statement",
    "login_hint_token",
    "id_token_hint",
    "nonce",
    "state",
];

/// Replaces the values of credential fields in a body excerpt, in JSON (`"name": "value"`) and
/// form (`name=value`) shapes, so an unexpected answer that carries a token does not put it in
/// an error.
pub(crate) fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for name in CREDENTIAL_FIELDS {
            // JSON: "name" : "value"
            if let Some(after) = rest
                .strip_prefix('"')
                .and_then(|r| r.strip_prefix(name))
                .and_then(|r| r.strip_prefix('"'))
            {
                let trimmed = after.trim_start();
                if let Some(value) = trimmed
                    .strip_prefix(':')
                    .map(str::trim_start)
                    .and_then(|v| v.strip_prefix('"'))
                {
                    out.push('"');
                    out.push_str(name);
                    out.push_str("\":\"[redacted]\"");
                    // Skip the string value, honouring escapes; an unterminated one ends the text.
                    let mut chars = value.char_indices();
                    let mut end = value.len();
                    while let Some((i, c)) = chars.next() {
                        match c {
                            '\\' => {
                                chars.next();
                            }
                            '"' => {
                                end = i + 1;
                                break;
                            }
                            _ => {}
                        }
                    }
                    rest = value.get(end..).unwrap_or_default();
                    continue 'scan;
                }
            }
            // Form: name=value at the start or after & (the previous character is checked below).
            if let Some(value) = rest.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
                let at_boundary = out.is_empty() || out.ends_with('&') || out.ends_with('?');
                if at_boundary {
                    out.push_str(name);
                    out.push_str("=[redacted]");
                    let end = value.find('&').unwrap_or(value.len());
                    rest = value.get(end..).unwrap_or_default();
                    continue 'scan;
                }
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

/// Displays untrusted text with control characters escaped, cut at `max` characters.
pub(crate) struct Escaped<'a>(pub(crate) &'a str, pub(crate) usize);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.0.chars().enumerate() {
            if i == self.1 {
                return f.write_str("…");
            }
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' || c == '\u{202e}' {
                write!(f, "{}", c.escape_unicode())?;
            } else {
                fmt::Write::write_char(f, c)?;
            }
        }
        Ok(())
    }
}

/// `text` cut to at most `max` bytes on a character boundary.
pub(crate) fn bounded(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_a_server_echoes_in_an_error_stay_out_of_debug() {
        let body = br#"{"error":"invalid_grant","code":"code-sentinel",
            "nested":{"refresh_token":"rt-sentinel","deeper":[{"access_token":"at-sentinel"}]},
            "client_assertion":"assertion-sentinel","hint":"kept"}"#;
        let oauth =
            OAuthError::from_body(StatusCode::BAD_REQUEST, Some("application/json"), body).unwrap();
        let error = Error::OAuth(Box::new(oauth.clone()));
        // The data stays there for the caller.
        assert_eq!(oauth.extra["code"], "code-sentinel");
        for shown in [
            format!("{error:?}"),
            format!("{oauth:?}"),
            error.to_string(),
        ] {
            for secret in [
                "code-sentinel",
                "rt-sentinel",
                "at-sentinel",
                "assertion-sentinel",
            ] {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
        }
        assert!(format!("{oauth:?}").contains("kept"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        /// The headers kept are the first of each name, among repeated names, other names
        /// and many headers.
        #[test]
        fn the_first_value_of_each_header_is_kept(
            headers in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "www-authenticate", "dpop-nonce", "retry-after", "content-type",
                        "content-length",
                        "dpop", "x-a", "x-b", "x-c", "x-d", "x-e", "x-f", "x-g", "x-h", "x-i",
                        "x-j", "x-k", "x-l", "x-m", "x-n", "x-o", "x-p",
                    ]),
                    proptest::sample::select(vec!["1", "2", "Bearer", "n-1", "\u{e9}"]),
                ),
                0..30,
            ),
        ) {
            let mut map = HeaderMap::new();
            for (name, value) in &headers {
                let value = http::HeaderValue::from_bytes(value.as_bytes()).unwrap();
                map.append(HeaderName::from_static(name), value);
            }
            let kept = ResponseHeaders::from_headers(&map);
            let first = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
            proptest::prop_assert_eq!(kept.www_authenticate.as_deref(), first("www-authenticate").filter(|v| v.is_ascii()));
            proptest::prop_assert_eq!(kept.dpop_nonce.as_deref(), first("dpop-nonce").filter(|v| v.is_ascii()));
        }
    }

    #[test]
    fn every_known_code_round_trips() {
        for (name, code) in ERROR_CODES {
            assert_eq!(ErrorCode::from(*name), *code);
            assert_eq!(code.as_str(), *name);
        }
        assert_eq!(
            ErrorCode::from("custom"),
            ErrorCode::Other("custom".to_owned())
        );
    }

    #[test]
    fn escaped_neutralises_injected_text() {
        let shown = Escaped("bad\r\nSet-Cookie: x\u{1b}[31m", 200).to_string();
        assert!(!shown.contains('\n'));
        assert!(!shown.contains('\r'));
        assert!(!shown.contains('\u{1b}'));
        assert_eq!(Escaped("abcdef", 3).to_string(), "abc…");
    }

    #[test]
    fn bounded_respects_char_boundaries() {
        assert_eq!(bounded("ééé", 3), "é");
        assert_eq!(bounded("abc", 10), "abc");
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(
            RetryAfter::parse(" 5 "),
            Some(RetryAfter::Delay(Duration::from_secs(5)))
        );
        assert_eq!(
            RetryAfter::parse("99999999999999999999999"),
            Some(RetryAfter::Delay(Duration::from_secs(u64::MAX)))
        );
        assert_eq!(
            RetryAfter::parse("Thu, 01 Jan 1970 00:00:10 GMT"),
            Some(RetryAfter::At(
                SystemTime::UNIX_EPOCH + Duration::from_secs(10)
            ))
        );
        assert_eq!(
            RetryAfter::parse("Wed, 29 Feb 2024 12:00:00 GMT"),
            Some(RetryAfter::At(
                SystemTime::UNIX_EPOCH + Duration::from_secs(1_709_208_000)
            ))
        );
        for bad in [
            "",
            "1.5",
            "Thu, 01 Foo 1970 00:00:10 GMT",
            "tomorrow",
            "Thu, 01 Jan 1970 25:00:00 GMT",
        ] {
            assert_eq!(RetryAfter::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn excerpts_never_carry_credentials() {
        let cases = [
            (
                r#"[{"access_token":"AT-1","x":1}]"#,
                r#"[{"access_token":"[redacted]","x":1}]"#,
            ),
            (
                r#"{"refresh_token" : "R\"T", "ok":true}"#,
                r#"{"refresh_token":"[redacted]", "ok":true}"#,
            ),
            (
                "access_token=AT-2&scope=a",
                "access_token=[redacted]&scope=a",
            ),
            (
                "x=1&client_secret=S&code=C",
                "x=1&client_secret=[redacted]&code=[redacted]",
            ),
            ("barcode=123", "barcode=123"),
            (
                r#"{"access_token":"unterminated"#,
                r#"{"access_token":"[redacted]""#,
            ),
            ("plain <html> text", "plain <html> text"),
        ];
        for (input, expected) in cases {
            assert_eq!(redact(input), expected, "{input}");
        }
        let response = http::Response::builder()
            .status(200)
            .body(br#"["access_token", {"access_token":"SECRET-TOKEN"}]"#.to_vec())
            .unwrap();
        let e = UnexpectedResponse::from_response(&response, "the body is JSON but not an object");
        assert!(!format!("{e:?}").contains("SECRET-TOKEN"));
    }

    #[test]
    fn unexpected_response_keeps_a_bounded_excerpt() {
        let body = vec![b'x'; 10_000];
        let response = http::Response::builder().status(502).body(body).unwrap();
        let e = UnexpectedResponse::from_response(&response, "the body is not JSON");
        assert_eq!(e.excerpt.len(), UnexpectedResponse::EXCERPT_LEN);
        assert_eq!(e.body_len, 10_000);
        assert!(!e.to_string().contains("xxxx"));
    }
}
