//! The resource side, sans-IO: authorizing one request to an API with the token a
//! [`TokenManager`] keeps, by the rules of RFC 6750 (Bearer) and RFC 9449 (DPoP).
//!
//! Every driver's auth handler, API client, middleware and `Layer` is this state machine behind
//! a lock, plus the driver's way of waiting. The [`Authorizer`] decides everything:
//!
//! ```text
//!                 authorize(attempt, target, now)
//!   ┌───────────────────┬──────────────────────────┬─────────────────────────┬──────────┐
//!   ▼                   ▼                          ▼                         ▼          │
//!  Attach(auth)       Renew(renewal, ticket)     Wait(ticket, at most)      Skip        │
//!  set its headers,   run the flow, then         another caller renews:     not under   │
//!  send the request   finish(ticket, result)     wait for finish/abandon,   the base:   │
//!   │                 (abandon(ticket) if the    then authorize again ──────send as is ─┘
//!   │                 run is cancelled or panics)
//!   ▼
//!  after_response(attempt, target, status, headers)
//!   ├─ Done:   hand the response to the caller
//!   └─ Resend: authorize again and send the request once more (at most once per attempt)
//! ```
//!
//! The rules it holds, so that no driver does:
//!
//! - **Attach**: `Authorization: Bearer <token>` for a Bearer token; for a DPoP-bound token
//!   `Authorization: DPoP <token>` plus a fresh `DPoP` proof for the request's method and URL,
//!   with `ath` and the resource server's last nonce (RFC 9449 §7); a stale `DPoP` header (from a
//!   first attempt) is removed when the token needs none.
//! - **Only to https or loopback**: a token is never attached to a plain `http` URL of a host
//!   that is not a loopback address, nor to a URL without a scheme and host, unless the
//!   application opts in with [`Authorizer::insecure_http`]; the request is refused with
//!   [`ConfigError::InsecureResource`] instead.
//! - **Confinement**: an [`Attempt`] made with [`Attempt::only_under`] attaches nothing to a URL
//!   outside that base ([`Authorize::Skip`]).
//! - **Single flight**: one caller renews ([`Authorize::Renew`], with a [`Ticket`]); the others
//!   wait for that ticket ([`Authorize::Wait`]) and then share its outcome: the new token, or
//!   the same [`AuthError`]. A renewal that is cancelled or panics is abandoned by its ticket,
//!   and a waiter takes over. A caller waits at most [`renewal_bound`](Authorizer::renewal_bound)
//!   (default [`DEFAULT_RENEWAL_BOUND`]), then gets [`RunError::RenewalTimedOut`]; a renewal that
//!   outlives the bound is given up, and the next new caller starts another.
//! - **Resend once**: after a `401` with `error="invalid_token"` (Bearer or DPoP challenge) the
//!   token is rejected and, if another can be had, the request is sent once more with it; after
//!   a `401` `DPoP error="use_dpop_nonce"` to a DPoP token, once more with a proof carrying the
//!   nonce. Only a request whose body can be sent again is resent. A `DPoP-Nonce` in any answer is
//!   remembered for that server.
//!
//! The authorizer does no I/O, reads no clock and takes no lock; it is `Send`, for a mutex.
//!
//! # Example: a whole request, with the scripted driver and a fake clock
//!
//! ```
//! use grantline::authorizer::{AfterResponse, Attempt, Authorize, Authorizer, Target};
//! // `testing::Driver` plays the server here; it needs grantline's `testing` feature.
//! use grantline::{Client, testing::Driver, token_manager::TokenManager};
//!
//! let client = Client::builder("svc")
//!     .token_endpoint("https://as.example/token")
//!     .client_secret_basic("s3cr3t")
//!     .build()?;
//! let mut authorizer = Authorizer::new(TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?);
//! let mut server = Driver::new()
//!     .reply_json(200, r#"{"access_token":"at-1","token_type":"Bearer","expires_in":300}"#);
//!
//! let mut request = http::Request::get("https://api.example/v1/items").body(())?;
//! let mut attempt = Attempt::new();
//! loop {
//!     let target = Target::new(request.method(), request.uri());
//!     match authorizer.authorize(&mut attempt, target, server.now())? {
//!         Authorize::Attach(authorization) => {
//!             authorization.apply(request.headers_mut());
//!             break;
//!         }
//!         Authorize::Renew(renewal, ticket) => {
//!             let result = server.run(renewal).map_err(Into::into);
//!             authorizer.finish(ticket, result, server.now());
//!         }
//!         Authorize::Wait(..) | Authorize::Skip => unreachable!("one caller, no confinement"),
//!     }
//! }
//! assert_eq!(request.headers()["authorization"], "Bearer at-1");
//!
//! // The API's answer: fine.
//! let target = Target::new(request.method(), request.uri());
//! let after = authorizer.after_response(&mut attempt, target, http::StatusCode::OK, &http::HeaderMap::new());
//! assert_eq!(after, AfterResponse::Done);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::net::IpAddr;
use std::fmt;
use std::time::Duration;

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use url::Url;

use crate::api::BaseUrl;
use crate::driver::{AuthError, RunError};
use crate::error::ConfigError;
use crate::fleet::{Fleet, SharedRenewal, StoreKey, TokenId};
#[cfg(feature = "jose")]
use crate::token_manager::DpopProofs;
use crate::token_manager::{Access, Renewal, Resend, TokenManager, resend_reason};
use crate::trace::event;
use crate::{Now, TokenResponse};

