use std::sync::atomic::{AtomicU8, Ordering};

use base64::Engine as _;
use sha2::Digest as _;

use super::*;
use crate::EndpointKind;
use crate::discovery::ServerMetadata;
use crate::error::{ConfigError, ErrorCode, ValidationError};
use crate::random::Randomness;
use crate::testing::Driver;
use crate::{Client, Error};

/// Each 32 bytes drawn (one generated value) are one byte repeated, counting up: 0x00...,
/// then 0x01..., and so on, however many values one fill asks for.
#[derive(Debug, Default)]
struct Counting(AtomicU8);

impl Randomness for Counting {
    fn fill(&self, dest: &mut [u8]) -> Result<(), Error> {
        for value in dest.chunks_mut(32) {
            value.fill(self.0.fetch_add(1, Ordering::SeqCst));
        }
        Ok(())
    }
}

const REDIRECT: &str = "http://127.0.0.1:8080/callback";
const ISSUER: &str = "https://as.example";

fn builder() -> crate::ClientBuilder {
    Client::builder("app")
        .redirect_uri(REDIRECT)
        .issuer(ISSUER)
        .authorization_endpoint("https://as.example/authorize?tenant=t")
        .endpoint(EndpointKind::PushedAuthorization, "https://as.example/par")
        .token_endpoint("https://as.example/token")
        .jwks_uri("https://as.example/jwks")
        .client_secret_basic("s3cr3t")
}

fn client() -> Client {
    builder().build().unwrap()
}

fn query(url: &url::Url) -> Vec<(String, String)> {
    url.query_pairs().into_owned().collect()
}

fn get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn start(scope: &str) -> (url::Url, PendingAuthorization) {
    client()
        .authorization_request()
        .scope(scope)
        .into_redirect()
        .unwrap()
}

// Authorization request.

#[test]
fn the_url_carries_every_required_parameter_and_keeps_the_endpoint_query() {
    let (url, pending) = start("openid profile");
    assert_eq!(url.path(), "/authorize");
    let q = query(&url);
    assert_eq!(q[0], ("tenant".to_owned(), "t".to_owned()));
    assert_eq!(get(&q, "response_type"), Some("code"));
    assert_eq!(get(&q, "client_id"), Some("app"));
    assert_eq!(get(&q, "redirect_uri"), Some(REDIRECT));
    assert_eq!(get(&q, "scope"), Some("openid profile"));
    assert_eq!(get(&q, "state"), Some(pending.state()));
    assert_eq!(get(&q, "nonce"), pending.nonce());
    assert_eq!(get(&q, "code_challenge_method"), Some("S256"));
    let verifier = pending.code_verifier().unwrap();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    assert_eq!(get(&q, "code_challenge"), Some(challenge.as_str()));
}

