//! Calling an API: relative paths joined onto a base URL, never leaving it.
//!
//! An API client is given a [`BaseUrl`] once (`https://api.example/v1`), and every call names a
//! path relative to it: a string (`"users/42"`) or segments (`["users", id]`). The join is built
//! so that no path, however hostile, can make the client send a request (and its access token)
//! anywhere else on the server or off it:
//!
//! | input | what happens |
//! | --- | --- |
//! | `"users/42"`, `"/users/42"` | `https://api.example/v1/users/42` (a leading `/` does not reset to the root) |
//! | `"users?active=true"` | the query is kept |
//! | `".."`, `"a/../../admin"`, `"."` | refused: dot segments |
//! | `"%2e%2e/admin"`, `".%2E/x"`, `"%252e%252e"` | refused: dot segments once percent-decoded (any number of times) |
//! | `"..%2fadmin"`, `"a%5c..%5cadmin"` | refused: a server that decodes `%2F` or `%5C` would see `../admin` |
//! | `"//evil.example/x"`, `"a//b"` | refused: empty segments (`//` would name another host) |
//! | `"https://evil.example/"` | refused: empty segment after `https:` (and a scheme can never take effect: the path is appended, not resolved) |
//! | `"a\\..\\admin"`, `"\\\\evil"` | refused: backslashes (browsers and some servers read them as `/`) |
//! | `"a\n/../b"`, tabs, NUL | refused: control characters (URL parsers delete tabs and newlines, which can form `..`) |
//! | `"．．/admin"` (fullwidth) | refused: servers that normalise Unicode (NFKC) would read `../admin` |
//! | `["users", "a/b"]` | segments are encoded: `users/a%2Fb`; dot segments refused as above |
//!
//! Every joined URL is checked once more with [`BaseUrl::contains`] before it is returned, and the
//! transports' API clients check it again before sending, so a custom [`ApiPath`] cannot escape
//! either.
//!
//! ```
//! use grantline::api::BaseUrl;
//!
//! let base = BaseUrl::new("https://api.example/v1")?;
//! assert_eq!(base.join("users/42")?.as_str(), "https://api.example/v1/users/42");
//! assert_eq!(base.join("/users?active=true")?.as_str(), "https://api.example/v1/users?active=true");
//! assert_eq!(base.join(["users", "a b/c"])?.as_str(), "https://api.example/v1/users/a%20b%2Fc");
//! assert!(base.join("../admin").is_err());
//! assert!(base.join("//evil.example/").is_err());
//! # Ok::<(), grantline::Error>(())
//! ```

use std::fmt;

use url::{Position, Url};

use crate::Error;
use crate::endpoint::is_loopback;
use crate::error::ConfigError;

/// The base URL of an API: an absolute `https` URL (or `http` on a loopback address, or anywhere
/// with [`BaseUrl::insecure_http`]), without query, fragment or user info.
///
/// ```
/// use grantline::api::BaseUrl;
///
/// let base = BaseUrl::new("https://api.example/v1")?;
/// assert_eq!(base.as_url().as_str(), "https://api.example/v1");
/// assert!(BaseUrl::new("http://api.example/").is_err());
/// assert!(BaseUrl::new("http://127.0.0.1:8080/api").is_ok());
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// The base as given (normalised by the URL parser).
    base: Url,
    /// `base` with its path ending in `/`: every joined URL starts with it.
    prefix: String,
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BaseUrl").field(&self.base.as_str()).finish()
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.base.as_str())
    }
}

fn invalid(name: &str, reason: &'static str) -> Error {
    Error::Config(ConfigError::InvalidParameter {
        name: name.to_owned(),
        reason,
    })
}

fn invalid_base(reason: &'static str) -> Error {
    invalid("base_url", reason)
}

fn invalid_path(reason: &'static str) -> Error {
    invalid("path", reason)
}

impl BaseUrl {
    /// Parses and checks a base URL. Plain `http` is accepted only on loopback hosts
    /// (`127.0.0.0/8`, `::1`, `localhost`): elsewhere the access token would travel in clear.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] with [`ConfigError::InvalidParameter`] named `base_url`: not an absolute
    /// `http(s)` URL, a query, a fragment, user info, or `http` on a host that is not loopback.
    ///
    /// ```
    /// use grantline::{Error, api::BaseUrl, error::ConfigError};
    ///
    /// for bad in ["api.example/v1", "https://api.example/?key=1", "https://u:p@api.example/", "ftp://api.example/"] {
    ///     let e = BaseUrl::new(bad).unwrap_err();
    ///     assert!(matches!(e, Error::Config(ConfigError::InvalidParameter { ref name, .. }) if name == "base_url"));
    /// }
    /// ```
    pub fn new(url: &str) -> Result<Self, Error> {
        Self::parse(url, false)
    }

