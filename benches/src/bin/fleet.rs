//! The fleet benchmark (issue 21): `cargo run --release -p grantline-benches --bin fleet`.
//!
//! 1. **Token requests per hour**, with and without a shared store: 16 simulated processes of 64
//!    callers each, one hour of token time on a fake clock (each caller asks for the token once a
//!    second), 300 s tokens with the default 30 s leeway, run through the core's own state
//!    machines (`Authorizer`, `SharedRenewal`) and `testing::MemoryStore`, which has the Redis
//!    scripts' semantics. Deterministic: no sleeps, no network.
//! 2. **Latency of a call that finds a fresh token**: in memory (the cached header) versus in
//!    Redis (one `Acquire` answered `Fresh` by a real `redis-server` on loopback, plus decoding),
//!    measured in a loop. Needs `redis-server` on the PATH.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use grantline::authorizer::{Attempt, Authorize, Authorizer};
use grantline::fleet::{BlockingStore, Fleet, SharedStep, StoreOp};
use grantline::grant::TokenRequest;
use grantline::testing::MemoryStore;
use grantline::token_manager::TokenManager;
use grantline::{Client, Flow, Now, Step, TokenResponse};

const PROCESSES: usize = 16;
const CALLERS: usize = 64;

fn authorizer(fleet: Option<&Fleet>, token_endpoint: &str) -> Authorizer {
    let client = Client::builder("bench")
        .token_endpoint(token_endpoint)
        .build()
        .unwrap();
    let manager = TokenManager::grant(client, TokenRequest::client_credentials()).unwrap();
    let authorizer = Authorizer::new(manager);
    match fleet {
        Some(fleet) => authorizer.share(fleet.clone()).unwrap(),
        None => authorizer,
    }
}

/// A token endpoint on the fake clock: counts requests, issues 300 s tokens.
fn issue(
    flow: &mut impl Flow<Output = TokenResponse>,
    now: Now,
    issued: &mut u32,
) -> TokenResponse {
    loop {
        match flow.next(now).unwrap() {
            Step::Send(_) => {
                *issued += 1;
                let body = format!(
                    r#"{{"access_token":"at-{issued}","token_type":"Bearer","expires_in":300}}"#
                );
                let response = http::Response::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .body(body.into_bytes())
                    .unwrap();
                flow.handle_response(response, now).unwrap();
            }
            Step::Wait(_) => unreachable!("a token request does not wait"),
            Step::Done(token) => return token,
        }
    }
}

/// One caller's call: attach, renew (through the store when shared), or wait (never here: the
/// fake store answers at once).
fn call(authorizer: &mut Authorizer, store: &MemoryStore, now: Now, issued: &mut u32) {
    let mut attempt = Attempt::new();
    loop {
        match authorizer.header(&mut attempt, now).unwrap() {
            Authorize::Attach(_) => return,
            Authorize::Renew(renewal, ticket) => {
                let mut shared = authorizer.shared_renewal(renewal, now);
                let result = loop {
                    match shared.next(now) {
                        SharedStep::Store(op) => shared.handle_store(store.execute(&op), now),
                        SharedStep::Renew(mut renewal) => {
                            let token = issue(&mut renewal, now, issued);
                            shared.handle_renewed(Ok(token), now);
                        }
                        SharedStep::Wait(_) => unreachable!("the store answers at once"),
                        SharedStep::Done(result) => break result,
                    }
                };
                authorizer.finish(ticket, result, now);
            }
            other => unreachable!("sequential callers never wait: {other:?}"),
        }
    }
}

fn requests_per_hour(shared: bool) -> (u32, usize) {
    let fleet = Fleet::new();
    let store = MemoryStore::new();
    let mut processes: Vec<Authorizer> = (0..PROCESSES)
        .map(|_| authorizer(shared.then_some(&fleet), "https://as.example/token"))
        .collect();
    let mut issued = 0;
    let start = Now::system();
    // Each caller calls once a second, the callers of a process spread over the second.
    let tick = Duration::from_secs(1) / u32::try_from(CALLERS).unwrap();
    let mut now = start;
    while now.monotonic() - start.monotonic() < Duration::from_secs(3600) {
        for process in &mut processes {
            call(process, &store, now, &mut issued);
        }
        now = now.advance(tick);
    }
    (issued, store.operations())
}

