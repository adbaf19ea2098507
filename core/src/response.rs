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
//! Parsers that know which members they read ask for them by name ([`success_fields`]): the JSON
//! is then read straight into those members' values, without a map entry (and a key `String`)
//! for each, and only the other members go to a map. Anything out of the ordinary (an error
//! status, a form body, an error object in a 2xx, a body that is not a JSON object) is left to
//! the general path, [`success_object`], so both give the same answers.

use std::fmt;

use serde::Deserialize as _;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess};
use serde_json::{Map, Value};

use crate::Error;
use crate::error::{ErrorCode, HeaderValues, OAuthError, ResponseHeaders, UnexpectedResponse};

/// A JSON object, as the server sent it.
pub(crate) type Object = Map<String, Value>;

/// The members of a JSON object a parser asked for by name, each with its value if it was there
/// (in the order of the names), and every other member.
///
/// A member sent twice keeps its last value, as in an [`Object`].
#[derive(Debug)]
pub(crate) struct Fields<'a, const N: usize> {
    pub(crate) values: [Option<Member<'a>>; N],
    /// `None` while there is none (an empty map costs a drop).
    pub(crate) rest: Option<Object>,
}

impl<const N: usize> Fields<'_, N> {
    /// No member yet.
    #[inline]
    pub(crate) fn new() -> Self {
        Self {
            values: [const { None }; N],
            rest: None,
        }
    }

    /// Takes the named members out of `object`.
    pub(crate) fn from_object(mut object: Object, names: &[&'static str; N]) -> Self {
        Self {
            values: names.map(|name| object.remove(name).map(Member::Value)),
            rest: Some(object),
        }
    }

    /// Whether the object has an `error` member that is a string (an OAuth error object).
    fn has_error_code(&self, names: &[&'static str; N]) -> bool {
        match names.iter().position(|name| *name == "error") {
            Some(i) => self
                .values
                .get(i)
                .and_then(Option::as_ref)
                .and_then(Member::as_str)
                .is_some(),
            None => matches!(
                self.rest.as_ref().and_then(|rest| rest.get("error")),
                Some(Value::String(_))
            ),
        }
    }
}

/// The value of a member asked for by name: a string that needed no unescaping is borrowed
/// from the body (a parser that only looks at it, such as `token_type`, then copies nothing),
/// any other value is a [`Value`].
#[derive(Debug)]
pub(crate) enum Member<'a> {
    /// A string, as it is in the body.
    Str(&'a str),
    /// Any other value (or a string with escapes, unescaped).
    Value(Value),
}

impl Member<'_> {
    /// The value as a [`Value`] (a borrowed string is copied).
    pub(crate) fn into_value(self) -> Value {
        match self {
            Member::Str(s) => Value::String(s.to_owned()),
            Member::Value(value) => value,
        }
    }

    /// The string, if the value is one.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Member::Str(s) => Some(s),
            Member::Value(Value::String(s)) => Some(s),
            Member::Value(_) => None,
        }
    }
}

/// Reads `body` as one JSON object into `fields` (which start empty); `false` when it is not
/// one (`fields` then hold anything, and the general path says what the body is instead).
///
/// The members are written where they stay, not handed back through each layer of the
/// deserializer.
#[inline]
fn parse_fields<'a, const N: usize>(
    body: &'a [u8],
    names: &[&'static str; N],
    fields: &mut Fields<'a, N>,
) -> bool {
    // The body is checked to be UTF-8 once, as a whole, so serde_json need not check each string
    // it reads again. A body that is not UTF-8 is not JSON either: the general path says so.
    let Ok(text) = std::str::from_utf8(body) else {
        return false;
    };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    FieldsSeed { names, fields }
        .deserialize(&mut deserializer)
        .is_ok()
        // Only whitespace may follow, as with `serde_json::from_slice`.
        && deserializer.end().is_ok()
}

/// Deserializes a JSON object into [`Fields`].
struct FieldsSeed<'n, 'f, 'de, const N: usize> {
    names: &'n [&'static str; N],
    fields: &'f mut Fields<'de, N>,
}

