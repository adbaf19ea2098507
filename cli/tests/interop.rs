//! Every subcommand against the real oidc-provider of the interop suite, with each transport
//! this build has. Run by `tests/interop/run.sh`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};

use common::{
    browser_get, grantline, grantline_process, one_document, read_machine_line, spawn, transports,
};
use grantline_tests::interop::{Browser, DjangoApp, django, oidc_provider, oidc_provider_fapi};

const BASIC_ID: &str = "basic-client";
const BASIC_SECRET: &str = "basic secret:+%/~!";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn secret_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("secret.txt");
    std::fs::write(&path, format!("{BASIC_SECRET}\n")).unwrap();
    path
}

/// `grantline --transport T --issuer ISS --client-id basic-client --client-secret-file F ARGS`.
fn run(dir: &std::path::Path, transport: &str, args: &[&str]) -> serde_json::Value {
    let out = grantline(dir)
        .args([
            "--transport",
            transport,
            "--issuer",
            oidc_provider().issuer(),
        ])
        .args(["--client-id", BASIC_ID, "--client-secret-file"])
        .arg(secret_file(dir))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    one_document(&out.stdout)
}

#[test]
fn discover_and_client_credentials_and_exchange() {
    let dir = tempfile::tempdir().unwrap();
    for transport in transports() {
        let metadata = run(dir.path(), transport, &["discover"]);
        assert_eq!(metadata["issuer"], oidc_provider().issuer());

        let token = run(
            dir.path(),
            transport,
            &[
                "token",
                "client-credentials",
                "--resource",
                oidc_provider().api_resource(),
                "--scope",
                "api:read",
            ],
        );
        assert!(token["access_token"].as_str().unwrap().starts_with("eyJ"));
        assert_eq!(token["scope"], "api:read");

        let opaque = run(dir.path(), transport, &["token", "client-credentials"]);
        let subject = opaque["access_token"].as_str().unwrap();
        let exchanged = run(
            dir.path(),
            transport,
            &[
                "token",
                "exchange",
                "--subject-token",
                subject,
                "--subject-token-type",
                "access_token",
            ],
        );
        assert_eq!(
            exchanged["issued_token_type"],
            "urn:ietf:params:oauth:token-type:access_token"
        );

        // A wrong secret is exit code 6 (invalid_client).
        let out = grantline(dir.path())
            .args([
                "--transport",
                transport,
                "--issuer",
                oidc_provider().issuer(),
            ])
            .args(["--client-id", BASIC_ID, "--client-secret", "wrong"])
            .args(["token", "client-credentials"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(6));
    }
}

/// Writes `cert` and its key to `dir` as `NAME.pem` and `NAME.key`; returns both paths.
fn cert_files(
    dir: &std::path::Path,
    name: &str,
    cert: &grantline_tests::interop::ClientCertificate,
) -> (String, String) {
    let cert_path = dir.join(format!("{name}.pem"));
    let key_path = dir.join(format!("{name}.key"));
    std::fs::write(&cert_path, &cert.cert_pem).unwrap();
    std::fs::write(&key_path, &cert.key_pem).unwrap();
    (
        cert_path.to_str().unwrap().to_owned(),
        key_path.to_str().unwrap().to_owned(),
    )
}

/// A certificate's `x5t#S256` (RFC 8705 §3.1): base64url of the SHA-256 of its DER.
fn x5t_s256(der: &[u8]) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(der))
}

