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
    let header = authorization_header(&bearer("at-1", None, t0()), false).unwrap();
    assert_eq!(header, "Bearer at-1");
    assert!(header.is_sensitive());
    assert_eq!(format!("{header:?}"), "Sensitive");
}

#[test]
fn only_bearer_tokens_with_header_safe_values_are_taken_without_a_dpop_key() {
    for token_type in [
        TokenType::DPoP,
        TokenType::NotApplicable,
        TokenType::Other("mac".into()),
    ] {
        let token = TokenResponse::new(AccessToken::new("at"), token_type);
        let e = TokenManager::bearer("x")
            .unwrap()
            .with_token(token)
            .unwrap_err();
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
    let mut manager =
        TokenManager::grant(client(), crate::grant::TokenRequest::client_credentials()).unwrap();
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
    let mut manager =
        TokenManager::grant(client(), crate::grant::TokenRequest::client_credentials())
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
    let manager = TokenManager::grant(client(), crate::grant::TokenRequest::client_credentials())
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

#[cfg(feature = "jose")]
mod dpop {
    use super::*;
    use crate::dpop::DpopKey;
    use crate::jose::{Algorithm, Jwk, UnverifiedJws};

    fn dpop_client() -> Client {
        Client::builder("svc")
            .token_endpoint("https://as.example/token")
            .client_secret_basic("s3cr3t")
            .dpop(DpopKey::generate(Algorithm::ES256).unwrap())
            .build()
            .unwrap()
    }

    fn claims_of(proof: &HeaderValue) -> serde_json::Value {
        let jws = UnverifiedJws::parse(proof.to_str().unwrap()).unwrap();
        assert_eq!(jws.header().token_type(), Some("dpop+jwt"));
        let key = Jwk::from_json(&jws.header().get("jwk").unwrap().to_string()).unwrap();
        let verified = jws.verify_with_key(&key, &[Algorithm::ES256]).unwrap();
        serde_json::from_slice(verified.payload()).unwrap()
    }

    #[test]
    fn a_dpop_token_is_taken_only_when_the_client_has_a_key() {
        let token = TokenResponse::new(AccessToken::new("at"), TokenType::DPoP);
        let mut manager = TokenManager::grant(
            dpop_client(),
            crate::grant::TokenRequest::client_credentials(),
        )
        .unwrap()
        .with_token(token.clone())
        .unwrap();
        let Access::Ready(header) = manager.access(t0()) else {
            panic!("a cached token")
        };
        assert_eq!(header, "DPoP at");
        assert!(header.is_sensitive());
        // Without a key (or with no client at all), it is refused.
        assert!(
            TokenManager::grant(client(), crate::grant::TokenRequest::client_credentials())
                .unwrap()
                .with_token(token.clone())
                .is_err()
        );
        assert!(
            TokenManager::bearer("x")
                .unwrap()
                .with_token(token)
                .is_err()
        );
        // A renewal may bring a DPoP token too.
        let mut manager = TokenManager::grant(
            dpop_client(),
            crate::grant::TokenRequest::client_credentials(),
        )
        .unwrap();
        let _renewal = manager.access(t0());
        let header = manager
            .complete(
                TokenResponse::new(AccessToken::new("at-2"), TokenType::DPoP),
                t0(),
            )
            .unwrap();
        assert_eq!(header, "DPoP at-2");
    }

    #[test]
    fn proofs_are_fresh_carry_ath_htu_and_the_servers_nonce() {
        let client = dpop_client();
        let manager = TokenManager::grant(
            client.clone(),
            crate::grant::TokenRequest::client_credentials(),
        )
        .unwrap();
        assert!(
            TokenManager::grant(
                self::super::client(),
                crate::grant::TokenRequest::client_credentials()
            )
            .unwrap()
            .dpop_proofs()
            .is_none()
        );
        let proofs = manager.dpop_proofs().unwrap();
        let header = HeaderValue::from_static("DPoP at");
        let uri = "https://API.example/v1/items?page=2#x";
        let first = proofs.proof(&header, "GET", uri, t0()).unwrap().unwrap();
        assert!(first.is_sensitive());
        let first = claims_of(&first);
        assert_eq!(first["htm"], "GET");
        assert_eq!(first["htu"], "https://api.example/v1/items");
        assert_eq!(first["iat"], 1_700_000_000);
        assert_eq!(first["ath"], crate::dpop::ath(&AccessToken::new("at")));
        assert!(first.get("nonce").is_none());

        let mut headers = http::HeaderMap::new();
        headers.insert("dpop-nonce", HeaderValue::from_static("n-1"));
        proofs.remember_nonce("https://api.example/other", &headers);
        let second = claims_of(&proofs.proof(&header, "POST", uri, t0()).unwrap().unwrap());
        assert_eq!(second["nonce"], "n-1");
        assert_eq!(second["htm"], "POST");
        assert_ne!(first["jti"], second["jti"]);
        // Another server's nonce is not sent; a Bearer header gets no proof.
        let other = proofs
            .proof(&header, "GET", "https://other.example/", t0())
            .unwrap()
            .unwrap();
        assert!(claims_of(&other).get("nonce").is_none());
        let bearer = HeaderValue::from_static("Bearer at");
        assert!(proofs.proof(&bearer, "GET", uri, t0()).unwrap().is_none());
    }

    #[test]
    fn refusals_worth_a_resend() {
        let with = |value: &'static str| {
            let mut headers = http::HeaderMap::new();
            headers.insert("www-authenticate", HeaderValue::from_static(value));
            headers
        };
        let unauthorized = http::StatusCode::UNAUTHORIZED;
        assert_eq!(
            resend_reason(unauthorized, &with(r#"DPoP error="use_dpop_nonce""#)),
            Some(Resend::UseDpopNonce)
        );
        assert_eq!(
            resend_reason(
                unauthorized,
                &with(r#"DPoP algs="ES256", error="invalid_token""#)
            ),
            Some(Resend::InvalidToken)
        );
        assert_eq!(
            resend_reason(unauthorized, &with(r#"Bearer error="invalid_token""#)),
            Some(Resend::InvalidToken)
        );
        assert_eq!(
            resend_reason(unauthorized, &with(r#"Bearer error="use_dpop_nonce""#)),
            None
        );
        assert_eq!(
            resend_reason(unauthorized, &with(r#"DPoP error="insufficient_scope""#)),
            None
        );
        assert_eq!(
            resend_reason(
                http::StatusCode::BAD_REQUEST,
                &with(r#"DPoP error="use_dpop_nonce""#)
            ),
            None
        );
    }
}
