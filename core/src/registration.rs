//! Dynamic client registration (RFC 7591) and its management (RFC 7592): create an OAuth
//! client from code, read it, replace its metadata, delete it.
//!
//! ```text
//! ClientMetadata ──RegistrationRequest::new(..).into_flow(endpoint)──▶ POST (JSON)
//!                                                                   │
//!                RegisteredClient { client_id, client_secret, registration_access_token, ... }
//!                  ├─ read()            ─▶ GET    registration_client_uri
//!                  ├─ update(metadata)  ─▶ PUT    registration_client_uri (full replacement)
//!                  ├─ delete()          ─▶ DELETE registration_client_uri
//!                  └─ client_builder(..) ─▶ a grantline Client for the new client
//! ```
//!
//! ```
//! // `testing::Driver` plays the server here; it needs grantline's `testing` feature.
//! use grantline::{registration::{ClientMetadata, RegistrationRequest}, testing::Driver};
//!
//! let metadata = ClientMetadata::new()
//!     .redirect_uris(["http://127.0.0.1:8765/callback"])
//!     .grant_types(["authorization_code", "refresh_token"])
//!     .client_name("My CLI");
//! let flow = RegistrationRequest::new(metadata)
//!     .initial_access_token("iat-123")
//!     .into_flow("https://as.example/register")?;
//! let mut driver = Driver::new().reply_json(201, r#"{
//!     "client_id": "s6BhdRkqt3", "client_secret": "cf136dc3c1fc93f31185e5885805d",
//!     "client_secret_expires_at": 0, "registration_access_token": "this.is.an.access.token",
//!     "registration_client_uri": "https://as.example/register/s6BhdRkqt3",
//!     "redirect_uris": ["http://127.0.0.1:8765/callback"], "token_endpoint_auth_method": "client_secret_basic"
//! }"#);
//! let registered = driver.run(flow).unwrap();
//! assert_eq!(registered.client_id(), "s6BhdRkqt3");
//! let client = registered.client_builder().token_endpoint("https://as.example/token").build()?;
//! assert_eq!(client.auth_method(), "client_secret_basic");
//! # Ok::<(), grantline::Error>(())
//! ```

use std::time::SystemTime;

use http::Method;
use serde_json::{Map, Value};

use crate::EndpointKind;
use crate::endpoint::check_endpoint;
use crate::error::{InvalidResponse, UnexpectedResponse};
use crate::flow::{DocumentCall, OneShot, one_shot_flow};
use crate::response::{error_from, field, success_object};
use crate::secret::{AccessToken, ClientSecret};
use crate::{Client, ClientBuilder, Error, Now};

/// A client's metadata (RFC 7591 §2): the standard fields, and any other.
///
/// Serializes to the JSON a registration endpoint expects, leaving out what was not set.
///
/// ```
/// use grantline::registration::ClientMetadata;
/// let metadata = ClientMetadata::new()
///     .redirect_uris(["https://app.example/cb"])
///     .token_endpoint_auth_method("client_secret_post")
///     .field("tenant", serde_json::json!("acme"));
/// let json = metadata.to_json();
/// assert_eq!(json["token_endpoint_auth_method"], "client_secret_post");
/// assert_eq!(json["tenant"], "acme");
/// assert!(json.get("jwks_uri").is_none());
/// ```
#[derive(Clone, Default, PartialEq)]
pub struct ClientMetadata {
    fields: Map<String, Value>,
}

/// Credential members (a `software_statement`, a `client_secret` set by hand) are redacted.
impl std::fmt::Debug for ClientMetadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientMetadata")
            .field("fields", &crate::error::redact_members(&self.fields))
            .finish()
    }
}

macro_rules! string_field {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[must_use]
        pub fn $name(self, value: impl Into<String>) -> Self {
            self.field(stringify!($name), Value::String(value.into()))
        }
    };
}

macro_rules! list_field {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[must_use]
        pub fn $name<S: Into<String>>(self, values: impl IntoIterator<Item = S>) -> Self {
            let values = values.into_iter().map(|v| Value::String(v.into())).collect();
            self.field(stringify!($name), Value::Array(values))
        }
    };
}

impl ClientMetadata {
    /// Empty metadata.
    ///
    /// ```
    /// assert!(grantline::registration::ClientMetadata::new().to_json().is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets any field (vendor extensions, `software_id`, ...).
    ///
    /// ```
    /// let m = grantline::registration::ClientMetadata::new().field("software_id", "4NRB1-0XZABZI9E6-5SM3R".into());
    /// assert_eq!(m.get("software_id").unwrap(), "4NRB1-0XZABZI9E6-5SM3R");
    /// ```
    #[must_use]
    pub fn field(mut self, name: impl Into<String>, value: Value) -> Self {
        self.fields.insert(name.into(), value);
        self
    }

