//! The errors every driver reports, defined once: what went wrong is data, whichever HTTP stack
//! ran the exchange.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, StatusCode};

use crate::error::ErrorCode;

/// A boxed error from the HTTP stack (or a JSON codec), kept as the `source` of a driver error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why running a flow failed: the protocol said no, the network did, or the run was cancelled.
///
/// Every driver returns this type (`grantline_ureq::Error`, `grantline_reqwest::Error` and
/// `grantline_tower::Error` are this type), so an application matches one set of variants
/// whichever transport it uses. The shortcuts [`oauth_code`](Self::oauth_code),
/// [`status`](Self::status), [`is_timeout`](Self::is_timeout) and
/// [`is_network`](Self::is_network) answer the usual questions one level deep.
///
/// ```
/// use grantline::driver::{RunError, TransportError, TransportErrorKind};
///
/// let error = RunError::Transport(TransportError::new(TransportErrorKind::Timeout));
/// assert!(error.is_timeout() && error.is_network());
/// assert!(error.oauth_code().is_none());
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum RunError {
    /// The protocol failed: the server's OAuth error, an answer that is not one, a failed
    /// validation, a configuration mistake.
    Flow(crate::Error),
    /// The HTTP exchange failed: no connection, a timeout, a body over the limit.
    Transport(TransportError),
    /// The run was cancelled before it finished.
    Cancelled,
    /// Another caller's token renewal did not finish within the bound this caller waits for it
    /// ([`Authorizer::renewal_bound`](crate::authorizer::Authorizer::renewal_bound)).
    RenewalTimedOut {
        /// How long the renewal had been running.
        after: Duration,
    },
}

impl RunError {
    /// The OAuth error code the server sent, if the run failed on one.
    ///
    /// ```
    /// # use grantline::{driver::RunError, error::ErrorCode};
    /// fn is_bad_credentials(e: &RunError) -> bool {
    ///     e.oauth_code() == Some(&ErrorCode::InvalidClient)
    /// }
    /// # assert!(!is_bad_credentials(&RunError::Cancelled));
    /// ```
    #[must_use]
    pub fn oauth_code(&self) -> Option<&ErrorCode> {
        match self {
            RunError::Flow(e) => e.oauth_code(),
            _ => None,
        }
    }

    /// The HTTP status of the server's answer, if the run failed on one.
    ///
    /// ```
    /// assert!(grantline::driver::RunError::Cancelled.status().is_none());
    /// ```
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            RunError::Flow(e) => e.status(),
            _ => None,
        }
    }

    /// Whether a timeout ran out: the HTTP stack's, or the bound on waiting for a renewal.
    ///
    /// ```
    /// use std::time::Duration;
    /// let e = grantline::driver::RunError::RenewalTimedOut { after: Duration::from_secs(60) };
    /// assert!(e.is_timeout());
    /// ```
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        match self {
            RunError::Transport(e) => e.is_timeout(),
            RunError::RenewalTimedOut { .. } => true,
            _ => false,
        }
    }

    /// Whether the network failed (no answer at all, as opposed to an answer that said no):
    /// worth retrying later.
    ///
    /// ```
    /// assert!(!grantline::driver::RunError::Cancelled.is_network());
    /// ```
    #[must_use]
    pub fn is_network(&self) -> bool {
        match self {
            RunError::Transport(e) => e.is_network(),
            RunError::RenewalTimedOut { .. } => true,
            _ => false,
        }
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Flow(e) => e.fmt(f),
            RunError::Transport(e) => e.fmt(f),
            RunError::Cancelled => {
                f.write_str("the OAuth exchange was cancelled before it finished")
            }
            RunError::RenewalTimedOut { after } => write!(
                f,
                "gave up waiting for the token renewal another request started {}s ago: the \
                 authorization server is slow or does not answer; retry later",
                after.as_secs()
            ),
        }
    }
}

impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunError::Flow(e) => Some(e),
            RunError::Transport(e) => Some(e),
            RunError::Cancelled | RunError::RenewalTimedOut { .. } => None,
        }
    }
}

impl From<crate::Error> for RunError {
    fn from(e: crate::Error) -> Self {
        RunError::Flow(e)
    }
}

impl From<TransportError> for RunError {
    fn from(e: TransportError) -> Self {
        RunError::Transport(e)
    }
}

