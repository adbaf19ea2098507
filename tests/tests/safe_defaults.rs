//! The transports' safe defaults, on both transports, against loopback servers made here:
//!
//! - a token endpoint that accepts the connection and never answers: with `Transport::new()`'s
//!   defaults every waiting caller gets a typed timeout error, within the default bound;
//! - 1,000 concurrent callers behind one missing token: exactly one token request;
//! - a plain-http, non-loopback API URL: refused by the API client and the middleware, and
//!   nothing is sent (the client's proxy, a listener here, sees no connection);
//! - a JSON answer over the API client's cap: refused, not decoded.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use grantline::Client;
use grantline::api::BaseUrl;
use grantline::driver::{ApiError, TransportErrorKind};
use grantline::token_manager::TokenManager;

/// Callers behind one renewal.
const CROWD: usize = 1000;
/// Callers behind a renewal that never ends.
const WAITERS: usize = 20;
/// The default bound on a caller's wait, and the default request timeout: a caller must be
/// answered before the bound (the timeout is shorter), whatever the machine's load.
const WITHIN: Duration = Duration::from_secs(60);

fn manager(token_endpoint: &str) -> TokenManager {
    let client = Client::builder("svc")
        .token_endpoint(token_endpoint)
        .client_secret_basic("s3cr3t")
        .build()
        .unwrap();
    TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials()).unwrap()
}

/// A token endpoint that accepts every connection and never answers (the connections are kept
/// open until the process ends).
fn hung_token_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming() {
            open.push(stream);
        }
    });
    url
}

/// A server that counts its connections and answers each request, after `delay`, with `body`
/// as JSON (a token, or an API answer).
fn counting_server(delay: Duration, body: String) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&count);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counted.fetch_add(1, Ordering::SeqCst);
            let body = body.clone();
            std::thread::spawn(move || answer(&mut stream, delay, &body));
        }
    });
    (url, count)
}

