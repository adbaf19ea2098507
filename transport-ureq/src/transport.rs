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

/// The least a body without a length (or longer than announced) grows by, unless the limit is
/// nearer.
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
    /// Whether the agent's own configuration already follows no redirect and returns every
    /// status (see [`is_safe`]), so requests need no per-request configuration.
    agent_is_safe: bool,
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
    /// The agent is built following no redirect and turning no status into an error, which
    /// [`execute`](Self::execute) would otherwise set on every request.
    ///
    /// ```
    /// let transport = grantline_ureq::Transport::new();
    /// # let _ = transport;
    /// ```
    #[must_use]
    pub fn new() -> Self {
        // ureq's defaults, except the two settings every request needs anyway: set once here,
        // they cost nothing per request.
        let agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .build()
            .new_agent();
        Self::with_agent(agent)
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
            agent_is_safe: is_safe(agent.config()),
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
        // ureq follows no redirect and turns no status into an error when its configuration has
        // `max_redirects(0)` (then the 3xx is the response, never `TooManyRedirects`) and
        // `http_status_as_error(false)`. An agent already configured so (as `Transport::new`'s
        // is) runs the request as it is; otherwise those settings go on top of a copy of the
        // agent's configuration, for this request only. A request carrying extensions might carry
        // ureq's own per-request configuration, so it always takes the second way.
        let mut response = if self.agent_is_safe && request.extensions().is_empty() {
            self.agent.run(request)
        } else {
            run_without_redirects(&self.agent, request)
        }
        .map_err(TransportError::from_send)?;
        let body =
            read_capped(response.body_mut(), self.body_limit).map_err(TransportError::from_body)?;
        Ok(response.map(|_| body))
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
        self.drive(flow, None, |_, _| {})
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
        self.drive(flow, Some(cancel), |_, _| {})
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
        flow: F,
        cancel: &Cancellation,
        observer: impl FnMut(&F, Progress),
    ) -> Result<F::Output, Error> {
        self.drive(flow, Some(cancel), observer)
    }

    /// The loop behind every `run`: `cancel` is `None` for a run nobody can cancel, which then
    /// needs no signal of its own.
    fn drive<F: Flow>(
        &self,
        mut flow: F,
        cancel: Option<&Cancellation>,
        mut observer: impl FnMut(&F, Progress),
    ) -> Result<F::Output, Error> {
        loop {
            match flow.next(self.clock.now())? {
                Step::Send(request) => {
                    if cancel.is_some_and(Cancellation::is_cancelled) {
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
                    let duration = self.clock.real_duration(duration);
                    match cancel {
                        Some(cancel) => {
                            if cancel.sleep(duration) {
                                return Err(Error::Cancelled);
                            }
                        }
                        None => std::thread::sleep(duration),
                    }
                }
                Step::Done(output) => return Ok(output),
            }
        }
    }
}

/// Whether `config` already makes ureq follow no redirect and return every status as a
/// response, so that a request needs no settings of its own.
fn is_safe(config: &ureq::config::Config) -> bool {
    config.max_redirects() == 0 && !config.http_status_as_error()
}

