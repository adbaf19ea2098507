//! A scripted, in-memory driver for testing flows: a fake server, a fake clock, a transcript.
//!
//! Behind the `testing` cargo feature. The [`Driver`] runs any [`Flow`] the way a transport
//! would, but answers each request from a script, advances a fake clock by exactly each
//! [`Step::Wait`], and records everything in a [`Transcript`] to assert on. No sockets, no
//! sleeps: a device flow that polls for ten minutes runs in microseconds.
//!
//! ```
//! use grantline::{Client, grant::TokenRequest, testing::{Driver, Event}};
//!
//! let client = Client::builder("svc")
//!     .token_endpoint("https://as.example/token")
//!     .client_secret_basic("s")
//!     .build()?;
//! let flow = client.request_token(TokenRequest::client_credentials())?;
//!
//! let mut driver = Driver::new()
//!     .reply_json(200, r#"{"access_token":"at","token_type":"Bearer","expires_in":60}"#);
//! let token = driver.run(flow).expect("the script answers");
//! assert_eq!(token.access_token().secret(), "at");
//! assert_eq!(driver.transcript().requests().count(), 1);
//! assert!(matches!(driver.transcript().events()[0], Event::Sent(_)));
//! # Ok::<(), grantline::Error>(())
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, SystemTime};

use crate::flow::{Flow, Recovery, Step};
use crate::{Error, Now};

/// A scripted answer computed from the request.
type Answer = Box<dyn FnOnce(&http::Request<Vec<u8>>) -> http::Response<Vec<u8>> + Send>;

/// One scripted answer.
enum Reply {
    Response(http::Response<Vec<u8>>),
    Dynamic(Answer),
    TransportFailure,
}

/// What happened while a flow ran.
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // a transcript is test data; boxing would only add noise
pub enum Event {
    /// The flow sent this request.
    Sent(http::Request<Vec<u8>>),
    /// The script answered with this status.
    Received(http::StatusCode),
    /// The script made the request fail in transit.
    TransportFailed,
    /// The flow waited this long (the fake clock moved by as much).
    Waited(Duration),
    /// The flow finished.
    Done,
}

/// A sent request shows its request line only, never its headers or body (they carry secrets),
/// as [`Step`] does.
impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Sent(request) => write!(f, "Sent({} {})", request.method(), request.uri()),
            Event::Received(status) => write!(f, "Received({status})"),
            Event::TransportFailed => f.write_str("TransportFailed"),
            Event::Waited(duration) => write!(f, "Waited({duration:?})"),
            Event::Done => f.write_str("Done"),
        }
    }
}

/// Everything a run did, in order.
///
/// ```
/// let driver = grantline::testing::Driver::new();
/// assert!(driver.transcript().events().is_empty());
/// ```
#[derive(Debug, Default)]
pub struct Transcript {
    events: Vec<Event>,
}

impl Transcript {
    /// Every event, in order.
    ///
    /// ```
    /// assert!(grantline::testing::Driver::new().transcript().events().is_empty());
    /// ```
    #[must_use]
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The requests sent, in order.
    ///
    /// ```
    /// assert_eq!(grantline::testing::Driver::new().transcript().requests().count(), 0);
    /// ```
    pub fn requests(&self) -> impl Iterator<Item = &http::Request<Vec<u8>>> {
        self.events.iter().filter_map(|e| match e {
            Event::Sent(request) => Some(request),
            _ => None,
        })
    }

    /// The waits, in order.
    ///
    /// ```
    /// assert_eq!(grantline::testing::Driver::new().transcript().waits().count(), 0);
    /// ```
    pub fn waits(&self) -> impl Iterator<Item = Duration> + '_ {
        self.events.iter().filter_map(|e| match e {
            Event::Waited(d) => Some(*d),
            _ => None,
        })
    }

    /// The form parameters of the `index`th request, decoded.
    ///
    /// ```
    /// assert!(grantline::testing::Driver::new().transcript().form(0).is_none());
    /// ```
    #[must_use]
    pub fn form(&self, index: usize) -> Option<Vec<(String, String)>> {
        self.requests()
            .nth(index)
            .map(|r| url::form_urlencoded::parse(r.body()).into_owned().collect())
    }
}

