//! OpenID Connect: ID token validation, the issuer's keys, userinfo and logout.
//!
//! - [`IdTokenValidator`]: every rule of [Core §3.1.3.7] (signature, `iss`, `aud`, `azp`,
//!   `exp`, `iat`, `nonce`, `auth_time`/`max_age`, `at_hash`, `c_hash`) and of §12.2 for the ID
//!   token of a refresh, each failing with its own [`JoseError`](crate::error::JoseError).
//!   Needs the `jose` feature.
//! - [`JwksCache`] and [`JwksFetch`]: the issuer's JWK Set, fetched through a flow, kept, and
//!   fetched again when stale or when a token names an unknown key (rate-limited). Needs `jose`.
//! - [`UserinfoFlow`]: the UserInfo endpoint ([Core §5.3]), JSON or signed JWT answers, with the
//!   `sub` check against the ID token.
//! - [`EndSessionRequest`]: the RP-initiated logout URL ([RP-Initiated Logout §2]).
//!
//! [Core §3.1.3.7]: https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation
//! [Core §5.3]: https://openid.net/specs/openid-connect-core-1_0.html#UserInfo
//! [RP-Initiated Logout §2]: https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RPLogout
//!
//! # After the code exchange
//!
//! ```text
//!  TokenResponse ─ id_token ─▶ IdTokenValidator::new(issuer, client_id)
//!                                  .nonce(sent nonce).access_token(&at)
//!                                  │
//!              ┌───────────────────┴────────────────────┐
//!              ▼                                        ▼
//!   .validate(&id_token, &keys, now)       .verify(&id_token, &mut JwksCache)  (a Flow)
//!     keys you hold                           next ─▶ Send(GET jwks_uri)?  only if no keys,
//!              │                                      stale keys, or an unknown kid
//!              └──────────────▶ IdTokenClaims ◀───────┘
//!                                  │ sub
//!                                  ▼
//!                  UserinfoFlow::new(&client, &at).expect_subject(sub)   (a Flow)
//! ```
//!
//! # End to end, with a scripted provider
//!
//! ```
//! use grantline::jose::{self, Algorithm, Claims, JwkSet, JwsHeader, SigningKey};
//! use grantline::oidc::{IdTokenValidator, JwksCache};
//! use grantline::secret::IdToken;
//! // `testing::Driver` plays the server here; it needs grantline's `testing` feature.
//! use grantline::testing::Driver;
//! use std::time::Duration;
//!
//! // The provider's key and its JWK Set document.
//! let key = SigningKey::from_jwk(r#"{"kty":"OKP","crv":"Ed25519","kid":"2024-06",
//!     "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
//!     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
//! let jwks = JwkSet::from(key.public_jwk().unwrap()).to_public_json().to_string();
//!
//! let mut driver = Driver::new().reply_json(200, &jwks);
//! let now = driver.now().wall();
//! let claims = Claims::new()
//!     .with("iss", "https://op.example").with("sub", "alice").with("aud", "app")
//!     .with("nonce", "n-0S6").with_time("iat", now).with_time("exp", now + Duration::from_secs(600));
//! let id_token = IdToken::new(jose::sign(&key, JwsHeader::for_signer(&key), &claims.to_json())?);
//!
//! // The client's side: the cache is empty, so the flow fetches the keys once.
//! let validator = IdTokenValidator::new("https://op.example", "app")
//!     .algorithms([Algorithm::EdDSA])
//!     .nonce("n-0S6");
//! let mut cache = JwksCache::new("https://op.example/jwks")?;
//! let validated = driver.run(validator.verify(&id_token, &mut cache)?).unwrap();
//! assert_eq!(validated.subject(), "alice");
//! assert_eq!(driver.transcript().requests().count(), 1);
//!
//! // The keys are cached now: the next login sends nothing.
//! let validated = driver.run(validator.verify(&id_token, &mut cache)?).unwrap();
//! assert_eq!(validated.subject(), "alice");
//! assert_eq!(driver.transcript().requests().count(), 1);
//! # Ok::<(), grantline::Error>(())
//! ```

#[cfg(feature = "jose")]
mod id_token;
#[cfg(feature = "jose")]
mod jwks;
mod logout;
mod userinfo;

#[cfg(feature = "jose")]
pub use id_token::{DEFAULT_CLOCK_SKEW, IdTokenClaims, IdTokenValidator, IdTokenVerification};
#[cfg(feature = "jose")]
pub use jwks::{DEFAULT_MAX_AGE, DEFAULT_REFETCH_COOLDOWN, JwksCache, JwksFetch};
#[cfg(feature = "jose")]
pub(crate) use jwks::{KeyRefresh, SignedAnswer, answer_algorithms};
pub use logout::EndSessionRequest;
pub use userinfo::{Userinfo, UserinfoFlow};
