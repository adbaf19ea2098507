//! The authorization code flow (RFC 6749 §4.1) with PKCE (RFC 7636), pushed authorization
//! requests (RFC 9126), the `iss` response parameter (RFC 9207), JWT-secured authorization
//! responses (JARM) and the FAPI 2.0 Security Profile.
//!
//! The steps a person sits between are plain values consumed by value, so no step can be used
//! twice; the exchanges with the server are [`Flow`](crate::Flow)s:
//!
//! ```text
//! Client::authorization_request()      (the redirect URI: ClientBuilder::redirect_uri, parsed once)
//!   │ AuthorizationRequest ── redirect_uri (to override), scope, prompt, login_hint, resource, ...
//!   ├─ into_redirect() ─────────▶ (Url for the browser, PendingAuthorization)
//!   └─ into_pushed() ─▶ PushFlow ─▶ PushedAuthorization { url, request_uri } (+ PendingAuthorization)
//!                                        │
//!        the browser comes back to the redirect URI with ?code=...&state=...&iss=...
//!                                        ▼
//! PendingAuthorization::validate_callback(url | query | fragment | form body)
//!   │  state (constant time), iss, error responses, duplicates, redirect URI
//!   │
//!   │  or, for a JWT-secured response (JARM: ?response=<JWT>):
//!   │  Client::verify_callback ─▶ CallbackVerification (a Flow: the issuer's keys when needed)
//!   │     the JWT's signature, iss, aud, exp; then the same checks on the claims it carried
//!   ▼
//! AuthorizationCode ── Client::exchange_code ─▶ CodeExchangeFlow ─▶ TokenResponse
//! ```
//!
//! Security by default: PKCE `S256` on every request (`plain` and no PKCE only by a named
//! opt-in), a fresh 256-bit `state`, a `nonce` whenever `openid` is in scope, `state` compared
//! in constant time, `iss` checked whenever the issuer is known and required when the server
//! says it sends it.
//!
//! ```
//! // `testing::Driver` plays the server here; it needs grantline's `testing` feature.
//! use grantline::{Client, testing::Driver};
//!
//! let client = Client::builder("web-app")
//!     .issuer("https://as.example")
//!     .authorization_endpoint("https://as.example/authorize")
//!     .token_endpoint("https://as.example/token")
//!     .redirect_uri("http://127.0.0.1:8080/callback")
//!     .client_secret_basic("s3cr3t")
//!     .build()?;
//!
//! // 1. Send the person to the authorization endpoint.
//! let (url, pending) = client
//!     .authorization_request()
//!     .scope("profile") // with "openid", the exchange also validates the ID token
//!     .into_redirect()?;
//! assert!(url.as_str().contains("code_challenge_method=S256"));
//!
//! // (A web app stores `pending` in the session: it serializes.)
//! let stored = serde_json::to_string(&pending).unwrap();
//! let pending: grantline::authorization::PendingAuthorization = serde_json::from_str(&stored).unwrap();
//!
//! // 2. The browser comes back; here we make up the server's redirect.
//! let state = url.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
//! let callback = format!("http://127.0.0.1:8080/callback?code=c-1&state={state}&iss=https%3A%2F%2Fas.example");
//! let code = pending.validate_callback(callback.as_str())?;
//!
//! // 3. Exchange the code (once: `code` is consumed).
//! let mut driver = Driver::new().reply_json(200, r#"{"access_token":"at","token_type":"Bearer"}"#);
//! let token = driver.run(client.exchange_code(code)?).unwrap();
//! assert_eq!(token.access_token().secret(), "at");
//! # Ok::<(), grantline::Error>(())
//! ```

