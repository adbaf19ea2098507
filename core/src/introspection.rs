//! Token introspection (RFC 7662), with JSON answers ([`Client::introspect`]) or signed JWT
//! answers verified with the issuer's keys (RFC 9701, [`Client::introspect_jwt`]).
//!
//! ```
//! use grantline::{Client, Flow, Now, Step, token::TargetToken};
//!
//! let client = Client::builder("resource-server")
//!     .introspection_endpoint("https://as.example/introspect")
//!     .client_secret_basic("s")
//!     .build()?;
//! let mut flow = client.introspect(TargetToken::new("opaque-token"))?;
//! let now = Now::system();
//! let Step::Send(_request) = flow.next(now)? else { unreachable!() };
//! let response = http::Response::new(br#"{"active":true,"sub":"alice","scope":"read","tenant":"t1"}"#.to_vec());
//! flow.handle_response(response, now)?;
//! let Step::Done(info) = flow.next(now)? else { unreachable!() };
//! assert!(info.active());
//! assert_eq!(info.sub(), Some("alice"));
//! assert_eq!(info.extra()["tenant"], "t1");
//! # Ok::<(), grantline::Error>(())
//! ```

use std::time::SystemTime;

use serde_json::{Map, Value};

use crate::EndpointKind;
use crate::error::InvalidResponse;
use crate::flow::{EndpointCall, OneShot};
use crate::response::{Object, field, success_object};
use crate::token::TargetToken;
use crate::{Client, Error, Now, Scope};

/// What the introspection endpoint said about a token (RFC 7662 §2.2).
///
/// Only [`active`](Self::active) is always present; every claim the server sent and grantline
/// does not model is in [`extra`](Self::extra).
///
/// ```
/// use grantline::{Now, introspection::Introspection};
/// let response = http::Response::new(br#"{"active":false}"#.to_vec());
/// let info = Introspection::from_response(&response, Now::system())?;
/// assert!(!info.active());
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct Introspection {
    active: bool,
    scope: Option<Scope>,
    client_id: Option<String>,
    username: Option<String>,
    token_type: Option<String>,
    exp: Option<SystemTime>,
    iat: Option<SystemTime>,
    nbf: Option<SystemTime>,
    sub: Option<String>,
    aud: Vec<String>,
    iss: Option<String>,
    jti: Option<String>,
    extra: Map<String, Value>,
}

/// Credential members of `extra` (a server echoing the token) are redacted.
impl std::fmt::Debug for Introspection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspection")
            .field("active", &self.active)
            .field("scope", &self.scope)
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("token_type", &self.token_type)
            .field("exp", &self.exp)
            .field("iat", &self.iat)
            .field("nbf", &self.nbf)
            .field("sub", &self.sub)
            .field("aud", &self.aud)
            .field("iss", &self.iss)
            .field("jti", &self.jti)
            .field("extra", &crate::error::redact_members(&self.extra))
            .finish()
    }
}

macro_rules! getter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        #[must_use]
        pub fn $name(&self) -> Option<$ty> {
            self.$name.as_deref()
        }
    };
}

impl Introspection {
    /// Reads an introspection endpoint's response.
    ///
    /// # Errors
    ///
    /// [`Error::OAuth`] or [`Error::UnexpectedResponse`] for an error answer, and
    /// [`Error::InvalidResponse`] when `active` is missing or a claim has the wrong type.
    ///
    /// ```
    /// use grantline::{Error, Now, introspection::Introspection};
    /// let response = http::Response::new(br#"{"sub":"alice"}"#.to_vec());
    /// let e = Introspection::from_response(&response, Now::system()).unwrap_err();
    /// assert!(matches!(e, Error::InvalidResponse(ref e) if e.field == "active"));
    /// ```
    pub fn from_response(response: &http::Response<Vec<u8>>, _now: Now) -> Result<Self, Error> {
        let object = success_object(response)?;
        Ok(Self::from_object(object)?)
    }

    fn from_object(mut object: Object) -> Result<Self, InvalidResponse> {
        let active = field::boolean(&mut object, "active")?
            .ok_or(InvalidResponse::new("active", "is missing"))?;
        let mut time = |name| {
            field::seconds(&mut object, name)
                .map(|secs| secs.and_then(|d| SystemTime::UNIX_EPOCH.checked_add(d)))
        };
        let exp = time("exp")?;
        let iat = time("iat")?;
        let nbf = time("nbf")?;
        Ok(Self {
            active,
            exp,
            iat,
            nbf,
            scope: field::scope(&mut object, "scope")?,
            client_id: field::string(&mut object, "client_id")?,
            username: field::string(&mut object, "username")?,
            token_type: field::string(&mut object, "token_type")?,
            sub: field::string(&mut object, "sub")?,
            aud: field::strings(&mut object, "aud")?,
            iss: field::string(&mut object, "iss")?,
            jti: field::string(&mut object, "jti")?,
            extra: object,
        })
    }

