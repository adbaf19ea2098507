//! Tokens that look after themselves: a sans-IO cache that hands out the `Authorization` header,
//! and says when and how to renew it.
//!
//! A [`TokenManager`] holds the current token. Asked with [`access`](TokenManager::access) at a
//! given [`Now`], it answers one of three things:
//!
//! ```text
//!                      ┌─────────── access(now) ───────────┐
//!                      ▼                                   │
//!   Ready(HeaderValue) │ Renew(Renewal)                 Wait
//!   send it            │ run the flow (any driver) ─┐   another caller's renewal is under way
//!                      │                            │   and the token cannot be used: wait for
//!                      │      ┌─────────────────────┘   its outcome, then ask again
//!                      │      ▼
//!                      │ complete(token, now) ──▶ the new header; on_renewed(token) called once
//!                      │ renewal_failed(now)  ──▶ the old header if it still works, else None
//! ```
//!
//! The manager does no I/O, reads no clock and takes no lock: the renewal is a [`Flow`](crate::Flow)
//! ([`Renewal`]) built from [`Client::request_token`], so it is run by the same loop as every
//! other exchange, and the manager only decides. For requests to an API, the
//! [`Authorizer`](crate::authorizer::Authorizer) wraps it with the resource side's rules (single
//! flight by ticket, DPoP proofs, resend once); every driver's auth handler is that authorizer
//! behind a mutex plus the driver's way of waiting, so that many callers behind one expired token
//! send **one** token request.
//!
//! # Kinds
//!
//! | what you have | constructor | renewal |
//! | --- | --- | --- |
//! | an access token, nothing else | [`TokenManager::bearer`] | none: the token is sent until the server refuses it |
//! | a refresh token (Globus `RefreshTokenAuthorizer`) | [`TokenManager::from_refresh_token`] | refresh token grant, on first use and before each expiry |
//! | a first token from the authorization code, device or CIBA flow | [`TokenManager::refreshing`] | its refresh token |
//! | client credentials (Globus `ClientCredentialsAuthorizer`, DCV) | [`TokenManager::grant`] with [`TokenRequest::client_credentials`] | the grant, run again |
//! | any grant that can run unattended (JWT bearer, token exchange, password, custom) | [`TokenManager::grant`] | a refresh token if one came, else the grant again |
//!
//! # Call order
//!
//! - After [`Access::Renew`], call exactly one of [`complete`](TokenManager::complete) or
//!   [`renewal_failed`](TokenManager::renewal_failed): until then the manager answers
//!   [`Access::Wait`] to callers that cannot use the current token, and hands out no second
//!   renewal.
//! - After a `401` whose [`is_invalid_token`](crate::www_authenticate::is_invalid_token) is true,
//!   call [`reject`](TokenManager::reject) with the header that was refused, then `access` again.
//!
//! # Leeway
//!
//! A token is renewed [`DEFAULT_LEEWAY`] (30 s) before it expires, but never earlier than half
//! of its lifetime: see [`DEFAULT_LEEWAY`] for why.
//!
//! # Token types
//!
//! A `Bearer` token (RFC 6750) is sent as `Authorization: Bearer <token>`, marked sensitive and
//! built once per token, so handing it out allocates nothing.
//!
//! A `DPoP` token (RFC 9449) is accepted when the manager's client has a DPoP key
//! ([`ClientBuilder::dpop`](crate::ClientBuilder::dpop)): the header is then
//! `Authorization: DPoP <token>`, and every request also needs a fresh `DPoP` proof for its
//! method and URL, which [`DpopProofs`] (from [`TokenManager::dpop_proofs`]) makes; the
//! [`Authorizer`](crate::authorizer::Authorizer) sends both, remembers the resource servers'
//! nonces, and resends once on `use_dpop_nonce` (see [`resend_reason`]). A `DPoP` token without a key to prove it with is
//! useless, and sending it as `Bearer` would let the resource server downgrade it.
//!
//! Any other `token_type` is refused with [`Error::InvalidResponse`] (field `token_type`) when
//! the token arrives, as RFC 6749 §7.1 asks of a client that does not understand a type.
//!
//! # Example: the whole life of a client credentials token, on a fake clock
//!
//! ```
//! // `testing::Driver` plays the server here; it needs grantline's `testing` feature.
//! use grantline::{Client, Flow, Now, grant::TokenRequest, testing::Driver};
//! use grantline::token_manager::{Access, TokenManager};
//! use std::time::Duration;
//!
//! let client = Client::builder("svc")
//!     .token_endpoint("https://as.example/token")
//!     .client_secret_basic("s3cr3t")
//!     .build()?;
//! let mut renewals = 0;
//! let mut manager = TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?
//!     .on_renewed(move |token| { let _ = token; /* store it */ });
//! let mut server = Driver::new()
//!     .reply_json(200, r#"{"access_token":"at-1","token_type":"Bearer","expires_in":300}"#)
//!     .reply_json(200, r#"{"access_token":"at-2","token_type":"Bearer","expires_in":300}"#);
//!
//! // The transport loop: ask, renew when told, use the header.
//! let mut header = |manager: &mut TokenManager, server: &mut Driver| loop {
//!     match manager.access(server.now()) {
//!         Access::Ready(header) => return header,
//!         Access::Renew(renewal) => {
//!             let token = server.run(renewal).unwrap();
//!             manager.complete(token, server.now()).unwrap();
//!             renewals += 1;
//!         }
//!         Access::Wait => unreachable!("one caller only"),
//!     }
//! };
//! assert_eq!(header(&mut manager, &mut server), "Bearer at-1");
//! server.advance(Duration::from_secs(260)); // 40 s left: not yet inside the 30 s leeway
//! assert_eq!(header(&mut manager, &mut server), "Bearer at-1");
//! server.advance(Duration::from_secs(20)); // 20 s left: renew
//! assert_eq!(header(&mut manager, &mut server), "Bearer at-2");
//! assert_eq!(renewals, 2);
//! # Ok::<(), grantline::Error>(())
//! ```

