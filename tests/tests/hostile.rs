//! Hostile servers: for each lie, grantline answers with the right typed error and nothing
//! else: no panic, no token, and no secret in any error's text. Every case runs through both
//! transports.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod interop_common;

use std::time::Duration;

use grantline::device::DeviceAuthorizationRequest;
use grantline::discovery::{DiscoveryFlow, ServerMetadata};
use grantline::error::{ErrorCode, Expired, ValidationError};
use grantline::grant::TokenRequest;
use grantline::{Client, Error, TokenType};
use grantline_tests::hostile::{HostileServer, Lie};
use interop_common::{RunError, Runner, runners};

/// Secrets that must never show in an error: the client secret, the access token the lying
/// server hands out, and (below) the PKCE verifier and state.
const CLIENT_SECRET: &str = "CANARY-CLIENT-SECRET";
const ACCESS_TOKEN: &str = "CANARY-ACCESS-TOKEN";

fn client(server: &HostileServer) -> Client {
    Client::builder("hostile-client")
        .token_endpoint(server.url("/token"))
        .device_authorization_endpoint(server.url("/device"))
        .client_secret_basic(CLIENT_SECRET)
        .build()
        .unwrap()
}

fn assert_no_secret(error: &RunError, extra: &[&str]) {
    let text = error.all_text();
    for secret in [CLIENT_SECRET, ACCESS_TOKEN].iter().chain(extra) {
        assert!(
            !text.contains(secret),
            "a secret leaked into the error: {text}"
        );
    }
}

/// Runs a client-credentials request against a server that tells `lie`, through `runner`.
fn token_lie(runner: &Runner, lie: Lie, request: TokenRequest) -> RunError {
    let server = HostileServer::always(lie);
    let error = runner
        .run(client(&server).request_token(request).unwrap())
        .expect_err("a lie is never a token");
    assert_no_secret(&error, &[]);
    error
}

fn flow_error(error: RunError) -> Error {
    match error {
        RunError::Flow(e) => e,
        RunError::Transport { message, .. } => panic!("expected a flow error, got {message}"),
    }
}

fn invalid_field(error: RunError) -> &'static str {
    match flow_error(error) {
        Error::InvalidResponse(e) => e.field,
        other => panic!("expected an invalid response, got {other:?}"),
    }
}

