//! `grantline token` and `grantline discover` against loopback mock servers, with every
//! transport this build has: each grant's form, discovery, the output rules (one compact JSON
//! document on a pipe, `--output text`), and the main failures with their exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{
    SECRET, basic, form, grantline, json, one_document, runtime, secret_file, token_json,
    transports,
};
use predicates::prelude::*;
use serde_json::json as j;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer};

fn token_server(rt: &tokio::runtime::Runtime, client_id: &str) -> MockServer {
    rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(header("authorization", basic(client_id).as_str()))
            .respond_with(token_json("at-1"))
            .mount(&server)
            .await;
        // Any other credentials: the server's invalid_client.
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(json(
                401,
                j!({"error": "invalid_client", "error_description": "client authentication failed"}),
            ))
            .with_priority(10)
            .mount(&server)
            .await;
        server
    })
}

#[test]
fn client_credentials_prints_one_json_document_on_a_pipe() {
    let rt = runtime();
    let server = token_server(&rt, "svc");
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(form(&[
                ("grant_type", "client_credentials"),
                ("scope", "read write"),
                ("resource", "https://api.example/"),
                ("audience", "backend"),
                ("tenant", "acme"),
            ]))
            // The scope asked for, granted (another one would be warned about on stderr).
            .respond_with(json(
                200,
                j!({"access_token": "at-with-params", "token_type": "Bearer",
                    "expires_in": 3600, "scope": "write read"}),
            ))
            .with_priority(1)
            .mount(&server),
    );
    for transport in transports() {
        let out = grantline(dir.path())
            .args(["--transport", transport, "--client-id", "svc"])
            .arg("--token-endpoint")
            .arg(format!("{}/token", server.uri()))
            .arg("--client-secret-file")
            .arg(secret_file(dir.path()))
            .args([
                "token",
                "client-credentials",
                "--scope",
                "read",
                "--scope",
                "write",
            ])
            .args([
                "--resource",
                "https://api.example/",
                "--audience",
                "backend",
            ])
            .args(["--param", "tenant=acme"])
            .assert()
            .success()
            .get_output()
            .clone();
        let doc = one_document(&out.stdout);
        assert_eq!(doc["access_token"], "at-with-params", "{transport}");
        assert_eq!(doc["token_type"], "Bearer");
        let expires_in = doc["expires_in"].as_u64().unwrap();
        assert!((3590..=3600).contains(&expires_in), "{expires_in}");
        assert!(doc["expires_at"].as_u64().unwrap() > 1_700_000_000);
        assert!(String::from_utf8_lossy(&out.stderr).is_empty(), "{out:?}");
    }
}

#[test]
fn discovery_gives_the_endpoints_and_discover_prints_the_metadata() {
    let rt = runtime();
    let server = token_server(&rt, "svc");
    let issuer = server.uri();
    rt.block_on(
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(json(
                200,
                j!({
                    "issuer": issuer,
                    "token_endpoint": format!("{issuer}/token"),
                    "x-custom": "kept",
                }),
            ))
            .mount(&server),
    );
    let dir = tempfile::tempdir().unwrap();
    for transport in transports() {
        let out = grantline(dir.path())
            .args(["--transport", transport, "--issuer", &issuer, "discover"])
            .assert()
            .success()
            .get_output()
            .clone();
        let doc = one_document(&out.stdout);
        assert_eq!(doc["issuer"], issuer.as_str());
        assert_eq!(doc["x-custom"], "kept");

        // The script form the interop tests use.
        let out = grantline(dir.path())
            .args(["--transport", transport, "--issuer", &issuer])
            .args(["--client-id", "svc", "--client-secret", SECRET])
            .args(["token", "client-credentials", "--scope", "read"])
            .assert()
            .success()
            .get_output()
            .clone();
        assert_eq!(one_document(&out.stdout)["access_token"], "at-1");
    }
}

#[test]
fn a_wrong_secret_is_invalid_client_with_its_exit_code() {
    let rt = runtime();
    let server = token_server(&rt, "svc");
    let dir = tempfile::tempdir().unwrap();
    for transport in transports() {
        grantline(dir.path())
            .args(["--transport", transport, "--client-id", "svc"])
            .args(["--client-secret", "wrong"])
            .arg("--token-endpoint")
            .arg(format!("{}/token", server.uri()))
            .args(["token", "client-credentials"])
            .assert()
            .code(6)
            .stdout("")
            .stderr(
                predicate::str::contains("grantline: error: ")
                    .and(predicate::str::contains("`invalid_client` (HTTP 401)"))
                    .and(predicate::str::contains("client authentication failed"))
                    .and(predicate::function(|s: &str| s.lines().count() == 1)),
            );
    }
}