//! ## FAPI 2.0 and JARM
//!
//! [`ClientBuilder::fapi2`](crate::ClientBuilder::fapi2) turns on the FAPI 2.0 Security Profile:
//! only pushed requests, PKCE S256, sender-constrained tokens, `private_key_jwt` or mutual TLS
//! with the issuer as the assertion's audience, PS256/ES256/EdDSA, `iss` required. Every
//! deviation is refused with [`ConfigError::Fapi2`](crate::error::ConfigError::Fapi2) or
//! [`ValidationError::Fapi2`](crate::error::ValidationError::Fapi2) naming the
//! [`Fapi2Rule`](crate::error::Fapi2Rule). [`ClientBuilder::jarm`](crate::ClientBuilder::jarm)
//! (or a `*.jwt` [`response_mode`](AuthorizationRequest::response_mode)) asks for a signed
//! response; [`Client::verify_callback`](crate::Client::verify_callback) checks it. A plain response where a signed one was
//! asked for is [`ValidationError::UnsignedResponse`](crate::error::ValidationError::UnsignedResponse).
//!
//! ```
//! // `testing::Driver` plays the server here; it needs grantline's `testing` feature.
//! use grantline::{Client, EndpointKind, Error, dpop::DpopKey, testing::Driver};
//! use grantline::error::{ConfigError, Fapi2Rule, ValidationError};
//! use grantline::jose::{self, Algorithm, Claims, JwkSet, JwsHeader, SigningKey};
//!
//! let client_key = SigningKey::from_jwk(r#"{"kty":"OKP","crv":"Ed25519","kid":"app-1",
//!     "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
//!     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
//! let client = Client::builder("app")
//!     .issuer("https://as.example")
//!     .jwks_uri("https://as.example/jwks")
//!     .authorization_endpoint("https://as.example/authorize")
//!     .endpoint(EndpointKind::PushedAuthorization, "https://as.example/par")
//!     .token_endpoint("https://as.example/token")
//!     .redirect_uri("https://app.example/cb")
//!     .private_key_jwt(client_key)
//!     .dpop(DpopKey::generate(Algorithm::ES256)?)
//!     .fapi2()
//!     .jarm()
//!     .build()?;
//!
//! // A plain front-channel request is outside the profile.
//! let e = client.authorization_request().into_redirect().unwrap_err();
//! assert!(matches!(e, Error::Config(ConfigError::Fapi2(Fapi2Rule::PushedAuthorizationRequests))));
//!
//! // 1. Push the request (PKCE S256, the assertion's aud is the issuer, a DPoP proof).
//! let (push, pending) = client.authorization_request().scope("accounts").into_pushed()?;
//! let mut driver = Driver::new()
//!     .reply_json(201, r#"{"request_uri":"urn:example:1","expires_in":60}"#);
//! let url = driver.run(push).unwrap().url().clone();
//! assert!(url.as_str().starts_with("https://as.example/authorize?client_id=app&request_uri="));
//!
//! // 2. The browser comes back with ?response=<JWT>, signed by the server (made up here).
//! let server_key = SigningKey::from_jwk(r#"{"kty":"EC","crv":"P-256","kid":"as-1",
//!     "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
//!     "d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}"#)?;
//! let claims = Claims::new()
//!     .with("iss", "https://as.example").with("aud", "app")
//!     .with_time("exp", driver.now().wall() + std::time::Duration::from_secs(60))
//!     .with("code", "c-1").with("state", pending.state());
//! let jwt = jose::sign(&server_key, JwsHeader::for_signer(&server_key), &claims.to_json())?;
//! let keys = JwkSet::from(server_key.public_jwk().unwrap()).to_public_json().to_string();
//! let verify = client.verify_callback(pending, format!("https://app.example/cb?response={jwt}"))?;
//! let mut driver = Driver::new().reply_json(200, &keys); // the issuer's keys
//! let code = driver.run(verify).unwrap();
//!
//! // 3. A server that answers with a Bearer token is outside the profile: no token comes out.
//! driver.push_reply(http::Response::new(br#"{"access_token":"at","token_type":"Bearer"}"#.to_vec()));
//! let e = driver.run(client.exchange_code(code)?).unwrap_err();
//! assert!(matches!(e.flow_error(),
//!     Some(Error::Validation(ValidationError::Fapi2(Fapi2Rule::SenderConstrainedTokens)))));
//!
//! // A plain (unsigned) callback is refused: JARM was asked for.
//! let (_push, pending) = client.authorization_request().into_pushed()?;
//! let plain = format!("https://app.example/cb?code=c-1&state={}&iss=https%3A%2F%2Fas.example", pending.state());
//! let e = client.verify_callback(pending, plain.as_str()).unwrap_err();
//! assert!(matches!(e, Error::Validation(ValidationError::UnsignedResponse(_))));
//! # Ok::<(), grantline::Error>(())
//! ```

mod callback;
mod exchange;
#[cfg(feature = "jose")]
mod jarm;
mod pending;
mod pkce;
mod pushed;
mod redirect_uri;
mod request;

pub use callback::Callback;
pub use exchange::{AuthorizationCode, CodeExchangeFlow};
#[cfg(feature = "jose")]
pub use jarm::CallbackVerification;
pub use pending::PendingAuthorization;
pub use pkce::PkceMethod;
pub use pushed::{PushFlow, PushedAuthorization};
pub use redirect_uri::RedirectUri;
pub use request::AuthorizationRequest;

#[cfg(test)]
mod fapi2_tests;
#[cfg(test)]
mod tests;
