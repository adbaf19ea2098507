//! Randomness as an input.
//!
//! Every value grantline generates (state, nonce, PKCE verifier, `jti`) comes from a
//! [`Randomness`] that the [`Client`](crate::Client) holds. The default is [`SystemRandom`], the
//! operating system's source; tests supply their own so that requests are byte-for-byte
//! predictable.

use crate::Error;
use crate::error::RandomnessError;

/// A source of random bytes.
///
/// ```
/// use grantline::random::Randomness;
///
/// /// Deterministic bytes for a test (never use this in production).
/// #[derive(Debug)]
/// struct Zeros;
///
/// impl Randomness for Zeros {
///     fn fill(&self, dest: &mut [u8]) -> Result<(), grantline::Error> {
///         dest.fill(0);
///         Ok(())
///     }
/// }
///
/// let mut buf = [1u8; 4];
/// Zeros.fill(&mut buf).unwrap();
/// assert_eq!(buf, [0; 4]);
/// ```
pub trait Randomness: std::fmt::Debug + Send + Sync {
    /// Fills `dest` with random bytes.
    ///
    /// # Errors
    ///
    /// [`Error::Randomness`] when the source fails.
    fn fill(&self, dest: &mut [u8]) -> Result<(), Error>;
}

/// The operating system's random source (through `getrandom`).
///
/// ```
/// use grantline::random::{Randomness, SystemRandom};
/// let mut a = [0u8; 16];
/// let mut b = [0u8; 16];
/// SystemRandom.fill(&mut a).unwrap();
/// SystemRandom.fill(&mut b).unwrap();
/// assert_ne!(a, b);
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[allow(clippy::exhaustive_structs)]
pub struct SystemRandom;

impl Randomness for SystemRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), Error> {
        getrandom::fill(dest).map_err(|e| Error::Randomness(RandomnessError::new(e.to_string())))
    }
}
