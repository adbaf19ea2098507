//! One token for a fleet (issue 21), against a real `redis-server` on loopback and real replica
//! processes (`src/bin/fleet_replica.rs`): ureq and reqwest replicas sharing one token, a lease
//! holder killed mid-renewal, Redis stopped and restarted mid-run, sealed values.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use grantline::fleet::{BlockingStore, Fleet, StoreErrorKind, StoreKey, StoreOp, StoreReply};
use grantline::grant::TokenRequest;
use grantline::token_manager::TokenManager;
use grantline::{Client, Now, TokenResponse, TokenType};
use grantline_redis::{RedisStore, SealingKey};
use grantline_tests::fleet::{RedisServer, Replica, ReplicaConfig, TokenServer};

const REPLICA: &str = env!("CARGO_BIN_EXE_fleet_replica");

/// The multi-process tests measure time on a 2-core machine: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Renewals of 3 s tokens with a 1 s leeway come every 2 s: no two token requests of a sharing
/// fleet come closer than that (one renewal, one request).
fn assert_one_request_per_renewal(requests: &[Instant], what: &str) {
    for pair in requests.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(1500),
            "{what}: two token requests {gap:?} apart: a renewal was made twice; all: {:?}",
            requests
                .iter()
                .map(|r| *r - requests[0])
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn eight_processes_of_a_hundred_callers_make_one_token_request_per_renewal() {
    let _serial = serial();
    let redis = RedisServer::start();
    let server = TokenServer::start(3, false);
    let modes = ["ureq", "reqwest"];
    let replicas: Vec<_> = (0..8)
        .map(|i| {
            let config = ReplicaConfig {
                mode: modes[i % 2],
                callers: 100,
                run_for: Duration::from_millis(7000),
                lease: Duration::from_secs(2),
                seal: Some(7),
            };
            Replica::spawn(REPLICA, &redis.url(), &server.url(), &config)
        })
        .collect();
    let reports: Vec<_> = replicas.into_iter().map(Replica::report).collect();
    let requests = server.requests();
    // 7 s of 3 s tokens renewed 1 s early: at about 0, 2, 4 and 6 s.
    assert!(
        (3..=5).contains(&requests.len()),
        "{} token requests for 8 replicas over 7 s",
        requests.len()
    );
    assert_one_request_per_renewal(&requests, "8 replicas");
    for (i, report) in reports.iter().enumerate() {
        assert_eq!(report.errors, 0, "replica {i}: {report:?}");
        assert!(
            report.calls > 1000,
            "replica {i} made few calls: {report:?}"
        );
        assert!(
            report.tokens.len() + 1 >= requests.len(),
            "replica {i} missed tokens: {report:?}"
        );
        for token in &report.tokens {
            let n: usize = token.trim_start_matches("at-").parse().unwrap();
            assert!(n <= requests.len(), "replica {i}: {token} was never issued");
        }
    }
    // A ureq process and a reqwest process used the same token.
    let (ureq, reqwest) = (&reports[0].tokens, &reports[1].tokens);
    assert!(ureq.iter().any(|t| t == "at-2") && reqwest.iter().any(|t| t == "at-2"));
}

#[test]
fn a_lease_holder_killed_mid_renewal_is_replaced_within_the_lease() {
    let _serial = serial();
    let redis = RedisServer::start();
    // The first token request is never answered: its sender is killed while it waits.
    let server = TokenServer::start(30, true);
    let lease = Duration::from_millis(1500);
    let config = |mode, run_ms| ReplicaConfig {
        mode,
        callers: 10,
        run_for: Duration::from_millis(run_ms),
        lease,
        seal: None,
    };
    let mut holder = Replica::spawn(REPLICA, &redis.url(), &server.url(), &config("ureq", 8000));
    assert!(
        server.wait_for(1, Duration::from_secs(10)),
        "the holder asked"
    );
    let others = [
        Replica::spawn(
            REPLICA,
            &redis.url(),
            &server.url(),
            &config("reqwest", 3500),
        ),
        Replica::spawn(REPLICA, &redis.url(), &server.url(), &config("ureq", 3000)),
    ];
    std::thread::sleep(Duration::from_millis(300));
    holder.kill();
    let reports: Vec<_> = others.into_iter().map(Replica::report).collect();
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "the held request, then one take-over");
    let takeover = requests[1] - requests[0];
    assert!(
        takeover >= lease - Duration::from_millis(100) && takeover < lease + Duration::from_secs(1),
        "taken over {takeover:?} after the first request (lease {lease:?})"
    );
    for report in &reports {
        assert_eq!(report.errors, 0, "{report:?}");
        assert_eq!(report.tokens, ["at-2"], "{report:?}");
        // The lease plus the take-over's token request (milliseconds here), plus start-up slack.
        assert!(
            report.max_wait_ms
                < u64::try_from((lease + Duration::from_secs(1)).as_millis()).unwrap(),
            "{report:?}"
        );
    }
}

