//! JWT client authentication, JWT bearer assertions and request objects, checked from the
//! server's side: each assertion is verified and its claims read back.

#![cfg(feature = "jose")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Duration;

use grantline::client_auth::{ClientSecretJwt, PrivateKeyJwt};
use grantline::error::ConfigError;
use grantline::grant::TokenRequest;
use grantline::jose::{
    Algorithm, AssertionAudience, Claims, Jwk, JwkSet, JwsSigner, JwtAssertion, RequestObject,
    SigningKey, UnverifiedJws,
};
use grantline::random::SystemRandom;
use grantline::testing::{Driver, DriverError};
use grantline::{Client, Error};

const TOKEN_ENDPOINT: &str = "https://as.example/oauth2/token";
const RSA: &str = include_str!("fixtures/rfc7520-figure4-rsa.jwk.json");
const TOKEN: &str = r#"{"access_token":"at","token_type":"Bearer","expires_in":60}"#;

fn client(auth: impl grantline::client_auth::ClientAuthentication + 'static) -> Client {
    Client::builder("my-client")
        .token_endpoint(TOKEN_ENDPOINT)
        .auth(auth)
        .build()
        .unwrap()
}

/// Runs two client-credentials requests and returns the form of each.
fn forms(client: &Client) -> (Driver, Vec<Vec<(String, String)>>) {
    let mut driver = Driver::new().reply_json(200, TOKEN).reply_json(200, TOKEN);
    for _ in 0..2 {
        let flow = client
            .request_token(TokenRequest::client_credentials())
            .unwrap();
        driver.run(flow).unwrap();
        driver.advance(Duration::from_secs(7));
    }
    let forms = (0..2)
        .map(|i| driver.transcript().form(i).unwrap())
        .collect();
    (driver, forms)
}

fn param<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    &form.iter().find(|(n, _)| n == name).unwrap().1
}

fn verified_claims(assertion: &str, key: &Jwk, alg: Algorithm) -> (Claims, UnverifiedJws) {
    let jws = UnverifiedJws::parse(assertion).unwrap();
    let verified = jws.clone().verify_with_key(key, &[alg]).unwrap();
    (verified.claims().unwrap(), jws)
}

#[test]
fn client_secret_jwt_sends_a_fresh_hs256_assertion_per_request() {
    let client = client(ClientSecretJwt::new("a client secret"));
    assert_eq!(client.auth_method(), "client_secret_jwt");
    let (driver, forms) = forms(&client);
    let start = Driver::new().now().wall();
    let mut jtis = Vec::new();
    for (i, form) in forms.iter().enumerate() {
        assert_eq!(
            param(form, "client_assertion_type"),
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        );
        assert_eq!(param(form, "client_id"), "my-client");
        assert!(form.iter().all(|(n, _)| n != "client_secret"));
        let (claims, jws) = verified_claims(
            param(form, "client_assertion"),
            &Jwk::symmetric(b"a client secret").unwrap(),
            Algorithm::HS256,
        );
        assert_eq!(jws.header().token_type(), None);
        assert_eq!(claims.issuer(), Some("my-client"));
        assert_eq!(claims.subject(), Some("my-client"));
        assert_eq!(claims.audience().unwrap(), [TOKEN_ENDPOINT]);
        assert_eq!(
            claims.get("aud").unwrap(),
            TOKEN_ENDPOINT,
            "a single string"
        );
        let iat = claims.time("iat").unwrap().unwrap();
        assert_eq!(iat, start + Duration::from_secs(7 * i as u64));
        assert_eq!(
            claims.time("exp").unwrap().unwrap(),
            iat + Duration::from_secs(60)
        );
        let jti = claims.string("jti").unwrap().to_owned();
        assert!(jti.len() >= 22);
        jtis.push(jti);
    }
    assert_ne!(jtis[0], jtis[1], "each request has its own jti");
    let _ = driver;
}

