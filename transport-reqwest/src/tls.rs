//! TLS on *ring*: the one crypto library of a default grantline build (feature `rustls`).
//!
//! The core signs and verifies JOSE with *ring*. reqwest 0.13's own `rustls` feature would bring a
//! second crypto library, aws-lc-rs (a C build of several minutes), so this crate builds reqwest
//! with `rustls-no-provider` and hands it a [`rustls::ClientConfig`] on *ring*'s
//! [`CryptoProvider`] ([`provider`]), trusting the platform's certificate store as reqwest would
//! ([`client_config`]).
//!
//! [`Transport::new`](crate::Transport::new) and
//! [`ApiClient::new`](crate::ApiClient::new) use that configuration and change no global state.
//! A `reqwest::ClientBuilder` of yours that carries no such configuration
//! ([`Transport::from_builder`](crate::Transport::from_builder),
//! [`ApiClient::client_builder`](crate::ApiClient::client_builder)) needs a process-wide
//! provider: reqwest panics without one. If none is installed, those two functions install
//! *ring*'s ([`CryptoProvider::install_default`]) before building, and only then; install your
//! own first to choose another, or give the builder
//! [`tls_backend_preconfigured`](reqwest::ClientBuilder::tls_backend_preconfigured) with a
//! configuration from [`client_config`] or [`client_config_builder`]:
//!
//! ```
//! use grantline_reqwest::{Transport, reqwest, tls};
//!
//! let config = tls::client_config_builder()?.with_no_client_auth();
//! let builder = reqwest::Client::builder()
//!     .tls_backend_preconfigured(config)
//!     .user_agent("my-service/1.0");
//! let transport = Transport::from_builder(builder)?;
//! # let _ = transport;
//! # Ok::<(), grantline_reqwest::TransportError>(())
//! ```
//!
//! A client you build yourself for [`Transport::from_client`](crate::Transport::from_client)
//! follows the same rule: `reqwest::Client::new()` panics unless a provider is installed (or
//! your own build turns on reqwest's `rustls` feature, which brings aws-lc-rs back).

use std::sync::Arc;

pub use rustls;
use rustls::client::WantsClientCert;
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, ConfigBuilder};
use rustls_platform_verifier::BuilderVerifierExt as _;

use crate::{TransportError, TransportErrorKind};

/// *ring*'s rustls [`CryptoProvider`]: the crypto library the core's JOSE uses.
///
/// ```
/// let provider = grantline_reqwest::tls::provider();
/// assert!(!provider.cipher_suites.is_empty());
/// ```
#[must_use]
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls configuration on [`provider`] with rustls' safe default protocol versions (TLS 1.2
/// and 1.3) that verifies servers against the platform's certificate store (what reqwest does by
/// default), waiting for its client certificate choice.
///
/// # Errors
///
/// [`TransportErrorKind::Builder`] when the platform verifier cannot be set up.
///
/// ```
/// let config = grantline_reqwest::tls::client_config_builder()?.with_no_client_auth();
/// # let _ = config;
/// # Ok::<(), grantline_reqwest::TransportError>(())
/// ```
pub fn client_config_builder()
-> Result<ConfigBuilder<ClientConfig, WantsClientCert>, TransportError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(builder_error)?;
    builder.with_platform_verifier().map_err(builder_error)
}

/// The configuration of [`Transport::new`](crate::Transport::new): [`client_config_builder`]
/// without a client certificate, offering HTTP/1.1 by ALPN (as reqwest does without its `http2`
/// feature).
///
/// # Errors
///
/// [`TransportErrorKind::Builder`] when the platform verifier cannot be set up.
///
/// ```
/// let config = grantline_reqwest::tls::client_config()?;
/// assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
/// # Ok::<(), grantline_reqwest::TransportError>(())
/// ```
pub fn client_config() -> Result<ClientConfig, TransportError> {
    let mut config = client_config_builder()?.with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Installs *ring*'s provider as the process default if no provider is installed yet (reqwest
/// panics when it builds a client without preconfigured TLS and without a default).
pub(crate) fn ensure_default_provider() {
    if CryptoProvider::get_default().is_none() {
        // Another thread may have installed one in between: theirs stays, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

fn builder_error(error: rustls::Error) -> TransportError {
    TransportError::with_source(TransportErrorKind::Builder, error)
}
