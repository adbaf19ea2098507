//! What the interop test files share: the two transports behind one runner, so every flow is
//! run through both.

#![allow(dead_code)] // each test binary uses a different part of this shared module

use grantline::clock::ScaledClock;
use grantline::{Flow, Progress};

/// The redirect URI registered for the interop clients (nothing listens there: the test's
/// browser stops at the redirect and hands its URL to the client).
pub(crate) const REDIRECT: &str = "http://127.0.0.1:9/callback";
/// What the browser's last redirect starts with.
pub(crate) const REDIRECT_PREFIX: &str = "http://127.0.0.1:9/callback?";

/// How much faster polling runs: a 5 s interval is a quarter of a second.
const POLLING_SPEED: u32 = 20;

/// Why a run failed.
#[derive(Debug)]
pub(crate) enum RunError {
    /// The flow's own error.
    Flow(grantline::Error),
    /// The transport's: its message, and whether the body was over the limit.
    Transport { message: String, too_large: bool },
}

/// One transport, ready to run flows.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Runner {
    Ureq {
        transport: grantline_ureq::Transport,
        fast: grantline_ureq::Transport,
    },
    Reqwest {
        transport: grantline_reqwest::Transport,
        fast: grantline_reqwest::Transport,
        runtime: tokio::runtime::Runtime,
    },
}

/// Both transports.
pub(crate) fn runners() -> Vec<Runner> {
    let agent = || {
        ureq::Agent::config_builder()
            .proxy(None)
            .build()
            .new_agent()
    };
    let client = || {
        grantline_reqwest::Transport::from_builder(reqwest::Client::builder().no_proxy()).unwrap()
    };
    vec![
        Runner::Ureq {
            transport: grantline_ureq::Transport::with_agent(agent()),
            fast: grantline_ureq::Transport::with_agent(agent())
                .clock(ScaledClock::new(POLLING_SPEED)),
        },
        Runner::Reqwest {
            transport: client(),
            fast: client().clock(ScaledClock::new(POLLING_SPEED)),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        },
    ]
}

impl Runner {
    /// `ureq` or `reqwest`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Runner::Ureq { .. } => "ureq",
            Runner::Reqwest { .. } => "reqwest",
        }
    }

    /// Runs a flow to its end.
    pub(crate) fn run<F>(&self, flow: F) -> Result<F::Output, RunError>
    where
        F: Flow + Send,
    {
        match self {
            Runner::Ureq { transport, .. } => transport.run(flow).map_err(ureq_error),
            Runner::Reqwest {
                transport, runtime, ..
            } => runtime.block_on(transport.run(flow)).map_err(reqwest_error),
        }
    }

    /// Runs a flow on the fast clock. The steps of one grant must all run on the same clock:
    /// a device authorization received on the fast clock is polled on the fast clock.
    pub(crate) fn run_fast<F>(&self, flow: F) -> Result<F::Output, RunError>
    where
        F: Flow + Send,
    {
        self.run_with(flow, &mut |_| {})
    }

    /// Runs a flow on the fast clock (see [`run_fast`](Self::run_fast)), telling `observer`
    /// each step.
    pub(crate) fn run_with<F>(
        &self,
        flow: F,
        observer: &mut dyn FnMut(Progress),
    ) -> Result<F::Output, RunError>
    where
        F: Flow + Send,
    {
        match self {
            Runner::Ureq { fast, .. } => fast
                .run_with(flow, &grantline_ureq::Cancellation::new(), |_, p| {
                    observer(p)
                })
                .map_err(ureq_error),
            Runner::Reqwest { fast, runtime, .. } => runtime
                .block_on(fast.run_with(flow, |_, p| observer(p)))
                .map_err(reqwest_error),
        }
    }
}

fn ureq_error(e: grantline_ureq::Error) -> RunError {
    match e {
        grantline_ureq::Error::Flow(e) => RunError::Flow(e),
        grantline_ureq::Error::Transport(t) => RunError::Transport {
            message: format!("{t} / {t:?}"),
            too_large: matches!(
                t.kind(),
                grantline_ureq::TransportErrorKind::BodyTooLarge { .. }
            ),
        },
        other => RunError::Transport {
            message: format!("{other} / {other:?}"),
            too_large: false,
        },
    }
}

fn reqwest_error(e: grantline_reqwest::Error) -> RunError {
    match e {
        grantline_reqwest::Error::Flow(e) => RunError::Flow(e),
        grantline_reqwest::Error::Transport(t) => RunError::Transport {
            message: format!("{t} / {t:?}"),
            too_large: matches!(
                t.kind(),
                grantline_reqwest::TransportErrorKind::BodyTooLarge { .. }
            ),
        },
        other => RunError::Transport {
            message: format!("{other} / {other:?}"),
            too_large: false,
        },
    }
}

impl RunError {
    /// Everything the error says, in `Display` and `Debug`.
    pub(crate) fn all_text(&self) -> String {
        match self {
            RunError::Flow(e) => format!("{e} / {e:?}"),
            RunError::Transport { message, .. } => message.clone(),
        }
    }
}
