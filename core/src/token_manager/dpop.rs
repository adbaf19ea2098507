//! DPoP at resource servers: the proof that goes with each request of a DPoP-bound token, the
//! nonces resource servers hand out, and which refusals are worth a second attempt.

#[cfg(feature = "jose")]
use http::HeaderValue;
use http::{HeaderMap, StatusCode};

#[cfg(feature = "jose")]
use crate::error::InvalidResponse;
#[cfg(feature = "jose")]
use crate::secret::AccessToken;
use crate::www_authenticate::{is_invalid_token, parse};
#[cfg(feature = "jose")]
use crate::{Client, Error, Now};

/// The scheme of a DPoP-bound token's `Authorization` header (RFC 9449 §7.1), with its space.
pub(super) const DPOP_PREFIX: &str = "DPoP ";

/// Whether `authorization` is a DPoP-bound token's `Authorization` value.
pub(crate) fn is_dpop(authorization: &http::HeaderValue) -> bool {
    authorization.as_bytes().starts_with(DPOP_PREFIX.as_bytes())
}

/// Proofs of possession for the tokens of a [`TokenManager`](super::TokenManager) whose client
/// has a DPoP key ([`ClientBuilder::dpop`](crate::ClientBuilder::dpop)): given the
/// `Authorization` header the manager handed out, a fresh `DPoP` header for one request, with
/// `ath` and the resource server's last nonce. The [`Authorizer`](crate::authorizer::Authorizer)
/// uses it for every request; a `Bearer` header gets no proof.
///
/// Cloning is cheap (the client is shared).
///
/// ```
/// use grantline::{Client, Now, TokenResponse, TokenType};
/// use grantline::{dpop::DpopKey, jose::{Algorithm, UnverifiedJws}, token_manager::{Access, TokenManager}};
///
/// let client = Client::builder("svc")
///     .token_endpoint("https://as.example/token")
///     .client_secret_basic("s")
///     .dpop(DpopKey::generate(Algorithm::ES256)?)
///     .build()?;
/// let token = TokenResponse::new("at".into(), TokenType::DPoP);
/// let mut manager = TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?.with_token(token)?;
/// let proofs = manager.dpop_proofs().expect("the client has a DPoP key");
/// let Access::Ready(header) = manager.access(Now::system()) else { unreachable!() };
/// assert_eq!(header, "DPoP at");
/// let proof = proofs.proof(&header, "GET", "https://api.example/v1/items?page=2", Now::system())?;
/// let jws = proof.expect("a DPoP token gets a proof");
/// let parsed = UnverifiedJws::parse(jws.to_str().unwrap())?;
/// let claims: serde_json::Value = serde_json::from_slice(parsed.unverified_payload()).unwrap();
/// assert_eq!(claims["htu"], "https://api.example/v1/items");
/// assert_eq!(claims["ath"], grantline::dpop::ath(&"at".into()));
/// # Ok::<(), grantline::Error>(())
/// ```
#[cfg(feature = "jose")]
#[derive(Clone, Debug)]
pub struct DpopProofs {
    client: Client,
}

#[cfg(feature = "jose")]
impl DpopProofs {
    /// Proofs by `client`'s key, if it has one.
    pub(crate) fn of(client: &Client) -> Option<Self> {
        client.dpop_key().map(|_| Self {
            client: client.clone(),
        })
    }

