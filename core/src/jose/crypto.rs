//! The one place that calls the crypto backend (*ring*). Everything else in `jose` works on
//! the key and algorithm types and never names a backend type, so the backend can be swapped
//! by rewriting this file alone.
//!
//! Every (algorithm, key) pair is matched explicitly: a key is only ever used with an algorithm
//! of its own family, so an RSA or EC public key can never be used as an HMAC secret, and a P-256
//! key never verifies an ES384 signature.

use ring::signature::{self as sig, KeyPair as _};
use ring::{digest, hmac, rand, rsa};

use super::algorithm::{Algorithm, Hash};
use crate::error::JoseError;

/// An elliptic curve grantline signs and verifies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
}

impl Curve {
    /// The length of one coordinate (and of the private scalar) in bytes.
    pub(crate) const fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
        }
    }

    /// The JWK `crv` name.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
        }
    }

    /// The algorithm that goes with the curve.
    pub(crate) const fn algorithm(self) -> Algorithm {
        match self {
            Curve::P256 => Algorithm::ES256,
            Curve::P384 => Algorithm::ES384,
        }
    }

    fn signing(self) -> &'static sig::EcdsaSigningAlgorithm {
        match self {
            Curve::P256 => &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
            Curve::P384 => &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
        }
    }
}

/// Public key material (or, for `oct`, the shared secret), already checked for shape.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum PublicKey {
    /// Modulus and exponent, big-endian, without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// An uncompressed point: `0x04 || x || y`.
    Ec { curve: Curve, point: Vec<u8> },
    /// The 32-byte Ed25519 public key.
    Ed25519 { x: Vec<u8> },
    /// A shared secret for HMAC.
    Oct { k: Vec<u8> },
}

impl PublicKey {
    /// Whether the key may be used with `alg` (family and curve).
    pub(crate) fn fits(&self, alg: Algorithm) -> bool {
        matches!(
            (alg, self),
            (
                Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512,
                PublicKey::Oct { .. }
            ) | (
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512,
                PublicKey::Rsa { .. }
            ) | (
                Algorithm::ES256,
                PublicKey::Ec {
                    curve: Curve::P256,
                    ..
                }
            ) | (
                Algorithm::ES384,
                PublicKey::Ec {
                    curve: Curve::P384,
                    ..
                }
            ) | (
                Algorithm::EdDSA | Algorithm::Ed25519,
                PublicKey::Ed25519 { .. }
            )
        )
    }
}

/// Verifies `signature` over `input` with `key` under `alg`.
pub(crate) fn verify(
    alg: Algorithm,
    key: &PublicKey,
    input: &[u8],
    signature: &[u8],
) -> Result<(), JoseError> {
    let bad = |_| JoseError::InvalidSignature;
    match (alg, key) {
        (Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512, PublicKey::Oct { k }) => {
            // ring compares the tags in constant time.
            hmac::verify(&hmac::Key::new(hmac_algorithm(alg), k), input, signature).map_err(bad)
        }
        (
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512,
            PublicKey::Rsa { n, e },
        ) => {
            let params: &sig::RsaParameters = match alg {
                Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
                Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
                Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
                Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
                Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
                _ => &sig::RSA_PSS_2048_8192_SHA512,
            };
            sig::RsaPublicKeyComponents { n, e }
                .verify(params, input, signature)
                .map_err(bad)
        }
        (
            Algorithm::ES256,
            PublicKey::Ec {
                curve: Curve::P256,
                point,
            },
        ) => sig::UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, point)
            .verify(input, signature)
            .map_err(bad),
        (
            Algorithm::ES384,
            PublicKey::Ec {
                curve: Curve::P384,
                point,
            },
        ) => sig::UnparsedPublicKey::new(&sig::ECDSA_P384_SHA384_FIXED, point)
            .verify(input, signature)
            .map_err(bad),
        (Algorithm::EdDSA | Algorithm::Ed25519, PublicKey::Ed25519 { x }) => {
            sig::UnparsedPublicKey::new(&sig::ED25519, x)
                .verify(input, signature)
                .map_err(bad)
        }
        _ => Err(JoseError::KeyAlgorithmMismatch),
    }
}

fn hmac_algorithm(alg: Algorithm) -> hmac::Algorithm {
    match alg.hash() {
        Hash::Sha256 => hmac::HMAC_SHA256,
        Hash::Sha384 => hmac::HMAC_SHA384,
        Hash::Sha512 => hmac::HMAC_SHA512,
    }
}

