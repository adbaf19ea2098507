//! The transport: one `execute` for a request, one `run` loop for a flow.

use std::sync::Arc;

use grantline::clock::{Clock, SystemClock};
use grantline::driver::{DEFAULT_BODY_LIMIT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, Run};
use grantline::{Flow, Progress, Step};

use crate::{Cancellation, Error, TransportError, TransportErrorKind};

/// The blocking transport: executes grantline's requests on a [`ureq::Agent`] and drives flows.
///
/// Cloning is cheap (the agent is shared, with its connection pool).
///
/// ```no_run
/// use grantline_ureq::Transport;
/// use grantline_ureq::grantline::{Client, token::TargetToken};
///
/// let client = Client::builder("resource-server")
///     .introspection_endpoint("https://as.example/introspect")
///     .client_secret_basic("s3cr3t")
///     .build()?;
/// let info = Transport::new().run(client.introspect(TargetToken::new("opaque"))?)?;
/// assert!(info.active());
/// # Ok::<(), grantline_ureq::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Transport {
    agent: ureq::Agent,
    body_limit: u64,
    clock: Arc<dyn Clock>,
}

impl Default for Transport {
    fn default() -> Self {
        Self::new()
    }
}

impl Transport {
    /// A transport on an agent with ureq's defaults (TLS with the webpki roots, a proxy from the
    /// environment) and the safe ones: a connect timeout of [`DEFAULT_CONNECT_TIMEOUT`] (10 s),
    /// an overall timeout of [`DEFAULT_TIMEOUT`] per request (30 s, from the connection to the
    /// end of the body), and at most [`DEFAULT_BODY_LIMIT`] bytes read per body.
    ///
    /// The agent is built following no redirect and turning no status into an error, which
    /// [`execute`](Self::execute) would otherwise set on every request.
    ///
    /// ```
    /// let transport = grantline_ureq::Transport::new();
    /// # let _ = transport;
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::with_agent(default_agent())
    }

    /// A transport on your own agent: its proxy, root certificates, timeouts and pool are used
    /// as configured.
    ///
    /// Two settings are overridden on every request, whatever the agent says: redirects are never
    /// followed, and no status code is turned into an error (see the
    /// [crate documentation](crate#guarantees)).
    ///
    /// ```
    /// use std::time::Duration;
    /// use grantline_ureq::{Transport, ureq};
    ///
    /// let agent = ureq::Agent::config_builder()
    ///     .timeout_global(Some(Duration::from_secs(10)))
    ///     .build()
    ///     .new_agent();
    /// let transport = Transport::with_agent(agent);
    /// # let _ = transport;
    /// ```
    #[must_use]
    pub fn with_agent(agent: ureq::Agent) -> Self {
        Self {
            agent,
            body_limit: DEFAULT_BODY_LIMIT,
            clock: Arc::new(SystemClock),
        }
    }

    /// The agent the transport sends with.
    ///
    /// ```
    /// let transport = grantline_ureq::Transport::new();
    /// let _agent: &grantline_ureq::ureq::Agent = transport.agent();
    /// ```
    #[must_use]
    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// The time on the transport's clock: what its flows are given as `now` (for a progress
    /// display that asks a flow for its status, say).
    ///
    /// ```
    /// let transport = grantline_ureq::Transport::new();
    /// let _now = transport.now();
    /// ```
    #[must_use]
    pub fn now(&self) -> grantline::Now {
        self.clock.now()
    }

    /// How long a wait of `flow_time` on the transport's clock really takes.
    pub(crate) fn real_duration(&self, flow_time: std::time::Duration) -> std::time::Duration {
        self.clock.real_duration(flow_time)
    }

    /// Sets the clock flows are run on (the system's by default).
    ///
    /// A [`ScaledClock`](grantline::clock::ScaledClock) runs polling faster than real time, for a
    /// demo or a test that checks intervals from the server's side.
    ///
    /// ```
    /// use grantline_ureq::{Transport, grantline::clock::ScaledClock};
    /// let transport = Transport::new().clock(ScaledClock::new(100));
    /// # let _ = transport;
    /// ```
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Sets the most bytes of a response body read (and allocated); a longer body is a
    /// [`TransportErrorKind::BodyTooLarge`](crate::TransportErrorKind::BodyTooLarge) error. A
    /// body of exactly `bytes` is accepted.
    ///
    /// ```
    /// let transport = grantline_ureq::Transport::new().body_limit(64 * 1024);
    /// # let _ = transport;
    /// ```
    #[must_use]
    pub fn body_limit(mut self, bytes: u64) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Sends one request and returns the server's response, whatever its status.
    ///
    /// The response carries the status, HTTP version, headers and body (at most the body limit),
    /// and ureq's extensions (the URI it was fetched from, [`ureq::ResponseExt::get_uri`]).
    /// A 4xx or 5xx is a response, not an error, and a 3xx comes back as it is: no redirect is
    /// followed.
    ///
    /// # Errors
    ///
    /// A [`TransportError`] when no complete answer came: no connection, a TLS failure, a
    /// timeout, a body over the limit (refused before reading when its `Content-Length` says so),
    /// a request ureq could not send.
    ///
    /// ```no_run
    /// use grantline_ureq::{Transport, http};
    ///
    /// let request = http::Request::get("https://as.example/.well-known/oauth-authorization-server")
    ///     .body(Vec::new())?;
    /// let response = Transport::new().execute(request)?;
    /// let _status = response.status();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn execute(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        // No redirect followed and every status a response, whatever the agent's settings.
        let mut response =
            run_without_redirects(&self.agent, request, None).map_err(|e| classify(e, false))?;
        let body = response
            .body_mut()
            .with_config()
            .limit(self.body_limit)
            .read_to_vec()
            .map_err(|e| classify(e, true))?;
        Ok(response.map(|_| body))
    }

    /// Drives `flow` to its end: sends what it asks for, sleeps when it says wait, and returns
    /// its output.
    ///
    /// Reads the transport's [`clock`](Self::clock) for every step, as the flow's contract wants. When a
    /// request gets no answer, the flow decides ([`Flow::handle_transport_error`]): a polling
    /// flow retries after a back-off, a one-shot exchange gives up and the error is returned.
    /// This is [`run_with`](Self::run_with) with a signal nobody cancels.
    ///
    /// # Errors
    ///
    /// [`Error::Flow`] for everything the flow reports (an OAuth error, an unexpected answer such
    /// as a redirect, a configuration problem), [`Error::Transport`] for a request that got no
    /// answer when the flow gave up.
    ///
    /// ```no_run
    /// use grantline_ureq::{Error, Transport, grantline};
    /// use grantline::{Client, grant::TokenRequest};
    ///
    /// let client = Client::builder("my-service")
    ///     .token_endpoint("https://as.example/token")
    ///     .client_secret_post("s3cr3t")
    ///     .build()?;
    /// match Transport::new().run(client.request_token(TokenRequest::client_credentials())?) {
    ///     Ok(token) => { let _ = token.expires_at(); }
    ///     Err(Error::Flow(e)) if e.oauth_code().is_some() => { /* the server said no */ }
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok::<(), grantline_ureq::Error>(())
    /// ```
    pub fn run<F: Flow>(&self, flow: F) -> Result<F::Output, Error> {
        self.run_with(flow, &Cancellation::new(), |_, _| {})
    }

    /// Like [`run`](Self::run), but stops when `cancel` is cancelled, and tells `observer` what
    /// happens as it happens, with the flow, so a UI can show progress (a polling flow's
    /// `status`, say).
    ///
    /// A wait ends at once when cancelled, and no request is sent after the cancellation: the run
    /// returns [`Error::Cancelled`]. A request already under way finishes first (ureq cannot
    /// interrupt it; the agent's timeouts bound it), and if the flow is done with its answer, the
    /// output is returned. (The async transport's `run_with` is the same, less the
    /// `Cancellation`: a future is cancelled by dropping it.)
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run), plus [`Error::Cancelled`].
    ///
    /// ```no_run
    /// use grantline_ureq::{Cancellation, Transport, grantline};
    /// use grantline::{Client, Progress, device::DeviceAuthorizationRequest};
    ///
    /// let client = Client::builder("tv-app")
    ///     .device_authorization_endpoint("https://as.example/device")
    ///     .token_endpoint("https://as.example/token")
    ///     .build()?;
    /// let transport = Transport::new();
    /// let authorization = transport.run(client.device_authorization(DeviceAuthorizationRequest::new())?)?;
    /// println!("Open {} and enter {}", authorization.verification_uri(), authorization.user_code());
    /// let flow = client.device_token(authorization)?;
    /// let token = transport.run_with(flow, &Cancellation::new(), |flow, progress| {
    ///     if let Progress::Waiting(_) = progress {
    ///         let status = flow.status(transport.now());
    ///         eprintln!("{} polls, {}s left", status.polls, status.time_left.as_secs());
    ///     }
    /// })?;
    /// # let _ = token;
    /// # Ok::<(), grantline_ureq::Error>(())
    /// ```
    pub fn run_with<F: Flow>(
        &self,
        flow: F,
        cancel: &Cancellation,
        observer: impl FnMut(&F, Progress),
    ) -> Result<F::Output, Error> {
        let mut run = Run::observed(flow, observer);
        loop {
            match run.next(self.now())? {
                Step::Send(_) if cancel.is_cancelled() => return Err(Error::Cancelled),
                Step::Send(request) => run.handle(self.execute(request), self.now())?,
                Step::Wait(duration) => {
                    if cancel.sleep(self.clock.real_duration(duration)) {
                        return Err(Error::Cancelled);
                    }
                }
                Step::Done(output) => return Ok(output),
            }
        }
    }
}

