//! The blocking ureq transport against loopback servers (httpmock, or a bare `TcpListener`).
//!
//! No test reaches beyond 127.0.0.1. Agents are built with `proxy(None)` so that a proxy set in
//! the environment cannot swallow loopback requests; `Transport::new()` is covered where that
//! does not matter.

// clippy.toml allows these inside `#[test]` functions only; the helpers below are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant, SystemTime};

use grantline::error::ErrorCode;
use grantline::grant::TokenRequest;
use grantline::revocation::RevocationOutcome;
use grantline::secret::RefreshToken;
use grantline::token::TargetToken;
use grantline::{Client, Flow, Now, Recovery, Step};
use grantline_ureq::{
    Cancellation, DEFAULT_BODY_LIMIT, Error, Transport, TransportError, TransportErrorKind,
};
use httpmock::Method::{GET, POST};
use httpmock::{Mock, MockServer};

const CLIENT_ID: &str = "my client";
const CLIENT_SECRET: &str = "s3cr:t+%";
/// `base64("my+client:s3cr%3At%2B%25")`: id and secret form-urlencoded, then joined (RFC 6749
/// §2.3.1).
const BASIC: &str = "Basic bXkrY2xpZW50OnMzY3IlM0F0JTJCJTI1";
const FORM: &str = "application/x-www-form-urlencoded";

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .build()
        .new_agent()
}

fn transport() -> Transport {
    Transport::with_agent(agent())
}

fn client(server: &MockServer) -> Client {
    client_at(&server.url("/token"))
}

fn client_at(token_endpoint: &str) -> Client {
    Client::builder(CLIENT_ID)
        .token_endpoint(token_endpoint)
        .client_secret_basic(CLIENT_SECRET)
        .build()
        .unwrap()
}

fn client_credentials(client: &Client) -> grantline::grant::TokenFlow {
    client
        .request_token(TokenRequest::client_credentials().scope("read write"))
        .unwrap()
}

/// Runs a client credentials request against a `/token` mock that answers `status`,
/// `content_type` and `body`; returns the error.
fn token_error(status: u16, content_type: &str, body: &str) -> Error {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(POST).path("/token");
        then.status(status)
            .header("content-type", content_type)
            .body(body);
    });
    let error = transport()
        .run(client_credentials(&client(&server)))
        .unwrap_err();
    mock.assert_calls(1);
    error
}

/// The flow's error inside the transport's `Error`, or a panic.
fn flow_error(error: Error) -> grantline::Error {
    match error {
        Error::Flow(e) => e,
        other => panic!("expected a flow error, got {other:?}"),
    }
}

/// The `TransportError` inside the transport's `Error`, or a panic.
fn transport_error(error: Error) -> TransportError {
    match error {
        Error::Transport(e) => e,
        other => panic!("expected a transport error, got {other:?}"),
    }
}

/// A port on 127.0.0.1 that nothing listens on (it was bound, then released).
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn post(url: &str) -> http::Request<Vec<u8>> {
    http::Request::post(url)
        .header("content-type", FORM)
        .body(b"a=b".to_vec())
        .unwrap()
}

fn get(url: &str) -> http::Request<Vec<u8>> {
    http::Request::get(url).body(Vec::new()).unwrap()
}

