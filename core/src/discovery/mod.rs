//! Authorization server metadata: RFC 8414 and OpenID Connect Discovery 1.0.
//!
//! ```text
//! DiscoveryFlow::openid(issuer) ─┐
//! DiscoveryFlow::oauth(issuer)  ─┼─▶ GET metadata ─▶ issuer check ─▶ ServerMetadata
//! DiscoveryFlow::from_url(url)  ─┘                                        │
//!                                     Client::from_metadata(client_id, &metadata)
//! ```
//!
//! The document's `issuer` must equal the issuer it was fetched for, character for character
//! (RFC 8414 §3.3, OpenID Connect Discovery §4.3): a mismatch is
//! [`ValidationError::IssuerMismatch`]. Multi-tenant issuers, whose document names a
//! `{tenantid}` template (Microsoft Entra ID's `common` endpoint), are accepted only with
//! [`DiscoveryFlow::allow_tenant_template`]; an ID token's `iss` is then checked against
//! [`ServerMetadata::issuer_for_tenant`] with its own `tid`, automatically.
//!
//! ```
//! // `testing::Driver` plays the server here; it needs grantline's `testing` feature.
//! use grantline::{Client, discovery::DiscoveryFlow, testing::Driver};
//!
//! let flow = DiscoveryFlow::openid("https://as.example")?;
//! let mut driver = Driver::new().reply_json(200, r#"{
//!     "issuer": "https://as.example",
//!     "authorization_endpoint": "https://as.example/authorize",
//!     "token_endpoint": "https://as.example/token",
//!     "code_challenge_methods_supported": ["S256"],
//!     "authorization_response_iss_parameter_supported": true
//! }"#);
//! let metadata = driver.run(flow).unwrap();
//! assert_eq!(
//!     driver.transcript().requests().next().unwrap().uri(),
//!     "https://as.example/.well-known/openid-configuration"
//! );
//! let client = Client::from_metadata("my-app", &metadata).build()?;
//! assert_eq!(client.issuer(), Some("https://as.example"));
//! # Ok::<(), grantline::Error>(())
//! ```

use serde_json::{Map, Value};
use url::Url;

use crate::EndpointKind;
use crate::endpoint::check_endpoint;
use crate::error::{ConfigError, ValidationError};
use crate::flow::{DocumentCall, OneShot};
use crate::response::{Answer, error_in, parse, with_headers};
use crate::{Client, ClientBuilder, Error, Now};

mod wire;

/// The template Microsoft Entra ID puts in a multi-tenant issuer.
const TENANT_TEMPLATE: &str = "{tenantid}";