/// What kind of HTTP failure a [`TransportError`] is. The same failure gets the same kind on
/// every driver (a certificate the client does not trust is `Tls` on all of them).
///
/// ```
/// use grantline::driver::TransportErrorKind;
/// let kind = TransportErrorKind::BodyTooLarge { limit: 1024 };
/// assert!(matches!(kind, TransportErrorKind::BodyTooLarge { limit: 1024 }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// No connection could be made: refused, unreachable host, DNS failure.
    Connect,
    /// A timeout ran out (connect, or the whole request).
    Timeout,
    /// The TLS handshake failed: an untrusted or invalid certificate, or no TLS on the other
    /// side.
    Tls,
    /// The response body is larger than the driver's limit.
    BodyTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The HTTP stack followed a redirect: its client must be configured to follow none.
    Redirected,
    /// The request could not be sent as it is (an unusable URL, scheme or header).
    InvalidRequest,
    /// The connection broke while the request was sent or its answer read.
    Io,
    /// The HTTP client could not be built (TLS backend, settings).
    Builder,
    /// Any other failure; the [`source`](std::error::Error::source) says more.
    Other,
}

/// A request that got no usable answer: its [`kind`](Self::kind), and the HTTP stack's own
/// error as its [`source`](std::error::Error::source).
///
/// Its `Display` says what happened and what to do, and never shows a URL, a header or a body:
/// they may hold secrets. Drivers remove the URL from the errors they keep as the source.
///
/// ```
/// use grantline::driver::{TransportError, TransportErrorKind};
/// let e = TransportError::new(TransportErrorKind::Connect);
/// assert!(e.is_network() && !e.is_timeout());
/// assert!(e.to_string().contains("connect"));
/// ```
#[derive(Debug)]
pub struct TransportError {
    kind: TransportErrorKind,
    source: Option<BoxError>,
}

