//! # grantline-reqwest: the async transport for grantline, on reqwest 0.13
//!
//! [`grantline`] is a sans-IO OAuth 2 client: it builds [`http::Request`]s, reads
//! [`http::Response`]s and never touches a socket or a clock. This crate is the async half: a
//! [`Transport`] that sends those requests with a [`reqwest::Client`] ([`Transport::execute`]),
//! and drives any [`grantline::Flow`] to its end ([`Transport::run`]), sleeping with
//! [`tokio::time::sleep`] when the flow asks to wait.
//!
//! The transport knows nothing about OAuth: no JSON, no error codes, no polling intervals. Every
//! decision is the flow's. `grantline`, `http` and `reqwest` are re-exported, so this crate is
//! the one dependency to add.
//!
//! ## Quickstart
//!
//! A client-credentials token, inside any tokio runtime:
//!
//! ```no_run
//! use grantline_reqwest::Transport;
//! use grantline_reqwest::grantline::{Client, grant::TokenRequest};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let client = Client::builder("my-service")
//!         .token_endpoint("https://as.example/oauth2/token")
//!         .client_secret_basic("s3cr3t")
//!         .build()?;
//!     let transport = Transport::new()?;
//!
//!     let token = transport
//!         .run(client.request_token(TokenRequest::client_credentials().scope("read"))?)
//!         .await?;
//!     let _bearer = token.access_token().secret();
//!     Ok(())
//! }
//! ```
//!
//! ## Your own `reqwest::ClientBuilder`
//!
//! Proxies, extra CA certificates, client certificates and timeouts are yours to set: configure
//! a [`reqwest::ClientBuilder`] and hand it to [`Transport::from_builder`]. The transport only
//! turns redirects off (see below). [`Transport::new`] sets a connect timeout of
//! [`DEFAULT_CONNECT_TIMEOUT`] (10 s) and an overall request timeout of [`DEFAULT_TIMEOUT`]
//! (30 s); give your own builder timeouts too: without one, a server that never answers keeps the
//! request waiting forever.
//!
//! TLS runs on *ring*, the crypto library the core already uses (feature `rustls`): reqwest is
//! built without a crypto provider of its own, [`Transport::new`] hands it a rustls configuration
//! on *ring* ([`tls::client_config`]), and a builder of yours without one gets *ring* installed as
//! the process's rustls provider if none is (see [`tls`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use grantline_reqwest::{Transport, reqwest};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ca = reqwest::Certificate::from_pem(&std::fs::read("corporate-ca.pem")?)?;
//! let builder = reqwest::Client::builder()
//!     .proxy(reqwest::Proxy::https("http://proxy.internal:3128")?)
//!     .tls_certs_merge([ca])
//!     .connect_timeout(Duration::from_secs(5))
//!     .timeout(Duration::from_secs(30));
//! let transport = Transport::from_builder(builder)?;
//! # let _ = transport;
//! # Ok(())
//! # }
//! ```
//!
//! ## Guarantees
//!
//! - **Redirects are never followed.** A token request carries credentials (a client secret in
//!   the body, an assertion, a refresh token). A `reqwest::Client` follows redirects by default,
//!   and on a 307 or 308 it sends the same body to the new location before the caller sees
//!   anything. [`Transport::new`] and [`Transport::from_builder`] build the client with
//!   [`reqwest::redirect::Policy::none()`], so a 3xx comes back as a response, and the flow
//!   reports it as an unexpected answer. A client passed to [`Transport::from_client`] must not
//!   follow redirects either; as a second guard, a response whose final URL differs from the
//!   request's is refused with [`TransportErrorKind::Redirected`].
//! - **Bodies are capped.** A response body is read chunk by chunk, and refused with
//!   [`TransportErrorKind::BodyTooLarge`] as soon as it would pass the limit
//!   ([`DEFAULT_BODY_LIMIT`], 1 MiB, unless [`Transport::body_limit`] says otherwise). A hostile
//!   or misconfigured server cannot make the transport allocate more than that.
//! - **Every status is a response.** [`Transport::execute`] returns 4xx and 5xx answers as
//!   responses: OAuth errors live in them, and reading them is the flow's job.
//! - **Tokens go only to https or loopback URLs** (the core's
//!   [`Authorizer`](grantline::authorizer::Authorizer) refuses others unless the application opts
//!   in), and a task waits for another task's renewal at most the authorizer's
//!   [`renewal_bound`](grantline::authorizer::Authorizer::renewal_bound) (60 s by default).
//! - **Errors carry no secrets.** [`TransportError`]'s message shows no URL, header or body, and
//!   the `reqwest::Error` it keeps as its source has its URL removed. The errors are the core's,
//!   the same on every transport: [`Error`] is [`grantline::driver::RunError`], and
//!   [`TransportError`], [`AuthError`], [`ApiError`] and [`StatusError`] are re-exported from
//!   [`grantline::driver`].
//! - **Cancellation is dropping.** [`Transport::run`] returns a future; drop it (through
//!   [`tokio::time::timeout`] or `tokio::select!`) and the flow stops where it was.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod api_client;
mod auth;
#[cfg(feature = "reqwest-middleware")]
mod middleware;
#[cfg(feature = "rustls")]
pub mod tls;

