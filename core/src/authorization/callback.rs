//! Reading what the browser brought back: a URL, a query, a fragment, or a form post.

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
    /// The full redirect URL (pasted by a person, or rebuilt by a web server). Its parameters are
    /// read from the query, or from the fragment when the query has none.
    Url(String),
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
    pub(crate) fn parameters(&self, redirect_uri: &str) -> Result<Vec<(String, String)>, Error> {
        let raw = match self {
            Callback::Url(raw) => {
                let url = Url::parse(raw.trim()).map_err(|_| {
                    ValidationError::MalformedCallback("the callback is not a valid URL")
                })?;
                if !same_endpoint(&url, redirect_uri) {
                    return Err(ValidationError::RedirectUriMismatch.into());
                }
                match (url.query(), url.fragment()) {
                    (Some(query), _) if !query.is_empty() => query.to_owned(),
                    (_, Some(fragment)) => fragment.to_owned(),
                    _ => String::new(),
                }
            }
            Callback::Parameters(raw) => {
                let raw = raw.trim();
                raw.strip_prefix(['?', '#']).unwrap_or(raw).to_owned()
            }
        };
        if raw.is_empty() {
            return Err(
                ValidationError::MalformedCallback("the callback has no parameters").into(),
            );
        }
        let mut params: Vec<(String, String)> = Vec::new();
        for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            if params.iter().any(|(n, _)| *n == name) {
                return Err(ValidationError::DuplicateParameter(name.into_owned()).into());
            }
            params.push((name.into_owned(), value.into_owned()));
        }
        Ok(params)
    }
}

/// Whether `url` is at the redirect URI: same scheme, host, port and path.
fn same_endpoint(url: &Url, redirect_uri: &str) -> bool {
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
        if Url::parse(value.trim()).is_ok() {
            Callback::Url(value.to_owned())
        } else {
            Callback::Parameters(value.to_owned())
        }
    }
}

impl From<String> for Callback {
    fn from(value: String) -> Self {
        Callback::from(value.as_str())
    }
}

impl From<&Url> for Callback {
    fn from(value: &Url) -> Self {
        Callback::Url(value.as_str().to_owned())
    }
}