/// Why a scripted run stopped without output.
#[derive(Debug)]
#[non_exhaustive]
pub enum DriverError {
    /// The flow returned an error.
    Flow(Error),
    /// The flow sent a request the script had no answer for.
    ScriptExhausted,
    /// The flow gave up after a scripted transport failure.
    GaveUp,
    /// The flow took more steps than the driver's limit (a flow that never ends).
    TooManySteps,
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriverError::Flow(e) => write!(f, "the flow failed: {e}"),
            DriverError::ScriptExhausted => {
                f.write_str("the flow sent a request the script had no answer for")
            }
            DriverError::GaveUp => f.write_str("the flow gave up after a transport failure"),
            DriverError::TooManySteps => f.write_str("the flow took more steps than the limit"),
        }
    }
}

impl std::error::Error for DriverError {}

/// A scripted run's failure as a driver reports it: the flow's error as it is, the scripted
/// transport failures as [`TransportErrorKind::Io`](crate::driver::TransportErrorKind::Io).
impl From<DriverError> for crate::driver::RunError {
    fn from(e: DriverError) -> Self {
        use crate::driver::{RunError, TransportError, TransportErrorKind};
        match e {
            DriverError::Flow(e) => RunError::Flow(e),
            DriverError::GaveUp | DriverError::ScriptExhausted | DriverError::TooManySteps => {
                RunError::Transport(TransportError::new(TransportErrorKind::Io))
            }
        }
    }
}

impl DriverError {
    /// The flow's error, if that is why the run stopped.
    ///
    /// ```
    /// assert!(grantline::testing::DriverError::GaveUp.flow_error().is_none());
    /// ```
    #[must_use]
    pub fn flow_error(&self) -> Option<&Error> {
        match self {
            DriverError::Flow(e) => Some(e),
            _ => None,
        }
    }
}

/// Runs flows against a script, on a fake clock.
///
/// ```
/// use grantline::testing::Driver;
/// use std::time::Duration;
///
/// let driver = Driver::new();
/// let start = driver.now();
/// assert_eq!(driver.now(), start); // time moves only when a flow waits
/// ```
pub struct Driver {
    now: Now,
    script: VecDeque<Reply>,
    latency: Duration,
    transcript: Transcript,
    max_steps: usize,
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("now", &self.now)
            .field("replies_left", &self.script.len())
            .field("transcript", &self.transcript)
            .finish_non_exhaustive()
    }
}

impl Default for Driver {
    fn default() -> Self {
        Self::new()
    }
}

