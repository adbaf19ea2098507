//! One token for a whole fleet: replicas of a service share their client credentials token
//! through a store (Redis, with `grantline-redis`), so that N replicas cost **one** token request
//! per renewal instead of N.
//!
//! Within one process the [`Authorizer`](crate::authorizer::Authorizer) already coalesces every
//! caller behind an expiring token into one renewal ([`Authorize::Renew`]). With a [`Fleet`]
//! configured ([`Authorizer::share`]), that one renewal first asks the store:
//!
//! ```text
//!   Authorize::Renew(renewal, ticket)
//!         │ authorizer.shared_renewal(renewal, now)
//!         ▼
//!   Store(Acquire) ── Fresh(value) ─────────────────────────────────▶ Done(Ok(token))
//!     │   ▲     └──── Acquired(fence) ─▶ Renew(renewal) ─ Ok ─▶ Store(Publish) ─▶ Done(Ok(token))
//!     │   │                                      └─────── Err ─▶ Store(Release) ─▶ Done(Err(e))
//!     │   └─ Wait(poll) ◀─ Held  (another process renews; its lease lapses if it dies)
//!     └─ store error ─▶ StoreEvent::Unavailable, Renew(renewal) in-process ─▶ Done(result)
//! ```
//!
//! - **Acquire** is one atomic store operation: a token published by another process that is
//!   not yet due for renewal comes back (`Fresh`); otherwise the lease is taken
//!   (`SET lease fence NX PX ttl`, the fence from a counter) and only its holder renews;
//!   otherwise the lease is `Held` and this process polls until the token is published or the
//!   lease lapses. Nobody but the lease holder calls the token endpoint.
//! - **Publish** stores the token (the [stored format](crate::token), sealed by the store if it
//!   seals), its renewal time, and the fence; the store refuses it when the lease is no longer
//!   this process's and a newer fence published since, so a late leader never overwrites a newer
//!   token. The lease is then released.
//! - **The store failing** never fails a caller: the renewal runs in-process (single flight
//!   within the process, as without a store), the fleet's [`on_event`](Fleet::on_event)
//!   callback sees [`StoreEvent::Unavailable`] once, and [`StoreEvent::Recovered`] once the
//!   store answers again.
//! - A waiter gives up waiting for other processes after twice the lease and renews itself.
//!
//! The core decides; a driver only performs the [`StoreOp`]s through a [`BlockingStore`] or an
//! [`AsyncStore`] and sleeps on [`SharedStep::Wait`]. Without a fleet,
//! [`shared_renewal`](crate::authorizer::Authorizer::shared_renewal) is the plain renewal:
//! `Renew`, then `Done`. The attach path (a fresh token in memory) never touches the store.
//!
//! Only tokens whose value depends on the client alone are shared: a manager made with
//! [`TokenManager::grant`](crate::token_manager::TokenManager::grant) and the
//! `client_credentials` grant, without DPoP.
//!
//! # Example: two replicas, one token request, with an in-memory store
//!
//! ```
//! use grantline::authorizer::{Attempt, Authorize, Authorizer};
//! use grantline::fleet::{BlockingStore, Fleet, SharedStep};
//! use grantline::{Client, grant::TokenRequest, testing::{Driver, MemoryStore}, token_manager::TokenManager};
//!
//! let replica = || -> Result<Authorizer, grantline::Error> {
//!     let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
//!     Authorizer::new(TokenManager::grant(client, TokenRequest::client_credentials())?).share(Fleet::new())
//! };
//! let (mut a, mut b) = (replica()?, replica()?);
//! let store = MemoryStore::new();
//! let mut server = Driver::new().reply_json(200, r#"{"access_token":"at-1","token_type":"Bearer","expires_in":300}"#);
//!
//! for authorizer in [&mut a, &mut b] {
//!     let mut attempt = Attempt::new();
//!     let Authorize::Renew(renewal, ticket) = authorizer.header(&mut attempt, server.now())? else { unreachable!() };
//!     let mut shared = authorizer.shared_renewal(renewal, server.now());
//!     let result = loop {
//!         match shared.next(server.now()) {
//!             SharedStep::Store(op) => shared.handle_store(store.execute(&op), server.now()),
//!             SharedStep::Renew(renewal) => shared.handle_renewed(server.run(renewal).map_err(Into::into), server.now()),
//!             SharedStep::Wait(d) => server.advance(d),
//!             SharedStep::Done(result) => break result,
//!         }
//!     };
//!     authorizer.finish(ticket, result, server.now());
//!     let Authorize::Attach(auth) = authorizer.header(&mut attempt, server.now())? else { unreachable!() };
//!     assert_eq!(auth.authorization(), "Bearer at-1");
//! }
//! assert_eq!(server.transcript().requests().count(), 1, "one token request for both replicas");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Authorize::Renew`]: crate::authorizer::Authorize::Renew
//! [`Authorizer::share`]: crate::authorizer::Authorizer::share

