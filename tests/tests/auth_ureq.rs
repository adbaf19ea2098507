//! The blocking auth handler and API client against a loopback mock server (httpmock): single
//! flight, the 401 retry, confinement to the base URL, and the ureq middleware.
//!
//! Every property is counted at the mock server, so a test fails if the property breaks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Barrier;
use std::time::{Duration, SystemTime};

use grantline::api::BaseUrl;
use grantline::clock::ScaledClock;
use grantline::error::ErrorCode;
use grantline::secret::RefreshToken;
use grantline::token_manager::TokenManager;
use grantline::{Client, TokenResponse, TokenType};
use grantline_ureq::{ApiClient, ApiError, Auth, Error, Transport};
use httpmock::Method::{GET, POST};
use httpmock::{HttpMockRequest, MockServer};

const CALLERS: usize = 100;
const INVALID_TOKEN: &str =
    r#"Bearer realm="api", error="invalid_token", error_description="expired""#;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .build()
        .new_agent()
}

fn client(server: &MockServer) -> Client {
    Client::builder("svc")
        .token_endpoint(server.url("/token"))
        .client_secret_basic("s3cr3t")
        .build()
        .unwrap()
}

fn token_json(access_token: &str) -> String {
    format!(r#"{{"access_token":"{access_token}","token_type":"Bearer","expires_in":3600}}"#)
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

/// An auth handler for `server`'s `/token`, starting from `token`.
fn auth_with(server: &MockServer, token: TokenResponse) -> Auth {
    let manager = TokenManager::grant(
        client(server),
        grantline::grant::TokenRequest::client_credentials(),
    )
    .unwrap()
    .with_token(token)
    .unwrap();
    Auth::new(Transport::with_agent(agent()), manager)
}

fn api(server: &MockServer, auth: Auth) -> ApiClient {
    ApiClient::new(&server.url("/api/v1/"))
        .unwrap()
        .agent(agent())
        .auth(auth)
}

/// Runs `f` on `CALLERS` threads released at the same instant; returns their results.
fn all_at_once<T: Send>(f: impl Fn() -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(CALLERS);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CALLERS)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    f()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

// Single flight.

#[test]
fn a_hundred_threads_behind_an_expired_token_send_one_token_request() {
    let server = MockServer::start();
    let token = server.mock(|when, then| {
        when.method(POST)
            .path("/token")
            .header_exists("authorization")
            .body("grant_type=client_credentials");
        then.status(200)
            .header("content-type", "application/json")
            .body(token_json("at-new"))
            // Slow enough that every caller arrives while the renewal is under way.
            .delay(Duration::from_millis(300));
    });
    let items = server.mock(|when, then| {
        when.method(GET)
            .path("/api/v1/items")
            .header("authorization", "Bearer at-new");
        then.status(200).body("[]");
    });
    let api = api(&server, auth_with(&server, bearer("at-old", -5)));

    let results = all_at_once(|| api.get("items").send().map(|r| r.status()));

    assert!(
        results.iter().all(|r| matches!(r, Ok(s) if *s == 200)),
        "{results:?}"
    );
    token.assert_calls(1);
    items.assert_calls(CALLERS);
}

#[test]
fn a_failed_renewal_reaches_every_waiting_thread_and_the_next_call_tries_again() {
    let server = MockServer::start();
    let token = server.mock(|when, then| {
        when.method(POST).path("/token");
        then.status(401)
            .header("content-type", "application/json")
            .body(r#"{"error":"invalid_client"}"#)
            .delay(Duration::from_millis(300));
    });
    let items = server.mock(|when, then| {
        when.path_prefix("/api/v1/");
        then.status(200);
    });
    let auth = auth_with(&server, bearer("at-old", -5));
    let api = api(&server, auth.clone());

    let results = all_at_once(|| api.get("items").send().map(|r| r.status()));

    for result in &results {
        match result {
            Err(ApiError::Auth(e)) => assert!(
                matches!(e.error(), Error::Flow(f) if f.oauth_code() == Some(&ErrorCode::InvalidClient)),
                "{e:?}"
            ),
            other => panic!("expected the renewal's error, got {other:?}"),
        }
    }
    token.assert_calls(1);
    items.assert_calls(0);
    // Not cached: the next call asks the authorization server again.
    assert!(auth.header().is_err());
    token.assert_calls(2);
}

#[test]
fn single_flight_through_the_ureq_middleware() {
    let server = MockServer::start();
    let token = server.mock(|when, then| {
        when.method(POST).path("/token");
        then.status(200)
            .header("content-type", "application/json")
            .body(token_json("at-mw"))
            .delay(Duration::from_millis(300));
    });
    let items = server.mock(|when, then| {
        when.method(GET)
            .path("/anything")
            .header("authorization", "Bearer at-mw");
        then.status(204);
    });
    let auth = auth_with(&server, bearer("at-old", -5));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .proxy(None)
        .middleware(auth.middleware())
        .build()
        .into();
    let url = server.url("/anything");

    let results = all_at_once(|| agent.get(&url).call().map(|r| r.status()));

    assert!(results.iter().all(|r| matches!(r, Ok(s) if *s == 204)));
    token.assert_calls(1);
    items.assert_calls(CALLERS);
}

#[test]
fn inside_the_leeway_one_thread_renews_while_the_others_use_the_valid_token() {
    let server = MockServer::start();
    let token = server.mock(|when, then| {
        when.method(POST).path("/token");
        then.status(200)
            .header("content-type", "application/json")
            .body(token_json("at-new"))
            .delay(Duration::from_millis(500));
    });
    let old = server.mock(|when, then| {
        when.path("/api/v1/items")
            .header("authorization", "Bearer at-old");
        then.status(200);
    });
    let new = server.mock(|when, then| {
        when.path("/api/v1/items")
            .header("authorization", "Bearer at-new");
        then.status(200);
    });
    // Ten seconds left: inside the 30 s leeway, but still valid.
    let api = api(&server, auth_with(&server, bearer("at-old", 10)));

    let results = all_at_once(|| api.get("items").send().map(|r| r.status()));

    assert!(results.iter().all(Result::is_ok));
    token.assert_calls(1);
    assert_eq!(old.calls() + new.calls(), CALLERS);
    assert!(new.calls() >= 1, "the renewing thread uses its new token");
    assert!(old.calls() >= 1, "the others did not wait for the renewal");
}

// The 401 retry.

fn rejecting<'a>(server: &'a MockServer, access_token: &str) -> httpmock::Mock<'a> {
    let header = format!("Bearer {access_token}");
    server.mock(move |when, then| {
        when.path_prefix("/api/v1/").header("authorization", header);
        then.status(401).header("www-authenticate", INVALID_TOKEN);
    })
}

fn renewing<'a>(server: &'a MockServer, access_token: &str) -> httpmock::Mock<'a> {
    let body = token_json(access_token);
    server.mock(move |when, then| {
        when.method(POST).path("/token");
        then.status(200)
            .header("content-type", "application/json")
            .body(body);
    })
}