#[test]
fn with_redis_stopped_every_process_renews_itself_and_sharing_resumes_when_it_is_back() {
    let _serial = serial();
    let mut redis = RedisServer::start();
    let server = TokenServer::start(3, false);
    let replicas: Vec<_> = ["ureq", "reqwest", "ureq"]
        .into_iter()
        .map(|mode| {
            let config = ReplicaConfig {
                mode,
                callers: 20,
                run_for: Duration::from_millis(11_000),
                lease: Duration::from_secs(2),
                seal: None,
            };
            Replica::spawn(REPLICA, &redis.url(), &server.url(), &config)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(3000));
    let stopped = Instant::now();
    redis.stop();
    std::thread::sleep(Duration::from_millis(3500));
    redis.restart();
    let restarted = Instant::now();
    let reports: Vec<_> = replicas.into_iter().map(Replica::report).collect();
    let requests = server.requests();

    let before: Vec<_> = requests.iter().copied().filter(|r| *r < stopped).collect();
    assert_one_request_per_renewal(&before, "before the outage");
    let during = requests
        .iter()
        .filter(|r| **r >= stopped && **r < restarted)
        .count();
    assert!(
        during >= 3,
        "each replica renewed for itself: {during} requests in the outage"
    );
    // Sharing resumes: after the first renewal with Redis back, one request per renewal.
    let after: Vec<_> = requests
        .iter()
        .copied()
        .filter(|r| *r >= restarted + Duration::from_millis(500))
        .collect();
    assert!(
        after.len() >= 2,
        "renewals after the restart: {}",
        after.len()
    );
    assert_one_request_per_renewal(&after, "after the restart");
    for report in &reports {
        assert_eq!(report.errors, 0, "callers never fail: {report:?}");
        assert!(
            report.unavailable >= 1 && report.recovered >= 1,
            "{report:?}"
        );
        // A dead Redis costs at most its timeouts (200 ms here) on a renewal.
        assert!(report.max_wait_ms < 2000, "{report:?}");
    }
}

fn key(token_endpoint: &str) -> StoreKey {
    let client = Client::builder("sealed")
        .token_endpoint(token_endpoint)
        .build()
        .unwrap();
    let manager = TokenManager::grant(client, TokenRequest::client_credentials()).unwrap();
    StoreKey::of("sealing-test", &manager).unwrap()
}

#[test]
fn sealed_values_are_unreadable_without_the_key_and_a_wrong_key_is_a_typed_error() {
    let redis = RedisServer::start();
    let tokens = TokenServer::start(60, false);
    let sealed = |byte| {
        RedisStore::open(&redis.url())
            .unwrap()
            .sealing_key(SealingKey::from_bytes(&[byte; 32]).unwrap())
    };
    let (store, key, now) = (sealed(1), key(&tokens.url()), Now::system());
    let acquire = StoreOp::Acquire {
        key: key.clone(),
        now: 0,
        lease: Duration::from_secs(5),
        unless: None,
    };
    let Ok(StoreReply::Acquired(fence)) = store.execute(&acquire) else {
        panic!("the lease is free")
    };
    let token = TokenResponse::new("SENTINEL-ACCESS-TOKEN".into(), TokenType::Bearer)
        .with_expires_at(Some(now.wall() + Duration::from_secs(60)));
    let publish = StoreOp::Publish {
        key: key.clone(),
        value: grantline::fleet::SharedValue::new(serde_json::to_vec(&token).unwrap()),
        id: grantline::fleet::TokenId::of(&token),
        renew_at: u64::MAX,
        ttl: Some(Duration::from_secs(60)),
        fence,
    };
    assert!(matches!(store.execute(&publish), Ok(StoreReply::Published)));

    // What Redis holds: no token in it.
    let mut raw = std::net::TcpStream::connect(
        redis
            .url()
            .trim_start_matches("redis://")
            .trim_end_matches('/'),
    )
    .unwrap();
    use std::io::{Read as _, Write as _};
    let command = format!("HGET {} value\r\n", key.token());
    raw.write_all(command.as_bytes()).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut held = vec![0; 4096];
    let n = raw.read(&mut held).unwrap();
    let held = &held[..n];
    assert!(held.len() > 40, "a value is stored");
    assert!(
        !held.windows(8).any(|w| w == b"SENTINEL"),
        "the token is sealed"
    );

    // The right key reads it; a wrong key or none is a typed error, not a panic.
    let Ok(StoreReply::Fresh(value)) = store.execute(&acquire) else {
        panic!("fresh")
    };
    let back: TokenResponse = serde_json::from_slice(value.secret()).unwrap();
    assert_eq!(back.access_token().secret(), "SENTINEL-ACCESS-TOKEN");
    for wrong in [sealed(2), RedisStore::open(&redis.url()).unwrap()] {
        let error = wrong.execute(&acquire).unwrap_err();
        assert_eq!(error.kind(), StoreErrorKind::Sealing);
        assert!(!error.to_string().contains("SENTINEL"));
    }

    // A replica with the wrong key still gets a token: it renews in-process, and says so.
    let events = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = std::sync::Arc::clone(&events);
    let fleet = Fleet::new().prefix("sealing-test").on_event(move |_| {
        seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    let client = Client::builder("sealed")
        .token_endpoint(tokens.url())
        .build()
        .unwrap();
    let authorizer = grantline::authorizer::Authorizer::new(
        TokenManager::grant(client, TokenRequest::client_credentials()).unwrap(),
    )
    .share(fleet)
    .unwrap();
    let auth =
        grantline_ureq::Auth::shared(grantline_ureq::Transport::new(), authorizer, sealed(3));
    assert_eq!(auth.header().unwrap(), "Bearer at-1");
    assert_eq!(
        events.load(std::sync::atomic::Ordering::Relaxed),
        1,
        "Unavailable, once"
    );
}
