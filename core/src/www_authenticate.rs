//! Reading `WWW-Authenticate` challenges (RFC 9110 §11.6.1), and the one question the auth
//! handlers ask of them: did the resource server reject the token (RFC 6750 §3.1)?
//!
//! A `WWW-Authenticate` value is a comma-separated list of challenges, each a scheme followed by
//! either one `token68` or a comma-separated list of `name=value` parameters, where a value is a
//! token or a quoted string. The commas that separate challenges and the commas that separate
//! parameters are the same character, which is why a hand-split on `,` gets it wrong:
//!
//! ```text
//! WWW-Authenticate: Newauth realm="apps", type=1, title="Login to \"apps\"", Bearer error="invalid_token"
//!                   └─ challenge 1: Newauth, three parameters ──────────────┘ └─ challenge 2 ───────────┘
//! ```
//!
//! [`parse`] is tolerant: it returns the challenges it could read before anything it could not,
//! and never panics, whatever the input (a property test and the fuzz corpus check this).
//!
//! ```
//! use grantline::www_authenticate;
//!
//! let challenges = www_authenticate::parse(
//!     r#"Newauth realm="apps", type=1, Bearer realm="api", error="invalid_token", error_description="expired""#,
//! );
//! assert_eq!(challenges.len(), 2);
//! assert_eq!(challenges[1].scheme(), "Bearer");
//! assert_eq!(challenges[1].param("error"), Some("invalid_token"));
//! ```

use std::borrow::Cow;
use std::fmt;

use http::{HeaderMap, StatusCode, header::WWW_AUTHENTICATE};

/// One challenge: an authentication scheme and its parameters (or its `token68`).
///
/// `Debug` shows the scheme and the parameter names, not their values.
///
/// ```
/// let challenges = grantline::www_authenticate::parse("Basic realm=\"x\"");
/// assert_eq!(challenges[0].scheme(), "Basic");
/// assert!(challenges[0].is_scheme("basic"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Challenge<'a> {
    scheme: &'a str,
    token68: Option<&'a str>,
    params: Vec<(&'a str, Cow<'a, str>)>,
}

impl fmt::Debug for Challenge<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Challenge")
            .field("scheme", &self.scheme)
            .field("token68", &self.token68.map(|_| "[redacted]"))
            .field(
                "params",
                &self.params.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl<'a> Challenge<'a> {
    /// The scheme, as sent (`Bearer`, `DPoP`, `Basic`, ...).
    ///
    /// ```
    /// assert_eq!(grantline::www_authenticate::parse("DPoP algs=\"ES256\"")[0].scheme(), "DPoP");
    /// ```
    #[must_use]
    pub fn scheme(&self) -> &'a str {
        self.scheme
    }

    /// Whether the scheme is `scheme`, compared case-insensitively (RFC 9110 §11.1).
    ///
    /// ```
    /// assert!(grantline::www_authenticate::parse("BEARER")[0].is_scheme("Bearer"));
    /// ```
    #[must_use]
    pub fn is_scheme(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }

    /// The value of parameter `name` (compared case-insensitively), with quoted-string escapes
    /// removed. The first one wins if it is repeated.
    ///
    /// ```
    /// let c = &grantline::www_authenticate::parse(r#"Bearer Error="a \"b\"""#)[0];
    /// assert_eq!(c.param("error"), Some(r#"a "b""#));
    /// ```
    #[must_use]
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }

    /// Every parameter, in order, as `(name, value)`.
    ///
    /// ```
    /// let c = &grantline::www_authenticate::parse("Bearer realm=api, scope=\"a b\"")[0];
    /// let names: Vec<&str> = c.params().map(|(n, _)| n).collect();
    /// assert_eq!(names, ["realm", "scope"]);
    /// ```
    pub fn params(&self) -> impl Iterator<Item = (&'a str, &str)> + '_ {
        self.params.iter().map(|(n, v)| (*n, v.as_ref()))
    }

    /// The `token68` that stands in place of parameters, if the challenge has one.
    ///
    /// ```
    /// assert_eq!(grantline::www_authenticate::parse("Negotiate abc+/def==")[0].token68(), Some("abc+/def=="));
    /// ```
    #[must_use]
    pub fn token68(&self) -> Option<&'a str> {
        self.token68
    }
}

