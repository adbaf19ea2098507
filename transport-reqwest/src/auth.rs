//! The auth handler: a [`TokenManager`] shared between tasks, with single-flight renewal, and
//! [`AuthClient`], a `reqwest::Client` that puts its token on every request.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use grantline::token_manager::{Access, DpopProofs, Renewal, Resend, TokenManager, resend_reason};
use grantline::{Now, TokenResponse};
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use tokio::sync::watch;

use crate::{Error, Transport, TransportError};

/// Keeps a token fresh for any number of tasks: the async auth handler.
///
/// It holds a [`TokenManager`] (which decides) and a [`Transport`] (which sends the renewals, with
/// its no-redirect and body-size guarantees). [`header`](Self::header) is the hot path: a short
/// lock (never held across an `.await`), a clock read and a reference-counted clone of a
/// ready-made header value; it completes without suspending when the token is cached.
///
/// **Single flight.** When many tasks find the token expired at once, exactly one of them sends
/// the token request; the others wait (asynchronously: no runtime thread is blocked) and all of
/// them get its result: the new header, or the same error (shared, as an [`AuthError`]). The next
/// call after a failure tries again. If the renewing task is cancelled (its future dropped), a
/// waiting task takes over. While a token inside its leeway is renewed, the other tasks keep
/// using it and do not wait.
///
/// Use it through [`ApiClient`](crate::ApiClient) or [`AuthClient`] (both also renew and resend
/// once on a `401` `invalid_token`), as `reqwest-middleware` middleware (feature
/// `reqwest-middleware`), or call [`header`](Self::header) yourself. Cloning is cheap: clones
/// share the token.
///
/// ```no_run
/// use grantline_reqwest::{ApiClient, Auth, Transport};
/// use grantline_reqwest::grantline::{Client, token_manager::TokenManager};
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::builder("my-service")
///     .token_endpoint("https://as.example/oauth2/token")
///     .client_secret_basic("s3cr3t")
///     .build()?;
/// let auth = Auth::new(Transport::new()?, TokenManager::client_credentials(client)?);
/// let api = ApiClient::new("https://api.example/v1")?.auth(auth);
/// let status = api.get("health").send().await?.status();
/// # let _ = status;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Auth {
    shared: Arc<Shared>,
}

struct Shared {
    transport: Transport,
    state: Mutex<State>,
    /// Proofs for `DPoP` tokens, when the manager's client has a DPoP key.
    dpop: Option<DpopProofs>,
}

/// The `DPoP` request header (RFC 9449 §4.1).
const DPOP: HeaderName = HeaderName::from_static("dpop");

struct State {
    manager: TokenManager,
    /// The renewal under way, for the tasks that wait on it.
    flight: Option<Arc<Flight>>,
}

/// One renewal, as seen by the tasks waiting for it.
struct Flight {
    outcome: watch::Sender<Option<Outcome>>,
}

#[derive(Clone)]
enum Outcome {
    Renewed(HeaderValue),
    Failed(AuthError),
    /// The renewing task was cancelled or panicked: ask the manager again.
    Abandoned,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("transport", &self.shared.transport)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere (in the persistence callback, say) leaves the manager consistent: its
    // transitions are single assignments.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a caller does after asking the manager, decided under the lock and done after it.
// Lives for one turn of a loop, like `Step`.
#[allow(clippy::large_enum_variant)]
enum Next {
    Renew(Renewal, Arc<Flight>),
    Wait(Option<watch::Receiver<Option<Outcome>>>),
}

impl Auth {
    /// An auth handler that renews `manager`'s tokens through `transport`.
    ///
    /// ```
    /// use grantline_reqwest::{Auth, Transport, grantline::token_manager::TokenManager};
    /// let auth = Auth::new(Transport::new()?, TokenManager::bearer("static-token")?);
    /// # let _ = auth;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn new(transport: Transport, manager: TokenManager) -> Self {
        Self {
            shared: Arc::new(Shared {
                dpop: manager.dpop_proofs(),
                transport,
                state: Mutex::new(State {
                    manager,
                    flight: None,
                }),
            }),
        }
    }

