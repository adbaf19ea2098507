//! The store's side of the contract: the operations a fleet asks of it, the replies, the
//! errors, and the two I/O interfaces (blocking and async) a store implements. An interface is
//! not I/O: the implementations (`grantline-redis`) live outside the core.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::StoreKey;
use crate::driver::BoxError;

/// A lease's fencing value: a number the store hands out in increasing order (Redis `INCR`), so
/// that a publication made under an older lease can be told from a newer one.
///
/// ```
/// use grantline::fleet::Fence;
/// assert!(Fence::new(2) > Fence::new(1));
/// assert_eq!(Fence::new(7).get(), 7);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fence(u64);

impl Fence {
    /// A fence of value `value` (as the store counted it).
    ///
    /// ```
    /// let _ = grantline::fleet::Fence::new(1);
    /// ```
    #[must_use]
    pub const fn new(value: u64) -> Self {
        Self(value)
    }

    /// Its value.
    ///
    /// ```
    /// assert_eq!(grantline::fleet::Fence::new(3).get(), 3);
    /// ```
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// A stored token as bytes (the [stored format](crate::token) of a
/// [`TokenResponse`](crate::TokenResponse), as JSON): it holds the access token, so its `Debug`
/// is redacted and reading it takes [`secret`](Self::secret).
///
/// ```
/// let value = grantline::fleet::SharedValue::new(b"{..}".to_vec());
/// assert_eq!(format!("{value:?}"), "SharedValue([redacted])");
/// assert_eq!(value.secret(), b"{..}");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SharedValue(Vec<u8>);

impl SharedValue {
    /// Wraps the bytes of a stored token (as a store read them, unsealed).
    ///
    /// ```
    /// let _ = grantline::fleet::SharedValue::new(Vec::new());
    /// ```
    #[must_use]
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The bytes.
    ///
    /// # Security
    ///
    /// They hold an access token: seal them before they leave the process if the store is not
    /// trusted with tokens, and never log them.
    ///
    /// ```
    /// assert!(grantline::fleet::SharedValue::new(Vec::new()).secret().is_empty());
    /// ```
    #[must_use]
    pub fn secret(&self) -> &[u8] {
        &self.0
    }

    /// Consumes the wrapper and returns the bytes (same security note as [`secret`](Self::secret)).
    ///
    /// ```
    /// assert!(grantline::fleet::SharedValue::new(Vec::new()).into_secret().is_empty());
    /// ```
    #[must_use]
    pub fn into_secret(self) -> Vec<u8> {
        self.0
    }
}

impl fmt::Debug for SharedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedValue([redacted])")
    }
}

/// Which token a stored value holds, without holding it: the first 16 bytes of the SHA-256 of
/// the access token, in hex. Stored in the clear beside a (possibly sealed) value so that the
/// store can refuse to hand back a token a resource server rejected.
///
/// ```
/// use grantline::{TokenResponse, TokenType, fleet::TokenId};
/// let token = TokenResponse::new("at".into(), TokenType::Bearer);
/// let id = TokenId::of(&token);
/// assert_eq!(id.as_str().len(), 32);
/// assert!(!id.as_str().contains("at") || id.as_str() != "at");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TokenId(String);

impl TokenId {
    /// The id of `token`.
    ///
    /// ```
    /// # use grantline::{TokenResponse, TokenType, fleet::TokenId};
    /// let a = TokenResponse::new("a".into(), TokenType::Bearer);
    /// assert_eq!(TokenId::of(&a), TokenId::of(&a.clone()));
    /// ```
    #[must_use]
    pub fn of(token: &crate::TokenResponse) -> Self {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(token.access_token().secret().as_bytes());
        Self(super::hex(digest.get(..16).unwrap_or_default()))
    }

