//! The authorization code flow end to end through both transports: discovery, the
//! authorization request (plain and pushed), the browser's redirect (played by the transport's
//! `execute`, which never follows redirects), callback validation and the code exchange, against
//! a loopback authorization server that really checks PKCE, the redirect URI and single use.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use grantline::Client;
use grantline::discovery::DiscoveryFlow;
use grantline::error::{ConfigError, ErrorCode, ValidationError};
use grantline_tests::mini_as::{CLIENT_ID, CLIENT_SECRET, MiniAs};

const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn get(url: &url::Url) -> http::Request<Vec<u8>> {
    http::Request::get(url.as_str()).body(Vec::new()).unwrap()
}

fn location(response: &http::Response<Vec<u8>>) -> String {
    assert_eq!(
        response.status(),
        302,
        "the authorization endpoint redirects back"
    );
    response.headers()["location"].to_str().unwrap().to_owned()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn issuer_to_tokens_over_ureq() {
    let rt = runtime();
    let server = rt.block_on(MiniAs::start(false));
    let transport = grantline_ureq::Transport::new();

    let metadata = transport
        .run(DiscoveryFlow::openid(&server.issuer()).unwrap())
        .unwrap();
    let client = Client::from_metadata(CLIENT_ID, &metadata)
        .client_secret_basic(CLIENT_SECRET)
        .redirect_uri(REDIRECT)
        .build()
        .unwrap();
    let (url, pending) = client
        .authorization_request()
        .scope("openid profile")
        .into_redirect()
        .unwrap();
    let nonce = pending.nonce().unwrap().to_owned();

    // The browser: the authorization endpoint answers with a redirect to our callback.
    let callback = location(&transport.execute(get(&url)).unwrap());
    let code = pending.validate_callback(callback.as_str()).unwrap();
    let token = transport.run(client.exchange_code(code).unwrap()).unwrap();
    assert_eq!(token.access_token().secret(), format!("at-for-{nonce}"));
    // The ID token was validated (signature with the server's published key, nonce, ...).
    assert_eq!(token.id_token_claims().unwrap().subject(), "alice");
    assert_eq!(token.refresh_token().unwrap().secret(), "rt-1");
    assert_eq!(server.calls("token"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuer_to_tokens_over_reqwest_with_par() {
    let server = MiniAs::start(true).await;
    let transport = grantline_reqwest::Transport::new().unwrap();

    let metadata = transport
        .run(DiscoveryFlow::openid(&server.issuer()).unwrap())
        .await
        .unwrap();
    assert!(metadata.require_pushed_authorization_requests);
    let client = Client::from_metadata(CLIENT_ID, &metadata)
        .client_secret_basic(CLIENT_SECRET)
        .redirect_uri(REDIRECT)
        .build()
        .unwrap();
    // The server requires PAR: the plain path refuses before anything is sent.
    let refused = client.authorization_request().into_redirect();
    assert!(matches!(
        refused,
        Err(grantline::Error::Config(ConfigError::ParRequired))
    ));

    let (push, pending) = client
        .authorization_request()
        .scope("openid")
        .into_pushed()
        .unwrap();
    let pushed = transport.run(push).await.unwrap();
    let pairs: Vec<_> = pushed
        .url()
        .query_pairs()
        .map(|(k, _)| k.into_owned())
        .collect();
    assert_eq!(
        pairs,
        ["client_id", "request_uri"],
        "nothing else shows in the browser"
    );
    let callback = location(&transport.execute(get(pushed.url())).await.unwrap());
    let code = pending.validate_callback(callback.as_str()).unwrap();
    let token = transport
        .run(client.exchange_code(code).unwrap())
        .await
        .unwrap();
    assert!(token.access_token().secret().starts_with("at-for-"));
    assert_eq!((server.calls("par"), server.calls("token")), (1, 1));
}

#[test]
fn a_wrong_verifier_or_a_reused_code_is_refused_by_the_server() {
    let rt = runtime();
    let server = rt.block_on(MiniAs::start(false));
    let transport = grantline_ureq::Transport::new();
    let metadata = transport
        .run(DiscoveryFlow::openid(&server.issuer()).unwrap())
        .unwrap();
    let client = Client::from_metadata(CLIENT_ID, &metadata)
        .client_secret_basic(CLIENT_SECRET)
        .redirect_uri(REDIRECT)
        .build()
        .unwrap();

    // Two requests; the callback of the first is presented with the second's PKCE verifier.
    let (url_a, pending_a) = client.authorization_request().into_redirect().unwrap();
    let (_url_b, pending_b) = client.authorization_request().into_redirect().unwrap();
    let callback_a = location(&transport.execute(get(&url_a)).unwrap());
    let code_a = url::Url::parse(&callback_a)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let stolen = format!(
        "{REDIRECT}?code={code_a}&state={}&iss={}",
        pending_b.state(),
        server.issuer()
    );
    let code = pending_b.validate_callback(stolen.as_str()).unwrap();
    let e = transport
        .run(client.exchange_code(code).unwrap())
        .unwrap_err();
    let grantline_ureq::Error::Flow(e) = e else {
        panic!("{e:?}")
    };
    assert_eq!(e.oauth_code(), Some(&ErrorCode::InvalidGrant));

    // The code was burnt by the failed attempt: the rightful owner cannot use it either.
    let code = pending_a.validate_callback(callback_a.as_str()).unwrap();
    let e = transport
        .run(client.exchange_code(code).unwrap())
        .unwrap_err();
    let grantline_ureq::Error::Flow(e) = e else {
        panic!("{e:?}")
    };
    assert_eq!(e.oauth_code(), Some(&ErrorCode::InvalidGrant));
}

#[test]
fn a_mismatched_issuer_is_refused_at_discovery() {
    let rt = runtime();
    let server = rt.block_on(MiniAs::start(false));
    let transport = grantline_ureq::Transport::new();
    // The same server under another name: its metadata names the real issuer.
    let other_name = server.issuer().replace("127.0.0.1", "localhost");
    let e = transport
        .run(DiscoveryFlow::openid(&other_name).unwrap())
        .unwrap_err();
    assert!(matches!(
        e,
        grantline_ureq::Error::Flow(grantline::Error::Validation(
            ValidationError::IssuerMismatch { .. }
        ))
    ));
}