/// A server on 127.0.0.1 that takes one connection, reads the request head (or whatever comes
/// first, for a TLS client), writes the `pieces` of its answer as raw bytes, pausing between
/// them so that the client reads them one by one, and closes. Returns its `host:port`.
fn one_shot_server(pieces: Vec<Vec<u8>>) -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut seen = Vec::new();
        let mut buf = [0_u8; 1024];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
            if seen.first() == Some(&0x16) {
                break; // a TLS handshake record: no head will come
            }
        }
        stream.set_nodelay(true).unwrap();
        for piece in pieces {
            if stream
                .write_all(&piece)
                .and_then(|()| stream.flush())
                .is_err()
            {
                break; // the client stopped reading
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    (format!("127.0.0.1:{port}/raw"), server)
}

/// A token answer padded with trailing JSON whitespace to exactly `len` bytes.
fn token_body_of_len(len: usize) -> String {
    let mut body = String::from(r#"{"access_token":"padded","token_type":"Bearer"}"#);
    assert!(body.len() <= len);
    body.extend(std::iter::repeat_n(' ', len - body.len()));
    body
}

#[test]
fn types_are_send_sync_and_clone() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Transport>();
    assert_send_sync::<Cancellation>();
    assert_send_sync::<Error>();
    assert_send_sync::<TransportError>();
    let transport = Transport::default().body_limit(10);
    let _copy = transport.clone();
}

// 1. Success.

#[test]
fn client_credentials_token_is_fetched_through_run() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(POST)
            .path("/token")
            .header("authorization", BASIC)
            .header("content-type", FORM)
            .header("accept", "application/json")
            .body("grant_type=client_credentials&scope=read+write");
        then.status(200)
            .header("content-type", "application/json")
            .body(
                r#"{"access_token":"at-1","token_type":"Bearer","expires_in":3600,
                    "refresh_token":"rt-1","scope":"read write","tenant":"acme"}"#,
            );
    });

    let before = SystemTime::now();
    let token = transport()
        .run(client_credentials(&client(&server)))
        .unwrap();
    let after = SystemTime::now();

    mock.assert_calls(1);
    assert_eq!(token.access_token().secret(), "at-1");
    assert_eq!(token.token_type(), &grantline::TokenType::Bearer);
    let expires_at = token.expires_at().unwrap();
    let hour = Duration::from_secs(3600);
    assert!(expires_at >= before + hour, "expiry measured from the send");
    assert!(
        expires_at <= after + hour,
        "expiry measured from the answer"
    );
    assert_eq!(token.refresh_token().unwrap().secret(), "rt-1");
    let scope = token.scope().unwrap();
    assert_eq!(scope.iter().collect::<Vec<_>>(), ["read", "write"]);
    assert_eq!(token.extra()["tenant"], "acme");
}

#[test]
fn the_default_transport_runs_a_flow_too() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(POST)
            .path("/token")
            .header("authorization", BASIC);
        then.status(200)
            .header("content-type", "application/json")
            .body(r#"{"access_token":"at-default","token_type":"Bearer"}"#);
    });
    let token = Transport::new()
        .run(client_credentials(&client(&server)))
        .unwrap();
    mock.assert_calls(1);
    assert_eq!(token.access_token().secret(), "at-default");
}

// 2. Each kind of answer becomes the right typed error.

#[test]
fn oauth_error_with_400_is_a_flow_oauth_error() {
    let error = token_error(400, "application/json", r#"{"error":"invalid_client"}"#);
    match flow_error(error) {
        grantline::Error::OAuth(e) => {
            assert_eq!(e.code, ErrorCode::InvalidClient);
            assert_eq!(e.status, 400);
        }
        other => panic!("expected an OAuth error, got {other:?}"),
    }
}

#[test]
fn oauth_error_inside_a_200_is_a_flow_oauth_error() {
    let error = token_error(
        200,
        "application/json",
        r#"{"error":"invalid_grant","error_description":"expired"}"#,
    );
    match flow_error(error) {
        grantline::Error::OAuth(e) => {
            assert_eq!(e.code, ErrorCode::InvalidGrant);
            assert_eq!(e.status, 200);
            assert_eq!(e.description.as_deref(), Some("expired"));
        }
        other => panic!("expected an OAuth error, got {other:?}"),
    }
}

#[test]
fn html_500_is_an_unexpected_response_with_status_and_content_type() {
    let error = token_error(
        500,
        "text/html; charset=utf-8",
        "<html><body>Internal Server Error</body></html>",
    );
    match flow_error(error) {
        grantline::Error::UnexpectedResponse(e) => {
            assert_eq!(e.status, 500);
            assert_eq!(e.content_type.as_deref(), Some("text/html; charset=utf-8"));
            assert!(e.excerpt.contains("Internal Server Error"));
        }
        other => panic!("expected an unexpected response, got {other:?}"),
    }
}

#[test]
fn json_array_in_a_200_is_an_unexpected_response() {
    let error = token_error(200, "application/json", "[]");
    match flow_error(error) {
        grantline::Error::UnexpectedResponse(e) => assert_eq!(e.status, 200),
        other => panic!("expected an unexpected response, got {other:?}"),
    }
}

#[test]
fn empty_200_is_an_unexpected_response() {
    let error = token_error(200, "application/json", "");
    match flow_error(error) {
        grantline::Error::UnexpectedResponse(e) => {
            assert_eq!(e.status, 200);
            assert_eq!(e.body_len, 0);
        }
        other => panic!("expected an unexpected response, got {other:?}"),
    }
}

#[test]
fn json_without_access_token_is_an_invalid_response() {
    let error = token_error(200, "application/json", r#"{"token_type":"Bearer"}"#);
    match flow_error(error) {
        grantline::Error::InvalidResponse(e) => assert_eq!(e.field, "access_token"),
        other => panic!("expected an invalid response, got {other:?}"),
    }
}

#[test]
fn a_201_success_is_accepted() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(POST).path("/token");
        then.status(201)
            .header("content-type", "application/json")
            .body(r#"{"access_token":"at-201","token_type":"Bearer"}"#);
    });
    let token = transport()
        .run(client_credentials(&client(&server)))
        .unwrap();
    assert_eq!(token.access_token().secret(), "at-201");
}

