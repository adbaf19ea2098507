//! The metadata document read straight into [`ServerMetadata`]'s fields.
//!
//! The general path ([`ServerMetadata::from_object`]) reads the whole document into a
//! `serde_json` map first (a `String` per member name and value, a tree node per few members),
//! then takes each field out again. This reader visits the members once: a member
//! [`ServerMetadata`] models goes into its field (a list straight into its `Vec<String>`), and
//! every other member is copied, as the JSON text it was sent as, into one string that
//! [`OtherMembers`] makes into a map only when someone looks.
//!
//! The body is checked to be UTF-8 once, as a whole, rather than string by string as the
//! parser hands them out.
//!
//! It gives the general path's answers, error for error:
//! - a body that is not one JSON object, or is an OAuth error object (a string `error`), is
//!   left to the general path (`None`), which says what it is;
//! - a member sent twice counts with its last value, as in a map;
//! - when several fields are wrong, the error names the one the general path names first
//!   ([`Field`]'s order);
//! - members no field reads are checked as strictly as the general path's parse into a
//!   [`Value`] checks them (numbers in range, no lone surrogates, the same nesting limit), so a
//!   document one path refuses the other refuses too, and [`OtherMembers`] always parses.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{OtherMembers, ServerMetadata};
use crate::error::InvalidResponse;

/// Reads `body` as a metadata document; `None` when the general path must say what it is
/// instead (not one JSON object, or an OAuth error object).
pub(super) fn read(body: &[u8]) -> Option<Result<ServerMetadata, InvalidResponse>> {
    // JSON is text: a body that is not UTF-8 is not JSON either (outside strings only ASCII
    // is allowed). Checking the whole body at once is much cheaper than checking each string
    // as the parser hands it out, which it then no longer does.
    let body = std::str::from_utf8(body).ok()?;
    let mut deserializer = serde_json::Deserializer::from_str(body);
    let document = DocumentSeed {
        body: body.as_bytes(),
    }
    .deserialize(&mut deserializer)
    .ok()?;
    // Only whitespace may follow, as with `serde_json::from_slice`.
    deserializer.end().ok()?;
    if document.error_is_string {
        return None;
    }
    Some(document.finish())
}

/// Declares [`Field`]: one variant per member [`ServerMetadata`] models, named as the member
/// and its field are, in the order the general path checks them (so the first field in error
/// here is the one it reports).
macro_rules! fields {
    ($($kind:ident $(($default:expr))? $name:ident,)*) => {
        /// A member [`ServerMetadata`] has a field for.
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Field {
            $($name,)*
        }

        impl Field {
            /// Every field's member name, in [`Field`]'s order.
            const NAMES: [&'static str; [$(stringify!($name)),*].len()] = [$(stringify!($name)),*];

            /// The field a member name stands for.
            fn from_name(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($name) => Some(Self::$name),)*
                    _ => None,
                }
            }

            /// Where the field's value goes.
            fn slot(self, metadata: &mut ServerMetadata) -> Slot<'_> {
                match self {
                    $(Self::$name => Slot::$kind(&mut metadata.$name $(, $default)?),)*
                }
            }
        }
    };
}

