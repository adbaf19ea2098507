//! A tower [`Layer`] that puts OAuth tokens on the requests of any tower HTTP client (a
//! `hyper_util` client, a tonic channel), on grantline's sans-IO [`Authorizer`].
//!
//! The third driver of the core, after `grantline-ureq` and `grantline-reqwest`, and the
//! smallest: every OAuth rule (when to renew, single flight, DPoP proofs and nonces, resend once
//! after a `401`, tokens only to https or loopback) is the authorizer's. For each request,
//! [`AuthService`] asks it what to do:
//!
//! - **attach**: set `Authorization` (and a `DPoP` proof) and send the request;
//! - **renew**: run the renewal flow *through the wrapped service itself* (no second HTTP
//!   client), with the core's run loop [`Run`]: each token response is read up to
//!   [`DEFAULT_BODY_LIMIT`], each token request given [`DEFAULT_TIMEOUT`]; then wake the
//!   requests that waited. If the renewing request is dropped (or panics) its renewal is
//!   abandoned and a waiting request takes over;
//! - **wait**: another request renews; wait for it, at most the authorizer's
//!   [renewal bound](grantline::authorizer::Authorizer::renewal_bound), then give up with an error
//!   whose [`is_timeout`](ApiError::is_timeout) is true;
//! - **skip**: the URL is outside [`only_under`](AuthLayer::only_under): send it as it is.
//!
//! After the response, a `401` `invalid_token` (or `use_dpop_nonce`) sends the request once more
//! with a new token (or proof), when its body can be copied (see [`AuthService`]). The API's
//! response is handed over as the wrapped service gave it, body unread: cap what you read of it
//! (`http_body_util::Limited`).
//!
//! ```no_run
//! use grantline_tower::AuthLayer;
//! use grantline_tower::grantline::{Client, token_manager::TokenManager};
//! use http_body_util::Full;
//! use hyper_util::client::legacy::Client as HyperClient;
//! use hyper_util::rt::TokioExecutor;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder("my-service")
//!     .token_endpoint("https://as.example/oauth2/token")
//!     .client_secret_basic("s3cr3t")
//!     .build()?;
//! # let connector = hyper_util::client::legacy::connect::HttpConnector::new();
//! // Any connector; a TLS one (hyper-rustls) for https.
//! let http = HyperClient::builder(TokioExecutor::new()).build::<_, Full<bytes::Bytes>>(connector);
//! let api = ServiceBuilder::new()
//!     .layer(AuthLayer::new(TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?))
//!     .service(http);
//! let request = http::Request::get("https://api.example/v1/items").body(Full::default())?;
//! let response = api.oneshot(request).await?; // token fetched, attached, renewed as needed
//! # let _ = response;
//! # Ok(())
//! # }
//! ```
//!
//! # What the wrapped service must do
//!
//! Renewals post the client's credentials to the token endpoint through it, so it must follow
//! no redirects (`hyper_util`'s client follows none; do not put tower-http's `FollowRedirect`
//! under this layer) and return every status as a response. The core's driver guide
//! ([`grantline::driver`]) lists what a driver guarantees; this crate is one.
//!
//! # tonic
//!
//! A tonic `Channel` talks to its gRPC server only, so renewals cannot reach the authorization
//! server through it: give them another service with [`AuthService::renew_through`]. gRPC
//! bodies cannot be copied, so a gRPC call is never resent (a refused token is still dropped and
//! the next call renews). This crate's tests wrap `hyper_util` clients only: tonic is not tested
//! here.

use std::any::Any;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use grantline::api::BaseUrl;
use grantline::authorizer::{AfterResponse, Attempt, Authorize, Authorizer, Target, Ticket};
use grantline::driver::{BoxError, Run};
use grantline::fleet::AsyncStore;
use grantline::token_manager::TokenManager;
use grantline::{Flow, Now, Step};
use http::{Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, Empty, Full, LengthLimitError, Limited};
use tokio::sync::Notify;
use tower::{Layer, Service};