#[test]
fn errors_are_transparent_wrappers() {
    let error = token_error(400, "application/json", r#"{"error":"invalid_client"}"#);
    let Error::Flow(inner) = &error else {
        panic!("expected a flow error, got {error:?}")
    };
    assert_eq!(inner.oauth_code(), Some(&ErrorCode::InvalidClient));
    // The wrapper (the core's `RunError`, the same on every transport) shows the inner message,
    // and its source is the inner error.
    assert_eq!(error.to_string(), inner.to_string());
    assert!(error.to_string().contains("invalid_client"));
    let source = std::error::Error::source(&error).unwrap();
    assert!(source.downcast_ref::<grantline::Error>().is_some());
}

// 3. Redirects are never followed.

/// Mocks `/token` answering `status` with a `Location` to `/elsewhere`, and `/elsewhere`
/// answering a valid token to anything.
fn redirect_mocks(server: &MockServer, status: u16) -> (Mock<'_>, Mock<'_>) {
    let target = server.url("/elsewhere");
    let redirect = server.mock(|when, then| {
        when.path("/token");
        then.status(status).header("location", &target);
    });
    let elsewhere = server.mock(|when, then| {
        when.path("/elsewhere");
        then.status(200)
            .header("content-type", "application/json")
            .body(r#"{"access_token":"stolen","token_type":"Bearer"}"#);
    });
    (redirect, elsewhere)
}

#[test]
fn a_302_is_not_followed_and_the_flow_reports_it() {
    let server = MockServer::start();
    let (redirect, elsewhere) = redirect_mocks(&server, 302);
    let error = transport()
        .run(client_credentials(&client(&server)))
        .unwrap_err();
    match flow_error(error) {
        grantline::Error::UnexpectedResponse(e) => assert_eq!(e.status, 302),
        other => panic!("expected an unexpected response, got {other:?}"),
    }
    redirect.assert_calls(1);
    elsewhere.assert_calls(0);
}

#[test]
fn a_307_is_not_followed_even_though_it_would_resend_the_body() {
    let server = MockServer::start();
    let (redirect, elsewhere) = redirect_mocks(&server, 307);
    let error = transport()
        .run(client_credentials(&client(&server)))
        .unwrap_err();
    match flow_error(error) {
        grantline::Error::UnexpectedResponse(e) => assert_eq!(e.status, 307),
        other => panic!("expected an unexpected response, got {other:?}"),
    }
    redirect.assert_calls(1);
    elsewhere.assert_calls(0);
}

#[test]
fn execute_returns_the_302_itself_even_on_an_agent_that_follows_redirects() {
    let server = MockServer::start();
    let (redirect, elsewhere) = redirect_mocks(&server, 302);
    let following = ureq::Agent::config_builder()
        .proxy(None)
        .max_redirects(10)
        .build()
        .new_agent();
    let response = Transport::with_agent(following)
        .execute(post(&server.url("/token")))
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()["location"],
        server.url("/elsewhere").as_str()
    );
    redirect.assert_calls(1);
    elsewhere.assert_calls(0);
}

// 4. Oversized bodies.

#[test]
fn a_body_over_the_limit_is_body_too_large() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(POST).path("/token");
        then.status(200)
            .header("content-type", "application/json")
            .body(token_body_of_len(10_000));
    });
    let small = transport().body_limit(1024);

    let error = transport_error(small.run(client_credentials(&client(&server))).unwrap_err());
    assert_eq!(
        error.kind(),
        TransportErrorKind::BodyTooLarge { limit: 1024 }
    );
    assert!(std::error::Error::source(&error).is_some());

    let error = small.execute(post(&server.url("/token"))).unwrap_err();
    assert_eq!(
        error.kind(),
        TransportErrorKind::BodyTooLarge { limit: 1024 }
    );
}

