#![no_main]
//! The device authorization response parser (RFC 8628 §3.2) on arbitrary answers.

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let response = common::response(data);
    let now = grantline::Now::system();
    match grantline::device::DeviceAuthorization::from_response(&response, now) {
        Ok(authorization) => {
            assert!(!authorization.user_code().is_empty());
            assert!(authorization.expires_at() >= now.monotonic());
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
