//! The token manager's renewal decisions, on the scripted driver's fake clock: no sockets, no
//! sleeps. Each test names the property it holds the manager to.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use grantline::error::{ErrorCode, InvalidResponse};
use grantline::grant::TokenRequest;
use grantline::secret::RefreshToken;
use grantline::testing::{Driver, DriverError};
use grantline::token_manager::{Access, DEFAULT_LEEWAY, TokenManager};
use grantline::{Client, Error, TokenResponse, TokenType};
use http::HeaderValue;

fn client() -> Client {
    Client::builder("svc")
        .token_endpoint("https://as.example/token")
        .client_secret_basic("s3cr3t")
        .build()
        .unwrap()
}

fn token_json(at: &str, expires_in: Option<u64>, rt: Option<&str>) -> String {
    let mut json = format!(r#"{{"access_token":"{at}","token_type":"Bearer""#);
    if let Some(s) = expires_in {
        json.push_str(&format!(r#","expires_in":{s}"#));
    }
    if let Some(rt) = rt {
        json.push_str(&format!(r#","refresh_token":"{rt}""#));
    }
    json.push('}');
    json
}

/// A token received at the driver's current time.
fn token(driver: &Driver, at: &str, expires_in: Option<u64>, rt: Option<&str>) -> TokenResponse {
    let response = http::Response::builder()
        .status(200)
        .body(token_json(at, expires_in, rt).into_bytes())
        .unwrap();
    TokenResponse::from_response(&response, driver.now()).unwrap()
}

/// Counts the callback's calls.
fn counting(manager: TokenManager) -> (TokenManager, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let manager = manager.on_renewed(move |_| {
        seen.fetch_add(1, Ordering::SeqCst);
    });
    (manager, calls)
}

fn ready(access: Access) -> HeaderValue {
    match access {
        Access::Ready(header) => header,
        other => panic!("expected Ready, got {other:?}"),
    }
}

/// Asks for the header like a transport would: renews (through the driver) when told to.
fn header(manager: &mut TokenManager, driver: &mut Driver) -> Result<HeaderValue, DriverError> {
    loop {
        match manager.access(driver.now()) {
            Access::Ready(header) => return Ok(header),
            Access::Renew(renewal) => match driver.run(renewal) {
                Ok(token) => {
                    manager
                        .complete(token, driver.now())
                        .map_err(DriverError::Flow)?;
                }
                Err(e) => {
                    let _ = manager.renewal_failed(driver.now());
                    return Err(e);
                }
            },
            Access::Wait => panic!("a single caller never waits"),
        }
    }
}

fn grant_types(driver: &Driver) -> Vec<String> {
    (0..driver.transcript().requests().count())
        .map(|i| {
            driver
                .transcript()
                .form(i)
                .unwrap()
                .into_iter()
                .find(|(k, _)| k == "grant_type")
                .unwrap()
                .1
        })
        .collect()
}

fn form_value(driver: &Driver, request: usize, name: &str) -> Option<String> {
    driver
        .transcript()
        .form(request)
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

#[test]
fn before_the_leeway_the_cached_header_is_used_without_a_request() {
    let mut driver = Driver::new();
    let mut manager = TokenManager::grant(
        client(),
        grantline::grant::TokenRequest::client_credentials(),
    )
    .unwrap()
    .with_token(token(&driver, "at-1", Some(300), None))
    .unwrap();
    for _ in 0..3 {
        assert_eq!(ready(manager.access(driver.now())), "Bearer at-1");
    }
    driver.advance(Duration::from_secs(300) - DEFAULT_LEEWAY - Duration::from_secs(1));
    assert_eq!(ready(manager.access(driver.now())), "Bearer at-1");
    assert_eq!(driver.transcript().requests().count(), 0);
}

#[test]
fn inside_the_leeway_one_caller_renews_and_the_others_keep_the_valid_token() {
    let mut driver = Driver::new().reply_json(200, &token_json("at-2", Some(300), None));
    let (manager, calls) = counting(
        TokenManager::grant(
            client(),
            grantline::grant::TokenRequest::client_credentials(),
        )
        .unwrap()
        .with_token(token(&driver, "at-1", Some(300), None))
        .unwrap(),
    );
    let mut manager = manager;
    driver.advance(Duration::from_secs(300) - DEFAULT_LEEWAY);
    let Access::Renew(renewal) = manager.access(driver.now()) else {
        panic!("inside the leeway: renew")
    };
    assert!(manager.is_renewing());
    // Everyone else, while that renewal runs: the old token, still valid.
    for _ in 0..5 {
        assert_eq!(ready(manager.access(driver.now())), "Bearer at-1");
    }
    let renewed = driver.run(renewal).unwrap();
    let new = manager.complete(renewed, driver.now()).unwrap();
    assert_eq!(new, "Bearer at-2");
    assert_eq!(ready(manager.access(driver.now())), "Bearer at-2");
    assert_eq!(driver.transcript().requests().count(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn an_expired_token_makes_one_caller_renew_and_the_others_wait() {
    let mut driver = Driver::new().reply_json(200, &token_json("at-2", Some(300), None));
    let mut manager = TokenManager::grant(
        client(),
        grantline::grant::TokenRequest::client_credentials(),
    )
    .unwrap()
    .with_token(token(&driver, "at-1", Some(300), None))
    .unwrap();
    driver.advance(Duration::from_secs(301));
    let Access::Renew(renewal) = manager.access(driver.now()) else {
        panic!("expired: renew")
    };
    for _ in 0..99 {
        assert!(matches!(manager.access(driver.now()), Access::Wait));
    }
    let renewed = driver.run(renewal).unwrap();
    manager.complete(renewed, driver.now()).unwrap();
    for _ in 0..100 {
        assert_eq!(ready(manager.access(driver.now())), "Bearer at-2");
    }
    assert_eq!(driver.transcript().requests().count(), 1);
}

#[test]
fn exactly_at_expiry_the_token_is_not_used() {
    let mut driver = Driver::new().reply_json(200, &token_json("at-2", Some(300), None));
    let mut manager = TokenManager::grant(
        client(),
        grantline::grant::TokenRequest::client_credentials(),
    )
    .unwrap()
    .with_token(token(&driver, "at-1", Some(300), None))
    .unwrap();
    driver.advance(Duration::from_secs(300));
    let Access::Renew(_renewal) = manager.access(driver.now()) else {
        panic!()
    };
    assert!(
        matches!(manager.access(driver.now()), Access::Wait),
        "an expired token is not handed out while it is renewed"
    );
}

#[test]
fn a_token_without_expiry_is_never_renewed_on_time_alone() {
    let mut driver = Driver::new();
    let mut manager = TokenManager::grant(
        client(),
        grantline::grant::TokenRequest::client_credentials(),
    )
    .unwrap()
    .with_token(token(&driver, "forever", None, None))
    .unwrap();
    driver.advance(Duration::from_secs(10 * 365 * 24 * 3600));
    assert_eq!(ready(manager.access(driver.now())), "Bearer forever");
    assert_eq!(driver.transcript().requests().count(), 0);
}

#[test]
fn the_first_access_runs_the_grant_with_its_parameters() {
    let mut driver = Driver::new().reply_json(200, &token_json("at-1", Some(60), None));
    let mut manager = TokenManager::grant(
        client(),
        TokenRequest::client_credentials()
            .scope("read write")
            .resource("https://api.example/"),
    )
    .unwrap();
    assert!(manager.token().is_none());
    assert_eq!(header(&mut manager, &mut driver).unwrap(), "Bearer at-1");
    assert_eq!(grant_types(&driver), ["client_credentials"]);
    assert_eq!(
        form_value(&driver, 0, "scope").as_deref(),
        Some("read write")
    );
    assert_eq!(
        form_value(&driver, 0, "resource").as_deref(),
        Some("https://api.example/")
    );
}

#[test]
fn a_rotated_refresh_token_is_used_next_time() {
    let mut driver = Driver::new()
        .reply_json(200, &token_json("at-1", Some(60), Some("rt-2")))
        .reply_json(200, &token_json("at-2", Some(60), Some("rt-3")));
    let mut manager = TokenManager::from_refresh_token(client(), "rt-1").unwrap();
    assert_eq!(header(&mut manager, &mut driver).unwrap(), "Bearer at-1");
    driver.advance(Duration::from_secs(61));
    assert_eq!(header(&mut manager, &mut driver).unwrap(), "Bearer at-2");
    assert_eq!(grant_types(&driver), ["refresh_token", "refresh_token"]);
    assert_eq!(
        form_value(&driver, 0, "refresh_token").as_deref(),
        Some("rt-1")
    );
    assert_eq!(
        form_value(&driver, 1, "refresh_token").as_deref(),
        Some("rt-2")
    );
    assert_eq!(
        manager.token().unwrap().refresh_token().unwrap().secret(),
        "rt-3"
    );
}

#[test]
fn a_refresh_response_without_a_refresh_token_keeps_the_old_one() {
    let mut driver = Driver::new()
        .reply_json(200, &token_json("at-2", Some(60), None))
        .reply_json(200, &token_json("at-3", Some(60), None));
    let first = token(&Driver::new(), "at-1", Some(60), Some("rt-keep"));
    let stored = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = Arc::clone(&stored);
    let mut manager = TokenManager::refreshing(client(), first)
        .unwrap()
        .on_renewed(move |token| sink.lock().unwrap().push(token.clone()));
    driver.advance(Duration::from_secs(61));
    assert_eq!(header(&mut manager, &mut driver).unwrap(), "Bearer at-2");
    driver.advance(Duration::from_secs(61));
    assert_eq!(header(&mut manager, &mut driver).unwrap(), "Bearer at-3");
    assert_eq!(
        form_value(&driver, 0, "refresh_token").as_deref(),
        Some("rt-keep")
    );
    assert_eq!(
        form_value(&driver, 1, "refresh_token").as_deref(),
        Some("rt-keep")
    );
    // What the application stored can renew after a restart.
    let stored = stored.lock().unwrap();
    assert_eq!(stored.len(), 2);
    assert!(
        stored
            .iter()
            .all(|t| t.refresh_token().unwrap().secret() == "rt-keep")
    );
}

#[test]
fn the_persistence_callback_runs_exactly_once_per_renewal() {
    let mut driver = Driver::new()
        .reply_json(200, &token_json("at-1", Some(60), None))
        .reply_json(500, r#"{"error":"server_error"}"#)
        .reply_json(200, &token_json("at-2", Some(60), None))
        .reply_json(
            200,
            r#"{"access_token":"at-3","token_type":"DPoP","expires_in":60}"#,
        )
        .reply_json(200, &token_json("at-4", Some(60), None));
    let (manager, calls) = counting(
        TokenManager::grant(
            client(),
            grantline::grant::TokenRequest::client_credentials(),
        )
        .unwrap(),
    );
    let mut manager = manager;
    assert_eq!(header(&mut manager, &mut driver).unwrap(), "Bearer at-1");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Reads between renewals call nothing.
    for _ in 0..10 {
        let _ = header(&mut manager, &mut driver).unwrap();
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    driver.advance(Duration::from_secs(61));
    // A failed renewal: not called.
    assert!(header(&mut manager, &mut driver).is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(header(&mut manager, &mut driver).unwrap(), "Bearer at-2");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    driver.advance(Duration::from_secs(61));
    // A renewed token the manager cannot use: not called, and the renewal counts as failed.
    let e = header(&mut manager, &mut driver).unwrap_err();
    assert!(matches!(
        e.flow_error(),
        Some(Error::InvalidResponse(InvalidResponse {
            field: "token_type",
            ..
        }))
    ));
    assert!(!manager.is_renewing());
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(header(&mut manager, &mut driver).unwrap(), "Bearer at-4");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(driver.transcript().requests().count(), 5);
}

#[test]
fn after_a_failed_renewal_the_next_call_tries_again() {
    let mut driver = Driver::new()
        .reply_json(400, r#"{"error":"invalid_client"}"#)
        .reply_json(200, &token_json("at-1", Some(60), None));
    let mut manager = TokenManager::grant(
        client(),
        grantline::grant::TokenRequest::client_credentials(),
    )
    .unwrap();
    let Access::Renew(renewal) = manager.access(driver.now()) else {
        panic!()
    };
    let e = driver.run(renewal).unwrap_err();
    assert_eq!(
        e.flow_error().unwrap().oauth_code(),
        Some(&ErrorCode::InvalidClient)
    );
    assert!(manager.renewal_failed(driver.now()).is_none());
    assert!(!manager.is_renewing());
    assert_eq!(header(&mut manager, &mut driver).unwrap(), "Bearer at-1");
}

#[test]
fn a_renewal_that_fails_inside_the_leeway_leaves_the_valid_token_usable() {
    let mut driver = Driver::new().reply_json(503, r#"{"error":"temporarily_unavailable"}"#);
    let mut manager = TokenManager::grant(
        client(),
        grantline::grant::TokenRequest::client_credentials(),
    )
    .unwrap()
    .with_token(token(&driver, "at-1", Some(300), None))
    .unwrap();
    driver.advance(Duration::from_secs(290));
    let Access::Renew(renewal) = manager.access(driver.now()) else {
        panic!()
    };
    assert!(driver.run(renewal).is_err());
    assert_eq!(manager.renewal_failed(driver.now()).unwrap(), "Bearer at-1");
    // Past its expiry, though, a failed renewal leaves nothing.
    driver.advance(Duration::from_secs(20));
    let _renewal = manager.access(driver.now());
    assert!(manager.renewal_failed(driver.now()).is_none());
}

#[test]
fn a_dead_refresh_token_falls_back_to_the_grant_in_the_same_renewal() {
    let mut driver = Driver::new()
        .reply_json(400, r#"{"error":"invalid_grant"}"#)
        .reply_json(200, &token_json("at-2", Some(60), None));
    let (manager, calls) = counting(
        TokenManager::grant(
            client(),
            grantline::grant::TokenRequest::client_credentials(),
        )
        .unwrap()
        .with_token(token(&Driver::new(), "at-1", Some(60), Some("rt-dead")))
        .unwrap(),
    );
    let mut manager = manager;
    driver.advance(Duration::from_secs(61));
    let Access::Renew(renewal) = manager.access(driver.now()) else {
        panic!()
    };
    assert!(renewal.is_refresh());
    let renewed = driver.run(renewal).unwrap();
    assert!(renewed.refresh_token().is_none(), "the dead one is dropped");
    manager.complete(renewed, driver.now()).unwrap();
    assert_eq!(ready(manager.access(driver.now())), "Bearer at-2");
    assert_eq!(
        grant_types(&driver),
        ["refresh_token", "client_credentials"]
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn a_refresh_error_other_than_invalid_grant_does_not_fall_back() {
    let mut driver = Driver::new().reply_json(400, r#"{"error":"invalid_client"}"#);
    let mut manager = TokenManager::grant(
        client(),
        grantline::grant::TokenRequest::client_credentials(),
    )
    .unwrap()
    .with_token(token(&Driver::new(), "at-1", Some(60), Some("rt")))
    .unwrap();
    driver.advance(Duration::from_secs(61));
    let Access::Renew(renewal) = manager.access(driver.now()) else {
        panic!()
    };
    let e = driver.run(renewal).unwrap_err();
    assert_eq!(
        e.flow_error().unwrap().oauth_code(),
        Some(&ErrorCode::InvalidClient)
    );
    assert_eq!(driver.transcript().requests().count(), 1);
}

#[test]
fn a_refresh_only_manager_has_no_grant_to_fall_back_to() {
    let mut driver = Driver::new().reply_json(400, r#"{"error":"invalid_grant"}"#);
    let mut manager = TokenManager::from_refresh_token(client(), "rt").unwrap();
    let e = header(&mut manager, &mut driver).unwrap_err();
    assert_eq!(
        e.flow_error().unwrap().oauth_code(),
        Some(&ErrorCode::InvalidGrant)
    );
    assert_eq!(driver.transcript().requests().count(), 1);
}

#[test]
fn a_rejected_token_is_renewed_once_however_many_callers_saw_the_rejection() {
    let mut driver = Driver::new().reply_json(200, &token_json("at-2", Some(3600), None));
    let mut manager = TokenManager::grant(
        client(),
        grantline::grant::TokenRequest::client_credentials(),
    )
    .unwrap()
    .with_token(token(&driver, "at-1", Some(3600), None))
    .unwrap();
    let old = ready(manager.access(driver.now()));
    // Ten callers got a 401 with the same token.
    for _ in 0..10 {
        assert!(manager.reject(&old));
    }
    let Access::Renew(renewal) = manager.access(driver.now()) else {
        panic!()
    };
    for _ in 0..9 {
        assert!(matches!(manager.access(driver.now()), Access::Wait));
    }
    manager
        .complete(driver.run(renewal).unwrap(), driver.now())
        .unwrap();
    // A late 401 for the old token changes nothing: the new one is handed out.
    assert!(manager.reject(&old));
    assert_eq!(ready(manager.access(driver.now())), "Bearer at-2");
    assert_eq!(driver.transcript().requests().count(), 1);
}

#[test]
fn tokens_that_cannot_be_renewed_are_always_sent() {
    let driver = Driver::new();
    let mut fixed = TokenManager::bearer("at")
        .unwrap()
        .with_token(token(&driver, "at", Some(10), None))
        .unwrap();
    let later = driver.now().advance(Duration::from_secs(3600));
    let header = ready(fixed.access(later));
    assert_eq!(header, "Bearer at");
    assert!(!fixed.reject(&header), "nothing to retry with");
    assert!(!fixed.invalidate());
    assert_eq!(ready(fixed.access(later)), "Bearer at");
    // An authorization-code token without a refresh token: the same.
    let mut no_refresh =
        TokenManager::refreshing(client(), token(&driver, "code-at", Some(10), None)).unwrap();
    assert_eq!(ready(no_refresh.access(later)), "Bearer code-at");
}

#[test]
fn invalidate_forces_the_next_access_to_renew() {
    let mut driver = Driver::new().reply_json(200, &token_json("at-2", Some(3600), None));
    let mut manager = TokenManager::grant(
        client(),
        grantline::grant::TokenRequest::client_credentials(),
    )
    .unwrap()
    .with_token(token(&driver, "at-1", Some(3600), None))
    .unwrap();
    assert!(manager.invalidate());
    assert_eq!(header(&mut manager, &mut driver).unwrap(), "Bearer at-2");
}

#[test]
fn a_custom_leeway_is_honoured() {
    let mut driver = Driver::new();
    let mut manager = TokenManager::grant(
        client(),
        grantline::grant::TokenRequest::client_credentials(),
    )
    .unwrap()
    .leeway(Duration::from_secs(600))
    .with_token(token(&driver, "at-1", Some(3600), None))
    .unwrap();
    driver.advance(Duration::from_secs(2999));
    assert!(matches!(manager.access(driver.now()), Access::Ready(_)));
    driver.advance(Duration::from_secs(1));
    assert!(matches!(manager.access(driver.now()), Access::Renew(_)));
}

#[test]
fn manager_construction_checks_the_client() {
    let no_endpoint = Client::builder("c").build().unwrap();
    for result in [
        TokenManager::grant(
            no_endpoint.clone(),
            grantline::grant::TokenRequest::client_credentials(),
        ),
        TokenManager::from_refresh_token(no_endpoint.clone(), "rt"),
        TokenManager::refreshing(
            no_endpoint.clone(),
            TokenResponse::new("at".into(), TokenType::Bearer)
                .with_refresh_token(Some(RefreshToken::new("rt"))),
        ),
    ] {
        assert!(matches!(result, Err(Error::Config(_))));
    }
    let reserved = TokenManager::grant(
        client(),
        TokenRequest::client_credentials().param("client_secret", "x"),
    );
    assert!(matches!(reserved, Err(Error::Config(_))));
}
