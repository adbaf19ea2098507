//! Presets for the providers people use: where each one's endpoints are, and how it bends the
//! protocol.
//!
//! A [`Preset`] is one provider's settings, made by one constructor. It hides nothing: each
//! quirk below is a setting you can read back ([`Preset::secret_method`],
//! [`Preset::requested_audience`], [`Preset::response_mode`], [`Preset::tenant_template`]) or a behaviour
//! every grantline client has anyway, not only a preset's.
//!
//! | constructor | endpoints from | what it sets, and why |
//! | --- | --- | --- |
//! | [`github`] | fixed (GitHub has no discovery) | `client_secret_post`. GitHub answers form-encoded unless asked for JSON and puts errors in a 200: every grantline request sends `Accept: application/json`, and the one token parser reads a form-encoded answer and treats an `error` member in a 200 as the OAuth error it is |
//! | [`google`] | discovery of `https://accounts.google.com` | `client_secret_post`. The device flow's answer says `verification_url`: the device parser reads it as `verification_uri`. Service accounts: [`google_service_account`] |
//! | [`entra_id`] | discovery of `https://login.microsoftonline.com/{tenant}/v2.0` | `client_secret_post`; with [`Tenant::Common`] or [`Tenant::Organizations`] the `{tenantid}` issuer is accepted ([`Preset::tenant_template`]) and each ID token's `iss` is checked with its own `tid`. Client credentials ask for [`entra_default_scope`] |
//! | [`auth0`] | discovery of `https://{domain}/` | `client_secret_post`; [`Preset::audience`] (the API to get a token for) is sent by [`Preset::authorization_request`] and [`Preset::token_request`] |
//! | [`okta`] | discovery of the org (`https://{domain}`) or a custom authorization server (`https://{domain}/oauth2/{id}`) | `client_secret_basic` |
//! | [`keycloak`] | discovery of `{base}/realms/{realm}` | `client_secret_basic` |
//! | [`cognito`] | discovery of `https://cognito-idp.{region}.amazonaws.com/{user pool id}` | `client_secret_basic` with the id and secret sent raw ([`BasicEncoding::Raw`]): Cognito rejects the form-encoded form RFC 6749 asks for |
//! | [`apple`] | discovery of `https://appleid.apple.com` | an ES256 client secret JWT signed anew for each request ([`AppleClientSecret`]); `response_mode=form_post` ([`Preset::response_mode`]): Apple posts the callback |
//!
//! Using a preset takes three steps: run its discovery (when it has one), build the client from
//! the metadata, then start flows as with any client.
//!
//! ```
//! // `testing::Driver` plays Keycloak here; it needs grantline's `testing` feature.
//! use grantline::{providers, testing::Driver};
//!
//! let preset = providers::keycloak("https://sso.example", "acme", "my-app")?.client_secret("s3cr3t");
//! let mut driver = Driver::new().reply_json(200, r#"{
//!     "issuer": "https://sso.example/realms/acme",
//!     "authorization_endpoint": "https://sso.example/realms/acme/protocol/openid-connect/auth",
//!     "token_endpoint": "https://sso.example/realms/acme/protocol/openid-connect/token"
//! }"#);
//! let metadata = match preset.discovery()? {
//!     Some(flow) => Some(driver.run(flow).unwrap()),
//!     None => None,
//! };
//! let client = preset.builder(metadata.as_ref())?.build()?;
//! assert_eq!(client.issuer(), Some("https://sso.example/realms/acme"));
//! assert_eq!(client.auth_method(), "client_secret_basic");
//! # Ok::<(), grantline::Error>(())
//! ```
//!
//! Tests point a preset at a loopback mock with [`Preset::origin`].

use std::fmt;
use std::sync::Arc;

use url::Url;

use crate::authorization::AuthorizationRequest;
use crate::client_auth::{
    AuthContext, AuthTarget, BasicEncoding, ClientAuthentication, ClientSecretBasic,
    ClientSecretPost,
};
use crate::discovery::{DiscoveryFlow, ServerMetadata};
use crate::error::ConfigError;
use crate::grant::TokenRequest;
use crate::secret::ClientSecret;
use crate::{Client, ClientBuilder, EndpointKind, Error};

/// How a preset sends a client secret.
///
/// ```
/// use grantline::providers::{self, SecretMethod};
/// assert_eq!(providers::github("id").secret_method(), SecretMethod::Post);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretMethod {
    /// `client_secret_basic`, the id and secret encoded as given.
    Basic(BasicEncoding),
    /// `client_secret_post`: the id and secret in the form.
    Post,
}

/// Where a preset's endpoints come from.
#[derive(Debug, Clone)]
enum Server {
    /// OpenID Connect discovery of this issuer.
    Discover {
        issuer: String,
        /// The document may name a `{tenantid}` issuer (Entra ID's multi-tenant endpoints).
        tenant_template: bool,
    },
    /// Fixed endpoints (the provider publishes no metadata).
    Endpoints(Vec<(EndpointKind, String)>),
}

