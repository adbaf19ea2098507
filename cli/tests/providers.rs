//! `--provider NAME`: each provider preset from the command line, against a loopback mock that
//! replays the provider's documented answers (`tests/fixtures/providers/`, shared with the
//! library's tests), with every transport this build has. The hidden `--provider-origin` points
//! the preset at the mock. Each test checks what the command printed and what the "provider"
//! received.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine as _;
use common::{
    SECRET, grantline, grantline_process, one_document, read_machine_line, runtime, secret_file,
    spawn, transports,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A P-256 key made for these tests, in the shape of Apple's `.p8` files (PKCS#8).
const TEST_P256_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQggem3lymGZNxqPF7o\nfN/Sjq7JDgkjw0Mxg/vAYgKnVB6hRANCAAS/08i3hw/B3EQjGJIeFuKgY+HMvMpG\nB99l/vR858Hi58eMXsCSynwnhzFFScLYrVEbiPg5zxqFpdQMLIskGyFz\n-----END PRIVATE KEY-----\n";

/// Replies with each fixture in turn, then keeps repeating the last one.
struct Sequence(Mutex<VecDeque<ResponseTemplate>>);

impl Respond for Sequence {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let mut replies = self.0.lock().unwrap();
        if replies.len() > 1 {
            replies.pop_front().unwrap()
        } else {
            replies.front().cloned().unwrap()
        }
    }
}

/// A fixture of `provider` as the mock's answer, `{base}` replaced by the mock's origin.
fn fixture(provider: &str, file: &str, base: &str) -> ResponseTemplate {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "tests",
        "fixtures",
        "providers",
        provider,
        file,
    ]
    .iter()
    .collect();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let (head, body) = text.split_once("\n\n").unwrap();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap();
    let mut reply = ResponseTemplate::new(status);
    for line in lines {
        let (name, value) = line.split_once(':').unwrap();
        reply = reply.insert_header(name.trim(), value.trim());
    }
    reply.set_body_bytes(
        body.trim_end_matches('\n')
            .replace("{base}", base)
            .into_bytes(),
    )
}

/// A mock playing `provider`, answering each `(method, path, fixtures)`.
fn mock(
    rt: &tokio::runtime::Runtime,
    provider: &str,
    answers: &[(&str, &str, &[&str])],
) -> MockServer {
    rt.block_on(async {
        let server = MockServer::start().await;
        for (verb, at, files) in answers {
            let replies = files
                .iter()
                .map(|f| fixture(provider, f, &server.uri()))
                .collect();
            Mock::given(method(*verb))
                .and(path(*at))
                .respond_with(Sequence(Mutex::new(replies)))
                .mount(&server)
                .await;
        }
        server
    })
}

/// `grantline --transport T --provider NAME --provider-origin MOCK`.
fn cli(dir: &Path, transport: &str, provider: &str, server: &MockServer) -> assert_cmd::Command {
    let mut cmd = grantline(dir);
    cmd.args(["--transport", transport, "--provider", provider])
        .args(["--provider-origin", &server.uri()]);
    cmd
}

fn received(rt: &tokio::runtime::Runtime, server: &MockServer, at: &str) -> Vec<Request> {
    rt.block_on(server.received_requests())
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == at)
        .collect()
}