    /// Like [`new`](Self::new), but accepts plain `http` on any host: for an API on a private
    /// network that has no TLS. Anyone on the path can read the access token.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new), except for the `http` rule.
    ///
    /// ```
    /// let base = grantline::api::BaseUrl::insecure_http("http://api.internal/v1")?;
    /// # let _ = base;
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn insecure_http(url: &str) -> Result<Self, Error> {
        Self::parse(url, true)
    }

    fn parse(raw: &str, insecure_http: bool) -> Result<Self, Error> {
        let base = Url::parse(raw).map_err(|_| invalid_base("it is not an absolute URL"))?;
        if base.query().is_some() {
            return Err(invalid_base(
                "it has a query: give query parameters per request",
            ));
        }
        if base.fragment().is_some() {
            return Err(invalid_base("it has a fragment (#...)"));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(invalid_base(
                "it has user info (user:password@): credentials travel in the Authorization header",
            ));
        }
        let host = base
            .host()
            .ok_or_else(|| invalid_base("it has no host"))?
            .to_owned();
        match base.scheme() {
            "https" => {}
            "http" if insecure_http || is_loopback(&host) => {}
            "http" => {
                return Err(invalid_base(
                    "it uses plain http on a host that is not a loopback address: use https, or BaseUrl::insecure_http",
                ));
            }
            _ => return Err(invalid_base("its scheme is neither https nor http")),
        }
        let mut prefix = base.as_str().to_owned();
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        Ok(Self { base, prefix })
    }

    /// The base URL, as given.
    ///
    /// ```
    /// let base = grantline::api::BaseUrl::new("https://api.example")?;
    /// assert_eq!(base.as_url().as_str(), "https://api.example/");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn as_url(&self) -> &Url {
        &self.base
    }

    /// Joins `path` (a string, or segments) onto the base. An empty path (`""`, `"/"`, no
    /// segments) is the base itself.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] with [`ConfigError::InvalidParameter`] named `path` for any path that
    /// could leave the base (see the [module documentation](self) for the rules).
    ///
    /// ```
    /// use grantline::api::BaseUrl;
    /// let base = BaseUrl::new("https://api.example/v1/")?;
    /// assert_eq!(base.join("")?.as_str(), "https://api.example/v1/");
    /// assert_eq!(base.join("items/")?.as_str(), "https://api.example/v1/items/");
    /// assert_eq!(base.join(vec!["items".to_owned(), "7".to_owned()])?.path(), "/v1/items/7");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn join(&self, path: impl ApiPath) -> Result<Url, Error> {
        let url = path.join_onto(self)?;
        if !self.contains(&url) {
            return Err(invalid_path("it leads outside the API's base URL"));
        }
        Ok(url)
    }

    /// Whether `url` is the base itself or lies under it (same scheme, host and port, and a path
    /// that starts with the base's path followed by `/`), whatever its query.
    ///
    /// ```
    /// use grantline::{api::BaseUrl, url::Url};
    /// let base = BaseUrl::new("https://api.example/v1")?;
    /// assert!(base.contains(&Url::parse("https://api.example/v1").unwrap()));
    /// assert!(base.contains(&Url::parse("https://api.example/v1/x?y=1").unwrap()));
    /// assert!(!base.contains(&Url::parse("https://api.example/v10").unwrap()));
    /// assert!(!base.contains(&Url::parse("https://api.example/v1/../admin").unwrap()));
    /// assert!(!base.contains(&Url::parse("https://api.example:444/v1/x").unwrap()));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn contains(&self, url: &Url) -> bool {
        if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
            return false;
        }
        // Slicing a `Url` by `Position` cannot fail: positions always fall on its boundaries.
        let up_to_path = &url[..Position::AfterPath];
        up_to_path == self.base.as_str() || up_to_path.starts_with(&self.prefix)
    }

    /// The base itself, with `query` if there is one.
    fn with_query(&self, query: Option<&str>) -> Result<Url, Error> {
        let mut url = self.base.clone();
        if let Some(query) = query {
            check_query(query)?;
            url.set_query(Some(query));
        }
        Ok(url)
    }

    /// Parses `prefix + relative (+ ? query)`.
    fn parse_joined(&self, relative: &str, query: Option<&str>) -> Result<Url, Error> {
        let mut text = String::with_capacity(
            self.prefix.len() + relative.len() + query.map_or(0, |q| q.len() + 1),
        );
        text.push_str(&self.prefix);
        text.push_str(relative);
        if let Some(query) = query {
            check_query(query)?;
            text.push('?');
            text.push_str(query);
        }
        Url::parse(&text).map_err(|_| invalid_path("it does not make a valid URL"))
    }

    fn join_text(&self, path: &str) -> Result<Url, Error> {
        let (path, query) = match path.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path, None),
        };
        let relative = path.strip_prefix('/').unwrap_or(path);
        if relative.is_empty() {
            return self.with_query(query);
        }
        let mut segments = relative.split('/').peekable();
        while let Some(segment) = segments.next() {
            let last = segments.peek().is_none();
            // A trailing slash is meaningful (`items/`); any other empty segment is not.
            if !(last && segment.is_empty()) {
                check_segment(segment.as_bytes())?;
            }
        }
        self.parse_joined(relative, query)
    }

    fn join_segments<S: AsRef<str>>(&self, segments: &[S]) -> Result<Url, Error> {
        if segments.is_empty() {
            return Ok(self.base.clone());
        }
        let mut relative = String::new();
        for (i, segment) in segments.iter().enumerate() {
            let segment = segment.as_ref();
            let last = i + 1 == segments.len();
            if !(last && segment.is_empty()) {
                check_segment(segment.as_bytes())?;
            }
            if i > 0 {
                relative.push('/');
            }
            encode_segment(segment, &mut relative);
        }
        self.parse_joined(&relative, None)
    }
}

