//! Secret values: newtypes whose `Debug` never shows what they hold.
//!
//! Each type prints as `Name([redacted])`. Reading the value takes an explicit call to
//! `secret()`, so a secret never reaches a log by accident. They serialize as the plain string,
//! because storing a token (to survive a restart) is a deliberate act.
//!
//! These newtypes are one half of the guarantee; the other is the **secret sentinel test**
//! (`tests/tests/secret_sentinel.rs`, and `cli/src/sentinel.rs` for the command), which builds
//! every public type that can hold a secret with a recognisable value and checks that no
//! `Debug`, `Display` or error contains it. A new type that holds a secret must be added there
//! (CONTRIBUTING.md, "Secrets").
//!
//! ```
//! use grantline::secret::AccessToken;
//!
//! let token = AccessToken::new("abc123");
//! assert_eq!(format!("{token:?}"), "AccessToken([redacted])");
//! assert_eq!(token.secret(), "abc123");
//! ```

use serde::{Deserialize, Serialize};

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            #[must_use]
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The secret value.
            ///
            /// # Security
            ///
            /// Whatever you do with the returned string is outside grantline's care: do not log
            /// it or put it in an error message.
            #[must_use]
            pub fn secret(&self) -> &str {
                &self.0
            }

            /// Consumes the wrapper and returns the secret value.
            #[must_use]
            pub fn into_secret(self) -> String {
                self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
}

secret_type!(
    /// A client secret (RFC 6749 §2.3.1).
    ///
    /// ```
    /// let secret = grantline::secret::ClientSecret::new("s3cr3t");
    /// assert!(!format!("{secret:?}").contains("s3cr3t"));
    /// ```
    ClientSecret
);
secret_type!(
    /// An access token (RFC 6749 §1.4).
    ///
    /// ```
    /// let token = grantline::secret::AccessToken::from("at");
    /// assert_eq!(token.into_secret(), "at");
    /// ```
    AccessToken
);
secret_type!(
    /// A refresh token (RFC 6749 §1.5).
    ///
    /// ```
    /// let token = grantline::secret::RefreshToken::new("rt");
    /// assert_eq!(format!("{token:?}"), "RefreshToken([redacted])");
    /// ```
    RefreshToken
);
secret_type!(
    /// An OpenID Connect ID token, as the compact JWT the server sent.
    ///
    /// ```
    /// let token = grantline::secret::IdToken::new("eyJ...");
    /// assert_eq!(token.secret(), "eyJ...");
    /// ```
    IdToken
);
secret_type!(
    /// A resource owner's password (RFC 6749 §4.3).
    ///
    /// ```
    /// let password = grantline::secret::Password::new("hunter2");
    /// assert!(!format!("{password:?}").contains("hunter2"));
    /// ```
    Password
);
secret_type!(
    /// A token or assertion handed to the token endpoint: a JWT bearer assertion (RFC 7523) or
    /// a subject or actor token for token exchange (RFC 8693).
    ///
    /// ```
    /// let assertion = grantline::secret::Assertion::new("eyJhbGciOi...");
    /// assert_eq!(format!("{assertion:?}"), "Assertion([redacted])");
    /// ```
    Assertion
);
secret_type!(
    /// A private key as a JWK (RFC 7517) with its private members, as
    /// [`DpopKey::to_jwk`](crate::dpop::DpopKey::to_jwk) exports it: store it as you store a
    /// password.
    ///
    /// ```
    /// let jwk = grantline::secret::PrivateKeyJwk::new(r#"{"kty":"OKP","d":"..."}"#);
    /// assert_eq!(format!("{jwk:?}"), "PrivateKeyJwk([redacted])");
    /// ```
    PrivateKeyJwk
);

/// A private key as PKCS#8 DER (RFC 5208), as
/// [`DpopKey::to_pkcs8_der`](crate::dpop::DpopKey::to_pkcs8_der) exports it. `Debug` is
/// redacted; store the bytes as you store a password.
///
/// ```
/// let der = grantline::secret::PrivateKeyDer::new(vec![0x30, 0x2e]);
/// assert_eq!(format!("{der:?}"), "PrivateKeyDer([redacted])");
/// assert_eq!(der.secret(), &[0x30, 0x2e]);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKeyDer(Vec<u8>);

impl PrivateKeyDer {
    /// Wraps the DER bytes.
    ///
    /// ```
    /// let _ = grantline::secret::PrivateKeyDer::new(Vec::new());
    /// ```
    #[must_use]
    pub fn new(der: Vec<u8>) -> Self {
        Self(der)
    }

    /// The DER bytes.
    ///
    /// # Security
    ///
    /// Whatever you do with the returned bytes is outside grantline's care: do not log them.
    ///
    /// ```
    /// assert!(grantline::secret::PrivateKeyDer::new(vec![1]).secret() == [1]);
    /// ```
    #[must_use]
    pub fn secret(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for PrivateKeyDer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKeyDer([redacted])")
    }
}
