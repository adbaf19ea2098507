//! The reqwest transport against loopback servers: httpmock's `MockServer`, and a few raw TCP
//! servers on `127.0.0.1` for what httpmock cannot send (chunked bodies, bodies that never end).
//! Nothing leaves the machine.

// Test code: a panic is a failed test, helpers included (clippy.toml only covers `#[test]` fns).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use grantline::error::ErrorCode;
use grantline::grant::TokenRequest;
use grantline::revocation::RevocationOutcome;
use grantline::secret::RefreshToken;
use grantline::token::TargetToken;
use grantline::{Client, Flow, Now, Recovery, Step, TokenResponse};
use grantline_reqwest::{Error, Transport, TransportError, TransportErrorKind};
use httpmock::Method::{GET, POST};
use httpmock::MockServer;

/// `my client` / `s3cr:t+/x`, form-urlencoded then base64-encoded (RFC 6749 §2.3.1):
/// base64("my+client:s3cr%3At%2B%2Fx").
const BASIC_MY_CLIENT: &str = "Basic bXkrY2xpZW50OnMzY3IlM0F0JTJCJTJGeA==";

fn client(token_endpoint: &str) -> Client {
    Client::builder("my client")
        .token_endpoint(token_endpoint)
        .client_secret_basic("s3cr:t+/x")
        .build()
        .unwrap()
}

fn transport() -> Transport {
    Transport::new().unwrap()
}

/// Runs a client-credentials flow against a mock answering `status`, `content_type`, `body`.
async fn token_answer(status: u16, content_type: &str, body: &str) -> Result<TokenResponse, Error> {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/token");
            then.status(status)
                .header("content-type", content_type)
                .body(body);
        })
        .await;
    let flow = client(&server.url("/token"))
        .request_token(TokenRequest::client_credentials())
        .unwrap();
    let result = transport().run(flow).await;
    mock.assert_calls_async(1).await;
    result
}

fn flow_error(result: Result<TokenResponse, Error>) -> grantline::Error {
    match result {
        Err(Error::Flow(e)) => e,
        Err(other) => panic!("expected a flow error, got {other:?}"),
        Ok(token) => panic!("expected a flow error, got {token:?}"),
    }
}

fn transport_error<T: std::fmt::Debug>(result: Result<T, Error>) -> TransportError {
    match result {
        Err(Error::Transport(e)) => e,
        Err(other) => panic!("expected a transport error, got {other:?}"),
        Ok(output) => panic!("expected a transport error, got {output:?}"),
    }
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
fn refused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

/// A raw HTTP/1.1 server on 127.0.0.1 that answers one connection with `head` and `chunks`,
/// then keeps the connection open (without ending the body) until the returned sender is
/// dropped, or closes it at once when `close` is set.
fn raw_server(head: &str, chunks: Vec<Vec<u8>>, close: bool) -> (String, mpsc::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/raw", listener.local_addr().unwrap());
    let head = head.to_owned();
    let (hold, release) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        read_request_head(&mut stream);
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        for chunk in chunks {
            if stream.write_all(&chunk).is_err() {
                return;
            }
            let _ = stream.flush();
        }
        if !close {
            // Hold the connection (the body never ends) until the test is over.
            let _ = release.recv_timeout(Duration::from_secs(30));
        }
    });
    (url, hold)
}

fn read_request_head(stream: &mut TcpStream) {
    let mut seen = Vec::new();
    let mut byte = [0_u8; 1];
    while !seen.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => seen.push(byte[0]),
            _ => return,
        }
    }
}

/// One chunk of a `Transfer-Encoding: chunked` body.
fn http_chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

fn get(url: &str) -> http::Request<Vec<u8>> {
    http::Request::get(url).body(Vec::new()).unwrap()
}

const CHUNKED_HEAD: &str =
    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";

// 1. Success.