/// A path relative to a [`BaseUrl`]: a string (`"users/42?x=1"`, already URL text: existing
/// percent-escapes are kept) or a list of segments (`["users", "42"]`, raw text: each segment is
/// percent-encoded, `/` included).
///
/// Implement it for a type of your own (typed routes) if you like: whatever it returns, the
/// result is checked with [`BaseUrl::contains`] before it is used.
///
/// ```
/// use grantline::api::{ApiPath, BaseUrl};
///
/// fn user(id: u64) -> impl ApiPath { ["users".to_owned(), id.to_string()] }
/// let base = BaseUrl::new("https://api.example/")?;
/// assert_eq!(base.join(user(7))?.path(), "/users/7");
/// # Ok::<(), grantline::Error>(())
/// ```
pub trait ApiPath {
    /// Joins the path onto `base`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a path that could leave the base.
    fn join_onto(&self, base: &BaseUrl) -> Result<Url, Error>;
}

impl ApiPath for str {
    fn join_onto(&self, base: &BaseUrl) -> Result<Url, Error> {
        base.join_text(self)
    }
}

impl ApiPath for String {
    fn join_onto(&self, base: &BaseUrl) -> Result<Url, Error> {
        base.join_text(self)
    }
}

impl<T: ApiPath + ?Sized> ApiPath for &T {
    fn join_onto(&self, base: &BaseUrl) -> Result<Url, Error> {
        (**self).join_onto(base)
    }
}

impl<S: AsRef<str>> ApiPath for [S] {
    fn join_onto(&self, base: &BaseUrl) -> Result<Url, Error> {
        base.join_segments(self)
    }
}

impl<S: AsRef<str>, const N: usize> ApiPath for [S; N] {
    fn join_onto(&self, base: &BaseUrl) -> Result<Url, Error> {
        base.join_segments(self)
    }
}

impl<S: AsRef<str>> ApiPath for Vec<S> {
    fn join_onto(&self, base: &BaseUrl) -> Result<Url, Error> {
        base.join_segments(self)
    }
}

/// Refuses a query with a fragment or control characters.
fn check_query(query: &str) -> Result<(), Error> {
    if query.contains('#') {
        return Err(invalid_path("it has a fragment (#...)"));
    }
    if query.bytes().any(|b| b.is_ascii_control()) {
        return Err(invalid_path("it has control characters"));
    }
    Ok(())
}

