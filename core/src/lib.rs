//! # grantline: a sans-IO OAuth 2.x and OpenID Connect client
//!
//! grantline builds [`http::Request`] values and turns [`http::Response`] values into tokens,
//! validated results and typed errors. It does **no I/O, reads no clocks, sleeps never and
//! spawns no threads: time and randomness are inputs.** Run it with the blocking
//! [`grantline-ureq`] transport, the async [`grantline-reqwest`] transport, the
//! [`grantline-tower`] layer, or any HTTP stack of your own (hyper, a WASM fetch, an embedded
//! client, a test double).
//!
//! ## Start here: pick your path
//!
//! | You are writing | Use | Runnable example (a local server included) |
//! |---|---|---|
//! | **A service** calling an API with its own credentials (client credentials, JWT bearer, token exchange) | [`grantline-reqwest`] (async) or [`grantline-ureq`] (blocking): `Auth` keeps the token fresh for every caller, `ApiClient` calls the API with it | [`api_client_reqwest.rs`], [`api_client_ureq.rs`] |
//! | **A CLI or desktop app** logging a person in | the authorization code flow with PKCE and a loopback redirect ([`authorization`]), or the device flow ([`device`]) when there is no browser, on either transport | [`authorization_code_ureq.rs`], [`authorization_code_reqwest.rs`], [`device_flow_ureq.rs`], [`device_flow_reqwest.rs`]; or the `grantline` command itself |
//! | **Your own HTTP stack** (hyper, tower, WASM, embedded) | this crate alone: step a [`Flow`] (below), or drive it with [`driver::Run`] and authorize requests with the [`authorizer`]; for a tower client, [`grantline-tower`] | [`hyper_client.rs`] |
//!
//! Each example runs with `cargo run -p <crate> --example <name>` from a clone of the
//! repository, against a local authorization server it starts itself; the authorization code
//! and device flow examples take your own server's details as arguments instead. Examples in this crate's module docs play the server
//! with `grantline::testing::Driver`, which needs the `testing` feature
//! (`grantline = { version = "0.1", features = ["testing"] }` under `[dev-dependencies]`).
//!
//! [`grantline-reqwest`]: https://docs.rs/grantline-reqwest
//! [`grantline-ureq`]: https://docs.rs/grantline-ureq
//! [`grantline-tower`]: https://docs.rs/grantline-tower
//! [`api_client_reqwest.rs`]: https://github.com/grantline/grantline/blob/main/tests/examples/api_client_reqwest.rs
//! [`api_client_ureq.rs`]: https://github.com/grantline/grantline/blob/main/tests/examples/api_client_ureq.rs
//! [`authorization_code_ureq.rs`]: https://github.com/grantline/grantline/blob/main/transport-ureq/examples/authorization_code_ureq.rs
//! [`authorization_code_reqwest.rs`]: https://github.com/grantline/grantline/blob/main/transport-reqwest/examples/authorization_code_reqwest.rs
//! [`device_flow_ureq.rs`]: https://github.com/grantline/grantline/blob/main/tests/examples/device_flow_ureq.rs
//! [`device_flow_reqwest.rs`]: https://github.com/grantline/grantline/blob/main/tests/examples/device_flow_reqwest.rs
//! [`hyper_client.rs`]: https://github.com/grantline/grantline/blob/main/transport-tower/examples/hyper_client.rs
//!
//! ## In scope
//! - The protocol: request building, response parsing and validation, client authentication,
//!   state machines for every exchange ([`Flow`]).
//! - The authorization code flow with PKCE, PAR, signed request objects and RFC 9207 `iss`
//!   ([`authorization`]), with ID-token validation ([`oidc`]) and discovery ([`discovery`]);
//!   JWT-secured authorization responses (JARM) and the FAPI 2.0 Security Profile, enforced by
//!   one line on the [`ClientBuilder`] (`fapi2`, with the `jose` feature).
//! - Token endpoint grants ([`grant`]): client credentials, refresh token, password, token
//!   exchange (RFC 8693), JWT bearer (RFC 7523), custom grants.
//! - The resource side: keeping a token fresh for many callers ([`token_manager`]) and attaching
//!   it to API requests as Bearer or DPoP, with resend-once after a refusal ([`authorizer`]).
//! - Revocation ([`revocation`], RFC 7009) and introspection ([`introspection`], RFC 7662),
//!   with signed JWT answers verified (RFC 9701).
//! - The device authorization grant ([`device`], RFC 8628) and CIBA poll mode ([`ciba`]), on
//!   one polling engine that obeys `slow_down`, `Retry-After` and expiry ([`flow`]).
//! - Presets for the providers people meet first ([`providers`]): GitHub, Google, Entra ID,
//!   Auth0, Okta, Keycloak, Amazon Cognito and Sign in with Apple, each quirk a visible setting.
//!
//! ## Out of scope
//! - Sockets, TLS, proxies, timeouts, connection pools: the transport's (and so yours).
//! - Sleeping: a flow says [`Step::Wait`]; the driver sleeps.
//! - Reading clocks: every function that needs the time takes a [`Now`]. The one place that
//!   reads the system clocks is [`Now::system`], which the core never calls itself. The
//!   [`clock`] module explains why a `Now` carries both a monotonic and a wall-clock reading.
//!
//! ## End to end, with a hand-written driver
//!
//! ```
//! use grantline::{Client, Flow, Now, Step, grant::TokenRequest};
//!
//! let client = Client::builder("my-service")
//!     .token_endpoint("https://as.example/oauth2/token")
//!     .client_secret_basic("s3cr3t")
//!     .build()?;
//! let mut flow = client.request_token(TokenRequest::client_credentials().scope("read"))?;
//!
//! // Your HTTP stack: here, a canned answer.
//! let send = |request: http::Request<Vec<u8>>| {
//!     assert!(request.headers().contains_key("authorization"));
//!     http::Response::builder()
//!         .status(200)
//!         .header("content-type", "application/json")
//!         .body(br#"{"access_token":"at","token_type":"Bearer","expires_in":3600}"#.to_vec())
//! };
//!
//! let token = loop {
//!     match flow.next(Now::system())? {
//!         Step::Send(request) => flow.handle_response(send(request).unwrap(), Now::system())?,
//!         Step::Wait(duration) => your_sleep(duration),
//!         Step::Done(token) => break token,
//!     }
//! };
//! assert_eq!(token.access_token().secret(), "at");
//! # fn your_sleep(_: std::time::Duration) {}
//! # Ok::<(), grantline::Error>(())
//! ```
//!
//! ## Security defaults
//! - Endpoints must be `https`, except on loopback addresses, unless the client opts in with
//!   [`ClientBuilder::insecure_http`].
//! - Secrets (client secrets, tokens, passwords, assertions) are [`secret`] newtypes whose
//!   `Debug` is redacted; request bodies never appear in `Debug` of a [`Step`].
//! - Error messages escape and bound every piece of text the server sent.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

pub mod api;
pub mod assertion;
pub mod authorization;
pub mod authorizer;
pub mod ciba;
pub mod client_auth;
pub mod clock;
pub mod device;
pub mod discovery;
#[cfg(feature = "jose")]
pub mod dpop;
pub mod driver;
pub mod error;
pub mod fleet;
pub mod flow;
pub mod grant;
pub mod introspection;
#[cfg(feature = "jose")]
pub mod jose;
pub mod oidc;
pub mod providers;
pub mod random;
pub mod registration;
pub mod revocation;
pub mod secret;
pub mod token;
pub mod token_manager;
pub mod www_authenticate;

mod client;
mod endpoint;
mod response;
mod scope;
mod trace;

#[cfg(feature = "testing")]
pub mod testing;

pub use client::{Client, ClientBuilder};
pub use clock::Now;
pub use endpoint::EndpointKind;
pub use error::Error;
pub use flow::{Flow, Progress, Recovery, Step};
pub use http;
pub use scope::Scope;
pub use token::{TokenResponse, TokenType};
pub use url;
