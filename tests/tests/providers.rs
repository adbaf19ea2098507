//! The provider presets (`grantline::providers`), each replaying answers written from the
//! provider's published documentation (`tests/fixtures/providers/<name>/`, with a note of the
//! source of each) through a loopback mock, on both transports. Each test checks what the
//! provider would have received (endpoint, authentication, quirk parameters) and what the
//! application gets back.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use grantline::authorization::Callback;
use grantline::clock::ScaledClock;
use grantline::device::DeviceAuthorizationRequest;
use grantline::discovery::ServerMetadata;
use grantline::driver::RunError;
use grantline::grant::TokenRequest;
use grantline::jose::{Algorithm, SigningKey, UnverifiedJws};
use grantline::providers::{self, AuthServer, Preset, Tenant};
use grantline::{Error, Flow};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// How much faster the flows' clock runs: GitHub's and Google's 5 s polling interval is 100 ms.
const SPEED: u32 = 50;

/// A P-256 key made for these tests (Apple's `.p8` keys are this shape: PKCS#8, ES256).
const TEST_P256_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQggem3lymGZNxqPF7o\nfN/Sjq7JDgkjw0Mxg/vAYgKnVB6hRANCAAS/08i3hw/B3EQjGJIeFuKgY+HMvMpG\nB99l/vR858Hi58eMXsCSynwnhzFFScLYrVEbiPg5zxqFpdQMLIskGyFz\n-----END PRIVATE KEY-----\n";

#[derive(Clone, Copy, Debug)]
enum Via {
    Ureq,
    Reqwest,
}

/// A loopback mock playing one provider, and a transport to reach it.
struct Provider {
    runtime: tokio::runtime::Runtime,
    server: MockServer,
    name: &'static str,
    via: Via,
    ureq: grantline_ureq::Transport,
    reqwest: grantline_reqwest::Transport,
}

/// Replies with each fixture in turn, then keeps repeating the last one.
struct Sequence(Arc<Mutex<VecDeque<ResponseTemplate>>>);

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

impl Provider {
    fn new(name: &'static str, via: Via) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.block_on(MockServer::start());
        Self {
            runtime,
            server,
            name,
            via,
            ureq: grantline_ureq::Transport::new().clock(ScaledClock::new(SPEED)),
            reqwest: grantline_reqwest::Transport::new()
                .unwrap()
                .clock(ScaledClock::new(SPEED)),
        }
    }

    fn base(&self) -> String {
        self.server.uri()
    }

    /// A fixture file of this provider, as the mock's answer.
    fn fixture(&self, file: &str) -> ResponseTemplate {
        let path: PathBuf = [
            env!("CARGO_MANIFEST_DIR"),
            "fixtures",
            "providers",
            self.name,
            file,
        ]
        .iter()
        .collect();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        let (head, body) = text
            .split_once("\n\n")
            .expect("a blank line after the headers");
        let mut lines = head.lines();
        let status: u16 = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        let mut reply = ResponseTemplate::new(status);
        for line in lines {
            let (name, value) = line.split_once(':').expect("a header");
            reply = reply.insert_header(name.trim(), value.trim());
        }
        let body = body.trim_end_matches('\n').replace("{base}", &self.base());
        reply.set_body_bytes(body.into_bytes())
    }

    /// Answers `method path` with these fixtures in turn (the last one repeated).
    fn answer(&self, verb: &str, at: &str, files: &[&str]) {
        let replies = files.iter().map(|f| self.fixture(f)).collect();
        self.runtime.block_on(
            Mock::given(method(verb))
                .and(path(at))
                .respond_with(Sequence(Arc::new(Mutex::new(replies))))
                .mount(&self.server),
        );
    }

    fn run<F>(&self, flow: F) -> Result<F::Output, RunError>
    where
        F: Flow + Send,
        F::Output: Send,
    {
        match self.via {
            Via::Ureq => self.ureq.run(flow),
            Via::Reqwest => self.runtime.block_on(self.reqwest.run(flow)),
        }
    }