#[test]
fn jwt_client_auth_takes_its_jti_from_the_client_randomness() {
    #[derive(Debug)]
    struct Counter(std::sync::atomic::AtomicU8);
    impl grantline::random::Randomness for Counter {
        fn fill(&self, dest: &mut [u8]) -> Result<(), Error> {
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            dest.fill(n);
            Ok(())
        }
    }
    let client = Client::builder("my-client")
        .token_endpoint(TOKEN_ENDPOINT)
        .auth(ClientSecretJwt::new("s"))
        .randomness(Counter(std::sync::atomic::AtomicU8::new(7)))
        .build()
        .unwrap();
    let (_, forms) = forms(&client);
    let (claims, _) = verified_claims(
        param(&forms[0], "client_assertion"),
        &Jwk::symmetric(b"s").unwrap(),
        Algorithm::HS256,
    );
    assert_eq!(claims.string("jti"), Some("BwcHBwcHBwcHBwcHBwcHBw"));
}

#[test]
fn jwt_client_auth_options() {
    let auth = ClientSecretJwt::new("s")
        .algorithm(Algorithm::HS512)
        .audience(AssertionAudience::Issuer("https://as.example".into()))
        .lifetime(Duration::from_secs(30))
        .explicit_type(true);
    let (_, forms) = forms(&client(auth));
    let (claims, jws) = verified_claims(
        param(&forms[0], "client_assertion"),
        &Jwk::symmetric(b"s").unwrap(),
        Algorithm::HS512,
    );
    assert_eq!(jws.header().token_type(), Some("client-authentication+jwt"));
    assert_eq!(claims.get("aud").unwrap(), "https://as.example");
    let lifetime = claims
        .time("exp")
        .unwrap()
        .unwrap()
        .duration_since(claims.time("iat").unwrap().unwrap())
        .unwrap();
    assert_eq!(lifetime, Duration::from_secs(30));
    // Debug shows no secret.
    assert!(!format!("{:?}", ClientSecretJwt::new("hunter2")).contains("hunter2"));
}

#[test]
fn client_secret_jwt_refuses_a_non_hmac_algorithm() {
    let client = client(ClientSecretJwt::new("s").algorithm(Algorithm::RS256));
    let flow = client
        .request_token(TokenRequest::client_credentials())
        .unwrap();
    let e = Driver::new().reply_json(200, TOKEN).run(flow).unwrap_err();
    assert!(matches!(
        e,
        DriverError::Flow(Error::Config(ConfigError::InvalidCredentials(_)))
    ));
}

#[test]
fn private_key_jwt_signs_with_the_key_and_names_it() {
    let key = SigningKey::from_jwk(RSA).unwrap();
    let public = key.public_jwk().unwrap();
    let client = client(PrivateKeyJwt::new(key));
    assert_eq!(client.auth_method(), "private_key_jwt");
    let (_, forms) = forms(&client);
    let assertion = param(&forms[0], "client_assertion");
    let jws = UnverifiedJws::parse(assertion).unwrap();
    assert_eq!(jws.header().algorithm(), Algorithm::RS256);
    assert_eq!(
        jws.header().key_id(),
        Some("bilbo.baggins@hobbiton.example")
    );
    // Verified as a server would: through the client's registered JWK Set.
    let claims = jws
        .verify(&JwkSet::from(public), &[Algorithm::RS256])
        .unwrap()
        .claims()
        .unwrap();
    assert_eq!(claims.subject(), Some("my-client"));
}

#[test]
fn private_key_jwt_uses_a_signer_the_application_brings() {
    /// An "HSM": holds the key out of grantline's reach and counts its signatures.
    #[derive(Debug)]
    struct Hsm {
        key: SigningKey,
        calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }
    impl JwsSigner for Hsm {
        fn algorithm(&self) -> Algorithm {
            Algorithm::PS256
        }
        fn key_id(&self) -> Option<&str> {
            Some("hsm-key-7")
        }
        fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, Error> {
            self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.key.sign(signing_input)
        }
    }
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let hsm = Hsm {
        key: SigningKey::from_jwk(RSA)
            .unwrap()
            .with_algorithm(Algorithm::PS256)
            .unwrap(),
        calls: calls.clone(),
    };
    let (_, forms) = forms(&client(PrivateKeyJwt::with_signer(hsm)));
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    let (claims, jws) = verified_claims(
        param(&forms[1], "client_assertion"),
        &Jwk::from_json(RSA).unwrap(),
        Algorithm::PS256,
    );
    assert_eq!(jws.header().key_id(), Some("hsm-key-7"));
    assert_eq!(claims.issuer(), Some("my-client"));
}