fn param(request: &Request, name: &str) -> Option<String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn header(request: &Request, name: &str) -> Option<String> {
    request
        .headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

fn raw_basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

fn access_token(stdout: &[u8]) -> String {
    one_document(stdout)["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn github_device_flow() {
    let rt = runtime();
    for transport in transports() {
        let server = mock(
            &rt,
            "github",
            &[
                ("POST", "/login/device/code", &["device_code.http"]),
                (
                    "POST",
                    "/login/oauth/access_token",
                    &["access_token_pending.http", "access_token_form.http"],
                ),
            ],
        );
        let dir = tempfile::tempdir().unwrap();
        let out = cli(dir.path(), transport, "github", &server)
            .args(["--client-id", "Iv1.b507a08c87ecfe98", "--time-scale", "50"])
            .args(["device", "--scope", "repo"])
            .assert()
            .success();
        let out = out.get_output();
        assert_eq!(
            access_token(&out.stdout),
            "gho_16C7e42F292c6912E7710c838347Ae178B4a"
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("WDJB-MJHT"));
        assert_eq!(received(&rt, &server, "/login/oauth/access_token").len(), 2);
    }
}

#[test]
fn google_device_flow_shows_the_verification_url() {
    let rt = runtime();
    for transport in transports() {
        let server = mock(
            &rt,
            "google",
            &[
                (
                    "GET",
                    "/.well-known/openid-configuration",
                    &["openid-configuration.http"],
                ),
                ("POST", "/device/code", &["device_code.http"]),
                ("POST", "/token", &["token_pending.http", "token.http"]),
            ],
        );
        let dir = tempfile::tempdir().unwrap();
        let out = cli(dir.path(), transport, "google", &server)
            .args(["--client-id", "1234567890-abc.apps.googleusercontent.com"])
            .arg("--client-secret-file")
            .arg(secret_file(dir.path()))
            .args(["--time-scale", "50", "device", "--scope", "email"])
            .assert()
            .success();
        let out = out.get_output();
        assert_eq!(access_token(&out.stdout), "1/fFAGRNJru1FTz70BzhT3Zg");
        assert!(String::from_utf8_lossy(&out.stderr).contains("https://www.google.com/device"));
        let polls = received(&rt, &server, "/token");
        assert_eq!(param(&polls[0], "client_secret").as_deref(), Some(SECRET));
    }
}

#[test]
fn entra_id_multi_tenant_client_credentials() {
    let rt = runtime();
    for transport in transports() {
        let server = mock(
            &rt,
            "entra-id",
            &[
                (
                    "GET",
                    "/common/v2.0/.well-known/openid-configuration",
                    &["openid-configuration-common.http"],
                ),
                (
                    "POST",
                    "/common/oauth2/v2.0/token",
                    &["client_credentials_token.http"],
                ),
            ],
        );
        let dir = tempfile::tempdir().unwrap();
        let out = cli(dir.path(), transport, "entra-id", &server)
            .args(["--tenant", "common", "--client-id", "app"])
            .arg("--client-secret-file")
            .arg(secret_file(dir.path()))
            .args(["token", "client-credentials"])
            .args(["--scope", "https://graph.microsoft.com/.default"])
            .assert()
            .success();
        assert!(access_token(&out.get_output().stdout).starts_with("eyJ0eXAi"));
        let sent = &received(&rt, &server, "/common/oauth2/v2.0/token")[0];
        assert_eq!(param(sent, "client_secret").as_deref(), Some(SECRET));
        assert_eq!(
            param(sent, "scope").as_deref(),
            Some("https://graph.microsoft.com/.default")
        );
    }
}

#[test]
fn entra_id_without_a_tenant_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let out = grantline(dir.path())
        .args(["--provider", "entra-id", "--client-id", "app", "discover"])
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("--tenant"), "{stderr}");
}

#[test]
fn auth0_client_credentials_with_an_audience() {
    let rt = runtime();
    for transport in transports() {
        let server = mock(
            &rt,
            "auth0",
            &[
                (
                    "GET",
                    "/.well-known/openid-configuration",
                    &["openid-configuration.http"],
                ),
                ("POST", "/oauth/token", &["client_credentials_token.http"]),
            ],
        );
        let dir = tempfile::tempdir().unwrap();
        let out = cli(dir.path(), transport, "auth0", &server)
            .args([
                "--domain",
                "acme.eu.auth0.com",
                "--client-id",
                "YOUR_CLIENT_ID",
            ])
            .arg("--client-secret-file")
            .arg(secret_file(dir.path()))
            .args(["token", "client-credentials"])
            .args(["--audience", "https://api.example.com"])
            .assert()
            .success();
        assert_eq!(access_token(&out.get_output().stdout), "eyJz93a...k4laUWw");
        let sent = &received(&rt, &server, "/oauth/token")[0];
        assert_eq!(
            param(sent, "audience").as_deref(),
            Some("https://api.example.com")
        );
        assert_eq!(param(sent, "client_secret").as_deref(), Some(SECRET));
    }
}