/// An authorization server's metadata: every standard field typed, every other field kept.
///
/// Endpoints are kept as the strings sent; they are checked (`https`, no fragment) when a
/// client is built from them with [`Client::from_metadata`].
///
/// ```
/// use grantline::{Now, discovery::ServerMetadata};
/// let response = http::Response::new(br#"{"issuer":"https://as.example","token_endpoint":"https://as.example/token","x-vendor":1}"#.to_vec());
/// let metadata = ServerMetadata::from_response(&response, Now::system())?;
/// assert_eq!(metadata.token_endpoint.as_deref(), Some("https://as.example/token"));
/// assert_eq!(metadata.extra["x-vendor"], 1);
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ServerMetadata {
    /// `issuer`: the server's issuer identifier.
    pub issuer: String,
    /// `authorization_endpoint`.
    pub authorization_endpoint: Option<String>,
    /// `token_endpoint`.
    pub token_endpoint: Option<String>,
    /// `jwks_uri`.
    pub jwks_uri: Option<String>,
    /// `registration_endpoint` (RFC 7591).
    pub registration_endpoint: Option<String>,
    /// `revocation_endpoint` (RFC 7009).
    pub revocation_endpoint: Option<String>,
    /// `introspection_endpoint` (RFC 7662).
    pub introspection_endpoint: Option<String>,
    /// `device_authorization_endpoint` (RFC 8628).
    pub device_authorization_endpoint: Option<String>,
    /// `pushed_authorization_request_endpoint` (RFC 9126).
    pub pushed_authorization_request_endpoint: Option<String>,
    /// `backchannel_authentication_endpoint` (CIBA).
    pub backchannel_authentication_endpoint: Option<String>,
    /// `userinfo_endpoint` (OpenID Connect).
    pub userinfo_endpoint: Option<String>,
    /// `end_session_endpoint` (OpenID Connect RP-initiated logout).
    pub end_session_endpoint: Option<String>,
    /// `scopes_supported`.
    pub scopes_supported: Vec<String>,
    /// `response_types_supported`.
    pub response_types_supported: Vec<String>,
    /// `response_modes_supported`.
    pub response_modes_supported: Vec<String>,
    /// `grant_types_supported`.
    pub grant_types_supported: Vec<String>,
    /// `code_challenge_methods_supported` (RFC 7636).
    pub code_challenge_methods_supported: Vec<String>,
    /// `token_endpoint_auth_methods_supported`.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// `token_endpoint_auth_signing_alg_values_supported`.
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// `revocation_endpoint_auth_methods_supported`.
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    /// `introspection_endpoint_auth_methods_supported`.
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    /// `id_token_signing_alg_values_supported` (OpenID Connect).
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// `userinfo_signing_alg_values_supported` (OpenID Connect).
    pub userinfo_signing_alg_values_supported: Vec<String>,
    /// `request_object_signing_alg_values_supported` (RFC 9101).
    pub request_object_signing_alg_values_supported: Vec<String>,
    /// `dpop_signing_alg_values_supported` (RFC 9449).
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// `subject_types_supported` (OpenID Connect).
    pub subject_types_supported: Vec<String>,
    /// `claims_supported` (OpenID Connect).
    pub claims_supported: Vec<String>,
    /// `acr_values_supported` (OpenID Connect).
    pub acr_values_supported: Vec<String>,
    /// `ui_locales_supported`.
    pub ui_locales_supported: Vec<String>,
    /// `backchannel_token_delivery_modes_supported` (CIBA).
    pub backchannel_token_delivery_modes_supported: Vec<String>,
    /// `claim_types_supported` (OpenID Connect).
    pub claim_types_supported: Vec<String>,
    /// `display_values_supported` (OpenID Connect).
    pub display_values_supported: Vec<String>,
    /// `claims_locales_supported` (OpenID Connect).
    pub claims_locales_supported: Vec<String>,
    /// `id_token_encryption_alg_values_supported` (OpenID Connect).
    pub id_token_encryption_alg_values_supported: Vec<String>,
    /// `id_token_encryption_enc_values_supported` (OpenID Connect).
    pub id_token_encryption_enc_values_supported: Vec<String>,
    /// `userinfo_encryption_alg_values_supported` (OpenID Connect).
    pub userinfo_encryption_alg_values_supported: Vec<String>,
    /// `userinfo_encryption_enc_values_supported` (OpenID Connect).
    pub userinfo_encryption_enc_values_supported: Vec<String>,
    /// `request_object_encryption_alg_values_supported` (OpenID Connect).
    pub request_object_encryption_alg_values_supported: Vec<String>,
    /// `request_object_encryption_enc_values_supported` (OpenID Connect).
    pub request_object_encryption_enc_values_supported: Vec<String>,
    /// `backchannel_authentication_request_signing_alg_values_supported` (CIBA).
    pub backchannel_authentication_request_signing_alg_values_supported: Vec<String>,
    /// `require_pushed_authorization_requests` (RFC 9126 §5): authorization requests must be
    /// pushed.
    pub require_pushed_authorization_requests: bool,
    /// `authorization_response_iss_parameter_supported` (RFC 9207): every authorization
    /// response carries `iss`, so a callback without it is refused.
    pub authorization_response_iss_parameter_supported: bool,
    /// `request_parameter_supported` (OpenID Connect).
    pub request_parameter_supported: bool,
    /// `request_uri_parameter_supported` (OpenID Connect; defaults to true).
    pub request_uri_parameter_supported: bool,
    /// `require_signed_request_object` (RFC 9101).
    pub require_signed_request_object: bool,
    /// `claims_parameter_supported` (OpenID Connect).
    pub claims_parameter_supported: bool,
    /// `require_request_uri_registration` (OpenID Connect).
    pub require_request_uri_registration: bool,
    /// `frontchannel_logout_supported` (OpenID Connect Front-Channel Logout).
    pub frontchannel_logout_supported: bool,
    /// `frontchannel_logout_session_supported` (OpenID Connect Front-Channel Logout).
    pub frontchannel_logout_session_supported: bool,
    /// `backchannel_logout_supported` (OpenID Connect Back-Channel Logout).
    pub backchannel_logout_supported: bool,
    /// `backchannel_logout_session_supported` (OpenID Connect Back-Channel Logout).
    pub backchannel_logout_session_supported: bool,
    /// `backchannel_user_code_parameter_supported` (CIBA).
    pub backchannel_user_code_parameter_supported: bool,
    /// `tls_client_certificate_bound_access_tokens` (RFC 8705).
    pub tls_client_certificate_bound_access_tokens: bool,
    /// `check_session_iframe` (OpenID Connect Session Management).
    pub check_session_iframe: Option<String>,
    /// `service_documentation`.
    pub service_documentation: Option<String>,
    /// `op_policy_uri`.
    pub op_policy_uri: Option<String>,
    /// `op_tos_uri`.
    pub op_tos_uri: Option<String>,
    /// `mtls_endpoint_aliases` (RFC 8705 §5), as sent.
    pub mtls_endpoint_aliases: Option<Map<String, Value>>,
    /// Every other member, as sent.
    pub extra: Map<String, Value>,
}

