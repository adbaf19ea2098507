//! The FAPI 2.0 switch: what a FAPI 2.0 client sends, and every deviation refused with a typed
//! error naming the rule, before anything is sent or before anything from the answer is used.
#![cfg(feature = "jose")]

use crate::discovery::ServerMetadata;
use crate::dpop::DpopKey;
use crate::error::{ConfigError, Fapi2Rule, ValidationError};
use crate::jose::{Algorithm, AssertionAudience, SigningKey, UnverifiedJws};
use crate::testing::Driver;
use crate::{Client, ClientBuilder, EndpointKind, Error, Flow};

const ISSUER: &str = "https://as.example";

fn client_key() -> SigningKey {
    SigningKey::from_jwk(
        r#"{"kty":"OKP","crv":"Ed25519","kid":"client-1",
            "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
            "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
    )
    .unwrap()
}

fn rsa_key() -> SigningKey {
    SigningKey::from_jwk(include_str!(
        "../../tests/fixtures/rfc7520-figure4-rsa.jwk.json"
    ))
    .unwrap()
}

/// A FAPI 2.0 builder with everything but client authentication and sender constraining.
fn base() -> ClientBuilder {
    Client::builder("app")
        .issuer(ISSUER)
        .authorization_endpoint("https://as.example/authorize")
        .endpoint(EndpointKind::PushedAuthorization, "https://as.example/par")
        .token_endpoint("https://as.example/token")
        .redirect_uri("https://app.example/cb")
        .fapi2()
}

fn dpop() -> DpopKey {
    DpopKey::generate(Algorithm::ES256).unwrap()
}

fn fapi_client() -> Client {
    base()
        .private_key_jwt(client_key())
        .dpop(dpop())
        .build()
        .unwrap()
}

fn rule(result: Result<impl std::fmt::Debug, Error>) -> Fapi2Rule {
    match result {
        Err(Error::Config(ConfigError::Fapi2(rule))) => rule,
        other => panic!("not a FAPI 2.0 configuration error: {other:?}"),
    }
}

fn form(request: &http::Request<Vec<u8>>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(request.body())
        .into_owned()
        .collect()
}

fn value<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn the_client_setup_is_checked_at_build_time() {
    assert_eq!(
        rule(base().client_secret_basic("s").dpop(dpop()).build()),
        Fapi2Rule::ClientAuthentication
    );
    assert_eq!(
        rule(
            base()
                .client_secret_jwt("a-long-shared-secret")
                .dpop(dpop())
                .build()
        ),
        Fapi2Rule::ClientAuthentication
    );
    assert_eq!(
        rule(base().dpop(dpop()).build()),
        Fapi2Rule::ClientAuthentication
    );
    assert_eq!(
        rule(base().private_key_jwt(client_key()).build()),
        Fapi2Rule::SenderConstrainedTokens
    );
    assert_eq!(
        rule(
            base()
                .private_key_jwt(client_key())
                .dpop(dpop())
                .insecure_dpop_allow_bearer()
                .build()
        ),
        Fapi2Rule::SenderConstrainedTokens
    );
    let no_issuer = Client::builder("app")
        .private_key_jwt(client_key())
        .dpop(dpop())
        .fapi2()
        .build();
    assert_eq!(rule(no_issuer), Fapi2Rule::IssParameter);
    assert_eq!(
        rule(
            base()
                .private_key_jwt(client_key())
                .dpop(dpop())
                .insecure_http()
                .build()
        ),
        Fapi2Rule::Tls
    );
    // Mutual TLS is sender-constraining on its own.
    assert!(base().tls_client_auth().build().unwrap().is_fapi2());
    assert!(fapi_client().is_fapi2());
}

