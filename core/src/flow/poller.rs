//! The polling engine shared by the device flow (RFC 8628 §3.4–3.5) and CIBA poll mode
//! (CIBA §7.3, §11): one piece of code, two grants.
//!
//! The rules it enforces:
//! - the first poll waits one interval after the authorization was received; an interval under
//!   one second (or none) counts as the default five seconds;
//! - `authorization_pending`: wait the interval, poll again;
//! - `slow_down`: the interval grows by 5 seconds, for every later poll too;
//! - a `Retry-After` header is honoured when it asks for longer than the interval;
//! - a failed request (no answer, or a 429/503 answer) backs off exponentially from the interval
//!   (never below it, at most two minutes unless the interval itself is longer);
//! - when the grant's `expires_in` has passed, or the next allowed poll would fall after it, the
//!   flow stops with [`Error::Expired`] without sending anything;
//! - any other answer (a token, `access_denied`, `expired_token`, any other error) ends the flow.

use std::time::{Duration, Instant};

use crate::error::{ErrorCode, Expired, Misuse, ResponseHeaders};
use crate::flow::EndpointCall;
use crate::flow::{Recovery, Step};
use crate::{Error, Now, TokenResponse};

/// How much `slow_down` adds to the interval (RFC 8628 §3.5, CIBA §11).
pub(crate) const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// The longest back-off after failed requests (unless the interval itself is longer).
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(120);

/// The interval when the server names none (RFC 8628 §3.2, CIBA §7.3).
pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// The polling interval a server's answer asks for: the default when it names none, and also
/// when it names less than a second (an `interval` of 0 would have the client hammer the token
/// endpoint; no real server means that).
pub(crate) fn interval_from(sent: Option<Duration>) -> Duration {
    match sent {
        Some(interval) if interval >= Duration::from_secs(1) => interval.min(MAX_POLLING_LIFETIME),
        _ => DEFAULT_INTERVAL,
    }
}

/// The longest a device code or a CIBA request is polled for, whatever `expires_in` the server
/// sent: one hour. Real servers give 2 to 30 minutes (oidc-provider 10, django-oauth-toolkit 30,
/// Entra ID 15); a lifetime of days (a broken or hostile server) would keep a client polling
/// long after any person gave up. The cap applies to `interval` too.
///
/// ```
/// assert_eq!(grantline::flow::MAX_POLLING_LIFETIME.as_secs(), 3600);
/// ```
pub const MAX_POLLING_LIFETIME: Duration = Duration::from_secs(3600);

/// The lifetime to poll for: the server's `expires_in`, at most [`MAX_POLLING_LIFETIME`].
pub(crate) fn lifetime_from(sent: Duration) -> Duration {
    sent.min(MAX_POLLING_LIFETIME)
}

/// Where a polling flow stands: what a UI shows while the person approves.
///
/// ```
/// use grantline::flow::PollingStatus;
///
/// fn describe(status: &PollingStatus) -> String {
///     format!(
///         "{} polls so far, next in {:?}, every {:?}; {:?} left",
///         status.polls, status.next_poll_in, status.interval, status.time_left
///     )
/// }
/// # let _ = describe;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PollingStatus {
    /// The current interval between polls (grown by every `slow_down`).
    pub interval: Duration,
    /// How many polls were sent so far.
    pub polls: u32,
    /// When the grant expires (monotonic clock).
    pub deadline: Instant,
    /// How long until the grant expires.
    pub time_left: Duration,
    /// How long until the next poll may be sent.
    pub next_poll_in: Duration,
    /// How many requests in a row failed (no answer, 429 or 503); resets on an answer.
    pub failures: u32,
}

pub(crate) struct Poller {
    call: EndpointCall,
    expiry: Expired,
    deadline: Instant,
    interval: Duration,
    next_poll_at: Instant,
    polls: u32,
    failures: u32,
    nonce_retried: bool,
    state: State,
}

enum State {
    /// Waiting for the next poll.
    Idle,
    /// A poll is out.
    Awaiting,
    Finished(Box<TokenResponse>),
    Done,
    Failed,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Idle => "idle",
            State::Awaiting => "awaiting response",
            State::Finished(_) => "finished",
            State::Done => "done",
            State::Failed => "failed",
        };
        f.debug_struct("Poller")
            .field("call", &self.call)
            .field("interval", &self.interval)
            .field("polls", &self.polls)
            .field("failures", &self.failures)
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

impl Poller {
    /// A poller for a grant received at `received_at`, valid until `deadline`.
    pub(crate) fn new(
        call: EndpointCall,
        expiry: Expired,
        received_at: Instant,
        deadline: Instant,
        interval: Duration,
    ) -> Self {
        Self {
            call,
            expiry,
            deadline,
            interval,
            next_poll_at: received_at.checked_add(interval).unwrap_or(deadline),
            polls: 0,
            failures: 0,
            nonce_retried: false,
            state: State::Idle,
        }
    }

    pub(crate) fn status(&self, now: Now) -> PollingStatus {
        PollingStatus {
            interval: self.interval,
            polls: self.polls,
            deadline: self.deadline,
            time_left: self.deadline.saturating_duration_since(now.monotonic()),
            next_poll_in: self.next_poll_at.saturating_duration_since(now.monotonic()),
            failures: self.failures,
        }
    }

