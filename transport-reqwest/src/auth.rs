//! The auth handler: the core's [`Authorizer`] behind a mutex, and a `Notify` for the tasks that
//! wait for a renewal.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use grantline::authorizer::{
    AfterResponse, Attempt, Authorization, Authorize, Authorizer, Target, Ticket,
};
use grantline::fleet::AsyncStore;
use grantline::token_manager::{Renewal, TokenManager};
use grantline::{Now, TokenResponse};
use http::HeaderValue;
use tokio::sync::Notify;

use crate::{AuthError, Error, Transport};

/// Keeps a token fresh for any number of tasks: the async auth handler.
///
/// It is the core's [`Authorizer`] (which decides everything: attach, renew, wait, resend once,
/// DPoP proofs, https only) behind a mutex that is never held across an `.await`, plus a
/// [`Transport`] that sends the renewals and a [`Notify`] the other tasks wait on. Cloning is
/// cheap: clones share the token.
///
/// **Single flight.** When many tasks find the token expired at once, exactly one of them sends
/// the token request; the others wait (asynchronously: no runtime thread is blocked) at most the
/// authorizer's [`renewal_bound`](Authorizer::renewal_bound) (60 s by default, then they get
/// [`Error::RenewalTimedOut`](crate::Error::RenewalTimedOut)), and all of them get its result:
/// the new token, or the same [`AuthError`]. If the renewing task is cancelled (its future
/// dropped) or panics, the renewal is abandoned and a waiting task takes over.
///
/// Use it through [`ApiClient`](crate::ApiClient) (which also resends once after a `401`
/// `invalid_token`), as `reqwest-middleware` middleware ([`middleware`](Self::middleware),
/// feature `reqwest-middleware`), or attach the token yourself with
/// [`authorize`](Self::authorize) (or [`header`](Self::header)). Waiting needs tokio's timer
/// (a runtime built with `enable_time` or `enable_all`).
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
/// let auth = Auth::new(Transport::new()?, TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?);
/// let api = ApiClient::new("https://api.example/v1")?.auth(auth);
/// let status = api.get("health").send().await?.status();
/// # let _ = status;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Auth {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    transport: Transport,
    authorizer: Mutex<Authorizer>,
    /// Notified when a renewal ends (finished or abandoned).
    renewed: Notify,
    /// Where a fleet's token is shared ([`Auth::shared`]).
    store: Option<Box<dyn AsyncStore>>,
}