#[test]
fn generated_values_have_256_bits_and_are_base64url() {
    let (_, a) = start("openid");
    let (_, b) = start("openid");
    for value in [a.state(), a.nonce().unwrap(), a.code_verifier().unwrap()] {
        assert_eq!(value.len(), 43, "32 bytes in base64url");
        assert!(
            value
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }
    assert_ne!(a.state(), b.state());
    assert_ne!(a.nonce(), b.nonce());
    assert_ne!(a.code_verifier(), b.code_verifier());
}

#[test]
fn randomness_is_an_input() {
    let client = builder().randomness(Counting::default()).build().unwrap();
    let (url, pending) = client
        .authorization_request()
        .scope("openid")
        .into_redirect()
        .unwrap();
    let b64 = |byte: u8| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([byte; 32]);
    assert_eq!(pending.state(), b64(0));
    assert_eq!(pending.nonce(), Some(b64(1).as_str()));
    assert_eq!(pending.code_verifier(), Some(b64(2).as_str()));
    assert!(url.as_str().contains(&format!("state={}", b64(0))));
}

#[test]
fn nonce_only_with_openid_unless_given() {
    let (url, pending) = start("profile");
    assert!(pending.nonce().is_none());
    assert!(get(&query(&url), "nonce").is_none());
    let (url, pending) = client()
        .authorization_request()
        .nonce("my-nonce")
        .into_redirect()
        .unwrap();
    assert_eq!(pending.nonce(), Some("my-nonce"));
    assert_eq!(get(&query(&url), "nonce"), Some("my-nonce"));
}

#[test]
fn supplied_values_are_used_and_checked() {
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let (url, pending) = client()
        .authorization_request()
        .state("my-state")
        .code_verifier(verifier)
        .into_redirect()
        .unwrap();
    let q = query(&url);
    assert_eq!(get(&q, "state"), Some("my-state"));
    assert_eq!(
        get(&q, "code_challenge"),
        Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    );
    assert_eq!(pending.code_verifier(), Some(verifier));
    for bad in ["short", &"x".repeat(129), &format!("{}/", "a".repeat(50))] {
        let e = client()
            .authorization_request()
            .code_verifier(bad)
            .into_redirect()
            .unwrap_err();
        assert!(
            matches!(e, Error::Config(ConfigError::InvalidParameter { ref name, .. }) if name == "code_verifier")
        );
    }
    let e = client()
        .authorization_request()
        .state("")
        .into_redirect()
        .unwrap_err();
    assert!(
        matches!(e, Error::Config(ConfigError::InvalidParameter { ref name, .. }) if name == "state")
    );
}

#[test]
fn pkce_plain_and_off_need_their_named_opt_ins() {
    let (url, pending) = client()
        .authorization_request()
        .insecure_pkce_plain()
        .into_redirect()
        .unwrap();
    let q = query(&url);
    assert_eq!(get(&q, "code_challenge_method"), Some("plain"));
    assert_eq!(get(&q, "code_challenge"), pending.code_verifier());

    let (url, pending) = client()
        .authorization_request()
        .insecure_without_pkce()
        .into_redirect()
        .unwrap();
    let q = query(&url);
    assert!(get(&q, "code_challenge").is_none());
    assert!(get(&q, "code_challenge_method").is_none());
    assert!(pending.code_verifier().is_none());
}

#[test]
fn bad_parameters_are_refused_with_a_reason() {
    let reserved = client()
        .authorization_request()
        .param("state", "x")
        .into_redirect()
        .unwrap_err();
    assert!(
        matches!(reserved, Error::Config(ConfigError::ReservedParameter(ref n)) if n == "state")
    );
    let claims = client()
        .authorization_request()
        .claims("[1]")
        .into_redirect()
        .unwrap_err();
    assert!(
        matches!(claims, Error::Config(ConfigError::InvalidParameter { ref name, .. }) if name == "claims")
    );
    let resource = client()
        .authorization_request()
        .resource("relative")
        .into_redirect()
        .unwrap_err();
    assert!(
        matches!(resource, Error::Config(ConfigError::InvalidParameter { ref name, .. }) if name == "resource")
    );
}

#[test]
fn the_redirect_uri_is_checked_when_set_and_a_request_needs_one() {
    // Checked and parsed when the client is built, or when a request's own is made.
    for redirect in ["not a uri", "https://app.example/cb#frag"] {
        for e in [
            builder().redirect_uri(redirect).build().unwrap_err(),
            RedirectUri::new(redirect).unwrap_err(),
        ] {
            assert!(
                matches!(e, Error::Config(ConfigError::InvalidParameter { ref name, .. }) if name == "redirect_uri")
            );
        }
    }
    let without = Client::builder("app")
        .authorization_endpoint("https://as.example/authorize")
        .endpoint(EndpointKind::PushedAuthorization, "https://as.example/par")
        .token_endpoint("https://as.example/token")
        .build()
        .unwrap();
    assert!(matches!(
        without.authorization_request().into_redirect(),
        Err(Error::Config(ConfigError::MissingRedirectUri))
    ));
    assert!(matches!(
        without.authorization_request().into_pushed(),
        Err(Error::Config(ConfigError::MissingRedirectUri))
    ));
    // A request's own redirect URI is sent instead of the client's, and the callback must
    // come back to it.
    let own = RedirectUri::new("http://127.0.0.1:49152/cb").unwrap();
    for client in [client(), without] {
        let (url, pending) = client
            .authorization_request()
            .redirect_uri(own.clone())
            .into_redirect()
            .unwrap();
        assert_eq!(get(&query(&url), "redirect_uri"), Some(own.as_str()));
        let s = pending.state().to_owned();
        let wrong = format!("{REDIRECT}?code=c&state={s}&iss=https%3A%2F%2Fas.example");
        assert_eq!(
            validation(callback(pending, &wrong)),
            ValidationError::RedirectUriMismatch
        );
    }
}

#[test]
fn the_pending_authorization_shares_the_redirect_uri_parsed_once() {
    let client = client();
    let (_, pending) = client.authorization_request().into_redirect().unwrap();
    // The very URL the client parsed when it was built: nothing was parsed again.
    assert!(std::ptr::eq(
        pending.redirect_uri.url(),
        client.redirect_uri().unwrap().url()
    ));
    let (_, pushed) = client.authorization_request().into_pushed().unwrap();
    assert!(std::ptr::eq(
        pushed.redirect_uri.url(),
        client.redirect_uri().unwrap().url()
    ));
}

#[test]
fn a_missing_endpoint_is_a_typed_error() {
    let client = Client::builder("app").build().unwrap();
    let e = client.authorization_request().into_redirect().unwrap_err();
    assert!(matches!(
        e,
        Error::Config(ConfigError::MissingEndpoint(EndpointKind::Authorization))
    ));
    let no_par = Client::builder("app")
        .authorization_endpoint("https://as.example/authorize")
        .build()
        .unwrap();
    let e = no_par.authorization_request().into_pushed().unwrap_err();
    assert!(matches!(
        e,
        Error::Config(ConfigError::MissingEndpoint(
            EndpointKind::PushedAuthorization
        ))
    ));
}

fn metadata(require_par: bool, iss_supported: bool) -> ServerMetadata {
    ServerMetadata {
        issuer: ISSUER.to_owned(),
        authorization_endpoint: Some("https://as.example/authorize".to_owned()),
        pushed_authorization_request_endpoint: Some("https://as.example/par".to_owned()),
        token_endpoint: Some("https://as.example/token".to_owned()),
        require_pushed_authorization_requests: require_par,
        authorization_response_iss_parameter_supported: iss_supported,
        ..ServerMetadata::default()
    }
}

#[test]
fn when_par_is_required_the_plain_path_refuses() {
    let client = Client::from_metadata("app", &metadata(true, false))
        .redirect_uri(REDIRECT)
        .build()
        .unwrap();
    let e = client.authorization_request().into_redirect().unwrap_err();
    assert!(matches!(e, Error::Config(ConfigError::ParRequired)));
    assert!(client.authorization_request().into_pushed().is_ok());
}

#[test]
fn pending_state_survives_serialization_and_hides_its_secrets() {
    let (_, pending) = start("openid");
    let shown = format!("{pending:?}");
    for secret in [
        pending.state(),
        pending.nonce().unwrap(),
        pending.code_verifier().unwrap(),
    ] {
        assert!(!shown.contains(secret), "{shown}");
    }
    let state = pending.state().to_owned();
    let stored = serde_json::to_string(&pending).unwrap();
    let restored: PendingAuthorization = serde_json::from_str(&stored).unwrap();
    assert!(
        restored
            .validate_callback(format!("{REDIRECT}?code=c&state={state}").as_str())
            .is_ok()
    );
    // Restored, it still checks where the callback came back to...
    let restored: PendingAuthorization = serde_json::from_str(&stored).unwrap();
    assert_eq!(
        validation(callback(
            restored,
            &format!("http://127.0.0.1:8080/elsewhere?code=c&state={state}")
        )),
        ValidationError::RedirectUriMismatch
    );
    // ...and a stored redirect URI that is not one is refused when read back.
    let tampered = stored.replace(REDIRECT, "not a uri");
    assert!(serde_json::from_str::<PendingAuthorization>(&tampered).is_err());
}

// Pushed authorization requests.

#[test]
fn par_pushes_the_parameters_and_yields_a_short_url() {
    let (flow, pending) = client()
        .authorization_request()
        .scope("openid")
        .login_hint("alice")
        .into_pushed()
        .unwrap();
    let mut driver = Driver::new().reply_json(
        201,
        r#"{"request_uri":"urn:ietf:params:oauth:request_uri:abc","expires_in":60}"#,
    );
    let pushed = driver.run(flow).unwrap();
    let request = driver.transcript().requests().next().unwrap();
    assert_eq!(request.uri(), "https://as.example/par");
    assert!(request.headers()["authorization"].is_sensitive());
    let form = driver.transcript().form(0).unwrap();
    assert_eq!(get(&form, "state"), Some(pending.state()));
    assert_eq!(get(&form, "login_hint"), Some("alice"));
    assert_eq!(get(&form, "response_type"), Some("code"));
    assert_eq!(
        form.iter().filter(|(n, _)| n == "client_id").count(),
        1,
        "client_id is pushed once"
    );
    assert_eq!(
        query(pushed.url()),
        [
            ("tenant".to_owned(), "t".to_owned()),
            ("client_id".to_owned(), "app".to_owned()),
            (
                "request_uri".to_owned(),
                "urn:ietf:params:oauth:request_uri:abc".to_owned()
            )
        ]
    );
}

#[test]
fn par_errors_are_typed() {
    let (flow, _) = client().authorization_request().into_pushed().unwrap();
    let mut driver = Driver::new().reply_json(201, r#"{"expires_in":60}"#);
    let e = driver.run(flow).unwrap_err();
    assert!(matches!(e.flow_error(), Some(Error::InvalidResponse(e)) if e.field == "request_uri"));
    let (flow, _) = client().authorization_request().into_pushed().unwrap();
    let mut driver = Driver::new().reply_json(400, r#"{"error":"invalid_request"}"#);
    let e = driver.run(flow).unwrap_err();
    assert_eq!(
        e.flow_error().and_then(Error::oauth_code),
        Some(&ErrorCode::InvalidRequest)
    );
}

#[test]
fn par_sends_client_id_once_whatever_the_authentication() {
    let public = Client::builder("app")
        .redirect_uri(REDIRECT)
        .authorization_endpoint("https://as.example/authorize")
        .endpoint(EndpointKind::PushedAuthorization, "https://as.example/par")
        .token_endpoint("https://as.example/token")
        .build()
        .unwrap();
    let (flow, _) = public.authorization_request().into_pushed().unwrap();
    let mut driver = Driver::new().reply_json(201, r#"{"request_uri":"urn:x","expires_in":60}"#);
    driver.run(flow).unwrap();
    let form = driver.transcript().form(0).unwrap();
    assert_eq!(form.iter().filter(|(n, _)| n == "client_id").count(), 1);
}

// Callback validation.

fn callback(pending: PendingAuthorization, input: &str) -> Result<AuthorizationCode, Error> {
    pending.validate_callback(input)
}

fn validation(result: Result<AuthorizationCode, Error>) -> ValidationError {
    match result {
        Err(Error::Validation(e)) => e,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn every_shape_of_callback_is_read() {
    let code = "SplxlOBeZQQYbYS6WxSbIA+/=";
    let enc = "SplxlOBeZQQYbYS6WxSbIA%2B%2F%3D";
    let shapes = |state: &str| {
        vec![
            format!("  {REDIRECT}?code={enc}&state={state}&iss=https%3A%2F%2Fas.example \n"),
            format!("{REDIRECT}?state={state}&code={enc}"),
            format!("{REDIRECT}#code={enc}&state={state}"),
            format!("?code={enc}&state={state}"),
            format!("code={enc}&state={state}"),
            format!("#state={state}&code={enc}"),
        ]
    };
    let (_, probe) = start("openid");
    let count = shapes(probe.state()).len();
    for i in 0..count {
        let (_, pending) = start("openid");
        let input = shapes(pending.state())[i].clone();
        let code_out = callback(pending, &input).unwrap();
        assert_eq!(code_out.code.secret(), code, "{input}");
    }
    let (_, pending) = start("openid");
    let body = format!("code={enc}&state={}", pending.state());
    let validated = pending
        .validate_callback(Callback::form_post(body.as_bytes()))
        .unwrap();
    assert_eq!(validated.code.secret(), code);
}

#[test]
fn state_must_match() {
    let (_, pending) = start("openid");
    assert_eq!(
        validation(callback(pending, &format!("{REDIRECT}?code=c"))),
        ValidationError::StateMissing
    );
    let (_, pending) = start("openid");
    let wrong = format!("{REDIRECT}?code=c&state={}x", pending.state());
    assert_eq!(
        validation(callback(pending, &wrong)),
        ValidationError::StateMismatch
    );
    let (_, pending) = start("openid");
    let truncated = format!("{REDIRECT}?code=c&state={}", &pending.state()[..42]);
    assert_eq!(
        validation(callback(pending, &truncated)),
        ValidationError::StateMismatch
    );
}

#[test]
fn iss_is_checked_when_present_and_required_when_advertised() {
    let (_, pending) = start("openid");
    let s = pending.state().to_owned();
    let mixup = format!("{REDIRECT}?code=c&state={s}&iss=https%3A%2F%2Fevil.example");
    assert!(matches!(
        validation(callback(pending, &mixup)),
        ValidationError::IssuerParameterMismatch { .. }
    ));

    let strict = Client::from_metadata("app", &metadata(false, true))
        .redirect_uri(REDIRECT)
        .build()
        .unwrap();
    let (_, pending) = strict.authorization_request().into_redirect().unwrap();
    let s = pending.state().to_owned();
    assert_eq!(
        validation(callback(pending, &format!("{REDIRECT}?code=c&state={s}"))),
        ValidationError::IssuerParameterMissing
    );
    let (_, pending) = strict.authorization_request().into_redirect().unwrap();
    let s = pending.state().to_owned();
    assert!(
        callback(
            pending,
            &format!("{REDIRECT}?code=c&state={s}&iss=https%3A%2F%2Fas.example")
        )
        .is_ok()
    );

    // Without a known issuer there is nothing to compare with.
    let anonymous = Client::builder("app")
        .redirect_uri(REDIRECT)
        .authorization_endpoint("https://as.example/authorize")
        .token_endpoint("https://as.example/token")
        .build()
        .unwrap();
    let (_, pending) = anonymous.authorization_request().into_redirect().unwrap();
    let s = pending.state().to_owned();
    assert!(
        callback(
            pending,
            &format!("{REDIRECT}?code=c&state={s}&iss=anything")
        )
        .is_ok()
    );
}

#[test]
fn an_error_response_is_the_typed_oauth_error() {
    let (_, pending) = start("openid");
    let s = pending.state().to_owned();
    let input = format!(
        "{REDIRECT}?error=access_denied&error_description=The+user+said+no&error_uri=https%3A%2F%2Fas.example%2Fe&state={s}&extra=1"
    );
    let Err(Error::OAuth(e)) = callback(pending, &input) else {
        panic!("expected an OAuth error")
    };
    assert_eq!(e.code, ErrorCode::AccessDenied);
    assert_eq!(e.description.as_deref(), Some("The user said no"));
    assert_eq!(e.uri.as_deref(), Some("https://as.example/e"));
    assert_eq!(e.status, http::StatusCode::FOUND);
    assert_eq!(e.extra["extra"], "1");

    // An error with a wrong state is a forgery, not the server's answer.
    let (_, pending) = start("openid");
    let forged = format!("{REDIRECT}?error=access_denied&state=nope");
    assert_eq!(
        validation(callback(pending, &forged)),
        ValidationError::StateMismatch
    );
    // An error without state is still reported (it grants nothing).
    let (_, pending) = start("openid");
    let bare = format!("{REDIRECT}?error=invalid_request");
    assert!(matches!(callback(pending, &bare), Err(Error::OAuth(_))));
}

#[test]
fn malformed_callbacks_are_refused() {
    let (_, pending) = start("openid");
    let s = pending.state().to_owned();
    assert_eq!(
        validation(callback(
            pending,
            &format!("{REDIRECT}?code=a&code=b&state={s}")
        )),
        ValidationError::DuplicateParameter("code".to_owned())
    );
    let (_, pending) = start("openid");
    let s = pending.state().to_owned();
    assert_eq!(
        validation(callback(
            pending,
            &format!("{REDIRECT}?code=a&state={s}&state={s}")
        )),
        ValidationError::DuplicateParameter("state".to_owned())
    );
    for missing in ["", "&code="] {
        let (_, pending) = start("openid");
        let s = pending.state().to_owned();
        assert_eq!(
            validation(callback(pending, &format!("{REDIRECT}?state={s}{missing}"))),
            ValidationError::CodeMissing
        );
    }
    for elsewhere in [
        "http://127.0.0.1:8081/callback",
        "http://127.0.0.2:8080/callback",
        "http://127.0.0.1:8080/callback2",
        "https://127.0.0.1:8080/callback",
        "http://evil.example/callback",
    ] {
        let (_, pending) = start("openid");
        let s = pending.state().to_owned();
        assert_eq!(
            validation(callback(pending, &format!("{elsewhere}?code=c&state={s}"))),
            ValidationError::RedirectUriMismatch,
            "{elsewhere}"
        );
    }
    for empty in ["", "   ", "?", "#", REDIRECT] {
        let (_, pending) = start("openid");
        assert!(
            matches!(
                validation(callback(pending, empty)),
                ValidationError::MalformedCallback(_)
            ),
            "{empty:?}"
        );
    }
}

// Code exchange.

fn validated(scope: &str) -> (AuthorizationCode, String) {
    let (_, pending) = start(scope);
    let verifier = pending.code_verifier().unwrap().to_owned();
    let s = pending.state().to_owned();
    (
        callback(pending, &format!("{REDIRECT}?code=the-code&state={s}")).unwrap(),
        verifier,
    )
}

#[test]
fn the_exchange_sends_code_redirect_uri_and_verifier() {
    let (code, verifier) = validated("openid");
    let nonce = code.nonce().unwrap().to_owned();
    // Without openid validation (this test looks at the request only).
    let flow = client()
        .exchange_code(code)
        .unwrap()
        .insecure_skip_id_token_validation();
    assert_eq!(flow.nonce(), Some(nonce.as_str()));
    assert!(!format!("{flow:?}").contains(&nonce));
    assert_eq!(flow.issuer(), Some(ISSUER));
    let mut driver = Driver::new().reply_json(200, r#"{"access_token":"at","id_token":"h.p.s"}"#);
    let token = driver.run(flow).unwrap();
    assert_eq!(token.id_token().unwrap().secret(), "h.p.s");
    let form = driver.transcript().form(0).unwrap();
    assert_eq!(
        form,
        [
            ("grant_type".to_owned(), "authorization_code".to_owned()),
            ("code".to_owned(), "the-code".to_owned()),
            ("redirect_uri".to_owned(), REDIRECT.to_owned()),
            ("code_verifier".to_owned(), verifier),
        ]
    );
    assert!(
        driver.transcript().requests().next().unwrap().headers()["authorization"].is_sensitive()
    );
}

#[test]
fn the_exchange_refuses_another_client_and_reports_server_errors() {
    let (code, _) = validated("profile");
    let other = Client::builder("other")
        .token_endpoint("https://as.example/token")
        .build()
        .unwrap();
    assert!(matches!(
        other.exchange_code(code),
        Err(Error::Config(ConfigError::InvalidParameter { .. }))
    ));
    let (code, _) = validated("profile");
    let mut driver = Driver::new().reply_json(
        400,
        r#"{"error":"invalid_grant","error_description":"code reused"}"#,
    );
    let e = driver
        .run(client().exchange_code(code).unwrap())
        .unwrap_err();
    assert_eq!(
        e.flow_error().and_then(Error::oauth_code),
        Some(&ErrorCode::InvalidGrant)
    );
}

// ID token validation in the code exchange.

mod id_token {
    use std::time::Duration;

    use super::*;
    use crate::error::JoseError;
    use crate::jose::{self, Claims, JwkSet, JwsHeader, SigningKey};
    use crate::secret::IdToken;

    const KEY: &str = r#"{"kty":"OKP","crv":"Ed25519","kid":"k1",
        "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
        "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

    fn oidc_client() -> Client {
        let mut metadata = metadata(false, false);
        metadata.jwks_uri = Some("https://as.example/jwks".to_owned());
        metadata.id_token_signing_alg_values_supported =
            vec!["EdDSA".to_owned(), "HS256".to_owned()];
        Client::from_metadata("app", &metadata)
            .redirect_uri(REDIRECT)
            .client_secret_basic("s3cr3t")
            .build()
            .unwrap()
    }

    fn jwks() -> String {
        let key = SigningKey::from_jwk(KEY).unwrap();
        JwkSet::from(key.public_jwk().unwrap())
            .to_public_json()
            .to_string()
    }

    fn id_token(nonce: &str, driver: &Driver, tweak: impl FnOnce(Claims) -> Claims) -> IdToken {
        let key = SigningKey::from_jwk(KEY).unwrap();
        let now = driver.now().wall();
        let claims = tweak(
            Claims::new()
                .with("iss", ISSUER)
                .with("sub", "alice")
                .with("aud", "app")
                .with("nonce", nonce)
                .with_time("iat", now)
                .with_time("exp", now + Duration::from_secs(600)),
        );
        IdToken::new(jose::sign(&key, JwsHeader::for_signer(&key), &claims.to_json()).unwrap())
    }

    fn code_for(client: &Client) -> AuthorizationCode {
        let (_, pending) = client
            .authorization_request()
            .scope("openid")
            .into_redirect()
            .unwrap();
        let s = pending.state().to_owned();
        pending
            .validate_callback(
                format!("{REDIRECT}?code=c&state={s}&iss=https%3A%2F%2Fas.example").as_str(),
            )
            .unwrap()
    }

    fn answer(id_token: &IdToken) -> String {
        format!(
            r#"{{"access_token":"at","token_type":"Bearer","id_token":"{}"}}"#,
            id_token.secret()
        )
    }

    #[test]
    fn a_valid_id_token_is_validated_with_keys_fetched_once() {
        let client = oidc_client();
        let mut driver = Driver::new();
        for round in 0..2 {
            let code = code_for(&client);
            let nonce = code.nonce().unwrap().to_owned();
            let token = id_token(&nonce, &driver, |c| c);
            driver.push_reply(
                http::Response::builder()
                    .status(200)
                    .body(answer(&token).into_bytes())
                    .unwrap(),
            );
            if round == 0 {
                driver.push_reply(http::Response::new(jwks().into_bytes()));
            }
            let flow = client.exchange_code(code).unwrap();
            // The nonce binds the ID token to this login: never in Debug, with or without the
            // ID-token check.
            assert!(!format!("{flow:?}").contains(&nonce));
            let tokens = driver.run(flow).unwrap();
            assert!(tokens.id_token_validated());
            assert_eq!(tokens.id_token_claims().unwrap().subject(), "alice");
        }
        let uris: Vec<_> = driver
            .transcript()
            .requests()
            .map(|r| r.uri().to_string())
            .collect();
        assert_eq!(
            uris,
            [
                "https://as.example/token",
                "https://as.example/jwks",
                "https://as.example/token"
            ],
            "the keys are fetched once and kept by the client"
        );
    }

    /// A change to an otherwise valid token's claims, and the check on the error it causes.
    type Case = (Box<dyn Fn(Claims) -> Claims>, fn(&Error) -> bool);

    #[test]
    fn a_wrong_nonce_or_issuer_or_a_missing_token_is_refused() {
        let client = oidc_client();
        let cases: Vec<Case> = vec![
            (Box::new(|c| c.with("nonce", "replayed")), |e| {
                matches!(e, Error::Jose(JoseError::NonceMismatch))
            }),
            (Box::new(|c| c.with("iss", "https://evil.example")), |e| {
                matches!(e, Error::Jose(JoseError::IssuerMismatch { .. }))
            }),
            (Box::new(|c| c.with("aud", "someone-else")), |e| {
                matches!(e, Error::Jose(JoseError::AudienceMismatch))
            }),
        ];
        for (tweak, check) in cases {
            let mut driver = Driver::new();
            let code = code_for(&client);
            let token = id_token(code.nonce().unwrap(), &driver, tweak);
            driver.push_reply(http::Response::new(answer(&token).into_bytes()));
            driver.push_reply(http::Response::new(jwks().into_bytes()));
            let e = driver.run(client.exchange_code(code).unwrap()).unwrap_err();
            let e = e.flow_error().unwrap();
            assert!(check(e), "{e:?}");
        }
        let mut driver = Driver::new().reply_json(200, r#"{"access_token":"at"}"#);
        let e = driver
            .run(client.exchange_code(code_for(&client)).unwrap())
            .unwrap_err();
        assert!(matches!(
            e.flow_error(),
            Some(Error::InvalidResponse(i)) if i.field == "id_token"
        ));
    }

    #[test]
    fn a_refreshed_id_token_must_be_about_the_same_user() {
        let client = oidc_client();
        let mut driver = Driver::new();
        let code = code_for(&client);
        let token = id_token(code.nonce().unwrap(), &driver, |c| c);
        driver.push_reply(http::Response::new(answer(&token).into_bytes()));
        driver.push_reply(http::Response::new(jwks().into_bytes()));
        let first = driver.run(client.exchange_code(code).unwrap()).unwrap();
        let original = first.id_token_claims().unwrap().clone();

        // Same user: validated, no nonce needed, keys reused from the client's cache.
        let same = id_token("", &driver, |c| c.with("nonce", serde_json::Value::Null));
        driver.push_reply(http::Response::new(answer(&same).into_bytes()));
        let refreshed = driver
            .run(
                client
                    .request_token(
                        crate::grant::TokenRequest::refresh_token("rt").id_token_of(&original),
                    )
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(refreshed.id_token_claims().unwrap().subject(), "alice");

        // Another user: refused.
        let other = id_token("", &driver, |c| {
            c.with("sub", "mallory")
                .with("nonce", serde_json::Value::Null)
        });
        driver.push_reply(http::Response::new(answer(&other).into_bytes()));
        let e = driver
            .run(
                client
                    .request_token(
                        crate::grant::TokenRequest::refresh_token("rt").id_token_of(&original),
                    )
                    .unwrap(),
            )
            .unwrap_err();
        assert!(
            matches!(
                e.flow_error(),
                Some(Error::Jose(JoseError::SubjectMismatch))
            ),
            "{e:?}"
        );

        // A refresh without an ID token is fine.
        driver.push_reply(http::Response::new(br#"{"access_token":"at2"}"#.to_vec()));
        driver
            .run(
                client
                    .request_token(
                        crate::grant::TokenRequest::refresh_token("rt").id_token_of(&original),
                    )
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(
            driver
                .transcript()
                .requests()
                .filter(|r| r.uri() == "https://as.example/jwks")
                .count(),
            1
        );
    }

    /// What the exchange will need is checked when the request is built, before the person
    /// is sent away: each setup mistake is the typed configuration error, with nothing built.
    #[test]
    fn setup_mistakes_are_refused_before_the_person_is_sent_away() {
        let full = || {
            Client::builder("app")
                .issuer(ISSUER)
                .authorization_endpoint("https://as.example/authorize")
                .endpoint(EndpointKind::PushedAuthorization, "https://as.example/par")
                .token_endpoint("https://as.example/token")
                .jwks_uri("https://as.example/jwks")
        };
        let without = |missing: &str| {
            let mut b = Client::builder("app")
                .authorization_endpoint("https://as.example/authorize")
                .endpoint(EndpointKind::PushedAuthorization, "https://as.example/par");
            if missing != "issuer" {
                b = b.issuer(ISSUER);
            }
            if missing != "token" {
                b = b.token_endpoint("https://as.example/token");
            }
            if missing != "jwks" {
                b = b.jwks_uri("https://as.example/jwks");
            }
            b.build().unwrap()
        };
        type Check = fn(&Error) -> bool;
        let cases: [(&str, &str, Check); 4] = [
            ("token", "profile", |e| {
                matches!(
                    e,
                    Error::Config(ConfigError::MissingEndpoint(EndpointKind::Token))
                )
            }),
            ("token", "openid", |e| {
                matches!(
                    e,
                    Error::Config(ConfigError::MissingEndpoint(EndpointKind::Token))
                )
            }),
            ("jwks", "openid", |e| {
                matches!(
                    e,
                    Error::Config(ConfigError::MissingEndpoint(EndpointKind::Jwks))
                )
            }),
            ("issuer", "openid email", |e| {
                matches!(e, Error::Config(ConfigError::MissingIssuer))
            }),
        ];
        for (missing, scope, expected) in cases {
            let client = without(missing);
            let e = client
                .authorization_request()
                .redirect_uri(crate::authorization::RedirectUri::new(REDIRECT).unwrap())
                .scope(scope)
                .into_redirect()
                .unwrap_err();
            assert!(expected(&e), "{missing}, {scope}: {e:?}");
            // Pushed: refused before the flow (and so its request) exists.
            let e = client
                .authorization_request()
                .redirect_uri(crate::authorization::RedirectUri::new(REDIRECT).unwrap())
                .scope(scope)
                .into_pushed()
                .unwrap_err();
            assert!(expected(&e), "{missing}, {scope} (pushed): {e:?}");
        }
        // Without openid, neither keys nor issuer are needed.
        without("jwks")
            .authorization_request()
            .redirect_uri(crate::authorization::RedirectUri::new(REDIRECT).unwrap())
            .scope("profile")
            .into_redirect()
            .unwrap();
        without("issuer")
            .authorization_request()
            .redirect_uri(crate::authorization::RedirectUri::new(REDIRECT).unwrap())
            .into_redirect()
            .unwrap();
        // Everything there: accepted.
        full()
            .build()
            .unwrap()
            .authorization_request()
            .redirect_uri(crate::authorization::RedirectUri::new(REDIRECT).unwrap())
            .scope("openid")
            .into_redirect()
            .unwrap();
    }

    #[test]
    fn the_named_opt_out_needs_no_keys_and_skips_validation_at_the_exchange() {
        let client = Client::builder("app")
            .authorization_endpoint("https://as.example/authorize")
            .token_endpoint("https://as.example/token")
            .redirect_uri(REDIRECT)
            .build()
            .unwrap(); // no JWK Set URL, no issuer
        let (_, pending) = client
            .authorization_request()
            .scope("openid")
            .insecure_skip_id_token_validation()
            .into_redirect()
            .unwrap();
        assert!(pending.nonce().is_some(), "the nonce is still sent");
        let s = pending.state().to_owned();
        let code = pending
            .validate_callback(format!("{REDIRECT}?code=c&state={s}").as_str())
            .unwrap();
        let mut driver = Driver::new().reply_json(
            200,
            r#"{"access_token":"at","token_type":"Bearer","id_token":"h.p.s"}"#,
        );
        let token = driver.run(client.exchange_code(code).unwrap()).unwrap();
        assert!(token.id_token_claims().is_none());
        assert_eq!(driver.transcript().requests().count(), 1);
        // A code exchange whose client lost its keys since (a pending request restored into
        // another client) is still refused before any request.
        let keyed = client.clone();
        let (_, pending) = Client::builder("app")
            .issuer(ISSUER)
            .authorization_endpoint("https://as.example/authorize")
            .token_endpoint("https://as.example/token")
            .jwks_uri("https://as.example/jwks")
            .build()
            .unwrap()
            .authorization_request()
            .redirect_uri(crate::authorization::RedirectUri::new(REDIRECT).unwrap())
            .scope("openid")
            .into_redirect()
            .unwrap();
        let s = pending.state().to_owned();
        let code = pending
            .validate_callback(format!("{REDIRECT}?code=c&state={s}").as_str())
            .unwrap();
        let mut driver = Driver::new();
        let e = driver.run(keyed.exchange_code(code).unwrap()).unwrap_err();
        assert!(matches!(
            e.flow_error(),
            Some(Error::Config(ConfigError::MissingEndpoint(
                EndpointKind::Jwks
            )))
        ));
        assert_eq!(driver.transcript().requests().count(), 0);
    }
}

// Signed request objects (RFC 9101).

mod request_objects {
    use super::*;
    use crate::jose::{Algorithm, Jwk, JwkSet, SigningKey, UnverifiedJws};

    const SECRET: &[u8] = b"a shared secret long enough for HS256!!";

    fn key() -> SigningKey {
        SigningKey::hmac(Algorithm::HS256, SECRET).unwrap()
    }

    fn claims_of(jwt: &str) -> serde_json::Value {
        let keys = JwkSet::from(Jwk::symmetric(SECRET).unwrap());
        let verified = UnverifiedJws::parse(jwt)
            .unwrap()
            .verify(&keys, &[Algorithm::HS256])
            .unwrap();
        serde_json::from_slice(verified.payload()).unwrap()
    }

    #[test]
    fn pushed_bodies_carry_only_client_id_and_the_signed_request() {
        let (flow, pending) = client()
            .authorization_request()
            .scope("openid")
            .login_hint("alice")
            .request_object(key(), crate::Now::system().wall())
            .into_pushed()
            .unwrap();
        let mut driver =
            Driver::new().reply_json(201, r#"{"request_uri":"urn:x","expires_in":60}"#);
        driver.run(flow).unwrap();
        let form = driver.transcript().form(0).unwrap();
        let names: Vec<_> = form.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["client_id", "request"]);
        let claims = claims_of(&form[1].1);
        assert_eq!(claims["iss"], "app");
        assert_eq!(claims["aud"], ISSUER);
        assert_eq!(claims["state"], pending.state());
        assert_eq!(claims["login_hint"], "alice");
        assert_eq!(claims["code_challenge_method"], "S256");
        assert!(claims.get("client_id").is_some_and(|c| c == "app"));
    }

    #[test]
    fn a_request_object_needs_the_issuer() {
        let anonymous = Client::builder("app")
            .redirect_uri(REDIRECT)
            .authorization_endpoint("https://as.example/authorize")
            .token_endpoint("https://as.example/token")
            .build()
            .unwrap();
        let e = anonymous
            .authorization_request()
            .request_object(key(), crate::Now::system().wall())
            .into_redirect()
            .unwrap_err();
        assert!(
            matches!(e, Error::Config(ConfigError::InvalidParameter { ref name, .. }) if name == "request")
        );
    }
}

// Callback reading, against the general form parser.

#[test]
fn a_pending_authorization_stored_before_the_compact_fields_still_reads() {
    // The JSON a pending authorization serialized to when every field was a `String`.
    let stored = r#"{"client_id":"app","redirect_uri":"http://127.0.0.1:8080/callback",
        "state":"S8bW1x5b3rLQ7c3Hj4pW0yZkTn2Vq9Ue6Ra1Mf0Gd7E",
        "nonce":"n-0S6_WzA2Mj","code_verifier":"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        "pkce_method":"S256","issuer":"https://as.example","iss_required":true,
        "openid":true,"max_age":600}"#;
    let pending: PendingAuthorization = serde_json::from_str(stored).unwrap();
    assert_eq!(
        pending.state(),
        "S8bW1x5b3rLQ7c3Hj4pW0yZkTn2Vq9Ue6Ra1Mf0Gd7E"
    );
    assert_eq!(pending.nonce(), Some("n-0S6_WzA2Mj"));
    assert_eq!(
        pending.code_verifier(),
        Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    );
    assert_eq!(pending.max_age(), Some(600));
    // And it writes the same shape back.
    let again: serde_json::Value = serde_json::to_value(&pending).unwrap();
    assert_eq!(
        again,
        serde_json::from_str::<serde_json::Value>(stored).unwrap()
    );
    let code = pending
        .validate_callback(
            "http://127.0.0.1:8080/callback?code=c&state=S8bW1x5b3rLQ7c3Hj4pW0yZkTn2Vq9Ue6Ra1Mf0Gd7E&iss=https%3A%2F%2Fas.example",
        )
        .unwrap();
    assert_eq!(code.code.secret(), "c");
    // The oldest shape, before `openid` and `max_age`.
    let oldest = r#"{"client_id":"app","redirect_uri":"http://127.0.0.1:8080/callback",
        "state":"a-state-longer-than-forty-six-characters-kept-on-the-heap",
        "nonce":null,"code_verifier":null,"pkce_method":null,"issuer":null,"iss_required":false}"#;
    let pending: PendingAuthorization = serde_json::from_str(oldest).unwrap();
    assert_eq!(
        pending.state(),
        "a-state-longer-than-forty-six-characters-kept-on-the-heap"
    );
    assert!(!pending.openid());
}

#[test]
fn a_parsed_url_is_read_as_it_is() {
    let (_, pending) = start("openid");
    let url = url::Url::parse(&format!(
        "{REDIRECT}?code=c%2B1&state={}&iss=https%3A%2F%2Fas.example",
        pending.state()
    ))
    .unwrap();
    let code = pending.validate_callback(&url).unwrap();
    assert_eq!(code.code.secret(), "c+1");
}

#[test]
fn an_error_response_keeps_a_code_and_unknown_parameters_as_extras() {
    let (_, pending) = start("openid");
    let input = format!(
        "{REDIRECT}?error=server%5Ferror&code=c&session_state=a+b&state={}",
        pending.state()
    );
    let Err(Error::OAuth(e)) = callback(pending, &input) else {
        panic!("expected an OAuth error")
    };
    assert_eq!(e.code, ErrorCode::ServerError);
    assert_eq!(e.extra["code"], "c");
    assert_eq!(e.extra["session_state"], "a b");
    assert_eq!(e.extra.len(), 2);
}

#[test]
fn names_are_compared_decoded() {
    let (_, pending) = start("openid");
    let s = pending.state().to_owned();
    assert_eq!(
        validation(callback(
            pending,
            &format!("{REDIRECT}?code=a&co%64e=b&state={s}")
        )),
        ValidationError::DuplicateParameter("code".to_owned())
    );
    let (_, pending) = start("openid");
    let s = pending.state().to_owned();
    assert_eq!(
        validation(callback(
            pending,
            &format!("{REDIRECT}?x=1&code=a&%78=2&state={s}")
        )),
        ValidationError::DuplicateParameter("x".to_owned())
    );
}

/// The callback validation as it was written first: every pair decoded into a list, then
/// looked up. The reading that decodes only what it keeps must agree with it.
fn reference(
    query: &str,
    state: &str,
    issuer: &str,
) -> Result<String, std::mem::Discriminant<ValidationError>> {
    use std::mem::discriminant;
    let mut params: Vec<(String, String)> = Vec::new();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if params.iter().any(|(n, _)| *n == name) {
            return Err(discriminant(&ValidationError::DuplicateParameter(
                String::new(),
            )));
        }
        params.push((name.into_owned(), value.into_owned()));
    }
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let error = get("error");
    match get("state") {
        Some(s) if s != state => return Err(discriminant(&ValidationError::StateMismatch)),
        Some(_) => {}
        None if error.is_some() => {}
        None => return Err(discriminant(&ValidationError::StateMissing)),
    }
    if get("iss").is_some_and(|i| i != issuer) {
        return Err(discriminant(&ValidationError::IssuerParameterMismatch {
            expected: String::new(),
            received: String::new(),
        }));
    }
    if let Some(code) = error {
        return Ok(format!("error {code}"));
    }
    match get("code") {
        Some(code) if !code.is_empty() => Ok(code.to_owned()),
        _ => Err(discriminant(&ValidationError::CodeMissing)),
    }
}

proptest::proptest! {
    #[test]
    fn the_callback_reading_agrees_with_the_general_parser(
        pairs in proptest::collection::vec(
            (
                "(code|state|iss|error|error_description|co%64e|st%61te|x|%78|y\\+z|)",
                "(c|c%2B|a\\+b|%FF|STATE|ST%41TE|ISS|ISS-ENC|https://evil|)",
                proptest::bool::ANY,
            ),
            0..6,
        ),
    ) {
        let (_, pending) = start("openid");
        let state = pending.state().to_owned();
        let query: Vec<String> = pairs
            .iter()
            .map(|(name, value, with_equals)| {
                let value = match value.as_str() {
                    "STATE" => state.clone(),
                    // The state with one character percent-encoded.
                    "ST%41TE" => format!("%{:02X}{}", state.as_bytes()[0], &state[1..]),
                    "ISS" => ISSUER.to_owned(),
                    "ISS-ENC" => "https%3A%2F%2Fas%2Eexample".to_owned(),
                    other => other.to_owned(),
                };
                if *with_equals || !value.is_empty() {
                    format!("{name}={value}")
                } else {
                    (*name).to_owned()
                }
            })
            .collect();
        let query = query.join("&");
        let expected = reference(&query, &state, ISSUER);
        let got = match pending.validate_callback(format!("{REDIRECT}?{query}").as_str()) {
            Ok(code) => Ok(code.code.secret().to_owned()),
            Err(Error::OAuth(e)) => Ok(format!("error {}", e.code.as_str())),
            Err(Error::Validation(ValidationError::MalformedCallback(_))) if query.is_empty() => {
                expected.clone()
            }
            Err(Error::Validation(e)) => Err(std::mem::discriminant(&e)),
            Err(other) => panic!("{other:?}"),
        };
        proptest::prop_assert_eq!(got, expected, "{}", query);
    }
}