    /// A token id as a store read it back.
    ///
    /// ```
    /// assert_eq!(grantline::fleet::TokenId::new("ab").as_str(), "ab");
    /// ```
    #[must_use]
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    ///
    /// ```
    /// assert_eq!(grantline::fleet::TokenId::new("ab").as_str(), "ab");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One operation a fleet asks of the store; each is atomic in the store (a Lua script in Redis).
///
/// Times are unix milliseconds from the core's [`Now`](crate::Now): the store reads no clock
/// (Redis keeps its own for key expiry).
///
/// ```
/// use grantline::fleet::StoreOp;
/// fn name(op: &StoreOp) -> &'static str {
///     match op {
///         StoreOp::Acquire { .. } => "acquire",
///         StoreOp::Publish { .. } => "publish",
///         StoreOp::Release { .. } => "release",
///         _ => "unknown",
///     }
/// }
/// # let _ = name;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StoreOp {
    /// If a token is stored whose `renew_at` is after `now` and whose id is not `unless`, reply
    /// [`StoreReply::Fresh`] with it. Otherwise increment the fence counter and set the lease to
    /// the new fence if no lease is held (`SET lease fence NX PX lease`): reply
    /// [`StoreReply::Acquired`]; or [`StoreReply::Held`] when another process holds it.
    Acquire {
        /// Where.
        key: StoreKey,
        /// The time, unix milliseconds.
        now: u64,
        /// How long the lease lasts if taken.
        lease: Duration,
        /// A token not to hand back (a resource server rejected it).
        unless: Option<TokenId>,
    },
    /// Store `value` with its `renew_at`, `id` and `fence`, expiring after `ttl` (never, for
    /// `None`), and delete the lease, if the lease is still `fence`; or, with the lease lost, if
    /// no token is stored under a fence above `fence`. Reply [`StoreReply::Published`], or
    /// [`StoreReply::Refused`] (a newer token is stored).
    Publish {
        /// Where.
        key: StoreKey,
        /// The token, in the stored format (a store that seals, seals it).
        value: SharedValue,
        /// Its id.
        id: TokenId,
        /// When the fleet renews it, unix milliseconds.
        renew_at: u64,
        /// How long the store keeps it: until it expires.
        ttl: Option<Duration>,
        /// The lease it was renewed under.
        fence: Fence,
    },
    /// Delete the lease if it is still `fence` (the renewal failed: let another process try at
    /// once). Reply [`StoreReply::Released`].
    Release {
        /// Where.
        key: StoreKey,
        /// The lease to give up.
        fence: Fence,
    },
}

/// What the store answered to a [`StoreOp`].
///
/// ```
/// use grantline::fleet::{Fence, StoreReply};
/// let reply = StoreReply::Acquired(Fence::new(1));
/// assert!(matches!(reply, StoreReply::Acquired(_)));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StoreReply {
    /// [`StoreOp::Acquire`]: a stored token not yet due for renewal (unsealed).
    Fresh(SharedValue),
    /// [`StoreOp::Acquire`]: the lease is this process's, under this fence.
    Acquired(Fence),
    /// [`StoreOp::Acquire`]: another process holds the lease.
    Held,
    /// [`StoreOp::Publish`]: stored.
    Published,
    /// [`StoreOp::Publish`]: not stored, a newer token is.
    Refused,
    /// [`StoreOp::Release`]: done (whether or not the lease was still held).
    Released,
}

/// What kind of failure a [`StoreError`] is.
///
/// ```
/// use grantline::fleet::{StoreError, StoreErrorKind};
/// assert_eq!(StoreError::new(StoreErrorKind::Timeout).kind(), StoreErrorKind::Timeout);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// No connection to the store (refused, unreachable, closed).
    Unavailable,
    /// The store did not answer in time.
    Timeout,
    /// A sealed value could not be opened: another sealing key, or the value was tampered with.
    Sealing,
    /// A value or reply is not what a grantline store holds (another writer, a newer format).
    Corrupt,
    /// The store refused the operation (permissions, a read-only replica, out of memory).
    Refused,
    /// Anything else; the [`source`](std::error::Error::source) says more.
    Other,
}

/// A store operation that failed. The fleet then renews in-process; the application keeps
/// working. Its `Display` names the failure and what to do, never a token or a key.
///
/// ```
/// use grantline::fleet::{StoreError, StoreErrorKind};
/// let e = StoreError::with_source(StoreErrorKind::Unavailable, "connection refused");
/// assert_eq!(e.kind(), StoreErrorKind::Unavailable);
/// assert!(std::error::Error::source(&e).is_some());
/// ```
#[derive(Debug)]
pub struct StoreError {
    kind: StoreErrorKind,
    source: Option<BoxError>,
}

