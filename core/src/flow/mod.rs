//! The one state-machine shape every exchange with a server takes.
//!
//! A [`Flow`] says what it needs next with [`Flow::next`] and is told what happened with
//! [`Flow::handle_response`] (or [`Flow::handle_transport_error`] when no answer came). A driver
//! (a transport crate, a test, your own HTTP stack) runs this loop, and nothing else:
//!
//! ```
//! use grantline::{Flow, Now, Recovery, Step};
//! use std::time::Duration;
//!
//! enum RunError<E> {
//!     Flow(grantline::Error),
//!     Transport(E),
//! }
//!
//! /// Runs any flow with a caller-supplied `send` and `sleep`.
//! fn run<F: Flow, E>(
//!     mut flow: F,
//!     mut send: impl FnMut(http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, E>,
//!     mut sleep: impl FnMut(Duration),
//! ) -> Result<F::Output, RunError<E>> {
//!     loop {
//!         match flow.next(Now::system()).map_err(RunError::Flow)? {
//!             Step::Send(request) => match send(request) {
//!                 Ok(response) => flow
//!                     .handle_response(response, Now::system())
//!                     .map_err(RunError::Flow)?,
//!                 Err(e) => {
//!                     if flow.handle_transport_error(Now::system()) == Recovery::GiveUp {
//!                         return Err(RunError::Transport(e));
//!                     }
//!                 }
//!             },
//!             Step::Wait(duration) => sleep(duration),
//!             Step::Done(output) => return Ok(output),
//!         }
//!     }
//! }
//! ```
//!
//! # The contract
//!
//! - `next` may be called again before a response is handled: it returns an equivalent request
//!   (with a fresh proof or `jti` where a spec requires one), so a driver may retry a request
//!   that failed in transit.
//! - `Wait(duration)` is computed from the `now` passed in; waking early is harmless (the flow
//!   answers `Wait` again with what remains), waking late is harmless too.
//! - `Done` is returned once. After it, or after a flow failed, `next` returns
//!   [`Error::Misuse`].
//! - `Flow` is object safe, so flows can be stored as `Box<dyn Flow<Output = T>>`.
//!
//! ## Polling (device authorization and CIBA)
//!
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
//!
//! ## Where the engine lives
//!
//! This module holds the whole engine: the [`Flow`] trait and its [`Step`] (here),
//! the one-shot engine that sends one request and parses one response (`one_shot.rs`),
//! the requests to the endpoints (`endpoint_call.rs`), the poller (`poller.rs`) and the
//! token exchange that validates an ID token after it (`token_exchange.rs`).

mod endpoint_call;
mod one_shot;
mod poller;
mod token_exchange;
#[cfg(test)]
#[cfg(feature = "jose")]
mod token_exchange_tests;

pub(crate) use endpoint_call::{DocumentCall, EndpointCall, Form, Params, check_extra};
pub(crate) use one_shot::{OneShot, one_shot_flow};
pub use poller::{MAX_POLLING_LIFETIME, PollingStatus};
pub(crate) use poller::{Poller, interval_from, lifetime_from, polling_flow};
pub(crate) use token_exchange::{IdTokenCheck, TokenExchange, require_validation_setup};

use std::time::Duration;

use crate::{Error, Now};

/// An exchange with a server, as a state machine that does no I/O.
///
/// See the [module documentation](self) for the loop that drives it.
///
/// ```
/// use grantline::{Flow, Step, Now, TokenResponse};
///
/// // Flows of different kinds can be held behind one trait object.
/// fn boxed(flow: grantline::grant::TokenFlow) -> Box<dyn Flow<Output = TokenResponse>> {
///     Box::new(flow)
/// }
/// ```
pub trait Flow {
    /// What the flow produces when it is done.
    type Output;

    /// What the flow needs next: a request to send, a pause, or its output.
    ///
    /// # Errors
    ///
    /// A flow that cannot go on (a deadline passed, it was already done, a request could not be
    /// built) returns the reason as an [`Error`].
    fn next(&mut self, now: Now) -> Result<Step<Self::Output>, Error>;

    /// Takes the response to the request last returned by [`next`](Flow::next).
    ///
    /// # Errors
    ///
    /// The server's OAuth error, an answer that could not be understood, or a response that
    /// arrived when no request was outstanding ([`Error::Misuse`]).
    fn handle_response(&mut self, response: http::Response<Vec<u8>>, now: Now)
    -> Result<(), Error>;