/// The digest of `data` with the hash of `alg` (for `at_hash` and `c_hash`).
pub(crate) fn digest(alg: Algorithm, data: &[u8]) -> Vec<u8> {
    let algorithm = match alg.hash() {
        Hash::Sha256 => &digest::SHA256,
        Hash::Sha384 => &digest::SHA384,
        Hash::Sha512 => &digest::SHA512,
    };
    digest::digest(algorithm, data).as_ref().to_vec()
}

/// A private key, ready to sign.
pub(crate) enum PrivateKey {
    Rsa(sig::RsaKeyPair),
    Ec {
        curve: Curve,
        pair: sig::EcdsaKeyPair,
    },
    Ed25519(sig::Ed25519KeyPair),
    Hmac(Vec<u8>),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PrivateKey::Rsa(_) => "Rsa([redacted])",
            PrivateKey::Ec { .. } => "Ec([redacted])",
            PrivateKey::Ed25519(_) => "Ed25519([redacted])",
            PrivateKey::Hmac(_) => "Hmac([redacted])",
        })
    }
}

const REJECTED: &str = "the private key was rejected (wrong format, wrong curve, or too short)";

impl PrivateKey {
    /// A PKCS#8 (`PRIVATE KEY`) key for `alg`'s family.
    pub(crate) fn from_pkcs8(alg: Algorithm, der: &[u8]) -> Result<Self, JoseError> {
        let rejected = |_| JoseError::InvalidKey(REJECTED);
        match alg.key_type() {
            "RSA" => sig::RsaKeyPair::from_pkcs8(der)
                .map(PrivateKey::Rsa)
                .map_err(rejected),
            "EC" => {
                let curve = if alg == Algorithm::ES256 {
                    Curve::P256
                } else {
                    Curve::P384
                };
                sig::EcdsaKeyPair::from_pkcs8(curve.signing(), der, &rand::SystemRandom::new())
                    .map(|pair| PrivateKey::Ec { curve, pair })
                    .map_err(rejected)
            }
            "OKP" => sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                .map(PrivateKey::Ed25519)
                .map_err(rejected),
            _ => Err(JoseError::KeyAlgorithmMismatch),
        }
    }

    /// A PKCS#1 (`RSA PRIVATE KEY`) key.
    pub(crate) fn from_pkcs1(der: &[u8]) -> Result<Self, JoseError> {
        sig::RsaKeyPair::from_der(der)
            .map(PrivateKey::Rsa)
            .map_err(|_| JoseError::InvalidKey(REJECTED))
    }

    /// An RSA key from its JWK components (all of `n e d p q dp dq qi`).
    pub(crate) fn rsa_from_components(parts: [&[u8]; 8]) -> Result<Self, JoseError> {
        let [n, e, d, p, q, dp, dq, qi] = parts;
        let components = rsa::KeyPairComponents {
            public_key: rsa::PublicKeyComponents { n, e },
            d,
            p,
            q,
            dP: dp,
            dQ: dq,
            qInv: qi,
        };
        sig::RsaKeyPair::from_components(&components)
            .map(PrivateKey::Rsa)
            .map_err(|_| JoseError::InvalidKey(REJECTED))
    }

    /// An EC key from its private scalar and uncompressed public point.
    pub(crate) fn ec_from_scalar(curve: Curve, d: &[u8], point: &[u8]) -> Result<Self, JoseError> {
        sig::EcdsaKeyPair::from_private_key_and_public_key(
            curve.signing(),
            d,
            point,
            &rand::SystemRandom::new(),
        )
        .map(|pair| PrivateKey::Ec { curve, pair })
        .map_err(|_| JoseError::InvalidKey(REJECTED))
    }

    /// An Ed25519 key from its 32-byte seed and public key.
    pub(crate) fn ed25519_from_seed(seed: &[u8], x: &[u8]) -> Result<Self, JoseError> {
        sig::Ed25519KeyPair::from_seed_and_public_key(seed, x)
            .map(PrivateKey::Ed25519)
            .map_err(|_| JoseError::InvalidKey(REJECTED))
    }

    /// The algorithm a key of this kind signs with when none is named.
    pub(crate) fn default_algorithm(&self) -> Algorithm {
        match self {
            PrivateKey::Rsa(_) => Algorithm::RS256,
            PrivateKey::Ec { curve, .. } => curve.algorithm(),
            PrivateKey::Ed25519(_) => Algorithm::EdDSA,
            PrivateKey::Hmac(_) => Algorithm::HS256,
        }
    }

