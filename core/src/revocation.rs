//! Token revocation (RFC 7009).
//!
//! Revocation endpoints rarely say much: any 2xx means the token is revoked (or was never
//! valid, which RFC 7009 §2.2 treats the same). An OAuth error (`unsupported_token_type`,
//! `invalid_client`, ...) is an [`Error::OAuth`]; an error status without one is
//! reported as [`RevocationOutcome::NotConfirmed`], since the token may or may not be revoked.
//!
//! ```
//! use grantline::{Client, Flow, Now, Step, secret::RefreshToken, revocation::RevocationOutcome};
//!
//! let client = Client::builder("c")
//!     .revocation_endpoint("https://as.example/revoke")
//!     .client_secret_basic("s")
//!     .build()?;
//! let mut flow = client.revoke(&RefreshToken::new("rt"))?;
//! let now = Now::system();
//! let Step::Send(request) = flow.next(now)? else { unreachable!() };
//! assert_eq!(request.body(), b"token=rt&token_type_hint=refresh_token");
//! flow.handle_response(http::Response::new(Vec::new()), now)?;
//! let Step::Done(outcome) = flow.next(now)? else { unreachable!() };
//! assert!(outcome.is_revoked());
//! # Ok::<(), grantline::Error>(())
//! ```

use crate::EndpointKind;
use crate::error::UnexpectedResponse;
use crate::flow::{EndpointCall, OneShot, one_shot_flow};
use crate::response::error_from;
use crate::token::TargetToken;
use crate::{Client, Error, Now};

/// What a revocation endpoint said.
///
/// ```
/// use grantline::revocation::RevocationOutcome;
/// assert!(RevocationOutcome::Revoked.is_revoked());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationOutcome {
    /// The server answered 2xx: the token is no longer valid.
    Revoked,
    /// The server answered an error status without an OAuth error: the token may still be
    /// valid. Holds what the server sent.
    NotConfirmed(Box<UnexpectedResponse>),
}

impl RevocationOutcome {
    /// Whether the server confirmed the revocation.
    ///
    /// ```
    /// assert!(grantline::revocation::RevocationOutcome::Revoked.is_revoked());
    /// ```
    #[must_use]
    pub fn is_revoked(&self) -> bool {
        matches!(self, RevocationOutcome::Revoked)
    }

    /// Reads a revocation endpoint's response.
    ///
    /// # Errors
    ///
    /// [`Error::OAuth`] when the server answered with an OAuth error object, and
    /// [`Error::UnexpectedResponse`] for a redirect.
    ///
    /// ```
    /// use grantline::{Now, revocation::RevocationOutcome};
    /// let response = http::Response::builder().status(503).body(Vec::new()).unwrap();
    /// let outcome = RevocationOutcome::from_response(&response, Now::system()).unwrap();
    /// assert!(!outcome.is_revoked());
    /// ```
    pub fn from_response(response: &http::Response<Vec<u8>>, _now: Now) -> Result<Self, Error> {
        let status = response.status();
        if status.is_success() {
            return Ok(RevocationOutcome::Revoked);
        }
        if status.is_redirection() || status.is_informational() {
            return Err(UnexpectedResponse::from_response(
                response,
                "the server answered with a redirect or an interim status, not a final answer",
            )
            .into());
        }
        match error_from(response) {
            Error::UnexpectedResponse(unexpected) => {
                Ok(RevocationOutcome::NotConfirmed(unexpected))
            }
            other => Err(other),
        }
    }
}

impl Client {
    /// A flow that asks the revocation endpoint to revoke `token`.
    ///
    /// Takes an [`AccessToken`](crate::secret::AccessToken) or
    /// [`RefreshToken`](crate::secret::RefreshToken) (the hint is set for you) or a
    /// [`TargetToken`].
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingEndpoint`](crate::error::ConfigError::MissingEndpoint) when the client
    /// has no revocation endpoint; [`ConfigError::ReservedParameter`](crate::error::ConfigError::ReservedParameter)
    /// for an extra parameter ([`TargetToken::param`]) that grantline sets.
    ///
    /// ```
    /// use grantline::token::TargetToken;
    /// let client = grantline::Client::builder("c").build()?;
    /// assert!(client.revoke(TargetToken::new("t")).is_err());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn revoke(&self, token: impl Into<TargetToken>) -> Result<RevocationFlow, Error> {
        let token = token.into();
        let call = EndpointCall::new(
            self,
            EndpointKind::Revocation,
            token.params(),
            token.extra(),
        )?;
        Ok(RevocationFlow(OneShot::new(
            call,
            RevocationOutcome::from_response,
        )))
    }
}

/// A flow that sends one revocation request. Made by [`Client::revoke`].
#[derive(Debug)]
pub struct RevocationFlow(OneShot<RevocationOutcome>);

one_shot_flow!(RevocationFlow, RevocationOutcome);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn outcome(status: u16, body: &str) -> Result<RevocationOutcome, Error> {
        let response = http::Response::builder()
            .status(status)
            .body(body.as_bytes().to_vec())
            .unwrap();
        RevocationOutcome::from_response(&response, Now::system())
    }

    #[test]
    fn any_success_is_revoked() {
        assert!(outcome(200, "").unwrap().is_revoked());
        assert!(outcome(204, "").unwrap().is_revoked());
        assert!(outcome(200, "<html>ok</html>").unwrap().is_revoked());
    }

    #[test]
    fn a_standard_error_is_an_error() {
        let e = outcome(400, r#"{"error":"unsupported_token_type"}"#).unwrap_err();
        assert_eq!(e.oauth_code(), Some(&ErrorCode::UnsupportedTokenType));
        let e = outcome(401, r#"{"error":"invalid_client"}"#).unwrap_err();
        assert_eq!(e.oauth_code(), Some(&ErrorCode::InvalidClient));
    }

    #[test]
    fn an_error_status_without_an_oauth_error_is_not_confirmed() {
        let RevocationOutcome::NotConfirmed(details) = outcome(503, "busy").unwrap() else {
            panic!()
        };
        assert_eq!(details.status, 503);
        assert!(matches!(
            outcome(302, ""),
            Err(Error::UnexpectedResponse(_))
        ));
    }
}
