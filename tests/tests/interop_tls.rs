//! The interop suite over TLS: the real oidc-provider behind a loopback TLS proxy whose
//! certificate comes from a CA this test makes (rcgen), trusted only through the user's own
//! `ureq::Agent` / `reqwest::ClientBuilder`, as a company's broker with a private CA is reached.
//! Client credentials and the code flow (exchange, ID token validation against the JWKS,
//! refresh) run over https through both transports; without the CA the same run fails with a
//! certificate error. Run with `tests/interop/run.sh` (it installs the server first).
//!
//! The person's side (the browser at the login and consent pages) stays on plain http: it is
//! not under test. Discovery also runs over plain http, because the server's issuer is its
//! http URL; the client keeps that issuer (the `iss` checks of the callback and the ID token use
//! it) and sends its token and JWKS requests to the proxy.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod interop_common;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use grantline::discovery::{DiscoveryFlow, ServerMetadata};
use grantline::grant::TokenRequest;
use grantline::{Client, Flow, TokenType};
use grantline_tests::interop::{Browser, oidc_provider};
use interop_common::{REDIRECT, REDIRECT_PREFIX};
use tokio_rustls::rustls;

const BASIC: (&str, &str) = ("basic-client", "basic secret:+%/~!");

/// At most this many connections are accepted by one proxy; it stops accepting after that.
const MAX_CONNECTIONS: usize = 64;
/// How long one proxied connection may live (handshake and traffic).
const CONNECTION_LIMIT: Duration = Duration::from_secs(30);
/// The bound on every request the transports under test send.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// A certificate authority made for one test, and a leaf certificate it signed for
/// `localhost` and 127.0.0.1.
struct TestPki {
    ca_der: Vec<u8>,
    ca_pem: String,
    leaf_der: Vec<u8>,
    leaf_key_der: Vec<u8>,
}

impl TestPki {
    fn new(name: &str) -> Self {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        ca_params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("grantline test CA {name}"),
        );
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();

        let mut leaf_params =
            rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .unwrap();
        leaf_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        leaf_params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        leaf_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
        Self {
            ca_der: ca.der().to_vec(),
            ca_pem: ca.pem(),
            leaf_der: leaf.der().to_vec(),
            leaf_key_der: leaf_key.serialize_der(),
        }
    }
}