    /// The public half (`None` for an HMAC secret, which has none).
    pub(crate) fn public_key(&self) -> Option<PublicKey> {
        match self {
            PrivateKey::Rsa(pair) => {
                let components: rsa::PublicKeyComponents<Vec<u8>> = pair.public().into();
                Some(PublicKey::Rsa {
                    n: components.n,
                    e: components.e,
                })
            }
            PrivateKey::Ec { curve, pair } => Some(PublicKey::Ec {
                curve: *curve,
                point: pair.public_key().as_ref().to_vec(),
            }),
            PrivateKey::Ed25519(pair) => Some(PublicKey::Ed25519 {
                x: pair.public_key().as_ref().to_vec(),
            }),
            PrivateKey::Hmac(_) => None,
        }
    }

    /// Signs `input` with `alg`, which must fit the key.
    ///
    /// ECDSA nonces and PSS salts come from the operating system's random source (through
    /// *ring*, which takes no other); RSASSA-PKCS1-v1_5, Ed25519 and HMAC are deterministic.
    pub(crate) fn sign(&self, alg: Algorithm, input: &[u8]) -> Result<Vec<u8>, JoseError> {
        let failed = |_| JoseError::Signing("the crypto backend could not sign");
        match (alg, self) {
            (Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512, PrivateKey::Hmac(k)) => {
                Ok(hmac::sign(&hmac::Key::new(hmac_algorithm(alg), k), input)
                    .as_ref()
                    .to_vec())
            }
            (
                Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512,
                PrivateKey::Rsa(pair),
            ) => {
                let padding: &'static dyn sig::RsaEncoding = match alg {
                    Algorithm::RS256 => &sig::RSA_PKCS1_SHA256,
                    Algorithm::RS384 => &sig::RSA_PKCS1_SHA384,
                    Algorithm::RS512 => &sig::RSA_PKCS1_SHA512,
                    Algorithm::PS256 => &sig::RSA_PSS_SHA256,
                    Algorithm::PS384 => &sig::RSA_PSS_SHA384,
                    _ => &sig::RSA_PSS_SHA512,
                };
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(padding, &rand::SystemRandom::new(), input, &mut signature)
                    .map_err(failed)?;
                Ok(signature)
            }
            (Algorithm::ES256 | Algorithm::ES384, PrivateKey::Ec { curve, pair })
                if curve.algorithm() == alg =>
            {
                pair.sign(&rand::SystemRandom::new(), input)
                    .map(|s| s.as_ref().to_vec())
                    .map_err(failed)
            }
            (Algorithm::EdDSA | Algorithm::Ed25519, PrivateKey::Ed25519(pair)) => {
                Ok(pair.sign(input).as_ref().to_vec())
            }
            _ => Err(JoseError::KeyAlgorithmMismatch),
        }
    }
}

/// Compares two byte strings in time that depends only on their lengths.
/// A new private key for `alg` (ES256, ES384 or EdDSA/Ed25519), as PKCS#8 DER, from the
/// operating system's random source.
pub(crate) fn generate_pkcs8(alg: Algorithm) -> Result<Vec<u8>, JoseError> {
    let rng = rand::SystemRandom::new();
    let document = match alg {
        Algorithm::ES256 => {
            sig::EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        }
        Algorithm::ES384 => {
            sig::EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P384_SHA384_FIXED_SIGNING, &rng)
        }
        Algorithm::EdDSA | Algorithm::Ed25519 => sig::Ed25519KeyPair::generate_pkcs8(&rng),
        _ => return Err(JoseError::UnsupportedAlgorithm(alg.as_str().to_owned())),
    };
    document
        .map(|d| d.as_ref().to_vec())
        .map_err(|_| JoseError::Signing("the random source failed while generating a key"))
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn no_key_is_used_outside_its_family() {
        let rsa = PublicKey::Rsa {
            n: vec![1; 256],
            e: vec![1, 0, 1],
        };
        let ec = PublicKey::Ec {
            curve: Curve::P256,
            point: vec![4; 65],
        };
        let ed = PublicKey::Ed25519 { x: vec![0; 32] };
        for key in [&rsa, &ec, &ed] {
            for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
                assert!(!key.fits(alg));
                assert_eq!(
                    verify(alg, key, b"x", b"sig"),
                    Err(JoseError::KeyAlgorithmMismatch)
                );
            }
        }
        assert!(!ec.fits(Algorithm::ES384));
        assert_eq!(
            verify(Algorithm::ES384, &ec, b"x", &[0; 96]),
            Err(JoseError::KeyAlgorithmMismatch)
        );
        let oct = PublicKey::Oct { k: vec![1; 32] };
        for alg in Algorithm::all() {
            assert_eq!(oct.fits(*alg), alg.is_symmetric());
        }
    }
}
