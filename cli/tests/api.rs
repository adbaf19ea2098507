//! `grantline api METHOD URL` against loopback mock servers (a token endpoint and a resource),
//! with every transport this build has: a POST with a body and headers, a token the resource
//! rejects (`401 invalid_token`) renewed and the request sent once more, an error status (its
//! body printed, exit code 15), `--include`, a fixed `--token`, and plain http refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{basic, grantline, json, runtime, secret_file, token_json, transports};
use serde_json::json as j;
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT: &str = "svc";

/// A token endpoint that hands out `at-1` first, then `at-2` (each with a refresh token).
fn servers(rt: &tokio::runtime::Runtime) -> MockServer {
    rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(header("authorization", basic(CLIENT).as_str()))
            .respond_with(token_json("at-1"))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(header("authorization", basic(CLIENT).as_str()))
            .respond_with(token_json("at-2"))
            .with_priority(2)
            .mount(&server)
            .await;
        server
    })
}

/// `grantline --transport T --token-endpoint .../token --client-id svc --client-secret-file F`.
fn cli(dir: &std::path::Path, transport: &str, server: &MockServer) -> assert_cmd::Command {
    let mut cmd = grantline(dir);
    cmd.args(["--transport", transport])
        .args(["--token-endpoint", &format!("{}/token", server.uri())])
        .args(["--client-id", CLIENT, "--client-secret-file"])
        .arg(secret_file(dir));
    cmd
}