fields! {
    Aliases mtls_endpoint_aliases,
    Issuer issuer,
    Text authorization_endpoint,
    Text token_endpoint,
    Text jwks_uri,
    Text registration_endpoint,
    Text revocation_endpoint,
    Text introspection_endpoint,
    Text device_authorization_endpoint,
    Text pushed_authorization_request_endpoint,
    Text backchannel_authentication_endpoint,
    Text userinfo_endpoint,
    Text end_session_endpoint,
    List scopes_supported,
    List response_types_supported,
    List response_modes_supported,
    List grant_types_supported,
    List code_challenge_methods_supported,
    List token_endpoint_auth_methods_supported,
    List token_endpoint_auth_signing_alg_values_supported,
    List revocation_endpoint_auth_methods_supported,
    List introspection_endpoint_auth_methods_supported,
    List id_token_signing_alg_values_supported,
    List userinfo_signing_alg_values_supported,
    List request_object_signing_alg_values_supported,
    List dpop_signing_alg_values_supported,
    List subject_types_supported,
    List claims_supported,
    List acr_values_supported,
    List ui_locales_supported,
    List backchannel_token_delivery_modes_supported,
    Flag(false) require_pushed_authorization_requests,
    Flag(false) authorization_response_iss_parameter_supported,
    Flag(false) request_parameter_supported,
    Flag(true) request_uri_parameter_supported,
    Flag(false) require_signed_request_object,
    Flag(false) claims_parameter_supported,
    Text service_documentation,
    Text op_policy_uri,
    Text op_tos_uri,
}

/// How many fields there are.
const FIELDS: usize = Field::NAMES.len();

/// A field to fill, by the shape its member has.
enum Slot<'a> {
    /// `issuer`: a required, non-empty string.
    Issuer(&'a mut String),
    /// A string; `null` counts as absent.
    Text(&'a mut Option<String>),
    /// One string or an array of strings; `null` counts as absent.
    List(&'a mut Vec<String>),
    /// A boolean (or the strings `"true"` and `"false"`), with its default for `null`.
    Flag(&'a mut bool, bool),
    /// `mtls_endpoint_aliases`: an object, kept as sent.
    Aliases(&'a mut Option<Map<String, Value>>),
}

impl Slot<'_> {
    /// Puts `value` in the field, or says what is wrong with it (in the words of
    /// [`field::value`](crate::response::field::value), which the general path uses).
    fn set(self, value: Json<'_>) -> Result<(), &'static str> {
        match self {
            Slot::Issuer(issuer) => match value {
                Json::Str(s) if s.is_empty() => Err("is empty"),
                Json::Str(s) => {
                    *issuer = s.into_owned();
                    Ok(())
                }
                Json::Null => Err("is missing"),
                _ => Err("is not a string"),
            },
            Slot::Text(text) => match value {
                Json::Str(s) => {
                    *text = Some(s.into_owned());
                    Ok(())
                }
                Json::Null => {
                    *text = None;
                    Ok(())
                }
                _ => Err("is not a string"),
            },
            Slot::List(list) => match value {
                Json::Strings(items) => {
                    *list = items;
                    Ok(())
                }
                Json::Str(s) => {
                    *list = vec![s.into_owned()];
                    Ok(())
                }
                Json::Null => {
                    list.clear();
                    Ok(())
                }
                Json::MixedArray => Err("holds a non-string"),
                Json::Bool(_) | Json::Other => Err("is neither a string nor an array of strings"),
            },
            Slot::Flag(flag, default) => match value {
                Json::Bool(b) => {
                    *flag = b;
                    Ok(())
                }
                Json::Str(s) if s.eq_ignore_ascii_case("true") => {
                    *flag = true;
                    Ok(())
                }
                Json::Str(s) if s.eq_ignore_ascii_case("false") => {
                    *flag = false;
                    Ok(())
                }
                Json::Null => {
                    *flag = default;
                    Ok(())
                }
                _ => Err("is not a boolean"),
            },
            // Read as a `Value` by the document's visitor, never through here.
            Slot::Aliases(_) => Err("is not an object"),
        }
    }
}

/// Reads the document.
struct DocumentSeed<'de> {
    body: &'de [u8],
}

/// The document as read: the fields, what is wrong with each, and the other members.
struct Document {
    metadata: ServerMetadata,
    /// What is wrong with each field's (last) value, by [`Field`].
    problems: [Option<&'static str>; FIELDS],
    other: OtherJson,
    /// Whether the (last) `error` member is a string: an OAuth error object.
    error_is_string: bool,
}

impl Document {
    fn new(body: &[u8]) -> Self {
        let mut problems = [None; FIELDS];
        if let Some(issuer) = problems.get_mut(Field::issuer as usize) {
            *issuer = Some("is missing");
        }
        Self {
            metadata: ServerMetadata {
                request_uri_parameter_supported: true,
                ..ServerMetadata::default()
            },
            problems,
            other: OtherJson::new(body),
            error_is_string: false,
        }
    }

    fn set_problem(&mut self, field: Field, problem: Option<&'static str>) {
        if let Some(slot) = self.problems.get_mut(field as usize) {
            *slot = problem;
        }
    }

    fn finish(self) -> Result<ServerMetadata, InvalidResponse> {
        let first = self
            .problems
            .iter()
            .zip(Field::NAMES)
            .find_map(|(problem, name)| problem.map(|problem| (name, problem)));
        if let Some((name, problem)) = first {
            return Err(InvalidResponse::new(name, problem));
        }
        Ok(ServerMetadata {
            extra: self.other.finish(),
            ..self.metadata
        })
    }
}

impl<'de> DeserializeSeed<'de> for DocumentSeed<'de> {
    type Value = Document;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Document, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'de> {
    type Value = Document;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
        let mut document = Document::new(self.body);
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key {
                Key::Field(field) => {
                    let problem = match field.slot(&mut document.metadata) {
                        Slot::Aliases(aliases) => match map.next_value::<Value>()? {
                            Value::Null => {
                                *aliases = None;
                                None
                            }
                            Value::Object(object) => {
                                *aliases = Some(object);
                                None
                            }
                            _ => Some("is not an object"),
                        },
                        slot => slot.set(map.next_value_seed(JsonSeed)?).err(),
                    };
                    document.set_problem(field, problem);
                }
                Key::Other(name) => {
                    let value: &'de RawValue = map.next_value()?;
                    check_member_value(value.get()).map_err(de::Error::custom)?;
                    if name == "error" {
                        document.error_is_string = value.get().starts_with('"');
                    }
                    document
                        .other
                        .push(&name, matches!(name, Cow::Borrowed(_)), value);
                }
            }
        }
        Ok(document)
    }
}

/// A member name: a field's, or another.
enum Key<'de> {
    Field(Field),
    /// Borrowed from the body when it has no escapes.
    Other(Cow<'de, str>),
}

/// Reads a member name into a [`Key`].
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key<'de>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E: de::Error>(self, name: &'de str) -> Result<Key<'de>, E> {
        Ok(Field::from_name(name).map_or(Key::Other(Cow::Borrowed(name)), Key::Field))
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Key<'de>, E> {
        Ok(Field::from_name(name)
            .map_or_else(|| Key::Other(Cow::Owned(name.to_owned())), Key::Field))
    }

    fn visit_string<E: de::Error>(self, name: String) -> Result<Key<'de>, E> {
        Ok(Field::from_name(&name).map_or(Key::Other(Cow::Owned(name)), Key::Field))
    }
}