// The same error types as every driver: `ApiError` is what an `AuthService` call fails with;
// `Error` (the core's `RunError`) is a renewal's error, inside `ApiError::Auth`.
pub use grantline::driver::{
    ApiError, AuthError, RunError as Error, TransportError, TransportErrorKind,
};
pub use {grantline, http};

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
/// when a renewal builds its request; it does not wait on the network.
///
/// ```no_run
/// use grantline_tower::grantline::{Client, client_auth::ClientAssertion};
///
/// let token_file = std::env::var("AZURE_FEDERATED_TOKEN_FILE")?;
/// let client = Client::builder("00000000-0000-0000-0000-000000000000")
///     .token_endpoint("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token")
///     .auth(ClientAssertion::new(grantline_tower::assertion_file(token_file)))
///     .build()?;
/// # let _ = client;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub fn assertion_file(path: impl Into<std::path::PathBuf>) -> grantline::assertion::AssertionFile {
    grantline::assertion::AssertionFile::new(path, |path| std::fs::read(path))
}

/// How much of a token response is read before a renewal fails with
/// [`TransportErrorKind::BodyTooLarge`]: 1 MiB, as on the other drivers.
///
/// ```
/// assert_eq!(grantline_tower::DEFAULT_BODY_LIMIT, 1 << 20);
/// ```
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// How long one token request may take, answer body included, before the renewal fails with
/// [`TransportErrorKind::Timeout`]: 30 seconds. The API requests' own timeouts are the wrapped
/// service's (tower's `TimeoutLayer`, say).
///
/// ```
/// assert_eq!(grantline_tower::DEFAULT_TIMEOUT.as_secs(), 30);
/// ```
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds [`AuthService`]s that share one authorizer (one token, one renewal at a time).
///
/// Clones share the authorizer too: give each API its clone with its own
/// [`only_under`](Self::only_under).
///
/// ```
/// use grantline_tower::{AuthLayer, grantline::{api::BaseUrl, token_manager::TokenManager}};
/// let layer = AuthLayer::new(TokenManager::bearer("at")?)
///     .only_under(BaseUrl::new("https://api.example/v1")?)
///     .body_limit(64 * 1024)
///     .timeout(std::time::Duration::from_secs(10));
/// # let _ = layer;
/// # Ok::<(), grantline_tower::grantline::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct AuthLayer {
    shared: Arc<Shared>,
    config: Arc<Config>,
}

#[derive(Debug)]
struct Shared {
    authorizer: Mutex<Authorizer>,
    /// Woken when a renewal ends (finished or abandoned).
    renewed: Notify,
}

#[derive(Clone, Debug)]
struct Config {
    only_under: Option<BaseUrl>,
    body_limit: usize,
    timeout: Duration,
    /// Where a fleet's token is shared ([`AuthLayer::store`]).
    store: Option<Arc<dyn AsyncStore>>,
}

impl AuthLayer {
    /// A layer for `manager`'s tokens, with the authorizer's defaults (tokens only to https or
    /// loopback URLs, a 60 s bound on waiting for a renewal).
    ///
    /// ```
    /// # use grantline_tower::{AuthLayer, grantline::{Client, token_manager::TokenManager}};
    /// let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let layer = AuthLayer::new(TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?);
    /// # let _ = layer;
    /// # Ok::<(), grantline_tower::grantline::Error>(())
    /// ```
    #[must_use]
    pub fn new(manager: TokenManager) -> Self {
        Self::with_authorizer(Authorizer::new(manager))
    }

    /// A layer on a configured authorizer: another renewal bound, or
    /// [`insecure_http`](Authorizer::insecure_http) for a test network.
    ///
    /// ```
    /// use grantline_tower::{AuthLayer, grantline::{authorizer::Authorizer, token_manager::TokenManager}};
    /// let authorizer = Authorizer::new(TokenManager::bearer("at")?)
    ///     .renewal_bound(std::time::Duration::from_secs(20))
    ///     .insecure_http();
    /// let layer = AuthLayer::with_authorizer(authorizer);
    /// # let _ = layer;
    /// # Ok::<(), grantline_tower::grantline::Error>(())
    /// ```
    #[must_use]
    pub fn with_authorizer(authorizer: Authorizer) -> Self {
        let shared = Shared {
            authorizer: Mutex::new(authorizer),
            renewed: Notify::new(),
        };
        let config = Config {
            only_under: None,
            body_limit: DEFAULT_BODY_LIMIT,
            timeout: DEFAULT_TIMEOUT,
            store: None,
        };
        Self {
            shared: Arc::new(shared),
            config: Arc::new(config),
        }
    }

