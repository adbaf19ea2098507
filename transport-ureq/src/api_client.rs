//! The API client: a base URL, an auth handler, relative paths, JSON, and errors for error
//! statuses.

use std::fmt;
use std::io::Read;
use std::time::Duration;

use grantline::api::{ApiPath, BaseUrl};
use grantline::authorizer::{AfterResponse, Attempt, Target};
use grantline::driver::{DEFAULT_BODY_LIMIT, decode_json, encode_json};
use grantline::error::ConfigError;
use grantline::url::Url;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use ureq::{Body, SendBody};

use crate::transport::{classify, default_agent, run_without_redirects};
use crate::{ApiError, Auth, StatusError};

/// A client for one API: every request goes to a path under its [`BaseUrl`], carries the
/// [`Auth`] handler's token, and fails with [`ApiError::Status`] on a 4xx or 5xx unless asked
/// otherwise (requests_oauth2client's `ApiClient`, for Rust).
///
/// **Confinement.** No request leaves the base URL: paths are joined by [`BaseUrl::join`]
/// (which refuses `..`, `//host`, absolute URLs, encoded dot segments and backslashes), the
/// result is checked again before sending, and redirects are never followed (a 3xx comes back
/// as the response it is), whatever the agent's own settings.
///
/// **Authorization.** Every attempt is authorized by the [`Auth`] handler's
/// [`Authorizer`](grantline::authorizer::Authorizer), which decides everything: the token is
/// renewed before it expires (single flight across threads), goes only to https or loopback
/// URLs, carries a fresh DPoP proof when DPoP-bound, and after a `401` `invalid_token` (or a
/// DPoP `use_dpop_nonce`) the request is sent once more, if its body can be replayed: an empty
/// body, bytes or JSON can; a [`body_reader`](ApiRequest::body_reader) cannot, and its `401` is
/// returned.
///
/// **Safe defaults.** The default agent has the transport's timeouts
/// ([`DEFAULT_CONNECT_TIMEOUT`](crate::DEFAULT_CONNECT_TIMEOUT), 10 s, and
/// [`DEFAULT_TIMEOUT`](crate::DEFAULT_TIMEOUT), 30 s), and every body the client reads is capped:
/// [`recv_json`](ApiRequest::recv_json) at [`body_limit`](Self::body_limit) (1 MiB by default), an
/// error status's body at [`StatusError::BODY_LIMIT`].
///
/// Cloning is cheap (the agent and the auth handler are shared).
///
/// ```no_run
/// use grantline_ureq::{ApiClient, Auth, Transport};
/// use grantline_ureq::grantline::{Client, grant::TokenRequest, token_manager::TokenManager};
///
/// #[derive(serde::Deserialize)]
/// struct Session { id: String }
///
/// let client = Client::builder("dcv-client")
///     .token_endpoint("https://broker.example:8443/oauth2/token?grant_type=client_credentials")
///     .client_secret_basic("s3cr3t")
///     .build()?;
/// let manager = TokenManager::grant(client, TokenRequest::client_credentials())?;
/// let api = ApiClient::new("https://broker.example:8443/")?.auth(Auth::new(Transport::new(), manager));
///
/// let sessions: Vec<Session> = api
///     .post("describeSessions")
///     .json(&serde_json::json!({ "SessionIds": ["s-1"] }))
///     .recv_json()?;
/// # let _ = sessions;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct ApiClient {
    base: BaseUrl,
    agent: ureq::Agent,
    auth: Option<Auth>,
    error_for_status: bool,
    body_limit: u64,
}

impl ApiClient {
    /// A client for the API at `base_url` (`https`, or `http` on a loopback address), on an agent
    /// with the transport's safe defaults, without authentication until [`auth`](Self::auth) is
    /// set.
    ///
    /// # Errors
    ///
    /// [`ApiError::Path`] if the base URL is not usable (see [`BaseUrl::new`]).
    ///
    /// ```
    /// let api = grantline_ureq::ApiClient::new("https://api.example/v1")?;
    /// assert_eq!(api.base_url().as_url().path(), "/v1");
    /// # Ok::<(), grantline_ureq::ApiError>(())
    /// ```
    pub fn new(base_url: &str) -> Result<Self, ApiError> {
        Ok(Self::with_base(
            BaseUrl::new(base_url).map_err(ApiError::Path)?,
        ))
    }

