//! Assertions asked for each time a request needs one: a JWT bearer grant's `assertion`
//! (RFC 7523 §2.1), a client assertion (RFC 7521 §4.2), a token exchange's `subject_token`
//! (RFC 8693 §2.1).
//!
//! A pre-signed assertion lives a minute or an hour and its `jti` may be used once, so a
//! [`TokenManager`](crate::token_manager::TokenManager) that sent the same one at every
//! renewal would fail as soon as it expired or the server remembered it. An
//! [`AssertionSource`] is asked again for every request instead:
//!
//! | source | for | where it gets the assertion |
//! | --- | --- | --- |
//! | [`JwtAssertionSource`](crate::jose::JwtAssertionSource) | the Google service-account pattern, any JWT bearer grant | signs a fresh [`JwtAssertion`](crate::jose::JwtAssertion) with a key or a [`JwsSigner`](crate::jose::JwsSigner): `iat`/`exp` from the flow's [`Now`](crate::Now), `jti` from the client's [`Randomness`](crate::random::Randomness) |
//! | [`AssertionFile`] | a token file the platform rotates: Kubernetes projected service account tokens, Azure `AZURE_FEDERATED_TOKEN_FILE`, GitHub/GitLab OIDC tokens written to disk | read again for every request, through the reading function a driver gives it (the core reads no files) |
//! | [`from_fn`] | anything else (a metadata service, a secret manager) | your closure |
//! | [`Assertion`] | a fixed assertion | itself (fine for one request, not for renewals) |
//!
//! Use one with [`TokenRequest::jwt_bearer_from`](crate::grant::TokenRequest::jwt_bearer_from),
//! [`TokenRequest::token_exchange_from`](crate::grant::TokenRequest::token_exchange_from) or
//! [`ClientAssertion`](crate::client_auth::ClientAssertion) (client authentication).
//!
//! # A JWT bearer grant that renews for hours, unattended
//!
//! Six hours of a service that signs its own assertions, on a fake clock: the token manager
//! renews the one-hour token six times, and every renewal carries an assertion signed at that
//! moment, with its own `jti`.
//!
//! ```
//! use grantline::{Client, grant::TokenRequest, testing::Driver};
//! use grantline::jose::{Algorithm, JwtAssertion, JwtAssertionSource, SigningKey};
//! use grantline::token_manager::{Access, TokenManager};
//! use std::collections::HashSet;
//! use std::time::Duration;
//!
//! let key = SigningKey::from_jwk(r#"{"kty":"OKP","crv":"Ed25519","kid":"svc-2024",
//!     "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
//!     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
//! let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
//! let assertions = JwtAssertionSource::new(
//!     JwtAssertion::new("svc@example", "svc@example", "https://as.example/token"), // 60 s each
//!     key,
//! );
//! let mut manager = TokenManager::grant(client, TokenRequest::jwt_bearer_from(assertions))?;
//!
//! let mut server = Driver::new();
//! let (mut renewals, mut jtis) = (0, HashSet::new());
//! for _ in 0..36 {
//!     // Every ten minutes, for six hours, the application needs its header.
//!     loop {
//!         match manager.access(server.now()) {
//!             Access::Ready(_header) => break,
//!             Access::Renew(renewal) => {
//!                 let body = format!(r#"{{"access_token":"at-{renewals}","token_type":"Bearer","expires_in":3600}}"#);
//!                 server.push_reply(http::Response::new(body.into_bytes()));
//!                 let token = server.run(renewal).unwrap();
//!                 manager.complete(token, server.now())?;
//!                 renewals += 1;
//!             }
//!             Access::Wait => unreachable!("one caller"),
//!         }
//!     }
//!     server.advance(Duration::from_secs(600));
//! }
//! assert_eq!(renewals, 6);
//! for i in 0..renewals {
//!     let form = server.transcript().form(i).unwrap();
//!     let jwt = &form.iter().find(|(k, _)| k == "assertion").unwrap().1;
//!     let payload = grantline::jose::UnverifiedJws::parse(jwt)?.unverified_payload().to_vec();
//!     let claims: serde_json::Value = serde_json::from_slice(&payload).unwrap();
//!     assert!(jtis.insert(claims["jti"].as_str().unwrap().to_owned()), "a fresh jti each time");
//! }
//! # Ok::<(), grantline::Error>(())
//! ```
//!
//! ```
//! use grantline::{Client, Flow, Now, Step, assertion, grant::TokenRequest, secret::Assertion};
//! use std::sync::atomic::{AtomicU32, Ordering};
//!
//! let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
//! let minted = AtomicU32::new(0);
//! let source = assertion::from_fn("my-minter", move |ctx| {
//!     // Called for each request, with the request's time and endpoint.
//!     let n = minted.fetch_add(1, Ordering::Relaxed);
//!     Ok(Assertion::new(format!("assertion-{n}-for-{}", ctx.endpoint())))
//! });
//! let mut flow = client.request_token(TokenRequest::jwt_bearer_from(source))?;
//! let Step::Send(first) = flow.next(Now::system())? else { unreachable!() };
//! let Step::Send(again) = flow.next(Now::system())? else { unreachable!() };
//! assert!(std::str::from_utf8(first.body()).unwrap().contains("assertion=assertion-0-for-"));
//! assert!(std::str::from_utf8(again.body()).unwrap().contains("assertion=assertion-1-for-"));
//! # Ok::<(), grantline::Error>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::client_auth::AuthContext;
use crate::error::ConfigError;
use crate::secret::Assertion;

