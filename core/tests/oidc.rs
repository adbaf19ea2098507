//! OpenID Connect: one test per ID token validation rule, the JWKS cache and its refetch
//! policy driven through the scripted driver, userinfo, and logout URLs.

#![cfg(feature = "jose")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::{Duration, SystemTime};

use grantline::error::{ConfigError, ErrorCode, JoseError};
use grantline::jose::{self, Algorithm, Claims, Jwk, JwkSet, JwsHeader, SigningKey};
use grantline::oidc::{
    EndSessionRequest, IdTokenClaims, IdTokenValidator, JwksCache, UserinfoFlow,
};
use grantline::secret::{AccessToken, IdToken};
use grantline::testing::{Driver, DriverError};
use grantline::{Client, Error};

const ISS: &str = "https://op.example";
const CLIENT: &str = "my-client";
const NONCE: &str = "n-0S6_WzA2Mj";
const JWKS_URI: &str = "https://op.example/jwks";
const RSA: &str = include_str!("fixtures/rfc7520-figure4-rsa.jwk.json");
const ED: &str = include_str!("fixtures/rfc8037-a1-ed25519.jwk.json");

/// The scripted driver's wall clock.
fn now() -> SystemTime {
    Driver::new().now().wall()
}

fn provider_key() -> SigningKey {
    SigningKey::from_jwk(RSA).unwrap().with_key_id("k1")
}

/// The provider's published keys (no `alg` member, so the tests choose the algorithm).
fn provider_keys() -> JwkSet {
    JwkSet::from(Jwk::from_json(RSA).unwrap().with_key_id("k1"))
}

fn claims() -> Claims {
    Claims::new()
        .with("iss", ISS)
        .with("sub", "alice")
        .with("aud", CLIENT)
        .with("nonce", NONCE)
        .with_time("iat", now())
        .with_time("exp", now() + Duration::from_secs(600))
        .with_time("auth_time", now() - Duration::from_secs(60))
}

fn sign_with(key: &SigningKey, header: JwsHeader, claims: &Claims) -> IdToken {
    IdToken::new(jose::sign(key, header, &claims.to_json()).unwrap())
}

fn token(claims: &Claims) -> IdToken {
    let key = provider_key();
    sign_with(&key, JwsHeader::for_signer(&key), claims)
}

fn validator() -> IdTokenValidator {
    IdTokenValidator::new(ISS, CLIENT).nonce(NONCE)
}

fn validate(validator: &IdTokenValidator, token: &IdToken) -> Result<IdTokenClaims, Error> {
    validator.validate(token, &provider_keys(), now())
}

fn rejects(validator: &IdTokenValidator, token: &IdToken) -> JoseError {
    match validate(validator, token) {
        Err(Error::Jose(e)) => e,
        other => panic!("expected a JOSE error, got {other:?}"),
    }
}

fn without(claims: Claims, name: &str) -> Claims {
    let mut map = claims.into_map();
    map.remove(name);
    Claims::from_map(map)
}

#[test]
fn a_valid_id_token_is_accepted_with_typed_claims() {
    let validated = validate(&validator(), &token(&claims().with("email", "a@x"))).unwrap();
    assert_eq!(validated.issuer(), ISS);
    assert_eq!(validated.subject(), "alice");
    assert_eq!(validated.audience(), [CLIENT]);
    assert_eq!(validated.expires_at(), now() + Duration::from_secs(600));
    assert_eq!(validated.issued_at(), now());
    assert_eq!(validated.auth_time(), Some(now() - Duration::from_secs(60)));
    assert_eq!(validated.algorithm(), Algorithm::RS256);
    assert_eq!(validated.claims().string("email"), Some("a@x"));
    // Debug shows no claim values beyond the registered ones, and never the nonce.
    assert!(!format!("{validated:?}").contains(NONCE));
    assert!(!format!("{validated:?}").contains("a@x"));
}

// Rules 6-8: signature and algorithm.

#[test]
fn a_tampered_signature_is_refused() {
    let good = token(&claims());
    let (input, _) = good.secret().rsplit_once('.').unwrap();
    let other = token(&claims().with("sub", "mallory"));
    let (_, signature) = other.secret().rsplit_once('.').unwrap();
    let forged = IdToken::new(format!("{input}.{signature}"));
    assert_eq!(rejects(&validator(), &forged), JoseError::InvalidSignature);
}

