//! The ID token check behind every grant that returns one: CIBA, the device grant with
//! `openid`, and the multi-tenant (Entra ID) issuer template, on the scripted driver.

use std::time::Duration;

use crate::ciba::{BackchannelAuthenticationRequest, UserHint};
use crate::device::DeviceAuthorizationRequest;
use crate::discovery::ServerMetadata;
use crate::error::{ConfigError, JoseError};
use crate::jose::{self, Claims, JwkSet, JwsHeader, SigningKey};
use crate::testing::Driver;
use crate::{Client, EndpointKind, Error};

const ISSUER: &str = "https://as.example";

/// RFC 8037 §A.1's key: the provider's.
const KEY: &str = r#"{"kty":"OKP","crv":"Ed25519","kid":"k1",
    "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

/// Another Ed25519 key under the same `kid`: a forger's.
const FORGER: &str = r#"{"kty":"OKP","crv":"Ed25519","kid":"k1",
    "d":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
    "x":"A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg"}"#;

fn metadata(issuer: &str) -> ServerMetadata {
    ServerMetadata {
        issuer: issuer.to_owned(),
        token_endpoint: Some(format!("{ISSUER}/token")),
        authorization_endpoint: Some(format!("{ISSUER}/authorize")),
        backchannel_authentication_endpoint: Some(format!("{ISSUER}/bc")),
        device_authorization_endpoint: Some(format!("{ISSUER}/device")),
        jwks_uri: Some(format!("{ISSUER}/jwks")),
        id_token_signing_alg_values_supported: vec!["EdDSA".to_owned()],
        ..ServerMetadata::default()
    }
}

fn client() -> Client {
    Client::from_metadata("app", &metadata(ISSUER))
        .client_secret_basic("s")
        .build()
        .unwrap()
}

fn jwks() -> Vec<u8> {
    let key = SigningKey::from_jwk(KEY).unwrap();
    JwkSet::from(key.public_jwk().unwrap())
        .to_public_json()
        .to_string()
        .into_bytes()
}

fn id_token(key: &str, driver: &Driver, tweak: impl FnOnce(Claims) -> Claims) -> String {
    let key = SigningKey::from_jwk(key).unwrap();
    let now = driver.now().wall();
    let claims = tweak(
        Claims::new()
            .with("iss", ISSUER)
            .with("sub", "alice")
            .with("aud", "app")
            .with_time("iat", now)
            .with_time("exp", now + Duration::from_secs(600)),
    );
    jose::sign(&key, JwsHeader::for_signer(&key), &claims.to_json()).unwrap()
}

fn flow_error(e: crate::testing::DriverError) -> Error {
    match e {
        crate::testing::DriverError::Flow(e) => e,
        other => panic!("{other:?}"),
    }
}

fn json(body: &str) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(body.as_bytes().to_vec())
        .unwrap()
}

