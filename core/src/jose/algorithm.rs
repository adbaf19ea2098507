//! The JWS algorithms grantline signs and verifies with (RFC 7518 §3, RFC 8037 §3.1).

use std::fmt;
use std::str::FromStr;

use crate::error::JoseError;

/// A JWS signature algorithm (`alg`).
///
/// There is no variant for `none`: an unsecured token can never be represented, so it can never
/// be allowed. Each algorithm belongs to one key family ([`Algorithm::key_type`]), and a key is
/// only ever used with the algorithms of its own family.
///
/// ```
/// use grantline::jose::Algorithm;
///
/// assert_eq!("RS256".parse::<Algorithm>().unwrap(), Algorithm::RS256);
/// assert_eq!(Algorithm::ES256.as_str(), "ES256");
/// assert_eq!(Algorithm::HS256.key_type(), "oct");
/// assert!("none".parse::<Algorithm>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(clippy::upper_case_acronyms)]
pub enum Algorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256 (MGF1 with SHA-256, 32-byte salt).
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// EdDSA (RFC 8037); grantline supports the Ed25519 curve.
    EdDSA,
    /// Ed25519, the fully-specified name for EdDSA on Ed25519 (RFC 9864).
    Ed25519,
}

/// Every algorithm, in registry order.
const ALL: [Algorithm; 13] = [
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
    Algorithm::Ed25519,
];

/// The hash behind an algorithm, which also sizes `at_hash` and `c_hash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    /// Every algorithm grantline implements.
    ///
    /// ```
    /// assert!(grantline::jose::Algorithm::all().contains(&grantline::jose::Algorithm::PS256));
    /// ```
    #[must_use]
    pub fn all() -> &'static [Algorithm] {
        &ALL
    }

    /// The algorithm's registered name.
    ///
    /// ```
    /// assert_eq!(grantline::jose::Algorithm::EdDSA.as_str(), "EdDSA");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::EdDSA => "EdDSA",
            Algorithm::Ed25519 => "Ed25519",
        }
    }

    /// The algorithm with this registered name (case-sensitive, as RFC 7515 §4.1.1 requires);
    /// `None` for `none` and for names grantline does not implement.
    ///
    /// ```
    /// use grantline::jose::Algorithm;
    /// assert_eq!(Algorithm::from_name("PS384"), Some(Algorithm::PS384));
    /// assert_eq!(Algorithm::from_name("rs256"), None);
    /// assert_eq!(Algorithm::from_name("none"), None);
    /// ```
    #[must_use]
    pub fn from_name(name: &str) -> Option<Algorithm> {
        ALL.iter().copied().find(|alg| alg.as_str() == name)
    }

    /// The JWK key type (`kty`) this algorithm needs: `RSA`, `EC`, `OKP` or `oct`.
    ///
    /// ```
    /// use grantline::jose::Algorithm;
    /// assert_eq!(Algorithm::PS256.key_type(), "RSA");
    /// assert_eq!(Algorithm::ES384.key_type(), "EC");
    /// assert_eq!(Algorithm::EdDSA.key_type(), "OKP");
    /// ```
    #[must_use]
    pub const fn key_type(self) -> &'static str {
        match self {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => "oct",
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => "RSA",
            Algorithm::ES256 | Algorithm::ES384 => "EC",
            Algorithm::EdDSA | Algorithm::Ed25519 => "OKP",
        }
    }

    /// Whether this is a symmetric (HMAC) algorithm, verified with a shared secret.
    ///
    /// ```
    /// assert!(grantline::jose::Algorithm::HS512.is_symmetric());
    /// assert!(!grantline::jose::Algorithm::RS256.is_symmetric());
    /// ```
    #[must_use]
    pub const fn is_symmetric(self) -> bool {
        matches!(self, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
    }

    /// The hash function used by the algorithm (for Ed25519, SHA-512 as in OpenID Connect's
    /// `at_hash` rules for EdDSA).
    pub(crate) const fn hash(self) -> Hash {
        match self {
            Algorithm::HS256 | Algorithm::RS256 | Algorithm::PS256 | Algorithm::ES256 => {
                Hash::Sha256
            }
            Algorithm::HS384 | Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 => {
                Hash::Sha384
            }
            Algorithm::HS512
            | Algorithm::RS512
            | Algorithm::PS512
            | Algorithm::EdDSA
            | Algorithm::Ed25519 => Hash::Sha512,
        }
    }

    /// Reads the `alg` of a header or key: `none` is [`JoseError::Unsecured`], anything
    /// unknown [`JoseError::UnsupportedAlgorithm`].
    pub(crate) fn parse_header_value(name: &str) -> Result<Algorithm, JoseError> {
        if name.eq_ignore_ascii_case("none") {
            return Err(JoseError::Unsecured);
        }
        Algorithm::from_name(name)
            .ok_or_else(|| JoseError::UnsupportedAlgorithm(crate::error::bounded(name, 64)))
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = crate::Error;

    /// Parses a registered name; `none` and unknown names are errors.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Ok(Algorithm::parse_header_value(name)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_none_never_parses() {
        for alg in Algorithm::all() {
            assert_eq!(Algorithm::from_name(alg.as_str()), Some(*alg));
            assert_eq!(alg.to_string().parse::<Algorithm>().unwrap(), *alg);
        }
        for none in ["none", "None", "NONE", "nOnE"] {
            assert_eq!(
                Algorithm::parse_header_value(none),
                Err(JoseError::Unsecured)
            );
        }
        assert!(matches!(
            Algorithm::parse_header_value("ES512"),
            Err(JoseError::UnsupportedAlgorithm(_))
        ));
    }
}
