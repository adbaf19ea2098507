//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2): the end-session URL.

use std::fmt;

use url::Url;

use crate::EndpointKind;
use crate::error::ConfigError;
use crate::secret::IdToken;
use crate::{Client, Error};

/// Parameters grantline sets itself, which [`EndSessionRequest::param`] refuses.
const RESERVED: &[&str] = &[
    "id_token_hint",
    "post_logout_redirect_uri",
    "state",
    "client_id",
    "logout_hint",
    "ui_locales",
];

/// The URL that sends the user's browser to the provider's end-session endpoint to log out.
///
/// Send `id_token_hint` (recommended by the specification) so the provider knows whose session
/// ends; a `post_logout_redirect_uri` (registered beforehand) brings the browser back, with
/// `state` if you set one. `post_logout_redirect_uri` needs `id_token_hint` or `client_id`
/// alongside (§2), which [`build`](EndSessionRequest::build) enforces.
///
/// ```
/// use grantline::{oidc::EndSessionRequest, secret::IdToken};
///
/// let url = EndSessionRequest::new("https://op.example/session/end")
///     .id_token_hint(&IdToken::new("eyJhbGciOi..."))
///     .post_logout_redirect_uri("https://app.example/logged-out")
///     .state("xyz")
///     .build()?;
/// assert_eq!(url.host_str(), Some("op.example"));
/// let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
/// assert_eq!(query[0].0, "id_token_hint");
/// assert_eq!(query[1], ("post_logout_redirect_uri".to_owned(), "https://app.example/logged-out".to_owned()));
/// assert_eq!(query[2], ("state".to_owned(), "xyz".to_owned()));
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Clone)]
#[must_use = "a builder does nothing until build() is called"]
pub struct EndSessionRequest {
    endpoint: String,
    insecure_http: bool,
    id_token_hint: Option<IdToken>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    logout_hint: Option<String>,
    ui_locales: Option<String>,
    extra: Vec<(String, String)>,
}

