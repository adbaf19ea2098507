//! The API client: a base URL, an auth handler, relative paths, JSON, and errors for error
//! statuses.

use std::fmt;
use std::io::Read;

use grantline::api::{ApiPath, BaseUrl};
use grantline::url::Url;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use ureq::{Body, SendBody};

use crate::{Auth, AuthError, TransportError};

/// How much of an error response's body [`StatusError`] keeps: 64 KiB.
const ERROR_BODY_LIMIT: u64 = 64 * 1024;

/// A client for one API: every request goes to a path under its [`BaseUrl`], carries the
/// [`Auth`] handler's token, and fails with [`ApiError::Status`] on a 4xx or 5xx unless asked
/// otherwise (requests_oauth2client's `ApiClient`, for Rust).
///
/// **Confinement.** No request leaves the base URL: paths are joined by [`BaseUrl::join`]
/// (which refuses `..`, `//host`, absolute URLs, encoded dot segments and backslashes), the
/// result is checked again before sending, and redirects are never followed (a 3xx comes back
/// as the response it is), whatever the agent's own settings.
///
/// **Renewal and retry.** The token is renewed before it expires (single flight across
/// threads). On a `401` with `WWW-Authenticate: Bearer error="invalid_token"` the client renews
/// once and sends the request once more, if its body can be replayed: an empty body, bytes or
/// JSON can; a [`body_reader`](ApiRequest::body_reader) cannot, and its `401` is returned.
///
/// **DPoP.** With a DPoP-bound token (the client has a DPoP key), every attempt carries
/// `Authorization: DPoP …` and its own fresh proof with the server's last nonce; a `401` with
/// `WWW-Authenticate: DPoP error="use_dpop_nonce"` is resent once with the new nonce, by the same
/// rule (replayable bodies only, one resend in all).
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
#[derive(Clone)]
pub struct ApiClient {
    base: BaseUrl,
    agent: ureq::Agent,
    auth: Option<Auth>,
    error_for_status: bool,
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClient")
            .field("base", &self.base)
            .field("auth", &self.auth.is_some())
            .field("error_for_status", &self.error_for_status)
            .finish_non_exhaustive()
    }
}

impl ApiClient {
    /// A client for the API at `base_url` (`https`, or `http` on a loopback address), on an agent
    /// with ureq's defaults, without authentication until [`auth`](Self::auth) is set.
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
    /// let api = ApiClient::with_base(BaseUrl::allowing_insecure_http("http://api.internal/")?);
    /// # let _ = api;
    /// # Ok::<(), grantline_ureq::grantline::Error>(())
    /// ```
    #[must_use]
    pub fn with_base(base: BaseUrl) -> Self {
        Self {
            base,
            agent: ureq::Agent::new_with_defaults(),
            auth: None,
            error_for_status: true,
        }
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
        let mut bytes = Vec::new();
        let encoded = SendBody::from_json(&value).and_then(|body| {
            body.into_reader()
                .read_to_end(&mut bytes)
                .map_err(ureq::Error::from)
        });
        match encoded {
            Ok(_) => {
                self.headers
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                if !self.headers.contains_key(ACCEPT) {
                    self.headers
                        .insert(ACCEPT, HeaderValue::from_static("application/json"));
                }
                self.body = RequestBody::Bytes(bytes);
            }
            Err(e) => {
                if self.url.is_ok() {
                    self.url = Err(ApiError::Body(e));
                }
            }
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
    /// [`ApiError::Body`] for a request that could not be built.
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
            return Err(ApiError::Path(grantline::Error::Config(
                grantline::error::ConfigError::InvalidParameter {
                    name: "path".to_owned(),
                    reason: "it leads outside the API's base URL",
                },
            )));
        }
        let uri: http::Uri = url.as_str().parse().map_err(|_| {
            ApiError::Path(grantline::Error::Config(
                grantline::error::ConfigError::InvalidParameter {
                    name: "path".to_owned(),
                    reason: "it does not make a valid request URI",
                },
            ))
        })?;
        let mut body = Some(self.body);
        let replayable = !matches!(body, Some(RequestBody::Reader(_)));
        let mut retried = false;
        let response = loop {
            // The token and, for a DPoP token, a fresh proof for this attempt.
            let mut auth_headers = HeaderMap::new();
            let token = match &api.auth {
                Some(auth) => Some(
                    auth.authorize(&mut auth_headers, self.method.as_str(), url.as_str())
                        .map_err(ApiError::Auth)?,
                ),
                None => None,
            };
            let outgoing = match &mut body {
                Some(RequestBody::Bytes(bytes)) => Outgoing::Bytes(bytes),
                Some(RequestBody::Reader(_)) => match body.take() {
                    Some(RequestBody::Reader(reader)) => Outgoing::Reader(reader),
                    _ => Outgoing::Empty,
                },
                Some(RequestBody::Empty) | None => Outgoing::Empty,
            };
            let response =
                api.dispatch(&self.method, &uri, &self.headers, auth_headers, outgoing)?;
            match (&api.auth, &token) {
                (Some(auth), Some(token))
                    // A refused token (renewed once, across threads) or a DPoP nonce asked for:
                    // resend once, if the body allows it.
                    if auth.after_response(token, url.as_str(), response.status(), response.headers())
                        && replayable
                        && !retried =>
                {
                    retried = true;
                    continue;
                }
                _ => break response,
            }
        };
        let status = response.status();
        if self.error_for_status && (status.is_client_error() || status.is_server_error()) {
            return Err(ApiError::Status(StatusError::read(response)));
        }
        Ok(response)
    }

