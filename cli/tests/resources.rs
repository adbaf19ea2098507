//! `introspect`, `revoke`, `userinfo` and `decode` against loopback mock servers: success, the
//! token read from stdin, and the main failures with their exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use base64::Engine as _;
use common::{SECRET, basic, form, grantline, json, one_document, runtime, transports};
use predicates::prelude::*;
use serde_json::json as j;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn server(rt: &tokio::runtime::Runtime) -> MockServer {
    rt.block_on(async {
        let server = MockServer::start().await;
        let issuer = server.uri();
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(json(
                200,
                j!({
                    "issuer": issuer,
                    "token_endpoint": format!("{issuer}/token"),
                    "introspection_endpoint": format!("{issuer}/introspect"),
                    "revocation_endpoint": format!("{issuer}/revoke"),
                    "userinfo_endpoint": format!("{issuer}/userinfo"),
                }),
            ))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/introspect"))
            .and(header("authorization", basic("rs").as_str()))
            .and(form(&[
                ("token", "at-live"),
                ("token_type_hint", "access_token"),
            ]))
            .respond_with(json(
                200,
                j!({"active": true, "sub": "alice", "scope": "read", "tenant": "t1"}),
            ))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/introspect"))
            .and(form(&[("token", "at-dead")]))
            .respond_with(json(200, j!({"active": false})))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/revoke"))
            .and(form(&[
                ("token", "rt-1"),
                ("token_type_hint", "refresh_token"),
            ]))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/revoke"))
            .and(form(&[("token", "broken")]))
            .respond_with(
                ResponseTemplate::new(500)
                    .insert_header("content-type", "text/html")
                    .set_body_string("<h1>oops</h1>"),
            )
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/userinfo"))
            .and(header("authorization", "Bearer at-live"))
            .respond_with(json(
                200,
                j!({"sub": "alice", "email": "alice@example.com"}),
            ))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/userinfo"))
            .respond_with(ResponseTemplate::new(401).insert_header(
                "www-authenticate",
                r#"Bearer error="invalid_token", error_description="the token expired""#,
            ))
            .with_priority(10)
            .mount(&server)
            .await;
        server
    })
}

#[test]
fn introspect_prints_the_servers_answer() {
    let rt = runtime();
    let server = server(&rt);
    let dir = tempfile::tempdir().unwrap();
    for transport in transports() {
        let out = grantline(dir.path())
            .args(["--transport", transport, "--issuer", &server.uri()])
            .args(["--client-id", "rs", "--client-secret", SECRET])
            .args(["introspect", "--token-type-hint", "access_token", "-"])
            .write_stdin("at-live\n")
            .assert()
            .success()
            .get_output()
            .clone();
        let doc = one_document(&out.stdout);
        assert_eq!(doc["active"], true);
        assert_eq!(doc["tenant"], "t1");

        grantline(dir.path())
            .args(["--transport", transport, "--issuer", &server.uri()])
            .args(["--client-id", "rs", "--client-secret", SECRET])
            .args(["introspect", "at-dead"])
            .assert()
            .success()
            .stdout("{\"active\":false}\n")
            .stderr(predicate::str::contains("not active"));
    }
}

#[test]
fn revoke_says_revoked_or_fails_unconfirmed() {
    let rt = runtime();
    let server = server(&rt);
    let dir = tempfile::tempdir().unwrap();
    for transport in transports() {
        grantline(dir.path())
            .args([
                "--transport",
                transport,
                "--issuer",
                &server.uri(),
                "--client-id",
                "app",
            ])
            .args(["revoke", "--token-type-hint", "refresh-token", "rt-1"])
            .assert()
            .success()
            .stdout("{\"revoked\":true}\n");
        grantline(dir.path())
            .args([
                "--transport",
                transport,
                "--issuer",
                &server.uri(),
                "--client-id",
                "app",
            ])
            .args(["revoke", "broken"])
            .assert()
            .code(10)
            .stdout("")
            .stderr(
                predicate::str::contains("not confirmed").and(predicate::str::contains("HTTP 500")),
            );
    }
}

#[test]
fn userinfo_with_a_token_and_without_a_client_id() {
    let rt = runtime();
    let server = server(&rt);
    let dir = tempfile::tempdir().unwrap();
    for transport in transports() {
        let out = grantline(dir.path())
            .args(["--transport", transport, "--issuer", &server.uri()])
            .args(["userinfo", "at-live"])
            .assert()
            .success()
            .get_output()
            .clone();
        assert_eq!(one_document(&out.stdout)["email"], "alice@example.com");

        // The wrong user: the flow refuses the answer.
        grantline(dir.path())
            .args(["--transport", transport, "--issuer", &server.uri()])
            .args(["userinfo", "--expect-subject", "bob", "at-live"])
            .assert()
            .code(12);

        // An expired token: the resource server's invalid_token, an OAuth error.
        grantline(dir.path())
            .args(["--transport", transport, "--issuer", &server.uri()])
            .args(["userinfo", "at-old"])
            .assert()
            .code(5)
            .stderr(
                predicate::str::contains("invalid_token")
                    .and(predicate::str::contains("the token expired")),
            );
    }
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[test]
fn decode_shows_header_and_claims_unverified() {
    let dir = tempfile::tempdir().unwrap();
    let token = format!(
        "{}.{}.c2ln",
        b64(r#"{"alg":"RS256","kid":"k1"}"#),
        b64(r#"{"sub":"alice","exp":4102444800}"#)
    );
    let out = grantline(dir.path())
        .args(["decode", &token])
        .assert()
        .success()
        .stderr(predicate::str::contains("not verified"))
        .get_output()
        .clone();
    let doc = one_document(&out.stdout);
    assert_eq!(doc["header"]["kid"], "k1");
    assert_eq!(doc["claims"]["sub"], "alice");
    assert_eq!(doc["signature"], "not verified");
    assert!(
        doc["times"]["exp"]
            .as_str()
            .unwrap()
            .starts_with("2100-01-01T00:00:00Z")
    );

    // From stdin, as in `... | jq -r .id_token | grantline decode -`.
    grantline(dir.path())
        .arg("decode")
        .arg("-")
        .write_stdin(format!("{token}\n"))
        .assert()
        .success()
        .stdout(predicate::str::contains("\"sub\":\"alice\""));

    grantline(dir.path())
        .args(["decode", "not-a-jwt"])
        .assert()
        .code(13)
        .stderr(predicate::str::contains("not a JWT"));
}