impl<'de, const N: usize> DeserializeSeed<'de> for FieldsSeed<'_, '_, 'de, N> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, const N: usize> de::Visitor<'de> for FieldsSeed<'_, '_, 'de, N> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(KeySeed(self.names))? {
            match key {
                Key::Named(i) => {
                    let member = map.next_value_seed(MemberSeed)?;
                    if let Some(slot) = self.fields.values.get_mut(i) {
                        *slot = Some(member);
                    }
                }
                Key::Other(name) => {
                    let value: Value = map.next_value()?;
                    self.fields
                        .rest
                        .get_or_insert_with(Object::new)
                        .insert(name, value);
                }
            }
        }
        Ok(())
    }
}

/// Deserializes a [`Member`]: a string borrowed when it can be, anything else exactly as
/// `serde_json` makes a [`Value`] of it (the containers through `Value`'s own visitor).
struct MemberSeed;

impl<'de> DeserializeSeed<'de> for MemberSeed {
    type Value = Member<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Member<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> de::Visitor<'de> for MemberSeed {
    type Value = Member<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Member<'de>, E> {
        Ok(Member::Str(s))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Member<'de>, E> {
        Ok(Member::Value(Value::String(s.to_owned())))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Member<'de>, E> {
        Ok(Member::Value(Value::String(s)))
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Member<'de>, E> {
        Ok(Member::Value(Value::Bool(b)))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Member<'de>, E> {
        Ok(Member::Value(Value::Number(n.into())))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Member<'de>, E> {
        Ok(Member::Value(Value::Number(n.into())))
    }

    fn visit_i128<E: de::Error>(self, n: i128) -> Result<Member<'de>, E> {
        Value::deserialize(de::value::I128Deserializer::new(n)).map(Member::Value)
    }

    fn visit_u128<E: de::Error>(self, n: u128) -> Result<Member<'de>, E> {
        Value::deserialize(de::value::U128Deserializer::new(n)).map(Member::Value)
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Member<'de>, E> {
        Ok(Member::Value(
            serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Member<'de>, E> {
        Ok(Member::Value(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<Member<'de>, E> {
        Ok(Member::Value(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Member<'de>, D::Error> {
        Value::deserialize(deserializer).map(Member::Value)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Member<'de>, A::Error> {
        Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Member::Value)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Member<'de>, A::Error> {
        Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(Member::Value)
    }
}

/// A member name: one of the names asked for (by index), or another, kept.
enum Key {
    Named(usize),
    Other(String),
}

/// Deserializes a member name into a [`Key`], without allocating for the names asked for.
struct KeySeed<'a, const N: usize>(&'a [&'static str; N]);

impl<const N: usize> KeySeed<'_, N> {
    fn named(&self, key: &str) -> Option<Key> {
        // The length, then the first byte: names of one length (`token_type`, `expires_in`)
        // mostly differ there, and the whole compare is a call.
        self.0
            .iter()
            .position(|name| {
                name.len() == key.len()
                    && name.as_bytes().first() == key.as_bytes().first()
                    && *name == key
            })
            .map(Key::Named)
    }
}

impl<'de, const N: usize> DeserializeSeed<'de> for KeySeed<'_, N> {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, const N: usize> de::Visitor<'de> for KeySeed<'_, N> {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(self
            .named(key)
            .unwrap_or_else(|| Key::Other(key.to_owned())))
    }

    fn visit_string<E: de::Error>(self, key: String) -> Result<Key, E> {
        Ok(self.named(&key).unwrap_or(Key::Other(key)))
    }
}

/// Reads the named members of a successful answer's JSON object, and every other member, into
/// `fields` (which start empty): what [`success_object`] gives (the same answers, the same
/// errors), read without a map entry for the named members.
#[inline]
pub(crate) fn success_fields<'a, const N: usize>(
    response: &'a http::Response<Vec<u8>>,
    names: &[&'static str; N],
    fields: &mut Fields<'a, N>,
) -> Result<(), Error> {
    if response.status().is_success()
        && !is_form(response)
        && parse_fields(response.body(), names, fields)
        && !fields.has_error_code(names)
    {
        return Ok(());
    }
    *fields = Fields::from_object(success_object(response)?, names);
    Ok(())
}

