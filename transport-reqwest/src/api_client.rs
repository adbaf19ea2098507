//! The API client: a base URL, an auth handler, relative paths, JSON, and errors for error
//! statuses.

use std::fmt;
use std::future::Future;

use grantline::api::{ApiPath, BaseUrl};
use grantline::authorizer::Attempt;
use grantline::driver::{DEFAULT_BODY_LIMIT, decode_json, encode_json};
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderName, HeaderValue, Method};

use crate::auth::Exchange;
use crate::{ApiError, Auth, StatusError, TransportError, TransportErrorKind};
use crate::{build_default, build_without_redirects, classify, read_capped};

/// A client for one API: every request goes to a path under its [`BaseUrl`], carries the
/// [`Auth`] handler's token, and fails with [`ApiError::Status`] on a 4xx or 5xx unless asked
/// otherwise (requests_oauth2client's `ApiClient`, for async Rust).
///
/// **Confinement.** No request leaves the base URL: paths are joined by [`BaseUrl::join`]
/// (which refuses `..`, `//host`, absolute URLs, encoded dot segments and backslashes), the
/// final URL is checked again before sending, and redirects are not followed: the client is
/// built with [`reqwest::redirect::Policy::none()`], and a response from any other URL is refused
/// ([`TransportErrorKind::Redirected`]) should a client passed to [`client`](Self::client) follow
/// one.
///
/// **Authorization.** Every attempt is authorized by the [`Auth`] handler's
/// [`Authorizer`](grantline::authorizer::Authorizer), which decides everything: the token is
/// renewed before it expires (single flight across tasks), goes only to https or loopback URLs,
/// carries a fresh DPoP proof when DPoP-bound, and after a `401` `invalid_token` (or a DPoP
/// `use_dpop_nonce`) the request is sent once more if [`reqwest::Request::try_clone`] can copy
/// it: an empty body, bytes or JSON can; a streamed body cannot, and its `401` is returned.
///
/// **Safe defaults.** The default client has the transport's timeouts
/// ([`DEFAULT_CONNECT_TIMEOUT`](crate::DEFAULT_CONNECT_TIMEOUT), 10 s, and
/// [`DEFAULT_TIMEOUT`](crate::DEFAULT_TIMEOUT), 30 s), and every body the client reads is capped:
/// [`recv_json`](ApiRequest::recv_json) at [`body_limit`](Self::body_limit) (1 MiB by default), an
/// error status's body at [`StatusError::BODY_LIMIT`].
///
/// Cloning is cheap (the client and the auth handler are shared).
///
/// ```no_run
/// use grantline_reqwest::{ApiClient, Auth, Transport};
/// use grantline_reqwest::grantline::{Client, token_manager::TokenManager};
///
/// #[derive(serde::Deserialize)]
/// struct Session { id: String }
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::builder("dcv-client")
///     .token_endpoint("https://broker.example:8443/oauth2/token?grant_type=client_credentials")
///     .client_secret_basic("s3cr3t")
///     .build()?;
/// let auth = Auth::new(Transport::new()?, TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?);
/// let api = ApiClient::new("https://broker.example:8443/")?.auth(auth);
///
/// let sessions: Vec<Session> = api
///     .post("describeSessions")
///     .json(&serde_json::json!({ "SessionIds": ["s-1"] }))
///     .recv_json()
///     .await?;
/// # let _ = sessions;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ApiClient {
    base: BaseUrl,
    client: reqwest::Client,
    auth: Option<Auth>,
    error_for_status: bool,
    body_limit: u64,
}

impl ApiClient {
    /// A client for the API at `base_url` (`https`, or `http` on a loopback address), on a new
    /// `reqwest::Client` that follows no redirects and has the transport's default timeouts,
    /// without authentication until [`auth`](Self::auth) is set.
    ///
    /// # Errors
    ///
    /// [`ApiError::Path`] if the base URL is not usable (see [`BaseUrl::new`]),
    /// [`ApiError::Transport`] if reqwest cannot build a client.
    ///
    /// ```
    /// let api = grantline_reqwest::ApiClient::new("https://api.example/v1")?;
    /// assert_eq!(api.base_url().as_url().path(), "/v1");
    /// # Ok::<(), grantline_reqwest::ApiError>(())
    /// ```
    pub fn new(base_url: &str) -> Result<Self, ApiError> {
        Self::with_base(BaseUrl::new(base_url).map_err(ApiError::Path)?)
    }

