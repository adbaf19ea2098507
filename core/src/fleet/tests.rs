//! The fleet's state machine on a fake clock, with replicas sharing a `MemoryStore`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{
    DEFAULT_POLL_INTERVAL, Fence, Fleet, SharedValue, StoreEvent, StoreKey, StoreOp, StoreReply,
};
use crate::authorizer::{Attempt, Authorize, Authorizer, Ticket};
use crate::driver::RunError;
use crate::fleet::{BlockingStore, SharedStep};
use crate::grant::TokenRequest;
use crate::testing::MemoryStore;
use crate::{Client, Flow, Now, Step, TokenResponse};

/// A token endpoint that counts its requests and issues `at-N` living `lifetime` seconds.
#[derive(Default)]
struct TokenServer {
    issued: u32,
    lifetime: u64,
}

impl TokenServer {
    fn run(
        &mut self,
        mut flow: impl Flow<Output = TokenResponse>,
        now: Now,
    ) -> Result<TokenResponse, RunError> {
        loop {
            match flow.next(now)? {
                Step::Send(_) => {
                    self.issued += 1;
                    let body = format!(
                        r#"{{"access_token":"at-{}","token_type":"Bearer","expires_in":{}}}"#,
                        self.issued, self.lifetime
                    );
                    let response = http::Response::builder()
                        .status(200)
                        .header("content-type", "application/json")
                        .body(body.into_bytes())
                        .unwrap();
                    flow.handle_response(response, now)?;
                }
                Step::Wait(_) => unreachable!("a token request does not wait"),
                Step::Done(token) => return Ok(token),
            }
        }
    }
}

fn replica(fleet: &Fleet) -> Authorizer {
    let client = Client::builder("svc")
        .token_endpoint("https://as.example/token")
        .client_secret_basic("s3cr3t")
        .build()
        .unwrap();
    let manager = crate::token_manager::TokenManager::grant(
        client,
        TokenRequest::client_credentials().scope("read"),
    )
    .unwrap()
    .leeway(Duration::from_secs(30));
    Authorizer::new(manager).share(fleet.clone()).unwrap()
}

/// A replica's header at `now`: runs the shared renewal to its end (the store answering at once,
/// waits advancing `now`), and returns the header and the time after.
fn header_of(
    authorizer: &mut Authorizer,
    store: &dyn BlockingStore,
    server: &mut TokenServer,
    mut now: Now,
) -> (String, Now) {
    let mut attempt = Attempt::new();
    loop {
        match authorizer.header(&mut attempt, now).unwrap() {
            Authorize::Attach(auth) => {
                return (auth.authorization().to_str().unwrap().to_owned(), now);
            }
            Authorize::Renew(renewal, ticket) => {
                let mut shared = authorizer.shared_renewal(renewal, now);
                let result = loop {
                    match shared.next(now) {
                        SharedStep::Store(op) => shared.handle_store(store.execute(&op), now),
                        SharedStep::Renew(renewal) => {
                            let result = server.run(renewal, now);
                            shared.handle_renewed(result, now);
                        }
                        SharedStep::Wait(d) => now = now.advance(d),
                        SharedStep::Done(result) => break result,
                    }
                };
                authorizer.finish(ticket, result, now);
            }
            other => panic!("one caller per replica here: {other:?}"),
        }
    }
}

#[test]
fn sixteen_replicas_make_one_token_request_per_renewal_over_an_hour() {
    let fleet = Fleet::new();
    let store = MemoryStore::new();
    let mut server = TokenServer {
        lifetime: 300,
        ..TokenServer::default()
    };
    let mut replicas: Vec<Authorizer> = (0..16).map(|_| replica(&fleet)).collect();
    let mut now = Now::system();
    let start = now;
    while now.monotonic() - start.monotonic() < Duration::from_secs(3600) {
        for replica in &mut replicas {
            let (_, after) = header_of(replica, &store, &mut server, now);
            assert_eq!(after, now, "nobody waits: the store answers at once");
        }
        now = now.advance(Duration::from_secs(1));
    }
    // 300 s tokens renewed 30 s early: one every 270 s, 14 in the hour (the first at 0 s).
    assert_eq!(server.issued, 14);
    assert!(!fleet.is_unavailable());
}

