//! The auth handler: the core's [`Authorizer`] behind a mutex, a condition variable for the
//! threads that wait for a renewal, and the ureq middleware that authorizes an agent's requests.

use std::cell::Cell;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use grantline::Now;
use grantline::TokenResponse;
use grantline::api::BaseUrl;
use grantline::authorizer::{
    AfterResponse, Attempt, Authorization, Authorize, Authorizer, Target, Ticket,
};
use grantline::fleet::BlockingStore;
use grantline::token_manager::{Renewal, TokenManager};
use http::HeaderValue;
use ureq::middleware::{Middleware, MiddlewareNext};
use ureq::{Body, SendBody};

use crate::{AuthError, Error, Transport};

/// Keeps a token fresh for any number of threads: the blocking auth handler.
///
/// It is the core's [`Authorizer`] (which decides everything: attach, renew, wait, resend once,
/// DPoP proofs, https only) behind a mutex, plus a [`Transport`] that sends the renewals and a
/// condition variable the other threads wait on. Cloning is cheap: clones share the token.
///
/// **Single flight.** When many threads find the token expired at once, exactly one of them
/// sends the token request; the others block until it is done (at most the authorizer's
/// [`renewal_bound`](Authorizer::renewal_bound), 60 s by default, then they get
/// [`Error::RenewalTimedOut`](crate::Error::RenewalTimedOut)), and all of them get its result:
/// the new token, or the same [`AuthError`]. A renewal that panics is abandoned and a waiting
/// thread takes over.
///
/// Use it through [`ApiClient`](crate::ApiClient) (which also resends once after a `401`
/// `invalid_token`), as [`middleware`](Self::middleware) on any `ureq::Agent`, or attach the
/// token yourself with [`authorize`](Self::authorize) (or [`header`](Self::header)).
///
/// ```no_run
/// use grantline_ureq::{ApiClient, Auth, Transport};
/// use grantline_ureq::grantline::{Client, token_manager::TokenManager};
///
/// let client = Client::builder("my-service")
///     .token_endpoint("https://as.example/oauth2/token")
///     .client_secret_basic("s3cr3t")
///     .build()?;
/// let auth = Auth::new(Transport::new(), TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?);
/// let api = ApiClient::new("https://api.example/v1")?.auth(auth);
/// let status = api.get("health").send()?.status();
/// # let _ = status;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Auth {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    transport: Transport,
    authorizer: Mutex<Authorizer>,
    /// Signalled when a renewal ends (finished or abandoned).
    renewed: Condvar,
    /// Where a fleet's token is shared ([`Auth::shared`]).
    store: Option<Box<dyn BlockingStore>>,
}

