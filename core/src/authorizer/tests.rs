//! The authorizer's rules, on the scripted driver and a fake clock: every rule the transports
//! used to test one by one, tested once here.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};

use super::*;
use crate::error::ConfigError;
use crate::testing::Driver;
use crate::{Client, Error, TokenType};

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

fn cc() -> Authorizer {
    Authorizer::new(
        TokenManager::grant(client(), crate::grant::TokenRequest::client_credentials()).unwrap(),
    )
}

fn with_token(at: &str, expires_in: Option<u64>, now: Now) -> Authorizer {
    let token = TokenResponse::new(at.into(), TokenType::Bearer)
        .with_expires_at(expires_in.map(|s| now.wall() + Duration::from_secs(s)));
    Authorizer::new(
        TokenManager::grant(client(), crate::grant::TokenRequest::client_credentials())
            .unwrap()
            .with_token(token)
            .unwrap(),
    )
}

fn token_json(at: &str) -> String {
    format!(r#"{{"access_token":"{at}","token_type":"Bearer","expires_in":300}}"#)
}

fn uri(text: &str) -> Uri {
    text.parse().unwrap()
}

const GET: &Method = &Method::GET;

fn challenge(value: &'static str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("www-authenticate", HeaderValue::from_static(value));
    headers
}

/// Authorizes one attempt to the end, running renewals on `server`: the header it gets.
fn attach(
    authorizer: &mut Authorizer,
    attempt: &mut Attempt<'_>,
    target: Target<'_>,
    server: &mut Driver,
) -> Result<Authorization, AuthError> {
    loop {
        match authorizer.authorize(attempt, target, server.now())? {
            Authorize::Attach(auth) => return Ok(auth),
            Authorize::Renew(renewal, ticket) => {
                let result = server.run(renewal).map_err(RunError::from);
                authorizer.finish(ticket, result, server.now());
            }
            Authorize::Wait(..) => panic!("one caller"),
            Authorize::Skip => panic!("not confined"),
        }
    }
}

#[test]
fn a_cached_token_is_attached_as_is() {
    let now = t0();
    let mut authorizer = with_token("at", Some(3600), now);
    let target_uri = uri("https://api.example/v1/items");
    let target = Target::new(GET, &target_uri);
    let Authorize::Attach(auth) = authorizer
        .authorize(&mut Attempt::new(), target, now)
        .unwrap()
    else {
        panic!("cached")
    };
    let mut headers = HeaderMap::new();
    auth.apply(&mut headers);
    assert_eq!(headers["authorization"], "Bearer at");
    assert!(headers["authorization"].is_sensitive());
    assert!(!headers.contains_key("dpop"));
}

#[test]
fn no_token_renews_first_then_attaches_the_new_one() {
    let mut server = Driver::starting_at(t0()).reply_json(200, &token_json("at-1"));
    let mut authorizer = cc();
    let target_uri = uri("https://api.example/");
    let auth = attach(
        &mut authorizer,
        &mut Attempt::new(),
        Target::new(GET, &target_uri),
        &mut server,
    )
    .unwrap();
    assert_eq!(auth.authorization(), "Bearer at-1");
    assert_eq!(server.transcript().requests().count(), 1);
}

#[test]
fn a_second_caller_waits_for_the_first_renewal_and_gets_its_token() {
    let now = t0();
    let mut authorizer = cc();
    let target_uri = uri("https://api.example/");
    let target = Target::new(GET, &target_uri);
    let mut first = Attempt::new();
    let mut second = Attempt::new();
    let Authorize::Renew(renewal, ticket) = authorizer.authorize(&mut first, target, now).unwrap()
    else {
        panic!("renew")
    };
    let Authorize::Wait(waited, at_most) = authorizer.authorize(&mut second, target, now).unwrap()
    else {
        panic!("wait")
    };
    assert_eq!(waited, ticket);
    assert_eq!(at_most, DEFAULT_RENEWAL_BOUND);
    // A third caller, 10 s later, waits for the same ticket, for what is left of the bound.
    let later = now.advance(Duration::from_secs(10));
    let Authorize::Wait(_, left) = authorizer
        .authorize(&mut Attempt::new(), target, later)
        .unwrap()
    else {
        panic!("wait")
    };
    assert_eq!(left, DEFAULT_RENEWAL_BOUND - Duration::from_secs(10));

    let mut server = Driver::starting_at(later).reply_json(200, &token_json("at-1"));
    let token = server.run(renewal).unwrap();
    authorizer.finish(ticket, Ok(token), server.now());
    assert!(!authorizer.is_pending(ticket));
    for attempt in [&mut first, &mut second] {
        let Authorize::Attach(auth) = authorizer.authorize(attempt, target, server.now()).unwrap()
        else {
            panic!("attach")
        };
        assert_eq!(auth.authorization(), "Bearer at-1");
    }
}

#[test]
fn a_failed_renewal_is_shared_by_its_waiters_and_the_next_caller_tries_again() {
    let now = t0();
    let mut authorizer = cc();
    let target_uri = uri("https://api.example/");
    let target = Target::new(GET, &target_uri);
    let mut first = Attempt::new();
    let mut second = Attempt::new();
    let Authorize::Renew(renewal, ticket) = authorizer.authorize(&mut first, target, now).unwrap()
    else {
        panic!("renew")
    };
    let Authorize::Wait(..) = authorizer.authorize(&mut second, target, now).unwrap() else {
        panic!("wait")
    };
    let mut server = Driver::starting_at(now).reply_json(401, r#"{"error":"invalid_client"}"#);
    let result = server.run(renewal).map_err(RunError::from);
    authorizer.finish(ticket, result, now);
    for attempt in [&mut first, &mut second] {
        let error = authorizer.authorize(attempt, target, now).unwrap_err();
        assert_eq!(
            error.oauth_code(),
            Some(&crate::error::ErrorCode::InvalidClient)
        );
    }
    // A new caller is not handed the old failure: it renews again.
    assert!(matches!(
        authorizer.authorize(&mut Attempt::new(), target, now),
        Ok(Authorize::Renew(..))
    ));
}

#[test]
fn a_failed_renewal_inside_the_leeway_keeps_the_old_token() {
    let now = t0();
    let mut authorizer = with_token("old", Some(20), now); // inside the 30 s leeway
    let target_uri = uri("https://api.example/");
    let target = Target::new(GET, &target_uri);
    let mut attempt = Attempt::new();
    let Authorize::Renew(_, ticket) = authorizer.authorize(&mut attempt, target, now).unwrap()
    else {
        panic!("renew")
    };
    // Others keep using the old token while it renews: they do not wait.
    let Authorize::Attach(other) = authorizer
        .authorize(&mut Attempt::new(), target, now)
        .unwrap()
    else {
        panic!("attach")
    };
    assert_eq!(other.authorization(), "Bearer old");
    authorizer.finish(
        ticket,
        Err(RunError::Transport(crate::driver::TransportError::new(
            crate::driver::TransportErrorKind::Timeout,
        ))),
        now,
    );
    let Authorize::Attach(auth) = authorizer.authorize(&mut attempt, target, now).unwrap() else {
        panic!("the old token")
    };
    assert_eq!(auth.authorization(), "Bearer old");
}

#[test]
fn an_abandoned_renewal_hands_over_to_a_waiter() {
    let now = t0();
    let mut authorizer = cc();
    let target_uri = uri("https://api.example/");
    let target = Target::new(GET, &target_uri);
    let Authorize::Renew(_, first) = authorizer
        .authorize(&mut Attempt::new(), target, now)
        .unwrap()
    else {
        panic!("renew")
    };
    let mut waiter = Attempt::new();
    let Authorize::Wait(..) = authorizer.authorize(&mut waiter, target, now).unwrap() else {
        panic!("wait")
    };
    authorizer.abandon(first, now);
    let Authorize::Renew(_, second) = authorizer.authorize(&mut waiter, target, now).unwrap()
    else {
        panic!("the waiter takes over")
    };
    assert_ne!(first, second);
    // The abandoned renewal's late result is ignored: it cannot overwrite the new one's.
    authorizer.finish(
        first,
        Ok(TokenResponse::new("late".into(), TokenType::Bearer)),
        now,
    );
    assert!(authorizer.token().is_none());
    assert!(authorizer.is_pending(second));
}

#[test]
fn waiters_give_up_after_the_bound_and_a_new_caller_starts_over() {
    let now = t0();
    let mut authorizer = cc().renewal_bound(Duration::from_secs(5));
    let target_uri = uri("https://api.example/");
    let target = Target::new(GET, &target_uri);
    let Authorize::Renew(_, hung) = authorizer
        .authorize(&mut Attempt::new(), target, now)
        .unwrap()
    else {
        panic!("renew")
    };
    let mut waiter = Attempt::new();
    let Authorize::Wait(_, at_most) = authorizer.authorize(&mut waiter, target, now).unwrap()
    else {
        panic!("wait")
    };
    // Woken early: still waiting, for the rest of the bound.
    let early = now.advance(Duration::from_secs(2));
    let Authorize::Wait(_, left) = authorizer.authorize(&mut waiter, target, early).unwrap() else {
        panic!("still waiting")
    };
    assert_eq!(left, Duration::from_secs(3));
    let late = now.advance(at_most);
    let error = authorizer.authorize(&mut waiter, target, late).unwrap_err();
    assert!(matches!(error.error(), RunError::RenewalTimedOut { .. }));
    assert!(error.is_timeout());
    // A new caller gives the hung renewal up and starts another.
    let Authorize::Renew(_, fresh) = authorizer
        .authorize(&mut Attempt::new(), target, late)
        .unwrap()
    else {
        panic!("a new renewal")
    };
    assert_ne!(fresh, hung);
    assert!(!authorizer.is_pending(hung));
}

#[test]
fn a_token_the_renewal_just_delivered_is_used_even_inside_the_leeway() {
    // A server that issues 10-second tokens must not make every request renew.
    let mut server = Driver::starting_at(t0()).reply_json(
        200,
        r#"{"access_token":"short","token_type":"Bearer","expires_in":1}"#,
    );
    let mut authorizer = cc();
    let target_uri = uri("https://api.example/");
    let auth = attach(
        &mut authorizer,
        &mut Attempt::new(),
        Target::new(GET, &target_uri),
        &mut server,
    )
    .unwrap();
    assert_eq!(auth.authorization(), "Bearer short");
    assert_eq!(server.transcript().requests().count(), 1);
}

#[test]
fn invalid_token_rejects_renews_and_resends_once() {
    let now = t0();
    let mut authorizer = with_token("old", Some(3600), now);
    let mut server = Driver::starting_at(now)
        .reply_json(200, &token_json("new"))
        .reply_json(200, &token_json("newer"));
    let target_uri = uri("https://api.example/v1");
    let target = Target::new(GET, &target_uri);
    let mut attempt = Attempt::new();
    let first = attach(&mut authorizer, &mut attempt, target, &mut server).unwrap();
    assert_eq!(first.authorization(), "Bearer old");
    let refused = challenge(r#"Bearer error="invalid_token""#);
    let unauthorized = StatusCode::UNAUTHORIZED;
    assert_eq!(
        authorizer.after_response(&mut attempt, target, unauthorized, &refused),
        AfterResponse::Resend
    );
    let second = attach(&mut authorizer, &mut attempt, target, &mut server).unwrap();
    assert_eq!(second.authorization(), "Bearer new");
    assert!(attempt.is_resent());
    // Refused again: the token is rejected (the next request renews), but no second resend.
    assert_eq!(
        authorizer.after_response(&mut attempt, target, unauthorized, &refused),
        AfterResponse::Done
    );
    let next = attach(&mut authorizer, &mut Attempt::new(), target, &mut server).unwrap();
    assert_eq!(next.authorization(), "Bearer newer");
}

#[test]
fn other_answers_are_done() {
    let now = t0();
    let mut authorizer = with_token("at", Some(3600), now);
    let target_uri = uri("https://api.example/v1");
    let target = Target::new(GET, &target_uri);
    for (status, headers) in [
        (StatusCode::OK, HeaderMap::new()),
        (
            StatusCode::FORBIDDEN,
            challenge(r#"Bearer error="invalid_token""#),
        ),
        (
            StatusCode::UNAUTHORIZED,
            challenge(r#"Bearer error="insufficient_scope""#),
        ),
        (StatusCode::UNAUTHORIZED, HeaderMap::new()),
        (StatusCode::INTERNAL_SERVER_ERROR, HeaderMap::new()),
    ] {
        let mut attempt = Attempt::new();
        let Authorize::Attach(_) = authorizer.authorize(&mut attempt, target, now).unwrap() else {
            panic!("attach")
        };
        assert_eq!(
            authorizer.after_response(&mut attempt, target, status, &headers),
            AfterResponse::Done,
            "{status}"
        );
    }
    assert_eq!(authorizer.token().unwrap().access_token().secret(), "at");
}

#[test]
fn a_request_that_cannot_be_replayed_is_not_resent_but_the_refusal_counts() {
    let now = t0();
    let mut authorizer = with_token("old", Some(3600), now);
    let target_uri = uri("https://api.example/v1");
    let target = Target::new(GET, &target_uri);
    let mut attempt = Attempt::new().not_replayable();
    let Authorize::Attach(_) = authorizer.authorize(&mut attempt, target, now).unwrap() else {
        panic!("attach")
    };
    let refused = challenge(r#"Bearer error="invalid_token""#);
    assert_eq!(
        authorizer.after_response(&mut attempt, target, StatusCode::UNAUTHORIZED, &refused),
        AfterResponse::Done
    );
    assert!(matches!(
        authorizer.authorize(&mut Attempt::new(), target, now),
        Ok(Authorize::Renew(..))
    ));
}

#[test]
fn a_fixed_token_refused_is_not_resent() {
    let now = t0();
    let mut authorizer = Authorizer::new(TokenManager::bearer("fixed").unwrap());
    let target_uri = uri("https://api.example/v1");
    let target = Target::new(GET, &target_uri);
    let mut attempt = Attempt::new();
    let Authorize::Attach(_) = authorizer.authorize(&mut attempt, target, now).unwrap() else {
        panic!("attach")
    };
    let refused = challenge(r#"Bearer error="invalid_token""#);
    assert_eq!(
        authorizer.after_response(&mut attempt, target, StatusCode::UNAUTHORIZED, &refused),
        AfterResponse::Done
    );
}

#[test]
fn plain_http_is_refused_except_on_loopback_or_by_opt_in() {
    let now = t0();
    for refused in [
        "http://api.example/v1",
        "http://10.0.0.1/v1",
        "http://localhost.evil.example/",
        "/relative/path",
        "ftp://files.example/",
    ] {
        let mut authorizer = with_token("at", None, now);
        let target_uri = uri(refused);
        let error = authorizer
            .authorize(&mut Attempt::new(), Target::new(GET, &target_uri), now)
            .unwrap_err();
        assert!(
            matches!(
                error.error(),
                RunError::Flow(Error::Config(ConfigError::InsecureResource { .. }))
            ),
            "{refused}"
        );
        assert!(!error.to_string().contains("Bearer"), "{refused}");
    }
    for allowed in [
        "https://api.example/v1",
        "http://127.0.0.1:8080/v1",
        "http://[::1]:8080/v1",
        "http://LOCALHOST/v1",
    ] {
        let mut authorizer = with_token("at", None, now);
        let target_uri = uri(allowed);
        assert!(
            matches!(
                authorizer.authorize(&mut Attempt::new(), Target::new(GET, &target_uri), now),
                Ok(Authorize::Attach(_))
            ),
            "{allowed}"
        );
    }
    let mut lax = with_token("at", None, now).insecure_http();
    let target_uri = uri("http://api.internal/v1");
    assert!(matches!(
        lax.authorize(&mut Attempt::new(), Target::new(GET, &target_uri), now),
        Ok(Authorize::Attach(_))
    ));
}

#[test]
fn a_confined_attempt_skips_urls_outside_its_base() {
    let now = t0();
    let mut authorizer = with_token("at", None, now);
    let base = BaseUrl::new("https://api.example/v1").unwrap();
    for outside in [
        "https://api.example/v10",
        "https://api.example/admin",
        "https://other.example/v1/items",
        // Outside the base and insecure: skipped, not refused (nothing is attached).
        "http://other.example/v1",
    ] {
        let target_uri = uri(outside);
        assert!(
            matches!(
                authorizer.authorize(
                    &mut Attempt::new().only_under(&base),
                    Target::new(GET, &target_uri),
                    now
                ),
                Ok(Authorize::Skip)
            ),
            "{outside}"
        );
    }
    let inside = url::Url::parse("https://api.example/v1/items?page=2").unwrap();
    assert!(matches!(
        authorizer.authorize(
            &mut Attempt::new().only_under(&base),
            Target::url(GET, &inside),
            now
        ),
        Ok(Authorize::Attach(_))
    ));
}

#[test]
fn debug_shows_no_token() {
    let authorizer = with_token("sentinel-at", None, t0());
    assert!(!format!("{authorizer:?}").contains("sentinel-at"));
}

#[cfg(feature = "jose")]
mod dpop {
    use super::*;
    use crate::dpop::DpopKey;
    use crate::jose::{Algorithm, UnverifiedJws};

    fn dpop_authorizer(token_type: TokenType) -> Authorizer {
        let client = Client::builder("svc")
            .token_endpoint("https://as.example/token")
            .client_secret_basic("s")
            .dpop(DpopKey::generate(Algorithm::ES256).unwrap())
            .build()
            .unwrap();
        let token = TokenResponse::new("at".into(), token_type);
        Authorizer::new(
            TokenManager::grant(client, crate::grant::TokenRequest::client_credentials())
                .unwrap()
                .with_token(token)
                .unwrap(),
        )
    }

    fn claims(proof: &HeaderValue) -> serde_json::Value {
        let jws = UnverifiedJws::parse(proof.to_str().unwrap()).unwrap();
        serde_json::from_slice(jws.unverified_payload()).unwrap()
    }

    #[test]
    fn a_dpop_token_goes_with_a_fresh_proof_for_the_request() {
        let now = t0();
        let mut authorizer = dpop_authorizer(TokenType::DPoP);
        let target_uri = uri("https://api.example/v1/items?page=2");
        let target = Target::new(&Method::POST, &target_uri);
        let Authorize::Attach(first) = authorizer
            .authorize(&mut Attempt::new(), target, now)
            .unwrap()
        else {
            panic!("attach")
        };
        assert_eq!(first.authorization(), "DPoP at");
        let proof = first.dpop_proof().unwrap().clone();
        assert!(proof.is_sensitive());
        let claims1 = claims(&proof);
        assert_eq!(claims1["htm"], "POST");
        assert_eq!(claims1["htu"], "https://api.example/v1/items");
        assert_eq!(claims1["ath"], crate::dpop::ath(&"at".into()));
        let Authorize::Attach(second) = authorizer
            .authorize(&mut Attempt::new(), target, now)
            .unwrap()
        else {
            panic!("attach")
        };
        assert_ne!(claims(second.dpop_proof().unwrap())["jti"], claims1["jti"]);
        let mut headers = HeaderMap::new();
        second.apply(&mut headers);
        assert!(headers.contains_key("dpop"));
    }

    #[test]
    fn use_dpop_nonce_resends_once_with_the_nonce() {
        let now = t0();
        let mut authorizer = dpop_authorizer(TokenType::DPoP);
        let target_uri = uri("https://api.example/v1");
        let target = Target::new(GET, &target_uri);
        let mut attempt = Attempt::new();
        let Authorize::Attach(_) = authorizer.authorize(&mut attempt, target, now).unwrap() else {
            panic!("attach")
        };
        let mut answer = challenge(r#"DPoP error="use_dpop_nonce""#);
        answer.insert("dpop-nonce", HeaderValue::from_static("n-1"));
        assert_eq!(
            authorizer.after_response(&mut attempt, target, StatusCode::UNAUTHORIZED, &answer),
            AfterResponse::Resend
        );
        let Authorize::Attach(again) = authorizer.authorize(&mut attempt, target, now).unwrap()
        else {
            panic!("attach")
        };
        assert_eq!(claims(again.dpop_proof().unwrap())["nonce"], "n-1");
        assert_eq!(
            authorizer.after_response(&mut attempt, target, StatusCode::UNAUTHORIZED, &answer),
            AfterResponse::Done,
            "once"
        );
    }

    #[test]
    fn a_nonce_from_a_success_is_used_next_time() {
        let now = t0();
        let mut authorizer = dpop_authorizer(TokenType::DPoP);
        let target_uri = uri("https://api.example/v1");
        let target = Target::new(GET, &target_uri);
        let mut attempt = Attempt::new();
        let Authorize::Attach(_) = authorizer.authorize(&mut attempt, target, now).unwrap() else {
            panic!("attach")
        };
        let mut ok = HeaderMap::new();
        ok.insert("dpop-nonce", HeaderValue::from_static("n-ok"));
        assert_eq!(
            authorizer.after_response(&mut attempt, target, StatusCode::OK, &ok),
            AfterResponse::Done
        );
        let Authorize::Attach(next) = authorizer
            .authorize(&mut Attempt::new(), target, now)
            .unwrap()
        else {
            panic!("attach")
        };
        assert_eq!(claims(next.dpop_proof().unwrap())["nonce"], "n-ok");
    }

    #[test]
    fn a_bearer_token_on_a_dpop_client_removes_a_stale_proof() {
        let now = t0();
        let mut authorizer = dpop_authorizer(TokenType::Bearer);
        let target_uri = uri("https://api.example/v1");
        let Authorize::Attach(auth) = authorizer
            .authorize(&mut Attempt::new(), Target::new(GET, &target_uri), now)
            .unwrap()
        else {
            panic!("attach")
        };
        let mut headers = HeaderMap::new();
        headers.insert("dpop", HeaderValue::from_static("stale"));
        auth.apply(&mut headers);
        assert!(!headers.contains_key("dpop"));
        assert_eq!(headers["authorization"], "Bearer at");
    }

    #[test]
    fn use_dpop_nonce_to_a_bearer_token_is_not_resent() {
        let now = t0();
        let mut authorizer = dpop_authorizer(TokenType::Bearer);
        let target_uri = uri("https://api.example/v1");
        let target = Target::new(GET, &target_uri);
        let mut attempt = Attempt::new();
        let Authorize::Attach(_) = authorizer.authorize(&mut attempt, target, now).unwrap() else {
            panic!("attach")
        };
        let answer = challenge(r#"DPoP error="use_dpop_nonce""#);
        assert_eq!(
            authorizer.after_response(&mut attempt, target, StatusCode::UNAUTHORIZED, &answer),
            AfterResponse::Done
        );
    }
}
