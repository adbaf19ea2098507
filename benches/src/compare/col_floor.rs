//! The floor: each row's work done with no OAuth library, the least code that gives the same
//! answer: `serde_json` into a minimal struct, `url` and `serde_urlencoded`, `http`.
//!
//! What the floor does per request is what the protocol needs per request, as both libraries do
//! it: it encodes the Basic credentials again for each request rather than caching the header,
//! and draws fresh randomness (one `getrandom` call for state, nonce and verifier) for each
//! authorization URL. Its structs hold the fields a client reads; fields it does not model are
//! skipped, not kept.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::HeaderValue;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use url::Url;
use url::form_urlencoded::byte_serialize;

use super::fixtures::{
    AUTHORIZATION_ENDPOINT, CC_SCOPE, CLIENT_ID, CLIENT_SECRET, Fixtures, ISSUER, REDIRECT_URI,
    STATE, THREE_SCOPES, TOKEN_ENDPOINT,
};
use super::{CaseId, Column, Kind, Visitor};

/// A token response, as a client reads it.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
pub(crate) struct Token {
    access_token: String,
    token_type: String,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
    id_token: Option<String>,
    scope: Option<String>,
}

impl Token {
    /// The access token.
    #[must_use]
    pub(crate) fn access_token(&self) -> &str {
        &self.access_token
    }
}

/// An error response.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
pub(crate) struct ErrorBody {
    error: String,
    error_description: Option<String>,
    error_uri: Option<String>,
}

/// The standard metadata fields (RFC 8414, OpenID Connect Discovery 1.0) grantline's
/// `ServerMetadata` types.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Metadata {
    issuer: String,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    jwks_uri: Option<String>,
    registration_endpoint: Option<String>,
    revocation_endpoint: Option<String>,
    introspection_endpoint: Option<String>,
    device_authorization_endpoint: Option<String>,
    pushed_authorization_request_endpoint: Option<String>,
    backchannel_authentication_endpoint: Option<String>,
    userinfo_endpoint: Option<String>,
    end_session_endpoint: Option<String>,
    #[serde(default)]
    scopes_supported: Vec<String>,
    #[serde(default)]
    response_types_supported: Vec<String>,
    #[serde(default)]
    response_modes_supported: Vec<String>,
    #[serde(default)]
    grant_types_supported: Vec<String>,
    #[serde(default)]
    code_challenge_methods_supported: Vec<String>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    #[serde(default)]
    revocation_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    introspection_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    id_token_signing_alg_values_supported: Vec<String>,
    #[serde(default)]
    userinfo_signing_alg_values_supported: Vec<String>,
    #[serde(default)]
    request_object_signing_alg_values_supported: Vec<String>,
    #[serde(default)]
    dpop_signing_alg_values_supported: Vec<String>,
    #[serde(default)]
    subject_types_supported: Vec<String>,
    #[serde(default)]
    claims_supported: Vec<String>,
    #[serde(default)]
    acr_values_supported: Vec<String>,
    #[serde(default)]
    ui_locales_supported: Vec<String>,
    #[serde(default)]
    backchannel_token_delivery_modes_supported: Vec<String>,
    #[serde(default)]
    require_pushed_authorization_requests: bool,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
    #[serde(default)]
    request_parameter_supported: bool,
    request_uri_parameter_supported: Option<bool>,
    #[serde(default)]
    require_signed_request_object: bool,
    #[serde(default)]
    claims_parameter_supported: bool,
    service_documentation: Option<String>,
    op_policy_uri: Option<String>,
    op_tos_uri: Option<String>,
}

/// The client-credentials request: Basic credentials (form-urlencoded id and secret, RFC 6749
/// §2.3.1), the form body, the two headers.
///
/// # Errors
///
/// Never with the fixed inputs.
pub(crate) fn cc_request() -> Result<http::Request<Vec<u8>>, http::Error> {
    http::Request::post(TOKEN_ENDPOINT)
        .header(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        )
        .header(ACCEPT, HeaderValue::from_static("application/json"))
        .header(AUTHORIZATION, basic_authorization())
        .body(cc_body().into_bytes())
}

/// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
pub(crate) fn basic_authorization() -> String {
    let mut credentials = String::new();
    credentials.extend(byte_serialize(CLIENT_ID.as_bytes()));
    credentials.push(':');
    credentials.extend(byte_serialize(CLIENT_SECRET.as_bytes()));
    let mut authorization = String::from("Basic ");
    STANDARD.encode_string(credentials, &mut authorization);
    authorization
}