/// Reads the whole body, but at most `limit` bytes, and never allocates more than that.
///
/// ureq's limited reader yields at most `limit` bytes and then fails with
/// `ureq::Error::BodyExceedsLimit` if one more byte follows (a body of exactly `limit` bytes is
/// fine); a `Content-Length` over the limit is refused before anything is read.
///
/// The bytes are read straight into the returned buffer, never through a scratch buffer. It
/// starts at the announced length (so a body with a `Content-Length` costs one allocation of
/// exactly its size), and whenever it is full, a small probe read tells the end of the body
/// from more bytes; only more bytes grow it, by doubling, capped by the limit rather than by
/// `Vec`'s own doubling, which could reserve up to twice it.
fn read_capped(body: &mut ureq::Body, limit: u64) -> Result<Vec<u8>, ureq::Error> {
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    let announced = match body.content_length() {
        Some(announced) if announced > limit => return Err(ureq::Error::BodyExceedsLimit(limit)),
        Some(announced) => usize::try_from(announced).map_or(cap, |n| n.min(cap)),
        None => 0,
    };
    let mut reader = body.with_config().limit(limit).reader();
    // `out[..filled]` is the body so far; `out[filled..]` is zeroed room for the next read (the
    // reader wants initialised bytes), kept between reads so that no byte is zeroed twice.
    let mut out = vec![0_u8; announced];
    let mut filled = 0;
    loop {
        let n = match out.get_mut(filled..) {
            Some(room) if !room.is_empty() => read_some(&mut reader, room)?,
            _ => {
                // Full: the body may end here. A small read says so without growing `out`.
                let mut probe = [0_u8; PROBE];
                let n = read_some(&mut reader, &mut probe)?;
                let more = probe.get(..n).ok_or_else(overrun)?;
                if n > 0 {
                    // The reader never yields more than `limit` bytes in all, so `filled + n`
                    // is within `cap`.
                    let grown = filled
                        .saturating_mul(2)
                        .max(READ_CHUNK)
                        .min(cap)
                        .max(filled + n);
                    out.reserve_exact(grown - out.len());
                    out.resize(grown, 0);
                    out.get_mut(filled..filled + n)
                        .ok_or_else(overrun)?
                        .copy_from_slice(more);
                }
                n
            }
        };
        if n == 0 {
            out.truncate(filled);
            return Ok(out);
        }
        filled += n;
        if filled > out.len() {
            return Err(overrun());
        }
    }
}

/// Bytes read to learn whether a full buffer holds the whole body.
const PROBE: usize = 32;

/// One read, retried when a signal interrupted it.
fn read_some(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize, ureq::Error> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            result => return result.map_err(ureq::Error::from),
        }
    }
}

/// A reader that claims to have read more than the buffer it was given.
fn overrun() -> ureq::Error {
    ureq::Error::Io(io::Error::other("a reader overran its buffer"))
}

/// Runs `request` on `agent` with, for this request only, no redirect followed and every status
/// returned as a response (the settings the transport and the API client rely on).
pub(crate) fn run_without_redirects<B: ureq::AsSendBody>(
    agent: &ureq::Agent,
    request: http::Request<B>,
) -> Result<http::Response<ureq::Body>, ureq::Error> {
    let request = agent
        .configure_request(request)
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .build();
    agent.run(request)
}

#[cfg(test)]
mod tests {
    use std::io::{self, Read};
    use std::net::TcpListener;

    use super::{Transport, is_safe, read_capped};

