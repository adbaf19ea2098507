//! What the two sentinel binaries share: one recognisable value per secret kind, the checks that
//! no text holds one, and the values built from them. `secret_sentinel.rs` checks every type's
//! `Debug`, `Display` and errors; `tracing_sentinel.rs` checks the `tracing` output of real flows
//! (a binary of its own: see there why).

// Each binary uses part of this module.
#![allow(dead_code)]

use std::error::Error as StdError;
use std::fmt::Debug;

use grantline::flow::{Flow, Step};
use grantline::secret::{AccessToken, RefreshToken};
use grantline::token::TokenResponse;
use grantline::{Client, Now};

// One recognisable value per secret kind.
pub(crate) const CLIENT_SECRET: &str = "sentinel-client-secret-7f3a";
pub(crate) const ACCESS_TOKEN: &str = "sentinel-access-token-2b9c";
pub(crate) const REFRESH_TOKEN: &str = "sentinel-refresh-token-5d1e";
pub(crate) const ID_TOKEN: &str = "sentinel-id-token-8a4f";
pub(crate) const CODE: &str = "sentinel-code-3c7b";
pub(crate) const VERIFIER: &str = "sentinel-verifier-9e2d-0123456789012345678901234567890123";
pub(crate) const NONCE: &str = "sentinel-nonce-4f8a";
pub(crate) const STATE: &str = "sentinel-state-6b3c";
pub(crate) const ASSERTION: &str = "sentinel-assertion-1d5e";
pub(crate) const PASSWORD: &str = "sentinel-password-7a2b";
pub(crate) const HMAC_KEY: &str = "sentinel-hmac-key-0c9d-0123456789abcdef";
pub(crate) const REGISTRATION_TOKEN: &str = "sentinel-registration-token-8e1f";
pub(crate) const INITIAL_TOKEN: &str = "sentinel-initial-token-2f6a";
pub(crate) const DEVICE_CODE: &str = "sentinel-device-code-5b8c";
pub(crate) const AUTH_REQ_ID: &str = "sentinel-auth-req-id-3d9e";
pub(crate) const SUBJECT_TOKEN: &str = "sentinel-subject-token-6c2a";
pub(crate) const ACTOR_TOKEN: &str = "sentinel-actor-token-9f4b";
pub(crate) const SOFTWARE_STATEMENT: &str = "sentinel-software-statement-7b3e";
pub(crate) const LOGIN_HINT_TOKEN: &str = "sentinel-login-hint-token-2c8f";
pub(crate) const API_BODY_SECRET: &str = "sentinel-api-body-secret-1a7c";
pub(crate) const API_HEADER_SECRET: &str = "sentinel-api-header-secret-4e8d";
/// 32 bytes: an AES-256 sealing key for `grantline-redis`.
pub(crate) const SEALING_KEY: &str = "sentinel-sealing-key-0123456789a";
pub(crate) const REDIS_PASSWORD: &str = "sentinel-redis-password-6d3a";

pub(crate) const ALL: &[&str] = &[
    CLIENT_SECRET,
    ACCESS_TOKEN,
    REFRESH_TOKEN,
    ID_TOKEN,
    CODE,
    VERIFIER,
    NONCE,
    STATE,
    ASSERTION,
    PASSWORD,
    HMAC_KEY,
    REGISTRATION_TOKEN,
    INITIAL_TOKEN,
    DEVICE_CODE,
    AUTH_REQ_ID,
    SUBJECT_TOKEN,
    ACTOR_TOKEN,
    SOFTWARE_STATEMENT,
    LOGIN_HINT_TOKEN,
    API_BODY_SECRET,
    API_HEADER_SECRET,
    SEALING_KEY,
    REDIS_PASSWORD,
];

/// The marker every sentinel shares, so a partial leak (a prefix, a truncated excerpt) is caught.
pub(crate) const MARKER: &str = "sentinel-";

/// `text` (what `what` printed) contains no sentinel, not even the shared marker.
#[track_caller]
pub(crate) fn assert_clean(what: &str, text: &str) {
    for secret in ALL {
        assert!(!text.contains(secret), "{what} leaks {secret}: {text}");
    }
    assert!(!text.contains(MARKER), "{what} leaks a sentinel: {text}");
    // A derived `Debug` prints a `Vec<u8>` as a list of numbers.
    let bytes = format!("{:?}", MARKER.as_bytes());
    let bytes = bytes.trim_start_matches('[').trim_end_matches(']');
    assert!(
        !text.contains(bytes),
        "{what} leaks a sentinel's bytes: {text}"
    );
}

