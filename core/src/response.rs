//! Reading the server's answers: every endpoint's response goes through here first.
//!
//! The rules, chosen for the servers people actually run:
//! - any 2xx is a success (some servers answer 201);
//! - a success whose body is an OAuth error object (GitHub answers 200 with `{"error": ...}`) is
//!   that error;
//! - a JSON body is read whatever its content type claims (many servers say `text/plain`), and a
//!   `application/x-www-form-urlencoded` body (GitHub without `Accept`) is read as strings;
//! - an error status with an OAuth error object is [`Error::OAuth`]; anything else (HTML 500,
//!   empty 200, JSON that is not an object, a redirect) is [`Error::UnexpectedResponse`].
//!
//! An answer is read from its status, its content type and its body ([`Answer`]), so the public
//! parsers from bytes (`TokenResponse::from_body`, `OAuthError::from_body`) and the parsers of
//! an `http::Response` are the same code; the latter add the headers an error keeps
//! ([`with_headers`]). A parser reads the body into its wire struct ([`parse`]) or, for the
//! answers read member by member, into a map ([`success_object`]).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::error::Category;
use serde_json::{Map, Value};

use crate::Error;
use crate::error::{ErrorCode, InvalidResponse, OAuthError, ResponseHeaders, UnexpectedResponse};

/// A JSON object, as the server sent it.
pub(crate) type Object = Map<String, Value>;

/// An answer as the parsers read it: its status, what its `Content-Type` says (the header's
/// bytes: only read as text for an error message), and its body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Answer<'a> {
    pub(crate) status: http::StatusCode,
    pub(crate) content_type: Option<&'a [u8]>,
    pub(crate) body: &'a [u8],
}

impl<'a> Answer<'a> {
    /// The parts of `response` the parsers read.
    pub(crate) fn of(response: &'a http::Response<Vec<u8>>) -> Self {
        Self {
            status: response.status(),
            content_type: response
                .headers()
                .get(http::header::CONTENT_TYPE)
                .map(http::HeaderValue::as_bytes),
            body: response.body(),
        }
    }

    /// Whether the body is a form (`application/x-www-form-urlencoded`).
    fn is_form(&self) -> bool {
        self.content_type.is_some_and(is_form_media_type)
    }

    /// The answer as an unexpected one, for `reason`.
    pub(crate) fn unexpected(&self, reason: &'static str) -> Error {
        let content_type = self.content_type.and_then(|v| std::str::from_utf8(v).ok());
        UnexpectedResponse::from_parts(self.status, content_type, self.body, reason).into()
    }
}

/// `error` with the headers it keeps (`WWW-Authenticate`, `DPoP-Nonce`, `Retry-After`) taken
/// from `headers`, when it is an error about the server's answer.
pub(crate) fn with_headers(mut error: Error, headers: &http::HeaderMap) -> Error {
    match &mut error {
        Error::OAuth(e) => e.headers = ResponseHeaders::from_headers(headers),
        Error::UnexpectedResponse(e) => e.headers = ResponseHeaders::from_headers(headers),
        _ => {}
    }
    error
}

/// The body of a successful answer read as the wire struct `T`, or the error the answer stands
/// for. `what` names the document in an [`InvalidResponse`] (a member of the wrong type).
///
/// `T` is read from a JSON body, or from a form body's members as strings. Whether a success
/// holds an OAuth error object is the caller's to check (its wire struct has the `error` member).
pub(crate) fn parse<'a, T: Deserialize<'a>>(
    answer: Answer<'a>,
    what: &'static str,
) -> Result<T, Error> {
    if !answer.status.is_success() {
        return Err(failure(answer));
    }
    parse_body(answer, what)
}