    /// Sends the request and reads the response body as JSON into `T`.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send), plus [`ApiError::Body`] when the body is not the JSON `T`
    /// expects (or is longer than ureq's 10 MB default).
    ///
    /// ```no_run
    /// #[derive(serde::Deserialize)]
    /// struct Item { name: String }
    /// # let api = grantline_ureq::ApiClient::new("https://api.example/")?;
    /// let item: Item = api.get("items/7").recv_json()?;
    /// # let _ = item.name;
    /// # Ok::<(), grantline_ureq::ApiError>(())
    /// ```
    pub fn recv_json<T: serde::de::DeserializeOwned>(mut self) -> Result<T, ApiError> {
        if !self.headers.contains_key(ACCEPT) {
            self.headers
                .insert(ACCEPT, HeaderValue::from_static("application/json"));
        }
        let mut response = self.send()?;
        response.body_mut().read_json().map_err(ApiError::Body)
    }
}

impl ApiClient {
    /// Sends one attempt: no redirects, every status a response.
    fn dispatch(
        &self,
        method: &Method,
        uri: &http::Uri,
        headers: &HeaderMap,
        auth_headers: HeaderMap,
        body: Outgoing<'_>,
    ) -> Result<http::Response<Body>, ApiError> {
        let mut builder = http::Request::builder()
            .method(method.clone())
            .uri(uri.clone());
        if let Some(map) = builder.headers_mut() {
            map.extend(headers.iter().map(|(k, v)| (k.clone(), v.clone())));
            // Replaces any Authorization (and DPoP) header the caller set.
            for (name, value) in auth_headers {
                if let Some(name) = name {
                    map.insert(name, value);
                }
            }
        }
        let result = match body {
            Outgoing::Empty => self.run(builder.body(()).map_err(|_| ApiError::InvalidHeader)?),
            Outgoing::Bytes(bytes) => {
                self.run(builder.body(bytes).map_err(|_| ApiError::InvalidHeader)?)
            }
            Outgoing::Reader(reader) => self.run(
                builder
                    .body(SendBody::from_owned_reader(reader))
                    .map_err(|_| ApiError::InvalidHeader)?,
            ),
        };
        result.map_err(|e| ApiError::Transport(TransportError::from_send(e)))
    }

    fn run<B: ureq::AsSendBody>(
        &self,
        request: http::Request<B>,
    ) -> Result<http::Response<Body>, ureq::Error> {
        crate::transport::run_without_redirects(&self.agent, request)
    }
}