    /// Whether the token is active. An inactive token must be treated as invalid, whatever else
    /// the response says.
    ///
    /// ```
    /// # let info = grantline::introspection::Introspection::from_response(&http::Response::new(br#"{"active":true}"#.to_vec()), grantline::Now::system()).unwrap();
    /// assert!(info.active());
    /// ```
    #[must_use]
    pub fn active(&self) -> bool {
        self.active
    }

    /// The token's scope.
    ///
    /// ```
    /// # let info = grantline::introspection::Introspection::from_response(&http::Response::new(br#"{"active":true,"scope":"a b"}"#.to_vec()), grantline::Now::system()).unwrap();
    /// assert!(info.scope().unwrap().contains("b"));
    /// ```
    #[must_use]
    pub fn scope(&self) -> Option<&Scope> {
        self.scope.as_ref()
    }

    getter!(
        /// The client the token was issued to.
        ///
        /// ```
        /// # let info = grantline::introspection::Introspection::from_response(&http::Response::new(br#"{"active":true,"client_id":"c"}"#.to_vec()), grantline::Now::system()).unwrap();
        /// assert_eq!(info.client_id(), Some("c"));
        /// ```
        client_id: &str
    );
    getter!(
        /// A human-readable name of the resource owner.
        ///
        /// ```
        /// # let info = grantline::introspection::Introspection::from_response(&http::Response::new(br#"{"active":true}"#.to_vec()), grantline::Now::system()).unwrap();
        /// assert_eq!(info.username(), None);
        /// ```
        username: &str
    );
    getter!(
        /// The token's type (`Bearer`, `DPoP`, ...), as sent.
        ///
        /// ```
        /// # let info = grantline::introspection::Introspection::from_response(&http::Response::new(br#"{"active":true,"token_type":"Bearer"}"#.to_vec()), grantline::Now::system()).unwrap();
        /// assert_eq!(info.token_type(), Some("Bearer"));
        /// ```
        token_type: &str
    );
    getter!(
        /// The subject.
        ///
        /// ```
        /// # let info = grantline::introspection::Introspection::from_response(&http::Response::new(br#"{"active":true,"sub":"u"}"#.to_vec()), grantline::Now::system()).unwrap();
        /// assert_eq!(info.sub(), Some("u"));
        /// ```
        sub: &str
    );
    getter!(
        /// The issuer.
        ///
        /// ```
        /// # let info = grantline::introspection::Introspection::from_response(&http::Response::new(br#"{"active":true,"iss":"https://as"}"#.to_vec()), grantline::Now::system()).unwrap();
        /// assert_eq!(info.iss(), Some("https://as"));
        /// ```
        iss: &str
    );
    getter!(
        /// The token's identifier.
        ///
        /// ```
        /// # let info = grantline::introspection::Introspection::from_response(&http::Response::new(br#"{"active":true,"jti":"j"}"#.to_vec()), grantline::Now::system()).unwrap();
        /// assert_eq!(info.jti(), Some("j"));
        /// ```
        jti: &str
    );

    /// The audiences (one string or an array on the wire).
    ///
    /// ```
    /// # let info = grantline::introspection::Introspection::from_response(&http::Response::new(br#"{"active":true,"aud":"api"}"#.to_vec()), grantline::Now::system()).unwrap();
    /// assert_eq!(info.aud(), ["api"]);
    /// ```
    #[must_use]
    pub fn aud(&self) -> &[String] {
        &self.aud
    }

    /// When the token expires.
    ///
    /// ```
    /// # use std::time::{Duration, SystemTime};
    /// # let info = grantline::introspection::Introspection::from_response(&http::Response::new(br#"{"active":true,"exp":10}"#.to_vec()), grantline::Now::system()).unwrap();
    /// assert_eq!(info.exp(), Some(SystemTime::UNIX_EPOCH + Duration::from_secs(10)));
    /// ```
    #[must_use]
    pub fn exp(&self) -> Option<SystemTime> {
        self.exp
    }

