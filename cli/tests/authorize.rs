//! `grantline authorize` driven headlessly against the loopback authorization server
//! (`grantline_tests::mini_as::MiniAs`, which checks Basic auth, the redirect URI, single use
//! of the code and PKCE): the test plays the browser. It reads the URL from the command's
//! stderr, GETs it from the server (which redirects straight back with a code), and follows
//! that redirect to the command's loopback listener with a plain GET. Also `--par`, `--paste`,
//! a forged state and an error callback.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::io::{BufReader, Read as _, Write as _};

use common::{browser_get, grantline_process, read_machine_line, runtime, spawn, transports};
use grantline_tests::mini_as::{CLIENT_ID, CLIENT_SECRET, MiniAs};

fn secret_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("mini-as-secret.txt");
    std::fs::write(&path, CLIENT_SECRET).unwrap();
    path
}

/// Runs `authorize` with `extra` arguments, plays the browser, and returns the exit status,
/// stdout and stderr.
fn authorize_headless(
    mini: &MiniAs,
    transport: &str,
    extra: &[&str],
) -> (std::process::ExitStatus, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = grantline_process(dir.path());
    cmd.args(["--transport", transport, "--issuer", &mini.issuer()])
        .args(["--client-id", CLIENT_ID, "--client-secret-file"])
        .arg(secret_file(dir.path()))
        .args([
            "authorize",
            "--no-browser",
            "--scope",
            "openid profile",
            "--wait",
            "30",
        ])
        .args(extra);
    let mut child = spawn(cmd);
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let url = read_machine_line(&mut stderr, "authorization_url", &mut seen);

    let (status, location, _) = browser_get(&url);
    assert_eq!(status, 302, "the server redirects back: {seen}");
    let location = location.unwrap();
    assert!(location.starts_with("http://127.0.0.1:"), "{location}");
    let (status, _, page) = browser_get(&location);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Signed in"), "{page}");

    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    seen.push_str(&rest);
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    (child.wait().unwrap(), stdout, seen)
}

#[test]
fn authorize_catches_the_redirect_and_exchanges_the_code() {
    let rt = runtime();
    let mini = rt.block_on(MiniAs::start(false));
    for transport in transports() {
        let (status, stdout, stderr) = authorize_headless(&mini, transport, &[]);
        assert!(status.success(), "{transport}: {stderr}");
        let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        // The mini server puts the request's nonce into the token, and signs an ID token that
        // the core validated (signature, nonce, issuer) before anything was printed.
        let token = doc["access_token"].as_str().unwrap();
        assert!(
            token.starts_with("at-for-") && token != "at-for-no-nonce",
            "{token}"
        );
        assert!(doc["id_token"].as_str().unwrap().starts_with("ey"));
        assert_eq!(doc["refresh_token"], "rt-1");
    }
    assert_eq!(mini.calls("par"), 0);
    assert_eq!(mini.calls("token"), transports().len());
}

