//! One replica of a service in the fleet tests (`tests/tests/fleet_redis.rs`): many callers
//! asking one auth handler for its token for a while, the token shared through Redis. Prints a
//! JSON report on stdout at the end. Configured by environment variables (see `fleet.rs`).

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use grantline::authorizer::Authorizer;
use grantline::fleet::{Fleet, StoreEvent};
use grantline::grant::TokenRequest;
use grantline::token_manager::TokenManager;
use grantline::{Client, http::HeaderValue};
use grantline_redis::{RedisStore, SealingKey};

#[derive(Default)]
struct Tally {
    tokens: Mutex<BTreeMap<String, Instant>>,
    errors: AtomicUsize,
    calls: AtomicUsize,
    max_wait_ms: AtomicU64,
}

impl Tally {
    fn record(&self, started: Instant, result: Result<HeaderValue, String>) {
        let waited = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.max_wait_ms.fetch_max(waited, Ordering::Relaxed);
        self.calls.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(header) => {
                let token = header
                    .to_str()
                    .unwrap_or_default()
                    .trim_start_matches("Bearer ");
                let mut tokens = self.tokens.lock().unwrap();
                tokens.entry(token.to_owned()).or_insert_with(Instant::now);
            }
            Err(e) => {
                eprintln!("replica {}: {e}", std::process::id());
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set"))
}

fn main() {
    let run_for = Duration::from_millis(env("FLEET_RUN_MS").parse().unwrap());
    let callers: usize = env("FLEET_CALLERS").parse().unwrap();
    let lease = Duration::from_millis(env("FLEET_LEASE_MS").parse().unwrap());
    let (unavailable, recovered) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (u, r) = (Arc::clone(&unavailable), Arc::clone(&recovered));
    let fleet = Fleet::new()
        .prefix("fleet-test")
        .lease(lease)
        .poll_interval(Duration::from_millis(25))
        .on_event(move |event| match event {
            StoreEvent::Unavailable { .. } => {
                u.fetch_add(1, Ordering::Relaxed);
            }
            StoreEvent::Recovered => {
                r.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        });
    let client = Client::builder("fleet")
        .token_endpoint(env("FLEET_TOKEN_URL"))
        .client_secret_basic("fleet-secret")
        .build()
        .unwrap();
    let manager = TokenManager::grant(client, TokenRequest::client_credentials().scope("fleet"))
        .unwrap()
        .leeway(Duration::from_secs(1));
    let authorizer = Authorizer::new(manager)
        .renewal_bound(Duration::from_secs(20))
        .share(fleet)
        .unwrap();
    let mut store = RedisStore::open(&env("FLEET_REDIS"))
        .unwrap()
        .timeout(Duration::from_millis(200));
    if let Ok(seal) = std::env::var("FLEET_SEAL") {
        let byte: u8 = seal.parse().unwrap();
        store = store.sealing_key(SealingKey::from_bytes(&[byte; 32]).unwrap());
    }
    let tally = Arc::new(Tally::default());
    let deadline = Instant::now() + run_for;
    match env("FLEET_MODE").as_str() {
        "ureq" => {
            let auth =
                grantline_ureq::Auth::shared(grantline_ureq::Transport::new(), authorizer, store);
            let threads: Vec<_> = (0..callers)
                .map(|_| {
                    let (auth, tally) = (auth.clone(), Arc::clone(&tally));
                    std::thread::spawn(move || {
                        while Instant::now() < deadline {
                            let started = Instant::now();
                            tally.record(started, auth.header().map_err(|e| e.to_string()));
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    })
                })
                .collect();
            for thread in threads {
                thread.join().unwrap();
            }
        }
        "reqwest" => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let transport = grantline_reqwest::Transport::new().unwrap();
                let auth = grantline_reqwest::Auth::shared(transport, authorizer, store);
                let tasks: Vec<_> = (0..callers)
                    .map(|_| {
                        let (auth, tally) = (auth.clone(), Arc::clone(&tally));
                        tokio::spawn(async move {
                            while Instant::now() < deadline {
                                let started = Instant::now();
                                let result = auth.header().await.map_err(|e| e.to_string());
                                tally.record(started, result);
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
            });
        }
        other => panic!("FLEET_MODE {other}: ureq or reqwest"),
    }
    let mut tokens: Vec<_> = tally.tokens.lock().unwrap().clone().into_iter().collect();
    tokens.sort_by_key(|(_, seen)| *seen);
    let report = serde_json::json!({
        "tokens": tokens.into_iter().map(|(t, _)| t).collect::<Vec<_>>(),
        "errors": tally.errors.load(Ordering::Relaxed),
        "calls": tally.calls.load(Ordering::Relaxed),
        "max_wait_ms": tally.max_wait_ms.load(Ordering::Relaxed),
        "unavailable": unavailable.load(Ordering::Relaxed),
        "recovered": recovered.load(Ordering::Relaxed),
    });
    println!("{report}");
}