    /// When the token was issued.
    ///
    /// ```
    /// # let info = grantline::introspection::Introspection::from_response(&http::Response::new(br#"{"active":true}"#.to_vec()), grantline::Now::system()).unwrap();
    /// assert_eq!(info.iat(), None);
    /// ```
    #[must_use]
    pub fn iat(&self) -> Option<SystemTime> {
        self.iat
    }

    /// When the token becomes valid.
    ///
    /// ```
    /// # let info = grantline::introspection::Introspection::from_response(&http::Response::new(br#"{"active":true}"#.to_vec()), grantline::Now::system()).unwrap();
    /// assert_eq!(info.nbf(), None);
    /// ```
    #[must_use]
    pub fn nbf(&self) -> Option<SystemTime> {
        self.nbf
    }

    /// Every other claim, as sent.
    ///
    /// ```
    /// # let info = grantline::introspection::Introspection::from_response(&http::Response::new(br#"{"active":true,"x":1}"#.to_vec()), grantline::Now::system()).unwrap();
    /// assert_eq!(info.extra()["x"], 1);
    /// ```
    #[must_use]
    pub fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }

    /// Whether the token is active, and not expired at `now` (the introspection answer may be
    /// cached by the caller).
    ///
    /// ```
    /// # use std::time::{Duration, SystemTime};
    /// # let info = grantline::introspection::Introspection::from_response(&http::Response::new(br#"{"active":true,"exp":10}"#.to_vec()), grantline::Now::system()).unwrap();
    /// assert!(info.is_valid_at(SystemTime::UNIX_EPOCH + Duration::from_secs(9)));
    /// assert!(!info.is_valid_at(SystemTime::UNIX_EPOCH + Duration::from_secs(10)));
    /// ```
    #[must_use]
    pub fn is_valid_at(&self, now: SystemTime) -> bool {
        self.active && self.exp.is_none_or(|exp| now < exp) && self.nbf.is_none_or(|nbf| now >= nbf)
    }
}

impl Client {
    /// A flow that asks the introspection endpoint about `token`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingEndpoint`](crate::error::ConfigError::MissingEndpoint) when the client
    /// has no introspection endpoint; [`ConfigError::ReservedParameter`](crate::error::ConfigError::ReservedParameter)
    /// for an extra parameter ([`TargetToken::param`](crate::token::TargetToken::param)) that
    /// grantline sets.
    ///
    /// ```
    /// let client = grantline::Client::builder("c").build()?;
    /// assert!(client.introspect(grantline::token::TargetToken::new("t")).is_err());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn introspect(&self, token: impl Into<TargetToken>) -> Result<IntrospectionFlow, Error> {
        let token = token.into();
        let call = EndpointCall::new(
            self,
            EndpointKind::Introspection,
            token.params(),
            token.extra(),
        )?;
        Ok(IntrospectionFlow(Inner::Json(OneShot::new(
            call,
            Introspection::from_response,
        ))))
    }
}

impl Client {
    /// A flow that asks the introspection endpoint about `token` for a signed answer (RFC 9701:
    /// `Accept: application/token-introspection+jwt`), and verifies it before it is done: the
    /// signature with the issuer's keys (the client's cache, as for ID tokens), under an allowed
    /// algorithm (those the metadata lists in `introspection_signing_alg_values_supported`,
    /// else RS256; PS256, ES256, EdDSA for a FAPI 2.0 client), `typ`
    /// `token-introspection+jwt`, `iss` the issuer, `aud` holding the client id, `iat` present,
    /// `exp` not past when present; then the `token_introspection` claim is read as
    /// [`Client::introspect`] reads a JSON answer.
    ///
    /// A JSON answer (a server that ignored the request for a signed one) is
    /// [`ValidationError::UnsignedResponse`](crate::error::ValidationError::UnsignedResponse);
    /// a JWT that fails a check is [`Error::Jose`] with the rule it broke.
    ///
    /// # Errors
    ///
    /// The errors of [`introspect`](Self::introspect), and
    /// [`ConfigError::MissingEndpoint`](crate::error::ConfigError::MissingEndpoint) without the
    /// issuer's JWK Set URL, [`ConfigError::MissingIssuer`](crate::error::ConfigError::MissingIssuer)
    /// without the issuer.
    ///
    /// ```
    /// // `testing::Driver` plays the server here; it needs grantline's `testing` feature.
    /// use grantline::{Client, Error, error::ValidationError, testing::Driver, token::TargetToken};
    /// let client = Client::builder("resource-server")
    ///     .issuer("https://as.example")
    ///     .jwks_uri("https://as.example/jwks")
    ///     .introspection_endpoint("https://as.example/introspect")
    ///     .client_secret_basic("s")
    ///     .build()?;
    /// let flow = client.introspect_jwt(TargetToken::new("opaque-token"))?;
    /// // A server that answers with plain JSON is refused.
    /// let mut driver = Driver::new().reply_json(200, r#"{"active":true}"#);
    /// let e = driver.run(flow).unwrap_err();
    /// assert!(matches!(e.flow_error(), Some(Error::Validation(ValidationError::UnsignedResponse(_)))));
    /// assert_eq!(
    ///     driver.transcript().requests().next().unwrap().headers()["accept"],
    ///     "application/token-introspection+jwt"
    /// );
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[cfg(feature = "jose")]
    pub fn introspect_jwt(
        &self,
        token: impl Into<TargetToken>,
    ) -> Result<IntrospectionFlow, Error> {
        let token = token.into();
        crate::flow::require_validation_setup(self, self.issuer())?;
        let call = EndpointCall::new(
            self,
            EndpointKind::Introspection,
            token.params(),
            token.extra(),
        )?
        .with_accept(jwt::MEDIA_TYPE);
        Ok(IntrospectionFlow(Inner::Jwt(jwt::JwtIntrospection::new(
            self.clone(),
            OneShot::new(call, jwt::read_answer),
        ))))
    }
}

