//! Reading a JWT for display: its header and claims, base64url-decoded, **never verified**.
//!
//! This is what `grantline decode` prints and what `--verbose` shows under each token it masks.
//! Nothing here decides anything: a decoded token is shown to a person, never trusted. The
//! core's JWS parser (`grantline::jose::UnverifiedJws`) refuses tokens it would never verify
//! (`alg: none`, a `crit` header, ...); this display helper shows them anyway, with the core's
//! reason as a warning, because seeing such a token is exactly what debugging needs.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use serde_json::{Map, Value, json};

/// The parts of a compact JWS or JWE, decoded for display.
#[derive(Clone, PartialEq)]
pub(crate) struct Decoded {
    /// The protected header (JSON).
    pub(crate) header: Value,
    /// The claims: JSON when the payload is JSON, else the payload as text; `None` for a JWE,
    /// whose payload is encrypted.
    pub(crate) claims: Option<Value>,
    /// Whether the token is a JWE (five parts).
    pub(crate) encrypted: bool,
    /// The token itself.
    compact: String,
}

/// Decodes `token` for display, or says why it is not a JWT.
///
/// # Errors
///
/// A message for a token that is not three (JWS) or five (JWE) base64url parts with a JSON
/// header.
pub(crate) fn decode(token: &str) -> Result<Decoded, String> {
    let token = token.trim();
    let parts: Vec<&str> = token.split('.').collect();
    let encrypted = match parts.len() {
        3 => false,
        5 => true,
        n => {
            return Err(format!(
                "not a JWT: it has {n} dot-separated parts, not 3 (JWS) or 5 (JWE)"
            ));
        }
    };
    let b64 = |part: &str, what: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .map_err(|_| format!("not a JWT: the {what} is not base64url"))
    };
    let header_bytes = b64(parts.first().copied().unwrap_or_default(), "header")?;
    let header: Value = serde_json::from_slice(&header_bytes)
        .map_err(|_| "not a JWT: the header is not JSON".to_owned())?;
    if !header.is_object() {
        return Err("not a JWT: the header is not a JSON object".to_owned());
    }
    let claims = if encrypted {
        None
    } else {
        let payload = b64(parts.get(1).copied().unwrap_or_default(), "payload")?;
        Some(match serde_json::from_slice::<Value>(&payload) {
            Ok(value) => value,
            Err(_) => Value::String(String::from_utf8_lossy(&payload).into_owned()),
        })
    };
    Ok(Decoded {
        header,
        claims,
        encrypted,
        compact: token.to_owned(),
    })
}

/// Whether `text` looks like a compact JWS (three base64url parts, a JSON header): the test
/// `--verbose` uses before decoding a token it masked.
pub(crate) fn looks_like_jwt(text: &str) -> bool {
    text.starts_with("ey") && decode(text).is_ok()
}

impl std::fmt::Debug for Decoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoded")
            .field("header", &self.header)
            .field("encrypted", &self.encrypted)
            .finish_non_exhaustive()
    }
}

impl Decoded {
    /// The document `grantline decode` prints: header, claims, readable times, and a reminder
    /// that nothing was verified.
    pub(crate) fn to_document(&self, now: SystemTime) -> Value {
        let mut doc = Map::new();
        doc.insert("header".to_owned(), self.header.clone());
        if let Some(claims) = &self.claims {
            doc.insert("claims".to_owned(), claims.clone());
            let times = readable_times(claims, now);
            if !times.is_empty() {
                doc.insert("times".to_owned(), Value::Object(times));
            }
        }
        if !self.encrypted {
            if let Err(e) = grantline::jose::UnverifiedJws::parse(&self.compact) {
                doc.insert(
                    "warning".to_owned(),
                    json!(format!("grantline would refuse to verify this token: {e}")),
                );
            }
        }
        doc.insert(
            "signature".to_owned(),
            json!(if self.encrypted {
                "encrypted (JWE): the payload cannot be shown"
            } else {
                "not verified"
            }),
        );
        Value::Object(doc)
    }
}

/// `exp`, `iat`, `nbf` and `auth_time` as UTC dates, with how far they are from `now`.
fn readable_times(claims: &Value, now: SystemTime) -> Map<String, Value> {
    let mut out = Map::new();
    for name in ["exp", "iat", "nbf", "auth_time"] {
        let Some(secs) = claims.get(name).and_then(Value::as_u64) else {
            continue;
        };
        // A claim can hold any number: past the clock's range there is no "how far from now".
        let relative = match SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs)) {
            Some(at) => match at.duration_since(now) {
                Ok(ahead) => format!("in {}", human_duration(ahead)),
                Err(e) => format!("{} ago", human_duration(e.duration())),
            },
            None => "beyond this system's clock".to_owned(),
        };
        out.insert(
            name.to_owned(),
            Value::String(format!("{} ({relative})", utc_date(secs))),
        );
    }
    out
}

