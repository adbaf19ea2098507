//! The secret sentinel test (issue 20): every public type of the core and the transports that
//! can hold a secret is built with a recognisable value per secret kind, and its `Debug`, its
//! `Display` (where it has one), and every error it produces (with its `source()` chain) must
//! never contain one.
//!
//! **A new type that can hold a secret must get a section here** (CONTRIBUTING.md, "Secrets").
//! The values and checks are shared with `tracing_sentinel.rs` (the `tracing` output of real
//! flows) through `sentinel/mod.rs`.
//! Every check first asserts that the sentinel really is inside the value (through an
//! accessor or the request the value builds), so no check can pass on an empty value.
//!
//! Assertion sources (`FnAssertion`, `AssertionFile`, `JwtAssertionSource`, `ClientAssertion`)
//! and exported keys (`PrivateKeyJwk`, `PrivateKeyDer`) are in
//! `assertion_sources_and_the_requests_they_feed` and `exported_dpop_keys_and_other_additions`.
//!
//! Not here, because they hold no secret of the kinds above: server metadata and discovery,
//! JWKS fetching and caching, `DpopNonces` (the server's nonces), scopes, clocks, randomness,
//! `BaseUrl`, `Challenge`, `PollingStatus`, `Ticket`, `Target`, `RedirectUri`, the plain client
//! authentication markers (`PublicClient`, `TlsClientAuth`) and the ureq `Cancellation`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fmt::Debug;

use grantline::authorizer::{Attempt, Authorize, Authorizer, Target};
use grantline::flow::{Flow, Step};
use grantline::grant::TokenRequest;
use grantline::secret::{AccessToken, Assertion, ClientSecret, IdToken, Password, RefreshToken};
use grantline::testing::Driver;
use grantline::token::TokenResponse;
use grantline::token_manager::{Access, TokenManager};
use grantline::{Client, Now};

mod sentinel;

use sentinel::*;

// ---------------------------------------------------------------------------------------------
// The secret newtypes.

#[test]
fn secret_newtypes() {
    let client_secret = ClientSecret::new(CLIENT_SECRET);
    assert_eq!(client_secret.secret(), CLIENT_SECRET);
    debug_clean("ClientSecret", &client_secret);
    let access = AccessToken::new(ACCESS_TOKEN);
    assert_eq!(access.secret(), ACCESS_TOKEN);
    debug_clean("AccessToken", &access);
    let refresh = RefreshToken::new(REFRESH_TOKEN);
    assert_eq!(refresh.secret(), REFRESH_TOKEN);
    debug_clean("RefreshToken", &refresh);
    let id = IdToken::new(ID_TOKEN);
    assert_eq!(id.secret(), ID_TOKEN);
    debug_clean("IdToken", &id);
    let password = Password::new(PASSWORD);
    assert_eq!(password.secret(), PASSWORD);
    debug_clean("Password", &password);
    let assertion = Assertion::new(ASSERTION);
    assert_eq!(assertion.secret(), ASSERTION);
    debug_clean("Assertion", &assertion);
}

// ---------------------------------------------------------------------------------------------
// Client, ClientBuilder and client authentication.

#[test]
fn client_and_builder_with_a_client_secret() {
    for method in ["basic", "post", "jwt"] {
        let builder = Client::builder("app-7").token_endpoint("https://as.example/token");
        let builder = match method {
            "basic" => builder.client_secret_basic(CLIENT_SECRET),
            "post" => builder.client_secret_post(CLIENT_SECRET),
            _ => builder.client_secret_jwt(HMAC_KEY),
        };
        debug_clean("ClientBuilder", &builder);
        let client = builder.build().unwrap();
        debug_clean("Client", &client);
        // The secret is really in there: the token request carries it (or signs with it).
        let mut flow = client
            .request_token(TokenRequest::client_credentials())
            .unwrap();
        let request = first_request("TokenFlow", &mut flow);
        if method != "jwt" {
            assert!(request_carries(&request, CLIENT_SECRET), "{method}");
        } else {
            assert!(String::from_utf8_lossy(request.body()).contains("client_assertion="));
        }
    }
}

#[test]
fn client_with_a_private_key_and_a_dpop_key() {
    use grantline::dpop::DpopKey;
    use grantline::jose::{Algorithm, SigningKey};

    let key = SigningKey::hmac(Algorithm::HS256, HMAC_KEY.as_bytes()).unwrap();
    debug_clean("SigningKey (HMAC)", &key);
    let ec = SigningKey::from_jwk(EC_JWK).unwrap();
    debug_clean("SigningKey (EC JWK)", &ec);
    assert_clean("SigningKey's public JWK", &format!("{:?}", ec.public_jwk()));
    assert!(
        !format!("{ec:?}").contains(EC_D),
        "the private part of the EC key"
    );
    let dpop = DpopKey::from_signing_key(SigningKey::from_jwk(EC_JWK).unwrap()).unwrap();
    debug_clean("DpopKey", &dpop);
    assert!(!format!("{dpop:?}").contains(EC_D));
    // A proof for a token carries its hash (`ath`), never the token.
    let proof = dpop
        .proof(
            "POST",
            "https://as.example/token",
            Now::system().wall(),
            &grantline::random::SystemRandom,
            None,
            Some(&AccessToken::new(ACCESS_TOKEN)),
        )
        .unwrap();
    let parsed = grantline::jose::UnverifiedJws::parse(&proof).unwrap();
    debug_clean("a DPoP proof (parsed)", &parsed);
    assert_clean("a DPoP proof", &proof);

    let client = Client::builder("app-7")
        .token_endpoint("https://as.example/token")
        .private_key_jwt(SigningKey::from_jwk(EC_JWK).unwrap())
        .dpop(dpop)
        .build()
        .unwrap();
    let text = format!("{client:?}");
    assert!(!text.contains(EC_D), "Client leaks the private key: {text}");
    debug_clean("Client (private_key_jwt, DPoP)", &client);
}

/// A P-256 key (RFC 7515 appendix A.3); `d` is its private part.
const EC_D: &str = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
const EC_JWK: &str = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}"#;

// ---------------------------------------------------------------------------------------------
// Tokens: the response, its stored form, the grant requests, the token manager.

#[test]
fn token_response_and_its_stored_form() {
    let response = http::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(token_body().into_bytes())
        .unwrap();
    let token = TokenResponse::from_response(&response, Now::system()).unwrap();
    assert_eq!(token.access_token().secret(), ACCESS_TOKEN);
    assert_eq!(token.refresh_token().unwrap().secret(), REFRESH_TOKEN);
    assert_eq!(token.id_token().unwrap().secret(), ID_TOKEN);
    debug_clean("TokenResponse", &token);

    // The stored form is the deliberate export; what it parses back to is clean again.
    let stored = serde_json::to_string(&token).unwrap();
    assert!(stored.contains(ACCESS_TOKEN));
    let back: TokenResponse = serde_json::from_str(&stored).unwrap();
    debug_clean("TokenResponse (restored)", &back);

    // A token response whose extra members carry secrets.
    let body = format!(
        r#"{{"access_token":"{ACCESS_TOKEN}","token_type":"Bearer","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","device_code":"{DEVICE_CODE}","client_secret":"{CLIENT_SECRET}"}}"#
    );
    let response = http::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(body.into_bytes())
        .unwrap();
    let token = TokenResponse::from_response(&response, Now::system()).unwrap();
    assert!(token.extra().contains_key("client_secret"));
    debug_clean("TokenResponse with secret extras", &token);
}

#[test]
fn token_requests_and_their_flows() {
    use grantline::grant::TokenTypeId;
    let client = client();
    let requests = [
        (TokenRequest::refresh_token(REFRESH_TOKEN), REFRESH_TOKEN),
        (TokenRequest::password("alice", PASSWORD), PASSWORD),
        (TokenRequest::jwt_bearer(ASSERTION), ASSERTION),
        (
            TokenRequest::token_exchange(SUBJECT_TOKEN, TokenTypeId::AccessToken),
            SUBJECT_TOKEN,
        ),
        (
            TokenRequest::token_exchange(SUBJECT_TOKEN, TokenTypeId::AccessToken)
                .actor_token(ACTOR_TOKEN, TokenTypeId::AccessToken),
            ACTOR_TOKEN,
        ),
    ];
    for (request, secret) in requests {
        debug_clean("TokenRequest", &request);
        let mut flow = client.request_token(request).unwrap();
        let sent = first_request("TokenFlow", &mut flow);
        assert!(request_carries(&sent, secret), "{secret}");
        debug_clean("TokenFlow after its first step", &flow);
    }
}

