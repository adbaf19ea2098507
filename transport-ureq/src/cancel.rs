//! A cancellation signal that wakes a waiting flow at once.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// A one-way signal that stops [`Transport::run_with`](crate::Transport::run_with).
///
/// Clones share one signal: keep one, give a clone to the thread (or signal handler, or UI) that
/// may cancel. Once [`cancel`](Self::cancel) is called it stays cancelled.
///
/// Cancelling wakes a flow that is waiting (a device flow between polls, a back-off after a
/// network failure) at once, and stops the run before it sends another request. A request
/// already on the wire is not interrupted: it ends when the server answers or the agent's
/// timeout fires, so give the agent timeouts (see [`Transport::with_agent`](crate::Transport::with_agent)).
///
/// ```
/// use grantline_ureq::Cancellation;
///
/// let cancel = Cancellation::new();
/// let handle = cancel.clone();
/// std::thread::spawn(move || handle.cancel()).join().unwrap();
/// assert!(cancel.is_cancelled());
/// ```
#[derive(Clone, Default)]
pub struct Cancellation {
    inner: Arc<(Mutex<bool>, Condvar)>,
}

impl fmt::Debug for Cancellation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancellation")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl Cancellation {
    /// A signal that is not cancelled yet.
    ///
    /// ```
    /// assert!(!grantline_ureq::Cancellation::new().is_cancelled());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels: every run holding a clone of this signal stops before its next request, and a
    /// waiting one wakes now. Calling it again does nothing.
    ///
    /// ```
    /// let cancel = grantline_ureq::Cancellation::new();
    /// cancel.cancel();
    /// cancel.cancel();
    /// assert!(cancel.is_cancelled());
    /// ```
    pub fn cancel(&self) {
        let (_, woken) = &*self.inner;
        *self.flag() = true;
        woken.notify_all();
    }

    /// Whether [`cancel`](Self::cancel) was called on this signal or a clone of it.
    ///
    /// ```
    /// let cancel = grantline_ureq::Cancellation::new();
    /// assert!(!cancel.clone().is_cancelled());
    /// ```
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        *self.flag()
    }

    /// Sleeps for `duration`, or less if cancelled meanwhile. Returns whether it was cancelled.
    pub(crate) fn sleep(&self, duration: Duration) -> bool {
        let (_, woken) = &*self.inner;
        let start = Instant::now();
        let mut cancelled = self.flag();
        loop {
            if *cancelled {
                return true;
            }
            // Measured on the monotonic clock, so spurious wake-ups only shorten the next wait.
            let remaining = duration.saturating_sub(start.elapsed());
            if remaining.is_zero() {
                return false;
            }
            cancelled = woken
                .wait_timeout(cancelled, remaining)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// The flag, even if a thread panicked while holding it (a bool cannot be left half-written).
    fn flag(&self) -> MutexGuard<'_, bool> {
        let (flag, _) = &*self.inner;
        flag.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