/// The body read as `T`, whatever the status.
fn parse_body<'a, T: Deserialize<'a>>(answer: Answer<'a>, what: &'static str) -> Result<T, Error> {
    let body = answer.body;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(answer.unexpected("the body is empty"));
    }
    let wrong_type = || {
        Error::from(InvalidResponse::new(
            what,
            "has a member of the wrong type or twice",
        ))
    };
    if answer.is_form() {
        return T::deserialize(Value::Object(form(body))).map_err(|_| wrong_type());
    }
    // JSON is UTF-8 text: the body is checked once as a whole, so the parser need not check
    // each string again.
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(answer.unexpected("the body is not valid JSON"));
    };
    serde_json::from_str(text).map_err(|e| match e.classify() {
        Category::Data if body.trim_ascii_start().starts_with(b"{") => wrong_type(),
        Category::Data => answer.unexpected("the body is JSON but not an object"),
        Category::Io | Category::Syntax | Category::Eof => {
            answer.unexpected("the body is not valid JSON")
        }
    })
}

/// A form body's members, as strings (a name sent twice keeps its last value).
fn form(body: &[u8]) -> Object {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect()
}

/// The JSON object of a successful answer, or the error the answer stands for.
pub(crate) fn success_object(response: &http::Response<Vec<u8>>) -> Result<Object, Error> {
    let answer = Answer::of(response);
    let object =
        parse::<Object>(answer, "response").map_err(|e| with_headers(e, response.headers()))?;
    match object.get("error") {
        Some(Value::String(_)) => Err(with_headers(
            oauth_error_in(answer.status, object),
            response.headers(),
        )),
        _ => Ok(object),
    }
}

/// The OAuth error object `object` (its `error` member is a string), received with `status`.
pub(crate) fn oauth_error_in(status: http::StatusCode, object: Object) -> Error {
    match ErrorObject::deserialize(Value::Object(object)) {
        Ok(wire) => wire.into_error(status).map_or_else(
            || InvalidResponse::new("error", "is not a string").into(),
            |e| Error::OAuth(Box::new(e)),
        ),
        Err(_) => InvalidResponse::new("error", "has a member sent twice").into(),
    }
}

/// The error an answer whose status is not a success stands for (a redirect is never followed).
pub(crate) fn failure(answer: Answer<'_>) -> Error {
    if answer.status.is_redirection() {
        return answer.unexpected(
            "the server answered with a redirect, which grantline never follows to an authorization server",
        );
    }
    error_in(answer)
}

/// The error an error-status answer stands for: its OAuth error object, or an unexpected answer.
pub(crate) fn error_in(answer: Answer<'_>) -> Error {
    match oauth_error(answer) {
        Ok(e) => Error::OAuth(Box::new(e)),
        Err(e) => e,
    }
}

/// The answer's OAuth error object; an unexpected answer when it has none.
pub(crate) fn oauth_error(answer: Answer<'_>) -> Result<OAuthError, Error> {
    parse_body::<ErrorObject>(answer, "error")
        .ok()
        .and_then(|wire| wire.into_error(answer.status))
        .ok_or_else(|| {
            answer.unexpected("the server answered with an error status but no OAuth error object")
        })
}

/// [`error_in`] for a response, with the headers the error keeps.
pub(crate) fn error_from(response: &http::Response<Vec<u8>>) -> Error {
    with_headers(error_in(Answer::of(response)), response.headers())
}

/// Reads an optional string member, borrowed from the body when it holds no escapes (a member
/// that is only compared, such as `token_type` or `error`, then costs no copy). `null` is
/// `None`; use with `#[serde(borrow, default, deserialize_with = "...")]`.
pub(crate) fn borrowed_str<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    /// `Cow<str>` borrows only as a field marked `borrow`, not inside an `Option`.
    #[derive(Deserialize)]
    struct Borrowed<'a>(#[serde(borrow)] Cow<'a, str>);
    Ok(Option::<Borrowed<'a>>::deserialize(deserializer)?.map(|b| b.0))
}

/// An OAuth error object (RFC 6749 §5.2), as sent: a code that is not a string makes it no
/// OAuth error object.
#[derive(Deserialize)]
struct ErrorObject<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    error: Option<Cow<'a, str>>,
    error_description: Option<Value>,
    error_uri: Option<Value>,
    #[serde(flatten)]
    extra: Object,
}