#[test]
fn token_manager_renewal_and_authorizer() {
    let manager = TokenManager::refreshing(client(), token_response()).unwrap();
    assert_eq!(
        manager.token().unwrap().access_token().secret(),
        ACCESS_TOKEN
    );
    debug_clean("TokenManager", &manager);

    let bearer = TokenManager::bearer(ACCESS_TOKEN).unwrap();
    debug_clean("TokenManager::bearer", &bearer);

    // Access::Ready holds the header (sensitive), Access::Renew a Renewal with the refresh token.
    let mut expired = TokenManager::refreshing(
        client(),
        token_response().with_expires_at(Some(std::time::UNIX_EPOCH)),
    )
    .unwrap();
    let access = expired.access(Now::system());
    debug_clean("Access::Renew", &access);
    let Access::Renew(mut renewal) = access else {
        panic!("an expired token is renewed")
    };
    debug_clean("Renewal", &renewal);
    let sent = first_request("Renewal", &mut renewal);
    assert!(request_carries(&sent, REFRESH_TOKEN));
    assert!(request_carries(&sent, CLIENT_SECRET));

    let mut fresh = TokenManager::refreshing(client(), token_response()).unwrap();
    let access = fresh.access(Now::system());
    let Access::Ready(header) = &access else {
        panic!("a fresh token is ready")
    };
    assert!(header.to_str().unwrap().contains(ACCESS_TOKEN));
    debug_clean("Access::Ready", &access);

    let mut authorizer =
        Authorizer::new(TokenManager::refreshing(client(), token_response()).unwrap());
    debug_clean("Authorizer", &authorizer);
    let mut attempt = Attempt::new();
    let method = http::Method::GET;
    let uri: http::Uri = "https://api.example/things".parse().unwrap();
    let authorize = authorizer
        .authorize(&mut attempt, Target::new(&method, &uri), Now::system())
        .unwrap();
    let Authorize::Attach(authorization) = &authorize else {
        panic!("a fresh token is attached")
    };
    assert!(
        authorization
            .authorization()
            .to_str()
            .unwrap()
            .contains(ACCESS_TOKEN)
    );
    debug_clean("Authorize::Attach", &authorize);
    debug_clean("Authorization", authorization);
    debug_clean("Attempt after a send", &attempt);
    debug_clean("Authorizer after a send", &authorizer);
}

// ---------------------------------------------------------------------------------------------
// The authorization code flow: request, pending, callback, code, exchange (and PAR).

#[test]
fn authorization_code_flow() {
    let client = client();
    let request = client
        .authorization_request()
        .state(STATE)
        .nonce(NONCE)
        .code_verifier(VERIFIER)
        .scope("openid");
    debug_clean("AuthorizationRequest", &request);
    let (url, pending) = request.into_redirect().unwrap();
    assert!(url.as_str().contains(STATE));
    assert_eq!(pending.state(), STATE);
    assert_eq!(pending.nonce(), Some(NONCE));
    debug_clean("PendingAuthorization", &pending);

    let callback = format!("https://app.example/cb?code={CODE}&state={STATE}");
    let callback = grantline::authorization::Callback::from(callback.as_str());
    debug_clean("Callback", &callback);
    let code = pending.validate_callback(callback).unwrap();
    assert_eq!(code.nonce(), Some(NONCE));
    debug_clean("AuthorizationCode", &code);
    let mut exchange = client.exchange_code(code).unwrap();
    debug_clean("CodeExchangeFlow", &exchange);
    let sent = first_request("CodeExchangeFlow", &mut exchange);
    assert!(request_carries(&sent, CODE));
    assert!(request_carries(&sent, VERIFIER));
    debug_clean("CodeExchangeFlow after its first step", &exchange);

    // Pushed: the push flow carries state, nonce and the challenge.
    let (mut push, pending) = client
        .authorization_request()
        .state(STATE)
        .nonce(NONCE)
        .code_verifier(VERIFIER)
        .into_pushed()
        .unwrap();
    debug_clean("PendingAuthorization (pushed)", &pending);
    let sent = first_request("PushFlow", &mut push);
    assert!(request_carries(&sent, STATE));
}

// ---------------------------------------------------------------------------------------------
// Errors the flows produce from answers that carry the sentinels.

/// Runs `flow` against one scripted answer; the driver's error and the `RunError` it converts
/// to are checked clean, and the flow's error is returned for the caller's checks.
fn run_error<F: Flow>(flow: F, status: u16, body: &str) -> grantline::Error {
    let mut driver = Driver::new().reply_json(status, body);
    let Err(error) = driver.run(flow) else {
        panic!("the flow should fail")
    };
    error_clean("DriverError", &error);
    let grantline::testing::DriverError::Flow(error) = error else {
        panic!("the flow itself failed: {error}")
    };
    error
}

#[test]
fn errors_from_answers_that_echo_secrets() {
    let client = client();
    // An OAuth error whose body echoes what was sent (code, refresh token, ...).
    let echo = format!(
        r#"{{"error":"invalid_grant","error_description":"bad","code":"{CODE}","refresh_token":"{REFRESH_TOKEN}","access_token":"{ACCESS_TOKEN}","client_secret":"{CLIENT_SECRET}","password":"{PASSWORD}","nested":{{"id_token":"{ID_TOKEN}"}}}}"#
    );
    let flow = client
        .request_token(TokenRequest::refresh_token(REFRESH_TOKEN))
        .unwrap();
    let error = run_error(flow, 400, &echo);
    assert!(matches!(error, grantline::Error::OAuth(_)), "{error:?}");
    error_clean("OAuthError", &error);

    // An unexpected answer whose excerpt would carry the tokens.
    let flow = client
        .request_token(TokenRequest::password("alice", PASSWORD))
        .unwrap();
    let error = run_error(flow, 502, &token_body());
    error_clean("UnexpectedResponse", &error);

    // A 200 whose body is broken after the tokens (an invalid response).
    let broken = format!(
        r#"{{"access_token":"{ACCESS_TOKEN}","refresh_token":"{REFRESH_TOKEN}","token_type":"#
    );
    let flow = client
        .request_token(TokenRequest::jwt_bearer(ASSERTION))
        .unwrap();
    let error = run_error(flow, 200, &broken);
    error_clean("InvalidResponse", &error);

    // A token response with an ID token that fails validation.
    let code = pending_code(&client);
    let flow = client.exchange_code(code).unwrap();
    let error = run_error(flow, 200, &token_body());
    error_clean("a failed ID token", &error);

    // A failed callback carrying the code: wrong state, an error answer, a missing state.
    for callback in [
        format!("https://app.example/cb?code={CODE}&state=forged"),
        format!("https://app.example/cb?code={CODE}"),
        format!("https://app.example/cb?error=access_denied&state={STATE}&code={CODE}"),
        format!("https://other.example/cb?code={CODE}&state={STATE}"),
    ] {
        let (_, pending) = client
            .authorization_request()
            .state(STATE)
            .nonce(NONCE)
            .into_redirect()
            .unwrap();
        let error = pending.validate_callback(callback.as_str()).unwrap_err();
        error_clean("a failed callback", &error);
    }

    // The driver types built from these errors.
    let error = grantline::Error::OAuth(
        match run_error(
            client
                .request_token(TokenRequest::refresh_token(REFRESH_TOKEN))
                .unwrap(),
            400,
            &echo,
        ) {
            grantline::Error::OAuth(e) => e,
            other => panic!("{other:?}"),
        },
    );
    error_clean(
        "RunError",
        &grantline::driver::RunError::from(run_error(
            client
                .request_token(TokenRequest::refresh_token(REFRESH_TOKEN))
                .unwrap(),
            400,
            &echo,
        )),
    );
    let auth = grantline::driver::AuthError::from(error);
    error_clean("AuthError", &auth);
    let api = grantline::driver::ApiError::Auth(auth);
    error_clean("ApiError::Auth", &api);
    let status = grantline::driver::StatusError::new(
        http::StatusCode::UNAUTHORIZED,
        http::HeaderMap::new(),
        token_body().into_bytes(),
    );
    assert!(String::from_utf8_lossy(status.body()).contains(ACCESS_TOKEN));
    error_clean("StatusError", &status);
    error_clean(
        "ApiError::Status",
        &grantline::driver::ApiError::Status(status),
    );
}

