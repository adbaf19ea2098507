//! The transport's errors: the flow's own, a request that got no answer, or a cancelled run.

use std::fmt;
use std::io;

/// Everything that can stop [`Transport::run`](crate::Transport::run).
///
/// Match the variant to learn whose problem it is. `Display` shows the inner error's message and
/// [`source`](std::error::Error::source) continues with the inner error's own source (for a
/// transport error, the `ureq::Error`), so a printed chain says everything once.
///
/// ```
/// use grantline_ureq::{Error, TransportErrorKind, grantline};
///
/// fn advice(error: &Error) -> &'static str {
///     match error {
///         Error::Flow(grantline::Error::OAuth(e))
///             if e.code == grantline::error::ErrorCode::InvalidClient => "check the client secret",
///         Error::Flow(_) => "the server refused or answered something unusable",
///         Error::Transport(e) if e.kind() == TransportErrorKind::Timeout => "retry later",
///         Error::Transport(_) => "check the network",
///         Error::Cancelled => "nothing to do: we asked for it",
///         _ => "unknown",
///     }
/// }
/// assert_eq!(advice(&Error::Cancelled), "nothing to do: we asked for it");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The flow failed: the server's OAuth error, an answer that is not OAuth, a configuration
    /// problem. Everything grantline itself reports.
    Flow(grantline::Error),
    /// A request got no answer (connection, TLS, timeout, a body over the limit), and the flow
    /// did not want to retry.
    Transport(TransportError),
    /// The run was cancelled through its [`Cancellation`](crate::Cancellation) before it finished.
    Cancelled,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A transparent wrapper: the inner error's message, and its source as ours.
        match self {
            Error::Flow(e) => e.fmt(f),
            Error::Transport(e) => e.fmt(f),
            Error::Cancelled => f.write_str("the OAuth exchange was cancelled before it finished"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Flow(e) => e.source(),
            Error::Transport(e) => e.source(),
            Error::Cancelled => None,
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

/// What kind of failure kept a request from getting an answer.
///
/// ```
/// use grantline_ureq::TransportErrorKind;
///
/// let kind = TransportErrorKind::BodyTooLarge { limit: 1024 };
/// assert!(matches!(kind, TransportErrorKind::BodyTooLarge { limit: 1024 }));
/// assert_ne!(kind, TransportErrorKind::Timeout);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// No connection could be made: the host was not found, it refused, or it was unreachable.
    Connect,
    /// One of the agent's timeouts fired.
    Timeout,
    /// The TLS handshake failed (certificate, protocol, or a server that does not speak TLS).
    Tls,
    /// The response body was longer than the transport's limit, in bytes.
    BodyTooLarge {
        /// The limit that was exceeded.
        limit: u64,
    },
    /// The request could not be sent as built: a URI ureq cannot use, an `http` endpoint on an
    /// agent with `https_only`, a malformed header.
    InvalidRequest,
    /// The connection failed while the request or response was under way.
    Io,
    /// Anything else: a response that is not valid HTTP, response headers over the agent's
    /// limit, a failure in a custom connector.
    Other,
}

/// A request that got no answer, with its kind and ureq's error as the source.
///
/// `Display` says what happened and what to do, and never shows a URL, a header or a body (they
/// may carry secrets). The source is ureq's own error, which may name the URI.
///
/// ```no_run
/// use grantline_ureq::{Transport, TransportErrorKind, http};
///
/// let request = http::Request::post("https://as.example/token").body(Vec::new())?;
/// match Transport::new().execute(request) {
///     Ok(response) => assert!(response.status().as_u16() >= 100),
///     Err(e) if e.is_timeout() => { /* try again later */ }
///     Err(e) if e.kind() == TransportErrorKind::Connect => { /* server down? */ }
///     Err(e) => return Err(e.into()),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct TransportError {
    kind: TransportErrorKind,
    source: Option<ureq::Error>,
}

impl TransportError {
    /// Classifies an error from sending a request and receiving the response head.
    pub(crate) fn from_send(error: ureq::Error) -> Self {
        Self {
            kind: kind_of(&error, false),
            source: Some(error),
        }
    }

    /// Classifies an error from reading the response body under a limit.
    pub(crate) fn from_body(error: ureq::Error) -> Self {
        Self {
            kind: kind_of(&error, true),
            source: Some(error),
        }
    }