/// One provider's settings: where its endpoints are, how the client authenticates, and the
/// parameters it needs. Made by the constructors of this module ([`github`], [`google`],
/// [`entra_id`], [`auth0`], [`okta`], [`keycloak`], [`cognito`], [`apple`]).
///
/// `Debug` never shows the client secret or a key.
///
/// ```
/// let preset = grantline::providers::github("Iv1.0123").client_secret("s3cr3t");
/// assert_eq!(preset.name(), "github");
/// assert!(preset.discovery()?.is_none());
/// let client = preset.builder(None)?.build()?;
/// assert_eq!(
///     client.endpoint(grantline::EndpointKind::Token).unwrap().as_str(),
///     "https://github.com/login/oauth/access_token"
/// );
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Clone)]
pub struct Preset {
    name: &'static str,
    client_id: String,
    server: Server,
    secret_method: SecretMethod,
    auth: Option<Arc<dyn ClientAuthentication>>,
    audience: Option<String>,
    response_mode: Option<&'static str>,
    origin: Option<Url>,
}

impl fmt::Debug for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Preset")
            .field("name", &self.name)
            .field("client_id", &self.client_id)
            .field("server", &self.server)
            .field("secret_method", &self.secret_method)
            .field("auth", &self.auth)
            .field("audience", &self.audience)
            .field("response_mode", &self.response_mode)
            .field("origin", &self.origin.as_ref().map(Url::as_str))
            .finish()
    }
}

impl Preset {
    fn discover(name: &'static str, client_id: String, issuer: String) -> Self {
        Self {
            name,
            client_id,
            server: Server::Discover {
                issuer,
                tenant_template: false,
            },
            secret_method: SecretMethod::Basic(BasicEncoding::FormUrlEncoded),
            auth: None,
            audience: None,
            response_mode: None,
            origin: None,
        }
    }

    fn secret_method_is(mut self, method: SecretMethod) -> Self {
        self.secret_method = method;
        self
    }