/// Reads the challenges of one `WWW-Authenticate` value, up to the first thing that does not
/// parse (what came before it is kept).
///
/// ```
/// use grantline::www_authenticate::parse;
///
/// assert!(parse("").is_empty());
/// assert_eq!(parse("Bearer, Basic realm=\"x\"").len(), 2);
/// // Garbage after a good challenge: the good one is kept.
/// assert_eq!(parse("Bearer error=\"invalid_token\", =oops").len(), 1);
/// ```
#[must_use]
pub fn parse(value: &str) -> Vec<Challenge<'_>> {
    let mut parser = Parser {
        input: value,
        pos: 0,
    };
    let mut challenges = Vec::new();
    while let Some(challenge) = parser.challenge() {
        challenges.push(challenge);
    }
    challenges
}

/// Whether a response says that the access token it was sent with is no good: a `401` whose
/// `WWW-Authenticate` carries a `Bearer` (RFC 6750 §3.1) or `DPoP` (RFC 9449 §7.1) challenge with
/// `error="invalid_token"`.
///
/// This is what makes the auth handlers renew the token and send the request again. Any other
/// `401` (no challenge, another error such as `insufficient_scope`, another scheme) is left to the
/// caller: renewing would not change the answer.
///
/// ```
/// use grantline::www_authenticate::is_invalid_token;
/// use http::{HeaderMap, HeaderValue, StatusCode};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(
///     "www-authenticate",
///     HeaderValue::from_static(r#"Bearer realm="api", error="invalid_token", error_description="expired""#),
/// );
/// assert!(is_invalid_token(StatusCode::UNAUTHORIZED, &headers));
/// assert!(!is_invalid_token(StatusCode::FORBIDDEN, &headers));
/// assert!(!is_invalid_token(StatusCode::UNAUTHORIZED, &HeaderMap::new()));
/// ```
#[must_use]
pub fn is_invalid_token(status: StatusCode, headers: &HeaderMap) -> bool {
    status == StatusCode::UNAUTHORIZED
        && headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .any(|value| {
                parse(value).iter().any(|challenge| {
                    (challenge.is_scheme("Bearer") || challenge.is_scheme("DPoP"))
                        && challenge.param("error") == Some("invalid_token")
                })
            })
}

struct Parser<'a> {
    input: &'a str,
    pos: usize,
}

