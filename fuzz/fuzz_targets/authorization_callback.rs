#![no_main]
//! The authorization callback parser and validator (URL, query, fragment, form post) on
//! arbitrary input. Byte 0 picks the shape.

use grantline::authorization::Callback;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((shape, rest)) = data.split_first() else {
        return;
    };
    let Ok(client) = grantline::Client::builder("c")
        .issuer("https://as.example")
        .authorization_endpoint("https://as.example/authorize")
        .redirect_uri("http://127.0.0.1:8080/cb")
        .build()
    else {
        return;
    };
    let Ok((_url, pending)) = client.authorization_request().state("s1").into_redirect() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let callback = match shape % 3 {
        0 => Callback::from(text.as_ref()),
        1 => Callback::form_post(rest),
        _ => Callback::from(format!("http://127.0.0.1:8080/cb?{text}")),
    };
    match pending.validate_callback(callback) {
        Ok(code) => assert!(code.issuer().is_some()),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