    /// The preset pointed at the mock, its metadata discovered when it has discovery.
    fn discover(&self, preset: Preset) -> (Preset, Option<ServerMetadata>) {
        let preset = preset.origin(&self.base()).unwrap();
        let metadata = preset
            .discovery()
            .unwrap()
            .map(|flow| self.run(flow).unwrap());
        (preset, metadata)
    }

    /// The requests the mock received at `at`.
    fn received(&self, at: &str) -> Vec<Request> {
        self.runtime
            .block_on(self.server.received_requests())
            .unwrap()
            .into_iter()
            .filter(|r| r.url.path() == at)
            .collect()
    }
}

fn form(request: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

fn param(request: &Request, name: &str) -> Option<String> {
    form(request)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn header(request: &Request, name: &str) -> Option<String> {
    request
        .headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

fn oauth_error(result: Result<impl std::fmt::Debug, RunError>) -> String {
    match result {
        Err(RunError::Flow(Error::OAuth(e))) => e.code.as_str().to_owned(),
        other => panic!("expected an OAuth error, got {other:?}"),
    }
}

/// Runs a scenario on both transports.
macro_rules! on_both_transports {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[test]
            fn ureq() {
                super::$scenario(super::Via::Ureq);
            }
            #[test]
            fn reqwest() {
                super::$scenario(super::Via::Reqwest);
            }
        }
    )*};
}

on_both_transports!(
    github_device_flow_waits_on_errors_in_a_200_and_reads_a_form_answer,
    github_code_exchange_error_in_a_200_is_an_oauth_error,
    google_device_flow_reads_verification_url,
    google_service_account_signs_a_jwt_bearer_assertion,
    entra_id_multi_tenant_accepts_the_tenantid_issuer_and_asks_for_default,
    entra_id_single_tenant_discovers_its_tenant,
    auth0_sends_the_audience,
    okta_custom_and_org_authorization_servers,
    keycloak_finds_the_realm,
    cognito_sends_raw_basic_credentials,
    apple_posts_the_callback_and_signs_a_client_secret,
);

fn github_device_flow_waits_on_errors_in_a_200_and_reads_a_form_answer(via: Via) {
    let github = Provider::new("github", via);
    github.answer("POST", "/login/device/code", &["device_code.http"]);
    github.answer(
        "POST",
        "/login/oauth/access_token",
        &["access_token_pending.http", "access_token_form.http"],
    );
    let (preset, metadata) = github.discover(providers::github("Iv1.b507a08c87ecfe98"));
    assert!(metadata.is_none(), "GitHub has no discovery");
    let client = preset.builder(None).unwrap().build().unwrap();

    let authorization = github
        .run(
            client
                .device_authorization(DeviceAuthorizationRequest::new().scope("repo gist"))
                .unwrap(),
        )
        .unwrap();
    assert_eq!(authorization.user_code(), "WDJB-MJHT");
    assert_eq!(
        authorization.verification_uri(),
        "https://github.com/login/device"
    );
    let token = github
        .run(client.device_token(authorization).unwrap())
        .unwrap();
    assert_eq!(
        token.access_token().secret(),
        "gho_16C7e42F292c6912E7710c838347Ae178B4a"
    );
    assert_eq!(token.token_type(), &grantline::TokenType::Bearer);

    let polls = github.received("/login/oauth/access_token");
    assert_eq!(
        polls.len(),
        2,
        "one pending answer (in a 200), then the token"
    );
    for poll in &polls {
        assert_eq!(header(poll, "accept").as_deref(), Some("application/json"));
        assert_eq!(
            param(poll, "device_code").as_deref(),
            Some("3584d83530557fdd1f46af8289938c8ef79f9dc5")
        );
        assert_eq!(
            param(poll, "client_id").as_deref(),
            Some("Iv1.b507a08c87ecfe98")
        );
    }
}