mod dpop;
mod renewal;

use std::fmt;
use std::time::{Duration, SystemTime};

use http::HeaderValue;

use crate::EndpointKind;
use crate::error::{ConfigError, InvalidResponse};
use crate::grant::TokenRequest;
use crate::secret::{AccessToken, RefreshToken};
use crate::{Client, Error, Now, TokenResponse, TokenType};

#[cfg(feature = "jose")]
pub use dpop::DpopProofs;
pub(crate) use dpop::is_dpop;
pub use dpop::{Resend, resend_reason};
pub use renewal::Renewal;

/// How long before its expiry a token is renewed, unless [`TokenManager::leeway`] says
/// otherwise: 30 seconds.
///
/// # Why 30 seconds
///
/// The expiry the manager knows is the time the token response arrived plus `expires_in`, on the
/// client's own clock, so skew between the client and the authorization server does not matter.
/// What the leeway must cover is the rest:
///
/// - the time a request takes to reach the resource server and be checked there (a slow upload,
///   a queue in front of the API, a retry by the HTTP client): seconds;
/// - skew between the resource server's clock and the authorization server's, which decides when
///   the resource server stops accepting the token: small on NTP-synchronised hosts, and many
///   resource servers allow for it themselves;
/// - the renewal itself: callers keep using the old token while it is renewed (see
///   [`Access`]), so a slow authorization server costs nobody a failed request as long as the
///   renewal finishes within the leeway.
///
/// 30 s covers those with room to spare (requests_oauth2client and the AWS SDKs use 20 to 60 s),
/// and costs one renewal 1 % early for a one-hour token.
///
/// **Short-lived tokens.** For a token the manager renewed itself, the leeway is capped at half of
/// the token's lifetime, so a 40-second token is renewed after 20 s, not after 10 s, and a server
/// that issues tokens shorter than the leeway does not get a renewal on every request. (A token
/// the manager was given, whose start it does not know, gets the full leeway: at worst it is
/// renewed once, early.)
///
/// ```
/// assert_eq!(grantline::token_manager::DEFAULT_LEEWAY.as_secs(), 30);
/// ```
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// What the caller of [`TokenManager::access`] does next.
///
/// Exhaustive on purpose, like [`Step`](crate::Step): a transport matches all three.
///
/// ```
/// use grantline::token_manager::{Access, TokenManager};
///
/// let mut manager = TokenManager::bearer("at")?;
/// match manager.access(grantline::Now::system()) {
///     Access::Ready(header) => assert_eq!(header, "Bearer at"),
///     Access::Renew(_) | Access::Wait => unreachable!("a fixed token is never renewed"),
/// }
/// # Ok::<(), grantline::Error>(())
/// ```
#[must_use = "a Renew must be run and completed, or the manager waits for it forever"]
#[allow(clippy::exhaustive_enums, clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Access {
    /// The token is good: send this `Authorization` header value (already marked sensitive;
    /// cloning it is a reference count, no allocation).
    Ready(HeaderValue),
    /// Renew first: run this flow, then hand its output to [`TokenManager::complete`] (or call
    /// [`TokenManager::renewal_failed`]).
    Renew(Renewal),
    /// Another caller's renewal is under way and the current token cannot be used: wait until
    /// that renewal completes or fails, then ask again.
    Wait,
}