/// Refuses a segment that is empty, or that any server could read as a dot segment or as more
/// than one segment, however many times it percent-decodes it.
fn check_segment(segment: &[u8]) -> Result<(), Error> {
    if segment.is_empty() {
        return Err(invalid_path(
            "it has an empty segment (`//`), which could name another host",
        ));
    }
    let mut decoded = segment.to_vec();
    loop {
        if decoded.iter().any(|&b| b.is_ascii_control()) {
            return Err(invalid_path("it has control characters"));
        }
        if decoded.contains(&b'\\') {
            return Err(invalid_path(
                "it has a backslash, which some servers read as `/`",
            ));
        }
        let normalised = fold_confusables(&decoded);
        if normalised
            .split(|&b| b == b'/')
            .any(|part| part == b"." || part == b"..")
        {
            return Err(invalid_path(
                "it has a dot segment (`.` or `..`), possibly percent-encoded",
            ));
        }
        match percent_decode(&decoded) {
            Some(next) => decoded = next,
            None => return Ok(()),
        }
    }
}

/// Fullwidth and small forms of `.`, `/` and `\` as their ASCII selves (what NFKC does to them).
fn fold_confusables(bytes: &[u8]) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return bytes.to_vec();
    };
    let mut out = Vec::with_capacity(bytes.len());
    for c in text.chars() {
        let folded = match c {
            '\u{FF0E}' | '\u{FE52}' | '\u{2024}' => '.',
            '\u{FF0F}' | '\u{2215}' | '\u{2044}' => '/',
            '\u{FF3C}' | '\u{FE68}' | '\u{2216}' => '/',
            other => other,
        };
        let mut buf = [0; 4];
        out.extend_from_slice(folded.encode_utf8(&mut buf).as_bytes());
    }
    out
}