fn pending_code(client: &Client) -> grantline::authorization::AuthorizationCode {
    let (_, pending) = client
        .authorization_request()
        .state(STATE)
        .nonce(NONCE)
        .code_verifier(VERIFIER)
        .scope("openid")
        .into_redirect()
        .unwrap();
    pending
        .validate_callback(format!("https://app.example/cb?code={CODE}&state={STATE}").as_str())
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// JAR: a request object signed with a secret key.

#[test]
fn signed_request_object() {
    use grantline::jose::{Algorithm, SigningKey};
    let key = SigningKey::hmac(Algorithm::HS256, HMAC_KEY.as_bytes()).unwrap();
    let request = client()
        .authorization_request()
        .state(STATE)
        .nonce(NONCE)
        .code_verifier(VERIFIER)
        .request_object(key, Now::system().wall());
    debug_clean("AuthorizationRequest with a request object", &request);
    let (url, pending) = request.into_redirect().unwrap();
    assert!(url.query_pairs().any(|(k, _)| k == "request"));
    assert_eq!(pending.state(), STATE);
    debug_clean("PendingAuthorization (JAR)", &pending);
}

// ---------------------------------------------------------------------------------------------
// Device authorization (device_code) and CIBA (auth_req_id, hints).

fn json_response(body: &str) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(body.as_bytes().to_vec())
        .unwrap()
}