/// A flow that sends one introspection request. Made by [`Client::introspect`], or by
/// [`Client::introspect_jwt`] for a signed answer, verified before the flow is done.
#[derive(Debug)]
pub struct IntrospectionFlow(Inner);

// One per flow, never in a collection: boxing the large variant would only add a pointer hop.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Inner {
    Json(OneShot<Introspection>),
    #[cfg(feature = "jose")]
    Jwt(jwt::JwtIntrospection),
}

impl crate::Flow for IntrospectionFlow {
    type Output = Introspection;

    fn next(&mut self, now: Now) -> Result<crate::Step<Introspection>, Error> {
        match &mut self.0 {
            Inner::Json(one_shot) => one_shot.next(now),
            #[cfg(feature = "jose")]
            Inner::Jwt(jwt) => jwt.next(now),
        }
    }

    fn handle_response(
        &mut self,
        response: http::Response<Vec<u8>>,
        now: Now,
    ) -> Result<(), Error> {
        match &mut self.0 {
            Inner::Json(one_shot) => one_shot.handle_response(&response, now),
            #[cfg(feature = "jose")]
            Inner::Jwt(jwt) => jwt.handle_response(response, now),
        }
    }
}

/// RFC 9701: the signed introspection answer.
#[cfg(feature = "jose")]
mod jwt {
    use super::Introspection;
    use crate::error::{ConfigError, JoseError, Misuse, ValidationError};
    use crate::flow::OneShot;
    use crate::jose::UnverifiedJws;
    use crate::oidc::{SignedAnswer, answer_algorithms};
    use crate::response::success_object;
    use crate::{Client, Error, Now, Step};

    /// The answer's media type (RFC 9701 §4), asked for with `Accept`.
    pub(super) const MEDIA_TYPE: &str = "application/token-introspection+jwt";

    /// The JWT's `typ` (RFC 9701 §5).
    const TYPE: &str = "token-introspection+jwt";

    /// The metadata member listing the algorithms the server signs answers with (RFC 9701 §7).
    const ALGORITHMS_MEMBER: &str = "introspection_signing_alg_values_supported";

    /// The answer's JWT, not yet verified: an error answer is the usual error; a JSON object
    /// where a JWT was asked for is refused.
    pub(super) fn read_answer(
        response: &http::Response<Vec<u8>>,
        _now: Now,
    ) -> Result<UnverifiedJws, Error> {
        if !response.status().is_success() {
            // The one reader of error answers.
            return Err(success_object(response).err().unwrap_or_else(|| {
                ValidationError::UnsignedResponse("introspection response").into()
            }));
        }
        let body = response.body().trim_ascii();
        if body.starts_with(b"{") {
            // A success: it may still be an OAuth error object; otherwise it is unsigned.
            return Err(success_object(response).err().unwrap_or_else(|| {
                ValidationError::UnsignedResponse("introspection response").into()
            }));
        }
        let text = std::str::from_utf8(body)
            .map_err(|_| JoseError::Malformed("the introspection answer is not text"))?;
        let jws = UnverifiedJws::parse(text)?;
        match jws.header().token_type() {
            Some(typ) if typ.eq_ignore_ascii_case(TYPE) || typ.eq_ignore_ascii_case(MEDIA_TYPE) => {
            }
            Some(typ) => {
                return Err(JoseError::UnexpectedType(crate::error::bounded(typ, 64)).into());
            }
            None => return Err(JoseError::UnexpectedType("(none)".to_owned()).into()),
        }
        Ok(jws)
    }