/// A TLS-terminating proxy on 127.0.0.1 in front of a plain loopback server: it accepts TLS
/// with the test's leaf certificate and copies bytes both ways. Bounded in connections and in
/// time per connection; stopped when dropped.
struct TlsProxy {
    port: u16,
    handshakes: Arc<AtomicUsize>,
    failed_handshakes: Arc<AtomicUsize>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TlsProxy {
    fn start(pki: &TestPki, upstream: SocketAddr) -> Self {
        assert!(
            upstream.ip().is_loopback(),
            "the proxy forwards to loopback only"
        );
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![pki.leaf_der.clone().into()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(pki.leaf_key_der.clone().into()),
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
        let port = listener.local_addr().unwrap().port();
        let handshakes = Arc::new(AtomicUsize::new(0));
        let failed_handshakes = Arc::new(AtomicUsize::new(0));
        let (ok, failed) = (Arc::clone(&handshakes), Arc::clone(&failed_handshakes));
        runtime.spawn(async move {
            for _ in 0..MAX_CONNECTIONS {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let (ok, failed) = (Arc::clone(&ok), Arc::clone(&failed));
                tokio::spawn(tokio::time::timeout(CONNECTION_LIMIT, async move {
                    let mut tls = match acceptor.accept(tcp).await {
                        Ok(tls) => tls,
                        Err(e) => {
                            failed.fetch_add(1, Ordering::SeqCst);
                            return Err(e);
                        }
                    };
                    ok.fetch_add(1, Ordering::SeqCst);
                    let mut plain = tokio::net::TcpStream::connect(upstream).await?;
                    tokio::io::copy_bidirectional(&mut tls, &mut plain).await?;
                    Ok::<_, io::Error>(())
                }));
            }
        });
        Self {
            port,
            handshakes,
            failed_handshakes,
            runtime: Some(runtime),
        }
    }

    /// `https://127.0.0.1:PORT{path}`.
    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }

    fn failed_handshakes(&self) -> usize {
        self.failed_handshakes.load(Ordering::SeqCst)
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The running oidc-provider's plain address, and a proxy in front of it with a fresh CA.
fn proxied() -> (TestPki, TlsProxy) {
    let issuer = url::Url::parse(oidc_provider().issuer()).unwrap();
    let upstream = issuer.socket_addrs(|| None).unwrap()[0];
    let pki = TestPki::new("interop");
    let proxy = TlsProxy::start(&pki, upstream);
    (pki, proxy)
}

/// The two transports, configured by the user: `trust` is the only CA they trust (`None`: each
/// library's defaults).
struct Transports {
    ureq: grantline_ureq::Transport,
    reqwest: grantline_reqwest::Transport,
    runtime: tokio::runtime::Runtime,
}

impl Transports {
    fn new(trust: Option<&TestPki>) -> Self {
        let mut agent = ureq::Agent::config_builder()
            .proxy(None)
            .timeout_global(Some(REQUEST_TIMEOUT));
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .timeout(REQUEST_TIMEOUT);
        if let Some(pki) = trust {
            let ca = ureq::tls::Certificate::from_der(&pki.ca_der).to_owned();
            agent = agent.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::new_with_certs(&[ca]))
                    .build(),
            );
            // From PEM, as a user's CA file usually is.
            let ca = reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap();
            builder = builder.tls_certs_only([ca]);
        }
        Self {
            ureq: grantline_ureq::Transport::with_agent(agent.build().new_agent()),
            reqwest: grantline_reqwest::Transport::from_builder(builder).unwrap(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        }
    }

    /// Runs `flow` through one transport.
    fn run<F: Flow + Send>(&self, transport: Name, flow: F) -> Result<F::Output, Failure> {
        match transport {
            Name::Ureq => self.ureq.run(flow).map_err(Failure::Ureq),
            Name::Reqwest => self
                .runtime
                .block_on(self.reqwest.run(flow))
                .map_err(Failure::Reqwest),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Name {
    Ureq,
    Reqwest,
}

const BOTH: [Name; 2] = [Name::Ureq, Name::Reqwest];

#[derive(Debug)]
enum Failure {
    Ureq(grantline_ureq::Error),
    Reqwest(grantline_reqwest::Error),
}

/// The error's `Display` and every source below it, one per line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str("\n  caused by: ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// Whether `condition` holds within two seconds.
fn eventually(condition: impl Fn() -> bool) -> bool {
    for _ in 0..200 {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    condition()
}

/// The server's metadata, over plain http (its issuer is its http URL); not under test.
fn metadata() -> ServerMetadata {
    grantline_ureq::Transport::with_agent(
        ureq::Agent::config_builder()
            .proxy(None)
            .build()
            .new_agent(),
    )
    .run(DiscoveryFlow::openid(oidc_provider().issuer()).unwrap())
    .unwrap()
}

/// basic-client with the server's issuer, its token endpoint and JWKS behind the TLS proxy.
fn client_over(proxy: &TlsProxy, metadata: &ServerMetadata) -> Client {
    let client = Client::from_metadata(BASIC.0, metadata)
        .token_endpoint(proxy.url("/token"))
        .jwks_uri(proxy.url("/jwks"))
        .client_secret_basic(BASIC.1)
        .redirect_uri(REDIRECT)
        .build()
        .unwrap();
    assert_eq!(client.issuer(), Some(oidc_provider().issuer()));
    client
}

#[test]
fn client_credentials_and_the_code_flow_over_tls_trusting_only_the_test_ca() {
    let (pki, proxy) = proxied();
    let transports = Transports::new(Some(&pki));
    let metadata = metadata();
    let client = client_over(&proxy, &metadata);
    assert!(
        metadata.jwks_uri.as_deref().unwrap().starts_with("http://"),
        "the proxy is what makes it https"
    );
    for name in BOTH {
        let before = proxy.handshakes();
        let token = transports
            .run(
                name,
                client
                    .request_token(TokenRequest::client_credentials())
                    .unwrap(),
            )
            .unwrap_or_else(|e| panic!("{name:?}: client credentials over TLS: {e:?}"));
        assert_eq!(token.token_type(), &TokenType::Bearer, "{name:?}");
        assert!(token.expires_at().is_some(), "{name:?}");

        // The code flow: the person logs in over plain http; the exchange and the JWKS fetch
        // that validates the ID token go over TLS.
        let (url, pending) = client
            .authorization_request()
            .scope("openid")
            .into_redirect()
            .unwrap();
        let callback =
            Browser::new().oidc_provider_authorize(url.as_str(), "alice", REDIRECT_PREFIX);
        let code = pending.validate_callback(callback.as_str()).unwrap();
        let token = transports
            .run(name, client.exchange_code(code).unwrap())
            .unwrap_or_else(|e| panic!("{name:?}: code exchange over TLS: {e:?}"));
        assert_eq!(
            token.id_token_claims().unwrap().subject(),
            "alice",
            "{name:?}: the ID token was validated with the keys fetched over TLS"
        );
        let refresh = token.refresh_token().unwrap().clone();
        let renewed = transports
            .run(
                name,
                client
                    .request_token(TokenRequest::refresh_token(refresh))
                    .unwrap(),
            )
            .unwrap_or_else(|e| panic!("{name:?}: refresh over TLS: {e:?}"));
        assert_ne!(renewed.access_token(), token.access_token(), "{name:?}");
        assert!(
            proxy.handshakes() > before,
            "{name:?}: the requests went through the TLS proxy"
        );
    }
    assert_eq!(proxy.failed_handshakes(), 0);
}

#[test]
fn without_the_ca_the_same_run_fails_with_a_certificate_error() {
    let (pki, proxy) = proxied();
    let client = client_over(&proxy, &metadata());
    // The library defaults (webpki roots for ureq, the platform verifier for reqwest), and a
    // user who configured another CA: neither trusts this server.
    let other = TestPki::new("other");
    for (what, transports) in [
        ("default roots", Transports::new(None)),
        ("another CA", Transports::new(Some(&other))),
    ] {
        for name in BOTH {
            let failed_before = proxy.failed_handshakes();
            let e = transports
                .run(
                    name,
                    client
                        .request_token(TokenRequest::client_credentials())
                        .unwrap(),
                )
                .unwrap_err();
            let text = match &e {
                // Both transports classify a failed handshake the same way (reqwest itself calls
                // it a connect error; the transport finds the rustls error in its source chain).
                Failure::Ureq(grantline_ureq::Error::Transport(t))
                | Failure::Reqwest(grantline_reqwest::Error::Transport(t)) => {
                    assert_eq!(
                        t.kind(),
                        grantline::driver::TransportErrorKind::Tls,
                        "{what}: {}",
                        chain(t)
                    );
                    chain(t)
                }
                other => panic!("{what}: {name:?}: not a transport error: {other:?}"),
            };
            let lower = text.to_ascii_lowercase();
            assert!(
                lower.contains("certificate") && lower.contains("unknownissuer"),
                "{what}: {name:?}: the error names the untrusted certificate: {text}"
            );
            // The client gave up first; the proxy's side of the handshake ends a moment later.
            assert!(
                eventually(|| proxy.failed_handshakes() > failed_before),
                "{what}: {name:?}: the proxy saw the handshake fail"
            );
        }
    }
    // Nothing was ever forwarded to the server: no handshake completed.
    assert_eq!(proxy.handshakes(), 0);
    // The same client and proxy work once the CA is trusted.
    let token = Transports::new(Some(&pki))
        .run(
            Name::Ureq,
            client
                .request_token(TokenRequest::client_credentials())
                .unwrap(),
        )
        .unwrap();
    assert_eq!(token.token_type(), &TokenType::Bearer);
}
