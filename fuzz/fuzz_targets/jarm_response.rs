#![no_main]
//! The JWT-secured authorization response (JARM) path on arbitrary input: the callback parser,
//! the `response` JWT's parser and verification, and the callback checks on what it carried.
//!
//! Byte 0 picks the mode. Odd: the rest is the JWT's payload, signed with the server's key, so
//! the claims reach the parameters and the callback checks (`state` is `s1`, the issuer
//! `https://as.example`, the time unix 1 700 000 000); `(byte 0 / 2) % 3` picks query, fragment
//! or form post. Even: the rest is the whole callback (URL, parameters, or form body). An input
//! that is not signed never yields a code.

use std::time::{Duration, Instant, SystemTime};

use grantline::authorization::Callback;
use grantline::discovery::ServerMetadata;
use grantline::jose::{self, JwkSet, JwsHeader, SigningKey};
use grantline::{Client, Flow, Now, Step};
use libfuzzer_sys::fuzz_target;

const ISSUER: &str = "https://as.example";
const REDIRECT: &str = "http://127.0.0.1:8080/cb";
const SERVER_KEY: &str = r#"{"kty":"OKP","crv":"Ed25519","kid":"as-1",
    "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let key = SigningKey::from_jwk(SERVER_KEY).expect("a fixed key");
    let mut metadata = ServerMetadata::default();
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
        .expect("a fixed client");
    let (_url, pending) = client
        .authorization_request()
        .state("s1")
        .into_redirect()
        .expect("a fixed request");
    let signed = mode % 2 == 1;
    let callback = if signed {
        let jwt = jose::sign(&key, JwsHeader::for_signer(&key), rest).expect("signing works");
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
        return;
    };
    let now = Now::new(
        Instant::now(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    );
    let keys = JwkSet::from(key.public_jwk().expect("a public key"))
        .to_public_json()
        .to_string();
    for _ in 0..4 {
        match flow.next(now) {
            Ok(Step::Send(_)) => {
                let answer = http::Response::new(keys.clone().into_bytes());
                if flow.handle_response(answer, now).is_err() {
                    return;
                }
            }
            Ok(Step::Wait(_)) => return,
            Ok(Step::Done(code)) => {
                assert!(signed, "an unsigned response yielded a code");
                assert_eq!(code.issuer(), Some(ISSUER));
                return;
            }
            Err(e) => {
                let _ = e.to_string();
                return;
            }
        }
    }
    panic!("the verification did not finish");
});