mod shared_renewal;
mod store;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

pub use shared_renewal::{SharedRenewal, SharedStep};
pub use store::{
    AsyncStore, BlockingStore, Fence, SharedValue, StoreError, StoreErrorKind, StoreFuture,
    StoreOp, StoreReply, TokenId,
};

use crate::token_manager::TokenManager;

/// How long a lease lasts unless [`Fleet::lease`] says otherwise: 15 seconds.
///
/// The lease holder's token request normally takes milliseconds; if the holder dies (or hangs)
/// the lease lapses and another process renews, so this is how long a fleet can be held up by a
/// dead leader. A holder slower than the lease is harmless: another process renews too, and the
/// fence keeps the older token from overwriting the newer one.
///
/// ```
/// assert_eq!(grantline::fleet::DEFAULT_LEASE.as_secs(), 15);
/// ```
pub const DEFAULT_LEASE: Duration = Duration::from_secs(15);

/// How often a process that waits for another's renewal asks the store again, unless
/// [`Fleet::poll_interval`] says otherwise: 100 milliseconds.
///
/// ```
/// assert_eq!(grantline::fleet::DEFAULT_POLL_INTERVAL.as_millis(), 100);
/// ```
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// What the fleet's [`on_event`](Fleet::on_event) callback is told about the store.
///
/// ```
/// use grantline::fleet::StoreEvent;
/// fn log(event: &StoreEvent<'_>) {
///     match event {
///         StoreEvent::Unavailable { error } => eprintln!("token store unavailable, renewing in-process: {error}"),
///         StoreEvent::Recovered => eprintln!("token store back: the fleet shares its token again"),
///         _ => {}
///     }
/// }
/// log(&StoreEvent::Recovered);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreEvent<'a> {
    /// The store failed (unreachable, timed out, a value it could not unseal): renewals go on
    /// in-process until it answers again. Told once, not at every failure.
    Unavailable {
        /// The first failure.
        error: &'a StoreError,
    },
    /// The store answered again after [`Unavailable`](Self::Unavailable): the fleet shares its
    /// token again.
    Recovered,
}

type OnEvent = Box<dyn Fn(&StoreEvent<'_>) + Send + Sync>;

/// How a fleet shares its token: the store key's prefix, the lease, the poll interval, and who
/// hears about the store's health. Give it to [`Authorizer::share`](crate::authorizer::Authorizer::share).
///
/// Clones share the health state (and the callback).
///
/// ```
/// use grantline::fleet::Fleet;
/// use std::time::Duration;
/// let fleet = Fleet::new()
///     .prefix("billing")
///     .lease(Duration::from_secs(10))
///     .poll_interval(Duration::from_millis(50))
///     .on_event(|event| eprintln!("{event:?}"));
/// assert_eq!(fleet.lease_setting(), Duration::from_secs(10));
/// ```
#[derive(Clone)]
pub struct Fleet {
    inner: Arc<Inner>,
}

struct Inner {
    prefix: String,
    lease: Duration,
    poll: Duration,
    on_event: Option<OnEvent>,
    /// The store failed last time it was asked.
    unavailable: AtomicBool,
}

impl fmt::Debug for Fleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fleet")
            .field("prefix", &self.inner.prefix)
            .field("lease", &self.inner.lease)
            .field("poll", &self.inner.poll)
            .field("unavailable", &self.is_unavailable())
            .finish_non_exhaustive()
    }
}

