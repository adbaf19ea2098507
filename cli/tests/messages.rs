//! What the command says when something goes wrong, run as a user runs it: each message names
//! the command's options (never a library function or option), the request that failed, the
//! server's error code and description; and a scope the server did not grant as asked is
//! warned about without failing the command.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{form, grantline, json, runtime, transports};
use serde_json::json as j;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

/// Library words a command-line user cannot act on.
const LIBRARY_WORDS: &[&str] = &[
    "allow_insecure_http",
    "insecure_http",
    "redirect_uri(",
    "agent",
    "::",
    "()",
    "builder",
];

/// Runs `grantline ARGS` and returns its exit code and stderr (which must be one error line
/// in the command's terms, or nothing but warnings on success).
fn run(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = grantline(dir).args(args).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    for word in LIBRARY_WORDS {
        assert!(!stderr.contains(word), "`{word}` in: {stderr}");
    }
    (out.status.code().unwrap(), stderr)
}

/// Asserts the error is one line, starting `grantline: error: `.
fn one_error_line(stderr: &str) {
    assert!(stderr.starts_with("grantline: error: "), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[test]
fn an_http_endpoint_is_told_to_use_https_or_insecure_http() {
    let dir = tempfile::tempdir().unwrap();
    for endpoint in ["--token-endpoint", "--issuer"] {
        let (code, stderr) = run(
            dir.path(),
            &[
                endpoint,
                "http://as.example/token",
                "--client-id",
                "svc",
                "token",
                "client-credentials",
            ],
        );
        assert_eq!(code, 3, "{stderr}");
        one_error_line(&stderr);
        assert!(
            stderr.contains("plain http on `as.example`") && stderr.contains("--insecure-http"),
            "{stderr}"
        );
    }
}

#[test]
fn a_missing_client_id_or_endpoint_names_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = run(
        dir.path(),
        &[
            "--token-endpoint",
            "http://127.0.0.1:9/token",
            "token",
            "client-credentials",
        ],
    );
    assert_eq!(code, 3, "{stderr}");
    one_error_line(&stderr);
    assert!(stderr.contains("pass --client-id"), "{stderr}");

    let (code, stderr) = run(
        dir.path(),
        &["--client-id", "svc", "token", "client-credentials"],
    );
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("--token-endpoint URL") && stderr.contains("--issuer URL"),
        "{stderr}"
    );

    let (code, stderr) = run(
        dir.path(),
        &["--client-id", "cli", "authorize", "--paste", "--no-browser"],
    );
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("--authorization-endpoint"), "{stderr}");
}

#[test]
fn a_host_that_does_not_resolve_is_named_with_the_request() {
    let dir = tempfile::tempdir().unwrap();
    // `.invalid` never resolves (RFC 6761).
    for transport in transports() {
        let (code, stderr) = run(
            dir.path(),
            &[
                "--transport",
                transport,
                "--insecure-http",
                "--token-endpoint",
                "http://no-such-host.invalid/oauth/token",
                "--client-id",
                "svc",
                "token",
                "client-credentials",
            ],
        );
        assert_eq!(code, 4, "{transport}: {stderr}");
        one_error_line(&stderr);
        assert!(
            stderr.contains("cannot resolve the host `no-such-host.invalid`")
                && stderr.contains("POST http://no-such-host.invalid/oauth/token")
                && stderr.contains("check the host name"),
            "{transport}: {stderr}"
        );
        assert!(!stderr.contains("retry"), "{transport}: {stderr}");
    }
}

#[test]
fn a_refused_connection_and_a_timeout_name_the_request() {
    let dir = tempfile::tempdir().unwrap();
    // A port that was just free: nothing listens on it.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    // A listener that never accepts: the connection opens (the backlog) and no answer comes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    for transport in transports() {
        let url = format!("http://127.0.0.1:{closed}/token");
        let (code, stderr) = run(
            dir.path(),
            &[
                "--transport",
                transport,
                "--token-endpoint",
                &url,
                "--client-id",
                "svc",
                "token",
                "client-credentials",
            ],
        );
        assert_eq!(code, 4, "{transport}: {stderr}");
        one_error_line(&stderr);
        assert!(
            stderr.contains(&format!("could not connect for POST {url}")),
            "{transport}: {stderr}"
        );

        let url = format!("http://127.0.0.1:{silent_port}/token");
        let (code, stderr) = run(
            dir.path(),
            &[
                "--transport",
                transport,
                "--timeout",
                "1",
                "--token-endpoint",
                &url,
                "--client-id",
                "svc",
                "token",
                "client-credentials",
            ],
        );
        assert_eq!(code, 4, "{transport}: {stderr}");
        one_error_line(&stderr);
        assert!(
            stderr.contains(&format!("POST {url} timed out")) && stderr.contains("--timeout"),
            "{transport}: {stderr}"
        );
    }
    drop(silent);
}

