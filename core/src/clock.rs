//! Time as an input: the [`Now`] value every flow is given.
//!
//! # The clock decision
//!
//! OAuth needs two kinds of time, and grantline takes both in one value so that no caller passes two
//! clocks around:
//!
//! - **Monotonic time** ([`Instant`]) for everything that waits: polling intervals, `slow_down`,
//!   `Retry-After` delays, back-off after a network failure, the lifetime of a device code. A
//!   monotonic clock never jumps when the wall clock is corrected, so a poll is never sent early
//!   or held back for hours.
//! - **Wall time** ([`SystemTime`]) for everything that must survive a restart or be compared with a
//!   server's clock: a token's expiry (`expires_in` turned into an absolute instant, which can be
//!   stored and read back by another process), and later the `exp`, `iat` and `nbf` claims of JWTs.
//!
//! [`Now`] is the pair, read together. Flows take a `Now` and use the half that fits; token expiry
//! is a [`SystemTime`]. The crate never reads a clock itself: [`Now::system`] is the one
//! convenience that does, and it is only ever called by the caller (a transport, a test, an
//! application), never inside a flow. Tests build a `Now` once and [`advance`](Now::advance) it, so
//! no test sleeps.

use std::time::{Duration, Instant, SystemTime};

/// One reading of both clocks: a monotonic [`Instant`] and a wall-clock [`SystemTime`].
///
/// ```
/// use grantline::Now;
/// use std::time::{Duration, SystemTime};
///
/// let start = Now::system();
/// let later = start.advance(Duration::from_secs(5));
/// assert_eq!(later.monotonic() - start.monotonic(), Duration::from_secs(5));
/// assert_eq!(later.wall().duration_since(start.wall()).unwrap(), Duration::from_secs(5));
/// # let _ = SystemTime::UNIX_EPOCH;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Now {
    monotonic: Instant,
    wall: SystemTime,
}

impl Now {
    /// A `Now` from two readings the caller made (or made up, in a test).
    ///
    /// ```
    /// use grantline::Now;
    /// use std::time::{Duration, Instant, SystemTime};
    ///
    /// let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// let now = Now::new(Instant::now(), wall);
    /// assert_eq!(now.wall(), wall);
    /// ```
    #[must_use]
    pub const fn new(monotonic: Instant, wall: SystemTime) -> Self {
        Self { monotonic, wall }
    }

    /// Reads the system's monotonic and wall clocks.
    ///
    /// This is the only place in grantline that reads a clock. The core never calls it on its own:
    /// transports call it once per step of a flow, and applications may call it to get the `now`
    /// that other functions take.
    ///
    /// ```
    /// let now = grantline::Now::system();
    /// assert!(now.wall() > std::time::SystemTime::UNIX_EPOCH);
    /// ```
    #[must_use]
    pub fn system() -> Self {
        Self {
            monotonic: Instant::now(),
            wall: SystemTime::now(),
        }
    }

    /// The monotonic half, for waits, intervals and deadlines within one process.
    ///
    /// ```
    /// let now = grantline::Now::system();
    /// let deadline = now.monotonic() + std::time::Duration::from_secs(1);
    /// assert!(deadline > now.monotonic());
    /// ```
    #[must_use]
    pub const fn monotonic(&self) -> Instant {
        self.monotonic
    }

    /// The wall-clock half, for token expiry and JWT time claims.
    ///
    /// ```
    /// let now = grantline::Now::system();
    /// assert!(now.wall().duration_since(std::time::SystemTime::UNIX_EPOCH).is_ok());
    /// ```
    #[must_use]
    pub const fn wall(&self) -> SystemTime {
        self.wall
    }

    /// Both halves moved forward by `by`, as a fake clock in a test does after a wait.
    ///
    /// Saturates instead of panicking if either clock would leave its range.
    ///
    /// ```
    /// use std::time::Duration;
    /// let now = grantline::Now::system();
    /// assert!(now.advance(Duration::from_secs(1)).monotonic() > now.monotonic());
    /// ```
    #[must_use]
    pub fn advance(self, by: Duration) -> Self {
        Self {
            monotonic: self.monotonic.checked_add(by).unwrap_or(self.monotonic),
            wall: self.wall.checked_add(by).unwrap_or(self.wall),
        }
    }
}

/// Where a driver gets its time from, and how long it really sleeps for a flow's wait.
///
/// Transports read time through a `Clock` so that it stays an input there too: the default
/// [`SystemClock`] reads the system clocks; a [`ScaledClock`] runs time faster (a demo, or a
/// test that must see a five-second `slow_down` from the server's side without waiting five
/// seconds); your own implementation can do anything else.
///
/// ```
/// use grantline::clock::{Clock, SystemClock};
/// use std::time::Duration;
///
/// let clock = SystemClock;
/// assert_eq!(clock.real_duration(Duration::from_secs(5)), Duration::from_secs(5));
/// let _now = clock.now();
/// ```
pub trait Clock: std::fmt::Debug + Send + Sync {
    /// The current time, as flows see it.
    fn now(&self) -> Now;

    /// How long the driver really waits when a flow asks to wait `wait`.
    fn real_duration(&self, wait: Duration) -> Duration {
        wait
    }
}

/// The system's clocks, through [`Now::system`].
///
/// ```
/// use grantline::clock::{Clock, SystemClock};
/// assert!(SystemClock.now().wall() > std::time::SystemTime::UNIX_EPOCH);
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[allow(clippy::exhaustive_structs)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Now {
        Now::system()
    }
}

/// A clock that runs `factor` times faster than the system's, from the moment it was made.
///
/// A flow's `Wait(5 s)` then takes 5 s / `factor` of real time, and the flow sees 5 s pass:
/// intervals keep their proportions, so a server can still measure them.
///
/// ```
/// use grantline::clock::{Clock, ScaledClock};
/// use std::time::Duration;
///
/// let clock = ScaledClock::new(100);
/// assert_eq!(clock.real_duration(Duration::from_secs(5)), Duration::from_millis(50));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ScaledClock {
    origin: Now,
    factor: u32,
}

impl ScaledClock {
    /// Time runs `factor` times faster (a factor of 0 counts as 1).
    ///
    /// ```
    /// let _ = grantline::clock::ScaledClock::new(10);
    /// ```
    #[must_use]
    pub fn new(factor: u32) -> Self {
        Self {
            origin: Now::system(),
            factor: factor.max(1),
        }
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> Now {
        let real = Now::system()
            .monotonic()
            .saturating_duration_since(self.origin.monotonic());
        self.origin.advance(real.saturating_mul(self.factor))
    }

    fn real_duration(&self, wait: Duration) -> Duration {
        wait / self.factor
    }
}