    /// A field's value, if set.
    ///
    /// ```
    /// assert!(grantline::registration::ClientMetadata::new().get("client_name").is_none());
    /// ```
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// The metadata as a JSON object.
    ///
    /// ```
    /// let json = grantline::registration::ClientMetadata::new().client_name("x").to_json();
    /// assert_eq!(json["client_name"], "x");
    /// ```
    #[must_use]
    pub fn to_json(&self) -> Map<String, Value> {
        self.fields.clone()
    }

    list_field!(
        /// `redirect_uris`.
        ///
        /// ```
        /// let _ = grantline::registration::ClientMetadata::new().redirect_uris(["https://app.example/cb"]);
        /// ```
        redirect_uris
    );
    list_field!(
        /// `grant_types`.
        ///
        /// ```
        /// let _ = grantline::registration::ClientMetadata::new().grant_types(["client_credentials"]);
        /// ```
        grant_types
    );
    list_field!(
        /// `response_types`.
        ///
        /// ```
        /// let _ = grantline::registration::ClientMetadata::new().response_types(["code"]);
        /// ```
        response_types
    );
    list_field!(
        /// `contacts`.
        ///
        /// ```
        /// let _ = grantline::registration::ClientMetadata::new().contacts(["ops@app.example"]);
        /// ```
        contacts
    );
    list_field!(
        /// `post_logout_redirect_uris` (OpenID Connect RP-initiated logout).
        ///
        /// ```
        /// let _ = grantline::registration::ClientMetadata::new().post_logout_redirect_uris(["https://app.example/bye"]);
        /// ```
        post_logout_redirect_uris
    );
    string_field!(
        /// `token_endpoint_auth_method`: `client_secret_basic`, `client_secret_post`,
        /// `private_key_jwt`, `none`, ...
        ///
        /// ```
        /// let _ = grantline::registration::ClientMetadata::new().token_endpoint_auth_method("none");
        /// ```
        token_endpoint_auth_method
    );
    string_field!(
        /// `client_name`.
        ///
        /// ```
        /// let _ = grantline::registration::ClientMetadata::new().client_name("My app");
        /// ```
        client_name
    );
    string_field!(
        /// `scope`: the scopes the client may ask for, space-separated.
        ///
        /// ```
        /// let _ = grantline::registration::ClientMetadata::new().scope("openid profile");
        /// ```
        scope
    );
    string_field!(
        /// `jwks_uri`: where the client's public keys are.
        ///
        /// ```
        /// let _ = grantline::registration::ClientMetadata::new().jwks_uri("https://app.example/jwks.json");
        /// ```
        jwks_uri
    );
    string_field!(
        /// `software_statement`: a signed JWT asserting the software's metadata.
        ///
        /// ```
        /// let _ = grantline::registration::ClientMetadata::new().software_statement("eyJ...");
        /// ```
        software_statement
    );
    string_field!(
        /// `application_type`: `web` or `native` (OpenID Connect).
        ///
        /// ```
        /// let _ = grantline::registration::ClientMetadata::new().application_type("native");
        /// ```
        application_type
    );

    /// `jwks`: the client's public keys, as a JWK Set.
    ///
    /// ```
    /// let _ = grantline::registration::ClientMetadata::new().jwks(serde_json::json!({"keys": []}));
    /// ```
    #[must_use]
    pub fn jwks(self, jwk_set: Value) -> Self {
        self.field("jwks", jwk_set)
    }
}

/// A registration request: metadata, and the initial access token if the server wants one.
///
/// ```
/// use grantline::registration::{ClientMetadata, RegistrationRequest};
/// let request = RegistrationRequest::new(ClientMetadata::new().client_name("x"))
///     .initial_access_token("iat");
/// assert!(!format!("{request:?}").contains("iat\""));
/// ```
#[derive(Clone)]
#[must_use = "a registration request does nothing until into_flow"]
pub struct RegistrationRequest {
    metadata: ClientMetadata,
    initial_access_token: Option<AccessToken>,
    insecure_http: bool,
}

impl std::fmt::Debug for RegistrationRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrationRequest")
            .field("metadata", &self.metadata)
            .field("initial_access_token", &self.initial_access_token)
            .finish_non_exhaustive()
    }
}