/// A field's value, reduced to what the fields tell apart.
#[derive(Debug)]
enum Json<'de> {
    Null,
    Bool(bool),
    /// Borrowed from the body when it has no escapes.
    Str(Cow<'de, str>),
    /// An array of strings only.
    Strings(Vec<String>),
    /// An array holding something that is not a string.
    MixedArray,
    /// A number or an object.
    Other,
}

/// How many items of a list are read before the list is allocated.
const FIRST_ITEMS: usize = 16;

/// Reads a field's value into a [`Json`].
struct JsonSeed;

impl<'de> DeserializeSeed<'de> for JsonSeed {
    type Value = Json<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for JsonSeed {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Json<'de>, E> {
        Ok(Json::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Json<'de>, E> {
        Ok(Json::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Json<'de>, E> {
        Ok(Json::Other)
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Borrowed(s)))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(s)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        // The first items wait here, borrowed from the body, so that a list (servers send a
        // few items in each) is allocated once, at its length, instead of grown as it is read.
        let mut first = [""; FIRST_ITEMS];
        let mut count = 0;
        // The items, once one needed unescaping or there are more than `first` holds.
        let mut items: Option<Vec<String>> = None;
        while let Some(item) = seq.next_element_seed(ItemSeed)? {
            let Some(item) = item else {
                while seq.next_element_seed(Valid::ANY)?.is_some() {}
                return Ok(Json::MixedArray);
            };
            if let (None, Cow::Borrowed(borrowed)) = (&items, &item) {
                if let Some(slot) = first.get_mut(count) {
                    *slot = borrowed;
                    count += 1;
                    continue;
                }
            }
            items
                .get_or_insert_with(|| {
                    let mut items = Vec::with_capacity(2 * FIRST_ITEMS);
                    items.extend(first.iter().take(count).map(|s| (*s).to_owned()));
                    items
                })
                .push(item.into_owned());
        }
        let items =
            items.unwrap_or_else(|| first.iter().take(count).map(|s| (*s).to_owned()).collect());
        Ok(Json::Strings(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Json<'de>, A::Error> {
        Valid::ANY.visit_map(map).map(|()| Json::Other)
    }
}

/// Reads an item of an array: `Some` string (borrowed from the body when it has no escapes),
/// or `None` for anything else.
struct ItemSeed;

impl<'de> DeserializeSeed<'de> for ItemSeed {
    type Value = Option<Cow<'de, str>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemSeed {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(s)))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(s)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Valid::ANY.visit_seq(seq).map(|()| None)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Valid::ANY.visit_map(map).map(|()| None)
    }
}

/// Reads any JSON value and keeps nothing: it fails where parsing into a [`Value`] fails.
#[derive(Clone, Copy)]
struct Valid {
    /// How many more arrays or objects may be opened inside each other.
    depth: u8,
}

impl Valid {
    /// Inside a document being read, whose parser limits the nesting itself.
    const ANY: Self = Self { depth: u8::MAX };

