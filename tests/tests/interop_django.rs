//! Every flow grantline has that django-oauth-toolkit (PyPI) supports, against the real server,
//! through both transports. Run with `tests/interop/run.sh` (it installs the server first).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod interop_common;

use grantline::EndpointKind;
use grantline::device::DeviceAuthorizationRequest;
use grantline::discovery::{DiscoveryFlow, ServerMetadata};
use grantline::error::{ErrorCode, JoseError, ValidationError};
use grantline::grant::TokenRequest;
use grantline::oidc::{EndSessionRequest, IdTokenValidator, JwksCache, UserinfoFlow};
use grantline::token::TargetToken;
use grantline::{Client, ClientBuilder, Error, Progress, TokenResponse, TokenType};
use grantline_tests::interop::{Browser, DjangoApp, django};
use interop_common::{REDIRECT, REDIRECT_PREFIX, RunError, Runner, runners};

/// The RFC 8414 document: it names revocation, introspection and registration, which the
/// OpenID Connect one does not.
fn metadata(runner: &Runner) -> ServerMetadata {
    runner
        .run(DiscoveryFlow::oauth(django().issuer()).unwrap())
        .unwrap()
}

/// The OpenID Connect document.
fn openid_metadata(runner: &Runner) -> ServerMetadata {
    runner
        .run(DiscoveryFlow::openid(django().issuer()).unwrap())
        .unwrap()
}

fn builder(metadata: &ServerMetadata, app: DjangoApp) -> ClientBuilder {
    Client::from_metadata(django().client_id(app), metadata).redirect_uri(REDIRECT)
}

/// A confidential app's client with `client_secret_basic`.
fn basic(metadata: &ServerMetadata, app: DjangoApp) -> Client {
    builder(metadata, app)
        .client_secret_basic(django().client_secret(app).unwrap())
        .build()
        .unwrap()
}

/// A confidential app's client with `client_secret_post`.
fn post(metadata: &ServerMetadata, app: DjangoApp) -> Client {
    builder(metadata, app)
        .client_secret_post(django().client_secret(app).unwrap())
        .build()
        .unwrap()
}

fn person() -> (&'static str, &'static str) {
    (django().username(), django().password())
}

fn oauth_code(e: RunError) -> ErrorCode {
    match e {
        RunError::Flow(e) => e.oauth_code().cloned().unwrap_or_else(|| panic!("{e:?}")),
        RunError::Transport { message, .. } => panic!("transport: {message}"),
    }
}

#[test]
fn discovery_of_the_openid_and_the_rfc_8414_documents() {
    let issuer = django().issuer();
    for runner in runners() {
        let openid = openid_metadata(&runner);
        assert_eq!(openid.issuer, issuer);
        for endpoint in [
            &openid.authorization_endpoint,
            &openid.token_endpoint,
            &openid.jwks_uri,
            &openid.userinfo_endpoint,
            &openid.end_session_endpoint,
        ] {
            assert!(endpoint.is_some(), "{}: {openid:?}", runner.name());
        }
        // django-oauth-toolkit's OpenID document leaves these to the RFC 8414 one, and names
        // no device endpoint anywhere.
        assert!(openid.revocation_endpoint.is_none());
        assert!(openid.introspection_endpoint.is_none());
        assert!(openid.device_authorization_endpoint.is_none());
        assert!(openid.authorization_response_iss_parameter_supported);
        assert!(openid.supports_pkce_s256());

        // RFC 8414, at /.well-known/oauth-authorization-server/o (the issuer's path after the
        // well-known suffix).
        let oauth = metadata(&runner);
        assert_eq!(oauth.issuer, issuer);
        for endpoint in [
            &oauth.authorization_endpoint,
            &oauth.token_endpoint,
            &oauth.revocation_endpoint,
            &oauth.introspection_endpoint,
            &oauth.registration_endpoint,
            &oauth.jwks_uri,
        ] {
            assert!(endpoint.is_some(), "{}: {oauth:?}", runner.name());
        }
        assert!(oauth.device_authorization_endpoint.is_none());
        assert!(oauth.authorization_response_iss_parameter_supported);
        assert!(
            oauth
                .grant_types_supported
                .iter()
                .any(|g| g == "urn:ietf:params:oauth:grant-type:device_code")
        );

        // The same document at the prefixed URL some servers use, by URL with the issuer
        // expected.
        let by_url = runner
            .run(
                DiscoveryFlow::from_url(&format!(
                    "{issuer}/.well-known/oauth-authorization-server"
                ))
                .unwrap()
                .expect_issuer(issuer),
            )
            .unwrap();
        assert_eq!(by_url.revocation_endpoint, oauth.revocation_endpoint);

        // An issuer that differs by a trailing slash is another issuer: refused.
        let e = runner
            .run(DiscoveryFlow::openid(&format!("{issuer}/")).unwrap())
            .unwrap_err();
        assert!(
            matches!(
                e,
                RunError::Flow(Error::Validation(ValidationError::IssuerMismatch { .. }))
            ),
            "{}: {e:?}",
            runner.name()
        );
    }
}

