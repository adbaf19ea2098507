//! JWS Compact Serialization (RFC 7515 §7.1): parsing, verifying and signing.

use serde_json::{Map, Value};

use super::algorithm::Algorithm;
use super::claims::Claims;
use super::jwk::{Jwk, JwkSet, b64_decode, b64_encode};
use super::signing_key::JwsSigner;
use crate::Error;
use crate::error::JoseError;

/// The longest compact JWS grantline reads (1 MiB): far above any real ID token, userinfo
/// answer or request object, low enough that a hostile one costs little.
pub const MAX_COMPACT_LEN: usize = 1024 * 1024;

/// The longest encoded protected header grantline reads.
const MAX_HEADER_LEN: usize = 8 * 1024;

/// A JWS protected header (RFC 7515 §4).
///
/// Parsing never yields `alg: none` or an algorithm grantline does not implement, and refuses
/// any `crit` extension. `jku`, `jwk`, `x5u` and `x5c` are kept as plain parameters but never
/// used to find a key: keys come only from the caller.
///
/// ```
/// use grantline::jose::{Algorithm, JwsHeader};
///
/// let header = JwsHeader::new(Algorithm::ES256).with_key_id("k1").with_type("JWT");
/// assert_eq!(header.algorithm(), Algorithm::ES256);
/// assert_eq!(header.key_id(), Some("k1"));
/// assert_eq!(header.token_type(), Some("JWT"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct JwsHeader {
    alg: Algorithm,
    params: Map<String, Value>,
}

impl JwsHeader {
    /// A header with only `alg`.
    ///
    /// ```
    /// let header = grantline::jose::JwsHeader::new(grantline::jose::Algorithm::RS256);
    /// assert_eq!(header.key_id(), None);
    /// ```
    #[must_use]
    pub fn new(alg: Algorithm) -> Self {
        let mut params = Map::new();
        params.insert("alg".into(), alg.as_str().into());
        Self { alg, params }
    }

