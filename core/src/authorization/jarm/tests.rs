//! JWT-secured authorization responses: the good path, and every refusal a typed error with no
//! code.

use std::time::Duration;

use crate::discovery::ServerMetadata;
use crate::error::{ConfigError, Fapi2Rule, JoseError, ValidationError};
use crate::jose::{self, Algorithm, Claims, JwkSet, JwsHeader, SigningKey};
use crate::testing::Driver;
use crate::{Client, Error, Flow, Now};

const ISSUER: &str = "https://as.example";

/// The server's signing key (Ed25519, RFC 8037 §A.1).
fn server_key() -> SigningKey {
    SigningKey::from_jwk(
        r#"{"kty":"OKP","crv":"Ed25519","kid":"as-1",
            "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
            "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
    )
    .unwrap()
}

/// Another key under the same `kid` (a forger's).
fn forger_key() -> SigningKey {
    let pkcs8 = jose::generate_pkcs8(Algorithm::EdDSA).unwrap();
    SigningKey::from_pkcs8_der(Algorithm::EdDSA, &pkcs8)
        .unwrap()
        .with_key_id("as-1")
}

fn rsa_key() -> SigningKey {
    SigningKey::from_jwk(include_str!(
        "../../../tests/fixtures/rfc7520-figure4-rsa.jwk.json"
    ))
    .unwrap()
    .with_key_id("as-1")
}

fn jwks_body(key: &SigningKey) -> String {
    JwkSet::from(key.public_jwk().unwrap())
        .to_public_json()
        .to_string()
}

fn metadata() -> ServerMetadata {
    let mut metadata = ServerMetadata {
        issuer: ISSUER.into(),
        jwks_uri: Some("https://as.example/jwks".into()),
        authorization_endpoint: Some("https://as.example/authorize".into()),
        token_endpoint: Some("https://as.example/token".into()),
        pushed_authorization_request_endpoint: Some("https://as.example/par".into()),
        authorization_response_iss_parameter_supported: true,
        ..ServerMetadata::default()
    };
    metadata.extra.insert(
        "authorization_signing_alg_values_supported".into(),
        serde_json::json!(["EdDSA", "RS256"]),
    );
    metadata
}

fn client() -> Client {
    Client::from_metadata("app", &metadata())
        .redirect_uri("https://app.example/cb")
        .jarm()
        .build()
        .unwrap()
}

/// The claims of a sound response to `state`, issued at `now`.
fn claims(state: &str, now: Now) -> Claims {
    Claims::new()
        .with("iss", ISSUER)
        .with("aud", "app")
        .with_time("exp", now.wall() + Duration::from_secs(120))
        .with("code", "c-1")
        .with("state", state)
}

fn signed(key: &SigningKey, claims: &Claims) -> String {
    jose::sign(key, JwsHeader::for_signer(key), &claims.to_json()).unwrap()
}

/// Verifies `callback` for a fresh JARM request of `client`, the driver serving the server's
/// keys; `make` builds the response JWT from the request's state and the driver's time.
fn verify(
    client: &Client,
    keys: &SigningKey,
    make: impl FnOnce(&str, Now) -> String,
) -> Result<crate::authorization::AuthorizationCode, Error> {
    let mut driver = Driver::new().reply_json(200, &jwks_body(keys));
    let (_url, pending) = client.authorization_request().into_redirect()?;
    let jwt = make(pending.state(), driver.now());
    let flow = client.verify_callback(pending, format!("https://app.example/cb?response={jwt}"))?;
    driver.run(flow).map_err(|e| match e.flow_error() {
        Some(e) => clone_error(e),
        None => panic!("transport error: {e}"),
    })
}

fn clone_error(e: &Error) -> Error {
    match e {
        Error::Jose(e) => Error::Jose(e.clone()),
        Error::Validation(e) => Error::Validation(e.clone()),
        Error::Config(e) => Error::Config(e.clone()),
        Error::OAuth(e) => Error::OAuth(e.clone()),
        other => panic!("unexpected error {other}"),
    }
}