    /// The request, then the key set when needed, then the verified answer.
    #[derive(Debug)]
    pub(super) struct JwtIntrospection {
        client: Client,
        call: OneShot<UnverifiedJws>,
        answer: Option<SignedAnswer>,
        finished: bool,
    }

    impl JwtIntrospection {
        pub(super) fn new(client: Client, call: OneShot<UnverifiedJws>) -> Self {
            Self {
                client,
                call,
                answer: None,
                finished: false,
            }
        }

        pub(super) fn next(&mut self, now: Now) -> Result<Step<Introspection>, Error> {
            if self.finished {
                return Err(Misuse::AlreadyDone.into());
            }
            let Some(answer) = &mut self.answer else {
                return match self.call.next(now)? {
                    Step::Send(request) => Ok(Step::Send(request)),
                    Step::Wait(duration) => Ok(Step::Wait(duration)),
                    Step::Done(jws) => {
                        self.answer = Some(SignedAnswer::new(jws));
                        self.next(now)
                    }
                };
            };
            if let Some(step) = answer.next(&self.client, now)? {
                return Ok(step);
            }
            self.finished = true;
            let issuer = self.client.issuer().ok_or(ConfigError::MissingIssuer)?;
            let allowed = answer_algorithms(&self.client, ALGORITHMS_MEMBER);
            let claims = answer.verify(&self.client, &allowed, issuer, false, now.wall())?;
            if claims.get("iat").is_none() {
                return Err(JoseError::MissingClaim("iat").into());
            }
            let Some(serde_json::Value::Object(object)) =
                claims.into_map().remove("token_introspection")
            else {
                return Err(JoseError::MissingClaim("token_introspection").into());
            };
            Ok(Step::Done(Introspection::from_object(object)?))
        }

        pub(super) fn handle_response(
            &mut self,
            response: http::Response<Vec<u8>>,
            now: Now,
        ) -> Result<(), Error> {
            match &mut self.answer {
                Some(answer) => answer.handle_response(&self.client, response, now),
                None => self.call.handle_response(&response, now),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn parse(body: &str) -> Result<Introspection, Error> {
        Introspection::from_response(
            &http::Response::new(body.as_bytes().to_vec()),
            Now::system(),
        )
    }

    #[test]
    fn every_claim_is_read_and_others_kept() {
        let info = parse(
            r#"{"active":true,"scope":"read write","client_id":"c","username":"alice","token_type":"Bearer",
                "exp":2000,"iat":1000,"nbf":1000,"sub":"u1","aud":["a1","a2"],"iss":"https://as","jti":"j1","cnf":{"jkt":"x"}}"#,
        )
        .unwrap();
        assert!(info.active());
        assert_eq!(info.scope().unwrap().to_string(), "read write");
        assert_eq!(info.username(), Some("alice"));
        assert_eq!(info.aud(), ["a1", "a2"]);
        assert_eq!(
            info.exp(),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(2000))
        );
        assert_eq!(info.extra()["cnf"]["jkt"], "x");
        assert_eq!(info.extra().len(), 1);
    }