    /// A header for what `signer` signs: its algorithm and, if it has one, its key id.
    ///
    /// ```
    /// use grantline::jose::{JwsHeader, SigningKey};
    /// let key = SigningKey::hmac(grantline::jose::Algorithm::HS256, b"secret")?.with_key_id("k");
    /// assert_eq!(JwsHeader::for_signer(&key).key_id(), Some("k"));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn for_signer(signer: &dyn JwsSigner) -> Self {
        let header = Self::new(signer.algorithm());
        match signer.key_id() {
            Some(kid) => header.with_key_id(kid),
            None => header,
        }
    }

    /// Sets `kid`.
    ///
    /// ```
    /// let h = grantline::jose::JwsHeader::new(grantline::jose::Algorithm::RS256).with_key_id("a");
    /// assert_eq!(h.key_id(), Some("a"));
    /// ```
    #[must_use]
    pub fn with_key_id(self, kid: impl Into<String>) -> Self {
        self.with_param("kid", kid.into())
    }

    /// Sets `typ` (explicit typing, RFC 8725 §3.11).
    ///
    /// ```
    /// let h = grantline::jose::JwsHeader::new(grantline::jose::Algorithm::RS256)
    ///     .with_type("oauth-authz-req+jwt");
    /// assert_eq!(h.token_type(), Some("oauth-authz-req+jwt"));
    /// ```
    #[must_use]
    pub fn with_type(self, typ: impl Into<String>) -> Self {
        self.with_param("typ", typ.into())
    }

    /// Sets any other header parameter. `alg` cannot be changed this way (it is ignored).
    ///
    /// ```
    /// let h = grantline::jose::JwsHeader::new(grantline::jose::Algorithm::RS256)
    ///     .with_param("x5t#S256", "abc");
    /// assert_eq!(h.get("x5t#S256").unwrap(), "abc");
    /// ```
    #[must_use]
    pub fn with_param(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        let name = name.into();
        if name != "alg" {
            self.params.insert(name, value.into());
        }
        self
    }

    /// The algorithm (`alg`).
    ///
    /// ```
    /// let h = grantline::jose::JwsHeader::new(grantline::jose::Algorithm::PS256);
    /// assert_eq!(h.algorithm().as_str(), "PS256");
    /// ```
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key id (`kid`), when it is a string.
    ///
    /// ```
    /// assert!(grantline::jose::JwsHeader::new(grantline::jose::Algorithm::RS256).key_id().is_none());
    /// ```
    #[must_use]
    pub fn key_id(&self) -> Option<&str> {
        self.params.get("kid").and_then(Value::as_str)
    }

    /// The type (`typ`), when it is a string.
    ///
    /// ```
    /// assert!(grantline::jose::JwsHeader::new(grantline::jose::Algorithm::RS256).token_type().is_none());
    /// ```
    #[must_use]
    pub fn token_type(&self) -> Option<&str> {
        self.params.get("typ").and_then(Value::as_str)
    }

    /// Any header parameter, as sent.
    ///
    /// ```
    /// let h = grantline::jose::JwsHeader::new(grantline::jose::Algorithm::RS256);
    /// assert_eq!(h.get("alg").unwrap(), "RS256");
    /// ```
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.params.get(name)
    }

    fn from_json(bytes: &[u8]) -> Result<Self, JoseError> {
        let Ok(Value::Object(params)) = serde_json::from_slice::<Value>(bytes) else {
            return Err(JoseError::Malformed("the header is not a JSON object"));
        };
        let alg = match params.get("alg") {
            Some(Value::String(alg)) => Algorithm::parse_header_value(alg)?,
            Some(_) => return Err(JoseError::Malformed("the header's `alg` is not a string")),
            None => return Err(JoseError::Malformed("the header has no `alg`")),
        };
        if params.contains_key("crit") {
            return Err(JoseError::CriticalHeader);
        }
        for name in ["kid", "typ", "cty"] {
            if params.get(name).is_some_and(|v| !v.is_string()) {
                return Err(JoseError::Malformed(
                    "a header parameter that must be a string is not one",
                ));
            }
        }
        Ok(Self { alg, params })
    }

    fn to_json(&self) -> Vec<u8> {
        // Serializing a map of JSON values cannot fail.
        serde_json::to_vec(&self.params).unwrap_or_default()
    }
}

/// A JWS in compact form, parsed but **not verified**: nothing in it may be trusted until
/// [`verify`](UnverifiedJws::verify) succeeds.
///
/// ```
/// use grantline::jose::{Algorithm, Jwk, UnverifiedJws};
///
/// // RFC 7515 §A.1
/// let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9\
///     .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
///     .dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// let key = Jwk::from_json(r#"{"kty":"oct",
///     "k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#)?;
/// let jws = UnverifiedJws::parse(token)?;
/// assert_eq!(jws.header().algorithm(), Algorithm::HS256);
/// let verified = jws.verify(&key.into(), &[Algorithm::HS256])?;
/// assert_eq!(verified.claims()?.issuer(), Some("joe"));
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Clone)]
pub struct UnverifiedJws {
    header: JwsHeader,
    signing_input_len: usize,
    compact: String,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl std::fmt::Debug for UnverifiedJws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnverifiedJws")
            .field("header", &self.header)
            .field("payload_len", &self.payload.len())
            .finish_non_exhaustive()
    }
}

impl UnverifiedJws {
    /// Parses a JWS Compact Serialization: three base64url parts (no padding) separated by
    /// dots; a header that is a JSON object with a supported `alg` and no `crit`.
    ///
    /// # Errors
    ///
    /// [`JoseError::Malformed`] for a bad structure, [`JoseError::Unsecured`] for
    /// `alg: none`, [`JoseError::UnsupportedAlgorithm`], [`JoseError::CriticalHeader`].
    ///
    /// ```
    /// use grantline::{Error, error::JoseError, jose::UnverifiedJws};
    /// // {"alg":"none"}.{}.
    /// let e = UnverifiedJws::parse("eyJhbGciOiJub25lIn0.e30.").unwrap_err();
    /// assert!(matches!(e, Error::Jose(JoseError::Unsecured)));
    /// ```
    pub fn parse(compact: &str) -> Result<Self, Error> {
        Ok(Self::parse_inner(compact)?)
    }

