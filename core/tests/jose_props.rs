//! JOSE parsers never panic: the fuzz corpora replayed on stable, every prefix of valid inputs,
//! and property tests on arbitrary input.

#![cfg(feature = "jose")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;
use std::time::{Duration, SystemTime};

use grantline::jose::{Algorithm, Claims, Jwk, JwkSet, UnverifiedJws};
use grantline::oidc::IdTokenValidator;
use grantline::secret::IdToken;
use proptest::prelude::*;

fn keys() -> JwkSet {
    JwkSet::new(vec![
        Jwk::from_json(include_str!("fixtures/rfc8037-a1-ed25519.jwk.json"))
            .unwrap()
            .with_key_id("ed"),
        Jwk::from_json(include_str!("fixtures/rfc7515-a3-ec-p256.jwk.json"))
            .unwrap()
            .with_key_id("ec"),
        Jwk::from_json(include_str!("fixtures/rfc7520-figure4-rsa.jwk.json")).unwrap(),
        Jwk::symmetric(b"k").unwrap(),
    ])
}

/// What the `jws_compact` fuzz target does with one input.
fn jws_body(text: &str) {
    if let Ok(jws) = UnverifiedJws::parse(text) {
        let alg = jws.header().algorithm();
        if jws.clone().verify(&keys(), Algorithm::all()).is_ok() {
            assert!(keys().keys().iter().any(|k| k.can_verify(alg)));
        }
        assert!(jws.verify(&keys(), &[]).is_err());
    }
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let validator = IdTokenValidator::new("https://op.example", "client")
        .algorithms(Algorithm::all().iter().copied())
        .nonce("n");
    if let Err(e) = validator.validate(&IdToken::new(text), &keys(), now) {
        let _ = e.to_string();
    }
}

/// What the `jwks` fuzz target does with one document.
fn jwks_body(bytes: &[u8]) {
    if let Ok(set) = JwkSet::from_json(bytes) {
        for key in set.keys() {
            if let Some(json) = key.to_public_json() {
                let back = Jwk::from_json(&json.to_string()).unwrap();
                assert_eq!(back.thumbprint(), key.thumbprint());
            }
        }
    }
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus in {}", dir.display());
    files
}

#[test]
fn the_fuzz_corpora_replay_on_stable() {
    for input in corpus("jws_compact") {
        if let Ok(text) = std::str::from_utf8(&input) {
            jws_body(text);
        }
    }
    for input in corpus("jwks") {
        // The target's first two bytes choose the HTTP status and content type.
        jwks_body(input.get(2..).unwrap_or_default());
    }
}

#[test]
fn every_prefix_of_a_valid_token_is_refused_without_panicking() {
    let token = std::str::from_utf8(&corpus("jws_compact")[0])
        .unwrap()
        .to_owned();
    let key = Jwk::symmetric(b"k").unwrap();
    for end in 0..token.len() {
        let prefix = &token[..end];
        jws_body(prefix);
        if let Ok(jws) = UnverifiedJws::parse(prefix) {
            assert!(jws.verify_with_key(&key, Algorithm::all()).is_err());
        }
    }
    let document = include_str!("fixtures/rfc7520-figure4-rsa.jwk.json");
    let set = format!(r#"{{"keys":[{document}]}}"#);
    for end in 0..set.len() {
        jwks_body(&set.as_bytes()[..end]);
    }
}

proptest! {
    #[test]
    fn jws_parsing_never_panics(text in ".{0,300}") {
        jws_body(&text);
    }

    #[test]
    fn three_base64_parts_never_panic(
        header in "[A-Za-z0-9_-]{0,80}",
        payload in "[A-Za-z0-9_-]{0,80}",
        signature in "[A-Za-z0-9_-]{0,90}",
    ) {
        jws_body(&format!("{header}.{payload}.{signature}"));
    }

    #[test]
    fn jwk_sets_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        jwks_body(&bytes);
        let _ = Claims::from_json(&bytes);
    }

    #[test]
    fn jwk_members_of_any_shape_never_panic(
        kty in prop_oneof![Just("RSA".to_owned()), Just("EC".to_owned()), Just("OKP".to_owned()), Just("oct".to_owned()), ".{0,4}"],
        crv in prop_oneof![Just("P-256".to_owned()), Just("P-384".to_owned()), Just("Ed25519".to_owned()), ".{0,6}"],
        a in "[A-Za-z0-9_-]{0,90}",
        b in "[A-Za-z0-9_-]{0,90}",
    ) {
        let json = serde_json::json!({"keys":[{"kty":kty,"crv":crv,"x":a,"y":b,"n":a,"e":b,"k":a}]});
        jwks_body(json.to_string().as_bytes());
        let _ = grantline::jose::SigningKey::from_jwk(
            &serde_json::json!({"kty":kty,"crv":crv,"x":a,"d":b}).to_string(),
        );
    }
}