#[test]
fn client_credentials_with_basic_and_post_and_a_wrong_secret() {
    for runner in runners() {
        let metadata = metadata(&runner);
        for client in [
            basic(&metadata, DjangoApp::ClientCredentials),
            post(&metadata, DjangoApp::ClientCredentials),
        ] {
            let token = runner
                .run(
                    client
                        .request_token(TokenRequest::client_credentials().scope("read"))
                        .unwrap(),
                )
                .unwrap();
            assert_eq!(token.token_type(), &TokenType::Bearer);
            assert!(token.expires_at().is_some());
            assert!(token.refresh_token().is_none());
            assert_eq!(token.scope().unwrap().to_string(), "read");
        }

        // A wrong secret, sent either way, is the server's invalid_client.
        let id = django().client_id(DjangoApp::ClientCredentials);
        for wrong in [
            Client::from_metadata(id, &metadata)
                .client_secret_basic("wrong secret:+%")
                .build()
                .unwrap(),
            Client::from_metadata(id, &metadata)
                .client_secret_post("wrong secret:+%")
                .build()
                .unwrap(),
        ] {
            let e = runner
                .run(
                    wrong
                        .request_token(TokenRequest::client_credentials())
                        .unwrap(),
                )
                .unwrap_err();
            assert_eq!(oauth_code(e), ErrorCode::InvalidClient, "{}", runner.name());
        }
    }
}

/// The authorization code flow through the browser: login, consent, callback validation
/// (state and the RFC 9207 iss) and the exchange. Returns the tokens and the nonce sent.
fn code_flow(runner: &Runner, client: &Client) -> (TokenResponse, String) {
    code_flow_in(&mut Browser::new(), runner, client)
}

/// [`code_flow`] in a given browser, which keeps the person's session.
fn code_flow_in(
    browser: &mut Browser,
    runner: &Runner,
    client: &Client,
) -> (TokenResponse, String) {
    let (url, pending) = client
        .authorization_request()
        .scope("openid profile email")
        .into_redirect()
        .unwrap();
    assert!(url.query().unwrap().contains("code_challenge_method=S256"));
    let callback = browser.django_authorize(url.as_str(), person(), true, REDIRECT_PREFIX);
    assert!(
        callback.contains("iss="),
        "django-oauth-toolkit sends iss: {callback}"
    );
    let code = pending.validate_callback(callback.as_str()).unwrap();
    let nonce = code.nonce().unwrap().to_owned();
    let token = runner.run(client.exchange_code(code).unwrap()).unwrap();
    (token, nonce)
}

#[test]
fn authorization_code_with_pkce_for_the_confidential_app_then_refresh_rotates() {
    for runner in runners() {
        let client = basic(&openid_metadata(&runner), DjangoApp::Confidential);
        let (token, _) = code_flow(&runner, &client);
        assert!(token.id_token().is_some());
        let refresh = token.refresh_token().unwrap().clone();

        let renewed = runner
            .run(
                client
                    .request_token(TokenRequest::refresh_token(refresh.clone()))
                    .unwrap(),
            )
            .unwrap();
        assert_ne!(renewed.access_token(), token.access_token());
        let rotated = renewed.refresh_token().unwrap();
        assert_ne!(
            rotated, &refresh,
            "django-oauth-toolkit rotates refresh tokens"
        );

        // The old refresh token is spent.
        let e = runner
            .run(
                client
                    .request_token(TokenRequest::refresh_token(refresh))
                    .unwrap(),
            )
            .unwrap_err();
        assert_eq!(oauth_code(e), ErrorCode::InvalidGrant, "{}", runner.name());

        // And the refresh revoked the old access token, not the new one.
        let introspector = basic(&metadata(&runner), DjangoApp::Confidential);
        for (access, active) in [
            (token.access_token(), false),
            (renewed.access_token(), true),
        ] {
            let info = runner
                .run(introspector.introspect(TargetToken::from(access)).unwrap())
                .unwrap();
            assert_eq!(info.active(), active, "{}", runner.name());
        }
    }
}

