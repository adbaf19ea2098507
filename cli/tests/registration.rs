//! Dynamic client registration from the command line: `register` (RFC 7591) with the initial
//! access token, the client kept locally (secrets in the secret store, never printed, never in
//! `clients.json`), `--save-profile` giving a working profile at once, and `client
//! list|show|update|delete` (RFC 7592) with the registration access token the server rotates;
//! the exit codes of the failures. Against a loopback wiremock server, with each transport.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::Path;

use common::{SECRET, basic, grantline, json, one_document, runtime, token_json, transports};
use serde_json::{Value, json as j};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const IAT: &str = "iat-sentinel-42";
const RAT_1: &str = "rat-one-sentinel";
const RAT_2: &str = "rat-two-sentinel";
const CLIENT_ID: &str = "c-123";

/// Every secret a test must never find in stdout, stderr or the non-secret files.
const SECRETS: &[&str] = &[SECRET, IAT, RAT_1, RAT_2];

fn registered(issuer: &str, rat: Option<&str>, client_name: &str) -> Value {
    let mut doc = j!({
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "client_secret_expires_at": 0,
        "client_id_issued_at": 1_700_000_000,
        "registration_client_uri": format!("{issuer}/register/{CLIENT_ID}"),
        "client_name": client_name,
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_basic",
        "tenant": "acme",
    });
    if let Some(rat) = rat {
        doc["registration_access_token"] = j!(rat);
    }
    doc
}

/// A server with discovery, registration (initial access token required), management (the
/// first read rotates the registration access token) and a token endpoint that knows the new
/// client once, then says `invalid_client` (as after a deletion).
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
                    "registration_endpoint": format!("{issuer}/register"),
                }),
            ))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/register"))
            .and(body_partial_json(
                j!({"redirect_uris": ["https://evil.example/cb"]}),
            ))
            .respond_with(json(
                400,
                j!({"error": "invalid_redirect_uri", "error_description": "not allowed"}),
            ))
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/register"))
            .and(header("authorization", format!("Bearer {IAT}").as_str()))
            .and(body_partial_json(j!({
                "client_name": "bot",
                "grant_types": ["client_credentials"],
                "token_endpoint_auth_method": "client_secret_basic",
                "scope": "read write",
                "tenant": "acme",
                "default_max_age": 60,
            })))
            .respond_with(json(201, registered(&issuer, Some(RAT_1), "bot")))
            .with_priority(2)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/register"))
            .respond_with(json(401, j!({"error": "invalid_token"})))
            .with_priority(3)
            .mount(&server)
            .await;
        let client = format!("/register/{CLIENT_ID}");
        Mock::given(method("GET"))
            .and(path(client.as_str()))
            .and(header("authorization", format!("Bearer {RAT_1}").as_str()))
            .respond_with(json(200, registered(&issuer, Some(RAT_2), "bot")))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(client.as_str()))
            .and(header("authorization", format!("Bearer {RAT_2}").as_str()))
            .respond_with(json(200, registered(&issuer, None, "bot")))
            .mount(&server)
            .await;
        // A full replacement: the current metadata (kept by --merge), the change, the id and
        // secret as RFC 7592 wants them.
        Mock::given(method("PUT"))
            .and(path(client.as_str()))
            .and(header("authorization", format!("Bearer {RAT_2}").as_str()))
            .and(body_partial_json(j!({
                "client_id": CLIENT_ID,
                "client_secret": SECRET,
                "client_name": "renamed",
                "grant_types": ["client_credentials"],
                "tenant": "acme",
            })))
            .respond_with(json(200, registered(&issuer, None, "renamed")))
            .mount(&server)
            .await;
        Mock::given(method("DELETE"))
            .and(path(client.as_str()))
            .and(header("authorization", format!("Bearer {RAT_2}").as_str()))
            .respond_with(ResponseTemplate::new(204))
            .mount(&server)
            .await;
        Mock::given(method("DELETE"))
            .and(path(client.as_str()))
            .respond_with(json(401, j!({"error": "invalid_token"})))
            .with_priority(10)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(header("authorization", basic(CLIENT_ID).as_str()))
            .respond_with(token_json("at-new-client"))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(json(401, j!({"error": "invalid_client"})))
            .with_priority(10)
            .mount(&server)
            .await;
        server
    })
}