    /// A body source that hands out at most `chunk` bytes per read, as a slow connection does.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        chunk: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let rest = self.data.get(self.at..).unwrap_or_default();
            let n = rest.len().min(buf.len()).min(self.chunk);
            buf[..n].copy_from_slice(&rest[..n]);
            self.at += n;
            Ok(n)
        }
    }

    fn body_of(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    /// What any correct capped read answers: the body when it fits, `BodyExceedsLimit` when not.
    fn check(result: Result<Vec<u8>, ureq::Error>, data: &[u8], limit: u64, case: &str) {
        if data.len() as u64 <= limit {
            let out = result.unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(out, data, "{case}");
            assert!(
                out.capacity() as u64 <= limit,
                "{case}: allocated past the limit"
            );
        } else {
            match result {
                Err(ureq::Error::BodyExceedsLimit(l)) => assert_eq!(l, limit, "{case}"),
                other => panic!("{case}: expected BodyExceedsLimit, got {other:?}"),
            }
        }
    }

    const LENS: [usize; 14] = [
        0, 1, 31, 32, 33, 64, 100, 999, 1000, 1001, 8191, 8192, 8193, 20_000,
    ];
    const LIMITS: [u64; 9] = [0, 1, 32, 33, 1000, 8192, 8193, 16_000, 1 << 20];

    #[test]
    fn an_announced_body_is_read_whole_into_one_exact_allocation_or_refused() {
        for len in LENS {
            for limit in LIMITS {
                let data = body_of(len);
                let mut body = ureq::Body::builder().data(data.clone());
                assert_eq!(body.content_length(), Some(len as u64));
                let result = read_capped(&mut body, limit);
                if let Ok(out) = &result {
                    assert_eq!(out.capacity(), len, "len {len} limit {limit}");
                }
                check(result, &data, limit, &format!("len {len} limit {limit}"));
            }
        }
    }

    #[test]
    fn a_body_of_unknown_length_in_any_pieces_is_read_whole_or_refused() {
        for len in LENS {
            for limit in LIMITS {
                for chunk in [1, 7, 32, 100, 4096, usize::MAX] {
                    let data = body_of(len);
                    let source = Trickle {
                        data: data.clone(),
                        at: 0,
                        chunk,
                    };
                    let mut body = ureq::Body::builder().reader(source);
                    assert_eq!(body.content_length(), None);
                    let case = format!("len {len} limit {limit} chunk {chunk}");
                    check(read_capped(&mut body, limit), &data, limit, &case);
                }
            }
        }
    }

    #[test]
    fn an_endless_body_is_refused_at_the_limit() {
        for limit in LIMITS {
            let mut body = ureq::Body::builder().reader(io::repeat(b'x'));
            match read_capped(&mut body, limit) {
                Err(ureq::Error::BodyExceedsLimit(l)) => assert_eq!(l, limit),
                other => panic!("limit {limit}: expected BodyExceedsLimit, got {other:?}"),
            }
        }
    }

    #[test]
    fn an_empty_body_of_unknown_length_allocates_nothing() {
        let mut body = ureq::Body::builder().reader(io::empty());
        let out = read_capped(&mut body, 1000).unwrap();
        assert_eq!(out.capacity(), 0);
    }

    #[test]
    fn only_an_agent_that_follows_no_redirect_and_returns_every_status_is_safe_as_it_is() {
        let config = |redirects, status_as_error| {
            ureq::Agent::config_builder()
                .max_redirects(redirects)
                .http_status_as_error(status_as_error)
                .build()
        };
        assert!(is_safe(&config(0, false)));
        assert!(!is_safe(&config(1, false)));
        assert!(!is_safe(&config(0, true)));
        assert!(!is_safe(ureq::Agent::new_with_defaults().config()));
        assert!(Transport::new().agent_is_safe);
    }

    /// Answers each of `answers.len()` connections with the next answer, then ends.
    fn serve(answers: Vec<&'static [u8]>) -> (String, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            for answer in answers {
                let (mut stream, _) = listener.accept().unwrap();
                let mut head = Vec::new();
                let mut byte = [0_u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap() == 1 {
                    head.push(byte[0]);
                }
                io::Write::write_all(&mut stream, answer).unwrap();
            }
        });
        (format!("http://{address}/"), server)
    }

    #[test]
    fn a_safe_agent_and_an_agent_configured_per_request_give_the_same_answers() {
        const ANSWERS: [&[u8]; 2] = [
            b"HTTP/1.1 302 Found\r\nlocation: /elsewhere\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            b"HTTP/1.1 500 Oops\r\ncontent-length: 4\r\nconnection: close\r\n\r\noops",
        ];
        let following = ureq::Agent::new_with_defaults();
        let transports = [Transport::new(), Transport::with_agent(following.clone())];
        assert!(transports[0].agent_is_safe && !transports[1].agent_is_safe);
        for transport in transports {
            let (url, server) = serve(ANSWERS.to_vec());
            let get = || http::Request::get(&url).body(Vec::new()).unwrap();
            let redirect = transport.execute(get()).unwrap();
            assert_eq!(redirect.status(), 302);
            let error = transport.execute(get()).unwrap();
            assert_eq!(error.status(), 500);
            assert_eq!(error.body(), b"oops");
            server.join().unwrap();
        }
        // A request with extensions (which might hold ureq's own per-request settings) is
        // configured per request even on a safe agent.
        let (url, server) = serve(vec![ANSWERS[0]]);
        let mut request = http::Request::get(&url).body(Vec::new()).unwrap();
        request.extensions_mut().insert(7_u8);
        assert_eq!(Transport::new().execute(request).unwrap().status(), 302);
        server.join().unwrap();
    }
}