/// How long a caller waits for another caller's renewal before it gives up with
/// [`RunError::RenewalTimedOut`]: 60 seconds.
///
/// The drivers' default request timeout is 30 s, so a renewal of one token request (or two, with
/// a DPoP nonce retry) ends within it, successfully or with the transport's timeout error, which
/// every waiter then shares. The bound is for the rest: a driver without timeouts, a renewal that
/// hangs.
///
/// ```
/// assert_eq!(grantline::authorizer::DEFAULT_RENEWAL_BOUND.as_secs(), 60);
/// ```
pub const DEFAULT_RENEWAL_BOUND: Duration = Duration::from_secs(60);

/// The `DPoP` request header (RFC 9449 §4.1).
const DPOP: HeaderName = HeaderName::from_static("dpop");

/// One renewal handed out by [`Authorizer::authorize`]: whoever runs it reports its end with
/// this ticket ([`Authorizer::finish`] or [`Authorizer::abandon`]), and the callers that wait
/// for it wait for this ticket.
///
/// ```
/// # use grantline::{Client, Now, authorizer::*, token_manager::TokenManager};
/// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
/// let mut authorizer = Authorizer::new(TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?);
/// let uri: http::Uri = "https://api.example/".parse()?;
/// let target = Target::new(&http::Method::GET, &uri);
/// let Authorize::Renew(_renewal, ticket) = authorizer.authorize(&mut Attempt::new(), target, Now::system())? else { unreachable!() };
/// assert!(authorizer.is_pending(ticket));
/// authorizer.abandon(ticket, Now::system());
/// assert!(!authorizer.is_pending(ticket));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ticket(u64);

/// The request being authorized: its method and its URL.
///
/// ```
/// use grantline::authorizer::Target;
/// let uri: http::Uri = "https://api.example/v1/items".parse()?;
/// let target = Target::new(&http::Method::GET, &uri);
/// # let _ = target;
/// let url = grantline::url::Url::parse("https://api.example/v1/items")?;
/// let target = Target::url(&http::Method::POST, &url);
/// # let _ = target;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    #[cfg_attr(not(feature = "jose"), allow(dead_code))]
    method: &'a Method,
    uri: TargetUri<'a>,
}

#[derive(Clone, Copy, Debug)]
enum TargetUri<'a> {
    Uri(&'a http::Uri),
    Url(&'a Url),
}

impl<'a> Target<'a> {
    /// A request to `uri` (an `http::Request`'s).
    ///
    /// ```
    /// let request = http::Request::get("https://api.example/").body(())?;
    /// let _ = grantline::authorizer::Target::new(request.method(), request.uri());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn new(method: &'a Method, uri: &'a http::Uri) -> Self {
        Self {
            method,
            uri: TargetUri::Uri(uri),
        }
    }

    /// A request to `url` (a `reqwest::Request`'s, say).
    ///
    /// ```
    /// let url = grantline::url::Url::parse("https://api.example/")?;
    /// let _ = grantline::authorizer::Target::url(&http::Method::GET, &url);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn url(method: &'a Method, url: &'a Url) -> Self {
        Self {
            method,
            uri: TargetUri::Url(url),
        }
    }

    fn scheme(&self) -> Option<&str> {
        match self.uri {
            TargetUri::Uri(uri) => uri.scheme_str(),
            TargetUri::Url(url) => Some(url.scheme()),
        }
    }

    /// The host, without the brackets of an IPv6 address.
    fn host(&self) -> Option<&str> {
        let host = match self.uri {
            TargetUri::Uri(uri) => uri.host(),
            TargetUri::Url(url) => url.host_str(),
        }?;
        Some(
            host.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(host),
        )
    }

    /// The URL as text (for a DPoP proof's `htu` and the nonce's origin).
    #[cfg_attr(not(feature = "jose"), allow(dead_code))]
    fn text(&self) -> std::borrow::Cow<'a, str> {
        match self.uri {
            TargetUri::Uri(uri) => uri.to_string().into(),
            TargetUri::Url(url) => url.as_str().into(),
        }
    }

    /// The URL as it may be shown in a trace: no user info, query or fragment.
    #[cfg(feature = "tracing")]
    fn shown(&self) -> String {
        match self.uri {
            TargetUri::Uri(uri) => crate::trace::Url(uri).to_string(),
            TargetUri::Url(url) => crate::trace::url_text(url),
        }
    }

    fn is_under(&self, base: &BaseUrl) -> bool {
        match self.uri {
            TargetUri::Url(url) => base.contains(url),
            TargetUri::Uri(uri) => {
                Url::parse(&uri.to_string()).is_ok_and(|url| base.contains(&url))
            }
        }
    }

    /// Whether a token may go to this URL: https, or http to a loopback host.
    fn check(&self, insecure_http: bool) -> Result<(), ConfigError> {
        let host = self.host().unwrap_or_default();
        match self.scheme() {
            Some("https") if !host.is_empty() => Ok(()),
            Some("http") if !host.is_empty() && (insecure_http || is_loopback(host)) => Ok(()),
            _ => Err(ConfigError::InsecureResource {
                host: host.to_owned(),
            }),
        }
    }
}

