//! The device authorization grant (RFC 8628): for a TV, a CLI on a headless box, anything
//! without a browser.
//!
//! ```text
//! DeviceAuthorizationRequest ──Client::device_authorization──▶ DeviceAuthorizationFlow
//!        (POST device authorization endpoint, one shot)              │ Done
//!                                                                     ▼
//!                      show user_code + verification_uri ◀── DeviceAuthorization
//!                                                                     │ Client::device_token
//!                                                                     ▼
//!    ┌──────────────── DeviceTokenFlow (polls the token endpoint) ◀───┘
//!    │ Wait(interval) ─▶ Send ─▶ authorization_pending ─┐
//!    │      ▲                    slow_down (+5 s)  ─────┤
//!    │      └───────────────────────────────────────────┘
//!    └─▶ Done(TokenResponse) | access_denied | expired_token | Error::Expired
//! ```
//!
//! The polling rules are in [`flow`](crate::flow#polling-device-authorization-and-ciba).
//!
//! ```
//! // `testing::Driver` plays the server here; it needs grantline's `testing` feature.
//! use grantline::{Client, device::DeviceAuthorizationRequest, testing::Driver};
//!
//! let client = Client::builder("tv-app")
//!     .device_authorization_endpoint("https://as.example/device")
//!     .token_endpoint("https://as.example/token")
//!     .build()?;
//! let mut driver = Driver::new()
//!     .reply_json(200, r#"{"device_code":"dc","user_code":"WDJB-MJHT",
//!         "verification_uri":"https://as.example/activate","expires_in":600,"interval":5}"#)
//!     .reply_json(400, r#"{"error":"authorization_pending"}"#)
//!     .reply_json(200, r#"{"access_token":"at","token_type":"Bearer"}"#);
//!
//! let authorization = driver
//!     .run(client.device_authorization(DeviceAuthorizationRequest::new().scope("profile"))?)
//!     .unwrap();
//! println!("Open {} and enter {}", authorization.verification_uri(), authorization.user_code());
//! let token = driver.run(client.device_token(authorization)?).unwrap();
//! assert_eq!(token.access_token().secret(), "at");
//! // Two polls, each one interval apart.
//! assert_eq!(driver.transcript().waits().collect::<Vec<_>>(), [std::time::Duration::from_secs(5); 2]);
//! # Ok::<(), grantline::Error>(())
//! ```

use std::fmt;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::EndpointKind;
use crate::error::{Expired, InvalidResponse};
use crate::flow::{EndpointCall, OneShot, Params, one_shot_flow};
use crate::flow::{
    IdTokenCheck, Poller, PollingStatus, TokenExchange, interval_from, polling_flow,
};
use crate::response::{Object, field, success_object};
use crate::{Client, Error, Now, Scope};

/// The device code grant type (RFC 8628 §3.4).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A device authorization request (RFC 8628 §3.1): scope and any extra parameters.
///
/// ```
/// use grantline::device::DeviceAuthorizationRequest;
/// let request = DeviceAuthorizationRequest::new().scope("openid profile").param("audience", "api");
/// # let _ = request;
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a request does nothing until it is given to Client::device_authorization"]
pub struct DeviceAuthorizationRequest {
    scope: Option<Scope>,
    extra: Params,
}

impl DeviceAuthorizationRequest {
    /// An empty request.
    ///
    /// ```
    /// let _ = grantline::device::DeviceAuthorizationRequest::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the requested scope.
    ///
    /// ```
    /// let _ = grantline::device::DeviceAuthorizationRequest::new().scope(["read", "write"]);
    /// ```
    pub fn scope(mut self, scope: impl Into<Scope>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Adds any other parameter (`audience`, `resource`, vendor parameters).
    ///
    /// ```
    /// let _ = grantline::device::DeviceAuthorizationRequest::new().param("resource", "https://api.example/");
    /// ```
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.push((name.into(), value.into()));
        self
    }
}

/// What the device authorization endpoint answered (RFC 8628 §3.2): the codes, where the person
/// goes, and how long and how often to poll.
///
/// `Debug` hides the device code (it is what the token endpoint exchanges for tokens); the user
/// code is shown, since it is meant to be displayed.
#[derive(Clone, PartialEq)]
pub struct DeviceAuthorization {
    device_code: String,
    user_code: String,
    verification_uri: String,
    verification_uri_complete: Option<String>,
    expires_in: Duration,
    received_at: Instant,
    interval: Duration,
    extra: Map<String, Value>,
    /// Whether the request asked for `openid`: an ID token that comes back is then validated.
    openid: bool,
}

