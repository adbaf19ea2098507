#![no_main]
//! The CLI's loopback redirect listener: the browser's HTTP request read from arbitrary bytes,
//! then routed to a callback for a fixed redirect URI.

use grantline_cli::loopback_request::{Routed, read, route};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(request) = read(data) else {
        return;
    };
    let Ok(redirect_uri) = url::Url::parse("http://127.0.0.1:8400/callback") else {
        return;
    };
    if let Routed::Callback(callback) = route(&request, &redirect_uri) {
        let _ = format!("{callback:?}");
    }
});