    #[test]
    fn active_is_required_and_typed() {
        assert!(matches!(parse("{}"), Err(Error::InvalidResponse(e)) if e.field == "active"));
        assert!(
            matches!(parse(r#"{"active":1}"#), Err(Error::InvalidResponse(e)) if e.field == "active")
        );
        assert!(parse(r#"{"active":"true"}"#).unwrap().active());
        assert!(
            matches!(parse(r#"{"active":true,"exp":"x"}"#), Err(Error::InvalidResponse(e)) if e.field == "exp")
        );
        assert!(
            matches!(parse(r#"{"active":true,"aud":[1]}"#), Err(Error::InvalidResponse(e)) if e.field == "aud")
        );
    }

    #[test]
    fn an_error_answer_is_an_error() {
        let response = http::Response::builder()
            .status(401)
            .body(br#"{"error":"invalid_client"}"#.to_vec())
            .unwrap();
        let e = Introspection::from_response(&response, Now::system()).unwrap_err();
        assert!(matches!(e, Error::OAuth(_)));
    }

    #[cfg(feature = "jose")]
    mod jwt {
        use super::*;
        use crate::error::{JoseError, ValidationError};
        use crate::jose::{self, Claims, JwkSet, JwsHeader, SigningKey};
        use crate::testing::Driver;

        fn key() -> SigningKey {
            SigningKey::from_jwk(
                r#"{"kty":"OKP","crv":"Ed25519","kid":"as-1",
                    "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
                    "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
            )
            .unwrap()
        }

        fn client() -> Client {
            let mut metadata = crate::discovery::ServerMetadata {
                issuer: "https://as.example".into(),
                jwks_uri: Some("https://as.example/jwks".into()),
                introspection_endpoint: Some("https://as.example/introspect".into()),
                ..Default::default()
            };
            metadata.extra.insert(
                "introspection_signing_alg_values_supported".into(),
                serde_json::json!(["EdDSA"]),
            );
            Client::from_metadata("rs", &metadata)
                .client_secret_basic("s")
                .build()
                .unwrap()
        }

        /// Runs a JWT introspection whose answer is `claims` signed with `typ`.
        fn run(typ: &str, claims: Claims) -> Result<Introspection, Error> {
            let key = key();
            let jwt = jose::sign(
                &key,
                JwsHeader::for_signer(&key).with_type(typ),
                &claims.to_json(),
            )
            .unwrap();
            let answer = http::Response::builder()
                .header("content-type", "application/token-introspection+jwt")
                .body(jwt.into_bytes())
                .unwrap();
            let keys = JwkSet::from(key.public_jwk().unwrap())
                .to_public_json()
                .to_string();
            let mut driver = Driver::new().reply(answer).reply_json(200, &keys);
            let flow = client().introspect_jwt(TargetToken::new("t")).unwrap();
            driver.run(flow).map_err(|e| match e.flow_error() {
                Some(Error::Jose(e)) => Error::Jose(e.clone()),
                Some(Error::Validation(e)) => Error::Validation(e.clone()),
                _ => panic!("{e}"),
            })
        }

        fn claims() -> Claims {
            Claims::new()
                .with("iss", "https://as.example")
                .with("aud", "rs")
                .with("iat", 1_700_000_000)
                .with(
                    "token_introspection",
                    serde_json::json!({"active": true, "sub": "alice", "cnf": {"jkt": "x"}}),
                )
        }

        #[test]
        fn a_signed_answer_is_verified_and_read_as_a_json_one() {
            let info = run("token-introspection+jwt", claims()).unwrap();
            assert!(info.active());
            assert_eq!(info.sub(), Some("alice"));
            assert_eq!(info.extra()["cnf"]["jkt"], "x");
        }

        #[test]
        fn a_bad_answer_is_refused() {
            assert!(matches!(
                run("JWT", claims()),
                Err(Error::Jose(JoseError::UnexpectedType(_)))
            ));
            assert!(matches!(
                run("token-introspection+jwt", claims().with("aud", "other")),
                Err(Error::Jose(JoseError::AudienceMismatch))
            ));
            assert!(matches!(
                run(
                    "token-introspection+jwt",
                    claims().with("iss", "https://evil.example")
                ),
                Err(Error::Jose(JoseError::IssuerMismatch { .. }))
            ));
            let mut map = claims().into_map();
            map.remove("token_introspection");
            assert!(matches!(
                run("token-introspection+jwt", Claims::from_map(map)),
                Err(Error::Jose(JoseError::MissingClaim("token_introspection")))
            ));
        }

        #[test]
        fn a_json_answer_is_unsigned_and_an_error_answer_is_the_error() {
            let mut driver = Driver::new().reply_json(200, r#"{"active":true}"#);
            let e = driver
                .run(client().introspect_jwt(TargetToken::new("t")).unwrap())
                .unwrap_err();
            assert!(matches!(
                e.flow_error(),
                Some(Error::Validation(ValidationError::UnsignedResponse(_)))
            ));
            let mut driver = Driver::new().reply_json(401, r#"{"error":"invalid_client"}"#);
            let e = driver
                .run(client().introspect_jwt(TargetToken::new("t")).unwrap())
                .unwrap_err();
            assert!(matches!(e.flow_error(), Some(Error::OAuth(_))));
        }
    }
}
