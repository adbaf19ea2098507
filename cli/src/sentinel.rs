//! The CLI's part of the secret sentinel test (issue 20; the library's part is
//! `tests/tests/secret_sentinel.rs`): every type of the command that can hold a secret is built
//! with a recognisable value, and its `Debug`, its `Display` and the `--verbose` output never
//! contain it. A new type with a secret gets a check here (CONTRIBUTING.md, "Secrets").

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use clap::Parser as _;
use grantline::secret::{AccessToken, ClientSecret, RefreshToken};
use grantline::token::{TokenResponse, TokenType};

use crate::args::Cli;
use crate::error::CliError;
use crate::observe::{Observed, describe_request, describe_response};

const CLIENT_SECRET: &str = "sentinel-client-secret-7f3a";
const ACCESS_TOKEN: &str = "sentinel-access-token-2b9c";
const REFRESH_TOKEN: &str = "sentinel-refresh-token-5d1e";
const ID_TOKEN: &str = "sentinel-id-token-8a4f";
const CODE: &str = "sentinel-code-3c7b";
const VERIFIER: &str = "sentinel-verifier-9e2d";
const PASSWORD: &str = "sentinel-password-7a2b";
const ASSERTION: &str = "sentinel-assertion-1d5e";
const SUBJECT_TOKEN: &str = "sentinel-subject-token-6c2a";
const ACTOR_TOKEN: &str = "sentinel-actor-token-9f4b";
const LOGIN_HINT_TOKEN: &str = "sentinel-login-hint-token-2c8f";
const INITIAL_TOKEN: &str = "sentinel-initial-token-2f6a";
const REGISTRATION_TOKEN: &str = "sentinel-registration-token-8e1f";
const DEVICE_CODE: &str = "sentinel-device-code-5b8c";
const SOFTWARE_STATEMENT: &str = "sentinel-software-statement-7b3e";

/// The marker every sentinel shares: a partial leak is caught too.
const MARKER: &str = "sentinel-";

/// No sentinel, as text or as the list of bytes a derived `Debug` prints for a `Vec<u8>`.
#[track_caller]
fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(MARKER), "{what} leaks a sentinel: {text}");
    let bytes = format!("{:?}", MARKER.as_bytes());
    let bytes = bytes.trim_start_matches('[').trim_end_matches(']');
    assert!(
        !text.contains(bytes),
        "{what} leaks a sentinel's bytes: {text}"
    );
}

#[track_caller]
fn debug_clean(what: &str, value: &impl std::fmt::Debug) {
    assert_clean(what, &format!("{value:?}"));
    assert_clean(what, &format!("{value:#?}"));
}

/// Parses a command line; its `Debug` (every argument struct) must be clean.
#[track_caller]
fn parsed_clean(argv: &[&str]) {
    let cli = Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    let debug = format!("{cli:?}");
    // The value really was parsed: the command line carried a sentinel.
    assert!(argv.iter().any(|a| a.contains(MARKER)));
    assert_clean(&format!("Cli {argv:?}"), &debug);
}

