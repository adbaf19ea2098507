//! Property tests: no parser panics, whatever the server sends.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use grantline::introspection::Introspection;
use grantline::revocation::RevocationOutcome;
use grantline::{Error, Now, TokenResponse};
use proptest::prelude::*;

fn response(status: u16, content_type: &str, body: Vec<u8>) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT")
        .body(body)
        .unwrap()
}

fn statuses() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(200u16),
        Just(201),
        Just(400),
        Just(401),
        Just(500),
        Just(302),
        100u16..=599
    ]
}

fn content_types() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("application/json"),
        Just("application/x-www-form-urlencoded"),
        Just("text/html"),
        Just("text/plain; charset=utf-8"),
    ]
}

/// Arbitrary JSON values, nested a few levels.
fn json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        ".{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// JSON objects built from the fields OAuth responses use, each with a random value.
fn oauth_object() -> impl Strategy<Value = Vec<u8>> {
    let names = prop_oneof![
        Just("access_token"),
        Just("token_type"),
        Just("expires_in"),
        Just("refresh_token"),
        Just("id_token"),
        Just("scope"),
        Just("error"),
        Just("error_description"),
        Just("error_uri"),
        Just("active"),
        Just("exp"),
        Just("aud"),
        Just("issued_token_type"),
    ];
    prop::collection::vec((names, json()), 0..8).prop_map(|fields| {
        let object: serde_json::Map<String, serde_json::Value> =
            fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        serde_json::to_vec(&object).unwrap()
    })
}

fn bodies() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![prop::collection::vec(any::<u8>(), 0..512), oauth_object()]
}

fn check_bounded(error: &Error) {
    // Whatever failed, the message stays short and on one line.
    let shown = error.to_string();
    assert!(shown.len() < 1024, "{shown}");
    assert!(!shown.contains('\n'), "{shown}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn token_response_parser_never_panics(status in statuses(), ct in content_types(), body in bodies()) {
        let response = response(status, ct, body);
        match TokenResponse::from_response(&response, Now::system()) {
            Ok(token) => {
                prop_assert!((200..300).contains(&status));
                prop_assert!(!token.access_token().secret().is_empty());
            }
            Err(e) => check_bounded(&e),
        }
    }

    #[test]
    fn error_and_other_parsers_never_panic(status in statuses(), ct in content_types(), body in bodies()) {
        let response = response(status, ct, body);
        if let Err(e) = RevocationOutcome::from_response(&response, Now::system()) {
            check_bounded(&e);
        }
        if let Err(e) = Introspection::from_response(&response, Now::system()) {
            check_bounded(&e);
        }
    }

    #[test]
    fn an_error_status_is_never_a_token(status in 300u16..=599, ct in content_types(), body in bodies()) {
        let response = response(status, ct, body);
        prop_assert!(TokenResponse::from_response(&response, Now::system()).is_err());
    }

    #[test]
    fn retry_after_never_panics(value in ".{0,40}") {
        let _ = grantline::error::RetryAfter::parse(&value);
    }

    #[test]
    fn metadata_device_and_ciba_parsers_never_panic(status in statuses(), ct in content_types(), body in bodies()) {
        let response = response(status, ct, body);
        let now = Now::system();
        if let Err(e) = grantline::discovery::ServerMetadata::from_response(&response, now) {
            check_bounded(&e);
        }
        if let Err(e) = grantline::device::DeviceAuthorization::from_response(&response, now) {
            check_bounded(&e);
        }
        if let Err(e) = grantline::ciba::BackchannelAuthentication::from_response(&response, now) {
            check_bounded(&e);
        }
    }

    #[test]
    fn the_callback_parser_never_panics(input in callbacks()) {
        let client = callback_client();
        let (_url, pending) = client
            .authorization_request()
            .state("s1")
            .into_redirect()
            .unwrap();
        match pending.validate_callback(input.as_str()) {
            Ok(_) => prop_assert!(input.contains("s1")),
            Err(e) => check_bounded(&e),
        }
    }
}

fn callback_client() -> grantline::Client {
    grantline::Client::builder("c")
        .issuer("https://as.example")
        .authorization_endpoint("https://as.example/authorize")
        .redirect_uri("http://127.0.0.1:8080/cb")
        .token_endpoint("https://as.example/token")
        .build()
        .unwrap()
}

/// Arbitrary strings, and strings made of callback-like pieces.
fn callbacks() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("code=abc".to_owned()),
        Just("state=s1".to_owned()),
        Just("state=s2".to_owned()),
        Just("iss=https%3A%2F%2Fas.example".to_owned()),
        Just("error=access_denied".to_owned()),
        Just("%".to_owned()),
        Just("&".to_owned()),
        Just("=".to_owned()),
        Just("#".to_owned()),
        Just("?".to_owned()),
        ".{0,6}",
    ];
    let prefix = prop_oneof![
        Just(String::new()),
        Just("http://127.0.0.1:8080/cb?".to_owned()),
        Just("http://127.0.0.1:8080/cb#".to_owned()),
        Just(" ?".to_owned()),
    ];
    prop_oneof![
        ".{0,200}",
        (prefix, prop::collection::vec(piece, 0..8)).prop_map(|(p, parts)| p + &parts.join("&")),
    ]
}
