//! [`OtherMembers`]: the members of a metadata document no field models, read when asked for.

use std::fmt;
use std::ops::Deref;
use std::sync::OnceLock;

use serde_json::{Map, Value};

/// The members of a metadata document that [`ServerMetadata`](super::ServerMetadata) has no
/// field for (vendor extensions, newer specifications), as the server sent them.
///
/// They are kept as the JSON text they came in, checked when the document was read, and made
/// into a map the first time one is looked at: it dereferences to a
/// [`Map`](serde_json::Map), so `extra["name"]`, `extra.get("name")`, `extra.len()` and
/// `extra.iter()` work as on a map. Most documents carry a few such members and most programs
/// never look at them, so most never pay for the map.
///
/// ```
/// use grantline::{Now, discovery::ServerMetadata};
/// let response = http::Response::new(
///     br#"{"issuer":"https://as.example","x-vendor":{"region":"eu"},"claim_types_supported":["normal"]}"#.to_vec(),
/// );
/// let metadata = ServerMetadata::from_response(&response, Now::system())?;
/// assert_eq!(metadata.extra["x-vendor"]["region"], "eu");
/// assert_eq!(metadata.extra.len(), 2);
/// assert!(metadata.extra.get("issuer").is_none());
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct OtherMembers {
    /// The members as one JSON object, or empty for none (or when `map` was given).
    json: String,
    /// The members as a map, once someone looked.
    map: OnceLock<Map<String, Value>>,
}

impl OtherMembers {
    /// Members sent as `json`: one JSON object, already checked to parse (or empty for none).
    pub(super) fn from_json(json: String) -> Self {
        Self {
            json,
            map: OnceLock::new(),
        }
    }

    /// The members, as a map of their own.
    ///
    /// ```
    /// let extra = grantline::discovery::OtherMembers::default();
    /// assert!(extra.into_map().is_empty());
    /// ```
    #[must_use]
    pub fn into_map(self) -> Map<String, Value> {
        match self.map.into_inner() {
            Some(map) => map,
            None => parse(&self.json),
        }
    }
}

/// Parses members checked when the document was read (so never an error; if it were, no
/// members).
fn parse(json: &str) -> Map<String, Value> {
    if json.is_empty() {
        return Map::new();
    }
    serde_json::from_str(json).unwrap_or_default()
}

impl Deref for OtherMembers {
    type Target = Map<String, Value>;

    fn deref(&self) -> &Map<String, Value> {
        self.map.get_or_init(|| parse(&self.json))
    }
}

impl From<Map<String, Value>> for OtherMembers {
    /// Members given as a map.
    ///
    /// ```
    /// use grantline::discovery::OtherMembers;
    /// let mut map = serde_json::Map::new();
    /// map.insert("x-vendor".into(), 1.into());
    /// assert_eq!(OtherMembers::from(map)["x-vendor"], 1);
    /// ```
    fn from(map: Map<String, Value>) -> Self {
        Self {
            json: String::new(),
            map: OnceLock::from(map),
        }
    }
}

impl PartialEq for OtherMembers {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl fmt::Debug for OtherMembers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_map_are_the_same_members() {
        let text = OtherMembers::from_json(r#"{"b":[1,{"c":null}],"a":"x","b":true}"#.to_owned());
        let mut map = Map::new();
        map.insert("a".into(), "x".into());
        map.insert("b".into(), true.into());
        let given = OtherMembers::from(map.clone());
        assert_eq!(text, given);
        assert_eq!(text.clone().into_map(), map);
        assert_eq!(given.into_map(), map);
        assert_eq!(format!("{text:?}"), format!("{map:?}"));
        assert_eq!(OtherMembers::default(), OtherMembers::from(Map::new()));
        assert!(OtherMembers::from_json(String::new()).is_empty());
    }
}
