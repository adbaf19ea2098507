//! The async auth handler, `reqwest-middleware` and the API client against a
//! loopback mock server (wiremock): single flight, the 401 retry, confinement to the base URL.
//!
//! Every property is counted at the mock server, so a test fails if the property breaks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use grantline::error::ErrorCode;
use grantline::token_manager::TokenManager;
use grantline::{Client, TokenResponse, TokenType};
use grantline_reqwest::{ApiClient, ApiError, Auth, AuthMiddleware, Error, Transport};
use wiremock::matchers::{body_json, header, method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const CALLERS: usize = 100;
const INVALID_TOKEN: &str = r#"Bearer realm="api", error="invalid_token""#;

fn client(server: &MockServer) -> Client {
    Client::builder("svc")
        .token_endpoint(format!("{}/token", server.uri()))
        .client_secret_basic("s3cr3t")
        .build()
        .unwrap()
}

fn token_json(access_token: &str) -> String {
    format!(r#"{{"access_token":"{access_token}","token_type":"Bearer","expires_in":3600}}"#)
}

fn token_reply(access_token: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/json")
        .set_body_string(token_json(access_token))
}

fn bearer(access_token: &str, expires_in_secs: i64) -> TokenResponse {
    let now = SystemTime::now();
    let expires_at = if expires_in_secs >= 0 {
        now + Duration::from_secs(expires_in_secs.unsigned_abs())
    } else {
        now - Duration::from_secs(expires_in_secs.unsigned_abs())
    };
    TokenResponse::new(access_token.into(), TokenType::Bearer).with_expires_at(Some(expires_at))
}

fn no_proxy() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .tls_backend_preconfigured(grantline_reqwest::tls::client_config().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn auth_with(server: &MockServer, token: TokenResponse) -> Auth {
    let manager = TokenManager::grant(
        client(server),
        grantline::grant::TokenRequest::client_credentials(),
    )
    .unwrap()
    .with_token(token)
    .unwrap();
    Auth::new(Transport::from_client(no_proxy()), manager)
}

fn api(server: &MockServer, auth: Auth) -> ApiClient {
    ApiClient::new(&format!("{}/api/v1/", server.uri()))
        .unwrap()
        .client(no_proxy())
        .auth(auth)
}

/// How many requests the server received on `path`.
async fn calls(server: &MockServer, on: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == on)
        .count()
}

/// Runs `f` on `CALLERS` tasks released at once (on a multi-threaded runtime).
async fn all_at_once<T, F, Fut>(f: F) -> Vec<T>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(CALLERS));
    let f = Arc::new(f);
    let tasks: Vec<_> = (0..CALLERS)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            let f = Arc::clone(&f);
            tokio::spawn(async move {
                barrier.wait().await;
                f().await
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

async fn mount_slow_token(server: &MockServer, access_token: &str) {
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(token_reply(access_token).set_delay(Duration::from_millis(300)))
        .mount(server)
        .await;
}

async fn mount_ok(server: &MockServer, on: &str, access_token: &str) {
    Mock::given(path(on))
        .and(header("authorization", format!("Bearer {access_token}")))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .mount(server)
        .await;
}

async fn mount_rejecting(server: &MockServer, access_token: &str) {
    Mock::given(path_regex("^/api/v1/"))
        .and(header("authorization", format!("Bearer {access_token}")))
        .respond_with(ResponseTemplate::new(401).insert_header("www-authenticate", INVALID_TOKEN))
        .mount(server)
        .await;
}

/// A body reqwest cannot copy, so a request carrying it cannot be replayed.
fn streamed(bytes: &'static [u8]) -> reqwest::Body {
    reqwest::Body::wrap_stream(futures_util::stream::once(async move {
        Ok::<_, std::io::Error>(bytes)
    }))
}

// Single flight.

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn a_hundred_tasks_behind_an_expired_token_send_one_token_request() {
    let server = MockServer::start().await;
    mount_slow_token(&server, "at-new").await;
    mount_ok(&server, "/api/v1/items", "at-new").await;
    let api = api(&server, auth_with(&server, bearer("at-old", -5)));

    let results = all_at_once(move || {
        let api = api.clone();
        async move { api.get("items").send().await.map(|r| r.status()) }
    })
    .await;

    assert!(
        results.iter().all(|r| matches!(r, Ok(s) if *s == 200)),
        "{results:?}"
    );
    assert_eq!(calls(&server, "/token").await, 1);
    assert_eq!(calls(&server, "/api/v1/items").await, CALLERS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn a_failed_renewal_reaches_every_waiting_task_and_the_next_call_tries_again() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("content-type", "application/json")
                .set_body_string(r#"{"error":"invalid_client"}"#)
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&server)
        .await;
    let auth = auth_with(&server, bearer("at-old", -5));
    let api = api(&server, auth.clone());

    let results = all_at_once(move || {
        let api = api.clone();
        async move { api.get("items").send().await.map(|r| r.status()) }
    })
    .await;

    for result in &results {
        match result {
            Err(ApiError::Auth(e)) => assert!(
                matches!(e.error(), Error::Flow(f) if f.oauth_code() == Some(&ErrorCode::InvalidClient)),
                "{e:?}"
            ),
            other => panic!("expected the renewal's error, got {other:?}"),
        }
    }
    assert_eq!(calls(&server, "/token").await, 1);
    assert_eq!(calls(&server, "/api/v1/items").await, 0);
    assert!(auth.header().await.is_err());
    assert_eq!(
        calls(&server, "/token").await,
        2,
        "the next call tries again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancelled_renewal_is_taken_over_by_a_waiting_task() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(token_reply("at-new").set_delay(Duration::from_millis(400)))
        .mount(&server)
        .await;
    let auth = auth_with(&server, bearer("at-old", -5));

    // The first caller starts the renewal and is cancelled while it waits for the answer.
    let renewer = auth.clone();
    let cancelled =
        tokio::time::timeout(
            Duration::from_millis(100),
            async move { renewer.header().await },
        )
        .await;
    assert!(cancelled.is_err(), "the first caller was cancelled");
    // Nobody is left waiting forever: the next callers renew and all succeed.
    let results = all_at_once(move || {
        let auth = auth.clone();
        async move { auth.header().await.map(|h| h.to_str().unwrap().to_owned()) }
    })
    .await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(h) if h == "Bearer at-new"))
    );
    assert_eq!(calls(&server, "/token").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn single_flight_through_reqwest_middleware() {
    let server = MockServer::start().await;
    mount_slow_token(&server, "at-mw").await;
    mount_ok(&server, "/anything", "at-mw").await;
    let auth = auth_with(&server, bearer("at-old", -5));
    let http = reqwest_middleware::ClientBuilder::new(no_proxy())
        .with(auth.middleware())
        .build();
    let url = format!("{}/anything", server.uri());

    let results = all_at_once(move || {
        let http = http.clone();
        let url = url.clone();
        async move { http.get(url).send().await.map(|r| r.status()) }
    })
    .await;

    assert!(results.iter().all(|r| matches!(r, Ok(s) if *s == 200)));
    assert_eq!(calls(&server, "/token").await, 1);
    assert_eq!(calls(&server, "/anything").await, CALLERS);
}

// The 401 retry.

#[tokio::test]
async fn a_401_invalid_token_renews_once_and_resends_once() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(token_reply("at-new"))
        .mount(&server)
        .await;
    mount_rejecting(&server, "at-old").await;
    Mock::given(method("POST"))
        .and(path("/api/v1/items"))
        .and(header("authorization", "Bearer at-new"))
        .and(header("content-type", "application/json"))
        .and(body_json(serde_json::json!({"name": "x"})))
        .respond_with(ResponseTemplate::new(201).set_body_string(r#"{"id":7}"#))
        .mount(&server)
        .await;
    let api = api(&server, auth_with(&server, bearer("at-old", 3600)));

    let created: serde_json::Value = api
        .post("items")
        .json(&serde_json::json!({"name": "x"}))
        .recv_json()
        .await
        .unwrap();

    assert_eq!(created["id"], 7);
    assert_eq!(calls(&server, "/token").await, 1);
    assert_eq!(calls(&server, "/api/v1/items").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn a_hundred_refused_tasks_cause_one_renewal_even_when_refusals_arrive_late() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(token_reply("at-new").set_delay(Duration::from_millis(50)))
        .mount(&server)
        .await;
    // The server has revoked the token (still valid by its expiry), and says so slowly: tasks
    // that sent it early get their refusal after the renewal is done.
    Mock::given(path_regex("^/api/v1/"))
        .and(header("authorization", "Bearer at-old"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("www-authenticate", INVALID_TOKEN)
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&server)
        .await;
    mount_ok(&server, "/api/v1/items", "at-new").await;
    let api = api(&server, auth_with(&server, bearer("at-old", 3600)));

    // Starts spread over 250 ms: the first refusal comes at 300 ms, the renewal ends at 350 ms,
    // and the refusals of the tasks that started after 50 ms arrive after that.
    let started = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let results = all_at_once(move || {
        let api = api.clone();
        let i = started.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async move {
            tokio::time::sleep(Duration::from_micros(i * 2500)).await;
            api.get("items").send().await.map(|r| r.status())
        }
    })
    .await;

    assert!(
        results.iter().all(|r| matches!(r, Ok(s) if *s == 200)),
        "{results:?}"
    );
    assert_eq!(calls(&server, "/token").await, 1);
    let requests = server.received_requests().await.unwrap();
    let with = |token: &str| {
        requests
            .iter()
            .filter(|r| r.headers.get("authorization").is_some_and(|v| v == token))
            .count()
    };
    assert!(with("Bearer at-old") > 1, "several tasks were refused");
    assert_eq!(with("Bearer at-new"), CALLERS);
}

#[tokio::test]
async fn the_retry_happens_once_only() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(token_reply("at-new"))
        .mount(&server)
        .await;
    mount_rejecting(&server, "at-old").await;
    mount_rejecting(&server, "at-new").await;
    let api = api(&server, auth_with(&server, bearer("at-old", 3600)));

    let error = api.get("items").send().await.unwrap_err();

    assert!(
        matches!(error, ApiError::Status(ref s) if s.status() == 401),
        "{error:?}"
    );
    assert_eq!(calls(&server, "/token").await, 1);
    assert_eq!(calls(&server, "/api/v1/items").await, 2);
}

#[tokio::test]
async fn a_streamed_body_is_not_resent_after_a_401() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(token_reply("at-new"))
        .mount(&server)
        .await;
    mount_rejecting(&server, "at-old").await;
    mount_ok(&server, "/api/v1/uploads/1", "at-new").await;
    let auth = auth_with(&server, bearer("at-old", 3600));
    let api = api(&server, auth.clone());

    let error = api
        .put("uploads/1")
        .body(streamed(b"streamed bytes"))
        .send()
        .await
        .unwrap_err();

    assert!(matches!(error, ApiError::Status(ref s) if s.status() == 401));
    assert_eq!(calls(&server, "/api/v1/uploads/1").await, 1);
    assert_eq!(calls(&server, "/token").await, 0);
    // The refusal was recorded: the next request renews first and goes through.
    api.put("uploads/1").body("again").send().await.unwrap();
    assert_eq!(calls(&server, "/token").await, 1);

    // The same through the middleware: no resend for a stream.
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(token_reply("at-new"))
        .mount(&server)
        .await;
    mount_rejecting(&server, "at-old").await;
    let url = format!("{}/api/v1/x", server.uri());
    let middleware = reqwest_middleware::ClientBuilder::new(no_proxy())
        .with(auth_with(&server, bearer("at-old", 3600)).middleware())
        .build();
    let response = middleware
        .put(&url)
        .body(streamed(b"s"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(calls(&server, "/api/v1/x").await, 1);
    assert_eq!(calls(&server, "/token").await, 0);
}

#[tokio::test]
async fn the_middleware_resends_a_replayable_request_once() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(token_reply("at-new"))
        .mount(&server)
        .await;
    mount_rejecting(&server, "at-old").await;
    Mock::given(path("/api/v1/x"))
        .and(header("authorization", "Bearer at-new"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let url = format!("{}/api/v1/x", server.uri());

    let middleware = reqwest_middleware::ClientBuilder::new(no_proxy())
        .with(auth_with(&server, bearer("at-old", 3600)).middleware())
        .build();
    let response = middleware.post(&url).body("payload").send().await.unwrap();
    assert_eq!(response.status(), 200);

    assert_eq!(calls(&server, "/token").await, 1, "one renewal");
    assert_eq!(calls(&server, "/api/v1/x").await, 2, "one resend");
}

#[tokio::test]
async fn other_401s_and_403s_are_neither_renewed_nor_resent() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(token_reply("at-new"))
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/scope"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("www-authenticate", r#"Bearer error="insufficient_scope""#),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/bare"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/forbidden"))
        .respond_with(ResponseTemplate::new(403).insert_header("www-authenticate", INVALID_TOKEN))
        .mount(&server)
        .await;
    let api = api(&server, auth_with(&server, bearer("at-old", 3600)));

    for (on, status) in [("scope", 401), ("bare", 401), ("forbidden", 403)] {
        let error = api.get(on).send().await.unwrap_err();
        assert!(
            matches!(error, ApiError::Status(ref s) if s.status() == status),
            "{on}"
        );
        assert_eq!(calls(&server, &format!("/api/v1/{on}")).await, 1);
    }
    assert_eq!(calls(&server, "/token").await, 0);
}

// Confinement.

/// Whether a request path, decoded as any server might (percent-decoding repeatedly, backslashes
/// as slashes, dot segments resolved), lies under `/api/v1/`.
fn decodes_inside_base(path: &str) -> bool {
    let mut decoded = path.to_owned();
    for _ in 0..4 {
        let bytes = decoded.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match (bytes[i], hex) {
                (b'%', Some(b)) => {
                    out.push(b);
                    i += 3;
                }
                (b, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        decoded = String::from_utf8_lossy(&out).replace('\\', "/");
    }
    let mut stack: Vec<&str> = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "." => {}
            ".." => {
                stack.pop();
            }
            s => stack.push(s),
        }
    }
    let resolved = stack.join("/");
    resolved.starts_with("/api/v1/") || resolved == "/api/v1"
}

const HOSTILE_PATHS: &[&str] = &[
    "..",
    "../admin",
    "a/../../admin",
    "./../admin",
    "%2e%2e/admin",
    "%2E%2E/admin",
    ".%2e/admin",
    "%252e%252e/admin",
    "..%2fadmin",
    "a%2f..%2f..%2fadmin",
    "..%5cadmin",
    "..\\admin",
    "\\\\evil.example\\x",
    "//evil.example/x",
    "///admin",
    "https://evil.example/admin",
    "a\n/../../admin",
    ".\t./admin",
    "\u{FF0E}\u{FF0E}/admin",
];

#[tokio::test]
async fn the_api_client_never_sends_a_request_outside_its_base_url() {
    let server = MockServer::start().await;
    Mock::given(|r: &Request| decodes_inside_base(r.url.path()))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/admin"))
        .mount(&server)
        .await;
    Mock::given(|r: &Request| !decodes_inside_base(r.url.path()))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    // Even with a client that follows redirects, nothing outside the base is answered with
    // success: the redirect is refused after the fact, and the default client never follows.
    let api = api(&server, auth_with(&server, bearer("at", 3600)));

    for hostile in HOSTILE_PATHS {
        let result = api.get(*hostile).send().await;
        assert!(
            matches!(result, Err(ApiError::Path(_))),
            "{hostile:?}: {result:?}"
        );
    }
    let segments: &[&[&str]] = &[
        &[".."],
        &["a", "..", ".."],
        &["%2e%2e"],
        &["..\\x"],
        &["", "evil"],
    ];
    for segments in segments {
        let result = api.get(*segments).send().await;
        assert!(matches!(result, Err(ApiError::Path(_))), "{segments:?}");
    }
    for odd in ["https:evil.example", "...", "a..b"] {
        let response = api.get(odd).send().await.unwrap();
        assert_eq!(
            response.status(),
            302,
            "{odd}: the redirect is not followed"
        );
    }
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert!(decodes_inside_base(request.url.path()), "{}", request.url);
    }

    // A client that follows redirects (against the docs): the answer from elsewhere is refused.
    let following = ApiClient::new(&format!("{}/api/v1/", server.uri()))
        .unwrap()
        .client(
            reqwest::Client::builder()
                .no_proxy()
                .tls_backend_preconfigured(grantline_reqwest::tls::client_config().unwrap())
                .build()
                .unwrap(),
        );
    let error = following.get("x").send().await.unwrap_err();
    assert!(
        matches!(error, ApiError::Transport(ref e) if e.kind() == grantline_reqwest::TransportErrorKind::Redirected),
        "{error:?}"
    );
}

#[tokio::test]
async fn without_a_token_the_api_client_still_works_and_reports_statuses() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/missing"))
        .respond_with(ResponseTemplate::new(404).set_body_string("no such thing"))
        .mount(&server)
        .await;
    let api = ApiClient::new(&format!("{}/api/v1", server.uri()))
        .unwrap()
        .client(no_proxy());
    match api.get("missing").send().await {
        Err(ApiError::Status(e)) => {
            assert_eq!(e.status(), 404);
            assert_eq!(e.body(), b"no such thing");
        }
        other => panic!("{other:?}"),
    }
    let response = api
        .get("missing")
        .allow_error_status()
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .all(|r| !r.headers.contains_key("authorization"))
    );
}

#[tokio::test]
async fn the_middleware_reports_a_failed_renewal() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let http = reqwest_middleware::ClientBuilder::new(no_proxy())
        .with(auth_with(&server, bearer("at-old", -5)).middleware())
        .build();
    let error = http
        .get(format!("{}/x", server.uri()))
        .send()
        .await
        .unwrap_err();
    let reqwest_middleware::Error::Middleware(error) = error else {
        panic!("{error:?}")
    };
    let error = error
        .downcast_ref::<grantline_reqwest::AuthError>()
        .unwrap();
    assert_eq!(
        error.status(),
        Some(http::StatusCode::INTERNAL_SERVER_ERROR)
    );
    assert_eq!(calls(&server, "/x").await, 0);
}

#[test]
fn types_are_send_sync_and_clone() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<Auth>();
    assert_send_sync::<ApiClient>();
    assert_send_sync::<AuthMiddleware>();
    assert_send_sync::<grantline_reqwest::AuthError>();
}
