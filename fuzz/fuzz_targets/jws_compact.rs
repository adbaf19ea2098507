#![no_main]
//! The JWS compact parser (RFC 7515 §7.1), then verification and ID token validation of
//! whatever parses, against fixed keys of every family.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use grantline::jose::{Algorithm, Jwk, JwkSet, UnverifiedJws};
use grantline::oidc::IdTokenValidator;
use grantline::secret::IdToken;
use libfuzzer_sys::fuzz_target;

fn keys() -> &'static JwkSet {
    static KEYS: OnceLock<JwkSet> = OnceLock::new();
    KEYS.get_or_init(|| {
        JwkSet::new(vec![
            Jwk::from_json(r#"{"kty":"OKP","crv":"Ed25519","kid":"ed","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)
                .expect("fixed key"),
            Jwk::from_json(r#"{"kty":"EC","crv":"P-256","kid":"ec","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#)
                .expect("fixed key"),
            Jwk::symmetric(b"fuzz").expect("fixed key").with_key_id("oct"),
        ])
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match UnverifiedJws::parse(text) {
        Ok(jws) => {
            let alg = jws.header().algorithm();
            assert!(Algorithm::all().contains(&alg));
            assert!(text.len() <= grantline::jose::MAX_COMPACT_LEN);
            if let Ok(verified) = jws.clone().verify(keys(), Algorithm::all()) {
                // Only a key of the algorithm's own family can have verified it.
                assert!(keys().keys().iter().any(|key| key.can_verify(alg)));
                let _ = verified.claims();
            }
            let _ = jws.verify(keys(), &[]).expect_err("no algorithm allowed");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let validator = IdTokenValidator::new("https://op.example", "client")
        .algorithms(Algorithm::all().iter().copied())
        .nonce("n")
        .max_age(Duration::from_secs(60));
    if let Err(e) = validator.validate(&IdToken::new(text), keys(), now) {
        let _ = e.to_string();
    }
});
