//! Client-Initiated Backchannel Authentication, poll mode (OpenID Connect CIBA Core 1.0).
//!
//! The client asks the server to authenticate a person on another device (a call-centre agent
//! asks the customer's phone), then polls the token endpoint until they approve. The polling
//! rules are the device flow's, from the same code ([`flow`](crate::flow#polling-device-authorization-and-ciba)).
//!
//! ```text
//! BackchannelAuthenticationRequest ──Client::backchannel_authentication──▶ (POST, one shot)
//!                                                                            │ Done
//!          BackchannelAuthentication { auth_req_id, expires_in, interval } ◀┘
//!                     │ Client::ciba_token
//!                     ▼
//!          CibaTokenFlow: Wait ─▶ Send ─▶ authorization_pending / slow_down ─▶ ... ─▶ Done
//! ```
//!
//! The token response's ID token is validated before the flow is done (CIBA Core §10.2.1,
//! OpenID Connect Core §3.1.3.7 without the nonce, which CIBA does not send): signature with the
//! issuer's keys, `iss`, `aud`, `azp`, `exp`, `iat`, `at_hash`; a missing ID token is an error.
//! The client must know the issuer's JWK Set URL and issuer (a client built from metadata
//! does); [`CibaTokenFlow::insecure_skip_id_token_validation`] opts out by name.
//!
//! ```
//! // `testing::Driver` plays the server here; it needs grantline's `testing` feature.
//! use grantline::{Client, ciba::{BackchannelAuthenticationRequest, UserHint}, testing::Driver};
//! use grantline::discovery::ServerMetadata;
//! use grantline::jose::{self, Claims, JwkSet, JwsHeader, SigningKey};
//! use std::time::Duration;
//!
//! // What discovery finds (here by hand): the endpoints, the keys' URL, the ID token algorithm.
//! let mut metadata = ServerMetadata::default();
//! metadata.issuer = "https://as.example".into();
//! metadata.backchannel_authentication_endpoint = Some("https://as.example/bc-authorize".into());
//! metadata.token_endpoint = Some("https://as.example/token".into());
//! metadata.jwks_uri = Some("https://as.example/jwks".into());
//! metadata.id_token_signing_alg_values_supported = vec!["EdDSA".into()];
//! let client = Client::from_metadata("call-centre", &metadata).client_secret_basic("s").build()?;
//!
//! // The server's side: its key, and the ID token it will issue.
//! let key = SigningKey::from_jwk(r#"{"kty":"OKP","crv":"Ed25519","kid":"k1",
//!     "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
//!     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
//! let mut driver = Driver::new();
//! let now = driver.now().wall();
//! let claims = Claims::new().with("iss", "https://as.example").with("sub", "alice")
//!     .with("aud", "call-centre").with_time("iat", now).with_time("exp", now + Duration::from_secs(600));
//! let id_token = jose::sign(&key, JwsHeader::for_signer(&key), &claims.to_json())?;
//! let jwks = JwkSet::from(key.public_jwk().unwrap()).to_public_json().to_string();
//! let json = |status: u16, body: &str| {
//!     http::Response::builder().status(status).header("content-type", "application/json")
//!         .body(body.as_bytes().to_vec()).unwrap()
//! };
//! driver.push_reply(json(200, r#"{"auth_req_id":"1c266114","expires_in":120,"interval":2}"#));
//! driver.push_reply(json(400, r#"{"error":"slow_down"}"#));
//! driver.push_reply(json(200, &format!(r#"{{"access_token":"at","token_type":"Bearer","id_token":"{id_token}"}}"#)));
//! driver.push_reply(json(200, &jwks));
//!
//! let request = BackchannelAuthenticationRequest::new(UserHint::LoginHint("alice@example.com".into()))
//!     .binding_message("W4SCT");
//! let pending = driver.run(client.backchannel_authentication(request)?).unwrap();
//! let token = driver.run(client.ciba_token(pending)?).unwrap();
//! assert_eq!(token.id_token_claims().unwrap().subject(), "alice");
//! // The first poll after 2 s; after slow_down, 2 + 5 s.
//! assert_eq!(
//!     driver.transcript().waits().collect::<Vec<_>>(),
//!     [Duration::from_secs(2), Duration::from_secs(7)]
//! );
//! # Ok::<(), grantline::Error>(())
//! ```

use std::fmt;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::EndpointKind;
use crate::error::{ConfigError, Expired, InvalidResponse};
use crate::flow::{EndpointCall, OneShot, Params, one_shot_flow};
use crate::flow::{
    IdTokenCheck, Poller, PollingStatus, TokenExchange, interval_from, polling_flow,
};
use crate::response::{Object, field, success_object};
use crate::{Client, Error, Now, Scope};

/// The CIBA grant type (CIBA §10.1).
pub const GRANT_TYPE: &str = "urn:openid:params:grant-type:ciba";