impl ErrorObject<'_> {
    /// The error, received with `status`; `None` without an `error` code.
    fn into_error(self, status: http::StatusCode) -> Option<OAuthError> {
        let code = self.error?;
        let mut extra = self.extra;
        // A description or URI that is not a string stays among the other members.
        let mut text = |name: &str, value: Option<Value>| match value {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                extra.insert(name.to_owned(), other);
                None
            }
        };
        let description = text("error_description", self.error_description);
        let uri = text("error_uri", self.error_uri);
        Some(OAuthError {
            code: ErrorCode::from(&*code),
            description,
            uri,
            status,
            headers: ResponseHeaders::default(),
            extra,
        })
    }
}

/// Whether a `Content-Type` value's media type (before any parameter, spaces around it trimmed)
/// is `application/x-www-form-urlencoded`, in any case.
fn is_form_media_type(value: &[u8]) -> bool {
    const FORM: &[u8] = b"application/x-www-form-urlencoded";
    let value = value.trim_ascii_start();
    let (Some(media_type), Some(rest)) = (value.get(..FORM.len()), value.get(FORM.len()..)) else {
        return false;
    };
    media_type.eq_ignore_ascii_case(FORM)
        && matches!(rest.trim_ascii_start().first(), None | Some(b';'))
}

/// Field readers shared by every parser: each names the field in its error.
///
/// Each reads a member out of an [`Object`]; [`field::value`] has the same readers for a
/// member's value already taken out (as a wire struct holds it).
pub(crate) mod field {
    use std::time::Duration;

    use super::Object;
    use crate::error::InvalidResponse;

    /// A string field; `null` counts as absent.
    #[inline]
    pub(crate) fn string(
        object: &mut Object,
        name: &'static str,
    ) -> Result<Option<String>, InvalidResponse> {
        value::string(object.remove(name), name)
    }

    /// A required, non-empty string field.
    #[inline]
    pub(crate) fn required_string(
        object: &mut Object,
        name: &'static str,
    ) -> Result<String, InvalidResponse> {
        value::required_string(object.remove(name), name)
    }

    /// A number of seconds: an integer, a float (rounded down) or a numeric string.
    #[inline]
    pub(crate) fn seconds(
        object: &mut Object,
        name: &'static str,
    ) -> Result<Option<Duration>, InvalidResponse> {
        value::seconds(object.remove(name), name)
    }

    /// A boolean, also accepted as the strings `"true"` and `"false"`.
    #[inline]
    pub(crate) fn boolean(
        object: &mut Object,
        name: &'static str,
    ) -> Result<Option<bool>, InvalidResponse> {
        value::boolean(object.remove(name), name)
    }

    /// A scope: a space-separated string, or (leniently) an array of strings.
    #[inline]
    pub(crate) fn scope(
        object: &mut Object,
        name: &'static str,
    ) -> Result<Option<crate::Scope>, InvalidResponse> {
        value::scope(object.remove(name), name)
    }

    /// One string or an array of strings (the `aud` claim's shape).
    #[inline]
    pub(crate) fn strings(
        object: &mut Object,
        name: &'static str,
    ) -> Result<Vec<String>, InvalidResponse> {
        value::strings(object.remove(name), name)
    }

    /// The same readers, for the value of member `name` (`None` when it was absent).
    pub(crate) mod value {
        use std::time::Duration;

        use serde_json::Value;

        use crate::error::InvalidResponse;

        /// A string; `null` counts as absent.
        pub(crate) fn string(
            value: Option<Value>,
            name: &'static str,
        ) -> Result<Option<String>, InvalidResponse> {
            match value {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(InvalidResponse::new(name, "is not a string")),
            }
        }