    /// Puts the token only on requests to URLs under `base`; others are sent as they are.
    ///
    /// ```
    /// # use grantline_tower::{AuthLayer, grantline::{api::BaseUrl, token_manager::TokenManager}};
    /// let layer = AuthLayer::new(TokenManager::bearer("at")?).only_under(BaseUrl::new("https://api.example/v1")?);
    /// # let _ = layer;
    /// # Ok::<(), grantline_tower::grantline::Error>(())
    /// ```
    #[must_use]
    pub fn only_under(mut self, base: BaseUrl) -> Self {
        Arc::make_mut(&mut self.config).only_under = Some(base);
        self
    }

    /// Sets how much of a token response is read (default [`DEFAULT_BODY_LIMIT`]).
    ///
    /// ```
    /// # use grantline_tower::{AuthLayer, grantline::token_manager::TokenManager};
    /// let layer = AuthLayer::new(TokenManager::bearer("at")?).body_limit(64 * 1024);
    /// # let _ = layer;
    /// # Ok::<(), grantline_tower::grantline::Error>(())
    /// ```
    #[must_use]
    pub fn body_limit(mut self, limit: usize) -> Self {
        Arc::make_mut(&mut self.config).body_limit = limit;
        self
    }

    /// Sets how long one token request may take (default [`DEFAULT_TIMEOUT`]).
    ///
    /// ```
    /// # use grantline_tower::{AuthLayer, grantline::token_manager::TokenManager};
    /// let layer = AuthLayer::new(TokenManager::bearer("at")?).timeout(std::time::Duration::from_secs(5));
    /// # let _ = layer;
    /// # Ok::<(), grantline_tower::grantline::Error>(())
    /// ```
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        Arc::make_mut(&mut self.config).timeout = timeout;
        self
    }

    /// Shares renewals with every replica of the service through `store` (a
    /// `grantline_redis::RedisStore`, say): one token request per renewal for the whole fleet.
    /// The authorizer must [share](Authorizer::share) its tokens; see [`grantline::fleet`].
    /// When the store fails, renewals go on in this process.
    ///
    /// ```
    /// use grantline_tower::{AuthLayer, grantline::{Client, authorizer::Authorizer, fleet::Fleet}};
    /// use grantline_tower::grantline::{grant::TokenRequest, testing::MemoryStore, token_manager::TokenManager};
    /// let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let authorizer = Authorizer::new(TokenManager::grant(client, TokenRequest::client_credentials())?)
    ///     .share(Fleet::new())?;
    /// let layer = AuthLayer::with_authorizer(authorizer).store(MemoryStore::new());
    /// # let _ = layer;
    /// # Ok::<(), grantline_tower::grantline::Error>(())
    /// ```
    #[must_use]
    pub fn store(mut self, store: impl AsyncStore + 'static) -> Self {
        Arc::make_mut(&mut self.config).store = Some(Arc::new(store));
        self
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Authorizer> {
        // A panic while the lock was held (in an `on_renewed` callback, say) leaves the
        // authorizer consistent: its transitions are single assignments.
        self.authorizer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Abandons the renewal of its ticket if it was not finished (the future was dropped, or the run
/// panicked), and wakes the waiters in every case.
struct Abandon<'a>(&'a Shared, Ticket);

impl Drop for Abandon<'_> {
    fn drop(&mut self) {
        self.0.lock().abandon(self.1, Now::system());
        self.0.renewed.notify_waiters();
    }
}

impl<S: Clone> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService {
            renewals: inner.clone(),
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`AuthLayer`] makes: authorizes each request, then sends it through `S`;
/// renewals go through `R` (by default `S` itself).
///
/// **Requests.** `S` takes `http::Request<B>` for any body `B`. A request is resent (after a
/// `401` `invalid_token`, or `use_dpop_nonce`) only when its body can be copied: `Full<Bytes>`,
/// `Empty<Bytes>`, `Bytes`, `String` and `()` are copied before the first send (with the
/// request's head); any other body (streamed, boxed, tonic's) is sent once, and its `401` is
/// handed to the caller (the refused token is dropped, so the next request renews).
///
/// **Renewals** are `http::Request<Full<Bytes>>`: through `S` when it takes those (a
/// `hyper_util` `Client<_, Full<Bytes>>`), otherwise through a service given to
/// [`renew_through`](Self::renew_through).
///
/// **Errors** are [`ApiError`]: `Auth` when no token could be had (the renewal's error, shared
/// by every request that waited for it; a URL the token may not go to; the wait bound), and
/// nothing was sent; `Transport` when `S` failed (its error is the
/// [`source`](std::error::Error::source)). [`ApiError::is_timeout`] and
/// [`ApiError::oauth_code`] answer the usual questions.
///
/// ```no_run
/// use grantline_tower::{ApiError, AuthLayer, grantline::token_manager::TokenManager};
/// use http_body_util::Full;
/// use hyper_util::{client::legacy::{Client, connect::HttpConnector}, rt::TokioExecutor};
/// use tower::{Layer, ServiceExt};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let http = Client::builder(TokioExecutor::new()).build::<_, Full<bytes::Bytes>>(HttpConnector::new());
/// let api = AuthLayer::new(TokenManager::bearer("at")?).layer(http);
/// let request = http::Request::get("http://127.0.0.1:8080/v1/items").body(Full::default())?;
/// match api.oneshot(request).await {
///     Ok(response) => println!("{}", response.status()),
///     Err(ApiError::Auth(e)) => eprintln!("no token: {e}"),
///     Err(e) if e.is_timeout() => eprintln!("timed out"),
///     Err(e) => eprintln!("{e}"),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct AuthService<S, R = S> {
    inner: S,
    renewals: R,
    layer: AuthLayer,
}