pub use api_client::{ApiClient, ApiRequest};
pub use auth::Auth;
pub use grantline;
pub use grantline::driver::{
    ApiError, AuthError, DEFAULT_BODY_LIMIT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT,
    RunError as Error, StatusError, TransportError, TransportErrorKind,
};
pub use http;
#[cfg(feature = "reqwest-middleware")]
pub use middleware::AuthMiddleware;
pub use reqwest;

/// An assertion source that reads the file at `path` again for every request that needs an
/// assertion, with [`std::fs::read`]: a token the platform rotates (a Kubernetes projected
/// service account token, Azure workload identity's `AZURE_FEDERATED_TOKEN_FILE`), for
/// [`ClientAssertion`](grantline::client_auth::ClientAssertion),
/// [`TokenRequest::jwt_bearer_from`](grantline::grant::TokenRequest::jwt_bearer_from) or
/// [`TokenRequest::token_exchange_from`](grantline::grant::TokenRequest::token_exchange_from).
/// The checks on what the file holds are the core's
/// ([`AssertionFile`](grantline::assertion::AssertionFile)); only the reading is here.
///
/// The read is a blocking call of a few microseconds for a file of a few kilobytes, made
/// when a flow builds its request; it does not wait on the network.
///
/// ```no_run
/// use grantline_reqwest::grantline::{Client, client_auth::ClientAssertion};
///
/// let token_file = std::env::var("AZURE_FEDERATED_TOKEN_FILE")?;
/// let client = Client::builder("00000000-0000-0000-0000-000000000000")
///     .token_endpoint("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token")
///     .auth(ClientAssertion::new(grantline_reqwest::assertion_file(token_file)))
///     .build()?;
/// # let _ = client;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub fn assertion_file(path: impl Into<std::path::PathBuf>) -> grantline::assertion::AssertionFile {
    grantline::assertion::AssertionFile::new(path, |path| std::fs::read(path))
}

use std::sync::Arc;
use std::time::Duration;

use grantline::clock::{Clock, SystemClock};
use grantline::driver::Run;
use grantline::{Flow, Progress, Step};

/// Sends grantline's requests with a [`reqwest::Client`] and runs its flows.
///
/// Cheap to clone: clones share the client's connection pool.
///
/// ```
/// use grantline_reqwest::Transport;
///
/// let transport = Transport::new()?.body_limit(64 * 1024);
/// let shared = transport.clone();
/// # let _ = shared;
/// # Ok::<(), grantline_reqwest::TransportError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Transport {
    client: reqwest::Client,
    body_limit: u64,
    clock: Arc<dyn Clock>,
}

impl Transport {
    /// A transport on a new `reqwest::Client` that follows no redirects, with a connect timeout
    /// of [`DEFAULT_CONNECT_TIMEOUT`] (10 s), an overall timeout of [`DEFAULT_TIMEOUT`] per
    /// request (30 s, from the connection to the end of the body), reqwest's other defaults, and
    /// at most [`DEFAULT_BODY_LIMIT`] bytes read per body.
    ///
    /// # Errors
    ///
    /// [`TransportErrorKind::Builder`] when reqwest cannot build a client (its TLS backend failed
    /// to initialise).
    ///
    /// ```
    /// let transport = grantline_reqwest::Transport::new()?;
    /// # let _ = transport;
    /// # Ok::<(), grantline_reqwest::TransportError>(())
    /// ```
    pub fn new() -> Result<Self, TransportError> {
        Ok(Self::from_client(build_default()?))
    }

