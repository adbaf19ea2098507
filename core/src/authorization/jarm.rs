//! JWT-secured authorization responses (JARM, OpenID Foundation "JWT Secured Authorization
//! Response Mode for OAuth 2.0"): the callback carries one `response` JWT, signed by the issuer,
//! whose claims are the response's parameters.
//!
//! The JWT is verified (signature with the issuer's keys from the client's cache, `iss`, `aud`,
//! `exp`), then unwrapped into the response parameters, which go through the same checks as a
//! plain callback (`state`, `iss`, an error, the `code`): one callback parser, one set of checks.

use super::callback::{Callback, CallbackParams};
use super::exchange::AuthorizationCode;
use super::pending::PendingAuthorization;
use crate::error::{ConfigError, Misuse, ValidationError};
use crate::jose::UnverifiedJws;
use crate::oidc::{SignedAnswer, answer_algorithms};
use crate::{Client, Error, Flow, Now, Step};

/// The metadata member listing the algorithms the server signs JARM responses with.
const ALGORITHMS_MEMBER: &str = "authorization_signing_alg_values_supported";

impl Client {
    /// A flow that checks the authorization response in `callback` and yields the code to
    /// exchange: for a plain response, the checks of
    /// [`PendingAuthorization::validate_callback`] (the flow is done at once); for a
    /// JWT-secured one (JARM, [`PendingAuthorization::expects_jarm`]), first the JWT, with the
    /// issuer's keys (fetched into the client's cache when it has none, when they are stale, or
    /// when the JWT names a key it does not have: the cache ID tokens use), then the same checks
    /// on the parameters the JWT carried.
    ///
    /// | check | error |
    /// | --- | --- |
    /// | the callback carries a `response` JWT, and no `code`, `state` or `error` beside it | [`ValidationError::UnsignedResponse`], [`ValidationError::MalformedCallback`] |
    /// | the signature, with the issuer's keys, under an allowed algorithm (those the metadata lists in `authorization_signing_alg_values_supported`, else RS256; PS256, ES256, EdDSA for a FAPI 2.0 client), never `none` | [`JoseError::InvalidSignature`], [`JoseError::AlgorithmNotAllowed`], [`JoseError::Unsecured`], [`JoseError::NoMatchingKey`] |
    /// | `iss` is the issuer | [`JoseError::IssuerMismatch`] |
    /// | `aud` holds the client id | [`JoseError::AudienceMismatch`] |
    /// | `exp` is present and not past (60 seconds of clock skew) | [`JoseError::Expired`], [`JoseError::MissingClaim`] |
    /// | `state`, `iss`, `error`, `code` inside the JWT | as [`PendingAuthorization::validate_callback`] |
    ///
    /// [`JoseError::InvalidSignature`]: crate::error::JoseError::InvalidSignature
    /// [`JoseError::AlgorithmNotAllowed`]: crate::error::JoseError::AlgorithmNotAllowed
    /// [`JoseError::Unsecured`]: crate::error::JoseError::Unsecured
    /// [`JoseError::NoMatchingKey`]: crate::error::JoseError::NoMatchingKey
    /// [`JoseError::IssuerMismatch`]: crate::error::JoseError::IssuerMismatch
    /// [`JoseError::AudienceMismatch`]: crate::error::JoseError::AudienceMismatch
    /// [`JoseError::Expired`]: crate::error::JoseError::Expired
    /// [`JoseError::MissingClaim`]: crate::error::JoseError::MissingClaim
    ///
    /// An encrypted response (a JWE, JARM §2.2) is refused as
    /// [`JoseError::Malformed`](crate::error::JoseError::Malformed): grantline does not decrypt.
    ///
    /// # Errors
    ///
    /// What can be told without the keys fails here already: a plain response's failed check,
    /// a JWT-secured response that is missing or not a well-formed JWS, an `iss` beside it that
    /// is not the issuer, a pending authorization of another client
    /// ([`ConfigError::InvalidParameter`]); the rest fails from the flow.
    ///
    /// ```
    /// // `testing::Driver` plays the server here; it needs grantline's `testing` feature.
    /// use grantline::{Client, discovery::ServerMetadata, jose::{self, Claims, JwkSet, JwsHeader, SigningKey}, testing::Driver};
    ///
    /// let mut metadata = ServerMetadata::default();
    /// metadata.issuer = "https://as.example".into();
    /// metadata.jwks_uri = Some("https://as.example/jwks".into());
    /// metadata.authorization_endpoint = Some("https://as.example/authorize".into());
    /// metadata.token_endpoint = Some("https://as.example/token".into());
    /// metadata.extra.insert("authorization_signing_alg_values_supported".into(), serde_json::json!(["EdDSA"]));
    /// let client = Client::from_metadata("app", &metadata)
    ///     .redirect_uri("https://app.example/cb")
    ///     .jarm()
    ///     .build()?;
    /// let (_url, pending) = client.authorization_request().into_redirect()?;
    ///
    /// // The server's side, for the example: the response, signed with its key.
    /// let key = SigningKey::from_jwk(r#"{"kty":"OKP","crv":"Ed25519","kid":"as-1",
    ///     "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    ///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
    /// let now = grantline::Now::system().wall();
    /// let claims = Claims::new()
    ///     .with("iss", "https://as.example").with("aud", "app")
    ///     .with_time("exp", now + std::time::Duration::from_secs(60))
    ///     .with("code", "c-1").with("state", pending.state());
    /// let jwt = jose::sign(&key, JwsHeader::for_signer(&key), &claims.to_json())?;
    /// let keys = JwkSet::from(key.public_jwk().unwrap()).to_public_json().to_string();
    ///
    /// // The client's side: the browser came back with ?response=<JWT>.
    /// let flow = client.verify_callback(pending, format!("https://app.example/cb?response={jwt}"))?;
    /// let mut driver = Driver::new().reply_json(200, &keys); // the issuer's keys, fetched once
    /// let code = driver.run(flow).unwrap();
    /// assert_eq!(code.issuer(), Some("https://as.example"));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn verify_callback(
        &self,
        pending: PendingAuthorization,
        callback: impl Into<Callback>,
    ) -> Result<CallbackVerification, Error> {
        if pending.client_id() != self.client_id() {
            return Err(ConfigError::InvalidParameter {
                name: "client_id".to_owned(),
                reason: "the authorization request was made for another client",
            }
            .into());
        }
        if !pending.expects_jarm() {
            let code = pending.validate_callback(callback)?;
            return Ok(CallbackVerification {
                client: self.clone(),
                state: State::Plain(Some(code)),
            });
        }
        let callback = callback.into();
        let (response, outer_iss) = callback
            .parameters(pending.redirect_uri_url())?
            .jarm_response()?;
        let issuer = pending.issuer().ok_or(ConfigError::MissingIssuer)?;
        if let Some(received) = outer_iss {
            // RFC 9207 §2.4: an `iss` beside the JWT is checked too.
            if received != issuer {
                return Err(ValidationError::IssuerParameterMismatch {
                    expected: issuer.to_owned(),
                    received,
                }
                .into());
            }
        }
        let jws = UnverifiedJws::parse(&response)?;
        Ok(CallbackVerification {
            client: self.clone(),
            state: State::Jarm {
                pending: Some(pending),
                answer: SignedAnswer::new(jws),
            },
        })
    }
}