#[test]
fn an_unsecured_token_is_refused() {
    use base64::Engine as _;
    let b64 = |s: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let unsigned = IdToken::new(format!(
        "{}.{}.",
        b64(br#"{"alg":"none"}"#),
        b64(&claims().to_json())
    ));
    let validator = validator().algorithms(Algorithm::all().iter().copied());
    assert_eq!(rejects(&validator, &unsigned), JoseError::Unsecured);
}

#[test]
fn an_algorithm_not_allowed_is_refused() {
    // Signed correctly with PS256, but the client only allows RS256 (the default).
    let key = provider_key().with_algorithm(Algorithm::PS256).unwrap();
    let token = sign_with(&key, JwsHeader::for_signer(&key), &claims());
    assert_eq!(
        rejects(&validator(), &token),
        JoseError::AlgorithmNotAllowed("PS256".into())
    );
    let allowed = validator().algorithms([Algorithm::PS256]);
    validate(&allowed, &token).unwrap();
}

#[test]
fn an_hmac_token_keyed_with_the_public_key_is_refused() {
    let public = provider_key()
        .public_jwk()
        .unwrap()
        .to_public_json()
        .unwrap();
    let attacker = SigningKey::hmac(Algorithm::HS256, public["n"].as_str().unwrap().as_bytes())
        .unwrap()
        .with_key_id("k1");
    let token = sign_with(&attacker, JwsHeader::for_signer(&attacker), &claims());
    let validator = validator().algorithms([Algorithm::RS256, Algorithm::HS256]);
    assert_eq!(rejects(&validator, &token), JoseError::KeyAlgorithmMismatch);
}

#[test]
fn an_hmac_id_token_verifies_with_the_client_secret() {
    let secret = b"client secret of the confidential client";
    let key = SigningKey::hmac(Algorithm::HS256, secret).unwrap();
    let token = sign_with(&key, JwsHeader::for_signer(&key), &claims());
    let keys = JwkSet::from(Jwk::symmetric(secret).unwrap());
    let validator = validator().algorithms([Algorithm::HS256]);
    validator.validate(&token, &keys, now()).unwrap();
}

#[test]
fn the_key_alg_wins() {
    // The published key is for RS256; a PS256 token is refused even when PS256 is allowed.
    let keys = JwkSet::from(
        Jwk::from_json(RSA)
            .unwrap()
            .with_key_id("k1")
            .with_algorithm(Algorithm::RS256),
    );
    let key = provider_key().with_algorithm(Algorithm::PS256).unwrap();
    let token = sign_with(&key, JwsHeader::for_signer(&key), &claims());
    let validator = validator().algorithms([Algorithm::RS256, Algorithm::PS256]);
    assert!(matches!(
        validator.validate(&token, &keys, now()),
        Err(Error::Jose(JoseError::KeyAlgorithmMismatch))
    ));
}

#[test]
fn an_unknown_kid_finds_no_key() {
    let key = provider_key().with_key_id("k2");
    let token = sign_with(&key, JwsHeader::for_signer(&key), &claims());
    assert_eq!(
        rejects(&validator(), &token),
        JoseError::NoMatchingKey {
            kid: Some("k2".into())
        }
    );
}

#[test]
fn another_kind_of_jwt_is_refused() {
    let key = provider_key();
    for typ in ["at+jwt", "application/at+jwt", "logout+jwt"] {
        let token = sign_with(&key, JwsHeader::for_signer(&key).with_type(typ), &claims());
        assert!(matches!(
            rejects(&validator(), &token),
            JoseError::UnexpectedType(_)
        ));
    }
    let token = sign_with(
        &key,
        JwsHeader::for_signer(&key).with_type("JWT"),
        &claims(),
    );
    validate(&validator(), &token).unwrap();
}

#[test]
fn a_payload_that_is_not_a_claims_set_is_refused() {
    let key = provider_key();
    let token = IdToken::new(jose::sign(&key, JwsHeader::for_signer(&key), b"[1,2]").unwrap());
    assert!(matches!(
        rejects(&validator(), &token),
        JoseError::Malformed(_)
    ));
}

// Rule 2: the issuer.

#[test]
fn another_issuer_is_refused() {
    let token = token(&claims().with("iss", "https://evil.example"));
    assert_eq!(
        rejects(&validator(), &token),
        JoseError::IssuerMismatch {
            found: "https://evil.example".into()
        }
    );
    // Exact comparison: a trailing slash is another issuer.
    let token = self::token(&claims().with("iss", "https://op.example/"));
    assert!(matches!(
        rejects(&validator(), &token),
        JoseError::IssuerMismatch { .. }
    ));
}

#[test]
fn a_missing_issuer_or_subject_is_refused() {
    assert_eq!(
        rejects(&validator(), &token(&without(claims(), "iss"))),
        JoseError::MissingClaim("iss")
    );
    assert_eq!(
        rejects(&validator(), &token(&without(claims(), "sub"))),
        JoseError::MissingClaim("sub")
    );
    assert!(matches!(
        rejects(&validator(), &token(&claims().with("sub", 42))),
        JoseError::InvalidClaim { claim: "sub", .. }
    ));
}

// Rules 3-5: audience and authorized party.

#[test]
fn an_audience_without_the_client_is_refused() {
    assert_eq!(
        rejects(&validator(), &token(&claims().with("aud", "other-client"))),
        JoseError::AudienceMismatch
    );
    assert_eq!(
        rejects(&validator(), &token(&without(claims(), "aud"))),
        JoseError::MissingClaim("aud")
    );
}

#[test]
fn an_untrusted_extra_audience_is_refused() {
    let claims = claims()
        .with("aud", vec![CLIENT, "https://api.example"])
        .with("azp", CLIENT);
    assert_eq!(
        rejects(&validator(), &token(&claims)),
        JoseError::AudienceMismatch
    );
    let trusting = validator().trust_audience("https://api.example");
    validate(&trusting, &token(&claims)).unwrap();
}

#[test]
fn several_audiences_need_the_client_as_authorized_party() {
    let trusting = validator().trust_audience("https://api.example");
    let several = claims().with("aud", vec![CLIENT, "https://api.example"]);
    assert_eq!(
        rejects(&trusting, &token(&several)),
        JoseError::AuthorizedPartyMismatch
    );
    assert_eq!(
        rejects(&trusting, &token(&several.clone().with("azp", "other"))),
        JoseError::AuthorizedPartyMismatch
    );
    // azp, when present, is the client even with one audience.
    assert_eq!(
        rejects(&validator(), &token(&claims().with("azp", "other"))),
        JoseError::AuthorizedPartyMismatch
    );
}

// Rules 9 and 10, nbf: time.

#[test]
fn an_expired_token_is_refused_beyond_the_clock_skew() {
    let expired_30s_ago = claims()
        .with_time("iat", now() - Duration::from_secs(600))
        .with_time("exp", now() - Duration::from_secs(30));
    // Within the default 60 s skew: accepted.
    validate(&validator(), &token(&expired_30s_ago)).unwrap();
    let strict = validator().clock_skew(Duration::from_secs(10));
    assert_eq!(
        rejects(&strict, &token(&expired_30s_ago)),
        JoseError::Expired
    );
    let long_expired = claims()
        .with_time("iat", now() - Duration::from_secs(3600))
        .with_time("exp", now() - Duration::from_secs(61));
    assert_eq!(
        rejects(&validator(), &token(&long_expired)),
        JoseError::Expired
    );
    assert_eq!(
        rejects(&validator(), &token(&without(claims(), "exp"))),
        JoseError::MissingClaim("exp")
    );
    assert!(matches!(
        rejects(&validator(), &token(&claims().with("exp", "tomorrow"))),
        JoseError::InvalidClaim { claim: "exp", .. }
    ));
}

#[test]
fn an_absurd_issue_time_is_refused() {
    let future = claims().with_time("iat", now() + Duration::from_secs(120));
    assert_eq!(
        rejects(&validator(), &token(&future)),
        JoseError::IssuedAtInvalid
    );
    let after_exp = claims()
        .with_time("iat", now() + Duration::from_secs(30))
        .with_time("exp", now() + Duration::from_secs(20));
    assert_eq!(
        rejects(&validator(), &token(&after_exp)),
        JoseError::IssuedAtInvalid
    );
    let old = claims().with_time("iat", now() - Duration::from_secs(3600));
    validate(&validator(), &token(&old)).unwrap();
    let bounded = validator().max_token_age(Duration::from_secs(600));
    assert_eq!(rejects(&bounded, &token(&old)), JoseError::IssuedAtInvalid);
    assert_eq!(
        rejects(&validator(), &token(&without(claims(), "iat"))),
        JoseError::MissingClaim("iat")
    );
    assert!(matches!(
        rejects(&validator(), &token(&claims().with("iat", -5))),
        JoseError::InvalidClaim { claim: "iat", .. }
    ));
}

#[test]
fn a_token_not_yet_valid_is_refused() {
    let later = claims().with_time("nbf", now() + Duration::from_secs(300));
    assert_eq!(
        rejects(&validator(), &token(&later)),
        JoseError::NotYetValid
    );
    let soon = claims().with_time("nbf", now() + Duration::from_secs(30));
    validate(&validator(), &token(&soon)).unwrap();
}

// Rule 11: nonce.

#[test]
fn a_missing_or_different_nonce_is_refused() {
    assert_eq!(
        rejects(&validator(), &token(&without(claims(), "nonce"))),
        JoseError::MissingNonce
    );
    assert_eq!(
        rejects(&validator(), &token(&claims().with("nonce", "replayed"))),
        JoseError::NonceMismatch
    );
    // No nonce sent: none is required.
    let no_nonce = IdTokenValidator::new(ISS, CLIENT);
    validate(&no_nonce, &token(&without(claims(), "nonce"))).unwrap();
    validate(&no_nonce.clone().nonce(None), &token(&claims())).unwrap();
}

// Rule 13: auth_time and max_age.

#[test]
fn max_age_needs_a_recent_auth_time() {
    let with_max_age = validator().max_age(Duration::from_secs(300));
    validate(&with_max_age, &token(&claims())).unwrap();
    assert_eq!(
        rejects(&with_max_age, &token(&without(claims(), "auth_time"))),
        JoseError::MissingAuthTime
    );
    let old_login = claims().with_time("auth_time", now() - Duration::from_secs(3600));
    assert_eq!(
        rejects(&with_max_age, &token(&old_login)),
        JoseError::AuthenticationTooOld
    );
    let required = validator().require_auth_time(true);
    assert_eq!(
        rejects(&required, &token(&without(claims(), "auth_time"))),
        JoseError::MissingAuthTime
    );
}

// at_hash and c_hash (Core §3.1.3.8, §3.3.2.11), with the specification's examples.

#[test]
fn at_hash_must_match_the_access_token() {
    // OpenID Connect Core §A.3: this access token, RS256, gives this at_hash.
    let access_token = AccessToken::new("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y");
    let with_hash = claims().with("at_hash", "77QmUPtjPfzWtF2AnpK9RQ");
    let checking = validator().access_token(&access_token);
    validate(&checking, &token(&with_hash)).unwrap();
    let other = validator().access_token(&AccessToken::new("another token"));
    assert_eq!(
        rejects(&other, &token(&with_hash)),
        JoseError::AccessTokenHashMismatch
    );
    // Absent at_hash passes (optional in the code flow).
    validate(&other, &token(&claims())).unwrap();
}

#[test]
fn c_hash_must_match_the_code() {
    // OpenID Connect Core §A.4.
    let code = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk";
    let with_hash = claims().with("c_hash", "LDktKdoQak3Pk0cnXxCltA");
    validate(&validator().code(code), &token(&with_hash)).unwrap();
    assert_eq!(
        rejects(&validator().code("other"), &token(&with_hash)),
        JoseError::CodeHashMismatch
    );
}

// §12.2: the ID token of a refresh.

#[test]
fn a_refreshed_id_token_must_be_about_the_same_login() {
    let original = validate(&validator(), &token(&claims())).unwrap();
    let refresh = validator().for_refresh_of(&original);
    // Same user, same auth_time, nonce repeated or absent: accepted.
    let later = claims()
        .with_time("iat", now() + Duration::from_secs(30))
        .with_time("exp", now() + Duration::from_secs(900));
    validate(&refresh, &token(&later)).unwrap();
    validate(&refresh, &token(&without(later.clone(), "nonce"))).unwrap();
    assert_eq!(
        rejects(&refresh, &token(&later.clone().with("sub", "bob"))),
        JoseError::SubjectMismatch
    );
    assert_eq!(
        rejects(
            &refresh,
            &token(&later.clone().with_time("auth_time", now()))
        ),
        JoseError::RefreshMismatch("auth_time")
    );
    assert_eq!(
        rejects(&refresh, &token(&later.with("nonce", "other"))),
        JoseError::RefreshMismatch("nonce")
    );
}

// The JWKS cache and the verification flow.

fn jwks_json(keys: &JwkSet) -> String {
    keys.to_public_json().to_string()
}

#[test]
fn an_empty_cache_fetches_the_keys_once_then_reuses_them() {
    let mut cache = JwksCache::new(JWKS_URI).unwrap();
    let mut driver = Driver::new().reply_json(200, &jwks_json(&provider_keys()));
    let validator = validator();
    let id_token = token(&claims());
    let claims = driver
        .run(validator.verify(&id_token, &mut cache).unwrap())
        .unwrap();
    assert_eq!(claims.subject(), "alice");
    let request = driver.transcript().requests().next().unwrap();
    assert_eq!(request.method(), "GET");
    assert_eq!(request.uri(), JWKS_URI);
    assert!(request.headers().get("authorization").is_none());
    // A second validation uses the cache.
    driver
        .run(validator.verify(&id_token, &mut cache).unwrap())
        .unwrap();
    assert_eq!(driver.transcript().requests().count(), 1);
}

#[test]
fn an_unknown_kid_triggers_one_refetch_after_the_cooldown() {
    // The provider rotated from k0 to k1.
    let old_keys = JwkSet::from(Jwk::from_json(ED).unwrap().with_key_id("k0"));
    let mut cache = JwksCache::new(JWKS_URI).unwrap();
    let mut driver = Driver::new();
    cache.store(old_keys, driver.now().monotonic());
    driver.advance(Duration::from_secs(31));
    driver.push_reply(
        http::Response::builder()
            .status(200)
            .body(jwks_json(&provider_keys()).into_bytes())
            .unwrap(),
    );
    let validator = validator();
    let claims = driver
        .run(validator.verify(&token(&claims()), &mut cache).unwrap())
        .unwrap();
    assert_eq!(claims.subject(), "alice");
    assert_eq!(driver.transcript().requests().count(), 1);
    assert!(cache.keys().unwrap().find("k1").is_some());
}

#[test]
fn unknown_kids_within_the_cooldown_fetch_nothing() {
    let mut cache = JwksCache::new(JWKS_URI).unwrap();
    let mut driver = Driver::new();
    cache.store(
        JwkSet::from(Jwk::from_json(ED).unwrap().with_key_id("k0")),
        driver.now().monotonic(),
    );
    driver.advance(Duration::from_secs(5));
    let validator = validator();
    let result = driver.run(validator.verify(&token(&claims()), &mut cache).unwrap());
    assert!(matches!(
        result,
        Err(DriverError::Flow(Error::Jose(
            JoseError::NoMatchingKey { .. }
        )))
    ));
    assert_eq!(driver.transcript().requests().count(), 0);
}

#[test]
fn a_refetch_that_still_lacks_the_kid_fails_without_looping() {
    let stale = JwkSet::from(Jwk::from_json(ED).unwrap().with_key_id("k0"));
    let mut cache = JwksCache::new(JWKS_URI).unwrap();
    let mut driver = Driver::new().reply_json(200, &jwks_json(&stale));
    let validator = validator();
    let result = driver.run(validator.verify(&token(&claims()), &mut cache).unwrap());
    assert!(matches!(
        result,
        Err(DriverError::Flow(Error::Jose(
            JoseError::NoMatchingKey { .. }
        )))
    ));
    assert_eq!(driver.transcript().requests().count(), 1);
}

#[test]
fn stale_keys_are_fetched_again() {
    let mut cache = JwksCache::new(JWKS_URI)
        .unwrap()
        .max_age(Duration::from_secs(300));
    let mut driver = Driver::new();
    cache.store(provider_keys(), driver.now().monotonic());
    driver.advance(Duration::from_secs(301));
    driver.push_reply(
        http::Response::builder()
            .status(200)
            .body(jwks_json(&provider_keys()).into_bytes())
            .unwrap(),
    );
    let validator = validator().clock_skew(Duration::from_secs(600));
    driver
        .run(validator.verify(&token(&claims()), &mut cache).unwrap())
        .unwrap();
    assert_eq!(driver.transcript().requests().count(), 1);
}

#[test]
fn a_failed_key_fetch_fails_the_flow() {
    let mut cache = JwksCache::new(JWKS_URI).unwrap();
    let mut driver = Driver::new().reply(
        http::Response::builder()
            .status(500)
            .header("content-type", "text/html")
            .body(b"<html>down</html>".to_vec())
            .unwrap(),
    );
    let validator = validator();
    let result = driver.run(validator.verify(&token(&claims()), &mut cache).unwrap());
    assert!(matches!(
        result,
        Err(DriverError::Flow(Error::UnexpectedResponse(_)))
    ));
    let mut driver = Driver::new().reply_json(200, r#"{"not_keys":[]}"#);
    let result = driver.run(validator.verify(&token(&claims()), &mut cache).unwrap());
    assert!(matches!(
        result,
        Err(DriverError::Flow(Error::Jose(JoseError::Malformed(_))))
    ));
}

#[test]
fn the_verification_flow_is_done_once() {
    use grantline::{Flow, Now, Step};
    let mut cache = JwksCache::new(JWKS_URI).unwrap();
    cache.store(provider_keys(), Now::system().monotonic());
    let validator = validator();
    let id_token = token(&claims());
    let mut flow = validator.verify(&id_token, &mut cache).unwrap();
    let at = grantline::Now::new(Now::system().monotonic(), now());
    assert!(matches!(flow.next(at).unwrap(), Step::Done(_)));
    assert!(matches!(
        flow.next(at),
        Err(Error::Misuse(grantline::error::Misuse::AlreadyDone))
    ));
    assert!(matches!(
        flow.handle_response(http::Response::new(Vec::new()), at),
        Err(Error::Misuse(_))
    ));
    // A malformed token fails before any flow.
    assert!(
        validator
            .verify(&IdToken::new("not a jwt"), &mut cache)
            .is_err()
    );
}

// Userinfo.

fn userinfo_client() -> Client {
    Client::builder(CLIENT)
        .endpoint(
            grantline::EndpointKind::Userinfo,
            "https://op.example/userinfo",
        )
        .build()
        .unwrap()
}

fn userinfo(
    response: http::Response<Vec<u8>>,
    flow: UserinfoFlow,
) -> Result<grantline::oidc::Userinfo, Error> {
    let mut driver = Driver::new().reply(response);
    driver.run(flow).map_err(|e| match e {
        DriverError::Flow(e) => e,
        other => panic!("{other}"),
    })
}

fn json(status: u16, body: &str) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.as_bytes().to_vec())
        .unwrap()
}