    /// A member's value read on its own: the document's parser allows 127 arrays or objects
    /// inside each other, one of them the document itself.
    const MEMBER: Self = Self { depth: 126 };

    fn inner<E: de::Error>(self) -> Result<Self, E> {
        match self.depth.checked_sub(1) {
            Some(depth) => Ok(Self { depth }),
            None => Err(E::custom("recursion limit exceeded")),
        }
    }
}

/// Checks a member's value, sent as `json`, as strictly as parsing the document into a
/// [`Value`] would (skipping it only checked its syntax).
fn check_member_value(json: &str) -> Result<(), serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    Valid::MEMBER.deserialize(&mut deserializer)?;
    deserializer.end()
}

impl<'de> DeserializeSeed<'de> for Valid {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Valid {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.inner()?;
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.inner()?;
        while map.next_key_seed(inner)?.is_some() {
            map.next_value_seed(inner)?;
        }
        Ok(())
    }
}

/// The members no field reads, written out as one JSON object.
struct OtherJson {
    text: String,
    /// The address just past the body: what is left of it bounds what is still to come.
    body_end: usize,
}

impl OtherJson {
    fn new(body: &[u8]) -> Self {
        Self {
            text: String::new(),
            body_end: body.as_ptr_range().end.addr(),
        }
    }

    /// Adds member `name` (which was sent without escapes when `as_sent`) with `value`, a
    /// slice of the body.
    fn push(&mut self, name: &str, as_sent: bool, value: &RawValue) {
        let value = value.get();
        if self.text.is_empty() {
            // Every member still to come is in the rest of the body, and is written here no
            // longer than it is there (names are escaped no longer than JSON allows): one
            // allocation holds them all.
            let rest = self.body_end.saturating_sub(value.as_ptr().addr());
            self.text.reserve(name.len() + 4 + rest);
            self.text.push('{');
        } else {
            self.text.push(',');
        }
        if as_sent {
            self.text.push('"');
            self.text.push_str(name);
            self.text.push('"');
        } else {
            write_escaped(&mut self.text, name);
        }
        self.text.push(':');
        self.text.push_str(value);
    }