    /// What kind of failure this was.
    ///
    /// ```no_run
    /// # use grantline_ureq::{Transport, TransportErrorKind, http};
    /// let request = http::Request::post("http://127.0.0.1:9/token").body(Vec::new())?;
    /// let error = Transport::new().execute(request).unwrap_err();
    /// assert_eq!(error.kind(), TransportErrorKind::Connect);
    /// # Ok::<(), http::Error>(())
    /// ```
    #[must_use]
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// Whether one of the agent's timeouts fired.
    ///
    /// ```no_run
    /// # use grantline_ureq::{Transport, http, ureq};
    /// # use std::time::Duration;
    /// let agent = ureq::Agent::config_builder()
    ///     .timeout_global(Some(Duration::from_millis(1)))
    ///     .build()
    ///     .new_agent();
    /// let request = http::Request::post("https://as.example/token").body(Vec::new())?;
    /// if let Err(e) = Transport::with_agent(agent).execute(request) {
    ///     assert!(e.is_timeout());
    /// }
    /// # Ok::<(), http::Error>(())
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
                "could not connect to the server: check the endpoint's host and port, DNS, \
                 and the agent's proxy",
            ),
            TransportErrorKind::Timeout => f.write_str(
                "the request timed out: the server is slow or unreachable; retry later, or raise \
                 the agent's timeouts",
            ),
            TransportErrorKind::Tls => f.write_str(
                "the TLS handshake failed: check that the endpoint speaks https and that the \
                 agent trusts the server's certificate",
            ),
            TransportErrorKind::BodyTooLarge { limit } => write!(
                f,
                "the response body is larger than the limit of {limit} bytes: check the endpoint, \
                 or raise the limit with `Transport::body_limit` if the answer is genuine",
            ),
            TransportErrorKind::InvalidRequest => f.write_str(
                "the request could not be sent: check the endpoint URL and the agent's \
                 configuration (https_only, proxy)",
            ),
            TransportErrorKind::Io => f.write_str(
                "the connection failed while talking to the server: retry, and check the network \
                 if it persists",
            ),
            TransportErrorKind::Other => f.write_str(
                "the HTTP exchange failed: the server's answer was not usable HTTP, or the agent \
                 failed; see the source error",
            ),
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

/// Maps ureq's error to a kind. `reading_body` tells an over-long response body
/// (`BodyExceedsLimit` from the capped reader) from a request body longer than its
/// `Content-Length` (the same ureq variant, raised while sending).
fn kind_of(error: &ureq::Error, reading_body: bool) -> TransportErrorKind {
    use TransportErrorKind as Kind;
    use ureq::Error as E;
    match error {
        E::BodyExceedsLimit(limit) if reading_body => Kind::BodyTooLarge { limit: *limit },
        E::Timeout(_) => Kind::Timeout,
        E::Io(e) => io_kind(e),
        E::HostNotFound | E::ConnectionFailed | E::ConnectProxyFailed(_) => Kind::Connect,
        E::Tls(_) | E::TlsRequired => Kind::Tls,
        #[cfg(any(feature = "rustls", feature = "native-tls"))]
        E::Pem(_) => Kind::Tls,
        #[cfg(feature = "rustls")]
        E::Rustls(_) => Kind::Tls,
        #[cfg(feature = "native-tls")]
        E::NativeTls(_) | E::Der(_) => Kind::Tls,
        E::Http(_)
        | E::BadUri(_)
        | E::RequireHttpsOnly(_)
        | E::InvalidProxyUrl
        | E::BodyExceedsLimit(_) => Kind::InvalidRequest,
        _ => Kind::Other,
    }
}

fn io_kind(error: &io::Error) -> TransportErrorKind {
    use TransportErrorKind as Kind;
    use io::ErrorKind as Io;
    match error.kind() {
        Io::TimedOut | Io::WouldBlock => Kind::Timeout,
        Io::ConnectionRefused
        | Io::AddrNotAvailable
        | Io::HostUnreachable
        | Io::NetworkUnreachable
        | Io::NetworkDown => Kind::Connect,
        _ if is_rustls_error(error) => Kind::Tls,
        _ => Kind::Io,
    }
}

/// ureq 3 hands a failed rustls handshake back as `Error::Io` around a `rustls::Error`.
#[cfg(feature = "rustls")]
fn is_rustls_error(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.is::<rustls::Error>())
}

#[cfg(not(feature = "rustls"))]
fn is_rustls_error(_error: &io::Error) -> bool {
    false
}