#[test]
fn the_secret_comes_from_the_environment_and_never_shows() {
    let rt = runtime();
    let server = token_server(&rt, "svc");
    let dir = tempfile::tempdir().unwrap();
    let out = grantline(dir.path())
        .env("GRANTLINE_CLIENT_SECRET", SECRET)
        .env("GRANTLINE_CLIENT_ID", "svc")
        .arg("--token-endpoint")
        .arg(format!("{}/token", server.uri()))
        .args(["token", "client-credentials"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(one_document(&out.stdout)["access_token"], "at-1");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(SECRET));
    // An option given on the command line wins over the environment.
    grantline(dir.path())
        .env("GRANTLINE_CLIENT_SECRET", "wrong")
        .args(["--client-id", "svc", "--client-secret-file"])
        .arg(secret_file(dir.path()))
        .arg("--token-endpoint")
        .arg(format!("{}/token", server.uri()))
        .args(["token", "client-credentials"])
        .assert()
        .success();
    // Not even in the help (where the global options are), which shows other variables' values.
    grantline(dir.path())
        .env("GRANTLINE_CLIENT_SECRET", SECRET)
        .args(["--help"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("GRANTLINE_CLIENT_SECRET")
                .and(predicate::str::contains(SECRET).not()),
        );
}

/// Arguments after `token`, the form the server expects, and what goes to stdin.
type GrantCase<'a> = (Vec<String>, Vec<(&'static str, &'a str)>, Option<&'a str>);

#[test]
fn every_grant_sends_its_form() {
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    let dir = tempfile::tempdir().unwrap();
    let assertion_file = dir.path().join("assertion.jwt");
    std::fs::write(
        &assertion_file,
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln\n",
    )
    .unwrap();
    let cases: Vec<GrantCase<'_>> = vec![
        (
            vec!["refresh".into(), "rt-given".into()],
            vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", "rt-given"),
            ],
            None,
        ),
        (
            vec!["refresh".into(), "-".into()],
            vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", "rt-from-stdin"),
            ],
            Some("rt-from-stdin\n"),
        ),
        (
            vec!["password".into(), "--username".into(), "alice".into()],
            vec![
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "pw-from-env"),
            ],
            None,
        ),
        (
            vec![
                "exchange".into(),
                "--subject-token".into(),
                "st".into(),
                "--requested-token-type".into(),
                "jwt".into(),
                "--audience".into(),
                "backend".into(),
            ],
            vec![
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:token-exchange",
                ),
                ("subject_token", "st"),
                (
                    "subject_token_type",
                    "urn:ietf:params:oauth:token-type:access_token",
                ),
                (
                    "requested_token_type",
                    "urn:ietf:params:oauth:token-type:jwt",
                ),
                ("audience", "backend"),
            ],
            None,
        ),
        (
            vec![
                "jwt-bearer".into(),
                "--assertion".into(),
                format!("@{}", assertion_file.display()),
            ],
            vec![
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"),
            ],
            None,
        ),
    ];
    for (i, (args, expected, stdin)) in cases.into_iter().enumerate() {
        let access_token = format!("at-case-{i}");
        rt.block_on(async {
            server.reset().await;
            Mock::given(method("POST"))
                .and(path("/token"))
                .and(form(&expected))
                .and(form(&[("client_id", "app")]))
                .respond_with(token_json(&access_token))
                .mount(&server)
                .await;
            Mock::given(method("POST"))
                .and(path("/token"))
                .respond_with(json(400, j!({"error": "invalid_request"})))
                .with_priority(10)
                .mount(&server)
                .await;
        });
        let mut cmd = grantline(dir.path());
        cmd.env("GRANTLINE_PASSWORD", "pw-from-env")
            .args(["--client-id", "app", "--token-endpoint"])
            .arg(format!("{}/token", server.uri()))
            .arg("token")
            .args(&args);
        if let Some(stdin) = stdin {
            cmd.write_stdin(stdin);
        }
        let out = cmd.assert().success().get_output().clone();
        assert_eq!(
            one_document(&out.stdout)["access_token"],
            access_token.as_str(),
            "{args:?}"
        );
    }
}

