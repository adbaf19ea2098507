//! Profiles: `profile add|list|show|remove`, the secret kept out of `profiles.json` (in a file
//! only the user can read: the tests force the file store and their own configuration
//! directory, so they never touch the user's keyring or configuration), and `token --profile`
//! printing the cached token, renewing it by refresh token or by the profile's grant.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::Path;

use common::{
    SECRET, basic, form, grantline, json, one_document, runtime, secret_file, token_json,
};
use predicates::prelude::*;
use serde_json::json as j;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer};

fn server(rt: &tokio::runtime::Runtime) -> MockServer {
    rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(header("authorization", basic("svc").as_str()))
            .and(form(&[
                ("grant_type", "client_credentials"),
                ("scope", "read"),
            ]))
            .respond_with(token_json("at-cc"))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "rt-cached"),
            ]))
            .respond_with(json(
                200,
                j!({"access_token": "at-refreshed", "token_type": "Bearer", "expires_in": 600}),
            ))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "rt-revoked"),
            ]))
            .respond_with(json(400, j!({"error": "invalid_grant"})))
            .mount(&server)
            .await;
        server
    })
}

fn token_requests(rt: &tokio::runtime::Runtime, server: &MockServer) -> usize {
    rt.block_on(server.received_requests())
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/token")
        .count()
}