/// Where an assertion comes from, asked each time a request needs one.
///
/// Called when a flow builds its request (so again for each renewal, and again when a driver
/// asks a flow for its request a second time). The [`AuthContext`] says which client, which
/// endpoint (a JWT's audience), when (`iat`, `exp`) and with which random source (`jti`).
///
/// `Debug` must not show the assertion: implementations print what identifies the source (a
/// path, a name), never what it returns.
///
/// ```
/// use grantline::assertion::AssertionSource;
/// use grantline::client_auth::AuthContext;
/// use grantline::secret::Assertion;
///
/// /// An assertion a platform agent keeps fresh in memory.
/// #[derive(Debug)]
/// struct Agent;
///
/// impl AssertionSource for Agent {
///     fn assertion(&self, _ctx: &AuthContext<'_>) -> Result<Assertion, grantline::Error> {
///         Ok(Assertion::new("eyJ..."))
///     }
/// }
/// let _ = grantline::grant::TokenRequest::jwt_bearer_from(Agent);
/// ```
pub trait AssertionSource: fmt::Debug + Send + Sync {
    /// The assertion for the request about to be built.
    ///
    /// # Errors
    ///
    /// Whatever stops the source; report it as [`ConfigError::AssertionUnavailable`] (saying
    /// which source and why, never the assertion) or as the signer's error. The request is then
    /// not built.
    fn assertion(&self, ctx: &AuthContext<'_>) -> Result<Assertion, Error>;
}

impl AssertionSource for Assertion {
    fn assertion(&self, _ctx: &AuthContext<'_>) -> Result<Assertion, Error> {
        Ok(self.clone())
    }
}

impl<S: AssertionSource + ?Sized> AssertionSource for std::sync::Arc<S> {
    fn assertion(&self, ctx: &AuthContext<'_>) -> Result<Assertion, Error> {
        (**self).assertion(ctx)
    }
}

/// An [`AssertionSource`] from a closure; `Debug` shows only its name. Made by [`from_fn`].
pub struct FnAssertion<F> {
    name: String,
    f: F,
}

impl<F> fmt::Debug for FnAssertion<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("FnAssertion").field(&self.name).finish()
    }
}