#[test]
fn text_output_is_name_value_lines() {
    let rt = runtime();
    let server = token_server(&rt, "svc");
    let dir = tempfile::tempdir().unwrap();
    grantline(dir.path())
        .args([
            "--client-id",
            "svc",
            "--client-secret",
            SECRET,
            "--output",
            "text",
        ])
        .arg("--token-endpoint")
        .arg(format!("{}/token", server.uri()))
        .args(["token", "client-credentials"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("access_token: at-1\n")
                .and(predicate::str::contains("token_type: Bearer\n")),
        );
}

#[test]
fn verbose_shows_the_exchange_and_masks_every_secret() {
    let rt = runtime();
    let server = token_server(&rt, "svc");
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(form(&[
                ("client_secret", SECRET),
                ("refresh_token", "rt-old-sentinel"),
            ]))
            .respond_with(token_json("at-sentinel"))
            .with_priority(1)
            .mount(&server),
    );
    let encoded: String = url::form_urlencoded::byte_serialize(SECRET.as_bytes()).collect();
    let basic = basic("svc");
    let basic_b64 = basic.trim_start_matches("Basic ");
    for (auth, grant) in [
        ("basic", vec!["client-credentials"]),
        ("post", vec!["refresh", "rt-old-sentinel"]),
    ] {
        for transport in transports() {
            let out = grantline(dir.path())
                .args(["-v", "--transport", transport, "--client-id", "svc"])
                .args(["--auth-method", auth])
                .arg("--client-secret-file")
                .arg(secret_file(dir.path()))
                .arg("--token-endpoint")
                .arg(format!("{}/token", server.uri()))
                .arg("token")
                .args(&grant)
                .assert()
                .success()
                .get_output()
                .clone();
            let stderr = String::from_utf8_lossy(&out.stderr);
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(stderr.contains("> POST http://127.0.0.1:"), "{stderr}");
            assert!(stderr.contains("< HTTP 200 OK"), "{stderr}");
            assert!(stderr.contains("[masked, "), "{stderr}");
            // The library's tracing events: the exchange, without its query, and its status.
            let traced = format!("url={}/token", server.uri());
            assert!(stderr.contains(&traced), "{stderr}");
            assert!(stderr.contains("response received status=200"), "{stderr}");
            assert!(stderr.contains("flow done"), "{stderr}");
            for secret in [SECRET, encoded.as_str(), basic_b64, "sentinel"] {
                assert!(!stderr.contains(secret), "stderr shows {secret}: {stderr}");
            }
            for secret in [SECRET, encoded.as_str(), basic_b64] {
                assert!(!stdout.contains(secret), "stdout shows {secret}");
            }
        }
    }
}

#[test]
fn failures_have_their_exit_codes() {
    let rt = runtime();
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/slow"))
            .respond_with(token_json("late").set_delay(std::time::Duration::from_secs(5)))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(json(200, j!({"issuer": server.uri()})))
            .mount(&server)
            .await;
        server
    });
    let dir = tempfile::tempdir().unwrap();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("http://127.0.0.1:{port}/token")
    };
    for transport in transports() {
        let run = |args: &[&str]| {
            let mut cmd = grantline(dir.path());
            cmd.args(["--transport", transport, "--client-id", "app"])
                .args(args);
            cmd.assert()
        };
        // An unknown endpoint: wiremock's 404, not an OAuth answer.
        run(&[
            "--token-endpoint",
            &format!("{}/nowhere", server.uri()),
            "token",
            "client-credentials",
        ])
        .code(10)
        .stderr(predicate::str::contains("HTTP 404"));
        // No token endpoint anywhere: neither given nor in the metadata.
        run(&["--issuer", &server.uri(), "token", "client-credentials"])
            .code(3)
            .stderr(predicate::str::contains("no token endpoint"));
        // Plain http to a host that is not loopback is refused before anything is sent.
        run(&[
            "--token-endpoint",
            "http://as.example/token",
            "token",
            "client-credentials",
        ])
        .code(3)
        .stderr(predicate::str::contains("plain http").and(predicate::str::contains("as.example")));
        // Nothing listening.
        run(&["--token-endpoint", &closed, "token", "client-credentials"]).code(4);
        // Too slow for --timeout.
        run(&[
            "--timeout",
            "1",
            "--token-endpoint",
            &format!("{}/slow", server.uri()),
            "token",
            "client-credentials",
        ])
        .code(4);
        // A parameter grantline sets itself.
        run(&[
            "--token-endpoint",
            &format!("{}/token", server.uri()),
            "token",
            "client-credentials",
            "--param",
            "grant_type=x",
        ])
        .code(3);
        // A secret with the public-client method.
        run(&[
            "--client-secret",
            "x",
            "--auth-method",
            "none",
            "--token-endpoint",
            &closed,
            "token",
            "client-credentials",
        ])
        .code(3);
        // Bad usage is the argument parser's exit code.
        run(&["token", "client-credentials", "--no-such-option"]).code(2);
        // An unreadable CA file.
        run(&[
            "--ca-cert",
            "/nonexistent/ca.pem",
            "--token-endpoint",
            &closed,
            "token",
            "client-credentials",
        ])
        .code(3)
        .stderr(predicate::str::contains("CA file"));
    }
}