#[test]
fn authorization_code_with_pkce_for_the_public_app_then_refresh() {
    for runner in runners() {
        let public = builder(&openid_metadata(&runner), DjangoApp::Public)
            .build()
            .unwrap();
        let (token, _) = code_flow(&runner, &public);
        assert!(token.id_token().is_some());
        let renewed = runner
            .run(
                public
                    .request_token(TokenRequest::refresh_token(
                        token.refresh_token().unwrap().clone(),
                    ))
                    .unwrap(),
            )
            .unwrap();
        assert_ne!(renewed.access_token(), token.access_token());
    }
}

#[test]
fn a_forged_callback_is_refused_and_a_cancel_comes_back_without_iss() {
    for runner in runners() {
        let metadata = openid_metadata(&runner);
        let client = basic(&metadata, DjangoApp::Confidential);
        let request = || {
            client
                .authorization_request()
                .scope("openid")
                .into_redirect()
                .unwrap()
        };
        let (url, pending) = request();
        let (_, other) = request();
        let (_, stripped) = request();
        let callback =
            Browser::new().django_authorize(url.as_str(), person(), true, REDIRECT_PREFIX);

        // The real callback presented to another pending request: its state does not match.
        assert!(matches!(
            other.validate_callback(callback.as_str()),
            Err(Error::Validation(ValidationError::StateMismatch))
        ));
        // Without its iss, though the server says it always sends one (state made to match).
        let state = stripped.state().to_owned();
        let mut without_iss = url::Url::parse(&callback).unwrap();
        let kept: Vec<(String, String)> = without_iss
            .query_pairs()
            .filter(|(k, _)| k != "iss")
            .map(|(k, v)| {
                let v = if k == "state" {
                    state.clone()
                } else {
                    v.into()
                };
                (k.into_owned(), v)
            })
            .collect();
        without_iss.query_pairs_mut().clear().extend_pairs(kept);
        assert!(matches!(
            stripped.validate_callback(without_iss.as_str()),
            Err(Error::Validation(ValidationError::IssuerParameterMissing))
        ));
        // With its iss changed: a mix-up.
        let mixed = callback.replace("iss=http", "iss=https");
        assert!(matches!(
            pending.validate_callback(mixed.as_str()),
            Err(Error::Validation(
                ValidationError::IssuerParameterMismatch { .. }
            ))
        ));

        // The person cancels at the consent form. django-oauth-toolkit 3.4.1 adds iss to
        // successful responses only, though RFC 9207 §2 asks for it on error responses too and
        // its metadata says every response has it: the error is refused as a response without
        // iss (it carries no code, so nothing is lost but the reason).
        let (url, pending) = request();
        let callback =
            Browser::new().django_authorize(url.as_str(), person(), false, REDIRECT_PREFIX);
        assert!(callback.contains("error=access_denied"), "{callback}");
        assert!(!callback.contains("iss="), "{callback}");
        assert!(matches!(
            pending.validate_callback(callback.as_str()),
            Err(Error::Validation(ValidationError::IssuerParameterMissing))
        ));
        // A client that knows the issuer but not that the server always sends iss reads the
        // server's access_denied.
        let lenient = Client::builder(django().client_id(DjangoApp::Confidential))
            .authorization_endpoint(metadata.authorization_endpoint.clone().unwrap())
            .token_endpoint(metadata.token_endpoint.clone().unwrap())
            .issuer(django().issuer())
            .redirect_uri(REDIRECT)
            .build()
            .unwrap();
        let (url, pending) = lenient.authorization_request().into_redirect().unwrap();
        let callback =
            Browser::new().django_authorize(url.as_str(), person(), false, REDIRECT_PREFIX);
        let e = pending.validate_callback(callback.as_str()).unwrap_err();
        assert_eq!(e.oauth_code(), Some(&ErrorCode::AccessDenied), "{e:?}");
    }
}

