//! Reading what the browser brought back: a URL, a query, a fragment, or a form post.

use std::borrow::Cow;

use url::{Position, Url};

use crate::Error;
use crate::error::ValidationError;

/// The authorization response as the application received it.
///
/// `From<&str>` guesses the shape: a string that parses as an absolute URL is a
/// [`Url`](Callback::Url) (surrounding whitespace from a paste is ignored); anything else is a
/// query or fragment (a leading `?` or `#` is allowed).
///
/// ```
/// use grantline::authorization::Callback;
///
/// assert!(matches!(Callback::from("  https://app.example/cb?code=x&state=y\n"), Callback::Url(_)));
/// assert!(matches!(Callback::from("?code=x&state=y"), Callback::Parameters(_)));
/// assert!(matches!(Callback::form_post(b"code=x&state=y"), Callback::Parameters(_)));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Callback {
    /// The full redirect URL (pasted by a person, or rebuilt by a web server), parsed. Its
    /// parameters are read from the query, or from the fragment when the query has none.
    Url(Url),
    /// The parameters alone: a query string, a fragment, or a `form_post` body.
    Parameters(String),
}

impl std::fmt::Debug for Callback {
    /// The callback carries the code: only its shape is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Callback::Url(_) => f.write_str("Callback::Url(..)"),
            Callback::Parameters(_) => f.write_str("Callback::Parameters(..)"),
        }
    }
}

impl Callback {
    /// The body of a `response_mode=form_post` request (`application/x-www-form-urlencoded`).
    ///
    /// ```
    /// let _ = grantline::authorization::Callback::form_post(b"code=x&state=y");
    /// ```
    #[must_use]
    pub fn form_post(body: &[u8]) -> Self {
        Callback::Parameters(String::from_utf8_lossy(body).into_owned())
    }

    /// The parameters, with duplicates refused, and for a URL whether it is at `redirect_uri`.
    pub(crate) fn parameters(&self, redirect_uri: &str) -> Result<CallbackParams<'_>, Error> {
        let raw = match self {
            Callback::Url(url) => {
                if !same_endpoint(url, redirect_uri) {
                    return Err(ValidationError::RedirectUriMismatch.into());
                }
                match (url.query(), url.fragment()) {
                    (Some(query), _) if !query.is_empty() => query,
                    (_, Some(fragment)) => fragment,
                    _ => "",
                }
            }
            Callback::Parameters(raw) => {
                let raw = raw.trim();
                raw.strip_prefix(['?', '#']).unwrap_or(raw)
            }
        };
        if raw.is_empty() {
            return Err(
                ValidationError::MalformedCallback("the callback has no parameters").into(),
            );
        }
        CallbackParams::read(raw)
    }
}

/// The parameters of an authorization response, each value still as it was sent
/// (form-urlencoded): most are only compared, so only what is kept gets decoded.
#[derive(Default)]
pub(crate) struct CallbackParams<'a> {
    pub(crate) code: Option<&'a str>,
    pub(crate) state: Option<&'a str>,
    pub(crate) iss: Option<&'a str>,
    pub(crate) error: Option<&'a str>,
    pub(crate) error_description: Option<&'a str>,
    pub(crate) error_uri: Option<&'a str>,
    /// Every other parameter: decoded name, encoded value.
    pub(crate) others: Vec<(Cow<'a, str>, &'a str)>,
}

impl<'a> CallbackParams<'a> {
    /// Reads `raw` (`application/x-www-form-urlencoded`), refusing a name given twice.
    fn read(raw: &'a str) -> Result<Self, Error> {
        let mut params = CallbackParams::default();
        for (name, value) in RawPairs(raw) {
            let name = decode(name);
            let slot = match &*name {
                "code" => &mut params.code,
                "state" => &mut params.state,
                "iss" => &mut params.iss,
                "error" => &mut params.error,
                "error_description" => &mut params.error_description,
                "error_uri" => &mut params.error_uri,
                _ => {
                    if params.others.iter().any(|(n, _)| *n == name) {
                        return Err(ValidationError::DuplicateParameter(name.into_owned()).into());
                    }
                    params.others.push((name, value));
                    continue;
                }
            };
            if slot.replace(value).is_some() {
                return Err(ValidationError::DuplicateParameter(name.into_owned()).into());
            }
        }
        Ok(params)
    }
}

