//! The UserInfo endpoint (OpenID Connect Core §5.3): a flow that asks it about the user.

use std::fmt;

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method};
use serde_json::{Map, Value};
use url::Url;

use crate::EndpointKind;
use crate::error::{
    ConfigError, ErrorCode, JoseError, Misuse, OAuthError, ResponseHeaders, UnexpectedResponse,
};
use crate::flow::{Flow, Step};
use crate::response::success_object;
use crate::secret::AccessToken;
use crate::{Client, Error, Now};

#[cfg(feature = "jose")]
use crate::jose::{JwkSet, UnverifiedJws};
#[cfg(feature = "jose")]
use crate::oidc::IdTokenValidator;

/// The claims the UserInfo endpoint returned about the user.
///
/// `Debug` shows the subject and claim names, not the other values (they are personal data).
///
/// ```
/// # fn f(info: &grantline::oidc::Userinfo) {
/// let email = info.get("email").and_then(|v| v.as_str());
/// # let _ = (info.subject(), email); }
/// ```
#[derive(Clone, PartialEq)]
pub struct Userinfo {
    subject: String,
    claims: Map<String, Value>,
    signed: bool,
}

impl fmt::Debug for Userinfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Userinfo")
            .field("sub", &self.subject)
            .field("claims", &self.claims.keys().collect::<Vec<_>>())
            .field("signed", &self.signed)
            .finish()
    }
}

impl Userinfo {
    /// `sub`: the user (equal to the ID token's `sub` when the flow was told to check it).
    ///
    /// ```
    /// # fn f(info: &grantline::oidc::Userinfo) -> &str { info.subject() }
    /// ```
    #[must_use]
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// One claim, as sent.
    ///
    /// ```
    /// # fn f(info: &grantline::oidc::Userinfo) -> Option<&serde_json::Value> { info.get("name") }
    /// ```
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }

    /// Every claim, as sent (`sub` included).
    ///
    /// ```
    /// # fn f(info: &grantline::oidc::Userinfo) -> usize { info.claims().len() }
    /// ```
    #[must_use]
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// Whether the answer was a signed JWT (verified) rather than plain JSON.
    ///
    /// ```
    /// # fn f(info: &grantline::oidc::Userinfo) -> bool { info.is_signed() }
    /// ```
    #[must_use]
    pub fn is_signed(&self) -> bool {
        self.signed
    }
}

/// How a signed (`application/jwt`) answer is verified.
#[cfg(feature = "jose")]
#[derive(Debug, Clone)]
struct SignedResponse {
    validator: IdTokenValidator,
    keys: JwkSet,
}

/// A flow that asks the UserInfo endpoint about the user an access token was issued for:
/// `GET` with `Authorization: Bearer` (or, for a DPoP-bound token made by
/// [`for_token`](Self::for_token), `Authorization: DPoP` and a fresh proof with `ath`),
/// answered by a JSON object or (when the client registered `userinfo_signed_response_alg`) a
/// signed JWT.
///
/// ```text
/// next ──▶ Send(GET userinfo, Bearer | DPoP + proof) ── handle_response ──▶ next ──▶ Done(Userinfo)
///                     401 DPoP error="use_dpop_nonce" (once) ──▶ next ──▶ Send(again, with the nonce)
///                     401 + WWW-Authenticate error ──▶ Err(OAuth invalid_token)
/// ```
///
/// ```
/// // `testing::Driver` plays the server here; it needs grantline's `testing` feature.
/// use grantline::{Client, EndpointKind, oidc::UserinfoFlow, secret::AccessToken, testing::Driver};
///
/// let client = Client::builder("my-client")
///     .endpoint(EndpointKind::Userinfo, "https://op.example/userinfo")
///     .build()?;
/// let flow = UserinfoFlow::new(&client, &AccessToken::new("at"))?.expect_subject("alice");
/// let mut driver = Driver::new().reply_json(200, r#"{"sub":"alice","email":"alice@example.com"}"#);
/// let info = driver.run(flow).unwrap();
/// assert_eq!(info.get("email").unwrap(), "alice@example.com");
/// let request = driver.transcript().requests().next().unwrap();
/// assert_eq!(request.headers()["authorization"], "Bearer at");
/// # Ok::<(), grantline::Error>(())
/// ```
pub struct UserinfoFlow {
    url: Url,
    access_token: AccessToken,
    /// `Bearer <token>` or `DPoP <token>`, marked sensitive.
    authorization: HeaderValue,
    /// The proofs of a DPoP-bound token.
    #[cfg(feature = "jose")]
    proofs: Option<crate::token_manager::DpopProofs>,
    #[cfg(feature = "jose")]
    nonce_retried: bool,
    expected_subject: Option<String>,
    #[cfg(feature = "jose")]
    signed: Option<SignedResponse>,
    state: State,
}

