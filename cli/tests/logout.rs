//! `grantline logout` without a server: the end-session URL it prints, and its refusals.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{grantline, one_document};

#[test]
fn logout_prints_the_end_session_url_with_its_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let out = grantline(dir.path())
        .args(["--client-id", "app", "logout", "--no-browser"])
        .args([
            "--end-session-endpoint",
            "https://op.example/logout?tenant=a",
        ])
        .args(["--id-token-hint", "eyJhbGciOiJSUzI1NiJ9.e30.sig"])
        .args(["--post-logout-redirect-uri", "https://app.example/bye"])
        .args(["--state", "-st", "--logout-hint", "alice"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let url = one_document(&out.stdout)["logout_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = url::Url::parse(&url).unwrap();
    assert_eq!(url.host_str(), Some("op.example"));
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let pairs: Vec<(&str, &str)> = query
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("tenant", "a"),
            ("id_token_hint", "eyJhbGciOiJSUzI1NiJ9.e30.sig"),
            ("client_id", "app"),
            ("post_logout_redirect_uri", "https://app.example/bye"),
            ("state", "-st"),
            ("logout_hint", "alice"),
        ]
    );
    // The person is told where to go on stderr.
    assert!(String::from_utf8_lossy(&out.stderr).contains("log out"));
}

#[test]
fn logout_refusals_say_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    // No endpoint: neither given nor discoverable.
    let out = grantline(dir.path())
        .args(["--client-id", "app", "logout", "--no-browser"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--end-session-endpoint"));

    // --forget-token needs a profile.
    let out = grantline(dir.path())
        .args(["logout", "--no-browser", "--forget-token"])
        .args(["--end-session-endpoint", "https://op.example/logout"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--profile"));

    // Plain http to a host that is not loopback.
    let out = grantline(dir.path())
        .args(["logout", "--no-browser"])
        .args(["--end-session-endpoint", "http://op.example/logout"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
}
