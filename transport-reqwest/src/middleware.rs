//! The auth handler as `reqwest-middleware` middleware (feature `reqwest-middleware`).

use http::Extensions;
use reqwest_middleware::{Middleware, Next};

use crate::Auth;

/// An [`Auth`] as [`reqwest_middleware::Middleware`], for a `ClientWithMiddleware` that also
/// runs retry, tracing or other middleware.
///
/// Every request gets `Authorization: Bearer …` (replacing any it had), renewed before expiry
/// with single flight across tasks. On a `401` with `WWW-Authenticate: Bearer
/// error="invalid_token"` the token is renewed once and the request sent once more down the rest
/// of the chain, if [`reqwest::Request::try_clone`] can copy it (a streamed body cannot: its `401`
/// is returned, and the next request renews first). A failed renewal comes back as
/// [`reqwest_middleware::Error::Middleware`] holding the [`AuthError`](crate::AuthError).
///
/// A DPoP-bound token goes as `Authorization: DPoP …` with a fresh `DPoP` proof per attempt; a
/// `DPoP-Nonce` in any response is remembered, and a `401 use_dpop_nonce` is resent once with
/// it, by the same rule.
///
/// The token goes to every host the client talks to: keep the client for one API.
///
/// ```no_run
/// use grantline_reqwest::{Auth, AuthMiddleware, Transport, reqwest};
/// use grantline_reqwest::grantline::{Client, token_manager::TokenManager};
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
/// let auth = Auth::new(Transport::new()?, TokenManager::client_credentials(client)?);
/// let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(AuthMiddleware::new(auth))
///     .build();
/// let response = http.get("https://api.example/v1/items").send().await?;
/// # let _ = response;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct AuthMiddleware {
    auth: Auth,
}

impl AuthMiddleware {
    /// Middleware that authenticates with `auth`.
    ///
    /// ```
    /// use grantline_reqwest::{Auth, AuthMiddleware, Transport, grantline::token_manager::TokenManager};
    /// let middleware = AuthMiddleware::new(Auth::new(Transport::new()?, TokenManager::bearer("t")?));
    /// # let _ = middleware;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn new(auth: Auth) -> Self {
        Self { auth }
    }
}

#[async_trait::async_trait]
impl Middleware for AuthMiddleware {
    async fn handle(
        &self,
        mut request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let replay = request.try_clone();
        let header = self
            .auth
            .authorize(&mut request)
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        let url = request.url().clone();
        let response = next.clone().run(request, extensions).await?;
        if !self
            .auth
            .after_response(&header, url.as_str(), response.status(), response.headers())
        {
            return Ok(response);
        }
        match replay {
            Some(mut retry) => {
                let header = self
                    .auth
                    .authorize(&mut retry)
                    .await
                    .map_err(reqwest_middleware::Error::middleware)?;
                let response = next.run(retry, extensions).await?;
                // Only to remember a nonce and mark a refused token: no second resend.
                let _ = self.auth.after_response(
                    &header,
                    url.as_str(),
                    response.status(),
                    response.headers(),
                );
                Ok(response)
            }
            None => Ok(response),
        }
    }
}
