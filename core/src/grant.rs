//! Token endpoint grants: client credentials, refresh token, password, token exchange (RFC 8693),
//! JWT bearer (RFC 7523) and any custom grant.
//!
//! A [`TokenRequest`] says which grant and with which parameters; [`Client::request_token`]
//! turns it into a [`TokenFlow`], which sends one request and yields a
//! [`TokenResponse`].
//!
//! ```text
//! TokenRequest ──Client::request_token──▶ TokenFlow ──next──▶ Step::Send(POST token endpoint)
//!                                             ▲                        │
//!                                             └──handle_response───────┘
//!                                         next ──▶ Step::Done(TokenResponse)
//! ```
//!
//! ```
//! use grantline::{Client, Flow, Now, Step, grant::TokenRequest};
//!
//! let client = Client::builder("svc")
//!     .token_endpoint("https://as.example/token")
//!     .client_secret_basic("s3cr3t")
//!     .build()?;
//! let mut flow = client.request_token(
//!     TokenRequest::client_credentials()
//!         .scope("read write")
//!         .resource("https://api.example/")
//!         .param("tenant", "acme"),
//! )?;
//! let now = Now::system();
//! let Step::Send(request) = flow.next(now)? else { unreachable!() };
//! assert_eq!(
//!     request.body(),
//!     b"grant_type=client_credentials&scope=read+write&resource=https%3A%2F%2Fapi.example%2F&tenant=acme"
//! );
//! # Ok::<(), grantline::Error>(())
//! ```

use std::fmt;

use crate::EndpointKind;
use crate::error::{ConfigError, InvalidResponse};
use crate::flow::{EndpointCall, Form, OneShot, Params, check_extra};
use crate::flow::{IdTokenCheck, TokenExchange};
use crate::secret::{Assertion, Password, RefreshToken};
use crate::{Client, Error, Scope, TokenResponse, TokenType};

/// A token type identifier for token exchange (RFC 8693 §3).
///
/// The short names `access_token`, `refresh_token`, `id_token`, `jwt`, `saml1` and `saml2` map to
/// their registered URNs; any other value is sent as given.
///
/// ```
/// use grantline::grant::TokenTypeId;
///
/// assert_eq!(TokenTypeId::from("id_token").as_str(), "urn:ietf:params:oauth:token-type:id_token");
/// assert_eq!(TokenTypeId::from("urn:ietf:params:oauth:token-type:jwt"), TokenTypeId::Jwt);
/// assert_eq!(TokenTypeId::from("urn:example:custom").as_str(), "urn:example:custom");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenTypeId {
    /// `urn:ietf:params:oauth:token-type:access_token`
    AccessToken,
    /// `urn:ietf:params:oauth:token-type:refresh_token`
    RefreshToken,
    /// `urn:ietf:params:oauth:token-type:id_token`
    IdToken,
    /// `urn:ietf:params:oauth:token-type:jwt`
    Jwt,
    /// `urn:ietf:params:oauth:token-type:saml1`
    Saml1,
    /// `urn:ietf:params:oauth:token-type:saml2`
    Saml2,
    /// Any other identifier, as given.
    Other(String),
}

const TOKEN_TYPE_IDS: &[(&str, &str, TokenTypeId)] = &[
    (
        "access_token",
        "urn:ietf:params:oauth:token-type:access_token",
        TokenTypeId::AccessToken,
    ),
    (
        "refresh_token",
        "urn:ietf:params:oauth:token-type:refresh_token",
        TokenTypeId::RefreshToken,
    ),
    (
        "id_token",
        "urn:ietf:params:oauth:token-type:id_token",
        TokenTypeId::IdToken,
    ),
    (
        "jwt",
        "urn:ietf:params:oauth:token-type:jwt",
        TokenTypeId::Jwt,
    ),
    (
        "saml1",
        "urn:ietf:params:oauth:token-type:saml1",
        TokenTypeId::Saml1,
    ),
    (
        "saml2",
        "urn:ietf:params:oauth:token-type:saml2",
        TokenTypeId::Saml2,
    ),
];

impl TokenTypeId {
    /// The identifier as sent (always the full URN for the registered types).
    ///
    /// ```
    /// assert_eq!(grantline::grant::TokenTypeId::Saml2.as_str(), "urn:ietf:params:oauth:token-type:saml2");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        if let TokenTypeId::Other(other) = self {
            return other;
        }
        TOKEN_TYPE_IDS
            .iter()
            .find(|(_, _, id)| id == self)
            .map_or("", |(_, urn, _)| urn)
    }
}