#[test]
fn device_flow() {
    use grantline::device::{DeviceAuthorization, DeviceAuthorizationRequest};
    let client = client();
    let mut flow = client
        .device_authorization(DeviceAuthorizationRequest::new().scope("openid"))
        .unwrap();
    let sent = first_request("DeviceAuthorizationFlow", &mut flow);
    assert!(request_carries(&sent, CLIENT_SECRET));

    let body = format!(
        r#"{{"device_code":"{DEVICE_CODE}","user_code":"WDJB-MJHT","verification_uri":"https://as.example/device","expires_in":600,"interval":5}}"#
    );
    let authorization =
        DeviceAuthorization::from_response(&json_response(&body), Now::system()).unwrap();
    debug_clean("DeviceAuthorization", &authorization);
    let mut poll = client.device_token(authorization).unwrap();
    debug_clean("DeviceTokenFlow", &poll);
    let sent = first_request("DeviceTokenFlow", &mut poll);
    assert!(request_carries(&sent, DEVICE_CODE));
    debug_clean("DeviceTokenFlow after its first step", &poll);

    // The poll fails with an answer that echoes the device code.
    let authorization =
        DeviceAuthorization::from_response(&json_response(&body), Now::system()).unwrap();
    let echo = format!(r#"{{"error":"expired_token","device_code":"{DEVICE_CODE}"}}"#);
    let error = run_error(client.device_token(authorization).unwrap(), 400, &echo);
    error_clean("DeviceTokenFlow's error", &error);
}

#[test]
fn ciba_flow() {
    use grantline::ciba::{BackchannelAuthentication, BackchannelAuthenticationRequest, UserHint};
    let client = client();
    for (hint, secret) in [
        (UserHint::IdTokenHint(ID_TOKEN.to_owned()), ID_TOKEN),
        (
            UserHint::LoginHintToken(LOGIN_HINT_TOKEN.to_owned()),
            LOGIN_HINT_TOKEN,
        ),
    ] {
        debug_clean("UserHint", &hint);
        let request = BackchannelAuthenticationRequest::new(hint).scope("openid");
        debug_clean("BackchannelAuthenticationRequest", &request);
        let mut flow = client.backchannel_authentication(request).unwrap();
        let sent = first_request("BackchannelAuthenticationFlow", &mut flow);
        assert!(request_carries(&sent, secret));
        debug_clean("BackchannelAuthenticationFlow after its first step", &flow);
    }

    let body = format!(r#"{{"auth_req_id":"{AUTH_REQ_ID}","expires_in":120,"interval":2}}"#);
    let pending =
        BackchannelAuthentication::from_response(&json_response(&body), Now::system()).unwrap();
    debug_clean("BackchannelAuthentication", &pending);
    let mut poll = client.ciba_token(pending).unwrap();
    debug_clean("CibaTokenFlow", &poll);
    let sent = first_request("CibaTokenFlow", &mut poll);
    assert!(request_carries(&sent, AUTH_REQ_ID));

    let pending =
        BackchannelAuthentication::from_response(&json_response(&body), Now::system()).unwrap();
    let echo = format!(r#"{{"error":"access_denied","auth_req_id":"{AUTH_REQ_ID}"}}"#);
    let error = run_error(client.ciba_token(pending).unwrap(), 400, &echo);
    error_clean("CibaTokenFlow's error", &error);
}

// ---------------------------------------------------------------------------------------------
// Introspection, revocation, userinfo, logout.

#[test]
fn introspection_revocation_userinfo_logout() {
    use grantline::token::{TargetToken, TokenTypeHint};
    let client = client();
    let target = TargetToken::new(ACCESS_TOKEN).with_hint(TokenTypeHint::AccessToken);
    debug_clean("TargetToken", &target);
    let mut flow = client.introspect(target).unwrap();
    let sent = first_request("IntrospectionFlow", &mut flow);
    assert!(request_carries(&sent, ACCESS_TOKEN));
    debug_clean("IntrospectionFlow after its first step", &flow);
    let echo = format!(r#"{{"error":"invalid_request","token":"{ACCESS_TOKEN}"}}"#);
    let error = run_error(
        client.introspect(TargetToken::new(ACCESS_TOKEN)).unwrap(),
        400,
        &echo,
    );
    error_clean("IntrospectionFlow's error", &error);

    let mut flow = client.revoke(TargetToken::new(REFRESH_TOKEN)).unwrap();
    let sent = first_request("RevocationFlow", &mut flow);
    assert!(request_carries(&sent, REFRESH_TOKEN));
    debug_clean("RevocationFlow after its first step", &flow);
    let echo = format!(r#"{{"error":"unsupported_token_type","token":"{REFRESH_TOKEN}"}}"#);
    let error = run_error(
        client.revoke(TargetToken::new(REFRESH_TOKEN)).unwrap(),
        400,
        &echo,
    );
    error_clean("RevocationFlow's error", &error);

    let access = AccessToken::new(ACCESS_TOKEN);
    let mut flow = grantline::oidc::UserinfoFlow::new(&client, &access).unwrap();
    let sent = first_request("UserinfoFlow", &mut flow);
    assert!(request_carries(&sent, ACCESS_TOKEN));
    debug_clean("UserinfoFlow after its first step", &flow);
    let error = run_error(
        grantline::oidc::UserinfoFlow::new(&client, &access).unwrap(),
        200,
        &format!(r#"{{"no_sub":true,"access_token":"{ACCESS_TOKEN}"}}"#),
    );
    error_clean("UserinfoFlow's error", &error);

    let logout = grantline::oidc::EndSessionRequest::for_client(&client)
        .unwrap()
        .id_token_hint(&IdToken::new(ID_TOKEN))
        .state(STATE);
    debug_clean("EndSessionRequest", &logout);
    let url = logout.build().unwrap();
    assert!(url.as_str().contains(ID_TOKEN));
}

// ---------------------------------------------------------------------------------------------
// Dynamic client registration.

#[test]
fn registration() {
    use grantline::registration::{ClientMetadata, RegisteredClient, RegistrationRequest};
    let metadata = ClientMetadata::new()
        .client_name("app")
        .software_statement(SOFTWARE_STATEMENT);
    debug_clean("ClientMetadata", &metadata);
    let request = RegistrationRequest::new(metadata).initial_access_token(INITIAL_TOKEN);
    debug_clean("RegistrationRequest", &request);
    let mut flow = request.into_flow("https://as.example/register").unwrap();
    let sent = first_request("RegistrationFlow", &mut flow);
    assert!(request_carries(&sent, INITIAL_TOKEN));
    assert!(request_carries(&sent, SOFTWARE_STATEMENT));
    debug_clean("RegistrationFlow after its first step", &flow);

    let document = serde_json::json!({
        "client_id": "c-1",
        "client_secret": CLIENT_SECRET,
        "registration_access_token": REGISTRATION_TOKEN,
        "registration_client_uri": "https://as.example/reg/c-1",
        "software_statement": SOFTWARE_STATEMENT,
        "token_endpoint_auth_method": "client_secret_basic",
    });
    let registered =
        RegisteredClient::from_document(document.as_object().unwrap().clone()).unwrap();
    assert_eq!(registered.client_secret().unwrap().secret(), CLIENT_SECRET);
    assert_eq!(
        registered.registration_access_token().unwrap().secret(),
        REGISTRATION_TOKEN
    );
    debug_clean("RegisteredClient", &registered);
    debug_clean("RegisteredClient's metadata", registered.metadata());
    let builder = registered.client_builder();
    debug_clean("ClientBuilder from a registration", &builder);
    let mut read = registered.read().unwrap();
    let sent = first_request("RegistrationFlow (read)", &mut read);
    assert!(request_carries(&sent, REGISTRATION_TOKEN));
    let mut delete = registered.delete().unwrap();
    let sent = first_request("DeletionFlow", &mut delete);
    assert!(request_carries(&sent, REGISTRATION_TOKEN));

    // The registration endpoint answers with an error that echoes the secrets.
    let echo = format!(
        r#"{{"error":"invalid_software_statement","software_statement":"{SOFTWARE_STATEMENT}","registration_access_token":"{REGISTRATION_TOKEN}"}}"#
    );
    let error = run_error(registered.read().unwrap(), 400, &echo);
    error_clean("RegistrationFlow's error", &error);
    // ... or with a document that is not a client.
    let error = run_error(
        registered.read().unwrap(),
        200,
        &format!(r#"{{"client_secret":"{CLIENT_SECRET}"}}"#),
    );
    error_clean("RegistrationFlow's invalid answer", &error);
}

// ---------------------------------------------------------------------------------------------
// The transports: Transport, Auth, ApiClient, ApiRequest, middlewares, the tower Layer, and the
// errors a request and a failed renewal produce (against a loopback server).

/// A loopback server: `/token` answers with an error echoing the refresh token and the client
/// secret, `/api/` with a 401 whose body and headers carry the access token.
fn echo_server() -> httpmock::MockServer {
    let server = httpmock::MockServer::start();
    let token_echo = format!(
        r#"{{"error":"invalid_grant","refresh_token":"{REFRESH_TOKEN}","client_secret":"{CLIENT_SECRET}"}}"#
    );
    server.mock(move |when, then| {
        when.path("/token");
        then.status(400)
            .header("content-type", "application/json")
            .body(token_echo);
    });
    server.mock(|when, then| {
        when.path_prefix("/api/");
        then.status(401)
            .header("content-type", "application/json")
            .header("x-echo", ACCESS_TOKEN)
            .body(token_body());
    });
    server
}

/// A manager for `server` whose token is expired (so the next use renews, and fails).
fn expired_manager(server: &httpmock::MockServer) -> TokenManager {
    let client = Client::builder("app-7")
        .token_endpoint(server.url("/token"))
        .client_secret_basic(CLIENT_SECRET)
        .build()
        .unwrap();
    TokenManager::refreshing(
        client,
        token_response().with_expires_at(Some(std::time::UNIX_EPOCH)),
    )
    .unwrap()
}

fn fresh_manager(server: &httpmock::MockServer) -> TokenManager {
    let client = Client::builder("app-7")
        .token_endpoint(server.url("/token"))
        .client_secret_basic(CLIENT_SECRET)
        .build()
        .unwrap();
    TokenManager::refreshing(client, token_response()).unwrap()
}

#[test]
fn ureq_transport() {
    use grantline_ureq::{ApiClient, Auth, Transport};
    let server = echo_server();

    let transport = Transport::with_agent(ureq_agent());
    debug_clean("grantline_ureq::Transport", &transport);
    // A flow's error through the transport's run.
    let flow = client_for(&server)
        .request_token(TokenRequest::refresh_token(REFRESH_TOKEN))
        .unwrap();
    let error = transport.run(flow).unwrap_err();
    error_clean("grantline_ureq::Transport::run's error", &error);

    let auth = Auth::new(Transport::with_agent(ureq_agent()), fresh_manager(&server));
    assert_eq!(auth.token().unwrap().access_token().secret(), ACCESS_TOKEN);
    debug_clean("grantline_ureq::Auth", &auth);
    let header = auth.header().unwrap();
    assert!(header.to_str().unwrap().contains(ACCESS_TOKEN));
    debug_clean("the Authorization header value", &header);
    debug_clean("grantline_ureq::AuthMiddleware", &auth.middleware());

    let api = ApiClient::new(&server.url("/api/"))
        .unwrap()
        .agent(ureq_agent())
        .auth(auth);
    debug_clean("grantline_ureq::ApiClient", &api);
    let body = serde_json::json!({ "secret": API_BODY_SECRET });
    let request = api
        .post("things")
        .header("x-api-key", API_HEADER_SECRET)
        .json(&body);
    debug_clean("grantline_ureq::ApiRequest", &request);
    // The 401 carries the token in its body and a header: a status error.
    let error = api
        .post("things")
        .header("x-api-key", API_HEADER_SECRET)
        .json(&body)
        .error_for_status()
        .send()
        .unwrap_err();
    error_clean("grantline_ureq ApiError (status)", &error);

    // A renewal that fails with an answer echoing the refresh token and the client secret.
    let auth = Auth::new(
        Transport::with_agent(ureq_agent()),
        expired_manager(&server),
    );
    let error = auth.header().unwrap_err();
    error_clean("grantline_ureq AuthError", &error);
    let api = ApiClient::new(&server.url("/api/"))
        .unwrap()
        .agent(ureq_agent())
        .auth(auth);
    let error = api.get("things").send().unwrap_err();
    error_clean("grantline_ureq ApiError (auth)", &error);
}

fn client_for(server: &httpmock::MockServer) -> Client {
    Client::builder("app-7")
        .token_endpoint(server.url("/token"))
        .client_secret_basic(CLIENT_SECRET)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reqwest_transport() {
    use grantline_reqwest::{ApiClient, Auth, Transport};
    let server = tokio::task::spawn_blocking(echo_server).await.unwrap();

    let transport = Transport::from_client(no_proxy());
    debug_clean("grantline_reqwest::Transport", &transport);
    let flow = client_for(&server)
        .request_token(TokenRequest::refresh_token(REFRESH_TOKEN))
        .unwrap();
    let error = transport.run(flow).await.unwrap_err();
    error_clean("grantline_reqwest::Transport::run's error", &error);

    let auth = Auth::new(Transport::from_client(no_proxy()), fresh_manager(&server));
    assert_eq!(auth.token().unwrap().access_token().secret(), ACCESS_TOKEN);
    debug_clean("grantline_reqwest::Auth", &auth);
    let header = auth.header().await.unwrap();
    assert!(header.to_str().unwrap().contains(ACCESS_TOKEN));
    debug_clean("grantline_reqwest::AuthMiddleware", &auth.middleware());

    let api = ApiClient::new(&server.url("/api/"))
        .unwrap()
        .client(no_proxy())
        .auth(auth);
    debug_clean("grantline_reqwest::ApiClient", &api);
    let body = serde_json::json!({ "secret": API_BODY_SECRET });
    let request = api
        .post("things")
        .header("x-api-key", API_HEADER_SECRET)
        .json(&body);
    debug_clean("grantline_reqwest::ApiRequest", &request);
    let error = api
        .post("things")
        .header("x-api-key", API_HEADER_SECRET)
        .json(&body)
        .error_for_status()
        .send()
        .await
        .unwrap_err();
    error_clean("grantline_reqwest ApiError (status)", &error);

    let auth = Auth::new(Transport::from_client(no_proxy()), expired_manager(&server));
    let error = auth.header().await.unwrap_err();
    error_clean("grantline_reqwest AuthError", &error);
    let api = ApiClient::new(&server.url("/api/"))
        .unwrap()
        .client(no_proxy())
        .auth(auth);
    let error = api.get("things").send().await.unwrap_err();
    error_clean("grantline_reqwest ApiError (auth)", &error);
    tokio::task::spawn_blocking(move || drop(server))
        .await
        .unwrap();
}

#[test]
fn tower_layer_and_service() {
    use grantline_tower::AuthLayer;
    use tower::Layer as _;

    #[derive(Clone, Debug)]
    struct Inner;

    let layer = AuthLayer::new(TokenManager::refreshing(client(), token_response()).unwrap());
    debug_clean("grantline_tower::AuthLayer", &layer);
    let service = layer.layer(Inner);
    debug_clean("grantline_tower::AuthService", &service);
    let mut authorizer =
        Authorizer::new(TokenManager::refreshing(client(), token_response()).unwrap());
    let Authorize::Attach(authorization) = authorizer
        .header(&mut Attempt::new(), Now::system())
        .unwrap()
    else {
        panic!("a fresh token is attached")
    };
    assert!(
        authorization
            .authorization()
            .to_str()
            .unwrap()
            .contains(ACCESS_TOKEN)
    );
    let layer = AuthLayer::with_authorizer(authorizer);
    debug_clean("grantline_tower::AuthLayer (authorizer)", &layer);
    debug_clean(
        "grantline_tower::AuthService (authorizer)",
        &layer.layer(Inner),
    );
}

// ---------------------------------------------------------------------------------------------
// JOSE and OpenID Connect: keys as JWKs, a signed ID token (with the nonce), its validator and
// claims, and the validation errors.

/// An ID token signed with the test's EC key, carrying the sentinel nonce.
fn signed_id_token(key: &grantline::jose::SigningKey, nonce: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "iss": "https://as.example",
        "sub": "alice",
        "aud": "app-7",
        "iat": now,
        "exp": now + 300,
        "nonce": nonce,
    });
    grantline::jose::sign(
        key,
        grantline::jose::JwsHeader::for_signer(key),
        &serde_json::to_vec(&claims).unwrap(),
    )
    .unwrap()
}

#[test]
fn jose_keys_id_token_validator_and_claims() {
    use grantline::jose::{Algorithm, Jwk, JwkSet, SigningKey, UnverifiedJws};
    use grantline::oidc::IdTokenValidator;

    // A symmetric JWK holds the client secret it verifies with.
    let symmetric = Jwk::symmetric(HMAC_KEY.as_bytes()).unwrap();
    assert!(symmetric.can_verify(Algorithm::HS256));
    debug_clean("Jwk (symmetric)", &symmetric);
    // A JWK parsed from a private key keeps only the public part.
    let parsed = Jwk::from_json(EC_JWK).unwrap();
    assert!(!format!("{parsed:?}").contains(EC_D));
    let set = JwkSet::from_json(format!(r#"{{"keys":[{EC_JWK}]}}"#).as_bytes()).unwrap();
    assert_eq!(set.keys().len(), 1);
    assert!(!format!("{set:?}").contains(EC_D));

    let key = SigningKey::from_jwk(EC_JWK).unwrap();
    let id_token = IdToken::new(signed_id_token(&key, NONCE));
    let parsed = UnverifiedJws::parse(id_token.secret()).unwrap();
    assert!(String::from_utf8_lossy(parsed.unverified_payload()).contains(NONCE));
    debug_clean("UnverifiedJws of an ID token", &parsed);
    let verified = parsed.verify(&set, &[Algorithm::ES256]).unwrap();
    debug_clean("VerifiedJws of an ID token", &verified);
    let claims = verified.claims().unwrap();
    debug_clean("Claims of an ID token", &claims);

    let access = AccessToken::new(ACCESS_TOKEN);
    let validator = IdTokenValidator::new("https://as.example", "app-7")
        .algorithms([Algorithm::ES256])
        .nonce(NONCE)
        .code(CODE)
        .access_token(&access);
    debug_clean("IdTokenValidator", &validator);
    let id_claims = validator
        .validate(&id_token, &set, Now::system().wall())
        .unwrap();
    debug_clean("IdTokenClaims", &id_claims);

    // The wrong nonce, the wrong key, a broken token: errors never show the token or nonce.
    let other = IdTokenValidator::new("https://as.example", "app-7")
        .algorithms([Algorithm::ES256])
        .nonce(STATE);
    let error = other
        .validate(&id_token, &set, Now::system().wall())
        .unwrap_err();
    error_clean("a nonce mismatch", &error);
    let error = validator
        .validate(
            &id_token,
            &JwkSet::new(vec![symmetric]),
            Now::system().wall(),
        )
        .unwrap_err();
    error_clean("a signature failure", &error);
    let broken = IdToken::new(format!("{ID_TOKEN}.{NONCE}"));
    let error = validator
        .validate(&broken, &set, Now::system().wall())
        .unwrap_err();
    error_clean("a broken ID token", &error);
    let error = UnverifiedJws::parse(&format!("{ACCESS_TOKEN}.x.y")).unwrap_err();
    error_clean("a JWS parse error", &error);
}

#[test]
fn dpop_proofs_from_the_token_manager() {
    use grantline::dpop::DpopKey;
    use grantline::jose::SigningKey;
    let dpop = DpopKey::from_signing_key(SigningKey::from_jwk(EC_JWK).unwrap()).unwrap();
    let client = Client::builder("app-7")
        .token_endpoint("https://as.example/token")
        .client_secret_basic(CLIENT_SECRET)
        .dpop(dpop)
        .build()
        .unwrap();
    let token = TokenResponse::new(
        AccessToken::new(ACCESS_TOKEN),
        grantline::token::TokenType::DPoP,
    );
    let manager = TokenManager::refreshing(client, token).unwrap();
    debug_clean("TokenManager (DPoP)", &manager);
    let proofs = manager.dpop_proofs().expect("a DPoP client has proofs");
    let text = format!("{proofs:?}");
    assert!(
        !text.contains(EC_D),
        "DpopProofs leaks the private key: {text}"
    );
    debug_clean("DpopProofs", &proofs);
}

// ---------------------------------------------------------------------------------------------
// Client authentication methods on their own, and the scripted driver's transcript.

#[test]
fn client_authentication_methods() {
    use grantline::client_auth::{ClientSecretBasic, ClientSecretPost};
    use grantline::jose::{ClientSecretJwt, JwtAssertion, PrivateKeyJwt, SigningKey};
    debug_clean("ClientSecretBasic", &ClientSecretBasic::new(CLIENT_SECRET));
    debug_clean("ClientSecretPost", &ClientSecretPost::new(CLIENT_SECRET));
    debug_clean("ClientSecretJwt", &ClientSecretJwt::new(HMAC_KEY));
    let private = PrivateKeyJwt::new(SigningKey::from_jwk(EC_JWK).unwrap());
    assert!(!format!("{private:?}").contains(EC_D));
    debug_clean("PrivateKeyJwt", &private);
    let assertion =
        JwtAssertion::new("app-7", "app-7", "https://as.example/token").claim("nonce", NONCE);
    debug_clean("JwtAssertion", &assertion);
    // Each method really holds the secret: the request it authenticates carries it.
    let client = Client::builder("app-7")
        .token_endpoint("https://as.example/token")
        .auth(ClientSecretPost::new(CLIENT_SECRET))
        .build()
        .unwrap();
    let mut flow = client
        .request_token(TokenRequest::client_credentials())
        .unwrap();
    assert!(request_carries(
        &first_request("TokenFlow", &mut flow),
        CLIENT_SECRET
    ));
}

// ---------------------------------------------------------------------------------------------
// Assertion sources (issue 19): asked for every request, never printed.

#[test]
fn assertion_sources_and_the_requests_they_feed() {
    use grantline::assertion::{self, AssertionFile};
    use grantline::client_auth::ClientAssertion;
    use grantline::jose::{Algorithm, JwtAssertion, JwtAssertionSource, SigningKey};

    let client = client();
    // A closure: the grant's assertion, a subject token, a client assertion.
    let from_fn = assertion::from_fn("minter", |_| Ok(Assertion::new(ASSERTION)));
    debug_clean("FnAssertion", &from_fn);
    let request = TokenRequest::jwt_bearer_from(from_fn);
    debug_clean("TokenRequest (jwt_bearer_from)", &request);
    let mut flow = client.request_token(request).unwrap();
    let sent = first_request("TokenFlow (jwt_bearer_from)", &mut flow);
    assert!(request_carries(&sent, ASSERTION));
    debug_clean("TokenFlow (jwt_bearer_from) after its first step", &flow);

    let subject = assertion::from_fn("upstream", |_| Ok(Assertion::new(SUBJECT_TOKEN)));
    let mut flow = client
        .request_token(TokenRequest::token_exchange_from(subject, "jwt"))
        .unwrap();
    assert!(request_carries(
        &first_request("TokenFlow (token_exchange_from)", &mut flow),
        SUBJECT_TOKEN
    ));

    // A file the platform rotates: its content is the secret, its path is not.
    let file = AssertionFile::new("/var/run/secrets/token", |_| {
        Ok(format!("{ASSERTION}\n").into_bytes())
    });
    debug_clean("AssertionFile", &file);
    let auth = ClientAssertion::new(file);
    debug_clean("ClientAssertion (file)", &auth);
    let with_file = Client::builder("app-7")
        .token_endpoint("https://as.example/token")
        .auth(auth)
        .build()
        .unwrap();
    debug_clean("Client (ClientAssertion)", &with_file);
    let mut flow = with_file
        .request_token(TokenRequest::client_credentials())
        .unwrap();
    assert!(request_carries(
        &first_request("TokenFlow (client assertion)", &mut flow),
        ASSERTION
    ));
    // A file that holds a secret but is refused (a control character): the error names the
    // path and the reason, never the content.
    for read in [
        (|_| Ok(format!("{ASSERTION}\u{7}{ASSERTION}").into_bytes()))
            as grantline::assertion::ReadFile,
        |_| Ok(vec![b's'; grantline::assertion::MAX_ASSERTION_FILE_LEN + 1]),
        |_| Err(std::io::Error::other(ASSERTION)),
    ] {
        let refused = Client::builder("app-7")
            .token_endpoint("https://as.example/token")
            .auth(ClientAssertion::new(AssertionFile::new("/run/token", read)))
            .build()
            .unwrap();
        let mut flow = refused
            .request_token(TokenRequest::client_credentials())
            .unwrap();
        let error = flow.next(Now::system()).unwrap_err();
        error_clean("an assertion file's error", &error);
    }

    // A key that signs a fresh JWT each time: the key and the claims stay out of Debug.
    let key = SigningKey::hmac(Algorithm::HS256, HMAC_KEY.as_bytes()).unwrap();
    let signed = JwtAssertionSource::new(
        JwtAssertion::new("app-7", "app-7", "https://as.example/token").claim("nonce", NONCE),
        key,
    );
    debug_clean("JwtAssertionSource", &signed);
    let mut flow = client
        .request_token(TokenRequest::jwt_bearer_from(signed))
        .unwrap();
    let sent = first_request("TokenFlow (JwtAssertionSource)", &mut flow);
    let jwt = url::form_urlencoded::parse(sent.body())
        .find(|(k, _)| k == "assertion")
        .unwrap()
        .1
        .into_owned();
    let payload = grantline::jose::UnverifiedJws::parse(&jwt)
        .unwrap()
        .unverified_payload()
        .to_vec();
    assert!(String::from_utf8(payload).unwrap().contains(NONCE));
}

#[test]
fn exported_dpop_keys_and_other_additions() {
    use grantline::dpop::DpopKey;
    use grantline::token::TargetToken;

    // DPoP keys exported and imported: the exports hold the private part, Debug never shows it.
    let key = DpopKey::from_jwk(EC_JWK).unwrap();
    assert!(!format!("{key:?}").contains(EC_D));
    let jwk = key.to_jwk().unwrap();
    assert!(jwk.secret().contains(EC_D), "the export holds the key");
    assert!(!format!("{jwk:?}").contains(EC_D));
    let der = key.to_pkcs8_der().unwrap();
    let d = grantline_tests_b64(EC_D);
    assert!(der.secret().windows(d.len()).any(|w| w == d.as_slice()));
    let shown_bytes = format!("{:?}", &d[..4]);
    assert!(!format!("{der:?}").contains(shown_bytes.trim_matches(['[', ']'])));
    let back = DpopKey::from_pkcs8_der(grantline::jose::Algorithm::ES256, der.secret()).unwrap();
    assert!(!format!("{back:?}").contains(EC_D));

    // Revocation and introspection with extra parameters: values may be secrets.
    let target = TargetToken::new(ACCESS_TOKEN).param("actor_token", ACTOR_TOKEN);
    debug_clean("TargetToken with an extra parameter", &target);
    let client = client();
    let mut flow = client.revoke(target.clone()).unwrap();
    assert!(request_carries(
        &first_request("RevocationFlow (extra)", &mut flow),
        ACTOR_TOKEN
    ));
    let mut flow = client.introspect(target).unwrap();
    assert!(request_carries(
        &first_request("IntrospectionFlow (extra)", &mut flow),
        ACTOR_TOKEN
    ));

    // Userinfo with a DPoP-bound token.
    let dpop_client = Client::builder("app-7")
        .endpoint(
            grantline::EndpointKind::Userinfo,
            "https://as.example/userinfo",
        )
        .dpop(DpopKey::from_jwk(EC_JWK).unwrap())
        .build()
        .unwrap();
    let token = TokenResponse::new(
        AccessToken::new(ACCESS_TOKEN),
        grantline::token::TokenType::DPoP,
    );
    let mut flow = grantline::oidc::UserinfoFlow::for_token(&dpop_client, &token).unwrap();
    assert!(request_carries(
        &first_request("UserinfoFlow (DPoP)", &mut flow),
        ACCESS_TOKEN
    ));

    // A registered client written back for storage: Debug still hides what the document holds.
    let document = serde_json::json!({
        "client_id": "c-1", "client_secret": CLIENT_SECRET,
        "registration_access_token": REGISTRATION_TOKEN
    });
    let registered = grantline::registration::RegisteredClient::from_document(
        document.as_object().unwrap().clone(),
    )
    .unwrap();
    let stored = serde_json::to_string(&registered).unwrap();
    assert!(
        stored.contains(CLIENT_SECRET),
        "the stored document holds the secret"
    );
    let back: grantline::registration::RegisteredClient = serde_json::from_str(&stored).unwrap();
    debug_clean("RegisteredClient (read back)", &back);
}

/// base64url without padding, decoded.
fn grantline_tests_b64(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

#[test]
fn the_scripted_driver_and_its_transcript() {
    let mut driver = Driver::new().reply_json(200, &token_body());
    let token = driver
        .run(
            client()
                .request_token(TokenRequest::refresh_token(REFRESH_TOKEN))
                .unwrap(),
        )
        .unwrap();
    assert_eq!(token.access_token().secret(), ACCESS_TOKEN);
    let sent = driver.transcript().requests().next().unwrap();
    assert!(request_carries(sent, REFRESH_TOKEN));
    debug_clean("the transcript", driver.transcript());
    debug_clean("Driver", &driver);
}

// ---------------------------------------------------------------------------------------------
// Answers whose extra members carry credentials (a server that echoes what it was sent).

#[test]
fn answers_with_credential_extras() {
    use grantline::ciba::BackchannelAuthentication;
    use grantline::device::DeviceAuthorization;
    use grantline::introspection::Introspection;
    let echo = format!(
        r#""client_secret":"{CLIENT_SECRET}","refresh_token":"{REFRESH_TOKEN}","nested":{{"code":"{CODE}"}}"#
    );

    let body = format!(
        r#"{{"device_code":"{DEVICE_CODE}","user_code":"WDJB-MJHT","verification_uri":"https://as.example/device","expires_in":600,{echo}}}"#
    );
    let device = DeviceAuthorization::from_response(&json_response(&body), Now::system()).unwrap();
    assert!(device.extra().contains_key("client_secret"));
    debug_clean("DeviceAuthorization with credential extras", &device);

    let body = format!(r#"{{"auth_req_id":"{AUTH_REQ_ID}","expires_in":120,{echo}}}"#);
    let ciba =
        BackchannelAuthentication::from_response(&json_response(&body), Now::system()).unwrap();
    assert!(ciba.extra().contains_key("client_secret"));
    debug_clean("BackchannelAuthentication with credential extras", &ciba);

    let body = format!(r#"{{"active":true,"scope":"read",{echo}}}"#);
    let introspection = Introspection::from_response(&json_response(&body), Now::system()).unwrap();
    assert!(introspection.extra().contains_key("client_secret"));
    debug_clean("Introspection with credential extras", &introspection);

    let body = format!(r#"{{"sub":"alice",{echo}}}"#);
    let mut driver = Driver::new().reply_json(200, &body);
    let access = AccessToken::new(ACCESS_TOKEN);
    let userinfo = driver
        .run(grantline::oidc::UserinfoFlow::new(&client(), &access).unwrap())
        .unwrap();
    assert!(userinfo.get("client_secret").is_some());
    debug_clean("Userinfo with credential extras", &userinfo);

    let body = format!(
        r#"{{"request_uri":"urn:ietf:params:oauth:request_uri:x","expires_in":60,{echo}}}"#
    );
    let mut driver = Driver::new().reply_json(201, &body);
    let (push, _pending) = client()
        .authorization_request()
        .state(STATE)
        .into_pushed()
        .unwrap();
    let pushed = driver.run(push).unwrap();
    debug_clean("PushedAuthorization", &pushed);
}

// ---------------------------------------------------------------------------------------------
// A request object on its own (JAR), and a flow in the driver's Run.

#[test]
fn request_object_and_run() {
    use grantline::jose::{Algorithm, RequestObject, SigningKey};
    let object = RequestObject::new("app-7", "https://as.example")
        .param("state", STATE)
        .param("nonce", NONCE)
        .param("login_hint_token", LOGIN_HINT_TOKEN);
    let key = SigningKey::hmac(Algorithm::HS256, HMAC_KEY.as_bytes()).unwrap();
    let jwt = object
        .sign(&key, Now::system().wall(), &grantline::random::SystemRandom)
        .unwrap();
    let payload = grantline::jose::UnverifiedJws::parse(&jwt).unwrap();
    assert!(String::from_utf8_lossy(payload.unverified_payload()).contains(NONCE));
    debug_clean("RequestObject", &object);

    let flow = client()
        .request_token(TokenRequest::password("alice", PASSWORD))
        .unwrap();
    let run = grantline::driver::Run::new(flow);
    debug_clean("Run", &run);
}

// ---------------------------------------------------------------------------------------------
// A renewal the authorizer hands out, and a form_post callback.

#[test]
fn authorizer_renewal_and_form_post_callback() {
    let expired = token_response().with_expires_at(Some(std::time::UNIX_EPOCH));
    let mut authorizer = Authorizer::new(TokenManager::refreshing(client(), expired).unwrap());
    let authorize = authorizer
        .header(&mut Attempt::new(), Now::system())
        .unwrap();
    debug_clean("Authorize::Renew", &authorize);
    let Authorize::Renew(mut renewal, _ticket) = authorize else {
        panic!("an expired token is renewed")
    };
    let sent = first_request("Renewal from the authorizer", &mut renewal);
    assert!(request_carries(&sent, REFRESH_TOKEN));
    debug_clean("Authorizer while renewing", &authorizer);

    let body = format!("code={CODE}&state={STATE}");
    let callback = grantline::authorization::Callback::form_post(body.as_bytes());
    debug_clean("Callback (form_post)", &callback);
    let (_, pending) = client()
        .authorization_request()
        .state(STATE)
        .into_redirect()
        .unwrap();
    let code = pending.validate_callback(callback).unwrap();
    let mut exchange = client().exchange_code(code).unwrap();
    assert!(request_carries(
        &first_request("CodeExchangeFlow", &mut exchange),
        CODE
    ));
}

// ---------------------------------------------------------------------------------------------
// Transport failures: a request that carries secrets to a port nobody listens on.

#[test]
fn transport_errors() {
    // Bind and drop a listener: its port is (almost surely) closed now. Whatever error comes
    // back (a transport error, or an answer should another test's server take the port), it
    // must be clean; no assertion here depends on which.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder("app-7")
        .token_endpoint(format!("http://127.0.0.1:{port}/token"))
        .client_secret_basic(CLIENT_SECRET)
        .build()
        .unwrap();
    let mut flow = client
        .request_token(TokenRequest::refresh_token(REFRESH_TOKEN))
        .unwrap();
    assert!(request_carries(
        &first_request("TokenFlow", &mut flow),
        REFRESH_TOKEN
    ));

    let flow = client
        .request_token(TokenRequest::refresh_token(REFRESH_TOKEN))
        .unwrap();
    let error = grantline_ureq::Transport::with_agent(ureq_agent())
        .run(flow)
        .unwrap_err();
    error_clean("grantline_ureq transport error", &error);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let flow = client
        .request_token(TokenRequest::refresh_token(REFRESH_TOKEN))
        .unwrap();
    let error = rt
        .block_on(grantline_reqwest::Transport::from_client(no_proxy()).run(flow))
        .unwrap_err();
    error_clean("grantline_reqwest transport error", &error);
}

// ---------------------------------------------------------------------------------------------
// Form-encoded answers, and a manager started from a refresh token alone.

#[test]
fn form_encoded_answers_and_a_refresh_token_manager() {
    let client = client();
    let form = format!(
        "error=invalid_grant&refresh_token={REFRESH_TOKEN}&code={CODE}&client_secret={CLIENT_SECRET}"
    );
    for status in [400, 502] {
        let form = form.clone();
        let mut driver = Driver::new().reply(
            http::Response::builder()
                .status(status)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.into_bytes())
                .unwrap(),
        );
        let flow = client
            .request_token(TokenRequest::refresh_token(REFRESH_TOKEN))
            .unwrap();
        let Err(error) = driver.run(flow) else {
            panic!("a form-encoded error fails the flow")
        };
        error_clean("an error from a form-encoded answer", &error);
    }

    let mut manager = TokenManager::from_refresh_token(client, REFRESH_TOKEN).unwrap();
    debug_clean("TokenManager::from_refresh_token", &manager);
    let Access::Renew(mut renewal) = manager.access(Now::system()) else {
        panic!("a manager without a token renews first")
    };
    assert!(request_carries(
        &first_request("Renewal", &mut renewal),
        REFRESH_TOKEN
    ));
}

/// The tower service whose renewal fails with an answer echoing the refresh token and the client
/// secret: the `ApiError` a call returns is clean.
#[tokio::test]
async fn tower_service_errors() {
    use bytes::Bytes;
    use http_body_util::Full;
    use tower::{Layer as _, Service as _};

    let echo = format!(
        r#"{{"error":"invalid_grant","refresh_token":"{REFRESH_TOKEN}","client_secret":"{CLIENT_SECRET}"}}"#
    );
    let inner = tower::service_fn(move |request: http::Request<Full<Bytes>>| {
        let echo = echo.clone();
        async move {
            // The renewal really carries the refresh token.
            assert_eq!(request.uri(), "https://as.example/token");
            Ok::<_, std::convert::Infallible>(
                http::Response::builder()
                    .status(400)
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(echo)))
                    .unwrap(),
            )
        }
    });
    let expired = token_response().with_expires_at(Some(std::time::UNIX_EPOCH));
    let layer =
        grantline_tower::AuthLayer::new(TokenManager::refreshing(client(), expired).unwrap());
    let mut service = layer.layer(inner);
    let request = http::Request::get("https://api.example/things")
        .header("x-api-key", API_HEADER_SECRET)
        .body(Full::new(Bytes::from(API_BODY_SECRET)))
        .unwrap();
    let error = service.call(request).await.unwrap_err();
    assert!(
        matches!(error, grantline::driver::ApiError::Auth(_)),
        "{error}"
    );
    error_clean("grantline_tower ApiError", &error);
    debug_clean("AuthService after a failed renewal", &service);
}

// ---------------------------------------------------------------------------------------------
// The fleet (issue 21): a shared token on its way to and from the store, the sealing key, the
// Redis URL's password, and the errors of a store that cannot be reached or unsealed.

#[test]
fn fleet_values_operations_steps_and_the_redis_store() {
    use grantline::fleet::{
        BlockingStore, Fence, Fleet, SharedStep, SharedValue, StoreOp, StoreReply, TokenId,
    };

    let value = SharedValue::new(serde_json::to_vec(&token_response()).unwrap());
    assert!(String::from_utf8_lossy(value.secret()).contains(ACCESS_TOKEN));
    debug_clean("SharedValue", &value);
    debug_clean("StoreReply::Fresh", &StoreReply::Fresh(value.clone()));

    // A shared renewal through its states: its Publish step holds the token.
    let client = Client::builder("svc")
        .token_endpoint("https://as.example/token")
        .client_secret_basic(CLIENT_SECRET)
        .build()
        .unwrap();
    let manager = TokenManager::grant(client, TokenRequest::client_credentials()).unwrap();
    let authorizer = Authorizer::new(manager).share(Fleet::new()).unwrap();
    debug_clean("Authorizer (shared)", &authorizer);
    let mut attempt = Attempt::new();
    let mut authorizer = authorizer;
    let Authorize::Renew(renewal, _) = authorizer.header(&mut attempt, Now::system()).unwrap()
    else {
        panic!("renews")
    };
    let mut shared = authorizer.shared_renewal(renewal, Now::system());
    let acquire = shared.next(Now::system());
    debug_clean("SharedStep::Store(Acquire)", &acquire);
    shared.handle_store(Ok(StoreReply::Acquired(Fence::new(1))), Now::system());
    let SharedStep::Renew(_) = shared.next(Now::system()) else {
        panic!("renew")
    };
    shared.handle_renewed(Ok(token_response()), Now::system());
    debug_clean("SharedRenewal (publishing)", &shared);
    let publish = shared.next(Now::system());
    let SharedStep::Store(StoreOp::Publish { value, id, .. }) = &publish else {
        panic!("publish")
    };
    assert!(String::from_utf8_lossy(value.secret()).contains(ACCESS_TOKEN));
    debug_clean("SharedStep::Store(Publish)", &publish);
    debug_clean("TokenId", id);
    assert_eq!(*id, TokenId::of(&token_response()));
    shared.handle_store(Ok(StoreReply::Published), Now::system());
    debug_clean("SharedStep::Done(Ok(token))", &shared.next(Now::system()));

    // grantline-redis: the key, the URL's password, an unreachable store's error.
    let key = grantline_redis::SealingKey::from_bytes(SEALING_KEY.as_bytes()).unwrap();
    debug_clean("SealingKey", &key);
    let url = format!("redis://:{REDIS_PASSWORD}@127.0.0.1:1/");
    let store = grantline_redis::RedisStore::open(&url)
        .unwrap()
        .sealing_key(key)
        .timeout(std::time::Duration::from_millis(100));
    debug_clean("RedisStore", &store);
    let SharedStep::Store(op) = acquire else {
        panic!("acquire")
    };
    let error = store.execute(&op).unwrap_err();
    error_clean("StoreError (unreachable)", &error);
    let bad_url = format!("redis//:{REDIS_PASSWORD}@nowhere");
    let error = grantline_redis::RedisStore::open(&bad_url).unwrap_err();
    error_clean("grantline_redis::ConfigError", &error);
}

// ---------------------------------------------------------------------------------------------
// JWT-secured authorization responses (JARM) and JWT introspection answers (RFC 9701).

#[test]
fn jarm_callback_verification_and_jwt_introspection() {
    use grantline::authorization::Callback;
    use grantline::jose::{Claims, JwkSet, JwsHeader, SigningKey};
    use grantline::token::TargetToken;

    let server = SigningKey::from_jwk(EC_JWK).unwrap().with_key_id("as-1");
    let keys = JwkSet::from(server.public_jwk().unwrap())
        .to_public_json()
        .to_string();
    let mut metadata = grantline::discovery::ServerMetadata::default();
    metadata.issuer = "https://as.example".into();
    metadata.jwks_uri = Some("https://as.example/jwks".into());
    metadata.authorization_endpoint = Some("https://as.example/authorize".into());
    metadata.token_endpoint = Some("https://as.example/token".into());
    metadata.introspection_endpoint = Some("https://as.example/introspect".into());
    for member in [
        "authorization_signing_alg_values_supported",
        "introspection_signing_alg_values_supported",
    ] {
        metadata
            .extra
            .insert(member.into(), serde_json::json!(["ES256"]));
    }
    let client = Client::from_metadata("app-7", &metadata)
        .redirect_uri("https://app.example/cb")
        .client_secret_basic(CLIENT_SECRET)
        .jarm()
        .build()
        .unwrap();
    let now = Driver::new().now();
    let sign = |claims: Claims| {
        grantline::jose::sign(&server, JwsHeader::for_signer(&server), &claims.to_json()).unwrap()
    };
    let claims = |state: &str| {
        Claims::new()
            .with("iss", "https://as.example")
            .with("aud", "app-7")
            .with_time("exp", now.wall() + std::time::Duration::from_secs(60))
            .with("code", CODE)
            .with("state", state)
    };

    // The verification flow holds the pending state and the response JWT (with the code).
    let (_url, pending) = client
        .authorization_request()
        .state(STATE)
        .nonce(NONCE)
        .into_redirect()
        .unwrap();
    let callback = format!("https://app.example/cb?response={}", sign(claims(STATE)));
    debug_clean("Callback (JARM)", &Callback::from(callback.as_str()));
    let flow = client.verify_callback(pending, callback.as_str()).unwrap();
    debug_clean("CallbackVerification", &flow);
    let code = Driver::new().reply_json(200, &keys).run(flow).unwrap();
    // The code really came out of the JWT: the exchange sends it.
    let mut exchange = client.exchange_code(code).unwrap();
    let request = first_request("CodeExchangeFlow (after JARM)", &mut exchange);
    assert!(request_carries(&request, CODE));

    // A JARM error response that echoes the code: a clean OAuth error.
    let (_url, pending) = client.authorization_request().into_redirect().unwrap();
    let echo = format!(
        "https://app.example/cb?response={}",
        sign(claims(pending.state()).with("error", "access_denied"))
    );
    let flow = client.verify_callback(pending, echo.as_str()).unwrap();
    let e = Driver::new().reply_json(200, &keys).run(flow).unwrap_err();
    assert!(matches!(e.flow_error(), Some(grantline::Error::OAuth(_))));
    error_clean("a JARM error response", e.flow_error().unwrap());

    // JWT introspection: the flow and its errors (an answer echoing the token) are clean.
    let mut flow = client
        .introspect_jwt(TargetToken::new(ACCESS_TOKEN))
        .unwrap();
    let request = first_request("IntrospectionFlow (JWT)", &mut flow);
    assert!(request_carries(&request, ACCESS_TOKEN));
    let answer = sign(
        Claims::new()
            .with("iss", "https://as.example")
            .with("aud", "another-client")
            .with("iat", 1_700_000_000)
            .with(
                "token_introspection",
                serde_json::json!({"active": true, "token": ACCESS_TOKEN}),
            ),
    );
    let response = http::Response::builder()
        .header("content-type", "application/token-introspection+jwt")
        .body(answer.into_bytes())
        .unwrap();
    let flow = client
        .introspect_jwt(TargetToken::new(ACCESS_TOKEN))
        .unwrap();
    let e = Driver::new()
        .reply(response)
        .reply_json(200, &keys)
        .run(flow)
        .unwrap_err();
    error_clean(
        "a refused JWT introspection answer",
        e.flow_error().unwrap(),
    );
}

/// Provider presets (`grantline::providers`): a preset holding a client secret, and Sign in
/// with Apple's client secret signer holding its private key.
#[test]
fn provider_presets() {
    use grantline::jose::{Algorithm, SigningKey};
    use grantline::providers;

    let preset = providers::github("app").client_secret(CLIENT_SECRET);
    let client = preset.builder(None).unwrap().build().unwrap();
    let mut flow = client
        .request_token(TokenRequest::client_credentials())
        .unwrap();
    let Ok(Step::Send(request)) = flow.next(Now::system()) else {
        panic!("a request")
    };
    assert!(request_carries(&request, CLIENT_SECRET));
    debug_clean("Preset (with a client secret)", &preset);

    let key = SigningKey::from_jwk(EC_JWK)
        .unwrap()
        .with_algorithm(Algorithm::ES256)
        .unwrap()
        .with_key_id("ABC123DEFG");
    let secret = providers::AppleClientSecret::new("DEF123GHIJ", key.clone()).unwrap();
    let text = format!("{secret:?} {secret:#?}");
    assert!(
        !text.contains(EC_D),
        "AppleClientSecret leaks the private key: {text}"
    );
    let apple = providers::apple("com.example.web", "DEF123GHIJ", key).unwrap();
    let text = format!("{apple:?} {apple:#?}");
    assert!(
        !text.contains(EC_D),
        "Preset (apple) leaks the private key: {text}"
    );
}
