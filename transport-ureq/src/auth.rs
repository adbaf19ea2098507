//! The auth handler: a [`TokenManager`] shared between threads, with single-flight renewal, and
//! the ureq middleware that puts its token on every request of an agent.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use grantline::api::BaseUrl;
use grantline::token_manager::{Access, DpopProofs, Renewal, Resend, TokenManager, resend_reason};
use grantline::{Flow, Now, Recovery, Step, TokenResponse};
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use ureq::middleware::{Middleware, MiddlewareNext};
use ureq::{Body, SendBody};

use crate::{Error, Transport};

/// Keeps a token fresh for any number of threads: the blocking auth handler.
///
/// It holds a [`TokenManager`] (which decides) and a [`Transport`] (which sends the renewals, with
/// its no-redirect and body-size guarantees). [`header`](Self::header) is the hot path: a lock,
/// a clock read and a reference-counted clone of a ready-made header value.
///
/// **Single flight.** When many threads find the token expired at once, exactly one of them
/// sends the token request; the others block on a condition variable until it is done, and all
/// of them get its result: the new header, or the same error (shared, as an [`AuthError`]). The
/// next call after a failure tries again. While a token inside its leeway is renewed, the other
/// threads keep using it and do not wait.
///
/// Use it through [`ApiClient`](crate::ApiClient) (which also renews and retries once on a `401`
/// `invalid_token`), as [`middleware`](Self::middleware) on any `ureq::Agent`, or call
/// [`header`](Self::header) yourself. Cloning is cheap: clones share the token.
///
/// ```no_run
/// use grantline_ureq::{ApiClient, Auth, Transport};
/// use grantline_ureq::grantline::{Client, token_manager::TokenManager};
///
/// let client = Client::builder("my-service")
///     .token_endpoint("https://as.example/oauth2/token")
///     .client_secret_basic("s3cr3t")
///     .build()?;
/// let auth = Auth::new(Transport::new(), TokenManager::client_credentials(client)?);
/// let api = ApiClient::new("https://api.example/v1")?.auth(auth);
/// let status = api.get("health").send()?.status();
/// # let _ = status;
/// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// The renewal under way, for the callers who wait on it.
    flight: Option<Arc<Flight>>,
}

/// One renewal, as seen by the threads waiting for it.
#[derive(Default)]
struct Flight {
    outcome: Mutex<Option<Outcome>>,
    done: Condvar,
}

#[derive(Clone)]
enum Outcome {
    Renewed(HeaderValue),
    Failed(AuthError),
    /// The renewing thread panicked: ask the manager again.
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
    // A panic in another thread (in the persistence callback, say) leaves the manager in a
    // consistent state: its transitions are single assignments.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Flight {
    fn publish(&self, outcome: Outcome) {
        *lock(&self.outcome) = Some(outcome);
        self.done.notify_all();
    }