impl StoreError {
    /// An error of `kind`.
    ///
    /// ```
    /// let _ = grantline::fleet::StoreError::new(grantline::fleet::StoreErrorKind::Corrupt);
    /// ```
    #[must_use]
    pub fn new(kind: StoreErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// An error of `kind` caused by `source` (the store client's error; it must not hold a
    /// token).
    ///
    /// ```
    /// use grantline::fleet::{StoreError, StoreErrorKind};
    /// let _ = StoreError::with_source(StoreErrorKind::Other, "boom");
    /// ```
    #[must_use]
    pub fn with_source(kind: StoreErrorKind, source: impl Into<BoxError>) -> Self {
        Self {
            kind,
            source: Some(source.into()),
        }
    }

    /// What kind of failure it is.
    ///
    /// ```
    /// use grantline::fleet::{StoreError, StoreErrorKind};
    /// assert_eq!(StoreError::new(StoreErrorKind::Sealing).kind(), StoreErrorKind::Sealing);
    /// ```
    #[must_use]
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            StoreErrorKind::Unavailable => {
                "the token store is unreachable: tokens are renewed in-process until it is back; \
                 check the store's address and that it runs"
            }
            StoreErrorKind::Timeout => {
                "the token store did not answer in time: tokens are renewed in-process until it \
                 does; check its load and the network"
            }
            StoreErrorKind::Sealing => {
                "a stored token could not be unsealed: every replica must use the same sealing \
                 key (or the value was tampered with); it is renewed in-process"
            }
            StoreErrorKind::Corrupt => {
                "the token store holds a value grantline does not read (another writer on the \
                 key, or a newer grantline): it is renewed in-process"
            }
            StoreErrorKind::Refused => {
                "the token store refused the operation (permissions, a read-only replica, \
                 memory): tokens are renewed in-process"
            }
            StoreErrorKind::Other => "the token store failed: tokens are renewed in-process",
        })
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// A store a blocking driver (`grantline-ureq`) talks to: one call per [`StoreOp`], bounded in
/// time by the implementation (a dead store must fail fast, not hang a renewal).
///
/// ```
/// use grantline::fleet::{BlockingStore, StoreError, StoreErrorKind, StoreOp, StoreReply};
///
/// /// A store that is never there: every fleet renewal runs in-process.
/// #[derive(Debug)]
/// struct Nowhere;
/// impl BlockingStore for Nowhere {
///     fn execute(&self, _op: &StoreOp) -> Result<StoreReply, StoreError> {
///         Err(StoreError::new(StoreErrorKind::Unavailable))
///     }
/// }
/// let store: Box<dyn BlockingStore> = Box::new(Nowhere);
/// # let _ = store;
/// ```
pub trait BlockingStore: fmt::Debug + Send + Sync {
    /// Performs `op` atomically and returns the reply.
    ///
    /// # Errors
    ///
    /// A [`StoreError`] when the store cannot be reached, times out, or holds something else.
    fn execute(&self, op: &StoreOp) -> Result<StoreReply, StoreError>;
}

/// The future an [`AsyncStore`] returns.
pub type StoreFuture<'a> =
    Pin<Box<dyn Future<Output = Result<StoreReply, StoreError>> + Send + 'a>>;

/// A store an async driver (`grantline-reqwest`, `grantline-tower`) talks to: as
/// [`BlockingStore`], with a boxed future so that it stays usable as `dyn AsyncStore`.
///
/// ```
/// use grantline::fleet::{AsyncStore, StoreError, StoreErrorKind, StoreFuture, StoreOp};
///
/// #[derive(Debug)]
/// struct Nowhere;
/// impl AsyncStore for Nowhere {
///     fn execute<'a>(&'a self, _op: &'a StoreOp) -> StoreFuture<'a> {
///         Box::pin(async { Err(StoreError::new(StoreErrorKind::Unavailable)) })
///     }
/// }
/// let store: std::sync::Arc<dyn AsyncStore> = std::sync::Arc::new(Nowhere);
/// # let _ = store;
/// ```
pub trait AsyncStore: fmt::Debug + Send + Sync {
    /// Performs `op` atomically; the future resolves to the reply.
    ///
    /// # Errors
    ///
    /// A [`StoreError`] when the store cannot be reached, times out, or holds something else.
    fn execute<'a>(&'a self, op: &'a StoreOp) -> StoreFuture<'a>;
}