    /// A client for the API at `base`.
    ///
    /// ```
    /// use grantline_ureq::{ApiClient, grantline::api::BaseUrl};
    /// let api = ApiClient::with_base(BaseUrl::insecure_http("http://api.internal/")?);
    /// # let _ = api;
    /// # Ok::<(), grantline_ureq::grantline::Error>(())
    /// ```
    #[must_use]
    pub fn with_base(base: BaseUrl) -> Self {
        Self {
            base,
            agent: default_agent(),
            auth: None,
            error_for_status: true,
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// Sets the most bytes of a body [`recv_json`](ApiRequest::recv_json) reads (default
    /// [`DEFAULT_BODY_LIMIT`], 1 MiB); a longer one is [`ApiError::Transport`] with
    /// [`TransportErrorKind::BodyTooLarge`](crate::TransportErrorKind::BodyTooLarge).
    ///
    /// ```
    /// let api = grantline_ureq::ApiClient::new("https://api.example/")?.body_limit(64 * 1024);
    /// # let _ = api;
    /// # Ok::<(), grantline_ureq::ApiError>(())
    /// ```
    #[must_use]
    pub fn body_limit(mut self, bytes: u64) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Sends with `agent` (its proxy, TLS roots, timeouts and pool). Redirects are turned off
    /// per request whatever the agent says, and no status is turned into a ureq error.
    ///
    /// ```
    /// use std::time::Duration;
    /// use grantline_ureq::{ApiClient, ureq};
    /// let agent = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(30))).build().new_agent();
    /// let api = ApiClient::new("https://api.example/")?.agent(agent);
    /// # let _ = api;
    /// # Ok::<(), grantline_ureq::ApiError>(())
    /// ```
    #[must_use]
    pub fn agent(mut self, agent: ureq::Agent) -> Self {
        self.agent = agent;
        self
    }

    /// Authenticates every request with `auth`'s token.
    ///
    /// ```
    /// use grantline_ureq::{ApiClient, Auth, Transport, grantline::token_manager::TokenManager};
    /// let auth = Auth::new(Transport::new(), TokenManager::bearer("t")?);
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
    /// let api = grantline_ureq::ApiClient::new("https://api.example/")?.allow_error_status();
    /// # let _ = api;
    /// # Ok::<(), grantline_ureq::ApiError>(())
    /// ```
    #[must_use]
    pub fn allow_error_status(mut self) -> Self {
        self.error_for_status = false;
        self
    }

    /// The API's base URL.
    ///
    /// ```
    /// let api = grantline_ureq::ApiClient::new("https://api.example/v1/")?;
    /// assert_eq!(api.base_url().to_string(), "https://api.example/v1/");
    /// # Ok::<(), grantline_ureq::ApiError>(())
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
    /// use grantline_ureq::{ApiClient, ApiError, http::Method};
    /// let api = ApiClient::new("https://api.example/v1")?;
    /// let error = api.request(Method::GET, "../admin").send().unwrap_err();
    /// assert!(matches!(error, ApiError::Path(_)));
    /// # Ok::<(), ApiError>(())
    /// ```
    pub fn request(&self, method: Method, path: impl ApiPath) -> ApiRequest<'_> {
        ApiRequest {
            api: self,
            method,
            url: self.base.join(path).map_err(ApiError::Path),
            headers: HeaderMap::new(),
            body: RequestBody::Empty,
            error_for_status: self.error_for_status,
            timeout: None,
        }
    }

    /// A `GET` request to `path`.
    ///
    /// ```no_run
    /// # let api = grantline_ureq::ApiClient::new("https://api.example/")?;
    /// let body = api.get(["users", "42"]).send()?.body_mut().read_to_string()?;
    /// # let _ = body;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self, path: impl ApiPath) -> ApiRequest<'_> {
        self.request(Method::GET, path)
    }