fn token_answer(id_token: Option<&str>) -> http::Response<Vec<u8>> {
    json(&match id_token {
        Some(t) => format!(r#"{{"access_token":"at","token_type":"Bearer","id_token":"{t}"}}"#),
        None => r#"{"access_token":"at","token_type":"Bearer"}"#.to_owned(),
    })
}

/// A CIBA run: the backchannel request, then polling answered with `token`, then the keys.
fn ciba(
    client: &Client,
    driver: &mut Driver,
    token: http::Response<Vec<u8>>,
) -> Result<crate::TokenResponse, Error> {
    driver.push_reply(json(
        r#"{"auth_req_id":"r-1","expires_in":120,"interval":1}"#,
    ));
    let pending = driver
        .run(
            client
                .backchannel_authentication(BackchannelAuthenticationRequest::new(
                    UserHint::LoginHint("alice".into()),
                ))
                .unwrap(),
        )
        .unwrap();
    driver.push_reply(token);
    driver.push_reply(http::Response::new(jwks()));
    driver
        .run(client.ciba_token(pending).unwrap())
        .map_err(flow_error)
}

#[test]
fn ciba_validates_the_id_token_without_a_nonce() {
    let client = client();
    let mut driver = Driver::new();
    let signed = id_token(KEY, &driver, |c| c);
    let token = ciba(&client, &mut driver, token_answer(Some(&signed))).unwrap();
    assert!(token.id_token_validated());
    assert_eq!(token.id_token_claims().unwrap().subject(), "alice");
    let uris: Vec<_> = driver
        .transcript()
        .requests()
        .map(|r| r.uri().to_string())
        .collect();
    assert_eq!(
        uris,
        [
            "https://as.example/bc",
            "https://as.example/token",
            "https://as.example/jwks"
        ]
    );
}

#[test]
fn ciba_refuses_a_forged_a_foreign_and_a_missing_id_token() {
    type Case = (Box<dyn Fn(&Driver) -> Option<String>>, fn(&Error) -> bool);
    let cases: Vec<Case> = vec![
        // Signed by another key under the provider's kid.
        (Box::new(|d| Some(id_token(FORGER, d, |c| c))), |e| {
            matches!(e, Error::Jose(JoseError::InvalidSignature))
        }),
        // For another client.
        (
            Box::new(|d| Some(id_token(KEY, d, |c| c.with("aud", "other")))),
            |e| matches!(e, Error::Jose(JoseError::AudienceMismatch)),
        ),
        // From another issuer.
        (
            Box::new(|d| Some(id_token(KEY, d, |c| c.with("iss", "https://evil.example")))),
            |e| matches!(e, Error::Jose(JoseError::IssuerMismatch { .. })),
        ),
        // Not a JWT at all (the module example's old "h.p.s").
        (Box::new(|_| Some("h.p.s".to_owned())), |e| {
            matches!(e, Error::Jose(_))
        }),
        // None: CIBA §10.1.1 requires one.
        (
            Box::new(|_| None),
            |e| matches!(e, Error::InvalidResponse(i) if i.field == "id_token"),
        ),
    ];
    for (make, check) in cases {
        let client = client();
        let mut driver = Driver::new();
        let token = make(&driver);
        let e = ciba(&client, &mut driver, token_answer(token.as_deref())).unwrap_err();
        assert!(check(&e), "{e:?}");
    }
}

#[test]
fn ciba_without_keys_is_refused_before_the_first_poll_unless_skipped() {
    let bare = Client::builder("app")
        .issuer(ISSUER)
        .backchannel_authentication_endpoint("https://as.example/bc")
        .token_endpoint("https://as.example/token")
        .build()
        .unwrap();
    let pending = crate::ciba::BackchannelAuthentication::from_response(
        &json(r#"{"auth_req_id":"r","expires_in":60,"interval":1}"#),
        Driver::new().now(),
    )
    .unwrap();
    let mut driver = Driver::new();
    let e = driver
        .run(bare.ciba_token(pending.clone()).unwrap())
        .unwrap_err();
    assert!(matches!(
        e.flow_error(),
        Some(Error::Config(ConfigError::MissingEndpoint(
            EndpointKind::Jwks
        )))
    ));
    assert_eq!(
        driver.transcript().requests().count(),
        0,
        "nothing was sent"
    );
    // Without an issuer: the typed error too.
    let anonymous = Client::builder("app")
        .token_endpoint("https://as.example/token")
        .jwks_uri("https://as.example/jwks")
        .build()
        .unwrap();
    let e = driver
        .run(anonymous.ciba_token(pending.clone()).unwrap())
        .unwrap_err();
    assert!(matches!(
        e.flow_error(),
        Some(Error::Config(ConfigError::MissingIssuer))
    ));
    // The named opt-out: the unvalidated token is handed over as it is.
    let mut driver = Driver::starting_at(pending_now()).reply(token_answer(Some("h.p.s")));
    let token = driver
        .run(
            bare.ciba_token(pending)
                .unwrap()
                .insecure_skip_id_token_validation(),
        )
        .unwrap();
    assert!(!token.id_token_validated());
}

fn pending_now() -> crate::Now {
    Driver::new().now()
}

/// A device run with `scope`, answered with `token`, then the keys.
fn device(
    client: &Client,
    scope: &str,
    token: http::Response<Vec<u8>>,
) -> (Driver, Result<crate::TokenResponse, Error>) {
    let mut driver = Driver::new().reply_json(
        200,
        r#"{"device_code":"d","user_code":"U","verification_uri":"https://as.example/x","expires_in":60,"interval":1}"#,
    );
    let authorization = driver
        .run(
            client
                .device_authorization(DeviceAuthorizationRequest::new().scope(scope))
                .unwrap(),
        )
        .unwrap();
    assert_eq!(authorization.asked_for_openid(), scope.contains("openid"));
    driver.push_reply(token);
    driver.push_reply(http::Response::new(jwks()));
    let result = driver
        .run(client.device_token(authorization).unwrap())
        .map_err(flow_error);
    (driver, result)
}

#[test]
fn the_device_grant_validates_an_id_token_when_openid_was_asked_for() {
    let client = client();
    let signed = id_token(KEY, &Driver::new(), |c| c);
    let (_, token) = device(&client, "openid profile", token_answer(Some(&signed)));
    let token = token.unwrap();
    assert_eq!(token.id_token_claims().unwrap().subject(), "alice");

    // A forged one is refused.
    let forged = id_token(FORGER, &Driver::new(), |c| c);
    let (_, e) = device(&self::client(), "openid", token_answer(Some(&forged)));
    assert!(matches!(
        e.unwrap_err(),
        Error::Jose(JoseError::InvalidSignature)
    ));

    // RFC 8628 does not oblige the server to send one: its absence is fine.
    let (driver, token) = device(&self::client(), "openid", token_answer(None));
    assert!(token.unwrap().id_token().is_none());
    assert_eq!(
        driver.replies_left(),
        1,
        "no key fetch for nothing to check"
    );

    // Without openid nothing is checked, and no keys are needed.
    let bare = Client::builder("app")
        .device_authorization_endpoint("https://as.example/device")
        .token_endpoint("https://as.example/token")
        .build()
        .unwrap();
    let (_, token) = device(&bare, "profile", token_answer(Some("h.p.s")));
    assert!(!token.unwrap().id_token_validated());
    // With openid, the keyless client is refused before its first poll.
    let (driver, e) = device(&bare, "openid", token_answer(None));
    assert!(matches!(
        e.unwrap_err(),
        Error::Config(ConfigError::MissingEndpoint(EndpointKind::Jwks))
    ));
    assert_eq!(
        driver.transcript().requests().count(),
        1,
        "only the device request"
    );
}

const TEMPLATE: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";
const TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// A code exchange on a client built from Entra ID's multi-tenant metadata.
fn entra_exchange(tweak: impl FnOnce(Claims) -> Claims) -> Result<crate::TokenResponse, Error> {
    let client = Client::from_metadata("app", &metadata(TEMPLATE))
        .client_secret_basic("s")
        .build()
        .unwrap();
    let (_, pending) = client
        .authorization_request()
        .redirect_uri(crate::authorization::RedirectUri::new("http://127.0.0.1/cb").unwrap())
        .scope("openid")
        .into_redirect()
        .unwrap();
    let state = pending.state().to_owned();
    let nonce = pending.nonce().unwrap().to_owned();
    let code = pending
        .validate_callback(format!("code=c&state={state}").as_str())
        .unwrap();
    let mut driver = Driver::new();
    let signed = id_token(KEY, &driver, |c| tweak(c.with("nonce", nonce)));
    driver.push_reply(token_answer(Some(&signed)));
    driver.push_reply(http::Response::new(jwks()));
    driver
        .run(client.exchange_code(code).unwrap())
        .map_err(flow_error)
}

#[test]
fn an_entra_tenant_template_is_resolved_with_the_tokens_tid() {
    let tenant_issuer = format!("https://login.microsoftonline.com/{TENANT}/v2.0");
    let token =
        entra_exchange(|c| c.with("iss", tenant_issuer.clone()).with("tid", TENANT)).unwrap();
    assert_eq!(token.id_token_claims().unwrap().issuer(), tenant_issuer);
}

#[test]
fn an_entra_token_whose_tid_does_not_match_its_iss_is_refused() {
    let tenant_issuer = format!("https://login.microsoftonline.com/{TENANT}/v2.0");
    type Tweak = Box<dyn FnOnce(Claims) -> Claims>;
    type Check = fn(&Error) -> bool;
    let cases: Vec<(Tweak, Check)> = vec![
        // Another tenant's tid under this tenant's iss.
        (
            Box::new({
                let iss = tenant_issuer.clone();
                move |c| {
                    c.with("iss", iss)
                        .with("tid", "00000000-0000-0000-0000-000000000001")
                }
            }),
            |e| matches!(e, Error::Jose(JoseError::IssuerMismatch { .. })),
        ),
        // No tid at all: nothing to resolve the template with.
        (
            Box::new({
                let iss = tenant_issuer.clone();
                move |c| c.with("iss", iss)
            }),
            |e| matches!(e, Error::Jose(JoseError::MissingClaim("tid"))),
        ),
        // A tid that would make the template another path.
        (
            Box::new(|c| {
                c.with("iss", "https://login.microsoftonline.com/a/b/v2.0")
                    .with("tid", "a/b")
            }),
            |e| matches!(e, Error::Jose(JoseError::InvalidClaim { claim: "tid", .. })),
        ),
        // The template itself as iss.
        (
            Box::new(|c| c.with("iss", TEMPLATE).with("tid", TENANT)),
            |e| matches!(e, Error::Jose(JoseError::IssuerMismatch { .. })),
        ),
    ];
    for (tweak, check) in cases {
        let e = entra_exchange(tweak).unwrap_err();
        assert!(check(&e), "{e:?}");
    }
}