    /// Tells the flow that the last request got no answer (connection refused, timeout, TLS
    /// failure, a body over the size limit).
    ///
    /// The flow answers whether it wants to go on: a polling flow backs off and returns
    /// [`Recovery::Retry`] (its next step is then a [`Step::Wait`]); a one-shot exchange returns
    /// [`Recovery::GiveUp`], the default, and the driver reports its transport error. A flow that
    /// gave up can still be retried by hand: [`next`](Flow::next) returns the request again.
    fn handle_transport_error(&mut self, now: Now) -> Recovery {
        let _ = now;
        Recovery::GiveUp
    }
}

impl<F: Flow + ?Sized> Flow for Box<F> {
    type Output = F::Output;

    fn next(&mut self, now: Now) -> Result<Step<Self::Output>, Error> {
        (**self).next(now)
    }

    fn handle_response(
        &mut self,
        response: http::Response<Vec<u8>>,
        now: Now,
    ) -> Result<(), Error> {
        (**self).handle_response(response, now)
    }

    fn handle_transport_error(&mut self, now: Now) -> Recovery {
        (**self).handle_transport_error(now)
    }
}

impl<F: Flow + ?Sized> Flow for &mut F {
    type Output = F::Output;

    fn next(&mut self, now: Now) -> Result<Step<Self::Output>, Error> {
        (**self).next(now)
    }

    fn handle_response(
        &mut self,
        response: http::Response<Vec<u8>>,
        now: Now,
    ) -> Result<(), Error> {
        (**self).handle_response(response, now)
    }

    fn handle_transport_error(&mut self, now: Now) -> Recovery {
        (**self).handle_transport_error(now)
    }
}

/// What a [`Flow`] needs next.
///
/// Exhaustive on purpose: a driver matches all three. Always write `Step::Send`, never
/// glob-import the variants (`Send` would shadow the marker trait).
///
/// ```
/// use grantline::Step;
/// use std::time::Duration;
///
/// let step: Step<()> = Step::Wait(Duration::from_secs(5));
/// assert!(matches!(step, Step::Wait(d) if d.as_secs() == 5));
/// ```
#[must_use = "a step says what the driver must do next"]
#[allow(clippy::exhaustive_enums, clippy::large_enum_variant)]
pub enum Step<T> {
    /// Send this request and give the response to [`Flow::handle_response`].
    Send(http::Request<Vec<u8>>),
    /// Call [`Flow::next`] again after this long.
    Wait(Duration),
    /// The flow is finished; here is its output.
    Done(T),
}

impl<T> std::fmt::Debug for Step<T> {
    /// Shows the method and URI of a request, never its headers or body (they carry secrets).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Send(request) => write!(f, "Send({} {})", request.method(), request.uri()),
            Step::Wait(duration) => write!(f, "Wait({duration:?})"),
            Step::Done(_) => f.write_str("Done(..)"),
        }
    }
}

/// A flow's answer to a failed request: go on, or stop.
///
/// ```
/// use grantline::Recovery;
/// assert_ne!(Recovery::Retry, Recovery::GiveUp);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::exhaustive_enums)]
pub enum Recovery {
    /// The flow will try again: call [`Flow::next`], which usually answers with a wait first.
    Retry,
    /// The flow cannot recover: the driver reports its transport error.
    GiveUp,
}

/// What a driver reports to an observer while it runs a flow, so a UI can show progress (the
/// flow itself answers the details, such as a polling flow's `status`).
///
/// ```
/// use grantline::flow::Progress;
///
/// fn show(progress: &Progress) -> String {
///     match progress {
///         Progress::Sending => "asking the server...".to_owned(),
///         Progress::Waiting(d) => format!("next try in {}s", d.as_secs()),
///         Progress::Received(status) => format!("answer: {status}"),
///         Progress::TransportFailed => "no answer, backing off".to_owned(),
///         _ => String::new(),
///     }
/// }
/// # let _ = show;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// A request is about to be sent.
    Sending,
    /// The server answered with this status; the flow has taken the answer.
    Received(http::StatusCode),
    /// The request got no answer; the flow decided to try again.
    TransportFailed,
    /// The driver is about to wait this long (flow time: see
    /// [`Clock::real_duration`](crate::clock::Clock::real_duration)).
    Waiting(Duration),
}