    fn parse_inner(compact: &str) -> Result<Self, JoseError> {
        if compact.len() > MAX_COMPACT_LEN {
            return Err(JoseError::Malformed("the token is too large"));
        }
        let mut parts = compact.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::Malformed(
                "a compact JWS has exactly three parts (a JWE or a bare JSON document is not one)",
            ));
        };
        if header.len() > MAX_HEADER_LEN {
            return Err(JoseError::Malformed("the header is too large"));
        }
        let header_json =
            b64_decode(header).ok_or(JoseError::Malformed("the header is not base64url"))?;
        let header = JwsHeader::from_json(&header_json)?;
        let payload_bytes =
            b64_decode(payload).ok_or(JoseError::Malformed("the payload is not base64url"))?;
        let signature =
            b64_decode(signature).ok_or(JoseError::Malformed("the signature is not base64url"))?;
        if signature.is_empty() {
            return Err(JoseError::Malformed("the signature is empty"));
        }
        let signing_input_len = compact.len() - signature_len(compact);
        Ok(Self {
            header,
            signing_input_len,
            compact: compact.to_owned(),
            payload: payload_bytes,
            signature,
        })
    }

    /// The header (unverified).
    ///
    /// ```
    /// # use grantline::jose::UnverifiedJws;
    /// let jws = UnverifiedJws::parse("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.e30.AA")?;
    /// assert_eq!(jws.header().key_id(), Some("k1"));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn header(&self) -> &JwsHeader {
        &self.header
    }

    /// The payload, before any verification: for routing or logging decisions only, never for
    /// trusting what it says.
    ///
    /// ```
    /// # use grantline::jose::UnverifiedJws;
    /// let jws = UnverifiedJws::parse("eyJhbGciOiJSUzI1NiJ9.e30.AA")?;
    /// assert_eq!(jws.unverified_payload(), b"{}");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn unverified_payload(&self) -> &[u8] {
        &self.payload
    }

    /// Verifies the signature with a key of `keys` under one of the `allowed` algorithms.
    ///
    /// The header's `alg` must be in `allowed`; the key is chosen by `kid` (or, without one,
    /// among the keys that fit the algorithm) and must belong to the algorithm's family, with
    /// its own `alg`, when set, equal to the header's.
    ///
    /// # Errors
    ///
    /// [`JoseError::AlgorithmNotAllowed`], [`JoseError::NoMatchingKey`],
    /// [`JoseError::KeyAlgorithmMismatch`], [`JoseError::InvalidSignature`].
    ///
    /// ```
    /// use grantline::{Error, error::JoseError, jose::{Algorithm, JwkSet, UnverifiedJws}};
    /// let jws = UnverifiedJws::parse("eyJhbGciOiJIUzI1NiJ9.e30.AA")?;
    /// let e = jws.verify(&JwkSet::default(), &[Algorithm::RS256]).unwrap_err();
    /// assert!(matches!(e, Error::Jose(JoseError::AlgorithmNotAllowed(_))));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn verify(self, keys: &JwkSet, allowed: &[Algorithm]) -> Result<VerifiedJws, Error> {
        self.check_allowed(allowed)?;
        keys.verify(&self.header, self.signing_input(), &self.signature)?;
        Ok(self.into_verified())
    }

    /// Verifies the signature with one key under one of the `allowed` algorithms.
    ///
    /// # Errors
    ///
    /// As [`verify`](UnverifiedJws::verify); a key that does not fit the algorithm is
    /// [`JoseError::KeyAlgorithmMismatch`].
    ///
    /// ```
    /// use grantline::{Error, error::JoseError, jose::{Algorithm, Jwk, UnverifiedJws}};
    /// let jws = UnverifiedJws::parse("eyJhbGciOiJIUzI1NiJ9.e30.AA")?;
    /// let e = jws.verify_with_key(&Jwk::symmetric(b"k")?, &[Algorithm::HS256]).unwrap_err();
    /// assert!(matches!(e, Error::Jose(JoseError::InvalidSignature)));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn verify_with_key(self, key: &Jwk, allowed: &[Algorithm]) -> Result<VerifiedJws, Error> {
        self.check_allowed(allowed)?;
        key.verify(self.header.alg, self.signing_input(), &self.signature)?;
        Ok(self.into_verified())
    }

    fn check_allowed(&self, allowed: &[Algorithm]) -> Result<(), JoseError> {
        if allowed.contains(&self.header.alg) {
            Ok(())
        } else {
            Err(JoseError::AlgorithmNotAllowed(
                self.header.alg.as_str().to_owned(),
            ))
        }
    }

    fn signing_input(&self) -> &[u8] {
        self.compact
            .as_bytes()
            .get(..self.signing_input_len)
            .unwrap_or_default()
    }

    fn into_verified(self) -> VerifiedJws {
        VerifiedJws {
            header: self.header,
            payload: self.payload,
        }
    }
}