#[test]
fn a_proxy_that_does_not_answer_is_named_where_it_was_set() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let proxy = format!("http://127.0.0.1:{closed}");
    let dir = tempfile::tempdir().unwrap();
    for transport in transports() {
        let args = [
            "--transport",
            transport,
            "--token-endpoint",
            "https://as.example/token",
            "--client-id",
            "svc",
            "token",
            "client-credentials",
        ];
        // From the environment, as both transports read it.
        let out = grantline(dir.path())
            .env("HTTPS_PROXY", &proxy)
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(4), "{transport}: {stderr}");
        one_error_line(&stderr);
        assert!(
            stderr.contains("POST https://as.example/token")
                && stderr.contains("the proxy set in $HTTPS_PROXY"),
            "{transport}: {stderr}"
        );
        // From --proxy.
        let (code, stderr) = run(
            dir.path(),
            &[&["--proxy", proxy.as_str()][..], &args].concat(),
        );
        assert_eq!(code, 4, "{transport}: {stderr}");
        assert!(
            stderr.contains("the proxy given with --proxy"),
            "{transport}: {stderr}"
        );
    }
}

#[test]
fn an_oauth_error_shows_the_servers_code_and_description() {
    let rt = runtime();
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(json(
                400,
                j!({
                    "error": "invalid_scope",
                    "error_description": "scope `admin` is not allowed\nfor this client",
                }),
            ))
            .mount(&server)
            .await;
        server
    });
    let dir = tempfile::tempdir().unwrap();
    for transport in transports() {
        let (code, stderr) = run(
            dir.path(),
            &[
                "--transport",
                transport,
                "--token-endpoint",
                &format!("{}/token", server.uri()),
                "--client-id",
                "svc",
                "token",
                "client-credentials",
                "--scope",
                "admin",
            ],
        );
        assert_eq!(code, 5, "{transport}: {stderr}");
        one_error_line(&stderr);
        assert!(
            stderr.contains("OAuth error `invalid_scope` (HTTP 400)")
                && stderr.contains("scope `admin` is not allowed\\nfor this client"),
            "{transport}: {stderr}"
        );
    }
}

#[test]
fn a_scope_the_server_did_not_grant_as_asked_is_warned_about() {
    let rt = runtime();
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        let token = |scope: Option<&str>| {
            let mut body = j!({"access_token": "at-1", "token_type": "Bearer", "expires_in": 60});
            if let Some(scope) = scope {
                body["scope"] = j!(scope);
            }
            json(200, body)
        };
        // Asked for `read write`, granted `read` only.
        Mock::given(method("POST"))
            .and(form(&[("scope", "read write")]))
            .respond_with(token(Some("read")))
            .mount(&server)
            .await;
        // Asked for `read admin`: the same scope back, in another order.
        Mock::given(method("POST"))
            .and(form(&[("scope", "read admin")]))
            .respond_with(token(Some("admin read")))
            .mount(&server)
            .await;
        // Asked for `read`: no `scope` member, which means as asked (RFC 6749 §5.1).
        Mock::given(method("POST"))
            .and(form(&[("scope", "read")]))
            .respond_with(token(None))
            .mount(&server)
            .await;
        server
    });
    let dir = tempfile::tempdir().unwrap();
    let endpoint = format!("{}/token", server.uri());
    let asking = |scope: &str| {
        let out = grantline(dir.path())
            .args(["--token-endpoint", &endpoint, "--client-id", "svc"])
            .args(["token", "client-credentials", "--scope", scope])
            .output()
            .unwrap();
        let stdout: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(stdout["access_token"], "at-1");
        (out.status.code(), String::from_utf8(out.stderr).unwrap())
    };
    let (code, stderr) = asking("read write");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stderr,
        "grantline: warning: the server granted scope `read` instead of the requested `read write`\n"
    );
    let (code, stderr) = asking("read admin");
    assert_eq!((code, stderr.as_str()), (Some(0), ""));
    let (code, stderr) = asking("read");
    assert_eq!((code, stderr.as_str()), (Some(0), ""));
}