impl<F> AssertionSource for FnAssertion<F>
where
    F: Fn(&AuthContext<'_>) -> Result<Assertion, Error> + Send + Sync,
{
    fn assertion(&self, ctx: &AuthContext<'_>) -> Result<Assertion, Error> {
        (self.f)(ctx)
    }
}

/// An assertion source from a closure the application brings, called for every request; `name`
/// identifies it in `Debug` and in errors.
///
/// ```
/// use grantline::{assertion, secret::Assertion};
/// let source = assertion::from_fn("vault", |_ctx| Ok(Assertion::new("eyJ...")));
/// assert_eq!(format!("{source:?}"), r#"FnAssertion("vault")"#);
/// ```
pub fn from_fn<F>(name: impl Into<String>, f: F) -> FnAssertion<F>
where
    F: Fn(&AuthContext<'_>) -> Result<Assertion, Error> + Send + Sync,
{
    FnAssertion {
        name: name.into(),
        f,
    }
}

/// The most an assertion file may hold: 64 KiB (a Kubernetes service account token is about
/// 1 KiB; a file much larger than any JWT is the wrong file).
pub const MAX_ASSERTION_FILE_LEN: usize = 64 * 1024;

/// How an [`AssertionFile`] reads its file: a driver's function (`std::fs::read` in the
/// blocking and async transports), since the core reads no files.
pub type ReadFile = fn(&Path) -> std::io::Result<Vec<u8>>;

/// An assertion kept in a file that the platform rotates (Kubernetes projected service account
/// tokens, Azure workload identity's `AZURE_FEDERATED_TOKEN_FILE`, CI OIDC tokens), read again
/// for every request, so a rotated token is picked up by the next renewal.
///
/// The file is read through the function the driver gives
/// (`grantline_ureq::assertion_file(path)` and `grantline_reqwest::assertion_file(path)` give
/// `std::fs::read`). Its content, trimmed of surrounding whitespace, is the assertion; a file
/// that cannot be read, is empty, is not UTF-8, holds a control character or is over
/// [`MAX_ASSERTION_FILE_LEN`] fails the request with [`ConfigError::AssertionUnavailable`]
/// naming the path (never the content).
///
/// ```
/// use grantline::assertion::{AssertionFile, AssertionSource};
/// use std::path::Path;
///
/// // A stand-in for the file system, for the example.
/// fn read(_: &Path) -> std::io::Result<Vec<u8>> {
///     Ok(b"eyJhbGciOiJSUzI1NiJ9.e30.c2ln\n".to_vec())
/// }
/// let file = AssertionFile::new("/var/run/secrets/tokens/azure-identity-token", read);
/// assert!(format!("{file:?}").contains("azure-identity-token"));
/// let client = grantline::Client::builder("app")
///     .token_endpoint("https://login.example/token")
///     .auth(grantline::client_auth::ClientAssertion::new(file))
///     .build()?;
/// # let _ = client;
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Clone)]
pub struct AssertionFile {
    path: PathBuf,
    read: ReadFile,
}

impl fmt::Debug for AssertionFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssertionFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl AssertionFile {
    /// The assertion in the file at `path`, read with `read` for every request.
    ///
    /// ```
    /// let _ = grantline::assertion::AssertionFile::new("/tmp/token", |_| Ok(b"t".to_vec()));
    /// ```
    #[must_use]
    pub fn new(path: impl Into<PathBuf>, read: ReadFile) -> Self {
        Self {
            path: path.into(),
            read,
        }
    }

    /// The file's path.
    ///
    /// ```
    /// let file = grantline::assertion::AssertionFile::new("/tmp/token", |_| Ok(b"t".to_vec()));
    /// assert_eq!(file.path(), std::path::Path::new("/tmp/token"));
    /// ```
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn unavailable(&self, reason: impl Into<String>) -> Error {
        ConfigError::AssertionUnavailable {
            source: self.path.display().to_string(),
            reason: reason.into(),
        }
        .into()
    }
}