impl Auth {
    /// An auth handler that renews `manager`'s tokens through `transport`, with the
    /// authorizer's defaults.
    ///
    /// ```
    /// use grantline_ureq::{Auth, Transport, grantline::token_manager::TokenManager};
    /// let auth = Auth::new(Transport::new(), TokenManager::bearer("static-token")?);
    /// assert_eq!(auth.header()?, "Bearer static-token");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn new(transport: Transport, manager: TokenManager) -> Self {
        Self::with_authorizer(transport, Authorizer::new(manager))
    }

    /// An auth handler on an authorizer you configured:
    /// [`insecure_http`](Authorizer::insecure_http) for a test network,
    /// [`renewal_bound`](Authorizer::renewal_bound) for how long callers wait for a renewal.
    ///
    /// ```
    /// use std::time::Duration;
    /// use grantline_ureq::{Auth, Transport, grantline::{authorizer::Authorizer, token_manager::TokenManager}};
    /// let authorizer = Authorizer::new(TokenManager::bearer("t")?).renewal_bound(Duration::from_secs(20));
    /// let auth = Auth::with_authorizer(Transport::new(), authorizer);
    /// # let _ = auth;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_authorizer(transport: Transport, authorizer: Authorizer) -> Self {
        Self::build(transport, authorizer, None)
    }

    /// An auth handler whose renewals are shared with every replica of the service through
    /// `store` (a `grantline_redis::RedisStore`, say): one token request per renewal for the
    /// whole fleet. The authorizer must [share](Authorizer::share) its tokens; see
    /// [`grantline::fleet`]. When the store fails, renewals go on in this process.
    ///
    /// ```
    /// use grantline_ureq::{Auth, Transport};
    /// use grantline_ureq::grantline::{Client, authorizer::Authorizer, fleet::Fleet, grant::TokenRequest, testing::MemoryStore, token_manager::TokenManager};
    /// let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let authorizer = Authorizer::new(TokenManager::grant(client, TokenRequest::client_credentials())?)
    ///     .share(Fleet::new())?;
    /// let auth = Auth::shared(Transport::new(), authorizer, MemoryStore::new());
    /// # let _ = auth;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn shared(
        transport: Transport,
        authorizer: Authorizer,
        store: impl BlockingStore + 'static,
    ) -> Self {
        Self::build(transport, authorizer, Some(Box::new(store)))
    }

    fn build(
        transport: Transport,
        authorizer: Authorizer,
        store: Option<Box<dyn BlockingStore>>,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                transport,
                authorizer: Mutex::new(authorizer),
                renewed: Condvar::new(),
                store,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Authorizer> {
        // A panic in another thread (in the persistence callback, say) leaves the authorizer
        // consistent: its transitions are single assignments.
        self.shared
            .authorizer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The `Authorization` header value to send now, for an application that attaches it by
    /// hand: no URL check and no DPoP proof (prefer [`authorize`](Self::authorize)). It is the
    /// cached value, or a new one after a renewal (this thread's, or the one another thread is
    /// running); marked sensitive; allocates nothing when cached.
    ///
    /// # Errors
    ///
    /// An [`AuthError`] when the renewal failed (every thread that waited for it gets the same
    /// error), or when it outlived the renewal bound.
    ///
    /// ```no_run
    /// use grantline_ureq::{Auth, Transport, grantline::{Client, token_manager::TokenManager}};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let auth = Auth::new(Transport::new(), TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?);
    /// let response = grantline_ureq::ureq::get("https://api.example/v1/items")
    ///     .header("authorization", auth.header()?)
    ///     .call()?;
    /// # let _ = response;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn header(&self) -> Result<HeaderValue, AuthError> {
        match self.authorization(&mut Attempt::new(), None)? {
            Some(authorization) => Ok(authorization.authorization().clone()),
            None => unreachable!("an attempt without confinement is never skipped"),
        }
    }

    /// Puts the token on `request`: `Authorization`, and for a DPoP-bound token a fresh `DPoP`
    /// proof for its method and URL. This is the path the API client and the middleware take.
    ///
    /// # Errors
    ///
    /// An [`AuthError`]: the renewal's error, or a URL a token may not go to (plain `http` to a
    /// host that is not a loopback one, unless the authorizer allows it).
    ///
    /// ```
    /// use grantline_ureq::{Auth, Transport, grantline::token_manager::TokenManager, http};
    /// let auth = Auth::new(Transport::new(), TokenManager::bearer("t")?);
    /// let mut request = http::Request::get("https://api.example/v1").body(())?;
    /// auth.authorize(&mut request)?;
    /// assert_eq!(request.headers()["authorization"], "Bearer t");
    /// let mut plain = http::Request::get("http://api.example/v1").body(())?;
    /// assert!(auth.authorize(&mut plain).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn authorize<B>(&self, request: &mut http::Request<B>) -> Result<(), AuthError> {
        self.attach(&mut Attempt::new(), request)
    }

    /// Authorizes `request` within `attempt`.
    pub(crate) fn attach<B>(
        &self,
        attempt: &mut Attempt<'_>,
        request: &mut http::Request<B>,
    ) -> Result<(), AuthError> {
        let target = Target::new(request.method(), request.uri());
        if let Some(authorization) = self.authorization(attempt, Some(target))? {
            authorization.apply(request.headers_mut());
        }
        Ok(())
    }

    /// What the authorizer says for this attempt, after any renewal or wait it asks for.
    fn authorization(
        &self,
        attempt: &mut Attempt<'_>,
        target: Option<Target<'_>>,
    ) -> Result<Option<Authorization>, AuthError> {
        let mut authorizer = self.lock();
        loop {
            let now = self.now();
            let step = match target {
                Some(target) => authorizer.authorize(attempt, target, now)?,
                None => authorizer.header(attempt, now)?,
            };
            authorizer = match step {
                Authorize::Attach(authorization) => return Ok(Some(authorization)),
                Authorize::Skip => return Ok(None),
                Authorize::Renew(renewal, ticket) => {
                    drop(authorizer);
                    self.renew(renewal, ticket);
                    self.lock()
                }
                Authorize::Wait(ticket, bound) => {
                    let bound = self.shared.transport.real_duration(bound);
                    let waited = self
                        .shared
                        .renewed
                        .wait_timeout_while(authorizer, bound, |a| a.is_pending(ticket));
                    waited.unwrap_or_else(PoisonError::into_inner).0
                }
            };
        }
    }

    /// Runs `renewal` on this thread; the outcome is the authorizer's to share.
    fn renew(&self, renewal: Renewal, ticket: Ticket) {
        let mut renewing = Renewing {
            auth: self,
            ticket,
            result: None,
        };
        RENEWING.set(true);
        let shared = self.lock().shared_renewal(renewal, self.now());
        let transport = &self.shared.transport;
        renewing.result = Some(shared.run_blocking(
            self.shared.store.as_deref(),
            || self.now(),
            |renewal| transport.run(renewal),
            |wait| std::thread::sleep(transport.real_duration(wait)),
        ));
    }

    /// Looks at the answer to the attempt's request: a DPoP nonce is remembered, a refused token
    /// rejected, and [`AfterResponse::Resend`] says to send it once more.
    pub(crate) fn after_response<B>(
        &self,
        attempt: &mut Attempt<'_>,
        target: Target<'_>,
        response: &http::Response<B>,
    ) -> AfterResponse {
        let (status, headers) = (response.status(), response.headers());
        self.lock().after_response(attempt, target, status, headers)
    }

    /// Records that a resource server refused `header` (for an application that attaches the
    /// token by hand and reads the `401` itself); returns whether another token can be had.
    ///
    /// ```
    /// use grantline_ureq::{Auth, Transport, grantline::token_manager::TokenManager};
    /// let auth = Auth::new(Transport::new(), TokenManager::bearer("static")?);
    /// assert!(!auth.reject(&auth.header()?), "a fixed token cannot be replaced");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reject(&self, header: &HeaderValue) -> bool {
        self.lock().reject(header)
    }

    /// Makes the next request renew the token (after a change of permissions, say). Returns
    /// whether a renewal is possible.
    ///
    /// ```
    /// use grantline_ureq::{Auth, Transport, grantline::token_manager::TokenManager};
    /// let auth = Auth::new(Transport::new(), TokenManager::bearer("static")?);
    /// assert!(!auth.invalidate());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn invalidate(&self) -> bool {
        self.lock().invalidate()
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
        self.lock().token().cloned()
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

    /// Middleware that authorizes every request of a `ureq::Agent` with this handler's token.
    ///
    /// ```no_run
    /// use grantline_ureq::{Auth, Transport, grantline::{Client, token_manager::TokenManager}, ureq};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let auth = Auth::new(Transport::new(), TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?);
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

