//! Token introspection (RFC 7662).
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
use crate::flow::{EndpointCall, OneShot, one_shot_flow};
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
        Ok(IntrospectionFlow(OneShot::new(
            call,
            Introspection::from_response,
        )))
    }
}

/// A flow that sends one introspection request. Made by [`Client::introspect`].
#[derive(Debug)]
pub struct IntrospectionFlow(OneShot<Introspection>);

one_shot_flow!(IntrospectionFlow, Introspection);

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
}
