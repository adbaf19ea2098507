//! The device flow with the blocking ureq transport: prints the user code, then polls, showing
//! each step, until the token comes.
//!
//! `cargo run -p grantline-tests --example device_flow_ureq` runs it against a local demo
//! server (pending, slow_down, pending, token) on a clock running 10 times faster.
//! `cargo run -p grantline-tests --example device_flow_ureq -- DEVICE_ENDPOINT TOKEN_ENDPOINT CLIENT_ID`
//! runs it against your own server, in real time.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use grantline::clock::ScaledClock;
use grantline::device::DeviceAuthorizationRequest;
use grantline::{Client, Progress};
use grantline_ureq::{Cancellation, Transport};

type AnyError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), AnyError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Runtime::new()?;
    let (demo, device, token, client_id) = match args.as_slice() {
        [device, token, client_id] => (None, device.clone(), token.clone(), client_id.clone()),
        _ => {
            let server = runtime.block_on(grantline_tests::demo::device_server());
            let uri = server.uri();
            (
                Some(server),
                format!("{uri}/device"),
                format!("{uri}/token"),
                "tv-app".to_owned(),
            )
        }
    };
    let client = Client::builder(client_id)
        .device_authorization_endpoint(device)
        .token_endpoint(token)
        .build()?;
    let mut transport = Transport::new();
    if demo.is_some() {
        transport = transport.clock(ScaledClock::new(10));
    }

    let authorization =
        transport
            .run(client.device_authorization(
                DeviceAuthorizationRequest::new().scope("openid profile"),
            )?)?;
    println!(
        "On another device, open {} and enter the code {}",
        authorization.verification_uri(),
        authorization.user_code()
    );
    if let Some(complete) = authorization.verification_uri_complete() {
        println!("(or open {complete})");
    }

    let flow = client.device_token(authorization)?;
    let token = transport.run_with(flow, &Cancellation::new(), |flow, progress| {
        let status = flow.status(transport.now());
        match progress {
            Progress::Waiting(wait) => eprintln!(
                "  waiting {:.1}s (interval {}s, {} polls so far)",
                wait.as_secs_f64(),
                status.interval.as_secs(),
                status.polls
            ),
            Progress::Received(http_status) => {
                eprintln!("  poll {}: HTTP {http_status}", status.polls)
            }
            Progress::TransportFailed => eprintln!("  no answer; backing off"),
            _ => {}
        }
    })?;
    println!(
        "Approved: a {} token, refresh token {}",
        token.token_type(),
        if token.refresh_token().is_some() {
            "issued"
        } else {
            "not issued"
        }
    );
    Ok(())
}
