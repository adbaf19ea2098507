//! The device flow with the async reqwest transport: prints the user code, then polls, showing
//! each step, until the token comes.
//!
//! `cargo run -p grantline-tests --example device_flow_reqwest` runs it against a local demo
//! server (pending, slow_down, pending, token) on a clock running 10 times faster.
//! `cargo run -p grantline-tests --example device_flow_reqwest -- DEVICE_ENDPOINT TOKEN_ENDPOINT CLIENT_ID`
//! runs it against your own server, in real time.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use grantline::clock::ScaledClock;
use grantline::device::DeviceAuthorizationRequest;
use grantline::{Client, Progress};
use grantline_reqwest::Transport;

type AnyError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), AnyError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (demo, device, token, client_id) = match args.as_slice() {
        [device, token, client_id] => (None, device.clone(), token.clone(), client_id.clone()),
        _ => {
            let server = grantline_tests::demo::device_server().await;
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
    let mut transport = Transport::new()?;
    if demo.is_some() {
        transport = transport.clock(ScaledClock::new(10));
    }

    let authorization = transport
        .run(
            client
                .device_authorization(DeviceAuthorizationRequest::new().scope("openid profile"))?,
        )
        .await?;
    println!(
        "On another device, open {} and enter the code {}",
        authorization.verification_uri(),
        authorization.user_code()
    );

    // Ctrl-C (or any other future) can stop the polling: dropping `run_with`'s future cancels it.
    let flow = client.device_token(authorization)?;
    let polling = transport.run_with(flow, |flow, progress| {
        let status = flow.status(transport.now());
        match progress {
            Progress::Waiting(wait) => eprintln!(
                "  waiting {:.1}s (interval {}s, {} polls so far, {}s left)",
                wait.as_secs_f64(),
                status.interval.as_secs(),
                status.polls,
                status.time_left.as_secs()
            ),
            Progress::Received(http_status) => {
                eprintln!("  poll {}: HTTP {http_status}", status.polls)
            }
            Progress::TransportFailed => eprintln!("  no answer; backing off"),
            _ => {}
        }
    });
    let token = tokio::select! {
        token = polling => token?,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("cancelled");
            return Ok(());
        }
    };
    println!(
        "Approved: a {} token, expires at {:?}",
        token.token_type(),
        token.expires_at()
    );
    Ok(())
}