#[test]
fn command_lines_with_secrets() {
    let g = ["grantline", "--token-endpoint", "https://as.example/token"];
    let with = |rest: &[&'static str]| -> Vec<&'static str> {
        g.iter().copied().chain(rest.iter().copied()).collect()
    };
    parsed_clean(&with(&["--client-secret", CLIENT_SECRET, "discover"]));
    parsed_clean(&with(&["token", "refresh", REFRESH_TOKEN]));
    parsed_clean(&with(&[
        "token",
        "password",
        "--username",
        "alice",
        "--password",
        PASSWORD,
    ]));
    parsed_clean(&with(&["token", "jwt-bearer", "--assertion", ASSERTION]));
    parsed_clean(&with(&[
        "token",
        "exchange",
        "--subject-token",
        SUBJECT_TOKEN,
        "--actor-token",
        ACTOR_TOKEN,
        "--actor-token-type",
        "access_token",
    ]));
    parsed_clean(&with(&["ciba", "--login-hint-token", LOGIN_HINT_TOKEN]));
    parsed_clean(&with(&["ciba", "--id-token-hint", ID_TOKEN]));
    parsed_clean(&with(&["introspect", ACCESS_TOKEN]));
    parsed_clean(&with(&["revoke", REFRESH_TOKEN]));
    parsed_clean(&with(&["userinfo", ACCESS_TOKEN]));
    parsed_clean(&with(&["decode", ID_TOKEN]));
    parsed_clean(&with(&[
        "register",
        "--initial-access-token",
        INITIAL_TOKEN,
    ]));
    parsed_clean(&with(&["logout", "--id-token-hint", ID_TOKEN]));
    parsed_clean(&with(&[
        "api",
        "POST",
        "https://api.example/",
        "--token",
        ACCESS_TOKEN,
        "--header",
        "X-Api-Key: sentinel-api-key-4e1c",
        "--data",
        PASSWORD,
    ]));
}

#[test]
fn an_api_call_and_a_dpop_key() {
    let call = crate::commands::api::ApiCall {
        method: http::Method::POST,
        base: grantline::api::BaseUrl::new("https://api.example/").unwrap(),
        path: String::new(),
        headers: vec![(
            http::HeaderName::from_static("x-api-key"),
            http::HeaderValue::from_static("sentinel-api-key-4e1c"),
        )],
        body: Some(PASSWORD.as_bytes().to_vec()),
    };
    debug_clean("ApiCall", &call);
    let answer = crate::commands::api::ApiAnswer {
        version: http::Version::HTTP_11,
        status: http::StatusCode::OK,
        headers: http::HeaderMap::new(),
        body: ACCESS_TOKEN.as_bytes().to_vec(),
    };
    debug_clean("ApiAnswer", &answer);
    let cli = Cli::try_parse_from(["grantline", "--dpop", "discover"]).unwrap();
    let key = crate::dpop::from_args(&cli.global).unwrap().unwrap();
    let d = serde_json::from_str::<serde_json::Value>(key.text.secret()).unwrap()["d"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!format!("{key:?}").contains(&d), "{key:?}");
    let settings = crate::settings::Settings::resolve(&cli.global, None).unwrap();
    assert!(settings.dpop.is_some());
    assert!(!format!("{settings:?}").contains(&d));
}

#[test]
fn settings_hold_the_client_secret_redacted() {
    let secret = ClientSecret::new(CLIENT_SECRET);
    assert_eq!(secret.secret(), CLIENT_SECRET);
    debug_clean("ClientSecret", &secret);
    let cli = Cli::try_parse_from([
        "grantline",
        "--token-endpoint",
        "https://as.example/token",
        "--client-id",
        "app",
        "--client-secret",
        CLIENT_SECRET,
        "discover",
    ])
    .unwrap();
    let settings = crate::settings::Settings::resolve(&cli.global, None).unwrap();
    assert_eq!(
        settings.client_secret.as_ref().unwrap().secret(),
        CLIENT_SECRET
    );
    debug_clean("Settings", &settings);
}

#[test]
fn the_token_cache() {
    let token = TokenResponse::new(AccessToken::new(ACCESS_TOKEN), TokenType::Bearer)
        .with_refresh_token(Some(RefreshToken::new(REFRESH_TOKEN)));
    let dir = std::env::temp_dir().join(format!("grantline-sntl-{}", std::process::id()));
    let config = crate::config::ConfigDir::locate_in(&dir);
    config.save_token("work", &token).unwrap();
    let cached = config.cached_token("work").unwrap();
    assert_eq!(cached.access_token().secret(), ACCESS_TOKEN);
    debug_clean("the cached token", &cached);
    debug_clean("ConfigDir", &config);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn verbose_output_masks_every_secret() {
    let mut auth = http::HeaderValue::from_str(&format!("Bearer {ACCESS_TOKEN}")).unwrap();
    auth.set_sensitive(true);
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", CODE)
        .append_pair("code_verifier", VERIFIER)
        .append_pair("client_secret", CLIENT_SECRET)
        .append_pair("refresh_token", REFRESH_TOKEN)
        .append_pair("password", PASSWORD)
        .append_pair("assertion", ASSERTION)
        .append_pair("subject_token", SUBJECT_TOKEN)
        .append_pair("actor_token", ACTOR_TOKEN)
        .append_pair("device_code", DEVICE_CODE)
        .append_pair("login_hint_token", LOGIN_HINT_TOKEN)
        .append_pair("id_token_hint", ID_TOKEN)
        .finish();
    let request = http::Request::post(format!(
        "https://as.example/token?code={CODE}&access_token={ACCESS_TOKEN}"
    ))
    .header("authorization", auth)
    .header("dpop", format!("{ASSERTION}.x.y"))
    .header("content-type", "application/x-www-form-urlencoded")
    .body(form.into_bytes())
    .unwrap();
    let text = describe_request(&request);
    assert!(text.contains("grant_type=authorization_code"));
    assert_clean("--verbose request (form)", &text);

    let json = serde_json::json!({
        "software_statement": SOFTWARE_STATEMENT,
        "client_secret": CLIENT_SECRET,
        "nested": { "registration_access_token": REGISTRATION_TOKEN },
    });
    let request = http::Request::post("https://as.example/register")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {INITIAL_TOKEN}"))
        .body(serde_json::to_vec(&json).unwrap())
        .unwrap();
    assert_clean("--verbose request (JSON)", &describe_request(&request));

    let body = format!(
        r#"{{"access_token":"{ACCESS_TOKEN}","refresh_token":"{REFRESH_TOKEN}","id_token":"{ID_TOKEN}","token_type":"Bearer"}}"#
    );
    let response = http::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("set-cookie", format!("s={ACCESS_TOKEN}"))
        .body(body.into_bytes())
        .unwrap();
    let text = describe_response(&response, None);
    assert!(text.contains("token_type"));
    assert_clean("--verbose response", &text);
}

#[test]
fn an_observed_flow() {
    let client = grantline::Client::builder("app")
        .token_endpoint("https://as.example/token")
        .client_secret_basic(CLIENT_SECRET)
        .build()
        .unwrap();
    let flow = client
        .request_token(grantline::grant::TokenRequest::refresh_token(REFRESH_TOKEN))
        .unwrap();
    let mut observed = Observed::new(flow, false);
    debug_clean("Observed", &observed);
    let body = format!(r#"{{"error":"invalid_grant","refresh_token":"{REFRESH_TOKEN}"}}"#);
    let mut driver = grantline::testing::Driver::new().reply_json(400, &body);
    let error = driver.run(&mut observed).unwrap_err();
    assert!(String::from_utf8_lossy(observed.last_body().unwrap()).contains(REFRESH_TOKEN));
    debug_clean("Observed after a response", &observed);
    let grantline::testing::DriverError::Flow(error) = error else {
        panic!("the flow failed")
    };
    let cli = CliError::from(error);
    debug_clean("CliError::Flow", &cli);
    assert_clean("CliError::Flow", &cli.to_string());
}

#[test]
fn the_secret_store_file() {
    use crate::args::SecretStoreChoice;
    use crate::secrets::{SecretLocation, load, store};
    let dir = std::env::temp_dir().join(format!("grantline-sntl-store-{}", std::process::id()));
    let config = crate::config::ConfigDir::locate_in(&dir);
    let location = store(
        &config,
        "work",
        &ClientSecret::new(CLIENT_SECRET),
        SecretStoreChoice::File,
    )
    .unwrap();
    assert_eq!(location, SecretLocation::File);
    let secret = load(&config, "work", location).unwrap();
    assert_eq!(secret.secret(), CLIENT_SECRET);
    debug_clean("the stored client secret", &secret);
    // A profile without a stored secret: the error names the profile, nothing else.
    let error = load(&config, "other", SecretLocation::File).unwrap_err();
    debug_clean("CliError (no secret)", &error);
    assert_clean("CliError (no secret)", &error.to_string());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_browsers_request_on_the_loopback_listener() {
    use grantline_cli::loopback_request::{read, route};
    const STATE: &str = "sentinel-state-6b3c";
    let redirect = url::Url::parse("http://127.0.0.1:8400/callback").unwrap();
    let get = format!("GET /callback?code={CODE}&state={STATE} HTTP/1.1\r\nHost: x\r\n\r\n");
    let form = format!("code={CODE}&state={STATE}");
    let post = format!(
        "POST /callback HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    for raw in [get, post] {
        let request = read(raw.as_bytes()).unwrap();
        let carried = format!(
            "{}{}",
            request.target,
            String::from_utf8_lossy(&request.body)
        );
        assert!(carried.contains(CODE));
        debug_clean("LoopbackRequest", &request);
        debug_clean("Routed", &route(&request, &redirect));
    }
}

#[test]
fn the_client_certificate_key() {
    use base64::Engine as _;
    const CLIENT_KEY: &str = "sentinel-client-key-4e7d";
    let dir = tempfile::tempdir().unwrap();
    let pem = |label: &str, bytes: &[u8]| {
        let body = base64::engine::general_purpose::STANDARD.encode(bytes);
        format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n")
    };
    let cert = dir.path().join("c.pem");
    let key = dir.path().join("c.key");
    std::fs::write(&cert, pem("CERTIFICATE", b"a certificate")).unwrap();
    for label in ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"] {
        std::fs::write(&key, pem(label, CLIENT_KEY.as_bytes())).unwrap();
        let identity = crate::backend::ClientIdentity::read(&cert, &key).unwrap();
        assert_clean("ClientIdentity", &format!("{identity:?}"));
    }
}
