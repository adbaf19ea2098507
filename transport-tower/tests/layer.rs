//! The Layer on a hyper-util client against loopback servers the tests start: renewal, single
//! flight, resend once, DPoP nonces, a token endpoint that never answers, the https-or-loopback
//! rule and confinement.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use common::{Server, http_client, json, text};
use grantline_tower::grantline::authorizer::{Authorizer, DEFAULT_RENEWAL_BOUND};
use grantline_tower::grantline::dpop::DpopKey;
use grantline_tower::grantline::error::ConfigError;
use grantline_tower::grantline::jose::Algorithm;
use grantline_tower::grantline::secret::RefreshToken;
use grantline_tower::grantline::token_manager::TokenManager;
use grantline_tower::grantline::{Client, TokenResponse, TokenType, api::BaseUrl};
use grantline_tower::{ApiError, AuthLayer, Error, TransportErrorKind};
use http_body_util::{BodyExt, Full};
use tower::{Layer, ServiceExt};

/// Counts the requests of each kind a test server saw.
#[derive(Clone, Default)]
struct Counter(Arc<AtomicUsize>);

impl Counter {
    fn bump(&self) -> usize {
        self.0.fetch_add(1, SeqCst) + 1
    }
    fn get(&self) -> usize {
        self.0.load(SeqCst)
    }
}

fn client(server: &Server) -> Client {
    Client::builder("svc")
        .token_endpoint(server.url("/token"))
        .client_secret_basic("s3cr3t")
        .build()
        .unwrap()
}

fn get(url: &str) -> http::Request<Full<Bytes>> {
    http::Request::get(url).body(Full::default()).unwrap()
}

fn authorization(request: &http::Request<Bytes>) -> String {
    request
        .headers()
        .get("authorization")
        .map_or("none", |v| v.to_str().unwrap())
        .to_owned()
}

