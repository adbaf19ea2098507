//! PKCE (RFC 7636) and the random values an authorization request carries.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::error::ConfigError;
use crate::random::Randomness;

/// The PKCE code challenge method (RFC 7636 §4.2).
///
/// ```
/// use grantline::authorization::PkceMethod;
/// assert_eq!(PkceMethod::S256.as_str(), "S256");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum PkceMethod {
    /// `S256`: the challenge is the SHA-256 of the verifier. The default.
    S256,
    /// `plain`: the challenge is the verifier itself. Only for servers that cannot do `S256`.
    Plain,
}

impl PkceMethod {
    /// The method's name on the wire.
    ///
    /// ```
    /// assert_eq!(grantline::authorization::PkceMethod::Plain.as_str(), "plain");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            PkceMethod::S256 => "S256",
            PkceMethod::Plain => "plain",
        }
    }

    /// The challenge for `verifier`.
    pub(crate) fn challenge(self, verifier: &str) -> String {
        match self {
            PkceMethod::S256 => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
            PkceMethod::Plain => verifier.to_owned(),
        }
    }
}

/// 32 random bytes (256 bits), base64url without padding: 43 characters.
pub(crate) fn random_token(randomness: &dyn Randomness) -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    randomness.fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A caller-supplied verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1).
pub(crate) fn check_verifier(verifier: &str) -> Result<(), Error> {
    let valid_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if (43..=128).contains(&verifier.len()) && verifier.bytes().all(valid_char) {
        Ok(())
    } else {
        Err(ConfigError::InvalidParameter {
            name: "code_verifier".to_owned(),
            reason: "it must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' or '~'",
        }
        .into())
    }
}

/// Compares two secrets in time that depends only on their lengths.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            PkceMethod::S256.challenge(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(PkceMethod::Plain.challenge(verifier), verifier);
    }

    #[test]
    fn verifier_rules() {
        assert!(check_verifier(&"a".repeat(43)).is_ok());
        assert!(check_verifier(&"a".repeat(128)).is_ok());
        assert!(check_verifier(&"a".repeat(42)).is_err());
        assert!(check_verifier(&"a".repeat(129)).is_err());
        assert!(check_verifier(&format!("{}+", "a".repeat(43))).is_err());
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
