//! How a pending authorization keeps its strings without a heap allocation each: generated
//! values (43 characters) inline, the client's identifier and issuer shared with the client.
//! Both serialize as plain strings, so the stored form of a pending authorization is unchanged.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest string kept inline: a generated value (32 bytes in base64url, 43 characters)
/// fits, and so do most supplied ones.
const INLINE: usize = 46;

/// A string kept inline when it is short (as every generated `state`, `nonce` and PKCE
/// verifier is), on the heap otherwise. `Debug` shows nothing of it: it holds secrets.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum CompactStr {
    /// `len` bytes of `bytes`, always a whole UTF-8 string.
    Inline { len: u8, bytes: [u8; INLINE] },
    /// Longer strings.
    Heap(Box<str>),
}

impl CompactStr {
    /// The string.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            // Only ever filled from a `&str` cut at its end, so this never falls back.
            CompactStr::Inline { len, bytes } => {
                std::str::from_utf8(bytes.get(..usize::from(*len)).unwrap_or_default())
                    .unwrap_or_default()
            }
            CompactStr::Heap(s) => s,
        }
    }
}

impl CompactStr {
    /// An encoder's output: ASCII, so it is kept inline after a cheap ASCII check instead of a
    /// UTF-8 validation (text that is not ASCII goes through [`From<&str>`], or is empty if it is
    /// not UTF-8 either).
    pub(crate) fn from_ascii(text: &[u8]) -> Self {
        match u8::try_from(text.len()) {
            Ok(len) if text.len() <= INLINE && text.is_ascii() => {
                let mut bytes = [0u8; INLINE];
                if let Some(dest) = bytes.get_mut(..text.len()) {
                    dest.copy_from_slice(text);
                }
                CompactStr::Inline { len, bytes }
            }
            _ => CompactStr::from(std::str::from_utf8(text).unwrap_or_default()),
        }
    }
}

impl From<&str> for CompactStr {
    fn from(value: &str) -> Self {
        match u8::try_from(value.len()) {
            Ok(len) if value.len() <= INLINE => {
                let mut bytes = [0u8; INLINE];
                if let Some(dest) = bytes.get_mut(..value.len()) {
                    dest.copy_from_slice(value.as_bytes());
                }
                CompactStr::Inline { len, bytes }
            }
            _ => CompactStr::Heap(value.into()),
        }
    }
}

impl From<String> for CompactStr {
    fn from(value: String) -> Self {
        if value.len() <= INLINE {
            CompactStr::from(value.as_str())
        } else {
            CompactStr::Heap(value.into_boxed_str())
        }
    }
}

impl std::fmt::Debug for CompactStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for CompactStr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Reads a string into `T` without an intermediate `String` when the format lends it.
struct StrVisitor<T>(std::marker::PhantomData<T>);

impl<T: for<'a> From<&'a str> + From<String>> serde::de::Visitor<'_> for StrVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<T, E> {
        Ok(T::from(value))
    }

    fn visit_string<E: serde::de::Error>(self, value: String) -> Result<T, E> {
        Ok(T::from(value))
    }
}

impl<'de> Deserialize<'de> for CompactStr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(StrVisitor(std::marker::PhantomData))
    }
}

/// A string shared with the [`Client`](crate::Client) (its identifier, its issuer), so a
/// pending authorization holds it without copying it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SharedStr(pub(crate) Arc<str>);

impl SharedStr {
    /// The string.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for SharedStr {
    fn from(value: &str) -> Self {
        SharedStr(Arc::from(value))
    }
}

impl From<String> for SharedStr {
    fn from(value: String) -> Self {
        SharedStr(Arc::from(value))
    }
}

impl std::fmt::Debug for SharedStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl Serialize for SharedStr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SharedStr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(StrVisitor(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn short_strings_stay_inline_and_long_ones_go_to_the_heap() {
        let generated = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(matches!(
            CompactStr::from(generated),
            CompactStr::Inline { .. }
        ));
        assert_eq!(CompactStr::from(generated).as_str(), generated);
        let long = "x".repeat(INLINE + 1);
        assert!(matches!(
            CompactStr::from(long.as_str()),
            CompactStr::Heap(_)
        ));
        assert_eq!(CompactStr::from(long.clone()).as_str(), long);
        assert_eq!(format!("{:?}", CompactStr::from("secret")), "[redacted]");
        assert_eq!(
            CompactStr::from_ascii(generated.as_bytes()).as_str(),
            generated
        );
        assert_eq!(CompactStr::from_ascii("é".as_bytes()).as_str(), "é");
        assert_eq!(CompactStr::from_ascii(&[0xff]).as_str(), "");
        assert_eq!(CompactStr::from_ascii(long.as_bytes()).as_str(), long);
    }

    proptest! {
        #[test]
        fn any_string_round_trips_and_serializes_as_itself(s in ".{0,80}") {
            let compact = CompactStr::from(s.as_str());
            prop_assert_eq!(compact.as_str(), s.as_str());
            let owned = CompactStr::from(s.clone());
            prop_assert_eq!(owned.as_str(), s.as_str());
            let json = serde_json::to_string(&compact).unwrap();
            prop_assert_eq!(&json, &serde_json::to_string(&s).unwrap());
            let back: CompactStr = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back.as_str(), s.as_str());
            let shared: SharedStr = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(shared.as_str(), s.as_str());
            prop_assert_eq!(serde_json::to_string(&shared).unwrap(), json);
        }
    }
}
