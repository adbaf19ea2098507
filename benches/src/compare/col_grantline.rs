//! The grantline column: the calls a grantline user makes.

use grantline::authorization::PendingAuthorization;
use grantline::grant::TokenRequest;
use grantline::{Client, Flow, Step, TokenResponse};

use super::fixtures::{
    AUTHORIZATION_ENDPOINT, CC_SCOPE, CLIENT_ID, CLIENT_SECRET, Fixtures, ISSUER, REDIRECT_URI,
    STATE, THREE_SCOPES, TOKEN_ENDPOINT,
};
use super::{CaseId, Column, Kind, Visitor};

fn id(row: &'static str) -> CaseId {
    CaseId::new(row, Column::Grantline, Kind::Direct)
}

/// The client every grantline case uses: client_secret_basic, the issuer known (so `iss` is
/// checked on the callback), loopback endpoints, and the redirect URI (parsed once, here, as
/// the incumbents' clients parse their `RedirectUrl`).
///
/// # Panics
///
/// Never: the configuration is valid.
#[must_use]
#[allow(clippy::expect_used)]
pub(crate) fn client() -> Client {
    Client::builder(CLIENT_ID)
        .issuer(ISSUER)
        .authorization_endpoint(AUTHORIZATION_ENDPOINT)
        .token_endpoint(TOKEN_ENDPOINT)
        // With openid in scope, the authorization request checks the exchange can validate
        // the ID token (issue 19): the key set's URL is part of a working OpenID client.
        .jwks_uri(format!("{ISSUER}/jwks"))
        .client_secret_basic(CLIENT_SECRET)
        .redirect_uri(REDIRECT_URI)
        .build()
        .expect("a valid client")
}

/// One client-credentials request, built: the token request, its flow, and the HTTP request the
/// flow's first step hands the transport.
fn cc_request(
    client: &Client,
    now: grantline::Now,
) -> Result<http::Request<Vec<u8>>, grantline::Error> {
    let mut flow = client.request_token(TokenRequest::client_credentials().scope(CC_SCOPE))?;
    match flow.next(now)? {
        Step::Send(request) => Ok(request),
        Step::Wait(_) | Step::Done(_) => unreachable!("a token flow sends first"),
    }
}

#[allow(clippy::expect_used)]
fn pending(client: &Client) -> PendingAuthorization {
    client
        .authorization_request()
        .scope("openid")
        .state(STATE)
        .into_redirect()
        .expect("a valid authorization request")
        .1
}

#[allow(clippy::expect_used)]
pub(super) fn cases(f: &Fixtures, v: &mut impl Visitor) {
    let client = client();
    let now = f.now;

    let request = cc_request(&client, now).expect("a request");
    assert!(request.headers().contains_key("authorization"));
    v.case(id("cc_request"), || (), |()| cc_request(&client, now));

    for (row, response) in f.token_rows() {
        let parsed = TokenResponse::from_response(response, now);
        assert_eq!(parsed.is_ok(), row != "error_response", "{row}: {parsed:?}");
        v.case(
            id(row),
            || (),
            |()| TokenResponse::from_response(response, now),
        );
    }

    for (row, scope) in [
        ("authorize_url", "openid".to_owned()),
        ("authorize_url_3scopes", THREE_SCOPES.join(" ")),
    ] {
        let authorize = || {
            client
                .authorization_request()
                .scope(scope.as_str())
                .into_redirect()
        };
        let (url, pending_check) = authorize().expect("an authorization URL");
        assert!(url.query().is_some_and(|q| q.contains("nonce=")));
        drop(pending_check);
        v.case(id(row), || (), |()| authorize());
    }

    let callback = &f.callback;
    pending(&client)
        .validate_callback(callback)
        .expect("a valid callback");
    v.case(
        id("callback"),
        || pending(&client),
        |pending| pending.validate_callback(callback),
    );

    // `DiscoveryFlow`'s parser: the document, then its issuer against the expected one.
    let discover = |response: &http::Response<Vec<u8>>| {
        grantline::discovery::ServerMetadata::from_response(response, now)
            .ok()
            .filter(|metadata| metadata.issuer == ISSUER)
    };
    for (row, response) in f.discovery_rows() {
        discover(response).expect("a discovery document of the expected issuer");
        v.case(id(row), || (), |()| discover(response));
    }
}