impl TransportError {
    /// An error of `kind` with no source.
    ///
    /// ```
    /// # use grantline::driver::{TransportError, TransportErrorKind};
    /// assert_eq!(TransportError::new(TransportErrorKind::Io).kind(), TransportErrorKind::Io);
    /// ```
    #[must_use]
    pub fn new(kind: TransportErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// An error of `kind` caused by `source` (the HTTP stack's error, without its URL).
    ///
    /// ```
    /// # use grantline::driver::{TransportError, TransportErrorKind};
    /// let io = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
    /// let e = TransportError::with_source(TransportErrorKind::Io, io);
    /// assert!(std::error::Error::source(&e).is_some());
    /// ```
    #[must_use]
    pub fn with_source(kind: TransportErrorKind, source: impl Into<BoxError>) -> Self {
        Self {
            kind,
            source: Some(source.into()),
        }
    }

    /// An HTTP stack's error, classified by the first [`std::io::Error`] in its chain of sources:
    /// `TimedOut` is [`Timeout`](TransportErrorKind::Timeout), `ConnectionRefused` is
    /// [`Connect`](TransportErrorKind::Connect), any other I/O error is
    /// [`Io`](TransportErrorKind::Io), and an error with none is
    /// [`Other`](TransportErrorKind::Other). For a driver on a stack without its own error kinds
    /// (a tower service, hyper); a driver whose stack says more (ureq, reqwest) classifies itself.
    ///
    /// ```
    /// # use grantline::driver::{TransportError, TransportErrorKind};
    /// let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
    /// assert_eq!(TransportError::from_io_chain(refused).kind(), TransportErrorKind::Connect);
    /// assert_eq!(TransportError::from_io_chain("no I/O here").kind(), TransportErrorKind::Other);
    /// ```
    #[must_use]
    pub fn from_io_chain(error: impl Into<BoxError>) -> Self {
        use std::io::ErrorKind;
        let error = error.into();
        let mut chain =
            std::iter::successors(Some(&*error as &(dyn std::error::Error + 'static)), |e| {
                e.source()
            });
        let kind = match chain.find_map(|e| e.downcast_ref::<std::io::Error>().map(|e| e.kind())) {
            Some(ErrorKind::TimedOut) => TransportErrorKind::Timeout,
            Some(ErrorKind::ConnectionRefused) => TransportErrorKind::Connect,
            Some(_) => TransportErrorKind::Io,
            None => TransportErrorKind::Other,
        };
        Self::with_source(kind, error)
    }

    /// What kind of failure this is.
    ///
    /// ```
    /// # use grantline::driver::{TransportError, TransportErrorKind};
    /// assert_eq!(TransportError::new(TransportErrorKind::Tls).kind(), TransportErrorKind::Tls);
    /// ```
    #[must_use]
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// Whether a timeout ran out.
    ///
    /// ```
    /// # use grantline::driver::{TransportError, TransportErrorKind};
    /// assert!(TransportError::new(TransportErrorKind::Timeout).is_timeout());
    /// ```
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        self.kind == TransportErrorKind::Timeout
    }

    /// Whether the network failed in a way a later retry may not see (connect, timeout, TLS, a
    /// broken connection), as opposed to a request or a client that can never work.
    ///
    /// ```
    /// # use grantline::driver::{TransportError, TransportErrorKind};
    /// assert!(!TransportError::new(TransportErrorKind::InvalidRequest).is_network());
    /// ```
    #[must_use]
    pub fn is_network(&self) -> bool {
        matches!(
            self.kind,
            TransportErrorKind::Connect
                | TransportErrorKind::Timeout
                | TransportErrorKind::Tls
                | TransportErrorKind::Io
        )
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TransportErrorKind::Connect => f.write_str(
                "could not connect to the server: check the URL's host and port, DNS, and any \
                 proxy in between",
            ),
            TransportErrorKind::Timeout => f.write_str(
                "the request timed out: the server is slow or unreachable; retry later, or raise \
                 the timeout if the server is known to be slow",
            ),
            TransportErrorKind::Tls => f.write_str(
                "the TLS handshake failed: check that the URL speaks https and that the \
                 server's certificate is trusted",
            ),
            TransportErrorKind::BodyTooLarge { limit } => write!(
                f,
                "the response body is larger than the limit of {limit} bytes: check the URL, or \
                 raise the limit (body_limit) if the answer is genuine",
            ),
            TransportErrorKind::Redirected => f.write_str(
                "the HTTP client followed a redirect: build it to follow none, and point it at \
                 the final URL",
            ),
            TransportErrorKind::InvalidRequest => f.write_str(
                "the request could not be sent: its URL, scheme or a header is not usable",
            ),
            TransportErrorKind::Io => f.write_str(
                "the connection broke while talking to the server: retry, and check the network \
                 if it persists",
            ),
            TransportErrorKind::Builder => f.write_str(
                "the HTTP client could not be built: check its settings and TLS backend",
            ),
            TransportErrorKind::Other => {
                f.write_str("the HTTP exchange failed: see the source error for details")
            }
        }
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| &**e as &(dyn std::error::Error + 'static))
    }
}

/// Why no token could be had for a request: the renewal's [`RunError`], shared (cheaply
/// cloned) by every caller that waited for that renewal.
///
/// `Display` and [`source`](std::error::Error::source) are the inner error's.
///
/// ```
/// use grantline::driver::{AuthError, RunError};
/// let e = AuthError::new(RunError::Cancelled);
/// assert!(matches!(e.error(), RunError::Cancelled));
/// assert!(!e.is_timeout());
/// ```
#[derive(Clone)]
pub struct AuthError(Arc<RunError>);

impl AuthError {
    /// Wraps `error` to be shared.
    ///
    /// ```
    /// let _ = grantline::driver::AuthError::new(grantline::driver::RunError::Cancelled);
    /// ```
    #[must_use]
    pub fn new(error: RunError) -> Self {
        Self(Arc::new(error))
    }

    /// The renewal's error.
    ///
    /// ```
    /// # use grantline::driver::{AuthError, RunError};
    /// let e = AuthError::new(RunError::Cancelled);
    /// if let RunError::Flow(flow) = e.error() { eprintln!("{flow}") }
    /// ```
    #[must_use]
    pub fn error(&self) -> &RunError {
        &self.0
    }

    /// See [`RunError::oauth_code`].
    ///
    /// ```
    /// # use grantline::driver::{AuthError, RunError};
    /// assert!(AuthError::new(RunError::Cancelled).oauth_code().is_none());
    /// ```
    #[must_use]
    pub fn oauth_code(&self) -> Option<&ErrorCode> {
        self.0.oauth_code()
    }

    /// See [`RunError::status`].
    ///
    /// ```
    /// # use grantline::driver::{AuthError, RunError};
    /// assert!(AuthError::new(RunError::Cancelled).status().is_none());
    /// ```
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        self.0.status()
    }

