//! `grantline device` and `grantline ciba` against scripted loopback servers that record when
//! each poll arrives: through `authorization_pending` and `slow_down` to a token, with the
//! clock run 20 times faster (`--time-scale`, a testing aid) so the intervals are measurable in
//! milliseconds. Also the denied, expired and script-readable cases.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{form, grantline, json, one_document, runtime, token_json, transports};
use predicates::prelude::*;
use serde_json::json as j;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const SCALE: u32 = 20;

/// Answers from a script (the last answer repeats), recording when each request came.
struct Script {
    replies: Mutex<VecDeque<ResponseTemplate>>,
    last: ResponseTemplate,
    times: Arc<Mutex<Vec<Instant>>>,
}

impl Respond for Script {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        self.times.lock().unwrap().push(Instant::now());
        self.replies
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| self.last.clone())
    }
}

fn oauth_error(code: &str) -> ResponseTemplate {
    json(400, j!({ "error": code }))
}

/// A server with a device endpoint (interval 2 s) and a token endpoint playing `polls`, then
/// `last` for good. Returns the server and the times of the token requests.
fn device_server(
    rt: &tokio::runtime::Runtime,
    expires_in: u64,
    polls: Vec<ResponseTemplate>,
    last: ResponseTemplate,
) -> (MockServer, Arc<Mutex<Vec<Instant>>>) {
    let times = Arc::new(Mutex::new(Vec::new()));
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/device"))
            .and(form(&[("client_id", "tv"), ("scope", "openid profile")]))
            .respond_with(json(
                200,
                j!({
                    "device_code": "dc-sentinel",
                    "user_code": "WDJB-MJHT",
                    "verification_uri": "https://as.example/activate",
                    "verification_uri_complete": "https://as.example/activate?user_code=WDJB-MJHT",
                    "expires_in": expires_in,
                    "interval": 2,
                }),
            ))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", "dc-sentinel"),
            ]))
            .respond_with(Script {
                replies: Mutex::new(polls.into()),
                last,
                times: Arc::clone(&times),
            })
            .mount(&server)
            .await;
        server
    });
    (server, times)
}

fn device(dir: &std::path::Path, server: &MockServer, transport: &str) -> assert_cmd::Command {
    device_with_scope(
        dir,
        server,
        transport,
        &["--scope", "openid", "--scope", "profile"],
    )
}

fn device_with_scope(
    dir: &std::path::Path,
    server: &MockServer,
    transport: &str,
    scope: &[&str],
) -> assert_cmd::Command {
    let mut cmd = grantline(dir);
    cmd.args(["--transport", transport, "--client-id", "tv"])
        .args(["--time-scale", &SCALE.to_string()])
        .arg("--device-authorization-endpoint")
        .arg(format!("{}/device", server.uri()))
        .arg("--token-endpoint")
        .arg(format!("{}/token", server.uri()))
        .arg("device")
        .args(scope);
    cmd
}

#[test]
fn an_unvalidated_id_token_is_warned_about_only_when_openid_was_asked_for() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let transport = transports()[0];
    for (scope, warned) in [
        (&["--scope", "openid"], true),
        (&["--scope", "read"], false),
    ] {
        // Any scope is accepted; the token comes at the first poll, without an ID token.
        let server = rt.block_on(async {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .and(path("/device"))
                .respond_with(json(
                    200,
                    j!({"device_code": "dc", "user_code": "WDJB-MJHT",
                        "verification_uri": "https://as.example/activate",
                        "expires_in": 300, "interval": 1}),
                ))
                .mount(&server)
                .await;
            Mock::given(method("POST"))
                .and(path("/token"))
                .respond_with(token_json("at-device"))
                .mount(&server)
                .await;
            server
        });
        let out = device_with_scope(dir.path(), &server, transport, scope)
            .assert()
            .success()
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.contains("not validated"),
            warned,
            "{scope:?}: {stderr}"
        );
    }
}

fn real(flow_seconds: u64) -> Duration {
    Duration::from_secs(flow_seconds) / SCALE
}