/// One round of percent-decoding, or `None` if there was nothing to decode.
fn percent_decode(bytes: &[u8]) -> Option<Vec<u8>> {
    let hex = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    let mut out = Vec::with_capacity(bytes.len());
    let mut changed = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escape = (b == b'%')
            .then(|| Some(hex(*bytes.get(i + 1)?)? << 4 | hex(*bytes.get(i + 2)?)?))
            .flatten();
        match escape {
            Some(decoded) => {
                out.push(decoded);
                changed = true;
                i += 3;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    changed.then_some(out)
}

/// Appends `segment` percent-encoded: everything but unreserved characters and the sub-delims
/// that are safe in a path segment.
fn encode_segment(segment: &str, out: &mut String) {
    use std::fmt::Write as _;
    for &b in segment.as_bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b);
        if keep {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> BaseUrl {
        BaseUrl::new("https://api.example/v1").unwrap()
    }

    fn refused(path: &str) -> bool {
        matches!(
            base().join(path),
            Err(Error::Config(ConfigError::InvalidParameter { ref name, .. })) if name == "path"
        )
    }

    #[test]
    fn plain_paths_join_under_the_base() {
        for (path, want) in [
            ("users", "https://api.example/v1/users"),
            ("/users", "https://api.example/v1/users"),
            ("users/42", "https://api.example/v1/users/42"),
            ("users/", "https://api.example/v1/users/"),
            ("users/a%20b", "https://api.example/v1/users/a%20b"),
            ("users/a b", "https://api.example/v1/users/a%20b"),
            ("users/é", "https://api.example/v1/users/%C3%A9"),
            (
                "users?x=1&y=a%20b",
                "https://api.example/v1/users?x=1&y=a%20b",
            ),
            ("?x=1", "https://api.example/v1?x=1"),
            ("", "https://api.example/v1"),
            ("/", "https://api.example/v1"),
            (
                "https:evil.example",
                "https://api.example/v1/https:evil.example",
            ),
            ("...", "https://api.example/v1/..."),
            ("a..b/.c/d.", "https://api.example/v1/a..b/.c/d."),
            ("%2e%2e%2e", "https://api.example/v1/%2e%2e%2e"),
        ] {
            assert_eq!(base().join(path).unwrap().as_str(), want, "{path}");
        }
    }

    #[test]
    fn dot_segments_are_refused_in_every_spelling() {
        for path in [
            "..",
            ".",
            "../admin",
            "./admin",
            "a/../../admin",
            "a/./b",
            "a/..",
            "%2e%2e/admin",
            "%2E%2E/admin",
            ".%2e/admin",
            "%2e./admin",
            "%2e",
            "%252e%252e/admin",
            "%25252e%25252e/admin",
            "..%2fadmin",
            "..%2Fadmin",
            "a%2f..%2f..%2fadmin",
            "%2e%2e%2fadmin",
            "\u{FF0E}\u{FF0E}/admin",
            "\u{FF0E}\u{FF0E}",
            "..\u{FF0F}admin",
            "%EF%BC%8E%EF%BC%8E",
        ] {
            assert!(
                refused(path),
                "{path} was accepted: {:?}",
                base().join(path)
            );
        }
    }

    #[test]
    fn other_hosts_and_absolute_urls_are_refused() {
        for path in [
            "//evil.example/x",
            "///evil.example",
            "https://evil.example/",
            "http://evil.example",
            "a//b",
            "//",
        ] {
            assert!(refused(path), "{path}");
        }
    }

    #[test]
    fn backslashes_and_control_characters_are_refused() {
        for path in [
            "\\\\evil.example\\x",
            "a\\..\\admin",
            "..\\admin",
            "a%5c..%5cadmin",
            "a%5C",
            "%255c",
            "a\n/../b",
            ".\n./admin",
            ".\t.",
            "a%00b",
            "a\0b",
            "a%0a",
            "x?a=\n",
            "x?a#frag",
            "x#frag",
        ] {
            assert!(refused(path), "{path:?}");
        }
    }

    #[test]
    fn segments_are_encoded_and_checked() {
        let join = |segments: &[&str]| base().join(segments);
        assert_eq!(
            join(&["users", "a/b", "c d", "é", "%2F"]).unwrap().as_str(),
            "https://api.example/v1/users/a%2Fb/c%20d/%C3%A9/%252F"
        );
        assert_eq!(join(&[]).unwrap().as_str(), "https://api.example/v1");
        assert_eq!(
            join(&["x", ""]).unwrap().as_str(),
            "https://api.example/v1/x/"
        );
        assert_eq!(join(&[""]).unwrap().as_str(), "https://api.example/v1/");
        assert_eq!(
            join(&["?x=1", "#y"]).unwrap().as_str(),
            "https://api.example/v1/%3Fx=1/%23y"
        );
        for bad in [
            &["..", "admin"][..],
            &["."],
            &["../admin"],
            &["a", "", "b"],
            &["", "b"],
            &["%2e%2e"],
            &["a\\b"],
            &["\u{FF0E}\u{FF0E}"],
            &["a\nb"],
        ] {
            assert!(join(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_base_without_a_path_and_one_with_a_trailing_slash() {
        let root = BaseUrl::new("https://api.example").unwrap();
        assert_eq!(root.join("x").unwrap().as_str(), "https://api.example/x");
        assert_eq!(root.join("").unwrap().as_str(), "https://api.example/");
        let slash = BaseUrl::new("https://api.example/v1/").unwrap();
        assert_eq!(
            slash.join("x").unwrap().as_str(),
            "https://api.example/v1/x"
        );
        assert_eq!(slash.join("").unwrap().as_str(), "https://api.example/v1/");
    }

    #[test]
    fn contains_is_the_confinement_rule() {
        let base = base();
        let url = |s: &str| Url::parse(s).unwrap();
        for inside in [
            "https://api.example/v1",
            "https://api.example/v1/",
            "https://api.example/v1/a/b?c=d",
            "https://API.example:443/v1/a",
        ] {
            assert!(base.contains(&url(inside)), "{inside}");
        }
        for outside in [
            "https://api.example/v10",
            "https://api.example/v1x/a",
            "https://api.example/",
            "https://api.example/v2/v1/",
            "http://api.example/v1/a",
            "https://api.example:8443/v1/a",
            "https://api.example.evil/v1/a",
            "https://user@api.example/v1/a",
            "https://api.example/v1/a#frag",
            "https://api.example/v1/%2e%2e/admin",
        ] {
            assert!(!base.contains(&url(outside)), "{outside}");
        }
    }

    #[test]
    fn a_custom_path_cannot_escape() {
        struct Sneaky;
        impl ApiPath for Sneaky {
            fn join_onto(&self, _: &BaseUrl) -> Result<Url, Error> {
                Ok(Url::parse("https://evil.example/").unwrap())
            }
        }
        assert!(matches!(base().join(Sneaky), Err(Error::Config(_))));
    }

    #[test]
    fn base_urls_are_checked() {
        for bad in [
            "api.example",
            "/v1",
            "https://api.example/?k=v",
            "https://api.example/#f",
            "https://user:pw@api.example/",
            "ftp://api.example/",
            "mailto:a@b.example",
            "http://api.example/",
            "http://10.0.0.1/",
        ] {
            assert!(
                matches!(BaseUrl::new(bad), Err(Error::Config(ConfigError::InvalidParameter { ref name, .. })) if name == "base_url"),
                "{bad}"
            );
        }
        assert!(BaseUrl::new("http://localhost:8080/api").is_ok());
        assert!(BaseUrl::new("http://[::1]/").is_ok());
        assert!(BaseUrl::insecure_http("http://10.0.0.1/").is_ok());
    }
}