    fn wait(&self) -> Outcome {
        let mut outcome = lock(&self.outcome);
        loop {
            if let Some(outcome) = outcome.as_ref() {
                return outcome.clone();
            }
            outcome = self
                .done
                .wait(outcome)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl Auth {
    /// An auth handler that renews `manager`'s tokens through `transport`.
    ///
    /// Give the transport its own agent (the default), not one carrying this handler's
    /// [`middleware`](Self::middleware): renewals are marked so the middleware leaves them
    /// alone, but an agent is best kept to one purpose.
    ///
    /// ```
    /// use grantline_ureq::{Auth, Transport, grantline::token_manager::TokenManager};
    /// let auth = Auth::new(Transport::new(), TokenManager::bearer("static-token")?);
    /// assert_eq!(auth.header()?, "Bearer static-token");
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
    /// renewal (this thread's, or the one another thread is running).
    ///
    /// The value is marked sensitive. On the hot path (a cached token) this allocates nothing.
    ///
    /// # Errors
    ///
    /// An [`AuthError`] when the renewal failed: the authorization server's error, or no answer
    /// from it. Every thread that waited for that renewal gets the same error.
    ///
    /// ```no_run
    /// use grantline_ureq::{Auth, Transport, grantline::{Client, token_manager::TokenManager}};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let auth = Auth::new(Transport::new(), TokenManager::client_credentials(client)?);
    /// let header = auth.header()?;
    /// let response = grantline_ureq::ureq::get("https://api.example/v1/items")
    ///     .header("authorization", header)
    ///     .call()?;
    /// # let _ = response;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn header(&self) -> Result<HeaderValue, AuthError> {
        loop {
            let now = self.shared.transport.now();
            let mut state = lock(&self.shared.state);
            match state.manager.access(now) {
                Access::Ready(header) => return Ok(header),
                Access::Renew(renewal) => {
                    let flight = Arc::new(Flight::default());
                    state.flight = Some(Arc::clone(&flight));
                    drop(state);
                    return self.renew(renewal, &flight);
                }
                Access::Wait => {
                    let flight = state.flight.clone();
                    drop(state);
                    let Some(flight) = flight else {
                        // Cannot happen (a renewal under way always has its flight); ask again.
                        std::thread::yield_now();
                        continue;
                    };
                    match flight.wait() {
                        Outcome::Renewed(header) => return Ok(header),
                        Outcome::Failed(error) => return Err(error),
                        Outcome::Abandoned => {}
                    }
                }
            }
        }
    }

    /// Runs `renewal` on this thread and shares its outcome with the waiting ones.
    fn renew(&self, renewal: Renewal, flight: &Arc<Flight>) -> Result<HeaderValue, AuthError> {
        let mut guard = AbandonOnDrop {
            auth: self,
            flight,
            armed: true,
        };
        let result = self.shared.transport.run(Unauthenticated(renewal));
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
        flight.publish(match &outcome {
            Ok(header) => Outcome::Renewed(header.clone()),
            Err(error) => Outcome::Failed(error.clone()),
        });
        outcome
    }

    /// Records that a resource server refused `header` with a `401` `invalid_token`; returns
    /// whether another token can be had (then [`header`](Self::header) renews, once, however
    /// many threads report the same refusal).
    ///
    /// ```
    /// use grantline_ureq::{Auth, Transport, grantline::token_manager::TokenManager};
    /// let auth = Auth::new(Transport::new(), TokenManager::bearer("static")?);
    /// let header = auth.header()?;
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
    /// use grantline_ureq::{Auth, Transport, grantline::token_manager::TokenManager};
    /// let auth = Auth::new(Transport::new(), TokenManager::bearer("static")?);
    /// let header = auth.header()?;
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

    /// Puts the token on a `method` request to `uri`: `Authorization`, and for a `DPoP` token a
    /// fresh `DPoP` proof (any `DPoP` header already there is removed otherwise). Returns the
    /// `Authorization` value, for [`after_response`](Self::after_response).
    pub(crate) fn authorize(
        &self,
        headers: &mut HeaderMap,
        method: &str,
        uri: &str,
    ) -> Result<HeaderValue, AuthError> {
        let header = self.header()?;
        match self.dpop_proof(&header, method, uri)? {
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
    /// use grantline_ureq::{Auth, Transport, grantline::token_manager::TokenManager, http};
    /// let auth = Auth::new(Transport::new(), TokenManager::bearer("static")?);
    /// let header = auth.header()?;
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
    /// use grantline_ureq::{Auth, Transport, grantline::token_manager::TokenManager};
    /// let auth = Auth::new(Transport::new(), TokenManager::bearer("static")?);
    /// assert!(!auth.invalidate());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn invalidate(&self) -> bool {
        lock(&self.shared.state).manager.invalidate()
    }

    /// A copy of the current token (to inspect its scope or expiry), if there is one yet.
    ///
    /// ```
    /// use grantline_ureq::{Auth, Transport, grantline::token_manager::TokenManager};
    /// let auth = Auth::new(Transport::new(), TokenManager::bearer("static")?);
    /// assert!(auth.token().unwrap().expires_at().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn token(&self) -> Option<TokenResponse> {
        lock(&self.shared.state).manager.token().cloned()
    }

    /// The time on the transport's clock (what token expiry is compared with).
    ///
    /// ```
    /// use grantline_ureq::{Auth, Transport, grantline::token_manager::TokenManager};
    /// let auth = Auth::new(Transport::new(), TokenManager::bearer("static")?);
    /// let _now = auth.now();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn now(&self) -> Now {
        self.shared.transport.now()
    }

    /// Middleware that puts this handler's token on every request of a `ureq::Agent`.
    ///
    /// ```no_run
    /// use grantline_ureq::{Auth, Transport, grantline::{Client, token_manager::TokenManager}, ureq};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let auth = Auth::new(Transport::new(), TokenManager::client_credentials(client)?);
    /// let agent: ureq::Agent = ureq::Agent::config_builder()
    ///     .middleware(auth.middleware())
    ///     .build()
    ///     .into();
    /// // Any client built on this agent (a generated OpenAPI client, say) now sends the token.
    /// let body = agent.get("https://api.example/v1/sessions").call()?.body_mut().read_to_string()?;
    /// # let _ = body;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn middleware(&self) -> AuthMiddleware {
        AuthMiddleware {
            auth: self.clone(),
            only_under: None,
        }
    }
}

/// Publishes `Abandoned` if the renewing thread unwinds, so the waiting ones do not wait forever.
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
            self.flight.publish(Outcome::Abandoned);
        }
    }
}

/// Marks renewal requests, so that an agent carrying the middleware sends them as they are.
#[derive(Clone, Copy, Debug)]
struct RenewalRequest;

