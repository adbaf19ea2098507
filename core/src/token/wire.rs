//! The token response as sent (RFC 6749 §5.1), before it is checked.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use super::{MAX_LIFETIME, TokenResponse, TokenType};
use crate::response::field::value;
use crate::response::{Answer, Object, borrowed_str, error_in};
use crate::secret::{AccessToken, IdToken, RefreshToken};
use crate::{Error, Now};

/// A token response's members. Each is kept as the JSON value sent, so that a member of the
/// wrong type is named in the error ([`Token::check`]) and the lenient forms are accepted
/// (`expires_in` as a string, `scope` as an array). `null` counts as absent.
///
/// `token_type` is only compared, so it is borrowed from the body when it can be.
#[derive(Deserialize)]
pub(super) struct Token<'a> {
    access_token: Option<Value>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    token_type: Option<Cow<'a, str>>,
    expires_in: Option<Value>,
    refresh_token: Option<Value>,
    id_token: Option<Value>,
    scope: Option<Value>,
    issued_token_type: Option<Value>,
    /// Every other member; a string `error` among them makes the answer an OAuth error (GitHub
    /// answers 200 with `{"error": ...}`).
    #[serde(flatten)]
    extra: Object,
}

impl Token<'_> {
    /// The token the members make, received at `now`; the OAuth error `answer` holds when its
    /// `error` member is a string.
    pub(super) fn check(self, answer: Answer<'_>, now: Now) -> Result<TokenResponse, Error> {
        if let Some(Value::String(_)) = self.extra.get("error") {
            return Err(error_in(answer));
        }
        let access_token =
            AccessToken::new(value::required_string(self.access_token, "access_token")?);
        // RFC 6749 requires token_type; servers that leave it out mean Bearer.
        let token_type = self
            .token_type
            .map_or(TokenType::Bearer, |t| TokenType::from(&*t));
        let expires_at = value::seconds(self.expires_in, "expires_in")?.map(|lifetime| {
            // A lifetime past what the clock can hold is "practically never": cap it.
            let lifetime = lifetime.min(MAX_LIFETIME);
            now.wall().checked_add(lifetime).unwrap_or(now.wall())
        });
        let refresh_token =
            value::string(self.refresh_token, "refresh_token")?.map(RefreshToken::new);
        let id_token = value::string(self.id_token, "id_token")?.map(IdToken::new);
        let scope = value::scope(self.scope, "scope")?;
        let issued_token_type = value::string(self.issued_token_type, "issued_token_type")?;
        Ok(TokenResponse {
            access_token,
            token_type,
            expires_at,
            refresh_token,
            id_token,
            scope,
            issued_token_type,
            extra: Some(self.extra).filter(|extra| !extra.is_empty()),
            #[cfg(feature = "jose")]
            id_token_claims: None,
        })
    }
}