#[tokio::test]
async fn client_credentials_token_through_run() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/token")
                .header("authorization", BASIC_MY_CLIENT)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials&scope=read+write");
            then.status(200)
                .header("content-type", "application/json")
                .body(
                    r#"{"access_token":"at-1","token_type":"Bearer","expires_in":3600,
                        "refresh_token":"rt-1","scope":"read write","tenant":"acme"}"#,
                );
        })
        .await;
    let flow = client(&server.url("/token"))
        .request_token(TokenRequest::client_credentials().scope("read write"))
        .unwrap();

    let before = SystemTime::now();
    let token = transport().run(flow).await.unwrap();
    let after = SystemTime::now();

    mock.assert_calls_async(1).await;
    assert_eq!(token.access_token().secret(), "at-1");
    assert_eq!(token.token_type(), &grantline::TokenType::Bearer);
    let expires_at = token.expires_at().unwrap();
    assert!(expires_at >= before + Duration::from_secs(3600));
    assert!(expires_at <= after + Duration::from_secs(3600));
    assert_eq!(token.refresh_token().unwrap().secret(), "rt-1");
    let scope = token.scope().unwrap();
    assert_eq!(scope.iter().collect::<Vec<_>>(), ["read", "write"]);
    assert_eq!(token.extra()["tenant"], "acme");
}