impl ServerMetadata {
    /// Parses a metadata document, without checking its issuer (the discovery flow does that).
    ///
    /// # Errors
    ///
    /// An unexpected answer, or [`Error::InvalidResponse`] when `issuer` is missing or a
    /// standard field has the wrong type.
    ///
    /// ```
    /// use grantline::{Error, Now, discovery::ServerMetadata};
    /// let response = http::Response::new(br#"{"token_endpoint":"https://as.example/token"}"#.to_vec());
    /// let e = ServerMetadata::from_response(&response, Now::system()).unwrap_err();
    /// assert!(matches!(e, Error::InvalidResponse(ref e) if e.field == "issuer"));
    /// ```
    pub fn from_response(response: &http::Response<Vec<u8>>, _now: Now) -> Result<Self, Error> {
        let answer = Answer::of(response);
        let read = || {
            let document = parse::<wire::Document>(answer, "metadata document")?;
            if document.is_error() {
                return Err(error_in(answer));
            }
            Ok(document.check()?)
        };
        read().map_err(|e| with_headers(e, response.headers()))
    }

    /// Whether the server accepts PKCE with `S256`. Servers that do not say are assumed to.
    ///
    /// ```
    /// let metadata = grantline::discovery::ServerMetadata::default();
    /// assert!(metadata.supports_pkce_s256());
    /// ```
    #[must_use]
    pub fn supports_pkce_s256(&self) -> bool {
        self.code_challenge_methods_supported.is_empty()
            || self
                .code_challenge_methods_supported
                .iter()
                .any(|m| m == "S256")
    }

    /// Whether the issuer is a multi-tenant template (it holds `{tenantid}`).
    ///
    /// ```
    /// let mut metadata = grantline::discovery::ServerMetadata::default();
    /// metadata.issuer = "https://login.microsoftonline.com/{tenantid}/v2.0".into();
    /// assert!(metadata.is_tenant_template());
    /// ```
    #[must_use]
    pub fn is_tenant_template(&self) -> bool {
        self.issuer.contains(TENANT_TEMPLATE)
    }