#[test]
fn the_server_metadata_must_offer_what_the_profile_needs() {
    let mut metadata = ServerMetadata {
        issuer: ISSUER.into(),
        authorization_endpoint: Some("https://as.example/authorize".into()),
        token_endpoint: Some("https://as.example/token".into()),
        pushed_authorization_request_endpoint: Some("https://as.example/par".into()),
        authorization_response_iss_parameter_supported: true,
        code_challenge_methods_supported: vec!["S256".into()],
        ..ServerMetadata::default()
    };
    let build = |metadata: &ServerMetadata| {
        Client::from_metadata("app", metadata)
            .private_key_jwt(client_key())
            .dpop(dpop())
            .fapi2()
            .build()
    };
    assert!(build(&metadata).is_ok());
    metadata.code_challenge_methods_supported = vec!["plain".into()];
    assert_eq!(rule(build(&metadata)), Fapi2Rule::ServerMetadata);
    metadata.code_challenge_methods_supported = vec![];
    metadata.authorization_response_iss_parameter_supported = false;
    assert_eq!(rule(build(&metadata)), Fapi2Rule::ServerMetadata);
    metadata.authorization_response_iss_parameter_supported = true;
    metadata.pushed_authorization_request_endpoint = None;
    assert_eq!(rule(build(&metadata)), Fapi2Rule::ServerMetadata);
}

#[test]
fn a_plain_authorization_request_and_weaker_pkce_are_refused() {
    let client = fapi_client();
    assert_eq!(
        rule(client.authorization_request().into_redirect()),
        Fapi2Rule::PushedAuthorizationRequests
    );
    assert_eq!(
        rule(
            client
                .authorization_request()
                .insecure_pkce_plain()
                .into_pushed()
        ),
        Fapi2Rule::PkceS256
    );
    assert_eq!(
        rule(
            client
                .authorization_request()
                .insecure_without_pkce()
                .into_pushed()
        ),
        Fapi2Rule::PkceS256
    );
}