    pub(crate) fn next(&mut self, now: Now) -> Result<Step<TokenResponse>, Error> {
        let state = std::mem::replace(&mut self.state, State::Failed);
        let resend = matches!(state, State::Awaiting);
        match state {
            State::Finished(token) => {
                self.state = State::Done;
                return Ok(Step::Done(*token));
            }
            State::Done => {
                self.state = State::Done;
                return Err(Misuse::AlreadyDone.into());
            }
            State::Failed => return Err(Misuse::AlreadyFailed.into()),
            State::Idle | State::Awaiting => {}
        }
        // From here on the state is Failed unless a step below says otherwise.
        if now.monotonic() >= self.deadline || self.next_poll_at >= self.deadline {
            return Err(self.expiry.into());
        }
        if now.monotonic() < self.next_poll_at {
            self.state = State::Idle;
            return Ok(Step::Wait(self.next_poll_at - now.monotonic()));
        }
        match self.call.build(now) {
            Ok(request) => {
                if !resend {
                    self.polls = self.polls.saturating_add(1);
                }
                self.state = State::Awaiting;
                Ok(Step::Send(request))
            }
            Err(e) => {
                self.state = State::Idle;
                Err(e)
            }
        }
    }

    pub(crate) fn handle_response(
        &mut self,
        response: &http::Response<Vec<u8>>,
        now: Now,
    ) -> Result<(), Error> {
        if !matches!(self.state, State::Awaiting) {
            return Err(Misuse::UnexpectedResponse.into());
        }
        if self.call.dpop_retry(response) && !self.nonce_retried {
            // Send again at once with the server's fresh DPoP nonce; only once in a row.
            self.nonce_retried = true;
            self.next_poll_at = now.monotonic();
            self.state = State::Idle;
            return Ok(());
        }
        self.nonce_retried = false;
        let status = response.status().as_u16();
        match TokenResponse::from_response(response, now) {
            Ok(token) => {
                if let Err(e) = self.call.check_binding(&token) {
                    self.state = State::Failed;
                    return Err(e);
                }
                self.state = State::Finished(Box::new(token));
                Ok(())
            }
            Err(Error::OAuth(e)) if e.code == ErrorCode::AuthorizationPending => {
                self.failures = 0;
                self.schedule(now, self.interval, &e.headers);
                Ok(())
            }
            Err(Error::OAuth(e)) if e.code == ErrorCode::SlowDown => {
                self.failures = 0;
                self.interval = self.interval.saturating_add(SLOW_DOWN_STEP);
                self.schedule(now, self.interval, &e.headers);
                Ok(())
            }
            Err(Error::UnexpectedResponse(e)) if status == 429 || status == 503 => {
                // Overloaded, not refusing: back off as after a failed request.
                self.failures = self.failures.saturating_add(1);
                self.schedule(now, self.backoff(), &e.headers);
                Ok(())
            }
            Err(e) => {
                self.state = State::Failed;
                Err(e)
            }
        }
    }

    pub(crate) fn handle_transport_error(&mut self, now: Now) -> Recovery {
        if !matches!(self.state, State::Awaiting) {
            return Recovery::GiveUp;
        }
        self.failures = self.failures.saturating_add(1);
        let delay = self.backoff();
        self.schedule(now, delay, &ResponseHeaders::default());
        Recovery::Retry
    }

    /// The interval doubled for each failure in a row, capped, never below the interval.
    fn backoff(&self) -> Duration {
        let factor = 1u32 << self.failures.min(10);
        self.interval
            .saturating_mul(factor)
            .min(MAX_BACKOFF)
            .max(self.interval)
    }

    /// The next poll: after `delay`, or later if the server's `Retry-After` asks for longer.
    fn schedule(&mut self, now: Now, delay: Duration, headers: &ResponseHeaders) {
        let asked = headers
            .retry_after
            .map_or(Duration::ZERO, |r| r.delay_from(now.wall()));
        let delay = delay.max(asked);
        self.next_poll_at = now.monotonic().checked_add(delay).unwrap_or(self.deadline);
        self.state = State::Idle;
    }
}

/// Implements [`Flow`](crate::Flow) for a public polling wrapper whose field `inner` is a
/// [`TokenExchange`](crate::flow::TokenExchange) around a [`Poller`] (polling, then the ID token
/// check), with `status` and the named opt-out of the ID token check.
macro_rules! polling_flow {
    ($flow:ty) => {
        impl $crate::Flow for $flow {
            type Output = $crate::TokenResponse;

            fn next(
                &mut self,
                now: $crate::Now,
            ) -> Result<$crate::Step<Self::Output>, $crate::Error> {
                self.inner.next(now)
            }

            fn handle_response(
                &mut self,
                response: http::Response<Vec<u8>>,
                now: $crate::Now,
            ) -> Result<(), $crate::Error> {
                self.inner.handle_response(&response, now)
            }

            fn handle_transport_error(&mut self, now: $crate::Now) -> $crate::Recovery {
                self.inner.handle_transport_error(now)
            }
        }
    };
}
pub(crate) use polling_flow;