impl fmt::Debug for EndSessionRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndSessionRequest")
            .field("endpoint", &self.endpoint)
            .field("id_token_hint", &self.id_token_hint)
            .field("client_id", &self.client_id)
            .field("post_logout_redirect_uri", &self.post_logout_redirect_uri)
            .field("state", &self.state.as_ref().map(|_| "[redacted]"))
            .field(
                "extra",
                &self.extra.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl EndSessionRequest {
    /// A logout request to `end_session_endpoint` (from the provider's metadata).
    ///
    /// ```
    /// let _ = grantline::oidc::EndSessionRequest::new("https://op.example/logout");
    /// ```
    pub fn new(end_session_endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: end_session_endpoint.into(),
            insecure_http: false,
            id_token_hint: None,
            client_id: None,
            post_logout_redirect_uri: None,
            state: None,
            logout_hint: None,
            ui_locales: None,
            extra: Vec::new(),
        }
    }

    /// A logout request to the client's end-session endpoint (set by hand or from metadata),
    /// carrying its `client_id`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingEndpoint`] when the client has no end-session endpoint.
    ///
    /// ```
    /// use grantline::{Client, EndpointKind, oidc::EndSessionRequest};
    /// let client = Client::builder("app")
    ///     .endpoint(EndpointKind::EndSession, "https://op.example/logout")
    ///     .build()?;
    /// let url = EndSessionRequest::for_client(&client)?.build()?;
    /// assert_eq!(url.query(), Some("client_id=app"));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn for_client(client: &Client) -> Result<Self, Error> {
        let endpoint = client
            .endpoint(EndpointKind::EndSession)
            .ok_or(ConfigError::MissingEndpoint(EndpointKind::EndSession))?;
        // The client's endpoints were checked when it was built (its http opt-in included).
        let mut request = Self::new(endpoint.as_str()).client_id(client.client_id());
        request.insecure_http = endpoint.scheme() == "http";
        Ok(request)
    }

    /// Sends the ID token last issued to the user, so the provider knows whose session ends.
    ///
    /// ```
    /// let _ = grantline::oidc::EndSessionRequest::new("https://op.example/logout")
    ///     .id_token_hint(&grantline::secret::IdToken::new("eyJ..."));
    /// ```
    pub fn id_token_hint(mut self, id_token: &IdToken) -> Self {
        self.id_token_hint = Some(id_token.clone());
        self
    }

    /// Sends `client_id` (needed with a `post_logout_redirect_uri` when there is no
    /// `id_token_hint`).
    ///
    /// ```
    /// let _ = grantline::oidc::EndSessionRequest::new("https://op.example/logout").client_id("app");
    /// ```
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Where the provider sends the browser after logout (registered beforehand).
    ///
    /// ```
    /// let _ = grantline::oidc::EndSessionRequest::new("https://op.example/logout")
    ///     .post_logout_redirect_uri("https://app.example/bye");
    /// ```
    pub fn post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.post_logout_redirect_uri = Some(uri.into());
        self
    }

    /// A value the provider hands back on the redirect after logout.
    ///
    /// ```
    /// let _ = grantline::oidc::EndSessionRequest::new("https://op.example/logout").state("s");
    /// ```
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// Which user to log out, when there is no ID token to hint with.
    ///
    /// ```
    /// let _ = grantline::oidc::EndSessionRequest::new("https://op.example/logout").logout_hint("alice");
    /// ```
    pub fn logout_hint(mut self, hint: impl Into<String>) -> Self {
        self.logout_hint = Some(hint.into());
        self
    }

    /// The languages for the provider's logout pages, in order of preference.
    ///
    /// ```
    /// let _ = grantline::oidc::EndSessionRequest::new("https://op.example/logout").ui_locales("fr-CA fr en");
    /// ```
    pub fn ui_locales(mut self, locales: impl Into<String>) -> Self {
        self.ui_locales = Some(locales.into());
        self
    }

    /// Any other parameter the provider documents.
    ///
    /// ```
    /// let _ = grantline::oidc::EndSessionRequest::new("https://op.example/logout").param("federated", "1");
    /// ```
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.push((name.into(), value.into()));
        self
    }

    /// Allows a plain-`http` endpoint on a host that is not a loopback address (tests only).
    ///
    /// ```
    /// let _ = grantline::oidc::EndSessionRequest::new("http://op.test/logout").insecure_http();
    /// ```
    pub fn insecure_http(mut self) -> Self {
        self.insecure_http = true;
        self
    }

    /// The end-session URL: the endpoint (its own query kept) with the parameters appended.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidEndpoint`] or [`ConfigError::InsecureEndpoint`] for the endpoint;
    /// [`ConfigError::InvalidParameter`] for a `post_logout_redirect_uri` without
    /// `id_token_hint` or `client_id`; [`ConfigError::ReservedParameter`] for an extra
    /// parameter that has its own method.
    ///
    /// ```
    /// use grantline::{Error, error::ConfigError, oidc::EndSessionRequest};
    /// let e = EndSessionRequest::new("https://op.example/logout")
    ///     .post_logout_redirect_uri("https://app.example/bye")
    ///     .build()
    ///     .unwrap_err();
    /// assert!(matches!(e, Error::Config(ConfigError::InvalidParameter { .. })));
    /// ```
    pub fn build(self) -> Result<Url, Error> {
        let mut url = crate::endpoint::check_endpoint(
            EndpointKind::EndSession,
            &self.endpoint,
            self.insecure_http,
        )?;
        if self.post_logout_redirect_uri.is_some()
            && self.id_token_hint.is_none()
            && self.client_id.is_none()
        {
            return Err(ConfigError::InvalidParameter {
                name: "post_logout_redirect_uri".to_owned(),
                reason: "needs id_token_hint or client_id alongside (RP-Initiated Logout §2)",
            }
            .into());
        }
        if let Some((name, _)) = self
            .extra
            .iter()
            .find(|(name, _)| RESERVED.contains(&name.as_str()))
        {
            return Err(ConfigError::ReservedParameter(name.clone()).into());
        }
        let named = [
            (
                "id_token_hint",
                self.id_token_hint.as_ref().map(IdToken::secret),
            ),
            ("client_id", self.client_id.as_deref()),
            (
                "post_logout_redirect_uri",
                self.post_logout_redirect_uri.as_deref(),
            ),
            ("state", self.state.as_deref()),
            ("logout_hint", self.logout_hint.as_deref()),
            ("ui_locales", self.ui_locales.as_deref()),
        ];
        let has_params = named.iter().any(|(_, v)| v.is_some()) || !self.extra.is_empty();
        if has_params {
            let mut query = url.query_pairs_mut();
            for (name, value) in named {
                if let Some(value) = value {
                    query.append_pair(name, value);
                }
            }
            for (name, value) in &self.extra {
                query.append_pair(name, value);
            }
        }
        Ok(url)
    }
}