#[tokio::test]
async fn status_201_with_a_token_is_a_success() {
    let token = token_answer(201, "application/json", r#"{"access_token":"at-201"}"#)
        .await
        .unwrap();
    assert_eq!(token.access_token().secret(), "at-201");
}

// 2. Each kind of answer becomes the right typed error.

#[tokio::test]
async fn oauth_error_400_is_a_flow_oauth_error() {
    let e = flow_error(
        token_answer(
            400,
            "application/json",
            r#"{"error":"invalid_client","error_description":"bad secret"}"#,
        )
        .await,
    );
    match e {
        grantline::Error::OAuth(oauth) => {
            assert_eq!(oauth.code, ErrorCode::InvalidClient);
            assert_eq!(oauth.status, 400);
            assert_eq!(oauth.description.as_deref(), Some("bad secret"));
        }
        other => panic!("expected an OAuth error, got {other:?}"),
    }
}

#[tokio::test]
async fn error_object_in_a_200_is_an_oauth_error() {
    let e = flow_error(token_answer(200, "application/json", r#"{"error":"invalid_grant"}"#).await);
    assert!(matches!(&e, grantline::Error::OAuth(o) if o.code == ErrorCode::InvalidGrant));
    assert_eq!(e.status(), Some(http::StatusCode::OK));
}

#[tokio::test]
async fn html_500_is_an_unexpected_response_with_status_and_content_type() {
    let e = flow_error(
        token_answer(
            500,
            "text/html",
            "<html><body>Internal Server Error</body></html>",
        )
        .await,
    );
    match e {
        grantline::Error::UnexpectedResponse(u) => {
            assert_eq!(u.status, 500);
            assert_eq!(u.content_type.as_deref(), Some("text/html"));
            assert!(u.excerpt.starts_with("<html>"));
        }
        other => panic!("expected an unexpected response, got {other:?}"),
    }
}

#[tokio::test]
async fn array_or_empty_200_is_an_unexpected_response() {
    for body in ["[]", ""] {
        let e = flow_error(token_answer(200, "application/json", body).await);
        assert!(
            matches!(&e, grantline::Error::UnexpectedResponse(u) if u.status == 200 && u.body_len == body.len()),
            "body {body:?}: {e:?}"
        );
    }
}

#[tokio::test]
async fn json_without_access_token_is_an_invalid_response() {
    let e = flow_error(token_answer(200, "application/json", r#"{"token_type":"Bearer"}"#).await);
    assert!(
        matches!(&e, grantline::Error::InvalidResponse(i) if i.field == "access_token"),
        "{e:?}"
    );
}

// 3. Redirects are never followed.

/// `/token` redirects with `status` to `/elsewhere`, which would hand out a token: asserts that
/// the redirect comes back as an unexpected answer and `/elsewhere` is never asked.
async fn assert_redirect_not_followed(transport: Transport, status: u16) {
    let server = MockServer::start_async().await;
    let elsewhere = server.url("/elsewhere");
    let redirect = server
        .mock_async(|when, then| {
            when.method(POST).path("/token");
            then.status(status).header("location", elsewhere.as_str());
        })
        .await;
    let target = server
        .mock_async(|when, then| {
            when.path("/elsewhere");
            then.status(200)
                .header("content-type", "application/json")
                .body(r#"{"access_token":"stolen","token_type":"Bearer"}"#);
        })
        .await;
    let flow = client(&server.url("/token"))
        .request_token(TokenRequest::client_credentials())
        .unwrap();

    let e = flow_error(transport.run(flow).await);

    redirect.assert_calls_async(1).await;
    target.assert_calls_async(0).await;
    assert!(
        matches!(&e, grantline::Error::UnexpectedResponse(u) if u.status == status),
        "status {status}: {e:?}"
    );
}

#[tokio::test]
async fn redirect_is_not_followed_by_a_new_transport() {
    for status in [302, 307] {
        assert_redirect_not_followed(transport(), status).await;
    }
}

#[tokio::test]
async fn redirect_is_not_followed_even_when_the_builder_would_follow() {
    for status in [302, 307, 308] {
        // reqwest's default builder follows up to 10 redirects; the transport turns that off.
        let transport = Transport::from_builder(reqwest::Client::builder()).unwrap();
        assert_redirect_not_followed(transport, status).await;
    }
}

#[tokio::test]
async fn execute_returns_the_redirect_as_is() {
    let server = MockServer::start_async().await;
    let elsewhere = server.url("/elsewhere");
    let redirect = server
        .mock_async(|when, then| {
            when.method(GET).path("/start");
            then.status(302)
                .header("location", elsewhere.as_str())
                .body("moved");
        })
        .await;
    let target = server
        .mock_async(|when, then| {
            when.path("/elsewhere");
            then.status(200).body("followed");
        })
        .await;

    let response = transport()
        .execute(get(&server.url("/start")))
        .await
        .unwrap();

    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["location"], elsewhere.as_str());
    assert_eq!(response.body(), b"moved");
    redirect.assert_calls_async(1).await;
    target.assert_calls_async(0).await;
}

#[tokio::test]
async fn a_prebuilt_client_that_follows_redirects_is_caught_by_the_url_check() {
    let server = MockServer::start_async().await;
    let elsewhere = server.url("/elsewhere");
    server
        .mock_async(|when, then| {
            when.path("/start");
            then.status(302).header("location", elsewhere.as_str());
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/elsewhere");
            then.status(200).body("followed");
        })
        .await;
    // reqwest::Client::new() follows redirects: exactly what from_client's docs forbid.
    let transport = Transport::from_client(
        reqwest::Client::builder()
            .tls_backend_preconfigured(grantline_reqwest::tls::client_config().unwrap())
            .build()
            .unwrap(),
    );

    let e = transport
        .execute(get(&server.url("/start")))
        .await
        .unwrap_err();

    assert_eq!(e.kind(), TransportErrorKind::Redirected);
}

// 4. Body size cap.

#[tokio::test]
async fn body_over_the_limit_is_refused() {
    let server = MockServer::start_async().await;
    let big = format!(r#"{{"access_token":"{}"}}"#, "a".repeat(10_000));
    server
        .mock_async(|when, then| {
            when.method(POST).path("/token");
            then.status(200)
                .header("content-type", "application/json")
                .body(big.as_str());
        })
        .await;
    let flow = client(&server.url("/token"))
        .request_token(TokenRequest::client_credentials())
        .unwrap();

    let e = transport_error(transport().body_limit(1024).run(flow).await);

    assert_eq!(e.kind(), TransportErrorKind::BodyTooLarge { limit: 1024 });
}

#[tokio::test]
async fn body_exactly_at_the_limit_is_accepted_and_one_byte_less_is_not() {
    let server = MockServer::start_async().await;
    let body = "x".repeat(1024);
    server
        .mock_async(|when, then| {
            when.path("/exact");
            then.status(200).body(body.as_str());
        })
        .await;
    let url = server.url("/exact");

    let response = transport()
        .body_limit(1024)
        .execute(get(&url))
        .await
        .unwrap();
    assert_eq!(response.body().len(), 1024);

    let e = transport()
        .body_limit(1023)
        .execute(get(&url))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), TransportErrorKind::BodyTooLarge { limit: 1023 });
}

#[tokio::test]
async fn chunked_body_is_capped_while_it_is_read() {
    // No Content-Length: the cap is enforced on the bytes as they arrive.
    let over: Vec<Vec<u8>> = (0..20)
        .map(|_| http_chunk(&[b'x'; 500]))
        .chain([b"0\r\n\r\n".to_vec()])
        .collect();
    let (url, _hold) = raw_server(CHUNKED_HEAD, over, true);
    let e = transport()
        .body_limit(1024)
        .execute(get(&url))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), TransportErrorKind::BodyTooLarge { limit: 1024 });

    let exact = vec![
        http_chunk(&[b'y'; 512]),
        http_chunk(&[b'y'; 512]),
        b"0\r\n\r\n".to_vec(),
    ];
    let (url, _hold) = raw_server(CHUNKED_HEAD, exact, true);
    let response = transport()
        .body_limit(1024)
        .execute(get(&url))
        .await
        .unwrap();
    assert_eq!(response.body(), &vec![b'y'; 1024]);
}

#[tokio::test]
async fn reading_stops_as_soon_as_the_limit_is_passed() {
    // 2 KiB arrive, then the body never ends: only an early stop returns.
    let (url, hold) = raw_server(
        CHUNKED_HEAD,
        vec![http_chunk(&[b'z'; 1024]), http_chunk(&[b'z'; 1024])],
        false,
    );
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        transport().body_limit(1500).execute(get(&url)),
    )
    .await
    .expect("the transport stops reading once the limit is passed");
    assert_eq!(
        result.unwrap_err().kind(),
        TransportErrorKind::BodyTooLarge { limit: 1500 }
    );
    drop(hold);
}

#[tokio::test]
async fn an_announced_length_over_the_limit_is_refused_before_reading() {
    // Content-Length says 10 MB, and no byte of the body ever comes.
    let head =
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 10000000\r\n\r\n";
    let (url, hold) = raw_server(head, Vec::new(), false);
    let result = tokio::time::timeout(Duration::from_secs(10), transport().execute(get(&url)))
        .await
        .expect("an announced length over the limit is refused without waiting for the body");
    assert_eq!(
        result.unwrap_err().kind(),
        TransportErrorKind::BodyTooLarge {
            limit: grantline_reqwest::DEFAULT_BODY_LIMIT
        }
    );
    drop(hold);
}

// 5. Connection refused.

#[tokio::test]
async fn connection_refused_is_a_connect_error_without_the_url() {
    let endpoint = format!("http://127.0.0.1:{}/token?secret=x", refused_port());
    let flow = client(&endpoint)
        .request_token(TokenRequest::client_credentials())
        .unwrap();

    let error = transport().run(flow).await.unwrap_err();

    let Error::Transport(e) = &error else {
        panic!("expected a transport error, got {error:?}")
    };
    assert_eq!(e.kind(), TransportErrorKind::Connect);
    assert!(!e.is_timeout());
    assert!(std::error::Error::source(e).is_some());
    // Neither the messages nor the kept cause show the URL's query.
    let mut chain: Option<&dyn std::error::Error> = Some(&error);
    let mut depth = 0;
    while let Some(current) = chain {
        let shown = current.to_string();
        assert!(!shown.contains("secret=x"), "{shown}");
        assert!(!shown.contains("/token"), "{shown}");
        chain = current.source();
        depth += 1;
    }
    assert!(
        depth >= 2,
        "run error (showing the transport error) -> reqwest error"
    );
    assert!(!format!("{e:?}").contains("secret=x"));
}

// 6. Timeout.

#[tokio::test]
async fn a_client_timeout_is_a_timeout_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/token");
            then.status(200)
                .header("content-type", "application/json")
                .body(r#"{"access_token":"late"}"#)
                .delay(Duration::from_secs(2));
        })
        .await;
    let transport =
        Transport::from_builder(reqwest::Client::builder().timeout(Duration::from_millis(200)))
            .unwrap();
    let flow = client(&server.url("/token"))
        .request_token(TokenRequest::client_credentials())
        .unwrap();

    let started = Instant::now();
    let e = transport_error(transport.run(flow).await);

    assert_eq!(e.kind(), TransportErrorKind::Timeout);
    assert!(e.is_timeout());
    assert!(started.elapsed() < Duration::from_millis(1800));
}