impl Default for Fleet {
    fn default() -> Self {
        Self::new()
    }
}

impl Fleet {
    /// The defaults: prefix `grantline`, [`DEFAULT_LEASE`], [`DEFAULT_POLL_INTERVAL`], nobody
    /// told about the store's health.
    ///
    /// ```
    /// let fleet = grantline::fleet::Fleet::new();
    /// assert_eq!(fleet.lease_setting(), grantline::fleet::DEFAULT_LEASE);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                prefix: "grantline".to_owned(),
                lease: DEFAULT_LEASE,
                poll: DEFAULT_POLL_INTERVAL,
                on_event: None,
                unavailable: AtomicBool::new(false),
            }),
        }
    }

    fn inner_mut(&mut self) -> &mut Inner {
        if Arc::get_mut(&mut self.inner).is_none() {
            let inner = Inner {
                prefix: self.inner.prefix.clone(),
                lease: self.inner.lease,
                poll: self.inner.poll,
                on_event: None,
                unavailable: AtomicBool::new(self.is_unavailable()),
            };
            self.inner = Arc::new(inner);
        }
        Arc::get_mut(&mut self.inner).unwrap_or_else(|| unreachable!("just made unique"))
    }

    /// The readable start of every store key (default `grantline`): one per application or
    /// environment sharing a Redis.
    ///
    /// ```
    /// let _ = grantline::fleet::Fleet::new().prefix("staging");
    /// ```
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.inner_mut().prefix = prefix.into();
        self
    }

    /// How long a renewing process holds the lease (default [`DEFAULT_LEASE`]). Set it above
    /// the token request's timeout.
    ///
    /// ```
    /// let _ = grantline::fleet::Fleet::new().lease(std::time::Duration::from_secs(5));
    /// ```
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.inner_mut().lease = lease.max(Duration::from_millis(1));
        self
    }

    /// The lease as set.
    ///
    /// ```
    /// assert_eq!(grantline::fleet::Fleet::new().lease_setting().as_secs(), 15);
    /// ```
    #[must_use]
    pub fn lease_setting(&self) -> Duration {
        self.inner.lease
    }

    /// How often a waiting process asks the store again (default [`DEFAULT_POLL_INTERVAL`]).
    ///
    /// ```
    /// let _ = grantline::fleet::Fleet::new().poll_interval(std::time::Duration::from_millis(20));
    /// ```
    #[must_use]
    pub fn poll_interval(mut self, poll: Duration) -> Self {
        self.inner_mut().poll = poll.max(Duration::from_millis(1));
        self
    }

    /// Calls `callback` when the store becomes unavailable and when it recovers (to log it, or
    /// count it in a metric). It runs on the renewing caller's thread: keep it short.
    ///
    /// ```
    /// let fleet = grantline::fleet::Fleet::new().on_event(|event| eprintln!("token store: {event:?}"));
    /// # let _ = fleet;
    /// ```
    #[must_use]
    pub fn on_event(mut self, callback: impl Fn(&StoreEvent<'_>) + Send + Sync + 'static) -> Self {
        self.inner_mut().on_event = Some(Box::new(callback));
        self
    }

    /// The prefix as set.
    pub(crate) fn inner_prefix(&self) -> String {
        self.inner.prefix.clone()
    }

    /// Whether the store failed the last time it was asked (renewals then run in-process).
    ///
    /// ```
    /// assert!(!grantline::fleet::Fleet::new().is_unavailable());
    /// ```
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        self.inner.unavailable.load(Ordering::Relaxed)
    }

    /// Records an answer from the store; tells the callback on a change.
    fn store_answered(&self) {
        if self.inner.unavailable.swap(false, Ordering::Relaxed) {
            if let Some(callback) = &self.inner.on_event {
                callback(&StoreEvent::Recovered);
            }
        }
    }

    /// Records a failure of the store; tells the callback on a change.
    fn store_failed(&self, error: &StoreError) {
        if !self.inner.unavailable.swap(true, Ordering::Relaxed) {
            if let Some(callback) = &self.inner.on_event {
                callback(&StoreEvent::Unavailable { error });
            }
        }
    }
}