    /// A client for the API at `base`, on a new `reqwest::Client` that follows no redirects and
    /// has the transport's default timeouts.
    ///
    /// # Errors
    ///
    /// [`ApiError::Transport`] if reqwest cannot build a client.
    ///
    /// ```
    /// use grantline_reqwest::{ApiClient, grantline::api::BaseUrl};
    /// let api = ApiClient::with_base(BaseUrl::insecure_http("http://api.internal/")?)?;
    /// # let _ = api;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_base(base: BaseUrl) -> Result<Self, ApiError> {
        Ok(Self {
            base,
            client: build_default()?,
            auth: None,
            error_for_status: true,
            body_limit: DEFAULT_BODY_LIMIT,
        })
    }

    /// Sets the most bytes of a body [`recv_json`](ApiRequest::recv_json) reads (default
    /// [`DEFAULT_BODY_LIMIT`], 1 MiB); a longer one is [`ApiError::Transport`] with
    /// [`TransportErrorKind::BodyTooLarge`](crate::TransportErrorKind::BodyTooLarge).
    ///
    /// ```
    /// let api = grantline_reqwest::ApiClient::new("https://api.example/")?.body_limit(64 * 1024);
    /// # let _ = api;
    /// # Ok::<(), grantline_reqwest::ApiError>(())
    /// ```
    #[must_use]
    pub fn body_limit(mut self, bytes: u64) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Sends with a client built from your `builder` (proxies, CA certificates, timeouts), with
    /// redirects turned off.
    ///
    /// # Errors
    ///
    /// [`ApiError::Transport`] if the builder fails.
    ///
    /// ```
    /// use std::time::Duration;
    /// use grantline_reqwest::{ApiClient, reqwest};
    /// let api = ApiClient::new("https://api.example/")?
    ///     .client_builder(reqwest::Client::builder().timeout(Duration::from_secs(30)))?;
    /// # let _ = api;
    /// # Ok::<(), grantline_reqwest::ApiError>(())
    /// ```
    pub fn client_builder(mut self, builder: reqwest::ClientBuilder) -> Result<Self, ApiError> {
        self.client = build_without_redirects(builder)?;
        Ok(self)
    }

    /// Sends with `client`, which **must not follow redirects** (build it with
    /// [`redirect(Policy::none())`](reqwest::ClientBuilder::redirect)): a followed redirect
    /// sends a request outside the base URL before the API client can see it. A response from
    /// another URL than the one requested is refused with
    /// [`TransportErrorKind::Redirected`], but by then the request went out.
    ///
    /// With the `rustls` feature, give the client a TLS configuration from
    /// [`tls`](crate::tls) (reqwest has no crypto provider of its own there).
    ///
    /// ```
    /// use grantline_reqwest::{ApiClient, reqwest, tls};
    /// let client = reqwest::Client::builder()
    ///     .tls_backend_preconfigured(tls::client_config()?)
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .build()?;
    /// let api = ApiClient::new("https://api.example/")?.client(client);
    /// # let _ = api;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = client;
        self
    }

    /// Authenticates every request with `auth`'s token.
    ///
    /// ```
    /// use grantline_reqwest::{ApiClient, Auth, Transport, grantline::token_manager::TokenManager};
    /// let auth = Auth::new(Transport::new()?, TokenManager::bearer("t")?);
    /// let api = ApiClient::new("https://api.example/")?.auth(auth);
    /// # let _ = api;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Returns error statuses (4xx, 5xx) as responses instead of [`ApiError::Status`], for every
    /// request (one request can ask again with [`ApiRequest::error_for_status`]).
    ///
    /// ```
    /// let api = grantline_reqwest::ApiClient::new("https://api.example/")?.allow_error_status();
    /// # let _ = api;
    /// # Ok::<(), grantline_reqwest::ApiError>(())
    /// ```
    #[must_use]
    pub fn allow_error_status(mut self) -> Self {
        self.error_for_status = false;
        self
    }

    /// The API's base URL.
    ///
    /// ```
    /// let api = grantline_reqwest::ApiClient::new("https://api.example/v1/")?;
    /// assert_eq!(api.base_url().to_string(), "https://api.example/v1/");
    /// # Ok::<(), grantline_reqwest::ApiError>(())
    /// ```
    #[must_use]
    pub fn base_url(&self) -> &BaseUrl {
        &self.base
    }

    /// A request with `method` to `path` (a string such as `"users/42?x=1"`, or segments such as
    /// `["users", id]`), relative to the base URL.
    ///
    /// A path that would leave the base makes [`send`](ApiRequest::send) fail with
    /// [`ApiError::Path`], before anything is sent.
    ///
    /// ```
    /// use grantline_reqwest::{ApiClient, ApiError, reqwest::Method};
    /// # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// let api = ApiClient::new("https://api.example/v1")?;
    /// let error = runtime.block_on(api.request(Method::GET, "../admin").send()).unwrap_err();
    /// assert!(matches!(error, ApiError::Path(_)));
    /// # Ok::<(), ApiError>(())
    /// ```
    pub fn request(&self, method: Method, path: impl ApiPath) -> ApiRequest<'_> {
        let builder = self
            .base
            .join(path)
            .map(|url| self.client.request(method, url))
            .map_err(ApiError::Path);
        ApiRequest {
            api: self,
            builder,
            error_for_status: self.error_for_status,
            accept_set: false,
        }
    }

    /// A `GET` request to `path`.
    ///
    /// ```no_run
    /// # async fn f(api: grantline_reqwest::ApiClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let text = api.get(["users", "42"]).send().await?.text().await?;
    /// # let _ = text;
    /// # Ok(())
    /// # }
    /// ```
    pub fn get(&self, path: impl ApiPath) -> ApiRequest<'_> {
        self.request(Method::GET, path)
    }

    /// A `POST` request to `path`.
    ///
    /// ```no_run
    /// # async fn f(api: grantline_reqwest::ApiClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let status = api.post("users").json(&serde_json::json!({"name": "ada"})).send().await?.status();
    /// # let _ = status;
    /// # Ok(())
    /// # }
    /// ```
    pub fn post(&self, path: impl ApiPath) -> ApiRequest<'_> {
        self.request(Method::POST, path)
    }

    /// A `PUT` request to `path`.
    ///
    /// ```no_run
    /// # async fn f(api: grantline_reqwest::ApiClient) -> Result<(), Box<dyn std::error::Error>> {
    /// api.put("users/42/avatar").body(vec![0_u8; 16]).send().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn put(&self, path: impl ApiPath) -> ApiRequest<'_> {
        self.request(Method::PUT, path)
    }

    /// A `PATCH` request to `path`.
    ///
    /// ```no_run
    /// # async fn f(api: grantline_reqwest::ApiClient) -> Result<(), Box<dyn std::error::Error>> {
    /// api.patch("users/42").json(&serde_json::json!({"name": "ada"})).send().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn patch(&self, path: impl ApiPath) -> ApiRequest<'_> {
        self.request(Method::PATCH, path)
    }

    /// A `DELETE` request to `path`.
    ///
    /// ```no_run
    /// # async fn f(api: grantline_reqwest::ApiClient) -> Result<(), Box<dyn std::error::Error>> {
    /// api.delete("users/42").send().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn delete(&self, path: impl ApiPath) -> ApiRequest<'_> {
        self.request(Method::DELETE, path)
    }
}

