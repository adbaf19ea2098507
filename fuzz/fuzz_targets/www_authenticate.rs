#![no_main]
//! The `WWW-Authenticate` parser on arbitrary header values.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for challenge in grantline::www_authenticate::parse(text) {
        assert!(!challenge.scheme().is_empty());
        let _ = challenge.param("error");
        let _ = challenge.params().count();
        let _ = challenge.token68();
    }
    if let Ok(value) = http::HeaderValue::from_str(text) {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::WWW_AUTHENTICATE, value);
        let _ = grantline::www_authenticate::is_invalid_token(http::StatusCode::UNAUTHORIZED, &headers);
    }
});
