//! The transport's errors: [`Error`] for [`Transport::run`](crate::Transport::run), and
//! [`TransportError`] for a request that got no usable answer.

use std::fmt;

/// Everything [`Transport::run`](crate::Transport::run) can fail with: the flow's own error, or
/// the transport's.
///
/// Match on the variant to tell *whose* problem it is: [`Error::Flow`] is what the server said
/// (or a configuration mistake found before anything was sent), [`Error::Transport`] is a
/// request that got no answer grantline could read.
///
/// `Display` shows the inner error's message and [`source`](std::error::Error::source) continues
/// with the inner error's own source (for a transport error, the `reqwest::Error`), so a printed
/// chain says everything once.
///
/// ```
/// use grantline_reqwest::{Error, TransportErrorKind, grantline};
///
/// fn advice(error: &Error) -> &'static str {
///     match error {
///         Error::Flow(e) if e.oauth_code() == Some(&grantline::error::ErrorCode::InvalidClient) => {
///             "check the client credentials"
///         }
///         Error::Flow(_) => "the server refused or answered something unexpected",
///         Error::Transport(e) if e.kind() == TransportErrorKind::Timeout => "retry later",
///         Error::Transport(_) => "check the network and the endpoint",
///         _ => "something else went wrong",
///     }
/// }
/// # let _ = advice;
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The flow failed: an OAuth error from the server, an answer that is not OAuth, a response
    /// that breaks the specification, or a configuration mistake.
    Flow(grantline::Error),
    /// The request got no usable answer, and the flow gave up.
    Transport(TransportError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A transparent wrapper: the inner error's message, and its source as ours.
        match self {
            Error::Flow(e) => e.fmt(f),
            Error::Transport(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Flow(e) => e.source(),
            Error::Transport(e) => e.source(),
        }
    }
}

impl From<grantline::Error> for Error {
    fn from(e: grantline::Error) -> Self {
        Error::Flow(e)
    }
}

impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        Error::Transport(e)
    }
}

/// What kind of transport failure happened.
///
/// ```
/// use grantline_reqwest::TransportErrorKind;
///
/// let kind = TransportErrorKind::BodyTooLarge { limit: 1024 };
/// assert!(matches!(kind, TransportErrorKind::BodyTooLarge { limit: 1024 }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// No connection could be made: refused, unreachable host, DNS failure, or a TLS handshake
    /// that failed (an untrusted certificate, for example).
    Connect,
    /// A timeout set on the `reqwest::ClientBuilder` (total, connect or read) ran out.
    Timeout,
    /// The response body is larger than the transport's
    /// [`body_limit`](crate::Transport::body_limit).
    BodyTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The response came from another URL than the one requested: the `reqwest::Client` given
    /// to [`Transport::from_client`](crate::Transport::from_client) follows redirects.
    Redirected,
    /// The request could not be turned into a `reqwest` request (an unusable URL or scheme).
    InvalidRequest,
    /// Reading the response body failed (the connection broke, or the body was malformed).
    Body,
    /// The `reqwest::Client` could not be built (TLS backend or builder settings).
    Builder,
    /// Any other failure of the request; the [`source`](std::error::Error::source) says more.
    Other,
}

/// A request that got no usable answer, with the `reqwest` error that caused it (if any).
///
/// Its `Display` says what happened and what to do, and never shows a URL, a header or a body:
/// they may hold secrets. The kept `reqwest::Error` has its URL removed
/// ([`reqwest::Error::without_url`]) for the same reason.
///
/// ```
/// use grantline_reqwest::{Transport, TransportErrorKind};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let transport = Transport::new()?;
/// // reqwest sends only http and https: this fails before anything is sent.
/// let request = http::Request::builder().uri("ftp://files.example/token").body(Vec::new())?;
/// let error = transport.execute(request).await.unwrap_err();
/// assert_eq!(error.kind(), TransportErrorKind::InvalidRequest);
/// assert!(!error.is_timeout());
/// assert!(!error.to_string().contains("files.example"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TransportError {
    kind: TransportErrorKind,
    source: Option<reqwest::Error>,
}

impl TransportError {
    pub(crate) fn new(kind: TransportErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// Classifies an error from `reqwest` while a request was sent or its response read.
    pub(crate) fn from_request(error: reqwest::Error) -> Self {
        let kind = if error.is_timeout() {
            TransportErrorKind::Timeout
        } else if error.is_builder() {
            TransportErrorKind::InvalidRequest
        } else if error.is_connect() {
            TransportErrorKind::Connect
        } else if error.is_redirect() {
            TransportErrorKind::Redirected
        } else if error.is_body() || error.is_decode() {
            TransportErrorKind::Body
        } else {
            TransportErrorKind::Other
        };
        Self::with_source(kind, error)
    }

    /// An error from building the `reqwest::Client`.
    pub(crate) fn from_builder(error: reqwest::Error) -> Self {
        Self::with_source(TransportErrorKind::Builder, error)
    }

    fn with_source(kind: TransportErrorKind, error: reqwest::Error) -> Self {
        Self {
            kind,
            // The URL may carry secrets in its query: never keep it.
            source: Some(error.without_url()),
        }
    }

    /// What kind of failure this is.
    ///
    /// ```
    /// use grantline_reqwest::{Error, TransportErrorKind};
    ///
    /// fn should_retry(error: &Error) -> bool {
    ///     matches!(error, Error::Transport(e)
    ///         if matches!(e.kind(), TransportErrorKind::Connect | TransportErrorKind::Timeout))
    /// }
    /// # let _ = should_retry;
    /// ```
    #[must_use]
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// Whether a timeout ran out (the same as `kind() == TransportErrorKind::Timeout`).
    ///
    /// ```
    /// fn log_level(error: &grantline_reqwest::TransportError) -> &'static str {
    ///     if error.is_timeout() { "warn" } else { "error" }
    /// }
    /// # let _ = log_level;
    /// ```
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        self.kind == TransportErrorKind::Timeout
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TransportErrorKind::Connect => f.write_str(
                "could not connect to the server: check the endpoint's host and port, the network, \
                 proxy settings and TLS certificates",
            ),
            TransportErrorKind::Timeout => f.write_str(
                "the request timed out: the server is slow or unreachable; retry later, or raise \
                 the timeout set on the reqwest ClientBuilder",
            ),
            TransportErrorKind::BodyTooLarge { limit } => write!(
                f,
                "the response body is larger than the limit of {limit} bytes: check that the \
                 endpoint is right, or raise the limit with Transport::body_limit"
            ),
            TransportErrorKind::Redirected => f.write_str(
                "the server redirected the request and the reqwest client followed the redirect: \
                 build the client with redirect::Policy::none() (Transport::new and \
                 Transport::from_builder do), and point the client at the final endpoint",
            ),
            TransportErrorKind::InvalidRequest => f.write_str(
                "the request could not be sent with reqwest (its URL or scheme is not usable): \
                 check the endpoint URL",
            ),
            TransportErrorKind::Body => f.write_str(
                "reading the response body failed (the connection broke or the body was \
                 malformed): retry the request",
            ),
            TransportErrorKind::Builder => f.write_str(
                "the reqwest client could not be built: check the ClientBuilder settings and the \
                 TLS backend",
            ),
            TransportErrorKind::Other => {
                f.write_str("the request failed in transit: see the source error for details")
            }
        }
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