/// `127.0.0.0/8`, `::1` (also IPv4-mapped), and `localhost`.
fn is_loopback(host: &str) -> bool {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// One request's life with the authorizer, from the first [`authorize`](Authorizer::authorize)
/// to the last [`after_response`](Authorizer::after_response): which token it was sent with,
/// which renewal it waits for, and whether it was already resent.
///
/// Make one per request, never share one between requests.
///
/// ```
/// use grantline::{api::BaseUrl, authorizer::Attempt};
/// let base = BaseUrl::new("https://api.example/v1")?;
/// let attempt = Attempt::new().only_under(&base);
/// let streamed = Attempt::new().not_replayable(); // a body that cannot be sent twice
/// # let _ = (attempt, streamed);
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Attempt<'a> {
    only_under: Option<&'a BaseUrl>,
    replayable: bool,
    /// The `Authorization` value the request went out with.
    sent: Option<HeaderValue>,
    /// The renewal this attempt started or waits for.
    waited: Option<Ticket>,
    resent: bool,
}

impl<'a> Attempt<'a> {
    /// A request whose body can be sent again (no body, or bytes in memory).
    ///
    /// ```
    /// let _ = grantline::authorizer::Attempt::new();
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self {
            replayable: true,
            ..Self::default()
        }
    }

    /// The request cannot be sent again (a streamed body): a refusal is still recorded (the next
    /// request renews the token), but [`AfterResponse::Resend`] never comes.
    ///
    /// ```
    /// let _ = grantline::authorizer::Attempt::new().not_replayable();
    /// ```
    #[must_use]
    pub fn not_replayable(mut self) -> Self {
        self.replayable = false;
        self
    }

    /// Attach the token only if the request's URL is under `base` ([`BaseUrl::contains`]);
    /// otherwise [`Authorize::Skip`].
    ///
    /// ```
    /// let base = grantline::api::BaseUrl::new("https://api.example/v1")?;
    /// let _ = grantline::authorizer::Attempt::new().only_under(&base);
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn only_under(mut self, base: &'a BaseUrl) -> Self {
        self.only_under = Some(base);
        self
    }

    /// Whether the request was already sent a second time.
    ///
    /// ```
    /// assert!(!grantline::authorizer::Attempt::new().is_resent());
    /// ```
    #[must_use]
    pub fn is_resent(&self) -> bool {
        self.resent
    }
}

/// What to put on the request: the `Authorization` value, and for a DPoP-bound token the `DPoP`
/// proof. [`apply`](Self::apply) sets both (and removes a stale `DPoP` header).
///
/// ```
/// # use grantline::{Now, authorizer::*, token_manager::TokenManager};
/// let mut authorizer = Authorizer::new(TokenManager::bearer("at")?);
/// let mut request = http::Request::get("https://api.example/").body(())?;
/// let target = Target::new(request.method(), request.uri());
/// let Authorize::Attach(auth) = authorizer.authorize(&mut Attempt::new(), target, Now::system())? else { unreachable!() };
/// assert_eq!(auth.authorization(), "Bearer at");
/// assert!(auth.dpop_proof().is_none());
/// auth.apply(request.headers_mut());
/// assert!(request.headers()["authorization"].is_sensitive());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Authorization {
    authorization: HeaderValue,
    dpop: DpopHeader,
}

#[derive(Debug)]
#[cfg_attr(not(feature = "jose"), allow(dead_code))]
enum DpopHeader {
    /// The client has no DPoP key: leave the request's headers alone.
    Untouched,
    /// A proof for this request.
    Proof(HeaderValue),
    /// The client has a key but the token is a Bearer one: no proof, and none left over.
    Remove,
}

impl Authorization {
    /// The `Authorization` header value (marked sensitive).
    ///
    /// ```
    /// # use grantline::{Now, authorizer::*, token_manager::TokenManager};
    /// # let mut authorizer = Authorizer::new(TokenManager::bearer("at")?);
    /// let Authorize::Attach(auth) = authorizer.header(&mut Attempt::new(), Now::system())? else { unreachable!() };
    /// assert!(auth.authorization().is_sensitive());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn authorization(&self) -> &HeaderValue {
        &self.authorization
    }

    /// The `DPoP` proof to send with it, for a DPoP-bound token.
    ///
    /// ```
    /// # use grantline::{Now, authorizer::*, token_manager::TokenManager};
    /// # let mut authorizer = Authorizer::new(TokenManager::bearer("at")?);
    /// let Authorize::Attach(auth) = authorizer.header(&mut Attempt::new(), Now::system())? else { unreachable!() };
    /// assert!(auth.dpop_proof().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn dpop_proof(&self) -> Option<&HeaderValue> {
        match &self.dpop {
            DpopHeader::Proof(proof) => Some(proof),
            DpopHeader::Untouched | DpopHeader::Remove => None,
        }
    }

    /// Sets `Authorization` (replacing any), and `DPoP` for a DPoP-bound token; removes a
    /// `DPoP` header left from an earlier attempt when the client has a DPoP key but the token
    /// needs no proof. For a cached Bearer token this allocates nothing.
    ///
    /// ```
    /// # use grantline::{Now, authorizer::*, token_manager::TokenManager};
    /// # let mut authorizer = Authorizer::new(TokenManager::bearer("at")?);
    /// let Authorize::Attach(auth) = authorizer.header(&mut Attempt::new(), Now::system())? else { unreachable!() };
    /// let mut headers = http::HeaderMap::new();
    /// auth.apply(&mut headers);
    /// assert_eq!(headers["authorization"], "Bearer at");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply(self, headers: &mut HeaderMap) {
        match self.dpop {
            DpopHeader::Untouched => {}
            DpopHeader::Proof(proof) => {
                headers.insert(DPOP, proof);
            }
            DpopHeader::Remove => {
                headers.remove(DPOP);
            }
        }
        headers.insert(AUTHORIZATION, self.authorization);
    }
}