impl Driver {
    /// A driver whose clock starts at unix time 1 700 000 000 (wall) and the current instant
    /// (monotonic), with an empty script.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// let driver = grantline::testing::Driver::new();
    /// assert_eq!(driver.now().wall(), SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::starting_at(Now::new(
            // Any instant will do as the fake clock's origin; only differences are ever used.
            Now::system().monotonic(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        ))
    }

    /// A driver whose clock starts at `now`.
    ///
    /// ```
    /// let now = grantline::Now::system();
    /// assert_eq!(grantline::testing::Driver::starting_at(now).now(), now);
    /// ```
    #[must_use]
    pub fn starting_at(now: Now) -> Self {
        Self {
            now,
            script: VecDeque::new(),
            latency: Duration::ZERO,
            transcript: Transcript::default(),
            max_steps: 10_000,
        }
    }

    /// Answers the next request with `response`.
    ///
    /// ```
    /// let _ = grantline::testing::Driver::new().reply(http::Response::new(Vec::new()));
    /// ```
    #[must_use]
    pub fn reply(mut self, response: http::Response<Vec<u8>>) -> Self {
        self.script.push_back(Reply::Response(response));
        self
    }

    /// Answers the next request with `status` and a JSON `body`.
    ///
    /// ```
    /// let _ = grantline::testing::Driver::new().reply_json(400, r#"{"error":"invalid_grant"}"#);
    /// ```
    ///
    /// # Panics
    ///
    /// If `status` is not a valid HTTP status (100 to 999): a mistake in the test itself.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn reply_json(self, status: u16, body: &str) -> Self {
        let response = http::Response::builder()
            .status(status)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body.as_bytes().to_vec())
            .expect("a scripted status must be between 100 and 999");
        self.reply(response)
    }

    /// Answers the next request with whatever `answer` makes of it.
    ///
    /// ```
    /// let _ = grantline::testing::Driver::new()
    ///     .reply_with(|request| http::Response::new(request.body().clone()));
    /// ```
    #[must_use]
    pub fn reply_with(
        mut self,
        answer: impl FnOnce(&http::Request<Vec<u8>>) -> http::Response<Vec<u8>> + Send + 'static,
    ) -> Self {
        self.script.push_back(Reply::Dynamic(Box::new(answer)));
        self
    }

    /// Makes the next request fail in transit (as a refused connection or a timeout would).
    ///
    /// ```
    /// let _ = grantline::testing::Driver::new().fail_transport();
    /// ```
    #[must_use]
    pub fn fail_transport(mut self) -> Self {
        self.script.push_back(Reply::TransportFailure);
        self
    }

    /// Moves the fake clock forward by `latency` for every request, before its answer.
    ///
    /// ```
    /// let _ = grantline::testing::Driver::new().latency(std::time::Duration::from_millis(200));
    /// ```
    #[must_use]
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// The fake clock's current reading.
    ///
    /// ```
    /// let _ = grantline::testing::Driver::new().now();
    /// ```
    #[must_use]
    pub fn now(&self) -> Now {
        self.now
    }

    /// Moves the fake clock forward by `by` (time passing between runs).
    ///
    /// ```
    /// let mut driver = grantline::testing::Driver::new();
    /// let start = driver.now();
    /// driver.advance(std::time::Duration::from_secs(60));
    /// assert_eq!(driver.now(), start.advance(std::time::Duration::from_secs(60)));
    /// ```
    pub fn advance(&mut self, by: Duration) {
        self.now = self.now.advance(by);
    }

    /// Adds more answers to the script of a driver already in use.
    ///
    /// ```
    /// let mut driver = grantline::testing::Driver::new();
    /// driver.push_reply(http::Response::new(Vec::new()));
    /// ```
    pub fn push_reply(&mut self, response: http::Response<Vec<u8>>) {
        self.script.push_back(Reply::Response(response));
    }

    /// What the runs so far did.
    ///
    /// ```
    /// assert!(grantline::testing::Driver::new().transcript().events().is_empty());
    /// ```
    #[must_use]
    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    /// How many scripted answers are left unused.
    ///
    /// ```
    /// assert_eq!(grantline::testing::Driver::new().replies_left(), 0);
    /// ```
    #[must_use]
    pub fn replies_left(&self) -> usize {
        self.script.len()
    }

    /// Runs `flow` to its end against the script.
    ///
    /// # Errors
    ///
    /// The flow's own error, or why the script could not go on ([`DriverError`]).
    ///
    /// ```
    /// use grantline::{Client, grant::TokenRequest, testing::{Driver, DriverError}};
    /// let client = Client::builder("c").token_endpoint("https://as.example/token").build().unwrap();
    /// let flow = client.request_token(TokenRequest::client_credentials()).unwrap();
    /// let mut driver = Driver::new().fail_transport();
    /// assert!(matches!(driver.run(flow), Err(DriverError::GaveUp)));
    /// ```
    pub fn run<F: Flow>(&mut self, mut flow: F) -> Result<F::Output, DriverError> {
        for _ in 0..self.max_steps {
            match flow.next(self.now).map_err(DriverError::Flow)? {
                Step::Send(request) => {
                    let reply = self.script.pop_front();
                    let response = match reply {
                        None => {
                            self.transcript.events.push(Event::Sent(request));
                            return Err(DriverError::ScriptExhausted);
                        }
                        Some(Reply::Response(response)) => response,
                        Some(Reply::Dynamic(answer)) => answer(&request),
                        Some(Reply::TransportFailure) => {
                            self.transcript.events.push(Event::Sent(request));
                            self.transcript.events.push(Event::TransportFailed);
                            self.now = self.now.advance(self.latency);
                            match flow.handle_transport_error(self.now) {
                                Recovery::Retry => continue,
                                Recovery::GiveUp => return Err(DriverError::GaveUp),
                            }
                        }
                    };
                    self.transcript.events.push(Event::Sent(request));
                    self.transcript
                        .events
                        .push(Event::Received(response.status()));
                    self.now = self.now.advance(self.latency);
                    flow.handle_response(response, self.now)
                        .map_err(DriverError::Flow)?;
                }
                Step::Wait(duration) => {
                    self.transcript.events.push(Event::Waited(duration));
                    self.now = self.now.advance(duration);
                }
                Step::Done(output) => {
                    self.transcript.events.push(Event::Done);
                    return Ok(output);
                }
            }
        }
        Err(DriverError::TooManySteps)
    }
}

