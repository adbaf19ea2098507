#![no_main]
//! The `Retry-After` header parser.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = grantline::error::RetryAfter::parse(text);
    }
});