/// The members of an OAuth error object that [`OAuthError`] models.
const ERROR_FIELDS: [&str; 3] = ["error", "error_description", "error_uri"];

/// The JSON object of a successful answer, or the error the answer stands for.
pub(crate) fn success_object(response: &http::Response<Vec<u8>>) -> Result<Object, Error> {
    if !response.status().is_success() {
        return Err(failure(response));
    }
    let object = read_object(response)?;
    if let Some(Value::String(_)) = object.get("error") {
        return Err(oauth_error(
            response,
            &mut Fields::from_object(object, &ERROR_FIELDS),
            &HeaderValues::find(response.headers()),
        ));
    }
    Ok(object)
}

/// The error an answer whose status is not a success stands for (a redirect is never followed).
pub(crate) fn failure(response: &http::Response<Vec<u8>>) -> Error {
    if response.status().is_redirection() {
        return UnexpectedResponse::from_response(
            response,
            "the server answered with a redirect, which grantline never follows to an authorization server",
        )
        .into();
    }
    error_from(response)
}

/// The error an error-status answer stands for.
pub(crate) fn error_from(response: &http::Response<Vec<u8>>) -> Error {
    // The content type and the headers the error keeps, found in one go; then the usual
    // answer, a JSON error object, read straight into its members.
    let headers = HeaderValues::find(response.headers());
    let mut fields = Fields::new();
    if !is_form_content_type(headers.content_type)
        && parse_fields(response.body(), &ERROR_FIELDS, &mut fields)
        && fields.has_error_code(&ERROR_FIELDS)
    {
        return oauth_error(response, &mut fields, &headers);
    }
    error_from_object(response)
}