impl fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("device_code", &"[redacted]")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field(
                "verification_uri_complete",
                &self.verification_uri_complete.is_some(),
            )
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .field("openid", &self.openid)
            .finish()
    }
}

impl DeviceAuthorization {
    /// Parses a device authorization endpoint's response received at `now`.
    ///
    /// `verification_url` (sent by some providers instead of `verification_uri`) is accepted.
    ///
    /// # Errors
    ///
    /// An OAuth error, an unexpected answer, or [`Error::InvalidResponse`] when `device_code`,
    /// `user_code`, `verification_uri` or `expires_in` is missing or of the wrong type.
    ///
    /// ```
    /// use grantline::{Now, device::DeviceAuthorization};
    /// let response = http::Response::new(br#"{"device_code":"d","user_code":"U","verification_uri":"https://as/x","expires_in":60}"#.to_vec());
    /// let authorization = DeviceAuthorization::from_response(&response, Now::system())?;
    /// assert_eq!(authorization.interval(), std::time::Duration::from_secs(5));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn from_response(response: &http::Response<Vec<u8>>, now: Now) -> Result<Self, Error> {
        Ok(Self::from_object(success_object(response)?, now)?)
    }

    fn from_object(mut object: Object, now: Now) -> Result<Self, InvalidResponse> {
        let device_code = field::required_string(&mut object, "device_code")?;
        let user_code = field::required_string(&mut object, "user_code")?;
        let verification_uri = match field::string(&mut object, "verification_uri")? {
            Some(uri) => uri,
            None => field::required_string(&mut object, "verification_url")
                .map_err(|_| InvalidResponse::new("verification_uri", "is missing"))?,
        };
        let verification_uri_complete = field::string(&mut object, "verification_uri_complete")?;
        let expires_in = field::seconds(&mut object, "expires_in")?
            .map(crate::flow::lifetime_from)
            .ok_or(InvalidResponse::new("expires_in", "is missing"))?;
        let interval = interval_from(field::seconds(&mut object, "interval")?);
        Ok(Self {
            device_code,
            user_code,
            verification_uri,
            verification_uri_complete,
            expires_in,
            received_at: now.monotonic(),
            interval,
            extra: object,
            openid: false,
        })
    }

    /// Records that the request asked for `openid`, so that [`Client::device_token`] validates
    /// an ID token that comes back. [`Client::device_authorization`] sets it from the request's
    /// scope; set it yourself for an authorization parsed with
    /// [`from_response`](Self::from_response).
    ///
    /// ```
    /// # let a = grantline::device::DeviceAuthorization::from_response(&http::Response::new(br#"{"device_code":"d","user_code":"U","verification_uri":"https://as/x","expires_in":60}"#.to_vec()), grantline::Now::system()).unwrap();
    /// let a = a.with_openid(true);
    /// assert!(a.asked_for_openid());
    /// ```
    #[must_use]
    pub fn with_openid(mut self, openid: bool) -> Self {
        self.openid = openid;
        self
    }

    /// Whether the request asked for `openid` (see [`with_openid`](Self::with_openid)).
    ///
    /// ```
    /// # let a = grantline::device::DeviceAuthorization::from_response(&http::Response::new(br#"{"device_code":"d","user_code":"U","verification_uri":"https://as/x","expires_in":60}"#.to_vec()), grantline::Now::system()).unwrap();
    /// assert!(!a.asked_for_openid());
    /// ```
    #[must_use]
    pub fn asked_for_openid(&self) -> bool {
        self.openid
    }

    /// The code the person types in.
    ///
    /// ```
    /// # let a = grantline::device::DeviceAuthorization::from_response(&http::Response::new(br#"{"device_code":"d","user_code":"U","verification_uri":"https://as/x","expires_in":60}"#.to_vec()), grantline::Now::system()).unwrap();
    /// assert_eq!(a.user_code(), "U");
    /// ```
    #[must_use]
    pub fn user_code(&self) -> &str {
        &self.user_code
    }

    /// Where the person goes to type the code.
    ///
    /// ```
    /// # let a = grantline::device::DeviceAuthorization::from_response(&http::Response::new(br#"{"device_code":"d","user_code":"U","verification_url":"https://as/x","expires_in":60}"#.to_vec()), grantline::Now::system()).unwrap();
    /// assert_eq!(a.verification_uri(), "https://as/x");
    /// ```
    #[must_use]
    pub fn verification_uri(&self) -> &str {
        &self.verification_uri
    }

    /// A URI that carries the code already (for a QR code), if the server sent one.
    ///
    /// ```
    /// # let a = grantline::device::DeviceAuthorization::from_response(&http::Response::new(br#"{"device_code":"d","user_code":"U","verification_uri":"https://as/x","verification_uri_complete":"https://as/x?c=U","expires_in":60}"#.to_vec()), grantline::Now::system()).unwrap();
    /// assert_eq!(a.verification_uri_complete(), Some("https://as/x?c=U"));
    /// ```
    #[must_use]
    pub fn verification_uri_complete(&self) -> Option<&str> {
        self.verification_uri_complete.as_deref()
    }

    /// When the device code expires (monotonic: the moment of receipt plus `expires_in`).
    ///
    /// ```
    /// # let now = grantline::Now::system();
    /// # let a = grantline::device::DeviceAuthorization::from_response(&http::Response::new(br#"{"device_code":"d","user_code":"U","verification_uri":"https://as/x","expires_in":60}"#.to_vec()), now).unwrap();
    /// assert_eq!(a.expires_at(), now.monotonic() + std::time::Duration::from_secs(60));
    /// ```
    #[must_use]
    pub fn expires_at(&self) -> Instant {
        self.received_at
            .checked_add(self.expires_in)
            .unwrap_or(self.received_at)
    }

    /// The lifetime the server gave the device code, at most
    /// [`MAX_POLLING_LIFETIME`](crate::flow::MAX_POLLING_LIFETIME).
    ///
    /// ```
    /// # let a = grantline::device::DeviceAuthorization::from_response(&http::Response::new(br#"{"device_code":"d","user_code":"U","verification_uri":"https://as/x","expires_in":60}"#.to_vec()), grantline::Now::system()).unwrap();
    /// assert_eq!(a.expires_in(), std::time::Duration::from_secs(60));
    /// ```
    #[must_use]
    pub fn expires_in(&self) -> Duration {
        self.expires_in
    }

    /// The polling interval (5 seconds when the server names none).
    ///
    /// ```
    /// # let a = grantline::device::DeviceAuthorization::from_response(&http::Response::new(br#"{"device_code":"d","user_code":"U","verification_uri":"https://as/x","expires_in":60,"interval":"2"}"#.to_vec()), grantline::Now::system()).unwrap();
    /// assert_eq!(a.interval(), std::time::Duration::from_secs(2));
    /// ```
    #[must_use]
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Every other field of the response, as sent.
    ///
    /// ```
    /// # let a = grantline::device::DeviceAuthorization::from_response(&http::Response::new(br#"{"device_code":"d","user_code":"U","verification_uri":"https://as/x","expires_in":60,"message":"hi"}"#.to_vec()), grantline::Now::system()).unwrap();
    /// assert_eq!(a.extra()["message"], "hi");
    /// ```
    #[must_use]
    pub fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }
}