async fn body(response: http::Response<hyper::body::Incoming>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// A server whose token endpoint issues `at-1`, `at-2`... (after `delay`) and whose API echoes
/// the `Authorization` header it got.
async fn echo_server(tokens: &Counter, api: &Counter, delay: Duration) -> Server {
    let (tokens, api) = (tokens.clone(), api.clone());
    Server::start(move |request| {
        let (tokens, api) = (tokens.clone(), api.clone());
        async move {
            if request.uri().path() == "/token" {
                let n = tokens.bump();
                tokio::time::sleep(delay).await;
                let token = format!(
                    r#"{{"access_token":"at-{n}","token_type":"Bearer","expires_in":3600}}"#
                );
                return json(200, &token);
            }
            api.bump();
            text(200, &authorization(&request))
        }
    })
    .await
}

#[tokio::test]
async fn fetches_a_token_once_and_attaches_it_to_every_request() {
    let (tokens, api) = (Counter::default(), Counter::default());
    let server = echo_server(&tokens, &api, Duration::ZERO).await;
    let layer = AuthLayer::new(
        TokenManager::grant(
            client(&server),
            grantline::grant::TokenRequest::client_credentials(),
        )
        .unwrap(),
    );
    let service = layer.layer(http_client());
    for _ in 0..3 {
        let response = service
            .clone()
            .oneshot(get(&server.url("/api/items")))
            .await
            .unwrap();
        assert_eq!(body(response).await, "Bearer at-1");
    }
    assert_eq!((tokens.get(), api.get()), (1, 3));
}

#[tokio::test]
async fn renews_an_expired_token_with_its_refresh_token_through_the_wrapped_service() {
    let (tokens, seen) = (Counter::default(), Arc::new(Mutex::new(String::new())));
    let server = {
        let (tokens, seen) = (tokens.clone(), Arc::clone(&seen));
        Server::start(move |request| {
            let (tokens, seen) = (tokens.clone(), Arc::clone(&seen));
            async move {
                if request.uri().path() == "/token" {
                    tokens.bump();
                    *seen.lock().unwrap() = String::from_utf8(request.body().to_vec()).unwrap();
                    return json(
                        200,
                        r#"{"access_token":"at-2","token_type":"Bearer","expires_in":3600}"#,
                    );
                }
                text(200, &authorization(&request))
            }
        })
        .await
    };
    let expired = TokenResponse::new("at-1".into(), TokenType::Bearer)
        .with_expires_at(Some(std::time::SystemTime::now() - Duration::from_secs(1)))
        .with_refresh_token(Some(RefreshToken::new("rt-1")));
    let manager = TokenManager::refreshing(client(&server), expired).unwrap();
    let service = AuthLayer::new(manager).layer(http_client());
    let response = service
        .oneshot(get(&server.url("/api/items")))
        .await
        .unwrap();
    assert_eq!(body(response).await, "Bearer at-2");
    assert_eq!(tokens.get(), 1);
    assert_eq!(
        *seen.lock().unwrap(),
        "grant_type=refresh_token&refresh_token=rt-1"
    );
}

/// `callers` requests at once behind no token: one token request, every request answered with
/// its token, and the waiters woken by the renewal (well before the 60 s bound).
async fn single_flight(callers: usize) {
    let (tokens, api) = (Counter::default(), Counter::default());
    let server = echo_server(&tokens, &api, Duration::from_millis(300)).await;
    let layer = AuthLayer::new(
        TokenManager::grant(
            client(&server),
            grantline::grant::TokenRequest::client_credentials(),
        )
        .unwrap(),
    );
    let service = layer.layer(http_client());
    let started = Instant::now();
    let tasks: Vec<_> = (0..callers)
        .map(|_| tokio::spawn(service.clone().oneshot(get(&server.url("/api/items")))))
        .collect();
    for task in tasks {
        let response = task.await.unwrap().unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(body(response).await, "Bearer at-1");
    }
    assert_eq!((tokens.get(), api.get()), (1, callers));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hundred_concurrent_callers_send_one_token_request() {
    single_flight(100).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_thousand_concurrent_callers_send_one_token_request() {
    single_flight(1000).await;
}

/// A server whose API refuses `at-1` with `401 invalid_token` and echoes the body otherwise.
async fn refusing_server(tokens: &Counter, api: &Counter) -> Server {
    let (tokens, api) = (tokens.clone(), api.clone());
    Server::start(move |request| {
        let (tokens, api) = (tokens.clone(), api.clone());
        async move {
            if request.uri().path() == "/token" {
                let n = tokens.bump();
                return json(
                    200,
                    &format!(r#"{{"access_token":"at-{n}","token_type":"Bearer"}}"#),
                );
            }
            api.bump();
            if authorization(&request) == "Bearer at-1" {
                let mut refused = text(401, "");
                let challenge = r#"Bearer error="invalid_token""#.parse().unwrap();
                refused.headers_mut().insert("www-authenticate", challenge);
                return refused;
            }
            let body = String::from_utf8(request.body().to_vec()).unwrap();
            text(200, &format!("{} {body}", authorization(&request)))
        }
    })
    .await
}

#[tokio::test]
async fn a_401_invalid_token_renews_once_and_resends_once() {
    let (tokens, api) = (Counter::default(), Counter::default());
    let server = refusing_server(&tokens, &api).await;
    let layer = AuthLayer::new(
        TokenManager::grant(
            client(&server),
            grantline::grant::TokenRequest::client_credentials(),
        )
        .unwrap(),
    );
    let request = http::Request::post(server.url("/api/items"))
        .body(Full::from("payload"))
        .unwrap();
    let response = layer.layer(http_client()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await, "Bearer at-2 payload");
    assert_eq!((tokens.get(), api.get()), (2, 2));
}

#[tokio::test]
async fn a_body_that_cannot_be_copied_is_sent_once_and_the_next_request_renews() {
    // A client of boxed bodies: it cannot send the renewals' `Full<Bytes>`, so they go through
    // another client (`renew_through`), and its requests cannot be resent.
    type Boxed = http_body_util::combinators::BoxBody<Bytes, Infallible>;
    let (tokens, api) = (Counter::default(), Counter::default());
    let server = refusing_server(&tokens, &api).await;
    let boxed = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Boxed>(hyper_util::client::legacy::connect::HttpConnector::new());
    let layer = AuthLayer::new(
        TokenManager::grant(
            client(&server),
            grantline::grant::TokenRequest::client_credentials(),
        )
        .unwrap(),
    );
    let service = layer.layer(boxed).renew_through(http_client());
    let post = || {
        http::Request::post(server.url("/api/items"))
            .body(Full::from("payload").boxed())
            .unwrap()
    };
    let refused = service.clone().oneshot(post()).await.unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!((tokens.get(), api.get()), (1, 1));
    let response = service.oneshot(post()).await.unwrap();
    assert_eq!(body(response).await, "Bearer at-2 payload");
    assert_eq!((tokens.get(), api.get()), (2, 2));
}

/// The claims of a DPoP proof.
fn claims(proof: &str) -> serde_json::Value {
    let payload = proof.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn a_use_dpop_nonce_challenge_resends_once_with_the_nonce_in_the_proof() {
    let (tokens, proofs) = (Counter::default(), Arc::new(Mutex::new(Vec::new())));
    let server = {
        let (tokens, proofs) = (tokens.clone(), Arc::clone(&proofs));
        Server::start(move |request| {
            let (tokens, proofs) = (tokens.clone(), Arc::clone(&proofs));
            async move {
                if request.uri().path() == "/token" {
                    tokens.bump();
                    assert!(
                        request.headers().contains_key("dpop"),
                        "a proof on the token request"
                    );
                    return json(200, r#"{"access_token":"at-1","token_type":"DPoP"}"#);
                }
                assert_eq!(authorization(&request), "DPoP at-1");
                let proof = claims(request.headers()["dpop"].to_str().unwrap());
                proofs.lock().unwrap().push(proof.clone());
                if proof.get("nonce").and_then(|n| n.as_str()) == Some("n-1") {
                    return text(200, "ok");
                }
                let mut challenge = text(401, "");
                let headers = challenge.headers_mut();
                headers.insert(
                    "www-authenticate",
                    r#"DPoP error="use_dpop_nonce""#.parse().unwrap(),
                );
                headers.insert("dpop-nonce", "n-1".parse().unwrap());
                challenge
            }
        })
        .await
    };
    let client = Client::builder("svc")
        .token_endpoint(server.url("/token"))
        .client_secret_basic("s3cr3t")
        .dpop(DpopKey::generate(Algorithm::ES256).unwrap())
        .build()
        .unwrap();
    let layer = AuthLayer::new(
        TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials()).unwrap(),
    );
    let url = server.url("/api/items");
    let response = layer.layer(http_client()).oneshot(get(&url)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(tokens.get(), 1);
    let proofs = proofs.lock().unwrap();
    assert_eq!(proofs.len(), 2, "one request and one resend");
    assert!(proofs[0].get("nonce").is_none());
    assert_eq!(proofs[1]["nonce"], "n-1");
    assert_eq!(
        (&proofs[1]["htm"], &proofs[1]["htu"]),
        (&"GET".into(), &url.into())
    );
    assert!(proofs[1].get("ath").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_endpoint_that_never_answers_times_every_waiting_caller_out() {
    // The Layer's defaults: each token request may take 30 s, then every caller that waited for
    // that renewal gets the timeout, well within the authorizer's 60 s bound.
    let silent = Server::silent().await;
    let layer = AuthLayer::new(
        TokenManager::grant(
            client(&silent),
            grantline::grant::TokenRequest::client_credentials(),
        )
        .unwrap(),
    );
    let service = layer.layer(http_client());
    let started = Instant::now();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let call = service.clone().oneshot(get(&silent.url("/api/items")));
            tokio::spawn(async move { (call.await, started.elapsed()) })
        })
        .collect();
    for task in tasks {
        let (result, elapsed) = task.await.unwrap();
        let error = result.unwrap_err();
        assert!(error.is_timeout(), "{error:?}");
        let ApiError::Auth(auth) = &error else {
            panic!("{error:?}")
        };
        assert!(
            matches!(auth.error(), Error::Transport(t) if t.kind() == TransportErrorKind::Timeout)
        );
        assert!(elapsed >= Duration::from_secs(29), "{elapsed:?}");
        assert!(elapsed < DEFAULT_RENEWAL_BOUND, "{elapsed:?}");
    }
}

#[tokio::test]
async fn a_token_response_over_the_body_limit_fails_the_renewal() {
    let big = format!(
        r#"{{"access_token":"{}","token_type":"Bearer"}}"#,
        "a".repeat(4096)
    );
    let server = Server::start(move |_| {
        let big = big.clone();
        async move { json(200, &big) }
    })
    .await;
    let layer = AuthLayer::new(
        TokenManager::grant(
            client(&server),
            grantline::grant::TokenRequest::client_credentials(),
        )
        .unwrap(),
    );
    let service = layer.body_limit(1024).layer(http_client());
    let error = service.oneshot(get(&server.url("/api"))).await.unwrap_err();
    let ApiError::Auth(auth) = &error else {
        panic!("{error:?}")
    };
    let Error::Transport(transport) = auth.error() else {
        panic!("{error:?}")
    };
    assert_eq!(
        transport.kind(),
        TransportErrorKind::BodyTooLarge { limit: 1024 }
    );
}

#[tokio::test]
async fn a_renewal_dropped_midway_is_abandoned_and_a_waiting_caller_takes_over() {
    let tokens = Counter::default();
    let server = {
        let tokens = tokens.clone();
        Server::start(move |request| {
            let tokens = tokens.clone();
            async move {
                if request.uri().path() != "/token" {
                    return text(200, &authorization(&request));
                }
                let n = tokens.bump();
                if n == 1 {
                    std::future::pending::<()>().await; // the first token request hangs
                }
                json(
                    200,
                    &format!(r#"{{"access_token":"at-{n}","token_type":"Bearer"}}"#),
                )
            }
        })
        .await
    };
    let layer = AuthLayer::new(
        TokenManager::grant(
            client(&server),
            grantline::grant::TokenRequest::client_credentials(),
        )
        .unwrap(),
    );
    let service = layer.layer(http_client());
    let first = tokio::spawn(service.clone().oneshot(get(&server.url("/api"))));
    while tokens.get() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // `second` waits for the first renewal (or, if it starts after the abort, renews itself).
    let second = tokio::spawn(service.oneshot(get(&server.url("/api"))));
    tokio::time::sleep(Duration::from_millis(100)).await;
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    let response = tokio::time::timeout(Duration::from_secs(10), second)
        .await
        .expect("the waiter took over at once, not after the 60 s bound")
        .unwrap()
        .unwrap();
    assert_eq!(body(response).await, "Bearer at-2");
    assert_eq!(tokens.get(), 2);
}

/// A mock service (no network) that records the `Authorization` header it was sent.
fn recording(
    sent: &Arc<Mutex<Vec<String>>>,
) -> impl Clone
+ tower::Service<
    http::Request<Full<Bytes>>,
    Response = http::Response<Full<Bytes>>,
    Error = Infallible,
    Future: Send,
> + Send
+ 'static {
    let sent = Arc::clone(sent);
    tower::service_fn(move |request: http::Request<Full<Bytes>>| {
        let header = request
            .headers()
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned());
        sent.lock()
            .unwrap()
            .push(header.unwrap_or_else(|| "none".into()));
        async { Ok(http::Response::new(Full::default())) }
    })
}

#[tokio::test]
async fn a_token_is_never_sent_to_a_plain_http_url_of_another_host_unless_opted_in() {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let strict = AuthLayer::new(TokenManager::bearer("at").unwrap()).layer(recording(&sent));
    let error = strict
        .oneshot(get("http://api.example/v1"))
        .await
        .unwrap_err();
    // Nothing was sent and the fix is the URL: a Path error, as on the other drivers.
    assert!(matches!(
        &error,
        ApiError::Path(grantline_tower::grantline::Error::Config(
            ConfigError::InsecureResource { .. }
        ))
    ));
    assert!(sent.lock().unwrap().is_empty(), "nothing sent");

    let authorizer = Authorizer::new(TokenManager::bearer("at").unwrap()).insecure_http();
    let lax = AuthLayer::with_authorizer(authorizer).layer(recording(&sent));
    lax.oneshot(get("http://api.example/v1")).await.unwrap();
    assert_eq!(*sent.lock().unwrap(), ["Bearer at"]);
}

#[tokio::test]
async fn only_under_confines_the_token_to_its_base_url() {
    let (tokens, api) = (Counter::default(), Counter::default());
    let server = echo_server(&tokens, &api, Duration::ZERO).await;
    let layer = AuthLayer::new(
        TokenManager::grant(
            client(&server),
            grantline::grant::TokenRequest::client_credentials(),
        )
        .unwrap(),
    )
    .only_under(BaseUrl::new(&server.url("/api")).unwrap());
    let service = layer.layer(http_client());
    let outside = service
        .clone()
        .oneshot(get(&server.url("/other/api")))
        .await
        .unwrap();
    assert_eq!(body(outside).await, "none");
    assert_eq!(tokens.get(), 0, "no renewal for a request outside the base");
    let inside = service
        .oneshot(get(&server.url("/api/items")))
        .await
        .unwrap();
    assert_eq!(body(inside).await, "Bearer at-1");
    assert_eq!((tokens.get(), api.get()), (1, 2));
}

#[tokio::test]
async fn the_wrapped_clients_failure_is_a_classified_transport_error() {
    // Port 0: nothing can listen there, so the connection is always refused (a port bound and
    // closed could be taken by another test's server meanwhile).
    let port = 0;
    let service = AuthLayer::new(TokenManager::bearer("at").unwrap()).layer(http_client());
    let error = service
        .oneshot(get(&format!("http://127.0.0.1:{port}/api")))
        .await
        .unwrap_err();
    let ApiError::Transport(transport) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(transport.kind(), TransportErrorKind::Connect);
    assert!(error.is_network() && !error.is_timeout());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_that_panics_is_abandoned_and_a_waiting_caller_takes_over() {
    // Renewals through a service that panics on its first call and answers the second.
    let calls = Counter::default();
    let renewals = {
        let calls = calls.clone();
        tower::service_fn(move |_: http::Request<Full<Bytes>>| {
            let n = calls.bump();
            async move {
                if n == 1 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    panic!("the renewal's client panics (expected by this test)");
                }
                let token = r#"{"access_token":"at-2","token_type":"Bearer"}"#;
                Ok::<_, Infallible>(common::json(200, token).map(Full::<Bytes>::from))
            }
        })
    };
    let sent = Arc::new(Mutex::new(Vec::new()));
    let client = Client::builder("svc")
        .token_endpoint("https://as.example/token")
        .build()
        .unwrap();
    let layer = AuthLayer::new(
        TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials()).unwrap(),
    );
    let service = layer.layer(recording(&sent)).renew_through(renewals);
    let first = tokio::spawn(service.clone().oneshot(get("https://api.example/v1")));
    while calls.get() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // `first` renews; `second` waits for it (or, if it starts after the panic, renews itself).
    let second = tokio::spawn(service.oneshot(get("https://api.example/v1")));
    assert!(first.await.unwrap_err().is_panic());
    tokio::time::timeout(Duration::from_secs(10), second)
        .await
        .expect("the waiter took over at once, not after the 60 s bound")
        .unwrap()
        .unwrap();
    assert_eq!(*sent.lock().unwrap(), ["Bearer at-2"]);
    assert_eq!(calls.get(), 2);
}

/// What stacks above the Layer (tonic's generated clients, tower's `BoxError` layers) need of
/// it: a cloneable `Send + Sync` service whose error boxes.
#[test]
fn the_service_and_its_error_fit_into_a_tower_stack() {
    fn boxes<E: Into<Box<dyn std::error::Error + Send + Sync>>>() {}
    fn shareable<T: Clone + Send + Sync + 'static>(_: &T) {}
    boxes::<ApiError>();
    let layer = AuthLayer::new(TokenManager::bearer("at").unwrap());
    shareable(&layer);
    shareable(&layer.layer(http_client()));
}

/// One store shared by two Layers (two replicas of a service, in one test process).
#[derive(Clone, Debug, Default)]
struct SharedStore(Arc<grantline::testing::MemoryStore>);

impl grantline::fleet::AsyncStore for SharedStore {
    fn execute<'a>(
        &'a self,
        op: &'a grantline::fleet::StoreOp,
    ) -> grantline::fleet::StoreFuture<'a> {
        grantline::fleet::AsyncStore::execute(&*self.0, op)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_sharing_a_store_send_one_token_request() {
    let (tokens, api) = (Counter::default(), Counter::default());
    let server = echo_server(&tokens, &api, Duration::from_millis(300)).await;
    let store = SharedStore::default();
    let replica = || {
        let manager = TokenManager::grant(
            client(&server),
            grantline::grant::TokenRequest::client_credentials(),
        )
        .unwrap();
        let authorizer = Authorizer::new(manager)
            .share(grantline::fleet::Fleet::new())
            .unwrap();
        AuthLayer::with_authorizer(authorizer)
            .store(store.clone())
            .layer(http_client())
    };
    let (first, second) = (replica(), replica());
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let service = if i % 2 == 0 { &first } else { &second };
            tokio::spawn(service.clone().oneshot(get(&server.url("/api/items"))))
        })
        .collect();
    for task in tasks {
        let response = task.await.unwrap().unwrap();
        assert_eq!(body(response).await, "Bearer at-1");
    }
    assert_eq!(
        (tokens.get(), api.get()),
        (1, 100),
        "one token for both replicas"
    );
}