fn github_code_exchange_error_in_a_200_is_an_oauth_error(via: Via) {
    let github = Provider::new("github", via);
    github.answer(
        "POST",
        "/login/oauth/access_token",
        &["access_token_bad_code.http"],
    );
    let (preset, _) =
        github.discover(providers::github("Iv1.b507a08c87ecfe98").client_secret("gh-s3cr3t"));
    let client = preset
        .builder(None)
        .unwrap()
        .redirect_uri("http://127.0.0.1:8080/callback")
        .build()
        .unwrap();
    let (url, pending) = preset
        .authorization_request(&client)
        .into_redirect()
        .unwrap();
    assert!(
        url.as_str()
            .starts_with(&format!("{}/login/oauth/authorize?", github.base()))
    );
    let state = pending.state().to_owned();
    let code = pending
        .validate_callback(format!("code=expired&state={state}").as_str())
        .unwrap();
    let result = github.run(client.exchange_code(code).unwrap());
    assert_eq!(oauth_error(result), "bad_verification_code");

    let sent = &github.received("/login/oauth/access_token")[0];
    assert_eq!(param(sent, "client_secret").as_deref(), Some("gh-s3cr3t"));
    assert_eq!(
        header(sent, "authorization"),
        None,
        "GitHub takes the secret in the form"
    );
}

fn google_device_flow_reads_verification_url(via: Via) {
    let google = Provider::new("google", via);
    google.answer(
        "GET",
        "/.well-known/openid-configuration",
        &["openid-configuration.http"],
    );
    google.answer("POST", "/device/code", &["device_code.http"]);
    google.answer("POST", "/token", &["token_pending.http", "token.http"]);
    let (preset, metadata) = google.discover(
        providers::google("1234567890-abc.apps.googleusercontent.com")
            .client_secret("GOCSPX-s3cr3t"),
    );
    let client = preset.builder(metadata.as_ref()).unwrap().build().unwrap();
    assert_eq!(client.issuer(), Some(google.base().as_str()));

    let authorization = google
        .run(
            client
                .device_authorization(DeviceAuthorizationRequest::new().scope("email profile"))
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        authorization.verification_uri(),
        "https://www.google.com/device",
        "Google's `verification_url` is read"
    );
    assert_eq!(authorization.user_code(), "GQVQ-JKEC");
    let token = google
        .run(client.device_token(authorization).unwrap())
        .unwrap();
    assert_eq!(token.access_token().secret(), "1/fFAGRNJru1FTz70BzhT3Zg");
    assert!(token.refresh_token().is_some());

    let polls = google.received("/token");
    assert_eq!(polls.len(), 2);
    for poll in &polls {
        assert_eq!(
            param(poll, "client_secret").as_deref(),
            Some("GOCSPX-s3cr3t")
        );
    }
}

fn google_service_account_signs_a_jwt_bearer_assertion(via: Via) {
    let google = Provider::new("google", via);
    google.answer(
        "GET",
        "/.well-known/openid-configuration",
        &["openid-configuration.http"],
    );
    google.answer("POST", "/token", &["service_account_token.http"]);
    let email = "robot@project-id.iam.gserviceaccount.com";
    let (preset, metadata) = google.discover(providers::google(email));
    let client = preset.builder(metadata.as_ref()).unwrap().build().unwrap();
    let key = SigningKey::from_pem(Algorithm::ES256, TEST_P256_PEM).unwrap();
    let public = key.public_jwk().unwrap();
    let source = providers::google_service_account(
        email,
        email,
        "https://www.googleapis.com/auth/devstorage.read_only",
        key,
    );
    let token = google
        .run(
            client
                .request_token(TokenRequest::jwt_bearer_from(source))
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        token.access_token().secret(),
        "1/8xbJqaOZXSUZbHLl5EOtu1pxz3fmmetKx9W8CV4t79M"
    );

    let sent = &google.received("/token")[0];
    assert_eq!(
        param(sent, "grant_type").as_deref(),
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    );
    let assertion = param(sent, "assertion").unwrap();
    let verified = UnverifiedJws::parse(&assertion)
        .unwrap()
        .verify_with_key(&public, &[Algorithm::ES256])
        .unwrap();
    let claims: serde_json::Value = serde_json::from_slice(verified.payload()).unwrap();
    assert_eq!(claims["iss"], email);
    assert_eq!(claims["aud"], "https://oauth2.googleapis.com/token");
    assert_eq!(
        claims["scope"],
        "https://www.googleapis.com/auth/devstorage.read_only"
    );
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        3600,
        "Google accepts an assertion for at most an hour"
    );
}

