//! The renewal flow: a refresh token grant, or the original grant run again.

use std::fmt;

use crate::error::{ErrorCode, Misuse};
use crate::grant::{TokenFlow, TokenRequest};
use crate::secret::RefreshToken;
use crate::{Client, Error, Flow, Now, Recovery, Step, TokenResponse};

/// The flow that gets a new token for a [`TokenManager`](super::TokenManager): handed out by
/// [`TokenManager::access`](super::TokenManager::access) as [`Access::Renew`](super::Access::Renew).
///
/// It is an ordinary [`Flow`] made of the crate's own [`TokenFlow`]s, so any driver runs it:
///
/// - **By refresh token** when the current token has one (RFC 6749 §6). A response without a new
///   refresh token keeps the one that was used (RFC 6749 §6: the server *may* issue a new one),
///   so the output is always ready to store. If the server answers `invalid_grant` (the refresh
///   token expired or was revoked) and the manager knows a grant to run again (client
///   credentials, say), the flow falls back to that grant at once, in the same run.
/// - **By the original grant** otherwise (client credentials, JWT bearer, password, token
///   exchange, or any custom grant the manager was given).
///
/// Give its output to [`TokenManager::complete`](super::TokenManager::complete); if it fails,
/// call [`TokenManager::renewal_failed`](super::TokenManager::renewal_failed).
///
/// ```
/// use grantline::{Client, Flow, Now, Step, grant::TokenRequest};
/// use grantline::token_manager::{Access, TokenManager};
///
/// let client = Client::builder("svc")
///     .token_endpoint("https://as.example/token")
///     .client_secret_basic("s3cr3t")
///     .build()?;
/// let mut manager = TokenManager::grant(client, TokenRequest::client_credentials().scope("read"))?;
/// let now = Now::system();
/// let Access::Renew(mut renewal) = manager.access(now) else { unreachable!() };
/// assert!(!renewal.is_refresh());
/// let Step::Send(request) = renewal.next(now)? else { unreachable!() };
/// assert_eq!(request.body(), b"grant_type=client_credentials&scope=read");
/// # Ok::<(), grantline::Error>(())
/// ```
pub struct Renewal {
    stage: Stage,
}

// One per renewal, never in a collection: boxing the large variant would only add a pointer hop.
#[allow(clippy::large_enum_variant)]
enum Stage {
    /// A refresh token grant, and the grant to fall back to on `invalid_grant`.
    Refresh {
        flow: TokenFlow,
        refresh_token: RefreshToken,
        fallback: Option<(Client, TokenRequest)>,
    },
    /// The original grant, run again.
    Grant(TokenFlow),
    /// The flow could not even be built; the error comes out of the next `next`.
    Broken(Option<Error>),
}

impl fmt::Debug for Renewal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (by, fallback) = match &self.stage {
            Stage::Refresh { fallback, .. } => ("refresh_token", fallback.is_some()),
            Stage::Grant(_) => ("grant", false),
            Stage::Broken(_) => ("none (broken)", false),
        };
        f.debug_struct("Renewal")
            .field("by", &by)
            .field("falls_back_to_grant", &fallback)
            .finish()
    }
}

impl Renewal {
    /// A renewal by `refresh_token`, falling back to `fallback` on `invalid_grant`.
    pub(super) fn refresh(
        client: &Client,
        refresh_token: RefreshToken,
        fallback: Option<(Client, TokenRequest)>,
    ) -> Self {
        let stage = match client.request_token(TokenRequest::refresh_token(refresh_token.clone())) {
            Ok(flow) => Stage::Refresh {
                flow,
                refresh_token,
                fallback,
            },
            Err(e) => Stage::Broken(Some(e)),
        };
        Self { stage }
    }

    /// A renewal by running `request` again.
    pub(super) fn grant(client: &Client, request: TokenRequest) -> Self {
        let stage = match client.request_token(request) {
            Ok(flow) => Stage::Grant(flow),
            Err(e) => Stage::Broken(Some(e)),
        };
        Self { stage }
    }

    /// A renewal that fails at once with `error`.
    pub(super) fn broken(error: Error) -> Self {
        Self {
            stage: Stage::Broken(Some(error)),
        }
    }

    /// Whether this renewal (still) uses a refresh token; `false` once it fell back to the
    /// original grant, or when it runs the grant from the start.
    ///
    /// ```
    /// use grantline::{Client, TokenResponse, TokenType, secret::RefreshToken};
    /// use grantline::token_manager::{Access, TokenManager};
    ///
    /// let client = Client::builder("app").token_endpoint("https://as.example/token").build()?;
    /// let mut manager = TokenManager::from_refresh_token(client, "rt")?;
    /// let Access::Renew(renewal) = manager.access(grantline::Now::system()) else { unreachable!() };
    /// assert!(renewal.is_refresh());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn is_refresh(&self) -> bool {
        matches!(self.stage, Stage::Refresh { .. })
    }
}

impl Flow for Renewal {
    type Output = TokenResponse;

    fn next(&mut self, now: Now) -> Result<Step<TokenResponse>, Error> {
        match &mut self.stage {
            Stage::Refresh {
                flow,
                refresh_token,
                ..
            } => Ok(match flow.next(now)? {
                Step::Done(token) if token.refresh_token().is_none() => {
                    // RFC 6749 §6: no new refresh token means the old one stays valid.
                    Step::Done(token.with_refresh_token(Some(refresh_token.clone())))
                }
                step => step,
            }),
            Stage::Grant(flow) => flow.next(now),
            Stage::Broken(error) => {
                Err(error.take().unwrap_or(Error::Misuse(Misuse::AlreadyFailed)))
            }
        }
    }

    fn handle_response(
        &mut self,
        response: http::Response<Vec<u8>>,
        now: Now,
    ) -> Result<(), Error> {
        match &mut self.stage {
            Stage::Refresh { flow, fallback, .. } => match flow.handle_response(response, now) {
                Err(e)
                    if e.oauth_code() == Some(&ErrorCode::InvalidGrant) && fallback.is_some() =>
                {
                    // The refresh token is dead; the grant that got the first token still works.
                    if let Some((client, request)) = fallback.take() {
                        *self = Self::grant(&client, request);
                    }
                    Ok(())
                }
                other => other,
            },
            Stage::Grant(flow) => flow.handle_response(response, now),
            Stage::Broken(_) => Err(Error::Misuse(Misuse::UnexpectedResponse)),
        }
    }

    fn handle_transport_error(&mut self, now: Now) -> Recovery {
        match &mut self.stage {
            Stage::Refresh { flow, .. } | Stage::Grant(flow) => flow.handle_transport_error(now),
            Stage::Broken(_) => Recovery::GiveUp,
        }
    }
}