impl Auth {
    /// An auth handler that renews `manager`'s tokens through `transport`, with the
    /// authorizer's defaults.
    ///
    /// ```
    /// use grantline_reqwest::{Auth, Transport, grantline::token_manager::TokenManager};
    /// let auth = Auth::new(Transport::new()?, TokenManager::bearer("static-token")?);
    /// # let _ = auth;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn new(transport: Transport, manager: TokenManager) -> Self {
        Self::with_authorizer(transport, Authorizer::new(manager))
    }

    /// An auth handler on an authorizer you configured:
    /// [`insecure_http`](Authorizer::insecure_http) for a test network,
    /// [`renewal_bound`](Authorizer::renewal_bound) for how long tasks wait for a renewal.
    ///
    /// ```
    /// use std::time::Duration;
    /// use grantline_reqwest::{Auth, Transport, grantline::{authorizer::Authorizer, token_manager::TokenManager}};
    /// let authorizer = Authorizer::new(TokenManager::bearer("t")?).renewal_bound(Duration::from_secs(20));
    /// let auth = Auth::with_authorizer(Transport::new()?, authorizer);
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
    /// use grantline_reqwest::{Auth, Transport};
    /// use grantline_reqwest::grantline::{Client, authorizer::Authorizer, fleet::Fleet, grant::TokenRequest, testing::MemoryStore, token_manager::TokenManager};
    /// let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let authorizer = Authorizer::new(TokenManager::grant(client, TokenRequest::client_credentials())?)
    ///     .share(Fleet::new())?;
    /// let auth = Auth::shared(Transport::new()?, authorizer, MemoryStore::new());
    /// # let _ = auth;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn shared(
        transport: Transport,
        authorizer: Authorizer,
        store: impl AsyncStore + 'static,
    ) -> Self {
        Self::build(transport, authorizer, Some(Box::new(store)))
    }

    fn build(
        transport: Transport,
        authorizer: Authorizer,
        store: Option<Box<dyn AsyncStore>>,
    ) -> Self {
        let authorizer = Mutex::new(authorizer);
        let renewed = Notify::new();
        Self {
            shared: Arc::new(Shared {
                transport,
                authorizer,
                renewed,
                store,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Authorizer> {
        // A panic elsewhere (in the persistence callback, say) leaves the authorizer consistent:
        // its transitions are single assignments.
        let authorizer = &self.shared.authorizer;
        authorizer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The `Authorization` header value to send now, for an application that attaches it by
    /// hand: no URL check and no DPoP proof (prefer [`authorize`](Self::authorize)). It is the
    /// cached value (the future then completes at its first poll and allocates nothing), or a
    /// new one after a renewal (this task's, or the one another task is running); marked
    /// sensitive.
    ///
    /// # Errors
    ///
    /// An [`AuthError`] when the renewal failed (every task that waited for it gets the same
    /// error), or when it outlived the renewal bound.
    ///
    /// ```no_run
    /// use grantline_reqwest::{Auth, Transport, grantline::{Client, token_manager::TokenManager}};
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let auth = Auth::new(Transport::new()?, TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?);
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
        let authorization = self.authorization(&mut Attempt::new(), None).await?;
        let Some(authorization) = authorization else {
            unreachable!("an attempt without confinement is never skipped")
        };
        Ok(authorization.authorization().clone())
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
    /// use grantline_reqwest::{Auth, Transport, grantline::token_manager::TokenManager, reqwest};
    /// # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// let auth = Auth::new(Transport::new()?, TokenManager::bearer("t")?);
    /// let mut request = reqwest::Request::new(reqwest::Method::GET, "https://api.example/v1".parse()?);
    /// runtime.block_on(auth.authorize(&mut request))?;
    /// assert_eq!(request.headers()["authorization"], "Bearer t");
    /// let mut plain = reqwest::Request::new(reqwest::Method::GET, "http://api.example/v1".parse()?);
    /// assert!(runtime.block_on(auth.authorize(&mut plain)).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn authorize(&self, request: &mut reqwest::Request) -> Result<(), AuthError> {
        self.attach(&mut Attempt::new(), request).await
    }

    /// Authorizes `request` within `attempt`.
    async fn attach(
        &self,
        attempt: &mut Attempt<'_>,
        request: &mut reqwest::Request,
    ) -> Result<(), AuthError> {
        let target = Target::url(request.method(), request.url());
        if let Some(authorization) = self.authorization(attempt, Some(target)).await? {
            authorization.apply(request.headers_mut());
        }
        Ok(())
    }

    /// What the authorizer says for this attempt, after any renewal or wait it asks for.
    async fn authorization(
        &self,
        attempt: &mut Attempt<'_>,
        target: Option<Target<'_>>,
    ) -> Result<Option<Authorization>, AuthError> {
        loop {
            let (step, woken) = {
                let now = self.now();
                let mut authorizer = self.lock();
                let step = match target {
                    None => authorizer.header(attempt, now),
                    Some(target) => authorizer.authorize(attempt, target, now),
                }?;
                // Made under the lock, so a renewal that ends once it is released still wakes it.
                let waits = matches!(step, Authorize::Wait(..));
                (step, waits.then(|| self.shared.renewed.notified()))
            };
            match (step, woken) {
                (Authorize::Attach(authorization), _) => return Ok(Some(authorization)),
                (Authorize::Skip, _) => return Ok(None),
                (Authorize::Renew(renewal, ticket), _) => self.renew(renewal, ticket).await,
                (Authorize::Wait(_, bound), Some(woken)) => {
                    let bound = self.shared.transport.real_duration(bound);
                    let _ = tokio::time::timeout(bound, woken).await;
                }
                (Authorize::Wait(..), None) => {}
            }
        }
    }

    /// Runs `renewal` in this task; the outcome is the authorizer's to share.
    async fn renew(&self, renewal: Renewal, ticket: Ticket) {
        let guard = AbandonOnDrop(self, Some(ticket));
        let shared = self.lock().shared_renewal(renewal, self.now());
        let transport = &self.shared.transport;
        let result = shared
            .run_async(
                self.shared.store.as_deref(),
                || self.now(),
                |renewal| transport.run(renewal),
                |wait| tokio::time::sleep(transport.real_duration(wait)),
            )
            .await;
        guard.finish(result);
    }

    /// Sends `request` authorized within `attempt` through `exchange`, and once more when the
    /// authorizer asks for it after the answer (a refused token, a DPoP nonce) and the request
    /// could be copied before it went out.
    pub(crate) async fn send<X: Exchange>(
        &self,
        mut attempt: Attempt<'_>,
        mut request: reqwest::Request,
        exchange: &mut X,
    ) -> Result<Result<reqwest::Response, X::Error>, AuthError> {
        let mut copy = request.try_clone();
        if copy.is_none() {
            attempt = attempt.not_replayable();
        }
        loop {
            self.attach(&mut attempt, &mut request).await?;
            let method = request.method().clone();
            let response = match exchange.exchange(request).await {
                Ok(response) => response,
                Err(e) => return Ok(Err(e)),
            };
            let after = self.lock().after_response(
                &mut attempt,
                Target::url(&method, response.url()),
                response.status(),
                response.headers(),
            );
            match (after, copy.take()) {
                (AfterResponse::Resend, Some(again)) => request = again,
                _ => return Ok(Ok(response)),
            }
        }
    }

    /// Records that a resource server refused `header` (for an application that attaches the
    /// token by hand and reads the `401` itself); returns whether another token can be had.
    ///
    /// ```
    /// use grantline_reqwest::{Auth, Transport, grantline::token_manager::TokenManager, http};
    /// let auth = Auth::new(Transport::new()?, TokenManager::bearer("static")?);
    /// assert!(!auth.reject(&http::HeaderValue::from_static("Bearer static")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reject(&self, header: &HeaderValue) -> bool {
        self.lock().reject(header)
    }

    /// Makes the next request renew the token (after a change of permissions, say). Returns
    /// whether a renewal is possible.
    ///
    /// ```
    /// use grantline_reqwest::{Auth, Transport, grantline::token_manager::TokenManager};
    /// let auth = Auth::new(Transport::new()?, TokenManager::bearer("static")?);
    /// assert!(!auth.invalidate());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn invalidate(&self) -> bool {
        self.lock().invalidate()
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
        self.lock().token().cloned()
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

    /// `reqwest-middleware` middleware that authorizes every request of a
    /// `ClientWithMiddleware` with this handler's token (feature `reqwest-middleware`).
    ///
    /// ```no_run
    /// use grantline_reqwest::{Auth, Transport, reqwest};
    /// use grantline_reqwest::grantline::{Client, token_manager::TokenManager};
    ///
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let auth = Auth::new(Transport::new()?, TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?);
    /// let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
    ///     .with(auth.middleware())
    ///     .build();
    /// let response = http.get("https://api.example/v1/items").send().await?;
    /// # let _ = response;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "reqwest-middleware")]
    #[must_use]
    pub fn middleware(&self) -> crate::AuthMiddleware {
        crate::middleware::new(self.clone())
    }
}

/// Abandons the renewal of its ticket (and wakes the waiting tasks) if the renewing task is
/// cancelled or panics before [`finish`](Self::finish).
struct AbandonOnDrop<'a>(&'a Auth, Option<Ticket>);

impl AbandonOnDrop<'_> {
    fn finish(mut self, result: Result<TokenResponse, Error>) {
        if let Some(ticket) = self.1.take() {
            let mut authorizer = self.0.lock();
            // Woken under the lock, before the outcome is recorded: they go on once it is
            // released, even if recording it panics (in the persistence callback, say).
            self.0.shared.renewed.notify_waiters();
            authorizer.finish(ticket, result, self.0.now());
        }
    }
}

impl Drop for AbandonOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(ticket) = self.1.take() {
            let mut authorizer = self.0.lock();
            self.0.shared.renewed.notify_waiters();
            authorizer.abandon(ticket, self.0.now());
        }
    }
}

/// One attempt's trip out and back: the HTTP client's `execute`, or the rest of a middleware
/// chain.
pub(crate) trait Exchange {
    /// What the trip fails with.
    type Error;

    /// Sends `request` and returns the answer.
    fn exchange(
        &mut self,
        request: reqwest::Request,
    ) -> impl Future<Output = Result<reqwest::Response, Self::Error>> + Send;
}