        /// A required, non-empty string.
        pub(crate) fn required_string(
            value: Option<Value>,
            name: &'static str,
        ) -> Result<String, InvalidResponse> {
            match string(value, name)? {
                Some(s) if !s.is_empty() => Ok(s),
                Some(_) => Err(InvalidResponse::new(name, "is empty")),
                None => Err(InvalidResponse::new(name, "is missing")),
            }
        }

        /// A number of seconds: an integer, a float (rounded down) or a numeric string.
        pub(crate) fn seconds(
            value: Option<Value>,
            name: &'static str,
        ) -> Result<Option<Duration>, InvalidResponse> {
            let invalid = || InvalidResponse::new(name, "is not a non-negative number of seconds");
            let number = match value {
                None | Some(Value::Null) => return Ok(None),
                Some(Value::Number(n)) => n,
                Some(Value::String(s)) => s
                    .trim()
                    .parse::<serde_json::Number>()
                    .map_err(|_| invalid())?,
                Some(_) => return Err(invalid()),
            };
            if let Some(whole) = number.as_u64() {
                return Ok(Some(Duration::from_secs(whole)));
            }
            match number.as_f64() {
                Some(f) if f.is_finite() && f >= 0.0 => {
                    Ok(Some(Duration::from_secs_f64(f.min(1e15).floor())))
                }
                _ => Err(invalid()),
            }
        }

        /// A boolean, also accepted as the strings `"true"` and `"false"`.
        pub(crate) fn boolean(
            value: Option<Value>,
            name: &'static str,
        ) -> Result<Option<bool>, InvalidResponse> {
            match value {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Bool(b)) => Ok(Some(b)),
                Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
                Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
                Some(_) => Err(InvalidResponse::new(name, "is not a boolean")),
            }
        }