impl AssertionSource for AssertionFile {
    fn assertion(&self, _ctx: &AuthContext<'_>) -> Result<Assertion, Error> {
        let bytes = (self.read)(&self.path)
            .map_err(|e| self.unavailable(format!("it cannot be read ({})", e.kind())))?;
        if bytes.len() > MAX_ASSERTION_FILE_LEN {
            return Err(self.unavailable("it is larger than 64 KiB, more than any assertion"));
        }
        let text =
            std::str::from_utf8(&bytes).map_err(|_| self.unavailable("it is not UTF-8 text"))?;
        let assertion = text.trim();
        if assertion.is_empty() {
            return Err(self.unavailable("it is empty"));
        }
        if assertion.chars().any(char::is_control) {
            return Err(self.unavailable("it holds a control character inside the assertion"));
        }
        Ok(Assertion::new(assertion))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EndpointKind, Now};

    fn ask(source: &dyn AssertionSource) -> Result<Assertion, Error> {
        let endpoint = url::Url::parse("https://as.example/token").unwrap();
        let ctx = AuthContext {
            client_id: "c",
            endpoint: &endpoint,
            endpoint_kind: EndpointKind::Token,
            now: Now::system(),
            randomness: &crate::random::SystemRandom,
            fapi2_issuer: None,
        };
        source.assertion(&ctx)
    }

    #[test]
    fn a_file_is_read_for_every_request_and_checked() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static READS: AtomicUsize = AtomicUsize::new(0);
        let file = AssertionFile::new("/token", |_| {
            let n = READS.fetch_add(1, Ordering::SeqCst);
            Ok(format!("  jwt-{n}\n").into_bytes())
        });
        assert_eq!(ask(&file).unwrap().secret(), "jwt-0");
        assert_eq!(
            ask(&file).unwrap().secret(),
            "jwt-1",
            "read again: rotation is seen"
        );