    /// The provider's name, as the CLI's `--provider` spells it (`github`, `entra-id`, ...).
    ///
    /// ```
    /// assert_eq!(grantline::providers::okta("acme.okta.com", grantline::providers::AuthServer::Org, "id")?.name(), "okta");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The client identifier.
    ///
    /// ```
    /// assert_eq!(grantline::providers::github("Iv1.0123").client_id(), "Iv1.0123");
    /// ```
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The issuer whose metadata [`discovery`](Self::discovery) fetches, or `None` for a
    /// provider with fixed endpoints (GitHub). With [`origin`](Self::origin) set, the issuer
    /// on that origin.
    ///
    /// ```
    /// let preset = grantline::providers::keycloak("https://sso.example", "acme", "id")?;
    /// assert_eq!(preset.issuer().as_deref(), Some("https://sso.example/realms/acme"));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn issuer(&self) -> Option<String> {
        match &self.server {
            Server::Discover { issuer, .. } => Some(self.relocate(issuer)),
            Server::Endpoints(_) => None,
        }
    }

    /// Whether the issuer's metadata names a `{tenantid}` template (Entra ID's `common` and
    /// `organizations`), which discovery then accepts and ID token validation resolves with
    /// each token's `tid`.
    ///
    /// ```
    /// use grantline::providers::{entra_id, Tenant};
    /// assert!(entra_id(Tenant::Common, "id")?.tenant_template());
    /// assert!(!entra_id(Tenant::Id("contoso.onmicrosoft.com".into()), "id")?.tenant_template());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn tenant_template(&self) -> bool {
        matches!(
            self.server,
            Server::Discover {
                tenant_template: true,
                ..
            }
        )
    }

    /// How a client secret given with [`client_secret`](Self::client_secret) is sent.
    ///
    /// ```
    /// use grantline::{client_auth::BasicEncoding, providers::{self, SecretMethod}};
    /// let preset = providers::cognito("eu-west-1_AbCdEf123", "id")?;
    /// assert_eq!(preset.secret_method(), SecretMethod::Basic(BasicEncoding::Raw));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn secret_method(&self) -> SecretMethod {
        self.secret_method
    }

    /// The `audience` parameter the provider needs (Auth0's API identifier), if set.
    ///
    /// ```
    /// let preset = grantline::providers::auth0("acme.eu.auth0.com", "id")?.audience("https://api.example");
    /// assert_eq!(preset.requested_audience(), Some("https://api.example"));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn requested_audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }

    /// The `response_mode` the provider needs in authorization requests (`form_post` for
    /// Apple), if any.
    ///
    /// ```
    /// assert_eq!(grantline::providers::github("id").response_mode(), None);
    /// ```
    #[must_use]
    pub fn response_mode(&self) -> Option<&'static str> {
        self.response_mode
    }

    /// Sets the `audience` sent in authorization and token requests: Auth0 issues an access
    /// token for an API (a JWT) only when asked for that API's identifier.
    ///
    /// ```
    /// let _ = grantline::providers::auth0("acme.eu.auth0.com", "id")?.audience("https://api.example");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// The client secret, sent the provider's way ([`secret_method`](Self::secret_method)).
    ///
    /// ```
    /// let preset = grantline::providers::okta("acme.okta.com", grantline::providers::AuthServer::Org, "id")?.client_secret("s");
    /// assert!(!format!("{preset:?}").contains("\"s\""));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn client_secret(mut self, secret: impl Into<ClientSecret>) -> Self {
        let secret = secret.into();
        self.auth = Some(match self.secret_method {
            SecretMethod::Basic(encoding) => {
                Arc::new(ClientSecretBasic::new(secret).encoding(encoding))
            }
            SecretMethod::Post => Arc::new(ClientSecretPost::new(secret)),
        });
        self
    }

    /// Authenticates the client another way (`private_key_jwt`, mTLS, ...) instead.
    ///
    /// ```
    /// use grantline::client_auth::PublicClient;
    /// let client = grantline::providers::github("id").auth(PublicClient::default()).builder(None)?.build()?;
    /// assert_eq!(client.auth_method(), "none");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn auth(mut self, auth: impl ClientAuthentication + 'static) -> Self {
        self.auth = Some(Arc::new(auth));
        self
    }

    /// **Testing aid**: sends everything to `origin` (scheme, host and port) instead of the
    /// provider's own hosts, keeping each URL's path. Used to replay a provider's recorded
    /// answers from a loopback mock; never for real use.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidParameter`] when `origin` is not an absolute URL.
    ///
    /// ```
    /// let preset = grantline::providers::github("id").origin("http://127.0.0.1:8080")?;
    /// let client = preset.builder(None)?.build()?;
    /// assert_eq!(
    ///     client.endpoint(grantline::EndpointKind::Token).unwrap().as_str(),
    ///     "http://127.0.0.1:8080/login/oauth/access_token"
    /// );
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn origin(mut self, origin: &str) -> Result<Self, Error> {
        let url = Url::parse(origin)
            .ok()
            .filter(|u| u.has_host())
            .ok_or_else(|| invalid("origin", "is not an absolute URL with a host"))?;
        self.origin = Some(url);
        Ok(self)
    }

    /// `url` moved to the testing origin, if one is set: its path and query kept as written.
    fn relocate(&self, url: &str) -> String {
        let Some(origin) = &self.origin else {
            return url.to_owned();
        };
        let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        let rest = after_scheme
            .find('/')
            .and_then(|i| after_scheme.get(i..))
            .unwrap_or("");
        format!("{}{rest}", origin.as_str().trim_end_matches('/'))
    }

    /// The discovery flow that fetches the provider's metadata (OpenID Connect Discovery),
    /// or `None` when the provider has fixed endpoints. Its issuer check accepts a
    /// `{tenantid}` template only when [`tenant_template`](Self::tenant_template) is set.
    ///
    /// # Errors
    ///
    /// An issuer that is not a usable URL (from the values the constructor was given).
    ///
    /// ```
    /// let flow = grantline::providers::google("id").discovery()?.unwrap();
    /// assert_eq!(flow.url().as_str(), "https://accounts.google.com/.well-known/openid-configuration");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn discovery(&self) -> Result<Option<DiscoveryFlow>, Error> {
        let Some(issuer) = self.issuer() else {
            return Ok(None);
        };
        let flow = DiscoveryFlow::openid(&issuer)?;
        Ok(Some(if self.tenant_template() {
            flow.allow_tenant_template()
        } else {
            flow
        }))
    }

    /// A client builder with the provider's endpoints and client authentication: from
    /// `metadata` (what [`discovery`](Self::discovery) returned) for a provider with
    /// discovery, from the fixed endpoints otherwise. Add your redirect URI, DPoP key, ... and
    /// build it.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidParameter`] (`metadata`) when the provider has discovery and no
    /// metadata was given.
    ///
    /// ```
    /// let client = grantline::providers::github("id")
    ///     .builder(None)?
    ///     .redirect_uri("http://127.0.0.1:8080/callback")
    ///     .build()?;
    /// assert_eq!(client.auth_method(), "none");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn builder(&self, metadata: Option<&ServerMetadata>) -> Result<ClientBuilder, Error> {
        let mut builder = match (&self.server, metadata) {
            (Server::Discover { .. }, Some(metadata)) => {
                Client::from_metadata(self.client_id.clone(), metadata)
            }
            (Server::Discover { .. }, None) => {
                return Err(invalid(
                    "metadata",
                    "this provider's endpoints come from discovery: run the preset's discovery() flow and pass its metadata",
                ));
            }
            (Server::Endpoints(endpoints), _) => {
                let mut builder = Client::builder(self.client_id.clone());
                for (kind, url) in endpoints {
                    builder = builder.endpoint(*kind, self.relocate(url));
                }
                builder
            }
        };
        if let Some(auth) = &self.auth {
            builder = builder.auth(Shared(Arc::clone(auth)));
        }
        Ok(builder)
    }

    /// An authorization request on `client` with the provider's parameters:
    /// [`response_mode`](Self::response_mode) and [`requested_audience`](Self::requested_audience) when set.
    ///
    /// ```
    /// let preset = grantline::providers::auth0("acme.eu.auth0.com", "id")?.audience("https://api.example");
    /// let client = grantline::Client::builder("id")
    ///     .authorization_endpoint("https://acme.eu.auth0.com/authorize")
    ///     .token_endpoint("https://acme.eu.auth0.com/oauth/token")
    ///     .redirect_uri("http://127.0.0.1:8080/cb")
    ///     .build()?;
    /// let (url, _) = preset.authorization_request(&client).into_redirect()?;
    /// assert!(url.query_pairs().any(|(k, v)| k == "audience" && v == "https://api.example"));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn authorization_request(&self, client: &Client) -> AuthorizationRequest {
        let mut request = client.authorization_request();
        if let Some(mode) = self.response_mode {
            request = request.response_mode(mode);
        }
        if let Some(audience) = &self.audience {
            request = request.param("audience", audience.clone());
        }
        request
    }

    /// `request` with the provider's [`requested_audience`](Self::requested_audience), when set.
    ///
    /// ```
    /// use grantline::grant::TokenRequest;
    /// let preset = grantline::providers::auth0("acme.eu.auth0.com", "id")?.audience("https://api.example");
    /// let _ = preset.token_request(TokenRequest::client_credentials());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn token_request(&self, request: TokenRequest) -> TokenRequest {
        match &self.audience {
            Some(audience) => request.audience(audience.clone()),
            None => request,
        }
    }
}

