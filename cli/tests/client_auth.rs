//! Client authentication and grants the library has and the command now offers, against
//! loopback servers, with every transport this build has:
//!
//! - `--basic-encoding form|raw`: the exact `Authorization` header for an id and secret with
//!   special characters, and the choice kept in a profile;
//! - `--client-cert`/`--client-key` presented on the TLS connection (a loopback TLS server that
//!   asks for a client certificate, made by rcgen for the test) with `--auth-method
//!   tls-client-auth`, whose request names the client and carries no secret; the method refused
//!   without a certificate, and a certificate refused without its key; with a certificate, the
//!   requests go to the metadata's `mtls_endpoint_aliases` unless an endpoint was given;
//! - `token custom --grant-type URI --param k=v --param-file k=PATH`: the form sent, and a
//!   grant type that is not an absolute URI refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use common::{form, grantline, json, one_document, runtime, token_json, transports};
use predicates::prelude::*;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer};

const ID: &str = "app:id+1";
const SECRET: &str = "p@ss:w+rd%20 é/~";

fn basic_header(credentials: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

/// A token endpoint that answers only this exact `Authorization` header.
fn token_endpoint_for(rt: &tokio::runtime::Runtime, authorization: &str) -> MockServer {
    rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(header("authorization", authorization))
            .respond_with(token_json("at-basic"))
            .mount(&server)
            .await;
        server
    })
}

#[test]
fn basic_encoding_form_encodes_first_and_raw_sends_the_values_as_they_are() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    // RFC 6749 §2.3.1: each form-encoded, then joined and base64-encoded.
    let form_header = basic_header("app%3Aid%2B1:p%40ss%3Aw%2Brd%2520+%C3%A9%2F%7E");
    // A client id holding `:` cannot go raw: a plain one here.
    let raw_header = basic_header(&format!("app-id:{SECRET}"));
    let form_server = token_endpoint_for(&rt, &form_header);
    let raw_server = token_endpoint_for(&rt, &raw_header);
    for transport in transports() {
        for (server, id, encoding) in [
            (&form_server, ID, None),
            (&form_server, ID, Some("form")),
            (&raw_server, "app-id", Some("raw")),
        ] {
            let mut cmd = grantline(dir.path());
            cmd.args(["--transport", transport, "--client-id", id])
                .args(["--client-secret", SECRET])
                .arg("--token-endpoint")
                .arg(format!("{}/token", server.uri()));
            if let Some(encoding) = encoding {
                cmd.args(["--basic-encoding", encoding]);
            }
            let out = cmd
                .args(["token", "client-credentials"])
                .assert()
                .success()
                .get_output()
                .clone();
            assert_eq!(
                one_document(&out.stdout)["access_token"],
                "at-basic",
                "{transport} {encoding:?}"
            );
        }
        // Raw with a client id holding `:` would be read back as another id: refused.
        grantline(dir.path())
            .args(["--transport", transport, "--client-id", ID])
            .args(["--client-secret", SECRET, "--basic-encoding", "raw"])
            .arg("--token-endpoint")
            .arg(format!("{}/token", raw_server.uri()))
            .args(["token", "client-credentials"])
            .assert()
            .code(3)
            .stderr(predicate::str::contains("raw Basic encoding"));
    }

    // A profile keeps the encoding.
    grantline(dir.path())
        .args(["--client-id", "app-id", "--client-secret", SECRET])
        .args(["--basic-encoding", "raw", "--token-endpoint"])
        .arg(format!("{}/token", raw_server.uri()))
        .args(["profile", "add", "cognito", "--grant", "client-credentials"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"basic_encoding\":\"raw\""));
    let out = grantline(dir.path())
        .args(["token", "--profile", "cognito"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(one_document(&out.stdout)["access_token"], "at-basic");
}

#[test]
fn a_custom_grant_sends_its_type_and_parameters() {
    let rt = runtime();
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(form(&[
                ("grant_type", "urn:example:grant:ticket"),
                ("ticket", "t-123=x"),
                ("site", "-north"),
                ("scope", "read write"),
                ("resource", "https://api.example/"),
                ("audience", "backend"),
                ("assertion", "eyJ.from-a-file"),
            ]))
            .respond_with(token_json("at-custom"))
            .mount(&server)
            .await;
        server
    });
    let dir = tempfile::tempdir().unwrap();
    let assertion = dir.path().join("assertion.jwt");
    std::fs::write(&assertion, "eyJ.from-a-file\n").unwrap();
    for transport in transports() {
        let out = grantline(dir.path())
            .args(["--transport", transport, "--client-id", "svc"])
            .args(["--client-secret", "s3cret", "--token-endpoint"])
            .arg(format!("{}/token", server.uri()))
            .args([
                "token",
                "custom",
                "--grant-type",
                "urn:example:grant:ticket",
            ])
            .arg("--param-file")
            .arg(format!("assertion={}", assertion.display()))
            .args(["--param", "ticket=t-123=x", "--param", "site=-north"])
            .args([
                "--scope",
                "read write",
                "--resource",
                "https://api.example/",
            ])
            .args(["--audience", "backend"])
            .assert()
            .success()
            .get_output()
            .clone();
        assert_eq!(one_document(&out.stdout)["access_token"], "at-custom");

        // Not an absolute URI nor a registered name: refused before anything is sent.
        grantline(dir.path())
            .args(["--transport", transport, "--client-id", "svc"])
            .args(["--client-secret", "s3cret", "--token-endpoint"])
            .arg(format!("{}/token", server.uri()))
            .args(["token", "custom", "--grant-type", "ticket"])
            .assert()
            .code(3)
            .stderr(predicate::str::contains("`ticket` is not a grant type"));
    }
    let sent = rt.block_on(server.received_requests()).unwrap();
    assert_eq!(
        sent.len(),
        transports().len(),
        "the refused ones sent nothing"
    );
}