#[test]
fn a_401_invalid_token_renews_once_and_resends_once() {
    let server = MockServer::start();
    let token = renewing(&server, "at-new");
    let old = rejecting(&server, "at-old");
    let new = server.mock(|when, then| {
        when.method(POST)
            .path("/api/v1/items")
            .header("authorization", "Bearer at-new")
            .header("content-type", "application/json")
            .json_body(serde_json::json!({"name": "x"}));
        then.status(201).body(r#"{"id":7}"#);
    });
    let api = api(&server, auth_with(&server, bearer("at-old", 3600)));

    let created: serde_json::Value = api
        .post("items")
        .json(&serde_json::json!({"name": "x"}))
        .recv_json()
        .unwrap();

    assert_eq!(created["id"], 7);
    token.assert_calls(1);
    old.assert_calls(1);
    new.assert_calls(1);
}

#[test]
fn a_hundred_refused_threads_cause_one_renewal_even_when_refusals_arrive_late() {
    let server = MockServer::start();
    let token = server.mock(|when, then| {
        when.method(POST).path("/token");
        then.status(200)
            .header("content-type", "application/json")
            .body(token_json("at-new"))
            .delay(Duration::from_millis(50));
    });
    // The server has revoked the token (still valid by its expiry), and says so slowly: threads
    // that sent it early get their refusal after the renewal is done.
    let old = server.mock(|when, then| {
        when.path_prefix("/api/v1/")
            .header("authorization", "Bearer at-old");
        then.status(401)
            .header("www-authenticate", INVALID_TOKEN)
            .delay(Duration::from_millis(300));
    });
    let new = server.mock(|when, then| {
        when.path("/api/v1/items")
            .header("authorization", "Bearer at-new");
        then.status(200);
    });
    let api = api(&server, auth_with(&server, bearer("at-old", 3600)));

    // Starts spread over 250 ms: the first refusal comes at 300 ms, the renewal ends at 350 ms,
    // and the refusals of the threads that started after 50 ms arrive after that.
    let started = std::sync::atomic::AtomicUsize::new(0);
    let results = all_at_once(|| {
        let i = started.fetch_add(1, std::sync::atomic::Ordering::SeqCst) as u64;
        std::thread::sleep(Duration::from_micros(i * 2500));
        api.get("items").send().map(|r| r.status())
    });

    assert!(
        results.iter().all(|r| matches!(r, Ok(s) if *s == 200)),
        "{results:?}"
    );
    token.assert_calls(1);
    assert!(old.calls() > 1, "several threads were refused");
    new.assert_calls(CALLERS);
}

#[test]
fn the_retry_happens_once_only() {
    let server = MockServer::start();
    let token = renewing(&server, "at-new");
    let old = rejecting(&server, "at-old");
    let new = rejecting(&server, "at-new");
    let api = api(&server, auth_with(&server, bearer("at-old", 3600)));

    let error = api.get("items").send().unwrap_err();

    assert!(
        matches!(error, ApiError::Status(ref s) if s.status() == 401),
        "{error:?}"
    );
    token.assert_calls(1);
    old.assert_calls(1);
    new.assert_calls(1);
}

#[test]
fn a_streamed_body_is_not_resent_after_a_401() {
    let server = MockServer::start();
    let token = renewing(&server, "at-new");
    let old = rejecting(&server, "at-old");
    let new = server.mock(|when, then| {
        when.path_prefix("/api/v1/")
            .header("authorization", "Bearer at-new");
        then.status(200);
    });
    let api = api(&server, auth_with(&server, bearer("at-old", 3600)));

    let error = api
        .put("uploads/1")
        .body_reader(std::io::Cursor::new(b"streamed bytes".to_vec()))
        .send()
        .unwrap_err();

    assert!(matches!(error, ApiError::Status(ref s) if s.status() == 401));
    old.assert_calls(1);
    new.assert_calls(0);
    token.assert_calls(0);
    // The refusal was recorded: the next request renews first and goes through.
    api.put("uploads/1").body(b"again".to_vec()).send().unwrap();
    token.assert_calls(1);
    new.assert_calls(1);
}

#[test]
fn other_401s_and_403s_are_neither_renewed_nor_resent() {
    let server = MockServer::start();
    let token = renewing(&server, "at-new");
    let scope = server.mock(|when, then| {
        when.path("/api/v1/scope");
        then.status(401)
            .header("www-authenticate", r#"Bearer error="insufficient_scope""#);
    });
    let bare = server.mock(|when, then| {
        when.path("/api/v1/bare");
        then.status(401);
    });
    let forbidden = server.mock(|when, then| {
        when.path("/api/v1/forbidden");
        then.status(403).header("www-authenticate", INVALID_TOKEN);
    });
    let api = api(&server, auth_with(&server, bearer("at-old", 3600)));

    for (path, status) in [("scope", 401), ("bare", 401), ("forbidden", 403)] {
        let error = api.get(path).send().unwrap_err();
        assert!(
            matches!(error, ApiError::Status(ref s) if s.status() == status),
            "{path}"
        );
    }
    scope.assert_calls(1);
    bare.assert_calls(1);
    forbidden.assert_calls(1);
    token.assert_calls(0);
}

#[test]
fn a_fixed_token_is_not_retried() {
    let server = MockServer::start();
    let old = rejecting(&server, "static");
    let auth = Auth::new(
        Transport::with_agent(agent()),
        TokenManager::bearer("static").unwrap(),
    );
    let api = api(&server, auth);
    assert!(api.get("x").send().is_err());
    old.assert_calls(1);
}

#[test]
fn the_middleware_renews_after_a_401_without_resending() {
    let server = MockServer::start();
    let token = renewing(&server, "at-new");
    let old = server.mock(|when, then| {
        when.path("/x").header("authorization", "Bearer at-old");
        then.status(401).header("www-authenticate", INVALID_TOKEN);
    });
    let new = server.mock(|when, then| {
        when.path("/x").header("authorization", "Bearer at-new");
        then.status(200);
    });
    let auth = auth_with(&server, bearer("at-old", 3600));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .middleware(auth.middleware())
        .build()
        .into();

    assert_eq!(agent.get(server.url("/x")).call().unwrap().status(), 401);
    token.assert_calls(0);
    assert_eq!(agent.get(server.url("/x")).call().unwrap().status(), 200);
    token.assert_calls(1);
    old.assert_calls(1);
    new.assert_calls(1);
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
    "..%2Fadmin",
    "a%2f..%2f..%2fadmin",
    "..%5cadmin",
    "..\\admin",
    "\\\\evil.example\\x",
    "//evil.example/x",
    "///admin",
    "https://evil.example/admin",
    "http://127.0.0.1:1/admin",
    "a\n/../../admin",
    ".\t./admin",
    "\u{FF0E}\u{FF0E}/admin",
    "x#/../../admin",
];

#[test]
fn the_api_client_never_sends_a_request_outside_its_base_url() {
    let server = MockServer::start();
    let outside = server.mock(|when, then| {
        when.is_true(|req: &HttpMockRequest| !decodes_inside_base(req.uri().path()));
        then.status(200);
    });
    let inside = server.mock(|when, then| {
        when.is_true(|req: &HttpMockRequest| decodes_inside_base(req.uri().path()));
        then.status(302).header("location", "/admin");
    });
    let api = api(&server, auth_with(&server, bearer("at", 3600)));

    for path in HOSTILE_PATHS {
        let result = api.get(*path).send();
        assert!(
            matches!(result, Err(ApiError::Path(_))),
            "{path:?}: {result:?}"
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
        let result = api.get(*segments).send();
        assert!(
            matches!(result, Err(ApiError::Path(_))),
            "{segments:?}: {result:?}"
        );
    }
    // Accepted paths that look odd stay inside, and the redirect the server answers with is not
    // followed.
    for path in [
        "https:evil.example",
        "...",
        "a..b",
        ["a/b", "c"].join("/").as_str(),
    ] {
        let response = api.get(path).allow_error_status().send().unwrap();
        assert_eq!(response.status(), 302, "{path}");
    }
    let response = api
        .get(["../admin".replace("..", "dots"), "x".into()])
        .send()
        .unwrap();
    assert_eq!(response.status(), 302);
    inside.assert_calls(5);
    outside.assert_calls(0);
}

#[test]
fn the_middleware_can_be_confined_to_a_base_url() {
    let server = MockServer::start();
    let with_token = server.mock(|when, then| {
        when.header("authorization", "Bearer at");
        then.status(200);
    });
    let without = server.mock(|when, then| {
        when.header_missing("authorization");
        then.status(200);
    });
    let auth = auth_with(&server, bearer("at", 3600));
    let base = BaseUrl::new(&server.url("/api/v1")).unwrap();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .proxy(None)
        .middleware(auth.middleware().only_under(base))
        .build()
        .into();

    agent.get(server.url("/api/v1/x")).call().unwrap();
    agent.get(server.url("/api/v1")).call().unwrap();
    agent.get(server.url("/elsewhere")).call().unwrap();
    agent.get(server.url("/api/v10/x")).call().unwrap();

    with_token.assert_calls(2);
    without.assert_calls(2);
}

// The renewal itself.

#[test]
fn renewals_are_not_authenticated_by_the_middleware_even_on_a_shared_agent() {
    let server = MockServer::start();
    let token = server.mock(|when, then| {
        when.method(POST)
            .path("/token")
            .header("authorization", "Basic c3ZjOnMzY3IzdA==");
        then.status(200)
            .header("content-type", "application/json")
            .body(token_json("at-new"));
    });
    let api_call = server.mock(|when, then| {
        when.path("/x").header("authorization", "Bearer at-new");
        then.status(200);
    });
    let manager = TokenManager::grant(
        client(&server),
        grantline::grant::TokenRequest::client_credentials(),
    )
    .unwrap();
    // One agent for everything: the transport's renewals go through the middleware too.
    let slot: std::sync::Arc<std::sync::OnceLock<Auth>> = std::sync::Arc::default();
    let for_middleware = std::sync::Arc::clone(&slot);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .proxy(None)
        .middleware(
            move |request: http::Request<ureq::SendBody>,
                  next: ureq::middleware::MiddlewareNext| {
                use ureq::middleware::Middleware;
                for_middleware
                    .get()
                    .unwrap()
                    .middleware()
                    .handle(request, next)
            },
        )
        .build()
        .into();
    let _ = slot.set(Auth::new(Transport::with_agent(agent.clone()), manager));

    assert_eq!(agent.get(server.url("/x")).call().unwrap().status(), 200);
    token.assert_calls(1);
    api_call.assert_calls(1);
}

#[test]
fn a_refresh_token_manager_keeps_the_refresh_token_across_renewals() {
    let server = MockServer::start();
    let token = server.mock(|when, then| {
        when.method(POST)
            .path("/token")
            .body("grant_type=refresh_token&refresh_token=rt-1");
        then.status(200)
            .header("content-type", "application/json")
            .body(r#"{"access_token":"at-1","token_type":"Bearer","expires_in":60}"#);
    });
    let stored = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&stored);
    let manager = TokenManager::from_refresh_token(client(&server), RefreshToken::new("rt-1"))
        .unwrap()
        .on_renewed(move |t| sink.lock().unwrap().push(t.clone()));
    // A minute of token time passes in 60 ms.
    let transport = Transport::with_agent(agent()).clock(ScaledClock::new(1000));
    let auth = Auth::new(transport, manager);
    assert_eq!(auth.header().unwrap(), "Bearer at-1");
    std::thread::sleep(Duration::from_millis(70));
    assert_eq!(auth.header().unwrap(), "Bearer at-1");
    token.assert_calls(2);
    let stored = stored.lock().unwrap();
    assert_eq!(stored.len(), 2);
    assert!(
        stored
            .iter()
            .all(|t| t.refresh_token().unwrap().secret() == "rt-1")
    );
}

#[test]
fn types_are_send_sync_and_clone() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<Auth>();
    assert_send_sync::<ApiClient>();
    assert_send_sync::<grantline_ureq::AuthMiddleware>();
    assert_send_sync::<grantline_ureq::AuthError>();
}