/// A shared client authentication (one preset can build many clients).
#[derive(Debug)]
struct Shared(Arc<dyn ClientAuthentication>);

impl ClientAuthentication for Shared {
    fn method(&self) -> &str {
        self.0.method()
    }

    fn authenticate(&self, ctx: &AuthContext<'_>, target: &mut AuthTarget) -> Result<(), Error> {
        self.0.authenticate(ctx, target)
    }
}

fn invalid(name: &str, reason: &'static str) -> Error {
    Error::Config(ConfigError::InvalidParameter {
        name: name.to_owned(),
        reason,
    })
}

/// A value that goes into a URL's host or path: not empty, and no `/`, `?`, `#` or space.
fn segment(name: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(invalid(name, "is empty"));
    }
    if value
        .chars()
        .any(|c| matches!(c, '/' | '?' | '#' | '@' | '\\') || c.is_whitespace() || c.is_control())
    {
        return Err(invalid(
            name,
            "must be a single name (no `/`, `?`, `#`, `@`, `\\` or spaces)",
        ));
    }
    Ok(())
}

/// A bare host name (a domain like `acme.okta.com`): a scheme given with it is dropped.
fn host(name: &str, value: &str) -> Result<String, Error> {
    let bare = value
        .strip_prefix("https://")
        .unwrap_or(value)
        .trim_end_matches('/');
    segment(name, bare)?;
    Ok(bare.to_owned())
}

/// GitHub (OAuth apps and GitHub apps): fixed endpoints, since GitHub publishes no metadata.
///
/// Authorization `https://github.com/login/oauth/authorize`, token
/// `https://github.com/login/oauth/access_token`, device authorization
/// `https://github.com/login/device/code`; a secret goes in the form (`client_secret_post`).
/// GitHub answers form-encoded unless asked for JSON and reports errors (`bad_verification_code`,
/// `authorization_pending`) with status 200: grantline always sends `Accept: application/json`,
/// reads a form-encoded answer all the same, and treats an `error` member in a 200 as the OAuth
/// error it is (so device polling waits on `authorization_pending` as usual).
///
/// ```
/// let preset = grantline::providers::github("Iv1.0123");
/// assert_eq!(preset.issuer(), None);
/// ```
#[must_use]
pub fn github(client_id: impl Into<String>) -> Preset {
    Preset {
        name: "github",
        client_id: client_id.into(),
        server: Server::Endpoints(vec![
            (
                EndpointKind::Authorization,
                "https://github.com/login/oauth/authorize".to_owned(),
            ),
            (
                EndpointKind::Token,
                "https://github.com/login/oauth/access_token".to_owned(),
            ),
            (
                EndpointKind::DeviceAuthorization,
                "https://github.com/login/device/code".to_owned(),
            ),
        ]),
        secret_method: SecretMethod::Post,
        auth: None,
        audience: None,
        response_mode: None,
        origin: None,
    }
}

/// Google (OAuth 2.0 clients of Google Cloud): discovery of `https://accounts.google.com`, a
/// secret in the form (`client_secret_post`, as Google's own examples send it).
///
/// Google's device flow (for TVs and limited-input devices) answers with `verification_url`
/// where RFC 8628 says `verification_uri`: the device parser reads either. For service
/// accounts (the JWT bearer grant), see [`google_service_account`].
///
/// ```
/// assert_eq!(grantline::providers::google("id").issuer().as_deref(), Some("https://accounts.google.com"));
/// ```
#[must_use]
pub fn google(client_id: impl Into<String>) -> Preset {
    Preset::discover(
        "google",
        client_id.into(),
        "https://accounts.google.com".to_owned(),
    )
    .secret_method_is(SecretMethod::Post)
}

/// Google's token endpoint, the audience of a service account's assertion.
pub const GOOGLE_TOKEN_ENDPOINT: &str = "https://oauth2.googleapis.com/token";