/// mTLS client authentication (RFC 8705 §2) with each transport: `tls_client_auth` with the
/// certificate the server's CA signed and `self_signed_tls_client_auth` with the registered
/// one get client credentials tokens through the metadata's `mtls_endpoint_aliases`, bound to
/// the certificate (introspection shows its `x5t#S256`). A certificate with the right subject
/// that the CA did not sign, or one nobody registered, is `invalid_client` (exit code 6).
#[test]
fn mtls_client_authentication_gets_certificate_bound_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let server = oidc_provider();
    let mtls = server.mtls();
    let ca = dir.path().join("mtls-ca.pem");
    std::fs::write(&ca, &mtls.ca_pem).unwrap();
    let ca = ca.to_str().unwrap();
    let pki = cert_files(dir.path(), "pki", &mtls.pki_client);
    let self_signed = cert_files(dir.path(), "self-signed", &mtls.self_signed_client);
    let stranger = cert_files(dir.path(), "stranger", &mtls.stranger);
    let clients = [
        (
            "mtls-pki-client",
            "tls-client-auth",
            &pki,
            &mtls.pki_client.der,
        ),
        (
            "mtls-self-signed-client",
            "self-signed-tls-client-auth",
            &self_signed,
            &mtls.self_signed_client.der,
        ),
    ];
    for transport in transports() {
        for (client_id, method, (cert, key), der) in clients {
            let global = [
                "--transport",
                transport,
                "--issuer",
                server.issuer(),
                "--client-id",
                client_id,
                "--auth-method",
                method,
                "--ca-cert",
                ca,
            ];
            let out = grantline(dir.path())
                .args(global)
                .args(["--client-cert", cert, "--client-key", key, "--verbose"])
                .args(["token", "client-credentials"])
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{client_id} {transport}: {stderr}");
            assert!(
                stderr.contains(&format!("POST {}/token", server.mtls_origin())),
                "the token request went to the mTLS alias: {stderr}"
            );
            let token = one_document(&out.stdout);
            let access = token["access_token"].as_str().unwrap();
            let info = run(dir.path(), transport, &["introspect", access]);
            assert_eq!(info["active"], true, "{info}");
            assert_eq!(info["client_id"], client_id, "{info}");
            assert_eq!(
                info["cnf"]["x5t#S256"],
                x5t_s256(der).as_str(),
                "the token is bound to the certificate: {info}"
            );

            // Someone else's certificate: refused as invalid_client.
            let out = grantline(dir.path())
                .args(global)
                .args(["--client-cert", &stranger.0, "--client-key", &stranger.1])
                .args(["token", "client-credentials"])
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(6),
                "{client_id} {transport}: {stderr}"
            );
            assert!(stderr.contains("invalid_client"), "{stderr}");
        }
    }

    // A profile keeps the method and the paths (not the contents): its token is renewed with
    // the certificate.
    let saved = one_document(
        &grantline(dir.path())
            .args([
                "--issuer",
                server.issuer(),
                "--client-id",
                "mtls-pki-client",
            ])
            .args(["--auth-method", "tls-client-auth", "--ca-cert", ca])
            .args(["--client-cert", &pki.0, "--client-key", &pki.1])
            .args(["profile", "add", "mtls", "--grant", "client-credentials"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(saved["auth_method"], "tls_client_auth", "{saved}");
    assert_eq!(saved["client_cert"], pki.0.as_str(), "{saved}");
    assert_eq!(saved["client_key"], pki.1.as_str(), "{saved}");
    let out = grantline(dir.path())
        .args(["token", "--profile", "mtls"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let access = one_document(&out.stdout)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let info = run(dir.path(), transports()[0], &["introspect", &access]);
    assert_eq!(
        info["cnf"]["x5t#S256"],
        x5t_s256(&mtls.pki_client.der).as_str()
    );
}

/// `--basic-encoding raw` against a real server: with a secret that form-encoding leaves as it
/// is, both encodings are the same and the raw one is accepted; with one that needs encoding,
/// oidc-provider (which form-decodes, as RFC 6749 §2.3.1 says) refuses the raw form
/// (`invalid_request`).
#[test]
fn raw_basic_encoding_is_accepted_where_it_coincides_with_the_form() {
    let dir = tempfile::tempdir().unwrap();
    for transport in transports() {
        let out = grantline(dir.path())
            .args([
                "--transport",
                transport,
                "--issuer",
                oidc_provider().issuer(),
            ])
            .args(["--client-id", "raw-basic-client"])
            .args(["--client-secret", "raw-basic-secret_0123.abc"])
            .args(["--basic-encoding", "raw", "token", "client-credentials"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(one_document(&out.stdout)["access_token"].is_string());

        let out = grantline(dir.path())
            .args([
                "--transport",
                transport,
                "--issuer",
                oidc_provider().issuer(),
            ])
            .args(["--client-id", BASIC_ID, "--client-secret", BASIC_SECRET])
            .args(["--basic-encoding", "raw", "token", "client-credentials"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // oidc-provider cannot form-decode `%/~`: "not properly encoded", exit code 5.
        assert_eq!(out.status.code(), Some(5), "{stderr}");
        assert!(stderr.contains("invalid_request"), "{stderr}");
        assert!(!stderr.contains(BASIC_SECRET), "{stderr}");
    }
}

/// `token custom`: the JWT bearer grant the server registered (RFC 7523), named by its URI,
/// with the assertion as a parameter, gets a token for the assertion's subject.
#[test]
fn a_custom_grant_gets_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let key = grantline::jose::SigningKey::from_pem(
        grantline::jose::Algorithm::RS256,
        include_str!("../../tests/interop/keys/client-rs256.private.pem"),
    )
    .unwrap()
    .with_key_id("grantline-client-rs256");
    for transport in transports() {
        let subject = format!("custom-{transport}");
        let assertion = grantline::jose::JwtAssertion::new(
            "grantline-service",
            &subject,
            oidc_provider().issuer(),
        )
        .sign(
            &key,
            std::time::SystemTime::now(),
            &grantline::random::SystemRandom,
        )
        .unwrap();
        let token = run(
            dir.path(),
            transport,
            &[
                "token",
                "custom",
                "--grant-type",
                "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "--param",
                &format!("assertion={}", assertion.secret()),
            ],
        );
        assert!(token["access_token"].is_string(), "{token}");
        assert_eq!(token["assertion_sub"], subject.as_str(), "{token}");
    }
}

#[test]
fn authorize_then_refresh_introspect_revoke_userinfo_decode() {
    let dir = tempfile::tempdir().unwrap();
    for transport in transports() {
        let mut cmd = grantline_process(dir.path());
        cmd.args([
            "--transport",
            transport,
            "--issuer",
            oidc_provider().issuer(),
        ])
        .args(["--client-id", BASIC_ID, "--client-secret-file"])
        .arg(secret_file(dir.path()))
        .args([
            "authorize",
            "--paste",
            "--redirect-uri",
            REDIRECT,
            "--scope",
            "openid profile",
        ]);
        let mut child = spawn(cmd);
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        let url = read_machine_line(&mut stderr, "authorization_url", &mut seen);
        // The person logs in and consents; the browser ends at the redirect URI.
        let callback =
            Browser::new().oidc_provider_authorize(&url, "alice", &format!("{REDIRECT}?"));
        writeln!(child.stdin.take().unwrap(), "{callback}").unwrap();
        let mut err = String::new();
        stderr.read_to_string(&mut err).unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert!(child.wait().unwrap().success(), "{seen}{err}");
        let token = one_document(out.as_bytes());
        let access = token["access_token"].as_str().unwrap().to_owned();
        let refresh = token["refresh_token"].as_str().unwrap().to_owned();
        let id_token = token["id_token"].as_str().unwrap().to_owned();

        let renewed = run(dir.path(), transport, &["token", "refresh", &refresh]);
        assert!(renewed["access_token"].is_string());

        let info = run(dir.path(), transport, &["introspect", &access]);
        assert_eq!(info["active"], true);
        let userinfo = run(dir.path(), transport, &["userinfo", &access]);
        assert_eq!(userinfo["sub"], "alice");
        run(dir.path(), transport, &["revoke", &access]);
        let info = run(dir.path(), transport, &["introspect", &access]);
        assert_eq!(info["active"], false);

        let decoded = run(dir.path(), transport, &["decode", &id_token]);
        assert_eq!(decoded["claims"]["sub"], "alice", "{decoded}");
    }
}

/// The `redirect_uri` parameter of an authorization URL.
fn redirect_uri_of(authorization_url: &str) -> String {
    url::Url::parse(authorization_url)
        .unwrap()
        .query_pairs()
        .find(|(name, _)| name == "redirect_uri")
        .map(|(_, value)| value.into_owned())
        .expect("the authorization URL carries the redirect URI")
}

/// Runs `grantline authorize` with its defaults (a listener on a free loopback port), plays the
/// person with `sign_in` (authorization URL, redirect prefix -> callback URL), brings the browser
/// back to the listener, and returns the token the command printed.
fn authorize_with_defaults(
    dir: &std::path::Path,
    global: &[&str],
    scope: &str,
    sign_in: impl FnOnce(&str, &str) -> String,
) -> serde_json::Value {
    let mut cmd = grantline_process(dir);
    cmd.args(global)
        .args(["authorize", "--no-browser", "--scope", scope]);
    let mut child = spawn(cmd);
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let url = read_machine_line(&mut stderr, "authorization_url", &mut seen);
    let redirect_uri = redirect_uri_of(&url);
    assert!(
        redirect_uri.starts_with("http://127.0.0.1:")
            && !redirect_uri.starts_with("http://127.0.0.1:0/"),
        "a free port was chosen: {redirect_uri}"
    );
    let callback = sign_in(&url, &format!("{redirect_uri}?"));
    // The browser comes back to the command's listener, which answers it.
    let (status, _, page) = browser_get(&callback);
    assert_eq!(status, 200, "{page}");
    let mut err = String::new();
    stderr.read_to_string(&mut err).unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(child.wait().unwrap().success(), "{seen}{err}");
    one_document(out.as_bytes())
}

#[test]
fn authorize_with_its_defaults_is_accepted_by_both_servers() {
    let dir = tempfile::tempdir().unwrap();
    for transport in transports() {
        let token = authorize_with_defaults(
            dir.path(),
            &[
                "--transport",
                transport,
                "--issuer",
                oidc_provider().issuer(),
                "--client-id",
                "public-client",
                "--auth-method",
                "none",
            ],
            "openid",
            |url, prefix| Browser::new().oidc_provider_authorize(url, "alice", prefix),
        );
        assert!(token["id_token"].is_string(), "{token}");

        let server = django();
        let token = authorize_with_defaults(
            dir.path(),
            &[
                "--transport",
                transport,
                "--issuer",
                server.issuer(),
                "--client-id",
                server.client_id(DjangoApp::Public),
                "--auth-method",
                "none",
            ],
            "openid",
            |url, prefix| {
                Browser::new().django_authorize(
                    url,
                    (server.username(), server.password()),
                    true,
                    prefix,
                )
            },
        );
        assert!(token["access_token"].is_string(), "{token}");
    }
}

#[test]
fn authorize_ends_at_once_when_the_server_refuses_the_redirect_uri() {
    let dir = tempfile::tempdir().unwrap();
    for transport in transports() {
        let started = std::time::Instant::now();
        let out = grantline(dir.path())
            .args([
                "--transport",
                transport,
                "--issuer",
                oidc_provider().issuer(),
                "--client-id",
                "public-client",
                "--auth-method",
                "none",
            ])
            .args([
                "authorize",
                "--no-browser",
                "--redirect-uri",
                "http://127.0.0.1:0/not-registered",
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Exit 10: the server's error page, not 14 (no redirect in time).
        assert_eq!(out.status.code(), Some(10), "{stderr}");
        assert!(stderr.contains("invalid_redirect_uri"), "{stderr}");
        assert!(
            stderr.contains("--redirect-uri"),
            "says what to do: {stderr}"
        );
        assert!(
            !stderr.contains("authorization_url="),
            "nobody is sent to a page that can only fail: {stderr}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "it did not wait for a redirect"
        );
    }
}

#[test]
fn device_flow_with_the_person_approving() {
    let dir = tempfile::tempdir().unwrap();
    for transport in transports() {
        let mut cmd = grantline_process(dir.path());
        cmd.args([
            "--transport",
            transport,
            "--issuer",
            oidc_provider().issuer(),
        ])
        .args(["--client-id", "public-client", "--auth-method", "none"])
        .args(["device", "--scope", "openid offline_access", "--no-qr"]);
        let mut child = spawn(cmd);
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        let user_code = read_machine_line(&mut stderr, "user_code", &mut seen);
        let verification = read_machine_line(&mut stderr, "verification_uri", &mut seen);
        Browser::new().oidc_provider_device(&verification, &user_code, "bob");
        let mut err = String::new();
        stderr.read_to_string(&mut err).unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert!(child.wait().unwrap().success(), "{seen}{err}");
        let token = one_document(out.as_bytes());
        assert!(token["refresh_token"].is_string());
    }
}

#[test]
fn ciba_with_the_person_approving() {
    let dir = tempfile::tempdir().unwrap();
    for transport in transports() {
        let hint = format!("grace-{transport}");
        let mut cmd = grantline_process(dir.path());
        cmd.args([
            "--transport",
            transport,
            "--issuer",
            oidc_provider().issuer(),
        ])
        .args(["--client-id", BASIC_ID, "--client-secret-file"])
        .arg(secret_file(dir.path()))
        .args(["ciba", "--login-hint", &hint, "--binding-message", "W4SCT"]);
        let mut child = spawn(cmd);
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            assert!(stderr.read_line(&mut line).unwrap() > 0, "{seen}");
            seen.push_str(&line);
            if line.contains("asked the user to approve") {
                break;
            }
        }
        oidc_provider().decide_ciba(&hint, BASIC_ID, true);
        let mut err = String::new();
        stderr.read_to_string(&mut err).unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert!(child.wait().unwrap().success(), "{seen}{err}");
        let token = one_document(out.as_bytes());
        assert!(token["id_token"].is_string());
    }
}

/// Dynamic registration from the command line (RFC 7591, RFC 7592): `register` with the initial
/// access token and `--save-profile`, `client list|show|update`, a token for the new client
/// through its profile, `client delete`, and the token request refused afterwards
/// (`invalid_client`, exit code 6).
#[test]
fn register_manage_use_and_delete_a_client() {
    const INITIAL_ACCESS_TOKEN: &str = "grantline-initial-access-token";
    let dir = tempfile::tempdir().unwrap();
    let iat = dir.path().join("iat.txt");
    std::fs::write(&iat, format!("{INITIAL_ACCESS_TOKEN}\n")).unwrap();
    let ok = |args: &[&str]| {
        let out = grantline(dir.path())
            .env_remove("GRANTLINE_INITIAL_ACCESS_TOKEN")
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert!(!stderr.contains(INITIAL_ACCESS_TOKEN), "{stderr}");
        one_document(&out.stdout)
    };
    for transport in transports() {
        let name = format!("dcr-{transport}");
        let profile = format!("dcr-profile-{transport}");
        let t = ["--transport", transport];
        let registered = ok(&[
            &t[..],
            &["--issuer", oidc_provider().issuer(), "register"],
            &["--initial-access-token-file", iat.to_str().unwrap()],
            &[
                "--client-name",
                "grantline cli interop",
                "--auth-method",
                "basic",
            ],
            &["--redirect-uri", REDIRECT, "--response-type", "code"],
            &[
                "--grant-type",
                "authorization_code",
                "--grant-type",
                "client_credentials",
            ],
            &["--name", &name, "--save-profile", &profile],
        ]
        .concat());
        let client_id = registered["client_id"].as_str().unwrap().to_owned();
        assert!(
            registered["client_secret"]
                .as_str()
                .unwrap()
                .starts_with("[masked")
        );
        assert!(
            registered["registration_access_token"]
                .as_str()
                .unwrap()
                .starts_with("[masked")
        );

        let list = ok(&[&t[..], &["client", "list"]].concat());
        assert!(
            list.as_array()
                .unwrap()
                .iter()
                .any(|c| c["name"] == name.as_str() && c["client_id"] == client_id.as_str()),
            "{list}"
        );
        let shown = ok(&[&t[..], &["client", "show", &name]].concat());
        assert_eq!(shown["client_id"], client_id.as_str());
        assert_eq!(shown["client_name"], "grantline cli interop");
        let updated = ok(&[
            &t[..],
            &[
                "client",
                "update",
                &name,
                "--merge",
                "--client-name",
                "renamed by the cli",
            ],
        ]
        .concat());
        assert_eq!(updated["client_name"], "renamed by the cli");
        assert_eq!(updated["redirect_uris"][0], REDIRECT);
        // The (possibly rotated) registration access token was kept: another read works.
        let shown = ok(&[&t[..], &["client", "show", &name]].concat());
        assert_eq!(shown["client_name"], "renamed by the cli");

        // The new client gets a token through its profile.
        let token = ok(&[
            &t[..],
            &["token", "--profile", &profile, "client-credentials"],
        ]
        .concat());
        assert!(token["access_token"].is_string());

        let deleted = ok(&[&t[..], &["client", "delete", &name]].concat());
        assert_eq!(deleted["client_id"], client_id.as_str());
        let list = ok(&[&t[..], &["client", "list"]].concat());
        assert!(!list.to_string().contains(&client_id), "{list}");
        // Deleted at the server: the client cannot authenticate any more.
        let out = grantline(dir.path())
            .args(t)
            .args(["token", "--profile", &profile, "client-credentials"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(6), "{stderr}");
        assert!(stderr.contains("invalid_client"), "{stderr}");
    }
}

/// The interop suite's private key of `pkjwt-client` (its public half is registered).
fn pkjwt_key() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/interop/keys/client-rs256.private.jwk.json")
}

/// The claims of a JWT (the command verified it already).
fn claims_of(jwt: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// `grantline ARGS authorize --paste --redirect-uri REDIRECT AUTHORIZE_ARGS` with `browser`
/// playing the person (alice): the authorization URL and the printed token.
fn authorize_pasted(
    dir: &std::path::Path,
    browser: &mut Browser,
    args: &[&str],
    authorize_args: &[&str],
) -> (String, serde_json::Value) {
    let mut cmd = grantline_process(dir);
    cmd.args(args)
        .args(["authorize", "--paste", "--redirect-uri", REDIRECT])
        .args(authorize_args);
    let mut child = spawn(cmd);
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let url = read_machine_line(&mut stderr, "authorization_url", &mut seen);
    let callback = browser.oidc_provider_authorize(&url, "alice", &format!("{REDIRECT}?"));
    writeln!(child.stdin.take().unwrap(), "{callback}").unwrap();
    let mut err = String::new();
    stderr.read_to_string(&mut err).unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(
        child.wait().unwrap().success(),
        "{args:?} {authorize_args:?}: {seen}{err}"
    );
    (url, one_document(out.as_bytes()))
}

/// The query parameter names of a URL.
fn query_names(url: &str) -> Vec<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(name, _)| name.into_owned())
        .collect()
}

#[test]
fn authorize_with_max_age_and_a_signed_request_object_by_value_and_pushed() {
    let dir = tempfile::tempdir().unwrap();
    let key = pkjwt_key();
    for transport in transports() {
        let client = [
            "--transport",
            transport,
            "--issuer",
            oidc_provider().issuer(),
            "--client-id",
            "pkjwt-client",
            "--private-key",
            key.to_str().unwrap(),
        ];
        // By value: the URL carries the signed request, not the parameters.
        let (url, token) = authorize_pasted(
            dir.path(),
            &mut Browser::new(),
            &client,
            &["--scope", "openid", "--request-object", "--max-age", "300"],
        );
        let names = query_names(&url);
        assert!(names.contains(&"request".to_owned()), "{url}");
        assert!(!names.contains(&"redirect_uri".to_owned()), "{url}");
        assert!(!names.contains(&"code_challenge".to_owned()), "{url}");
        // max_age was honoured: the (validated) ID token says when alice signed in.
        let claims = claims_of(token["id_token"].as_str().unwrap());
        assert!(claims["auth_time"].as_u64().is_some(), "{claims}");

        // Pushed: the browser's URL carries only the request_uri.
        let (url, token) = authorize_pasted(
            dir.path(),
            &mut Browser::new(),
            &client,
            &["--scope", "openid", "--request-object", "--par"],
        );
        assert_eq!(query_names(&url), ["client_id", "request_uri"], "{url}");
        assert!(token["id_token"].is_string());
    }

    // Without a key to sign with: a configuration error naming the option.
    let out = grantline(dir.path())
        .args([
            "--issuer",
            oidc_provider().issuer(),
            "--client-id",
            "public-client",
        ])
        .args(["authorize", "--paste", "--request-object"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--private-key"));
}

#[test]
fn dpop_profile_tokens_renew_and_call_the_userinfo_endpoint_with_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let userinfo = format!("{}/me", oidc_provider().issuer());
    for transport in transports() {
        let profile = format!("dpop-{transport}");
        grantline(dir.path())
            .args([
                "--transport",
                transport,
                "--issuer",
                oidc_provider().issuer(),
            ])
            .args(["--client-id", BASIC_ID, "--client-secret-file"])
            .arg(secret_file(dir.path()))
            .args(["profile", "add", &profile, "--dpop"])
            .assert()
            .success();
        // The private key is in the secret store, never in profiles.json.
        let profiles = std::fs::read_to_string(dir.path().join("profiles.json")).unwrap();
        assert!(!profiles.contains("\"d\""), "{profiles}");
        let secrets = std::fs::read_to_string(dir.path().join("secrets.json")).unwrap();
        assert!(secrets.contains(&format!("dpop:{profile}")));

        let (_, token) = authorize_pasted(
            dir.path(),
            &mut Browser::new(),
            &["--profile", &profile],
            &["--scope", "openid"],
        );
        assert_eq!(token["token_type"], "DPoP", "{token}");

        // The userinfo endpoint, a protected resource that requires DPoP nonces, with the
        // profile's DPoP token and key.
        let out = grantline(dir.path())
            .args(["api", "GET", &userinfo, "--profile", &profile])
            .output()
            .unwrap();
        assert!(out.status.success(), "{transport}: {out:?}");
        let me: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(me["sub"], "alice");
        // `userinfo` sends the profile's token as DPoP too, with a proof by the same key.
        let out = grantline(dir.path())
            .args(["userinfo", "--profile", &profile])
            .output()
            .unwrap();
        assert!(out.status.success(), "{transport}: {out:?}");
        assert_eq!(one_document(&out.stdout)["sub"], "alice");

        // Renewed with the same key (a proof with another key would be refused), then used.
        let renewed = grantline(dir.path())
            .args(["token", "refresh", "--profile", &profile])
            .output()
            .unwrap();
        assert!(renewed.status.success(), "{renewed:?}");
        let renewed = one_document(&renewed.stdout);
        assert_eq!(renewed["token_type"], "DPoP");
        assert_ne!(renewed["access_token"], token["access_token"]);
        let out = grantline(dir.path())
            .args(["api", "GET", &userinfo, "--profile", &profile, "-i"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{transport}: {out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("HTTP/1.1 200"));

        // Signing in again with a pushed request (its DPoP proof and dpop_jkt): the same key.
        let (_, pushed) = authorize_pasted(
            dir.path(),
            &mut Browser::new(),
            &["--profile", &profile],
            &["--scope", "openid", "--par"],
        );
        assert_eq!(pushed["token_type"], "DPoP", "{pushed}");
        let out = grantline(dir.path())
            .args(["api", "GET", &userinfo, "--profile", &profile])
            .output()
            .unwrap();
        assert!(out.status.success(), "{transport}: {out:?}");

        // The same token as Bearer is refused by the resource: exit code 15, body printed.
        let bearer = renewed["access_token"].as_str().unwrap();
        let out = grantline(dir.path())
            .args([
                "--transport",
                transport,
                "api",
                "GET",
                &userinfo,
                "--token",
                bearer,
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(15), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("401"));
    }
}

#[test]
fn api_with_a_bearer_profile_and_a_dpop_client_credentials_token() {
    let dir = tempfile::tempdir().unwrap();
    let userinfo = format!("{}/me", oidc_provider().issuer());
    for transport in transports() {
        let profile = format!("bearer-{transport}");
        let client = [
            "--transport",
            transport,
            "--issuer",
            oidc_provider().issuer(),
            "--client-id",
            BASIC_ID,
        ];
        grantline(dir.path())
            .args(client)
            .arg("--client-secret-file")
            .arg(secret_file(dir.path()))
            .args(["profile", "add", &profile])
            .assert()
            .success();
        let (_, token) = authorize_pasted(
            dir.path(),
            &mut Browser::new(),
            &["--profile", &profile],
            &["--scope", "openid email"],
        );
        assert_eq!(token["token_type"], "Bearer");
        let out = grantline(dir.path())
            .args(["api", "GET", &userinfo, "--profile", &profile])
            .output()
            .unwrap();
        assert!(out.status.success(), "{transport}: {out:?}");
        let me: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(me["email"], "alice@grantline.test");

        // `token client-credentials --dpop`: a DPoP-bound token (the server asked for a nonce
        // first, which the flow answered).
        let token = run(
            dir.path(),
            transport,
            &["--dpop", "token", "client-credentials"],
        );
        assert_eq!(token["token_type"], "DPoP", "{token}");
        let generated = jkt_of(dir.path(), transport, &token);

        // `--dpop-key FILE`: every token is bound to the file's key (the server says so).
        let pem = pkjwt_key().with_file_name("client-es256.private.pem");
        let pem = pem.to_str().unwrap();
        let first = run(
            dir.path(),
            transport,
            &["--dpop-key", pem, "token", "client-credentials"],
        );
        let second = run(
            dir.path(),
            transport,
            &["--dpop-key", pem, "token", "client-credentials"],
        );
        let jkt = jkt_of(dir.path(), transport, &first);
        assert_eq!(jkt, jkt_of(dir.path(), transport, &second));
        assert_ne!(jkt, generated);
    }
}

/// The thumbprint of the key a token is bound to, as introspection tells it (`cnf.jkt`).
fn jkt_of(dir: &std::path::Path, transport: &str, token: &serde_json::Value) -> String {
    let info = run(
        dir,
        transport,
        &["introspect", token["access_token"].as_str().unwrap()],
    );
    assert_eq!(info["active"], true, "{info}");
    info["cnf"]["jkt"].as_str().unwrap().to_owned()
}

#[test]
fn device_flow_with_a_dpop_profile_then_api() {
    let dir = tempfile::tempdir().unwrap();
    for transport in transports() {
        let profile = format!("device-dpop-{transport}");
        grantline(dir.path())
            .args([
                "--transport",
                transport,
                "--issuer",
                oidc_provider().issuer(),
            ])
            .args(["--client-id", "public-client", "--auth-method", "none"])
            .args(["profile", "add", &profile, "--dpop"])
            .assert()
            .success();
        let mut cmd = grantline_process(dir.path());
        cmd.args(["--profile", &profile])
            .args(["device", "--scope", "openid", "--no-qr"]);
        let mut child = spawn(cmd);
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        let user_code = read_machine_line(&mut stderr, "user_code", &mut seen);
        let verification = read_machine_line(&mut stderr, "verification_uri", &mut seen);
        Browser::new().oidc_provider_device(&verification, &user_code, "bob");
        let mut err = String::new();
        stderr.read_to_string(&mut err).unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert!(child.wait().unwrap().success(), "{seen}{err}");
        assert_eq!(one_document(out.as_bytes())["token_type"], "DPoP");

        let out = grantline(dir.path())
            .args(["api", "GET", &format!("{}/me", oidc_provider().issuer())])
            .args(["--profile", &profile])
            .output()
            .unwrap();
        assert!(out.status.success(), "{transport}: {out:?}");
        let me: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(me["sub"], "bob");
    }
}

#[test]
fn logout_builds_the_end_session_url_the_provider_confirms() {
    let dir = tempfile::tempdir().unwrap();
    let logged_out = "http://127.0.0.1:9/logged-out";
    for transport in transports() {
        let profile = format!("logout-{transport}");
        grantline(dir.path())
            .args([
                "--transport",
                transport,
                "--issuer",
                oidc_provider().issuer(),
            ])
            .args(["--client-id", BASIC_ID, "--client-secret-file"])
            .arg(secret_file(dir.path()))
            .args(["profile", "add", &profile])
            .assert()
            .success();
        let mut browser = Browser::new();
        let (_, token) = authorize_pasted(
            dir.path(),
            &mut browser,
            &["--profile", &profile],
            &["--scope", "openid"],
        );

        let out = grantline(dir.path())
            .args(["logout", "--profile", &profile, "--no-browser"])
            .args(["--post-logout-redirect-uri", logged_out, "--state", "st-1"])
            .arg("--forget-token")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let url = one_document(&out.stdout)["logout_url"]
            .as_str()
            .unwrap()
            .to_owned();
        let hint = url::Url::parse(&url)
            .unwrap()
            .query_pairs()
            .find(|(n, _)| n == "id_token_hint")
            .map(|(_, v)| v.into_owned());
        assert_eq!(
            hint.as_deref(),
            token["id_token"].as_str(),
            "the cached ID token"
        );

        // The provider's confirmation page, then back to the client with the state.
        let page = browser.get(&url);
        assert_eq!(page.status, 200, "{}", page.body);
        let xsrf = page.input("xsrf").expect("the logout confirmation form");
        let confirm = url::Url::parse(&url)
            .unwrap()
            .join("/session/end/confirm")
            .unwrap();
        let done = browser.post(confirm.as_str(), &[("xsrf", &xsrf), ("logout", "yes")]);
        let back = browser
            .follow(done, logged_out)
            .expect("back to the client");
        assert!(back.contains("state=st-1"), "{back}");

        // The cached token is gone.
        let out = grantline(dir.path())
            .args(["token", "--profile", &profile])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3));

        // A post-logout redirect URI the client did not register: refused by the provider.
        let out = grantline(dir.path())
            .args(["logout", "--profile", &profile, "--no-browser"])
            .args(["--id-token-hint", token["id_token"].as_str().unwrap()])
            .args(["--post-logout-redirect-uri", "http://127.0.0.1:9/elsewhere"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let url = one_document(&out.stdout)["logout_url"]
            .as_str()
            .unwrap()
            .to_owned();
        let page = Browser::new().get(&url);
        assert_eq!(page.status, 400, "{}", page.body);
        assert!(
            page.body.contains("post_logout_redirect_uri"),
            "{}",
            page.body
        );
    }
}

/// The key `fapi-client` is registered with at the FAPI 2.0 server (ES256, a private JWK).
fn fapi_key() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/interop/keys/client-es256.private.jwk.json")
}

#[test]
fn fapi2_and_jarm_from_the_command_line_against_a_fapi2_server() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = oidc_provider_fapi().issuer();
    let key = fapi_key();
    let key = key.to_str().unwrap();
    for transport in transports() {
        let fapi = [
            "--transport",
            transport,
            "--issuer",
            issuer,
            "--client-id",
            "fapi-client",
            "--private-key",
            key,
            "--dpop",
            "--fapi2",
            "--jarm",
        ];
        // PAR (without --par: the profile pushes), JAR, JARM, private_key_jwt, DPoP.
        let (url, token) = authorize_pasted(
            dir.path(),
            &mut Browser::new(),
            &fapi,
            &["--scope", "openid", "--request-object"],
        );
        assert_eq!(query_names(&url), ["client_id", "request_uri"], "{url}");
        assert_eq!(token["token_type"], "DPoP", "{token}");
        assert!(token["id_token"].is_string(), "{token}");

        // RFC 9701: the answer is a signed JWT, verified, printed as its claims.
        let access_token = token["access_token"].as_str().unwrap();
        let out = grantline(dir.path())
            .args(fapi)
            .args(["introspect", "--signed", access_token])
            .output()
            .unwrap();
        assert!(out.status.success(), "{transport}: {out:?}");
        let answer = one_document(&out.stdout);
        assert_eq!(answer["active"], true, "{answer}");
        assert!(answer["cnf"]["jkt"].is_string(), "{answer}");

        // The profile refuses what it forbids before anything is sent, naming the rule and
        // the option: here, tokens that would not be sender-constrained (no --dpop).
        let no_dpop: Vec<&str> = fapi.iter().copied().filter(|a| *a != "--dpop").collect();
        let out = grantline(dir.path())
            .args(&no_dpop)
            .args([
                "authorize",
                "--paste",
                "--redirect-uri",
                "http://127.0.0.1:9/callback",
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(
            stderr.contains("FAPI 2.0") && stderr.contains("--dpop"),
            "{stderr}"
        );

        // JARM on its own, for a client outside the profile: the response comes back signed
        // and is verified before the code is used.
        let jarm = [
            "--transport",
            transport,
            "--issuer",
            issuer,
            "--client-id",
            "jarm-client",
            "--client-secret",
            "jarm-secret",
            "--jarm",
        ];
        let (_, token) = authorize_pasted(
            dir.path(),
            &mut Browser::new(),
            &jarm,
            &["--scope", "openid"],
        );
        assert_eq!(token["token_type"], "Bearer", "{token}");
    }
}
