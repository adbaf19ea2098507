//! Errors of JOSE (JWS, JWK, JWT) processing and of OpenID Connect token validation.

use std::fmt;

use super::Escaped;

/// Why a JWS, a JWK, a JWT's claims, an ID token or a userinfo answer was refused, or why
/// something could not be signed.
///
/// Every validation rule has its own variant, so a caller (and a test) can tell exactly which
/// rule a token broke. No variant holds a token, a key, a nonce or a signature: messages are
/// safe to log. Text that came from the token (an issuer, an algorithm name) is escaped and cut
/// to a bounded length when displayed.
///
/// ```
/// use grantline::{Error, error::JoseError};
///
/// fn explain(error: &Error) -> &'static str {
///     match error {
///         Error::Jose(JoseError::Expired) => "log in again",
///         Error::Jose(JoseError::NoMatchingKey { .. }) => "the provider rotated its keys",
///         Error::Jose(_) => "the token was refused",
///         _ => "something else",
///     }
/// }
/// assert_eq!(explain(&Error::Jose(JoseError::Expired)), "log in again");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JoseError {
    /// The token is not a well-formed JWS Compact Serialization (RFC 7515 §7.1): not three
    /// base64url parts, a header or payload that is not a JSON object, a part too large.
    Malformed(&'static str),
    /// The token is unsecured (`alg: none`, RFC 7519 §6). Never accepted.
    Unsecured,
    /// The token's `alg` is not one grantline implements.
    UnsupportedAlgorithm(String),
    /// The token's `alg` is implemented but not among the algorithms the caller allows.
    AlgorithmNotAllowed(String),
    /// The header has a `crit` parameter (RFC 7515 §4.1.11); grantline understands no
    /// extension, so it must refuse the token.
    CriticalHeader,
    /// No key in the key set fits the token: none has its `kid`, or none is of the family,
    /// curve, `use`, `key_ops` or `alg` the token's algorithm needs. If the set may be stale, fetch
    /// it again (see `oidc::JwksCache`).
    NoMatchingKey {
        /// The token's `kid`, if it had one.
        kid: Option<String>,
    },
    /// The key cannot be used with this algorithm: another family (an RSA or EC public key is
    /// never used as an HMAC secret), another curve, or the key's own `alg` names another
    /// algorithm.
    KeyAlgorithmMismatch,
    /// A key is unusable: bad base64url, a wrong coordinate length, an RSA modulus under 2048
    /// bits, a point not on the curve, a private key that does not parse.
    InvalidKey(&'static str),
    /// The signature does not verify with any fitting key.
    InvalidSignature,
    /// A required claim is missing.
    MissingClaim(&'static str),
    /// A claim has the wrong type or an impossible value.
    InvalidClaim {
        /// The claim.
        claim: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// `iss` is not the expected issuer (OpenID Connect Core §3.1.3.7 rule 2).
    IssuerMismatch {
        /// The issuer the token named.
        found: String,
    },
    /// `aud` does not contain the client id (rule 3).
    AudienceMismatch,
    /// `azp` is missing although the token has several audiences, or it is not the client id
    /// (rules 4 and 5).
    AuthorizedPartyMismatch,
    /// `exp` is in the past, beyond the allowed clock skew (rule 9).
    Expired,
    /// `nbf` is in the future, beyond the allowed clock skew.
    NotYetValid,
    /// `iat` is in the future beyond the allowed clock skew, after `exp`, or older than the
    /// configured maximum token age (rule 10).
    IssuedAtInvalid,
    /// A nonce was sent in the authentication request but the token has none (rule 11).
    MissingNonce,
    /// The token's `nonce` is not the one sent (rule 11).
    NonceMismatch,
    /// `max_age` was requested but the token has no `auth_time` (rule 13).
    MissingAuthTime,
    /// `auth_time` is older than the requested `max_age` allows (rule 13).
    AuthenticationTooOld,
    /// `at_hash` does not match the access token (§3.1.3.8, §3.2.2.9).
    AccessTokenHashMismatch,
    /// `c_hash` does not match the authorization code (§3.3.2.11).
    CodeHashMismatch,
    /// The subject is not the expected one: a userinfo `sub` that differs from the ID token's
    /// (§5.3.2), or a refreshed ID token for another user (§12.2).
    SubjectMismatch,
    /// A refreshed ID token breaks a rule of OpenID Connect Core §12.2 other than `sub`
    /// (`auth_time` or `nonce` changed).
    RefreshMismatch(&'static str),
    /// The token's `typ` header says it is another kind of JWT.
    UnexpectedType(String),
    /// A signature could not be made (a key that does not suit the algorithm, or a failing
    /// external signer).
    Signing(&'static str),
}

impl fmt::Display for JoseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoseError::Malformed(reason) => write!(f, "malformed JWS: {reason}"),
            JoseError::Unsecured => {
                f.write_str("the token is unsecured (`alg: none`), which is never accepted")
            }
            JoseError::UnsupportedAlgorithm(alg) => write!(
                f,
                "the token's algorithm `{}` is not supported",
                Escaped(alg, 32)
            ),
            JoseError::AlgorithmNotAllowed(alg) => write!(
                f,
                "the token's algorithm `{}` is not among the allowed algorithms",
                Escaped(alg, 32)
            ),
            JoseError::CriticalHeader => f.write_str(
                "the token has critical header parameters (`crit`) that grantline does not understand",
            ),
            JoseError::NoMatchingKey { kid: Some(kid) } => write!(
                f,
                "no key in the key set fits the token (kid `{}`)",
                Escaped(kid, 64)
            ),
            JoseError::NoMatchingKey { kid: None } => {
                f.write_str("no key in the key set fits the token (it has no kid)")
            }
            JoseError::KeyAlgorithmMismatch => {
                f.write_str("the key cannot be used with the token's algorithm")
            }
            JoseError::InvalidKey(reason) => write!(f, "invalid key: {reason}"),
            JoseError::InvalidSignature => f.write_str("the token's signature is invalid"),
            JoseError::MissingClaim(claim) => write!(f, "the token has no `{claim}` claim"),
            JoseError::InvalidClaim { claim, problem } => {
                write!(f, "the token's `{claim}` claim {problem}")
            }
            JoseError::IssuerMismatch { found } => write!(
                f,
                "the token was issued by `{}`, not the expected issuer",
                Escaped(found, 128)
            ),
            JoseError::AudienceMismatch => {
                f.write_str("the token's audience does not include this client")
            }
            JoseError::AuthorizedPartyMismatch => f.write_str(
                "the token's authorized party (`azp`) is missing or is not this client",
            ),
            JoseError::Expired => f.write_str("the token has expired"),
            JoseError::NotYetValid => f.write_str("the token is not valid yet (`nbf`)"),
            JoseError::IssuedAtInvalid => {
                f.write_str("the token's issue time (`iat`) is in the future or too old")
            }
            JoseError::MissingNonce => {
                f.write_str("a nonce was sent but the token does not carry one")
            }
            JoseError::NonceMismatch => f.write_str("the token's nonce is not the one sent"),
            JoseError::MissingAuthTime => {
                f.write_str("max_age was requested but the token has no `auth_time`")
            }
            JoseError::AuthenticationTooOld => {
                f.write_str("the user authenticated longer ago than max_age allows")
            }
            JoseError::AccessTokenHashMismatch => {
                f.write_str("the token's `at_hash` does not match the access token")
            }
            JoseError::CodeHashMismatch => {
                f.write_str("the token's `c_hash` does not match the authorization code")
            }
            JoseError::SubjectMismatch => f.write_str("the subject (`sub`) is not the expected one"),
            JoseError::RefreshMismatch(claim) => write!(
                f,
                "the refreshed ID token's `{claim}` differs from the original ID token's"
            ),
            JoseError::UnexpectedType(typ) => write!(
                f,
                "the token's type `{}` is not the expected kind of JWT",
                Escaped(typ, 64)
            ),
            JoseError::Signing(reason) => write!(f, "signing failed: {reason}"),
        }
    }
}

impl std::error::Error for JoseError {}

impl From<JoseError> for super::Error {
    fn from(e: JoseError) -> Self {
        super::Error::Jose(e)
    }
}