/// A Google service account's JWT bearer assertion (RFC 7523 §2.1), signed anew for each
/// request: `iss` the service account's address, `scope` the scopes asked for, `aud` Google's
/// token endpoint, one hour at most. `subject` goes in `sub`: the user to act for with
/// domain-wide delegation. Google documents `sub` only for delegation, while grantline's JWT
/// assertions always carry one; without delegation pass the service account's own address
/// (that Google accepts this was not checked against Google: the fixtures replay only its
/// documented answer).
///
/// Use it with a client built from [`google`]'s discovery (or on [`GOOGLE_TOKEN_ENDPOINT`]):
/// `client.request_token(TokenRequest::jwt_bearer_from(source))`.
///
/// ```
/// use grantline::{Client, grant::TokenRequest, jose::{Algorithm, SigningKey}, providers};
/// # let key = SigningKey::from_pem(Algorithm::ES256, "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQggem3lymGZNxqPF7o\nfN/Sjq7JDgkjw0Mxg/vAYgKnVB6hRANCAAS/08i3hw/B3EQjGJIeFuKgY+HMvMpG\nB99l/vR858Hi58eMXsCSynwnhzFFScLYrVEbiPg5zxqFpdQMLIskGyFz\n-----END PRIVATE KEY-----\n")?;
/// // In real use: SigningKey::from_pem(Algorithm::RS256, private_key_from_the_json_key_file)?
/// let source = providers::google_service_account(
///     "robot@project.iam.gserviceaccount.com",
///     "robot@project.iam.gserviceaccount.com",
///     "https://www.googleapis.com/auth/devstorage.read_only",
///     key,
/// );
/// let client = Client::builder("robot").token_endpoint(providers::GOOGLE_TOKEN_ENDPOINT).build()?;
/// let _flow = client.request_token(TokenRequest::jwt_bearer_from(source))?;
/// # Ok::<(), grantline::Error>(())
/// ```
#[cfg(feature = "jose")]
#[must_use]
pub fn google_service_account(
    client_email: &str,
    subject: &str,
    scope: &str,
    key: crate::jose::SigningKey,
) -> crate::jose::JwtAssertionSource {
    crate::jose::JwtAssertionSource::new(
        crate::jose::JwtAssertion::new(client_email, subject, GOOGLE_TOKEN_ENDPOINT)
            .claim("scope", scope)
            .lifetime(std::time::Duration::from_secs(3600)),
        key,
    )
}

/// Which Microsoft Entra ID tenants a client signs people in from.
///
/// ```
/// let _ = grantline::providers::Tenant::Id("contoso.onmicrosoft.com".into());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tenant {
    /// One tenant, by its id (a GUID) or a verified domain name.
    Id(String),
    /// Any work or school account, and personal Microsoft accounts (`common`).
    Common,
    /// Any work or school account (`organizations`).
    Organizations,
}

impl Tenant {
    /// The tenant's path segment (`common`, `organizations`, or the id).
    ///
    /// ```
    /// assert_eq!(grantline::providers::Tenant::Common.as_str(), "common");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Tenant::Id(id) => id,
            Tenant::Common => "common",
            Tenant::Organizations => "organizations",
        }
    }

    /// A tenant from what a user typed: `common`, `organizations`, else a tenant id.
    ///
    /// ```
    /// use grantline::providers::Tenant;
    /// assert_eq!(Tenant::parse("common"), Tenant::Common);
    /// assert_eq!(Tenant::parse("contoso.com"), Tenant::Id("contoso.com".into()));
    /// ```
    #[must_use]
    pub fn parse(value: &str) -> Self {
        match value {
            "common" => Tenant::Common,
            "organizations" => Tenant::Organizations,
            other => Tenant::Id(other.to_owned()),
        }
    }
}

/// Microsoft Entra ID (the v2.0 endpoints): discovery of
/// `https://login.microsoftonline.com/{tenant}/v2.0`, a secret in the form
/// (`client_secret_post`).
///
/// A multi-tenant client ([`Tenant::Common`], [`Tenant::Organizations`]) gets metadata whose
/// issuer is `https://login.microsoftonline.com/{tenantid}/v2.0`: the preset's discovery
/// accepts that template, and each ID token's `iss` must then equal it with the token's own
/// `tid` put in. Client credentials on Entra ID ask for a resource's `.default` scope
/// ([`entra_default_scope`]).
///
/// # Errors
///
/// [`ConfigError::InvalidParameter`] (`tenant`) for an empty tenant id, or one with `/`, `?`,
/// `#` or spaces.
///
/// ```
/// use grantline::providers::{entra_id, Tenant};
/// let preset = entra_id(Tenant::Organizations, "id")?;
/// assert_eq!(
///     preset.issuer().as_deref(),
///     Some("https://login.microsoftonline.com/organizations/v2.0")
/// );
/// assert!(entra_id(Tenant::Id("".into()), "id").is_err());
/// # Ok::<(), grantline::Error>(())
/// ```
pub fn entra_id(tenant: Tenant, client_id: impl Into<String>) -> Result<Preset, Error> {
    segment("tenant", tenant.as_str())?;
    let tenant_template = !matches!(tenant, Tenant::Id(_));
    let issuer = format!("https://login.microsoftonline.com/{}/v2.0", tenant.as_str());
    let mut preset =
        Preset::discover("entra-id", client_id.into(), issuer).secret_method_is(SecretMethod::Post);
    preset.server = match preset.server {
        Server::Discover { issuer, .. } => Server::Discover {
            issuer,
            tenant_template,
        },
        other => other,
    };
    Ok(preset)
}