    /// The `Authorization` header value to send now: the cached one, or a new one after a
    /// renewal (this task's, or the one another task is running).
    ///
    /// The value is marked sensitive. On the hot path (a cached token) the future completes at
    /// its first poll and allocates nothing.
    ///
    /// # Errors
    ///
    /// An [`AuthError`] when the renewal failed: the authorization server's error, or no answer
    /// from it. Every task that waited for that renewal gets the same error.
    ///
    /// ```no_run
    /// use grantline_reqwest::{Auth, Transport, grantline::{Client, token_manager::TokenManager}};
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let auth = Auth::new(Transport::new()?, TokenManager::client_credentials(client)?);
    /// let response = grantline_reqwest::reqwest::Client::new()
    ///     .get("https://api.example/v1/items")
    ///     .header("authorization", auth.header().await?)
    ///     .send()
    ///     .await?;
    /// # let _ = response;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn header(&self) -> Result<HeaderValue, AuthError> {
        loop {
            let now = self.shared.transport.now();
            let next = {
                let mut state = lock(&self.shared.state);
                match state.manager.access(now) {
                    Access::Ready(header) => return Ok(header),
                    Access::Renew(renewal) => {
                        let (outcome, _) = watch::channel(None);
                        let flight = Arc::new(Flight { outcome });
                        state.flight = Some(Arc::clone(&flight));
                        Next::Renew(renewal, flight)
                    }
                    Access::Wait => {
                        Next::Wait(state.flight.as_ref().map(|f| f.outcome.subscribe()))
                    }
                }
            };
            match next {
                Next::Renew(renewal, flight) => return self.renew(renewal, &flight).await,
                Next::Wait(Some(mut outcome)) => {
                    let outcome = match outcome.wait_for(Option::is_some).await {
                        Ok(value) => value.clone(),
                        Err(_) => Some(Outcome::Abandoned),
                    };
                    match outcome {
                        Some(Outcome::Renewed(header)) => return Ok(header),
                        Some(Outcome::Failed(error)) => return Err(error),
                        Some(Outcome::Abandoned) | None => {}
                    }
                }
                // Cannot happen (a renewal under way always has its flight); ask again.
                Next::Wait(None) => std::thread::yield_now(),
            }
        }
    }

    /// Runs `renewal` in this task and shares its outcome with the waiting ones.
    async fn renew(&self, renewal: Renewal, flight: &Flight) -> Result<HeaderValue, AuthError> {
        let mut guard = AbandonOnDrop {
            auth: self,
            flight,
            armed: true,
        };
        let result = self.shared.transport.run(renewal).await;
        let now = self.shared.transport.now();
        let outcome = {
            let mut state = lock(&self.shared.state);
            let outcome = match result {
                Ok(token) => state
                    .manager
                    .complete(token, now)
                    .map_err(|e| AuthError::new(Error::Flow(e))),
                Err(e) => Err(AuthError::new(e)),
            };
            let outcome = outcome.or_else(|error| {
                // A token still valid (the renewal started inside the leeway) is better than
                // an error; the next call tries again.
                state.manager.renewal_failed(now).ok_or(error)
            });
            state.flight = None;
            outcome
        };
        guard.armed = false;
        flight.outcome.send_replace(Some(match &outcome {
            Ok(header) => Outcome::Renewed(header.clone()),
            Err(error) => Outcome::Failed(error.clone()),
        }));
        outcome
    }

    /// Records that a resource server refused `header` with a `401` `invalid_token`; returns
    /// whether another token can be had (then [`header`](Self::header) renews, once, however
    /// many tasks report the same refusal).
    ///
    /// ```
    /// use grantline_reqwest::{Auth, Transport, grantline::token_manager::TokenManager};
    /// # let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    /// let auth = Auth::new(Transport::new()?, TokenManager::bearer("static")?);
    /// let header = runtime.block_on(auth.header())?;
    /// assert!(!auth.reject(&header), "a fixed token cannot be replaced");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reject(&self, header: &HeaderValue) -> bool {
        lock(&self.shared.state).manager.reject(header)
    }

    /// The `DPoP` header to send with `header` on a `method` request to `uri`: a fresh proof
    /// (new `jti`, `iat` from the transport's clock, `ath` of the token, the server's last
    /// nonce) when `header` is a `DPoP` one, `None` for a `Bearer` token. Call it for every
    /// request, including a resend: a proof is good for one request only.
    ///
    /// # Errors
    ///
    /// An [`AuthError`] when the proof cannot be made (a `uri` that is not an absolute http(s)
    /// URL, a signer that fails).
    ///
    /// ```
    /// use grantline_reqwest::{Auth, Transport, grantline::token_manager::TokenManager, http};
    /// let auth = Auth::new(Transport::new()?, TokenManager::bearer("static")?);
    /// let header = http::HeaderValue::from_static("Bearer static");
    /// assert!(auth.dpop_proof(&header, "GET", "https://api.example/v1/items")?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dpop_proof(
        &self,
        header: &HeaderValue,
        method: &str,
        uri: &str,
    ) -> Result<Option<HeaderValue>, AuthError> {
        match &self.shared.dpop {
            None => Ok(None),
            Some(proofs) => proofs
                .proof(header, method, uri, self.now())
                .map_err(|e| AuthError::new(Error::Flow(e))),
        }
    }

    /// Puts the token on `request`: `Authorization`, and for a `DPoP` token a fresh `DPoP`
    /// proof (any `DPoP` header already there is removed otherwise). Returns the
    /// `Authorization` value, for [`after_response`](Self::after_response).
    pub(crate) async fn authorize(
        &self,
        request: &mut reqwest::Request,
    ) -> Result<HeaderValue, AuthError> {
        let header = self.header().await?;
        let proof = self.dpop_proof(&header, request.method().as_str(), request.url().as_str())?;
        let headers = request.headers_mut();
        match proof {
            Some(proof) => {
                headers.insert(DPOP, proof);
            }
            None => {
                if self.shared.dpop.is_some() {
                    headers.remove(DPOP);
                }
            }
        }
        headers.insert(AUTHORIZATION, header.clone());
        Ok(header)
    }

    /// Looks at the answer to a request to `uri` sent with `header`, and says whether sending it
    /// once more (with a new [`header`](Self::header) and [`dpop_proof`](Self::dpop_proof)) can
    /// change that answer:
    ///
    /// - a `DPoP-Nonce` in any response (a success too) is remembered for that server;
    /// - a `401` `invalid_token` ([`Bearer` or `DPoP`](grantline::token_manager::resend_reason))
    ///   [rejects](Self::reject) the token: `true` if another one can be had;
    /// - a `401` `DPoP error="use_dpop_nonce"` to a `DPoP` token: `true` (the nonce it gave is
    ///   now remembered).
    ///
    /// Resend once at most, and only a body that can be sent again.
    ///
    /// ```
    /// use grantline_reqwest::{Auth, Transport, grantline::token_manager::TokenManager, http};
    /// let auth = Auth::new(Transport::new()?, TokenManager::bearer("static")?);
    /// let header = http::HeaderValue::from_static("Bearer static");
    /// let ok = http::HeaderMap::new();
    /// assert!(!auth.after_response(&header, "https://api.example/", http::StatusCode::OK, &ok));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn after_response(
        &self,
        header: &HeaderValue,
        uri: &str,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> bool {
        if let Some(proofs) = &self.shared.dpop {
            proofs.remember_nonce(uri, headers);
        }
        match resend_reason(status, headers) {
            Some(Resend::InvalidToken) => self.reject(header),
            Some(Resend::UseDpopNonce) => {
                self.shared.dpop.is_some() && header.as_bytes().starts_with(b"DPoP ")
            }
            _ => false,
        }
    }

    /// Makes the next [`header`](Self::header) renew the token (after a change of permissions,
    /// say). Returns whether a renewal is possible.
    ///
    /// ```
    /// use grantline_reqwest::{Auth, Transport, grantline::token_manager::TokenManager};
    /// let auth = Auth::new(Transport::new()?, TokenManager::bearer("static")?);
    /// assert!(!auth.invalidate());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn invalidate(&self) -> bool {
        lock(&self.shared.state).manager.invalidate()
    }

    /// A copy of the current token (to inspect its scope or expiry), if there is one yet.
    ///
    /// ```
    /// use grantline_reqwest::{Auth, Transport, grantline::token_manager::TokenManager};
    /// let auth = Auth::new(Transport::new()?, TokenManager::bearer("static")?);
    /// assert!(auth.token().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn token(&self) -> Option<TokenResponse> {
        lock(&self.shared.state).manager.token().cloned()
    }

    /// The time on the transport's clock (what token expiry is compared with).
    ///
    /// ```
    /// use grantline_reqwest::{Auth, Transport, grantline::token_manager::TokenManager};
    /// let auth = Auth::new(Transport::new()?, TokenManager::bearer("static")?);
    /// let _now = auth.now();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn now(&self) -> Now {
        self.shared.transport.now()
    }

    /// Sends `request` with the token (and a DPoP proof for a DPoP token), and on a `401`
    /// `invalid_token` (renewed first) or `use_dpop_nonce` sends it once more, with a new proof,
    /// if it can be replayed (a copy is made before the first send).
    pub(crate) async fn execute(
        &self,
        client: &reqwest::Client,
        mut request: reqwest::Request,
    ) -> Result<reqwest::Response, SendError> {
        let replay = request.try_clone();
        let header = self
            .authorize(&mut request)
            .await
            .map_err(SendError::Auth)?;
        let url = request.url().clone();
        let response = client.execute(request).await.map_err(SendError::Http)?;
        if !self.after_response(&header, url.as_str(), response.status(), response.headers()) {
            return Ok(response);
        }
        match replay {
            Some(mut retry) => {
                let header = self.authorize(&mut retry).await.map_err(SendError::Auth)?;
                let response = client.execute(retry).await.map_err(SendError::Http)?;
                // Only to remember a nonce and mark a refused token: no second resend.
                let _ = self.after_response(
                    &header,
                    url.as_str(),
                    response.status(),
                    response.headers(),
                );
                Ok(response)
            }
            // A streamed body is gone: the 401 goes back, and the next request renews first.
            None => Ok(response),
        }
    }
}

