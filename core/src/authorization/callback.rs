//! Reading what the browser brought back: a URL, a query, a fragment, or a form post.

use std::borrow::Cow;

use url::Url;

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
    pub(crate) fn parameters(&self, redirect_uri: &Url) -> Result<CallbackParams<'_>, Error> {
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

/// The parameters of an authorization response, decoded.
#[derive(Default)]
pub(crate) struct CallbackParams<'a> {
    pub(crate) code: Option<Cow<'a, str>>,
    pub(crate) state: Option<Cow<'a, str>>,
    pub(crate) iss: Option<Cow<'a, str>>,
    pub(crate) error: Option<Cow<'a, str>>,
    pub(crate) error_description: Option<Cow<'a, str>>,
    pub(crate) error_uri: Option<Cow<'a, str>>,
    /// Every other parameter.
    pub(crate) others: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> CallbackParams<'a> {
    /// The field of a parameter grantline reads (`code`, `state`, `iss`, `error`,
    /// `error_description`, `error_uri`); `None` for every other parameter. The one list of
    /// them, for the query, the form and a JARM JWT's claims alike.
    fn slot(&mut self, name: &str) -> Option<&mut Option<Cow<'a, str>>> {
        Some(match name {
            "code" => &mut self.code,
            "state" => &mut self.state,
            "iss" => &mut self.iss,
            "error" => &mut self.error,
            "error_description" => &mut self.error_description,
            "error_uri" => &mut self.error_uri,
            _ => return None,
        })
    }

    /// Reads `raw` (`application/x-www-form-urlencoded`), refusing a name given twice.
    fn read(raw: &'a str) -> Result<Self, Error> {
        let mut params = CallbackParams::default();
        for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            let slot = match params.slot(&name) {
                Some(slot) => slot,
                None => {
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

impl CallbackParams<'_> {
    /// The one parameter a JWT-secured response (JARM §2.3) carries: the `response` JWT.
    /// Code, state and error must be inside it; an `iss` beside it (RFC 9207) is returned to be
    /// checked too.
    #[cfg(feature = "jose")]
    pub(crate) fn jarm_response(&self) -> Result<(String, Option<String>), Error> {
        let Some((_, response)) = self.others.iter().find(|(name, _)| name == "response") else {
            return Err(ValidationError::UnsignedResponse("authorization response").into());
        };
        if self.code.is_some() || self.state.is_some() || self.error.is_some() {
            return Err(ValidationError::MalformedCallback(
                "a JWT-secured response carries code, state and error inside its JWT only",
            )
            .into());
        }
        Ok((
            response.clone().into_owned(),
            self.iss.clone().map(Cow::into_owned),
        ))
    }
}

impl<'a> CallbackParams<'a> {
    /// The parameters a JARM JWT carried as its claims (JARM §2.1): every claim but the JWT's
    /// own (`aud`, `exp`, `iat`, `nbf`, `jti`) is a parameter, and `iss` is the RFC 9207
    /// parameter. The parameters grantline reads must be strings; others are kept as their
    /// JSON text.
    #[cfg(feature = "jose")]
    pub(crate) fn from_claims(
        claims: &'a serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self, Error> {
        let mut params = CallbackParams::default();
        for (name, value) in claims {
            if matches!(name.as_str(), "aud" | "exp" | "iat" | "nbf" | "jti") {
                continue;
            }
            let slot = match params.slot(name) {
                Some(slot) => slot,
                None => {
                    let value = match value {
                        serde_json::Value::String(text) => Cow::Borrowed(text.as_str()),
                        other => Cow::Owned(other.to_string()),
                    };
                    params.others.push((Cow::Borrowed(name.as_str()), value));
                    continue;
                }
            };
            let serde_json::Value::String(text) = value else {
                return Err(ValidationError::MalformedCallback(
                    "a parameter in the JWT-secured response is not a string",
                )
                .into());
            };
            *slot = Some(Cow::Borrowed(text.as_str()));
        }
        Ok(params)
    }
}

/// Whether `url` is at the redirect URI: same scheme, host, port and path.
fn same_endpoint(url: &Url, expected: &Url) -> bool {
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
    use super::*;

    #[test]
    fn parameters_are_decoded_and_a_name_given_twice_is_refused() {
        let params =
            CallbackParams::read("code=a+b%2B&&state=s&iss=http%3A%2F%2F127.0.0.1%3A37667&x=%FF")
                .unwrap();
        assert_eq!(params.code.as_deref(), Some("a b+"));
        assert_eq!(params.iss.as_deref(), Some("http://127.0.0.1:37667"));
        assert_eq!(params.others[0].1, "\u{FFFD}");
        assert!(CallbackParams::read("state=a&state=b").is_err());
        assert!(CallbackParams::read("x=a&x=b").is_err());
    }

    #[test]
    fn the_redirect_uri_is_compared_by_scheme_host_port_and_path() {
        let at = |url: &str, redirect_uri: &str| {
            same_endpoint(
                &Url::parse(url).unwrap(),
                &Url::parse(redirect_uri).unwrap(),
            )
        };
        let url = "http://127.0.0.1:8080/callback?code=c";
        assert!(at(url, "http://127.0.0.1:8080/callback"));
        assert!(at(url, "HTTP://127.0.0.1:8080/callback"));
        assert!(!at(url, "http://127.0.0.1:8080/callback2"));
        assert!(!at(url, "http://127.0.0.1:8081/callback"));
        assert!(!at(url, "https://127.0.0.1:8080/callback"));
        assert!(!at(url, "http://localhost:8080/callback"));
        assert!(at(
            "http://u:p@127.0.0.1:8080/callback?code=c",
            "http://127.0.0.1:8080/callback"
        ));
        assert!(at("https://app.example:443/cb", "https://app.example/cb"));
    }
}
