//! The redirect URI, checked and parsed once (RFC 6749 §3.1.2).

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

use crate::Error;
use crate::error::ConfigError;

/// Where the authorization server sends the person back (RFC 6749 §3.1.2): an absolute URI
/// without a fragment, checked and parsed once, when it is made.
///
/// It keeps the string as given, which is what is sent (the server compares it with the
/// registered one character for character), and the parsed URL that callbacks are compared
/// with (scheme, host, port and path). Clones share one copy, so every
/// [`PendingAuthorization`](super::PendingAuthorization) of a client holds its redirect URI
/// without copying or parsing it again. It serializes as its string, and is checked again when
/// read back.
///
/// Set it once on the client with [`ClientBuilder::redirect_uri`](crate::ClientBuilder::redirect_uri),
/// or per request with [`AuthorizationRequest::redirect_uri`](super::AuthorizationRequest::redirect_uri).
///
/// ```
/// use grantline::authorization::RedirectUri;
///
/// let uri = RedirectUri::new("http://127.0.0.1:8080/callback")?;
/// assert_eq!(uri.as_str(), "http://127.0.0.1:8080/callback");
/// assert_eq!(uri.url().port(), Some(8080));
/// assert_eq!(uri.to_string(), uri.as_str());
/// assert!(RedirectUri::new("/callback").is_err()); // not absolute
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RedirectUri(Arc<Parsed>);

#[derive(PartialEq, Eq)]
struct Parsed {
    /// As given.
    uri: String,
    url: Url,
}

impl RedirectUri {
    /// Checks `uri` (a scheme, `:`, no whitespace, no fragment: RFC 6749 §3.1.2, RFC 3986 §4.3)
    /// and parses it.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidParameter`] named `redirect_uri` for a URI that is not absolute,
    /// has a fragment, or is not a valid URL.
    ///
    /// ```
    /// use grantline::{Error, authorization::RedirectUri, error::ConfigError};
    ///
    /// let app = RedirectUri::new("com.example.app:/callback")?; // a private-use scheme (RFC 8252)
    /// assert_eq!(app.url().scheme(), "com.example.app");
    /// let e = RedirectUri::new("https://app.example/cb#fragment").unwrap_err();
    /// assert!(matches!(e, Error::Config(ConfigError::InvalidParameter { ref name, .. }) if name == "redirect_uri"));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn new(uri: impl Into<String>) -> Result<Self, Error> {
        let uri = uri.into();
        check(&uri)?;
        let url = Url::parse(&uri).map_err(|_| invalid("it is not a valid URL"))?;
        Ok(Self(Arc::new(Parsed { uri, url })))
    }

    /// The redirect URI as given: what the authorization and token requests send.
    ///
    /// ```
    /// let uri = grantline::authorization::RedirectUri::new("HTTP://127.0.0.1:8080/callback")?;
    /// assert_eq!(uri.as_str(), "HTTP://127.0.0.1:8080/callback");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0.uri
    }

    /// The redirect URI parsed: what a callback URL is compared with.
    ///
    /// ```
    /// let uri = grantline::authorization::RedirectUri::new("HTTP://127.0.0.1:8080/callback")?;
    /// assert_eq!(uri.url().as_str(), "http://127.0.0.1:8080/callback");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn url(&self) -> &Url {
        &self.0.url
    }
}

fn invalid(reason: &'static str) -> Error {
    ConfigError::InvalidParameter {
        name: "redirect_uri".to_owned(),
        reason,
    }
    .into()
}

/// A redirect URI must be an absolute URI without a fragment (RFC 6749 §3.1.2): a scheme
/// (RFC 3986 §3.1: a letter, then letters, digits, `+`, `-` or `.`), a `:`, then visible
/// characters other than `#`. (`Url::parse` alone would strip or accept whitespace.)
fn check(uri: &str) -> Result<(), Error> {
    let scheme_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.');
    let absolute = uri.split_once(':').is_some_and(|(scheme, rest)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.chars().all(scheme_char)
            && !rest.is_empty()
            && rest.chars().all(|c| !c.is_whitespace() && !c.is_control())
    });
    if !absolute {
        return Err(invalid("it is not an absolute URI"));
    }
    if uri.contains('#') {
        return Err(invalid("it must not have a fragment (RFC 6749 §3.1.2)"));
    }
    Ok(())
}

impl std::fmt::Debug for RedirectUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RedirectUri").field(&self.as_str()).finish()
    }
}

impl std::fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RedirectUri {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RedirectUri {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let uri = String::deserialize(deserializer)?;
        RedirectUri::new(uri).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_must_be_absolute_urls_without_a_fragment() {
        for uri in [
            "http://127.0.0.1:8080/callback",
            "https://app.example/cb?x=1",
            "http://localhost",
            "com.example.app:/cb",
        ] {
            let parsed = RedirectUri::new(uri).unwrap();
            assert_eq!(parsed.as_str(), uri);
        }
        for uri in [
            "https://app.example/cb#f",
            "not a uri",
            "/relative/cb",
            "1http://app.example/cb",
            "https://app.example/c b",
            " https://app.example/cb",
            "https:",
            "http://[::1/cb",
            "http://256.0.0.1/cb",
        ] {
            assert!(
                matches!(
                    RedirectUri::new(uri),
                    Err(Error::Config(ConfigError::InvalidParameter { ref name, .. })) if name == "redirect_uri"
                ),
                "{uri}"
            );
        }
    }

    #[test]
    fn it_serializes_as_its_string_and_is_checked_when_read() {
        let uri = RedirectUri::new("HTTP://127.0.0.1:8080/callback").unwrap();
        let json = serde_json::to_string(&uri).unwrap();
        assert_eq!(json, r#""HTTP://127.0.0.1:8080/callback""#);
        assert_eq!(serde_json::from_str::<RedirectUri>(&json).unwrap(), uri);
        assert!(serde_json::from_str::<RedirectUri>(r#""https://app.example/cb#f""#).is_err());
    }
}