/// What [`Auth::execute`] fails with, before it is mapped to the caller's error type.
pub(crate) enum SendError {
    Auth(AuthError),
    Http(reqwest::Error),
}

/// Publishes `Abandoned` if the renewing task is cancelled or panics, so the waiting ones take
/// over instead of waiting forever.
struct AbandonOnDrop<'a> {
    auth: &'a Auth,
    flight: &'a Flight,
    armed: bool,
}

impl Drop for AbandonOnDrop<'_> {
    fn drop(&mut self) {
        if self.armed {
            let now = self.auth.shared.transport.now();
            {
                let mut state = lock(&self.auth.shared.state);
                let _ = state.manager.renewal_failed(now);
                state.flight = None;
            }
            self.flight.outcome.send_replace(Some(Outcome::Abandoned));
        }
    }
}

/// Why no token could be had: the renewal's error, shared by every task that waited for it.
///
/// `Display` and [`source`](std::error::Error::source) are the inner [`Error`]'s.
///
/// ```
/// use grantline_reqwest::{AuthError, Error, grantline};
///
/// fn explain(e: &AuthError) -> &'static str {
///     match e.error() {
///         Error::Flow(grantline::Error::OAuth(_)) => "the authorization server refused",
///         Error::Transport(_) => "the authorization server did not answer",
///         _ => "something else",
///     }
/// }
/// # let _ = explain;
/// ```
#[derive(Clone)]
pub struct AuthError(Arc<Error>);

