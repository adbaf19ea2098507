#![no_main]
//! The introspection and revocation parsers on arbitrary answers.

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let response = common::response(data);
    let now = grantline::Now::system();
    if let Err(e) = grantline::introspection::Introspection::from_response(&response, now) {
        let _ = e.to_string();
    }
    if let Err(e) = grantline::revocation::RevocationOutcome::from_response(&response, now) {
        let _ = e.to_string();
    }
});