/// What the driver does for a request: see the [module documentation](self).
///
/// Exhaustive on purpose, like [`Step`](crate::Step): a driver matches all four.
#[must_use = "a Renew must be finished or abandoned, or the other callers wait for it"]
#[allow(clippy::exhaustive_enums, clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Authorize {
    /// Put this on the request and send it.
    Attach(Authorization),
    /// Run this renewal (with any driver), then report its result with
    /// [`Authorizer::finish`], or [`Authorizer::abandon`] if the run is cancelled or panics;
    /// then [`authorize`](Authorizer::authorize) again.
    Renew(Renewal, Ticket),
    /// Another caller is renewing: wait until [`Authorizer::is_pending`] says this ticket is
    /// done (the renewer's driver wakes the waiters), but at most this long; then
    /// [`authorize`](Authorizer::authorize) again.
    Wait(Ticket, Duration),
    /// The request is outside the attempt's confinement ([`Attempt::only_under`]): send it
    /// as it is, with no token.
    Skip,
}

/// What to do with an API's answer: see [`Authorizer::after_response`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::exhaustive_enums)]
pub enum AfterResponse {
    /// This is the answer: hand it to the caller.
    Done,
    /// Send the request once more: [`authorize`](Authorizer::authorize) it again first (for
    /// the new token, or a proof with the new nonce).
    Resend,
}

/// The renewal under way.
#[derive(Debug)]
struct Flight {
    ticket: Ticket,
    started: std::time::Instant,
}

/// How a renewal ended, for the callers that waited for it.
#[derive(Debug)]
enum Outcome {
    Renewed,
    Failed(AuthError),
    Abandoned,
}

/// The resource-side state machine: a [`TokenManager`], single-flight bookkeeping, DPoP proofs
/// and nonces, and the rules of the [module documentation](self).
///
/// `Debug` shows the manager's state, never a token.
///
/// ```
/// use grantline::{Client, authorizer::Authorizer, token_manager::TokenManager};
/// use std::time::Duration;
///
/// let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
/// let authorizer = Authorizer::new(TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?)
///     .renewal_bound(Duration::from_secs(20));
/// assert_eq!(authorizer.renewal_bound_setting(), Duration::from_secs(20));
/// # Ok::<(), grantline::Error>(())
/// ```
pub struct Authorizer {
    manager: TokenManager,
    #[cfg(feature = "jose")]
    dpop: Option<DpopProofs>,
    flight: Option<Flight>,
    /// The last renewal that ended, for the callers that waited for it.
    finished: Option<(Ticket, Outcome)>,
    tickets: u64,
    renewal_bound: Duration,
    insecure_http: bool,
    /// The fleet this authorizer shares its tokens with, and their key.
    sharing: Option<(Fleet, StoreKey)>,
}

impl fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorizer")
            .field("manager", &self.manager)
            .field("renewing", &self.flight.as_ref().map(|f| f.ticket))
            .field("renewal_bound", &self.renewal_bound)
            .field("insecure_http", &self.insecure_http)
            .field("shared", &self.sharing.as_ref().map(|(fleet, _)| fleet))
            .finish_non_exhaustive()
    }
}

impl Authorizer {
    /// An authorizer for `manager`'s tokens (with DPoP proofs when its client has a DPoP key).
    ///
    /// ```
    /// let _ = grantline::authorizer::Authorizer::new(grantline::token_manager::TokenManager::bearer("at")?);
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn new(manager: TokenManager) -> Self {
        Self {
            #[cfg(feature = "jose")]
            dpop: manager.dpop_proofs(),
            manager,
            flight: None,
            finished: None,
            tickets: 0,
            renewal_bound: DEFAULT_RENEWAL_BOUND,
            insecure_http: false,
            sharing: None,
        }
    }