fn entra_id_multi_tenant_accepts_the_tenantid_issuer_and_asks_for_default(via: Via) {
    let entra = Provider::new("entra-id", via);
    entra.answer(
        "GET",
        "/common/v2.0/.well-known/openid-configuration",
        &["openid-configuration-common.http"],
    );
    entra.answer(
        "POST",
        "/common/oauth2/v2.0/token",
        &["client_credentials_token.http"],
    );
    let (preset, metadata) = entra.discover(
        providers::entra_id(Tenant::Common, "6731de76-14a6-49ae-97bc-6eba6914391e")
            .unwrap()
            .client_secret("entra-s3cr3t"),
    );
    let metadata = metadata.unwrap();
    assert!(metadata.is_tenant_template());
    assert_eq!(
        metadata.issuer_for_tenant("9188040d-6c67-4c5b-b112-36a304b66dad"),
        format!("{}/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0", entra.base())
    );
    let client = preset.builder(Some(&metadata)).unwrap().build().unwrap();
    let token = entra
        .run(
            client
                .request_token(TokenRequest::client_credentials().scope(
                    providers::entra_default_scope("https://graph.microsoft.com"),
                ))
                .unwrap(),
        )
        .unwrap();
    assert!(token.access_token().secret().starts_with("eyJ0eXAi"));
    assert!(token.extra().contains_key("ext_expires_in"));

    let sent = &entra.received("/common/oauth2/v2.0/token")[0];
    assert_eq!(
        param(sent, "scope").as_deref(),
        Some("https://graph.microsoft.com/.default")
    );
    assert_eq!(
        param(sent, "client_secret").as_deref(),
        Some("entra-s3cr3t")
    );
}

fn entra_id_single_tenant_discovers_its_tenant(via: Via) {
    let entra = Provider::new("entra-id", via);
    let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    entra.answer(
        "GET",
        &format!("/{tenant}/v2.0/.well-known/openid-configuration"),
        &["openid-configuration-tenant.http"],
    );
    let (preset, metadata) =
        entra.discover(providers::entra_id(Tenant::Id(tenant.into()), "app").unwrap());
    let metadata = metadata.unwrap();
    assert!(!metadata.is_tenant_template());
    let client = preset.builder(Some(&metadata)).unwrap().build().unwrap();
    assert_eq!(
        client.issuer(),
        Some(format!("{}/{tenant}/v2.0", entra.base()).as_str())
    );

    // A single-tenant preset does not accept the multi-tenant template.
    let other = Provider::new("entra-id", via);
    other.answer(
        "GET",
        &format!("/{tenant}/v2.0/.well-known/openid-configuration"),
        &["openid-configuration-common.http"],
    );
    let preset = providers::entra_id(Tenant::Id(tenant.into()), "app")
        .unwrap()
        .origin(&other.base())
        .unwrap();
    match other.run(preset.discovery().unwrap().unwrap()) {
        Err(RunError::Flow(Error::Validation(_))) => {}
        result => panic!("expected an issuer mismatch, got {result:?}"),
    }
}