/// A CA, the server's certificate for 127.0.0.1, and a client certificate, all made for the
/// test.
struct Pki {
    ca_pem: String,
    ca_der: Vec<u8>,
    server: (Vec<u8>, Vec<u8>),
    client_pem: String,
    client_key_pem: String,
    client_der: Vec<u8>,
}

fn pki() -> Pki {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "grantline cli test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
        .unwrap();
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let client_key = rcgen::KeyPair::generate().unwrap();
    let mut client_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    client_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "device-42");
    let client = client_params.signed_by(&client_key, &ca).unwrap();
    Pki {
        ca_pem: ca.pem(),
        ca_der: ca.der().to_vec(),
        server: (server.der().to_vec(), server_key.serialize_der()),
        client_pem: client.pem(),
        client_key_pem: client_key.serialize_pem(),
        client_der: client.der().to_vec(),
    }
}

/// What the TLS server saw on one connection: the client's certificate (DER) and the request.
#[derive(Debug, Clone)]
struct Seen {
    client_cert: Option<Vec<u8>>,
    head: String,
    body: String,
}

/// A token endpoint over TLS on 127.0.0.1 that asks for a client certificate signed by the
/// test CA (and refuses the handshake without one); records what it saw.
fn mtls_token_server(pki: &Pki, connections: usize) -> (u16, Arc<Mutex<Vec<Seen>>>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der.clone().into()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![pki.server.0.clone().into()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(pki.server.1.clone().into()),
            )
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let Ok(stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(20)));
            let connection = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
            let mut tls = rustls::StreamOwned::new(connection, stream);
            let mut reader = BufReader::new(&mut tls);
            let mut head = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
                if line == "\r\n" {
                    break;
                }
            }
            if !head.ends_with("\r\n\r\n") {
                continue;
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let client_cert = tls
                .conn
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.to_vec());
            log.lock().unwrap().push(Seen {
                client_cert,
                head,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            let json = r#"{"access_token":"at-mtls","token_type":"Bearer","expires_in":60}"#;
            let _ = write!(
                tls,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{json}",
                json.len()
            );
            let _ = tls.flush();
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    (port, seen)
}

#[test]
fn tls_client_auth_presents_the_client_certificate_on_every_transport() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let ca = write("ca.pem", &pki.ca_pem);
    let cert = write("client.pem", &pki.client_pem);
    let key = write("client.key", &pki.client_key_pem);
    let (port, seen) = mtls_token_server(&pki, 32);
    let endpoint = format!("https://127.0.0.1:{port}/token");
    for transport in transports() {
        let out = grantline(dir.path())
            .args(["--transport", transport, "--client-id", "device-42"])
            .args(["--auth-method", "tls-client-auth", "--ca-cert", &ca])
            .args(["--client-cert", &cert, "--client-key", &key])
            .args(["--token-endpoint", &endpoint, "token", "client-credentials"])
            .assert()
            .success()
            .get_output()
            .clone();
        assert_eq!(one_document(&out.stdout)["access_token"], "at-mtls");
        let last = seen.lock().unwrap().last().cloned().unwrap();
        assert_eq!(
            last.client_cert.as_deref(),
            Some(pki.client_der.as_slice()),
            "{transport} presented the certificate"
        );
        assert!(
            last.body.contains("client_id=device-42")
                && last.body.contains("grant_type=client_credentials"),
            "{last:?}"
        );
        assert!(
            !last.head.to_ascii_lowercase().contains("authorization:"),
            "no secret goes with tls_client_auth: {last:?}"
        );

        // Without the certificate the server ends the handshake: a network error.
        grantline(dir.path())
            .args(["--transport", transport, "--client-id", "device-42"])
            .args(["--ca-cert", &ca])
            .args(["--token-endpoint", &endpoint, "token", "client-credentials"])
            .assert()
            .code(4);
    }
}