/// Reads one request (head and body by its `Content-Length`), waits, answers `body` as JSON.
fn answer(stream: &mut TcpStream, delay: Duration, body: &str) {
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut request_body = vec![0_u8; length];
    let _ = stream.read_exact(&mut request_body);
    std::thread::sleep(delay);
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn token_json() -> String {
    r#"{"access_token":"at-1","token_type":"Bearer","expires_in":3600}"#.to_owned()
}

/// A listener standing in for an HTTP proxy: whatever a client sends, it sends here.
fn proxy() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

fn assert_nothing_sent(proxy: &TcpListener) {
    assert!(
        matches!(proxy.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "a connection was made"
    );
}

const INSECURE_BASE: &str = "http://api.example.test/v1/";

fn is_insecure_refusal(error: &ApiError) -> bool {
    matches!(
        error,
        ApiError::Path(grantline::Error::Config(
            grantline::error::ConfigError::InsecureResource { .. }
        ))
    )
}

/// A JSON answer of `len` bytes.
fn json_of_len(len: usize) -> String {
    format!(r#"{{"pad":"{}"}}"#, "x".repeat(len - 10))
}

mod ureq_transport {
    use super::*;
    use grantline_ureq::{ApiClient, Auth, Transport};

    #[test]
    fn a_hung_token_endpoint_times_out_every_waiting_caller_with_the_defaults() {
        let auth = Auth::new(Transport::new(), manager(&hung_token_endpoint()));
        let barrier = Barrier::new(WAITERS);
        let start = Instant::now();
        let results: Vec<_> = std::thread::scope(|scope| {
            let callers: Vec<_> = (0..WAITERS)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        (auth.header(), start.elapsed())
                    })
                })
                .collect();
            callers.into_iter().map(|c| c.join().unwrap()).collect()
        });
        for (result, elapsed) in results {
            let error = result.unwrap_err();
            assert!(error.is_timeout(), "{error:?}");
            assert!(elapsed < WITHIN, "answered after {elapsed:?}");
        }
    }

    #[test]
    fn a_thousand_concurrent_callers_send_one_token_request() {
        let (url, requests) = counting_server(Duration::from_millis(500), token_json());
        let auth = Auth::new(Transport::new(), manager(&format!("{url}/token")));
        let barrier = Barrier::new(CROWD);
        let attached = std::thread::scope(|scope| {
            let callers: Vec<_> = (0..CROWD)
                .map(|_| {
                    std::thread::Builder::new()
                        .stack_size(256 * 1024)
                        .spawn_scoped(scope, || {
                            barrier.wait();
                            let mut request = http::Request::get("https://api.example/v1/items")
                                .body(())
                                .unwrap();
                            auth.authorize(&mut request).unwrap();
                            request.headers()["authorization"] == "Bearer at-1"
                        })
                        .unwrap()
                })
                .collect();
            callers
                .into_iter()
                .map(|c| c.join().unwrap())
                .filter(|attached| *attached)
                .count()
        });
        assert_eq!(attached, CROWD);
        assert_eq!(requests.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_plain_http_api_is_refused_by_the_api_client_and_the_middleware_before_sending() {
        let (proxy, proxy_url) = proxy();
        let agent = || {
            ureq::Agent::config_builder()
                .proxy(Some(ureq::Proxy::new(&proxy_url).unwrap()))
                .http_status_as_error(false)
        };
        let auth = Auth::new(Transport::new(), TokenManager::bearer("at").unwrap());
        let base = BaseUrl::insecure_http(INSECURE_BASE).unwrap();

        let api = ApiClient::with_base(base)
            .agent(agent().build().new_agent())
            .auth(auth.clone());
        let error = api.get("items").send().unwrap_err();
        assert!(is_insecure_refusal(&error), "{error:?}");
        let error = api
            .get("items")
            .recv_json::<serde_json::Value>()
            .unwrap_err();
        assert!(is_insecure_refusal(&error), "{error:?}");

        let agent: ureq::Agent = agent().middleware(auth.middleware()).build().into();
        let error = agent
            .get(format!("{INSECURE_BASE}items"))
            .call()
            .unwrap_err();
        let ureq::Error::Other(error) = error else {
            panic!("{error:?}")
        };
        let error = error.downcast_ref::<grantline_ureq::AuthError>().unwrap();
        assert!(matches!(
            error.error(),
            grantline_ureq::Error::Flow(grantline::Error::Config(
                grantline::error::ConfigError::InsecureResource { .. }
            ))
        ));
        assert_nothing_sent(&proxy);
    }

    #[test]
    fn recv_json_refuses_a_body_over_the_cap() {
        let (url, _) = counting_server(Duration::ZERO, json_of_len(1000));
        let api = ApiClient::new(&url).unwrap().body_limit(999);
        let error = api.get("x").recv_json::<serde_json::Value>().unwrap_err();
        let ApiError::Transport(error) = error else {
            panic!("{error:?}")
        };
        assert_eq!(
            error.kind(),
            TransportErrorKind::BodyTooLarge { limit: 999 }
        );
        let api = ApiClient::new(&url).unwrap().body_limit(1000);
        let value: serde_json::Value = api.get("x").recv_json().unwrap();
        assert_eq!(value["pad"].as_str().unwrap().len(), 990);
    }
}

mod reqwest_transport {
    use super::*;
    use grantline_reqwest::{ApiClient, Auth, Transport};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_hung_token_endpoint_times_out_every_waiting_caller_with_the_defaults() {
        let auth = Auth::new(Transport::new().unwrap(), manager(&hung_token_endpoint()));
        let start = Instant::now();
        let callers: Vec<_> = (0..WAITERS)
            .map(|_| {
                let auth = auth.clone();
                tokio::spawn(async move { (auth.header().await, start.elapsed()) })
            })
            .collect();
        for caller in callers {
            let (result, elapsed) = caller.await.unwrap();
            let error = result.unwrap_err();
            assert!(error.is_timeout(), "{error:?}");
            assert!(elapsed < WITHIN, "answered after {elapsed:?}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_thousand_concurrent_callers_send_one_token_request() {
        let (url, requests) = counting_server(Duration::from_millis(500), token_json());
        let auth = Auth::new(Transport::new().unwrap(), manager(&format!("{url}/token")));
        let barrier = Arc::new(tokio::sync::Barrier::new(CROWD));
        let callers: Vec<_> = (0..CROWD)
            .map(|_| {
                let (auth, barrier) = (auth.clone(), Arc::clone(&barrier));
                tokio::spawn(async move {
                    barrier.wait().await;
                    let url = "https://api.example/v1/items".parse().unwrap();
                    let mut request = reqwest::Request::new(reqwest::Method::GET, url);
                    auth.authorize(&mut request).await.unwrap();
                    request.headers()["authorization"] == "Bearer at-1"
                })
            })
            .collect();
        let mut attached = 0;
        for caller in callers {
            attached += usize::from(caller.await.unwrap());
        }
        assert_eq!(attached, CROWD);
        assert_eq!(requests.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_plain_http_api_is_refused_by_the_api_client_and_the_middleware_before_sending() {
        let (proxy, proxy_url) = proxy();
        let client = || reqwest::Client::builder().proxy(reqwest::Proxy::all(&proxy_url).unwrap());
        let auth = Auth::new(
            Transport::new().unwrap(),
            TokenManager::bearer("at").unwrap(),
        );
        let base = BaseUrl::insecure_http(INSECURE_BASE).unwrap();

        let api = ApiClient::with_base(base)
            .unwrap()
            .client_builder(client())
            .unwrap()
            .auth(auth.clone());
        let error = api.get("items").send().await.unwrap_err();
        assert!(is_insecure_refusal(&error), "{error:?}");
        let error = api
            .get("items")
            .recv_json::<serde_json::Value>()
            .await
            .unwrap_err();
        assert!(is_insecure_refusal(&error), "{error:?}");

        let http = reqwest_middleware::ClientBuilder::new(client().build().unwrap())
            .with(auth.middleware())
            .build();
        let error = http
            .get(format!("{INSECURE_BASE}items"))
            .send()
            .await
            .unwrap_err();
        let reqwest_middleware::Error::Middleware(error) = error else {
            panic!("{error:?}")
        };
        let error = error
            .downcast_ref::<grantline_reqwest::AuthError>()
            .unwrap();
        assert!(matches!(
            error.error(),
            grantline_reqwest::Error::Flow(grantline::Error::Config(
                grantline::error::ConfigError::InsecureResource { .. }
            ))
        ));
        assert_nothing_sent(&proxy);
    }

    #[tokio::test]
    async fn recv_json_refuses_a_body_over_the_cap() {
        let (url, _) = counting_server(Duration::ZERO, json_of_len(1000));
        let api = ApiClient::new(&url).unwrap().body_limit(999);
        let error = api
            .get("x")
            .recv_json::<serde_json::Value>()
            .await
            .unwrap_err();
        let ApiError::Transport(error) = error else {
            panic!("{error:?}")
        };
        assert_eq!(
            error.kind(),
            TransportErrorKind::BodyTooLarge { limit: 999 }
        );
        let api = ApiClient::new(&url).unwrap().body_limit(1000);
        let value: serde_json::Value = api.get("x").recv_json().await.unwrap();
        assert_eq!(value["pad"].as_str().unwrap().len(), 990);
    }
}

/// The auth handlers and API clients hold tokens: their `Debug` shows none.
#[test]
fn no_token_in_the_debug_of_the_auth_handlers_and_api_clients() {
    let secret = "at-sentinel-5ec2e7";
    let ureq_auth = grantline_ureq::Auth::new(
        grantline_ureq::Transport::new(),
        TokenManager::bearer(secret).unwrap(),
    );
    let reqwest_auth = grantline_reqwest::Auth::new(
        grantline_reqwest::Transport::new().unwrap(),
        TokenManager::bearer(secret).unwrap(),
    );
    let ureq_api = grantline_ureq::ApiClient::new("https://api.example/")
        .unwrap()
        .auth(ureq_auth.clone());
    let reqwest_api = grantline_reqwest::ApiClient::new("https://api.example/")
        .unwrap()
        .auth(reqwest_auth.clone());
    let shown = format!(
        "{ureq_auth:?} {reqwest_auth:?} {ureq_api:?} {reqwest_api:?} {:?} {:?}",
        ureq_auth.middleware(),
        reqwest_auth.middleware()
    );
    assert!(shown.contains("Authorizer"), "{shown}");
    assert!(!shown.contains(secret), "{shown}");
}

/// A TLS server on 127.0.0.1 with a self-signed certificate nobody trusts: it accepts
/// connections and attempts the handshake (which the client refuses).
fn untrusted_tls_server() -> (String, tokio::runtime::Runtime) {
    use tokio_rustls::rustls;
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!(
        "https://localhost:{}/token",
        listener.local_addr().unwrap().port()
    );
    runtime.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await;
            });
        }
    });
    (url, runtime)
}