impl From<&str> for TokenTypeId {
    fn from(value: &str) -> Self {
        TOKEN_TYPE_IDS
            .iter()
            .find(|(short, urn, _)| *short == value || *urn == value)
            .map_or_else(
                || TokenTypeId::Other(value.to_owned()),
                |(_, _, id)| id.clone(),
            )
    }
}

impl fmt::Display for TokenTypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A grant's assertion or token: given once, or asked for each request.
#[derive(Clone)]
enum Credential {
    Fixed(Assertion),
    Source(std::sync::Arc<dyn crate::assertion::AssertionSource>),
}

impl Credential {
    /// The value, when it is fixed (a source's goes into the request when it is built).
    fn fixed(&self) -> Option<&str> {
        match self {
            Credential::Fixed(assertion) => Some(assertion.secret()),
            Credential::Source(_) => None,
        }
    }
}

/// Which grant a [`TokenRequest`] uses, with the grant's own parameters.
#[derive(Clone)]
enum Grant {
    ClientCredentials,
    RefreshToken(RefreshToken),
    Password {
        username: String,
        password: Password,
    },
    TokenExchange {
        subject_token: Credential,
        subject_token_type: TokenTypeId,
        actor: Option<(Assertion, TokenTypeId)>,
        requested_token_type: Option<TokenTypeId>,
    },
    JwtBearer(Credential),
    Custom(String),
}

impl Grant {
    fn grant_type(&self) -> &str {
        match self {
            Grant::ClientCredentials => "client_credentials",
            Grant::RefreshToken(_) => "refresh_token",
            Grant::Password { .. } => "password",
            Grant::TokenExchange { .. } => "urn:ietf:params:oauth:grant-type:token-exchange",
            Grant::JwtBearer(_) => "urn:ietf:params:oauth:grant-type:jwt-bearer",
            Grant::Custom(grant_type) => grant_type,
        }
    }

    /// The grant's parameter whose value a source gives for each request, if any.
    fn asked_each_time(
        &self,
    ) -> Option<(
        &'static str,
        &std::sync::Arc<dyn crate::assertion::AssertionSource>,
    )> {
        match self {
            Grant::JwtBearer(Credential::Source(source)) => Some(("assertion", source)),
            Grant::TokenExchange {
                subject_token: Credential::Source(source),
                ..
            } => Some(("subject_token", source)),
            _ => None,
        }
    }