/// A flow that sends the device authorization request. Made by
/// [`Client::device_authorization`].
#[derive(Debug)]
pub struct DeviceAuthorizationFlow(OneShot<DeviceAuthorization>);

one_shot_flow!(DeviceAuthorizationFlow, DeviceAuthorization);

/// A flow that polls the token endpoint until the person approves (RFC 8628 §3.4). Made by
/// [`Client::device_token`].
///
/// When the request asked for `openid`, an ID token that comes back is validated before the
/// flow is done (OpenID Connect Core §3.1.3.7 without the nonce, which the device request does
/// not send; the same check the code exchange makes). RFC 8628 does not oblige the server to
/// send one, so its absence is not an error.
#[derive(Debug)]
pub struct DeviceTokenFlow {
    authorization: DeviceAuthorization,
    inner: TokenExchange,
}

polling_flow!(DeviceTokenFlow);

impl DeviceTokenFlow {
    /// The authorization being polled for (user code and verification URIs, for the UI).
    ///
    /// ```
    /// # let client = grantline::Client::builder("c").token_endpoint("https://as/token").build().unwrap();
    /// # let a = grantline::device::DeviceAuthorization::from_response(&http::Response::new(br#"{"device_code":"d","user_code":"U","verification_uri":"https://as/x","expires_in":60}"#.to_vec()), grantline::Now::system()).unwrap();
    /// let flow = client.device_token(a)?;
    /// assert_eq!(flow.authorization().user_code(), "U");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn authorization(&self) -> &DeviceAuthorization {
        &self.authorization
    }

    /// Where polling stands at `now`: interval, polls so far, time left.
    ///
    /// ```
    /// # let now = grantline::Now::system();
    /// # let client = grantline::Client::builder("c").token_endpoint("https://as/token").build().unwrap();
    /// # let a = grantline::device::DeviceAuthorization::from_response(&http::Response::new(br#"{"device_code":"d","user_code":"U","verification_uri":"https://as/x","expires_in":60}"#.to_vec()), now).unwrap();
    /// let flow = client.device_token(a)?;
    /// let status = flow.status(now);
    /// assert_eq!(status.polls, 0);
    /// assert_eq!(status.time_left, std::time::Duration::from_secs(60));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn status(&self, now: Now) -> PollingStatus {
        self.inner.polling_status(now)
    }

    /// Does not validate the ID token. Only for a server whose ID tokens cannot be validated
    /// (no JWK Set URL, an algorithm grantline does not support): without validation, an ID
    /// token proves nothing about who approved.
    ///
    /// ```
    /// # let client = grantline::Client::builder("c").token_endpoint("https://as/token").build().unwrap();
    /// # let a = grantline::device::DeviceAuthorization::from_response(&http::Response::new(br#"{"device_code":"d","user_code":"U","verification_uri":"https://as/x","expires_in":60}"#.to_vec()), grantline::Now::system()).unwrap();
    /// let flow = client.device_token(a.with_openid(true))?.insecure_skip_id_token_validation();
    /// # let _ = flow;
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn insecure_skip_id_token_validation(mut self) -> Self {
        self.inner.skip_check();
        self
    }
}