/// The `name=value` pairs of a form-urlencoded string, undecoded, split exactly as
/// `form_urlencoded::parse` splits them: on `&`, skipping empty pieces, then at the first `=`.
struct RawPairs<'a>(&'a str);

impl<'a> Iterator for RawPairs<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.0.is_empty() {
                return None;
            }
            let (piece, rest) = self.0.split_once('&').unwrap_or((self.0, ""));
            self.0 = rest;
            if !piece.is_empty() {
                return Some(piece.split_once('=').unwrap_or((piece, "")));
            }
        }
    }
}

/// Decodes one form-urlencoded name or value exactly as `form_urlencoded::parse` does (`+` is
/// a space, `%XX` a byte, invalid UTF-8 replaced), borrowing when there is nothing to decode.
pub(crate) fn decode(raw: &str) -> Cow<'_, str> {
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(raw);
    }
    let bytes: Vec<u8> = Decoded::new(raw).collect();
    Cow::Owned(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// Whether `raw` decodes to `expected`, without decoding it into a new string.
pub(crate) fn decodes_to(raw: &str, expected: &str) -> bool {
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return raw == expected;
    }
    // Equal bytes are valid UTF-8, so no replacement could have changed them; unequal bytes
    // might still be equal once invalid UTF-8 is replaced (when `expected` holds U+FFFD).
    Decoded::new(raw).eq(expected.bytes()) || decode(raw) == expected
}

/// The bytes a form-urlencoded string stands for.
struct Decoded<'a> {
    bytes: std::slice::Iter<'a, u8>,
}

impl<'a> Decoded<'a> {
    fn new(raw: &'a str) -> Self {
        Decoded {
            bytes: raw.as_bytes().iter(),
        }
    }
}

impl Iterator for Decoded<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        let byte = *self.bytes.next()?;
        match byte {
            b'+' => Some(b' '),
            b'%' => {
                let rest = self.bytes.as_slice();
                let hex = |i: usize| rest.get(i).and_then(|b| char::from(*b).to_digit(16));
                match (hex(0), hex(1)) {
                    (Some(high), Some(low)) => {
                        self.bytes.nth(1);
                        u8::try_from(high * 16 + low).ok()
                    }
                    _ => Some(b'%'),
                }
            }
            other => Some(other),
        }
    }
}

/// Whether `url` is at the redirect URI: same scheme, host, port and path.
fn same_endpoint(url: &Url, redirect_uri: &str) -> bool {
    // The usual case without parsing: the redirect URI is written as the URL serializes it,
    // and a serialized http(s) URL parses back to itself.
    (matches!(url.scheme(), "http" | "https") && url[..Position::AfterPath] == *redirect_uri)
        || same_endpoint_parsed(url, redirect_uri)
}

/// [`same_endpoint`] by parsing the redirect URI.
fn same_endpoint_parsed(url: &Url, redirect_uri: &str) -> bool {
    let Ok(expected) = Url::parse(redirect_uri) else {
        return false;
    };
    url.scheme() == expected.scheme()
        && url.host() == expected.host()
        && url.port_or_known_default() == expected.port_or_known_default()
        && url.path() == expected.path()
}

impl From<&str> for Callback {
    fn from(value: &str) -> Self {
        match Url::parse(value.trim()) {
            Ok(url) => Callback::Url(url),
            Err(_) => Callback::Parameters(value.to_owned()),
        }
    }
}

