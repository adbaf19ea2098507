//! JOSE: JSON Web Signatures (RFC 7515), JSON Web Keys (RFC 7517), the JWS algorithms
//! (RFC 7518, RFC 8037) and JWT claims sets (RFC 7519), behind the `jose` cargo feature (on by
//! default).
//!
//! This is the layer under OpenID Connect ([`oidc`](crate::oidc)), JWT client authentication
//! ([`client_auth::ClientSecretJwt`](crate::client_auth::ClientSecretJwt),
//! [`client_auth::PrivateKeyJwt`](crate::client_auth::PrivateKeyJwt)), JWT bearer assertions
//! ([`JwtAssertion`]) and signed request objects ([`RequestObject`], RFC 9101).
//!
//! # Rules that always hold
//!
//! - `alg: none` is never accepted: [`Algorithm`] has no such variant, and parsing a header that
//!   says `none` fails with [`JoseError::Unsecured`](crate::error::JoseError::Unsecured).
//! - A token is only verified under an algorithm the caller allowed.
//! - A key is only used with the algorithms of its own family: an `RSA` or `EC` public key is
//!   never used as an HMAC secret, a P-256 key never checks an ES384 signature.
//! - A key's own `alg`, when it has one, wins: a key published for `RS256` does not verify a
//!   `PS256` token, whatever its header says.
//! - Keys come from the caller only. Header parameters that point at keys (`jku`, `jwk`, `x5u`,
//!   `x5c`) are never followed.
//! - A `crit` header is refused (grantline understands no JWS extension).
//!
//! # Algorithms
//!
//! | family | algorithms | keys |
//! | --- | --- | --- |
//! | RSA PKCS#1 v1.5 | RS256, RS384, RS512 | `RSA`, 2048 to 8192 bits |
//! | RSA-PSS | PS256, PS384, PS512 | `RSA`, 2048 to 8192 bits |
//! | ECDSA | ES256, ES384 | `EC` on P-256, P-384 |
//! | EdDSA | EdDSA, Ed25519 | `OKP` on Ed25519 |
//! | HMAC | HS256, HS384, HS512 | `oct` |
//!
//! # The crypto backend: *ring*
//!
//! The signatures are made and checked by [*ring*](https://docs.rs/ring) 0.17, chosen for:
//!
//! - **No open advisory.** The pure-Rust alternative for RSA, RustCrypto's `rsa` crate, carries
//!   RUSTSEC-2023-0071 (the Marvin timing attack) in every released version, 0.10 release
//!   candidates included. That attack leaks the *private* key through the timing of private-key
//!   operations (decryption, and in principle signing); verifying an ID token uses only the
//!   public key and is not affected. But grantline also signs client assertions with RSA keys,
//!   and a library cannot promise its users a clean `cargo audit` with that crate in the default
//!   build. *ring* has no open advisory (RUSTSEC-2025-0009 is fixed in 0.17.12; the 2025
//!   "unmaintained" notice was withdrawn when the rustls team took over maintenance).
//! - **One crate, already built.** *ring* covers RSA, RSA-PSS, ECDSA P-256/P-384, Ed25519, HMAC
//!   and SHA-2 with constant-time code from BoringSSL, where RustCrypto would add about twenty
//!   crates. The rustls-based transports already compile it, so the JOSE feature adds nothing to
//!   their build.
//! - **Portable enough.** *ring* builds for the usual targets and for `wasm32-unknown-unknown`
//!   (with clang; enable *ring*'s `wasm32_unknown_unknown_js` feature for its random source in a
//!   browser). It is not pure Rust: it needs a C compiler at build time.
//!
//! Two consequences to know: ECDSA signatures and RSA-PSS salts take their randomness from the
//! operating system through *ring* (it accepts no other source), so they are not reproducible
//! from a seeded [`Randomness`](crate::random::Randomness); `jti` values and everything else
//! grantline generates still come from the client's `Randomness`. And RSA keys under 2048 bits
//! are refused. Every call to the backend lives in one private module, so switching to
//! RustCrypto once `rsa` 0.10 ships without the advisory is a local change.
//!
//! # Example: sign, parse, verify
//!
//! ```
//! use grantline::jose::{self, Algorithm, Claims, JwkSet, JwsHeader, SigningKey, UnverifiedJws};
//!
//! let key = SigningKey::from_jwk(r#"{"kty":"OKP","crv":"Ed25519","kid":"ed",
//!     "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
//!     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
//! let token = jose::sign(&key, JwsHeader::for_signer(&key), &Claims::new().with("sub", "u").to_json())?;
//!
//! let keys = JwkSet::from(key.public_jwk().unwrap());
//! let verified = UnverifiedJws::parse(&token)?.verify(&keys, &[Algorithm::EdDSA])?;
//! assert_eq!(verified.claims()?.subject(), Some("u"));
//! # Ok::<(), grantline::Error>(())
//! ```

mod algorithm;
mod claims;
mod client_assertion;
mod crypto;
mod jwk;
mod jws;
mod request_object;
mod signing_key;

pub use algorithm::Algorithm;
pub use claims::Claims;
pub use client_assertion::{
    AssertionAudience, ClientSecretJwt, JwtAssertion, JwtAssertionSource, PrivateKeyJwt,
};
pub use jwk::{Jwk, JwkSet};
pub use jws::{JwsHeader, MAX_COMPACT_LEN, UnverifiedJws, VerifiedJws, sign};
pub use request_object::RequestObject;
pub use signing_key::{JwsSigner, SigningKey, ecdsa_der_to_jose};

/// The JWS algorithms the FAPI 2.0 Security Profile allows (§5.4.1): PS256, ES256, and EdDSA
/// with Ed25519 (under either of its names).
pub(crate) const FAPI2_ALGORITHMS: [Algorithm; 4] = [
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
    Algorithm::Ed25519,
];

/// Whether the FAPI 2.0 Security Profile allows `alg`.
pub(crate) fn fapi2_allows(alg: Algorithm) -> bool {
    FAPI2_ALGORITHMS.contains(&alg)
}

pub(crate) use crypto::{constant_time_eq, digest, generate_pkcs8};
pub(crate) use jwk::{b64_decode, b64_encode};
pub(crate) use signing_key::{pkcs8_from_parts, pkcs8_private_part};
