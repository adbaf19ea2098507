//! The transport that runs the flows: grantline-ureq or grantline-reqwest, configured from the
//! connection options (`--ca-cert`, `--proxy`, `--timeout`), behind one blocking interface.
//!
//! This is also the example of choosing a transport at run time: both implement the same
//! `run_with` loop over the same flows and fail with the same error (the core's `RunError`), so
//! the rest of the program does not know which one runs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use grantline::clock::{Clock, ScaledClock, SystemClock};
use grantline::driver::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, RunError};
use grantline::{Flow, Now, Progress, Recovery, Step};

use crate::args::TransportKind;
use crate::error::{CliError, ProxySource, Target};

/// The connection options.
#[derive(Debug, Clone, Default)]
pub(crate) struct Connection {
    /// PEM files of the only CA certificates to trust.
    pub(crate) ca_certs: Vec<PathBuf>,
    /// An HTTP proxy for every request.
    pub(crate) proxy: Option<String>,
    /// The time limit of one request (the transports' 30 s default when not given).
    pub(crate) timeout: Option<Duration>,
    /// Run the clock this many times faster (a testing aid).
    pub(crate) time_scale: Option<u32>,
    /// The TLS client certificate (PEM, its chain may follow) and its private key (PEM),
    /// presented on every TLS connection.
    pub(crate) client_cert: Option<(PathBuf, PathBuf)>,
}

/// A configured transport.
#[derive(Debug)]
pub(crate) struct Backend {
    inner: Inner,
    clock: Box<dyn Clock>,
    /// The proxy requests go through, if any (for messages).
    proxy: Option<ProxySource>,
}

#[derive(Debug)]
enum Inner {
    #[cfg(feature = "ureq")]
    Ureq(grantline_ureq::Transport),
    #[cfg(feature = "reqwest")]
    Reqwest {
        transport: grantline_reqwest::Transport,
        runtime: tokio::runtime::Runtime,
    },
}

impl Backend {
    /// The transport `kind`, configured with `connection`.
    ///
    /// # Errors
    ///
    /// A configuration error for an unreadable or invalid CA file or proxy URL.
    pub(crate) fn new(kind: TransportKind, connection: &Connection) -> Result<Self, CliError> {
        let certs = read_certs(&connection.ca_certs)?;
        let identity = connection
            .client_cert
            .as_ref()
            .map(|(cert, key)| ClientIdentity::read(cert, key))
            .transpose()?;
        let (clock, transport_clock): (Box<dyn Clock>, TransportClock) =
            match connection.time_scale.filter(|scale| *scale > 1) {
                Some(scale) => {
                    let clock = ScaledClock::new(scale);
                    (Box::new(clock), TransportClock::Scaled(clock))
                }
                None => (Box::new(SystemClock), TransportClock::System),
            };
        let inner = match kind {
            #[cfg(feature = "ureq")]
            TransportKind::Ureq => Inner::Ureq(ureq_transport(
                connection,
                &certs,
                identity.as_ref(),
                transport_clock,
            )?),
            #[cfg(feature = "reqwest")]
            TransportKind::Reqwest => {
                let (transport, runtime) =
                    reqwest_transport(connection, &certs, identity.as_ref(), transport_clock)?;
                Inner::Reqwest { transport, runtime }
            }
        };
        Ok(Self {
            inner,
            clock,
            proxy: ProxySource::find(connection.proxy.is_some()),
        })
    }

    /// The time, as the flows see it.
    pub(crate) fn now(&self) -> Now {
        self.clock.now()
    }

    /// How long a wait of `flow_time` really takes.
    pub(crate) fn real_duration(&self, flow_time: Duration) -> Duration {
        self.clock.real_duration(flow_time)
    }

    /// Runs `flow` to its end, telling `observer` what happens.
    ///
    /// # Errors
    ///
    /// The flow's error, or a network error when the flow gave up after a failed request.
    pub(crate) fn run<F: Flow>(
        &self,
        flow: F,
        mut observer: impl FnMut(&F, Progress),
    ) -> Result<F::Output, CliError> {
        // The last request the flow handed out, for a network error's message.
        let mut target = None;
        let mut watch = |tracked: &Tracked<F>, progress: Progress| {
            if progress == Progress::Sending {
                target.clone_from(&tracked.target);
            }
            observer(&tracked.inner, progress);
        };
        let flow = Tracked {
            inner: flow,
            target: None,
        };
        let result = match &self.inner {
            #[cfg(feature = "ureq")]
            Inner::Ureq(transport) => {
                transport.run_with(flow, &grantline_ureq::Cancellation::new(), &mut watch)
            }
            #[cfg(feature = "reqwest")]
            Inner::Reqwest { transport, runtime } => {
                runtime.block_on(transport.run_with(flow, &mut watch))
            }
        };
        // Both transports fail with the core's `RunError`.
        result.map_err(|e| match e {
            RunError::Flow(e) => CliError::Flow(e),
            RunError::Transport(e) => CliError::network(&e, target, self.proxy.clone()),
            other => CliError::Interrupted(other.to_string()),
        })
    }
}