/// The same failure, the same kind: a certificate the client does not trust is `Tls` on both
/// transports (reqwest itself calls it a connect error).
#[test]
fn an_untrusted_certificate_is_a_tls_error_on_both_transports() {
    let (url, _server) = untrusted_tls_server();
    let request = || http::Request::post(&url).body(Vec::new()).unwrap();
    let ureq = grantline_ureq::Transport::with_agent(
        ureq::Agent::config_builder()
            .proxy(None)
            .build()
            .new_agent(),
    );
    let error = ureq.execute(request()).unwrap_err();
    assert_eq!(error.kind(), TransportErrorKind::Tls, "{error:?}");
    let reqwest =
        grantline_reqwest::Transport::from_builder(reqwest::Client::builder().no_proxy()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let error = runtime.block_on(reqwest.execute(request())).unwrap_err();
    assert_eq!(error.kind(), TransportErrorKind::Tls, "{error:?}");
}

/// A persistence callback that panics on the first renewal only.
fn panicking_once(manager: TokenManager) -> TokenManager {
    let panicked = std::sync::atomic::AtomicBool::new(false);
    manager.on_renewed(move |_| {
        if !panicked.swap(true, Ordering::SeqCst) {
            panic!("the store is down");
        }
    })
}

/// Panics in the renewing thread (in the persistence callback) never strand the waiting ones:
/// they go on at once, far from the 60 s bound.
#[test]
fn a_renewal_that_panics_does_not_strand_the_waiting_callers() {
    let (url, _) = counting_server(Duration::from_millis(300), token_json());
    let first = panicking_once(manager(&format!("{url}/token")));
    let ureq_auth = grantline_ureq::Auth::new(grantline_ureq::Transport::new(), first);
    let barrier = Barrier::new(WAITERS);
    let start = Instant::now();
    let ended = std::thread::scope(|scope| {
        let callers: Vec<_> = (0..WAITERS)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    let _ = ureq_auth.header();
                })
            })
            .collect();
        callers.into_iter().map(|c| c.join()).collect::<Vec<_>>()
    });
    assert_eq!(ended.iter().filter(|e| e.is_err()).count(), 1, "one panic");
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    assert!(ureq_auth.header().is_ok());

    let (url, _) = counting_server(Duration::from_millis(300), token_json());
    let second = panicking_once(manager(&format!("{url}/token")));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let reqwest_auth =
        grantline_reqwest::Auth::new(grantline_reqwest::Transport::new().unwrap(), second);
    let start = Instant::now();
    let ended = runtime.block_on(async {
        let callers: Vec<_> = (0..WAITERS)
            .map(|_| {
                let auth = reqwest_auth.clone();
                tokio::spawn(async move { drop(auth.header().await) })
            })
            .collect();
        let mut ended = Vec::new();
        for caller in callers {
            ended.push(caller.await);
        }
        ended
    });
    assert_eq!(ended.iter().filter(|e| e.is_err()).count(), 1, "one panic");
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    assert!(runtime.block_on(reqwest_auth.header()).is_ok());
}
