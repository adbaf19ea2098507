//! End to end on loopback: client-credentials token fetches against a minimal token endpoint,
//! through each library's ureq and reqwest transports, and through the bare transports (the
//! floor: the same POST with raw ureq / reqwest, the body parsed with `serde_json`).
//!
//! oauth2-rs 5 is built on ureq 2 and reqwest 0.12, grantline on ureq 3 and reqwest 0.13, so there
//! is a floor for each: every library is compared with the bare transport it runs on.
//!
//! The token endpoint ([`TokenEndpoint`]) is hyper's HTTP/1.1 server on its own thread and
//! single-threaded runtime, answering every request with oidc-provider's client-credentials
//! answer, so that the server costs the same for every client and is never the bottleneck.

use std::net::SocketAddr;
use std::sync::mpsc;

use grantline::grant::TokenRequest;
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use oauth2::TokenResponse as _;

use crate::compare::col_floor::{Token, basic_authorization, cc_body};
use crate::compare::fixtures::{CC_SCOPE, CLIENT_ID, CLIENT_SECRET, token_minimal_body};

/// The minimal token endpoint: every request on every connection is answered `200` with a fixed
/// token (keep-alive, as a real endpoint behind a pool).
#[derive(Debug)]
pub struct TokenEndpoint {
    addr: SocketAddr,
}

async fn answer(
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, hyper::Error> {
    // Read the form, as a real endpoint must, before answering.
    request.into_body().collect().await?;
    let mut response = hyper::Response::new(Full::new(Bytes::from_static(token_minimal_body())));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

impl TokenEndpoint {
    /// Starts the server on `127.0.0.1` and an unused port, on a thread of its own that lives as
    /// long as the process.
    ///
    /// # Errors
    ///
    /// When the runtime or the listener cannot be set up.
    pub fn start() -> std::io::Result<Self> {
        let (ready, addr) = mpsc::channel();
        std::thread::Builder::new()
            .name("token-endpoint".to_owned())
            .spawn(move || -> std::io::Result<()> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_io()
                    .build()?;
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                        Ok(listener) => listener,
                        Err(e) => {
                            let _ = ready.send(Err(e));
                            return Ok(());
                        }
                    };
                    let _ = ready.send(listener.local_addr());
                    loop {
                        let (stream, _) = listener.accept().await?;
                        stream.set_nodelay(true)?;
                        tokio::task::spawn(async move {
                            let _ = http1::Builder::new()
                                .keep_alive(true)
                                .serve_connection(TokioIo::new(stream), service_fn(answer))
                                .await;
                        });
                    }
                })
            })?;
        let addr = addr
            .recv()
            .map_err(|_| std::io::Error::other("the server thread ended"))??;
        Ok(Self { addr })
    }

    /// The token endpoint's URL.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}/token", self.addr)
    }
}

/// A way of fetching one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::exhaustive_enums)]
pub enum Fetcher {
    /// `grantline_ureq::Transport::run` (ureq 3).
    GrantlineUreq,
    /// oauth2-rs with its ureq feature (ureq 2).
    Oauth2Ureq,
    /// Raw ureq 3.
    FloorUreq3,
    /// Raw ureq 2.
    FloorUreq2,
    /// `grantline_reqwest::Transport::run` (reqwest 0.13).
    GrantlineReqwest,
    /// oauth2-rs with its reqwest feature (reqwest 0.12).
    Oauth2Reqwest,
    /// Raw reqwest 0.13.
    FloorReqwest013,
    /// Raw reqwest 0.12.
    FloorReqwest012,
}

impl Fetcher {
    /// Every fetcher, ureq ones first.
    pub const ALL: [Fetcher; 8] = [
        Fetcher::GrantlineUreq,
        Fetcher::Oauth2Ureq,
        Fetcher::FloorUreq3,
        Fetcher::FloorUreq2,
        Fetcher::GrantlineReqwest,
        Fetcher::Oauth2Reqwest,
        Fetcher::FloorReqwest013,
        Fetcher::FloorReqwest012,
    ];

    /// Its name in the criterion group `e2e`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Fetcher::GrantlineUreq => "grantline-ureq",
            Fetcher::Oauth2Ureq => "oauth2-ureq",
            Fetcher::FloorUreq3 => "floor-ureq3",
            Fetcher::FloorUreq2 => "floor-ureq2",
            Fetcher::GrantlineReqwest => "grantline-reqwest",
            Fetcher::Oauth2Reqwest => "oauth2-reqwest",
            Fetcher::FloorReqwest013 => "floor-reqwest013",
            Fetcher::FloorReqwest012 => "floor-reqwest012",
        }
    }

    /// The bare transport this one is compared with (itself for a floor).
    #[must_use]
    pub fn floor(self) -> Fetcher {
        match self {
            Fetcher::GrantlineUreq | Fetcher::FloorUreq3 => Fetcher::FloorUreq3,
            Fetcher::Oauth2Ureq | Fetcher::FloorUreq2 => Fetcher::FloorUreq2,
            Fetcher::GrantlineReqwest | Fetcher::FloorReqwest013 => Fetcher::FloorReqwest013,
            Fetcher::Oauth2Reqwest | Fetcher::FloorReqwest012 => Fetcher::FloorReqwest012,
        }
    }
}