    /// The issuer an ID token from tenant `tid` must carry: the template with `{tenantid}`
    /// replaced, or the issuer itself when it is not a template.
    ///
    /// ```
    /// let mut metadata = grantline::discovery::ServerMetadata::default();
    /// metadata.issuer = "https://login.microsoftonline.com/{tenantid}/v2.0".into();
    /// assert_eq!(
    ///     metadata.issuer_for_tenant("9188040d-6c67-4c5b-b112-36a304b66dad"),
    ///     "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
    /// );
    /// ```
    #[must_use]
    pub fn issuer_for_tenant(&self, tid: &str) -> String {
        self.issuer.replacen(TENANT_TEMPLATE, tid, 1)
    }

    /// Each endpoint the metadata names, with its kind.
    pub(crate) fn endpoints(&self) -> impl Iterator<Item = (EndpointKind, &str)> {
        [
            (EndpointKind::Authorization, &self.authorization_endpoint),
            (EndpointKind::Token, &self.token_endpoint),
            (EndpointKind::Jwks, &self.jwks_uri),
            (EndpointKind::Registration, &self.registration_endpoint),
            (EndpointKind::Revocation, &self.revocation_endpoint),
            (EndpointKind::Introspection, &self.introspection_endpoint),
            (
                EndpointKind::DeviceAuthorization,
                &self.device_authorization_endpoint,
            ),
            (
                EndpointKind::PushedAuthorization,
                &self.pushed_authorization_request_endpoint,
            ),
            (
                EndpointKind::BackchannelAuthentication,
                &self.backchannel_authentication_endpoint,
            ),
            (EndpointKind::Userinfo, &self.userinfo_endpoint),
            (EndpointKind::EndSession, &self.end_session_endpoint),
        ]
        .into_iter()
        .filter_map(|(kind, url)| url.as_deref().map(|url| (kind, url)))
    }
}

/// How the document's issuer is checked.
#[derive(Debug, Clone)]
enum IssuerCheck {
    /// Equal to this, exactly.
    Exact(String),
    /// Equal to this, or a `{tenantid}` template that gives this for one path segment.
    ExactOrTenantTemplate(String),
    /// No check (a metadata URL given as is, without an expected issuer).
    None,
}

impl IssuerCheck {
    fn check(&self, received: &str) -> Result<(), ValidationError> {
        let (expected, template_ok) = match self {
            IssuerCheck::None => return Ok(()),
            IssuerCheck::Exact(expected) => (expected, false),
            IssuerCheck::ExactOrTenantTemplate(expected) => (expected, true),
        };
        if received == expected || (template_ok && template_matches(received, expected)) {
            return Ok(());
        }
        Err(ValidationError::IssuerMismatch {
            expected: expected.clone(),
            received: received.to_owned(),
        })
    }
}

/// Whether `issuer` is a multi-tenant template (it holds `{tenantid}`).
#[cfg_attr(not(feature = "jose"), allow(dead_code))]
pub(crate) fn is_tenant_template(issuer: &str) -> bool {
    issuer.contains(TENANT_TEMPLATE)
}

/// The issuer a token from tenant `tid` must carry under the template `template`: `None` when
/// `tid` is not one path segment (empty, or holding `/`, `?`, `#`, `{`, `}`), so that a `tid`
/// cannot make the template name another issuer. The one place ID token validation resolves a
/// template (Microsoft Entra ID's multi-tenant `{tenantid}`).
#[cfg_attr(not(feature = "jose"), allow(dead_code))]
pub(crate) fn resolve_tenant(template: &str, tid: &str) -> Option<String> {
    is_tenant_segment(tid).then(|| template.replacen(TENANT_TEMPLATE, tid, 1))
}

