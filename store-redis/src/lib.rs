//! # grantline-redis: one OAuth token for a whole fleet, shared through Redis
//!
//! A service that scales out runs many replicas; without sharing, each one fetches its own
//! client credentials token, and N replicas cost N token requests per renewal. With a
//! [`RedisStore`] the replicas share one token: the one replica holding the lease renews and
//! publishes, the others read it. The decisions (when to renew, whom to wait for, what to do
//! when Redis fails) are the core's [`grantline::fleet`] state machine; this crate only performs
//! its three operations, each one Lua script, on Redis:
//!
//! - **Acquire**: the stored token if it is not yet due for renewal; else the lease
//!   (`SET lease fence NX PX ttl`, the fence from `INCR`); else "held".
//! - **Publish**: the token, its renewal time, its id and its fence, refused when the lease is no
//!   longer ours and a newer fence published since (a late leader never overwrites a newer
//!   token); the lease is then deleted.
//! - **Release**: delete the lease if it is still ours (the renewal failed).
//!
//! Keys: `{prefix}:{<sha-256>}:token` (a hash), `…:lease`, `…:fence`; the hash tag puts all
//! three in one Redis Cluster slot.
//!
//! **Sealing** ([`RedisStore::sealing_key`]): values are encrypted with AES-256-GCM under a key
//! the application provides, a random nonce per value, the store key as associated data; a
//! wrong key or a tampered value is a [`StoreErrorKind::Sealing`] error (the replica then
//! renews in-process), never a panic.
//!
//! **Timeouts**: a connect timeout and a command timeout (default [`DEFAULT_TIMEOUT`], 500 ms
//! each), so a dead Redis costs a renewal at most about a second before it goes on in-process.
//!
//! One `RedisStore` serves both kinds of driver: it is a [`BlockingStore`] (for
//! `grantline-ureq`) and an [`AsyncStore`] (for `grantline-reqwest` and `grantline-tower`, on
//! tokio).
//!
//! ```no_run
//! use grantline::{Client, authorizer::Authorizer, fleet::Fleet, grant::TokenRequest, token_manager::TokenManager};
//! use grantline_redis::{RedisStore, SealingKey};
//!
//! let client = Client::builder("billing")
//!     .token_endpoint("https://as.example/oauth2/token")
//!     .client_secret_basic("s3cr3t")
//!     .build()?;
//! let authorizer = Authorizer::new(TokenManager::grant(client, TokenRequest::client_credentials())?)
//!     .share(Fleet::new().on_event(|event| eprintln!("token store: {event:?}")))?;
//! let key = SealingKey::from_bytes(&[7; 32])?; // from your secret manager
//! let store = RedisStore::open("redis://127.0.0.1:6379/")?.sealing_key(key);
//! let auth = grantline_ureq::Auth::shared(grantline_ureq::Transport::new(), authorizer, store);
//! # let _ = auth;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use grantline::fleet::{
    AsyncStore, BlockingStore, Fence, SharedValue, StoreError, StoreErrorKind, StoreFuture,
    StoreKey, StoreOp, StoreReply,
};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Script, ScriptInvocation, Value};
use ring::aead;
use ring::rand::{SecureRandom, SystemRandom};

pub use grantline;

/// How long connecting to Redis, and each command, may take by default: 500 milliseconds.
///
/// ```
/// assert_eq!(grantline_redis::DEFAULT_TIMEOUT.as_millis(), 500);
/// ```
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

/// Acquire: the stored token if fresh; else the lease; else held.
const ACQUIRE: &str = r"
local t = redis.call('HMGET', KEYS[1], 'renew_at', 'id', 'value')
if t[1] and t[3] and tonumber(t[1]) > tonumber(ARGV[1]) and t[2] ~= ARGV[3] then
  return {1, t[3]}
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {3}
end
local fence = redis.call('INCR', KEYS[3])
if redis.call('SET', KEYS[2], fence, 'NX', 'PX', ARGV[2]) then
  return {2, fence}
end
return {3}
";

