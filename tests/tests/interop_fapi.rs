//! The FAPI 2.0 Security Profile and its Message Signing parts against a real FAPI 2.0 server:
//! oidc-provider with `features.fapi` profile `2.0`, JARM and JWT introspection on
//! (`tests/interop/oidc-provider/fapi-server.mjs`), through both transports.
//!
//! One line (`ClientBuilder::fapi2`) makes the client a FAPI 2.0 client; the code flow then runs
//! through PAR + JAR (signed request object) + JARM (signed response) + private_key_jwt (`aud`
//! the issuer) + DPoP, and the access token is introspected as a signed JWT (RFC 9701).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod interop_common;

use std::time::SystemTime;

use grantline::discovery::DiscoveryFlow;
use grantline::dpop::DpopKey;
use grantline::error::{ConfigError, Fapi2Rule, JoseError, ValidationError};
use grantline::jose::{Algorithm, SigningKey};
use grantline::token::TargetToken;
use grantline::{Client, Error, TokenType};
use grantline_tests::interop::{Browser, oidc_provider_fapi};
use interop_common::{REDIRECT, REDIRECT_PREFIX, RunError, Runner, runners};

/// The key `fapi-client` is registered with (its public part), ES256.
fn client_key() -> SigningKey {
    SigningKey::from_jwk(include_str!(
        "../interop/keys/client-es256.private.jwk.json"
    ))
    .unwrap()
}

/// The FAPI 2.0 client, built from the server's metadata: one line turns the profile on.
fn fapi_client(runner: &Runner) -> Client {
    let metadata = runner
        .run(DiscoveryFlow::openid(oidc_provider_fapi().issuer()).unwrap())
        .unwrap();
    Client::from_metadata("fapi-client", &metadata)
        .redirect_uri(REDIRECT)
        .private_key_jwt(client_key())
        .dpop(DpopKey::generate(Algorithm::ES256).unwrap())
        .fapi2()
        .jarm()
        .build()
        .unwrap()
}

/// Pushes a signed authorization request and logs `login` in; returns the pending state and the
/// URL the browser came back to.
fn authorize(
    runner: &Runner,
    client: &Client,
    login: &str,
) -> (grantline::authorization::PendingAuthorization, String) {
    let (flow, pending) = client
        .authorization_request()
        .scope("openid profile")
        .request_object(client_key(), SystemTime::now())
        .into_pushed()
        .unwrap();
    let pushed = runner.run(flow).unwrap();
    let callback =
        Browser::new().oidc_provider_authorize(pushed.url().as_str(), login, REDIRECT_PREFIX);
    (pending, callback)
}

fn flow_error(result: Result<impl std::fmt::Debug, RunError>) -> Error {
    match result {
        Err(RunError::Flow(e)) => e,
        other => panic!("not a flow error: {other:?}"),
    }
}