/// A flow that remembers the target of the last request it handed out.
#[derive(Debug)]
struct Tracked<F> {
    inner: F,
    target: Option<Target>,
}

impl<F: Flow> Flow for Tracked<F> {
    type Output = F::Output;

    fn next(&mut self, now: Now) -> Result<Step<F::Output>, grantline::Error> {
        let step = self.inner.next(now)?;
        if let Step::Send(request) = &step {
            self.target = Some(Target::of(request));
        }
        Ok(step)
    }

    fn handle_response(
        &mut self,
        response: http::Response<Vec<u8>>,
        now: Now,
    ) -> Result<(), grantline::Error> {
        self.inner.handle_response(response, now)
    }

    fn handle_transport_error(&mut self, now: Now) -> Recovery {
        self.inner.handle_transport_error(now)
    }
}

/// The clock handed to the transport: the same as the backend's own.
#[derive(Debug, Clone, Copy)]
enum TransportClock {
    System,
    Scaled(ScaledClock),
}

/// The DER bytes of every certificate in the PEM files.
fn read_certs(paths: &[PathBuf]) -> Result<Vec<Vec<u8>>, CliError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject as _;

    let mut certs = Vec::new();
    for path in paths {
        let pem = std::fs::read(path).map_err(|e| {
            CliError::config(format!(
                "cannot read the CA file {} (--ca-cert): {e}",
                path.display()
            ))
        })?;
        let before = certs.len();
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| {
                CliError::config(format!(
                    "the CA file {} (--ca-cert) is not valid PEM: {e}",
                    path.display()
                ))
            })?;
            certs.push(cert.to_vec());
        }
        if certs.len() == before {
            return Err(CliError::config(format!(
                "the CA file {} (--ca-cert) holds no PEM certificate",
                path.display()
            )));
        }
    }
    Ok(certs)
}

/// A TLS client certificate chain and its private key, read and checked from PEM files.
#[derive(Debug)]
pub(crate) struct ClientIdentity {
    /// The DER certificates, the client's own first.
    chain: Vec<Vec<u8>>,
    /// The private key.
    key: rustls_pki_types::PrivateKeyDer<'static>,
}

impl ClientIdentity {
    /// Reads `--client-cert` and `--client-key`.
    ///
    /// # Errors
    ///
    /// A configuration error for a file that cannot be read or holds no PEM certificate (or
    /// private key).
    pub(crate) fn read(cert: &Path, key: &Path) -> Result<Self, CliError> {
        use rustls_pki_types::pem::PemObject as _;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};

        let pem = std::fs::read(cert).map_err(|e| {
            CliError::config(format!(
                "cannot read the client certificate {}: {e}",
                cert.display()
            ))
        })?;
        let chain = CertificateDer::pem_slice_iter(&pem)
            .map(|c| c.map(|c| c.to_vec()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                CliError::config(format!(
                    "the client certificate {} is not valid PEM: {e}",
                    cert.display()
                ))
            })?;
        if chain.is_empty() {
            return Err(CliError::config(format!(
                "the client certificate {} holds no PEM certificate (--client-cert takes a PEM file)",
                cert.display()
            )));
        }
        let pem = std::fs::read(key).map_err(|e| {
            CliError::config(format!("cannot read the client key {}: {e}", key.display()))
        })?;
        let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
            CliError::config(format!(
                "the client key {} holds no usable PEM private key (PKCS#8, PKCS#1 or SEC1): {e}",
                key.display()
            ))
        })?;
        Ok(Self { chain, key })
    }

    /// The private key as PEM (ureq's `PrivateKey::from_pem`; it does not export its key kinds).
    fn key_pem(&self) -> String {
        use rustls_pki_types::PrivateKeyDer;

        let label = match &self.key {
            PrivateKeyDer::Pkcs1(_) => "RSA PRIVATE KEY",
            PrivateKeyDer::Sec1(_) => "EC PRIVATE KEY",
            _ => "PRIVATE KEY",
        };
        let mut pem = String::new();
        pem_block(&mut pem, label, self.key.secret_der());
        pem
    }
}

/// Appends one PEM block.
fn pem_block(out: &mut String, label: &str, der: &[u8]) {
    use base64::Engine as _;

    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    out.push_str(&format!("-----BEGIN {label}-----\n"));
    for line in encoded.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
}