enum State {
    Ready { awaiting: bool },
    Finished(Box<Userinfo>),
    Done,
    Failed,
}

impl fmt::Debug for UserinfoFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserinfoFlow")
            .field("url", &self.url.as_str())
            .field("access_token", &self.access_token)
            .field("expected_subject", &self.expected_subject)
            .finish_non_exhaustive()
    }
}

impl UserinfoFlow {
    /// A request to the client's UserInfo endpoint (set by hand or from metadata) with
    /// `access_token` as a `Bearer` token. For a DPoP-bound token, use
    /// [`for_token`](Self::for_token).
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingEndpoint`] when the client has no UserInfo endpoint.
    ///
    /// ```
    /// use grantline::{Client, oidc::UserinfoFlow, secret::AccessToken};
    /// let client = Client::builder("c").build()?;
    /// assert!(UserinfoFlow::new(&client, &AccessToken::new("at")).is_err());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn new(client: &Client, access_token: &AccessToken) -> Result<Self, Error> {
        let token = crate::TokenResponse::new(access_token.clone(), crate::TokenType::Bearer);
        Self::with_header(client, &token, false)
    }

    /// A request to the client's UserInfo endpoint with `token`, as its type says: a `Bearer`
    /// token as [`new`](Self::new) sends it; a `DPoP` token (RFC 9449 §7) with
    /// `Authorization: DPoP` and a proof by the client's DPoP key for each request (`ath`, the
    /// server's last nonce), sent once more on `401` `use_dpop_nonce` with the nonce it gave.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingEndpoint`] without a UserInfo endpoint;
    /// [`Error::InvalidResponse`] (`token_type`) for a `DPoP` token when the client has no DPoP
    /// key, or a token of another type.
    ///
    /// ```
    /// use grantline::{Client, EndpointKind, TokenResponse, TokenType, oidc::UserinfoFlow, testing::Driver};
    /// use grantline::{dpop::DpopKey, jose::Algorithm};
    ///
    /// let client = Client::builder("my-client")
    ///     .endpoint(EndpointKind::Userinfo, "https://op.example/userinfo")
    ///     .dpop(DpopKey::generate(Algorithm::ES256)?)
    ///     .build()?;
    /// let token = TokenResponse::new("at".into(), TokenType::DPoP);
    /// let nonce_please = http::Response::builder().status(401)
    ///     .header("www-authenticate", r#"DPoP error="use_dpop_nonce""#).header("dpop-nonce", "n-1")
    ///     .body(Vec::new()).unwrap();
    /// let mut driver = Driver::new().reply(nonce_please).reply_json(200, r#"{"sub":"alice"}"#);
    /// let info = driver.run(UserinfoFlow::for_token(&client, &token)?)?;
    /// assert_eq!(info.subject(), "alice");
    /// let sent: Vec<_> = driver.transcript().requests().collect();
    /// assert_eq!(sent.len(), 2);
    /// assert_eq!(sent[1].headers()["authorization"], "DPoP at");
    /// assert!(sent.iter().all(|r| r.headers().contains_key("dpop")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn for_token(client: &Client, token: &crate::TokenResponse) -> Result<Self, Error> {
        let dpop = cfg!(feature = "jose") && client.dpop_key_present();
        Self::with_header(client, token, dpop)
    }

    fn with_header(
        client: &Client,
        token: &crate::TokenResponse,
        dpop: bool,
    ) -> Result<Self, Error> {
        let url = client
            .endpoint(EndpointKind::Userinfo)
            .ok_or(ConfigError::MissingEndpoint(EndpointKind::Userinfo))?
            .clone();
        let authorization = crate::token_manager::authorization_header(token, dpop)?;
        Ok(Self {
            url,
            access_token: token.access_token().clone(),
            #[cfg(feature = "jose")]
            proofs: if crate::token_manager::is_dpop(&authorization) {
                crate::token_manager::DpopProofs::of(client)
            } else {
                None
            },
            authorization,
            #[cfg(feature = "jose")]
            nonce_retried: false,
            expected_subject: None,
            #[cfg(feature = "jose")]
            signed: None,
            state: State::Ready { awaiting: false },
        })
    }

    /// Requires the answer's `sub` to be `subject`, the ID token's `sub` (Core §5.3.2: a
    /// different `sub` means the answer must not be used).
    ///
    /// ```
    /// # use grantline::{Client, EndpointKind, oidc::UserinfoFlow, secret::AccessToken};
    /// # let client = Client::builder("c").endpoint(EndpointKind::Userinfo, "https://op.example/ui").build()?;
    /// let flow = UserinfoFlow::new(&client, &AccessToken::new("at"))?.expect_subject("alice");
    /// # let _ = flow;
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn expect_subject(mut self, subject: impl Into<String>) -> Self {
        self.expected_subject = Some(subject.into());
        self
    }

    /// Accepts a signed JWT answer, verified with `keys` under the validator's algorithms; its
    /// `iss` must be the validator's issuer and its `aud` must hold the client id (Core
    /// §5.3.2). Without this, a JWT answer is an error.
    ///
    /// ```
    /// # use grantline::{Client, EndpointKind, jose::JwkSet, oidc::{IdTokenValidator, UserinfoFlow}, secret::AccessToken};
    /// # let client = Client::builder("c").endpoint(EndpointKind::Userinfo, "https://op.example/ui").build()?;
    /// let validator = IdTokenValidator::new("https://op.example", "c");
    /// let flow = UserinfoFlow::new(&client, &AccessToken::new("at"))?
    ///     .accept_signed(&validator, JwkSet::default());
    /// # let _ = flow;
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[cfg(feature = "jose")]
    #[must_use]
    pub fn accept_signed(mut self, validator: &IdTokenValidator, keys: JwkSet) -> Self {
        self.signed = Some(SignedResponse {
            validator: validator.clone(),
            keys,
        });
        self
    }

    fn build(&self, now: Now) -> Result<http::Request<Vec<u8>>, Error> {
        let accept = if cfg!(feature = "jose") {
            "application/json, application/jwt"
        } else {
            "application/json"
        };
        #[cfg_attr(not(feature = "jose"), allow(unused_mut))]
        let mut builder = http::Request::builder()
            .method(Method::GET)
            .uri(self.url.as_str())
            .header(AUTHORIZATION, self.authorization.clone())
            .header(ACCEPT, HeaderValue::from_static(accept));
        #[cfg(feature = "jose")]
        if let Some(proofs) = &self.proofs {
            if let Some(proof) = proofs.proof(&self.authorization, "GET", self.url.as_str(), now)? {
                builder = builder.header("dpop", proof);
            }
        }
        let _ = now;
        builder.body(Vec::new()).map_err(|_| {
            ConfigError::InvalidEndpoint {
                kind: EndpointKind::Userinfo,
                reason: "it cannot be used as an HTTP request URI",
            }
            .into()
        })
    }

    fn parse(&self, response: &http::Response<Vec<u8>>) -> Result<Userinfo, Error> {
        if let Some(error) = bearer_error(response) {
            return Err(error.into());
        }
        let (claims, signed) = if is_jwt(response) {
            (self.parse_signed(response)?, true)
        } else {
            (success_object(response)?, false)
        };
        let subject = match claims.get("sub") {
            Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
            _ => return Err(JoseError::MissingClaim("sub").into()),
        };
        if self
            .expected_subject
            .as_ref()
            .is_some_and(|expected| *expected != subject)
        {
            return Err(JoseError::SubjectMismatch.into());
        }
        Ok(Userinfo {
            subject,
            claims,
            signed,
        })
    }

    #[cfg(feature = "jose")]
    fn parse_signed(
        &self,
        response: &http::Response<Vec<u8>>,
    ) -> Result<Map<String, Value>, Error> {
        let Some(signed) = &self.signed else {
            return Err(not_configured(response));
        };
        if !response.status().is_success() {
            return Err(crate::response::error_from(response));
        }
        let text = std::str::from_utf8(response.body())
            .map_err(|_| JoseError::Malformed("the signed userinfo answer is not text"))?;
        let verified = UnverifiedJws::parse(text.trim())?
            .verify(&signed.keys, signed.validator.allowed_algorithms())?;
        let claims = verified.claims()?;
        match claims.issuer() {
            None => return Err(JoseError::MissingClaim("iss").into()),
            Some(iss) if iss != signed.validator.expected_issuer() => {
                return Err(JoseError::IssuerMismatch {
                    found: crate::error::bounded(iss, 512),
                }
                .into());
            }
            Some(_) => {}
        }
        let audience = claims.audience()?;
        if audience.is_empty() {
            return Err(JoseError::MissingClaim("aud").into());
        }
        if !audience.contains(&signed.validator.expected_client_id()) {
            return Err(JoseError::AudienceMismatch.into());
        }
        Ok(claims.into_map())
    }

    #[cfg(not(feature = "jose"))]
    fn parse_signed(
        &self,
        response: &http::Response<Vec<u8>>,
    ) -> Result<Map<String, Value>, Error> {
        Err(not_configured(response))
    }
}