/// `Debug` (plain and pretty) is clean.
#[track_caller]
pub(crate) fn debug_clean(what: &str, value: &impl Debug) {
    assert_clean(what, &format!("{value:?}"));
    assert_clean(what, &format!("{value:#?}"));
}

/// An error, and every error in its `source()` chain, is clean in `Debug` and `Display`.
#[track_caller]
pub(crate) fn error_clean(what: &str, error: &(dyn StdError + 'static)) {
    let mut current = Some(error);
    while let Some(e) = current {
        assert_clean(what, &format!("{e:?}"));
        assert_clean(what, &format!("{e:#?}"));
        assert_clean(what, &e.to_string());
        current = e.source();
    }
}

/// Whether the bytes of a request (URI, headers, body) carry `secret`: proof the value under
/// test really holds it.
pub(crate) fn request_carries(request: &http::Request<Vec<u8>>, secret: &str) -> bool {
    let headers = request
        .headers()
        .iter()
        .any(|(_, v)| String::from_utf8_lossy(v.as_bytes()).contains(secret));
    request.uri().to_string().contains(secret)
        || headers
        || String::from_utf8_lossy(request.body()).contains(secret)
        || base64_decoded_contains(request, secret)
}

/// A Basic `Authorization` header carries the secret base64-encoded.
pub(crate) fn base64_decoded_contains(request: &http::Request<Vec<u8>>, secret: &str) -> bool {
    use base64::Engine as _;
    request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .is_some_and(|raw| {
            let raw = String::from_utf8_lossy(&raw);
            raw.contains(secret) || raw.contains(&secret.replace('-', "%2D"))
        })
}

/// The first request a flow sends, with the flow (`Debug`) and the step checked clean.
#[track_caller]
pub(crate) fn first_request<F: Flow + Debug>(what: &str, flow: &mut F) -> http::Request<Vec<u8>> {
    debug_clean(what, flow);
    let mut now = Now::system();
    // A polling flow waits its interval first.
    for _ in 0..3 {
        let step = flow.next(now).unwrap();
        // Step's Debug shows the request line, never its headers or body.
        debug_clean(what, &step);
        match step {
            Step::Send(request) => return request,
            Step::Wait(wait) => now = now.advance(wait),
            Step::Done(_) => break,
        }
    }
    panic!("{what}: expected a request")
}

pub(crate) fn client() -> Client {
    Client::builder("app-7")
        .authorization_endpoint("https://as.example/authorize")
        .redirect_uri("https://app.example/cb")
        .token_endpoint("https://as.example/token")
        .revocation_endpoint("https://as.example/revoke")
        .introspection_endpoint("https://as.example/introspect")
        .device_authorization_endpoint("https://as.example/device")
        .backchannel_authentication_endpoint("https://as.example/bc-authorize")
        .registration_endpoint("https://as.example/register")
        .endpoint(
            grantline::EndpointKind::PushedAuthorization,
            "https://as.example/par",
        )
        .endpoint(
            grantline::EndpointKind::EndSession,
            "https://as.example/logout",
        )
        .endpoint(
            grantline::EndpointKind::Userinfo,
            "https://as.example/userinfo",
        )
        .issuer("https://as.example")
        .jwks_uri("https://as.example/jwks")
        .client_secret_basic(CLIENT_SECRET)
        .build()
        .unwrap()
}

pub(crate) fn token_body() -> String {
    format!(
        r#"{{"access_token":"{ACCESS_TOKEN}","token_type":"Bearer","expires_in":3600,"refresh_token":"{REFRESH_TOKEN}","id_token":"{ID_TOKEN}","scope":"openid"}}"#
    )
}

pub(crate) fn token_response() -> TokenResponse {
    TokenResponse::new(
        AccessToken::new(ACCESS_TOKEN),
        grantline::token::TokenType::Bearer,
    )
    .with_refresh_token(Some(RefreshToken::new(REFRESH_TOKEN)))
}

pub(crate) fn ureq_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .build()
        .new_agent()
}

pub(crate) fn no_proxy() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .tls_backend_preconfigured(grantline_reqwest::tls::client_config().unwrap())
        .build()
        .unwrap()
}