#[test]
fn okta_custom_authorization_server() {
    let rt = runtime();
    for transport in transports() {
        let server = mock(
            &rt,
            "okta",
            &[
                (
                    "GET",
                    "/oauth2/default/.well-known/openid-configuration",
                    &["openid-configuration.http"],
                ),
                (
                    "POST",
                    "/oauth2/default/v1/token",
                    &["client_credentials_token.http"],
                ),
            ],
        );
        let dir = tempfile::tempdir().unwrap();
        let out = cli(dir.path(), transport, "okta", &server)
            .args(["--domain", "acme.okta.com", "--auth-server", "default"])
            .args(["--client-id", "0oa1"])
            .arg("--client-secret-file")
            .arg(secret_file(dir.path()))
            .args(["token", "client-credentials", "--scope", "customScope"])
            .assert()
            .success();
        assert_eq!(
            one_document(&out.get_output().stdout)["scope"],
            "customScope"
        );
        let sent = &received(&rt, &server, "/oauth2/default/v1/token")[0];
        assert_eq!(
            header(sent, "authorization"),
            Some(common::basic("0oa1")),
            "Okta takes client_secret_basic"
        );
    }
}

#[test]
fn keycloak_realm_from_a_profile() {
    let rt = runtime();
    for transport in transports() {
        let server = mock(
            &rt,
            "keycloak",
            &[
                (
                    "GET",
                    "/realms/acme/.well-known/openid-configuration",
                    &["openid-configuration.http"],
                ),
                (
                    "POST",
                    "/realms/acme/protocol/openid-connect/token",
                    &["client_credentials_token.http"],
                ),
            ],
        );
        let dir = tempfile::tempdir().unwrap();
        grantline(dir.path())
            .args(["--transport", transport, "--provider", "keycloak"])
            .args(["--server-url", "https://sso.example", "--realm", "acme"])
            .args(["--client-id", "backend", "--client-secret-file"])
            .arg(secret_file(dir.path()))
            .args(["profile", "add", "kc"])
            .assert()
            .success();
        let out = grantline(dir.path())
            .args(["--profile", "kc", "--provider-origin", &server.uri()])
            .args(["token", "client-credentials"])
            .assert()
            .success();
        assert!(access_token(&out.get_output().stdout).starts_with("eyJhbGci"));
        let sent = &received(&rt, &server, "/realms/acme/protocol/openid-connect/token")[0];
        assert_eq!(
            header(sent, "authorization"),
            Some(common::basic("backend"))
        );
    }
}

#[test]
fn cognito_sends_the_secret_raw() {
    let rt = runtime();
    for transport in transports() {
        let server = mock(
            &rt,
            "cognito",
            &[
                (
                    "GET",
                    "/eu-west-1_AbCdEf123/.well-known/openid-configuration",
                    &["openid-configuration.http"],
                ),
                ("POST", "/oauth2/token", &["client_credentials_token.http"]),
            ],
        );
        let dir = tempfile::tempdir().unwrap();
        let out = cli(dir.path(), transport, "cognito", &server)
            .args(["--user-pool", "eu-west-1_AbCdEf123"])
            .args(["--client-id", "4b2n8pgbd5p1example", "--client-secret-file"])
            .arg(secret_file(dir.path()))
            .args(["token", "client-credentials"])
            .assert()
            .success();
        assert_eq!(access_token(&out.get_output().stdout), "eyJra1example");
        let sent = &received(&rt, &server, "/oauth2/token")[0];
        assert_eq!(
            header(sent, "authorization"),
            Some(raw_basic("4b2n8pgbd5p1example", SECRET)),
            "Cognito takes the id and secret unencoded"
        );
    }
}