#[test]
fn the_code_flow_through_par_jar_jarm_private_key_jwt_and_dpop_then_jwt_introspection() {
    for runner in runners() {
        let client = fapi_client(&runner);
        let (pending, callback) = authorize(&runner, &client, "alice");
        // The response came back signed: one `response` JWT, nothing in the clear.
        let url = url::Url::parse(&callback).unwrap();
        let names: Vec<_> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
        assert_eq!(names, ["response"], "{}", runner.name());

        let code = runner.run(client.verify_callback(pending, callback.as_str()).unwrap());
        let code = code.unwrap();
        let token = runner.run(client.exchange_code(code).unwrap()).unwrap();
        assert_eq!(token.token_type(), &TokenType::DPoP);
        let claims = token.id_token_claims().unwrap();
        assert_eq!(claims.subject(), "alice");
        assert_eq!(claims.algorithm(), Algorithm::ES256);

        // The access token, introspected as a signed JWT (RFC 9701) and verified.
        let info = runner
            .run(
                client
                    .introspect_jwt(TargetToken::from(token.access_token()))
                    .unwrap(),
            )
            .unwrap();
        assert!(info.active(), "{}", runner.name());
        assert_eq!(info.sub(), Some("alice"));
        let jkt = client.dpop_key().unwrap().thumbprint();
        assert_eq!(info.extra()["cnf"]["jkt"], jkt);
        // The plain path beside it: the same server answers JSON when no JWT is asked for.
        let plain = runner
            .run(
                client
                    .introspect(TargetToken::from(token.access_token()))
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(plain.sub(), Some("alice"));
    }
}

#[test]
fn a_tampered_or_misdirected_jarm_response_gives_no_code() {
    for runner in runners() {
        let client = fapi_client(&runner);
        let (pending, callback) = authorize(&runner, &client, "bob");

        // The real response presented to another pending request: signed, but not for it.
        let (_flow, other) = client.authorization_request().into_pushed().unwrap();
        let e = flow_error(runner.run(client.verify_callback(other, callback.as_str()).unwrap()));
        assert!(
            matches!(e, Error::Validation(ValidationError::StateMismatch)),
            "{e:?}"
        );

        // The JWT with one signature byte changed.
        let jwt = callback.split_once("response=").unwrap().1;
        let (signed, signature) = jwt.rsplit_once('.').unwrap();
        let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
        let forged = format!("{REDIRECT}?response={signed}.{flipped}{}", &signature[1..]);
        let e = flow_error(runner.run(client.verify_callback(pending, forged.as_str()).unwrap()));
        assert!(
            matches!(e, Error::Jose(JoseError::InvalidSignature)),
            "{e:?}"
        );

        // The code flow's plain path is refused before anything is sent.
        let e = client.authorization_request().into_redirect().unwrap_err();
        assert!(matches!(
            e,
            Error::Config(ConfigError::Fapi2(Fapi2Rule::PushedAuthorizationRequests))
        ));
    }
}

#[test]
fn jarm_and_jwt_introspection_on_their_own_without_the_profile() {
    for runner in runners() {
        let metadata = runner
            .run(DiscoveryFlow::openid(oidc_provider_fapi().issuer()).unwrap())
            .unwrap();
        let client = Client::from_metadata("jarm-client", &metadata)
            .redirect_uri(REDIRECT)
            .client_secret_basic("jarm-secret")
            .jarm()
            .build()
            .unwrap();
        assert!(!client.is_fapi2());
        // A plain front-channel request, answered with a signed response.
        let (url, pending) = client
            .authorization_request()
            .scope("openid")
            .response_mode("query.jwt")
            .into_redirect()
            .unwrap();
        let callback =
            Browser::new().oidc_provider_authorize(url.as_str(), "dave", REDIRECT_PREFIX);
        assert!(callback.contains("?response="), "{callback}");
        // The plain validator does not take it: it must be verified.
        let code = runner
            .run(client.verify_callback(pending, callback.as_str()).unwrap())
            .unwrap();
        let token = runner.run(client.exchange_code(code).unwrap()).unwrap();
        assert_eq!(token.token_type(), &TokenType::Bearer);
        assert_eq!(token.id_token_claims().unwrap().subject(), "dave");
        let info = runner
            .run(
                client
                    .introspect_jwt(TargetToken::from(token.access_token()))
                    .unwrap(),
            )
            .unwrap();
        assert!(info.active());
        assert_eq!(info.sub(), Some("dave"));
    }
}

/// The test PKI of the mTLS listener (`tests/interop/keys/mtls`).
const MTLS_CA: &str = include_str!("../interop/keys/mtls/ca.pem");
const MTLS_CLIENT_CERT: &str = include_str!("../interop/keys/mtls/client.pem");
const MTLS_CLIENT_KEY: &str = include_str!("../interop/keys/mtls/client.key.pem");

/// Both transports, configured by the user as a FAPI client with a certificate is: the test CA
/// trusted, the client certificate presented.
fn mtls_runners() -> Vec<Runner> {
    let agent = || {
        let mut items = ureq::tls::parse_pem(MTLS_CLIENT_CERT.as_bytes())
            .chain(ureq::tls::parse_pem(MTLS_CLIENT_KEY.as_bytes()));
        let (
            Some(Ok(ureq::tls::PemItem::Certificate(cert))),
            Some(Ok(ureq::tls::PemItem::PrivateKey(key))),
        ) = (items.next(), items.next())
        else {
            panic!("the test client certificate and key")
        };
        let ca = ureq::tls::Certificate::from_pem(MTLS_CA.as_bytes()).unwrap();
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::new_with_certs(&[ca]))
            .client_cert(Some(ureq::tls::ClientCert::new_with_certs(&[cert], key)))
            .build();
        ureq::Agent::config_builder()
            .proxy(None)
            .tls_config(tls)
            .build()
            .new_agent()
    };
    let client = || {
        let identity =
            reqwest::Identity::from_pem(format!("{MTLS_CLIENT_CERT}{MTLS_CLIENT_KEY}").as_bytes())
                .unwrap();
        let ca = reqwest::Certificate::from_pem(MTLS_CA.as_bytes()).unwrap();
        grantline_reqwest::Transport::from_builder(
            reqwest::Client::builder()
                .no_proxy()
                .tls_certs_only([ca])
                .identity(identity),
        )
        .unwrap()
    };
    vec![
        Runner::Ureq {
            transport: grantline_ureq::Transport::with_agent(agent()),
            fast: grantline_ureq::Transport::with_agent(agent()),
        },
        Runner::Reqwest {
            transport: client(),
            fast: client(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        },
    ]
}

#[test]
fn the_code_flow_with_tls_client_auth_and_certificate_bound_tokens() {
    let server = oidc_provider_fapi();
    for runner in mtls_runners() {
        let metadata = runner
            .run(DiscoveryFlow::openid(server.issuer()).unwrap())
            .unwrap();
        // tls_client_auth: the certificate authenticates the client and binds its tokens, at the
        // server's mTLS endpoint aliases; no DPoP, no client assertion.
        let client = Client::from_metadata("fapi-mtls-client", &metadata)
            .redirect_uri(REDIRECT)
            .tls_client_auth()
            .fapi2()
            .jarm()
            .build()
            .unwrap();
        let pushed_to = client
            .endpoint(grantline::EndpointKind::PushedAuthorization)
            .unwrap();
        assert!(
            pushed_to.as_str().starts_with(server.mtls_base()),
            "{pushed_to}"
        );
        let (flow, pending) = client
            .authorization_request()
            .scope("openid")
            .into_pushed()
            .unwrap();
        let pushed = runner.run(flow).unwrap();
        let callback =
            Browser::new().oidc_provider_authorize(pushed.url().as_str(), "erin", REDIRECT_PREFIX);
        let code = runner
            .run(client.verify_callback(pending, callback.as_str()).unwrap())
            .unwrap();
        let token = runner.run(client.exchange_code(code).unwrap()).unwrap();
        assert_eq!(token.id_token_claims().unwrap().subject(), "erin");
        // Bound to the certificate (RFC 8705 §3): introspection shows its thumbprint.
        let info = runner
            .run(
                client
                    .introspect_jwt(TargetToken::from(token.access_token()))
                    .unwrap(),
            )
            .unwrap();
        assert!(info.active(), "{}", runner.name());
        assert!(
            info.extra()["cnf"]["x5t#S256"].is_string(),
            "{}: {:?}",
            runner.name(),
            info.extra()
        );
    }
}