    /// A transport on a client built from your own `builder` (proxies, CA certificates,
    /// timeouts, user agent...), with redirects turned off.
    ///
    /// The transport sets [`redirect(Policy::none())`](reqwest::ClientBuilder::redirect) on the
    /// builder, whatever redirect policy it had: a followed redirect would re-send credentials to
    /// another location.
    ///
    /// With the `rustls` feature, a builder without
    /// [`tls_backend_preconfigured`](reqwest::ClientBuilder::tls_backend_preconfigured) needs a
    /// process-wide rustls crypto provider: if none is installed, this installs *ring*'s (see
    /// [`tls`]).
    ///
    /// # Errors
    ///
    /// [`TransportErrorKind::Builder`] when [`reqwest::ClientBuilder::build`] fails.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let builder = grantline_reqwest::reqwest::Client::builder()
    ///     .timeout(Duration::from_secs(30))
    ///     .user_agent("my-service/1.0");
    /// let transport = grantline_reqwest::Transport::from_builder(builder)?;
    /// # let _ = transport;
    /// # Ok::<(), grantline_reqwest::TransportError>(())
    /// ```
    pub fn from_builder(builder: reqwest::ClientBuilder) -> Result<Self, TransportError> {
        Ok(Self::from_client(build_without_redirects(builder)?))
    }