        let cases: [(ReadFile, &str); 5] = [
            (
                |_| Err(std::io::ErrorKind::NotFound.into()),
                "cannot be read",
            ),
            (|_| Ok(b" \n".to_vec()), "empty"),
            (|_| Ok(vec![0xff, 0xfe]), "UTF-8"),
            (|_| Ok(b"a\x07b".to_vec()), "control"),
            (|_| Ok(vec![b'a'; MAX_ASSERTION_FILE_LEN + 1]), "64 KiB"),
        ];
        for (read, why) in cases {
            let e = ask(&AssertionFile::new("/run/token", read)).unwrap_err();
            let Error::Config(ConfigError::AssertionUnavailable { source, reason }) = &e else {
                panic!("{e:?}")
            };
            assert_eq!(source, "/run/token");
            assert!(reason.contains(why), "{reason}");
        }
    }

    fn form_of(
        client: &crate::Client,
        request: crate::grant::TokenRequest,
        now: Now,
    ) -> Vec<(String, String)> {
        use crate::Flow;
        let mut flow = client.request_token(request).unwrap();
        let crate::Step::Send(request) = flow.next(now).unwrap() else {
            panic!("expected a request")
        };
        url::form_urlencoded::parse(request.body())
            .into_owned()
            .collect()
    }

    fn value<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
        form.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn sources_are_asked_at_each_request_and_their_names_reserved() {
        use crate::grant::TokenRequest;
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let asked = Arc::new(AtomicUsize::new(0));
        let counter = asked.clone();
        let source = Arc::new(from_fn("counting", move |ctx| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            Ok(Assertion::new(format!("{}-{n}", ctx.client_id())))
        }));
        let client = crate::Client::builder("svc")
            .token_endpoint("https://as.example/token")
            .auth(crate::client_auth::ClientAssertion::new(source.clone()))
            .build()
            .unwrap();
        let now = Now::system();
        let form = form_of(&client, TokenRequest::jwt_bearer_from(source.clone()), now);
        // Client authentication's assertion, then the grant's: each asked once.
        assert_eq!(value(&form, "client_assertion"), Some("svc-0"));
        assert_eq!(value(&form, "assertion"), Some("svc-1"));
        assert_eq!(
            value(&form, "client_assertion_type"),
            Some(crate::client_auth::JWT_BEARER_ASSERTION_TYPE)
        );
        let form = form_of(
            &client,
            TokenRequest::token_exchange_from(source.clone(), "jwt"),
            now,
        );
        assert_eq!(value(&form, "client_assertion"), Some("svc-2"));
        assert_eq!(value(&form, "subject_token"), Some("svc-3"));
        assert_eq!(
            value(&form, "subject_token_type"),
            Some("urn:ietf:params:oauth:token-type:jwt")
        );
        assert_eq!(asked.load(Ordering::SeqCst), 4);
        // A parameter grantline asks the source for cannot also be given as an extra.
        for (request, name) in [
            (TokenRequest::jwt_bearer_from(source.clone()), "assertion"),
            (
                TokenRequest::token_exchange_from(source.clone(), "jwt"),
                "subject_token",
            ),
        ] {
            let e = client.request_token(request.param(name, "x")).unwrap_err();
            assert!(
                matches!(e, Error::Config(ConfigError::ReservedParameter(ref n)) if n == name),
                "{e:?}"
            );
        }
        // A failing source fails the request, with its typed error, and nothing is built.
        let broken = crate::Client::builder("svc")
            .token_endpoint("https://as.example/token")
            .build()
            .unwrap();
        let file = AssertionFile::new("/missing", |_| Err(std::io::ErrorKind::NotFound.into()));
        let mut flow = broken
            .request_token(TokenRequest::jwt_bearer_from(file))
            .unwrap();
        let e = crate::Flow::next(&mut flow, now).unwrap_err();
        assert!(matches!(
            e,
            Error::Config(ConfigError::AssertionUnavailable { .. })
        ));
    }

    #[cfg(feature = "jose")]
    #[test]
    fn a_signed_source_signs_at_the_requests_time_with_a_fresh_jti() {
        use crate::jose::{
            Algorithm, Jwk, JwkSet, JwtAssertion, JwtAssertionSource, SigningKey, UnverifiedJws,
        };
        use std::time::Duration;
        const SECRET: &[u8] = b"a secret shared with the server, long enough";
        let source = JwtAssertionSource::new(
            JwtAssertion::new("svc", "svc", "https://as.example/token")
                .lifetime(Duration::from_secs(30)),
            SigningKey::hmac(Algorithm::HS256, SECRET).unwrap(),
        );
        let source = std::sync::Arc::new(source);
        let client = crate::Client::builder("svc")
            .token_endpoint("https://as.example/token")
            .build()
            .unwrap();
        let keys = JwkSet::from(Jwk::symmetric(SECRET).unwrap());
        let start = Now::system();
        let mut jtis = std::collections::HashSet::new();
        for hour in 0..5u64 {
            let now = start.advance(Duration::from_secs(hour * 3600));
            let form = form_of(
                &client,
                crate::grant::TokenRequest::jwt_bearer_from(source.clone()),
                now,
            );
            let jwt = value(&form, "assertion").unwrap();
            let claims = UnverifiedJws::parse(jwt)
                .unwrap()
                .verify(&keys, &[Algorithm::HS256])
                .unwrap()
                .claims()
                .unwrap();
            let iat = claims.numeric_date("iat").unwrap().unwrap();
            let exp = claims.numeric_date("exp").unwrap().unwrap();
            let at = now
                .wall()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            assert_eq!(
                iat.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
                at
            );
            assert_eq!(exp.duration_since(iat).unwrap(), Duration::from_secs(30));
            assert!(jtis.insert(claims.string("jti").unwrap().to_owned()));
        }
        assert!(!format!("{source:?}").contains("secret shared"));
    }

    #[test]
    fn debug_never_shows_an_assertion() {
        let source = from_fn("named", |_| Ok(Assertion::new("SECRET-ASSERTION")));
        assert_eq!(ask(&source).unwrap().secret(), "SECRET-ASSERTION");
        assert!(!format!("{source:?}").contains("SECRET"));
        let fixed = Assertion::new("SECRET-ASSERTION");
        assert!(!format!("{fixed:?}").contains("SECRET"));
    }
}