#[test]
fn jwt_bearer_assertions_carry_the_claims_asked_for() {
    let key = SigningKey::from_jwk(RSA).unwrap();
    let now = Driver::new().now().wall();
    let assertion = JwtAssertion::new("my-service", "user@example.com", "https://as.example")
        .also_for("https://as.example/token")
        .claim("scope", "read")
        .claim("iss", "ignored: registered claims are grantline's")
        .lifetime(Duration::from_secs(120))
        .sign(&key, now, &SystemRandom)
        .unwrap();
    let (claims, _) = verified_claims(
        assertion.secret(),
        &Jwk::from_json(RSA).unwrap(),
        Algorithm::RS256,
    );
    assert_eq!(claims.issuer(), Some("my-service"));
    assert_eq!(claims.subject(), Some("user@example.com"));
    assert_eq!(
        claims.audience().unwrap(),
        ["https://as.example", "https://as.example/token"]
    );
    assert_eq!(claims.string("scope"), Some("read"));
    assert_eq!(
        claims.time("exp").unwrap().unwrap(),
        claims.time("iat").unwrap().unwrap() + Duration::from_secs(120)
    );
    // It goes into the JWT bearer grant as the assertion.
    let client = Client::builder("my-service")
        .token_endpoint(TOKEN_ENDPOINT)
        .build()
        .unwrap();
    let mut driver = Driver::new().reply_json(200, TOKEN);
    driver
        .run(
            client
                .request_token(TokenRequest::jwt_bearer(assertion.clone()))
                .unwrap(),
        )
        .unwrap();
    let form = driver.transcript().form(0).unwrap();
    assert_eq!(param(&form, "assertion"), assertion.secret());
}

#[test]
fn request_objects_carry_the_authorization_parameters() {
    let key = SigningKey::from_jwk(RSA).unwrap();
    let now = Driver::new().now().wall();
    let request = RequestObject::new("my-client", "https://as.example").params([
        ("response_type", "code"),
        ("client_id", "my-client"),
        ("redirect_uri", "https://app.example/cb"),
        ("scope", "openid email"),
        ("state", "af0ifjsldkj"),
        ("nonce", "n-0S6"),
        ("max_age", "600"),
        ("claims", r#"{"userinfo":{"email":{"essential":true}}}"#),
    ]);
    let jwt = request.sign(&key, now, &SystemRandom).unwrap();
    let (claims, jws) = verified_claims(&jwt, &Jwk::from_json(RSA).unwrap(), Algorithm::RS256);
    assert_eq!(jws.header().token_type(), Some("oauth-authz-req+jwt"));
    assert_eq!(claims.issuer(), Some("my-client"));
    assert_eq!(claims.get("aud").unwrap(), "https://as.example");
    assert_eq!(claims.string("client_id"), Some("my-client"));
    assert_eq!(
        claims.string("redirect_uri"),
        Some("https://app.example/cb")
    );
    assert_eq!(claims.get("max_age").unwrap(), 600);
    assert_eq!(
        claims.get("claims").unwrap()["userinfo"]["email"]["essential"],
        true
    );
    assert_eq!(claims.time("iat").unwrap(), Some(now));
    assert_eq!(claims.time("nbf").unwrap(), Some(now));
    assert_eq!(
        claims.time("exp").unwrap(),
        Some(now + Duration::from_secs(300))
    );
    assert!(claims.string("jti").is_some());
    let query = request.query_params(&jwt);
    let names: Vec<&str> = query.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["client_id", "request", "response_type", "scope"]);

    for (name, value) in [
        ("request_uri", "urn:x"),
        ("request", "a.b.c"),
        ("max_age", "soon"),
    ] {
        let e = RequestObject::new("c", "https://as.example")
            .param(name, value)
            .sign(&key, now, &SystemRandom)
            .unwrap_err();
        assert!(matches!(
            e,
            Error::Config(ConfigError::InvalidParameter { .. })
        ));
    }
    let untyped = RequestObject::new("c", "https://as.example")
        .explicit_type(false)
        .sign(&key, now, &SystemRandom)
        .unwrap();
    assert_eq!(
        UnverifiedJws::parse(&untyped)
            .unwrap()
            .header()
            .token_type(),
        None
    );
}