#[test]
fn userinfo_sends_a_bearer_token_and_checks_sub() {
    let at = AccessToken::new("SlAV32hkKG");
    let flow = || UserinfoFlow::new(&userinfo_client(), &at).unwrap();
    let mut driver = Driver::new().reply_json(200, r#"{"sub":"alice","name":"Alice"}"#);
    let info = driver.run(flow().expect_subject("alice")).unwrap();
    assert_eq!(info.subject(), "alice");
    assert_eq!(info.get("name").unwrap(), "Alice");
    assert!(!info.is_signed());
    let request = driver.transcript().requests().next().unwrap();
    assert_eq!(request.method(), "GET");
    let authorization = &request.headers()["authorization"];
    assert_eq!(authorization, "Bearer SlAV32hkKG");
    assert!(authorization.is_sensitive());
    assert!(!format!("{info:?}").contains("Alice"));

    let e = userinfo(
        json(200, r#"{"sub":"bob"}"#),
        flow().expect_subject("alice"),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Jose(JoseError::SubjectMismatch)));
    let e = userinfo(json(200, r#"{"name":"x"}"#), flow()).unwrap_err();
    assert!(matches!(e, Error::Jose(JoseError::MissingClaim("sub"))));
}

#[test]
fn userinfo_reports_a_rejected_token_as_an_oauth_error() {
    let flow = UserinfoFlow::new(&userinfo_client(), &AccessToken::new("expired")).unwrap();
    let response = http::Response::builder()
        .status(401)
        .header(
            "www-authenticate",
            r#"Bearer realm="op", error="invalid_token", error_description="The access token expired""#,
        )
        .body(Vec::new())
        .unwrap();
    let Error::OAuth(e) = userinfo(response, flow).unwrap_err() else {
        panic!()
    };
    assert_eq!(e.code, ErrorCode::InvalidToken);
    assert_eq!(e.status, 401);
    assert!(e.description.unwrap().contains("expired"));
}

fn signed_userinfo(claims: &Claims, key: &SigningKey) -> http::Response<Vec<u8>> {
    let jwt = jose::sign(key, JwsHeader::for_signer(key), &claims.to_json()).unwrap();
    http::Response::builder()
        .status(200)
        .header("content-type", "application/jwt")
        .body(jwt.into_bytes())
        .unwrap()
}

#[test]
fn signed_userinfo_is_verified() {
    let at = AccessToken::new("at");
    let flow = || {
        UserinfoFlow::new(&userinfo_client(), &at)
            .unwrap()
            .accept_signed(&validator(), provider_keys())
            .expect_subject("alice")
    };
    let good = Claims::new()
        .with("iss", ISS)
        .with("aud", CLIENT)
        .with("sub", "alice")
        .with("email", "alice@example.com");
    let info = userinfo(signed_userinfo(&good, &provider_key()), flow()).unwrap();
    assert!(info.is_signed());
    assert_eq!(info.get("email").unwrap(), "alice@example.com");

    let e = userinfo(
        signed_userinfo(
            &good.clone().with("iss", "https://evil.example"),
            &provider_key(),
        ),
        flow(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Jose(JoseError::IssuerMismatch { .. })));
    let e = userinfo(
        signed_userinfo(&without(good.clone(), "aud"), &provider_key()),
        flow(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Jose(JoseError::MissingClaim("aud"))));
    let e = userinfo(
        signed_userinfo(&good.clone().with("aud", "other"), &provider_key()),
        flow(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Jose(JoseError::AudienceMismatch)));
    let attacker = SigningKey::from_jwk(ED).unwrap().with_key_id("k1");
    let e = userinfo(signed_userinfo(&good.clone(), &attacker), flow()).unwrap_err();
    assert!(matches!(e, Error::Jose(JoseError::AlgorithmNotAllowed(_))));
    // Without accept_signed, a JWT answer is not used.
    let plain = UserinfoFlow::new(&userinfo_client(), &at).unwrap();
    let e = userinfo(signed_userinfo(&good, &provider_key()), plain).unwrap_err();
    assert!(matches!(e, Error::UnexpectedResponse(_)));
}

// Logout.

#[test]
fn logout_urls_keep_the_endpoint_query_and_refuse_reserved_extras() {
    let url = EndSessionRequest::new("https://op.example/logout?tenant=a")
        .client_id(CLIENT)
        .post_logout_redirect_uri("https://app.example/bye?x=1&y=2")
        .ui_locales("fr en")
        .param("federated", "1")
        .build()
        .unwrap();
    assert_eq!(
        url.as_str(),
        "https://op.example/logout?tenant=a&client_id=my-client&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fbye%3Fx%3D1%26y%3D2&ui_locales=fr+en&federated=1"
    );
    let e = EndSessionRequest::new("https://op.example/logout")
        .param("state", "x")
        .build()
        .unwrap_err();
    assert!(matches!(
        e,
        Error::Config(ConfigError::ReservedParameter(_))
    ));
    let e = EndSessionRequest::new("http://op.example/logout")
        .build()
        .unwrap_err();
    assert!(matches!(
        e,
        Error::Config(ConfigError::InsecureEndpoint { .. })
    ));
    let url = EndSessionRequest::new("https://op.example/logout")
        .build()
        .unwrap();
    assert_eq!(url.query(), None);
    // The hint is a token: never in Debug.
    let request = EndSessionRequest::new("https://op.example/logout")
        .id_token_hint(&IdToken::new("secret.id.token"))
        .state("st4te");
    let shown = format!("{request:?}");
    assert!(!shown.contains("secret.id.token") && !shown.contains("st4te"));
}

#[test]
fn flows_and_keys_can_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send::<grantline::oidc::IdTokenVerification<'static>>();
    send::<UserinfoFlow>();
    send::<grantline::oidc::JwksFetch>();
    send_sync::<JwksCache>();
    send_sync::<IdTokenValidator>();
    send_sync::<SigningKey>();
    send_sync::<JwkSet>();
    send_sync::<grantline::client_auth::PrivateKeyJwt>();
    send_sync::<grantline::client_auth::ClientSecretJwt>();
}