#[test]
fn a_body_of_exactly_the_limit_is_accepted_and_one_more_byte_is_not() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.path("/exact");
        then.status(200)
            .header("content-type", "application/json")
            .body(token_body_of_len(1000));
    });
    server.mock(|when, then| {
        when.path("/over");
        then.status(200)
            .header("content-type", "application/json")
            .body(token_body_of_len(1001));
    });
    let small = transport().body_limit(1000);

    let response = small.execute(post(&server.url("/exact"))).unwrap();
    assert_eq!(response.body().len(), 1000);
    // ureq's capped `read_to_vec` grows its buffer by doubling: memory stays within twice the
    // limit, however long the body.
    assert!(
        response.body().capacity() <= 2000,
        "allocated past twice the limit"
    );
    let token = small
        .run(client_credentials(&client_at(&server.url("/exact"))))
        .unwrap();
    assert_eq!(token.access_token().secret(), "padded");

    let error = small.execute(post(&server.url("/over"))).unwrap_err();
    assert_eq!(
        error.kind(),
        TransportErrorKind::BodyTooLarge { limit: 1000 }
    );
}

#[test]
fn a_chunked_body_without_length_is_capped_too() {
    // Chunks of 100 bytes arriving one by one.
    let chunked = |len: usize| {
        let mut pieces = vec![b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec()];
        let mut left = len;
        while left > 0 {
            let n = left.min(100);
            let mut piece = format!("{n:x}\r\n").into_bytes();
            piece.extend(std::iter::repeat_n(b'x', n));
            piece.extend_from_slice(b"\r\n");
            pieces.push(piece);
            left -= n;
        }
        pieces.push(b"0\r\n\r\n".to_vec());
        pieces
    };
    let small = transport().body_limit(1000);

    let (address, server) = one_shot_server(chunked(1000));
    let response = small.execute(get(&format!("http://{address}"))).unwrap();
    server.join().unwrap();
    assert_eq!(response.body().len(), 1000);
    // ureq's capped `read_to_vec` grows its buffer by doubling: memory stays within twice the
    // limit, however long the body.
    assert!(
        response.body().capacity() <= 2000,
        "allocated past twice the limit"
    );

    let (address, server) = one_shot_server(chunked(1001));
    let error = small
        .execute(get(&format!("http://{address}")))
        .unwrap_err();
    server.join().unwrap();
    assert_eq!(
        error.kind(),
        TransportErrorKind::BodyTooLarge { limit: 1000 }
    );
}

#[test]
fn the_default_limit_is_one_mebibyte() {
    let len = usize::try_from(DEFAULT_BODY_LIMIT).unwrap();
    let server = MockServer::start();
    server.mock(|when, then| {
        when.path("/exact");
        then.status(200).body(vec![b'x'; len]);
    });
    server.mock(|when, then| {
        when.path("/over");
        then.status(200).body(vec![b'x'; len + 1]);
    });

    let response = transport().execute(post(&server.url("/exact"))).unwrap();
    assert_eq!(response.body().len(), len);
    let error = transport().execute(post(&server.url("/over"))).unwrap_err();
    assert_eq!(
        error.kind(),
        TransportErrorKind::BodyTooLarge {
            limit: DEFAULT_BODY_LIMIT
        }
    );
}

// 5. Connection refused.

#[test]
fn connection_refused_is_a_connect_error_with_a_source() {
    let url = format!("http://127.0.0.1:{}/token", closed_port());
    let error = transport()
        .run(client_credentials(&client_at(&url)))
        .unwrap_err();
    assert!(std::error::Error::source(&error).is_some());
    let error = transport_error(error);
    assert_eq!(error.kind(), TransportErrorKind::Connect);
    assert!(!error.is_timeout());
    let source = std::error::Error::source(&error).unwrap();
    assert!(source.downcast_ref::<ureq::Error>().is_some());
    assert!(
        !error.to_string().contains("127.0.0.1"),
        "the message names no URL"
    );
}

// 6. Timeouts.

