//! From an issuer URL to tokens with the authorization code flow, async, pushing the request
//! first (PAR) when the server offers it.
//!
//! `cargo run -p grantline-reqwest --example authorization_code_reqwest` runs against a local
//! authorization server that logs the person in at once (the example plays the browser).
//!
//! `cargo run -p grantline-reqwest --example authorization_code_reqwest -- ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI`
//! runs against your server: open the printed URL, log in, and paste the URL the browser ends on.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use grantline_reqwest::Transport;
use grantline_reqwest::grantline::{Client, discovery::DiscoveryFlow};

type AnyError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), AnyError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (demo, issuer, client_id, secret, redirect_uri) = match args.as_slice() {
        [issuer, id, secret, redirect] => (
            None,
            issuer.clone(),
            id.clone(),
            secret.clone(),
            redirect.clone(),
        ),
        _ => {
            let server = grantline_tests::mini_as::MiniAs::start(true).await;
            let issuer = server.issuer();
            let id = grantline_tests::mini_as::CLIENT_ID.to_owned();
            let secret = grantline_tests::mini_as::CLIENT_SECRET.to_owned();
            (
                Some(server),
                issuer,
                id,
                secret,
                "http://127.0.0.1:8765/callback".to_owned(),
            )
        }
    };
    let transport = Transport::new()?;

    // The few lines a user writes:
    let metadata = transport.run(DiscoveryFlow::openid(&issuer)?).await?;
    let client = Client::from_metadata(client_id, &metadata)
        .client_secret_basic(secret)
        .redirect_uri(redirect_uri)
        .build()?;
    let request = client.authorization_request().scope("openid profile");
    let (url, pending) = if metadata.pushed_authorization_request_endpoint.is_some() {
        let (push, pending) = request.into_pushed()?;
        (transport.run(push).await?.url().clone(), pending)
    } else {
        request.into_redirect()?
    };
    println!("Open this URL in a browser:\n{url}\n");

    let callback = if demo.is_some() {
        // Play the browser: the demo server redirects straight back with a code.
        let response = transport
            .execute(http::Request::get(url.as_str()).body(Vec::new())?)
            .await?;
        let location = response
            .headers()
            .get("location")
            .ok_or("the authorization endpoint did not redirect")?;
        location.to_str()?.to_owned()
    } else {
        eprintln!("Paste the URL your browser was sent to:");
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line
    };
    let code = pending.validate_callback(callback.as_str())?;
    let token = transport.run(client.exchange_code(code)?).await?;
    println!(
        "Got a {} access token (expires at {:?}), refresh token: {}",
        token.token_type(),
        token.expires_at(),
        if token.refresh_token().is_some() {
            "yes"
        } else {
            "no"
        }
    );
    if let Some(claims) = token.id_token_claims() {
        println!("Logged in as `{}` (ID token validated)", claims.subject());
    }
    Ok(())
}
