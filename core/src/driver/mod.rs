//! For the authors of drivers: what a driver must guarantee, the run loop's rules in one place
//! ([`Run`]), and the errors every driver reports ([`RunError`], [`TransportError`],
//! [`AuthError`], [`ApiError`]).
//!
//! A *driver* runs the core's state machines over a real HTTP stack: `grantline-ureq`
//! (blocking), `grantline-reqwest` (async) and `grantline-tower` (a tower `Layer` for hyper or
//! tonic clients) are three. Each adds only how it sends and how it waits; every OAuth rule is
//! here, in the core.
//!
//! # Writing a driver
//!
//! A driver does four things, and must guarantee each:
//!
//! 1. **Send one request, return one response.** Turn an `http::Request<Vec<u8>>` into an
//!    `http::Response<Vec<u8>>`, and:
//!    - **follow no redirects** on requests to the authorization server: a redirected `POST`
//!      would carry a client secret or an assertion to wherever the `Location` points;
//!    - **return every status** as a response (a `400` holds the OAuth error the flow needs);
//!    - **cap every body** it reads (the transports' default is 1 MiB): a hostile or broken
//!      server must not exhaust memory; over the cap is
//!      [`TransportErrorKind::BodyTooLarge`];
//!    - **time out**: a connect timeout and an overall one by default (the transports use 10 s
//!      and 30 s), so a server that accepts the connection and never answers cannot hang the
//!      application;
//!    - on failure, classify it as a [`TransportErrorKind`] (the same failure, the same kind).
//! 2. **Run flows** with [`Run`]: it calls the flow's `handle_transport_error` on a failed
//!    exchange (so a polling flow can retry), and tells an observer what happens. The driver
//!    adds the sleep on [`Step::Wait`] and cancellation in the way of its runtime.
//! 3. **Authorize resource requests** with an [`Authorizer`](crate::authorizer::Authorizer)
//!    behind a lock, adding only the waiting primitive (a condition variable, an async notify):
//!    the authorizer decides whether to attach, renew or wait, and after the response whether
//!    to resend once.
//! 4. **Cap the bodies it hands to the application** the same way (JSON included).
//!
//! The loop, for a blocking driver (`send` is the driver's own):
//!
//! ```
//! use grantline::driver::{Run, RunError, TransportError};
//! use grantline::{Client, Now, Step, grant::TokenRequest};
//!
//! fn run<F: grantline::Flow>(
//!     flow: F,
//!     send: impl Fn(http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, TransportError>,
//! ) -> Result<F::Output, RunError> {
//!     let mut run = Run::new(flow);
//!     loop {
//!         match run.next(Now::system())? {
//!             Step::Send(request) => run.handle(send(request), Now::system())?,
//!             Step::Wait(duration) => std::thread::sleep(duration),
//!             Step::Done(output) => return Ok(output),
//!         }
//!     }
//! }
//!
//! let client = Client::builder("svc")
//!     .token_endpoint("https://as.example/token")
//!     .client_secret_basic("s3cr3t")
//!     .build()?;
//! let flow = client.request_token(TokenRequest::client_credentials())?;
//! let token = run(flow, |_request| {
//!     Ok(http::Response::builder()
//!         .status(200)
//!         .header("content-type", "application/json")
//!         .body(br#"{"access_token":"at","token_type":"Bearer"}"#.to_vec())
//!         .unwrap())
//! })?;
//! assert_eq!(token.access_token().secret(), "at");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `grantline-tower` (about 300 lines) is the smallest complete driver to read.

mod error;

use std::time::Duration;

use crate::trace::RunTrace;
use crate::{Flow, Now, Progress, Recovery, Step};

/// The most bytes of a response body a driver reads unless told otherwise: 1 MiB.
///
/// Token, introspection, metadata and JWKS answers are a few KiB, and so are most API answers a
/// client decodes whole; a body much larger than that is a wrong endpoint or a hostile server,
/// and reading it whole would let the server choose how much memory the client spends.
///
/// ```
/// assert_eq!(grantline::driver::DEFAULT_BODY_LIMIT, 1024 * 1024);
/// ```
pub const DEFAULT_BODY_LIMIT: u64 = 1024 * 1024;

/// How long a driver's default HTTP client waits for a connection (TCP and TLS): 10 seconds.
///
/// ```
/// assert_eq!(grantline::driver::DEFAULT_CONNECT_TIMEOUT.as_secs(), 10);
/// ```
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a driver's default HTTP client gives one request, from the connection to the end
/// of the body: 30 seconds, as panva's `openid-client` and `oauth4webapi` do.
///
/// A token endpoint that accepts the connection and never answers then costs 30 s, and the
/// callers waiting for that renewal share the timeout error; it can never hang an application.
///
/// ```
/// assert_eq!(grantline::driver::DEFAULT_TIMEOUT.as_secs(), 30);
/// ```
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Decodes an API's JSON answer, read under the driver's cap, into `T` (for an API client's
/// `recv_json`: drivers hold no JSON code).
///
/// # Errors
///
/// [`ApiError::Body`] when `body` is not the JSON `T` expects.
///
/// ```
/// let ids: Vec<u32> = grantline::driver::decode_json(b"[1, 2]")?;
/// assert_eq!(ids, [1, 2]);
/// assert!(grantline::driver::decode_json::<Vec<u32>>(b"{").is_err());
/// # Ok::<(), grantline::driver::ApiError>(())
/// ```
pub fn decode_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::Body(Box::new(e)))
}