#[cfg(feature = "ureq")]
fn ureq_transport(
    connection: &Connection,
    certs: &[Vec<u8>],
    identity: Option<&ClientIdentity>,
    clock: TransportClock,
) -> Result<grantline_ureq::Transport, CliError> {
    use grantline_ureq::ureq;
    use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};

    let mut config = ureq::Agent::config_builder();
    if let Some(proxy) = &connection.proxy {
        let proxy = ureq::Proxy::new(proxy)
            .map_err(|e| CliError::config(format!("the --proxy URL is not usable: {e}")))?;
        config = config.proxy(Some(proxy));
    }
    // The transport's safe defaults unless `--timeout` says otherwise.
    let timeout = connection.timeout.unwrap_or(DEFAULT_TIMEOUT);
    config = config
        .timeout_connect(Some(DEFAULT_CONNECT_TIMEOUT.min(timeout)))
        .timeout_global(Some(timeout));
    if !certs.is_empty() || identity.is_some() {
        let mut tls = TlsConfig::builder();
        if !certs.is_empty() {
            let roots: Vec<Certificate<'static>> = certs
                .iter()
                .map(|der| Certificate::from_der(der).to_owned())
                .collect();
            tls = tls.root_certs(RootCerts::new_with_certs(&roots));
        }
        if let Some(identity) = identity {
            let chain: Vec<Certificate<'static>> = identity
                .chain
                .iter()
                .map(|der| Certificate::from_der(der).to_owned())
                .collect();
            let key = PrivateKey::from_pem(identity.key_pem().as_bytes())
                .map_err(|e| CliError::config(format!("the client key is not usable: {e}")))?;
            tls = tls.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
        }
        config = config.tls_config(tls.build());
    }
    let transport = grantline_ureq::Transport::with_agent(config.build().new_agent());
    Ok(match clock {
        TransportClock::System => transport,
        TransportClock::Scaled(clock) => transport.clock(clock),
    })
}

#[cfg(feature = "reqwest")]
fn reqwest_transport(
    connection: &Connection,
    certs: &[Vec<u8>],
    identity: Option<&ClientIdentity>,
    clock: TransportClock,
) -> Result<(grantline_reqwest::Transport, tokio::runtime::Runtime), CliError> {
    use grantline_reqwest::reqwest;

    let mut builder = reqwest::Client::builder();
    if let Some(proxy) = &connection.proxy {
        let proxy = reqwest::Proxy::all(proxy)
            .map_err(|e| CliError::config(format!("the --proxy URL is not usable: {e}")))?;
        builder = builder.proxy(proxy);
    }
    // The transport's safe defaults unless `--timeout` says otherwise.
    let timeout = connection.timeout.unwrap_or(DEFAULT_TIMEOUT);
    builder = builder
        .timeout(timeout)
        .connect_timeout(DEFAULT_CONNECT_TIMEOUT.min(timeout));
    builder = builder.tls_backend_preconfigured(reqwest_tls(certs, identity)?);
    let transport = grantline_reqwest::Transport::from_builder(builder)
        .map_err(|e| CliError::config(format!("cannot set up the HTTP client: {e}")))?;
    let transport = match clock {
        TransportClock::System => transport,
        TransportClock::Scaled(clock) => transport.clock(clock),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Internal(format!("cannot start the async runtime: {e}")))?;
    Ok((transport, runtime))
}