fn not_configured(response: &http::Response<Vec<u8>>) -> Error {
    UnexpectedResponse::from_response(
        response,
        "the userinfo answer is a signed JWT, but the flow was not given keys to verify it (accept_signed, with the jose feature)",
    )
    .into()
}

/// Whether the answer says it is a JWT (`application/jwt`).
fn is_jwt(response: &http::Response<Vec<u8>>) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/jwt"))
}

/// The error of a Bearer (RFC 6750 §3) or DPoP (RFC 9449 §7.1) challenge on an error status,
/// if there is one.
fn bearer_error(response: &http::Response<Vec<u8>>) -> Option<OAuthError> {
    if response.status().is_success() {
        return None;
    }
    let headers = response.headers();
    let challenge = headers
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(crate::www_authenticate::parse)
        .find(|c| (c.is_scheme("Bearer") || c.is_scheme("DPoP")) && c.param("error").is_some())?;
    Some(OAuthError {
        code: ErrorCode::from(challenge.param("error")?),
        description: challenge.param("error_description").map(str::to_owned),
        uri: challenge.param("error_uri").map(str::to_owned),
        status: response.status(),
        headers: ResponseHeaders::from_headers(headers),
        extra: Map::new(),
    })
}

impl Flow for UserinfoFlow {
    type Output = Userinfo;

