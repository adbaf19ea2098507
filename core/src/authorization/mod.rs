//! The authorization code flow (RFC 6749 §4.1) with PKCE (RFC 7636), pushed authorization
//! requests (RFC 9126) and the `iss` response parameter (RFC 9207).
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