/// The rustls configuration of the reqwest transport, on *ring* (the core's crypto library, the
/// one crypto library of the build): only the `--ca-cert` CAs when given (else the platform's
/// store, as reqwest), and the `--client-cert` identity.
#[cfg(feature = "reqwest")]
fn reqwest_tls(
    certs: &[Vec<u8>],
    identity: Option<&ClientIdentity>,
) -> Result<grantline_reqwest::tls::rustls::ClientConfig, CliError> {
    use grantline_reqwest::tls::{self, rustls};
    use rustls::pki_types::CertificateDer;

    let setup = |e: &dyn std::fmt::Display| CliError::config(format!("cannot set up TLS: {e}"));
    let builder = if certs.is_empty() {
        tls::client_config_builder().map_err(|e| setup(&e))?
    } else {
        let mut roots = rustls::RootCertStore::empty();
        for der in certs {
            roots.add(CertificateDer::from(der.clone())).map_err(|e| {
                CliError::config(format!("a CA certificate (--ca-cert) is not usable: {e}"))
            })?;
        }
        rustls::ClientConfig::builder_with_provider(tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| setup(&e))?
            .with_root_certificates(roots)
    };
    let mut config = match identity {
        Some(identity) => {
            let chain = identity
                .chain
                .iter()
                .map(|der| CertificateDer::from(der.clone()))
                .collect();
            builder
                .with_client_auth_cert(chain, identity.key.clone_key())
                .map_err(|e| {
                    CliError::config(format!(
                        "the client certificate and key are not usable together: {e}"
                    ))
                })?
        }
        None => builder.with_no_client_auth(),
    };
    // What reqwest offers without its `http2` feature.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// `grantline api`: one request through the transport's `ApiClient` and `Auth` handler.
impl Backend {
    /// Sends `call` with `authorizer`'s token (renewed, DPoP-proved and resent once after a
    /// `401 invalid_token` by the transport's auth handler), on this backend's connection
    /// settings, and reads the answer (any status) and at most
    /// [`BODY_LIMIT`](crate::commands::api::BODY_LIMIT) bytes of its body.
    ///
    /// # Errors
    ///
    /// The API client's errors (see [`api_error`](crate::commands::api::api_error)).
    pub(crate) fn api(
        &self,
        authorizer: grantline::authorizer::Authorizer,
        call: crate::commands::api::ApiCall,
    ) -> Result<crate::commands::api::ApiAnswer, CliError> {
        use crate::commands::api::{ApiAnswer, BODY_LIMIT, api_error};
        use grantline::driver::{TransportError, TransportErrorKind};
        let target = call.target();
        let proxy = &self.proxy;
        let body_error = |e: TransportError, target: &Target, proxy: &Option<ProxySource>| {
            CliError::network(&e, Some(target.clone()), proxy.clone())
        };
        match &self.inner {
            #[cfg(feature = "ureq")]
            Inner::Ureq(transport) => {
                let auth = grantline_ureq::Auth::with_authorizer(transport.clone(), authorizer);
                let api = grantline_ureq::ApiClient::with_base(call.base)
                    .agent(transport.agent().clone())
                    .auth(auth)
                    .allow_error_status();
                let mut request = api.request(call.method, call.path.as_str());
                for (name, value) in call.headers {
                    request = request.header(name, value);
                }
                if let Some(body) = call.body {
                    request = request.body(body);
                }
                let mut response = request.send().map_err(|e| api_error(e, &target, proxy))?;
                let body = response
                    .body_mut()
                    .with_config()
                    .limit(BODY_LIMIT)
                    .read_to_vec()
                    .map_err(|e| {
                        use grantline_ureq::ureq::Error as E;
                        let kind = match e {
                            E::Timeout(_) => TransportErrorKind::Timeout,
                            E::BodyExceedsLimit(limit) => {
                                TransportErrorKind::BodyTooLarge { limit }
                            }
                            _ => TransportErrorKind::Io,
                        };
                        body_error(TransportError::with_source(kind, e), &target, &self.proxy)
                    })?;
                Ok(ApiAnswer {
                    version: response.version(),
                    status: response.status(),
                    headers: response.headers().clone(),
                    body,
                })
            }
            #[cfg(feature = "reqwest")]
            Inner::Reqwest { transport, runtime } => runtime.block_on(async {
                let auth = grantline_reqwest::Auth::with_authorizer(transport.clone(), authorizer);
                let api = grantline_reqwest::ApiClient::with_base(call.base)
                    .map_err(|e| api_error(e, &target, proxy))?
                    .client(transport.client().clone())
                    .auth(auth)
                    .allow_error_status();
                let mut request = api.request(call.method, call.path.as_str());
                for (name, value) in call.headers {
                    request = request.header(name, value);
                }
                if let Some(body) = call.body {
                    request = request.body(body);
                }
                let mut response = request
                    .send()
                    .await
                    .map_err(|e| api_error(e, &target, proxy))?;
                let (version, status) = (response.version(), response.status());
                let headers = response.headers().clone();
                let mut body = Vec::new();
                while let Some(chunk) = response.chunk().await.map_err(|e| {
                    let kind = if e.is_timeout() {
                        TransportErrorKind::Timeout
                    } else {
                        TransportErrorKind::Io
                    };
                    body_error(TransportError::with_source(kind, e), &target, &self.proxy)
                })? {
                    if body.len() as u64 + chunk.len() as u64 > BODY_LIMIT {
                        let too_large = TransportErrorKind::BodyTooLarge { limit: BODY_LIMIT };
                        return Err(body_error(
                            TransportError::new(too_large),
                            &target,
                            &self.proxy,
                        ));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(ApiAnswer {
                    version,
                    status,
                    headers,
                    body,
                })
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_files_must_hold_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        assert!(matches!(read_certs(&[path]), Err(CliError::Config(_))));
        let path = dir.path().join("two.pem");
        std::fs::write(
            &path,
            "junk\n-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\n\
             -----BEGIN CERTIFICATE-----\nBAU=\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert_eq!(
            read_certs(&[path]).unwrap(),
            vec![vec![0, 1, 2, 3], vec![4, 5]]
        );
        assert!(matches!(
            read_certs(&[dir.path().join("missing.pem")]),
            Err(CliError::Config(_))
        ));
    }
}