    /// A transport on a client you built yourself. **The client must not follow redirects**:
    /// build it with [`redirect(Policy::none())`](reqwest::ClientBuilder::redirect).
    ///
    /// A redirect policy is fixed when a `reqwest::Client` is built and cannot be read back, so
    /// the transport cannot check it. A client that follows a 307 or 308 re-sends the request body
    /// (a client secret, an assertion, a refresh token) to the new location before the transport
    /// sees anything. As a second guard, the transport refuses any response whose final URL
    /// differs from the request's with [`TransportErrorKind::Redirected`], but by then the
    /// request went out. Prefer [`from_builder`](Self::from_builder), which turns redirects off
    /// for you.
    ///
    /// With the `rustls` feature, reqwest has no crypto provider of its own: give the builder a
    /// configuration from [`tls`], or install a process-wide provider first.
    ///
    /// ```
    /// use grantline_reqwest::{Transport, reqwest, tls};
    ///
    /// let client = reqwest::Client::builder()
    ///     .tls_backend_preconfigured(tls::client_config()?)
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .build()?;
    /// let transport = Transport::from_client(client);
    /// # let _ = transport;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn from_client(client: reqwest::Client) -> Self {
        Self {
            client,
            body_limit: DEFAULT_BODY_LIMIT,
            clock: Arc::new(SystemClock),
        }
    }

    /// The same transport with a response body cap of `bytes` (default [`DEFAULT_BODY_LIMIT`]).
    ///
    /// A response whose body would pass the cap fails with
    /// [`TransportErrorKind::BodyTooLarge`]; a body of exactly `bytes` is accepted.
    ///
    /// ```
    /// let transport = grantline_reqwest::Transport::new()?.body_limit(16 * 1024);
    /// # let _ = transport;
    /// # Ok::<(), grantline_reqwest::TransportError>(())
    /// ```
    #[must_use]
    pub fn body_limit(mut self, bytes: u64) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The `reqwest::Client` the transport sends with (it follows no redirects, unless one was
    /// passed to [`from_client`](Self::from_client) that does).
    ///
    /// ```
    /// let transport = grantline_reqwest::Transport::new()?;
    /// let _client: &grantline_reqwest::reqwest::Client = transport.client();
    /// # Ok::<(), grantline_reqwest::TransportError>(())
    /// ```
    #[must_use]
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends `request` and reads the whole response, up to the body limit.
    ///
    /// Every status comes back as a response: a 400 or a 500 is not an error here (OAuth errors
    /// are in such responses, and the flow reads them). A redirect is not followed: the 3xx
    /// itself comes back. Status, version and headers are copied into the returned
    /// [`http::Response`].
    ///
    /// # Errors
    ///
    /// A [`TransportError`] when no usable response arrived: [`Connect`](TransportErrorKind::Connect),
    /// [`Timeout`](TransportErrorKind::Timeout), [`BodyTooLarge`](TransportErrorKind::BodyTooLarge)
    /// (refused early when `Content-Length` announces too much, otherwise as soon as the bytes
    /// read would pass the limit), [`Redirected`](TransportErrorKind::Redirected),
    /// [`InvalidRequest`](TransportErrorKind::InvalidRequest), [`Io`](TransportErrorKind::Io)
    /// or [`Other`](TransportErrorKind::Other).
    ///
    /// ```no_run
    /// use grantline_reqwest::{Transport, grantline::{Client, Flow, Now, Step, grant::TokenRequest}};
    ///
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = Client::builder("svc")
    ///     .token_endpoint("https://as.example/token")
    ///     .client_secret_basic("s3cr3t")
    ///     .build()?;
    /// let mut flow = client.request_token(TokenRequest::client_credentials())?;
    /// let Step::Send(request) = flow.next(Now::system())? else { unreachable!() };
    ///
    /// let response = Transport::new()?.execute(request).await?;
    /// // A 401 is a response too: the flow turns it into an OAuth error.
    /// flow.handle_response(response, Now::system())?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn execute(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let request = reqwest::Request::try_from(request).map_err(classify)?;
        let url = request.url().clone();
        let mut response = self.client.execute(request).await.map_err(classify)?;
        if *response.url() != url {
            return Err(TransportError::new(TransportErrorKind::Redirected));
        }
        let mut out = http::Response::new(Vec::new());
        *out.status_mut() = response.status();
        *out.version_mut() = response.version();
        *out.headers_mut() = std::mem::take(response.headers_mut());
        *out.body_mut() = read_capped(&mut response, self.body_limit).await?;
        Ok(out)
    }

    /// Drives `flow` to its end: sends each request it asks for, sleeps each wait it asks for,
    /// and returns its output.
    ///
    /// The loop is grantline's, and only that: `next` → `Send` ([`execute`](Self::execute), then
    /// `handle_response`) or `Wait` ([`tokio::time::sleep`]) or `Done`. When a request gets no
    /// answer, the flow decides: [`Recovery::Retry`](grantline::Recovery::Retry) goes on, [`Recovery::GiveUp`](grantline::Recovery::GiveUp) returns the
    /// transport error. The time given to the flow is read from the transport's [`clock`](Self::clock) at each step.
    ///
    /// The returned future is `Send` when `F` is, so it can be spawned.
    ///
    /// # Cancellation
    ///
    /// Dropping the future cancels the flow: nothing runs in the background, and a request in
    /// flight is abandoned. For a deadline on the whole exchange (a device flow that could poll
    /// for minutes, say), wrap it in [`tokio::time::timeout`] or race it in `tokio::select!`.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use grantline_reqwest::{Transport, grantline::{Client, grant::TokenRequest}};
    ///
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = Client::builder("svc")
    ///     .token_endpoint("https://as.example/token")
    ///     .client_secret_basic("s3cr3t")
    ///     .build()?;
    /// let transport = Transport::new()?;
    /// let flow = client.request_token(TokenRequest::client_credentials())?;
    ///
    /// match tokio::time::timeout(Duration::from_secs(10), transport.run(flow)).await {
    ///     Ok(result) => {
    ///         let token = result?;
    ///         # let _ = token;
    ///     }
    ///     Err(_elapsed) => { /* the flow was dropped, and with it the request in flight */ }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Flow`] with the flow's error (the server's OAuth error, an unexpected or invalid
    /// answer, a configuration mistake), or [`Error::Transport`] when a request got no usable
    /// answer and the flow gave up.
    pub async fn run<F: Flow>(&self, flow: F) -> Result<F::Output, Error> {
        self.run_with(flow, |_, _| {}).await
    }

    /// Like [`run`](Self::run), and tells `observer` what happens as it happens, with the flow,
    /// so a UI can show progress (a polling flow's `status`, say).
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    ///
    /// ```no_run
    /// use grantline_reqwest::{Transport, grantline};
    /// use grantline::{Client, Progress, device::DeviceAuthorizationRequest};
    ///
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = Client::builder("tv-app")
    ///     .device_authorization_endpoint("https://as.example/device")
    ///     .token_endpoint("https://as.example/token")
    ///     .build()?;
    /// let transport = Transport::new()?;
    /// let authorization = transport
    ///     .run(client.device_authorization(DeviceAuthorizationRequest::new())?)
    ///     .await?;
    /// println!("Open {} and enter {}", authorization.verification_uri(), authorization.user_code());
    /// let flow = client.device_token(authorization)?;
    /// let token = transport
    ///     .run_with(flow, |flow, progress| {
    ///         if let Progress::Waiting(_) = progress {
    ///             let status = flow.status(transport.now());
    ///             eprintln!("{} polls, {}s left", status.polls, status.time_left.as_secs());
    ///         }
    ///     })
    ///     .await?;
    /// # let _ = token;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run_with<F: Flow>(
        &self,
        flow: F,
        observer: impl FnMut(&F, Progress),
    ) -> Result<F::Output, Error> {
        let mut run = Run::observed(flow, observer);
        loop {
            // The step is taken apart before any await, so the future never holds an
            // `F::Output` across one: it is `Send` whenever `F` (and the observer) is.
            let send = match run.next(self.now())? {
                Step::Send(request) => Ok(request),
                Step::Wait(duration) => Err(duration),
                Step::Done(output) => return Ok(output),
            };
            match send {
                Ok(request) => run.handle(self.execute(request).await, self.now())?,
                Err(wait) => tokio::time::sleep(self.real_duration(wait)).await,
            }
        }
    }

    /// The time on the transport's clock: what its flows are given as `now` (for a progress
    /// display that asks a flow for its status, say).
    ///
    /// ```
    /// let transport = grantline_reqwest::Transport::new()?;
    /// let _now = transport.now();
    /// # Ok::<(), grantline_reqwest::TransportError>(())
    /// ```
    #[must_use]
    pub fn now(&self) -> grantline::Now {
        self.clock.now()
    }

    /// Sets the clock flows are run on (the system's by default).
    ///
    /// A [`ScaledClock`](grantline::clock::ScaledClock) runs polling faster than real time, for a
    /// demo or a test that checks intervals from the server's side.
    ///
    /// ```
    /// use grantline_reqwest::{Transport, grantline::clock::ScaledClock};
    /// let transport = Transport::new()?.clock(ScaledClock::new(100));
    /// # let _ = transport;
    /// # Ok::<(), grantline_reqwest::TransportError>(())
    /// ```
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }
}