/// The `.default` scope Entra ID wants for client credentials: every application permission
/// granted to the client on `resource` (`api://my-api` or `https://graph.microsoft.com`).
///
/// ```
/// assert_eq!(
///     grantline::providers::entra_default_scope("https://graph.microsoft.com/"),
///     "https://graph.microsoft.com/.default"
/// );
/// ```
#[must_use]
pub fn entra_default_scope(resource: &str) -> String {
    format!("{}/.default", resource.trim_end_matches('/'))
}

/// Auth0: discovery of `https://{domain}/` (the issuer ends with a slash), a secret in the form
/// (`client_secret_post`). Set the API to get a token for with [`Preset::audience`].
///
/// # Errors
///
/// [`ConfigError::InvalidParameter`] (`domain`) for an empty domain or one with a path.
///
/// ```
/// let preset = grantline::providers::auth0("acme.eu.auth0.com", "id")?;
/// assert_eq!(preset.issuer().as_deref(), Some("https://acme.eu.auth0.com/"));
/// # Ok::<(), grantline::Error>(())
/// ```
pub fn auth0(domain: &str, client_id: impl Into<String>) -> Result<Preset, Error> {
    let domain = host("domain", domain)?;
    Ok(
        Preset::discover("auth0", client_id.into(), format!("https://{domain}/"))
            .secret_method_is(SecretMethod::Post),
    )
}

/// An Okta authorization server.
///
/// ```
/// let _ = grantline::providers::AuthServer::Custom("default".into());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthServer {
    /// The org authorization server (`https://{domain}`): sign-in and tokens for Okta's own
    /// APIs.
    Org,
    /// A custom authorization server (`https://{domain}/oauth2/{id}`; `default` is the one
    /// every org has): access tokens for your own APIs.
    Custom(String),
}

/// Okta: discovery of the org authorization server (`https://{domain}`) or of a custom one
/// (`https://{domain}/oauth2/{id}`), a secret in a Basic header (`client_secret_basic`).
///
/// # Errors
///
/// [`ConfigError::InvalidParameter`] for an empty domain or server id, or one with a path.
///
/// ```
/// use grantline::providers::{okta, AuthServer};
/// let preset = okta("acme.okta.com", AuthServer::Custom("default".into()), "id")?;
/// assert_eq!(preset.issuer().as_deref(), Some("https://acme.okta.com/oauth2/default"));
/// # Ok::<(), grantline::Error>(())
/// ```
pub fn okta(
    domain: &str,
    server: AuthServer,
    client_id: impl Into<String>,
) -> Result<Preset, Error> {
    let domain = host("domain", domain)?;
    let issuer = match server {
        AuthServer::Org => format!("https://{domain}"),
        AuthServer::Custom(id) => {
            segment("authorization server", &id)?;
            format!("https://{domain}/oauth2/{id}")
        }
    };
    Ok(Preset::discover("okta", client_id.into(), issuer))
}

/// Keycloak: discovery of `{base_url}/realms/{realm}`, a secret in a Basic header
/// (`client_secret_basic`). `base_url` is the server's URL, with `/auth` for Keycloak 16 and
/// older.
///
/// # Errors
///
/// [`ConfigError::InvalidParameter`] for a base URL that is not an absolute URL, or an empty
/// realm or one with `/`.
///
/// ```
/// let preset = grantline::providers::keycloak("https://sso.example/auth/", "acme", "id")?;
/// assert_eq!(preset.issuer().as_deref(), Some("https://sso.example/auth/realms/acme"));
/// # Ok::<(), grantline::Error>(())
/// ```
pub fn keycloak(
    base_url: &str,
    realm: &str,
    client_id: impl Into<String>,
) -> Result<Preset, Error> {
    let base = Url::parse(base_url)
        .ok()
        .filter(|u| u.has_host() && u.query().is_none() && u.fragment().is_none())
        .ok_or_else(|| {
            invalid(
                "base URL",
                "is not an absolute URL without query or fragment",
            )
        })?;
    segment("realm", realm)?;
    let base = base.as_str().trim_end_matches('/');
    Ok(Preset::discover(
        "keycloak",
        client_id.into(),
        format!("{base}/realms/{realm}"),
    ))
}

/// Amazon Cognito user pools: discovery of
/// `https://cognito-idp.{region}.amazonaws.com/{user_pool_id}` (the region is the part of the
/// pool id before `_`), a secret in a Basic header sent raw (Cognito rejects the form-encoded
/// id and secret that RFC 6749 §2.3.1 asks for). The metadata points at the pool's hosted
/// domain for the authorization and token endpoints.
///
/// # Errors
///
/// [`ConfigError::InvalidParameter`] (`user pool id`) for an id that is not
/// `{region}_{id}`.
///
/// ```
/// let preset = grantline::providers::cognito("eu-west-1_AbCdEf123", "id")?;
/// assert_eq!(
///     preset.issuer().as_deref(),
///     Some("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123")
/// );
/// # Ok::<(), grantline::Error>(())
/// ```
pub fn cognito(user_pool_id: &str, client_id: impl Into<String>) -> Result<Preset, Error> {
    segment("user pool id", user_pool_id)?;
    let region = match user_pool_id.split_once('_') {
        Some((region, id)) if !region.is_empty() && !id.is_empty() => region,
        _ => {
            return Err(invalid(
                "user pool id",
                "must be the pool's id, `{region}_{id}` (as in `eu-west-1_AbCdEf123`)",
            ));
        }
    };
    Ok(Preset::discover(
        "cognito",
        client_id.into(),
        format!("https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"),
    )
    .secret_method_is(SecretMethod::Basic(BasicEncoding::Raw)))
}

