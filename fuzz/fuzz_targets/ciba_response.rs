#![no_main]
//! The backchannel authentication response parser (CIBA §7.3) on arbitrary answers.

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let response = common::response(data);
    let now = grantline::Now::system();
    match grantline::ciba::BackchannelAuthentication::from_response(&response, now) {
        Ok(pending) => assert!(pending.expires_at() >= now.monotonic()),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
