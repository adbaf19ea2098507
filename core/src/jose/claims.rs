//! JWT claims sets (RFC 7519 §4): reading them with typed accessors, building them to sign.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

use crate::Error;
use crate::error::JoseError;

/// The latest NumericDate grantline accepts (year 9999), so time arithmetic never overflows.
const MAX_NUMERIC_DATE: u64 = 253_402_300_799;

/// A JWT claims set: a JSON object of claims, with typed accessors for the registered ones.
///
/// `Debug` shows claim names only: values may be personal data or one-time secrets (a nonce).
///
/// ```
/// use grantline::jose::Claims;
/// use std::time::{Duration, SystemTime};
///
/// let claims = Claims::new()
///     .with("iss", "https://as.example")
///     .with("aud", vec!["a", "b"])
///     .with_time("exp", SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
/// assert_eq!(claims.issuer(), Some("https://as.example"));
/// assert_eq!(claims.audience()?, ["a", "b"]);
/// assert_eq!(claims.time("exp")?, Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)));
/// assert!(!format!("{claims:?}").contains("as.example"));
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Clone, Default, PartialEq)]
pub struct Claims(Map<String, Value>);

impl fmt::Debug for Claims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Claims")
            .field(&self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Claims {
    /// An empty claims set.
    ///
    /// ```
    /// assert!(grantline::jose::Claims::new().as_map().is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a claims set from JSON.
    ///
    /// # Errors
    ///
    /// [`JoseError::Malformed`] when the text is not a JSON object.
    ///
    /// ```
    /// use grantline::jose::Claims;
    /// assert_eq!(Claims::from_json(br#"{"sub":"u"}"#)?.subject(), Some("u"));
    /// assert!(Claims::from_json(b"[]").is_err());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn from_json(json: &[u8]) -> Result<Self, Error> {
        match serde_json::from_slice::<Value>(json) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            _ => Err(JoseError::Malformed("the claims set is not a JSON object").into()),
        }
    }

    /// A claims set from a JSON object.
    ///
    /// ```
    /// let claims = grantline::jose::Claims::from_map(serde_json::Map::new());
    /// assert!(claims.get("iss").is_none());
    /// ```
    #[must_use]
    pub fn from_map(map: Map<String, Value>) -> Self {
        Self(map)
    }

    /// Sets a claim (replacing any value it had).
    ///
    /// ```
    /// let claims = grantline::jose::Claims::new().with("scope", "openid");
    /// assert_eq!(claims.string("scope"), Some("openid"));
    /// ```
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.0.insert(name.into(), value.into());
        self
    }

    /// Sets a NumericDate claim (whole seconds since the epoch; a time before it counts as 0).
    ///
    /// ```
    /// let claims = grantline::jose::Claims::new().with_time("iat", std::time::SystemTime::UNIX_EPOCH);
    /// assert_eq!(claims.get("iat").unwrap(), 0);
    /// ```
    #[must_use]
    pub fn with_time(self, name: impl Into<String>, time: SystemTime) -> Self {
        self.with(name, unix_seconds(time))
    }

    /// Any claim, as sent.
    ///
    /// ```
    /// assert!(grantline::jose::Claims::new().get("sub").is_none());
    /// ```
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// A claim that is a string (`None` if absent or of another type).
    ///
    /// ```
    /// let claims = grantline::jose::Claims::new().with("n", 1);
    /// assert_eq!(claims.string("n"), None);
    /// ```
    #[must_use]
    pub fn string(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    /// `iss`, when it is a string.
    ///
    /// ```
    /// assert_eq!(grantline::jose::Claims::new().issuer(), None);
    /// ```
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        self.string("iss")
    }

    /// `sub`, when it is a string.
    ///
    /// ```
    /// assert_eq!(grantline::jose::Claims::new().subject(), None);
    /// ```
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        self.string("sub")
    }

    /// `aud`: one string or an array of strings (RFC 7519 §4.1.3); empty when absent.
    ///
    /// # Errors
    ///
    /// [`JoseError::InvalidClaim`] when it is neither.
    ///
    /// ```
    /// use grantline::jose::Claims;
    /// assert_eq!(Claims::new().with("aud", "c").audience()?, ["c"]);
    /// assert!(Claims::new().with("aud", 1).audience().is_err());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn audience(&self) -> Result<Vec<&str>, Error> {
        let invalid = JoseError::InvalidClaim {
            claim: "aud",
            problem: "is neither a string nor an array of strings",
        };
        match self.0.get("aud") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(aud)) => Ok(vec![aud.as_str()]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().ok_or_else(|| invalid.clone().into()))
                .collect(),
            Some(_) => Err(invalid.into()),
        }
    }

    /// A NumericDate claim (`exp`, `iat`, `nbf`, `auth_time`): a non-negative number of seconds,
    /// fractions dropped.
    ///
    /// # Errors
    ///
    /// [`JoseError::InvalidClaim`] for a value that is not a number, is negative, or lies
    /// beyond the year 9999.
    ///
    /// ```
    /// use grantline::jose::Claims;
    /// use std::time::{Duration, SystemTime};
    /// let claims = Claims::new().with("exp", 10.9).with("iat", "10");
    /// assert_eq!(claims.time("exp")?, Some(SystemTime::UNIX_EPOCH + Duration::from_secs(10)));
    /// assert!(claims.time("iat").is_err());
    /// assert_eq!(claims.time("nbf")?, None);
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn time(&self, name: &str) -> Result<Option<SystemTime>, Error> {
        Ok(self.numeric_date(name)?)
    }

    pub(crate) fn numeric_date(&self, name: &str) -> Result<Option<SystemTime>, JoseError> {
        let claim = registered_name(name);
        let invalid = |problem| JoseError::InvalidClaim { claim, problem };
        let seconds = match self.0.get(name) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Number(number)) => match (number.as_u64(), number.as_f64()) {
                (Some(whole), _) => whole,
                (None, Some(f)) if f.is_finite() && f >= 0.0 => {
                    if f > MAX_NUMERIC_DATE as f64 {
                        return Err(invalid("is beyond the year 9999"));
                    }
                    // Truncation is intended: fractions of a second are dropped.
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let whole = f.floor() as u64;
                    whole
                }
                _ => return Err(invalid("is negative or not a number")),
            },
            Some(_) => return Err(invalid("is not a number of seconds")),
        };
        if seconds > MAX_NUMERIC_DATE {
            return Err(invalid("is beyond the year 9999"));
        }
        Ok(Some(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)))
    }

    /// The claims as a JSON object.
    ///
    /// ```
    /// assert!(grantline::jose::Claims::new().as_map().is_empty());
    /// ```
    #[must_use]
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The claims as a JSON object, by value.
    ///
    /// ```
    /// assert!(grantline::jose::Claims::new().into_map().is_empty());
    /// ```
    #[must_use]
    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }

    /// The claims serialized as JSON (the payload to sign).
    ///
    /// ```
    /// assert_eq!(grantline::jose::Claims::new().with("a", 1).to_json(), br#"{"a":1}"#);
    /// ```
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&self.0).unwrap_or_default()
    }
}

/// Whole seconds since the epoch (0 before it).
pub(crate) fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The `'static` name of a registered time claim, for error messages.
fn registered_name(name: &str) -> &'static str {
    match name {
        "exp" => "exp",
        "iat" => "iat",
        "nbf" => "nbf",
        "auth_time" => "auth_time",
        _ => "a time claim",
    }
}
