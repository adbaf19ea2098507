//! Unit tests for the manager's decisions; whole renewals run in `core/tests/token_manager.rs`.

use std::time::{Duration, SystemTime};

use super::*;
use crate::{Flow, Step};

fn t0() -> Now {
    Now::new(
        Now::system().monotonic(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    )
}

fn client() -> Client {
    Client::builder("svc")
        .token_endpoint("https://as.example/token")
        .client_secret_basic("s3cr3t")
        .build()
        .unwrap()
}

fn bearer(at: &str, expires_in: Option<u64>, now: Now) -> TokenResponse {
    TokenResponse::new(AccessToken::new(at), TokenType::Bearer)
        .with_expires_at(expires_in.map(|s| now.wall() + Duration::from_secs(s)))
}

fn ok(body: &str) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(body.as_bytes().to_vec())
        .unwrap()
}

#[test]
fn the_header_is_bearer_sensitive_and_cheap_to_clone() {
    let header = authorization_header(&bearer("at-1", None, t0())).unwrap();
    assert_eq!(header, "Bearer at-1");
    assert!(header.is_sensitive());
    assert_eq!(format!("{header:?}"), "Sensitive");
}

#[test]
fn only_bearer_tokens_with_header_safe_values_are_taken() {
    for token_type in [
        TokenType::DPoP,
        TokenType::NotApplicable,
        TokenType::Other("mac".into()),
    ] {
        let token = TokenResponse::new(AccessToken::new("at"), token_type);
        let e = TokenManager::fixed(token).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidResponse(InvalidResponse {
                    field: "token_type",
                    ..
                })
            ),
            "{e:?}"
        );
    }
    for bad in ["a\nb", "a\rb", "a\0b"] {
        let e = TokenManager::bearer(bad).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidResponse(InvalidResponse {
                    field: "access_token",
                    ..
                })
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn the_leeway_is_capped_at_half_the_lifetime() {
    let now = t0();
    let leeway = Duration::from_secs(30);
    let long = bearer("a", Some(3600), now);
    assert_eq!(capped_leeway(&long, now.wall(), leeway), leeway);
    let short = bearer("a", Some(40), now);
    assert_eq!(
        capped_leeway(&short, now.wall(), leeway),
        Duration::from_secs(20)
    );
    let no_expiry = bearer("a", None, now);
    assert_eq!(capped_leeway(&no_expiry, now.wall(), leeway), leeway);
    // Received after it expired (a clock jump): no leeway left, and no panic.
    let stale = bearer("a", Some(10), now);
    assert_eq!(
        capped_leeway(&stale, now.wall() + Duration::from_secs(60), leeway),
        Duration::ZERO
    );
}

#[test]
fn a_short_renewed_token_is_not_renewed_on_every_access() {
    let now = t0();
    let mut manager = TokenManager::client_credentials(client()).unwrap();
    let _renewal = manager.access(now);
    manager
        .complete(bearer("short", Some(10), now), now)
        .unwrap();
    assert!(matches!(manager.access(now), Access::Ready(_)));
    assert!(matches!(
        manager.access(now.advance(Duration::from_secs(4))),
        Access::Ready(_)
    ));
    assert!(matches!(
        manager.access(now.advance(Duration::from_secs(5))),
        Access::Renew(_)
    ));
}

#[test]
fn a_broken_renewal_fails_once_then_reports_misuse() {
    let mut renewal = Renewal::broken(Error::Misuse(crate::error::Misuse::AlreadyDone));
    assert!(matches!(
        renewal.next(t0()),
        Err(Error::Misuse(crate::error::Misuse::AlreadyDone))
    ));
    assert!(matches!(
        renewal.next(t0()),
        Err(Error::Misuse(crate::error::Misuse::AlreadyFailed))
    ));
    assert!(renewal.handle_response(ok("{}"), t0()).is_err());
}

#[test]
fn the_refresh_stage_keeps_the_old_refresh_token_when_none_comes() {
    let now = t0();
    let mut renewal = Renewal::refresh(&client(), RefreshToken::new("rt-old"), None);
    assert!(renewal.is_refresh());
    let Step::Send(_) = renewal.next(now).unwrap() else {
        panic!("expected a request")
    };
    renewal
        .handle_response(ok(r#"{"access_token":"at","token_type":"Bearer"}"#), now)
        .unwrap();
    let Step::Done(token) = renewal.next(now).unwrap() else {
        panic!("expected the token")
    };
    assert_eq!(token.refresh_token().unwrap().secret(), "rt-old");
}

#[test]
fn reject_marks_only_the_current_header() {
    let now = t0();
    let mut manager = TokenManager::client_credentials(client())
        .unwrap()
        .with_token(bearer("at-1", Some(3600), now))
        .unwrap();
    let old = HeaderValue::from_static("Bearer at-0");
    assert!(manager.reject(&old), "another token can be had");
    assert!(matches!(manager.access(now), Access::Ready(h) if h == "Bearer at-1"));
    let Access::Ready(current) = manager.access(now) else {
        panic!()
    };
    assert!(manager.reject(&current));
    assert!(matches!(manager.access(now), Access::Renew(_)));
    assert!(matches!(manager.access(now), Access::Wait));
    // The rejected token is not handed out again, even if the renewal fails.
    assert!(manager.renewal_failed(now).is_none());
    assert!(matches!(manager.access(now), Access::Renew(_)));
}

#[test]
fn debug_shows_no_secret() {
    let now = t0();
    let manager = TokenManager::client_credentials(client())
        .unwrap()
        .with_token(
            bearer("AT-SECRET", Some(60), now)
                .with_refresh_token(Some(RefreshToken::new("RT-SECRET"))),
        )
        .unwrap();
    let shown = format!("{manager:?}");
    for secret in ["AT-SECRET", "RT-SECRET", "s3cr3t"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    let renewal = Renewal::refresh(&client(), RefreshToken::new("RT-SECRET"), None);
    assert!(!format!("{renewal:?}").contains("RT-SECRET"));
    let mut manager = manager;
    let access = manager.access(now);
    assert!(!format!("{access:?}").contains("AT-SECRET"));
}
