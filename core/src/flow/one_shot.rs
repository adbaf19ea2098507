//! The one-shot engine: a flow that sends one request and parses one response.

use super::endpoint_call::{DocumentCall, EndpointCall};
use crate::error::Misuse;
use crate::flow::Step;
use crate::{Error, Now};

/// What a one-shot flow sends.
#[derive(Debug, Clone)]
pub(crate) enum Call {
    /// A client-authenticated form POST.
    Form(EndpointCall),
    /// A plain GET of a document.
    Document(DocumentCall),
}

impl Call {
    fn build(&self, now: Now) -> Result<http::Request<Vec<u8>>, Error> {
        match self {
            Call::Form(call) => call.build(now),
            Call::Document(call) => call.build(),
        }
    }
}

impl From<EndpointCall> for Call {
    fn from(call: EndpointCall) -> Self {
        Call::Form(call)
    }
}

impl From<DocumentCall> for Call {
    fn from(call: DocumentCall) -> Self {
        Call::Document(call)
    }
}

/// Parses a response into a flow's output (a closure, so a parser can carry what it checks
/// against, such as an expected issuer).
pub(crate) type Parser<T> =
    Box<dyn Fn(&http::Response<Vec<u8>>, Now) -> Result<T, Error> + Send + Sync>;

/// A flow that sends one request and parses one response.
pub(crate) struct OneShot<T> {
    nonce_retried: bool,
    call: Call,
    parse: Parser<T>,
    state: State<T>,
}

enum State<T> {
    /// Nothing sent yet, or a request is out and may be sent again.
    Ready { awaiting: bool },
    /// The output is ready to hand out.
    Finished(T),
    /// The output was handed out.
    Done,
    /// The server's answer was an error.
    Failed,
}

impl<T> std::fmt::Debug for OneShot<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Ready { awaiting: false } => "ready",
            State::Ready { awaiting: true } => "awaiting response",
            State::Finished(_) => "finished",
            State::Done => "done",
            State::Failed => "failed",
        };
        f.debug_struct("OneShot")
            .field("call", &self.call)
            .field("state", &state)
            .finish()
    }
}

impl<T> OneShot<T> {
    /// The form call, if this one-shot sends one.
    pub(crate) fn form_call(&self) -> Option<&EndpointCall> {
        match &self.call {
            Call::Form(call) => Some(call),
            Call::Document(_) => None,
        }
    }

    pub(crate) fn new(
        call: impl Into<Call>,
        parse: impl Fn(&http::Response<Vec<u8>>, Now) -> Result<T, Error> + Send + Sync + 'static,
    ) -> Self {
        Self {
            nonce_retried: false,
            call: call.into(),
            parse: Box::new(parse),
            state: State::Ready { awaiting: false },
        }
    }

    pub(crate) fn next(&mut self, now: Now) -> Result<Step<T>, Error> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Ready { awaiting } => match self.call.build(now) {
                Ok(request) => {
                    self.state = State::Ready { awaiting: true };
                    Ok(Step::Send(request))
                }
                Err(e) => {
                    self.state = State::Ready { awaiting };
                    Err(e)
                }
            },
            State::Finished(output) => Ok(Step::Done(output)),
            State::Done => Err(Misuse::AlreadyDone.into()),
            State::Failed => {
                self.state = State::Failed;
                Err(Misuse::AlreadyFailed.into())
            }
        }
    }

    pub(crate) fn handle_response(
        &mut self,
        response: &http::Response<Vec<u8>>,
        now: Now,
    ) -> Result<(), Error> {
        if !matches!(self.state, State::Ready { awaiting: true }) {
            return Err(Misuse::UnexpectedResponse.into());
        }
        if let Call::Form(call) = &self.call {
            // One more try with the server's fresh nonce; a second `use_dpop_nonce` in a row
            // is the server's error, not a loop.
            if call.dpop_retry(response) && !self.nonce_retried {
                self.nonce_retried = true;
                self.state = State::Ready { awaiting: false };
                return Ok(());
            }
        }
        match (self.parse)(response, now) {
            Ok(output) => {
                self.state = State::Finished(output);
                Ok(())
            }
            Err(e) => {
                self.state = State::Failed;
                Err(e)
            }
        }
    }
}

/// Implements [`Flow`](crate::Flow) for a public wrapper around a [`OneShot`] in field `0`.
macro_rules! one_shot_flow {
    ($flow:ty, $output:ty) => {
        impl $crate::Flow for $flow {
            type Output = $output;

            fn next(
                &mut self,
                now: $crate::Now,
            ) -> Result<$crate::Step<Self::Output>, $crate::Error> {
                self.0.next(now)
            }

            fn handle_response(
                &mut self,
                response: http::Response<Vec<u8>>,
                now: $crate::Now,
            ) -> Result<(), $crate::Error> {
                self.0.handle_response(&response, now)
            }
        }
    };
}
pub(crate) use one_shot_flow;
