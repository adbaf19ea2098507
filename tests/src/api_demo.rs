//! A local authorization server and API for the API client examples: client credentials with
//! `client_secret_basic` at `/token`, and `/api/v1/sessions` that accepts a token only while it
//! is valid, on a clock running `speed` times faster than real time (the clients run on a
//! [`ScaledClock`](grantline::clock::ScaledClock) of the same speed). A client that does not
//! renew its tokens gets `401` with `WWW-Authenticate: Bearer error="invalid_token"`.
//!
//! The server counts token requests, API calls and rejections, so an example can show that "for
//! hours" took one token request per renewal and no failed call.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The demo client's identifier.
pub const CLIENT_ID: &str = "demo-service";
/// The demo client's secret.
pub const CLIENT_SECRET: &str = "demo-secret";
/// How long a token lives, in demo time: five minutes.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(300);

#[derive(Default)]
struct Counters {
    token_requests: AtomicUsize,
    api_calls: AtomicUsize,
    rejections: AtomicUsize,
}

struct Issued {
    speed: u32,
    /// Each token, with the real instant it was issued at.
    tokens: Mutex<HashMap<String, Instant>>,
    counters: Counters,
}

impl Issued {
    fn is_valid(&self, token: &str) -> bool {
        let tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        tokens
            .get(token)
            .is_some_and(|issued| issued.elapsed().saturating_mul(self.speed) < TOKEN_LIFETIME)
    }
}

fn json(status: u16, body: String) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/json")
        .set_body_string(body)
}

struct TokenEndpoint(Arc<Issued>);

impl Respond for TokenEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self
            .0
            .counters
            .token_requests
            .fetch_add(1, Ordering::SeqCst)
            + 1;
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
        let authorized = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            == Some(format!("Basic {basic}").as_str());
        let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        if !authorized {
            return json(401, r#"{"error":"invalid_client"}"#.to_owned());
        }
        if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
            return json(400, r#"{"error":"unsupported_grant_type"}"#.to_owned());
        }
        let token = format!("demo-at-{n}");
        self.0
            .tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token.clone(), Instant::now());
        json(
            200,
            format!(
                r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":{},"scope":"sessions:read"}}"#,
                TOKEN_LIFETIME.as_secs()
            ),
        )
    }
}

struct Sessions(Arc<Issued>);

impl Respond for Sessions {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.counters.api_calls.fetch_add(1, Ordering::SeqCst);
        let token = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match token {
            Some(token) if self.0.is_valid(token) => json(
                200,
                r#"[{"id":"session-1","owner":"ada"},{"id":"session-2","owner":"grace"}]"#
                    .to_owned(),
            ),
            _ => {
                self.0.counters.rejections.fetch_add(1, Ordering::SeqCst);
                ResponseTemplate::new(401).insert_header(
                    "www-authenticate",
                    r#"Bearer realm="demo", error="invalid_token", error_description="expired or unknown""#,
                )
            }
        }
    }
}

/// The running demo; it stops when dropped.
///
/// ```no_run
/// # async fn f() {
/// let demo = grantline_tests::api_demo::ApiDemo::start(3600).await;
/// println!("token endpoint: {}, API: {}", demo.token_endpoint(), demo.api_base());
/// # }
/// ```
#[derive(Debug)]
pub struct ApiDemo {
    server: MockServer,
    issued: Arc<Issued>,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("speed", &self.speed)
            .finish_non_exhaustive()
    }
}

impl ApiDemo {
    /// Starts the demo on 127.0.0.1, with time running `speed` times faster than real time.
    pub async fn start(speed: u32) -> Self {
        let server = MockServer::start().await;
        let issued = Arc::new(Issued {
            speed: speed.max(1),
            tokens: Mutex::default(),
            counters: Counters::default(),
        });
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(TokenEndpoint(Arc::clone(&issued)))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v1/sessions"))
            .respond_with(Sessions(Arc::clone(&issued)))
            .mount(&server)
            .await;
        Self { server, issued }
    }

    /// The token endpoint's URL.
    #[must_use]
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.server.uri())
    }

    /// The API's base URL.
    #[must_use]
    pub fn api_base(&self) -> String {
        format!("{}/api/v1/", self.server.uri())
    }

    /// How many token requests the server received.
    #[must_use]
    pub fn token_requests(&self) -> usize {
        self.issued.counters.token_requests.load(Ordering::SeqCst)
    }

    /// How many API calls the server received.
    #[must_use]
    pub fn api_calls(&self) -> usize {
        self.issued.counters.api_calls.load(Ordering::SeqCst)
    }

    /// How many API calls it refused for a missing, unknown or expired token.
    #[must_use]
    pub fn rejections(&self) -> usize {
        self.issued.counters.rejections.load(Ordering::SeqCst)
    }
}