#[test]
fn a_slow_server_is_a_timeout() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(POST).path("/token");
        then.status(200)
            .header("content-type", "application/json")
            .body(r#"{"access_token":"late","token_type":"Bearer"}"#)
            .delay(Duration::from_secs(2));
    });
    let impatient = ureq::Agent::config_builder()
        .proxy(None)
        .timeout_global(Some(Duration::from_millis(200)))
        .build()
        .new_agent();

    let start = Instant::now();
    let error = Transport::with_agent(impatient)
        .run(client_credentials(&client(&server)))
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "did not wait out the delay"
    );
    let error = transport_error(error);
    assert_eq!(error.kind(), TransportErrorKind::Timeout);
    assert!(error.is_timeout());
}

// TLS: a server that answers a ClientHello with plain HTTP.

#[test]
fn a_server_that_does_not_speak_tls_is_a_tls_error() {
    let (address, server) = one_shot_server(vec![
        b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n".to_vec(),
    ]);
    let error = transport()
        .execute(post(&format!("https://{address}")))
        .unwrap_err();
    server.join().unwrap();
    assert_eq!(error.kind(), TransportErrorKind::Tls);
}

// 7. Revocation and introspection.

#[test]
fn revocation_runs_through_the_transport() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(POST)
            .path("/revoke")
            .header("authorization", BASIC)
            .header("content-type", FORM)
            .body("token=rt-9&token_type_hint=refresh_token");
        then.status(200);
    });
    let client = Client::builder(CLIENT_ID)
        .revocation_endpoint(server.url("/revoke"))
        .client_secret_basic(CLIENT_SECRET)
        .build()
        .unwrap();
    let outcome = transport()
        .run(client.revoke(&RefreshToken::new("rt-9")).unwrap())
        .unwrap();
    mock.assert_calls(1);
    assert_eq!(outcome, RevocationOutcome::Revoked);
}

#[test]
fn introspection_runs_through_the_transport() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(POST)
            .path("/introspect")
            .header("authorization", BASIC)
            .body("token=opaque-1");
        then.status(200)
            .header("content-type", "application/json")
            .body(r#"{"active":true,"sub":"alice","scope":"read","tenant":"t1"}"#);
    });
    let client = Client::builder(CLIENT_ID)
        .introspection_endpoint(server.url("/introspect"))
        .client_secret_basic(CLIENT_SECRET)
        .build()
        .unwrap();
    let info = transport()
        .run(client.introspect(TargetToken::new("opaque-1")).unwrap())
        .unwrap();
    mock.assert_calls(1);
    assert!(info.active());
    assert_eq!(info.sub(), Some("alice"));
    assert!(info.scope().unwrap().contains("read"));
    assert_eq!(info.extra()["tenant"], "t1");
}

// 8. Waiting, cancellation and retries, with small hand-written flows.

/// Waits `wait` first, then sends one GET to `url` and finishes with the status it got.
struct WaitThenGet {
    wait: Option<Duration>,
    url: String,
    status: Option<u16>,
}

impl WaitThenGet {
    fn new(wait: Duration, url: String) -> Self {
        Self {
            wait: Some(wait),
            url,
            status: None,
        }
    }
}

impl Flow for WaitThenGet {
    type Output = u16;

    fn next(&mut self, _now: Now) -> Result<Step<u16>, grantline::Error> {
        if let Some(wait) = self.wait.take() {
            return Ok(Step::Wait(wait));
        }
        if let Some(status) = self.status {
            return Ok(Step::Done(status));
        }
        Ok(Step::Send(
            http::Request::get(&self.url).body(Vec::new()).unwrap(),
        ))
    }

    fn handle_response(
        &mut self,
        response: http::Response<Vec<u8>>,
        _now: Now,
    ) -> Result<(), grantline::Error> {
        self.status = Some(response.status().as_u16());
        Ok(())
    }
}

#[test]
fn a_wait_is_slept_and_then_the_flow_goes_on() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(GET).path("/after-wait");
        then.status(204);
    });
    let start = Instant::now();
    let status = transport()
        .run(WaitThenGet::new(
            Duration::from_millis(50),
            server.url("/after-wait"),
        ))
        .unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(50),
        "the wait was slept"
    );
    assert_eq!(status, 204);
    mock.assert_calls(1);
}