    fn finish(mut self) -> OtherMembers {
        if !self.text.is_empty() {
            self.text.push('}');
        }
        OtherMembers::from_json(self.text)
    }
}

/// Writes `s` as a JSON string.
fn write_escaped(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                out.push_str("\\u00");
                for nibble in [u32::from(c) >> 4, u32::from(c) & 0xf] {
                    out.extend(char::from_digit(nibble, 16));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, Now};

    fn response(status: u16, content_type: &str, body: &[u8]) -> http::Response<Vec<u8>> {
        http::Response::builder()
            .status(status)
            .header("content-type", content_type)
            .body(body.to_vec())
            .unwrap()
    }

    /// What the document's reader gives, against what the general path gives: the same
    /// metadata (every member, the others too) or the same error.
    fn read_on_both_paths(response: &http::Response<Vec<u8>>) -> Result<ServerMetadata, Error> {
        let direct = ServerMetadata::from_response(response, Now::system());
        let general = ServerMetadata::from_response_in_general(response);
        let body = String::from_utf8_lossy(response.body());
        match (&direct, &general) {
            (Ok(direct), Ok(general)) => assert_eq!(direct, general, "{body}"),
            _ => assert_eq!(format!("{direct:?}"), format!("{general:?}"), "{body}"),
        }
        direct
    }

    fn same_as_the_general_path(response: &http::Response<Vec<u8>>) {
        let _ = read_on_both_paths(response);
    }

    #[test]
    fn the_corpus_reads_the_same_on_both_paths() {
        let corpus = [
            include_bytes!("../../../fuzz/corpus/server_metadata/oidc-provider-discovery")
                .as_slice(),
            include_bytes!("../../../fuzz/corpus/server_metadata/seed-00"),
            include_bytes!("../../../fuzz/corpus/server_metadata/seed-01"),
            include_bytes!("../../../fuzz/corpus/server_metadata/seed-02"),
            include_bytes!("../../../fuzz/corpus/server_metadata/seed-03"),
        ];
        for data in corpus {
            let body = data.get(2..).unwrap();
            for status in [200, 201, 400, 500] {
                for content_type in ["application/json; charset=utf-8", "text/plain"] {
                    same_as_the_general_path(&response(status, content_type, body));
                }
            }
        }
        let oidc_provider = corpus[0].get(2..).unwrap();
        let metadata =
            read_on_both_paths(&response(200, "application/json", oidc_provider)).unwrap();
        assert_eq!(metadata.issuer, "http://127.0.0.1:37667");
        assert_eq!(metadata.grant_types_supported.len(), 7);
        assert!(!metadata.request_uri_parameter_supported);
        let mut others = metadata.extra.keys().collect::<Vec<_>>();
        others.sort();
        assert_eq!(
            others,
            [
                "backchannel_authentication_request_signing_alg_values_supported",
                "backchannel_user_code_parameter_supported",
                "claim_types_supported",
            ]
        );
        assert_eq!(
            metadata.extra["claim_types_supported"],
            serde_json::json!(["normal"])
        );
    }

    #[test]
    fn members_read_directly_are_the_members_of_the_document() {
        for body in [
            r#"{"issuer":"https://as.example"}"#,
            r#"{"issuer":"https://as.example","x":1,"issuer":"https://b.example","x":[2]}"#,
            r#"{"iss\u0075er":"https://as.example","x\"\n\u0001y":true,"\u00e9":"\ud83d\ude00"}"#,
            r#"{"issuer":"https:\/\/as.example","scopes_supported":"openid","grant_types_supported":null}"#,
            r#"{"issuer":"i","scopes_supported":["a",1,"b"],"token_endpoint":7}"#,
            r#"{"issuer":"i","scopes_supported":{"a":1},"claims_supported":true}"#,
            r#"{"issuer":"i","scopes_supported":[],"request_uri_parameter_supported":null}"#,
            r#"{"issuer":"i","scopes_supported":["\u0061","b","c"],"claims_supported":["a","b","c\n"]}"#,
            r#"{"issuer":"i","scopes_supported":["0","1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17"]}"#,
            r#"{"issuer":"i","scopes_supported":["0","1","2","3","4","5","6","7","8","9","10","11","12","13","14","15"]}"#,
            r#"{"issuer":"i","scopes_supported":["0","1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","1\u0036",{}]}"#,
            r#"{"issuer":"i","scopes_supported":["0","1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","1\u0037"]}"#,
            r#"{"issuer":"i","request_parameter_supported":"TRUE","claims_parameter_supported":"False"}"#,
            r#"{"issuer":"i","require_signed_request_object":1}"#,
            r#"{"issuer":"i","request_uri_parameter_supported":false,"request_uri_parameter_supported":null}"#,
            r#"{"issuer":"i","mtls_endpoint_aliases":{"token_endpoint":"https://mtls.as.example/token"}}"#,
            r#"{"issuer":"i","mtls_endpoint_aliases":null}"#,
            r#"{"issuer":"i","mtls_endpoint_aliases":[1],"token_endpoint":1}"#,
            r#"{"token_endpoint":1,"issuer":2}"#,
            r#"{"issuer":""}"#,
            r#"{"issuer":null}"#,
            r#"{"issuer":5,"issuer":"fine"}"#,
            r#"{"issuer":"fine","issuer":5}"#,
            r#"{"issuer":"i","error":"server_error"}"#,
            r#"{"issuer":"i","error":"server_error","error":{"nested":1}}"#,
            r#"{"issuer":"i","error":1,"error":"e"}"#,
            r#"{"issuer":"i","x":1e400}"#,
            r#"{"issuer":"i","scopes_supported":["a",1e400]}"#,
            r#"{"issuer":"i","x":"\ud800"}"#,
            r#"{"issuer":"i","x":"\udc00\ud800"}"#,
            r#"{"issuer":"i","token_endpoint":"\ud800"}"#,
            r#"{"issuer":"i","x":-0,"y":18446744073709551616,"z":-9223372036854775809,"w":1.5e-3}"#,
            r#"{"issuer":"i","x":01}"#,
            r#"{"issuer":"i","x":[1,]}"#,
            r#"{"issuer":"i",}"#,
            r#"{"issuer":"i"} x"#,
            r#"{"issuer":"i""#,
            "  {\"issuer\":\"i\" , \"x\" : [ 1 , { \"y\" : null } ] }  \n",
            "{}",
            "[]",
            "\"issuer\"",
            "",
            " ",
            "issuer=https%3A%2F%2Fas.example&token_endpoint=t",
        ] {
            for status in [200, 201, 302, 400, 500] {
                for content_type in [
                    "application/json",
                    "text/plain",
                    "application/x-www-form-urlencoded",
                ] {
                    same_as_the_general_path(&response(status, content_type, body.as_bytes()));
                }
            }
        }
    }

    #[test]
    fn bytes_that_are_not_json_text_are_refused_on_both_paths() {
        for body in [
            &b"{\"issuer\":\"i\",\"x\":\"\xff\"}"[..],
            b"{\"issuer\":\"\xff\"}",
            b"{\"issuer\":\"i\",\"\xff\":1}",
            b"{\"issuer\":\"i\"}\xff",
            b"{\"issuer\":\"i\",\xff\"x\":1}",
            b"\xef\xbb\xbf{\"issuer\":\"i\"}",
        ] {
            let direct = read_on_both_paths(&response(200, "application/json", body));
            assert!(matches!(direct, Err(Error::UnexpectedResponse(_))));
        }
    }

    #[test]
    fn members_nest_as_deep_as_on_the_general_path() {
        for depth in 120..=130 {
            let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            let object = format!("{}{}", "{\"a\":".repeat(depth), "}".repeat(depth));
            for value in [&nested, &object] {
                for name in [
                    "x",
                    "scopes_supported",
                    "token_endpoint",
                    "mtls_endpoint_aliases",
                ] {
                    let body = format!(r#"{{"issuer":"i","{name}":{value}}}"#);
                    same_as_the_general_path(&response(200, "application/json", body.as_bytes()));
                }
            }
        }
    }

    #[test]
    fn other_members_fit_in_the_first_allocation() {
        let body = br#"{"a":[1, 2, 3],  "issuer":"i", "\u0062":{"c":"d"}, "token_endpoint":"t"}  "#;
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let document = DocumentSeed { body }
            .deserialize(&mut deserializer)
            .unwrap();
        let text = &document.other.text;
        assert_eq!(text, r#"{"a":[1, 2, 3],"b":{"c":"d"}"#);
        // Reserved once, for `{"a":` and the rest of the body from `[1, 2, 3]` on.
        assert_eq!(text.capacity(), "{\"a\":".len() + body.len() - 5);
        let metadata = document.finish().unwrap();
        assert_eq!(metadata.extra.len(), 2);
        assert_eq!(metadata.extra["b"]["c"], "d");
    }

    #[test]
    fn names_are_escaped_as_json() {
        let mut out = String::new();
        write_escaped(&mut out, "a\"b\\c\nd\re\tf\u{1}g\u{1f}é");
        assert_eq!(out, r#""a\"b\\c\nd\re\tf\u0001g\u001fé""#);
        assert_eq!(
            serde_json::from_str::<String>(&out).unwrap(),
            "a\"b\\c\nd\re\tf\u{1}g\u{1f}é"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        /// Any document of modelled members and others, with values of every JSON type (and
        /// some no parser should accept), members repeated, names escaped, garbage around:
        /// the same answers on both paths.
        #[test]
        fn any_document_gives_the_same_metadata_on_both_paths(
            members in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "issuer", "token_endpoint", "jwks_uri", "scopes_supported",
                        "grant_types_supported", "code_challenge_methods_supported",
                        "request_uri_parameter_supported", "require_pushed_authorization_requests",
                        "mtls_endpoint_aliases", "op_tos_uri", "error", "x-vendor", "claim_types_supported",
                        "iss\\u0075er", "x\\ny", "\\u00e9", "",
                    ]),
                    proptest::sample::select(vec![
                        "\"https://as.example\"", "\"\"", "\"a\\\"b\"", "\"\\ud800\"", "\"true\"",
                        "\"False\"", "0", "-1", "3.5", "1e400", "null", "true", "false",
                        "[\"a\",\"b\"]", "[\"a\",\"\\u0062\",\"c\"]", "[\"0\",\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\",\"13\",\"14\",\"15\",\"16\"]", "[]", "[\"a\",1]", "[[\"a\"]]", "[\"a\",null,[1e400]]",
                        "{\"k\":[]}", "{}", "{\"token_endpoint\":\"https://m.example/t\"}",
                    ]),
                ),
                0..10,
            ),
            prefix in proptest::sample::select(vec!["", " ", "x", "["]),
            suffix in proptest::sample::select(vec!["", " \n", "}", ",", "x"]),
            status in proptest::sample::select(vec![200_u16, 201, 400]),
            content_type in proptest::sample::select(vec!["application/json", "application/x-www-form-urlencoded"]),
        ) {
            let object = members
                .iter()
                .map(|(name, value)| format!("\"{name}\":{value}"))
                .collect::<Vec<_>>()
                .join(",");
            let body = format!("{prefix}{{{object}}}{suffix}");
            same_as_the_general_path(&response(status, content_type, body.as_bytes()));
        }
    }
}