#[test]
fn without_a_store_each_replica_renews_for_itself() {
    let mut server = TokenServer {
        lifetime: 300,
        ..TokenServer::default()
    };
    let now = Now::system();
    for _ in 0..4 {
        let client = Client::builder("svc")
            .token_endpoint("https://as.example/token")
            .build()
            .unwrap();
        let manager =
            crate::token_manager::TokenManager::grant(client, TokenRequest::client_credentials())
                .unwrap();
        let mut authorizer = Authorizer::new(manager);
        let _ = header_of(&mut authorizer, &MemoryStore::new(), &mut server, now);
    }
    assert_eq!(server.issued, 4);
}

/// Starts a renewal on `authorizer` and steps it until it asks to renew (the lease is taken).
fn lease_holder(
    authorizer: &mut Authorizer,
    store: &dyn BlockingStore,
    now: Now,
) -> (
    crate::fleet::SharedRenewal,
    crate::token_manager::Renewal,
    Ticket,
) {
    let Authorize::Renew(renewal, ticket) = authorizer.header(&mut Attempt::new(), now).unwrap()
    else {
        panic!("renews")
    };
    let mut shared = authorizer.shared_renewal(renewal, now);
    let SharedStep::Store(op) = shared.next(now) else {
        panic!("acquire first")
    };
    shared.handle_store(store.execute(&op), now);
    let SharedStep::Renew(renewal) = shared.next(now) else {
        panic!("the lease is ours")
    };
    (shared, renewal, ticket)
}

#[test]
fn a_dead_lease_holder_is_replaced_once_its_lease_lapses() {
    let fleet = Fleet::new().lease(Duration::from_secs(5));
    let store = MemoryStore::new();
    let mut server = TokenServer {
        lifetime: 300,
        ..TokenServer::default()
    };
    let now = Now::system();
    let mut dead = replica(&fleet);
    // The holder takes the lease and dies before its token request ends.
    let _forgotten = lease_holder(&mut dead, &store, now);
    let mut other = replica(&fleet);
    let (header, after) = header_of(&mut other, &store, &mut server, now);
    assert_eq!(header, "Bearer at-1");
    let waited = after.monotonic() - now.monotonic();
    assert!(
        waited >= Duration::from_secs(5),
        "waited for the lease: {waited:?}"
    );
    assert!(
        waited <= Duration::from_secs(5) + DEFAULT_POLL_INTERVAL,
        "{waited:?}"
    );
    assert_eq!(server.issued, 1, "only the new holder asked for a token");
}

#[test]
fn a_waiter_takes_the_token_the_holder_publishes() {
    let fleet = Fleet::new();
    let store = MemoryStore::new();
    let mut server = TokenServer {
        lifetime: 300,
        ..TokenServer::default()
    };
    let now = Now::system();
    let mut holder = replica(&fleet);
    let (mut shared, renewal, _ticket) = lease_holder(&mut holder, &store, now);

    let mut waiter = replica(&fleet);
    let Authorize::Renew(renewal_b, _) = waiter.header(&mut Attempt::new(), now).unwrap() else {
        panic!()
    };
    let mut waiting = waiter.shared_renewal(renewal_b, now);
    let SharedStep::Store(op) = waiting.next(now) else {
        panic!()
    };
    waiting.handle_store(store.execute(&op), now);
    assert!(matches!(waiting.next(now), SharedStep::Wait(d) if d == DEFAULT_POLL_INTERVAL));
    // Woken early: the rest of the interval.
    let early = now.advance(Duration::from_millis(40));
    assert!(matches!(waiting.next(early), SharedStep::Wait(d) if d == Duration::from_millis(60)));

    // The holder renews and publishes.
    shared.handle_renewed(server.run(renewal, now), now);
    let SharedStep::Store(publish @ StoreOp::Publish { .. }) = shared.next(now) else {
        panic!()
    };
    shared.handle_store(store.execute(&publish), now);
    assert!(matches!(shared.next(now), SharedStep::Done(Ok(_))));

    let later = now.advance(DEFAULT_POLL_INTERVAL);
    let SharedStep::Store(op) = waiting.next(later) else {
        panic!()
    };
    waiting.handle_store(store.execute(&op), later);
    let SharedStep::Done(Ok(token)) = waiting.next(later) else {
        panic!()
    };
    assert_eq!(token.access_token().secret(), "at-1");
    assert_eq!(server.issued, 1);
}