/// The client-credentials form: `grant_type` and `scope`.
pub(crate) fn cc_body() -> String {
    form(&[("grant_type", "client_credentials"), ("scope", CC_SCOPE)])
}

/// `serde_urlencoded` of the pairs (which cannot fail for string pairs).
fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// The token response read at `now`: the token and its expiry, or the error body.
///
/// # Errors
///
/// The error response (`None` when it is not JSON).
pub(crate) fn token(
    response: &http::Response<Vec<u8>>,
    now: SystemTime,
) -> Result<(Token, Option<SystemTime>), Option<ErrorBody>> {
    if !response.status().is_success() {
        return Err(serde_json::from_slice(response.body()).ok());
    }
    let token: Token = serde_json::from_slice(response.body()).map_err(|_| None)?;
    let expires_at = token.expires_in.map(|s| now + Duration::from_secs(s));
    Ok((token, expires_at))
}

/// The authorization URL and what the client keeps: state, nonce, PKCE verifier.
fn authorize_url(endpoint: &Url, scope: &str) -> Option<(Url, String, String, String)> {
    let mut random = [0u8; 96];
    getrandom::fill(&mut random).ok()?;
    let (state, rest) = random.split_at(32);
    let (nonce, verifier) = rest.split_at(32);
    let state = URL_SAFE_NO_PAD.encode(state);
    let nonce = URL_SAFE_NO_PAD.encode(nonce);
    let verifier = URL_SAFE_NO_PAD.encode(verifier);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let mut url = endpoint.clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", scope)
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    Some((url, state, nonce, verifier))
}

/// The code, if the callback is at the redirect URI and carries the state and issuer expected
/// and no error.
fn callback(url: &Url, redirect: &Url) -> Option<String> {
    let same_endpoint = url.scheme() == redirect.scheme()
        && url.host() == redirect.host()
        && url.port_or_known_default() == redirect.port_or_known_default()
        && url.path() == redirect.path();
    if !same_endpoint {
        return None;
    }
    let (mut code, mut state, mut iss) = (None, None, None);
    for (name, value) in url.query_pairs() {
        match &*name {
            "code" => code = Some(value),
            "state" => state = Some(value),
            "iss" => iss = Some(value),
            "error" => return None,
            _ => {}
        }
    }
    if state.as_deref() != Some(STATE) || iss.as_deref() != Some(ISSUER) {
        return None;
    }
    code.map(Cow::into_owned)
}

/// The discovery document, if its issuer is the expected one.
fn discovery(response: &http::Response<Vec<u8>>) -> Option<Metadata> {
    if !response.status().is_success() {
        return None;
    }
    let metadata: Metadata = serde_json::from_slice(response.body()).ok()?;
    (metadata.issuer == ISSUER).then_some(metadata)
}

#[allow(clippy::expect_used)]
pub(super) fn cases(f: &Fixtures, v: &mut impl Visitor) {
    let id = |row| CaseId::new(row, Column::Floor, Kind::Direct);
    let now = f.now.wall();

    cc_request().expect("a request");
    v.case(id("cc_request"), || (), |()| cc_request());

    for (row, response) in f.token_rows() {
        let parsed = token(response, now);
        assert_eq!(parsed.is_ok(), row != "error_response", "{row}: {parsed:?}");
        if row == "error_response" {
            assert!(matches!(parsed, Err(Some(_))));
        }
        v.case(id(row), || (), |()| token(response, now));
    }

    let endpoint = Url::parse(AUTHORIZATION_ENDPOINT).expect("a valid URL");
    let three_scopes = THREE_SCOPES.join(" ");
    for (row, scope) in [
        ("authorize_url", "openid"),
        ("authorize_url_3scopes", &three_scopes),
    ] {
        authorize_url(&endpoint, scope).expect("an authorization URL");
        v.case(id(row), || (), |()| authorize_url(&endpoint, scope));
    }

    let redirect = Url::parse(REDIRECT_URI).expect("a valid URL");
    callback(&f.callback, &redirect).expect("a valid callback");
    v.case(id("callback"), || (), |()| callback(&f.callback, &redirect));

    for (row, response) in f.discovery_rows() {
        discovery(response).expect("a discovery document");
        v.case(id(row), || (), |()| discovery(response));
    }
}
