//! The auth handler as `reqwest-middleware` middleware (feature `reqwest-middleware`).

use std::future::Future;

use grantline::api::BaseUrl;
use grantline::authorizer::Attempt;
use http::Extensions;
use reqwest_middleware::{Middleware, Next};

use crate::Auth;
use crate::auth::Exchange;

/// An [`Auth`] as [`reqwest_middleware::Middleware`] ([`Auth::middleware`]), for a
/// `ClientWithMiddleware` that also runs retry, tracing or other middleware.
///
/// Every request is authorized by the core's authorizer (`Authorization`, and a fresh `DPoP`
/// proof per attempt for a DPoP-bound token), renewed before expiry with single flight across
/// tasks, and only to https or loopback URLs. After a `401` `invalid_token` (or a DPoP
/// `use_dpop_nonce`) the request is sent once more down the rest of the chain, if
/// [`reqwest::Request::try_clone`] can copy it (a streamed body cannot: its `401` is returned,
/// and the next request renews first). A request the authorizer refuses (a failed renewal, a
/// plain `http` URL) is not sent: it comes back as [`reqwest_middleware::Error::Middleware`]
/// holding the [`AuthError`](crate::AuthError).
///
/// The token goes to every host the client talks to, unless confined with
/// [`only_under`](Self::only_under).
///
/// ```no_run
/// use grantline_reqwest::{Auth, Transport, reqwest};
/// use grantline_reqwest::grantline::{Client, api::BaseUrl, token_manager::TokenManager};
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
/// let auth = Auth::new(Transport::new()?, TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?);
/// let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(auth.middleware().only_under(BaseUrl::new("https://api.example/v1")?))
///     .build();
/// let response = http.get("https://api.example/v1/items").send().await?;
/// # let _ = response;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct AuthMiddleware {
    auth: Auth,
    only_under: Option<BaseUrl>,
}

pub(crate) fn new(auth: Auth) -> AuthMiddleware {
    AuthMiddleware {
        auth,
        only_under: None,
    }
}

impl AuthMiddleware {
    /// Sends the token only on requests under `base` (see [`BaseUrl::contains`]); other requests
    /// go out without it.
    ///
    /// ```
    /// use grantline_reqwest::{Auth, Transport, grantline::{api::BaseUrl, token_manager::TokenManager}};
    /// let auth = Auth::new(Transport::new()?, TokenManager::bearer("t")?);
    /// let middleware = auth.middleware().only_under(BaseUrl::new("https://api.example/v1")?);
    /// # let _ = middleware;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn only_under(mut self, base: BaseUrl) -> Self {
        self.only_under = Some(base);
        self
    }
}

/// The rest of the chain, as an [`Exchange`].
struct Chain<'a, 'e> {
    next: Next<'a>,
    extensions: &'e mut Extensions,
}

impl Exchange for Chain<'_, '_> {
    type Error = reqwest_middleware::Error;

    fn exchange(
        &mut self,
        request: reqwest::Request,
    ) -> impl Future<Output = reqwest_middleware::Result<reqwest::Response>> + Send {
        self.next.clone().run(request, self.extensions)
    }
}

#[async_trait::async_trait]
impl Middleware for AuthMiddleware {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let attempt = match &self.only_under {
            Some(base) => Attempt::new().only_under(base),
            None => Attempt::new(),
        };
        let mut chain = Chain { next, extensions };
        let sent = self.auth.send(attempt, request, &mut chain).await;
        sent.map_err(reqwest_middleware::Error::middleware)?
    }
}