/// Who is to be authenticated: exactly one hint is sent (CIBA §7.1).
///
/// ```
/// use grantline::ciba::UserHint;
/// let hint = UserHint::LoginHint("alice@example.com".into());
/// # let _ = hint;
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserHint {
    /// `login_hint`: an identifier the server knows the person by (email, phone, username).
    LoginHint(String),
    /// `login_hint_token`: a token identifying the person, in a format agreed with the server.
    LoginHintToken(String),
    /// `id_token_hint`: an ID token previously issued to the client for the person.
    IdTokenHint(String),
}

impl fmt::Debug for UserHint {
    /// Tokens are redacted; a plain login hint is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserHint::LoginHint(hint) => f.debug_tuple("LoginHint").field(hint).finish(),
            UserHint::LoginHintToken(_) => f.write_str("LoginHintToken([redacted])"),
            UserHint::IdTokenHint(_) => f.write_str("IdTokenHint([redacted])"),
        }
    }
}

/// A backchannel authentication request (CIBA §7.1).
///
/// `openid` is always part of the scope, as CIBA requires; it is added when missing.
///
/// ```
/// use grantline::ciba::{BackchannelAuthenticationRequest, UserHint};
/// use std::time::Duration;
///
/// let request = BackchannelAuthenticationRequest::new(UserHint::LoginHint("+15551234567".into()))
///     .scope("profile")
///     .binding_message("Transfer 100 EUR: code 4F2")
///     .requested_expiry(Duration::from_secs(300))
///     .acr_values("urn:example:mfa");
/// # let _ = request;
/// ```
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is given to Client::backchannel_authentication"]
pub struct BackchannelAuthenticationRequest {
    hint: UserHint,
    scope: Scope,
    binding_message: Option<String>,
    user_code: Option<String>,
    requested_expiry: Option<Duration>,
    acr_values: Option<String>,
    extra: Params,
}

impl BackchannelAuthenticationRequest {
    /// A request to authenticate the person `hint` names, with scope `openid`.
    ///
    /// ```
    /// use grantline::ciba::{BackchannelAuthenticationRequest, UserHint};
    /// let _ = BackchannelAuthenticationRequest::new(UserHint::IdTokenHint("eyJ...".into()));
    /// ```
    pub fn new(hint: UserHint) -> Self {
        Self {
            hint,
            scope: Scope::from("openid"),
            binding_message: None,
            user_code: None,
            requested_expiry: None,
            acr_values: None,
            extra: Params::new(),
        }
    }

    /// Sets the scope (`openid` is kept or added).
    ///
    /// ```
    /// # use grantline::ciba::{BackchannelAuthenticationRequest, UserHint};
    /// let _ = BackchannelAuthenticationRequest::new(UserHint::LoginHint("a".into())).scope("email");
    /// ```
    pub fn scope(mut self, scope: impl Into<Scope>) -> Self {
        let scope: Scope = scope.into();
        self.scope = std::iter::once("openid").chain(scope.iter()).collect();
        self
    }

    /// A short message shown on both devices, so the person can tell the request is theirs.
    ///
    /// ```
    /// # use grantline::ciba::{BackchannelAuthenticationRequest, UserHint};
    /// let _ = BackchannelAuthenticationRequest::new(UserHint::LoginHint("a".into())).binding_message("W4SCT");
    /// ```
    pub fn binding_message(mut self, message: impl Into<String>) -> Self {
        self.binding_message = Some(message.into());
        self
    }

    /// A secret code the person set up with the server, proving the request comes from them.
    ///
    /// ```
    /// # use grantline::ciba::{BackchannelAuthenticationRequest, UserHint};
    /// let _ = BackchannelAuthenticationRequest::new(UserHint::LoginHint("a".into())).user_code("1234");
    /// ```
    pub fn user_code(mut self, code: impl Into<String>) -> Self {
        self.user_code = Some(code.into());
        self
    }

    /// How long the client would like the request to stay valid (sent in whole seconds, at
    /// least 1).
    ///
    /// ```
    /// # use grantline::ciba::{BackchannelAuthenticationRequest, UserHint};
    /// let _ = BackchannelAuthenticationRequest::new(UserHint::LoginHint("a".into()))
    ///     .requested_expiry(std::time::Duration::from_secs(120));
    /// ```
    pub fn requested_expiry(mut self, expiry: Duration) -> Self {
        self.requested_expiry = Some(expiry);
        self
    }

    /// The requested Authentication Context Class Reference values, space-separated.
    ///
    /// ```
    /// # use grantline::ciba::{BackchannelAuthenticationRequest, UserHint};
    /// let _ = BackchannelAuthenticationRequest::new(UserHint::LoginHint("a".into())).acr_values("urn:mace:incommon:iap:silver");
    /// ```
    pub fn acr_values(mut self, values: impl Into<String>) -> Self {
        self.acr_values = Some(values.into());
        self
    }

