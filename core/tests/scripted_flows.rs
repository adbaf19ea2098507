//! The one-shot flows, run end to end by the scripted driver.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Duration;

use grantline::error::{ErrorCode, Misuse};
use grantline::grant::TokenRequest;
use grantline::revocation::RevocationOutcome;
use grantline::secret::AccessToken;
use grantline::testing::{Driver, DriverError, Event};
use grantline::token::TargetToken;
use grantline::{Client, Error, Flow, Recovery};

fn client() -> Client {
    Client::builder("svc")
        .token_endpoint("https://as.example/token")
        .revocation_endpoint("https://as.example/revoke")
        .introspection_endpoint("https://as.example/introspect")
        .client_secret_basic("s3cr3t")
        .build()
        .unwrap()
}

#[test]
fn client_credentials_end_to_end() {
    let flow = client()
        .request_token(TokenRequest::client_credentials().scope("read"))
        .unwrap();
    let mut driver = Driver::new()
        .latency(Duration::from_millis(250))
        .reply_json(
            200,
            r#"{"access_token":"at","token_type":"Bearer","expires_in":60,"scope":"read"}"#,
        );
    let start = driver.now();
    let token = driver.run(flow).unwrap();
    // Expiry counts from when the answer arrived, on the clock the driver gave.
    assert_eq!(
        token.expires_at(),
        Some(start.wall() + Duration::from_millis(250) + Duration::from_secs(60))
    );
    let transcript = driver.transcript();
    assert_eq!(transcript.requests().count(), 1);
    assert_eq!(
        transcript.form(0).unwrap(),
        [
            ("grant_type".to_owned(), "client_credentials".to_owned()),
            ("scope".to_owned(), "read".to_owned())
        ]
    );
    let request = transcript.requests().next().unwrap();
    assert!(request.headers()["authorization"].is_sensitive());
    assert!(matches!(transcript.events().last(), Some(Event::Done)));
    assert_eq!(transcript.waits().count(), 0, "a one-shot flow never waits");
}

#[test]
fn a_server_error_stops_the_flow_with_its_code() {
    let flow = client()
        .request_token(TokenRequest::refresh_token("rt"))
        .unwrap();
    let mut driver = Driver::new().reply_json(400, r#"{"error":"invalid_grant"}"#);
    let e = driver.run(flow).unwrap_err();
    assert_eq!(
        e.flow_error().and_then(Error::oauth_code),
        Some(&ErrorCode::InvalidGrant)
    );
}

#[test]
fn a_one_shot_flow_gives_up_on_a_transport_failure_but_can_be_retried_by_hand() {
    let mut flow = client()
        .request_token(TokenRequest::client_credentials())
        .unwrap();
    let mut driver = Driver::new().fail_transport();
    assert!(matches!(driver.run(&mut flow), Err(DriverError::GaveUp)));
    // The flow still holds its request: the caller may retry.
    driver.push_reply(
        http::Response::builder()
            .status(200)
            .body(br#"{"access_token":"at"}"#.to_vec())
            .unwrap(),
    );
    let token = driver.run(&mut flow).unwrap();
    assert_eq!(token.access_token().secret(), "at");
    assert_eq!(driver.transcript().requests().count(), 2);
}

#[test]
fn revocation_and_introspection_end_to_end() {
    let token = AccessToken::new("at-1");
    let mut driver = Driver::new()
        .reply(http::Response::new(Vec::new()))
        .reply_json(200, r#"{"active":true,"sub":"alice"}"#);
    let outcome = driver.run(client().revoke(&token).unwrap()).unwrap();
    assert_eq!(outcome, RevocationOutcome::Revoked);
    let info = driver
        .run(client().introspect(TargetToken::from(&token)).unwrap())
        .unwrap();
    assert!(info.active());
    let uris: Vec<_> = driver
        .transcript()
        .requests()
        .map(|r| r.uri().to_string())
        .collect();
    assert_eq!(
        uris,
        ["https://as.example/revoke", "https://as.example/introspect"]
    );
    assert_eq!(
        driver.transcript().form(1).unwrap(),
        [
            ("token".to_owned(), "at-1".to_owned()),
            ("token_type_hint".to_owned(), "access_token".to_owned())
        ]
    );
}

#[test]
fn flows_fit_behind_one_trait_object() {
    let mut flows: Vec<Box<dyn Flow<Output = grantline::TokenResponse>>> = vec![
        Box::new(
            client()
                .request_token(TokenRequest::client_credentials())
                .unwrap(),
        ),
        Box::new(
            client()
                .request_token(TokenRequest::password("u", "p"))
                .unwrap(),
        ),
    ];
    let mut driver = Driver::new()
        .reply_json(200, r#"{"access_token":"a1"}"#)
        .reply_json(200, r#"{"access_token":"a2"}"#);
    let tokens: Vec<_> = flows
        .iter_mut()
        .map(|flow| driver.run(flow).unwrap())
        .collect();
    assert_eq!(tokens[1].access_token().secret(), "a2");
}

#[test]
fn done_comes_out_once() {
    let mut flow = client()
        .request_token(TokenRequest::client_credentials())
        .unwrap();
    let mut driver = Driver::new().reply_json(200, r#"{"access_token":"a"}"#);
    driver.run(&mut flow).unwrap();
    assert!(matches!(
        flow.next(driver.now()),
        Err(Error::Misuse(Misuse::AlreadyDone))
    ));
    assert_eq!(flow.handle_transport_error(driver.now()), Recovery::GiveUp);
    let step = flow.handle_response(http::Response::new(Vec::new()), driver.now());
    assert!(matches!(
        step,
        Err(Error::Misuse(Misuse::UnexpectedResponse))
    ));
}