    /// A `POST` request to `path`.
    ///
    /// ```no_run
    /// # let api = grantline_ureq::ApiClient::new("https://api.example/")?;
    /// let status = api.post("users").json(&serde_json::json!({"name": "ada"})).send()?.status();
    /// # let _ = status;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn post(&self, path: impl ApiPath) -> ApiRequest<'_> {
        self.request(Method::POST, path)
    }

    /// A `PUT` request to `path`.
    ///
    /// ```no_run
    /// # let api = grantline_ureq::ApiClient::new("https://api.example/")?;
    /// api.put("users/42/avatar").body(vec![0_u8; 16]).send()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn put(&self, path: impl ApiPath) -> ApiRequest<'_> {
        self.request(Method::PUT, path)
    }

    /// A `PATCH` request to `path`.
    ///
    /// ```no_run
    /// # let api = grantline_ureq::ApiClient::new("https://api.example/")?;
    /// api.patch("users/42").json(&serde_json::json!({"name": "ada"})).send()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn patch(&self, path: impl ApiPath) -> ApiRequest<'_> {
        self.request(Method::PATCH, path)
    }

    /// A `DELETE` request to `path`.
    ///
    /// ```no_run
    /// # let api = grantline_ureq::ApiClient::new("https://api.example/")?;
    /// api.delete("users/42").send()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn delete(&self, path: impl ApiPath) -> ApiRequest<'_> {
        self.request(Method::DELETE, path)
    }
}

enum RequestBody {
    Empty,
    Bytes(Vec<u8>),
    Reader(Box<dyn Read + Send>),
}

/// The body of one attempt: bytes are lent (and can be lent again), a reader is given away.
enum Outgoing<'b> {
    Empty,
    Bytes(&'b [u8]),
    Reader(Box<dyn Read + Send>),
}

/// A request being built by an [`ApiClient`]; [`send`](Self::send) sends it.
///
/// Builder errors (an invalid header, a value that does not serialize) are reported by `send`.
///
/// ```no_run
/// # let api = grantline_ureq::ApiClient::new("https://api.example/")?;
/// let response = api
///     .get("search")
///     .query("q", "a&b")
///     .header(grantline_ureq::http::header::ACCEPT_LANGUAGE, "fr")
///     .send()?;
/// # let _ = response;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a request does nothing until it is sent"]
pub struct ApiRequest<'a> {
    api: &'a ApiClient,
    method: Method,
    url: Result<Url, ApiError>,
    headers: HeaderMap,
    body: RequestBody,
    error_for_status: bool,
    timeout: Option<Duration>,
}

impl fmt::Debug for ApiRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiRequest")
            .field("method", &self.method)
            .field("url", &self.url.as_ref().map(Url::as_str).ok())
            .finish_non_exhaustive()
    }
}