fn auth0_sends_the_audience(via: Via) {
    let auth0 = Provider::new("auth0", via);
    auth0.answer(
        "GET",
        "/.well-known/openid-configuration",
        &["openid-configuration.http"],
    );
    auth0.answer("POST", "/oauth/token", &["client_credentials_token.http"]);
    let (preset, metadata) = auth0.discover(
        providers::auth0("acme.eu.auth0.com", "YOUR_CLIENT_ID")
            .unwrap()
            .client_secret("auth0-s3cr3t")
            .audience("https://api.example.com"),
    );
    let client = preset
        .builder(metadata.as_ref())
        .unwrap()
        .redirect_uri("http://127.0.0.1:8080/callback")
        .build()
        .unwrap();
    assert_eq!(client.issuer(), Some(format!("{}/", auth0.base()).as_str()));
    let token = auth0
        .run(
            client
                .request_token(preset.token_request(TokenRequest::client_credentials()))
                .unwrap(),
        )
        .unwrap();
    assert_eq!(token.access_token().secret(), "eyJz93a...k4laUWw");
    let sent = &auth0.received("/oauth/token")[0];
    assert_eq!(
        param(sent, "audience").as_deref(),
        Some("https://api.example.com")
    );
    assert_eq!(
        param(sent, "client_secret").as_deref(),
        Some("auth0-s3cr3t")
    );

    let (url, _) = preset
        .authorization_request(&client)
        .into_redirect()
        .unwrap();
    assert!(
        url.query_pairs()
            .any(|(k, v)| k == "audience" && v == "https://api.example.com")
    );
}

fn okta_custom_and_org_authorization_servers(via: Via) {
    let okta = Provider::new("okta", via);
    okta.answer(
        "GET",
        "/oauth2/default/.well-known/openid-configuration",
        &["openid-configuration.http"],
    );
    okta.answer(
        "GET",
        "/.well-known/openid-configuration",
        &["org-openid-configuration.http"],
    );
    okta.answer(
        "POST",
        "/oauth2/default/v1/token",
        &["client_credentials_token.http"],
    );

    let (org, metadata) =
        okta.discover(providers::okta("acme.okta.com", AuthServer::Org, "0oa1").unwrap());
    let client = org.builder(metadata.as_ref()).unwrap().build().unwrap();
    assert_eq!(client.issuer(), Some(okta.base().as_str()));
    assert_eq!(
        client
            .endpoint(grantline::EndpointKind::Token)
            .unwrap()
            .as_str(),
        format!("{}/oauth2/v1/token", okta.base())
    );

    let (custom, metadata) = okta.discover(
        providers::okta(
            "acme.okta.com",
            AuthServer::Custom("default".into()),
            "0oa1",
        )
        .unwrap()
        .client_secret("okta-s3cr3t"),
    );
    let client = custom.builder(metadata.as_ref()).unwrap().build().unwrap();
    let token = okta
        .run(
            client
                .request_token(TokenRequest::client_credentials().scope("customScope"))
                .unwrap(),
        )
        .unwrap();
    assert_eq!(token.scope().unwrap().to_string(), "customScope");
    let sent = &okta.received("/oauth2/default/v1/token")[0];
    assert_eq!(
        header(sent, "authorization").as_deref(),
        Some(basic("0oa1", "okta-s3cr3t").as_str())
    );
}

fn keycloak_finds_the_realm(via: Via) {
    let keycloak = Provider::new("keycloak", via);
    keycloak.answer(
        "GET",
        "/realms/acme/.well-known/openid-configuration",
        &["openid-configuration.http"],
    );
    keycloak.answer(
        "POST",
        "/realms/acme/protocol/openid-connect/token",
        &["client_credentials_token.http"],
    );
    let (preset, metadata) = keycloak.discover(
        providers::keycloak("https://sso.example", "acme", "backend")
            .unwrap()
            .client_secret("kc-s3cr3t"),
    );
    let client = preset.builder(metadata.as_ref()).unwrap().build().unwrap();
    assert_eq!(
        client.issuer(),
        Some(format!("{}/realms/acme", keycloak.base()).as_str())
    );
    let token = keycloak
        .run(
            client
                .request_token(TokenRequest::client_credentials())
                .unwrap(),
        )
        .unwrap();
    assert!(token.extra().contains_key("refresh_expires_in"));
    let sent = &keycloak.received("/realms/acme/protocol/openid-connect/token")[0];
    assert_eq!(
        header(sent, "authorization").as_deref(),
        Some(basic("backend", "kc-s3cr3t").as_str())
    );
}