        /// A scope: a space-separated string, or (leniently) an array of strings.
        pub(crate) fn scope(
            value: Option<Value>,
            name: &'static str,
        ) -> Result<Option<crate::Scope>, InvalidResponse> {
            match value {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(crate::Scope::from(s))),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|item| {
                        item.as_str()
                            .ok_or(InvalidResponse::new(name, "holds a non-string"))
                    })
                    .collect::<Result<crate::Scope, _>>()
                    .map(Some),
                Some(_) => Err(InvalidResponse::new(name, "is not a string")),
            }
        }

        /// One string or an array of strings (the `aud` claim's shape).
        pub(crate) fn strings(
            value: Option<Value>,
            name: &'static str,
        ) -> Result<Vec<String>, InvalidResponse> {
            match value {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::String(s)) => Ok(vec![s]),
                Some(Value::Array(items)) => items
                    .into_iter()
                    .map(|item| match item {
                        Value::String(s) => Ok(s),
                        _ => Err(InvalidResponse::new(name, "holds a non-string")),
                    })
                    .collect(),
                Some(_) => Err(InvalidResponse::new(
                    name,
                    "is neither a string nor an array of strings",
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn response(status: u16, content_type: &str, body: &str) -> http::Response<Vec<u8>> {
        http::Response::builder()
            .status(status)
            .header("content-type", content_type)
            .body(body.as_bytes().to_vec())
            .unwrap()
    }

    #[test]
    fn any_2xx_is_a_success() {
        for status in [200, 201, 203] {
            let object =
                success_object(&response(status, "application/json", r#"{"a":1}"#)).unwrap();
            assert_eq!(object["a"], 1);
        }
    }

    #[test]
    fn an_error_object_in_a_200_is_an_error() {
        let e = success_object(&response(
            200,
            "application/json",
            r#"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}"#,
        ))
        .unwrap_err();
        let Error::OAuth(e) = e else { panic!("{e:?}") };
        assert_eq!(e.code, ErrorCode::Other("bad_verification_code".into()));
        assert_eq!(e.status, 200);
        assert!(e.description.unwrap().contains("incorrect"));
    }

    #[test]
    fn a_form_encoded_answer_is_read() {
        let object = success_object(&response(
            200,
            "application/x-www-form-urlencoded; charset=utf-8",
            "access_token=gho_abc&scope=repo%2Cgist&token_type=bearer",
        ))
        .unwrap();
        assert_eq!(object["access_token"], "gho_abc");
        assert_eq!(object["scope"], "repo,gist");
    }

    #[test]
    fn non_oauth_answers_are_unexpected() {
        for (status, ct, body, reason) in [
            (500, "text/html", "<html>oops</html>", "error status"),
            (200, "application/json", "", "empty"),
            (200, "application/json", "  \n", "empty"),
            (200, "application/json", "[1,2]", "not an object"),
            (200, "application/json", "\"str\"", "not an object"),
            (200, "application/json", "{\"a\":", "not valid JSON"),
            (
                400,
                "application/json",
                r#"{"error":{"message":"nested"}}"#,
                "error status",
            ),
            (302, "text/html", "", "redirect"),
        ] {
            let e = success_object(&response(status, ct, body)).unwrap_err();
            let Error::UnexpectedResponse(e) = e else {
                panic!("{body}: {e:?}")
            };
            assert_eq!(e.status, status);
            assert!(e.reason.contains(reason), "{body}: {}", e.reason);
        }
    }

    #[test]
    fn bodies_that_are_not_utf8_are_not_json() {
        for body in [
            &b"{\"access_token\":\"a\xffb\",\"token_type\":\"Bearer\"}"[..],
            b"{\"error\":\"e\"}\xff",
            b"\xef\xbb\xbf{\"access_token\":\"at\"}",
        ] {
            let mut response = response(200, "application/json", "");
            *response.body_mut() = body.to_vec();
            assert!(
                matches!(success_object(&response), Err(Error::UnexpectedResponse(_))),
                "{body:?}"
            );
        }
    }

    #[test]
    fn form_media_types() {
        for (value, form) in [
            ("application/x-www-form-urlencoded", true),
            ("Application/X-WWW-Form-URLEncoded; charset=utf-8", true),
            (" application/x-www-form-urlencoded \t;charset=utf-8", true),
            ("application/x-www-form-urlencoded;", true),
            ("application/json; charset=utf-8", false),
            ("application/x-www-form-urlencodedx", false),
            ("application/x-www-form-urlencode", false),
            ("", false),
            (";application/x-www-form-urlencoded", false),
        ] {
            assert_eq!(is_form_media_type(value.as_bytes()), form, "{value}");
        }
    }

    #[test]
    fn an_error_body_is_read_without_headers() {
        let answer = Answer {
            status: http::StatusCode::BAD_REQUEST,
            content_type: None,
            body: br#"{"error":"invalid_grant","error_description":7,"x":1}"#,
        };
        let e = oauth_error(answer).unwrap();
        assert_eq!(e.code, ErrorCode::InvalidGrant);
        assert_eq!(e.description, None);
        assert_eq!(e.extra["error_description"], 7);
        assert_eq!(e.extra["x"], 1);
        assert_eq!(e.headers, ResponseHeaders::default());
    }

    #[test]
    fn error_responses_keep_headers_and_extras() {
        let response = http::Response::builder()
            .status(400)
            .header("dpop-nonce", "eyJ7S_zG.eyJH0-Z.HX4w-7v")
            .header("www-authenticate", "DPoP error=\"use_dpop_nonce\"")
            .header("retry-after", "3")
            .body(
                br#"{"error":"use_dpop_nonce","error_uri":"https://e.x/e","trace":"abc"}"#.to_vec(),
            )
            .unwrap();
        let Error::OAuth(e) = error_from(&response) else {
            panic!()
        };
        assert_eq!(e.code, ErrorCode::UseDpopNonce);
        assert_eq!(e.uri.as_deref(), Some("https://e.x/e"));
        assert_eq!(e.extra["trace"], "abc");
        assert_eq!(
            e.headers.dpop_nonce.as_deref(),
            Some("eyJ7S_zG.eyJH0-Z.HX4w-7v")
        );
        assert!(e.headers.www_authenticate.unwrap().starts_with("DPoP"));
        assert!(e.headers.retry_after.is_some());
    }
}
