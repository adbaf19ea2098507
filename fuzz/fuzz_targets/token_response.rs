#![no_main]
//! The token-response parser (and with it the error-response parser) on arbitrary answers.

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let response = common::response(data);
    let now = grantline::Now::system();
    match grantline::TokenResponse::from_response(&response, now) {
        Ok(token) => assert!(!token.access_token().secret().is_empty()),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