fn iat_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("iat.txt");
    std::fs::write(&path, format!("{IAT}\n")).unwrap();
    path
}

/// `grantline --transport T --issuer ISS register` with the metadata the server expects.
fn register(dir: &Path, transport: &str, issuer: &str, extra: &[&str]) -> assert_cmd::Command {
    let mut cmd = grantline(dir);
    cmd.env_remove("GRANTLINE_INITIAL_ACCESS_TOKEN")
        .args(["--transport", transport, "--issuer", issuer, "register"])
        .args(["--client-name", "bot", "--grant-type", "client_credentials"])
        .args([
            "--auth-method",
            "basic",
            "--scope",
            "read",
            "--scope",
            "write",
        ])
        .args(["--field", "tenant=acme", "--field", "default_max_age=60"])
        .args(extra);
    cmd
}

fn run_ok(mut cmd: assert_cmd::Command) -> (Value, String) {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    for secret in SECRETS {
        assert!(!stdout.contains(secret), "{secret} in stdout: {stdout}");
        assert!(!stderr.contains(secret), "{secret} in stderr: {stderr}");
    }
    (one_document(&out.stdout), stderr)
}

fn fails_with(mut cmd: assert_cmd::Command, code: i32) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(out.stdout.is_empty());
    for secret in SECRETS {
        assert!(!stderr.contains(secret), "{secret} in stderr: {stderr}");
    }
    stderr
}

fn client_cmd(dir: &Path, transport: &str, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = grantline(dir);
    cmd.args(["--transport", transport, "client"]).args(args);
    cmd
}

/// The files that must never hold a secret.
fn assert_no_secret_in_settings(dir: &Path) {
    for file in ["clients.json", "profiles.json"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        for secret in SECRETS {
            assert!(!text.contains(secret), "{secret} in {file}: {text}");
        }
    }
}

fn secrets_json(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("secrets.json")).unwrap()).unwrap()
}

#[test]
fn register_keeps_the_client_masks_its_secrets_and_makes_a_working_profile() {
    let rt = runtime();
    for transport in transports() {
        // A fresh server each time: its token endpoint knows the client only once.
        let server = server(&rt);
        let dir = tempfile::tempdir().unwrap();
        let (doc, stderr) = run_ok(register(
            dir.path(),
            transport,
            &server.uri(),
            &[
                "--initial-access-token-file",
                iat_file(dir.path()).to_str().unwrap(),
                "--save-profile",
                "bot",
            ],
        ));
        // The server's answer, every field kept, the two secrets masked.
        assert_eq!(doc["client_id"], CLIENT_ID);
        assert_eq!(doc["tenant"], "acme");
        assert_eq!(
            doc["client_secret"],
            format!("[masked, {} chars]", SECRET.chars().count())
        );
        assert_eq!(doc["registration_access_token"], "[masked, 16 chars]");
        // Machine lines for scripts (stderr is not a terminal here).
        for line in ["client_id=c-123", "client=c-123", "profile=bot"] {
            assert!(stderr.lines().any(|l| l == line), "{line}: {stderr}");
        }

        // Kept: settings in clients.json, secrets in secrets.json only.
        assert_no_secret_in_settings(dir.path());
        let secrets = secrets_json(dir.path());
        assert_eq!(secrets["client:c-123"], SECRET);
        assert_eq!(secrets["registration:c-123"], RAT_1);
        assert_eq!(secrets["bot"], SECRET);
        let (list, _) = run_ok(client_cmd(dir.path(), transport, &["list"]));
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(list[0]["name"], CLIENT_ID);
        assert_eq!(list[0]["client_id"], CLIENT_ID);
        assert_eq!(list[0]["issuer"], server.uri());
        assert_eq!(list[0]["profile"], "bot");
        assert_eq!(list[0]["token_endpoint_auth_method"], "client_secret_basic");

        // The profile works at once: client credentials with the new id and secret.
        let mut token = grantline(dir.path());
        token.args(["--transport", transport, "token", "--profile", "bot"]);
        let (token, _) = run_ok(token);
        assert_eq!(token["access_token"], "at-new-client");
        // The server forgot the client (the token endpoint now refuses it): exit code 6.
        let mut token = grantline(dir.path());
        token.args([
            "--transport",
            transport,
            "token",
            "--profile",
            "bot",
            "client-credentials",
        ]);
        let stderr = fails_with(token, 6);
        assert!(stderr.contains("invalid_client"), "{stderr}");
    }
}