/// A callback that sees every renewed token, to persist it.
type OnRenewed = Box<dyn FnMut(&TokenResponse) + Send>;

/// How the manager gets a new token.
// One per manager, never in a collection: boxing the large variant would only add a pointer hop.
#[allow(clippy::large_enum_variant)]
enum Source {
    /// It does not: the token is used as it is.
    Fixed,
    /// By the refresh token only.
    Refresh(Client),
    /// By the refresh token if there is one, and by running this grant again otherwise.
    Grant(Client, TokenRequest),
}

/// The token in use, with its ready-made header.
struct Current {
    token: TokenResponse,
    header: HeaderValue,
    /// When a renewal delivered the token (wall clock): the start of its lifetime, for the
    /// leeway cap. Unknown for a token the manager was given.
    received_at: Option<SystemTime>,
    /// A resource server refused it: it is not used again unless it cannot be replaced.
    rejected: bool,
}

/// The sans-IO token cache behind every auth handler: the current token, its header, and the
/// decision to renew. See the [module documentation](self) for the protocol.
///
/// `Debug` shows the kind, the leeway and the state, never a token.
///
/// ```
/// use grantline::{Client, grant::TokenRequest, token_manager::TokenManager};
/// use std::time::Duration;
///
/// let client = Client::builder("svc")
///     .token_endpoint("https://as.example/token")
///     .client_secret_basic("s3cr3t")
///     .build()?;
/// let manager = TokenManager::grant(client, TokenRequest::client_credentials().scope("read"))?
///     .leeway(Duration::from_secs(60))
///     .on_renewed(|token| {
///         let _stored = serde_json::to_string(token);
///     });
/// assert!(!format!("{manager:?}").contains("s3cr3t"));
/// # Ok::<(), grantline::Error>(())
/// ```
pub struct TokenManager {
    current: Option<Current>,
    /// A refresh token to start from, before any access token exists.
    initial_refresh_token: Option<RefreshToken>,
    source: Source,
    leeway: Duration,
    on_renewed: Option<OnRenewed>,
    renewing: bool,
}

impl fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.source {
            Source::Fixed => "fixed",
            Source::Refresh(_) => "refresh token",
            Source::Grant(..) => "grant",
        };
        f.debug_struct("TokenManager")
            .field("kind", &kind)
            .field("token", &self.current.as_ref().map(|c| &c.token))
            .field(
                "rejected",
                &self.current.as_ref().is_some_and(|c| c.rejected),
            )
            .field("leeway", &self.leeway)
            .field("renewing", &self.renewing)
            .field("on_renewed", &self.on_renewed.is_some())
            .finish_non_exhaustive()
    }
}

impl TokenManager {
    fn new(source: Source) -> Self {
        Self {
            current: None,
            initial_refresh_token: None,
            source,
            leeway: DEFAULT_LEEWAY,
            on_renewed: None,
            renewing: false,
        }
    }