impl RegistrationRequest {
    /// Registers a client with `metadata`.
    ///
    /// ```
    /// let _ = grantline::registration::RegistrationRequest::new(Default::default());
    /// ```
    pub fn new(metadata: ClientMetadata) -> Self {
        Self {
            metadata,
            initial_access_token: None,
            insecure_http: false,
        }
    }

    /// Sends an initial access token (RFC 7591 §3) as a bearer token.
    ///
    /// ```
    /// let _ = grantline::registration::RegistrationRequest::new(Default::default()).initial_access_token("t");
    /// ```
    pub fn initial_access_token(mut self, token: impl Into<AccessToken>) -> Self {
        self.initial_access_token = Some(token.into());
        self
    }

    /// Allows a plain `http` registration endpoint on a host that is not loopback (see
    /// [`ClientBuilder::insecure_http`]).
    ///
    /// ```
    /// let _ = grantline::registration::RegistrationRequest::new(Default::default()).insecure_http();
    /// ```
    pub fn insecure_http(mut self) -> Self {
        self.insecure_http = true;
        self
    }

    /// A flow that registers the client at `registration_endpoint`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidEndpoint`](crate::error::ConfigError::InvalidEndpoint) or
    /// [`ConfigError::InsecureEndpoint`](crate::error::ConfigError::InsecureEndpoint) for an
    /// endpoint that is not usable.
    ///
    /// ```
    /// use grantline::registration::RegistrationRequest;
    /// assert!(RegistrationRequest::new(Default::default()).into_flow("http://as.example/reg").is_err());
    /// ```
    pub fn into_flow(self, registration_endpoint: &str) -> Result<RegistrationFlow, Error> {
        let url = check_endpoint(
            EndpointKind::Registration,
            registration_endpoint,
            self.insecure_http,
        )?;
        let body = serde_json::to_vec(&self.metadata.fields).unwrap_or_default();
        let call = DocumentCall::new(url, EndpointKind::Registration)
            .method(Method::POST)
            .bearer(self.initial_access_token.map(AccessToken::into_secret))
            .json(body);
        let allow = self.insecure_http;
        Ok(RegistrationFlow(OneShot::new(
            call,
            move |response, now| RegisteredClient::from_response(response, now, allow),
        )))
    }

    /// A flow that registers the client at the registration endpoint of `client`'s server
    /// (from its metadata or its builder).
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingEndpoint`](crate::error::ConfigError::MissingEndpoint) when the
    /// client knows no registration endpoint.
    ///
    /// ```
    /// let client = grantline::Client::builder("bootstrap").build()?;
    /// assert!(grantline::registration::RegistrationRequest::new(Default::default()).into_flow_for(&client).is_err());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn into_flow_for(self, client: &Client) -> Result<RegistrationFlow, Error> {
        let endpoint = client.require_endpoint(EndpointKind::Registration)?.clone();
        // The client's endpoints were checked when it was built.
        self.insecure_http().into_flow(endpoint.as_str())
    }
}

/// What the server registered (RFC 7591 §3.2.1, RFC 7592 §3).
///
/// `Debug` hides the client secret and the registration access token.
#[derive(Clone)]
pub struct RegisteredClient {
    client_id: String,
    client_secret: Option<ClientSecret>,
    client_id_issued_at: Option<SystemTime>,
    client_secret_expires_at: Option<SystemTime>,
    registration_access_token: Option<AccessToken>,
    registration_client_uri: Option<String>,
    metadata: ClientMetadata,
    insecure_http: bool,
}

impl std::fmt::Debug for RegisteredClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisteredClient")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("client_secret_expires_at", &self.client_secret_expires_at)
            .field("registration_access_token", &self.registration_access_token)
            .field("registration_client_uri", &self.registration_client_uri)
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

/// Writes [`RegisteredClient::to_document`] (secrets included: see its security note).
impl serde::Serialize for RegisteredClient {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_document().serialize(serializer)
    }
}

/// Reads a document with [`RegisteredClient::from_document`].
impl<'de> serde::Deserialize<'de> for RegisteredClient {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let document = Map::<String, Value>::deserialize(deserializer)?;
        Self::from_document(document).map_err(serde::de::Error::custom)
    }
}

impl RegisteredClient {
    fn from_response(
        response: &http::Response<Vec<u8>>,
        _now: Now,
        insecure_http: bool,
    ) -> Result<Self, Error> {
        Self::from_object(success_object(response)?, insecure_http)
    }