fn cognito_sends_raw_basic_credentials(via: Via) {
    let cognito = Provider::new("cognito", via);
    cognito.answer(
        "GET",
        "/eu-west-1_AbCdEf123/.well-known/openid-configuration",
        &["openid-configuration.http"],
    );
    cognito.answer("POST", "/oauth2/token", &["client_credentials_token.http"]);
    // A secret with characters that form-encoding would change, so raw and encoded differ.
    let secret = "1a2b+c/d=e";
    let (preset, metadata) = cognito.discover(
        providers::cognito("eu-west-1_AbCdEf123", "4b2n8pgbd5p1example")
            .unwrap()
            .client_secret(secret),
    );
    let client = preset.builder(metadata.as_ref()).unwrap().build().unwrap();
    let token = cognito
        .run(
            client
                .request_token(TokenRequest::client_credentials())
                .unwrap(),
        )
        .unwrap();
    assert_eq!(token.access_token().secret(), "eyJra1example");
    let sent = &cognito.received("/oauth2/token")[0];
    assert_eq!(
        header(sent, "authorization").as_deref(),
        Some(basic("4b2n8pgbd5p1example", secret).as_str()),
        "the id and secret go unencoded"
    );
}

fn apple_posts_the_callback_and_signs_a_client_secret(via: Via) {
    let apple = Provider::new("apple", via);
    apple.answer(
        "GET",
        "/.well-known/openid-configuration",
        &["openid-configuration.http"],
    );
    apple.answer("POST", "/auth/token", &["token.http"]);
    let key = SigningKey::from_pem(Algorithm::ES256, TEST_P256_PEM)
        .unwrap()
        .with_key_id("ABC123DEFG");
    let public = key.public_jwk().unwrap();
    let (preset, metadata) =
        apple.discover(providers::apple("com.example.web", "DEF123GHIJ", key).unwrap());
    let client = preset
        .builder(metadata.as_ref())
        .unwrap()
        .redirect_uri("http://127.0.0.1:8080/callback")
        .build()
        .unwrap();
    let (url, pending) = preset
        .authorization_request(&client)
        .scope("name email")
        .into_redirect()
        .unwrap();
    assert!(
        url.query_pairs()
            .any(|(k, v)| k == "response_mode" && v == "form_post")
    );
    // Apple posts the callback: the form body, not a query.
    let body = format!("code=c1a2b3&state={}", pending.state());
    let code = pending
        .validate_callback(Callback::form_post(body.as_bytes()))
        .unwrap();
    let token = apple
        .run(
            client
                .exchange_code(code)
                .unwrap()
                .insecure_skip_id_token_validation(),
        )
        .unwrap();
    assert_eq!(token.access_token().secret(), "adg61...67Or9");

    let sent = &apple.received("/auth/token")[0];
    assert_eq!(param(sent, "client_id").as_deref(), Some("com.example.web"));
    let secret = param(sent, "client_secret").unwrap();
    let verified = UnverifiedJws::parse(&secret)
        .unwrap()
        .verify_with_key(&public, &[Algorithm::ES256])
        .unwrap();
    assert_eq!(verified.header().key_id(), Some("ABC123DEFG"));
    let claims: serde_json::Value = serde_json::from_slice(verified.payload()).unwrap();
    assert_eq!(claims["iss"], "DEF123GHIJ");
    assert_eq!(claims["sub"], "com.example.web");
    assert_eq!(claims["aud"], "https://appleid.apple.com");
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert!(lifetime > 0 && lifetime <= 15_777_000, "{lifetime}");
}