/// `tchar` (RFC 9110 §5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The characters of a `token68` before its trailing `=`s (RFC 9110 §11.2).
fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.input.as_bytes().get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.input.len()
    }

    /// Skips spaces and tabs (OWS / BWS).
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// Skips whitespace and empty list elements (`, ,`), as RFC 9110 §5.6.1 asks recipients to.
    fn skip_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.pos += 1;
        }
    }

    /// A run of bytes matching `pred`, possibly empty.
    fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
        // Both ends sit on ASCII bytes (or the end), so these are char boundaries.
        self.input.get(start..self.pos).unwrap_or("")
    }

    fn token(&mut self) -> &'a str {
        self.take_while(is_tchar)
    }

    /// A quoted-string (the opening quote already seen), unescaped. `None` if it never closes.
    fn quoted_string(&mut self) -> Option<Cow<'a, str>> {
        self.pos += 1; // the opening quote
        let start = self.pos;
        let mut owned: Option<String> = None;
        let bytes = self.input.as_bytes();
        while let Some(&b) = bytes.get(self.pos) {
            match b {
                b'"' => {
                    let raw = self.input.get(start..self.pos)?;
                    self.pos += 1;
                    return Some(owned.map_or(Cow::Borrowed(raw), Cow::Owned));
                }
                b'\\' => {
                    let buffer = owned.get_or_insert_with(|| {
                        self.input.get(start..self.pos).unwrap_or("").to_owned()
                    });
                    // The escaped character may be any (possibly multi-byte) character.
                    let escaped = self.input.get(self.pos + 1..)?.chars().next()?;
                    buffer.push(escaped);
                    self.pos += 1 + escaped.len_utf8();
                }
                _ => {
                    let c = self.input.get(self.pos..)?.chars().next()?;
                    if let Some(buffer) = owned.as_mut() {
                        buffer.push(c);
                    }
                    self.pos += c.len_utf8();
                }
            }
        }
        None
    }

    /// One challenge, or `None` at the end of the input or at something unreadable.
    fn challenge(&mut self) -> Option<Challenge<'a>> {
        self.skip_separators();
        if self.at_end() {
            return None;
        }
        let scheme = self.token();
        if scheme.is_empty() {
            return None;
        }
        let mut challenge = Challenge {
            scheme,
            token68: None,
            params: Vec::new(),
        };
        if !matches!(self.peek(), None | Some(b' ' | b'\t' | b',')) {
            // `name=...` where a scheme should be: not a challenge.
            return None;
        }
        self.skip_ws();
        if self.at_end() || self.peek() == Some(b',') {
            // A bare scheme: no space, or nothing after it.
            return Some(challenge);
        }
        // A parameter list, or a token68.
        let start = self.pos;
        if let Some((name, value)) = self.param() {
            challenge.params.push((name, value));
            loop {
                let mark = self.pos;
                self.skip_ws();
                if self.peek() != Some(b',') {
                    self.pos = mark;
                    break;
                }
                self.skip_separators();
                let next = self.pos;
                match self.param() {
                    Some(param) => challenge.params.push(param),
                    None => {
                        // The start of the next challenge (or garbage, which the caller meets).
                        self.pos = next;
                        break;
                    }
                }
            }
            return Some(challenge);
        }
        self.pos = start;
        self.take_while(is_token68_char);
        self.take_while(|b| b == b'=');
        let token68 = self.input.get(start..self.pos).unwrap_or("");
        let mark = self.pos;
        self.skip_ws();
        if token68.is_empty() || !(self.at_end() || self.peek() == Some(b',')) {
            // Neither parameters nor a token68: keep the bare scheme, stop here.
            self.pos = self.input.len();
            return Some(challenge);
        }
        self.pos = mark;
        challenge.token68 = Some(token68);
        Some(challenge)
    }

    /// `token BWS "=" BWS ( token / quoted-string )`, or `None` (position unspecified).
    fn param(&mut self) -> Option<(&'a str, Cow<'a, str>)> {
        let name = self.token();
        if name.is_empty() {
            return None;
        }
        self.skip_ws();
        if self.peek() != Some(b'=') {
            return None;
        }
        self.pos += 1;
        self.skip_ws();
        let value = if self.peek() == Some(b'"') {
            self.quoted_string()?
        } else {
            let value = self.token();
            if value.is_empty() {
                return None;
            }
            Cow::Borrowed(value)
        };
        Some((name, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn names(challenges: &[Challenge<'_>]) -> Vec<String> {
        challenges.iter().map(|c| c.scheme().to_owned()).collect()
    }

    #[test]
    fn rfc_9110_example_with_two_challenges() {
        let c = parse(
            r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple""#,
        );
        assert_eq!(names(&c), ["Newauth", "Basic"]);
        assert_eq!(c[0].param("realm"), Some("apps"));
        assert_eq!(c[0].param("type"), Some("1"));
        assert_eq!(c[0].param("title"), Some(r#"Login to "apps""#));
        assert_eq!(c[1].param("realm"), Some("simple"));
    }

    #[test]
    fn rfc_6750_examples() {
        let c = parse(
            r#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].param("error"), Some("invalid_token"));
        assert_eq!(
            c[0].param("error_description"),
            Some("The access token expired")
        );
        let bare = parse("Bearer");
        assert_eq!(bare.len(), 1);
        assert_eq!(bare[0].params().count(), 0);
        assert_eq!(parse(r#"Bearer realm="example""#)[0].param("error"), None);
    }

    #[test]
    fn token68_and_bare_schemes_between_others() {
        let c =
            parse("Negotiate a87421000492aa874209af8bc028==, Bearer, DPoP algs=\"ES256 PS256\"");
        assert_eq!(names(&c), ["Negotiate", "Bearer", "DPoP"]);
        assert_eq!(c[0].token68(), Some("a87421000492aa874209af8bc028=="));
        assert_eq!(c[2].param("algs"), Some("ES256 PS256"));
    }

    #[test]
    fn whitespace_case_and_empty_elements_are_tolerated() {
        let c = parse(" ,  bearer   ERROR = \"invalid_token\" ,, , realm=x ,basic ");
        assert_eq!(names(&c), ["bearer", "basic"]);
        assert_eq!(c[0].param("error"), Some("invalid_token"));
        assert_eq!(c[0].param("Realm"), Some("x"));
    }

    #[test]
    fn garbage_stops_the_parse_but_keeps_what_came_before() {
        assert_eq!(
            names(&parse("Bearer error=invalid_token, ==, Basic")),
            ["Bearer"]
        );
        assert!(parse("\"quoted\"").is_empty());
        // An unterminated quoted string: the challenge is kept without that parameter.
        let c = parse("Bearer realm=\"x\", error=\"invalid_tok");
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].param("realm"), Some("x"));
        assert_eq!(c[0].param("error"), None);
        // A non-ASCII escape inside a quoted string.
        assert_eq!(parse("Bearer x=\"\\é\"")[0].param("x"), Some("é"));
        assert_eq!(parse("Bearer x=\"é\\\"\"")[0].param("x"), Some("é\""));
    }

    #[test]
    fn invalid_token_needs_401_bearer_and_the_error_code() {
        let headers = |values: &[&'static str]| {
            let mut map = HeaderMap::new();
            for v in values {
                map.append(WWW_AUTHENTICATE, HeaderValue::from_static(v));
            }
            map
        };
        let yes = [
            &["Bearer error=\"invalid_token\""][..],
            &["Bearer error=invalid_token"],
            &[
                "Basic realm=\"x\"",
                "bearer realm=\"api\", error=\"invalid_token\"",
            ],
            &["DPoP algs=\"ES256\", Bearer error=\"invalid_token\""],
            &["DPoP error=\"invalid_token\""],
        ];
        for values in yes {
            assert!(
                is_invalid_token(StatusCode::UNAUTHORIZED, &headers(values)),
                "{values:?}"
            );
        }
        let no = [
            &[][..],
            &["Bearer"],
            &["Bearer error=\"insufficient_scope\""],
            &["DPoP error=\"use_dpop_nonce\""],
            &["Bearer error_description=\"invalid_token\""],
            &["Bearer error=\"invalid_token_x\""],
        ];
        for values in no {
            assert!(
                !is_invalid_token(StatusCode::UNAUTHORIZED, &headers(values)),
                "{values:?}"
            );
        }
        let rejected = headers(&["Bearer error=\"invalid_token\""]);
        assert!(!is_invalid_token(StatusCode::FORBIDDEN, &rejected));
        assert!(!is_invalid_token(StatusCode::OK, &rejected));
    }

    #[test]
    fn debug_shows_no_values() {
        let c = parse("Bearer error=\"SECRET-ISH\", Negotiate TOKEN68VALUE");
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("SECRET-ISH") && !shown.contains("TOKEN68VALUE"),
            "{shown}"
        );
        assert!(shown.contains("error"));
    }

    #[test]
    fn every_prefix_parses_without_panicking() {
        let sample = r#"Newauth realm="apps", type=1, title="Login to \"apps\" é", Bearer error="invalid_token", Negotiate abc=="#;
        for (i, _) in sample.char_indices() {
            let _ = parse(sample.get(..i).unwrap_or(""));
            let _ = parse(sample.get(i..).unwrap_or(""));
        }
    }
}