    /// Adds any other parameter.
    ///
    /// ```
    /// # use grantline::ciba::{BackchannelAuthenticationRequest, UserHint};
    /// let _ = BackchannelAuthenticationRequest::new(UserHint::LoginHint("a".into())).param("claims", "{}");
    /// ```
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.push((name.into(), value.into()));
        self
    }

    fn params(&self) -> Result<Params, Error> {
        let mut params = vec![("scope".to_owned(), self.scope.to_string())];
        let (name, value) = match &self.hint {
            UserHint::LoginHint(v) => ("login_hint", v),
            UserHint::LoginHintToken(v) => ("login_hint_token", v),
            UserHint::IdTokenHint(v) => ("id_token_hint", v),
        };
        if value.is_empty() {
            return Err(ConfigError::InvalidParameter {
                name: name.to_owned(),
                reason: "it is empty",
            }
            .into());
        }
        params.push((name.to_owned(), value.clone()));
        let optional = [
            ("binding_message", self.binding_message.clone()),
            ("user_code", self.user_code.clone()),
            (
                "requested_expiry",
                self.requested_expiry
                    .map(|d| d.as_secs().max(1).to_string()),
            ),
            ("acr_values", self.acr_values.clone()),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                params.push((name.to_owned(), value));
            }
        }
        // The other hints are reserved too: exactly one may be sent.
        for hint in ["login_hint", "login_hint_token", "id_token_hint"] {
            if self.extra.iter().any(|(n, _)| n == hint) {
                return Err(ConfigError::ReservedParameter(hint.to_owned()).into());
            }
        }
        Ok(params)
    }
}

/// The server's acknowledgement of a backchannel authentication request (CIBA §7.3).
///
/// `Debug` hides `auth_req_id`, which the token endpoint exchanges for tokens.
#[derive(Clone, PartialEq)]
pub struct BackchannelAuthentication {
    auth_req_id: String,
    expires_in: Duration,
    received_at: Instant,
    interval: Duration,
    extra: Map<String, Value>,
}

impl fmt::Debug for BackchannelAuthentication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackchannelAuthentication")
            .field("auth_req_id", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl BackchannelAuthentication {
    /// Parses a backchannel authentication endpoint's response received at `now`.
    ///
    /// # Errors
    ///
    /// An OAuth error (`unknown_user_id`, `expired_login_hint_token`, ...), an unexpected
    /// answer, or [`Error::InvalidResponse`] when `auth_req_id` or `expires_in` is missing.
    ///
    /// ```
    /// use grantline::{Now, ciba::BackchannelAuthentication};
    /// let response = http::Response::new(br#"{"auth_req_id":"r1","expires_in":120}"#.to_vec());
    /// let pending = BackchannelAuthentication::from_response(&response, Now::system())?;
    /// assert_eq!(pending.interval(), std::time::Duration::from_secs(5));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn from_response(response: &http::Response<Vec<u8>>, now: Now) -> Result<Self, Error> {
        Ok(Self::from_object(success_object(response)?, now)?)
    }

    fn from_object(mut object: Object, now: Now) -> Result<Self, InvalidResponse> {
        let auth_req_id = field::required_string(&mut object, "auth_req_id")?;
        let expires_in = field::seconds(&mut object, "expires_in")?
            .map(crate::flow::lifetime_from)
            .ok_or(InvalidResponse::new("expires_in", "is missing"))?;
        let interval = interval_from(field::seconds(&mut object, "interval")?);
        Ok(Self {
            auth_req_id,
            expires_in,
            received_at: now.monotonic(),
            interval,
            extra: object,
        })
    }

    /// When the request expires (monotonic: the moment of receipt plus `expires_in`, at most
    /// [`MAX_POLLING_LIFETIME`](crate::flow::MAX_POLLING_LIFETIME)).
    ///
    /// ```
    /// # let now = grantline::Now::system();
    /// # let p = grantline::ciba::BackchannelAuthentication::from_response(&http::Response::new(br#"{"auth_req_id":"r","expires_in":120}"#.to_vec()), now).unwrap();
    /// assert_eq!(p.expires_at(), now.monotonic() + std::time::Duration::from_secs(120));
    /// ```
    #[must_use]
    pub fn expires_at(&self) -> Instant {
        self.received_at
            .checked_add(self.expires_in)
            .unwrap_or(self.received_at)
    }

    /// The polling interval (5 seconds when the server names none).
    ///
    /// ```
    /// # let p = grantline::ciba::BackchannelAuthentication::from_response(&http::Response::new(br#"{"auth_req_id":"r","expires_in":120,"interval":3}"#.to_vec()), grantline::Now::system()).unwrap();
    /// assert_eq!(p.interval(), std::time::Duration::from_secs(3));
    /// ```
    #[must_use]
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Every other field of the response, as sent.
    ///
    /// ```
    /// # let p = grantline::ciba::BackchannelAuthentication::from_response(&http::Response::new(br#"{"auth_req_id":"r","expires_in":120,"x":true}"#.to_vec()), grantline::Now::system()).unwrap();
    /// assert_eq!(p.extra()["x"], true);
    /// ```
    #[must_use]
    pub fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }
}

