//! The transport: one `execute` for a request, one `run` loop for a flow.

use std::io::{self, Read};
use std::sync::Arc;

use grantline::clock::{Clock, SystemClock};
use grantline::{Flow, Progress, Recovery, Step};

use crate::{Cancellation, Error, TransportError};

/// The most bytes of a response body the transport reads unless told otherwise: 1 MiB.
///
/// Token, introspection, metadata and JWKS answers are a few KiB; a body much larger than that
/// is a wrong endpoint or a hostile server, and reading it whole would let the server choose how
/// much memory the client spends. Raise it with [`Transport::body_limit`] if a server you trust
/// answers with more.
///
/// ```
/// assert_eq!(grantline_ureq::DEFAULT_BODY_LIMIT, 1024 * 1024);
/// ```
pub const DEFAULT_BODY_LIMIT: u64 = 1024 * 1024;

/// Bytes read from the body per call; the body grows in steps no larger than the limit.
const READ_CHUNK: usize = 8 * 1024;

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
    /// environment, no timeouts), reading at most [`DEFAULT_BODY_LIMIT`] bytes per body.
    ///
    /// ```
    /// let transport = grantline_ureq::Transport::new();
    /// # let _ = transport;
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::with_agent(ureq::Agent::new_with_defaults())
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
    /// The response carries the status, HTTP version, headers and body (at most the body limit).
    /// A 4xx or 5xx is a response, not an error, and a 3xx comes back as it is: no redirect is
    /// followed.
    ///
    /// # Errors
    ///
    /// A [`TransportError`] when no complete answer came: no connection, a TLS failure, a
    /// timeout, a body over the limit, a request ureq could not send.
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
        // Per-request settings on top of a copy of the agent's configuration. With
        // `max_redirects(0)` ureq follows no redirect and returns the 3xx as the response (never
        // `TooManyRedirects`); `max_redirects_will_error(false)` says the same a second time.
        let request = self
            .agent
            .configure_request(request)
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .build();
        let mut response = self.agent.run(request).map_err(TransportError::from_send)?;
        let body =
            read_capped(response.body_mut(), self.body_limit).map_err(TransportError::from_body)?;

        let (parts, _) = response.into_parts();
        let mut out = http::Response::new(body);
        *out.status_mut() = parts.status;
        *out.version_mut() = parts.version;
        *out.headers_mut() = parts.headers;
        Ok(out)
    }

    /// Drives `flow` to its end: sends what it asks for, sleeps when it says wait, and returns
    /// its output.
    ///
    /// Reads the transport's [`clock`](Self::clock) for every step, as the flow's contract wants. When a
    /// request gets no answer, the flow decides ([`Flow::handle_transport_error`]): a polling
    /// flow retries after a back-off, a one-shot exchange gives up and the error is returned.
    /// This is [`run_cancellable`](Self::run_cancellable) with a signal nobody cancels.
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
        self.run_cancellable(flow, &Cancellation::new())
    }

    /// Like [`run`](Self::run), but stops when `cancel` is cancelled.
    ///
    /// A wait ends at once when cancelled, and no request is sent after the cancellation: the run
    /// returns [`Error::Cancelled`]. A request already under way finishes first (ureq cannot
    /// interrupt it; the agent's timeouts bound it), and if the flow is done with its answer, the
    /// output is returned.
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run), plus [`Error::Cancelled`].
    ///
    /// ```no_run
    /// use grantline_ureq::{Cancellation, Error, Transport, grantline};
    /// use grantline::{Client, grant::TokenRequest};
    ///
    /// let client = Client::builder("my-service")
    ///     .token_endpoint("https://as.example/token")
    ///     .client_secret_basic("s3cr3t")
    ///     .build()?;
    /// let cancel = Cancellation::new();
    /// let stopper = cancel.clone();
    /// std::thread::spawn(move || {
    ///     std::thread::sleep(std::time::Duration::from_secs(30));
    ///     stopper.cancel();
    /// });
    /// let flow = client.request_token(TokenRequest::client_credentials())?;
    /// match Transport::new().run_cancellable(flow, &cancel) {
    ///     Err(Error::Cancelled) => { /* the user gave up */ }
    ///     other => { let _ = other?; }
    /// }
    /// # Ok::<(), grantline_ureq::Error>(())
    /// ```
    pub fn run_cancellable<F: Flow>(
        &self,
        flow: F,
        cancel: &Cancellation,
    ) -> Result<F::Output, Error> {
        self.run_with(flow, cancel, |_, _| {})
    }

    /// Like [`run_cancellable`](Self::run_cancellable), and tells `observer` what happens as it
    /// happens, with the flow, so a UI can show progress (a polling flow's `status`, say).
    ///
    /// # Errors
    ///
    /// As [`run_cancellable`](Self::run_cancellable).
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
        mut flow: F,
        cancel: &Cancellation,
        mut observer: impl FnMut(&F, Progress),
    ) -> Result<F::Output, Error> {
        loop {
            match flow.next(self.clock.now())? {
                Step::Send(request) => {
                    if cancel.is_cancelled() {
                        return Err(Error::Cancelled);
                    }
                    observer(&flow, Progress::Sending);
                    match self.execute(request) {
                        Ok(response) => {
                            let status = response.status();
                            flow.handle_response(response, self.clock.now())?;
                            observer(&flow, Progress::Received(status));
                        }
                        Err(error) => match flow.handle_transport_error(self.clock.now()) {
                            Recovery::Retry => observer(&flow, Progress::TransportFailed),
                            Recovery::GiveUp => return Err(Error::Transport(error)),
                        },
                    }
                }
                Step::Wait(duration) => {
                    observer(&flow, Progress::Waiting(duration));
                    if cancel.sleep(self.clock.real_duration(duration)) {
                        return Err(Error::Cancelled);
                    }
                }
                Step::Done(output) => return Ok(output),
            }
        }
    }
}

/// Reads the whole body, but at most `limit` bytes, and never allocates more than that.
///
/// ureq's limited reader yields at most `limit` bytes and then fails with
/// `ureq::Error::BodyExceedsLimit` if one more byte follows (a body of exactly `limit` bytes is
/// fine). The buffer starts at the announced length (capped by the limit) and grows by doubling,
/// capped by the limit, rather than by `Vec`'s own doubling, which could reserve up to twice it.
fn read_capped(body: &mut ureq::Body, limit: u64) -> Result<Vec<u8>, ureq::Error> {
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    let announced = body
        .content_length()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0);
    let mut out = Vec::with_capacity(announced.min(cap));
    let mut reader = body.with_config().limit(limit).reader();
    let mut chunk = [0_u8; READ_CHUNK];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ureq::Error::from(e)),
        };
        let bytes = chunk
            .get(..n)
            .ok_or_else(|| ureq::Error::Io(io::Error::other("a reader overran its buffer")))?;
        let needed = out.len().saturating_add(n);
        if needed > out.capacity() {
            let grown = out.len().saturating_mul(2).max(READ_CHUNK).min(cap);
            out.reserve_exact(grown.max(needed) - out.len());
        }
        out.extend_from_slice(bytes);
    }
}
