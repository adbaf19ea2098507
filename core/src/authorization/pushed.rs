//! Pushed authorization requests (RFC 9126).

use std::time::Duration;

use url::Url;

use crate::error::{Fapi2Rule, InvalidResponse, ValidationError};
use crate::flow::{EndpointCall, OneShot};
use crate::response::{field, success_object};
use crate::{Error, Now};

/// The server's answer to a pushed request: where to send the person.
///
/// ```
/// // `testing::Driver` plays the server here; it needs grantline's `testing` feature.
/// # use grantline::{EndpointKind, testing::Driver};
/// # let client = grantline::Client::builder("app")
/// #     .redirect_uri("https://app.example/cb")
/// #     .authorization_endpoint("https://as.example/authorize")
/// #     .issuer("https://as.example")
/// #     .token_endpoint("https://as.example/token")
/// #     .jwks_uri("https://as.example/jwks")
/// #     .endpoint(EndpointKind::PushedAuthorization, "https://as.example/par")
/// #     .build()?;
/// # let (flow, _pending) = client.authorization_request().into_pushed()?;
/// # let mut driver = Driver::new().reply_json(201, r#"{"request_uri":"urn:x:1","expires_in":90}"#);
/// let pushed = driver.run(flow).unwrap();
/// assert_eq!(pushed.request_uri(), "urn:x:1");
/// assert_eq!(pushed.expires_in(), std::time::Duration::from_secs(90));
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedAuthorization {
    url: Url,
    request_uri: String,
    expires_in: Duration,
}

impl PushedAuthorization {
    /// The URL to send the person to: the authorization endpoint with `client_id` and
    /// `request_uri` only.
    ///
    /// ```
    /// # fn f(p: &grantline::authorization::PushedAuthorization) -> &str { p.url().as_str() }
    /// ```
    #[must_use]
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The `request_uri` the server gave.
    ///
    /// ```
    /// # fn f(p: &grantline::authorization::PushedAuthorization) -> &str { p.request_uri() }
    /// ```
    #[must_use]
    pub fn request_uri(&self) -> &str {
        &self.request_uri
    }

    /// How long the `request_uri` stays valid.
    ///
    /// ```
    /// # fn f(p: &grantline::authorization::PushedAuthorization) -> std::time::Duration { p.expires_in() }
    /// ```
    #[must_use]
    pub fn expires_in(&self) -> Duration {
        self.expires_in
    }
}

/// A flow that pushes an authorization request. Made by
/// [`AuthorizationRequest::into_pushed`](super::AuthorizationRequest::into_pushed).
#[derive(Debug)]
pub struct PushFlow(OneShot<PushedAuthorization>);

impl PushFlow {
    /// `fapi2`: the client is a FAPI 2.0 client, so a `request_uri` living 600 seconds or
    /// more is refused (§5.3.2.2).
    pub(crate) fn new(
        call: EndpointCall,
        authorization: Url,
        client_id: String,
        fapi2: bool,
    ) -> Self {
        Self(OneShot::new(call, move |response, _now: Now| {
            let mut object = success_object(response)?;
            let request_uri = field::required_string(&mut object, "request_uri")?;
            let expires_in = field::seconds(&mut object, "expires_in")?
                .ok_or(InvalidResponse::new("expires_in", "is missing"))?;
            if fapi2 && expires_in >= Duration::from_secs(600) {
                return Err(ValidationError::Fapi2(Fapi2Rule::Lifetime).into());
            }
            let mut url = authorization.clone();
            url.query_pairs_mut()
                .append_pair("client_id", &client_id)
                .append_pair("request_uri", &request_uri);
            Ok::<_, Error>(PushedAuthorization {
                url,
                request_uri,
                expires_in,
            })
        }))
    }
}

crate::flow::one_shot_flow!(PushFlow, PushedAuthorization);