impl AuthError {
    fn new(error: Error) -> Self {
        Self(Arc::new(error))
    }

    /// The renewal's error.
    ///
    /// ```no_run
    /// # fn f(e: grantline_reqwest::AuthError) {
    /// if let grantline_reqwest::Error::Flow(flow) = e.error() {
    ///     eprintln!("{flow}");
    /// }
    /// # }
    /// ```
    #[must_use]
    pub fn error(&self) -> &Error {
        &self.0
    }
}

impl fmt::Debug for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AuthError").field(&self.0).finish()
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for AuthError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// A `reqwest::Client` that authenticates every request with an [`Auth`]: the token is
/// attached (replacing any `Authorization` header), renewed before it expires with single flight
/// across tasks, and after a `401` `invalid_token` the token is renewed once and the request
/// resent once, if [`reqwest::Request::try_clone`] can copy it (a streamed body cannot: its `401`
/// is returned, and the next request renews first).
///
/// The client is yours, with its redirect policy: reqwest drops the `Authorization` header when a
/// redirect leaves the origin. For an API confined to a base URL, use
/// [`ApiClient`](crate::ApiClient).
///
/// ```no_run
/// use grantline_reqwest::{Auth, AuthClient, Transport, reqwest};
/// use grantline_reqwest::grantline::{Client, token_manager::TokenManager};
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
/// let auth = Auth::new(Transport::new()?, TokenManager::client_credentials(client)?);
/// let http = AuthClient::new(reqwest::Client::new(), auth);
/// let response = http.send(http.get("https://api.example/v1/items")).await?;
/// # let _ = response;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct AuthClient {
    client: reqwest::Client,
    auth: Auth,
}