/// Length of the last part and its dot.
fn signature_len(compact: &str) -> usize {
    compact.rfind('.').map_or(0, |dot| compact.len() - dot)
}

/// A JWS whose signature was verified: its header and payload can be trusted as the signer's.
///
/// ```
/// # use grantline::jose::{Algorithm, Jwk, JwsHeader, SigningKey, UnverifiedJws};
/// let key = SigningKey::hmac(Algorithm::HS256, b"a shared secret of 32 bytes or more")?;
/// let token = grantline::jose::sign(&key, JwsHeader::for_signer(&key), b"hello")?;
/// let verified = UnverifiedJws::parse(&token)?
///     .verify_with_key(&Jwk::symmetric(b"a shared secret of 32 bytes or more")?, &[Algorithm::HS256])?;
/// assert_eq!(verified.payload(), b"hello");
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct VerifiedJws {
    header: JwsHeader,
    payload: Vec<u8>,
}

/// The payload (an ID token's claims, a nonce) shows as its length only, as in
/// [`UnverifiedJws`].
impl std::fmt::Debug for VerifiedJws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedJws")
            .field("header", &self.header)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

impl VerifiedJws {
    /// The verified header.
    ///
    /// ```
    /// # use grantline::jose::*;
    /// # let key = SigningKey::hmac(Algorithm::HS256, b"k")?;
    /// # let token = sign(&key, JwsHeader::for_signer(&key), b"x")?;
    /// # let verified = UnverifiedJws::parse(&token)?.verify_with_key(&Jwk::symmetric(b"k")?, &[Algorithm::HS256])?;
    /// assert_eq!(verified.header().algorithm(), Algorithm::HS256);
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn header(&self) -> &JwsHeader {
        &self.header
    }

    /// The verified payload.
    ///
    /// ```
    /// # use grantline::jose::*;
    /// # let key = SigningKey::hmac(Algorithm::HS256, b"k")?;
    /// # let token = sign(&key, JwsHeader::for_signer(&key), b"x")?;
    /// # let verified = UnverifiedJws::parse(&token)?.verify_with_key(&Jwk::symmetric(b"k")?, &[Algorithm::HS256])?;
    /// assert_eq!(verified.payload(), b"x");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The payload read as a JWT claims set (RFC 7519 §7.2 step 10).
    ///
    /// # Errors
    ///
    /// [`JoseError::Malformed`] when the payload is not a JSON object.
    ///
    /// ```
    /// # use grantline::jose::*;
    /// # let key = SigningKey::hmac(Algorithm::HS256, b"k")?;
    /// # let token = sign(&key, JwsHeader::for_signer(&key), br#"{"sub":"u"}"#)?;
    /// # let verified = UnverifiedJws::parse(&token)?.verify_with_key(&Jwk::symmetric(b"k")?, &[Algorithm::HS256])?;
    /// assert_eq!(verified.claims()?.subject(), Some("u"));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn claims(&self) -> Result<Claims, Error> {
        Claims::from_json(&self.payload)
    }
}