impl ApiRequest<'_> {
    /// Appends the query parameter `name=value` (form-encoded).
    ///
    /// ```
    /// # let api = grantline_ureq::ApiClient::new("https://api.example/")?;
    /// let request = api.get("items").query("page", "2").query("tag", "a b");
    /// # let _ = request;
    /// # Ok::<(), grantline_ureq::ApiError>(())
    /// ```
    pub fn query(mut self, name: &str, value: &str) -> Self {
        if let Ok(url) = &mut self.url {
            url.query_pairs_mut().append_pair(name, value);
        }
        self
    }

    /// Adds a header. `Authorization` is replaced by the auth handler's when there is one.
    ///
    /// ```
    /// # let api = grantline_ureq::ApiClient::new("https://api.example/")?;
    /// let request = api.get("items").header("x-request-id", "42");
    /// # let _ = request;
    /// # Ok::<(), grantline_ureq::ApiError>(())
    /// ```
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        V: TryInto<HeaderValue>,
    {
        match (name.try_into(), value.try_into()) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            _ => {
                if self.url.is_ok() {
                    self.url = Err(ApiError::InvalidHeader);
                }
            }
        }
        self
    }

    /// Sends `value` as a JSON body (`Content-Type: application/json`), and asks for JSON back
    /// unless an `Accept` header was set.
    ///
    /// ```
    /// # let api = grantline_ureq::ApiClient::new("https://api.example/")?;
    /// let request = api.post("items").json(&serde_json::json!({"name": "x"}));
    /// # let _ = request;
    /// # Ok::<(), grantline_ureq::ApiError>(())
    /// ```
    pub fn json<T: serde::Serialize + ?Sized>(mut self, value: &T) -> Self {
        match encode_json(value) {
            Ok(bytes) => {
                self.headers
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                self.body = RequestBody::Bytes(bytes);
                self.accept_json()
            }
            Err(e) => {
                if self.url.is_ok() {
                    self.url = Err(e);
                }
                self
            }
        }
    }

    /// Adds `Accept: application/json` unless an `Accept` header was set.
    fn accept_json(mut self) -> Self {
        if !self.headers.contains_key(ACCEPT) {
            self.headers
                .insert(ACCEPT, HeaderValue::from_static("application/json"));
        }
        self
    }

    /// Sends `bytes` as the body. It can be replayed, so a `401` `invalid_token` is retried.
    ///
    /// ```
    /// # let api = grantline_ureq::ApiClient::new("https://api.example/")?;
    /// let request = api.put("blob").header("content-type", "application/octet-stream").body(b"abc".to_vec());
    /// # let _ = request;
    /// # Ok::<(), grantline_ureq::ApiError>(())
    /// ```
    pub fn body(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = RequestBody::Bytes(bytes.into());
        self
    }

    /// Streams the body from `reader` (chunked, unless a `Content-Length` header is set). It is
    /// read once, so a request with it is **never retried**: a `401` `invalid_token` marks the
    /// token for renewal and comes back as it is.
    ///
    /// ```no_run
    /// # let api = grantline_ureq::ApiClient::new("https://api.example/")?;
    /// let file = std::fs::File::open("upload.bin")?;
    /// api.put("uploads/1").body_reader(file).send()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn body_reader(mut self, reader: impl Read + Send + 'static) -> Self {
        self.body = RequestBody::Reader(Box::new(reader));
        self
    }

    /// A timeout for this request (from the start of the connection to the end of the body),
    /// instead of the agent's.
    ///
    /// ```
    /// # let api = grantline_ureq::ApiClient::new("https://api.example/")?;
    /// let request = api.get("slow").timeout(std::time::Duration::from_secs(60));
    /// # let _ = request;
    /// # Ok::<(), grantline_ureq::ApiError>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Returns an error status (4xx, 5xx) as a response rather than [`ApiError::Status`].
    ///
    /// ```no_run
    /// # let api = grantline_ureq::ApiClient::new("https://api.example/")?;
    /// let response = api.get("maybe-missing").allow_error_status().send()?;
    /// let found = response.status() != 404;
    /// # let _ = found;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allow_error_status(mut self) -> Self {
        self.error_for_status = false;
        self
    }

    /// Fails with [`ApiError::Status`] on an error status, even if the client allows them.
    ///
    /// ```
    /// # let api = grantline_ureq::ApiClient::new("https://api.example/")?.allow_error_status();
    /// let request = api.get("must-exist").error_for_status();
    /// # let _ = request;
    /// # Ok::<(), grantline_ureq::ApiError>(())
    /// ```
    pub fn error_for_status(mut self) -> Self {
        self.error_for_status = true;
        self
    }

    /// Sends the request (renewing the token first if needed, and once more after a `401`
    /// `invalid_token` when the body can be replayed) and returns the response, whose body is
    /// still to be read.
    ///
    /// # Errors
    ///
    /// [`ApiError::Path`] for a path outside the base (nothing is sent), [`ApiError::Auth`] when
    /// no token could be had, [`ApiError::Transport`] when the request got no answer,
    /// [`ApiError::Status`] for a 4xx or 5xx (unless allowed), [`ApiError::InvalidHeader`] or
    /// [`ApiError::Request`] for a request that could not be built.
    ///
    /// ```no_run
    /// use grantline_ureq::{ApiClient, ApiError};
    /// # let api = ApiClient::new("https://api.example/")?;
    /// match api.get("items/7").send() {
    ///     Ok(mut response) => { let _ = response.body_mut().read_to_string()?; }
    ///     Err(ApiError::Status(e)) if e.status() == 404 => { /* not there */ }
    ///     Err(e) => return Err(e.into()),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send(self) -> Result<http::Response<Body>, ApiError> {
        let api = self.api;
        let url = self.url?;
        // The join already checked this; a second look costs nothing next to a request.
        if !api.base.contains(&url) {
            return Err(refused("it leads outside the API's base URL"));
        }
        let uri: http::Uri = url
            .as_str()
            .parse()
            .map_err(|_| refused("it does not make a valid request URI"))?;
        let (bytes, mut reader) = match self.body {
            RequestBody::Empty => (None, None),
            RequestBody::Bytes(bytes) => (Some(bytes), None),
            RequestBody::Reader(reader) => (None, Some(reader)),
        };
        let mut attempt = Attempt::new();
        if reader.is_some() {
            attempt = attempt.not_replayable();
        }
        let response = loop {
            let mut request = http::Request::new(());
            *request.method_mut() = self.method.clone();
            *request.uri_mut() = uri.clone();
            *request.headers_mut() = self.headers.clone();
            if let Some(auth) = &api.auth {
                // Replaces any Authorization (and DPoP) header the caller set.
                auth.attach(&mut attempt, &mut request)?;
            }
            let outgoing = match (&bytes, reader.take()) {
                (Some(bytes), _) => Outgoing::Bytes(bytes),
                (None, Some(reader)) => Outgoing::Reader(reader),
                (None, None) => Outgoing::Empty,
            };
            let response = api.dispatch(request, outgoing, self.timeout)?;
            let target = Target::new(&self.method, &uri);
            match &api.auth {
                Some(auth)
                    if auth.after_response(&mut attempt, target, &response)
                        == AfterResponse::Resend => {}
                _ => break response,
            }
        };
        let status = response.status();
        if self.error_for_status && (status.is_client_error() || status.is_server_error()) {
            let (parts, mut body) = response.into_parts();
            let mut kept = Vec::new();
            let limit = StatusError::BODY_LIMIT as u64;
            // What can be read of it: the status is the error, the body only a detail.
            let _ = body
                .with_config()
                .reader()
                .take(limit)
                .read_to_end(&mut kept);
            return Err(ApiError::Status(StatusError::new(
                status,
                parts.headers,
                kept,
            )));
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
    /// # let api = grantline_ureq::ApiClient::new("https://api.example/")?;
    /// let item: Item = api.get("items/7").recv_json()?;
    /// # let _ = item.name;
    /// # Ok::<(), grantline_ureq::ApiError>(())
    /// ```
    pub fn recv_json<T: serde::de::DeserializeOwned>(self) -> Result<T, ApiError> {
        let limit = self.api.body_limit;
        let mut response = self.accept_json().send()?;
        let body = response.body_mut().with_config().limit(limit).read_to_vec();
        decode_json(&body.map_err(|e| ApiError::Transport(classify(e, true)))?)
    }
}

impl ApiClient {
    /// Sends one attempt: no redirects, every status a response.
    fn dispatch(
        &self,
        request: http::Request<()>,
        body: Outgoing<'_>,
        timeout: Option<Duration>,
    ) -> Result<http::Response<Body>, ApiError> {
        let result = match body {
            Outgoing::Empty => run_without_redirects(&self.agent, request, timeout),
            Outgoing::Bytes(bytes) => {
                run_without_redirects(&self.agent, request.map(|()| bytes), timeout)
            }
            Outgoing::Reader(reader) => {
                let body = SendBody::from_owned_reader(reader);
                run_without_redirects(&self.agent, request.map(|()| body), timeout)
            }
        };
        result.map_err(|e| ApiError::Transport(classify(e, false)))
    }
}

/// A request refused before anything is sent, for its URL.
fn refused(reason: &'static str) -> ApiError {
    ApiError::Path(grantline::Error::Config(ConfigError::InvalidParameter {
        name: "path".to_owned(),
        reason,
    }))
}