#[test]
fn the_pushed_request_carries_s256_and_an_assertion_for_the_issuer() {
    let client = fapi_client();
    let (flow, _pending) = client.authorization_request().into_pushed().unwrap();
    let mut driver = Driver::new().reply_json(201, r#"{"request_uri":"urn:r:1","expires_in":60}"#);
    driver.run(flow).unwrap();
    let request = driver.transcript().requests().next().unwrap();
    assert!(request.headers().contains_key("dpop"));
    let form = form(request);
    assert_eq!(value(&form, "code_challenge_method"), Some("S256"));
    assert_eq!(value(&form, "response_type"), Some("code"));
    let assertion = UnverifiedJws::parse(value(&form, "client_assertion").unwrap()).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(assertion.unverified_payload()).unwrap();
    // §5.3.3.1: the issuer, as a single string (not the PAR endpoint's URL).
    assert_eq!(claims["aud"], ISSUER);
}

#[test]
fn a_request_uri_that_lives_too_long_is_refused() {
    let client = fapi_client();
    let (flow, _pending) = client.authorization_request().into_pushed().unwrap();
    let mut driver = Driver::new().reply_json(201, r#"{"request_uri":"urn:r:1","expires_in":600}"#);
    let e = driver.run(flow).unwrap_err();
    assert!(matches!(
        e.flow_error(),
        Some(Error::Validation(ValidationError::Fapi2(
            Fapi2Rule::Lifetime
        )))
    ));
}

#[test]
fn rs256_and_another_assertion_audience_are_refused() {
    let client = base()
        .private_key_jwt(rsa_key())
        .dpop(dpop())
        .build()
        .unwrap();
    let (mut flow, _pending) = client.authorization_request().into_pushed().unwrap();
    assert_eq!(
        rule(flow.next(Driver::new().now())),
        Fapi2Rule::SigningAlgorithm
    );
    let other = base()
        .auth(
            crate::jose::PrivateKeyJwt::new(client_key())
                .audience(AssertionAudience::Value("https://as.example/par".into())),
        )
        .dpop(dpop())
        .build()
        .unwrap();
    let (mut flow, _pending) = other.authorization_request().into_pushed().unwrap();
    assert_eq!(
        rule(flow.next(Driver::new().now())),
        Fapi2Rule::AssertionAudience
    );
    // A request object signed with RS256 is refused too.
    let request = fapi_client()
        .authorization_request()
        .request_object(rsa_key(), Driver::new().now().wall())
        .into_pushed();
    assert_eq!(rule(request), Fapi2Rule::SigningAlgorithm);
}

#[test]
fn a_bearer_token_is_refused_and_no_token_comes_out() {
    let client = fapi_client();
    let (flow, pending) = client.authorization_request().into_pushed().unwrap();
    let mut driver = Driver::new()
        .reply_json(201, r#"{"request_uri":"urn:r:1","expires_in":60}"#)
        .reply_json(
            200,
            r#"{"access_token":"at-secret","token_type":"Bearer","expires_in":300}"#,
        );
    driver.run(flow).unwrap();
    let state = pending.state().to_owned();
    let code = pending
        .validate_callback(
            format!("https://app.example/cb?code=c&state={state}&iss=https%3A%2F%2Fas.example")
                .as_str(),
        )
        .unwrap();
    let e = driver.run(client.exchange_code(code).unwrap()).unwrap_err();
    assert!(matches!(
        e.flow_error(),
        Some(Error::Validation(ValidationError::Fapi2(
            Fapi2Rule::SenderConstrainedTokens
        )))
    ));
    assert!(!e.to_string().contains("at-secret"));
}

#[test]
fn a_response_without_iss_is_refused() {
    let client = fapi_client();
    let (_flow, pending) = client.authorization_request().into_pushed().unwrap();
    let state = pending.state().to_owned();
    let e = pending
        .validate_callback(format!("https://app.example/cb?code=c&state={state}").as_str())
        .unwrap_err();
    assert!(matches!(
        e,
        Error::Validation(ValidationError::IssuerParameterMissing)
    ));
}

#[test]
fn a_dpop_key_outside_the_profile_is_refused() {
    let rsa = DpopKey::from_signing_key(rsa_key()).unwrap();
    assert_eq!(
        rule(base().private_key_jwt(client_key()).dpop(rsa).build()),
        Fapi2Rule::SigningAlgorithm
    );
}

#[test]
fn an_rs256_id_token_is_refused_under_the_profile() {
    use crate::jose::{self, Claims, JwkSet, JwsHeader};
    let client = base()
        .jwks_uri("https://as.example/jwks")
        .private_key_jwt(client_key())
        .dpop(dpop())
        .build()
        .unwrap();
    let (flow, pending) = client
        .authorization_request()
        .scope("openid")
        .into_pushed()
        .unwrap();
    let mut driver = Driver::new().reply_json(201, r#"{"request_uri":"urn:r:1","expires_in":60}"#);
    driver.run(flow).unwrap();
    let server = rsa_key().with_key_id("as-rsa");
    let now = driver.now().wall();
    let id_token = jose::sign(
        &server,
        JwsHeader::for_signer(&server),
        &Claims::new()
            .with("iss", ISSUER)
            .with("sub", "alice")
            .with("aud", "app")
            .with("nonce", pending.nonce().unwrap())
            .with_time("iat", now)
            .with_time("exp", now + std::time::Duration::from_secs(300))
            .to_json(),
    )
    .unwrap();
    let state = pending.state().to_owned();
    let code = pending
        .validate_callback(
            format!("https://app.example/cb?code=c&state={state}&iss=https%3A%2F%2Fas.example")
                .as_str(),
        )
        .unwrap();
    let keys = JwkSet::from(server.public_jwk().unwrap())
        .to_public_json()
        .to_string();
    driver.push_reply(
        http::Response::builder()
            .header("content-type", "application/json")
            .body(
                format!(r#"{{"access_token":"at","token_type":"DPoP","id_token":"{id_token}"}}"#)
                    .into_bytes(),
            )
            .unwrap(),
    );
    driver.push_reply(http::Response::new(keys.into_bytes()));
    let e = driver.run(client.exchange_code(code).unwrap()).unwrap_err();
    assert!(
        matches!(
            e.flow_error(),
            Some(Error::Jose(crate::error::JoseError::AlgorithmNotAllowed(_)))
        ),
        "{e}"
    );
}