    fn next(&mut self, now: Now) -> Result<Step<Userinfo>, Error> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Ready { awaiting } => match self.build(now) {
                Ok(request) => {
                    self.state = State::Ready { awaiting: true };
                    Ok(Step::Send(request))
                }
                Err(e) => {
                    self.state = State::Ready { awaiting };
                    Err(e)
                }
            },
            State::Finished(info) => Ok(Step::Done(*info)),
            State::Done => Err(Misuse::AlreadyDone.into()),
            State::Failed => {
                self.state = State::Failed;
                Err(Misuse::AlreadyFailed.into())
            }
        }
    }

    fn handle_response(
        &mut self,
        response: http::Response<Vec<u8>>,
        now: Now,
    ) -> Result<(), Error> {
        let _ = now;
        if !matches!(self.state, State::Ready { awaiting: true }) {
            return Err(Misuse::UnexpectedResponse.into());
        }
        #[cfg(feature = "jose")]
        if let Some(proofs) = &self.proofs {
            // The resource server's nonce, for this proof and the next; one resend when asked.
            proofs.remember_nonce(self.url.as_str(), response.headers());
            let resend = crate::token_manager::resend_reason(response.status(), response.headers());
            if resend == Some(crate::token_manager::Resend::UseDpopNonce) && !self.nonce_retried {
                self.nonce_retried = true;
                self.state = State::Ready { awaiting: false };
                return Ok(());
            }
        }
        match self.parse(&response) {
            Ok(info) => {
                self.state = State::Finished(Box::new(info));
                Ok(())
            }
            Err(e) => {
                self.state = State::Failed;
                Err(e)
            }
        }
    }
}