/// The end of a renewal: finished with its result, or abandoned when the renewing thread
/// unwinds before it has one. The waiting threads are woken either way.
struct Renewing<'a> {
    auth: &'a Auth,
    ticket: Ticket,
    result: Option<Result<TokenResponse, Error>>,
}

impl Drop for Renewing<'_> {
    fn drop(&mut self) {
        RENEWING.set(false);
        let (now, result) = (self.auth.now(), self.result.take());
        let mut authorizer = self.auth.lock();
        // Woken under the lock, before the outcome is recorded: they run once it is released,
        // even if recording it panics (in the manager's persistence callback, say).
        self.auth.shared.renewed.notify_all();
        match result {
            Some(result) => authorizer.finish(self.ticket, result, now),
            None => authorizer.abandon(self.ticket, now),
        }
    }
}

thread_local! {
    /// Set while this thread runs a renewal: a middleware on the renewal's agent sends its
    /// requests as they are (authorizing them would wait for the renewal they are part of).
    static RENEWING: Cell<bool> = const { Cell::new(false) };
}

/// The [`ureq::middleware::Middleware`] of an [`Auth`]: every request through the agent is
/// authorized by the core's authorizer (`Authorization`, and a fresh `DPoP` proof for a
/// DPoP-bound token), renewed before it expires with single flight across threads, and only to
/// https or loopback URLs; a `DPoP-Nonce` in any response is remembered.
///
/// **On a `401` `invalid_token`** the token is marked rejected, so the next request renews it
/// (once, however many requests saw the refusal); the refused request is not sent again,
/// because a ureq middleware cannot: `MiddlewareNext::handle` consumes itself.
/// [`ApiClient`](crate::ApiClient) does resend. The middleware only sees the `401` when the
/// agent is built with `http_status_as_error(false)`.
///
/// A request the authorizer refuses (a failed renewal, a plain `http` URL) is not sent: it comes
/// back as `ureq::Error::Other` holding the [`AuthError`].
///
/// The token goes to every host the agent talks to, unless confined with
/// [`only_under`](Self::only_under).
///
/// ```no_run
/// use grantline_ureq::{Auth, Transport, grantline::{Client, api::BaseUrl, token_manager::TokenManager}, ureq};
/// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
/// let auth = Auth::new(Transport::new(), TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?);
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
}

impl Middleware for AuthMiddleware {
    fn handle(
        &self,
        mut request: http::Request<SendBody>,
        next: MiddlewareNext,
    ) -> Result<http::Response<Body>, ureq::Error> {
        if RENEWING.get() {
            return next.handle(request);
        }
        let mut attempt = Attempt::new().not_replayable();
        if let Some(base) = &self.only_under {
            attempt = attempt.only_under(base);
        }
        self.auth
            .attach(&mut attempt, &mut request)
            .map_err(|e| ureq::Error::Other(Box::new(e)))?;
        let (method, uri) = (request.method().clone(), request.uri().clone());
        let response = next.handle(request)?;
        // Remembers a DPoP nonce and marks a refused token; the resend is the ApiClient's.
        let target = Target::new(&method, &uri);
        let _ = self.auth.after_response(&mut attempt, target, &response);
        Ok(response)
    }
}