/// An error status (4xx or 5xx) from the API, with its headers and the start of its body (at
/// most 64 KiB).
///
/// `Display` shows the status only; `Debug` shows the status and the body's length, never the
/// body (it may echo what was sent).
///
/// ```no_run
/// use grantline_ureq::{ApiClient, ApiError};
/// # let api = ApiClient::new("https://api.example/")?;
/// if let Err(ApiError::Status(e)) = api.get("items/7").send() {
///     eprintln!("{e}: {}", String::from_utf8_lossy(e.body()));
/// }
/// # Ok::<(), ApiError>(())
/// ```
pub struct StatusError(Box<StatusParts>);

/// Boxed, so that the errors that carry it stay small.
struct StatusParts {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl StatusError {
    fn read(mut response: http::Response<Body>) -> Self {
        let body = response
            .body_mut()
            .with_config()
            .limit(ERROR_BODY_LIMIT)
            .read_to_vec()
            .unwrap_or_default();
        let (parts, _) = response.into_parts();
        Self(Box::new(StatusParts {
            status: parts.status,
            headers: parts.headers,
            body,
        }))
    }

    /// The status.
    ///
    /// ```no_run
    /// # fn f(e: grantline_ureq::StatusError) {
    /// assert!(e.status().is_client_error() || e.status().is_server_error());
    /// # }
    /// ```
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The response headers.
    ///
    /// ```no_run
    /// # fn f(e: grantline_ureq::StatusError) {
    /// let _retry_after = e.headers().get("retry-after");
    /// # }
    /// ```
    #[must_use]
    pub fn headers(&self) -> &HeaderMap {
        &self.0.headers
    }

    /// The body, or its first 64 KiB (empty if it could not be read).
    ///
    /// ```no_run
    /// # fn f(e: grantline_ureq::StatusError) {
    /// let _text = String::from_utf8_lossy(e.body());
    /// # }
    /// ```
    #[must_use]
    pub fn body(&self) -> &[u8] {
        &self.0.body
    }
}

impl fmt::Debug for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusError")
            .field("status", &self.0.status)
            .field("body_len", &self.0.body.len())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the API answered with HTTP {}", self.0.status)
    }
}

impl std::error::Error for StatusError {}

/// Everything an [`ApiClient`] request can fail with.
///
/// ```
/// use grantline_ureq::ApiError;
///
/// fn advice(e: &ApiError) -> &'static str {
///     match e {
///         ApiError::Path(_) => "fix the path: it leaves the API",
///         ApiError::Auth(_) => "no token: check the client's credentials and the authorization server",
///         ApiError::Status(s) if s.status() == 403 => "the token lacks a scope",
///         ApiError::Status(_) => "the API said no",
///         ApiError::Transport(_) => "the API did not answer",
///         _ => "the request or its body",
///     }
/// }
/// # let _ = advice;
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ApiError {
    /// The path (or base URL) was refused: it could leave the API's base URL. Nothing was sent.
    Path(grantline::Error),
    /// No token could be had: the renewal failed.
    Auth(AuthError),
    /// The request got no answer (connection, TLS, timeout).
    Transport(TransportError),
    /// The API answered with a 4xx or 5xx status.
    Status(StatusError),
    /// A header name or value given to the request is invalid.
    InvalidHeader,
    /// The request body could not be encoded as JSON, or the response body could not be read or
    /// was not the JSON expected.
    Body(ureq::Error),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Path(e) => e.fmt(f),
            ApiError::Auth(e) => write!(f, "no access token: {e}"),
            ApiError::Transport(e) => e.fmt(f),
            ApiError::Status(e) => e.fmt(f),
            ApiError::InvalidHeader => f.write_str("a request header name or value is invalid"),
            ApiError::Body(_) => f.write_str("the body could not be encoded or decoded"),
        }
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ApiError::Path(e) => Some(e),
            ApiError::Auth(e) => Some(e),
            ApiError::Transport(e) => Some(e),
            ApiError::Status(e) => Some(e),
            ApiError::InvalidHeader => None,
            ApiError::Body(e) => Some(e),
        }
    }
}