impl AuthClient {
    /// Wraps `client`; every request sent through the wrapper carries `auth`'s token.
    ///
    /// ```
    /// use grantline_reqwest::{Auth, AuthClient, Transport, grantline::token_manager::TokenManager, reqwest};
    /// let auth = Auth::new(Transport::new()?, TokenManager::bearer("t")?);
    /// let http = AuthClient::new(reqwest::Client::new(), auth);
    /// # let _ = http;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn new(client: reqwest::Client, auth: Auth) -> Self {
        Self { client, auth }
    }

    /// The wrapped client (requests sent on it directly carry no token).
    ///
    /// ```
    /// # use grantline_reqwest::{Auth, AuthClient, Transport, grantline::token_manager::TokenManager, reqwest};
    /// # let http = AuthClient::new(reqwest::Client::new(), Auth::new(Transport::new()?, TokenManager::bearer("t")?));
    /// let _inner: &reqwest::Client = http.client();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The auth handler.
    ///
    /// ```
    /// # use grantline_reqwest::{Auth, AuthClient, Transport, grantline::token_manager::TokenManager, reqwest};
    /// # let http = AuthClient::new(reqwest::Client::new(), Auth::new(Transport::new()?, TokenManager::bearer("t")?));
    /// assert!(http.auth().token().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// A request builder on the wrapped client; send it with [`send`](Self::send) to
    /// authenticate it.
    ///
    /// ```
    /// # use grantline_reqwest::{Auth, AuthClient, Transport, grantline::token_manager::TokenManager, reqwest};
    /// # let http = AuthClient::new(reqwest::Client::new(), Auth::new(Transport::new()?, TokenManager::bearer("t")?));
    /// let builder = http.request(reqwest::Method::PUT, "https://api.example/v1/items/7");
    /// # let _ = builder;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn request<U: reqwest::IntoUrl>(
        &self,
        method: reqwest::Method,
        url: U,
    ) -> reqwest::RequestBuilder {
        self.client.request(method, url)
    }

    /// A `GET` builder on the wrapped client (see [`request`](Self::request)).
    ///
    /// ```
    /// # use grantline_reqwest::{Auth, AuthClient, Transport, grantline::token_manager::TokenManager, reqwest};
    /// # let http = AuthClient::new(reqwest::Client::new(), Auth::new(Transport::new()?, TokenManager::bearer("t")?));
    /// let builder = http.get("https://api.example/v1/items");
    /// # let _ = builder;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get<U: reqwest::IntoUrl>(&self, url: U) -> reqwest::RequestBuilder {
        self.client.get(url)
    }

    /// A `POST` builder on the wrapped client (see [`request`](Self::request)).
    ///
    /// ```
    /// # use grantline_reqwest::{Auth, AuthClient, Transport, grantline::token_manager::TokenManager, reqwest};
    /// # let http = AuthClient::new(reqwest::Client::new(), Auth::new(Transport::new()?, TokenManager::bearer("t")?));
    /// let builder = http.post("https://api.example/v1/items").body("{}");
    /// # let _ = builder;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn post<U: reqwest::IntoUrl>(&self, url: U) -> reqwest::RequestBuilder {
        self.client.post(url)
    }

    /// Builds `builder` and [`execute`](Self::execute)s it.
    ///
    /// # Errors
    ///
    /// As [`execute`](Self::execute); a builder that does not build is
    /// [`AuthClientError::Transport`].
    ///
    /// ```no_run
    /// # use grantline_reqwest::{Auth, AuthClient, Transport, grantline::token_manager::TokenManager, reqwest};
    /// # async fn f(http: AuthClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let status = http.send(http.get("https://api.example/v1/items")).await?.status();
    /// # let _ = status;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send(
        &self,
        builder: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, AuthClientError> {
        let request = builder
            .build()
            .map_err(|e| AuthClientError::Transport(TransportError::from_request(e)))?;
        self.execute(request).await
    }

    /// Sends `request` with the token; on a `401` `invalid_token`, renews and resends once if
    /// the request can be copied. Every status comes back as a response.
    ///
    /// # Errors
    ///
    /// [`AuthClientError::Auth`] when no token could be had, [`AuthClientError::Transport`] when
    /// the request got no answer.
    ///
    /// ```no_run
    /// # use grantline_reqwest::{AuthClient, reqwest};
    /// # async fn f(http: AuthClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let request = reqwest::Request::new(reqwest::Method::GET, "https://api.example/v1/items".parse()?);
    /// let response = http.execute(request).await?;
    /// # let _ = response;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn execute(
        &self,
        request: reqwest::Request,
    ) -> Result<reqwest::Response, AuthClientError> {
        self.auth
            .execute(&self.client, request)
            .await
            .map_err(|e| match e {
                SendError::Auth(e) => AuthClientError::Auth(e),
                SendError::Http(e) => AuthClientError::Transport(TransportError::from_request(e)),
            })
    }
}

/// What [`AuthClient`] can fail with.
///
/// ```
/// fn is_auth_problem(e: &grantline_reqwest::AuthClientError) -> bool {
///     matches!(e, grantline_reqwest::AuthClientError::Auth(_))
/// }
/// # let _ = is_auth_problem;
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthClientError {
    /// No token could be had: the renewal failed.
    Auth(AuthError),
    /// The request got no answer (connection, TLS, timeout), or could not be built.
    Transport(TransportError),
}

impl fmt::Display for AuthClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthClientError::Auth(e) => write!(f, "no access token: {e}"),
            AuthClientError::Transport(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for AuthClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AuthClientError::Auth(e) => Some(e),
            AuthClientError::Transport(e) => Some(e),
        }
    }
}

impl From<AuthClientError> for crate::ApiError {
    fn from(e: AuthClientError) -> Self {
        match e {
            AuthClientError::Auth(e) => crate::ApiError::Auth(e),
            AuthClientError::Transport(e) => crate::ApiError::Transport(e),
        }
    }
}