impl Client {
    /// A flow that asks the device authorization endpoint for a device code and a user code.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingEndpoint`](crate::error::ConfigError::MissingEndpoint) without a
    /// device authorization endpoint; [`ConfigError::ReservedParameter`](crate::error::ConfigError::ReservedParameter)
    /// for an extra parameter grantline sets.
    ///
    /// ```
    /// use grantline::device::DeviceAuthorizationRequest;
    /// let client = grantline::Client::builder("c").build()?;
    /// assert!(client.device_authorization(DeviceAuthorizationRequest::new()).is_err());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn device_authorization(
        &self,
        request: DeviceAuthorizationRequest,
    ) -> Result<DeviceAuthorizationFlow, Error> {
        let mut params = Params::new();
        if let Some(scope) = request.scope.as_ref().filter(|s| !s.is_empty()) {
            params.push(("scope".to_owned(), scope.to_string()));
        }
        let openid = request.scope.as_ref().is_some_and(|s| s.contains("openid"));
        let call = EndpointCall::new(
            self,
            EndpointKind::DeviceAuthorization,
            params,
            &request.extra,
        )?;
        Ok(DeviceAuthorizationFlow(OneShot::new(
            call,
            move |response, now| {
                DeviceAuthorization::from_response(response, now).map(|a| a.with_openid(openid))
            },
        )))
    }

    /// A flow that polls the token endpoint with `authorization`'s device code, then validates
    /// the ID token if the request asked for `openid` (see [`DeviceTokenFlow`]).
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingEndpoint`](crate::error::ConfigError::MissingEndpoint) without a
    /// token endpoint. With `openid`, the flow's first `next` refuses, before any request, a
    /// client that cannot validate an ID token (no JWK Set URL:
    /// [`ConfigError::MissingEndpoint`](crate::error::ConfigError::MissingEndpoint); no issuer:
    /// [`ConfigError::MissingIssuer`](crate::error::ConfigError::MissingIssuer)) unless
    /// [`DeviceTokenFlow::insecure_skip_id_token_validation`].
    ///
    /// ```
    /// # let a = grantline::device::DeviceAuthorization::from_response(&http::Response::new(br#"{"device_code":"d","user_code":"U","verification_uri":"https://as/x","expires_in":60}"#.to_vec()), grantline::Now::system()).unwrap();
    /// let client = grantline::Client::builder("c").build()?;
    /// assert!(client.device_token(a).is_err());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn device_token(
        &self,
        authorization: DeviceAuthorization,
    ) -> Result<DeviceTokenFlow, Error> {
        let params = vec![
            ("grant_type".to_owned(), GRANT_TYPE.to_owned()),
            ("device_code".to_owned(), authorization.device_code.clone()),
        ];
        let call = EndpointCall::new(self, EndpointKind::Token, params, &[])?;
        let poller = Poller::new(
            call,
            Expired::DeviceCode,
            authorization.received_at,
            authorization.expires_at(),
            authorization.interval,
        );
        #[cfg(feature = "jose")]
        let check = authorization.openid.then(|| IdTokenCheck::device(self));
        #[cfg(not(feature = "jose"))]
        let check: Option<IdTokenCheck> = None;
        Ok(DeviceTokenFlow {
            authorization,
            inner: TokenExchange::new(poller, check),
        })
    }
}
