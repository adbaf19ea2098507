//! The README's main job until the `grantline` CLI lands: start a local authorization server
//! (a loopback mock token endpoint that checks client_secret_basic), then fetch a
//! client-credentials token from it with each transport, and revoke it.
//!
//! Run with `cargo run -p grantline-tests --example quickstart`.

#![allow(clippy::print_stdout)]

use std::time::SystemTime;

use grantline::grant::TokenRequest;
use grantline::{Client, TokenResponse};
use httpmock::prelude::*;

type AnyError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), AnyError> {
    // The local authorization server: 127.0.0.1 only, stopped when `server` is dropped.
    let server = MockServer::start();
    // `Basic base64("svc:s3cr%3At")`: the secret `s3cr:t` form-urlencoded, as RFC 6749 §2.3.1 asks.
    let token = server.mock(|when, then| {
        when.method(POST)
            .path("/oauth2/token")
            .header("authorization", "Basic c3ZjOnMzY3IlM0F0")
            .body_includes("grant_type=client_credentials");
        then.status(200)
            .header("content-type", "application/json")
            .body(r#"{"access_token":"demo-access-token","token_type":"Bearer","expires_in":3600,"scope":"read"}"#);
    });
    let revoke = server.mock(|when, then| {
        when.method(POST)
            .path("/oauth2/revoke")
            .body_includes("token=demo-access-token");
        then.status(200);
    });

    let client = Client::builder("svc")
        .token_endpoint(server.url("/oauth2/token"))
        .revocation_endpoint(server.url("/oauth2/revoke"))
        .client_secret_basic("s3cr:t")
        .build()?;
    println!("authorization server: {}", server.base_url());

    // Blocking, with ureq.
    let ureq = grantline_ureq::Transport::new();
    let fetched =
        ureq.run(client.request_token(TokenRequest::client_credentials().scope("read"))?)?;
    describe("ureq", &fetched);

    // Async, with reqwest.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let fetched = runtime.block_on(async {
        let reqwest = grantline_reqwest::Transport::new()?;
        let flow = client.request_token(TokenRequest::client_credentials().scope("read"))?;
        Ok::<_, AnyError>(reqwest.run(flow).await?)
    })?;
    describe("reqwest", &fetched);

    let outcome = ureq.run(client.revoke(fetched.access_token())?)?;
    println!("revoked: {}", outcome.is_revoked());

    token.assert_calls(2);
    revoke.assert_calls(1);
    Ok(())
}

fn describe(transport: &str, token: &TokenResponse) {
    let left = token.expires_in(SystemTime::now()).map_or_else(
        || "no expiry".to_owned(),
        |d| format!("{}s left", d.as_secs()),
    );
    // Debug of a token response never shows the token itself.
    println!(
        "{transport}: {} token, {left}, {token:?}",
        token.token_type()
    );
}