/// A request being built by an [`ApiClient`]; [`send`](Self::send) sends it.
///
/// Builder errors (an invalid header, a value that does not serialize) are reported by `send`.
///
/// ```no_run
/// # async fn f(api: grantline_reqwest::ApiClient) -> Result<(), Box<dyn std::error::Error>> {
/// let response = api
///     .get("search")
///     .query("q", "a&b")
///     .header(grantline_reqwest::http::header::ACCEPT_LANGUAGE, "fr")
///     .send()
///     .await?;
/// # let _ = response;
/// # Ok(())
/// # }
/// ```
#[must_use = "a request does nothing until it is sent"]
pub struct ApiRequest<'a> {
    api: &'a ApiClient,
    builder: Result<reqwest::RequestBuilder, ApiError>,
    error_for_status: bool,
    accept_set: bool,
}

impl fmt::Debug for ApiRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiRequest")
            .field("api", &self.api)
            .field("error_for_status", &self.error_for_status)
            .finish_non_exhaustive()
    }
}

impl ApiRequest<'_> {
    fn map(mut self, f: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder) -> Self {
        self.builder = self.builder.map(f);
        self
    }

    /// Appends the query parameter `name=value` (form-encoded).
    ///
    /// ```
    /// # let api = grantline_reqwest::ApiClient::new("https://api.example/")?;
    /// let request = api.get("items").query("page", "2").query("tag", "a b");
    /// # let _ = request;
    /// # Ok::<(), grantline_reqwest::ApiError>(())
    /// ```
    pub fn query(self, name: &str, value: &str) -> Self {
        self.map(|b| b.query(&[(name, value)]))
    }

    /// Adds a header. `Authorization` is replaced by the auth handler's when there is one.
    ///
    /// ```
    /// # let api = grantline_reqwest::ApiClient::new("https://api.example/")?;
    /// let request = api.get("items").header("x-request-id", "42");
    /// # let _ = request;
    /// # Ok::<(), grantline_reqwest::ApiError>(())
    /// ```
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        V: TryInto<HeaderValue>,
    {
        match (name.try_into(), value.try_into()) {
            (Ok(name), Ok(value)) => {
                self.accept_set |= name == ACCEPT;
                self.map(|b| b.header(name, value))
            }
            _ => {
                if self.builder.is_ok() {
                    self.builder = Err(ApiError::InvalidHeader);
                }
                self
            }
        }
    }

    /// Sends `value` as a JSON body (`Content-Type: application/json`), and asks for JSON back
    /// unless an `Accept` header was set.
    ///
    /// ```
    /// # let api = grantline_reqwest::ApiClient::new("https://api.example/")?;
    /// let request = api.post("items").json(&serde_json::json!({"name": "x"}));
    /// # let _ = request;
    /// # Ok::<(), grantline_reqwest::ApiError>(())
    /// ```
    pub fn json<T: serde::Serialize + ?Sized>(mut self, value: &T) -> Self {
        match encode_json(value) {
            Ok(bytes) => {
                let json = HeaderValue::from_static("application/json");
                self.map(|b| b.header(CONTENT_TYPE, json).body(bytes))
                    .accept_json()
            }
            Err(e) => {
                if self.builder.is_ok() {
                    self.builder = Err(e);
                }
                self
            }
        }
    }

    /// Adds `Accept: application/json` unless an `Accept` header was set.
    fn accept_json(mut self) -> Self {
        if !self.accept_set {
            self.accept_set = true;
            self = self.map(|b| b.header(ACCEPT, HeaderValue::from_static("application/json")));
        }
        self
    }

    /// Sends `body`: bytes and strings can be replayed (a `401` `invalid_token` is retried), a
    /// stream ([`reqwest::Body::wrap_stream`], with reqwest's `stream` feature) cannot.
    ///
    /// ```
    /// # let api = grantline_reqwest::ApiClient::new("https://api.example/")?;
    /// let request = api.put("blob").header("content-type", "application/octet-stream").body(b"abc".to_vec());
    /// # let _ = request;
    /// # Ok::<(), grantline_reqwest::ApiError>(())
    /// ```
    pub fn body(self, body: impl Into<reqwest::Body>) -> Self {
        self.map(|b| b.body(body))
    }

    /// A timeout for this request (from the start of the connection to the end of the body).
    ///
    /// ```
    /// # let api = grantline_reqwest::ApiClient::new("https://api.example/")?;
    /// let request = api.get("slow").timeout(std::time::Duration::from_secs(60));
    /// # let _ = request;
    /// # Ok::<(), grantline_reqwest::ApiError>(())
    /// ```
    pub fn timeout(self, timeout: std::time::Duration) -> Self {
        self.map(|b| b.timeout(timeout))
    }

    /// Returns an error status (4xx, 5xx) as a response rather than [`ApiError::Status`].
    ///
    /// ```no_run
    /// # async fn f(api: grantline_reqwest::ApiClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let response = api.get("maybe-missing").allow_error_status().send().await?;
    /// let found = response.status() != 404;
    /// # let _ = found;
    /// # Ok(())
    /// # }
    /// ```
    pub fn allow_error_status(mut self) -> Self {
        self.error_for_status = false;
        self
    }

    /// Fails with [`ApiError::Status`] on an error status, even if the client allows them.
    ///
    /// ```
    /// # let api = grantline_reqwest::ApiClient::new("https://api.example/")?.allow_error_status();
    /// let request = api.get("must-exist").error_for_status();
    /// # let _ = request;
    /// # Ok::<(), grantline_reqwest::ApiError>(())
    /// ```
    pub fn error_for_status(mut self) -> Self {
        self.error_for_status = true;
        self
    }

    /// Sends the request (renewing the token first if needed, and once more after a `401`
    /// `invalid_token` when the request can be copied) and returns the response, whose body is
    /// still to be read.
    ///
    /// # Errors
    ///
    /// [`ApiError::Path`] for a path outside the base (nothing is sent),
    /// [`ApiError::InvalidHeader`] or [`ApiError::Request`] for a request that does not build, [`ApiError::Auth`] when no token could be had,
    /// [`ApiError::Transport`] when the request got no answer (or came back from another URL),
    /// [`ApiError::Status`] for a 4xx or 5xx (unless allowed).
    ///
    /// ```no_run
    /// use grantline_reqwest::{ApiClient, ApiError};
    /// # async fn f(api: ApiClient) -> Result<(), Box<dyn std::error::Error>> {
    /// match api.get("items/7").send().await {
    ///     Ok(response) => { let _ = response.text().await?; }
    ///     Err(ApiError::Status(e)) if e.status() == 404 => { /* not there */ }
    ///     Err(e) => return Err(e.into()),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send(self) -> Result<reqwest::Response, ApiError> {
        let api = self.api;
        let request = self
            .builder?
            .build()
            .map_err(|e| ApiError::Request(Box::new(e.without_url())))?;
        // The join already checked the path; the query added since cannot change it, but a
        // second look costs nothing next to a request.
        if !api.base.contains(request.url()) {
            return Err(ApiError::Path(grantline::Error::Config(
                grantline::error::ConfigError::InvalidParameter {
                    name: "path".to_owned(),
                    reason: "it leads outside the API's base URL",
                },
            )));
        }
        let mut client = NoRedirect(&api.client);
        let response = match &api.auth {
            Some(auth) => auth.send(Attempt::new(), request, &mut client).await??,
            None => client.exchange(request).await?,
        };
        let status = response.status();
        if self.error_for_status && (status.is_client_error() || status.is_server_error()) {
            return Err(ApiError::Status(status_error(response).await));
        }
        Ok(response)
    }

    /// Sends the request and decodes the response body as JSON into `T`, reading at most the
    /// client's [`body_limit`](ApiClient::body_limit).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send), plus [`ApiError::Transport`] with
    /// [`TransportErrorKind::BodyTooLarge`](crate::TransportErrorKind::BodyTooLarge) for a body
    /// over the limit, and [`ApiError::Body`] when the body is not the JSON `T` expects.
    ///
    /// ```no_run
    /// #[derive(serde::Deserialize)]
    /// struct Item { name: String }
    /// # async fn f(api: grantline_reqwest::ApiClient) -> Result<(), grantline_reqwest::ApiError> {
    /// let item: Item = api.get("items/7").recv_json().await?;
    /// # let _ = item.name;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn recv_json<T: serde::de::DeserializeOwned>(self) -> Result<T, ApiError> {
        let limit = self.api.body_limit;
        let mut response = self.accept_json().send().await?;
        decode_json(&read_capped(&mut response, limit).await?)
    }
}

/// The client's `execute`, refusing an answer from another URL than the one requested (a client
/// given to [`ApiClient::client`] that follows redirects).
struct NoRedirect<'c>(&'c reqwest::Client);

impl Exchange for NoRedirect<'_> {
    type Error = ApiError;

    fn exchange(
        &mut self,
        request: reqwest::Request,
    ) -> impl Future<Output = Result<reqwest::Response, ApiError>> + Send {
        let url = request.url().clone();
        let response = self.0.execute(request);
        async move {
            let response = response.await.map_err(classify)?;
            if *response.url() != url {
                return Err(TransportError::new(TransportErrorKind::Redirected).into());
            }
            Ok(response)
        }
    }
}

/// An error status with its headers and what can be read of its body, up to
/// [`StatusError::BODY_LIMIT`]: the status is the error, the body only a detail.
async fn status_error(mut response: reqwest::Response) -> StatusError {
    let (status, headers) = (response.status(), std::mem::take(response.headers_mut()));
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() >= StatusError::BODY_LIMIT {
            break;
        }
    }
    StatusError::new(status, headers, body)
}