/// An in-memory token store with the semantics of `grantline-redis`'s scripts, for tests and
/// simulations of a fleet without Redis: every [`Authorizer`](crate::authorizer::Authorizer)
/// given the same `MemoryStore` behaves as a replica sharing one Redis. It can be switched off
/// ([`set_available`](Self::set_available)) to see the fleet renew in-process.
///
/// ```
/// use grantline::fleet::{BlockingStore, StoreOp, StoreReply};
/// use grantline::{Client, fleet::StoreKey, grant::TokenRequest, testing::MemoryStore, token_manager::TokenManager};
///
/// let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
/// let key = StoreKey::of("t", &TokenManager::grant(client, TokenRequest::client_credentials())?)?;
/// let store = MemoryStore::new();
/// let acquire = StoreOp::Acquire { key, now: 0, lease: std::time::Duration::from_secs(5), unless: None };
/// assert!(matches!(store.execute(&acquire)?, StoreReply::Acquired(_)));
/// assert!(matches!(store.execute(&acquire)?, StoreReply::Held));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: std::sync::Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    down: bool,
    fences: std::collections::HashMap<String, u64>,
    /// Lease key: (fence, expires at, unix ms).
    leases: std::collections::HashMap<String, (u64, u64)>,
    /// Token key: (value, id, renew_at, fence).
    tokens: std::collections::HashMap<String, (crate::fleet::SharedValue, String, u64, u64)>,
    operations: usize,
}

impl MemoryStore {
    /// An empty store, available.
    ///
    /// ```
    /// let _ = grantline::testing::MemoryStore::new();
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Switches the store on or off: off, every operation fails with
    /// [`StoreErrorKind::Unavailable`](crate::fleet::StoreErrorKind::Unavailable).
    ///
    /// ```
    /// let store = grantline::testing::MemoryStore::new();
    /// store.set_available(false);
    /// ```
    pub fn set_available(&self, available: bool) {
        self.lock().down = !available;
    }

    /// How many operations it answered (failed ones not counted).
    ///
    /// ```
    /// assert_eq!(grantline::testing::MemoryStore::new().operations(), 0);
    /// ```
    #[must_use]
    pub fn operations(&self) -> usize {
        self.lock().operations
    }
}

impl crate::fleet::BlockingStore for MemoryStore {
    fn execute(
        &self,
        op: &crate::fleet::StoreOp,
    ) -> Result<crate::fleet::StoreReply, crate::fleet::StoreError> {
        use crate::fleet::{Fence, StoreError, StoreErrorKind, StoreOp, StoreReply};
        let mut state = self.lock();
        if state.down {
            return Err(StoreError::new(StoreErrorKind::Unavailable));
        }
        state.operations += 1;
        Ok(match op {
            StoreOp::Acquire {
                key,
                now,
                lease,
                unless,
            } => {
                if let Some((value, id, renew_at, _)) = state.tokens.get(key.token()) {
                    if renew_at > now && unless.as_ref().is_none_or(|u| u.as_str() != id) {
                        return Ok(StoreReply::Fresh(value.clone()));
                    }
                }
                let fence = state.fences.entry(key.fence().to_owned()).or_default();
                *fence += 1;
                let fence = *fence;
                let held = state
                    .leases
                    .get(key.lease())
                    .is_some_and(|(_, until)| until > now);
                if held {
                    StoreReply::Held
                } else {
                    let until =
                        now.saturating_add(u64::try_from(lease.as_millis()).unwrap_or(u64::MAX));
                    state.leases.insert(key.lease().to_owned(), (fence, until));
                    StoreReply::Acquired(Fence::new(fence))
                }
            }
            StoreOp::Publish {
                key,
                value,
                id,
                renew_at,
                fence,
                ..
            } => {
                let ours = state
                    .leases
                    .get(key.lease())
                    .is_some_and(|(held, _)| *held == fence.get());
                let newer = state
                    .tokens
                    .get(key.token())
                    .is_some_and(|(.., stored)| *stored > fence.get());
                if ours || !newer {
                    state.tokens.insert(
                        key.token().to_owned(),
                        (
                            value.clone(),
                            id.as_str().to_owned(),
                            *renew_at,
                            fence.get(),
                        ),
                    );
                    if ours {
                        state.leases.remove(key.lease());
                    }
                    StoreReply::Published
                } else {
                    StoreReply::Refused
                }
            }
            StoreOp::Release { key, fence } => {
                if state
                    .leases
                    .get(key.lease())
                    .is_some_and(|(held, _)| *held == fence.get())
                {
                    state.leases.remove(key.lease());
                }
                StoreReply::Released
            }
        })
    }
}

impl crate::fleet::AsyncStore for MemoryStore {
    fn execute<'a>(&'a self, op: &'a crate::fleet::StoreOp) -> crate::fleet::StoreFuture<'a> {
        let reply = crate::fleet::BlockingStore::execute(self, op);
        Box::pin(std::future::ready(reply))
    }
}