/// One path segment, as a tenant id or a `common`-style alias must be.
fn is_tenant_segment(segment: &str) -> bool {
    !segment.is_empty() && !segment.contains(['/', '?', '#', '{', '}'])
}

/// Whether `template` (holding `{tenantid}` once) becomes `expected` with one path segment
/// (such as `common` or `organizations`) in the placeholder's place.
fn template_matches(template: &str, expected: &str) -> bool {
    let Some((prefix, suffix)) = template.split_once(TENANT_TEMPLATE) else {
        return false;
    };
    if suffix.contains(TENANT_TEMPLATE) {
        return false;
    }
    expected
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(suffix))
        .is_some_and(is_tenant_segment)
}

/// A flow that fetches and checks an authorization server's metadata.
///
/// ```
/// use grantline::discovery::DiscoveryFlow;
/// let flow = DiscoveryFlow::oauth("https://as.example/tenant-a")?;
/// assert_eq!(flow.url().as_str(), "https://as.example/.well-known/oauth-authorization-server/tenant-a");
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Debug)]
pub struct DiscoveryFlow {
    url: Url,
    check: IssuerCheck,
    insecure_http: bool,
    inner: Option<OneShot<ServerMetadata>>,
}

impl DiscoveryFlow {
    /// OpenID Connect discovery: `{issuer}/.well-known/openid-configuration`
    /// (OpenID Connect Discovery §4).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidParameter`] for an issuer that is not an absolute URL or has a query
    /// or fragment. Plain `http` off loopback is refused when the flow starts
    /// ([`ConfigError::InsecureEndpoint`]) unless [`insecure_http`](Self::insecure_http)
    /// is set.
    ///
    /// ```
    /// let flow = grantline::discovery::DiscoveryFlow::openid("https://as.example/realms/acme")?;
    /// assert_eq!(flow.url().as_str(), "https://as.example/realms/acme/.well-known/openid-configuration");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn openid(issuer: &str) -> Result<Self, Error> {
        let base = parse_issuer(issuer)?;
        let path = base.path().trim_end_matches('/');
        let mut url = base.clone();
        url.set_path(&format!("{path}/.well-known/openid-configuration"));
        Self::new(url, IssuerCheck::Exact(issuer.to_owned()))
    }

    /// RFC 8414 discovery: the well-known suffix goes between host and path (RFC 8414 §3.1), so
    /// `https://as.example/tenant` is looked up at
    /// `https://as.example/.well-known/oauth-authorization-server/tenant`.
    ///
    /// # Errors
    ///
    /// As [`openid`](Self::openid).
    ///
    /// ```
    /// let flow = grantline::discovery::DiscoveryFlow::oauth("https://as.example")?;
    /// assert_eq!(flow.url().as_str(), "https://as.example/.well-known/oauth-authorization-server");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn oauth(issuer: &str) -> Result<Self, Error> {
        let base = parse_issuer(issuer)?;
        let path = base.path().trim_end_matches('/');
        let mut url = base.clone();
        url.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
        Self::new(url, IssuerCheck::Exact(issuer.to_owned()))
    }

    /// A metadata document at a URL given as is (the Fugaku SDK's way). Its issuer is not
    /// checked unless [`expect_issuer`](Self::expect_issuer) says what it must be.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidEndpoint`] for a URL that is not usable; plain `http` is handled as
    /// for [`openid`](Self::openid).
    ///
    /// ```
    /// use grantline::discovery::DiscoveryFlow;
    /// let flow = DiscoveryFlow::from_url("https://as.example/.well-known/openid-configuration")?
    ///     .expect_issuer("https://as.example");
    /// # let _ = flow;
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn from_url(url: &str) -> Result<Self, Error> {
        // Syntax only here; the scheme is checked when the flow starts.
        let url = check_endpoint(EndpointKind::Metadata, url, true)?;
        Self::new(url, IssuerCheck::None)
    }

    fn new(url: Url, check: IssuerCheck) -> Result<Self, Error> {
        check_endpoint(EndpointKind::Metadata, url.as_str(), true)?;
        let mut flow = Self {
            url,
            check,
            insecure_http: false,
            inner: None,
        };
        flow.rebuild();
        Ok(flow)
    }

    /// Allows a plain `http` metadata URL on a host that is not a loopback address.
    ///
    /// Anyone on the network path could then serve other metadata (other endpoints, another
    /// issuer): use it only on a network you trust.
    ///
    /// ```
    /// use grantline::discovery::DiscoveryFlow;
    /// let _ = DiscoveryFlow::openid("http://as.internal")?.insecure_http();
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn insecure_http(mut self) -> Self {
        self.insecure_http = true;
        self
    }

    fn rebuild(&mut self) {
        let check = self.check.clone();
        self.inner = Some(OneShot::new(
            DocumentCall::new(self.url.clone(), EndpointKind::Metadata),
            move |response, now| {
                let metadata = ServerMetadata::from_response(response, now)?;
                check.check(&metadata.issuer)?;
                Ok(metadata)
            },
        ));
    }

    /// Requires the document's issuer to be `issuer`, exactly.
    ///
    /// ```
    /// use grantline::discovery::DiscoveryFlow;
    /// let _ = DiscoveryFlow::from_url("https://as.example/meta")?.expect_issuer("https://as.example");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn expect_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.check = IssuerCheck::Exact(issuer.into());
        self.rebuild();
        self
    }

    /// Also accepts a multi-tenant issuer template: a document whose issuer holds `{tenantid}`
    /// where the expected issuer has one path segment (Entra ID's `common`, `organizations`).
    ///
    /// ID tokens are then checked against the template resolved with each token's `tid`
    /// ([`ServerMetadata::issuer_for_tenant`]): the code exchange's automatic check and
    /// [`IdTokenValidator`](crate::oidc::IdTokenValidator) do it for you.
    ///
    /// ```
    /// use grantline::discovery::DiscoveryFlow;
    /// let flow = DiscoveryFlow::openid("https://login.microsoftonline.com/common/v2.0")?
    ///     .allow_tenant_template();
    /// # let _ = flow;
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn allow_tenant_template(mut self) -> Self {
        if let IssuerCheck::Exact(expected) = &self.check {
            self.check = IssuerCheck::ExactOrTenantTemplate(expected.clone());
            self.rebuild();
        }
        self
    }

    /// The URL the document is fetched from.
    ///
    /// ```
    /// let flow = grantline::discovery::DiscoveryFlow::openid("https://as.example")?;
    /// assert!(flow.url().as_str().ends_with("/.well-known/openid-configuration"));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn url(&self) -> &Url {
        &self.url
    }
}