#[test]
fn token_responses_that_lie_are_typed_errors() {
    let cc = TokenRequest::client_credentials;
    for runner in runners() {
        let name = runner.name();
        // A 200 whose body is an error.
        let e = token_lie(
            &runner,
            Lie::json(200, r#"{"error":"invalid_grant"}"#),
            cc(),
        );
        assert_eq!(
            flow_error(e).oauth_code(),
            Some(&ErrorCode::InvalidGrant),
            "{name}"
        );
        // No access token, or one of the wrong type.
        let e = token_lie(&runner, Lie::json(200, r#"{"token_type":"Bearer"}"#), cc());
        assert_eq!(invalid_field(e), "access_token");
        let e = token_lie(&runner, Lie::json(200, r#"{"access_token":42}"#), cc());
        assert_eq!(invalid_field(e), "access_token");
        // A token type the application did not ask for.
        let body = format!(r#"{{"access_token":"{ACCESS_TOKEN}","token_type":"mac"}}"#);
        let e = token_lie(
            &runner,
            Lie::json(200, &body),
            cc().expect_token_type(TokenType::Bearer),
        );
        assert_eq!(invalid_field(e), "token_type");
        // Negative, non-numeric or ill-typed lifetimes and fields.
        for expires_in in ["-1", "\"soon\"", "[3600]", "{}", "\"1e999x\""] {
            let body = format!(r#"{{"access_token":"{ACCESS_TOKEN}","expires_in":{expires_in}}}"#);
            let e = token_lie(&runner, Lie::json(200, &body), cc());
            assert_eq!(invalid_field(e), "expires_in", "{name}: {expires_in}");
        }
        let body = format!(r#"{{"access_token":"{ACCESS_TOKEN}","refresh_token":{{"a":1}}}}"#);
        let e = token_lie(&runner, Lie::json(200, &body), cc());
        assert_eq!(invalid_field(e), "refresh_token");
        // Deeply nested JSON, invalid UTF-8, an array: not an OAuth answer at all.
        let nested = "[".repeat(100_000);
        let bad_utf8 = vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}'];
        let array = format!(r#"[{{"access_token":"{ACCESS_TOKEN}"}}]"#);
        for lie in [
            Lie::json(200, &nested),
            Lie::bytes(200, "application/json", bad_utf8),
            Lie::json(200, &array),
            Lie::bytes(200, "text/html", b"<html>maintenance</html>".to_vec()),
        ] {
            let e = token_lie(&runner, lie, cc());
            assert!(
                matches!(flow_error(e), Error::UnexpectedResponse(_)),
                "{name}"
            );
        }
    }
}

#[test]
fn a_huge_lifetime_is_capped_not_an_overflow() {
    for runner in runners() {
        let body = format!(r#"{{"access_token":"{ACCESS_TOKEN}","expires_in":1e300}}"#);
        let server = HostileServer::always(Lie::json(200, &body));
        let token = runner
            .run(
                client(&server)
                    .request_token(TokenRequest::client_credentials())
                    .unwrap(),
            )
            .unwrap();
        let left = token.expires_in(std::time::SystemTime::now()).unwrap();
        assert!(left > Duration::from_secs(50 * 365 * 24 * 3600));
        assert!(left <= Duration::from_secs(100 * 365 * 24 * 3600));
    }
}

#[test]
fn huge_and_endless_bodies_are_cut_off() {
    for runner in runners() {
        let ten_mb = vec![b' '; 10 << 20];
        for lie in [
            Lie::bytes(200, "application/json", ten_mb.clone()),
            Lie::NeverEnding,
        ] {
            let error = token_lie(&runner, lie, TokenRequest::client_credentials());
            assert!(
                matches!(
                    error,
                    RunError::Transport {
                        too_large: true,
                        ..
                    }
                ),
                "{}: {error:?}",
                runner.name()
            );
        }
    }
}

#[test]
fn a_redirect_from_the_token_endpoint_is_not_followed_and_the_secret_stays_home() {
    for runner in runners() {
        let elsewhere = HostileServer::always(Lie::json(
            200,
            &format!(r#"{{"access_token":"{ACCESS_TOKEN}"}}"#),
        ));
        for status in [301, 302, 303, 307, 308] {
            let target = elsewhere.url("/token");
            let server = HostileServer::always(Lie::redirect(status, &target));
            let e = runner
                .run(
                    client(&server)
                        .request_token(TokenRequest::client_credentials())
                        .unwrap(),
                )
                .unwrap_err();
            assert_no_secret(&e, &[]);
            let Error::UnexpectedResponse(e) = flow_error(e) else {
                panic!()
            };
            assert_eq!(e.status, status);
        }
        assert!(
            elsewhere.received().is_empty(),
            "nothing reached the other host"
        );
    }
}

#[test]
fn metadata_naming_another_issuer_is_refused() {
    for runner in runners() {
        let server = HostileServer::always(Lie::json(
            200,
            r#"{"issuer":"https://evil.example","token_endpoint":"https://evil.example/token"}"#,
        ));
        let issuer = server.url("");
        let e = runner
            .run(DiscoveryFlow::openid(&issuer).unwrap())
            .unwrap_err();
        assert!(matches!(
            flow_error(e),
            Error::Validation(ValidationError::IssuerMismatch { .. })
        ));
    }
}

/// A server whose authorization endpoint redirects back with `query` appended to the redirect
/// URI, and whose metadata says whether it always sends `iss`.
fn lying_authorization(query: &'static str, iss_supported: bool) -> (HostileServer, Client) {
    let server = HostileServer::start(move |request| {
        if request.target.starts_with("/authorize") {
            Lie::redirect(302, &format!("http://127.0.0.1:9/cb?{query}"))
        } else {
            Lie::json(404, "{}")
        }
    });
    let mut metadata = ServerMetadata::default();
    metadata.issuer = server.url("");
    metadata.authorization_endpoint = Some(server.url("/authorize"));
    metadata.token_endpoint = Some(server.url("/token"));
    metadata.authorization_response_iss_parameter_supported = iss_supported;
    let client = Client::from_metadata("c", &metadata)
        .client_secret_basic(CLIENT_SECRET)
        .redirect_uri("http://127.0.0.1:9/cb")
        .build()
        .unwrap();
    (server, client)
}

/// A lying callback query, whether the server says it always sends `iss`, and the check on
/// the error.
type Case = (&'static str, bool, fn(&Error) -> bool);

#[test]
fn callbacks_that_lie_are_refused() {
    let cases: [Case; 6] = [
        ("code=c&state=forged", false, |e| {
            matches!(e, Error::Validation(ValidationError::StateMismatch))
        }),
        ("code=c", false, |e| {
            matches!(e, Error::Validation(ValidationError::StateMissing))
        }),
        (
            "code=c&state=STATE&iss=https%3A%2F%2Fevil.example",
            false,
            |e| {
                matches!(
                    e,
                    Error::Validation(ValidationError::IssuerParameterMismatch { .. })
                )
            },
        ),
        ("code=c&state=STATE", true, |e| {
            matches!(
                e,
                Error::Validation(ValidationError::IssuerParameterMissing)
            )
        }),
        (
            "code=c&state=STATE&iss=ISS&iss=ISS",
            false,
            |e| matches!(e, Error::Validation(ValidationError::DuplicateParameter(n)) if n == "iss"),
        ),
        (
            "error=access_denied&error_description=%1B%5B31mFAKE%0D%0ASet-Cookie%3A+x%3D1&state=STATE",
            false,
            |e| {
                let shown = e.to_string();
                e.oauth_code() == Some(&ErrorCode::AccessDenied)
                    && !shown.contains('\u{1b}')
                    && !shown.contains('\r')
                    && !shown.contains('\n')
            },
        ),
    ];
    for runner in runners() {
        for (query, iss_supported, check) in cases {
            let (server, client) = lying_authorization(query, iss_supported);
            let (url, pending) = client
                .authorization_request()
                .state("STATE")
                .into_redirect()
                .unwrap();
            let location = execute_get(&runner, url.as_str());
            let location = location.replace(
                "ISS",
                &server.url("").replace(':', "%3A").replace('/', "%2F"),
            );
            let verifier_free = format!("{pending:?}");
            let e = pending.validate_callback(location.as_str()).unwrap_err();
            assert!(check(&e), "{}: {query}: {e:?}", runner.name());
            let text = format!("{e} / {e:?}");
            assert!(!text.contains(CLIENT_SECRET));
            assert!(
                !verifier_free.contains("STATE"),
                "Debug of the pending request hides the state"
            );
        }
    }
}

/// The browser's step: GET the authorization URL, return where it redirects.
fn execute_get(runner: &Runner, url: &str) -> String {
    let request = http::Request::get(url).body(Vec::new()).unwrap();
    let response = match runner {
        Runner::Ureq { transport, .. } => transport.execute(request).unwrap(),
        Runner::Reqwest {
            transport, runtime, ..
        } => runtime.block_on(transport.execute(request)).unwrap(),
    };
    response.headers()["location"].to_str().unwrap().to_owned()
}

#[test]
fn device_polling_lies_never_make_it_hammer() {
    for runner in runners() {
        // slow_down forever: every poll waits 5 s more, until the code expires.
        let server = HostileServer::start(|request| {
            if request.target == "/device" {
                Lie::json(
                    200,
                    r#"{"device_code":"d","user_code":"U","verification_uri":"https://x/","expires_in":40,"interval":0}"#,
                )
            } else {
                Lie::json(400, r#"{"error":"slow_down"}"#)
            }
        });
        let device_client = client(&server);
        let authorization = runner
            .run_fast(
                device_client
                    .device_authorization(DeviceAuthorizationRequest::new())
                    .unwrap(),
            )
            .unwrap();
        // An interval of 0 counts as the default 5 s.
        assert_eq!(authorization.interval(), Duration::from_secs(5));
        let e = runner
            .run_with(
                device_client.device_token(authorization).unwrap(),
                &mut |_| {},
            )
            .unwrap_err();
        assert!(matches!(flow_error(e), Error::Expired(Expired::DeviceCode)));
        // Polls at 5, 5 + 10 and 5 + 10 + 15 = 30 s; the next would be at 50 s, past the 40 s
        // expiry: three polls, never more.
        let polls = server
            .received()
            .iter()
            .filter(|r| r.target == "/token")
            .count();
        let times: Vec<_> = server.received().iter().map(|r| r.at).collect();
        let gaps: Vec<_> = times.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(polls, 3, "{}: {gaps:?}", runner.name());

        // A code that expired before it arrived: no poll at all.
        let server = HostileServer::start(|request| {
            if request.target == "/device" {
                Lie::json(
                    200,
                    r#"{"device_code":"d","user_code":"U","verification_uri":"https://x/","expires_in":0}"#,
                )
            } else {
                Lie::json(200, r#"{"access_token":"should-never-be-asked"}"#)
            }
        });
        let device_client = client(&server);
        let authorization = runner
            .run_fast(
                device_client
                    .device_authorization(DeviceAuthorizationRequest::new())
                    .unwrap(),
            )
            .unwrap();
        let e = runner
            .run(device_client.device_token(authorization).unwrap())
            .unwrap_err();
        assert!(matches!(flow_error(e), Error::Expired(Expired::DeviceCode)));
        assert!(server.received().iter().all(|r| r.target != "/token"));
    }
}

#[test]
fn no_secret_reaches_debug_of_what_the_library_hands_out() {
    let server = HostileServer::always(Lie::json(404, "{}"));
    let client = Client::builder("c")
        .issuer(server.url(""))
        .authorization_endpoint(server.url("/authorize"))
        .token_endpoint(server.url("/token"))
        .jwks_uri(server.url("/jwks"))
        .client_secret_post(CLIENT_SECRET)
        .redirect_uri("http://127.0.0.1:9/cb")
        .build()
        .unwrap();
    let (_, pending) = client
        .authorization_request()
        .scope("openid")
        .into_redirect()
        .unwrap();
    let state = pending.state().to_owned();
    let nonce = pending.nonce().unwrap().to_owned();
    let shown = format!("{client:?} {pending:?}");
    let flow = client
        .request_token(TokenRequest::password("alice", "CANARY-PASSWORD").param("x", "y"))
        .unwrap();
    let shown = format!("{shown} {flow:?}");
    for secret in [
        CLIENT_SECRET,
        "CANARY-PASSWORD",
        state.as_str(),
        nonce.as_str(),
    ] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

/// An issuer whose CIBA and device answers carry ID tokens it did not sign (or signed for
/// someone else): the flow that polls for them refuses each one with the validation's typed
/// error, after fetching the real keys once.
#[test]
fn ciba_and_device_answers_carrying_forged_id_tokens_are_refused() {
    use grantline::ciba::{BackchannelAuthenticationRequest, UserHint};
    use grantline::error::JoseError;
    use grantline::jose::{self, Claims, JwkSet, JwsHeader, SigningKey};

    const ISSUER: &str = "https://as.hostile.test";
    // The issuer's key (RFC 8037 §A.1) and a forger's, under the same kid.
    let issuer_key = SigningKey::from_jwk(
        r#"{"kty":"OKP","crv":"Ed25519","kid":"k1",
        "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
        "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
    )
    .unwrap();
    let forger_key = SigningKey::from_jwk(
        r#"{"kty":"OKP","crv":"Ed25519","kid":"k1",
        "d":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
        "x":"A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg"}"#,
    )
    .unwrap();
    let jwks = JwkSet::from(issuer_key.public_jwk().unwrap())
        .to_public_json()
        .to_string();
    let now = grantline::Now::system().wall();
    let claims = |aud: &str| {
        Claims::new()
            .with("iss", ISSUER)
            .with("sub", "alice")
            .with("aud", aud)
            .with_time("iat", now)
            .with_time("exp", now + Duration::from_secs(3600))
            .to_json()
    };
    let sign = |key: &SigningKey, aud: &str| {
        jose::sign(key, JwsHeader::for_signer(key), &claims(aud)).unwrap()
    };
    let unsigned = {
        use base64::Engine as _;
        let b64 = |s: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(
            "{}.{}.",
            b64(br#"{"alg":"none"}"#),
            b64(&claims("hostile-client"))
        )
    };
    type Check = fn(&Error) -> bool;
    let cases: Vec<(String, Check)> = vec![
        (sign(&forger_key, "hostile-client"), |e| {
            matches!(e, Error::Jose(JoseError::InvalidSignature))
        }),
        (sign(&issuer_key, "another-client"), |e| {
            matches!(e, Error::Jose(JoseError::AudienceMismatch))
        }),
        (unsigned, |e| matches!(e, Error::Jose(JoseError::Unsecured))),
    ];
    for runner in runners() {
        for (id_token, check) in &cases {
            let token = format!(
                r#"{{"access_token":"{ACCESS_TOKEN}","token_type":"Bearer","id_token":"{id_token}"}}"#
            );
            let jwks = jwks.clone();
            let server = HostileServer::start(move |request| match request.target.as_str() {
                "/bc" => Lie::json(200, r#"{"auth_req_id":"r-1","expires_in":60,"interval":1}"#),
                "/device" => Lie::json(
                    200,
                    r#"{"device_code":"d","user_code":"U","verification_uri":"https://x/","expires_in":60,"interval":1}"#,
                ),
                "/jwks" => Lie::json(200, &jwks),
                _ => Lie::json(200, &token),
            });
            let mut metadata = ServerMetadata::default();
            metadata.issuer = ISSUER.to_owned();
            metadata.token_endpoint = Some(server.url("/token"));
            metadata.backchannel_authentication_endpoint = Some(server.url("/bc"));
            metadata.device_authorization_endpoint = Some(server.url("/device"));
            metadata.jwks_uri = Some(server.url("/jwks"));
            metadata.id_token_signing_alg_values_supported = vec!["EdDSA".to_owned()];
            let client = Client::from_metadata("hostile-client", &metadata)
                .client_secret_basic(CLIENT_SECRET)
                .build()
                .unwrap();

            let pending = runner
                .run_fast(
                    client
                        .backchannel_authentication(BackchannelAuthenticationRequest::new(
                            UserHint::LoginHint("alice".into()),
                        ))
                        .unwrap(),
                )
                .unwrap();
            let e = runner
                .run_fast(client.ciba_token(pending).unwrap())
                .expect_err("a forged ID token is never a token");
            assert_no_secret(&e, &[id_token.as_str()]);
            let e = flow_error(e);
            assert!(check(&e), "CIBA, {}: {e:?}", runner.name());

            let authorization = runner
                .run_fast(
                    client
                        .device_authorization(DeviceAuthorizationRequest::new().scope("openid"))
                        .unwrap(),
                )
                .unwrap();
            let e = runner
                .run_fast(client.device_token(authorization).unwrap())
                .expect_err("a forged ID token is never a token");
            assert_no_secret(&e, &[id_token.as_str()]);
            let e = flow_error(e);
            assert!(check(&e), "device, {}: {e:?}", runner.name());
            // The real keys were fetched, once per client.
            let fetches = server
                .received()
                .iter()
                .filter(|r| r.target == "/jwks")
                .count();
            assert!(fetches <= 1, "{fetches} key set fetches");
        }
    }
}
