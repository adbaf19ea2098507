//! `--ca-cert`: a token endpoint on loopback behind TLS with a self-signed certificate (as a
//! company's broker often is) is refused by default (a network error, exit code 4) and reached
//! when its certificate is given, with every transport.
//!
//! The certificate and key in `tests/fixtures/` are test fixtures made for this test only
//! (`openssl req -x509 -newkey ec ...`, valid for 127.0.0.1 and localhost until 2126).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use common::{grantline, one_document, transports};
use predicates::prelude::*;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// Serves up to `connections` TLS connections on 127.0.0.1, answering each request with a
/// token; returns the port.
fn tls_token_server(connections: usize) -> u16 {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(fixture("loopback-cert.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
    let key = PrivateKeyDer::from_pem_file(fixture("loopback-key.pem")).unwrap();
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let Ok(stream) = stream else { return };
            let connection = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
            let mut tls = rustls::StreamOwned::new(connection, stream);
            // A client that refuses the certificate ends the handshake: read fails, next.
            let mut reader = BufReader::new(&mut tls);
            let mut length = 0usize;
            let mut ok = false;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    ok = true;
                    break;
                }
            }
            if !ok {
                continue;
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let json = r#"{"access_token":"at-over-tls","token_type":"Bearer","expires_in":60}"#;
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
    port
}

#[test]
fn a_self_signed_server_is_refused_by_default_and_trusted_with_ca_cert() {
    let dir = tempfile::tempdir().unwrap();
    let port = tls_token_server(4 * transports().len());
    let endpoint = format!("https://127.0.0.1:{port}/token");
    for transport in transports() {
        grantline(dir.path())
            .args(["--transport", transport, "--client-id", "svc"])
            .args(["--token-endpoint", &endpoint, "token", "client-credentials"])
            .assert()
            .code(4)
            .stderr(predicate::str::contains("grantline: error: "));

        let out = grantline(dir.path())
            .args(["--transport", transport, "--client-id", "svc", "--ca-cert"])
            .arg(fixture("loopback-cert.pem"))
            .args(["--token-endpoint", &endpoint, "token", "client-credentials"])
            .assert()
            .success()
            .get_output()
            .clone();
        assert_eq!(
            one_document(&out.stdout)["access_token"],
            "at-over-tls",
            "{transport}"
        );
    }
}