#[test]
fn apple_signs_its_client_secret() {
    let rt = runtime();
    for transport in transports() {
        let server = mock(
            &rt,
            "apple",
            &[
                (
                    "GET",
                    "/.well-known/openid-configuration",
                    &["openid-configuration.http"],
                ),
                ("POST", "/auth/token", &["token.http"]),
            ],
        );
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("AuthKey_ABC123DEFG.p8");
        std::fs::write(&key, TEST_P256_PEM).unwrap();
        let out = cli(dir.path(), transport, "apple", &server)
            .args(["--team-id", "DEF123GHIJ", "--key-id", "ABC123DEFG"])
            .arg("--private-key")
            .arg(&key)
            .args(["--client-id", "com.example.web"])
            .args(["token", "refresh", "rca7.lABoQ"])
            .assert()
            .success();
        assert_eq!(access_token(&out.get_output().stdout), "adg61...67Or9");
        let sent = &received(&rt, &server, "/auth/token")[0];
        assert_eq!(param(sent, "client_id").as_deref(), Some("com.example.web"));
        let secret = param(sent, "client_secret").unwrap();
        let mut parts = secret.split('.');
        let decode = |part: Option<&str>| -> serde_json::Value {
            serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(part.unwrap())
                    .unwrap(),
            )
            .unwrap()
        };
        let (head, claims) = (decode(parts.next()), decode(parts.next()));
        assert_eq!(head["alg"], "ES256");
        assert_eq!(head["kid"], "ABC123DEFG");
        assert_eq!(claims["iss"], "DEF123GHIJ");
        assert_eq!(claims["sub"], "com.example.web");
        assert_eq!(claims["aud"], "https://appleid.apple.com");
    }
}

/// `authorize` with Apple: the request asks for `response_mode=form_post`, the browser (played
/// here) posts the code to the loopback listener, and the code is exchanged with a signed client
/// secret.
#[test]
fn apple_authorize_takes_the_posted_callback() {
    use std::io::{BufReader, Read as _};

    let rt = runtime();
    for transport in transports() {
        let server = mock(
            &rt,
            "apple",
            &[
                (
                    "GET",
                    "/.well-known/openid-configuration",
                    &["openid-configuration.http"],
                ),
                ("POST", "/auth/token", &["token.http"]),
            ],
        );
        rt.block_on(
            Mock::given(method("GET"))
                .and(path("/auth/authorize"))
                .respond_with(ResponseTemplate::new(200).set_body_string("Sign in with Apple"))
                .mount(&server),
        );
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("AuthKey_ABC123DEFG.p8");
        std::fs::write(&key, TEST_P256_PEM).unwrap();
        let mut cmd = grantline_process(dir.path());
        cmd.args(["--transport", transport, "--provider", "apple"])
            .args(["--provider-origin", &server.uri()])
            .args(["--team-id", "DEF123GHIJ", "--key-id", "ABC123DEFG"])
            .arg("--private-key")
            .arg(&key)
            .args(["--client-id", "com.example.web"])
            .args(["authorize", "--no-browser", "--scope", "name email"])
            .args(["--wait", "30"]);
        let mut child = spawn(cmd);
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        let url = read_machine_line(&mut stderr, "authorization_url", &mut seen);
        let url = url::Url::parse(&url).unwrap();
        let query = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        assert_eq!(query("response_mode").as_deref(), Some("form_post"));

        // Apple posts the callback to the redirect URI.
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let body = format!("code=c1a2b3&state={}", query("state").unwrap());
        let response = agent
            .post(query("redirect_uri").unwrap())
            .content_type("application/x-www-form-urlencoded")
            .send(body.as_bytes())
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{seen}");

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
        assert!(child.wait().unwrap().success(), "{seen}");
        assert_eq!(access_token(stdout.as_bytes()), "adg61...67Or9");
        let sent = &received(&rt, &server, "/auth/token")[0];
        assert_eq!(param(sent, "code").as_deref(), Some("c1a2b3"));
        assert!(param(sent, "client_secret").is_some());
    }
}