/// `2024-05-01T12:00:00Z` for unix seconds.
pub(crate) fn utc_date(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `1h 2m 3s`, `4m 5s`, `6s`.
pub(crate) fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s}s"),
        _ => format!("{h}h {m}m {s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(json: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn times_past_the_clock_are_shown_without_a_distance() {
        let token = format!(
            "{}.{}.c2ln",
            b64(r#"{"alg":"RS256"}"#),
            b64(r#"{"exp":18446744073709551615,"iat":0}"#)
        );
        let doc = decode(&token).unwrap().to_document(SystemTime::UNIX_EPOCH);
        let exp = doc["times"]["exp"].as_str().unwrap();
        assert!(exp.contains("beyond this system's clock"), "{exp}");
    }

    /// Any JSON value (nested, huge, negative, fractional) in any claim, time claims included.
    fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            ".*".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map(".{0,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn decode_survives_any_claim_value(
            exp in any_json(),
            iat in any_json(),
            other in any_json(),
            now in proptest::prelude::any::<u64>(),
        ) {
            let claims = serde_json::json!({
                "exp": exp, "iat": iat, "nbf": other.clone(), "auth_time": other.clone(), "x": other,
            });
            let token = format!("{}.{}.c2ln", b64(r#"{"alg":"RS256"}"#), b64(&claims.to_string()));
            let now = SystemTime::UNIX_EPOCH
                .checked_add(Duration::from_secs(now))
                .unwrap_or(SystemTime::UNIX_EPOCH);
            let decoded = decode(&token).unwrap();
            let _ = decoded.to_document(now);
            let _ = format!("{decoded:?}");
        }

        #[test]
        fn any_exp_number_is_shown(exp in proptest::prelude::any::<u64>()) {
            let claims = serde_json::json!({ "exp": exp });
            let token = format!("{}.{}.c2ln", b64(r#"{"alg":"RS256"}"#), b64(&claims.to_string()));
            let doc = decode(&token).unwrap().to_document(SystemTime::UNIX_EPOCH);
            proptest::prop_assert!(doc["times"]["exp"].is_string());
        }
    }

    #[test]
    fn a_jws_is_decoded() {
        let token = format!(
            "{}.{}.c2ln",
            b64(r#"{"alg":"RS256","kid":"k1"}"#),
            b64(r#"{"sub":"alice","exp":1700000000}"#)
        );
        assert!(looks_like_jwt(&token));
        let decoded = decode(&token).unwrap();
        assert_eq!(decoded.header["kid"], "k1");
        assert_eq!(decoded.claims.as_ref().unwrap()["sub"], "alice");
        let doc = decoded.to_document(SystemTime::UNIX_EPOCH + Duration::from_secs(1_699_999_000));
        assert_eq!(doc["signature"], "not verified");
        assert_eq!(doc["times"]["exp"], "2023-11-14T22:13:20Z (in 16m 40s)");
    }

    #[test]
    fn an_unsecured_token_is_shown_with_a_warning() {
        let token = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(r#"{"sub":"x"}"#));
        let doc = decode(&token).unwrap().to_document(SystemTime::UNIX_EPOCH);
        assert_eq!(doc["claims"]["sub"], "x");
        assert!(
            doc["warning"]
                .as_str()
                .unwrap()
                .starts_with("grantline would refuse")
        );
    }

    #[test]
    fn a_jwe_shows_its_header_only() {
        let token = format!("{}.a.b.c.d", b64(r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#));
        let decoded = decode(&token).unwrap();
        assert!(decoded.encrypted && decoded.claims.is_none());
    }

    #[test]
    fn what_is_not_a_jwt_is_refused() {
        for bad in [
            "",
            "abc",
            "a.b",
            "!!.e30.x",
            &format!("{}.e30.x", b64("[1]")),
        ] {
            assert!(decode(bad).is_err(), "{bad}");
            assert!(!looks_like_jwt(bad));
        }
    }

    #[test]
    fn dates() {
        assert_eq!(utc_date(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_date(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(human_duration(Duration::from_secs(3723)), "1h 2m 3s");
    }
}
