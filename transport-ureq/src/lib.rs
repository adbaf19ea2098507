//! # grantline-ureq: the blocking transport for grantline
//!
//! [`grantline`] is a sans-IO OAuth 2 client: it builds [`http::Request`]s and reads
//! [`http::Response`]s, and never touches a socket or a clock. This crate is the thin blocking
//! edge that does: [`Transport::execute`] sends one request on a [`ureq::Agent`], and
//! [`Transport::run`] drives any [`grantline::Flow`] to its end (sending what it asks for,
//! sleeping when it says wait, reading the clock for it).
//!
//! The transport holds no OAuth knowledge: every decision (what to send, what an answer means,
//! how long to wait, whether to retry) is the flow's. The crate re-exports [`grantline`],
//! [`http`] and [`ureq`], so one dependency is enough.
//!
//! ## Quickstart: a client credentials token
//!
//! ```no_run
//! use grantline_ureq::Transport;
//! use grantline_ureq::grantline::{Client, grant::TokenRequest};
//!
//! let client = Client::builder("my-service")
//!     .token_endpoint("https://as.example/oauth2/token")
//!     .client_secret_basic("s3cr3t")
//!     .build()?;
//! let transport = Transport::new();
//!
//! let token = transport.run(client.request_token(TokenRequest::client_credentials().scope("read"))?)?;
//! let bearer = token.access_token().secret();
//! # let _ = bearer;
//! # Ok::<(), grantline_ureq::Error>(())
//! ```
//!
//! ## Your own agent: proxy, CA certificates, timeouts
//!
//! Sockets, TLS, proxies, timeouts and connection pools are the [`ureq::Agent`]'s, and so yours:
//! configure one and hand it to [`Transport::with_agent`]. [`Transport::new`] uses an agent with
//! a connect timeout of [`DEFAULT_CONNECT_TIMEOUT`] (10 s) and an overall request timeout of
//! [`DEFAULT_TIMEOUT`] (30 s); give your own agent timeouts too.
//!
//! ```no_run
//! use std::time::Duration;
//! use grantline_ureq::{Transport, ureq};
//! use ureq::tls::{Certificate, RootCerts, TlsConfig};
//!
//! let pem = std::fs::read("corporate-ca.pem")?;
//! let ca = Certificate::from_pem(&pem)?;
//! let agent = ureq::Agent::config_builder()
//!     .proxy(Some(ureq::Proxy::new("http://proxy.internal:3128")?))
//!     .tls_config(TlsConfig::builder().root_certs(RootCerts::new_with_certs(&[ca])).build())
//!     .timeout_connect(Some(Duration::from_secs(10)))
//!     .timeout_global(Some(Duration::from_secs(30)))
//!     .build()
//!     .new_agent();
//! let transport = Transport::with_agent(agent);
//! # let _ = transport;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Guarantees
//!
//! Whatever the agent's own settings, every request [`Transport::execute`] sends is configured so
//! that:
//!
//! - **No redirect is followed.** A 3xx comes back as the response it is, and the flow reports it
//!   (as [`grantline::Error::UnexpectedResponse`] for a token request). Following it would re-send
//!   client credentials or a grant to a place the server's operator did not configure as an
//!   endpoint.
//! - **Every status is a response.** A 400 or a 500 is handed to the flow, which turns an OAuth
//!   error object into [`grantline::Error::OAuth`]; it is never a transport error.
//! - **Bodies are capped.** At most [`DEFAULT_BODY_LIMIT`] bytes (or what
//!   [`Transport::body_limit`] sets) are read; a longer body is a
//!   [`TransportErrorKind::BodyTooLarge`] error. The API client caps what it reads the same way.
//! - **Tokens go only to https or loopback URLs** (the core's
//!   [`Authorizer`](grantline::authorizer::Authorizer) refuses others unless the application opts
//!   in), and a caller waits for another caller's renewal at most the authorizer's
//!   [`renewal_bound`](grantline::authorizer::Authorizer::renewal_bound) (60 s by default).
//!
//! ## Errors
//!
//! The errors are the core's, the same on every transport: [`Error`] is
//! [`grantline::driver::RunError`], and [`TransportError`], [`AuthError`], [`ApiError`] and
//! [`StatusError`] are re-exported from [`grantline::driver`].
//!
//! ## Cancellation
//!
//! [`Transport::run_with`] takes a [`Cancellation`] that another thread may trigger: a flow
//! waiting to poll again wakes at once, and no further request is sent.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod api_client;
mod auth;
mod cancel;
mod transport;

pub use api_client::{ApiClient, ApiRequest};
pub use auth::{Auth, AuthMiddleware};
pub use cancel::Cancellation;
pub use grantline::driver::{
    ApiError, AuthError, DEFAULT_BODY_LIMIT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT,
    RunError as Error, StatusError, TransportError, TransportErrorKind,
};
pub use transport::Transport;

pub use grantline;
pub use http;
pub use ureq;

/// An assertion source that reads the file at `path` again for every request that needs an
/// assertion, with [`std::fs::read`]: a token the platform rotates (a Kubernetes projected
/// service account token, Azure workload identity's `AZURE_FEDERATED_TOKEN_FILE`), for
/// [`ClientAssertion`](grantline::client_auth::ClientAssertion),
/// [`TokenRequest::jwt_bearer_from`](grantline::grant::TokenRequest::jwt_bearer_from) or
/// [`TokenRequest::token_exchange_from`](grantline::grant::TokenRequest::token_exchange_from).
/// The checks on what the file holds are the core's
/// ([`AssertionFile`](grantline::assertion::AssertionFile)); only the reading is here.
///
/// ```no_run
/// use grantline_ureq::grantline::{Client, client_auth::ClientAssertion};
///
/// let token_file = std::env::var("AZURE_FEDERATED_TOKEN_FILE")?;
/// let client = Client::builder("00000000-0000-0000-0000-000000000000")
///     .token_endpoint("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token")
///     .auth(ClientAssertion::new(grantline_ureq::assertion_file(token_file)))
///     .build()?;
/// # let _ = client;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub fn assertion_file(path: impl Into<std::path::PathBuf>) -> grantline::assertion::AssertionFile {
    grantline::assertion::AssertionFile::new(path, |path| std::fs::read(path))
}