#[test]
fn a_sound_response_yields_the_code_and_the_keys_are_fetched_once() {
    let client = client();
    let key = server_key();
    let mut driver = Driver::new().reply_json(200, &jwks_body(&key));
    for _ in 0..2 {
        let (url, pending) = client.authorization_request().into_redirect().unwrap();
        assert!(
            url.query_pairs()
                .any(|(k, v)| k == "response_mode" && v == "jwt")
        );
        let jwt = signed(&key, &claims(pending.state(), driver.now()));
        // Every shape the modes deliver: query (query.jwt, jwt), fragment, form post body.
        let flow = client
            .verify_callback(pending, format!("https://app.example/cb#response={jwt}"))
            .unwrap();
        let code = driver.run(flow).unwrap();
        assert_eq!(code.issuer(), Some(ISSUER));
        let exchange = client.exchange_code(code).unwrap();
        let _ = exchange;
    }
    // The second response used the cached keys: one request in all.
    assert_eq!(driver.transcript().requests().count(), 1);
}

#[test]
fn a_form_post_jwt_response_is_read_from_the_body() {
    let client = client();
    let key = server_key();
    let mut driver = Driver::new().reply_json(200, &jwks_body(&key));
    let (_url, pending) = client
        .authorization_request()
        .response_mode("form_post.jwt")
        .into_redirect()
        .unwrap();
    let jwt = signed(&key, &claims(pending.state(), driver.now()));
    let body = format!("response={jwt}");
    let flow = client
        .verify_callback(
            pending,
            crate::authorization::Callback::form_post(body.as_bytes()),
        )
        .unwrap();
    assert!(driver.run(flow).is_ok());
}

#[test]
fn a_bad_signature_is_refused() {
    let e = verify(&client(), &server_key(), |state, now| {
        signed(&forger_key(), &claims(state, now))
    })
    .unwrap_err();
    assert!(matches!(e, Error::Jose(JoseError::InvalidSignature)), "{e}");
}

#[test]
fn the_wrong_issuer_is_refused() {
    let key = server_key();
    let e = verify(&client(), &key, |state, now| {
        signed(
            &key,
            &claims(state, now).with("iss", "https://evil.example"),
        )
    })
    .unwrap_err();
    assert!(
        matches!(e, Error::Jose(JoseError::IssuerMismatch { .. })),
        "{e}"
    );
}

#[test]
fn the_wrong_audience_is_refused() {
    let key = server_key();
    let e = verify(&client(), &key, |state, now| {
        signed(&key, &claims(state, now).with("aud", "another-client"))
    })
    .unwrap_err();
    assert!(matches!(e, Error::Jose(JoseError::AudienceMismatch)), "{e}");
}

#[test]
fn an_expired_response_is_refused_and_exp_is_required() {
    let key = server_key();
    let e = verify(&client(), &key, |state, now| {
        let past = now.wall() - Duration::from_secs(3600);
        signed(&key, &claims(state, now).with_time("exp", past))
    })
    .unwrap_err();
    assert!(matches!(e, Error::Jose(JoseError::Expired)), "{e}");
    let e = verify(&client(), &key, |state, now| {
        let mut map = claims(state, now).into_map();
        map.remove("exp");
        signed(&key, &Claims::from_map(map))
    })
    .unwrap_err();
    assert!(
        matches!(e, Error::Jose(JoseError::MissingClaim("exp"))),
        "{e}"
    );
}

#[test]
fn alg_none_is_refused() {
    let e = verify(&client(), &server_key(), |state, now| {
        let payload = jose::b64_encode(&claims(state, now).to_json());
        format!("eyJhbGciOiJub25lIn0.{payload}.")
    })
    .unwrap_err();
    assert!(matches!(e, Error::Jose(JoseError::Unsecured)), "{e}");
}

#[test]
fn a_plain_response_is_refused_when_jarm_was_asked_for() {
    let client = client();
    let (_url, pending) = client.authorization_request().into_redirect().unwrap();
    let state = pending.state().to_owned();
    let plain =
        format!("https://app.example/cb?code=c-1&state={state}&iss=https%3A%2F%2Fas.example");
    let e = client.verify_callback(pending, plain.as_str()).unwrap_err();
    assert!(matches!(
        e,
        Error::Validation(ValidationError::UnsignedResponse(_))
    ));
    // And the plain validator does not take a JARM request's callback at all.
    let (_url, pending) = client.authorization_request().into_redirect().unwrap();
    assert!(matches!(
        pending.validate_callback(plain.as_str()),
        Err(Error::Config(ConfigError::InvalidParameter { .. }))
    ));
    // A code beside the JWT is refused too.
    let (_url, pending) = client.authorization_request().into_redirect().unwrap();
    let e = client
        .verify_callback(pending, "https://app.example/cb?response=a.b.c&code=x")
        .unwrap_err();
    assert!(matches!(
        e,
        Error::Validation(ValidationError::MalformedCallback(_))
    ));
}