impl crate::Flow for DiscoveryFlow {
    type Output = ServerMetadata;

    fn next(&mut self, now: Now) -> Result<crate::Step<ServerMetadata>, Error> {
        check_endpoint(
            EndpointKind::Metadata,
            self.url.as_str(),
            self.insecure_http,
        )?;
        match &mut self.inner {
            Some(inner) => inner.next(now),
            None => Err(crate::error::Misuse::AlreadyFailed.into()),
        }
    }

    fn handle_response(
        &mut self,
        response: http::Response<Vec<u8>>,
        now: Now,
    ) -> Result<(), Error> {
        match &mut self.inner {
            Some(inner) => inner.handle_response(&response, now),
            None => Err(crate::error::Misuse::UnexpectedResponse.into()),
        }
    }
}

/// An issuer identifier: an absolute URL without query or fragment (RFC 8414 §2).
fn parse_issuer(issuer: &str) -> Result<Url, Error> {
    let invalid = |reason| ConfigError::InvalidParameter {
        name: "issuer".to_owned(),
        reason,
    };
    let url = Url::parse(issuer).map_err(|_| invalid("it is not an absolute URL"))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("an issuer has no query and no fragment").into());
    }
    Ok(url)
}

impl Client {
    /// A client builder with every endpoint the metadata names, its issuer (so callbacks are
    /// checked for `iss`), and what the server requires (PAR, the `iss` parameter).
    ///
    /// Endpoints are checked when the client is built: an `http` endpoint off loopback is
    /// refused unless [`ClientBuilder::insecure_http`] is set.
    ///
    /// ```
    /// use grantline::{Client, discovery::ServerMetadata};
    /// let mut metadata = ServerMetadata::default();
    /// metadata.issuer = "https://as.example".into();
    /// metadata.token_endpoint = Some("https://as.example/token".into());
    /// let client = Client::from_metadata("app", &metadata).client_secret_basic("s").build()?;
    /// assert!(client.metadata().is_some());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn from_metadata(client_id: impl Into<String>, metadata: &ServerMetadata) -> ClientBuilder {
        let mut builder = Client::builder(client_id).server_metadata(metadata.clone());
        for (kind, url) in metadata.endpoints() {
            builder = builder.endpoint(kind, url);
        }
        builder
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_urls() {
        let cases = [
            (
                "https://as.example",
                "https://as.example/.well-known/openid-configuration",
                "https://as.example/.well-known/oauth-authorization-server",
            ),
            (
                "https://as.example/",
                "https://as.example/.well-known/openid-configuration",
                "https://as.example/.well-known/oauth-authorization-server",
            ),
            (
                "https://as.example/issuer1",
                "https://as.example/issuer1/.well-known/openid-configuration",
                "https://as.example/.well-known/oauth-authorization-server/issuer1",
            ),
            (
                "https://as.example/a/b/",
                "https://as.example/a/b/.well-known/openid-configuration",
                "https://as.example/.well-known/oauth-authorization-server/a/b",
            ),
            (
                "http://127.0.0.1:3000/op",
                "http://127.0.0.1:3000/op/.well-known/openid-configuration",
                "http://127.0.0.1:3000/.well-known/oauth-authorization-server/op",
            ),
        ];
        for (issuer, openid, oauth) in cases {
            assert_eq!(
                DiscoveryFlow::openid(issuer).unwrap().url().as_str(),
                openid
            );
            assert_eq!(DiscoveryFlow::oauth(issuer).unwrap().url().as_str(), oauth);
        }
    }

