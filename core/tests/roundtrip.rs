//! Property tests: what grantline builds parses back to what it was built from, whatever the
//! values (spaces, `&`, `=`, `%`, `+`, non-ASCII, emoji).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use grantline::authorization::RedirectUri;
use grantline::grant::TokenRequest;
use grantline::{Client, Flow, Now, Step};
use proptest::prelude::*;

fn client() -> Client {
    Client::builder("client id/é")
        .issuer("https://as.example")
        .authorization_endpoint("https://as.example/authorize?tenant=a%26b")
        .token_endpoint("https://as.example/token")
        .jwks_uri("https://as.example/jwks")
        .client_secret_post("secret & = + %")
        .build()
        .unwrap()
}

/// Parameter names that grantline does not set itself.
fn free_name() -> impl Strategy<Value = String> {
    "[a-z][a-z_]{0,10}".prop_filter("not a name grantline sets", |n| {
        ![
            "grant_type",
            "client_id",
            "client_secret",
            "client_assertion",
            "client_assertion_type",
            "scope",
            "resource",
            "audience",
            "refresh_token",
            "response_type",
            "redirect_uri",
            "state",
            "nonce",
            "code_challenge",
            "code_challenge_method",
            "request_uri",
        ]
        .contains(&n.as_str())
    })
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![".{0,30}", "[ &=+%#?/\u{e9}\u{1F511}]{0,10}"]
}

fn pairs(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn token_request_bodies_parse_back(
        refresh in ".{1,40}",
        scope in prop::collection::vec("[!#-\\[\\]-~]{1,12}", 0..4),
        extra in prop::collection::vec((free_name(), value()), 0..5),
    ) {
        let mut request = TokenRequest::refresh_token(refresh.as_str())
            .resource("https://api.example/x?y=1&z=%20");
        if !scope.is_empty() {
            request = request.scope(scope.join(" "));
        }
        for (name, value) in &extra {
            request = request.param(name.as_str(), value.as_str());
        }
        let mut flow = client().request_token(request).unwrap();
        let Step::Send(http_request) = flow.next(Now::system()).unwrap() else { panic!() };
        let got = pairs(http_request.body());
        let mut expected = vec![
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), refresh.clone()),
        ];
        let scope: grantline::Scope = scope.iter().collect();
        if !scope.is_empty() {
            expected.push(("scope".to_owned(), scope.to_string()));
        }
        expected.push(("resource".to_owned(), "https://api.example/x?y=1&z=%20".to_owned()));
        expected.extend(extra.iter().cloned());
        expected.push(("client_id".to_owned(), "client id/é".to_owned()));
        expected.push(("client_secret".to_owned(), "secret & = + %".to_owned()));
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn authorization_urls_parse_back(
        login_hint in value(),
        extra in prop::collection::vec((free_name(), value()), 0..5),
        redirect_path in "[a-z]{1,8}",
    ) {
        let redirect = format!("http://127.0.0.1:8080/{redirect_path}?x=1");
        let mut request = client()
            .authorization_request()
            .redirect_uri(RedirectUri::new(redirect.as_str()).unwrap())
            .scope("openid profile")
            .login_hint(login_hint.as_str());
        for (name, value) in &extra {
            request = request.param(name.as_str(), value.as_str());
        }
        let (url, pending) = request.into_redirect().unwrap();
        let got: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        prop_assert_eq!(&got[0], &("tenant".to_owned(), "a&b".to_owned()));
        let find = |name: &str| got.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        prop_assert_eq!(find("client_id"), Some("client id/é".to_owned()));
        prop_assert_eq!(find("redirect_uri"), Some(redirect.clone()));
        prop_assert_eq!(find("state"), Some(pending.state().to_owned()));
        prop_assert_eq!(find("login_hint"), Some(login_hint.clone()));
        let tail: Vec<_> = got[got.len() - extra.len()..].to_vec();
        prop_assert_eq!(tail, extra);
    }
}