    /// The `DPoP` header value for a `method` request to `uri` sent with `authorization`: a
    /// proof with a fresh `jti`, `iat` from `now`, `ath` of the token, and the nonce the server
    /// of `uri` last gave. `None` when `authorization` is not a `DPoP` one (a `Bearer` token
    /// needs no proof).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a `uri` that is not an absolute http(s) URL; the signer's and the
    /// random source's failures.
    ///
    /// ```
    /// # use grantline::{Client, Now, dpop::DpopKey, jose::Algorithm, token_manager::TokenManager};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token")
    /// #     .dpop(DpopKey::generate(Algorithm::ES256)?).build()?;
    /// let proofs = TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())?.dpop_proofs().unwrap();
    /// let bearer = http::HeaderValue::from_static("Bearer at");
    /// assert!(proofs.proof(&bearer, "GET", "https://api.example/", Now::system())?.is_none());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn proof(
        &self,
        authorization: &HeaderValue,
        method: &str,
        uri: &str,
        now: Now,
    ) -> Result<Option<HeaderValue>, Error> {
        let Some(token) = authorization
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix(DPOP_PREFIX))
        else {
            return Ok(None);
        };
        let Some(key) = self.client.dpop_key() else {
            return Ok(None);
        };
        let nonce = self.client.dpop_nonces().and_then(|nonces| nonces.get(uri));
        let proof = key.proof(
            method,
            uri,
            now.wall(),
            self.client.randomness(),
            nonce.as_deref(),
            Some(&AccessToken::new(token)),
        )?;
        let mut value = HeaderValue::try_from(proof)
            .map_err(|_| InvalidResponse::new("dpop", "the proof is not a valid header value"))?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    /// Remembers the `DPoP-Nonce` of a response from `uri` (a success or a refusal alike), for
    /// the next proof to that server.
    ///
    /// ```
    /// # use grantline::{Client, Now, dpop::DpopKey, jose::Algorithm, token_manager::TokenManager};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token")
    /// #     .dpop(DpopKey::generate(Algorithm::ES256)?).build()?;
    /// let proofs = TokenManager::grant(client.clone(), grantline::grant::TokenRequest::client_credentials())?.dpop_proofs().unwrap();
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("dpop-nonce", http::HeaderValue::from_static("n-1"));
    /// proofs.remember_nonce("https://api.example/v1/items", &headers);
    /// assert_eq!(client.dpop_nonces().unwrap().get("https://api.example/").as_deref(), Some("n-1"));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn remember_nonce(&self, uri: &str, headers: &HeaderMap) {
        if let Some(nonces) = self.client.dpop_nonces() {
            nonces.remember_from(uri, headers);
        }
    }
}

/// Why a resource server's answer is worth sending the request once more.
///
/// ```
/// use grantline::token_manager::{Resend, resend_reason};
/// use http::{HeaderMap, HeaderValue, StatusCode};
/// let mut headers = HeaderMap::new();
/// headers.insert("www-authenticate", HeaderValue::from_static(r#"DPoP error="use_dpop_nonce""#));
/// assert_eq!(resend_reason(StatusCode::UNAUTHORIZED, &headers), Some(Resend::UseDpopNonce));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resend {
    /// `error="invalid_token"` (a `Bearer` or `DPoP` challenge): the token is no good; report it
    /// with [`TokenManager::reject`](super::TokenManager::reject), and resend with another
    /// token if that says one can be had.
    InvalidToken,
    /// `DPoP error="use_dpop_nonce"` (RFC 9449 §9): resend with a proof carrying the nonce the
    /// response gave (remembered by [`DpopProofs::remember_nonce`]).
    UseDpopNonce,
}

/// What a resource server's `401` asks for, if a second attempt can change the answer: see
/// [`Resend`]. Any other answer gives `None`.
///
/// ```
/// use grantline::token_manager::{Resend, resend_reason};
/// use http::{HeaderMap, HeaderValue, StatusCode};
/// let mut headers = HeaderMap::new();
/// headers.insert("www-authenticate", HeaderValue::from_static(r#"DPoP error="invalid_token""#));
/// assert_eq!(resend_reason(StatusCode::UNAUTHORIZED, &headers), Some(Resend::InvalidToken));
/// assert_eq!(resend_reason(StatusCode::FORBIDDEN, &headers), None);
/// ```
#[must_use]
pub fn resend_reason(status: StatusCode, headers: &HeaderMap) -> Option<Resend> {
    if status != StatusCode::UNAUTHORIZED {
        return None;
    }
    if is_invalid_token(status, headers) {
        return Some(Resend::InvalidToken);
    }
    let mut reason = None;
    for value in headers
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
    {
        for challenge in parse(value).iter().filter(|c| c.is_scheme("DPoP")) {
            match challenge.param("error") {
                Some("invalid_token") => return Some(Resend::InvalidToken),
                Some("use_dpop_nonce") => reason = Some(Resend::UseDpopNonce),
                _ => {}
            }
        }
    }
    reason
}
