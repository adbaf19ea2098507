//! Three hours of calls to an API protected by client credentials, with the blocking ureq
//! transport, and not one line about tokens in the loop.
//!
//! `cargo run -p grantline-tests --example api_client_ureq` runs it against a local demo
//! authorization server and API whose tokens live five minutes, on a clock running 900 times
//! faster (three hours in twelve seconds). The API refuses expired tokens, so every call that
//! succeeds is proof the token was renewed in time; each renewal is printed as it happens.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use grantline::Client;
use grantline::clock::{Clock, ScaledClock};
use grantline::grant::TokenRequest;
use grantline::token_manager::TokenManager;
use grantline_tests::api_demo::{self, ApiDemo};
use grantline_ureq::{ApiClient, Auth, Transport};

type AnyError = Box<dyn std::error::Error + Send + Sync>;

/// Fifteen minutes of token time per real second: three hours take twelve seconds. (Much
/// faster, and a millisecond of scheduling delay becomes seconds of token time, eating the 30 s
/// leeway; the 401 retry would then save the call, but the demo is about never needing it.)
const SPEED: u32 = 900;

#[derive(serde::Deserialize)]
struct Session {
    id: String,
    owner: String,
}

fn main() -> Result<(), AnyError> {
    let runtime = tokio::runtime::Runtime::new()?;
    let demo = runtime.block_on(ApiDemo::start(SPEED));
    let clock = ScaledClock::new(SPEED);
    let renewals = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&renewals);

    // What an application writes: a client, a token manager, an auth handler, an API client.
    let client = Client::builder(api_demo::CLIENT_ID)
        .token_endpoint(demo.token_endpoint())
        .client_secret_basic(api_demo::CLIENT_SECRET)
        .build()?;
    let manager = TokenManager::grant(
        client,
        TokenRequest::client_credentials().scope("sessions:read"),
    )?
    .on_renewed(move |token| {
        let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
        let lifetime = token.expires_in(clock.now().wall()).unwrap_or_default();
        println!(
            "  token #{n}: valid for {}s (a real app would store it here)",
            lifetime.as_secs()
        );
    });
    let transport = Transport::new().clock(clock);
    let api = ApiClient::new(&demo.api_base())?.auth(Auth::new(transport, manager));

    // Three hours, one call a minute.
    for minute in 1..=180 {
        let sessions: Vec<Session> = api.get("sessions").recv_json()?;
        if minute % 30 == 0 {
            let first = sessions.first().map(|s| format!("{} ({})", s.id, s.owner));
            println!(
                "{}h{:02}: {} sessions, first {}",
                minute / 60,
                minute % 60,
                sessions.len(),
                first.unwrap_or_default()
            );
        }
        std::thread::sleep(clock.real_duration(Duration::from_secs(60)));
    }

    println!(
        "3 hours: {} API calls, {} token requests, {} renewals, {} calls refused at first",
        demo.api_calls(),
        demo.token_requests(),
        renewals.load(Ordering::SeqCst),
        demo.rejections()
    );
    if demo.rejections() > 0 {
        println!("(refused calls were renewed and sent again by the auth handler: none failed)");
    }
    Ok(())
}