#[test]
fn device_polls_through_pending_and_slow_down_to_a_token() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    for transport in transports() {
        let (server, times) = device_server(
            &rt,
            300,
            vec![
                oauth_error("authorization_pending"),
                oauth_error("slow_down"),
                oauth_error("authorization_pending"),
            ],
            token_json("at-device"),
        );
        let out = device(dir.path(), &server, transport)
            .assert()
            .success()
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // What a script reads (stderr is not a terminal here), and what a person reads.
        for line in [
            "\nuser_code=WDJB-MJHT\n",
            "\nverification_uri=https://as.example/activate\n",
            "\nverification_uri_complete=https://as.example/activate?user_code=WDJB-MJHT\n",
            "\nexpires_in=300\n",
            "    WDJB-MJHT\n",
            "poll 1: authorization_pending; polling every 2s",
            "poll 2: slow_down; polling every 7s",
            "poll 3: authorization_pending; polling every 7s",
            "grantline: approved",
        ] {
            assert!(
                stderr.contains(line),
                "{transport}: missing {line:?} in {stderr}"
            );
        }
        assert!(!stderr.contains('█'), "no QR code off a terminal");
        assert!(!stderr.contains("dc-sentinel"));
        assert_eq!(one_document(&out.stdout)["access_token"], "at-device");

        // The server saw the intervals: 2 s, 2 s, then 7 s after slow_down, for good.
        let times = times.lock().unwrap().clone();
        assert_eq!(times.len(), 4, "{transport}");
        let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps[0] >= real(2), "{gaps:?}");
        assert!(gaps[1] >= real(7), "{gaps:?}");
        assert!(gaps[2] >= real(7), "{gaps:?}");
    }
}

#[test]
fn device_denied_and_expired_have_their_exit_codes() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    for transport in transports() {
        let (server, _) = device_server(&rt, 300, vec![], oauth_error("access_denied"));
        device(dir.path(), &server, transport)
            .assert()
            .code(8)
            .stdout("")
            .stderr(predicate::str::contains("access_denied"));

        let (server, _) = device_server(&rt, 300, vec![], oauth_error("expired_token"));
        device(dir.path(), &server, transport).assert().code(9);

        // The device code's own lifetime (5 s) runs out while the user never approves.
        let (server, times) = device_server(&rt, 5, vec![], oauth_error("authorization_pending"));
        device(dir.path(), &server, transport)
            .assert()
            .code(9)
            .stderr(predicate::str::contains("expired"));
        assert!(times.lock().unwrap().len() <= 2);
    }
}

#[test]
fn ciba_polls_until_the_user_approves() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    for transport in transports() {
        let times = Arc::new(Mutex::new(Vec::new()));
        let server = rt.block_on(async {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .and(path("/bc-authorize"))
                .and(form(&[
                    ("login_hint", "alice@example.com"),
                    ("binding_message", "W4SCT"),
                    ("scope", "openid"),
                ]))
                .respond_with(json(
                    200,
                    j!({"auth_req_id": "req-sentinel", "expires_in": 120, "interval": 2}),
                ))
                .mount(&server)
                .await;
            Mock::given(method("POST"))
                .and(path("/token"))
                .and(form(&[
                    ("grant_type", "urn:openid:params:grant-type:ciba"),
                    ("auth_req_id", "req-sentinel"),
                ]))
                .respond_with(Script {
                    replies: Mutex::new(vec![oauth_error("authorization_pending")].into()),
                    last: token_json("at-ciba"),
                    times: Arc::clone(&times),
                })
                .mount(&server)
                .await;
            server
        });
        let out = grantline(dir.path())
            .args(["--transport", transport, "--client-id", "desk"])
            .args(["--client-secret", common::SECRET])
            .args(["--time-scale", &SCALE.to_string()])
            .arg("--backchannel-authentication-endpoint")
            .arg(format!("{}/bc-authorize", server.uri()))
            .arg("--token-endpoint")
            .arg(format!("{}/token", server.uri()))
            .args([
                "ciba",
                "--login-hint",
                "alice@example.com",
                "--binding-message",
                "W4SCT",
            ])
            .assert()
            .success()
            .get_output()
            .clone();
        assert_eq!(one_document(&out.stdout)["access_token"], "at-ciba");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("W4SCT") && stderr.contains("poll 1: authorization_pending"),
            "{stderr}"
        );
        assert!(!stderr.contains("req-sentinel"));
        assert_eq!(times.lock().unwrap().len(), 2);
    }
    // Who to authenticate is required: a usage error.
    grantline(dir.path())
        .args(["--client-id", "desk", "ciba"])
        .assert()
        .code(2);
}
