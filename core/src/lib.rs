//! # grantline: a sans-IO OAuth 2.x and OpenID Connect client
//!
//! grantline builds [`http::Request`] values and turns [`http::Response`] values into tokens,
//! validated results and typed errors. It does **no I/O, reads no clocks, sleeps never and
//! spawns no threads: time and randomness are inputs.** Run it with the blocking
//! `grantline-ureq` transport, the async `grantline-reqwest` transport, or any HTTP stack of
//! your own (hyper, a WASM fetch, an embedded client, a test double).
//!
//! ## In scope
//! - The protocol: request building, response parsing and validation, client authentication,
//!   state machines for every exchange ([`Flow`]).
//! - Token endpoint grants ([`grant`]): client credentials, refresh token, password, token
//!   exchange (RFC 8693), JWT bearer (RFC 7523), custom grants.
//! - Revocation ([`revocation`], RFC 7009) and introspection ([`introspection`], RFC 7662).
//! - The device authorization grant ([`device`], RFC 8628) and CIBA poll mode ([`ciba`]), on
//!   one polling engine that obeys `slow_down`, `Retry-After` and expiry ([`flow`]).
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
pub mod flow;
pub mod grant;
pub mod introspection;
#[cfg(feature = "jose")]
pub mod jose;
pub mod oidc;
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