/// Publish: under our lease, or when no newer fence published since.
const PUBLISH: &str = r"
local ours = redis.call('GET', KEYS[2]) == ARGV[1]
if not ours then
  local stored = redis.call('HGET', KEYS[1], 'fence')
  if stored and tonumber(stored) > tonumber(ARGV[1]) then
    return 0
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'value', ARGV[2], 'id', ARGV[3], 'renew_at', ARGV[4], 'fence', ARGV[1])
if ARGV[5] ~= '' then
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
if ours then
  redis.call('DEL', KEYS[2])
end
return 1
";

/// Release: delete the lease if it is still ours.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 1
";

/// What went wrong setting a store up.
///
/// ```
/// use grantline_redis::{ConfigError, RedisStore};
/// assert!(matches!(RedisStore::open("not a url"), Err(ConfigError::InvalidUrl)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The Redis URL is not one (`redis://host:port/db`, `redis+unix:///path`).
    InvalidUrl,
    /// A sealing key must be exactly 32 bytes.
    InvalidSealingKey {
        /// How many bytes it had.
        len: usize,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::InvalidUrl => f.write_str(
                "the Redis address is not a Redis URL: use redis://host:port/ (or redis+unix:///path)",
            ),
            ConfigError::InvalidSealingKey { len } => write!(
                f,
                "a sealing key is 32 bytes (AES-256), this one has {len}: generate 32 random bytes \
                 and give every replica the same"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The key stored tokens are sealed with (AES-256-GCM): 32 bytes every replica shares, from the
/// application's secret manager. `Debug` is redacted.
///
/// ```
/// let key = grantline_redis::SealingKey::from_bytes(&[1; 32])?;
/// assert_eq!(format!("{key:?}"), "SealingKey([redacted])");
/// assert!(grantline_redis::SealingKey::from_bytes(b"short").is_err());
/// # Ok::<(), grantline_redis::ConfigError>(())
/// ```
pub struct SealingKey(aead::LessSafeKey);

impl SealingKey {
    /// A key from its 32 bytes.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidSealingKey`] when `bytes` is not 32 bytes long.
    ///
    /// ```
    /// assert!(grantline_redis::SealingKey::from_bytes(&[0; 32]).is_ok());
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ConfigError> {
        let invalid = ConfigError::InvalidSealingKey { len: bytes.len() };
        if bytes.len() != 32 {
            return Err(invalid);
        }
        let key = aead::UnboundKey::new(&aead::AES_256_GCM, bytes).map_err(|_| invalid)?;
        Ok(Self(aead::LessSafeKey::new(key)))
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey([redacted])")
    }
}

/// What starts a sealed value (format version 1): then a 12-byte nonce, then the ciphertext and
/// its tag.
const SEALED: &[u8] = b"grantline-sealed-1:";

/// A shared token store on one Redis (or a managed Redis behind one address): a
/// [`BlockingStore`] and an [`AsyncStore`]. See the [crate documentation](crate).
///
/// `Debug` shows neither the URL (it may hold a password) nor the sealing key.
///
/// ```
/// let store = grantline_redis::RedisStore::open("redis://:pa55@127.0.0.1:6379/")?
///     .timeout(std::time::Duration::from_millis(200));
/// assert!(!format!("{store:?}").contains("pa55"));
/// # Ok::<(), grantline_redis::ConfigError>(())
/// ```
pub struct RedisStore {
    client: redis::Client,
    sealing: Option<SealingKey>,
    timeout: Duration,
    blocking: Mutex<Option<redis::Connection>>,
    multiplexed: Mutex<Option<MultiplexedConnection>>,
    scripts: Scripts,
}

struct Scripts {
    acquire: Script,
    publish: Script,
    release: Script,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("sealed", &self.sealing.is_some())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store on the Redis at `url` (`redis://[:password@]host:port/[db]`). Nothing is
    /// connected yet: the first operation connects (and reconnects after a failure).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidUrl`] when `url` is not a Redis URL.
    ///
    /// ```
    /// let store = grantline_redis::RedisStore::open("redis://127.0.0.1:6379/")?;
    /// # let _ = store;
    /// # Ok::<(), grantline_redis::ConfigError>(())
    /// ```
    pub fn open(url: &str) -> Result<Self, ConfigError> {
        let client = redis::Client::open(url).map_err(|_| ConfigError::InvalidUrl)?;
        Ok(Self {
            client,
            sealing: None,
            timeout: DEFAULT_TIMEOUT,
            blocking: Mutex::new(None),
            multiplexed: Mutex::new(None),
            scripts: Scripts {
                acquire: Script::new(ACQUIRE),
                publish: Script::new(PUBLISH),
                release: Script::new(RELEASE),
            },
        })
    }

    /// Seals every stored token with `key`; a value that is not sealed with it (another key, a
    /// tampered value, an unsealed value) is a [`StoreErrorKind::Sealing`] error.
    ///
    /// ```
    /// use grantline_redis::{RedisStore, SealingKey};
    /// let store = RedisStore::open("redis://127.0.0.1:6379/")?.sealing_key(SealingKey::from_bytes(&[9; 32])?);
    /// # let _ = store;
    /// # Ok::<(), grantline_redis::ConfigError>(())
    /// ```
    #[must_use]
    pub fn sealing_key(mut self, key: SealingKey) -> Self {
        self.sealing = Some(key);
        self
    }

    /// Sets the connect timeout and the command timeout (default [`DEFAULT_TIMEOUT`] each).
    ///
    /// ```
    /// let store = grantline_redis::RedisStore::open("redis://127.0.0.1:6379/")?
    ///     .timeout(std::time::Duration::from_millis(100));
    /// # let _ = store;
    /// # Ok::<(), grantline_redis::ConfigError>(())
    /// ```
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The script and its keys and arguments for `op`, values sealed.
    fn invocation<'a>(&'a self, op: &StoreOp) -> Result<(ScriptInvocation<'a>, Kind), StoreError> {
        let (script, kind) = match op {
            StoreOp::Acquire { .. } => (&self.scripts.acquire, Kind::Acquire),
            StoreOp::Publish { .. } => (&self.scripts.publish, Kind::Publish),
            StoreOp::Release { .. } => (&self.scripts.release, Kind::Release),
            _ => return Err(StoreError::new(StoreErrorKind::Other)),
        };
        let mut call = script.prepare_invoke();
        match op {
            StoreOp::Acquire {
                key,
                now,
                lease,
                unless,
            } => {
                call.key(key.token()).key(key.lease()).key(key.fence());
                call.arg(*now)
                    .arg(millis(*lease).max(1))
                    .arg(unless.as_ref().map_or("", |id| id.as_str()));
            }
            StoreOp::Publish {
                key,
                value,
                id,
                renew_at,
                ttl,
                fence,
            } => {
                let value = self.seal(key, value)?;
                call.key(key.token()).key(key.lease());
                call.arg(fence.get())
                    .arg(value)
                    .arg(id.as_str())
                    .arg(*renew_at)
                    .arg(ttl.map_or_else(String::new, |ttl| millis(ttl).max(1).to_string()));
            }
            StoreOp::Release { key, fence } => {
                call.key(key.lease()).arg(fence.get());
            }
            _ => return Err(StoreError::new(StoreErrorKind::Other)),
        }
        Ok((call, kind))
    }

    /// The reply for `value`, the script's answer.
    fn reply(&self, kind: Kind, op: &StoreOp, value: Value) -> Result<StoreReply, StoreError> {
        let corrupt = || StoreError::new(StoreErrorKind::Corrupt);
        match (kind, value) {
            (Kind::Acquire, Value::Array(items)) => match items.as_slice() {
                [Value::Int(1), Value::BulkString(sealed)] => {
                    let StoreOp::Acquire { key, .. } = op else {
                        return Err(corrupt());
                    };
                    Ok(StoreReply::Fresh(self.open_value(key, sealed)?))
                }
                [Value::Int(2), Value::Int(fence)] => u64::try_from(*fence)
                    .map(|f| StoreReply::Acquired(Fence::new(f)))
                    .map_err(|_| corrupt()),
                [Value::Int(3)] => Ok(StoreReply::Held),
                _ => Err(corrupt()),
            },
            (Kind::Publish, Value::Int(1)) => Ok(StoreReply::Published),
            (Kind::Publish, Value::Int(0)) => Ok(StoreReply::Refused),
            (Kind::Release, Value::Int(_)) => Ok(StoreReply::Released),
            _ => Err(corrupt()),
        }
    }

    fn seal(&self, key: &StoreKey, value: &SharedValue) -> Result<Vec<u8>, StoreError> {
        let Some(sealing) = &self.sealing else {
            return Ok(value.secret().to_vec());
        };
        let failed = || StoreError::new(StoreErrorKind::Sealing);
        let mut nonce = [0; aead::NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| failed())?;
        let mut sealed = value.secret().to_vec();
        sealing
            .0
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(key.token().as_bytes()),
                &mut sealed,
            )
            .map_err(|_| failed())?;
        let mut out = Vec::with_capacity(SEALED.len() + nonce.len() + sealed.len());
        out.extend_from_slice(SEALED);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn open_value(&self, key: &StoreKey, stored: &[u8]) -> Result<SharedValue, StoreError> {
        let sealing_error = || StoreError::new(StoreErrorKind::Sealing);
        let sealed = stored.strip_prefix(SEALED);
        let (Some(sealing), Some(sealed)) = (&self.sealing, sealed) else {
            return match (&self.sealing, sealed) {
                // Neither sealed nor expected to be.
                (None, None) => Ok(SharedValue::new(stored.to_vec())),
                // Sealed without a key here, or expected sealed and is not.
                _ => Err(sealing_error()),
            };
        };
        if sealed.len() < aead::NONCE_LEN {
            return Err(sealing_error());
        }
        let (nonce, ciphertext) = sealed.split_at(aead::NONCE_LEN);
        let nonce = aead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| sealing_error())?;
        let mut buffer = ciphertext.to_vec();
        let plain = sealing
            .0
            .open_in_place(nonce, aead::Aad::from(key.token().as_bytes()), &mut buffer)
            .map_err(|_| sealing_error())?;
        Ok(SharedValue::new(plain.to_vec()))
    }

    /// The blocking connection, made if there is none.
    fn with_blocking<T>(
        &self,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, StoreError> {
        let mut slot = self.blocking.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            let connection = self
                .client
                .get_connection_with_timeout(self.timeout)
                .map_err(classify)?;
            connection
                .set_read_timeout(Some(self.timeout))
                .and_then(|()| connection.set_write_timeout(Some(self.timeout)))
                .map_err(classify)?;
            *slot = Some(connection);
        }
        let Some(connection) = slot.as_mut() else {
            return Err(StoreError::new(StoreErrorKind::Unavailable));
        };
        f(connection).map_err(|e| {
            // A broken connection is made anew next time.
            if !matches!(e.kind(), redis::ErrorKind::Server(_)) {
                *slot = None;
            }
            classify(e)
        })
    }

    /// The multiplexed connection (cheap to clone), made if there is none.
    async fn multiplexed(&self) -> Result<MultiplexedConnection, StoreError> {
        let existing = self
            .multiplexed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(connection) = existing {
            return Ok(connection);
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let connection = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(classify)?;
        *self
            .multiplexed
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(connection.clone());
        Ok(connection)
    }

    async fn execute_async(&self, op: &StoreOp) -> Result<StoreReply, StoreError> {
        let (call, kind) = self.invocation(op)?;
        let mut connection = self.multiplexed().await?;
        let value: Value = match call.invoke_async(&mut connection).await {
            Ok(value) => value,
            Err(e) => {
                if !matches!(e.kind(), redis::ErrorKind::Server(_)) {
                    *self
                        .multiplexed
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner) = None;
                }
                return Err(classify(e));
            }
        };
        self.reply(kind, op, value)
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Acquire,
    Publish,
    Release,
}

impl BlockingStore for RedisStore {
    fn execute(&self, op: &StoreOp) -> Result<StoreReply, StoreError> {
        let (call, kind) = self.invocation(op)?;
        let value: Value = self.with_blocking(|connection| call.invoke(connection))?;
        self.reply(kind, op, value)
    }
}

impl AsyncStore for RedisStore {
    fn execute<'a>(&'a self, op: &'a StoreOp) -> StoreFuture<'a> {
        Box::pin(self.execute_async(op))
    }
}

/// A Redis error as a store error. Only I/O failures keep the client's error as the source:
/// other errors can quote a reply, and replies hold tokens.
fn classify(error: redis::RedisError) -> StoreError {
    if error.is_timeout() {
        StoreError::with_source(StoreErrorKind::Timeout, error)
    } else if error.is_connection_refusal() || error.is_io_error() || error.is_connection_dropped()
    {
        StoreError::with_source(StoreErrorKind::Unavailable, error)
    } else if let redis::ErrorKind::Server(_) = error.kind() {
        let code = error.code().unwrap_or("server error").to_owned();
        StoreError::with_source(StoreErrorKind::Refused, code)
    } else {
        StoreError::new(StoreErrorKind::Other)
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> StoreKey {
        let client = grantline::Client::builder("svc")
            .token_endpoint("https://as.example/token")
            .build()
            .unwrap();
        let manager = grantline::token_manager::TokenManager::grant(
            client,
            grantline::grant::TokenRequest::client_credentials(),
        )
        .unwrap();
        StoreKey::of("t", &manager).unwrap()
    }

    fn store(seal: Option<u8>) -> RedisStore {
        let store = RedisStore::open("redis://127.0.0.1:1/").unwrap();
        match seal {
            Some(b) => store.sealing_key(SealingKey::from_bytes(&[b; 32]).unwrap()),
            None => store,
        }
    }

    #[test]
    fn sealed_values_open_with_the_key_only() {
        let value =
            SharedValue::new(br#"{"grantline_token":1,"access_token":"SENTINEL"}"#.to_vec());
        let sealed = store(Some(1)).seal(&key(), &value).unwrap();
        assert!(!sealed.windows(8).any(|w| w == b"SENTINEL"));
        assert_eq!(store(Some(1)).open_value(&key(), &sealed).unwrap(), value);
        for wrong in [store(Some(2)), store(None)] {
            let error = wrong.open_value(&key(), &sealed).unwrap_err();
            assert_eq!(error.kind(), StoreErrorKind::Sealing);
        }
        // Unsealed where sealing is expected.
        let error = store(Some(1))
            .open_value(&key(), value.secret())
            .unwrap_err();
        assert_eq!(error.kind(), StoreErrorKind::Sealing);
    }

    #[test]
    fn tampered_truncated_or_moved_values_are_sealing_errors_not_panics() {
        let value = SharedValue::new(b"{}".to_vec());
        let sealed = store(Some(1)).seal(&key(), &value).unwrap();
        for len in 0..sealed.len() {
            let cut = sealed.get(..len).unwrap();
            assert!(store(Some(1)).open_value(&key(), cut).is_err());
        }
        for i in 0..sealed.len() {
            let mut flipped = sealed.clone();
            if let Some(b) = flipped.get_mut(i) {
                *b ^= 1;
            }
            assert!(
                store(Some(1)).open_value(&key(), &flipped).is_err(),
                "byte {i}"
            );
        }
    }

    #[test]
    fn nonces_differ_per_value() {
        let value = SharedValue::new(b"{}".to_vec());
        let s = store(Some(1));
        assert_ne!(
            s.seal(&key(), &value).unwrap(),
            s.seal(&key(), &value).unwrap()
        );
    }

    #[test]
    fn an_unreachable_redis_fails_fast_and_typed() {
        let s = store(None).timeout(Duration::from_millis(200));
        let op = StoreOp::Acquire {
            key: key(),
            now: 0,
            lease: Duration::from_secs(1),
            unless: None,
        };
        let started = std::time::Instant::now();
        let error = BlockingStore::execute(&s, &op).unwrap_err();
        assert_eq!(error.kind(), StoreErrorKind::Unavailable);
        assert!(started.elapsed() < Duration::from_secs(2));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let error = runtime.block_on(AsyncStore::execute(&s, &op)).unwrap_err();
        assert_eq!(error.kind(), StoreErrorKind::Unavailable);
    }
}