/// Encodes `value` as a JSON request body (for an API client's `json`).
///
/// # Errors
///
/// [`ApiError::Request`] when `value` does not serialize to JSON (a map with non-string keys,
/// a failing `Serialize` implementation).
///
/// ```
/// let body = grantline::driver::encode_json(&[1, 2])?;
/// assert_eq!(body, b"[1,2]");
/// # Ok::<(), grantline::driver::ApiError>(())
/// ```
pub fn encode_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| ApiError::Request(Box::new(e)))
}

pub use error::{
    ApiError, AuthError, BoxError, RunError, StatusError, TransportError, TransportErrorKind,
};

/// One run of a flow by a driver: the run loop's rules, without its I/O and its sleep.
///
/// [`next`](Self::next) is the flow's [`next`](Flow::next), reported to the observer;
/// [`handle`](Self::handle) takes what the driver's send gave, a response or a
/// [`TransportError`], and hands it to the flow (a failed exchange goes to
/// [`Flow::handle_transport_error`], which may ask for a retry).
///
/// ```
/// use grantline::driver::{Run, TransportError, TransportErrorKind};
/// use grantline::{Client, Now, Progress, Step, grant::TokenRequest};
///
/// let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
/// let flow = client.request_token(TokenRequest::client_credentials())?;
/// let mut seen = Vec::new();
/// let mut run = Run::observed(flow, |_flow, progress| seen.push(progress));
/// let Step::Send(_request) = run.next(Now::system())? else { unreachable!() };
/// let failed = run.handle(Err(TransportError::new(TransportErrorKind::Connect)), Now::system());
/// assert!(failed.unwrap_err().is_network());
/// drop(run);
/// assert_eq!(seen, [Progress::Sending]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Run<F, O = fn(&F, Progress)> {
    flow: F,
    observer: O,
    /// The `tracing` spans and events of the run (nothing without the `tracing` feature).
    trace: RunTrace,
}

impl<F: Flow> Run<F> {
    /// A run nobody observes.
    ///
    /// ```
    /// # use grantline::{Client, grant::TokenRequest};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let run = grantline::driver::Run::new(client.request_token(TokenRequest::client_credentials())?);
    /// # let _ = run;
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn new(flow: F) -> Self {
        Self {
            flow,
            observer: |_, _| {},
            trace: RunTrace::new::<F>(),
        }
    }
}

impl<F: Flow, O: FnMut(&F, Progress)> Run<F, O> {
    /// A run that tells `observer` each step, with the flow (to read a poller's status, say).
    ///
    /// ```
    /// # use grantline::{Client, grant::TokenRequest};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// # let flow = client.request_token(TokenRequest::client_credentials())?;
    /// let run = grantline::driver::Run::observed(flow, |_flow, progress| eprintln!("{progress:?}"));
    /// # let _ = run;
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn observed(flow: F, observer: O) -> Self {
        Self {
            flow,
            observer,
            trace: RunTrace::new::<F>(),
        }
    }

    /// The flow's next step; `Send` and `Wait` are reported to the observer.
    ///
    /// # Errors
    ///
    /// The flow's error, as [`RunError::Flow`].
    ///
    /// ```
    /// # use grantline::{Client, Now, Step, grant::TokenRequest};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let mut run = grantline::driver::Run::new(client.request_token(TokenRequest::client_credentials())?);
    /// assert!(matches!(run.next(Now::system())?, Step::Send(_)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next(&mut self, now: Now) -> Result<Step<F::Output>, RunError> {
        let step = match self.flow.next(now) {
            Ok(step) => step,
            Err(error) => {
                self.trace.done(Some(&error), now);
                return Err(error.into());
            }
        };
        match &step {
            Step::Send(request) => {
                self.trace.sending(request, now);
                (self.observer)(&self.flow, Progress::Sending);
            }
            Step::Wait(duration) => {
                self.trace.waiting(*duration);
                (self.observer)(&self.flow, Progress::Waiting(*duration));
            }
            Step::Done(_) => self.trace.done(None, now),
        }
        Ok(step)
    }

    /// Hands the flow what the last `Send` gave: a response, or the driver's failure (which
    /// the flow may answer with a retry).
    ///
    /// # Errors
    ///
    /// The flow's error for the response ([`RunError::Flow`]), or the transport's error when
    /// the flow gives up on it ([`RunError::Transport`]).
    ///
    /// ```
    /// # use grantline::{Client, Now, Step, grant::TokenRequest};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let mut run = grantline::driver::Run::new(client.request_token(TokenRequest::client_credentials())?);
    /// let _ = run.next(Now::system())?;
    /// let answer = http::Response::builder().status(200)
    ///     .header("content-type", "application/json")
    ///     .body(br#"{"access_token":"at","token_type":"Bearer"}"#.to_vec())?;
    /// run.handle(Ok(answer), Now::system())?;
    /// assert!(matches!(run.next(Now::system())?, Step::Done(_)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle(
        &mut self,
        result: Result<http::Response<Vec<u8>>, TransportError>,
        now: Now,
    ) -> Result<(), RunError> {
        match result {
            Ok(response) => {
                let status = response.status();
                self.trace.received(status, now);
                if let Err(error) = self.flow.handle_response(response, now) {
                    self.trace.done(Some(&error), now);
                    return Err(error.into());
                }
                (self.observer)(&self.flow, Progress::Received(status));
                Ok(())
            }
            Err(error) => match self.flow.handle_transport_error(now) {
                Recovery::Retry => {
                    self.trace.transport_failed(&error, true, now);
                    (self.observer)(&self.flow, Progress::TransportFailed);
                    Ok(())
                }
                Recovery::GiveUp => {
                    self.trace.transport_failed(&error, false, now);
                    self.trace.done(Some(&error), now);
                    Err(RunError::Transport(error))
                }
            },
        }
    }
}
