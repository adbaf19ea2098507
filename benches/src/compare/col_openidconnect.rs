//! The openidconnect-rs 4 column: the calls its documentation shows.
//!
//! Its token requests are oauth2-rs' (it wraps an oauth2-rs client), with its own token response
//! type, which decodes the ID token when the response is parsed.
//!
//! `CoreProviderMetadata::discover` always fetches the JWK Set too, so the discovery case runs
//! what its private `discovery_response` does with the document: status, content type (two
//! lowercased copies, as `content_type_has_essence` makes), `serde_path_to_error` into
//! `CoreProviderMetadata`, issuer check.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJsonWebKeySet, CoreProviderMetadata,
};
use openidconnect::{
    AuthUrl, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet, IssuerUrl, Nonce,
    OAuth2TokenResponse as _, PkceCodeChallenge, RedirectUrl, Scope, TokenUrl,
};

use super::col_oauth2::{answer, baseline, build_only};
use super::fixtures::{
    AUTHORIZATION_ENDPOINT, CC_SCOPE, CLIENT_ID, CLIENT_SECRET, Fixtures, ISSUER, REDIRECT_URI,
    THREE_SCOPES, TOKEN_ENDPOINT,
};
use super::{CaseId, Column, Kind, Visitor};

/// An openidconnect-rs client with its authorization and token endpoints set.
pub(crate) type OidcClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointNotSet,
>;

/// The client every openidconnect-rs case uses: the same id, secret, issuer, endpoints and
/// redirect URI as grantline's.
///
/// # Panics
///
/// Never: the URLs are valid.
#[must_use]
#[allow(clippy::expect_used)]
pub(crate) fn client() -> OidcClient {
    CoreClient::new(
        ClientId::new(CLIENT_ID.to_owned()),
        IssuerUrl::new(ISSUER.to_owned()).expect("a valid URL"),
        CoreJsonWebKeySet::default(),
    )
    .set_client_secret(ClientSecret::new(CLIENT_SECRET.to_owned()))
    .set_auth_uri(AuthUrl::new(AUTHORIZATION_ENDPOINT.to_owned()).expect("a valid URL"))
    .set_token_uri(TokenUrl::new(TOKEN_ENDPOINT.to_owned()).expect("a valid URL"))
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.to_owned()).expect("a valid URL"))
}

/// openidconnect-rs' `content_type_has_essence`, as it is written.
fn has_essence(content_type: &http::HeaderValue, expected: &str) -> bool {
    content_type.to_str().ok().is_some_and(|ct| {
        let essence = ct.split(';').next().unwrap_or(ct);
        essence.to_lowercase() == expected.to_lowercase()
    })
}

/// What `discover` does with the document it fetched.
fn discovery_response(
    response: &http::Response<Vec<u8>>,
    issuer: &IssuerUrl,
) -> Option<CoreProviderMetadata> {
    if response.status() != http::StatusCode::OK {
        return None;
    }
    if let Some(content_type) = response.headers().get(http::header::CONTENT_TYPE) {
        if !has_essence(content_type, "application/json") {
            return None;
        }
    }
    let metadata: CoreProviderMetadata = serde_path_to_error::deserialize(
        &mut serde_json::Deserializer::from_slice(response.body()),
    )
    .ok()?;
    (metadata.issuer() == issuer).then_some(metadata)
}

#[allow(clippy::expect_used)]
pub(super) fn cases(f: &Fixtures, v: &mut impl Visitor) {
    let client = client();
    let id = |row, kind| CaseId::new(row, Column::Openidconnect, kind);
    let scope = || Scope::new(CC_SCOPE.to_owned());

    v.case(
        id("cc_request", Kind::Direct),
        || (),
        |()| {
            client
                .exchange_client_credentials()
                .add_scope(scope())
                .request(&build_only)
        },
    );

    for (row, response) in f.token_rows() {
        let gross = answer(response);
        let base = baseline(response);
        let parsed = client
            .exchange_client_credentials()
            .add_scope(scope())
            .request(&gross);
        match &parsed {
            Ok(token) => assert!(!token.access_token().secret().is_empty()),
            Err(openidconnect::RequestTokenError::ServerResponse(_)) => {
                assert_eq!(row, "error_response")
            }
            Err(e) => panic!("{row}: {e:?}"),
        }
        v.case(
            id(row, Kind::Gross),
            || (),
            |()| {
                client
                    .exchange_client_credentials()
                    .add_scope(scope())
                    .request(&gross)
            },
        );
        v.case(
            id(row, Kind::Baseline),
            || (),
            |()| {
                client
                    .exchange_client_credentials()
                    .add_scope(scope())
                    .request(&base)
            },
        );
    }

    // The `openid` scope is added by the library.
    for (row, scopes) in [
        ("authorize_url", &[][..]),
        (
            "authorize_url_3scopes",
            THREE_SCOPES.get(1..).unwrap_or_default(),
        ),
    ] {
        v.case(
            id(row, Kind::Direct),
            || (),
            |()| {
                let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
                let (url, state, nonce) = client
                    .authorize_url(
                        CoreAuthenticationFlow::AuthorizationCode,
                        CsrfToken::new_random,
                        Nonce::new_random,
                    )
                    .add_scopes(scopes.iter().map(|s| Scope::new((*s).to_owned())))
                    .set_pkce_challenge(challenge)
                    .url();
                (url, state, nonce, verifier)
            },
        );
    }

    let issuer = IssuerUrl::new(ISSUER.to_owned()).expect("a valid URL");
    for (row, response) in f.discovery_rows() {
        discovery_response(response, &issuer).expect("a discovery document");
        v.case(
            id(row, Kind::Direct),
            || (),
            |()| discovery_response(response, &issuer),
        );
    }
}
