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

/// What the `jarm_response` fuzz target does with one input (see its doc): byte 0 picks signed
/// claims or a raw callback and the callback's shape. Returns whether a code came out.
fn jarm_body(data: &[u8]) -> bool {
    use grantline::authorization::Callback;
    use grantline::jose::{JwsHeader, SigningKey};
    use grantline::{Client, Flow, Now, Step};
    const ISSUER: &str = "https://as.example";
    const REDIRECT: &str = "http://127.0.0.1:8080/cb";
    let Some((&mode, rest)) = data.split_first() else {
        return false;
    };
    let key = SigningKey::from_jwk(include_str!("fixtures/rfc8037-a1-ed25519.jwk.json"))
        .unwrap()
        .with_key_id("as-1");
    let mut metadata = grantline::discovery::ServerMetadata::default();
    metadata.issuer = ISSUER.into();
    metadata.jwks_uri = Some(format!("{ISSUER}/jwks"));
    metadata.authorization_endpoint = Some(format!("{ISSUER}/authorize"));
    metadata.token_endpoint = Some(format!("{ISSUER}/token"));
    metadata.extra.insert(
        "authorization_signing_alg_values_supported".into(),
        serde_json::json!(["EdDSA"]),
    );
    let client = Client::from_metadata("app", &metadata)
        .redirect_uri(REDIRECT)
        .jarm()
        .build()
        .unwrap();
    let (_url, pending) = client
        .authorization_request()
        .state("s1")
        .into_redirect()
        .unwrap();
    let signed = mode % 2 == 1;
    let callback = if signed {
        let jwt = grantline::jose::sign(&key, JwsHeader::for_signer(&key), rest).unwrap();
        match (mode / 2) % 3 {
            0 => Callback::from(format!("{REDIRECT}?response={jwt}")),
            1 => Callback::from(format!("#response={jwt}")),
            _ => Callback::form_post(format!("response={jwt}").as_bytes()),
        }
    } else {
        let text = String::from_utf8_lossy(rest);
        match (mode / 2) % 3 {
            0 => Callback::from(text.as_ref()),
            1 => Callback::form_post(rest),
            _ => Callback::from(format!("{REDIRECT}?{text}")),
        }
    };
    let Ok(mut flow) = client.verify_callback(pending, callback) else {
        return false;
    };
    let now = Now::new(
        std::time::Instant::now(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    );
    let keys = JwkSet::from(key.public_jwk().unwrap())
        .to_public_json()
        .to_string();
    for _ in 0..4 {
        match flow.next(now) {
            Ok(Step::Send(_)) => {
                let answer = http::Response::new(keys.clone().into_bytes());
                if flow.handle_response(answer, now).is_err() {
                    return false;
                }
            }
            Ok(Step::Wait(_)) => return false,
            Ok(Step::Done(code)) => {
                assert!(signed, "an unsigned response yielded a code");
                assert_eq!(code.issuer(), Some(ISSUER));
                return true;
            }
            Err(e) => {
                let _ = e.to_string();
                return false;
            }
        }
    }
    panic!("the verification did not finish");
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
    // The first JARM seed is a sound signed response; the others are refused.
    let outcomes: Vec<bool> = corpus("jarm_response")
        .iter()
        .map(|i| jarm_body(i))
        .collect();
    assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 1, "{outcomes:?}");
}

#[test]
fn every_prefix_and_truncation_of_a_jarm_response_is_refused_without_panicking() {
    let sound = corpus("jarm_response")
        .into_iter()
        .find(|input| jarm_body(input))
        .unwrap();
    // Every prefix of the signed claims (only the whole object is a sound response)...
    for end in 1..sound.len() {
        assert!(!jarm_body(&sound[..end]));
    }
    // ...and every prefix of a raw callback carrying a signed response.
    let key =
        grantline::jose::SigningKey::from_jwk(include_str!("fixtures/rfc8037-a1-ed25519.jwk.json"))
            .unwrap()
            .with_key_id("as-1");
    let jwt = grantline::jose::sign(
        &key,
        grantline::jose::JwsHeader::for_signer(&key),
        &sound[1..],
    )
    .unwrap();
    let raw = format!("\u{0}http://127.0.0.1:8080/cb?response={jwt}");
    for end in 1..raw.len() {
        jarm_body(&raw.as_bytes()[..end]);
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
    fn jarm_responses_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        jarm_body(&bytes);
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