#[test]
fn show_secrets_prints_them_and_names_are_checked_first() {
    let rt = runtime();
    let server = server(&rt);
    let transport = transports()[0];
    let dir = tempfile::tempdir().unwrap();
    let iat = iat_file(dir.path());
    let out = register(
        dir.path(),
        transport,
        &server.uri(),
        &[
            "--initial-access-token-file",
            iat.to_str().unwrap(),
            "--name",
            "mine",
            "--show-secrets",
        ],
    )
    .output()
    .unwrap();
    assert!(out.status.success());
    let doc = one_document(&out.stdout);
    assert_eq!(doc["client_secret"], SECRET);
    assert_eq!(doc["registration_access_token"], RAT_1);
    assert!(!String::from_utf8_lossy(&out.stderr).contains(SECRET));
    let registrations = || {
        rt.block_on(server.received_requests())
            .unwrap()
            .iter()
            .filter(|r| r.url.path() == "/register")
            .count()
    };
    assert_eq!(registrations(), 1);

    // A taken name is refused before the server is asked (no orphan client).
    let stderr = fails_with(
        register(
            dir.path(),
            transport,
            &server.uri(),
            &[
                "--initial-access-token-file",
                iat.to_str().unwrap(),
                "--name",
                "mine",
            ],
        ),
        3,
    );
    assert!(stderr.contains("`mine` exists"), "{stderr}");
    assert_eq!(registrations(), 1);
    // The initial access token from the environment, the default name taken: a new one.
    let mut cmd = register(dir.path(), transport, &server.uri(), &[]);
    cmd.env("GRANTLINE_INITIAL_ACCESS_TOKEN", IAT);
    let (_, stderr) = run_ok(cmd);
    assert!(stderr.contains("client=c-123\n"), "{stderr}");
    let mut cmd = register(dir.path(), transport, &server.uri(), &[]);
    cmd.env("GRANTLINE_INITIAL_ACCESS_TOKEN", IAT);
    let (_, stderr) = run_ok(cmd);
    assert!(stderr.contains("client=c-123-2\n"), "{stderr}");
    let (list, _) = run_ok(client_cmd(dir.path(), transport, &["list"]));
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["c-123", "c-123-2", "mine"]);
}