    /// See [`RunError::is_timeout`].
    ///
    /// ```
    /// # use grantline::driver::{AuthError, RunError};
    /// assert!(!AuthError::new(RunError::Cancelled).is_timeout());
    /// ```
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        self.0.is_timeout()
    }

    /// See [`RunError::is_network`].
    ///
    /// ```
    /// # use grantline::driver::{AuthError, RunError};
    /// assert!(!AuthError::new(RunError::Cancelled).is_network());
    /// ```
    #[must_use]
    pub fn is_network(&self) -> bool {
        self.0.is_network()
    }
}

impl From<RunError> for AuthError {
    fn from(e: RunError) -> Self {
        Self::new(e)
    }
}

impl From<crate::Error> for AuthError {
    fn from(e: crate::Error) -> Self {
        Self::new(RunError::Flow(e))
    }
}

impl fmt::Debug for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AuthError").field(&self.0).finish()
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for AuthError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// An API answered with an error status (4xx or 5xx): the status, the headers and the start of
/// the body, for the caller to look at.
///
/// `Display` names the status only; the body and headers are for the caller, never printed (an
/// API's error body may echo secrets). The body is kept up to [`StatusError::BODY_LIMIT`] bytes.
///
/// ```
/// use grantline::driver::StatusError;
/// let e = StatusError::new(http::StatusCode::FORBIDDEN, http::HeaderMap::new(), b"no".to_vec());
/// assert_eq!(e.status(), 403);
/// assert_eq!(e.body(), b"no");
/// assert!(!e.to_string().contains("no\""));
/// ```
pub struct StatusError(Box<StatusParts>);

struct StatusParts {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl StatusError {
    /// How much of an error body is kept: 64 KiB.
    pub const BODY_LIMIT: usize = 64 * 1024;

    /// An error status with its headers and body (cut to [`BODY_LIMIT`](Self::BODY_LIMIT)).
    ///
    /// ```
    /// # use grantline::driver::StatusError;
    /// let e = StatusError::new(http::StatusCode::BAD_GATEWAY, http::HeaderMap::new(), vec![]);
    /// assert!(e.status().is_server_error());
    /// ```
    #[must_use]
    pub fn new(status: StatusCode, headers: HeaderMap, mut body: Vec<u8>) -> Self {
        body.truncate(Self::BODY_LIMIT);
        Self(Box::new(StatusParts {
            status,
            headers,
            body,
        }))
    }

    /// The status the API answered with.
    ///
    /// ```
    /// # use grantline::driver::StatusError;
    /// let e = StatusError::new(http::StatusCode::NOT_FOUND, http::HeaderMap::new(), vec![]);
    /// assert_eq!(e.status(), 404);
    /// ```
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The answer's headers (a `WWW-Authenticate` challenge, a `Retry-After`...).
    ///
    /// ```
    /// # use grantline::driver::StatusError;
    /// let e = StatusError::new(http::StatusCode::NOT_FOUND, http::HeaderMap::new(), vec![]);
    /// assert!(e.headers().is_empty());
    /// ```
    #[must_use]
    pub fn headers(&self) -> &HeaderMap {
        &self.0.headers
    }

    /// The start of the answer's body (at most [`BODY_LIMIT`](Self::BODY_LIMIT) bytes).
    ///
    /// ```
    /// # use grantline::driver::StatusError;
    /// let e = StatusError::new(http::StatusCode::NOT_FOUND, http::HeaderMap::new(), b"gone".to_vec());
    /// assert_eq!(e.body(), b"gone");
    /// ```
    #[must_use]
    pub fn body(&self) -> &[u8] {
        &self.0.body
    }
}

impl fmt::Debug for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusError")
            .field("status", &self.0.status)
            .field("body_len", &self.0.body.len())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the API answered with status {}", self.0.status)
    }
}

impl std::error::Error for StatusError {}