/// Every client, set up once against one [`TokenEndpoint`] (each keeps its connection alive).
#[allow(missing_debug_implementations)]
pub struct Clients {
    url: String,
    runtime: tokio::runtime::Runtime,
    grantline: grantline::Client,
    grantline_ureq: grantline_ureq::Transport,
    grantline_reqwest: grantline_reqwest::Transport,
    oauth2: crate::compare::col_oauth2::TokenClient,
    ureq3: ureq::Agent,
    ureq2: ureq2::Agent,
    reqwest013: reqwest::Client,
    reqwest012: reqwest012::Client,
}

/// Why a fetch failed.
pub type FetchError = Box<dyn std::error::Error + Send + Sync>;

impl Clients {
    /// Clients of `endpoint`; none follows redirects.
    ///
    /// # Errors
    ///
    /// When a client cannot be built.
    pub fn new(endpoint: &TokenEndpoint) -> Result<Self, FetchError> {
        let url = endpoint.url();
        let grantline = grantline::Client::builder(CLIENT_ID)
            .token_endpoint(&url)
            .client_secret_basic(CLIENT_SECRET)
            .build()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        // ureq 3 with redirects off, as grantline-ureq also sets them per request.
        let ureq3 = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .build()
            .new_agent();
        Ok(Self {
            grantline,
            grantline_ureq: grantline_ureq::Transport::with_agent(ureq3.clone()),
            grantline_reqwest: grantline_reqwest::Transport::from_builder(
                reqwest::Client::builder(),
            )?,
            oauth2: crate::compare::col_oauth2::token_client(&url)?,
            ureq3,
            ureq2: ureq2::AgentBuilder::new().redirects(0).build(),
            reqwest013: reqwest::Client::builder()
                .tls_backend_preconfigured(grantline_reqwest::tls::client_config()?)
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            reqwest012: reqwest012::Client::builder()
                .redirect(reqwest012::redirect::Policy::none())
                .build()?,
            runtime,
            url,
        })
    }

    /// Fetches one token with `fetcher`; returns the access token's length.
    ///
    /// # Errors
    ///
    /// Any failure: the transport's, the library's, or an empty token.
    pub fn fetch(&self, fetcher: Fetcher) -> Result<usize, FetchError> {
        let len = match fetcher {
            Fetcher::GrantlineUreq => {
                let flow = self
                    .grantline
                    .request_token(TokenRequest::client_credentials().scope(CC_SCOPE))?;
                self.grantline_ureq.run(flow)?.access_token().secret().len()
            }
            Fetcher::GrantlineReqwest => self.runtime.block_on(async {
                let flow = self
                    .grantline
                    .request_token(TokenRequest::client_credentials().scope(CC_SCOPE))?;
                let token = self.grantline_reqwest.run(flow).await?;
                Ok::<_, FetchError>(token.access_token().secret().len())
            })?,
            Fetcher::Oauth2Ureq => self
                .oauth2
                .exchange_client_credentials()
                .add_scope(oauth2::Scope::new(CC_SCOPE.to_owned()))
                .request(&self.ureq2)?
                .access_token()
                .secret()
                .len(),
            Fetcher::Oauth2Reqwest => self.runtime.block_on(async {
                let token = self
                    .oauth2
                    .exchange_client_credentials()
                    .add_scope(oauth2::Scope::new(CC_SCOPE.to_owned()))
                    .request_async(&self.reqwest012)
                    .await?;
                Ok::<_, FetchError>(token.access_token().secret().len())
            })?,
            Fetcher::FloorUreq3 => {
                let mut response = self
                    .ureq3
                    .post(&self.url)
                    .header("authorization", basic_authorization())
                    .header("accept", "application/json")
                    .content_type("application/x-www-form-urlencoded")
                    .send(cc_body())?;
                if !response.status().is_success() {
                    return Err("not a success".into());
                }
                let token: Token = serde_json::from_slice(&response.body_mut().read_to_vec()?)?;
                token.access_token().len()
            }
            Fetcher::FloorUreq2 => {
                let response = self
                    .ureq2
                    .post(&self.url)
                    .set("authorization", &basic_authorization())
                    .set("accept", "application/json")
                    .set("content-type", "application/x-www-form-urlencoded")
                    .send_string(&cc_body())?;
                let mut body = Vec::new();
                std::io::Read::read_to_end(&mut response.into_reader(), &mut body)?;
                let token: Token = serde_json::from_slice(&body)?;
                token.access_token().len()
            }
            Fetcher::FloorReqwest013 => self.runtime.block_on(async {
                let response = self
                    .reqwest013
                    .post(&self.url)
                    .header("authorization", basic_authorization())
                    .header("accept", "application/json")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(cc_body())
                    .send()
                    .await?;
                if !response.status().is_success() {
                    return Err("not a success".into());
                }
                let token: Token = serde_json::from_slice(&response.bytes().await?)?;
                Ok::<_, FetchError>(token.access_token().len())
            })?,
            Fetcher::FloorReqwest012 => self.runtime.block_on(async {
                let response = self
                    .reqwest012
                    .post(&self.url)
                    .header("authorization", basic_authorization())
                    .header("accept", "application/json")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(cc_body())
                    .send()
                    .await?;
                if !response.status().is_success() {
                    return Err("not a success".into());
                }
                let token: Token = serde_json::from_slice(&response.bytes().await?)?;
                Ok::<_, FetchError>(token.access_token().len())
            })?,
        };
        if len == 0 {
            return Err("an empty access token".into());
        }
        Ok(len)
    }
}
