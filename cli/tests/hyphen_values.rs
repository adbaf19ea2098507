//! Every argument that carries a token, secret, code or assertion takes a value that starts with
//! `-`: about 1 in 64 of a real server's tokens do, and clap would read them as flags.
//!
//! Each case runs the command against a loopback server that records what it receives, and
//! checks that the value reached the server as it was given (not only that clap accepted it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{grantline, json, runtime, token_json};
use serde_json::json as j;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request};

/// A server that answers every POST to `/token` with a token, every other request with a
/// generic answer, and keeps what it received.
fn server(rt: &tokio::runtime::Runtime) -> MockServer {
    rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(token_json("at-1"))
            .mount(&server)
            .await;
        Mock::given(path("/introspect"))
            .respond_with(json(200, j!({"active": false})))
            .mount(&server)
            .await;
        Mock::given(path("/userinfo"))
            .respond_with(json(200, j!({"sub": "alice"})))
            .mount(&server)
            .await;
        Mock::given(path("/reg"))
            .respond_with(json(201, j!({"client_id": "new-client"})))
            .mount(&server)
            .await;
        Mock::given(path("/backchannel"))
            .respond_with(json(400, j!({"error": "unknown_user_id"})))
            .mount(&server)
            .await;
        Mock::given(path("/revoke"))
            .respond_with(wiremock::ResponseTemplate::new(200))
            .mount(&server)
            .await;
        server
    })
}

/// What the server saw: every request's headers and body, as text.
fn seen(rt: &tokio::runtime::Runtime, server: &MockServer) -> String {
    let requests: Vec<Request> = rt.block_on(server.received_requests()).unwrap_or_default();
    requests
        .iter()
        .map(|r| {
            let form: String = url::form_urlencoded::parse(&r.body)
                .map(|(n, v)| format!("{n}={v}\n"))
                .collect();
            format!(
                "{:?}\n{}\n{form}",
                r.headers,
                String::from_utf8_lossy(&r.body)
            )
        })
        .collect()
}

/// Runs `grantline <endpoints> <args>` and checks that `expected` reached the server.
fn assert_reaches_server(args: &[&str], expected: &str) {
    let rt = runtime();
    let server = server(&rt);
    let dir = tempfile::tempdir().unwrap();
    let uri = server.uri();
    let endpoints = [
        format!("--token-endpoint={uri}/token"),
        format!("--introspection-endpoint={uri}/introspect"),
        format!("--revocation-endpoint={uri}/revoke"),
        format!("--userinfo-endpoint={uri}/userinfo"),
        format!("--backchannel-authentication-endpoint={uri}/backchannel"),
        "--client-id=app".to_owned(),
    ];
    let output = grantline(dir.path())
        .env("GRANTLINE_CLIENT_SECRET", "env-secret")
        .args(&endpoints)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(2), "{args:?}: {stderr}");
    let seen = seen(&rt, &server);
    assert!(
        seen.contains(expected),
        "{args:?}: `{expected}` did not reach the server; stderr: {stderr}"
    );
}

#[test]
fn client_secret() {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode("app:-s3cr3t");
    assert_reaches_server(
        &["--client-secret", "-s3cr3t", "token", "client-credentials"],
        &basic,
    );
}

#[test]
fn refresh_token() {
    assert_reaches_server(&["token", "refresh", "-rt-1"], "refresh_token=-rt-1\n");
}

#[test]
fn refresh_token_before_an_option() {
    assert_reaches_server(
        &["token", "refresh", "-rt-2", "--scope", "read"],
        "refresh_token=-rt-2\n",
    );
}

#[test]
fn password() {
    assert_reaches_server(
        &["token", "password", "--username", "u", "--password", "-pw"],
        "password=-pw\n",
    );
}

#[test]
fn subject_token() {
    assert_reaches_server(
        &["token", "exchange", "--subject-token", "-st"],
        "subject_token=-st\n",
    );
}

#[test]
fn actor_token() {
    assert_reaches_server(
        &[
            "token",
            "exchange",
            "--subject-token",
            "st",
            "--actor-token",
            "-at",
            "--actor-token-type",
            "access_token",
        ],
        "actor_token=-at\n",
    );
}

#[test]
fn assertion() {
    assert_reaches_server(
        &["token", "jwt-bearer", "--assertion", "-h.p.s"],
        "assertion=-h.p.s\n",
    );
}

#[test]
fn login_hint_token() {
    assert_reaches_server(
        &["ciba", "--scope", "openid", "--login-hint-token", "-lht"],
        "login_hint_token=-lht\n",
    );
}

#[test]
fn id_token_hint() {
    assert_reaches_server(
        &["ciba", "--scope", "openid", "--id-token-hint", "-h.p.s"],
        "id_token_hint=-h.p.s\n",
    );
}

#[test]
fn user_code() {
    assert_reaches_server(
        &[
            "ciba",
            "--scope",
            "openid",
            "--login-hint",
            "alice",
            "--user-code",
            "-42",
        ],
        "user_code=-42\n",
    );
}

#[test]
fn introspected_token() {
    assert_reaches_server(&["introspect", "-tok"], "token=-tok\n");
}

#[test]
fn revoked_token() {
    assert_reaches_server(
        &["revoke", "-tok", "--token-type-hint", "refresh_token"],
        "token=-tok\n",
    );
}

#[test]
fn userinfo_token() {
    assert_reaches_server(&["userinfo", "-at"], "Bearer -at");
}

#[test]
fn initial_access_token() {
    let rt = runtime();
    let server = server(&rt);
    let uri = server.uri();
    let dir = tempfile::tempdir().unwrap();
    let output = grantline(dir.path())
        .args([
            "register",
            "--registration-endpoint",
            &format!("{uri}/reg"),
            "--initial-access-token",
            "-iat",
            "--software-statement",
            "-h.p.s",
            "--redirect-uri",
            "http://127.0.0.1/cb",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(2), "{stderr}");
    let seen = seen(&rt, &server);
    assert!(seen.contains("Bearer -iat"), "{stderr}");
    assert!(
        seen.contains(r#""software_statement":"-h.p.s""#),
        "{stderr}"
    );
}

#[test]
fn decoded_jwt() {
    let dir = tempfile::tempdir().unwrap();
    let output = grantline(dir.path())
        .args(["decode", "-abc.def"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not a JWT"), "{stderr}");
}

#[test]
fn api_token_and_body() {
    let rt = runtime();
    let server = server(&rt);
    let uri = server.uri();
    let dir = tempfile::tempdir().unwrap();
    let output = grantline(dir.path())
        .args(["api", "POST", &format!("{uri}/userinfo"), "--token", "-at"])
        .args(["--data", "-body", "--header", "X-Key: -k"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let seen = seen(&rt, &server);
    assert!(seen.contains("Bearer -at"), "{seen}");
    assert!(seen.contains("-body"), "{seen}");
    assert!(seen.contains("\"-k\""), "{seen}");
}

#[test]
fn logout_id_token_hint() {
    let dir = tempfile::tempdir().unwrap();
    let output = grantline(dir.path())
        .args(["logout", "--no-browser", "--end-session-endpoint"])
        .args(["https://op.example/logout", "--id-token-hint", "-h.p.s"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains("id_token_hint=-h.p.s"), "{stdout}");
}
