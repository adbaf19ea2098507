//! The oauth2-rs 5 column: the calls its documentation shows.
//!
//! oauth2-rs has no callback validation (the application compares `state` itself: that is the
//! floor's code) and no discovery, so it has no case in those rows.

use std::hint::black_box;

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet, HttpRequest,
    HttpResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse as _, TokenUrl,
};

use super::fixtures::{
    AUTHORIZATION_ENDPOINT, CC_SCOPE, CLIENT_ID, CLIENT_SECRET, Fixtures, REDIRECT_URI,
    THREE_SCOPES, TOKEN_ENDPOINT,
};
use super::{CaseId, Column, Kind, Visitor};

/// An oauth2-rs client with its authorization and token endpoints set.
pub(crate) type Oauth2Client =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The client every oauth2-rs case uses: the same id, secret (HTTP Basic, oauth2-rs' default),
/// endpoints and redirect URI as grantline's.
///
/// # Panics
///
/// Never: the URLs are valid.
#[must_use]
#[allow(clippy::expect_used)]
pub(crate) fn client() -> Oauth2Client {
    BasicClient::new(ClientId::new(CLIENT_ID.to_owned()))
        .set_client_secret(ClientSecret::new(CLIENT_SECRET.to_owned()))
        .set_auth_uri(AuthUrl::new(AUTHORIZATION_ENDPOINT.to_owned()).expect("a valid URL"))
        .set_token_uri(TokenUrl::new(TOKEN_ENDPOINT.to_owned()).expect("a valid URL"))
        .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.to_owned()).expect("a valid URL"))
}

/// What the in-memory HTTP client answers when it is not to answer: an error that allocates
/// nothing.
#[derive(Debug, Clone, Copy)]
pub(super) struct Abort;

impl std::fmt::Display for Abort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the benchmark's in-memory client does not answer")
    }
}

impl std::error::Error for Abort {}

/// Takes the request and answers nothing: what is left is building the request.
pub(super) fn build_only(request: HttpRequest) -> Result<HttpResponse, Abort> {
    black_box(request);
    Err(Abort)
}

/// Takes the request and answers a copy of `response`.
pub(super) fn answer(
    response: &http::Response<Vec<u8>>,
) -> impl Fn(HttpRequest) -> Result<HttpResponse, Abort> + '_ {
    move |request| {
        black_box(request);
        Ok(response.clone())
    }
}

/// Takes the request, makes the same copy of `response` as [`answer`], drops it and answers
/// nothing: the baseline subtracted from [`answer`]'s cases.
pub(super) fn baseline(
    response: &http::Response<Vec<u8>>,
) -> impl Fn(HttpRequest) -> Result<HttpResponse, Abort> + '_ {
    move |request| {
        black_box(request);
        black_box(response.clone());
        Err(Abort)
    }
}

#[allow(clippy::expect_used)]
pub(super) fn cases(f: &Fixtures, v: &mut impl Visitor) {
    let client = client();
    let id = |row, kind| CaseId::new(row, Column::Oauth2, kind);
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
            Err(oauth2::RequestTokenError::ServerResponse(_)) => assert_eq!(row, "error_response"),
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

    // oauth2-rs has no nonce: a random token sent as an extra parameter, as its users do.
    for (row, scopes) in [
        ("authorize_url", &["openid"][..]),
        ("authorize_url_3scopes", &THREE_SCOPES[..]),
    ] {
        v.case(
            id(row, Kind::Direct),
            || (),
            |()| {
                let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
                let nonce = CsrfToken::new_random();
                let (url, state) = client
                    .authorize_url(CsrfToken::new_random)
                    .add_scopes(scopes.iter().map(|s| Scope::new((*s).to_owned())))
                    .add_extra_param("nonce", nonce.secret().as_str())
                    .set_pkce_challenge(challenge)
                    .url();
                (url, state, verifier, nonce)
            },
        );
    }
}

/// An oauth2-rs client with only a token endpoint (the end-to-end rows).
pub(crate) type TokenClient =
    BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The end-to-end rows' client of the token endpoint at `url`.
pub(crate) fn token_client(url: &str) -> Result<TokenClient, oauth2::url::ParseError> {
    Ok(BasicClient::new(ClientId::new(CLIENT_ID.to_owned()))
        .set_client_secret(ClientSecret::new(CLIENT_SECRET.to_owned()))
        .set_token_uri(TokenUrl::new(url.to_owned())?))
}
