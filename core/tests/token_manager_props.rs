//! Property tests for the auth handlers' two parsers: the `WWW-Authenticate` reader never panics,
//! and no relative path ever leads an API client outside its base URL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use grantline::api::BaseUrl;
use grantline::url::Url;
use grantline::www_authenticate::{is_invalid_token, parse};
use http::{HeaderMap, HeaderValue, StatusCode};
use proptest::prelude::*;

/// Strings made of the pieces challenges are made of, so that the parser's deeper states are
/// reached more often than by random text.
fn challenge_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("Bearer".to_owned()),
        Just("DPoP".to_owned()),
        Just(" ".to_owned()),
        Just(",".to_owned()),
        Just("=".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("error".to_owned()),
        Just("invalid_token".to_owned()),
        Just("é".to_owned()),
        "[a-zA-Z0-9+/=_.~-]{0,6}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

/// Path-like strings built from the characters that matter for escaping a base URL.
fn path_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just("/".to_owned()),
        Just("//".to_owned()),
        Just("\\".to_owned()),
        Just("%2e".to_owned()),
        Just("%2E".to_owned()),
        Just("%2f".to_owned()),
        Just("%5c".to_owned()),
        Just("%25".to_owned()),
        Just("%".to_owned()),
        Just("?".to_owned()),
        Just("#".to_owned()),
        Just(":".to_owned()),
        Just("@".to_owned()),
        Just("\t".to_owned()),
        Just("\n".to_owned()),
        Just("\u{FF0E}".to_owned()),
        Just("https:".to_owned()),
        Just("evil.example".to_owned()),
        "[a-z0-9]{1,3}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..16).prop_map(|pieces| pieces.concat())
}

fn bases() -> impl Strategy<Value = BaseUrl> {
    prop_oneof![
        Just(BaseUrl::new("https://api.example/v1").unwrap()),
        Just(BaseUrl::new("https://api.example/v1/").unwrap()),
        Just(BaseUrl::new("https://api.example").unwrap()),
        Just(BaseUrl::new("http://127.0.0.1:8080/a/b").unwrap()),
    ]
}

/// The property: a joined URL lies under the base, and still does after its own text is parsed
/// again (what the HTTP client does), and its path holds no dot segment in any spelling a server
/// might decode.
fn assert_confined(base: &BaseUrl, url: &Url) {
    assert!(base.contains(url), "{url} escapes {base}");
    let reparsed = Url::parse(url.as_str()).unwrap();
    assert!(base.contains(&reparsed), "{reparsed} escapes {base}");
    let mut path = url.path().to_ascii_lowercase();
    for _ in 0..4 {
        path = path
            .replace("%25", "%")
            .replace("%2e", ".")
            .replace("%2f", "/")
            .replace("%5c", "/");
    }
    for segment in path.split('/') {
        assert!(segment != "." && segment != "..", "{url} has a dot segment");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn www_authenticate_never_panics(value in challenge_like()) {
        let challenges = parse(&value);
        for challenge in &challenges {
            let _ = (challenge.scheme(), challenge.token68(), challenge.param("error"));
            let _ = challenge.params().count();
            let _ = format!("{challenge:?}");
        }
        if let Ok(header) = HeaderValue::from_str(&value) {
            let mut headers = HeaderMap::new();
            headers.insert("www-authenticate", header);
            let _ = is_invalid_token(StatusCode::UNAUTHORIZED, &headers);
        }
    }

    #[test]
    fn www_authenticate_never_panics_on_any_text(value in any::<String>()) {
        let _ = parse(&value);
    }

    #[test]
    fn a_joined_path_never_leaves_the_base(base in bases(), path in path_like()) {
        if let Ok(url) = base.join(path.as_str()) {
            assert_confined(&base, &url);
        }
    }

    #[test]
    fn joined_segments_never_leave_the_base(
        base in bases(),
        segments in prop::collection::vec(path_like(), 0..5),
    ) {
        if let Ok(url) = base.join(segments.as_slice()) {
            assert_confined(&base, &url);
            // Each segment stays one segment.
            let base_segments = base.as_url().path_segments().unwrap().filter(|s| !s.is_empty()).count();
            let joined = url.path_segments().unwrap().count();
            prop_assert!(joined <= base_segments + segments.len().max(1));
        }
    }

    #[test]
    fn plain_names_always_join(
        base in bases(),
        segments in prop::collection::vec("[A-Za-z0-9_-]{1,8}", 1..5),
    ) {
        let text = segments.join("/");
        let url = base.join(text.as_str()).unwrap();
        prop_assert!(url.path().ends_with(&text));
        let url = base.join(segments.as_slice()).unwrap();
        prop_assert!(url.path().ends_with(&text));
    }
}