    /// A manager for an access token alone (Globus's `AccessTokenAuthorizer`): a `Bearer` token
    /// never renewed, sent as it is, even past its expiry (the resource server decides). To keep
    /// what else you know of it (its expiry, its scope), follow with
    /// [`with_token`](Self::with_token).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidResponse`] if the token cannot be sent in an HTTP header (a control
    /// character, say).
    ///
    /// ```
    /// use grantline::{TokenResponse, TokenType, token_manager::TokenManager};
    /// let manager = TokenManager::bearer("at")?;
    /// assert!(!manager.can_renew());
    /// // A whole token response, kept as it is:
    /// let expires_at = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(4_102_444_800);
    /// let stored = TokenResponse::new("at".into(), TokenType::Bearer).with_expires_at(Some(expires_at));
    /// let manager = TokenManager::bearer("at")?.with_token(stored)?;
    /// assert_eq!(manager.token().unwrap().expires_at(), Some(expires_at));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn bearer(access_token: impl Into<AccessToken>) -> Result<Self, Error> {
        Self::new(Source::Fixed)
            .with_token(TokenResponse::new(access_token.into(), TokenType::Bearer))
    }

    /// A manager for a token from the authorization code, device or CIBA flow: `token` is used
    /// first, and renewed with its refresh token (requests_oauth2client's
    /// `OAuth2AuthorizationCodeAuth` and `OAuth2DeviceCodeAuth`).
    ///
    /// A token without a refresh token is used until it expires and then sent as it is (nothing
    /// can renew it).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the client has no token endpoint; [`Error::InvalidResponse`] if the
    /// token is not a `Bearer` token or cannot be sent in a header.
    ///
    /// ```
    /// use grantline::{Client, TokenResponse, TokenType, secret::RefreshToken};
    /// use grantline::token_manager::TokenManager;
    ///
    /// let client = Client::builder("app").token_endpoint("https://as.example/token").build()?;
    /// // The token the code exchange (or device flow) returned:
    /// let token = TokenResponse::new("at".into(), TokenType::Bearer)
    ///     .with_refresh_token(Some(RefreshToken::new("rt")));
    /// let manager = TokenManager::refreshing(client, token)?;
    /// assert!(manager.can_renew());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn refreshing(client: Client, token: TokenResponse) -> Result<Self, Error> {
        require_token_endpoint(&client)?;
        Self::new(Source::Refresh(client)).with_token(token)
    }

    /// A manager that starts from a refresh token alone (Globus's `RefreshTokenAuthorizer`): the
    /// first [`access`](Self::access) renews.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the client has no token endpoint.
    ///
    /// ```
    /// use grantline::{Client, token_manager::TokenManager};
    /// let client = Client::builder("app")
    ///     .token_endpoint("https://auth.globus.org/v2/oauth2/token")
    ///     .client_secret_basic("s3cr3t")
    ///     .build()?;
    /// let manager = TokenManager::from_refresh_token(client, "the-refresh-token")?;
    /// assert!(manager.token().is_none());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn from_refresh_token(
        client: Client,
        refresh_token: impl Into<RefreshToken>,
    ) -> Result<Self, Error> {
        require_token_endpoint(&client)?;
        let mut manager = Self::new(Source::Refresh(client));
        manager.initial_refresh_token = Some(refresh_token.into());
        Ok(manager)
    }

    /// A manager that gets its tokens by running `request` (any grant that needs no person:
    /// client credentials, JWT bearer, token exchange, password, a custom grant), and renews
    /// them with a refresh token when the server issued one, or by running `request` again.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the client has no token endpoint or the request is malformed (the
    /// same checks as [`Client::request_token`]), found now rather than at the first API call.
    ///
    /// ```
    /// use grantline::{Client, grant::TokenRequest, token_manager::TokenManager};
    /// let client = Client::builder("svc")
    ///     .token_endpoint("https://as.example/token")
    ///     .client_secret_post("s3cr3t")
    ///     .build()?;
    /// let manager = TokenManager::grant(
    ///     client,
    ///     TokenRequest::client_credentials().scope("read").audience("https://api.example"),
    /// )?;
    /// # let _ = manager;
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn grant(client: Client, request: TokenRequest) -> Result<Self, Error> {
        // Builds the flow once to surface configuration mistakes now.
        let _ = client.request_token(request.clone())?;
        Ok(Self::new(Source::Grant(client, request)))
    }

    /// Starts from `token` (one stored by the [`on_renewed`](Self::on_renewed) callback before a
    /// restart, say) instead of renewing on first use.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidResponse`] if the token is not a `Bearer` token or cannot be sent in a
    /// header.
    ///
    /// ```
    /// use grantline::{Client, TokenResponse, token_manager::TokenManager};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let stored = r#"{"grantline_token":1,"access_token":"at","token_type":"Bearer","expires_at":4102444800}"#;
    /// let token: TokenResponse = serde_json::from_str(stored).unwrap();
    /// let manager = TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?.with_token(token)?;
    /// assert!(manager.token().is_some());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn with_token(mut self, token: TokenResponse) -> Result<Self, Error> {
        let header = authorization_header(&token, self.has_dpop_key())?;
        self.current = Some(Current {
            token,
            header,
            received_at: None,
            rejected: false,
        });
        Ok(self)
    }

    /// Sets how long before expiry a token is renewed (default [`DEFAULT_LEEWAY`], capped at half
    /// the token's lifetime).
    ///
    /// ```
    /// use std::time::Duration;
    /// let manager = grantline::token_manager::TokenManager::bearer("at")?.leeway(Duration::from_secs(60));
    /// assert_eq!(manager.leeway_setting(), Duration::from_secs(60));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Calls `callback` with every renewed token, exactly once per renewal, so the application
    /// can persist it (Globus's `on_refresh`). The token it sees already carries the refresh
    /// token to use next (the old one, if the server did not rotate it).
    ///
    /// The callback runs while the drivers hold the authorizer's lock: keep it short, and do not
    /// call the auth handler from inside it.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// let stored = Arc::new(Mutex::new(None));
    /// let sink = Arc::clone(&stored);
    /// let manager = grantline::token_manager::TokenManager::bearer("at")?
    ///     .on_renewed(move |token| *sink.lock().unwrap() = Some(token.clone()));
    /// # let _ = manager;
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn on_renewed(mut self, callback: impl FnMut(&TokenResponse) + Send + 'static) -> Self {
        self.on_renewed = Some(Box::new(callback));
        self
    }

    /// The leeway as set (the cap for short-lived tokens is applied per token).
    ///
    /// ```
    /// let manager = grantline::token_manager::TokenManager::bearer("at")?;
    /// assert_eq!(manager.leeway_setting(), grantline::token_manager::DEFAULT_LEEWAY);
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn leeway_setting(&self) -> Duration {
        self.leeway
    }

    /// The current token, if there is one yet.
    ///
    /// ```
    /// let manager = grantline::token_manager::TokenManager::bearer("at")?;
    /// assert_eq!(manager.token().unwrap().access_token().secret(), "at");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn token(&self) -> Option<&TokenResponse> {
        self.current.as_ref().map(|c| &c.token)
    }

    /// Whether a renewal was handed out and neither completed nor failed yet.
    ///
    /// ```
    /// let manager = grantline::token_manager::TokenManager::bearer("at")?;
    /// assert!(!manager.is_renewing());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn is_renewing(&self) -> bool {
        self.renewing
    }

    /// Whether the manager has a way to get another token (a refresh token, or a grant to run).
    ///
    /// ```
    /// assert!(!grantline::token_manager::TokenManager::bearer("at")?.can_renew());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn can_renew(&self) -> bool {
        match &self.source {
            Source::Fixed => false,
            Source::Refresh(_) => self.refresh_token().is_some(),
            Source::Grant(..) => true,
        }
    }

    /// What to do to get an `Authorization` header at `now` (token expiry is read on
    /// `now.wall()`): send the cached one, renew first, or wait for the renewal under way.
    ///
    /// - A token outside the leeway: [`Access::Ready`].
    /// - A token inside the leeway (still valid): [`Access::Renew`] to the first caller, and
    ///   [`Access::Ready`] with the current token to everyone else while that renewal runs.
    /// - No token, an expired token, or one a server [rejected](Self::reject):
    ///   [`Access::Renew`] to the first caller, [`Access::Wait`] to the others.
    /// - A token that cannot be renewed: [`Access::Ready`], always; the resource server decides.
    ///
    /// ```
    /// use grantline::{Client, Now, TokenResponse, TokenType, secret::RefreshToken};
    /// use grantline::token_manager::{Access, TokenManager};
    /// use std::time::{Duration, SystemTime};
    ///
    /// let client = Client::builder("app").token_endpoint("https://as.example/token").build()?;
    /// let now = Now::system();
    /// let expired = TokenResponse::new("at".into(), TokenType::Bearer)
    ///     .with_expires_at(Some(now.wall() - Duration::from_secs(1)))
    ///     .with_refresh_token(Some(RefreshToken::new("rt")));
    /// let mut manager = TokenManager::refreshing(client, expired)?;
    /// assert!(matches!(manager.access(now), Access::Renew(_)));
    /// assert!(matches!(manager.access(now), Access::Wait)); // a second caller
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn access(&mut self, now: Now) -> Access {
        let wall = now.wall();
        let can_renew = self.can_renew();
        let leeway = self.leeway;
        if let Some(current) = &self.current {
            let leeway = match current.received_at {
                Some(received_at) => capped_leeway(&current.token, received_at, leeway),
                None => leeway,
            };
            let usable = !current.rejected && !current.token.is_expired(wall, Duration::ZERO);
            let fresh = usable && !current.token.is_expired(wall, leeway);
            if fresh || !can_renew || (usable && self.renewing) {
                return Access::Ready(current.header.clone());
            }
        }
        if self.renewing {
            return Access::Wait;
        }
        self.renewing = true;
        Access::Renew(self.renewal())
    }

    /// Proofs for this manager's `DPoP` tokens, when its client has a DPoP key: see
    /// [`DpopProofs`]. `None` otherwise (a fixed token, or a client without DPoP), and then every
    /// header is a `Bearer` one.
    ///
    /// ```
    /// assert!(grantline::token_manager::TokenManager::bearer("at")?.dpop_proofs().is_none());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[cfg(feature = "jose")]
    #[must_use]
    pub fn dpop_proofs(&self) -> Option<DpopProofs> {
        self.client().and_then(DpopProofs::of)
    }

    /// The client that renews the tokens, if any (only its DPoP key is read, and keys need `jose`).
    #[cfg(feature = "jose")]
    fn client(&self) -> Option<&Client> {
        match &self.source {
            Source::Fixed => None,
            Source::Refresh(client) | Source::Grant(client, _) => Some(client),
        }
    }

    /// Whether `DPoP` tokens can be used: the client has a key to prove possession with.
    fn has_dpop_key(&self) -> bool {
        #[cfg(feature = "jose")]
        {
            self.client().is_some_and(|c| c.dpop_key().is_some())
        }
        #[cfg(not(feature = "jose"))]
        {
            false
        }
    }

    /// The renewal flow for the current state.
    fn renewal(&self) -> Renewal {
        match &self.source {
            Source::Fixed => Renewal::broken(Error::Config(ConfigError::MissingEndpoint(
                EndpointKind::Token,
            ))),
            Source::Refresh(client) => match self.refresh_token() {
                Some(refresh_token) => Renewal::refresh(client, refresh_token.clone(), None),
                None => Renewal::broken(Error::Config(ConfigError::InvalidParameter {
                    name: "refresh_token".to_owned(),
                    reason: "there is none to renew the token with",
                })),
            },
            Source::Grant(client, request) => match self.refresh_token() {
                Some(refresh_token) => Renewal::refresh(
                    client,
                    refresh_token.clone(),
                    Some((client.clone(), request.clone())),
                ),
                None => Renewal::grant(client, request.clone()),
            },
        }
    }

    fn refresh_token(&self) -> Option<&RefreshToken> {
        match &self.current {
            Some(current) => current.token.refresh_token(),
            None => self.initial_refresh_token.as_ref(),
        }
    }

    /// Installs a renewed token (the output of the [`Renewal`] flow) received at `now`, calls the
    /// [`on_renewed`](Self::on_renewed) callback once with it, and returns its header.
    ///
    /// The token is installed as it is: the renewal flow has already carried the old refresh
    /// token over when the server sent no new one.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidResponse`] if the token is not a `Bearer` token or cannot be sent in a
    /// header; the renewal then counts as failed (the old token is kept, the callback is not
    /// called).
    ///
    /// ```
    /// use grantline::{Client, Now, TokenResponse, TokenType, token_manager::TokenManager};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let mut manager = TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?;
    /// let _renewal = manager.access(Now::system());
    /// let header = manager.complete(TokenResponse::new("new".into(), TokenType::Bearer), Now::system())?;
    /// assert_eq!(header, "Bearer new");
    /// assert!(header.is_sensitive());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn complete(&mut self, token: TokenResponse, now: Now) -> Result<HeaderValue, Error> {
        self.renewing = false;
        let header = authorization_header(&token, self.has_dpop_key())?;
        self.initial_refresh_token = None;
        let current = self.current.insert(Current {
            token,
            header: header.clone(),
            received_at: Some(now.wall()),
            rejected: false,
        });
        if let Some(callback) = &mut self.on_renewed {
            callback(&current.token);
        }
        Ok(header)
    }

    /// Hands what makes this manager's tokens what they are (token endpoint, client id, and
    /// the grant's parameters) to `f`, for the key a fleet shares them under.
    pub(crate) fn share_material(&self, f: &mut dyn FnMut(&str, &str)) -> Result<(), Error> {
        let Source::Grant(client, request) = &self.source else {
            return Err(ConfigError::InvalidParameter {
                name: "grant_type".to_owned(),
                reason: "only a manager made with TokenManager::grant (client credentials) can \
                         share its tokens through a store",
            }
            .into());
        };
        if self.has_dpop_key() {
            return Err(ConfigError::InvalidParameter {
                name: "dpop".to_owned(),
                reason: "DPoP-bound tokens are bound to one process's key and cannot be shared",
            }
            .into());
        }
        let endpoint = client
            .endpoint(EndpointKind::Token)
            .ok_or(ConfigError::MissingEndpoint(EndpointKind::Token))?;
        f("token_endpoint", endpoint.as_str());
        f("client_id", client.client_id());
        request.share_material(f)?;
        Ok(())
    }

    /// The current token, if a resource server refused it (a fleet must not hand it back).
    pub(crate) fn rejected_token(&self) -> Option<&TokenResponse> {
        self.current
            .as_ref()
            .filter(|c| c.rejected)
            .map(|c| &c.token)
    }

    /// The current token's header, whatever its expiry (for the caller whose renewal just
    /// delivered it).
    pub(crate) fn current_header(&self) -> Option<HeaderValue> {
        self.current.as_ref().map(|c| c.header.clone())
    }

    /// The current token's header if it can still be used at `wall`: not expired, not rejected.
    pub(crate) fn usable_header(&self, wall: SystemTime) -> Option<HeaderValue> {
        self.current
            .as_ref()
            .filter(|c| !c.rejected && !c.token.is_expired(wall, Duration::ZERO))
            .map(|c| c.header.clone())
    }

    /// Records that the renewal handed out by [`access`](Self::access) failed (the flow's error,
    /// or the transport's), so that the next `access` may try again.
    ///
    /// Returns the current header if that token can still be used at `now` (the renewal started
    /// inside the leeway): the caller may send its request with it rather than fail.
    ///
    /// ```
    /// use grantline::{Client, Now, token_manager::TokenManager};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let mut manager = TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?;
    /// let now = Now::system();
    /// let _renewal = manager.access(now);
    /// assert!(manager.is_renewing());
    /// assert!(manager.renewal_failed(now).is_none()); // there was no token at all
    /// assert!(!manager.is_renewing());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn renewal_failed(&mut self, now: Now) -> Option<HeaderValue> {
        self.renewing = false;
        self.usable_header(now.wall())
    }

    /// Records that a resource server refused `header` (a `401` with
    /// [`is_invalid_token`](crate::www_authenticate::is_invalid_token)), and says whether asking
    /// [`access`](Self::access) again can give a different token to retry with.
    ///
    /// If `header` is still the current one, the token is marked unusable, so the next `access`
    /// renews it (or waits for a renewal under way). If the token was already replaced (another
    /// caller saw the same refusal and renewed), nothing changes and the answer is `true`: the
    /// next `access` hands out the new one. A token that cannot be renewed gives `false`.
    ///
    /// ```
    /// use grantline::{Client, Now, TokenResponse, TokenType, token_manager::{Access, TokenManager}};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let token = TokenResponse::new("at".into(), TokenType::Bearer);
    /// let mut manager = TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?.with_token(token)?;
    /// let Access::Ready(header) = manager.access(Now::system()) else { unreachable!() };
    /// assert!(manager.reject(&header));
    /// assert!(matches!(manager.access(Now::system()), Access::Renew(_)));
    ///
    /// let mut fixed = TokenManager::bearer("at")?;
    /// assert!(!fixed.reject(&header));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn reject(&mut self, header: &HeaderValue) -> bool {
        let can_renew = self.can_renew();
        match &mut self.current {
            Some(current) if current.header == *header => {
                if can_renew {
                    current.rejected = true;
                }
                can_renew
            }
            // Replaced since, or never set: a later `access` gives another one.
            _ => can_renew || self.current.is_some(),
        }
    }

    /// Marks the current token unusable, so that the next [`access`](Self::access) renews it
    /// (after a change of permissions, say). Returns whether a renewal is possible; a token that
    /// cannot be renewed stays in use.
    ///
    /// ```
    /// let mut manager = grantline::token_manager::TokenManager::bearer("at")?;
    /// assert!(!manager.invalidate());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn invalidate(&mut self) -> bool {
        let can_renew = self.can_renew();
        if let Some(current) = self.current.as_mut().filter(|_| can_renew) {
            current.rejected = true;
        }
        can_renew
    }
}

