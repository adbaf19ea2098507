//! The tower Layer on hyper-util's client, against a token endpoint and an API that this example
//! starts on loopback (no network needed):
//!
//! ```sh
//! cargo run -p grantline-tower --example hyper_client
//! ```
//!
//! Ten requests at once behind no token send one token request; then the API revokes the token,
//! and the next request is refused (`401 invalid_token`), renews once and is resent once.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use common::{Server, http_client, json, text};
use grantline_tower::AuthLayer;
use grantline_tower::grantline::{Client, api::BaseUrl, token_manager::TokenManager};
use http_body_util::{BodyExt, Full};
use tower::{ServiceBuilder, ServiceExt};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The token the API accepts (`at-1`, then `at-2` once it revokes the first), and how many
    // tokens the authorization server issued.
    let (accepted, issued) = (Arc::new(AtomicUsize::new(1)), Arc::new(AtomicUsize::new(0)));
    let server = {
        let (accepted, issued) = (Arc::clone(&accepted), Arc::clone(&issued));
        Server::start(move |request| {
            let (accepted, issued) = (Arc::clone(&accepted), Arc::clone(&issued));
            async move {
                if request.uri().path() == "/token" {
                    let n = issued.fetch_add(1, SeqCst) + 1;
                    let body = format!(
                        r#"{{"access_token":"at-{n}","token_type":"Bearer","expires_in":3600}}"#
                    );
                    return json(200, &body);
                }
                let expected = format!("Bearer at-{}", accepted.load(SeqCst));
                if request
                    .headers()
                    .get("authorization")
                    .is_some_and(|v| *v == *expected)
                {
                    return text(200, &format!("hello, holder of {expected}"));
                }
                let mut refused = text(401, "");
                let challenge = r#"Bearer error="invalid_token""#.parse().unwrap();
                refused.headers_mut().insert("www-authenticate", challenge);
                refused
            }
        })
        .await
    };

    let client = Client::builder("my-service")
        .token_endpoint(server.url("/token"))
        .client_secret_basic("s3cr3t")
        .build()?;
    let layer = AuthLayer::new(TokenManager::grant(
        client,
        grantline::grant::TokenRequest::client_credentials(),
    )?)
    .only_under(BaseUrl::new(&server.url("/api"))?);
    let api = ServiceBuilder::new().layer(layer).service(http_client());

    let get = || http::Request::get(server.url("/api/items")).body(Full::default());
    let calls: Vec<_> = (0..10)
        .map(|_| tokio::spawn(api.clone().oneshot(get().unwrap())))
        .collect();
    for call in calls {
        assert_eq!(call.await??.status(), 200);
    }
    println!("10 requests at once: {} token request", issued.load(SeqCst));

    accepted.store(2, SeqCst); // the API revokes at-1
    let response = api.oneshot(get()?).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    println!(
        "after the revocation: {status} {:?}, {} token requests in all",
        String::from_utf8_lossy(&body),
        issued.load(SeqCst)
    );
    Ok(())
}