#[test]
fn cancel_wakes_a_waiting_flow_at_once() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.path("/never");
        then.status(200);
    });
    let cancel = Cancellation::new();
    let canceller = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            cancel.cancel();
        })
    };

    let start = Instant::now();
    let result = transport().run_with(
        WaitThenGet::new(Duration::from_secs(60), server.url("/never")),
        &cancel,
        |_, _| {},
    );
    let elapsed = start.elapsed();
    canceller.join().unwrap();

    assert!(matches!(result, Err(Error::Cancelled)), "got {result:?}");
    assert!(elapsed < Duration::from_secs(10), "woke after {elapsed:?}");
    assert!(cancel.is_cancelled());
    mock.assert_calls(0);
}

#[test]
fn a_cancelled_run_sends_nothing() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.path("/token");
        then.status(200)
            .header("content-type", "application/json")
            .body(r#"{"access_token":"at","token_type":"Bearer"}"#);
    });
    let cancel = Cancellation::new();
    cancel.cancel();
    let result = transport().run_with(client_credentials(&client(&server)), &cancel, |_, _| {});
    assert!(matches!(result, Err(Error::Cancelled)));
    mock.assert_calls(0);
}

/// Sends to each URL in turn; retries after a transport error while URLs are left, and finishes
/// with the status of the first answer.
struct RetryOnFailure {
    urls: Vec<String>,
    attempt: usize,
    failures: usize,
    status: Option<u16>,
}

impl Flow for RetryOnFailure {
    type Output = (u16, usize);

    fn next(&mut self, _now: Now) -> Result<Step<(u16, usize)>, grantline::Error> {
        if let Some(status) = self.status {
            return Ok(Step::Done((status, self.failures)));
        }
        let url = &self.urls[self.attempt];
        Ok(Step::Send(
            http::Request::get(url).body(Vec::new()).unwrap(),
        ))
    }

    fn handle_response(
        &mut self,
        response: http::Response<Vec<u8>>,
        _now: Now,
    ) -> Result<(), grantline::Error> {
        self.status = Some(response.status().as_u16());
        Ok(())
    }

    fn handle_transport_error(&mut self, _now: Now) -> Recovery {
        self.failures += 1;
        if self.attempt + 1 < self.urls.len() {
            self.attempt += 1;
            Recovery::Retry
        } else {
            Recovery::GiveUp
        }
    }
}

#[test]
fn a_flow_that_retries_after_a_transport_error_is_driven_on() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(GET).path("/second");
        then.status(202);
    });
    let flow = RetryOnFailure {
        urls: vec![
            format!("http://127.0.0.1:{}/first", closed_port()),
            server.url("/second"),
        ],
        attempt: 0,
        failures: 0,
        status: None,
    };
    let (status, failures) = transport().run(flow).unwrap();
    assert_eq!((status, failures), (202, 1));
    mock.assert_calls(1);
}

#[test]
fn a_flow_that_gives_up_gets_the_transport_error() {
    let flow = RetryOnFailure {
        urls: vec![format!("http://127.0.0.1:{}/only", closed_port())],
        attempt: 0,
        failures: 0,
        status: None,
    };
    let error = transport_error(transport().run(flow).unwrap_err());
    assert_eq!(error.kind(), TransportErrorKind::Connect);
}

// 9. `execute` returns every status as a response.

#[test]
fn execute_returns_error_statuses_as_responses() {
    let server = MockServer::start();
    for status in [400_u16, 401, 404, 500, 503] {
        let path = format!("/status/{status}");
        server.mock(|when, then| {
            when.method(POST).path(path.as_str());
            then.status(status)
                .header("content-type", "text/plain")
                .header("x-answer", "kept")
                .body(format!("status {status}"));
        });
    }
    for status in [400_u16, 401, 404, 500, 503] {
        let response = transport()
            .execute(post(&server.url(format!("/status/{status}"))))
            .unwrap();
        assert_eq!(response.status(), status);
        assert_eq!(response.version(), http::Version::HTTP_11);
        assert_eq!(response.headers()["content-type"], "text/plain");
        assert_eq!(response.headers()["x-answer"], "kept");
        assert_eq!(response.body(), format!("status {status}").as_bytes());
    }
}

#[test]
fn execute_sends_method_headers_and_body_as_given() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(POST)
            .path("/echo")
            .header("content-type", FORM)
            .header("x-custom", "yes")
            .body("a=b");
        then.status(200).body("ok");
    });
    let mut request = post(&server.url("/echo"));
    request
        .headers_mut()
        .insert("x-custom", http::HeaderValue::from_static("yes"));
    let response = transport().execute(request).unwrap();
    mock.assert_calls(1);
    assert_eq!(response.body(), b"ok");
}