/// A flow that sends the backchannel authentication request. Made by
/// [`Client::backchannel_authentication`].
#[derive(Debug)]
pub struct BackchannelAuthenticationFlow(OneShot<BackchannelAuthentication>);

one_shot_flow!(BackchannelAuthenticationFlow, BackchannelAuthentication);

/// A flow that polls the token endpoint until the person approves (CIBA §7.3, poll mode), then
/// validates the ID token (CIBA §10.2.1; see the [module documentation](self)). Made by
/// [`Client::ciba_token`].
#[derive(Debug)]
pub struct CibaTokenFlow {
    inner: TokenExchange,
}

polling_flow!(CibaTokenFlow);

impl CibaTokenFlow {
    /// Where polling stands at `now`: interval, polls so far, time left.
    ///
    /// ```
    /// # let now = grantline::Now::system();
    /// # let client = grantline::Client::builder("c").token_endpoint("https://as/token").build().unwrap();
    /// # let p = grantline::ciba::BackchannelAuthentication::from_response(&http::Response::new(br#"{"auth_req_id":"r","expires_in":120}"#.to_vec()), now).unwrap();
    /// let flow = client.ciba_token(p)?;
    /// assert_eq!(flow.status(now).next_poll_in, std::time::Duration::from_secs(5));
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
    /// # let p = grantline::ciba::BackchannelAuthentication::from_response(&http::Response::new(br#"{"auth_req_id":"r","expires_in":120}"#.to_vec()), grantline::Now::system()).unwrap();
    /// // This client knows no JWK Set URL: without the opt-out, the first poll would be refused.
    /// let flow = client.ciba_token(p)?.insecure_skip_id_token_validation();
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
    /// A flow that sends a backchannel authentication request.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingEndpoint`] without a backchannel authentication endpoint;
    /// [`ConfigError::InvalidParameter`] for an empty hint; [`ConfigError::ReservedParameter`]
    /// for an extra parameter grantline sets (including a second hint).
    ///
    /// ```
    /// use grantline::ciba::{BackchannelAuthenticationRequest, UserHint};
    /// let client = grantline::Client::builder("c").build()?;
    /// let request = BackchannelAuthenticationRequest::new(UserHint::LoginHint("a".into()));
    /// assert!(client.backchannel_authentication(request).is_err());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn backchannel_authentication(
        &self,
        request: BackchannelAuthenticationRequest,
    ) -> Result<BackchannelAuthenticationFlow, Error> {
        let params = request.params()?;
        let call = EndpointCall::new(
            self,
            EndpointKind::BackchannelAuthentication,
            params,
            &request.extra,
        )?;
        Ok(BackchannelAuthenticationFlow(OneShot::new(
            call,
            BackchannelAuthentication::from_response,
        )))
    }

    /// A flow that polls the token endpoint for the tokens of `pending`, then validates the ID
    /// token.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingEndpoint`] without a token endpoint. The flow's first `next`
    /// refuses, before any request, a client that cannot validate the ID token:
    /// [`ConfigError::MissingEndpoint`] for the JWK Set URL, [`ConfigError::MissingIssuer`]
    /// (unless [`CibaTokenFlow::insecure_skip_id_token_validation`]).
    ///
    /// ```
    /// # let p = grantline::ciba::BackchannelAuthentication::from_response(&http::Response::new(br#"{"auth_req_id":"r","expires_in":120}"#.to_vec()), grantline::Now::system()).unwrap();
    /// let client = grantline::Client::builder("c").build()?;
    /// assert!(client.ciba_token(p).is_err());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn ciba_token(&self, pending: BackchannelAuthentication) -> Result<CibaTokenFlow, Error> {
        let params = vec![
            ("grant_type".to_owned(), GRANT_TYPE.to_owned()),
            ("auth_req_id".to_owned(), pending.auth_req_id.clone()),
        ];
        let call = EndpointCall::new(self, EndpointKind::Token, params, &[])?;
        let poller = Poller::new(
            call,
            Expired::BackchannelRequest,
            pending.received_at,
            pending.expires_at(),
            pending.interval,
        );
        #[cfg(feature = "jose")]
        let check = Some(IdTokenCheck::backchannel(self));
        #[cfg(not(feature = "jose"))]
        let check: Option<IdTokenCheck> = None;
        Ok(CibaTokenFlow {
            inner: TokenExchange::new(poller, check),
        })
    }
}