    /// Hands each of the grant's own parameters with a fixed value to `f`, `grant_type` first.
    fn for_each_param(&self, f: &mut dyn FnMut(&'static str, &str)) {
        f("grant_type", self.grant_type());
        match self {
            Grant::ClientCredentials | Grant::Custom(_) => {}
            Grant::RefreshToken(token) => f("refresh_token", token.secret()),
            Grant::Password { username, password } => {
                f("username", username.as_str());
                f("password", password.secret());
            }
            Grant::TokenExchange {
                subject_token,
                subject_token_type,
                actor,
                requested_token_type,
            } => {
                if let Some(subject_token) = subject_token.fixed() {
                    f("subject_token", subject_token);
                }
                f("subject_token_type", subject_token_type.as_str());
                if let Some((actor_token, actor_token_type)) = actor {
                    f("actor_token", actor_token.secret());
                    f("actor_token_type", actor_token_type.as_str());
                }
                if let Some(requested) = requested_token_type {
                    f("requested_token_type", requested.as_str());
                }
            }
            Grant::JwtBearer(assertion) => {
                if let Some(assertion) = assertion.fixed() {
                    f("assertion", assertion);
                }
            }
        }
    }
}

/// A request to the token endpoint: a grant, plus scope, resources, audiences and extra
/// parameters, which every grant takes.
///
/// `Debug` shows the grant type and parameter names, never a token, password or value.
///
/// ```
/// use grantline::grant::TokenRequest;
///
/// let request = TokenRequest::password("alice", "hunter2").scope("openid");
/// assert!(!format!("{request:?}").contains("hunter2"));
/// ```
#[derive(Clone)]
#[must_use = "a token request does nothing until it is given to Client::request_token"]
pub struct TokenRequest {
    grant: Grant,
    scope: Option<Scope>,
    resources: Vec<String>,
    audiences: Vec<String>,
    extra: Params,
    expected_token_type: Option<TokenType>,
    /// The ID token this refresh continues (its new ID token, if any, is checked against it).
    #[cfg(feature = "jose")]
    refresh_of: Option<Box<crate::oidc::IdTokenClaims>>,
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest")
            .field("grant_type", &self.grant.grant_type())
            .field("scope", &self.scope)
            .field("resources", &self.resources)
            .field("audiences", &self.audiences)
            .field(
                "extra",
                &self.extra.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl TokenRequest {
    fn new(grant: Grant) -> Self {
        Self {
            grant,
            scope: None,
            resources: Vec::new(),
            audiences: Vec::new(),
            extra: Vec::new(),
            expected_token_type: None,
            #[cfg(feature = "jose")]
            refresh_of: None,
        }
    }

    /// Validates the ID token a refresh response carries (OpenID Connect Core §12.2): the same
    /// issuer and subject as `original` (the claims the code exchange validated), a good
    /// signature with the issuer's keys, and the other rules. Without this, an ID token in a
    /// refresh response is left unvalidated.
    ///
    /// ```no_run
    /// # fn f(client: &grantline::Client, first: &grantline::TokenResponse) -> Result<(), grantline::Error> {
    /// use grantline::grant::TokenRequest;
    /// let refresh = first.refresh_token().unwrap().clone();
    /// let flow = client.request_token(
    ///     TokenRequest::refresh_token(refresh).id_token_of(first.id_token_claims().unwrap()),
    /// )?;
    /// # let _ = flow; Ok(()) }
    /// ```
    #[cfg(feature = "jose")]
    pub fn id_token_of(mut self, original: &crate::oidc::IdTokenClaims) -> Self {
        self.refresh_of = Some(Box::new(original.clone()));
        self
    }

    /// Refuses a token of any other type than `token_type` (compared case-insensitively): an
    /// application that can only use `Bearer` tokens should not be handed a `mac` or `N_A` one.
    /// The answer is then [`Error::InvalidResponse`] for `token_type`.
    ///
    /// ```
    /// use grantline::{TokenType, grant::TokenRequest};
    /// let _ = TokenRequest::client_credentials().expect_token_type(TokenType::Bearer);
    /// ```
    pub fn expect_token_type(mut self, token_type: TokenType) -> Self {
        self.expected_token_type = Some(token_type);
        self
    }

    /// The client credentials grant (RFC 6749 §4.4).
    ///
    /// ```
    /// let _ = grantline::grant::TokenRequest::client_credentials().scope("read");
    /// ```
    pub fn client_credentials() -> Self {
        Self::new(Grant::ClientCredentials)
    }

    /// The refresh token grant (RFC 6749 §6).
    ///
    /// ```
    /// use grantline::secret::RefreshToken;
    /// let _ = grantline::grant::TokenRequest::refresh_token(RefreshToken::new("rt"));
    /// ```
    pub fn refresh_token(refresh_token: impl Into<RefreshToken>) -> Self {
        Self::new(Grant::RefreshToken(refresh_token.into()))
    }

    /// The resource owner password credentials grant (RFC 6749 §4.3). Deprecated by OAuth 2.1;
    /// use it only where nothing else is possible.
    ///
    /// ```
    /// let _ = grantline::grant::TokenRequest::password("alice", "hunter2");
    /// ```
    pub fn password(username: impl Into<String>, password: impl Into<Password>) -> Self {
        Self::new(Grant::Password {
            username: username.into(),
            password: password.into(),
        })
    }

    /// Token exchange (RFC 8693): trade `subject_token` of `subject_token_type` for another
    /// token. Add an actor with [`actor_token`](Self::actor_token) and ask for a type with
    /// [`requested_token_type`](Self::requested_token_type).
    ///
    /// ```
    /// use grantline::grant::{TokenRequest, TokenTypeId};
    /// let _ = TokenRequest::token_exchange("eyJ...", TokenTypeId::from("access_token"))
    ///     .audience("urn:example:backend");
    /// ```
    pub fn token_exchange(
        subject_token: impl Into<Assertion>,
        subject_token_type: impl Into<TokenTypeId>,
    ) -> Self {
        Self::new(Grant::TokenExchange {
            subject_token: Credential::Fixed(subject_token.into()),
            subject_token_type: subject_token_type.into(),
            actor: None,
            requested_token_type: None,
        })
    }

    /// Token exchange (RFC 8693) with a subject token `source` gives for every request: a
    /// token the platform rotates ([`AssertionFile`](crate::assertion::AssertionFile)), or
    /// one your code fetches ([`assertion::from_fn`](crate::assertion::from_fn)), so that a
    /// [`TokenManager`](crate::token_manager::TokenManager) renewing by this grant sends the
    /// current one, not the one it started with.
    ///
    /// ```
    /// use grantline::{assertion, grant::TokenRequest, secret::Assertion};
    /// let subject = assertion::from_fn("upstream", |_| Ok(Assertion::new("eyJ...")));
    /// let _ = TokenRequest::token_exchange_from(subject, "jwt").audience("urn:example:backend");
    /// ```
    pub fn token_exchange_from(
        source: impl crate::assertion::AssertionSource + 'static,
        subject_token_type: impl Into<TokenTypeId>,
    ) -> Self {
        Self::new(Grant::TokenExchange {
            subject_token: Credential::Source(std::sync::Arc::new(source)),
            subject_token_type: subject_token_type.into(),
            actor: None,
            requested_token_type: None,
        })
    }

    /// The JWT bearer grant (RFC 7523 §2.1), with an assertion the caller made. It is sent as
    /// it is every time the request is used: for a grant a
    /// [`TokenManager`](crate::token_manager::TokenManager) renews, use
    /// [`jwt_bearer_from`](Self::jwt_bearer_from), or the renewal fails once the assertion
    /// expires or the server refuses its `jti` as replayed.
    ///
    /// ```
    /// let _ = grantline::grant::TokenRequest::jwt_bearer("eyJhbGciOi...");
    /// ```
    pub fn jwt_bearer(assertion: impl Into<Assertion>) -> Self {
        Self::new(Grant::JwtBearer(Credential::Fixed(assertion.into())))
    }

    /// The JWT bearer grant (RFC 7523 §2.1) with an assertion `source` gives for every request:
    /// signed fresh by a key ([`JwtAssertionSource`](crate::jose::JwtAssertionSource), the
    /// Google service-account pattern), read from a file the platform rotates
    /// ([`AssertionFile`](crate::assertion::AssertionFile)), or from your closure
    /// ([`assertion::from_fn`](crate::assertion::from_fn)). A
    /// [`TokenManager`](crate::token_manager::TokenManager) then renews by this grant for as
    /// long as the source can give assertions.
    ///
    /// ```
    /// use grantline::grant::TokenRequest;
    /// use grantline::jose::{Algorithm, JwtAssertion, JwtAssertionSource, SigningKey};
    ///
    /// let key = SigningKey::hmac(Algorithm::HS256, b"a secret shared with the server")?;
    /// let source = JwtAssertionSource::new(
    ///     JwtAssertion::new("svc@project.example", "svc@project.example", "https://as.example/token")
    ///         .claim("scope", "read"),
    ///     key,
    /// );
    /// let _ = TokenRequest::jwt_bearer_from(source);
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn jwt_bearer_from(source: impl crate::assertion::AssertionSource + 'static) -> Self {
        Self::new(Grant::JwtBearer(Credential::Source(std::sync::Arc::new(
            source,
        ))))
    }

    /// Any other grant, named by its `grant_type` (usually a URI); give its parameters with
    /// [`param`](Self::param).
    ///
    /// ```
    /// let _ = grantline::grant::TokenRequest::custom("urn:example:grant")
    ///     .param("ticket", "t-123");
    /// ```
    pub fn custom(grant_type: impl Into<String>) -> Self {
        Self::new(Grant::Custom(grant_type.into()))
    }

    /// Sets the requested scope.
    ///
    /// ```
    /// let _ = grantline::grant::TokenRequest::client_credentials().scope(["read", "write"]);
    /// ```
    pub fn scope(mut self, scope: impl Into<Scope>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Adds a `resource` (RFC 8707): an absolute URI without a fragment. Repeatable.
    ///
    /// ```
    /// let _ = grantline::grant::TokenRequest::client_credentials()
    ///     .resource("https://api.example/")
    ///     .resource("https://other.example/");
    /// ```
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resources.push(resource.into());
        self
    }

    /// Adds an `audience` (RFC 8693 §2.1, also understood by many servers for other grants).
    /// Repeatable.
    ///
    /// ```
    /// let _ = grantline::grant::TokenRequest::client_credentials().audience("https://api.example");
    /// ```
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Adds any other parameter. Names grantline sets itself (`grant_type`, `client_id`,
    /// `client_secret`, the grant's own parameters, ...) are refused when the request is used.
    ///
    /// ```
    /// let _ = grantline::grant::TokenRequest::client_credentials().param("tenant", "acme");
    /// ```
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.push((name.into(), value.into()));
        self
    }

    /// Adds an actor token to a token exchange (RFC 8693 §2.1); ignored by other grants.
    ///
    /// ```
    /// use grantline::grant::TokenRequest;
    /// let _ = TokenRequest::token_exchange("subject", "jwt").actor_token("actor", "jwt");
    /// ```
    pub fn actor_token(
        mut self,
        actor_token: impl Into<Assertion>,
        actor_token_type: impl Into<TokenTypeId>,
    ) -> Self {
        if let Grant::TokenExchange { actor, .. } = &mut self.grant {
            *actor = Some((actor_token.into(), actor_token_type.into()));
        }
        self
    }

    /// Asks for a token type in a token exchange (RFC 8693 §2.1); ignored by other grants.
    ///
    /// ```
    /// use grantline::grant::TokenRequest;
    /// let _ = TokenRequest::token_exchange("subject", "access_token").requested_token_type("id_token");
    /// ```
    pub fn requested_token_type(mut self, token_type: impl Into<TokenTypeId>) -> Self {
        if let Grant::TokenExchange {
            requested_token_type,
            ..
        } = &mut self.grant
        {
            *requested_token_type = Some(token_type.into());
        }
        self
    }

    /// Checks what the request says by itself: a custom grant type that is not empty, and
    /// resources that are absolute URIs.
    fn check(&self) -> Result<(), Error> {
        if let Grant::Custom(grant_type) = &self.grant {
            if grant_type.is_empty() {
                return Err(ConfigError::InvalidParameter {
                    name: "grant_type".to_owned(),
                    reason: "it is empty",
                }
                .into());
            }
        }
        self.resources
            .iter()
            .try_for_each(|resource| check_resource(resource))
    }

    /// Hands each parameter grantline sets to `f`, in order: the grant's, then `scope` (when
    /// not empty), the resources and the audiences.
    fn for_each_own_param(&self, f: &mut dyn FnMut(&'static str, &str)) {
        self.grant.for_each_param(f);
        if let Some(scope) = self.scope.as_ref().filter(|s| !s.is_empty()) {
            f("scope", scope.as_str());
        }
        for resource in &self.resources {
            f("resource", resource);
        }
        for audience in &self.audiences {
            f("audience", audience);
        }
    }

    /// Whether grantline sets a parameter named `name` itself.
    fn sets(&self, name: &str) -> bool {
        let mut found = self
            .grant
            .asked_each_time()
            .is_some_and(|(own, _)| own == name);
        self.for_each_own_param(&mut |own, _| found |= own == name);
        found
    }

    /// Hands every parameter that makes this request's token what it is to `f` (for the key a
    /// fleet shares the token under, [`crate::fleet::StoreKey`]): only for grants whose token
    /// depends on nothing else, today `client_credentials`.
    pub(crate) fn share_material(&self, f: &mut dyn FnMut(&str, &str)) -> Result<(), ConfigError> {
        if !matches!(self.grant, Grant::ClientCredentials) {
            return Err(ConfigError::InvalidParameter {
                name: "grant_type".to_owned(),
                reason: "only client_credentials tokens can be shared through a store: other \
                         grants' tokens belong to one user, subject or assertion",
            });
        }
        self.for_each_own_param(&mut |name, value| f(name, value));
        for (name, value) in &self.extra {
            f(name, value);
        }
        Ok(())
    }

    /// The form: grantline's parameters, then the extra ones.
    fn form(&self) -> Form {
        let mut form = Form::new();
        self.for_each_own_param(&mut |name, value| form.pair(name, value));
        for (name, value) in &self.extra {
            form.pair(name, value.as_str());
        }
        form
    }
}

/// RFC 8707 §2: an absolute URI, without a fragment.
fn check_resource(resource: &str) -> Result<(), Error> {
    let invalid = |reason| ConfigError::InvalidParameter {
        name: "resource".to_owned(),
        reason,
    };
    let url = url::Url::parse(resource).map_err(|_| invalid("it is not an absolute URI"))?;
    if url.fragment().is_some() {
        return Err(invalid("it has a fragment, which RFC 8707 forbids").into());
    }
    Ok(())
}

impl Client {
    /// A flow that sends `request` to the token endpoint.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingEndpoint`] when the client has no token endpoint,
    /// [`ConfigError::ReservedParameter`] when an extra parameter would override one grantline
    /// sets, [`ConfigError::InvalidParameter`] for a `resource` that is not an absolute URI.
    ///
    /// ```
    /// use grantline::{Client, Error, EndpointKind, error::ConfigError, grant::TokenRequest};
    ///
    /// let client = Client::builder("c").build()?;
    /// let e = client.request_token(TokenRequest::client_credentials()).unwrap_err();
    /// assert!(matches!(e, Error::Config(ConfigError::MissingEndpoint(EndpointKind::Token))));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn request_token(&self, request: TokenRequest) -> Result<TokenFlow, Error> {
        request.check()?;
        self.require_endpoint(EndpointKind::Token)?;
        check_extra(&request.extra, |name| request.sets(name))?;
        let mut call = EndpointCall::with_form(self, EndpointKind::Token, request.form())?;
        if let Some((name, source)) = request.grant.asked_each_time() {
            call = call.with_dynamic(name, source.clone());
        }
        let inner = match request.expected_token_type.clone() {
            // A plain function: boxing it allocates nothing.
            None => OneShot::new(call, TokenResponse::from_response),
            Some(expected) => OneShot::new(call, move |response, now| {
                let token = TokenResponse::from_response(response, now)?;
                if token.token_type() == &expected {
                    Ok(token)
                } else {
                    Err(InvalidResponse::new(
                        "token_type",
                        "is not the token type this request expects",
                    )
                    .into())
                }
            }),
        };
        #[cfg(feature = "jose")]
        let check = request
            .refresh_of
            .as_deref()
            .map(|original| IdTokenCheck::refresh_of(self, original));
        #[cfg(not(feature = "jose"))]
        let check: Option<IdTokenCheck> = None;
        Ok(TokenFlow(TokenExchange::new(inner, check)))
    }
}

/// A flow that sends one token request and yields the [`TokenResponse`].
///
/// Made by [`Client::request_token`]. See the [module documentation](self) for an example.
#[derive(Debug)]
pub struct TokenFlow(TokenExchange);

impl crate::Flow for TokenFlow {
    type Output = TokenResponse;

    fn next(&mut self, now: crate::Now) -> Result<crate::Step<TokenResponse>, Error> {
        self.0.next(now)
    }

    fn handle_response(
        &mut self,
        response: http::Response<Vec<u8>>,
        now: crate::Now,
    ) -> Result<(), Error> {
        self.0.handle_response(&response, now)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{Flow, Now, Step};

    fn client() -> Client {
        Client::builder("client")
            .token_endpoint("https://as.example/token?tenant=t1")
            .client_secret_post("secret")
            .build()
            .unwrap()
    }

    fn form(request: TokenRequest) -> Vec<(String, String)> {
        let mut flow = client().request_token(request).unwrap();
        let Step::Send(http_request) = flow.next(Now::system()).unwrap() else {
            panic!("expected a request")
        };
        assert_eq!(http_request.method(), http::Method::POST);
        assert_eq!(http_request.uri(), "https://as.example/token?tenant=t1");
        assert_eq!(
            http_request.headers()["content-type"],
            "application/x-www-form-urlencoded"
        );
        assert_eq!(http_request.headers()["accept"], "application/json");
        url::form_urlencoded::parse(http_request.body())
            .into_owned()
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_grant_builds_its_form() {
        let auth = [("client_id", "client"), ("client_secret", "secret")];
        let cases: Vec<(TokenRequest, Vec<(&str, &str)>)> = vec![
            (
                TokenRequest::client_credentials(),
                vec![("grant_type", "client_credentials")],
            ),
            (
                TokenRequest::refresh_token("rt"),
                vec![("grant_type", "refresh_token"), ("refresh_token", "rt")],
            ),
            (
                TokenRequest::password("alice", "p w"),
                vec![
                    ("grant_type", "password"),
                    ("username", "alice"),
                    ("password", "p w"),
                ],
            ),
            (
                TokenRequest::token_exchange("subj", "access_token")
                    .actor_token("act", "jwt")
                    .requested_token_type("saml2"),
                vec![
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:token-exchange",
                    ),
                    ("subject_token", "subj"),
                    (
                        "subject_token_type",
                        "urn:ietf:params:oauth:token-type:access_token",
                    ),
                    ("actor_token", "act"),
                    ("actor_token_type", "urn:ietf:params:oauth:token-type:jwt"),
                    (
                        "requested_token_type",
                        "urn:ietf:params:oauth:token-type:saml2",
                    ),
                ],
            ),
            (
                TokenRequest::jwt_bearer("a.b.c"),
                vec![
                    ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    ("assertion", "a.b.c"),
                ],
            ),
            (
                TokenRequest::custom("urn:example:grant").param("ticket", "t"),
                vec![("grant_type", "urn:example:grant"), ("ticket", "t")],
            ),
        ];
        for (request, mut expected) in cases {
            expected.extend(auth);
            let mut got = form(request);
            let mut expected = pairs(&expected);
            got.sort();
            expected.sort();
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn every_grant_takes_scope_resources_audiences_and_extras() {
        for request in [
            TokenRequest::client_credentials(),
            TokenRequest::refresh_token("rt"),
            TokenRequest::password("u", "p"),
            TokenRequest::token_exchange("s", "jwt"),
            TokenRequest::jwt_bearer("a"),
            TokenRequest::custom("urn:x"),
        ] {
            let got = form(
                request
                    .scope("a b")
                    .resource("https://r1.example/")
                    .resource("urn:r2")
                    .audience("aud1")
                    .audience("aud2")
                    .param("k", "v")
                    .param("k", "w"),
            );
            for pair in pairs(&[
                ("scope", "a b"),
                ("resource", "https://r1.example/"),
                ("resource", "urn:r2"),
                ("audience", "aud1"),
                ("audience", "aud2"),
                ("k", "v"),
                ("k", "w"),
            ]) {
                assert!(got.contains(&pair), "{pair:?} missing from {got:?}");
            }
        }
    }

    #[test]
    fn reserved_and_invalid_parameters_are_refused() {
        for name in [
            "grant_type",
            "client_id",
            "client_secret",
            "client_assertion",
            "scope",
        ] {
            let e = client()
                .request_token(
                    TokenRequest::client_credentials()
                        .scope("s")
                        .param(name, "x"),
                )
                .unwrap_err();
            assert!(
                matches!(e, Error::Config(ConfigError::ReservedParameter(ref n)) if n == name),
                "{name}"
            );
        }
        let e = client()
            .request_token(TokenRequest::refresh_token("rt").param("refresh_token", "other"))
            .unwrap_err();
        assert!(matches!(
            e,
            Error::Config(ConfigError::ReservedParameter(_))
        ));
        for bad in ["relative/path", "https://api.example/#frag", ""] {
            let e = client()
                .request_token(TokenRequest::client_credentials().resource(bad))
                .unwrap_err();
            assert!(
                matches!(e, Error::Config(ConfigError::InvalidParameter { ref name, .. }) if name == "resource"),
                "{bad}"
            );
        }
        let e = client()
            .request_token(TokenRequest::custom(""))
            .unwrap_err();
        assert!(matches!(
            e,
            Error::Config(ConfigError::InvalidParameter { .. })
        ));
    }

    #[test]
    fn only_names_grantline_sends_are_reserved() {
        // Without a scope, resource or audience of grantline's own, the caller may send them.
        let got = form(
            TokenRequest::client_credentials()
                .param("scope", "x y")
                .param("resource", "urn:r")
                .param("audience", "a"),
        );
        for pair in pairs(&[("scope", "x y"), ("resource", "urn:r"), ("audience", "a")]) {
            assert!(got.contains(&pair), "{pair:?} missing from {got:?}");
        }
        // An empty scope is not sent, so it reserves nothing.
        let got = form(
            TokenRequest::client_credentials()
                .scope("")
                .param("scope", "s"),
        );
        assert!(got.contains(&("scope".to_owned(), "s".to_owned())));
        for (request, name) in [
            (
                TokenRequest::client_credentials().resource("urn:r"),
                "resource",
            ),
            (TokenRequest::client_credentials().audience("a"), "audience"),
            (TokenRequest::password("u", "p"), "username"),
            (TokenRequest::password("u", "p"), "password"),
            (TokenRequest::jwt_bearer("a"), "assertion"),
            (
                TokenRequest::token_exchange("s", "jwt"),
                "subject_token_type",
            ),
        ] {
            let e = client()
                .request_token(request.param(name, "x"))
                .unwrap_err();
            assert!(
                matches!(e, Error::Config(ConfigError::ReservedParameter(ref n)) if n == name),
                "{name}"
            );
        }
    }

    #[test]
    fn the_form_is_written_in_order_and_encoded() {
        let mut flow = client()
            .request_token(
                TokenRequest::refresh_token("r/t+")
                    .scope(["openid", "api:read", "openid"])
                    .resource("https://api.example/?a=b")
                    .audience("aud é")
                    .param("k", "v&w"),
            )
            .unwrap();
        let Step::Send(request) = flow.next(Now::system()).unwrap() else {
            panic!("expected a request")
        };
        assert_eq!(
            request.body(),
            &b"grant_type=refresh_token&refresh_token=r%2Ft%2B&scope=openid+api%3Aread\
               &resource=https%3A%2F%2Fapi.example%2F%3Fa%3Db&audience=aud+%C3%A9&k=v%26w\
               &client_id=client&client_secret=secret"[..]
        );
    }

    #[test]
    fn token_type_ids_map_short_names_and_keep_others() {
        for (short, urn, _) in TOKEN_TYPE_IDS {
            assert_eq!(TokenTypeId::from(*short).as_str(), *urn);
            assert_eq!(TokenTypeId::from(*urn).as_str(), *urn);
        }
        assert_eq!(TokenTypeId::from("urn:x").as_str(), "urn:x");
    }

    #[test]
    fn the_flow_runs_once_and_then_refuses() {
        let mut flow = client()
            .request_token(TokenRequest::client_credentials())
            .unwrap();
        let now = Now::system();
        // A response before any request is misuse.
        let early = flow.handle_response(http::Response::new(Vec::new()), now);
        assert!(matches!(
            early,
            Err(Error::Misuse(crate::error::Misuse::UnexpectedResponse))
        ));
        // next() may be called again before a response: the same request comes back.
        let Step::Send(first) = flow.next(now).unwrap() else {
            panic!()
        };
        let Step::Send(again) = flow.next(now).unwrap() else {
            panic!()
        };
        assert_eq!(first.body(), again.body());
        let response = http::Response::builder()
            .status(200)
            .body(br#"{"access_token":"at","token_type":"Bearer","expires_in":60}"#.to_vec())
            .unwrap();
        flow.handle_response(response, now).unwrap();
        let Step::Done(token) = flow.next(now).unwrap() else {
            panic!()
        };
        assert_eq!(
            token.expires_at(),
            Some(now.wall() + Duration::from_secs(60))
        );
        assert!(matches!(
            flow.next(now),
            Err(Error::Misuse(crate::error::Misuse::AlreadyDone))
        ));
    }

    #[test]
    fn a_failed_flow_stays_failed() {
        let mut flow = client()
            .request_token(TokenRequest::client_credentials())
            .unwrap();
        let now = Now::system();
        let _ = flow.next(now).unwrap();
        let response = http::Response::builder()
            .status(400)
            .body(br#"{"error":"invalid_scope"}"#.to_vec())
            .unwrap();
        assert!(flow.handle_response(response, now).is_err());
        assert!(matches!(
            flow.next(now),
            Err(Error::Misuse(crate::error::Misuse::AlreadyFailed))
        ));
        assert_eq!(flow.handle_transport_error(now), crate::Recovery::GiveUp);
    }

    #[test]
    fn an_unexpected_token_type_is_refused_when_asked() {
        let answer = |body: &str| {
            http::Response::builder()
                .status(200)
                .body(body.as_bytes().to_vec())
                .unwrap()
        };
        let now = Now::system();
        let mut flow = client()
            .request_token(
                TokenRequest::client_credentials().expect_token_type(crate::TokenType::Bearer),
            )
            .unwrap();
        let _ = flow.next(now).unwrap();
        let e = flow
            .handle_response(answer(r#"{"access_token":"a","token_type":"mac"}"#), now)
            .unwrap_err();
        assert!(matches!(e, Error::InvalidResponse(ref e) if e.field == "token_type"));
        let mut flow = client()
            .request_token(
                TokenRequest::client_credentials().expect_token_type(crate::TokenType::Bearer),
            )
            .unwrap();
        let _ = flow.next(now).unwrap();
        flow.handle_response(answer(r#"{"access_token":"a","token_type":"BEARER"}"#), now)
            .unwrap();
    }

    #[test]
    fn debug_shows_no_secret_values() {
        let request = TokenRequest::token_exchange("SUBJECT", "jwt")
            .actor_token("ACTOR", "jwt")
            .param("x", "VALUE");
        let shown = format!("{request:?}");
        for secret in ["SUBJECT", "ACTOR", "VALUE"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let flow = client()
            .request_token(TokenRequest::refresh_token("RT"))
            .unwrap();
        let shown = format!("{flow:?}");
        assert!(
            !shown.contains("RT\"") && !shown.contains("secret\""),
            "{shown}"
        );
    }
}