#[test]
fn a_late_leader_does_not_overwrite_a_newer_token() {
    let fleet = Fleet::new().lease(Duration::from_secs(5));
    let store = MemoryStore::new();
    let mut server = TokenServer {
        lifetime: 300,
        ..TokenServer::default()
    };
    let now = Now::system();
    let mut late = replica(&fleet);
    let (mut slow, renewal, _) = lease_holder(&mut late, &store, now);
    let slow_token = server.run(renewal, now); // at-1, published after the lease lapsed

    let after_lease = now.advance(Duration::from_secs(6));
    let mut next = replica(&fleet);
    let (header, _) = header_of(&mut next, &store, &mut server, after_lease);
    assert_eq!(header, "Bearer at-2");

    slow.handle_renewed(slow_token, after_lease);
    let SharedStep::Store(publish) = slow.next(after_lease) else {
        panic!()
    };
    assert!(matches!(store.execute(&publish), Ok(StoreReply::Refused)));
    slow.handle_store(store.execute(&publish), after_lease);
    let SharedStep::Done(Ok(own)) = slow.next(after_lease) else {
        panic!()
    };
    assert_eq!(
        own.access_token().secret(),
        "at-1",
        "the late leader still uses its token"
    );

    let mut third = replica(&fleet);
    let (header, _) = header_of(&mut third, &store, &mut server, after_lease);
    assert_eq!(header, "Bearer at-2", "the newer token stays in the store");
}

#[test]
fn a_store_that_fails_means_in_process_renewals_and_one_event_each_way() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    let fleet = Fleet::new().on_event(move |event| {
        seen.lock().unwrap().push(match event {
            StoreEvent::Unavailable { error } => format!("unavailable {:?}", error.kind()),
            StoreEvent::Recovered => "recovered".to_owned(),
        });
    });
    let store = MemoryStore::new();
    let mut server = TokenServer {
        lifetime: 300,
        ..TokenServer::default()
    };
    let mut replicas: Vec<Authorizer> = (0..3).map(|_| replica(&fleet)).collect();
    let mut now = Now::system();

    store.set_available(false);
    for replica in &mut replicas {
        let _ = header_of(replica, &store, &mut server, now);
    }
    assert_eq!(server.issued, 3, "each replica renewed for itself");
    assert!(fleet.is_unavailable());

    store.set_available(true);
    now = now.advance(Duration::from_secs(280));
    for replica in &mut replicas {
        let (header, _) = header_of(replica, &store, &mut server, now);
        assert_eq!(header, "Bearer at-4");
    }
    assert_eq!(
        server.issued, 4,
        "sharing resumed: one request for the three"
    );
    assert_eq!(
        *events.lock().unwrap(),
        ["unavailable Unavailable", "recovered"]
    );
}

#[test]
fn a_rejected_token_is_not_handed_back_by_the_store() {
    let fleet = Fleet::new();
    let store = MemoryStore::new();
    let mut server = TokenServer {
        lifetime: 300,
        ..TokenServer::default()
    };
    let now = Now::system();
    let mut a = replica(&fleet);
    let (first, _) = header_of(&mut a, &store, &mut server, now);
    assert!(a.reject(&http::HeaderValue::from_str(&first).unwrap()));
    let (second, _) = header_of(&mut a, &store, &mut server, now);
    assert_eq!(
        (first.as_str(), second.as_str()),
        ("Bearer at-1", "Bearer at-2")
    );
    // The other replicas get the new one.
    let (other, _) = header_of(&mut replica(&fleet), &store, &mut server, now);
    assert_eq!(other, "Bearer at-2");
}

#[test]
fn a_failed_renewal_releases_the_lease_and_every_caller_gets_its_error() {
    let fleet = Fleet::new();
    let store = MemoryStore::new();
    let now = Now::system();
    let mut a = replica(&fleet);
    let (mut shared, _renewal, _) = lease_holder(&mut a, &store, now);
    let error = RunError::Transport(crate::driver::TransportError::new(
        crate::driver::TransportErrorKind::Connect,
    ));
    shared.handle_renewed(Err(error), now);
    let SharedStep::Store(release @ StoreOp::Release { .. }) = shared.next(now) else {
        panic!()
    };
    shared.handle_store(store.execute(&release), now);
    assert!(matches!(
        shared.next(now),
        SharedStep::Done(Err(RunError::Transport(_)))
    ));
    // Released: the next replica takes the lease at once.
    let mut b = replica(&fleet);
    let _ = lease_holder(&mut b, &store, now);
}