/// The flow [`Client::verify_callback`] returns: checks an authorization response, fetching
/// the issuer's keys first when a JWT-secured one needs them; its output is the code to
/// exchange.
///
/// ```text
///   plain response ─────────────────────────────────────────────▶ Done(code)
///   JARM: next ──(keys fit and fresh)──▶ verify JWT, then the callback checks ─▶ Done(code) | Err
///           └─(no keys / stale / unknown kid)──▶ Send(GET jwks_uri) ─▶ handle_response ─▶ next
/// ```
pub struct CallbackVerification {
    client: Client,
    state: State,
}

// One per flow, never in a collection: boxing the large variant would only add a pointer hop.
#[allow(clippy::large_enum_variant)]
enum State {
    Plain(Option<AuthorizationCode>),
    Jarm {
        pending: Option<PendingAuthorization>,
        answer: SignedAnswer,
    },
    Failed,
}

impl std::fmt::Debug for CallbackVerification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Plain(Some(_)) => "checked",
            State::Plain(None) => "done",
            State::Jarm {
                pending: Some(_), ..
            } => "verifying the JWT",
            State::Jarm { pending: None, .. } => "done",
            State::Failed => "failed",
        };
        f.debug_struct("CallbackVerification")
            .field("client_id", &self.client.client_id())
            .field("state", &state)
            .finish()
    }
}

impl Flow for CallbackVerification {
    type Output = AuthorizationCode;

    fn next(&mut self, now: Now) -> Result<Step<AuthorizationCode>, Error> {
        let result = match &mut self.state {
            State::Plain(code) => {
                return code
                    .take()
                    .map(Step::Done)
                    .ok_or_else(|| Misuse::AlreadyDone.into());
            }
            State::Failed => return Err(Misuse::AlreadyFailed.into()),
            State::Jarm { pending: None, .. } => return Err(Misuse::AlreadyDone.into()),
            State::Jarm {
                pending: pending @ Some(_),
                answer,
            } => match answer.next(&self.client, now) {
                Ok(Some(step)) => return Ok(step),
                Ok(None) => verify(&self.client, pending, answer, now),
                Err(e) => Err(e),
            },
        };
        if result.is_err() {
            self.state = State::Failed;
        }
        result.map(Step::Done)
    }

    fn handle_response(
        &mut self,
        response: http::Response<Vec<u8>>,
        now: Now,
    ) -> Result<(), Error> {
        let State::Jarm { answer, .. } = &mut self.state else {
            return Err(Misuse::UnexpectedResponse.into());
        };
        let result = answer.handle_response(&self.client, response, now);
        if result.is_err() && !matches!(result, Err(Error::Misuse(_))) {
            self.state = State::Failed;
        }
        result
    }
}

/// The JWT, then the callback checks on what it carried.
fn verify(
    client: &Client,
    pending: &mut Option<PendingAuthorization>,
    answer: &mut SignedAnswer,
    now: Now,
) -> Result<AuthorizationCode, Error> {
    let pending = pending.take().ok_or(Misuse::AlreadyDone)?;
    let issuer = pending.issuer().ok_or(ConfigError::MissingIssuer)?;
    let allowed = answer_algorithms(client, ALGORITHMS_MEMBER);
    let claims = answer.verify(client, &allowed, issuer, true, now.wall())?;
    let params = CallbackParams::from_claims(claims.as_map())?;
    pending.check(params)
}

#[cfg(test)]
mod tests;