// 7. Revocation and introspection.

#[tokio::test]
async fn revocation_runs_through_the_transport() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/revoke")
                .header("authorization", BASIC_MY_CLIENT)
                .body("token=rt-1&token_type_hint=refresh_token");
            then.status(200);
        })
        .await;
    let client = Client::builder("my client")
        .revocation_endpoint(server.url("/revoke"))
        .client_secret_basic("s3cr:t+/x")
        .build()
        .unwrap();

    let outcome = transport()
        .run(client.revoke(&RefreshToken::new("rt-1")).unwrap())
        .await
        .unwrap();

    mock.assert_calls_async(1).await;
    assert_eq!(outcome, RevocationOutcome::Revoked);
}

#[tokio::test]
async fn introspection_runs_through_the_transport() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/introspect")
                .header("authorization", BASIC_MY_CLIENT)
                .body("token=opaque-1");
            then.status(200)
                .header("content-type", "application/json")
                .body(r#"{"active":true,"sub":"alice","scope":"read","tenant":"t1"}"#);
        })
        .await;
    let client = Client::builder("my client")
        .introspection_endpoint(server.url("/introspect"))
        .client_secret_basic("s3cr:t+/x")
        .build()
        .unwrap();

    let info = transport()
        .run(client.introspect(TargetToken::new("opaque-1")).unwrap())
        .await
        .unwrap();

    mock.assert_calls_async(1).await;
    assert!(info.active());
    assert_eq!(info.sub(), Some("alice"));
    assert_eq!(info.extra()["tenant"], "t1");
}

