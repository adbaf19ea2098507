#![no_main]
//! The server metadata parser (RFC 8414, OpenID Connect Discovery) on arbitrary answers.

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let response = common::response(data);
    if let Ok(metadata) =
        grantline::discovery::ServerMetadata::from_response(&response, grantline::Now::system())
    {
        assert!(!metadata.issuer.is_empty());
        let _ = grantline::Client::from_metadata("c", &metadata).build();
    }
});