struct RedisServer(std::process::Child, u16);

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn redis_server() -> Option<RedisServer> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let server = RedisServer(child, port);
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(server);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples.get(index).copied().unwrap_or_default()
}

fn main() {
    println!(
        "## Token requests in one hour: {PROCESSES} processes x {CALLERS} callers, 300 s tokens\n"
    );
    println!("| | token requests / hour | store operations / hour |");
    println!("|---|---:|---:|");
    let (alone, _) = requests_per_hour(false);
    println!("| without a store (today) | {alone} | 0 |");
    let (shared, ops) = requests_per_hour(true);
    println!("| with a shared store | {shared} | {ops} |");

    let Some(redis) = redis_server() else {
        println!("\n(redis-server not found: the latency rows are skipped)");
        return;
    };
    let url = format!("redis://127.0.0.1:{}/", redis.1);
    let fleet = Fleet::new();
    let mut publisher = authorizer(Some(&fleet), "https://as.example/token");
    let plain = grantline_redis::RedisStore::open(&url).unwrap();
    let sealed = grantline_redis::RedisStore::open(&url)
        .unwrap()
        .sealing_key(grantline_redis::SealingKey::from_bytes(&[5; 32]).unwrap());
    println!(
        "\n## A call that finds a fresh token: in memory vs in Redis (loopback, one connection)\n"
    );
    println!("| where the fresh token is | median | p99 |");
    println!("|---|---:|---:|");

    // In memory: the cached header.
    let now = Now::system();
    let mut issued = 0;
    call(&mut publisher, &MemoryStore::new(), now, &mut issued);
    let mut samples = Vec::with_capacity(200_000);
    for _ in 0..200_000 {
        let started = Instant::now();
        let step = publisher.header(&mut Attempt::new(), now).unwrap();
        samples.push(started.elapsed());
        assert!(matches!(step, Authorize::Attach(_)));
    }
    let (median, p99) = (
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.99),
    );
    println!("| in memory (cached header) | {median:?} | {p99:?} |");

    for (name, store) in [("in Redis", &plain), ("in Redis, sealed", &sealed)] {
        // Publish one through this store, then time the renewal that finds it fresh.
        let store: &dyn BlockingStore = store;
        let mut reader = authorizer(Some(&Fleet::new().prefix(name)), "https://as.example/token");
        let Authorize::Renew(renewal, _) = reader.header(&mut Attempt::new(), now).unwrap() else {
            unreachable!("a new reader renews")
        };
        let mut first = reader.shared_renewal(renewal, now);
        loop {
            match first.next(now) {
                SharedStep::Store(op) => first.handle_store(store.execute(&op), now),
                SharedStep::Renew(mut renewal) => {
                    let token = issue(&mut renewal, now, &mut issued);
                    first.handle_renewed(Ok(token), now);
                }
                SharedStep::Wait(_) => unreachable!(),
                SharedStep::Done(_) => break,
            }
        }
        let key = reader.store_key().unwrap().clone();
        let mut samples = Vec::with_capacity(2000);
        for _ in 0..2000 {
            let op = StoreOp::Acquire {
                key: key.clone(),
                now: u64::try_from(
                    now.wall()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_millis(),
                )
                .unwrap(),
                lease: Duration::from_secs(15),
                unless: None,
            };
            let started = Instant::now();
            let reply = store.execute(&op).unwrap();
            let grantline::fleet::StoreReply::Fresh(value) = reply else {
                unreachable!("published above")
            };
            let token: TokenResponse = serde_json::from_slice(value.secret()).unwrap();
            samples.push(started.elapsed());
            assert!(token.access_token().secret().starts_with("at-"));
        }
        let (median, p99) = (
            percentile(&mut samples, 0.5),
            percentile(&mut samples, 0.99),
        );
        println!("| {name} (Acquire → Fresh, decode) | {median:?} | {p99:?} |");
    }
    drop(redis);
}