impl Transport {
    /// How long a wait of `flow_time` on the transport's clock really takes.
    pub(crate) fn real_duration(&self, flow_time: Duration) -> Duration {
        self.clock.real_duration(flow_time)
    }
}

/// The client of [`Transport::new`] (and of an `ApiClient` given none): the default timeouts,
/// no redirects, and (feature `rustls`) TLS on *ring* configured here, not process-wide.
pub(crate) fn build_default() -> Result<reqwest::Client, TransportError> {
    let builder = reqwest::Client::builder()
        .connect_timeout(DEFAULT_CONNECT_TIMEOUT)
        .timeout(DEFAULT_TIMEOUT);
    #[cfg(feature = "rustls")]
    let builder = builder.tls_backend_preconfigured(tls::client_config()?);
    build(builder)
}

/// Builds the caller's `builder`'s client following no redirects (whatever its policy was).
pub(crate) fn build_without_redirects(
    builder: reqwest::ClientBuilder,
) -> Result<reqwest::Client, TransportError> {
    // reqwest panics on a builder without preconfigured TLS when no provider is installed.
    #[cfg(feature = "rustls")]
    tls::ensure_default_provider();
    build(builder)
}

fn build(builder: reqwest::ClientBuilder) -> Result<reqwest::Client, TransportError> {
    let builder = builder.redirect(reqwest::redirect::Policy::none());
    let built = builder.build();
    built.map_err(|e| TransportError::with_source(TransportErrorKind::Builder, e))
}

/// Reads `response`'s body, refusing it as soon as it would pass `limit` bytes (before reading,
/// when its `Content-Length` says so).
pub(crate) async fn read_capped(
    response: &mut reqwest::Response,
    limit: u64,
) -> Result<Vec<u8>, TransportError> {
    let too_large = || TransportError::new(TransportErrorKind::BodyTooLarge { limit });
    if response
        .content_length()
        .is_some_and(|length| length > limit)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(classify)? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Classifies reqwest's error as the core's [`TransportError`], the same way the other
/// transports classify theirs (a certificate failure is `Tls`, not reqwest's `connect`), and
/// drops its URL (it may carry secrets in its query).
pub(crate) fn classify(error: reqwest::Error) -> TransportError {
    use TransportErrorKind as Kind;
    let kind = if error.is_timeout() {
        Kind::Timeout
    } else if is_tls(&error) {
        Kind::Tls
    } else if error.is_connect() {
        Kind::Connect
    } else if error.is_builder() {
        Kind::InvalidRequest
    } else if error.is_redirect() {
        Kind::Redirected
    } else if error.is_body() || error.is_decode() || error.is_request() {
        Kind::Io
    } else {
        Kind::Other
    };
    TransportError::with_source(kind, error.without_url())
}

/// Whether a TLS library's error is in `error`'s source chain (hyper wraps rustls's error in
/// `io::Error`s, whose `source` skips the error they hold: the walk steps into them instead).
fn is_tls(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if is_tls_library_error(error) {
            return true;
        }
        next = match error
            .downcast_ref::<std::io::Error>()
            .and_then(|e| e.get_ref())
        {
            Some(held) => Some(held as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    false
}

#[cfg(feature = "rustls")]
fn is_tls_library_error(error: &(dyn std::error::Error + 'static)) -> bool {
    error.is::<rustls::Error>()
}

#[cfg(not(feature = "rustls"))]
fn is_tls_library_error(_error: &(dyn std::error::Error + 'static)) -> bool {
    false
}