/// Sign in with Apple: discovery of `https://appleid.apple.com`, `response_mode=form_post`
/// (Apple posts the callback), and as client secret an ES256 JWT that Apple lets live at most
/// six months, made fresh for each request ([`AppleClientSecret`]). `client_id` is the
/// Services ID (web) or the App ID (apps).
///
/// # Errors
///
/// As [`AppleClientSecret::new`].
///
/// ```
/// use grantline::jose::{Algorithm, SigningKey};
/// # let key = SigningKey::from_pem(Algorithm::ES256, "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQggem3lymGZNxqPF7o\nfN/Sjq7JDgkjw0Mxg/vAYgKnVB6hRANCAAS/08i3hw/B3EQjGJIeFuKgY+HMvMpG\nB99l/vR858Hi58eMXsCSynwnhzFFScLYrVEbiPg5zxqFpdQMLIskGyFz\n-----END PRIVATE KEY-----\n")?.with_key_id("ABC123DEFG");
/// // In real use: SigningKey::from_pem(Algorithm::ES256, the_p8_file)?.with_key_id("ABC123DEFG")
/// let preset = grantline::providers::apple("com.example.web", "DEF123GHIJ", key)?;
/// assert_eq!(preset.response_mode(), Some("form_post"));
/// # Ok::<(), grantline::Error>(())
/// ```
#[cfg(feature = "jose")]
pub fn apple(
    client_id: impl Into<String>,
    team_id: &str,
    key: crate::jose::SigningKey,
) -> Result<Preset, Error> {
    let secret = AppleClientSecret::new(team_id, key)?;
    let mut preset = Preset::discover(
        "apple",
        client_id.into(),
        "https://appleid.apple.com".to_owned(),
    )
    .secret_method_is(SecretMethod::Post);
    preset.auth = Some(Arc::new(secret));
    preset.response_mode = Some("form_post");
    Ok(preset)
}

/// The longest an Apple client secret may live: 15,777,000 seconds (six months).
#[cfg(feature = "jose")]
const APPLE_MAX_LIFETIME: std::time::Duration = std::time::Duration::from_secs(15_777_000);

/// Sign in with Apple's client authentication: `client_id` and a `client_secret` that is an
/// ES256 JWT (`iss` the team id, `sub` the client id, `aud` `https://appleid.apple.com`,
/// `kid` in the header), sent in the form. A new one is signed for each request, living five
/// minutes by default, so none is kept until it expires.
///
/// `Debug` shows the team id and key id, never the key.
///
/// ```
/// use grantline::jose::{Algorithm, SigningKey};
/// use grantline::providers::AppleClientSecret;
/// let key = SigningKey::from_pem(Algorithm::ES256, "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQggem3lymGZNxqPF7o\nfN/Sjq7JDgkjw0Mxg/vAYgKnVB6hRANCAAS/08i3hw/B3EQjGJIeFuKgY+HMvMpG\nB99l/vR858Hi58eMXsCSynwnhzFFScLYrVEbiPg5zxqFpdQMLIskGyFz\n-----END PRIVATE KEY-----\n")?.with_key_id("ABC123DEFG");
/// let auth = AppleClientSecret::new("DEF123GHIJ", key)?;
/// let client = grantline::Client::builder("com.example.web").auth(auth).build()?;
/// assert_eq!(client.auth_method(), "client_secret_post");
/// # Ok::<(), grantline::Error>(())
/// ```
#[cfg(feature = "jose")]
#[derive(Clone)]
pub struct AppleClientSecret {
    team_id: String,
    key: Arc<crate::jose::SigningKey>,
    lifetime: std::time::Duration,
}

