#![no_main]
//! The JWK Set parser (RFC 7517 §5), as a document and as an HTTP answer, and what is done with
//! each key it keeps: fitting algorithms, the thumbprint, the public JSON round trip.

use grantline::jose::{Algorithm, Jwk, JwkSet};
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    if let Ok(set) = JwkSet::from_json(data.get(2..).unwrap_or_default()) {
        check(&set);
    }
    let response = common::response(data);
    match JwkSet::from_response(&response, grantline::Now::system()) {
        Ok(set) => check(&set),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});

fn check(set: &JwkSet) {
    assert!(set.keys().len() <= 256);
    for key in set.keys() {
        let _ = format!("{key:?}");
        for alg in Algorithm::all() {
            // A symmetric key fits exactly the HMAC algorithms; a public key never does.
            if key.can_verify(*alg) {
                assert_eq!(alg.is_symmetric(), key.key_type() == "oct");
            }
        }
        // What a key publishes reads back as the same key.
        if let Some(json) = key.to_public_json() {
            let back = Jwk::from_json(&json.to_string()).expect("a published key parses");
            assert_eq!(back.thumbprint(), key.thumbprint());
        }
    }
    let _ = set.to_public_json();
}
