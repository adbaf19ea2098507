//! Every flow grantline has, against the real oidc-provider (npm, OpenID Certified), through both
//! transports. Run with `tests/interop/run.sh` (it installs the server first).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod interop_common;

use grantline::ciba::{BackchannelAuthenticationRequest, UserHint};
use grantline::device::DeviceAuthorizationRequest;
use grantline::discovery::{DiscoveryFlow, ServerMetadata};
use grantline::error::{ErrorCode, ValidationError};
use grantline::grant::TokenRequest;
use grantline::token::TargetToken;
use grantline::{Client, ClientBuilder, Error, Progress, TokenType};
use grantline_tests::interop::{Browser, oidc_provider};
use interop_common::{REDIRECT, REDIRECT_PREFIX, RunError, Runner, runners};

const BASIC: (&str, &str) = ("basic-client", "basic secret:+%/~!");
const POST: (&str, &str) = ("post-client", "post-secret");

fn metadata(runner: &Runner) -> ServerMetadata {
    runner
        .run(DiscoveryFlow::openid(oidc_provider().issuer()).unwrap())
        .unwrap()
}

fn builder(runner: &Runner, client_id: &str) -> ClientBuilder {
    Client::from_metadata(client_id, &metadata(runner)).redirect_uri(REDIRECT)
}

fn basic(runner: &Runner) -> Client {
    builder(runner, BASIC.0)
        .client_secret_basic(BASIC.1)
        .build()
        .unwrap()
}

fn oauth_code(e: RunError) -> ErrorCode {
    match e {
        RunError::Flow(e) => e.oauth_code().cloned().unwrap_or_else(|| panic!("{e:?}")),
        RunError::Transport { message, .. } => panic!("transport: {message}"),
    }
}

#[test]
fn discovery_finds_every_endpoint_and_checks_the_issuer() {
    for runner in runners() {
        let metadata = metadata(&runner);
        assert_eq!(metadata.issuer, oidc_provider().issuer());
        for endpoint in [
            &metadata.authorization_endpoint,
            &metadata.token_endpoint,
            &metadata.jwks_uri,
            &metadata.device_authorization_endpoint,
            &metadata.pushed_authorization_request_endpoint,
            &metadata.backchannel_authentication_endpoint,
            &metadata.introspection_endpoint,
            &metadata.revocation_endpoint,
            &metadata.userinfo_endpoint,
            &metadata.registration_endpoint,
            &metadata.end_session_endpoint,
        ] {
            assert!(endpoint.is_some(), "{}: {metadata:?}", runner.name());
        }
        assert!(metadata.authorization_response_iss_parameter_supported);
        // The same server under another name is refused: its metadata names its real issuer.
        let renamed = oidc_provider().issuer().replace("127.0.0.1", "localhost");
        let e = runner
            .run(DiscoveryFlow::openid(&renamed).unwrap())
            .unwrap_err();
        assert!(matches!(
            e,
            RunError::Flow(Error::Validation(ValidationError::IssuerMismatch { .. }))
        ));
    }
}