impl<S, R> AuthService<S, R> {
    /// Sends renewals through `renewals` instead: for a service that cannot reach the
    /// authorization server (a tonic `Channel`) or does not take `Full<Bytes>` bodies.
    ///
    /// ```
    /// use grantline_tower::{AuthLayer, grantline::token_manager::TokenManager};
    /// use http_body_util::Full;
    /// use hyper_util::{client::legacy::{Client, connect::HttpConnector}, rt::TokioExecutor};
    /// use tower::Layer;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), grantline_tower::grantline::Error> {
    /// let api = Client::builder(TokioExecutor::new()).build::<_, String>(HttpConnector::new());
    /// let renewals = Client::builder(TokioExecutor::new()).build::<_, Full<bytes::Bytes>>(HttpConnector::new());
    /// let service = AuthLayer::new(TokenManager::bearer("at")?).layer(api).renew_through(renewals);
    /// # let _ = service;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn renew_through<T>(self, renewals: T) -> AuthService<S, T> {
        AuthService {
            inner: self.inner,
            renewals,
            layer: self.layer,
        }
    }
}

impl<S, R, B, SB, RB> Service<Request<B>> for AuthService<S, R>
where
    S: Service<Request<B>, Response = Response<SB>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send,
    R: Service<Request<Full<Bytes>>, Response = Response<RB>> + Clone + Send + 'static,
    R::Error: Into<BoxError>,
    R::Future: Send,
    RB: Body + Send + 'static,
    RB::Data: Send,
    RB::Error: Into<BoxError>,
    B: Send + 'static,
    SB: 'static,
{
    type Response = Response<SB>;
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<SB>, ApiError>> + Send>>;

    /// Always ready: the wrapped service's readiness is awaited in the call, on the clone that
    /// sends (the request may first wait for a renewal).
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), ApiError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let (inner, renewals) = (self.inner.clone(), self.renewals.clone());
        Box::pin(call(self.layer.clone(), inner, renewals, request))
    }
}

