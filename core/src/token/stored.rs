//! How a [`TokenResponse`] is stored: its own versioned format, never the wire format.
//!
//! A stored token carries `"grantline_token": 1` and its expiry as an instant (`expires_at`,
//! unix seconds), where a token endpoint's answer carries a lifetime (`expires_in`) that only
//! means something next to the time it was received. Reading a token endpoint's answer as a
//! stored token is therefore an error, not a token that silently never expires: answers go
//! through [`TokenResponse::from_body`] or [`TokenResponse::from_response`].

use std::time::{Duration, SystemTime};

use serde::de::Error as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{TokenResponse, TokenType};
use crate::Scope;
use crate::secret::{AccessToken, IdToken, RefreshToken};

/// The version of the stored format written today.
const VERSION: u32 = 1;

/// A stored token, member for member.
#[derive(Serialize, Deserialize)]
struct Stored {
    /// The format's version; required, so that no other JSON passes for a stored token.
    #[serde(default)]
    grantline_token: Option<u32>,
    access_token: AccessToken,
    token_type: TokenType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<RefreshToken>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<IdToken>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<Scope>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issued_token_type: Option<String>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

/// Writes the stored format: `"grantline_token": 1`, the token's members, `expires_at` in unix
/// seconds and every member the server sent that grantline does not model.
impl Serialize for TokenResponse {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Stored {
            grantline_token: Some(VERSION),
            access_token: self.access_token.clone(),
            token_type: self.token_type.clone(),
            expires_at: self.expires_at.map(|at| {
                at.duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
            }),
            refresh_token: self.refresh_token.clone(),
            id_token: self.id_token.clone(),
            scope: self.scope.clone(),
            issued_token_type: self.issued_token_type.clone(),
            extra: self.extra().clone(),
        }
        .serialize(serializer)
    }
}

/// Reads the stored format back; anything else (a token endpoint's answer among others) is an
/// error.
///
/// ```
/// let stored = r#"{"grantline_token":1,"access_token":"at","token_type":"Bearer","expires_at":1700000000,"x":1}"#;
/// let token: grantline::TokenResponse = serde_json::from_str(stored).unwrap();
/// assert_eq!(serde_json::to_string(&token).unwrap(), stored);
///
/// // A token endpoint's answer is not a stored token.
/// let answer = r#"{"access_token":"at","token_type":"Bearer","expires_in":3600}"#;
/// assert!(serde_json::from_str::<grantline::TokenResponse>(answer).is_err());
/// ```
impl<'de> Deserialize<'de> for TokenResponse {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = Stored::deserialize(deserializer)?;
        match stored.grantline_token {
            Some(VERSION) => {}
            Some(_) => {
                return Err(D::Error::custom(
                    "a stored token of a newer grantline_token version than this grantline reads",
                ));
            }
            None => {
                return Err(D::Error::custom(
                    "not a stored grantline token (no `grantline_token` member): a token \
                     endpoint's answer is read with TokenResponse::from_body",
                ));
            }
        }
        Ok(Self {
            access_token: stored.access_token,
            token_type: stored.token_type,
            expires_at: stored
                .expires_at
                .and_then(|secs| SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))),
            refresh_token: stored.refresh_token,
            id_token: stored.id_token,
            scope: stored.scope,
            issued_token_type: stored.issued_token_type,
            extra: Some(stored.extra).filter(|extra| !extra.is_empty()),
            #[cfg(feature = "jose")]
            id_token_claims: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wire_answer_or_an_unknown_version_is_not_a_stored_token() {
        for json in [
            r#"{"access_token":"at","token_type":"Bearer","expires_in":3600}"#,
            r#"{"access_token":"at","token_type":"Bearer","expires_at":1700000000}"#,
            r#"{"grantline_token":2,"access_token":"at","token_type":"Bearer"}"#,
            r#"{"grantline_token":"1","access_token":"at","token_type":"Bearer"}"#,
        ] {
            assert!(
                serde_json::from_str::<TokenResponse>(json).is_err(),
                "{json}"
            );
        }
    }

    #[test]
    fn the_version_is_written_and_not_kept_as_an_extra() {
        let token = TokenResponse::new(AccessToken::new("at"), TokenType::Bearer);
        let json = serde_json::to_value(&token).unwrap();
        assert_eq!(json["grantline_token"], 1);
        let back: TokenResponse = serde_json::from_value(json).unwrap();
        assert!(back.extra().is_empty());
        assert_eq!(back, token);
    }
}