    /// Shares this authorizer's tokens with every process configured alike (same token
    /// endpoint, client, grant, scope, resources, audiences), through a store: see
    /// [`fleet`](crate::fleet). Each renewal is then a [`SharedRenewal`], which the driver runs
    /// with its store.
    ///
    /// # Errors
    ///
    /// [`Error::Config`](crate::Error::Config) when the tokens cannot be shared: see
    /// [`StoreKey::of`].
    ///
    /// ```
    /// use grantline::{Client, authorizer::Authorizer, fleet::Fleet, grant::TokenRequest, token_manager::TokenManager};
    /// let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let authorizer = Authorizer::new(TokenManager::grant(client, TokenRequest::client_credentials())?)
    ///     .share(Fleet::new().prefix("billing"))?;
    /// assert!(authorizer.store_key().unwrap().token().starts_with("billing:{"));
    /// assert!(Authorizer::new(TokenManager::bearer("at")?).share(Fleet::new()).is_err());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn share(mut self, fleet: Fleet) -> Result<Self, crate::Error> {
        let key = StoreKey::of(&fleet.inner_prefix(), &self.manager)?;
        self.sharing = Some((fleet, key));
        Ok(self)
    }

    /// The store key of the shared token, when the authorizer [shares](Self::share) it.
    ///
    /// ```
    /// # use grantline::{authorizer::Authorizer, token_manager::TokenManager};
    /// assert!(Authorizer::new(TokenManager::bearer("at")?).store_key().is_none());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn store_key(&self) -> Option<&StoreKey> {
        self.sharing.as_ref().map(|(_, key)| key)
    }

    /// The renewal to run for an [`Authorize::Renew`]: through the fleet's store when the
    /// authorizer [shares](Self::share) its tokens, the plain `renewal` otherwise (its first step
    /// is then [`SharedStep::Renew`](crate::fleet::SharedStep::Renew)). Every driver runs
    /// renewals this way.
    ///
    /// ```
    /// # use grantline::{Client, Now, grant::TokenRequest, authorizer::*, fleet::SharedStep, token_manager::TokenManager};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let mut authorizer = Authorizer::new(TokenManager::grant(client, TokenRequest::client_credentials())?);
    /// let Authorize::Renew(renewal, _) = authorizer.header(&mut Attempt::new(), Now::system())? else { unreachable!() };
    /// let mut shared = authorizer.shared_renewal(renewal, Now::system());
    /// assert!(matches!(shared.next(Now::system()), SharedStep::Renew(_)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn shared_renewal(&self, renewal: Renewal, now: Now) -> SharedRenewal {
        let _ = now;
        let unless = self.manager.rejected_token().map(TokenId::of);
        let sharing = self.sharing.as_ref().map(|(fleet, key)| (fleet, key));
        SharedRenewal::new(renewal, sharing, self.manager.leeway_setting(), unless)
    }

    /// Sets how long a caller waits for another caller's renewal (default
    /// [`DEFAULT_RENEWAL_BOUND`]).
    ///
    /// ```
    /// # use grantline::{authorizer::Authorizer, token_manager::TokenManager};
    /// let a = Authorizer::new(TokenManager::bearer("at")?).renewal_bound(std::time::Duration::from_secs(5));
    /// assert_eq!(a.renewal_bound_setting().as_secs(), 5);
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn renewal_bound(mut self, bound: Duration) -> Self {
        self.renewal_bound = bound;
        self
    }

    /// The bound set with [`renewal_bound`](Self::renewal_bound).
    ///
    /// ```
    /// # use grantline::{authorizer::*, token_manager::TokenManager};
    /// assert_eq!(Authorizer::new(TokenManager::bearer("at")?).renewal_bound_setting(), DEFAULT_RENEWAL_BOUND);
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn renewal_bound_setting(&self) -> Duration {
        self.renewal_bound
    }

    /// Lets tokens go to plain `http` URLs of any host (and URLs without a scheme), which
    /// exposes them to anyone on the path. For a test network or a TLS-terminating sidecar on
    /// the same host, not for the internet.
    ///
    /// ```
    /// # use grantline::{Now, authorizer::*, token_manager::TokenManager};
    /// let uri: http::Uri = "http://api.internal/v1".parse()?;
    /// let target = Target::new(&http::Method::GET, &uri);
    /// let mut strict = Authorizer::new(TokenManager::bearer("at")?);
    /// assert!(strict.authorize(&mut Attempt::new(), target, Now::system()).is_err());
    /// let mut lax = Authorizer::new(TokenManager::bearer("at")?).insecure_http();
    /// assert!(lax.authorize(&mut Attempt::new(), target, Now::system()).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn insecure_http(mut self) -> Self {
        self.insecure_http = true;
        self
    }

    /// What to do for a request to `target` at `now`: see [`Authorize`]. Call it again after
    /// a `Renew` was finished, a `Wait` ended, or [`AfterResponse::Resend`].
    ///
    /// # Errors
    ///
    /// An [`AuthError`]: [`ConfigError::InsecureResource`] for a URL a token may not go to
    /// (nothing is sent); the renewal's error this attempt waited for (shared by every waiter);
    /// [`RunError::RenewalTimedOut`] when the renewal it waits for outlived the bound; a DPoP
    /// proof that could not be made.
    ///
    /// ```
    /// # use grantline::{Now, authorizer::*, token_manager::TokenManager, error::ConfigError, driver::RunError};
    /// let mut authorizer = Authorizer::new(TokenManager::bearer("at")?);
    /// let uri: http::Uri = "http://api.example/v1".parse()?;
    /// let refused = authorizer.authorize(&mut Attempt::new(), Target::new(&http::Method::GET, &uri), Now::system());
    /// assert!(matches!(
    ///     refused.unwrap_err().error(),
    ///     RunError::Flow(grantline::Error::Config(ConfigError::InsecureResource { .. }))
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn authorize(
        &mut self,
        attempt: &mut Attempt<'_>,
        target: Target<'_>,
        now: Now,
    ) -> Result<Authorize, AuthError> {
        if attempt
            .only_under
            .is_some_and(|base| !target.is_under(base))
        {
            event!(TRACE, method = %target.method, url = %target.shown(), "outside the API's base: no token attached");
            return Ok(Authorize::Skip);
        }
        target
            .check(self.insecure_http)
            .map_err(|e| AuthError::from(crate::Error::Config(e)))?;
        match self.decide(attempt, now)? {
            Decision::Attach(header) => {
                let dpop = self.proof(&header, Some(target), now)?;
                event!(
                    TRACE,
                    method = %target.method,
                    url = %target.shown(),
                    dpop = matches!(dpop, DpopHeader::Proof(_)),
                    resend = attempt.resent,
                    "token attached"
                );
                attempt.sent = Some(header.clone());
                Ok(Authorize::Attach(Authorization {
                    authorization: header,
                    dpop,
                }))
            }
            Decision::Other(authorize) => Ok(authorize),
        }
    }

    /// Like [`authorize`](Self::authorize), for an application that attaches the header by
    /// hand and has no request to show: no URL check, no confinement, and no DPoP proof (make it
    /// with [`dpop_proof`](Self::dpop_proof)).
    ///
    /// # Errors
    ///
    /// As [`authorize`](Self::authorize), but never for the URL.
    ///
    /// ```
    /// # use grantline::{Now, authorizer::*, token_manager::TokenManager};
    /// let mut authorizer = Authorizer::new(TokenManager::bearer("at")?);
    /// let Authorize::Attach(auth) = authorizer.header(&mut Attempt::new(), Now::system())? else { unreachable!() };
    /// assert_eq!(auth.authorization(), "Bearer at");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn header(&mut self, attempt: &mut Attempt<'_>, now: Now) -> Result<Authorize, AuthError> {
        match self.decide(attempt, now)? {
            Decision::Attach(header) => {
                attempt.sent = Some(header.clone());
                Ok(Authorize::Attach(Authorization {
                    authorization: header,
                    dpop: DpopHeader::Untouched,
                }))
            }
            Decision::Other(authorize) => Ok(authorize),
        }
    }

    /// The `DPoP` proof for a request to `target` sent with `authorization` (a header this
    /// authorizer handed out): `None` for a Bearer token. For applications that attach by hand.
    ///
    /// # Errors
    ///
    /// The proof could not be made (a URL that is not an absolute http(s) URL, a signer that
    /// fails).
    ///
    /// ```
    /// # use grantline::{Now, authorizer::*, token_manager::TokenManager};
    /// let authorizer = Authorizer::new(TokenManager::bearer("at")?);
    /// let uri: http::Uri = "https://api.example/".parse()?;
    /// let bearer = http::HeaderValue::from_static("Bearer at");
    /// assert!(authorizer.dpop_proof(&bearer, Target::new(&http::Method::GET, &uri), Now::system())?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dpop_proof(
        &self,
        authorization: &HeaderValue,
        target: Target<'_>,
        now: Now,
    ) -> Result<Option<HeaderValue>, AuthError> {
        Ok(match self.proof(authorization, Some(target), now)? {
            DpopHeader::Proof(proof) => Some(proof),
            DpopHeader::Untouched | DpopHeader::Remove => None,
        })
    }

    /// What the attempt gets, before the URL's part (the proof).
    fn decide(&mut self, attempt: &mut Attempt<'_>, now: Now) -> Result<Decision, AuthError> {
        if let Some(waited) = attempt.waited.take() {
            match &self.finished {
                Some((ticket, Outcome::Renewed)) if *ticket == waited => {
                    // The renewal this attempt ran or waited for: its token, whatever its
                    // expiry (a server that issues tokens already inside the leeway must not
                    // make every request renew again).
                    if let Some(header) = self.manager.current_header() {
                        return Ok(Decision::Attach(header));
                    }
                }
                Some((ticket, Outcome::Failed(error))) if *ticket == waited => {
                    // A token still valid (the renewal started inside the leeway) is better
                    // than the error.
                    return match self.manager.usable_header(now.wall()) {
                        Some(header) => Ok(Decision::Attach(header)),
                        None => Err(error.clone()),
                    };
                }
                _ => {
                    if let Some(flight) = self.flight.as_ref().filter(|f| f.ticket == waited) {
                        let after = now.monotonic().saturating_duration_since(flight.started);
                        if after >= self.renewal_bound {
                            event!(
                                DEBUG,
                                ticket = waited.0,
                                after_ms = crate::trace::millis(after),
                                "gave up waiting for another caller's renewal (renewal bound)"
                            );
                            return Err(RunError::RenewalTimedOut { after }.into());
                        }
                        // Woken early (or spuriously): keep waiting for the same renewal.
                        attempt.waited = Some(waited);
                        return Ok(Decision::Other(Authorize::Wait(
                            waited,
                            self.renewal_bound - after,
                        )));
                    }
                    // Abandoned, or ended long ago: decide afresh.
                }
            }
        }
        if let Some(flight) = &self.flight {
            let after = now.monotonic().saturating_duration_since(flight.started);
            if after >= self.renewal_bound {
                // The renewal outlived the bound: give it up; this caller starts another.
                let ticket = flight.ticket;
                event!(
                    DEBUG,
                    ticket = ticket.0,
                    after_ms = crate::trace::millis(after),
                    "a renewal outlived the renewal bound: given up"
                );
                self.abandon(ticket, now);
            }
        }
        match self.manager.access(now) {
            Access::Ready(header) => Ok(Decision::Attach(header)),
            Access::Renew(renewal) => {
                self.tickets += 1;
                let ticket = Ticket(self.tickets);
                self.flight = Some(Flight {
                    ticket,
                    started: now.monotonic(),
                });
                attempt.waited = Some(ticket);
                event!(
                    DEBUG,
                    ticket = ticket.0,
                    "token renewal: this caller renews, others wait for it (single flight)"
                );
                Ok(Decision::Other(Authorize::Renew(renewal, ticket)))
            }
            Access::Wait => match &self.flight {
                Some(flight) => {
                    let after = now.monotonic().saturating_duration_since(flight.started);
                    attempt.waited = Some(flight.ticket);
                    event!(
                        DEBUG,
                        ticket = flight.ticket.0,
                        "waiting for another caller's renewal (single flight)"
                    );
                    Ok(Decision::Other(Authorize::Wait(
                        flight.ticket,
                        self.renewal_bound.saturating_sub(after),
                    )))
                }
                None => {
                    // The manager renews but no flight was handed out by this authorizer (it
                    // was given a manager in the middle of a renewal): that renewal is lost.
                    let _ = self.manager.renewal_failed(now);
                    self.decide(attempt, now)
                }
            },
        }
    }

    /// The DPoP part of an attachment.
    #[cfg_attr(not(feature = "jose"), allow(clippy::unnecessary_wraps))]
    fn proof(
        &self,
        header: &HeaderValue,
        target: Option<Target<'_>>,
        now: Now,
    ) -> Result<DpopHeader, AuthError> {
        #[cfg(feature = "jose")]
        if let (Some(proofs), Some(target)) = (&self.dpop, target) {
            let proof = proofs.proof(header, target.method.as_str(), &target.text(), now)?;
            return Ok(match proof {
                Some(proof) => DpopHeader::Proof(proof),
                None => DpopHeader::Remove,
            });
        }
        let _ = (header, target, now);
        Ok(DpopHeader::Untouched)
    }

    /// Reports the end of the renewal handed out with `ticket`: its token, or the driver's
    /// error. The token is installed (the manager's `on_renewed` callback runs); the callers
    /// waiting for the ticket get the token or share the error. Wake them after this call.
    ///
    /// A ticket that is no longer the one under way (given up after the bound, or abandoned) is
    /// ignored.
    ///
    /// ```
    /// # use grantline::{Client, Now, TokenResponse, TokenType, authorizer::*, token_manager::TokenManager};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let mut authorizer = Authorizer::new(TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?);
    /// let mut attempt = Attempt::new();
    /// let Authorize::Renew(_, ticket) = authorizer.header(&mut attempt, Now::system())? else { unreachable!() };
    /// authorizer.finish(ticket, Ok(TokenResponse::new("new".into(), TokenType::Bearer)), Now::system());
    /// let Authorize::Attach(auth) = authorizer.header(&mut attempt, Now::system())? else { unreachable!() };
    /// assert_eq!(auth.authorization(), "Bearer new");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(&mut self, ticket: Ticket, result: Result<TokenResponse, RunError>, now: Now) {
        if !self.is_pending(ticket) {
            event!(
                DEBUG,
                ticket = ticket.0,
                "a renewal ended after it was given up: ignored"
            );
            return;
        }
        #[cfg(feature = "tracing")]
        let started = self.flight.as_ref().map(|f| f.started);
        self.flight = None;
        let outcome = match result
            .map_err(AuthError::new)
            .and_then(|token| self.manager.complete(token, now).map_err(AuthError::from))
        {
            Ok(_) => Outcome::Renewed,
            Err(error) => {
                let _ = self.manager.renewal_failed(now);
                Outcome::Failed(error)
            }
        };
        #[cfg(feature = "tracing")]
        {
            let duration_ms = started.map_or(0, |at| {
                crate::trace::millis(now.monotonic().saturating_duration_since(at))
            });
            match &outcome {
                Outcome::Failed(error) => event!(
                    DEBUG,
                    ticket = ticket.0,
                    duration_ms,
                    error = %error,
                    "token renewal failed (every waiter gets this error)"
                ),
                _ => event!(DEBUG, ticket = ticket.0, duration_ms, "token renewed"),
            }
        }
        self.finished = Some((ticket, outcome));
    }

    /// Gives up the renewal handed out with `ticket` (its run was cancelled, or panicked): the
    /// callers waiting for it ask again, and one of them renews. Wake them after this call. A
    /// ticket that is no longer the one under way is ignored.
    ///
    /// ```
    /// # use grantline::{Client, Now, authorizer::*, token_manager::TokenManager};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let mut authorizer = Authorizer::new(TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?);
    /// let Authorize::Renew(_, first) = authorizer.header(&mut Attempt::new(), Now::system())? else { unreachable!() };
    /// authorizer.abandon(first, Now::system());
    /// assert!(matches!(authorizer.header(&mut Attempt::new(), Now::system())?, Authorize::Renew(..)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn abandon(&mut self, ticket: Ticket, now: Now) {
        if !self.is_pending(ticket) {
            return;
        }
        self.flight = None;
        let _ = self.manager.renewal_failed(now);
        event!(
            DEBUG,
            ticket = ticket.0,
            "token renewal abandoned: a waiter takes over"
        );
        self.finished = Some((ticket, Outcome::Abandoned));
    }

    /// Whether the renewal of `ticket` is still under way (what a waiting caller waits on).
    ///
    /// ```
    /// # use grantline::{Client, Now, authorizer::*, token_manager::TokenManager};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let mut authorizer = Authorizer::new(TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?);
    /// let Authorize::Renew(_, ticket) = authorizer.header(&mut Attempt::new(), Now::system())? else { unreachable!() };
    /// assert!(authorizer.is_pending(ticket));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn is_pending(&self, ticket: Ticket) -> bool {
        self.flight.as_ref().is_some_and(|f| f.ticket == ticket)
    }

    /// Looks at the API's answer to the attempt's request to `target`, and says whether to send
    /// it once more:
    ///
    /// - a `DPoP-Nonce` in any answer (a success too) is remembered for that server;
    /// - a `401` `invalid_token` (a Bearer or DPoP challenge) rejects the token sent, and asks
    ///   for a resend if another token can be had;
    /// - a `401` `DPoP error="use_dpop_nonce"` to a DPoP token asks for a resend (with a proof
    ///   carrying the nonce now remembered);
    /// - at most one resend per attempt, and none for an attempt that is not replayable.
    ///
    /// ```
    /// # use grantline::{Client, Now, TokenResponse, TokenType, authorizer::*, token_manager::TokenManager};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let token = TokenResponse::new("old".into(), TokenType::Bearer);
    /// let mut authorizer = Authorizer::new(TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?.with_token(token)?);
    /// let uri: http::Uri = "https://api.example/v1".parse()?;
    /// let target = Target::new(&http::Method::GET, &uri);
    /// let mut attempt = Attempt::new();
    /// let Authorize::Attach(_) = authorizer.authorize(&mut attempt, target, Now::system())? else { unreachable!() };
    /// let mut challenge = http::HeaderMap::new();
    /// challenge.insert("www-authenticate", r#"Bearer error="invalid_token""#.parse()?);
    /// let status = http::StatusCode::UNAUTHORIZED;
    /// assert_eq!(authorizer.after_response(&mut attempt, target, status, &challenge), AfterResponse::Resend);
    /// // The resend renews first.
    /// assert!(matches!(authorizer.authorize(&mut attempt, target, Now::system())?, Authorize::Renew(..)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn after_response(
        &mut self,
        attempt: &mut Attempt<'_>,
        target: Target<'_>,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> AfterResponse {
        #[cfg(feature = "jose")]
        if let Some(proofs) = &self.dpop {
            proofs.remember_nonce(&target.text(), headers);
        }
        let _ = target;
        let Some(sent) = attempt.sent.take() else {
            return AfterResponse::Done;
        };
        let reason = resend_reason(status, headers);
        let another_try_helps = match reason {
            Some(Resend::InvalidToken) => self.manager.reject(&sent),
            Some(Resend::UseDpopNonce) => self.has_dpop() && crate::token_manager::is_dpop(&sent),
            _ => false,
        };
        if another_try_helps && attempt.replayable && !attempt.resent {
            attempt.resent = true;
            event!(
                DEBUG,
                status = status.as_u16(),
                url = %target.shown(),
                reason = match reason {
                    Some(Resend::UseDpopNonce) => "use_dpop_nonce",
                    _ => "invalid_token",
                },
                "the API refused the token: resending once"
            );
            AfterResponse::Resend
        } else {
            AfterResponse::Done
        }
    }

    fn has_dpop(&self) -> bool {
        #[cfg(feature = "jose")]
        {
            self.dpop.is_some()
        }
        #[cfg(not(feature = "jose"))]
        {
            false
        }
    }

    /// Records that a resource server refused `header` (for an application that sends by hand
    /// and reads the `401` itself); returns whether another token can be had. See
    /// [`TokenManager::reject`].
    ///
    /// ```
    /// # use grantline::{authorizer::Authorizer, token_manager::TokenManager};
    /// let mut authorizer = Authorizer::new(TokenManager::bearer("at")?);
    /// assert!(!authorizer.reject(&http::HeaderValue::from_static("Bearer at")));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn reject(&mut self, header: &HeaderValue) -> bool {
        self.manager.reject(header)
    }

    /// Makes the next request renew the token (after a change of permissions, say). Returns
    /// whether a renewal is possible. See [`TokenManager::invalidate`].
    ///
    /// ```
    /// # use grantline::{authorizer::Authorizer, token_manager::TokenManager};
    /// assert!(!Authorizer::new(TokenManager::bearer("at")?).invalidate());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn invalidate(&mut self) -> bool {
        self.manager.invalidate()
    }

    /// The current token, if there is one yet.
    ///
    /// ```
    /// # use grantline::{authorizer::Authorizer, token_manager::TokenManager};
    /// assert!(Authorizer::new(TokenManager::bearer("at")?).token().is_some());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn token(&self) -> Option<&TokenResponse> {
        self.manager.token()
    }
}

/// What [`Authorizer::decide`] settled before the URL's part.
#[allow(clippy::large_enum_variant)]
enum Decision {
    Attach(HeaderValue),
    Other(Authorize),
}

// The authorizer sits behind a mutex shared between threads.
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<Authorizer>();
    assert_send::<Authorize>();
};

#[cfg(test)]
mod tests;