async fn call<S, R, B, SB, RB>(
    layer: AuthLayer,
    mut inner: S,
    renewals: R,
    mut request: Request<B>,
) -> Result<Response<SB>, ApiError>
where
    S: Service<Request<B>, Response = Response<SB>>,
    S::Error: Into<BoxError>,
    R: Service<Request<Full<Bytes>>, Response = Response<RB>, Error: Into<BoxError>> + Clone,
    RB: Body<Error: Into<BoxError>>,
    B: 'static,
{
    let (method, uri) = (request.method().clone(), request.uri().clone());
    let mut again = copy(&request);
    let mut attempt = (layer.config.only_under.as_ref())
        .map_or_else(Attempt::new, |base| Attempt::new().only_under(base));
    if again.is_none() {
        attempt = attempt.not_replayable();
    }
    loop {
        let target = Target::new(&method, &uri);
        // The authorizer's answer, taken under the lock; `None`: send the request now.
        let next = {
            let mut authorizer = layer.shared.lock();
            match authorizer.authorize(&mut attempt, target, Now::system())? {
                Authorize::Attach(authorization) => {
                    authorization.apply(request.headers_mut());
                    None
                }
                Authorize::Skip => None,
                Authorize::Renew(renewal, ticket) => Some(Ok((renewal, ticket))),
                // `notified` is made under the lock, so a renewal that ends at once still wakes
                // it (`notify_waiters` reaches every `Notified` already made).
                Authorize::Wait(_, at_most) => {
                    Some(Err((layer.shared.renewed.notified(), at_most)))
                }
            }
        };
        match next {
            Some(Ok((renewal, ticket))) => {
                let _abandon = Abandon(&layer.shared, ticket);
                let shared = layer.shared.lock().shared_renewal(renewal, Now::system());
                let (source, config) = (renewals.clone(), Arc::clone(&layer.config));
                let renew = move |r| run(Run::new(r), source.clone(), Arc::clone(&config));
                let store = layer.config.store.as_deref();
                let result = shared.run_async(store, Now::system, renew, tokio::time::sleep);
                let result = result.await;
                layer.shared.lock().finish(ticket, result, Now::system());
                continue;
            }
            Some(Err((renewed, at_most))) => {
                let _ = tokio::time::timeout(at_most, renewed).await;
                continue;
            }
            None => {}
        }
        poll_fn(|cx| inner.poll_ready(cx))
            .await
            .map_err(TransportError::from_io_chain)?;
        let response = inner
            .call(request)
            .await
            .map_err(TransportError::from_io_chain)?;
        let (status, headers) = (response.status(), response.headers());
        let after = layer
            .shared
            .lock()
            .after_response(&mut attempt, target, status, headers);
        match (after, again.take()) {
            (AfterResponse::Resend, Some(copy)) => request = copy,
            _ => return Ok(response),
        }
    }
}

/// A copy of `request` for a resend, if its body is one of the types that can be copied.
fn copy<B: 'static>(request: &Request<B>) -> Option<Request<B>> {
    fn clone_as<T: Clone + 'static>(body: &dyn Any) -> Option<Box<dyn Any>> {
        body.downcast_ref::<T>()
            .map(|b| Box::new(b.clone()) as Box<dyn Any>)
    }
    let body: &dyn Any = request.body();
    let body = clone_as::<Full<Bytes>>(body)
        .or_else(|| clone_as::<Empty<Bytes>>(body))
        .or_else(|| clone_as::<Bytes>(body))
        .or_else(|| clone_as::<String>(body))
        .or_else(|| clone_as::<()>(body))?;
    let mut copy = Request::new(*body.downcast::<B>().ok()?);
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    *copy.extensions_mut() = request.extensions().clone();
    Some(copy)
}

/// The run loop on tokio: [`Run`] does the rules, this adds the sleep and the I/O.
async fn run<F, R, RB>(
    mut run: Run<F>,
    mut service: R,
    config: Arc<Config>,
) -> Result<F::Output, Error>
where
    F: Flow,
    R: Service<Request<Full<Bytes>>, Response = Response<RB>, Error: Into<BoxError>>,
    RB: Body<Error: Into<BoxError>>,
{
    loop {
        match run.next(Now::system())? {
            Step::Send(request) => {
                let result =
                    tokio::time::timeout(config.timeout, send(&mut service, request, &config))
                        .await
                        .unwrap_or_else(|_| Err(TransportError::new(TransportErrorKind::Timeout)));
                run.handle(result, Now::system())?;
            }
            Step::Wait(duration) => tokio::time::sleep(duration).await,
            Step::Done(output) => return Ok(output),
        }
    }
}

/// One token request through `service`, its answer read up to the limit.
async fn send<R, RB>(
    service: &mut R,
    request: Request<Vec<u8>>,
    config: &Config,
) -> Result<Response<Vec<u8>>, TransportError>
where
    R: Service<Request<Full<Bytes>>, Response = Response<RB>, Error: Into<BoxError>>,
    RB: Body<Error: Into<BoxError>>,
{
    poll_fn(|cx| service.poll_ready(cx))
        .await
        .map_err(TransportError::from_io_chain)?;
    let request = request.map(|body| Full::new(Bytes::from(body)));
    let (parts, body) = service
        .call(request)
        .await
        .map_err(TransportError::from_io_chain)?
        .into_parts();
    let body = Limited::new(body, config.body_limit)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<LengthLimitError>() {
                let limit = u64::try_from(config.body_limit).unwrap_or(u64::MAX);
                TransportError::new(TransportErrorKind::BodyTooLarge { limit })
            } else {
                TransportError::from_io_chain(e)
            }
        })?;
    Ok(Response::from_parts(parts, body.to_bytes().into()))
}