/// Everything a request of an API client can fail with, the same on every driver.
///
/// ```
/// use grantline::driver::ApiError;
///
/// fn advice(e: &ApiError) -> &'static str {
///     match e {
///         ApiError::Path(_) => "fix the path: it leaves the API",
///         ApiError::Auth(_) => "no token: check the client's credentials and the authorization server",
///         ApiError::Status(s) if s.status() == 403 => "the token lacks a scope",
///         ApiError::Status(_) => "the API said no",
///         ApiError::Transport(_) => "the API did not answer",
///         _ => "the request or its body",
///     }
/// }
/// # let _ = advice;
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ApiError {
    /// The path or base URL was refused (it could leave the API's base URL), or the token may
    /// not be sent to it (plain `http` to a host that is not a loopback one). Nothing was sent.
    Path(crate::Error),
    /// No token could be had: the renewal failed.
    Auth(AuthError),
    /// The request got no answer (connection, TLS, timeout), or its body was over the limit.
    Transport(TransportError),
    /// The API answered with a 4xx or 5xx status.
    Status(StatusError),
    /// A header name or value given to the request is invalid.
    InvalidHeader,
    /// The request body could not be encoded (a value that does not serialize to JSON).
    Request(BoxError),
    /// The response body could not be decoded as the JSON expected.
    Body(BoxError),
}

impl ApiError {
    /// The OAuth error code behind the failure, if the token renewal failed on one.
    ///
    /// ```
    /// # use grantline::driver::ApiError;
    /// assert!(ApiError::InvalidHeader.oauth_code().is_none());
    /// ```
    #[must_use]
    pub fn oauth_code(&self) -> Option<&ErrorCode> {
        match self {
            ApiError::Auth(e) => e.oauth_code(),
            ApiError::Path(e) => e.oauth_code(),
            _ => None,
        }
    }

    /// The HTTP status: the API's error status, or the authorization server's when the renewal
    /// failed on one.
    ///
    /// ```
    /// # use grantline::driver::{ApiError, StatusError};
    /// let e = ApiError::Status(StatusError::new(http::StatusCode::FORBIDDEN, Default::default(), vec![]));
    /// assert_eq!(e.status(), Some(http::StatusCode::FORBIDDEN));
    /// ```
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ApiError::Status(e) => Some(e.status()),
            ApiError::Auth(e) => e.status(),
            _ => None,
        }
    }

    /// Whether a timeout ran out (the API's request, or the token renewal).
    ///
    /// ```
    /// # use grantline::driver::{ApiError, TransportError, TransportErrorKind};
    /// assert!(ApiError::Transport(TransportError::new(TransportErrorKind::Timeout)).is_timeout());
    /// ```
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        match self {
            ApiError::Transport(e) => e.is_timeout(),
            ApiError::Auth(e) => e.is_timeout(),
            _ => false,
        }
    }

    /// Whether the network failed (the API's, or the authorization server's during renewal).
    ///
    /// ```
    /// # use grantline::driver::ApiError;
    /// assert!(!ApiError::InvalidHeader.is_network());
    /// ```
    #[must_use]
    pub fn is_network(&self) -> bool {
        match self {
            ApiError::Transport(e) => e.is_network(),
            ApiError::Auth(e) => e.is_network(),
            _ => false,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Path(e) => e.fmt(f),
            ApiError::Auth(e) => write!(f, "no access token: {e}"),
            ApiError::Transport(e) => e.fmt(f),
            ApiError::Status(e) => e.fmt(f),
            ApiError::InvalidHeader => f.write_str("a request header name or value is invalid"),
            ApiError::Request(_) => f.write_str("the request body could not be encoded"),
            ApiError::Body(_) => f.write_str("the response body could not be decoded"),
        }
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ApiError::Path(e) => Some(e),
            ApiError::Auth(e) => Some(e),
            ApiError::Transport(e) => Some(e),
            ApiError::Status(e) => Some(e),
            ApiError::InvalidHeader => None,
            ApiError::Request(e) | ApiError::Body(e) => Some(&**e),
        }
    }
}

impl From<AuthError> for ApiError {
    /// [`ApiError::Auth`], except a URL a token may not go to
    /// ([`ConfigError::InsecureResource`](crate::error::ConfigError::InsecureResource)), which is
    /// [`ApiError::Path`]: nothing was sent, and the fix is the URL.
    fn from(e: AuthError) -> Self {
        match e.error() {
            RunError::Flow(crate::Error::Config(
                insecure @ crate::error::ConfigError::InsecureResource { .. },
            )) => ApiError::Path(crate::Error::Config(insecure.clone())),
            _ => ApiError::Auth(e),
        }
    }
}

impl From<TransportError> for ApiError {
    fn from(e: TransportError) -> Self {
        ApiError::Transport(e)
    }
}