/// Signs `payload` as a JWS Compact Serialization with `signer` and `header`.
///
/// # Errors
///
/// [`JoseError::Signing`] when the header's `alg` is not the signer's algorithm, or the signer
/// fails.
///
/// ```
/// use grantline::jose::{Algorithm, JwsHeader, SigningKey};
/// let key = SigningKey::hmac(Algorithm::HS256, b"secret")?;
/// let token = grantline::jose::sign(&key, JwsHeader::for_signer(&key).with_type("JWT"), b"{}")?;
/// assert_eq!(token.split('.').count(), 3);
/// # Ok::<(), grantline::Error>(())
/// ```
pub fn sign(signer: &dyn JwsSigner, header: JwsHeader, payload: &[u8]) -> Result<String, Error> {
    if header.alg != signer.algorithm() {
        return Err(JoseError::Signing("the header's `alg` is not the signer's algorithm").into());
    }
    let mut compact = b64_encode(&header.to_json());
    compact.push('.');
    compact.push_str(&b64_encode(payload));
    let signature = signer.sign(compact.as_bytes())?;
    compact.push('.');
    compact.push_str(&b64_encode(&signature));
    Ok(compact)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(compact: &str) -> Result<UnverifiedJws, JoseError> {
        UnverifiedJws::parse_inner(compact)
    }

    fn part(json: &str) -> String {
        b64_encode(json.as_bytes())
    }

    #[test]
    fn structure_is_checked() {
        let h = part(r#"{"alg":"RS256"}"#);
        for bad in [
            String::new(),
            "a.b".to_owned(),
            format!("{h}.e30.AA.AA"),
            format!("{h}.e30.AA.AA.AA"),
            format!("{h}.e30="),
            format!("{h}.e3+0.AA"),
            format!("{h}.e30.AA=="),
            format!("{h}.e30."),
            format!("{}.e30.AA", part("[1]")),
            format!("{}.e30.AA", part(r#"{"alg":1}"#)),
            format!("{}.e30.AA", part(r#"{"typ":"JWT"}"#)),
            format!("{}.e30.AA", part(r#"{"alg":"RS256","kid":7}"#)),
        ] {
            assert!(matches!(parse(&bad), Err(JoseError::Malformed(_))), "{bad}");
        }
        assert!(parse(&format!("{h}.e30.AA")).is_ok());
    }

    #[test]
    fn none_unknown_and_crit_are_refused() {
        for none in [r#"{"alg":"none"}"#, r#"{"alg":"NONE"}"#] {
            assert_eq!(
                parse(&format!("{}.e30.AA", part(none))).err(),
                Some(JoseError::Unsecured)
            );
        }
        assert!(matches!(
            parse(&format!("{}.e30.AA", part(r#"{"alg":"ES512"}"#))),
            Err(JoseError::UnsupportedAlgorithm(_))
        ));
        assert_eq!(
            parse(&format!(
                "{}.e30.AA",
                part(r#"{"alg":"RS256","crit":["exp"],"exp":1}"#)
            ))
            .err(),
            Some(JoseError::CriticalHeader)
        );
    }

    #[test]
    fn oversized_tokens_are_refused_before_decoding() {
        let huge = "a".repeat(MAX_COMPACT_LEN + 1);
        assert!(matches!(parse(&huge), Err(JoseError::Malformed(_))));
        let long_header = format!("{}.e30.AA", "a".repeat(MAX_HEADER_LEN + 1));
        assert!(matches!(parse(&long_header), Err(JoseError::Malformed(_))));
    }
}