    #[test]
    fn bad_issuers_are_refused() {
        for bad in [
            "as.example",
            "https://as.example/?q=1",
            "https://as.example/#f",
        ] {
            assert!(
                matches!(
                    DiscoveryFlow::openid(bad),
                    Err(Error::Config(ConfigError::InvalidParameter { .. }))
                ),
                "{bad}"
            );
        }
        let mut plain = DiscoveryFlow::openid("http://as.example").unwrap();
        assert!(matches!(
            crate::Flow::next(&mut plain, Now::system()),
            Err(Error::Config(ConfigError::InsecureEndpoint { .. }))
        ));
        let mut allowed = DiscoveryFlow::openid("http://as.example")
            .unwrap()
            .insecure_http();
        assert!(matches!(
            crate::Flow::next(&mut allowed, Now::system()),
            Ok(crate::Step::Send(_))
        ));
    }

    #[test]
    fn tenant_templates() {
        let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
        assert!(template_matches(
            template,
            "https://login.microsoftonline.com/common/v2.0"
        ));
        assert!(template_matches(
            template,
            "https://login.microsoftonline.com/organizations/v2.0"
        ));
        assert!(!template_matches(
            template,
            "https://login.microsoftonline.com/v2.0"
        ));
        assert!(!template_matches(
            template,
            "https://login.microsoftonline.com/a/b/v2.0"
        ));
        assert!(!template_matches(
            template,
            "https://evil.example/common/v2.0"
        ));
        assert!(!template_matches(
            "https://x/{tenantid}/{tenantid}",
            "https://x/a/b"
        ));
        assert!(!template_matches("https://x/common", "https://x/common"));
    }
}
