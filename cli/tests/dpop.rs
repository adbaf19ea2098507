//! `--dpop` and `--dpop-key` against a loopback token endpoint that records the DPoP proofs it
//! receives: a profile keeps its key (every run proves possession of the same key), a key file
//! is used as given, and a profile refuses a key other than its own.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{grantline, json, runtime, secret_file, transports};
use serde_json::json as j;
use wiremock::matchers::{header_exists, method, path};
use wiremock::{Mock, MockServer};

fn server(rt: &tokio::runtime::Runtime) -> MockServer {
    rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(header_exists("dpop"))
            .respond_with(json(
                200,
                j!({"access_token": "at-dpop", "token_type": "DPoP", "expires_in": 3600}),
            ))
            .mount(&server)
            .await;
        server
    })
}

/// The public JWK in the header of each DPoP proof the server received.
fn proof_keys(rt: &tokio::runtime::Runtime, server: &MockServer) -> Vec<serde_json::Value> {
    use base64::Engine as _;
    rt.block_on(server.received_requests())
        .unwrap()
        .iter()
        .map(|r| {
            let proof = r.headers.get("dpop").unwrap().to_str().unwrap();
            let header = proof.split('.').next().unwrap();
            let header: serde_json::Value = serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(header)
                    .unwrap(),
            )
            .unwrap();
            assert_eq!(header["typ"], "dpop+jwt");
            assert!(header["jwk"].get("d").is_none(), "the public key only");
            header["jwk"].clone()
        })
        .collect()
}

fn keys_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/keys")
}

#[test]
fn a_profile_keeps_its_dpop_key_across_runs() {
    let rt = runtime();
    for transport in transports() {
        let server = server(&rt);
        let dir = tempfile::tempdir().unwrap();
        grantline(dir.path())
            .args(["--transport", transport, "--client-id", "svc"])
            .args(["--token-endpoint", &format!("{}/token", server.uri())])
            .arg("--client-secret-file")
            .arg(secret_file(dir.path()))
            .args(["profile", "add", "p", "--dpop"])
            .assert()
            .success();
        for _ in 0..2 {
            let out = grantline(dir.path())
                .args(["token", "client-credentials", "--profile", "p"])
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
        }
        let keys = proof_keys(&rt, &server);
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0], keys[1], "the same key in both runs");
        assert_eq!(keys[0]["crv"], "P-256");
        // `profile show` says where the key is, never the key.
        let out = grantline(dir.path())
            .args(["profile", "show", "p"])
            .output()
            .unwrap();
        let shown = String::from_utf8(out.stdout).unwrap();
        assert!(shown.contains("secrets.json"), "{shown}");
        assert!(!shown.contains(keys[0]["x"].as_str().unwrap()), "{shown}");

        // Another key for this profile: refused, its tokens are bound to its own.
        let out = grantline(dir.path())
            .args([
                "token",
                "client-credentials",
                "--profile",
                "p",
                "--dpop-key",
            ])
            .arg(keys_dir().join("client-es256.private.pem"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("another DPoP key"));
        assert_eq!(proof_keys(&rt, &server).len(), 2);
    }
}

#[test]
fn a_key_file_is_used_as_given_and_kept_by_a_profile_without_one() {
    let rt = runtime();
    let pem = keys_dir().join("client-es256.private.pem");
    let jwk: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(keys_dir().join("client-es256.private.jwk.json")).unwrap(),
    )
    .unwrap();
    for transport in transports() {
        let server = server(&rt);
        let dir = tempfile::tempdir().unwrap();
        grantline(dir.path())
            .args(["--transport", transport, "--client-id", "svc"])
            .args(["--token-endpoint", &format!("{}/token", server.uri())])
            .arg("--client-secret-file")
            .arg(secret_file(dir.path()))
            .args(["profile", "add", "p"])
            .assert()
            .success();
        // The first run with --dpop-key gives the profile its key; the next needs no option.
        let out = grantline(dir.path())
            .args([
                "token",
                "client-credentials",
                "--profile",
                "p",
                "--dpop-key",
            ])
            .arg(&pem)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("now uses DPoP"));
        grantline(dir.path())
            .args(["token", "client-credentials", "--profile", "p"])
            .assert()
            .success();
        let keys = proof_keys(&rt, &server);
        assert_eq!(keys.len(), 2);
        for key in &keys {
            assert_eq!(key["x"], jwk["x"], "the key of the file");
        }
        let profiles = std::fs::read_to_string(dir.path().join("profiles.json")).unwrap();
        assert!(!profiles.contains("PRIVATE KEY"), "{profiles}");
    }
}
