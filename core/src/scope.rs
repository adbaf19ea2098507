//! Scopes (RFC 6749 §3.3): an ordered set of space-separated tokens.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A scope: space-separated scope tokens, order kept, duplicates dropped.
///
/// ```
/// use grantline::Scope;
///
/// let scope = Scope::from("openid  profile openid");
/// assert_eq!(scope.to_string(), "openid profile");
/// assert!(scope.contains("profile"));
/// assert_eq!(Scope::from_iter(["read", "write"]).to_string(), "read write");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Scope(
    /// The tokens, each once, joined by single spaces: the normal form, made at construction
    /// (two scopes are equal when their tokens are, in order).
    String,
);

impl Scope {
    /// Whether `token` is one of the scope's tokens.
    ///
    /// ```
    /// assert!(!grantline::Scope::from("read").contains("write"));
    /// ```
    #[must_use]
    pub fn contains(&self, token: &str) -> bool {
        self.iter().any(|t| t == token)
    }

    /// The scope tokens, in order.
    ///
    /// ```
    /// let scope = grantline::Scope::from("a b");
    /// assert_eq!(scope.iter().collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        // The normal form has no empty token, and `""` splits into none.
        self.0.split(' ').filter(|token| !token.is_empty())
    }

    /// The scope as sent: its tokens joined by single spaces (what [`Display`](fmt::Display)
    /// writes).
    ///
    /// ```
    /// assert_eq!(grantline::Scope::from(" a  b a ").as_str(), "a b");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the scope has no tokens.
    ///
    /// ```
    /// assert!(grantline::Scope::from("  ").is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds the space-separated tokens of `value` that the scope does not have yet.
    fn extend_from(&mut self, value: &str) {
        for token in value.split_ascii_whitespace() {
            if !self.contains(token) {
                if !self.0.is_empty() {
                    self.0.push(' ');
                }
                self.0.push_str(token);
            }
        }
    }
}

impl From<&str> for Scope {
    fn from(value: &str) -> Self {
        // One allocation: the normal form is never longer than what it was made of.
        let mut scope = Scope(String::with_capacity(value.trim_ascii().len()));
        scope.extend_from(value);
        scope
    }
}

impl From<String> for Scope {
    fn from(value: String) -> Self {
        Scope::from(value.as_str())
    }
}

impl<S: AsRef<str>> FromIterator<S> for Scope {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut scope = Scope::default();
        for item in iter {
            scope.extend_from(item.as_ref());
        }
        scope
    }
}

impl<const N: usize> From<[&str; N]> for Scope {
    fn from(value: [&str; N]) -> Self {
        value.into_iter().collect()
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({:?})", self.0)
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Scope::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy as _;

    /// A scope as it was first modelled: a list of tokens, each pushed once.
    #[derive(Default)]
    struct Tokens(Vec<String>);

    impl Tokens {
        fn extend_from(&mut self, value: &str) {
            for token in value.split_ascii_whitespace() {
                if !self.0.iter().any(|t| t == token) {
                    self.0.push(token.to_owned());
                }
            }
        }
    }

    fn tokens(parts: &[String]) -> Tokens {
        let mut tokens = Tokens::default();
        for part in parts {
            tokens.extend_from(part);
        }
        tokens
    }

    #[test]
    fn one_allocation_holds_the_scope() {
        let scope = Scope::from("openid offline_access");
        assert_eq!(scope.0.capacity(), "openid offline_access".len());
        assert_eq!(Scope::from(" \t ").0.capacity(), 0);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]

        /// The one-string scope has the tokens of a list of tokens, in every way it is made and
        /// looked at, and serde round-trips it.
        #[test]
        fn the_scope_is_its_list_of_tokens(
            parts in proptest::collection::vec(
                proptest::collection::vec(
                    proptest::sample::select(vec!["a", "b", "ab", "read", " ", "  ", "\t", "\n", "\u{a0}", "\u{e9}"]),
                    0..6,
                )
                .prop_map(|pieces| pieces.concat()),
                0..5,
            ),
            probe in proptest::sample::select(vec!["a", "b", "ab", "read", "", " ", "a b", "\u{a0}"]),
        ) {
            use proptest::prop_assert_eq;

            let model = tokens(&parts);
            let joined = model.0.join(" ");
            let from_iter: Scope = parts.iter().collect();
            let whole = parts.concat();
            let from_str = Scope::from(whole.as_str());
            let from_string = Scope::from(whole.clone());
            let whole_model = tokens(std::slice::from_ref(&whole));

            prop_assert_eq!(from_iter.iter().collect::<Vec<_>>(), model.0.iter().map(String::as_str).collect::<Vec<_>>());
            prop_assert_eq!(from_iter.to_string(), joined.clone());
            prop_assert_eq!(format!("{from_iter:?}"), format!("Scope({joined:?})"));
            prop_assert_eq!(from_iter.is_empty(), model.0.is_empty());
            prop_assert_eq!(from_iter.contains(probe), model.0.iter().any(|t| t == probe));

            for scope in [&from_str, &from_string] {
                prop_assert_eq!(scope.iter().collect::<Vec<_>>(), whole_model.0.iter().map(String::as_str).collect::<Vec<_>>());
                prop_assert_eq!(scope.as_str(), whole_model.0.join(" "));
            }
            prop_assert_eq!(&from_str, &from_string);

            let json = serde_json::to_string(&from_iter).unwrap();
            prop_assert_eq!(&json, &serde_json::to_string(&joined).unwrap());
            prop_assert_eq!(serde_json::from_str::<Scope>(&json).unwrap(), from_iter);
        }
    }
}