#[cfg(feature = "jose")]
impl fmt::Debug for AppleClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppleClientSecret")
            .field("team_id", &self.team_id)
            .field("kid", &self.key.key_id())
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "jose")]
impl AppleClientSecret {
    /// Secrets signed with `key` (the `.p8` key from Apple's developer account, with its key id
    /// set by [`SigningKey::with_key_id`](crate::jose::SigningKey::with_key_id)) for team
    /// `team_id`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidCredentials`] when the key is not ES256 or has no key id, and
    /// [`ConfigError::InvalidParameter`] for an empty team id.
    ///
    /// ```
    /// use grantline::jose::{Algorithm, SigningKey};
    /// let key = SigningKey::from_pem(Algorithm::ES256, "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQggem3lymGZNxqPF7o\nfN/Sjq7JDgkjw0Mxg/vAYgKnVB6hRANCAAS/08i3hw/B3EQjGJIeFuKgY+HMvMpG\nB99l/vR858Hi58eMXsCSynwnhzFFScLYrVEbiPg5zxqFpdQMLIskGyFz\n-----END PRIVATE KEY-----\n")?; // no key id
    /// assert!(grantline::providers::AppleClientSecret::new("DEF123GHIJ", key).is_err());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn new(team_id: &str, key: crate::jose::SigningKey) -> Result<Self, Error> {
        segment("team id", team_id)?;
        if key.algorithm() != crate::jose::Algorithm::ES256 {
            return Err(ConfigError::InvalidCredentials(
                "Apple's client secret is signed with ES256: give the P-256 key from the .p8 file",
            )
            .into());
        }
        if key.key_id().is_none() {
            return Err(ConfigError::InvalidCredentials(
                "Apple's client secret needs the key id (kid): set it with SigningKey::with_key_id",
            )
            .into());
        }
        Ok(Self {
            team_id: team_id.to_owned(),
            key: Arc::new(key),
            lifetime: std::time::Duration::from_secs(300),
        })
    }

    /// How long each secret lives (five minutes by default).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidParameter`] (`client_secret`) past six months, the most Apple
    /// accepts, or for zero.
    ///
    /// ```
    /// # use grantline::jose::{Algorithm, SigningKey};
    /// # let key = SigningKey::from_pem(Algorithm::ES256, "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQggem3lymGZNxqPF7o\nfN/Sjq7JDgkjw0Mxg/vAYgKnVB6hRANCAAS/08i3hw/B3EQjGJIeFuKgY+HMvMpG\nB99l/vR858Hi58eMXsCSynwnhzFFScLYrVEbiPg5zxqFpdQMLIskGyFz\n-----END PRIVATE KEY-----\n")?.with_key_id("K");
    /// let auth = grantline::providers::AppleClientSecret::new("T", key)?;
    /// assert!(auth.clone().lifetime(std::time::Duration::from_secs(3600)).is_ok());
    /// assert!(auth.lifetime(std::time::Duration::from_secs(200 * 86_400)).is_err());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn lifetime(mut self, lifetime: std::time::Duration) -> Result<Self, Error> {
        if lifetime.is_zero() || lifetime > APPLE_MAX_LIFETIME {
            return Err(invalid(
                "client_secret",
                "Apple accepts a client secret JWT that lives more than zero and at most 15777000 seconds (six months)",
            ));
        }
        self.lifetime = lifetime;
        Ok(self)
    }
}

#[cfg(feature = "jose")]
impl ClientAuthentication for AppleClientSecret {
    fn method(&self) -> &str {
        "client_secret_post"
    }

    fn authenticate(&self, ctx: &AuthContext<'_>, target: &mut AuthTarget) -> Result<(), Error> {
        let jwt = crate::jose::JwtAssertion::new(
            self.team_id.clone(),
            ctx.client_id(),
            "https://appleid.apple.com",
        )
        .lifetime(self.lifetime)
        .sign(&*self.key, ctx.now().wall(), ctx.randomness())?;
        target.add_param("client_id", ctx.client_id());
        target.add_param("client_secret", jwt.secret());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(result: Result<Preset, Error>, name: &str) {
        match result {
            Err(Error::Config(ConfigError::InvalidParameter { name: n, .. })) => {
                assert_eq!(n, name);
            }
            other => panic!("expected {name} to be rejected, got {other:?}"),
        }
    }

    #[test]
    fn malformed_locations_are_named() {
        rejected(cognito("AbCdEf123", "c"), "user pool id");
        rejected(cognito("eu-west-1_", "c"), "user pool id");
        rejected(cognito("eu-west-1_a/b", "c"), "user pool id");
        rejected(keycloak("https://sso.example", "a/b", "c"), "realm");
        rejected(keycloak("sso.example", "acme", "c"), "base URL");
        rejected(okta("", AuthServer::Org, "c"), "domain");
        rejected(
            okta("acme.okta.com", AuthServer::Custom("x?y".into()), "c"),
            "authorization server",
        );
        rejected(auth0("acme.auth0.com/path", "c"), "domain");
        rejected(entra_id(Tenant::Id("a b".into()), "c"), "tenant");
        rejected(github("c").origin("not a url"), "origin");
    }

    #[test]
    fn a_scheme_given_with_a_domain_is_dropped() {
        let preset = auth0("https://acme.eu.auth0.com/", "c").unwrap();
        assert_eq!(
            preset.issuer().as_deref(),
            Some("https://acme.eu.auth0.com/")
        );
    }

    #[test]
    fn discovery_needs_metadata_and_fixed_endpoints_do_not() {
        rejected(google("c").builder(None).map(|_| google("c")), "metadata");
        assert!(github("c").builder(None).is_ok());
    }

    #[test]
    fn origin_keeps_each_path_and_query() {
        let preset = keycloak("https://sso.example/auth", "acme", "c")
            .unwrap()
            .origin("http://127.0.0.1:9/")
            .unwrap();
        assert_eq!(
            preset.issuer().as_deref(),
            Some("http://127.0.0.1:9/auth/realms/acme")
        );
        let google = google("c").origin("http://127.0.0.1:9").unwrap();
        assert_eq!(google.issuer().as_deref(), Some("http://127.0.0.1:9"));
    }

    #[cfg(feature = "jose")]
    #[test]
    fn apple_wants_an_es256_key_with_its_id() {
        use crate::jose::{Algorithm, SigningKey};
        let rsa_like = SigningKey::hmac(Algorithm::HS256, b"k")
            .unwrap()
            .with_key_id("K");
        assert!(matches!(
            AppleClientSecret::new("T", rsa_like),
            Err(Error::Config(ConfigError::InvalidCredentials(_)))
        ));
    }
}