fn token_requests(rt: &tokio::runtime::Runtime, server: &MockServer) -> Vec<String> {
    rt.block_on(server.received_requests())
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/token")
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

#[test]
fn a_post_with_a_body_and_headers_prints_the_answer_as_it_came() {
    let rt = runtime();
    for transport in transports() {
        let server = servers(&rt);
        rt.block_on(
            Mock::given(method("POST"))
                .and(path("/v1/items"))
                .and(header("authorization", "Bearer at-1"))
                .and(header("content-type", "application/json"))
                .and(header("x-request-id", "42"))
                .and(body_string(r#"{"name":"ada"}"#))
                .respond_with(
                    ResponseTemplate::new(201)
                        .insert_header("content-type", "application/json")
                        .set_body_string("{\"id\": 7}\n"),
                )
                .mount(&server),
        );
        let dir = tempfile::tempdir().unwrap();
        let url = format!("{}/v1/items", server.uri());
        let out = cli(dir.path(), transport, &server)
            .args(["api", "post", &url, "--grant", "client-credentials"])
            .args([
                "-H",
                "Content-Type: application/json",
                "--header",
                "X-Request-Id: 42",
            ])
            .args(["--data", r#"{"name":"ada"}"#])
            .output()
            .unwrap();
        assert!(out.status.success(), "{transport}: {out:?}");
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "{\"id\": 7}\n");

        // The same body from a file, and the query kept.
        let body = dir.path().join("item.json");
        std::fs::write(&body, r#"{"name":"ada"}"#).unwrap();
        rt.block_on(
            Mock::given(method("PUT"))
                .and(path("/v1/items/7"))
                .and(wiremock::matchers::query_param("v", "a b"))
                .and(body_string(r#"{"name":"ada"}"#))
                .respond_with(ResponseTemplate::new(204))
                .mount(&server),
        );
        let out = cli(dir.path(), transport, &server)
            .args(["api", "PUT", &format!("{url}/7?v=a%20b"), "--grant"])
            .args(["client-credentials", "--data"])
            .arg(format!("@{}", body.display()))
            .output()
            .unwrap();
        assert!(out.status.success(), "{transport}: {out:?}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_rejected_token_is_renewed_once_and_the_request_sent_again() {
    let rt = runtime();
    for transport in transports() {
        let server = servers(&rt);
        rt.block_on(async {
            Mock::given(method("GET"))
                .and(path("/me"))
                .and(header("authorization", "Bearer at-1"))
                .respond_with(
                    ResponseTemplate::new(401)
                        .insert_header("www-authenticate", r#"Bearer error="invalid_token""#),
                )
                .mount(&server)
                .await;
            Mock::given(method("GET"))
                .and(path("/me"))
                .and(header("authorization", "Bearer at-2"))
                .respond_with(json(200, j!({"sub": "alice"})))
                .mount(&server)
                .await;
        });
        let dir = tempfile::tempdir().unwrap();
        // A profile with a cached token (at-1, refresh token rt-sentinel).
        cli(dir.path(), transport, &server)
            .args(["profile", "add", "p"])
            .assert()
            .success();
        grantline(dir.path())
            .args(["token", "client-credentials", "--profile", "p"])
            .assert()
            .success();

        let url = format!("{}/me", server.uri());
        let out = grantline(dir.path())
            .args(["api", "GET", &url, "--profile", "p"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{transport}: {out:?}");
        assert_eq!(String::from_utf8(out.stdout).unwrap(), r#"{"sub":"alice"}"#);
        // One renewal, with the cached refresh token.
        let tokens = token_requests(&rt, &server);
        assert_eq!(tokens.len(), 2, "{tokens:?}");
        assert!(tokens[1].contains("grant_type=refresh_token"), "{tokens:?}");
        let resource = rt
            .block_on(server.received_requests())
            .unwrap()
            .into_iter()
            .filter(|r| r.url.path() == "/me")
            .count();
        assert_eq!(resource, 2);

        // The renewed token was cached: the profile's token is at-2 now, without a request.
        let out = grantline(dir.path())
            .args(["token", "--profile", "p"])
            .output()
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["access_token"], "at-2");
        assert_eq!(token_requests(&rt, &server).len(), 2);
    }
}

#[test]
fn an_error_status_prints_the_body_and_exits_15() {
    let rt = runtime();
    for transport in transports() {
        let server = servers(&rt);
        rt.block_on(
            Mock::given(method("GET"))
                .and(path("/broken"))
                .respond_with(
                    ResponseTemplate::new(500)
                        .insert_header("x-trace", "t-9")
                        .set_body_string("database on fire"),
                )
                .mount(&server),
        );
        let dir = tempfile::tempdir().unwrap();
        let url = format!("{}/broken", server.uri());
        let out = cli(dir.path(), transport, &server)
            .args(["api", "GET", &url, "--grant", "client-credentials"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(15), "{transport}: {out:?}");
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "database on fire");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains("500"), "{stderr}");
        // A 500 is not a token problem: no renewal, no resend.
        assert_eq!(token_requests(&rt, &server).len(), 1);

        // --include: the status line and the headers first.
        let out = cli(dir.path(), transport, &server)
            .args(["api", "GET", &url, "--grant", "client-credentials", "-i"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(15));
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(stdout.starts_with("HTTP/1.1 500"), "{stdout}");
        assert!(stdout.contains("x-trace: t-9\r\n"), "{stdout}");
        assert!(stdout.ends_with("\r\n\r\ndatabase on fire"), "{stdout}");
    }
}

#[test]
fn a_fixed_token_and_the_plain_http_rule() {
    let rt = runtime();
    let server = servers(&rt);
    rt.block_on(
        Mock::given(method("DELETE"))
            .and(path("/items/1"))
            .and(header("authorization", "Bearer given-token"))
            .respond_with(ResponseTemplate::new(200).set_body_string("gone"))
            .mount(&server),
    );
    let dir = tempfile::tempdir().unwrap();
    for transport in transports() {
        let out = grantline(dir.path())
            .args(["--transport", transport, "api", "delete"])
            .arg(format!("{}/items/1", server.uri()))
            .args(["--token", "given-token"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{transport}: {out:?}");
        assert_eq!(out.stdout, b"gone");

        // Plain http to a host that is not loopback: refused before anything is sent (3).
        let out = grantline(dir.path())
            .args([
                "--transport",
                transport,
                "api",
                "GET",
                "http://api.example/x",
            ])
            .args(["--token", "given-token"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--insecure-http"));
    }
    // No token at all: a configuration error naming the ways to get one.
    let out = grantline(dir.path())
        .args(["api", "GET", &format!("{}/items/1", server.uri())])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--profile"));
}

#[test]
fn a_token_that_cannot_be_had_fails_with_the_grants_exit_code() {
    let rt = runtime();
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(json(
                401,
                j!({"error": "invalid_client", "error_description": "who are you"}),
            ))
            .mount(&server)
            .await;
        server
    });
    let dir = tempfile::tempdir().unwrap();
    for transport in transports() {
        let out = cli(dir.path(), transport, &server)
            .args(["api", "GET", &format!("{}/me", server.uri())])
            .args(["--grant", "client-credentials"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(6), "{transport}: {out:?}");
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("invalid_client"), "{stderr}");
    }
    // The resource was never called without a token.
    let resource = rt
        .block_on(server.received_requests())
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/me")
        .count();
    assert_eq!(resource, 0);
}