// 8. Waiting, retrying and cancellation.

/// Waits `wait` first, then finishes with `"done"`. Records that it was dropped.
struct WaitingFlow {
    wait: Option<Duration>,
    dropped: Arc<AtomicBool>,
}

impl Flow for WaitingFlow {
    type Output = &'static str;

    fn next(&mut self, _now: Now) -> Result<Step<Self::Output>, grantline::Error> {
        Ok(match self.wait.take() {
            Some(wait) => Step::Wait(wait),
            None => Step::Done("done"),
        })
    }

    fn handle_response(
        &mut self,
        _response: http::Response<Vec<u8>>,
        _now: Now,
    ) -> Result<(), grantline::Error> {
        unreachable!("this flow sends nothing")
    }
}

impl Drop for WaitingFlow {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn dropping_the_run_future_cancels_a_waiting_flow() {
    let dropped = Arc::new(AtomicBool::new(false));
    let flow = WaitingFlow {
        wait: Some(Duration::from_secs(60)),
        dropped: Arc::clone(&dropped),
    };
    let transport = transport();

    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_millis(50), transport.run(flow)).await;

    assert!(
        result.is_err(),
        "the flow waits 60 s, the deadline is 50 ms"
    );
    assert!(
        dropped.load(Ordering::SeqCst),
        "the flow is dropped with the future"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn run_sleeps_through_a_wait_and_goes_on() {
    let flow = WaitingFlow {
        wait: Some(Duration::from_millis(30)),
        dropped: Arc::new(AtomicBool::new(false)),
    };
    let started = Instant::now();
    let output = transport().run(flow).await.unwrap();
    assert_eq!(output, "done");
    assert!(started.elapsed() >= Duration::from_millis(30));
}

/// Sends to `url`; asks for one retry after a transport failure, then gives up.
struct RetryOnceFlow {
    url: String,
    sent: Arc<AtomicUsize>,
    retried: bool,
}

impl Flow for RetryOnceFlow {
    type Output = ();

    fn next(&mut self, _now: Now) -> Result<Step<()>, grantline::Error> {
        self.sent.fetch_add(1, Ordering::SeqCst);
        Ok(Step::Send(get(&self.url)))
    }

    fn handle_response(
        &mut self,
        _response: http::Response<Vec<u8>>,
        _now: Now,
    ) -> Result<(), grantline::Error> {
        unreachable!("nothing listens at this url")
    }

    fn handle_transport_error(&mut self, _now: Now) -> Recovery {
        if self.retried {
            Recovery::GiveUp
        } else {
            self.retried = true;
            Recovery::Retry
        }
    }
}

#[tokio::test]
async fn run_retries_when_the_flow_asks_and_reports_the_error_when_it_gives_up() {
    let sent = Arc::new(AtomicUsize::new(0));
    let flow = RetryOnceFlow {
        url: format!("http://127.0.0.1:{}/poll", refused_port()),
        sent: Arc::clone(&sent),
        retried: false,
    };

    let e = transport_error(transport().run(flow).await);

    assert_eq!(e.kind(), TransportErrorKind::Connect);
    assert_eq!(sent.load(Ordering::SeqCst), 2);
}

/// The future `run` returns is `Send` for every `Send` flow, whatever its output: checked at
/// compile time.
#[test]
fn run_future_is_send_for_send_flows() {
    fn assert_send<T: Send>(_: &T) {}
    fn run_is_send<F: Flow + Send>(transport: &Transport, flow: F) {
        let future = transport.run(flow);
        assert_send(&future);
    }
    let client = client("https://as.example/token");
    let flow = client
        .request_token(TokenRequest::client_credentials())
        .unwrap();
    run_is_send(&transport(), flow);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_can_be_spawned() {
    let flow = WaitingFlow {
        wait: Some(Duration::from_millis(1)),
        dropped: Arc::new(AtomicBool::new(false)),
    };
    let transport = transport();
    let output = tokio::spawn(async move { transport.run(flow).await })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(output, "done");
}

// 9. execute returns every status as a response.

#[tokio::test]
async fn execute_returns_error_statuses_as_responses() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/down");
            then.status(503)
                .header("retry-after", "7")
                .header("content-type", "text/plain")
                .body("down for maintenance");
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/denied");
            then.status(401)
                .header("www-authenticate", "Basic realm=\"as\"")
                .body(r#"{"error":"invalid_client"}"#);
        })
        .await;

    let response = transport()
        .execute(get(&server.url("/down")))
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "7");
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(response.body(), b"down for maintenance");
    assert_eq!(response.version(), http::Version::HTTP_11);

    let response = transport()
        .execute(get(&server.url("/denied")))
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Basic realm=\"as\"");
    assert_eq!(response.body(), br#"{"error":"invalid_client"}"#);
}

#[tokio::test]
async fn execute_sends_method_headers_and_body_as_given() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/echo")
                .query_param("tenant", "t1")
                .header("x-custom", "yes")
                .body("a=1&b=2");
            then.status(200).body("ok");
        })
        .await;
    let request = http::Request::post(server.url("/echo?tenant=t1"))
        .header("x-custom", "yes")
        .body(b"a=1&b=2".to_vec())
        .unwrap();

    let response = transport().execute(request).await.unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(response.body(), b"ok");
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn an_unsupported_scheme_is_an_invalid_request() {
    let e = transport()
        .execute(get("ftp://127.0.0.1/token?secret=x"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), TransportErrorKind::InvalidRequest);
    assert!(!e.to_string().contains("secret=x"));
}