/// [`error_from`] through the general path.
fn error_from_object(response: &http::Response<Vec<u8>>) -> Error {
    match read_object(response) {
        Ok(object) if matches!(object.get("error"), Some(Value::String(_))) => oauth_error(
            response,
            &mut Fields::from_object(object, &ERROR_FIELDS),
            &HeaderValues::find(response.headers()),
        ),
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

pub(crate) fn is_form(response: &http::Response<Vec<u8>>) -> bool {
    is_form_content_type(response.headers().get(http::header::CONTENT_TYPE))
}

/// Whether a `Content-Type` (the first one) says the body is a form.
fn is_form_content_type(value: Option<&http::HeaderValue>) -> bool {
    value.is_some_and(|v| is_form_media_type(v.as_bytes()) && v.to_str().is_ok())
}

/// The media type `application/x-www-form-urlencoded`.
const FORM: &[u8] = b"application/x-www-form-urlencoded";

/// Whether a `Content-Type` value's media type (before any parameter, spaces around it trimmed)
/// is [`FORM`], in any case.
///
/// A value that does not start with the form type (most say JSON) is turned down on its
/// length or its first bytes, without looking for the `;`.
#[inline]
fn is_form_media_type(value: &[u8]) -> bool {
    let value = value.trim_ascii_start();
    match (value.get(..FORM.len()), value.get(FORM.len()..)) {
        (Some(media_type), Some(after)) if media_type.eq_ignore_ascii_case(FORM) => {
            // Only spaces may come between the media type and its parameters.
            matches!(after.trim_ascii_start().first(), None | Some(b';'))
        }
        _ => false,
    }
}

fn oauth_error(
    response: &http::Response<Vec<u8>>,
    fields: &mut Fields<'_, 3>,
    headers: &HeaderValues<'_>,
) -> Error {
    let [error, description, uri] = &mut fields.values;
    let (description, uri) = (description.take(), uri.take());
    let rest = &mut fields.rest;
    let code = match error.as_ref().and_then(Member::as_str) {
        Some(code) => ErrorCode::from(code),
        None => ErrorCode::Other(String::new()),
    };
    // A description or URI that is not a string stays among the other members.
    let mut text = |name: &str, member: Option<Member<'_>>| match member {
        None => None,
        Some(Member::Str(s)) => Some(s.to_owned()),
        Some(Member::Value(Value::String(s))) => Some(s),
        Some(Member::Value(other)) => {
            rest.get_or_insert_with(Object::new)
                .insert(name.to_owned(), other);
            None
        }
    };
    let description = text("error_description", description);
    let uri = text("error_uri", uri);
    // Made in its box, not moved into it.
    Error::OAuth(Box::new(OAuthError {
        code,
        description,
        uri,
        status: response.status(),
        headers: ResponseHeaders::from_values(headers),
        extra: rest.take().unwrap_or_default(),
    }))
}

/// Field readers shared by every parser: each names the field in its error.
///
/// Each reads a member out of an [`Object`]; [`field::value`] has the same readers for a
/// member's value already taken out (as [`success_fields`] hands them over).
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
        use crate::response::Member;

        /// A string, borrowed; `null` counts as absent. (What [`string`] reads, without a copy.)
        pub(crate) fn str<'m>(
            member: Option<&'m Member<'_>>,
            name: &'static str,
        ) -> Result<Option<&'m str>, InvalidResponse> {
            match member {
                None | Some(Member::Value(Value::Null)) => Ok(None),
                Some(member) => member
                    .as_str()
                    .map(Some)
                    .ok_or(InvalidResponse::new(name, "is not a string")),
            }
        }

        /// What [`string`] reads from the member's value, without making a [`Value`] of a
        /// borrowed string first.
        #[inline]
        pub(crate) fn member_string(
            member: Option<Member<'_>>,
            name: &'static str,
        ) -> Result<Option<String>, InvalidResponse> {
            match member {
                None => Ok(None),
                Some(Member::Str(s)) => Ok(Some(s.to_owned())),
                Some(Member::Value(value)) => string(Some(value), name),
            }
        }

        /// What [`required_string`] reads from the member's value, without making a [`Value`]
        /// of a borrowed string first.
        #[inline]
        pub(crate) fn required_member_string(
            member: Option<Member<'_>>,
            name: &'static str,
        ) -> Result<String, InvalidResponse> {
            match member {
                Some(Member::Str(s)) if !s.is_empty() => Ok(s.to_owned()),
                other => required_string(other.map(Member::into_value), name),
            }
        }

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

    /// The names a token response asks for, with `error` among them to try both places it can be.
    const NAMES: [&str; 5] = ["access_token", "expires_in", "scope", "error", "error_uri"];

    /// What the members read directly give, against what the general path gives: the same,
    /// value for value and error for error.
    fn same_as_the_general_path(status: u16, content_type: &str, body: &str) {
        same_bytes_as_the_general_path(status, content_type, body.as_bytes());
    }

    /// [`same_as_the_general_path`] for any bytes, UTF-8 or not.
    fn same_bytes_as_the_general_path(status: u16, content_type: &str, body: &[u8]) {
        let mut response = response(status, content_type, "");
        *response.body_mut() = body.to_vec();
        let values = |fields: Fields<'_, 5>| {
            (
                fields.values.map(|m| m.map(Member::into_value)),
                fields.rest.unwrap_or_default(),
            )
        };
        let mut fields = Fields::new();
        let direct = success_fields(&response, &NAMES, &mut fields).map(|()| values(fields));
        let general = success_object(&response).map(|o| values(Fields::from_object(o, &NAMES)));
        assert_eq!(format!("{direct:?}"), format!("{general:?}"), "{body:?}");
        let direct = error_from(&response);
        let general = error_from_object(&response);
        assert_eq!(format!("{direct:?}"), format!("{general:?}"), "{body:?}");
    }

    #[test]
    fn members_read_directly_are_the_members_of_the_object() {
        for body in [
            r#"{"access_token":"at","expires_in":60,"token_type":"Bearer","x":{"y":[1,2]}}"#,
            r#"{"access_token":"first","access_token":"last","x":1,"x":2}"#,
            r#"{"access\u005ftoken":"escaped key","scope":["a","b"],"expires_in":"60"}"#,
            r#"{"access_token":null,"expires_in":1e300,"scope":{"nested":true}}"#,
            r#"{"error":"invalid_grant","error_description":"no","error_uri":7,"z":null}"#,
            r#"{"error":{"message":"nested"},"access_token":"at"}"#,
            r#"{"error_description":["not","a","string"],"error":"e"}"#,
            r#"{"error":"e","error_uri":"https://e.x"}"#,
            "{}",
            "  {\"access_token\":\"at\"}  \n",
            r#"{"access_token":"at"} trailing"#,
            r#"{"access_token":"at""#,
            r#"{"access_token":"at",}"#,
            "[1,2]",
            "\"string\"",
            "",
            "   ",
            "<html>oops</html>",
            "access_token=at&error=e",
        ] {
            for status in [200, 201, 302, 400, 401, 500] {
                for content_type in [
                    "application/json",
                    "text/plain",
                    "application/x-www-form-urlencoded",
                ] {
                    same_as_the_general_path(status, content_type, body);
                }
            }
        }
    }

    /// The body is checked as UTF-8 once, before it is parsed: a body that is not UTF-8, inside
    /// a string or outside, is refused as the general path refuses it.
    #[test]
    fn bodies_that_are_not_utf8_get_the_general_answer() {
        for body in [
            &b"{\"access_token\":\"a\xffb\",\"token_type\":\"Bearer\"}"[..],
            b"{\"error\":\"invalid_client\",\"error_description\":\"\xc3\"}",
            b"{\"error\":\"e\"}\xff",
            b"\xef\xbb\xbf{\"access_token\":\"at\"}",
            b"{\"access_token\":\"\xed\xa0\x80\"}",
        ] {
            for status in [200, 400, 401] {
                same_bytes_as_the_general_path(status, "application/json", body);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        /// Any bytes at all: the same answers on both paths.
        #[test]
        fn any_bytes_give_the_same_answers_on_both_paths(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            status in proptest::sample::select(vec![200_u16, 401]),
        ) {
            same_bytes_as_the_general_path(status, "application/json", &body);
        }

        /// Any object of the members parsers ask for and others, with values of every JSON
        /// type, members repeated, and garbage around: the same answers on both paths.
        #[test]
        fn any_object_gives_the_same_members_on_both_paths(
            members in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "access_token", "expires_in", "scope", "error", "error_uri",
                        "error_description", "token_type", "x", "access\\u005ftoken", "",
                    ]),
                    proptest::sample::select(vec![
                        "\"s\"", "\"\"", "\"a\\\"b\"", "0", "-1", "3.5", "1e400", "null",
                        "true", "[\"a\",1]", "{\"k\":[]}", "\"60\"",
                    ]),
                ),
                0..8,
            ),
            prefix in proptest::sample::select(vec!["", " ", "x", "["]),
            suffix in proptest::sample::select(vec!["", " \n", "}", ",", "x"]),
            status in proptest::sample::select(vec![200_u16, 400, 401]),
        ) {
            let object = members
                .iter()
                .map(|(name, value)| format!("\"{name}\":{value}"))
                .collect::<Vec<_>>()
                .join(",");
            same_as_the_general_path(status, "application/json", &format!("{prefix}{{{object}}}{suffix}"));
        }
    }

    /// `is_form_media_type` as it was first written: the part before the first `;`, trimmed,
    /// compared with the form type.
    fn is_form_media_type_by_splitting(value: &[u8]) -> bool {
        value
            .split(|b| *b == b';')
            .next()
            .unwrap_or_default()
            .trim_ascii()
            .eq_ignore_ascii_case(FORM)
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
            ("application/x-www-form-urlencoded x;", false),
            ("application/x-www-form-urlencode", false),
            ("", false),
            (";application/x-www-form-urlencoded", false),
        ] {
            assert_eq!(is_form_media_type(value.as_bytes()), form, "{value}");
            assert_eq!(
                is_form_media_type_by_splitting(value.as_bytes()),
                form,
                "{value}"
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]

        /// The quick test of the media type gives the answer of splitting at `;` and trimming.
        #[test]
        fn the_form_test_is_the_split_and_trim_test(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "application/x-www-form-urlencoded", "APPLICATION/X-WWW-FORM-URLENCODED",
                    "application/json", "application/x-www-form-urlencode", " ", "\t", ";",
                    "charset=utf-8", "x", "d", "\u{e9}",
                ]),
                0..5,
            ),
        ) {
            let value = parts.concat();
            proptest::prop_assert_eq!(
                is_form_media_type(value.as_bytes()),
                is_form_media_type_by_splitting(value.as_bytes()),
                "{:?}", value
            );
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