#[test]
fn show_update_delete_use_and_keep_the_rotated_registration_access_token() {
    let rt = runtime();
    let server = server(&rt);
    for transport in transports() {
        let dir = tempfile::tempdir().unwrap();
        run_ok(register(
            dir.path(),
            transport,
            &server.uri(),
            &[
                "--initial-access-token-file",
                iat_file(dir.path()).to_str().unwrap(),
                "--name",
                "app",
            ],
        ));

        // Read with the first registration access token; the server rotates it.
        let (shown, _) = run_ok(client_cmd(dir.path(), transport, &["show", "app"]));
        assert_eq!(shown["client_name"], "bot");
        assert_eq!(shown["registration_access_token"], "[masked, 16 chars]");
        assert_eq!(secrets_json(dir.path())["registration:app"], RAT_2);
        // The next read uses the rotated one (the first would now be refused: no mock).
        let (shown, _) = run_ok(client_cmd(dir.path(), transport, &["show", "app"]));
        assert!(shown.get("registration_access_token").is_none());

        // A full replacement needs metadata.
        let stderr = fails_with(client_cmd(dir.path(), transport, &["update", "app"]), 3);
        assert!(stderr.contains("nothing to update"), "{stderr}");
        // --merge: the current metadata, the new name, id and secret (the mock checks).
        let (updated, _) = run_ok(client_cmd(
            dir.path(),
            transport,
            &["update", "app", "--merge", "--client-name", "renamed"],
        ));
        assert_eq!(updated["client_name"], "renamed");
        assert_eq!(
            updated["client_secret"],
            format!("[masked, {} chars]", SECRET.chars().count())
        );
        assert_no_secret_in_settings(dir.path());

        // Delete at the server, then locally, secrets included.
        let (deleted, _) = run_ok(client_cmd(dir.path(), transport, &["delete", "app"]));
        assert_eq!(
            deleted,
            j!({"deleted": true, "client_id": CLIENT_ID, "server_asked": true})
        );
        let (list, _) = run_ok(client_cmd(dir.path(), transport, &["list"]));
        assert_eq!(list, j!([]));
        let secrets = secrets_json(dir.path());
        assert!(secrets.get("client:app").is_none() && secrets.get("registration:app").is_none());
        let stderr = fails_with(client_cmd(dir.path(), transport, &["show", "app"]), 3);
        assert!(
            stderr.contains("no registered client named `app`"),
            "{stderr}"
        );
    }
}

#[test]
fn failures_have_their_exit_codes_and_keep_the_local_record() {
    let rt = runtime();
    let server = server(&rt);
    let transport = transports()[0];
    let dir = tempfile::tempdir().unwrap();
    // No initial access token: the server's invalid_token, an OAuth error (5).
    let stderr = fails_with(register(dir.path(), transport, &server.uri(), &[]), 5);
    assert!(stderr.contains("invalid_token"), "{stderr}");
    // The server's registration error codes, as OAuth errors.
    let stderr = fails_with(
        register(
            dir.path(),
            transport,
            &server.uri(),
            &["--redirect-uri", "https://evil.example/cb"],
        ),
        5,
    );
    assert!(stderr.contains("invalid_redirect_uri"), "{stderr}");
    // No server at all: a configuration error.
    let mut cmd = grantline(dir.path());
    cmd.args(["register", "--client-name", "x"]);
    let stderr = fails_with(cmd, 3);
    assert!(stderr.contains("--registration-endpoint"), "{stderr}");
    // A JWK Set that is not one.
    std::fs::write(dir.path().join("jwks.json"), "{}").unwrap();
    let stderr = fails_with(
        register(
            dir.path(),
            transport,
            &server.uri(),
            &["--jwks", dir.path().join("jwks.json").to_str().unwrap()],
        ),
        3,
    );
    assert!(stderr.contains("keys"), "{stderr}");
    assert!(!dir.path().join("clients.json").exists());

    // A deletion the server refuses (a registration access token it does not know) keeps the
    // client; --local-only forgets it without asking.
    run_ok(register(
        dir.path(),
        transport,
        &server.uri(),
        &[
            "--initial-access-token-file",
            iat_file(dir.path()).to_str().unwrap(),
            "--name",
            "stale",
        ],
    ));
    let stderr = fails_with(client_cmd(dir.path(), transport, &["delete", "stale"]), 5);
    assert!(stderr.contains("invalid_token"), "{stderr}");
    let (list, _) = run_ok(client_cmd(dir.path(), transport, &["list"]));
    assert_eq!(list[0]["name"], "stale");
    let before = rt.block_on(server.received_requests()).unwrap().len();
    let (deleted, _) = run_ok(client_cmd(
        dir.path(),
        transport,
        &["delete", "stale", "--local-only"],
    ));
    assert_eq!(deleted["server_asked"], false);
    assert_eq!(
        rt.block_on(server.received_requests()).unwrap().len(),
        before
    );
    let (list, _) = run_ok(client_cmd(dir.path(), transport, &["list"]));
    assert_eq!(list, j!([]));
    // Unknown and unusable names.
    fails_with(client_cmd(dir.path(), transport, &["show", "nope"]), 3);
    fails_with(client_cmd(dir.path(), transport, &["delete", "../x"]), 3);
}