/// The leeway for `token`, received at `received_at`: `leeway`, but at most half its lifetime.
fn capped_leeway(token: &TokenResponse, received_at: SystemTime, leeway: Duration) -> Duration {
    match token.expires_at() {
        Some(expires_at) => {
            let lifetime = expires_at
                .duration_since(received_at)
                .unwrap_or(Duration::ZERO);
            leeway.min(lifetime / 2)
        }
        None => leeway,
    }
}

/// `Bearer <token>`, or `DPoP <token>` when `dpop` (the client has a key), marked sensitive.
pub(crate) fn authorization_header(
    token: &TokenResponse,
    dpop: bool,
) -> Result<HeaderValue, Error> {
    let scheme = match token.token_type() {
        TokenType::Bearer => "Bearer ",
        TokenType::DPoP if dpop => dpop::DPOP_PREFIX,
        TokenType::DPoP => {
            return Err(InvalidResponse::new(
                "token_type",
                "is DPoP, but the client has no DPoP key to prove possession with (ClientBuilder::dpop)",
            )
            .into());
        }
        _ => {
            return Err(InvalidResponse::new(
                "token_type",
                "is neither Bearer nor DPoP: no other token type is sent in an Authorization header",
            )
            .into());
        }
    };
    let secret = token.access_token().secret();
    let mut value = String::with_capacity(scheme.len() + secret.len());
    value.push_str(scheme);
    value.push_str(secret);
    let mut header = HeaderValue::try_from(value)
        .map_err(|_| InvalidResponse::new("access_token", "cannot be sent in an HTTP header"))?;
    header.set_sensitive(true);
    // The first clone of a header value turns its buffer into a shared one (one allocation);
    // make it now, so that handing out clones on the hot path never allocates.
    drop(header.clone());
    Ok(header)
}

/// The checks [`Client::request_token`] makes, applied when the manager is built.
fn require_token_endpoint(client: &Client) -> Result<(), Error> {
    client
        .request_token(TokenRequest::refresh_token("-"))
        .map(|_| ())
}

// The manager sits behind a mutex shared between threads.
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<TokenManager>();
    assert_send::<Renewal>();
};

#[cfg(test)]
mod tests;