#[test]
fn insecure_http_is_allowed_when_asked_through_a_proxy() {
    // The "remote" http endpoint is reached through a loopback proxy that hands every request
    // to the mock server, so nothing leaves the machine.
    let rt = runtime();
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(token_json("via-proxy"))
            .mount(&server)
            .await;
        server
    });
    let (proxy, seen) = common::loopback_proxy(*server.address());
    let dir = tempfile::tempdir().unwrap();
    for transport in transports() {
        let out = grantline(dir.path())
            .args([
                "--transport",
                transport,
                "--client-id",
                "app",
                "--insecure-http",
            ])
            .args(["--proxy", &proxy])
            .args(["--token-endpoint", "http://as.example/token"])
            .args(["token", "client-credentials"])
            .assert()
            .success()
            .get_output()
            .clone();
        assert_eq!(
            one_document(&out.stdout)["access_token"],
            "via-proxy",
            "{transport}"
        );
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), transports().len(), "{seen:?}");
    assert!(
        seen.iter().all(|line| line.contains("as.example")),
        "{seen:?}"
    );
}

/// Matches a token request authenticated by a JWT assertion that verifies under `keys` and
/// names `client_id` as issuer and subject.
struct AssertionVerifies {
    keys: grantline::jose::JwkSet,
    alg: grantline::jose::Algorithm,
    client_id: &'static str,
}

impl wiremock::Match for AssertionVerifies {
    fn matches(&self, request: &wiremock::Request) -> bool {
        let form: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect();
        let typed = form.get("client_assertion_type").map(String::as_str)
            == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
        let claims = form
            .get("client_assertion")
            .and_then(|a| grantline::jose::UnverifiedJws::parse(a).ok())
            .and_then(|jws| jws.verify(&self.keys, &[self.alg]).ok())
            .and_then(|verified| verified.claims().ok());
        typed
            && claims.is_some_and(|c| {
                c.issuer() == Some(self.client_id) && c.subject() == Some(self.client_id)
            })
            && !form.contains_key("client_secret")
    }
}

#[test]
fn jwt_client_authentication_signs_an_assertion() {
    use grantline::jose::{Algorithm, Jwk, JwkSet, SigningKey};
    const PRIVATE_JWK: &str = r#"{"kty":"OKP","crv":"Ed25519","kid":"ed",
        "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
        "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
    let public = SigningKey::from_jwk(PRIVATE_JWK)
        .unwrap()
        .public_jwk()
        .unwrap();
    let rt = runtime();
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(AssertionVerifies {
                keys: JwkSet::from(public),
                alg: Algorithm::EdDSA,
                client_id: "svc",
            })
            .respond_with(token_json("at-private-key-jwt"))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(AssertionVerifies {
                keys: JwkSet::from(Jwk::symmetric(SECRET.as_bytes()).unwrap()),
                alg: Algorithm::HS256,
                client_id: "svc",
            })
            .respond_with(token_json("at-client-secret-jwt"))
            .mount(&server)
            .await;
        server
    });
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.jwk");
    std::fs::write(&key, PRIVATE_JWK).unwrap();
    for transport in transports() {
        let out = grantline(dir.path())
            .args([
                "-v",
                "--transport",
                transport,
                "--client-id",
                "svc",
                "--private-key",
            ])
            .arg(&key)
            .arg("--token-endpoint")
            .arg(format!("{}/token", server.uri()))
            .args(["token", "client-credentials"])
            .assert()
            .success()
            .get_output()
            .clone();
        assert_eq!(
            one_document(&out.stdout)["access_token"],
            "at-private-key-jwt"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("client_assertion=[masked"), "{stderr}");
        assert!(!stderr.contains("nWGxne"));

        let out = grantline(dir.path())
            .args([
                "--transport",
                transport,
                "--client-id",
                "svc",
                "--client-secret",
                SECRET,
            ])
            .args(["--auth-method", "client_secret_jwt"])
            .arg("--token-endpoint")
            .arg(format!("{}/token", server.uri()))
            .args(["token", "client-credentials"])
            .assert()
            .success()
            .get_output()
            .clone();
        assert_eq!(
            one_document(&out.stdout)["access_token"],
            "at-client-secret-jwt"
        );
    }
}