/// The agent of [`Transport::new`] (and of an `ApiClient` given none): no redirect followed,
/// every status a response, and the default timeouts.
pub(crate) fn default_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_connect(Some(DEFAULT_CONNECT_TIMEOUT))
        .timeout_global(Some(DEFAULT_TIMEOUT))
        .build()
        .new_agent()
}

/// Runs `request` on `agent` with, for this request only, no redirect followed, every status
/// returned as a response, and `timeout` (if any) instead of the agent's overall timeout.
pub(crate) fn run_without_redirects<B: ureq::AsSendBody>(
    agent: &ureq::Agent,
    request: http::Request<B>,
    timeout: Option<std::time::Duration>,
) -> Result<http::Response<ureq::Body>, ureq::Error> {
    let mut config = agent
        .configure_request(request)
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false);
    if timeout.is_some() {
        config = config.timeout_global(timeout);
    }
    agent.run(config.build())
}

/// Classifies ureq's error as the core's [`TransportError`], the same way the other transports
/// classify theirs. `reading_body` tells an over-long response body (`BodyExceedsLimit` from the
/// capped reader) from a request body longer than its `Content-Length` (the same ureq variant,
/// raised while sending).
pub(crate) fn classify(error: ureq::Error, reading_body: bool) -> TransportError {
    use TransportErrorKind as Kind;
    use std::io::ErrorKind as Io;
    use ureq::Error as E;
    let kind = match &error {
        E::BodyExceedsLimit(limit) if reading_body => Kind::BodyTooLarge { limit: *limit },
        E::Timeout(_) => Kind::Timeout,
        E::Io(e) if matches!(e.kind(), Io::TimedOut | Io::WouldBlock) => Kind::Timeout,
        E::Io(e) if is_rustls_error(e) => Kind::Tls,
        E::Io(e) => match e.kind() {
            Io::ConnectionRefused
            | Io::AddrNotAvailable
            | Io::HostUnreachable
            | Io::NetworkUnreachable
            | Io::NetworkDown => Kind::Connect,
            _ => Kind::Io,
        },
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
    };
    TransportError::with_source(kind, error)
}

/// ureq 3 hands a failed rustls handshake back as `Error::Io` around a `rustls::Error`.
#[cfg(feature = "rustls")]
fn is_rustls_error(error: &std::io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.is::<rustls::Error>())
}

#[cfg(not(feature = "rustls"))]
fn is_rustls_error(_error: &std::io::Error) -> bool {
    false
}