/// Where a fleet's token lives in the store: a readable prefix and the SHA-256 of everything
/// that makes the token what it is (token endpoint, client id, grant type, scope, resources,
/// audiences, extra parameters), in a Redis Cluster hash tag so that the token, its lease and
/// its fence counter share one slot.
///
/// ```
/// use grantline::{Client, grant::TokenRequest, fleet::StoreKey, token_manager::TokenManager};
/// let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
/// let manager = TokenManager::grant(client, TokenRequest::client_credentials().scope("read"))?;
/// let key = StoreKey::of("grantline", &manager)?;
/// assert!(key.token().starts_with("grantline:{"));
/// assert!(key.token().ends_with("}:token"));
/// assert_eq!(&key.lease()[..key.lease().len() - 5], &key.token()[..key.token().len() - 5]);
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StoreKey {
    token: String,
    lease: String,
    fence: String,
}

impl StoreKey {
    /// The key of `manager`'s tokens under `prefix`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`](crate::Error::Config) when the manager's tokens cannot be shared: it
    /// was not made with [`TokenManager::grant`] and `client_credentials`, or its client has a
    /// DPoP key.
    ///
    /// ```
    /// use grantline::{fleet::StoreKey, token_manager::TokenManager};
    /// assert!(StoreKey::of("app", &TokenManager::bearer("at")?).is_err());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn of(prefix: &str, manager: &TokenManager) -> Result<Self, crate::Error> {
        let mut hash = Sha256::new();
        manager.share_material(&mut |name, value| {
            for part in [name, value] {
                hash.update((part.len() as u64).to_be_bytes());
                hash.update(part.as_bytes());
            }
        })?;
        let hex = hex(&hash.finalize());
        let base = format!("{prefix}:{{{hex}}}");
        Ok(Self {
            token: format!("{base}:token"),
            lease: format!("{base}:lease"),
            fence: format!("{base}:fence"),
        })
    }

    /// The key of the stored token (a hash: the value, its renewal time, its fence, its id).
    ///
    /// ```
    /// # use grantline::{Client, fleet::StoreKey, token_manager::TokenManager};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// # let manager = TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?;
    /// assert!(StoreKey::of("app", &manager)?.token().ends_with(":token"));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The key of the lease (its value: the holder's fence).
    ///
    /// ```
    /// # use grantline::{Client, fleet::StoreKey, token_manager::TokenManager};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// # let manager = TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?;
    /// assert!(StoreKey::of("app", &manager)?.lease().ends_with(":lease"));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn lease(&self) -> &str {
        &self.lease
    }

    /// The key of the fence counter (incremented for every lease taken).
    ///
    /// ```
    /// # use grantline::{Client, fleet::StoreKey, token_manager::TokenManager};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// # let manager = TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?;
    /// assert!(StoreKey::of("app", &manager)?.fence().ends_with(":fence"));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn fence(&self) -> &str {
        &self.fence
    }
}

/// `bytes` in lower-case hex.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Milliseconds since the unix epoch (0 before it, saturating far after).
fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests;
