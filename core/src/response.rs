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

use serde_json::{Map, Value};

use crate::Error;
use crate::error::{ErrorCode, OAuthError, ResponseHeaders, UnexpectedResponse};

/// A JSON object, as the server sent it.
pub(crate) type Object = Map<String, Value>;

/// The JSON object of a successful answer, or the error the answer stands for.
pub(crate) fn success_object(response: &http::Response<Vec<u8>>) -> Result<Object, Error> {
    let status = response.status();
    if status.is_redirection() {
        return Err(UnexpectedResponse::from_response(
            response,
            "the server answered with a redirect, which grantline never follows to an authorization server",
        )
        .into());
    }
    if !status.is_success() {
        return Err(error_from(response));
    }
    let object = read_object(response)?;
    if let Some(Value::String(_)) = object.get("error") {
        return Err(oauth_error(response, object).into());
    }
    Ok(object)
}

/// The error an error-status answer stands for.
pub(crate) fn error_from(response: &http::Response<Vec<u8>>) -> Error {
    match read_object(response) {
        Ok(object) if matches!(object.get("error"), Some(Value::String(_))) => {
            oauth_error(response, object).into()
        }
        Ok(_) | Err(_) => UnexpectedResponse::from_response(
            response,
            "the server answered with an error status but no OAuth error object",
        )
        .into(),
    }
}

fn read_object(response: &http::Response<Vec<u8>>) -> Result<Object, Error> {
    let body = response.body();
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(UnexpectedResponse::from_response(response, "the body is empty").into());
    }
    if is_form(response) {
        let object = url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        return Ok(object);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(UnexpectedResponse::from_response(
            response,
            "the body is JSON but not an object",
        )
        .into()),
        Err(_) => {
            Err(UnexpectedResponse::from_response(response, "the body is not valid JSON").into())
        }
    }
}

fn is_form(response: &http::Response<Vec<u8>>) -> bool {
    response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

fn oauth_error(response: &http::Response<Vec<u8>>, mut object: Object) -> OAuthError {
    let code = match object.remove("error") {
        Some(Value::String(code)) => ErrorCode::from(code.as_str()),
        _ => ErrorCode::Other(String::new()),
    };
    let mut text = |name: &str| match object.remove(name) {
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            object.insert(name.to_owned(), other);
            None
        }
        None => None,
    };
    let description = text("error_description");
    let uri = text("error_uri");
    OAuthError {
        code,
        description,
        uri,
        status: response.status(),
        headers: ResponseHeaders::from_headers(response.headers()),
        extra: object,
    }
}

/// Field readers shared by every parser: each names the field in its error.
pub(crate) mod field {
    use std::time::Duration;

    use serde_json::Value;

    use super::Object;
    use crate::error::InvalidResponse;

    /// A string field; `null` counts as absent.
    pub(crate) fn string(
        object: &mut Object,
        name: &'static str,
    ) -> Result<Option<String>, InvalidResponse> {
        match object.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(InvalidResponse::new(name, "is not a string")),
        }
    }

    /// A required, non-empty string field.
    pub(crate) fn required_string(
        object: &mut Object,
        name: &'static str,
    ) -> Result<String, InvalidResponse> {
        match string(object, name)? {
            Some(s) if !s.is_empty() => Ok(s),
            Some(_) => Err(InvalidResponse::new(name, "is empty")),
            None => Err(InvalidResponse::new(name, "is missing")),
        }
    }

    /// A number of seconds: an integer, a float (rounded down) or a numeric string.
    pub(crate) fn seconds(
        object: &mut Object,
        name: &'static str,
    ) -> Result<Option<Duration>, InvalidResponse> {
        let invalid = || InvalidResponse::new(name, "is not a non-negative number of seconds");
        let number = match object.remove(name) {
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
        object: &mut Object,
        name: &'static str,
    ) -> Result<Option<bool>, InvalidResponse> {
        match object.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(InvalidResponse::new(name, "is not a boolean")),
        }
    }

    /// A scope: a space-separated string, or (leniently) an array of strings.
    pub(crate) fn scope(
        object: &mut Object,
        name: &'static str,
    ) -> Result<Option<crate::Scope>, InvalidResponse> {
        match object.remove(name) {
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
        object: &mut Object,
        name: &'static str,
    ) -> Result<Vec<String>, InvalidResponse> {
        match object.remove(name) {
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
