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
pub struct Scope(Vec<String>);

impl Scope {
    /// Whether `token` is one of the scope's tokens.
    ///
    /// ```
    /// assert!(!grantline::Scope::from("read").contains("write"));
    /// ```
    #[must_use]
    pub fn contains(&self, token: &str) -> bool {
        self.0.iter().any(|t| t == token)
    }

    /// The scope tokens, in order.
    ///
    /// ```
    /// let scope = grantline::Scope::from("a b");
    /// assert_eq!(scope.iter().collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
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

    fn push(&mut self, token: &str) {
        if !token.is_empty() && !self.contains(token) {
            self.0.push(token.to_owned());
        }
    }
}

impl From<&str> for Scope {
    fn from(value: &str) -> Self {
        let mut scope = Scope::default();
        for token in value.split_ascii_whitespace() {
            scope.push(token);
        }
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
            for token in item.as_ref().split_ascii_whitespace() {
                scope.push(token);
            }
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
        f.write_str(&self.0.join(" "))
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({:?})", self.0.join(" "))
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Scope::from)
    }
}