/// With a client certificate, the requests go to the metadata's `mtls_endpoint_aliases`
/// (RFC 8705 §5), except an endpoint given explicitly; without one, to the plain endpoints.
#[test]
fn a_client_certificate_sends_requests_to_the_mtls_aliases() {
    let rt = runtime();
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        let issuer = server.uri();
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(json(
                200,
                serde_json::json!({
                    "issuer": issuer,
                    "token_endpoint": format!("{issuer}/token"),
                    "mtls_endpoint_aliases": {"token_endpoint": format!("{issuer}/mtls/token")},
                }),
            ))
            .mount(&server)
            .await;
        for (route, token) in [
            ("/token", "at-plain"),
            ("/mtls/token", "at-alias"),
            ("/explicit", "at-explicit"),
        ] {
            Mock::given(method("POST"))
                .and(path(route))
                .respond_with(token_json(token))
                .mount(&server)
                .await;
        }
        server
    });
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("client.pem");
    let key = dir.path().join("client.key");
    std::fs::write(&cert, &pki.client_pem).unwrap();
    std::fs::write(&key, &pki.client_key_pem).unwrap();
    let explicit = format!("{}/explicit", server.uri());
    for transport in transports() {
        for (with_cert, endpoint, expected) in [
            (false, None, "at-plain"),
            (true, None, "at-alias"),
            (true, Some(explicit.as_str()), "at-explicit"),
        ] {
            let mut cmd = grantline(dir.path());
            cmd.args(["--transport", transport, "--issuer", &server.uri()])
                .args(["--client-id", "device-42"]);
            if with_cert {
                cmd.arg("--client-cert")
                    .arg(&cert)
                    .arg("--client-key")
                    .arg(&key);
            }
            if let Some(endpoint) = endpoint {
                cmd.args(["--token-endpoint", endpoint]);
            }
            let out = cmd
                .args(["token", "client-credentials"])
                .assert()
                .success()
                .get_output()
                .clone();
            assert_eq!(
                one_document(&out.stdout)["access_token"],
                expected,
                "{transport} cert: {with_cert}, endpoint: {endpoint:?}"
            );
        }
    }
}

#[test]
fn tls_client_auth_needs_a_certificate_and_a_certificate_needs_its_key() {
    let dir = tempfile::tempdir().unwrap();
    for method in ["tls-client-auth", "self-signed-tls-client-auth"] {
        grantline(dir.path())
            .args(["--client-id", "device-42", "--auth-method", method])
            .args(["--token-endpoint", "https://as.example/token"])
            .args(["token", "client-credentials"])
            .assert()
            .code(3)
            .stderr(predicate::str::contains("--client-cert"));
    }
    grantline(dir.path())
        .args(["--client-id", "device-42", "--client-cert", "c.pem"])
        .args(["--token-endpoint", "https://as.example/token"])
        .args(["token", "client-credentials"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--client-key"));
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "not a certificate").unwrap();
    grantline(dir.path())
        .args([
            "--client-id",
            "device-42",
            "--auth-method",
            "tls-client-auth",
        ])
        .arg("--client-cert")
        .arg(&not_pem)
        .arg("--client-key")
        .arg(&not_pem)
        .args(["--token-endpoint", "https://as.example/token"])
        .args(["token", "client-credentials"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("no PEM certificate"));
}