#[test]
fn password_grant_then_refresh_token_revocation() {
    for runner in runners() {
        let client = basic(&metadata(&runner), DjangoApp::Password);
        let (username, password) = person();
        let token = runner
            .run(
                client
                    .request_token(TokenRequest::password(username, password).scope("read"))
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(token.scope().unwrap().to_string(), "read");
        let refresh = token.refresh_token().unwrap().clone();

        let e = runner
            .run(
                client
                    .request_token(TokenRequest::password(username, "not the password"))
                    .unwrap(),
            )
            .unwrap_err();
        assert_eq!(oauth_code(e), ErrorCode::InvalidGrant, "{}", runner.name());

        // A revoked refresh token no longer refreshes.
        let outcome = runner
            .run(client.revoke(TargetToken::from(&refresh)).unwrap())
            .unwrap();
        assert!(outcome.is_revoked());
        let e = runner
            .run(
                client
                    .request_token(TokenRequest::refresh_token(refresh))
                    .unwrap(),
            )
            .unwrap_err();
        assert_eq!(oauth_code(e), ErrorCode::InvalidGrant, "{}", runner.name());
    }
}

#[test]
fn device_flow_through_pending_to_success_and_denial() {
    let django = django();
    for runner in runners() {
        // django-oauth-toolkit's metadata names no device endpoint: set it.
        let client = builder(&metadata(&runner), DjangoApp::Device)
            .endpoint(
                EndpointKind::DeviceAuthorization,
                django.device_authorization_endpoint(),
            )
            .build()
            .unwrap();
        for accept in [true, false] {
            // On the fast clock, as the polling that follows.
            let authorization = runner
                .run_fast(
                    client
                        .device_authorization(DeviceAuthorizationRequest::new().scope("read"))
                        .unwrap(),
                )
                .unwrap();
            assert_eq!(authorization.interval().as_secs(), 5);
            let user_code = authorization.user_code().to_owned();
            let verification = authorization.verification_uri().to_owned();
            assert!(verification.starts_with(django.issuer()));
            let mut decided = false;
            let mut statuses = Vec::new();
            let result = runner.run_with(
                client.device_token(authorization).unwrap(),
                &mut |progress| {
                    if let Progress::Received(status) = progress {
                        statuses.push(status.as_u16());
                        if !decided {
                            // The person enters the code after the first poll was pending.
                            Browser::new().django_device(
                                &verification,
                                &user_code,
                                person(),
                                accept,
                            );
                            decided = true;
                        }
                    }
                },
            );
            assert_eq!(
                statuses.first(),
                Some(&400),
                "the first poll was authorization_pending"
            );
            if accept {
                let token = result.unwrap();
                assert!(token.refresh_token().is_some());
                assert_eq!(statuses.last(), Some(&200));
            } else {
                assert_eq!(oauth_code(result.unwrap_err()), ErrorCode::AccessDenied);
            }
        }
    }
}

#[test]
fn revocation_then_introspection_shows_inactive() {
    for runner in runners() {
        let metadata = metadata(&runner);
        let client = basic(&metadata, DjangoApp::ClientCredentials);
        let token = runner
            .run(
                client
                    .request_token(TokenRequest::client_credentials())
                    .unwrap(),
            )
            .unwrap();
        // Introspected by another confidential app, with client_secret_post.
        let introspector = post(&metadata, DjangoApp::Password);
        let info = runner
            .run(
                introspector
                    .introspect(TargetToken::from(token.access_token()))
                    .unwrap(),
            )
            .unwrap();
        assert!(info.active());
        assert_eq!(
            info.client_id(),
            Some(django().client_id(DjangoApp::ClientCredentials))
        );
        let outcome = runner
            .run(client.revoke(token.access_token()).unwrap())
            .unwrap();
        assert!(outcome.is_revoked());
        let info = runner
            .run(
                introspector
                    .introspect(TargetToken::from(token.access_token()))
                    .unwrap(),
            )
            .unwrap();
        assert!(!info.active());
    }
}

#[test]
fn openid_connect_id_token_and_userinfo() {
    let django = django();
    for runner in runners() {
        let client = basic(&openid_metadata(&runner), DjangoApp::Confidential);
        let (token, nonce) = code_flow(&runner, &client);

        // The ID token, verified with the keys fetched from the server's jwks_uri.
        let validator = IdTokenValidator::new(django.issuer(), client.client_id())
            .nonce(nonce.as_str())
            .access_token(token.access_token());
        let mut keys = JwksCache::for_client(&client).unwrap();
        let id_token = token.id_token().unwrap();
        let claims = runner
            .run(validator.verify(id_token, &mut keys).unwrap())
            .unwrap();
        assert_eq!(claims.issuer(), django.issuer());
        assert_eq!(
            claims.claims().string("email"),
            Some("alice@grantline.test")
        );
        // A nonce other than the one sent is refused.
        let other = IdTokenValidator::new(django.issuer(), client.client_id()).nonce("other");
        let e = runner
            .run(other.verify(id_token, &mut keys).unwrap())
            .unwrap_err();
        assert!(
            matches!(e, RunError::Flow(Error::Jose(JoseError::NonceMismatch))),
            "{e:?}"
        );

        // Userinfo with the access token, for the ID token's subject.
        let info = runner
            .run(
                UserinfoFlow::new(&client, token.access_token())
                    .unwrap()
                    .expect_subject(claims.subject()),
            )
            .unwrap();
        assert_eq!(info.subject(), claims.subject());
        assert_eq!(info.get("email").unwrap(), "alice@grantline.test");
        assert_eq!(info.get("name").unwrap(), "Alice Liddell");
        assert_eq!(info.get("preferred_username").unwrap(), django.username());
        // An answer about another subject is not used.
        let e = runner
            .run(
                UserinfoFlow::new(&client, token.access_token())
                    .unwrap()
                    .expect_subject("someone-else"),
            )
            .unwrap_err();
        assert!(
            matches!(e, RunError::Flow(Error::Jose(JoseError::SubjectMismatch))),
            "{e:?}"
        );

        // The refresh brings a new ID token for the same subject (Core §12.2).
        let renewed = runner
            .run(
                client
                    .request_token(TokenRequest::refresh_token(
                        token.refresh_token().unwrap().clone(),
                    ))
                    .unwrap(),
            )
            .unwrap();
        let for_refresh = IdTokenValidator::new(django.issuer(), client.client_id())
            .access_token(renewed.access_token())
            .for_refresh_of(&claims);
        let refreshed = runner
            .run(
                for_refresh
                    .verify(renewed.id_token().unwrap(), &mut keys)
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(refreshed.subject(), claims.subject());
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
            .grant_types(["client_credentials"])
            .token_endpoint_auth_method("client_secret_basic");

        // django-oauth-toolkit allows one grant per application.
        let e = runner
            .run(
                RegistrationRequest::new(
                    requested
                        .clone()
                        .grant_types(["client_credentials", "password"]),
                )
                .into_flow_for(&bootstrap)
                .unwrap(),
            )
            .unwrap_err();
        assert_eq!(oauth_code(e), ErrorCode::from("invalid_client_metadata"));

        // Open registration (AllowAllDCRPermission): no initial access token.
        let registered = runner
            .run(
                RegistrationRequest::new(requested.clone())
                    .into_flow_for(&bootstrap)
                    .unwrap(),
            )
            .unwrap();
        assert!(registered.client_secret().is_some());
        assert!(registered.registration_access_token().is_some());
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

#[test]
fn rp_initiated_logout_ends_the_session_and_its_tokens() {
    const LOGGED_OUT: &str = "http://127.0.0.1:9/logged-out";
    for runner in runners() {
        let client = basic(&openid_metadata(&runner), DjangoApp::Confidential);
        let mut browser = Browser::new();
        let (token, _) = code_flow_in(&mut browser, &runner, &client);

        let url = EndSessionRequest::for_client(&client)
            .unwrap()
            .id_token_hint(token.id_token().unwrap())
            .post_logout_redirect_uri(LOGGED_OUT)
            .state("see-you")
            .build()
            .unwrap();
        let back = browser.django_logout(url.as_str(), LOGGED_OUT);
        let back = url::Url::parse(&back).unwrap();
        assert_eq!(
            back.query_pairs().find(|(k, _)| k == "state").unwrap().1,
            "see-you"
        );

        // The session is over: a new authorization asks the person to log in again.
        let (url, _) = client
            .authorization_request()
            .scope("openid")
            .into_redirect()
            .unwrap();
        let page = browser.get(url.as_str());
        assert!(
            page.location
                .as_deref()
                .unwrap_or_default()
                .contains("/accounts/login/"),
            "{page:?}"
        );
        // And the tokens of the session are gone.
        let introspector = basic(&metadata(&runner), DjangoApp::Password);
        let info = runner
            .run(
                introspector
                    .introspect(TargetToken::from(token.access_token()))
                    .unwrap(),
            )
            .unwrap();
        assert!(!info.active());
    }
}