#[test]
fn authorize_with_par_pushes_the_request_first() {
    let rt = runtime();
    // This server requires PAR: a plain redirect would be refused before anything is sent.
    let mini = rt.block_on(MiniAs::start(true));
    for transport in transports() {
        let (status, stdout, stderr) = authorize_headless(&mini, transport, &["--par"]);
        assert!(status.success(), "{transport}: {stderr}");
        assert!(stderr.contains("request_uri=urn%3A"), "{stderr}");
        let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert!(doc["access_token"].as_str().unwrap().starts_with("at-for-"));
    }
    assert_eq!(mini.calls("par"), transports().len());

    // Without --par the command refuses, with the configuration exit code.
    let dir = tempfile::tempdir().unwrap();
    let out = grantline_process(dir.path())
        .args(["--issuer", &mini.issuer(), "--client-id", CLIENT_ID])
        .args(["--client-secret", CLIENT_SECRET])
        .args(["authorize", "--no-browser", "--wait", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("pushed authorization"));
}

/// Starts `authorize --paste`, returns the child, its stderr reader and the authorization URL.
fn start_paste(
    mini: &MiniAs,
    dir: &std::path::Path,
    transport: &str,
) -> (
    std::process::Child,
    BufReader<std::process::ChildStderr>,
    String,
) {
    let mut cmd = grantline_process(dir);
    cmd.args(["--transport", transport, "--issuer", &mini.issuer()])
        .args(["--client-id", CLIENT_ID, "--client-secret-file"])
        .arg(secret_file(dir))
        .args([
            "authorize",
            "--paste",
            "--redirect-uri",
            "http://127.0.0.1:9/callback",
        ]);
    let mut child = spawn(cmd);
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let url = read_machine_line(&mut stderr, "authorization_url", &mut seen);
    (child, stderr, url)
}

fn finish(
    mut child: std::process::Child,
    mut stderr: BufReader<std::process::ChildStderr>,
    pasted: &str,
) -> (Option<i32>, String, String) {
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{pasted}").unwrap();
    drop(stdin);
    let mut err = String::new();
    stderr.read_to_string(&mut err).unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    (child.wait().unwrap().code(), out, err)
}

#[test]
fn authorize_paste_reads_the_redirect_from_stdin() {
    let rt = runtime();
    let mini = rt.block_on(MiniAs::start(false));
    let dir = tempfile::tempdir().unwrap();
    for transport in transports() {
        let (child, stderr, url) = start_paste(&mini, dir.path(), transport);
        // Nothing listens at the redirect URI: the person copies it from the address bar.
        let (_, location, _) = browser_get(&url);
        let location = location.unwrap();
        assert!(location.starts_with("http://127.0.0.1:9/callback?code="));
        let (code, out, err) = finish(child, stderr, &location);
        assert_eq!(code, Some(0), "{err}");
        assert!(out.contains("\"access_token\":\"at-for-"), "{out}");
    }
}

#[test]
fn a_forged_state_or_an_error_callback_fails_with_its_exit_code() {
    let rt = runtime();
    let mini = rt.block_on(MiniAs::start(false));
    let dir = tempfile::tempdir().unwrap();
    for transport in transports() {
        // The state does not match: a validation failure (12), and no code is exchanged.
        let (child, stderr, _url) = start_paste(&mini, dir.path(), transport);
        let forged = "http://127.0.0.1:9/callback?code=code-x&state=forged";
        let (code, out, err) = finish(child, stderr, forged);
        assert_eq!(code, Some(12), "{err}");
        assert!(out.is_empty());
        assert!(err.contains("state"), "{err}");

        // The server said access_denied (with the right state): exit code 8.
        let (child, stderr, url) = start_paste(&mini, dir.path(), transport);
        let state = url::Url::parse(&url)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .into_owned();
        // The server says it always sends `iss` (RFC 9207), so the error carries it too.
        let iss: String = url::form_urlencoded::byte_serialize(mini.issuer().as_bytes()).collect();
        let denied = format!(
            "http://127.0.0.1:9/callback?error=access_denied&error_description=the+user+said+no&state={state}&iss={iss}"
        );
        let (code, _, err) = finish(child, stderr, &denied);
        assert_eq!(code, Some(8), "{err}");
        assert!(
            err.contains("access_denied") && err.contains("the user said no"),
            "{err}"
        );
    }
    assert_eq!(mini.calls("token"), 0);
}

#[test]
fn max_age_requires_a_recent_enough_sign_in() {
    let rt = runtime();
    // The server answers `max_age` with an ID token whose auth_time is an hour old.
    let mini = rt.block_on(MiniAs::start(false));
    let age = grantline_tests::mini_as::SESSION_AGE.as_secs();
    for transport in transports() {
        // Asked for a sign-in within the last minute: the hour-old one is refused (12), and
        // nothing is printed.
        let (status, stdout, stderr) = authorize_headless(&mini, transport, &["--max-age", "60"]);
        assert_eq!(status.code(), Some(12), "{transport}: {stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert!(
            stderr.contains("auth_time") || stderr.contains("max_age"),
            "{stderr}"
        );

        // Within two hours: accepted, and the ID token carries the auth_time that was checked.
        let max_age = (2 * age).to_string();
        let (status, stdout, stderr) =
            authorize_headless(&mini, transport, &["--max-age", &max_age]);
        assert!(status.success(), "{transport}: {stderr}");
        let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let claims = decode_claims(doc["id_token"].as_str().unwrap());
        assert!(claims["auth_time"].as_u64().is_some(), "{claims}");
    }
}

/// The claims of a JWT (not verified: the command did that).
fn decode_claims(jwt: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}