#[test]
fn the_usual_callback_checks_run_on_what_the_jwt_carried() {
    let key = server_key();
    let e = verify(&client(), &key, |_state, now| {
        signed(&key, &claims("forged", now))
    })
    .unwrap_err();
    assert!(
        matches!(e, Error::Validation(ValidationError::StateMismatch)),
        "{e}"
    );
    let e = verify(&client(), &key, |state, now| {
        let mut map = claims(state, now).into_map();
        map.remove("code");
        map.insert("error".into(), "access_denied".into());
        signed(&key, &Claims::from_map(map))
    })
    .unwrap_err_oauth();
    assert_eq!(e, crate::error::ErrorCode::AccessDenied);
    let e = verify(&client(), &key, |state, now| {
        signed(&key, &claims(state, now).with("code", 7))
    })
    .unwrap_err();
    assert!(
        matches!(e, Error::Validation(ValidationError::MalformedCallback(_))),
        "{e}"
    );
}

trait OAuthCode {
    fn unwrap_err_oauth(self) -> crate::error::ErrorCode;
}

impl OAuthCode for Result<crate::authorization::AuthorizationCode, Error> {
    fn unwrap_err_oauth(self) -> crate::error::ErrorCode {
        match self {
            Err(Error::OAuth(e)) => e.code.clone(),
            Err(e) => panic!("not an OAuth error: {e}"),
            Ok(_) => panic!("accepted"),
        }
    }
}

#[test]
fn rs256_is_refused_under_fapi2_and_allowed_when_listed_otherwise() {
    let key = rsa_key();
    // Listed in the metadata, without the profile: accepted.
    assert!(
        verify(&client(), &key, |state, now| signed(
            &key,
            &claims(state, now)
        ))
        .is_ok()
    );
    let fapi = Client::from_metadata("app", &metadata())
        .redirect_uri("https://app.example/cb")
        .private_key_jwt(server_key())
        .dpop(crate::dpop::DpopKey::generate(Algorithm::ES256).unwrap())
        .fapi2()
        .jarm()
        .build()
        .unwrap();
    let mut driver = Driver::new().reply_json(200, &jwks_body(&key));
    let (flow, pending) = fapi.authorization_request().into_pushed().unwrap();
    drop(flow);
    let jwt = signed(&key, &claims(pending.state(), driver.now()));
    let flow = fapi
        .verify_callback(pending, format!("https://app.example/cb?response={jwt}"))
        .unwrap();
    let e = driver.run(flow).unwrap_err();
    assert!(matches!(
        e.flow_error(),
        Some(Error::Jose(JoseError::AlgorithmNotAllowed(_)))
    ));
    let _ = Fapi2Rule::SigningAlgorithm;
}

#[test]
fn a_finished_verification_is_not_run_twice() {
    let client = client();
    let key = server_key();
    let driver = Driver::new();
    let (_url, pending) = client.authorization_request().into_redirect().unwrap();
    let jwt = signed(&key, &claims("forged", driver.now()));
    let mut flow = client
        .verify_callback(pending, format!("https://app.example/cb?response={jwt}"))
        .unwrap();
    let now = driver.now();
    let crate::Step::Send(_) = flow.next(now).unwrap() else {
        panic!("the keys are fetched first")
    };
    let keys = http::Response::new(jwks_body(&key).into_bytes());
    flow.handle_response(keys, now).unwrap();
    assert!(flow.next(now).is_err());
    assert!(matches!(
        flow.next(now),
        Err(Error::Misuse(crate::error::Misuse::AlreadyFailed))
    ));
    assert!(!format!("{flow:?}").contains("c-1"));
}