    /// A registered client read back from storage: the JSON document the server returned (or
    /// one with the same members: `client_id`, `client_secret`, `registration_access_token`,
    /// `registration_client_uri`, metadata), as an application keeps it between runs.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidResponse`] when `client_id` is missing or a member has the wrong type.
    ///
    /// ```
    /// use grantline::registration::RegisteredClient;
    /// let stored = serde_json::json!({
    ///     "client_id": "c-1", "client_secret": "s", "registration_access_token": "rat",
    ///     "registration_client_uri": "https://as.example/reg/c-1",
    ///     "token_endpoint_auth_method": "client_secret_post"
    /// });
    /// let client = RegisteredClient::from_document(stored.as_object().unwrap().clone())?;
    /// assert!(client.read().is_ok());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn from_document(document: Map<String, Value>) -> Result<Self, Error> {
        Self::from_object(document, false)
    }

    /// The document [`from_document`](Self::from_document) reads back: `client_id`,
    /// `client_secret`, `client_id_issued_at`, `client_secret_expires_at` (unix seconds; left out
    /// when unknown or never), `registration_access_token`, `registration_client_uri` and every
    /// metadata member, as the server returned them. `RegisteredClient`'s `Serialize` writes the
    /// same document, and its `Deserialize` reads it with `from_document`.
    ///
    /// **Security:** the document holds the client secret and the registration access token:
    /// store it as you store those (a keyring, a secret store, a file only you can read).
    /// Whether plain `http` was allowed ([`insecure_http`](Self::insecure_http)) is a local
    /// choice, not stored.
    ///
    /// ```
    /// use grantline::registration::RegisteredClient;
    /// let stored = serde_json::json!({
    ///     "client_id": "c-1", "client_secret": "s", "registration_access_token": "rat",
    ///     "registration_client_uri": "https://as.example/reg/c-1", "client_id_issued_at": 1700000000,
    ///     "redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "client_secret_post"
    /// });
    /// let client = RegisteredClient::from_document(stored.as_object().unwrap().clone())?;
    /// assert_eq!(serde_json::Value::Object(client.to_document()), stored);
    /// // Through serde, the same document:
    /// let text = serde_json::to_string(&client).unwrap();
    /// let back: RegisteredClient = serde_json::from_str(&text).unwrap();
    /// assert_eq!(back.registration_access_token().unwrap().secret(), "rat");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn to_document(&self) -> Map<String, Value> {
        let mut document = Map::new();
        document.insert("client_id".to_owned(), self.client_id.clone().into());
        if let Some(secret) = &self.client_secret {
            document.insert("client_secret".to_owned(), secret.secret().into());
        }
        let seconds = |time: SystemTime| {
            time.duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        };
        if let Some(at) = self.client_id_issued_at {
            document.insert("client_id_issued_at".to_owned(), seconds(at).into());
        }
        if let Some(at) = self.client_secret_expires_at {
            document.insert("client_secret_expires_at".to_owned(), seconds(at).into());
        }
        if let Some(token) = &self.registration_access_token {
            document.insert(
                "registration_access_token".to_owned(),
                token.secret().into(),
            );
        }
        if let Some(uri) = &self.registration_client_uri {
            document.insert("registration_client_uri".to_owned(), uri.clone().into());
        }
        for (name, value) in &self.metadata.fields {
            document
                .entry(name.clone())
                .or_insert_with(|| value.clone());
        }
        document
    }

    /// Allows plain `http` management URLs on hosts that are not loopback (see
    /// [`ClientBuilder::insecure_http`]).
    ///
    /// ```
    /// # use grantline::registration::RegisteredClient;
    /// # let client = RegisteredClient::from_document(serde_json::json!({"client_id": "c"}).as_object().unwrap().clone())?;
    /// let client = client.insecure_http();
    /// # let _ = client;
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn insecure_http(mut self) -> Self {
        self.insecure_http = true;
        self
    }

    fn from_object(
        mut object: crate::response::Object,
        insecure_http: bool,
    ) -> Result<Self, Error> {
        let client_id = field::required_string(&mut object, "client_id")?;
        let client_secret = field::string(&mut object, "client_secret")?.map(ClientSecret::new);
        let time = |object: &mut crate::response::Object, name| {
            field::seconds(object, name).map(|secs| {
                secs.filter(|d| !d.is_zero())
                    .and_then(|d| SystemTime::UNIX_EPOCH.checked_add(d))
            })
        };
        let client_id_issued_at = time(&mut object, "client_id_issued_at")?;
        // 0 means "never expires" (RFC 7591 §3.2.1).
        let client_secret_expires_at = time(&mut object, "client_secret_expires_at")?;
        let registration_access_token =
            field::string(&mut object, "registration_access_token")?.map(AccessToken::new);
        let registration_client_uri = field::string(&mut object, "registration_client_uri")?;
        Ok(Self {
            client_id,
            client_secret,
            client_id_issued_at,
            client_secret_expires_at,
            registration_access_token,
            registration_client_uri,
            metadata: ClientMetadata { fields: object },
            insecure_http,
        })
    }

    /// The client identifier.
    ///
    /// ```
    /// # fn f(r: &grantline::registration::RegisteredClient) -> &str { r.client_id() }
    /// ```
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The client secret, if one was issued.
    ///
    /// ```
    /// # fn f(r: &grantline::registration::RegisteredClient) -> bool { r.client_secret().is_some() }
    /// ```
    #[must_use]
    pub fn client_secret(&self) -> Option<&ClientSecret> {
        self.client_secret.as_ref()
    }

    /// When the client secret expires (`None`: never, or not said).
    ///
    /// ```
    /// # fn f(r: &grantline::registration::RegisteredClient) -> Option<std::time::SystemTime> { r.client_secret_expires_at() }
    /// ```
    #[must_use]
    pub fn client_secret_expires_at(&self) -> Option<SystemTime> {
        self.client_secret_expires_at
    }

    /// When the client identifier was issued, if said.
    ///
    /// ```
    /// # fn f(r: &grantline::registration::RegisteredClient) -> Option<std::time::SystemTime> { r.client_id_issued_at() }
    /// ```
    #[must_use]
    pub fn client_id_issued_at(&self) -> Option<SystemTime> {
        self.client_id_issued_at
    }

    /// The registration access token for managing the client (RFC 7592), if issued.
    ///
    /// ```
    /// # fn f(r: &grantline::registration::RegisteredClient) -> bool { r.registration_access_token().is_some() }
    /// ```
    #[must_use]
    pub fn registration_access_token(&self) -> Option<&AccessToken> {
        self.registration_access_token.as_ref()
    }

    /// Where the client is managed (RFC 7592), if the server offers it.
    ///
    /// ```
    /// # fn f(r: &grantline::registration::RegisteredClient) -> Option<&str> { r.registration_client_uri() }
    /// ```
    #[must_use]
    pub fn registration_client_uri(&self) -> Option<&str> {
        self.registration_client_uri.as_deref()
    }

    /// The client's metadata as the server registered it (every field it returned besides the
    /// credentials).
    ///
    /// ```
    /// # fn f(r: &grantline::registration::RegisteredClient) -> bool { r.metadata().get("redirect_uris").is_some() }
    /// ```
    #[must_use]
    pub fn metadata(&self) -> &ClientMetadata {
        &self.metadata
    }

    /// A client builder for this client: its id, and authentication by its registered
    /// `token_endpoint_auth_method` (`client_secret_basic` when a secret was issued and no
    /// method named, `none` without a secret). Add the server's endpoints (or start from
    /// [`Client::from_metadata`] and set the same authentication).
    ///
    /// ```
    /// # fn f(r: &grantline::registration::RegisteredClient) -> Result<grantline::Client, grantline::Error> {
    /// r.client_builder().token_endpoint("https://as.example/token").build()
    /// # }
    /// ```
    pub fn client_builder(&self) -> ClientBuilder {
        self.configure(Client::builder(self.client_id.clone()))
    }

    /// Sets this client's id-independent authentication on `builder` (used with
    /// [`Client::from_metadata`], whose builder already names the server's endpoints).
    ///
    /// ```
    /// # fn f(r: &grantline::registration::RegisteredClient, m: &grantline::discovery::ServerMetadata) -> Result<grantline::Client, grantline::Error> {
    /// r.configure(grantline::Client::from_metadata(r.client_id(), m)).build()
    /// # }
    /// ```
    pub fn configure(&self, builder: ClientBuilder) -> ClientBuilder {
        let method = self
            .metadata
            .get("token_endpoint_auth_method")
            .and_then(Value::as_str);
        match (method, &self.client_secret) {
            (Some("client_secret_post"), Some(secret)) => {
                builder.client_secret_post(secret.clone())
            }
            (Some("none"), _) | (_, None) => builder,
            (_, Some(secret)) => builder.client_secret_basic(secret.clone()),
        }
    }

    fn management(&self, method: Method, body: Option<Vec<u8>>) -> Result<DocumentCall, Error> {
        let uri = self
            .registration_client_uri
            .as_deref()
            .ok_or(Error::Config(crate::error::ConfigError::MissingEndpoint(
                EndpointKind::Registration,
            )))?;
        let url = check_endpoint(EndpointKind::Registration, uri, self.insecure_http)?;
        let call = DocumentCall::new(url, EndpointKind::Registration)
            .method(method)
            .bearer(
                self.registration_access_token
                    .as_ref()
                    .map(|t| t.secret().to_owned()),
            );
        Ok(match body {
            Some(body) => call.json(body),
            None => call,
        })
    }

    /// A flow that reads the client's current registration (RFC 7592 §2.1).
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingEndpoint`](crate::error::ConfigError::MissingEndpoint) when the
    /// server gave no `registration_client_uri`.
    ///
    /// ```
    /// # fn f(r: &grantline::registration::RegisteredClient) -> Result<(), grantline::Error> {
    /// let _flow = r.read()?;
    /// # Ok(()) }
    /// ```
    pub fn read(&self) -> Result<RegistrationFlow, Error> {
        let call = self.management(Method::GET, None)?;
        Ok(self.registration_flow(call))
    }

    /// A flow that replaces the client's metadata with `metadata` (RFC 7592 §2.2: a full
    /// replacement; fields left out may be reset by the server). The current `client_id` (and
    /// `client_secret`, if any) are sent along, as the RFC requires.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    ///
    /// ```
    /// # fn f(r: &grantline::registration::RegisteredClient) -> Result<(), grantline::Error> {
    /// let updated = r.metadata().clone().client_name("Renamed");
    /// let _flow = r.update(updated)?;
    /// # Ok(()) }
    /// ```
    pub fn update(&self, metadata: ClientMetadata) -> Result<RegistrationFlow, Error> {
        let mut fields = metadata.fields;
        fields.insert(
            "client_id".to_owned(),
            Value::String(self.client_id.clone()),
        );
        if let Some(secret) = &self.client_secret {
            fields.insert(
                "client_secret".to_owned(),
                Value::String(secret.secret().to_owned()),
            );
        }
        let body = serde_json::to_vec(&fields).unwrap_or_default();
        let call = self.management(Method::PUT, Some(body))?;
        Ok(self.registration_flow(call))
    }

    /// A flow that deletes the client (RFC 7592 §2.3).
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    ///
    /// ```
    /// # fn f(r: &grantline::registration::RegisteredClient) -> Result<(), grantline::Error> {
    /// let _flow = r.delete()?;
    /// # Ok(()) }
    /// ```
    pub fn delete(&self) -> Result<DeletionFlow, Error> {
        let call = self.management(Method::DELETE, None)?;
        Ok(DeletionFlow(OneShot::new(call, |response, _now| {
            let status = response.status();
            if status.is_success() {
                Ok(())
            } else if status.is_redirection() {
                Err(UnexpectedResponse::from_response(
                    response,
                    "the server answered with a redirect, which grantline never follows to an authorization server",
                )
                .into())
            } else {
                Err(error_from(response))
            }
        })))
    }

    fn registration_flow(&self, call: DocumentCall) -> RegistrationFlow {
        let allow = self.insecure_http;
        let previous = self.clone();
        RegistrationFlow(OneShot::new(call, move |response, now| {
            let mut fresh = RegisteredClient::from_response(response, now, allow)?;
            // RFC 7592: the server may leave out what did not change.
            if fresh.client_secret.is_none() {
                fresh.client_secret = previous.client_secret.clone();
            }
            if fresh.registration_access_token.is_none() {
                fresh.registration_access_token = previous.registration_access_token.clone();
            }
            if fresh.registration_client_uri.is_none() {
                fresh.registration_client_uri = previous.registration_client_uri.clone();
            }
            if fresh.client_id != previous.client_id {
                return Err(
                    InvalidResponse::new("client_id", "is not the client being managed").into(),
                );
            }
            Ok(fresh)
        }))
    }
}

/// A flow that registers, reads or updates a client, yielding the [`RegisteredClient`].
#[derive(Debug)]
pub struct RegistrationFlow(OneShot<RegisteredClient>);

one_shot_flow!(RegistrationFlow, RegisteredClient);

/// A flow that deletes a registered client (a 204 is success).
#[derive(Debug)]
pub struct DeletionFlow(OneShot<()>);

one_shot_flow!(DeletionFlow, ());