/// Replaces the profile's cached token with an expired one holding `refresh_token`.
fn expire_cache(config: &Path, profile: &str, refresh_token: Option<&str>) {
    let mut token = j!({"grantline_token": 1, "access_token": "at-old", "token_type": "Bearer", "expires_at": 1000});
    if let Some(rt) = refresh_token {
        token["refresh_token"] = j!(rt);
    }
    std::fs::write(
        config.join("tokens").join(format!("{profile}.json")),
        token.to_string(),
    )
    .unwrap();
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_profile_keeps_settings_and_secret_apart_and_caches_its_token() {
    let rt = runtime();
    let server = server(&rt);
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("config");

    let out = grantline(&config)
        .args([
            "profile",
            "add",
            "work",
            "--grant",
            "client-credentials",
            "--scope",
            "read",
        ])
        .args(["--client-id", "svc", "--client-secret-file"])
        .arg(secret_file(work.path()))
        .arg("--token-endpoint")
        .arg(format!("{}/token", server.uri()))
        .assert()
        .success()
        .stderr(predicate::str::contains("saved profile `work`"))
        .get_output()
        .clone();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("stored in secrets.json") && !shown.contains(SECRET),
        "{shown}"
    );

    let profiles = std::fs::read_to_string(config.join("profiles.json")).unwrap();
    assert!(!profiles.contains(SECRET), "{profiles}");
    assert!(
        profiles.contains("\"client_secret\": \"file\""),
        "{profiles}"
    );
    let secrets = std::fs::read_to_string(config.join("secrets.json")).unwrap();
    assert!(secrets.contains("s3cr:t+%-sentinel"), "{secrets}");
    #[cfg(unix)]
    {
        assert_eq!(mode(&config.join("secrets.json")), 0o600);
        assert_eq!(mode(&config.join("profiles.json")), 0o600);
        assert_eq!(mode(&config), 0o700);
    }

    grantline(&config)
        .args(["profile", "list"])
        .assert()
        .success()
        .stdout("[\"work\"]\n");
    grantline(&config)
        .args(["profile", "show", "work"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("\"client_id\":\"svc\"")
                .and(predicate::str::contains(SECRET).not()),
        );
    // Adding it again needs --force.
    grantline(&config)
        .args([
            "profile",
            "add",
            "work",
            "--client-id",
            "x",
            "--issuer",
            "https://as.example",
        ])
        .assert()
        .code(3);

    // The first call gets a token; the second prints the cached one without asking.
    for _ in 0..2 {
        let out = grantline(&config)
            .args(["token", "--profile", "work"])
            .assert()
            .success()
            .get_output()
            .clone();
        assert_eq!(one_document(&out.stdout)["access_token"], "at-cc");
    }
    assert_eq!(token_requests(&rt, &server), 1);
    #[cfg(unix)]
    assert_eq!(mode(&config.join("tokens").join("work.json")), 0o600);

    // Expired, with a refresh token: refreshed, and the refresh token kept for next time.
    expire_cache(&config, "work", Some("rt-cached"));
    let out = grantline(&config)
        .env("GRANTLINE_PROFILE", "work")
        .arg("token")
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(one_document(&out.stdout)["access_token"], "at-refreshed");
    let cached = std::fs::read_to_string(config.join("tokens").join("work.json")).unwrap();
    assert!(
        cached.contains("at-refreshed") && cached.contains("rt-cached"),
        "{cached}"
    );

    // A refresh token the server refuses: the profile's grant runs instead, in the same call.
    expire_cache(&config, "work", Some("rt-revoked"));
    let out = grantline(&config)
        .args(["token", "--profile", "work"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(one_document(&out.stdout)["access_token"], "at-cc");

    // A cache written before stored tokens carried their version (still valid by its expiry)
    // is not taken for a token: a warning says why, and a new token replaces it.
    std::fs::write(
        config.join("tokens").join("work.json"),
        j!({"access_token": "at-old-format", "token_type": "Bearer", "expires_at": 4_102_444_800_u64})
            .to_string(),
    )
    .unwrap();
    let out = grantline(&config)
        .args(["token", "--profile", "work"])
        .assert()
        .success()
        .stderr(predicate::str::contains("not a stored grantline token"))
        .get_output()
        .clone();
    assert_eq!(one_document(&out.stdout)["access_token"], "at-cc");
    let cached = std::fs::read_to_string(config.join("tokens").join("work.json")).unwrap();
    assert!(cached.contains("\"grantline_token\": 1"), "{cached}");

    // Removing the profile removes its secret and its cached token.
    grantline(&config)
        .args(["profile", "remove", "work"])
        .assert()
        .success();
    assert!(!config.join("tokens").join("work.json").exists());
    let secrets = std::fs::read_to_string(config.join("secrets.json")).unwrap();
    assert!(!secrets.contains("sentinel"), "{secrets}");
    grantline(&config)
        .args(["token", "--profile", "work"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("no profile named `work`"));
}

#[test]
fn a_profile_without_a_grant_needs_a_sign_in_and_the_command_line_wins() {
    let rt = runtime();
    let server = server(&rt);
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("config");
    grantline(&config)
        .args(["profile", "add", "laptop", "--client-id", "cli"])
        .arg("--token-endpoint")
        .arg(format!("{}/token", server.uri()))
        .assert()
        .success();

    // No token yet: a configuration error telling what to run.
    grantline(&config)
        .args(["token", "--profile", "laptop"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "grantline authorize --profile laptop",
        ));

    // A grant run with --profile caches its token (here with the secret and client id given on
    // the command line, over the profile's public client).
    grantline(&config)
        .args([
            "--profile",
            "laptop",
            "--client-id",
            "svc",
            "--client-secret",
            SECRET,
        ])
        .args(["token", "client-credentials", "--scope", "read"])
        .assert()
        .success();
    let out = grantline(&config)
        .args(["token", "--profile", "laptop"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(one_document(&out.stdout)["access_token"], "at-cc");

    // Expired and nothing to renew it with: the expired exit code.
    expire_cache(&config, "laptop", None);
    grantline(&config)
        .args(["token", "--profile", "laptop"])
        .assert()
        .code(9)
        .stderr(predicate::str::contains("expired"));

    // Odd names are refused before any file is touched.
    grantline(&config)
        .args(["profile", "add", "../x", "--issuer", "https://as.example"])
        .assert()
        .code(3);
    // So is a redirect URI that is not one, rather than at the profile's first `authorize`.
    grantline(&config)
        .args(["profile", "add", "web", "--issuer", "https://as.example"])
        .args(["--redirect-uri", "https://app.example/cb#fragment"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("redirect_uri"));
    grantline(&config)
        .args(["profile", "show", "web"])
        .assert()
        .failure();
}