/// Runs a renewal with every request marked as one.
struct Unauthenticated(Renewal);

impl Flow for Unauthenticated {
    type Output = TokenResponse;

    fn next(&mut self, now: Now) -> Result<Step<TokenResponse>, grantline::Error> {
        Ok(match self.0.next(now)? {
            Step::Send(mut request) => {
                request.extensions_mut().insert(RenewalRequest);
                Step::Send(request)
            }
            step => step,
        })
    }

    fn handle_response(
        &mut self,
        response: http::Response<Vec<u8>>,
        now: Now,
    ) -> Result<(), grantline::Error> {
        self.0.handle_response(response, now)
    }

    fn handle_transport_error(&mut self, now: Now) -> Recovery {
        self.0.handle_transport_error(now)
    }
}

/// Why no token could be had: the renewal's error, shared by every thread that waited for it.
///
/// `Display` and [`source`](std::error::Error::source) are the inner [`Error`]'s.
///
/// ```
/// use grantline_ureq::{AuthError, Error, grantline};
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
    /// # fn f(e: grantline_ureq::AuthError) {
    /// if let grantline_ureq::Error::Flow(flow) = e.error() {
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

/// The [`ureq::middleware::Middleware`] of an [`Auth`]: every request through the agent gets
/// `Authorization: Bearer …` (replacing any it had), renewed before it expires, with single
/// flight across threads. A DPoP-bound token goes as `Authorization: DPoP …` with a fresh `DPoP`
/// proof for the request, and a `DPoP-Nonce` in any response is remembered for the next proof to
/// that server (after a `401 use_dpop_nonce` the request is not resent, for the reason below).
///
/// **On a `401` `invalid_token`** the middleware marks the token rejected, so the next request
/// renews it (once, however many requests saw the refusal); it does not send the refused request
/// again, because a ureq middleware cannot: `MiddlewareNext::handle` consumes itself, so the rest
/// of the chain runs once per request. [`ApiClient`](crate::ApiClient) does resend (once, when
/// the body can be replayed). The middleware only sees the `401` when the agent is built with
/// `http_status_as_error(false)`; with ureq's default, the `401` reaches the caller as
/// `ureq::Error::StatusCode(401)` without its headers, and the token is renewed on expiry only.
///
/// A token renewal that fails comes back from the request as `ureq::Error::Other` holding the
/// [`AuthError`].
///
/// The token goes to every host the agent talks to. Keep the agent for one API, or confine the
/// token with [`only_under`](Self::only_under).
///
/// ```no_run
/// use grantline_ureq::{Auth, Transport, grantline::{Client, api::BaseUrl, token_manager::TokenManager}, ureq};
/// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
/// let auth = Auth::new(Transport::new(), TokenManager::client_credentials(client)?);
/// let agent: ureq::Agent = ureq::Agent::config_builder()
///     .http_status_as_error(false)
///     .middleware(auth.middleware().only_under(BaseUrl::new("https://api.example/v1")?))
///     .build()
///     .into();
/// # let _ = agent;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct AuthMiddleware {
    auth: Auth,
    only_under: Option<BaseUrl>,
}

impl AuthMiddleware {
    /// Sends the token only on requests under `base` (see [`BaseUrl::contains`]); other requests
    /// go out without it.
    ///
    /// ```
    /// use grantline_ureq::{Auth, Transport, grantline::{api::BaseUrl, token_manager::TokenManager}};
    /// let auth = Auth::new(Transport::new(), TokenManager::bearer("t")?);
    /// let middleware = auth.middleware().only_under(BaseUrl::new("https://api.example/v1")?);
    /// # let _ = middleware;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn only_under(mut self, base: BaseUrl) -> Self {
        self.only_under = Some(base);
        self
    }

    fn applies_to(&self, uri: &http::Uri) -> bool {
        match &self.only_under {
            None => true,
            Some(base) => {
                grantline::url::Url::parse(&uri.to_string()).is_ok_and(|url| base.contains(&url))
            }
        }
    }
}

impl Middleware for AuthMiddleware {
    fn handle(
        &self,
        mut request: http::Request<SendBody>,
        next: MiddlewareNext,
    ) -> Result<http::Response<Body>, ureq::Error> {
        if request.extensions().get::<RenewalRequest>().is_some() || !self.applies_to(request.uri())
        {
            return next.handle(request);
        }
        let uri = request.uri().to_string();
        let method = request.method().clone();
        let header = self
            .auth
            .authorize(request.headers_mut(), method.as_str(), &uri)
            .map_err(|e| ureq::Error::Other(Box::new(e)))?;
        let response = next.handle(request)?;
        // Remembers a DPoP nonce and marks a refused token; the resend is the ApiClient's.
        let _ = self
            .auth
            .after_response(&header, &uri, response.status(), response.headers());
        Ok(response)
    }
}