#[test]
fn a_value_that_is_not_a_stored_token_is_renewed_over() {
    let fleet = Fleet::new();
    let store = MemoryStore::new();
    let mut server = TokenServer {
        lifetime: 300,
        ..TokenServer::default()
    };
    let now = Now::system();
    let mut a = replica(&fleet);
    let Authorize::Renew(renewal, _) = a.header(&mut Attempt::new(), now).unwrap() else {
        panic!()
    };
    let mut shared = a.shared_renewal(renewal, now);
    let _acquire = shared.next(now);
    let garbage = SharedValue::new(br#"{"access_token":"x","expires_in":3}"#.to_vec());
    shared.handle_store(Ok(StoreReply::Fresh(garbage)), now);
    assert!(fleet.is_unavailable());
    let SharedStep::Renew(renewal) = shared.next(now) else {
        panic!("in-process")
    };
    shared.handle_renewed(server.run(renewal, now), now);
    assert!(
        matches!(shared.next(now), SharedStep::Done(Ok(_))),
        "nothing published"
    );
    // A reply that does not answer the operation is treated the same way.
    let Authorize::Renew(renewal, _) = replica(&fleet).header(&mut Attempt::new(), now).unwrap()
    else {
        panic!()
    };
    let mut shared = replica(&fleet).shared_renewal(renewal, now);
    let _ = shared.next(now);
    shared.handle_store(Ok(StoreReply::Published), now);
    assert!(matches!(shared.next(now), SharedStep::Renew(_)));
    let _ = store;
}

#[test]
fn misuse_ends_the_renewal_with_an_error_not_a_panic() {
    let fleet = Fleet::new();
    let now = Now::system();
    let mut a = replica(&fleet);
    let Authorize::Renew(renewal, _) = a.header(&mut Attempt::new(), now).unwrap() else {
        panic!()
    };
    let mut shared = a.shared_renewal(renewal, now);
    let _ = shared.next(now);
    shared.handle_store(Ok(StoreReply::Acquired(Fence::new(1))), now);
    let SharedStep::Renew(_) = shared.next(now) else {
        panic!()
    };
    // `next` again without handing the renewal's result back.
    assert!(matches!(
        shared.next(now),
        SharedStep::Done(Err(RunError::Flow(_)))
    ));
    assert!(matches!(
        shared.next(now),
        SharedStep::Done(Err(RunError::Flow(_)))
    ));
}

#[test]
fn the_key_depends_on_what_makes_the_token_and_nothing_else() {
    let key = |id: &str, scope: &str, secret: &str| {
        let client = Client::builder(id)
            .token_endpoint("https://as.example/token")
            .client_secret_basic(secret)
            .build()
            .unwrap();
        let request = TokenRequest::client_credentials().scope(scope);
        let manager = crate::token_manager::TokenManager::grant(client, request).unwrap();
        StoreKey::of("p", &manager).unwrap()
    };
    assert_eq!(
        key("a", "read", "s1"),
        key("a", "read", "s2"),
        "the secret is not a token's identity"
    );
    assert_ne!(key("a", "read", "s"), key("b", "read", "s"));
    assert_ne!(key("a", "read", "s"), key("a", "write", "s"));
    let k = key("a", "read", "s");
    assert!(!k.token().contains("read") && !k.token().contains("as.example"));
    // Another grant is refused.
    let client = Client::builder("a")
        .token_endpoint("https://as.example/token")
        .build()
        .unwrap();
    let password = TokenRequest::password("u", "p");
    let manager = crate::token_manager::TokenManager::grant(client, password).unwrap();
    assert!(StoreKey::of("p", &manager).is_err());
}

#[test]
fn short_tokens_are_renewed_at_half_their_life_by_the_fleet_too() {
    // 4 s tokens, 30 s leeway: renewed every 2 s, as a single process would.
    let fleet = Fleet::new();
    let store = MemoryStore::new();
    let mut server = TokenServer {
        lifetime: 4,
        ..TokenServer::default()
    };
    let mut replicas: Vec<Authorizer> = (0..8).map(|_| replica(&fleet)).collect();
    let mut now = Now::system();
    for _ in 0..40 {
        for replica in &mut replicas {
            let _ = header_of(replica, &store, &mut server, now);
        }
        now = now.advance(Duration::from_millis(250));
    }
    // 10 s: a renewal every 2 s, the first at 0.
    assert_eq!(server.issued, 5);
}