#[test]
fn client_credentials_with_basic_and_post_and_a_resource() {
    for runner in runners() {
        let token = runner
            .run(
                basic(&runner)
                    .request_token(TokenRequest::client_credentials())
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(token.token_type(), &TokenType::Bearer);
        assert!(token.expires_at().is_some());

        let post = builder(&runner, POST.0)
            .client_secret_post(POST.1)
            .build()
            .unwrap();
        let token = runner
            .run(
                post.request_token(
                    TokenRequest::client_credentials()
                        .resource(oidc_provider().api_resource())
                        .scope("api:read"),
                )
                .unwrap(),
            )
            .unwrap();
        assert!(
            token.access_token().secret().starts_with("eyJ"),
            "a JWT access token for the API"
        );
        assert_eq!(token.scope().unwrap().to_string(), "api:read");

        // A wrong secret, and an unknown resource, are the server's typed errors.
        let wrong = builder(&runner, BASIC.0)
            .client_secret_basic("wrong")
            .build()
            .unwrap();
        let e = runner
            .run(
                wrong
                    .request_token(TokenRequest::client_credentials())
                    .unwrap(),
            )
            .unwrap_err();
        assert_eq!(oauth_code(e), ErrorCode::InvalidClient);
        let e = runner
            .run(
                basic(&runner)
                    .request_token(
                        TokenRequest::client_credentials().resource("https://elsewhere.test/"),
                    )
                    .unwrap(),
            )
            .unwrap_err();
        assert_eq!(oauth_code(e), ErrorCode::InvalidTarget);
    }
}

/// The authorization code flow through the browser, returning the token response.
fn code_flow(runner: &Runner, client: &Client, push: bool) -> grantline::TokenResponse {
    let request = client.authorization_request().scope("openid profile email");
    let (url, pending) = if push {
        let (flow, pending) = request.into_pushed().unwrap();
        (runner.run(flow).unwrap().url().clone(), pending)
    } else {
        request.into_redirect().unwrap()
    };
    let callback = Browser::new().oidc_provider_authorize(url.as_str(), "alice", REDIRECT_PREFIX);
    let code = pending.validate_callback(callback.as_str()).unwrap();
    runner.run(client.exchange_code(code).unwrap()).unwrap()
}

#[test]
fn authorization_code_with_pkce_then_refresh() {
    for runner in runners() {
        let client = basic(&runner);
        let token = code_flow(&runner, &client, false);
        // The exchange validated the ID token oidc-provider signed (RS256, nonce, at_hash, ...).
        assert_eq!(token.id_token_claims().unwrap().subject(), "alice");
        let refresh = token.refresh_token().unwrap().clone();
        let renewed = runner
            .run(
                client
                    .request_token(TokenRequest::refresh_token(refresh))
                    .unwrap(),
            )
            .unwrap();
        assert_ne!(renewed.access_token(), token.access_token());
    }
}

#[test]
fn a_public_client_with_pkce_and_a_pushed_request() {
    for runner in runners() {
        let public = builder(&runner, "public-client").build().unwrap();
        let token = code_flow(&runner, &public, false);
        assert!(token.refresh_token().is_some());
        let pushed = code_flow(&runner, &basic(&runner), true);
        assert!(pushed.id_token().is_some());
    }
}

#[test]
fn a_forged_callback_is_refused_before_any_exchange() {
    for runner in runners() {
        let client = basic(&runner);
        let (url, pending) = client
            .authorization_request()
            .scope("openid")
            .into_redirect()
            .unwrap();
        let (_, other) = client.authorization_request().into_redirect().unwrap();
        let callback =
            Browser::new().oidc_provider_authorize(url.as_str(), "alice", REDIRECT_PREFIX);
        // The real callback presented to another pending request: its state does not match.
        assert!(matches!(
            other.validate_callback(callback.as_str()),
            Err(Error::Validation(ValidationError::StateMismatch))
        ));
        // The real one with its iss changed: a mix-up.
        let mixed = callback.replace("iss=http", "iss=https");
        assert!(matches!(
            pending.validate_callback(mixed.as_str()),
            Err(Error::Validation(
                ValidationError::IssuerParameterMismatch { .. }
            ))
        ));
    }
}

#[test]
fn device_flow_through_pending_to_success() {
    for runner in runners() {
        let public = builder(&runner, "public-client").build().unwrap();
        let authorization = runner
            .run_fast(
                public
                    .device_authorization(
                        DeviceAuthorizationRequest::new().scope("openid offline_access"),
                    )
                    .unwrap(),
            )
            .unwrap();
        let user_code = authorization.user_code().to_owned();
        let verification = authorization.verification_uri().to_owned();
        let mut approved = false;
        let mut statuses = Vec::new();
        let token = runner
            .run_with(
                public.device_token(authorization).unwrap(),
                &mut |progress| {
                    if let Progress::Received(status) = progress {
                        statuses.push(status.as_u16());
                        if !approved {
                            // The person enters the code after the first poll was pending.
                            Browser::new().oidc_provider_device(&verification, &user_code, "bob");
                            approved = true;
                        }
                    }
                },
            )
            .unwrap();
        assert!(token.refresh_token().is_some());
        // openid was asked for: the ID token was validated as the code exchange's is.
        assert_eq!(token.id_token_claims().unwrap().subject(), "bob");
        assert_eq!(
            statuses.first(),
            Some(&400),
            "the first poll was authorization_pending"
        );
        assert_eq!(statuses.last(), Some(&200));
    }
}

#[test]
fn ciba_poll_mode_approved_and_denied() {
    for runner in runners() {
        let client = basic(&runner);
        for approve in [true, false] {
            let hint = format!("carol-{}-{approve}", runner.name());
            let pending = runner
                .run_fast(
                    client
                        .backchannel_authentication(
                            BackchannelAuthenticationRequest::new(UserHint::LoginHint(
                                hint.clone(),
                            ))
                            .binding_message("W4SCT"),
                        )
                        .unwrap(),
                )
                .unwrap();
            let mut decided = false;
            let result = runner.run_with(client.ciba_token(pending).unwrap(), &mut |progress| {
                if matches!(progress, Progress::Received(_)) && !decided {
                    oidc_provider().decide_ciba(&hint, BASIC.0, approve);
                    decided = true;
                }
            });
            if approve {
                // Validated by the code exchange's check (CIBA Core §10.2.1): signature with the
                // server's keys, iss, aud, exp, iat, at_hash; no nonce.
                let token = result.unwrap();
                let claims = token.id_token_claims().expect("a validated ID token");
                assert_eq!(claims.subject(), hint);
                assert_eq!(claims.issuer(), oidc_provider().issuer());
                assert_eq!(claims.audience(), [BASIC.0]);
            } else {
                assert_eq!(oauth_code(result.unwrap_err()), ErrorCode::AccessDenied);
            }
        }
    }
}

#[test]
fn revocation_then_introspection_shows_inactive() {
    for runner in runners() {
        let client = basic(&runner);
        let token = runner
            .run(
                client
                    .request_token(TokenRequest::client_credentials())
                    .unwrap(),
            )
            .unwrap();
        let info = runner
            .run(
                client
                    .introspect(TargetToken::from(token.access_token()))
                    .unwrap(),
            )
            .unwrap();
        assert!(info.active());
        assert_eq!(info.client_id(), Some(BASIC.0));
        let outcome = runner
            .run(client.revoke(token.access_token()).unwrap())
            .unwrap();
        assert!(outcome.is_revoked());
        let info = runner
            .run(
                client
                    .introspect(TargetToken::from(token.access_token()))
                    .unwrap(),
            )
            .unwrap();
        assert!(!info.active());
    }
}

#[test]
fn token_exchange_trades_an_access_token() {
    for runner in runners() {
        let client = basic(&runner);
        let subject = runner
            .run(
                client
                    .request_token(TokenRequest::client_credentials())
                    .unwrap(),
            )
            .unwrap();
        let exchanged = runner
            .run(
                client
                    .request_token(TokenRequest::token_exchange(
                        subject.access_token().secret(),
                        "access_token",
                    ))
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(
            exchanged.issued_token_type(),
            Some("urn:ietf:params:oauth:token-type:access_token")
        );
        assert_ne!(exchanged.access_token(), subject.access_token());
        let e = runner
            .run(
                client
                    .request_token(TokenRequest::token_exchange("not-a-token", "access_token"))
                    .unwrap(),
            )
            .unwrap_err();
        assert_eq!(oauth_code(e), ErrorCode::InvalidGrant);
    }
}

#[test]
fn dynamic_registration_then_management() {
    use grantline::registration::{ClientMetadata, RegistrationRequest};
    for runner in runners() {
        let metadata = metadata(&runner);
        let bootstrap = Client::from_metadata("bootstrap", &metadata)
            .build()
            .unwrap();
        let requested = ClientMetadata::new()
            .client_name(format!("grantline interop {}", runner.name()))
            .redirect_uris([REDIRECT])
            .grant_types(["authorization_code", "client_credentials"])
            .response_types(["code"])
            .token_endpoint_auth_method("client_secret_basic");
        // Without the initial access token the server refuses.
        let e = runner
            .run(
                RegistrationRequest::new(requested.clone())
                    .into_flow_for(&bootstrap)
                    .unwrap(),
            )
            .unwrap_err();
        assert_eq!(oauth_code(e), ErrorCode::InvalidToken);

        let registered = runner
            .run(
                RegistrationRequest::new(requested.clone())
                    .initial_access_token("grantline-initial-access-token")
                    .into_flow_for(&bootstrap)
                    .unwrap(),
            )
            .unwrap();
        assert!(registered.client_secret().is_some());
        let read = runner.run(registered.read().unwrap()).unwrap();
        assert_eq!(read.client_id(), registered.client_id());
        let updated = runner
            .run(
                read.update(requested.client_name("renamed by grantline"))
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(
            updated.metadata().get("client_name").unwrap(),
            "renamed by grantline"
        );

        // The new client works...
        let client = updated
            .configure(Client::from_metadata(updated.client_id(), &metadata))
            .build()
            .unwrap();
        runner
            .run(
                client
                    .request_token(TokenRequest::client_credentials())
                    .unwrap(),
            )
            .unwrap();
        // ...until it is deleted.
        runner.run(updated.delete().unwrap()).unwrap();
        let e = runner
            .run(
                client
                    .request_token(TokenRequest::client_credentials())
                    .unwrap(),
            )
            .unwrap_err();
        assert_eq!(oauth_code(e), ErrorCode::InvalidClient);
    }
}

fn pkjwt_key() -> grantline::jose::SigningKey {
    let pem = include_str!("../interop/keys/client-rs256.private.pem");
    grantline::jose::SigningKey::from_pem(grantline::jose::Algorithm::RS256, pem)
        .unwrap()
        .with_key_id("grantline-client-rs256")
}

#[test]
fn client_secret_jwt_and_private_key_jwt_authenticate() {
    for runner in runners() {
        let hs = builder(&runner, "jwt-client")
            .client_secret_jwt("jwt-secret-that-is-long-enough-for-hs256-0123456789")
            .build()
            .unwrap();
        let rs = builder(&runner, "pkjwt-client")
            .private_key_jwt(pkjwt_key())
            .build()
            .unwrap();
        for client in [&hs, &rs] {
            let token = runner
                .run(
                    client
                        .request_token(TokenRequest::client_credentials())
                        .unwrap(),
                )
                .unwrap();
            assert!(token.expires_at().is_some());
            // Each request carries a fresh jti: the server refuses a replayed assertion, so a
            // second request succeeding proves it.
            runner
                .run(
                    client
                        .request_token(TokenRequest::client_credentials())
                        .unwrap(),
                )
                .unwrap();
        }
        // The same assertion signed with a key the server does not know is refused.
        let wrong = grantline::jose::SigningKey::from_pem(
            grantline::jose::Algorithm::ES256,
            include_str!("../interop/keys/client-es256.private.pem"),
        )
        .unwrap();
        let impostor = builder(&runner, "pkjwt-client")
            .private_key_jwt(wrong)
            .build()
            .unwrap();
        let e = runner
            .run(
                impostor
                    .request_token(TokenRequest::client_credentials())
                    .unwrap(),
            )
            .unwrap_err();
        assert_eq!(oauth_code(e), ErrorCode::InvalidClient);
    }
}

#[test]
fn signed_request_objects_by_value_and_pushed() {
    for runner in runners() {
        let client = builder(&runner, "pkjwt-client")
            .private_key_jwt(pkjwt_key())
            .build()
            .unwrap();
        for push in [false, true] {
            let request = client
                .authorization_request()
                .scope("openid profile")
                .request_object(pkjwt_key(), std::time::SystemTime::now());
            let (url, pending) = if push {
                let (flow, pending) = request.into_pushed().unwrap();
                (runner.run(flow).unwrap().url().clone(), pending)
            } else {
                request.into_redirect().unwrap()
            };
            assert!(
                !url.query_pairs().any(|(k, _)| k == "state"),
                "state is inside the signed object"
            );
            let callback =
                Browser::new().oidc_provider_authorize(url.as_str(), "dave", REDIRECT_PREFIX);
            let code = pending.validate_callback(callback.as_str()).unwrap();
            let token = runner.run(client.exchange_code(code).unwrap()).unwrap();
            assert_eq!(token.id_token_claims().unwrap().subject(), "dave");
        }
    }
}

#[test]
fn dpop_bound_tokens_with_the_nonce_dance() {
    use grantline::dpop::DpopKey;
    use grantline::jose::Algorithm;
    for runner in runners() {
        let client = builder(&runner, BASIC.0)
            .client_secret_basic(BASIC.1)
            .dpop(DpopKey::generate(Algorithm::ES256).unwrap())
            .build()
            .unwrap();
        // Client credentials: oidc-provider requires a nonce, so the first proof is answered
        // with use_dpop_nonce and the flow sends once more with it.
        let token = runner
            .run(
                client
                    .request_token(TokenRequest::client_credentials())
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(token.token_type(), &TokenType::DPoP);
        // The code exchange (with dpop_jkt binding the code to the key) and a refresh.
        let (url, pending) = client
            .authorization_request()
            .scope("openid")
            .dpop_jkt()
            .into_redirect()
            .unwrap();
        let callback =
            Browser::new().oidc_provider_authorize(url.as_str(), "erin", REDIRECT_PREFIX);
        let code = pending.validate_callback(callback.as_str()).unwrap();
        let token = runner.run(client.exchange_code(code).unwrap()).unwrap();
        assert_eq!(token.token_type(), &TokenType::DPoP);
        assert_eq!(token.id_token_claims().unwrap().subject(), "erin");
        let refresh = token.refresh_token().unwrap().clone();
        let renewed = runner
            .run(
                client
                    .request_token(TokenRequest::refresh_token(refresh))
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(renewed.token_type(), &TokenType::DPoP);
        // The token is bound to this key: introspection shows its thumbprint.
        let info = runner
            .run(
                client
                    .introspect(TargetToken::from(renewed.access_token()))
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(
            info.extra()["cnf"]["jkt"],
            client.dpop_key().unwrap().thumbprint()
        );
    }
}

#[test]
fn dpop_bound_tokens_at_the_userinfo_endpoint_through_both_api_clients() {
    use grantline::EndpointKind;
    use grantline::dpop::DpopKey;
    use grantline::jose::Algorithm;
    use grantline::token_manager::TokenManager;
    for runner in runners() {
        let key = DpopKey::generate(Algorithm::ES256).unwrap();
        let client = builder(&runner, BASIC.0)
            .client_secret_basic(BASIC.1)
            .dpop(key.clone())
            .build()
            .unwrap();
        let token = code_flow(&runner, &client, false);
        assert_eq!(token.token_type(), &TokenType::DPoP, "{}", runner.name());
        let userinfo = client.endpoint(EndpointKind::Userinfo).unwrap().clone();
        let path = userinfo.path().trim_start_matches('/').to_owned();
        let base = format!("{}/", userinfo.origin().ascii_serialization());
        // The same key on a client that has no nonce yet (the first client has the token
        // endpoint's, good at /me too): oidc-provider answers the first proof with 401
        // use_dpop_nonce, and the API client resends once with the nonce. Then a refresh by the
        // manager (the same key) and a call with the new token.
        let fresh = builder(&runner, BASIC.0)
            .client_secret_basic(BASIC.1)
            .dpop(key)
            .build()
            .unwrap();
        assert!(
            fresh
                .dpop_nonces()
                .unwrap()
                .get(userinfo.as_str())
                .is_none()
        );
        let manager = TokenManager::refreshing(fresh.clone(), token).unwrap();
        let subjects: Vec<String> = match &runner {
            Runner::Ureq { transport, .. } => {
                let auth = grantline_ureq::Auth::new(transport.clone(), manager);
                let api = grantline_ureq::ApiClient::new(&base)
                    .unwrap()
                    .agent(
                        ureq::Agent::config_builder()
                            .proxy(None)
                            .build()
                            .new_agent(),
                    )
                    .auth(auth.clone());
                // Without a nonce, oidc-provider refuses the proof (nothing is remembered here).
                let mut request = http::Request::get(userinfo.as_str()).body(()).unwrap();
                auth.authorize(&mut request).unwrap();
                assert!(request.headers().contains_key("dpop"));
                let refused = ureq::Agent::config_builder()
                    .proxy(None)
                    .http_status_as_error(false)
                    .build()
                    .new_agent()
                    .run(request)
                    .unwrap();
                assert_eq!(refused.status(), 401);
                let challenge = refused.headers()["www-authenticate"].to_str().unwrap();
                assert!(challenge.contains("use_dpop_nonce"), "{challenge}");
                let mut subjects = Vec::new();
                let me: serde_json::Value = api.get(path.as_str()).recv_json().unwrap();
                subjects.push(me["sub"].as_str().unwrap().to_owned());
                assert!(auth.invalidate(), "a refresh token renews it");
                let me: serde_json::Value = api.get(path.as_str()).recv_json().unwrap();
                subjects.push(me["sub"].as_str().unwrap().to_owned());
                assert_eq!(auth.token().unwrap().token_type(), &TokenType::DPoP);
                subjects
            }
            Runner::Reqwest {
                transport, runtime, ..
            } => runtime.block_on(async {
                let auth = grantline_reqwest::Auth::new(transport.clone(), manager);
                let api = grantline_reqwest::ApiClient::new(&base)
                    .unwrap()
                    .client_builder(reqwest::Client::builder().no_proxy())
                    .unwrap()
                    .auth(auth.clone());
                let mut subjects = Vec::new();
                let me: serde_json::Value = api.get(path.as_str()).recv_json().await.unwrap();
                subjects.push(me["sub"].as_str().unwrap().to_owned());
                assert!(auth.invalidate(), "a refresh token renews it");
                let me: serde_json::Value = api.get(path.as_str()).recv_json().await.unwrap();
                subjects.push(me["sub"].as_str().unwrap().to_owned());
                assert_eq!(auth.token().unwrap().token_type(), &TokenType::DPoP);
                subjects
            }),
        };
        assert_eq!(subjects, ["alice", "alice"], "{}", runner.name());
        // The resend's nonce was remembered.
        assert!(
            fresh
                .dpop_nonces()
                .unwrap()
                .get(userinfo.as_str())
                .is_some()
        );
    }
}

/// The kid of a token's JWS header.
fn kid_of(token: &grantline::TokenResponse) -> String {
    let jws = grantline::jose::UnverifiedJws::parse(token.id_token().unwrap().secret()).unwrap();
    jws.header().key_id().unwrap().to_owned()
}

#[test]
fn a_rotated_signing_key_is_fetched_between_two_logins() {
    for runner in runners() {
        // One client for both logins: its cache holds the keys of the first.
        let client = basic(&runner);
        let login = |client: &Client| {
            let (url, pending) = client
                .authorization_request()
                .scope("openid")
                .into_redirect()
                .unwrap();
            let callback =
                Browser::new().oidc_provider_authorize(url.as_str(), "dana", REDIRECT_PREFIX);
            let code = pending.validate_callback(callback.as_str()).unwrap();
            // The fast clock: the cache refetches an unknown kid at most once per 30 s.
            runner
                .run_fast(client.exchange_code(code).unwrap())
                .unwrap()
        };
        let first = login(&client);
        let new_kid = oidc_provider().rotate_keys();
        // Two real seconds are 40 on the fast clock: past the refetch cooldown.
        std::thread::sleep(std::time::Duration::from_secs(2));
        let second = login(&client);
        assert_ne!(kid_of(&first), kid_of(&second), "{}", runner.name());
        assert_eq!(kid_of(&second), new_kid);
        assert_eq!(second.id_token_claims().unwrap().subject(), "dana");
    }
}

/// The assertion's key: `../interop/keys/client-rs256.*`, which the server trusts for the JWT
/// bearer grant.
fn jwt_bearer_source(lifetime: std::time::Duration) -> grantline::jose::JwtAssertionSource {
    use grantline::jose::{JwtAssertion, JwtAssertionSource};
    JwtAssertionSource::new(
        JwtAssertion::new(
            "grantline-service",
            "service-account-1",
            oidc_provider().issuer(),
        )
        .lifetime(lifetime),
        pkjwt_key(),
    )
}

/// Asks `auth` for its header `times` times, `pause` apart; returns the assertion `jti` of each
/// token that came back (the server echoes it), or the first error's OAuth code.
fn headers_over_time(
    runner: &Runner,
    manager: grantline::token_manager::TokenManager,
    times: usize,
    pause: std::time::Duration,
) -> Result<Vec<String>, ErrorCode> {
    let jti = |token: Option<grantline::TokenResponse>| {
        token.unwrap().extra()["assertion_jti"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let code = |e: grantline::driver::AuthError| {
        e.oauth_code().cloned().unwrap_or_else(|| panic!("{e:?}"))
    };
    let mut jtis: Vec<String> = Vec::new();
    match runner {
        Runner::Ureq { transport, .. } => {
            let auth = grantline_ureq::Auth::new(transport.clone(), manager);
            for i in 0..times {
                if i > 0 {
                    std::thread::sleep(pause);
                }
                auth.header().map_err(code)?;
                jtis.push(jti(auth.token()));
            }
        }
        Runner::Reqwest {
            transport, runtime, ..
        } => runtime.block_on(async {
            let auth = grantline_reqwest::Auth::new(transport.clone(), manager);
            for i in 0..times {
                if i > 0 {
                    tokio::time::sleep(pause).await;
                }
                auth.header().await.map_err(code)?;
                jtis.push(jti(auth.token()));
            }
            Ok::<(), ErrorCode>(())
        })?,
    }
    Ok(jtis)
}

#[test]
fn a_jwt_bearer_grant_renews_across_its_assertions_expiry_through_the_token_manager() {
    use grantline::token_manager::TokenManager;
    use std::time::Duration;
    for runner in runners() {
        // Tokens that live 2 s (the server says so), assertions that live 2 s: every header
        // asked for 2.5 s after the last needs a renewal, with an assertion signed then.
        let manager = TokenManager::grant(
            basic(&runner),
            TokenRequest::jwt_bearer_from(jwt_bearer_source(Duration::from_secs(2))),
        )
        .unwrap();
        let jtis = headers_over_time(&runner, manager, 3, Duration::from_millis(2500)).unwrap();
        assert_eq!(jtis.len(), 3, "{}", runner.name());
        assert!(
            jtis[0] != jtis[1] && jtis[1] != jtis[2] && jtis[0] != jtis[2],
            "each renewal carried a fresh assertion: {jtis:?}"
        );

        // The old way, one assertion signed up front: the first token comes, the renewal is
        // refused (expired, and its jti seen before).
        let signed_once = grantline::jose::JwtAssertion::new(
            "grantline-service",
            "service-account-1",
            oidc_provider().issuer(),
        )
        .lifetime(Duration::from_secs(2))
        .sign(
            &pkjwt_key(),
            grantline::Now::system().wall(),
            &grantline::random::SystemRandom,
        )
        .unwrap();
        let manager =
            TokenManager::grant(basic(&runner), TokenRequest::jwt_bearer(signed_once)).unwrap();
        let e = headers_over_time(&runner, manager, 2, Duration::from_millis(2500)).unwrap_err();
        assert_eq!(e, ErrorCode::InvalidGrant, "{}", runner.name());
    }
}

#[test]
fn userinfo_flow_with_a_dpop_bound_token() {
    use grantline::dpop::DpopKey;
    use grantline::jose::Algorithm;
    use grantline::oidc::UserinfoFlow;
    for runner in runners() {
        let key = DpopKey::generate(Algorithm::ES256).unwrap();
        let client = builder(&runner, BASIC.0)
            .client_secret_basic(BASIC.1)
            .dpop(key.clone())
            .build()
            .unwrap();
        let token = code_flow(&runner, &client, false);
        assert_eq!(token.token_type(), &TokenType::DPoP);
        // A client with the same key (restored from storage, say) but no nonce yet: the
        // server asks for one with 401 use_dpop_nonce, and the flow sends once more with it.
        let restored =
            DpopKey::from_pkcs8_der(Algorithm::ES256, key.to_pkcs8_der().unwrap().secret())
                .unwrap();
        let fresh = builder(&runner, BASIC.0)
            .client_secret_basic(BASIC.1)
            .dpop(restored)
            .build()
            .unwrap();
        let subject = token.id_token_claims().unwrap().subject().to_owned();
        let info = runner
            .run(
                UserinfoFlow::for_token(&fresh, &token)
                    .unwrap()
                    .expect_subject(subject),
            )
            .unwrap();
        assert_eq!(info.subject(), "alice", "{}", runner.name());
        assert_eq!(info.get("email").unwrap(), "alice@grantline.test");
        // As a Bearer token it is refused: DPoP-bound.
        let e = runner
            .run(UserinfoFlow::new(&client, token.access_token()).unwrap())
            .unwrap_err();
        assert_eq!(oauth_code(e), ErrorCode::InvalidToken);
    }
}