impl From<String> for Callback {
    fn from(value: String) -> Self {
        match Url::parse(value.trim()) {
            Ok(url) => Callback::Url(url),
            Err(_) => Callback::Parameters(value),
        }
    }
}

impl From<&Url> for Callback {
    fn from(value: &Url) -> Self {
        Callback::Url(value.clone())
    }
}

impl From<Url> for Callback {
    fn from(value: Url) -> Self {
        Callback::Url(value)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What the general parser makes of `raw`: decoded pairs, in order.
    fn general(raw: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(raw.as_bytes())
            .into_owned()
            .collect()
    }

    fn ours(raw: &str) -> Vec<(String, String)> {
        RawPairs(raw)
            .map(|(n, v)| (decode(n).into_owned(), decode(v).into_owned()))
            .collect()
    }

    #[test]
    fn decoding_follows_form_urlencoded() {
        for raw in [
            "a=b&c=d",
            "&&a=&=b&c",
            "x=%41%4a%4A%zz%4&y=%&z=a+b%2B",
            "n%61me=v=w",
            "bad=%FF%FE",
            "iss=http%3A%2F%2F127.0.0.1%3A37667",
        ] {
            assert_eq!(ours(raw), general(raw), "{raw}");
        }
        assert!(decodes_to("http%3A%2F%2Fa", "http://a"));
        assert!(!decodes_to("http%3A%2F%2Fa", "http://b"));
        assert!(decodes_to("%FF", "\u{FFFD}"));
    }

    #[test]
    fn the_redirect_uri_shortcut_only_accepts_what_parsing_accepts() {
        let url = Url::parse("http://127.0.0.1:8080/callback?code=c").unwrap();
        assert!(same_endpoint(&url, "http://127.0.0.1:8080/callback"));
        assert!(same_endpoint(&url, "HTTP://127.0.0.1:8080/callback"));
        assert!(!same_endpoint(&url, "http://127.0.0.1:8080/callback2"));
        let with_user = Url::parse("http://u:p@127.0.0.1:8080/callback?code=c").unwrap();
        assert!(same_endpoint(&with_user, "http://127.0.0.1:8080/callback"));
    }

    proptest! {
        #[test]
        fn raw_pairs_and_decode_give_what_form_urlencoded_gives(
            raw in "([a-z=&+%]|%[0-9a-fA-F]{2}|%[g-z0-9]|é){0,40}"
        ) {
            prop_assert_eq!(ours(&raw), general(&raw));
            for (name, value) in RawPairs(&raw) {
                let decoded = decode(value).into_owned();
                prop_assert!(decodes_to(value, &decoded));
                prop_assert_eq!(decodes_to(value, "x"), decoded == "x");
                prop_assert_eq!(decodes_to(name, "code"), decode(name) == "code");
            }
        }

        #[test]
        fn same_endpoint_gives_what_parsing_gives(
            scheme in "(http|https|HTTP|myapp)",
            user in "(|u@|u:p@)",
            host in "(127\\.0\\.0\\.1|localhost|app\\.example|APP\\.example|\\[::1\\]|0x7f\\.1)",
            port in "(|:80|:443|:8080|:08080)",
            path in "(|/|/cb|/cb/|/c%62|/a/\\.\\./cb|/cb\\?x=1)",
            redirect in "(http|https)://(127\\.0\\.0\\.1|localhost|app\\.example)(|:80|:443|:8080)(|/|/cb|/cb/)",
        ) {
            let text = format!("{scheme}://{user}{host}{port}{path}");
            if let Ok(url) = Url::parse(&text) {
                prop_assert_eq!(
                    same_endpoint(&url, &redirect),
                    same_endpoint_parsed(&url, &redirect),
                    "{} vs {}", text, redirect
                );
                let own = url[..Position::AfterPath].to_owned();
                prop_assert_eq!(same_endpoint(&url, &own), same_endpoint_parsed(&url, &own));
            }
        }
    }
}
