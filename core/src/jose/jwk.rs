//! JSON Web Keys and JWK Sets (RFC 7517), and choosing the key that verifies a token.

use std::fmt;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::algorithm::Algorithm;
use super::crypto::{self, Curve, PublicKey};
use super::jws::JwsHeader;
use crate::Error;
use crate::error::JoseError;

/// The most keys read from one JWK Set; further keys are ignored (and counted).
pub(crate) const MAX_KEYS: usize = 256;

/// The most fitting keys tried against one signature when the token names no `kid`.
pub(crate) const MAX_CANDIDATES: usize = 10;

pub(crate) fn b64_decode(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
}

pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A public key (or, for `kty: oct`, a shared secret) that verifies signatures (RFC 7517 §4).
///
/// Supported: `RSA` (2048 to 8192 bits), `EC` on `P-256` and `P-384`, `OKP` on `Ed25519`, and
/// `oct`. Private members (`d`, `p`, ...) are ignored: a `Jwk` never holds a private key (see
/// [`SigningKey`](super::SigningKey) for those). `Debug` never shows an `oct` secret.
///
/// ```
/// use grantline::jose::{Algorithm, Jwk};
///
/// let jwk = Jwk::from_json(r#"{"kty":"OKP","crv":"Ed25519","kid":"k1",
///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
/// assert_eq!(jwk.key_type(), "OKP");
/// assert_eq!(jwk.key_id(), Some("k1"));
/// assert!(jwk.can_verify(Algorithm::EdDSA));
/// assert!(!jwk.can_verify(Algorithm::HS256)); // never an HMAC secret
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Jwk {
    pub(crate) key: PublicKey,
    kid: Option<String>,
    alg: Option<String>,
    key_use: Option<String>,
    key_ops: Option<Vec<String>>,
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.key_type())
            .field("crv", &self.curve())
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("use", &self.key_use)
            .finish_non_exhaustive()
    }
}

/// Why one member of a set could not be read.
enum Unreadable {
    /// A key type, curve or size grantline does not support: ignored in a set.
    Unsupported(&'static str),
    /// A key that breaks RFC 7517/7518.
    Invalid(&'static str),
}

impl Unreadable {
    fn reason(&self) -> &'static str {
        match self {
            Unreadable::Unsupported(reason) | Unreadable::Invalid(reason) => reason,
        }
    }
}

fn member<'a>(
    object: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, Unreadable> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Unreadable::Invalid("a member is not a string")),
    }
}

fn bytes_member(object: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, Unreadable> {
    let text = member(object, name)?.ok_or(Unreadable::Invalid("a required member is missing"))?;
    b64_decode(text).ok_or(Unreadable::Invalid("a member is not base64url"))
}

/// `bytes` without leading zero octets.
fn unsigned(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

fn bit_length(bytes: &[u8]) -> usize {
    match bytes.first() {
        None => 0,
        Some(first) => (bytes.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
    }
}

pub(crate) fn curve_named(name: &str) -> Option<Curve> {
    match name {
        "P-256" => Some(Curve::P256),
        "P-384" => Some(Curve::P384),
        _ => None,
    }
}

/// Reads the public key material of a JWK object.
pub(crate) fn read_public_key(object: &Map<String, Value>) -> Result<PublicKey, JoseError> {
    public_key(object).map_err(|e| JoseError::InvalidKey(e.reason()))
}

fn public_key(object: &Map<String, Value>) -> Result<PublicKey, Unreadable> {
    let kty = member(object, "kty")?.ok_or(Unreadable::Invalid("`kty` is missing"))?;
    match kty {
        "RSA" => {
            let n = unsigned(bytes_member(object, "n")?);
            let e = unsigned(bytes_member(object, "e")?);
            let bits = bit_length(&n);
            if bits < 2048 {
                return Err(Unreadable::Unsupported(
                    "the RSA modulus is shorter than 2048 bits",
                ));
            }
            if bits > 8192 {
                return Err(Unreadable::Unsupported(
                    "the RSA modulus is longer than 8192 bits",
                ));
            }
            if e.is_empty() || e.len() > 8 {
                return Err(Unreadable::Invalid("the RSA exponent is out of range"));
            }
            Ok(PublicKey::Rsa { n, e })
        }
        "EC" => {
            let crv = member(object, "crv")?.ok_or(Unreadable::Invalid("`crv` is missing"))?;
            let curve =
                curve_named(crv).ok_or(Unreadable::Unsupported("the curve is not supported"))?;
            let x = bytes_member(object, "x")?;
            let y = bytes_member(object, "y")?;
            let len = curve.coordinate_len();
            if x.len() != len || y.len() != len {
                return Err(Unreadable::Invalid(
                    "an EC coordinate has the wrong length for its curve",
                ));
            }
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            Ok(PublicKey::Ec { curve, point })
        }
        "OKP" => {
            let crv = member(object, "crv")?.ok_or(Unreadable::Invalid("`crv` is missing"))?;
            if crv != "Ed25519" {
                return Err(Unreadable::Unsupported("the curve is not supported"));
            }
            let x = bytes_member(object, "x")?;
            if x.len() != 32 {
                return Err(Unreadable::Invalid("an Ed25519 key is not 32 bytes"));
            }
            Ok(PublicKey::Ed25519 { x })
        }
        "oct" => {
            let k = bytes_member(object, "k")?;
            if k.is_empty() {
                return Err(Unreadable::Invalid("the symmetric key is empty"));
            }
            Ok(PublicKey::Oct { k })
        }
        _ => Err(Unreadable::Unsupported("the key type is not supported")),
    }
}

impl Jwk {
    fn from_object(object: &Map<String, Value>) -> Result<Self, Unreadable> {
        let key = public_key(object)?;
        let key_ops = match object.get("key_ops") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|op| op.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or(Unreadable::Invalid("`key_ops` holds a non-string"))?,
            ),
            Some(_) => return Err(Unreadable::Invalid("`key_ops` is not an array")),
        };
        Ok(Self {
            key,
            kid: member(object, "kid")?.map(str::to_owned),
            alg: member(object, "alg")?.map(str::to_owned),
            key_use: member(object, "use")?.map(str::to_owned),
            key_ops,
        })
    }

    /// Parses one JWK.
    ///
    /// # Errors
    ///
    /// [`JoseError::Malformed`] for text that is not a JSON object, [`JoseError::InvalidKey`]
    /// for a key that is unsupported or breaks RFC 7518 §6.
    ///
    /// ```
    /// use grantline::{Error, error::JoseError, jose::Jwk};
    /// let e = Jwk::from_json(r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}"#).unwrap_err();
    /// assert!(matches!(e, Error::Jose(JoseError::InvalidKey(_))));
    /// ```
    pub fn from_json(json: &str) -> Result<Self, Error> {
        match serde_json::from_str::<Value>(json) {
            Ok(Value::Object(object)) => {
                Ok(Self::from_object(&object).map_err(|e| JoseError::InvalidKey(e.reason()))?)
            }
            _ => Err(JoseError::Malformed("a JWK must be a JSON object").into()),
        }
    }

    /// An RSA public key from its modulus and exponent (big-endian bytes).
    ///
    /// # Errors
    ///
    /// [`JoseError::InvalidKey`] for a modulus outside 2048 to 8192 bits.
    ///
    /// ```
    /// let n = [&[0xc5u8][..], &[0x11; 255][..]].concat();
    /// let jwk = grantline::jose::Jwk::rsa(&n, &[1, 0, 1])?;
    /// assert_eq!(jwk.key_type(), "RSA");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn rsa(n: &[u8], e: &[u8]) -> Result<Self, Error> {
        let mut object = Map::new();
        object.insert("kty".into(), "RSA".into());
        object.insert("n".into(), b64_encode(n).into());
        object.insert("e".into(), b64_encode(e).into());
        Ok(Self::from_object(&object).map_err(|e| JoseError::InvalidKey(e.reason()))?)
    }

    /// A symmetric key (`kty: oct`) for HMAC algorithms. In OpenID Connect, an HMAC-signed ID
    /// token is verified with the client secret's UTF-8 bytes (Core §10.1).
    ///
    /// # Errors
    ///
    /// [`JoseError::InvalidKey`] for an empty secret.
    ///
    /// ```
    /// let jwk = grantline::jose::Jwk::symmetric(b"client-secret")?;
    /// assert!(!format!("{jwk:?}").contains("client-secret"));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn symmetric(secret: &[u8]) -> Result<Self, Error> {
        if secret.is_empty() {
            return Err(JoseError::InvalidKey("the symmetric key is empty").into());
        }
        Ok(Self::from_public_key(PublicKey::Oct { k: secret.to_vec() }))
    }

    pub(crate) fn from_public_key(key: PublicKey) -> Self {
        Self {
            key,
            kid: None,
            alg: None,
            key_use: None,
            key_ops: None,
        }
    }

    /// Sets the key id (`kid`).
    ///
    /// ```
    /// let jwk = grantline::jose::Jwk::symmetric(b"s")?.with_key_id("2024-01");
    /// assert_eq!(jwk.key_id(), Some("2024-01"));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn with_key_id(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Restricts the key to one algorithm (the JWK `alg` member), which then wins over
    /// whatever a token's header says.
    ///
    /// ```
    /// use grantline::jose::{Algorithm, Jwk};
    /// let jwk = Jwk::symmetric(b"s")?.with_algorithm(Algorithm::HS512);
    /// assert!(jwk.can_verify(Algorithm::HS512));
    /// assert!(!jwk.can_verify(Algorithm::HS256));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn with_algorithm(mut self, alg: Algorithm) -> Self {
        self.alg = Some(alg.as_str().to_owned());
        self
    }

    /// The key type: `RSA`, `EC`, `OKP` or `oct`.
    ///
    /// ```
    /// assert_eq!(grantline::jose::Jwk::symmetric(b"s")?.key_type(), "oct");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn key_type(&self) -> &'static str {
        match self.key {
            PublicKey::Rsa { .. } => "RSA",
            PublicKey::Ec { .. } => "EC",
            PublicKey::Ed25519 { .. } => "OKP",
            PublicKey::Oct { .. } => "oct",
        }
    }

    /// The curve (`crv`) of an `EC` or `OKP` key.
    ///
    /// ```
    /// assert_eq!(grantline::jose::Jwk::symmetric(b"s")?.curve(), None);
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn curve(&self) -> Option<&'static str> {
        match &self.key {
            PublicKey::Ec { curve, .. } => Some(curve.name()),
            PublicKey::Ed25519 { .. } => Some("Ed25519"),
            PublicKey::Rsa { .. } | PublicKey::Oct { .. } => None,
        }
    }

    /// The key id (`kid`).
    ///
    /// ```
    /// assert_eq!(grantline::jose::Jwk::symmetric(b"s")?.key_id(), None);
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn key_id(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithm the key is restricted to (`alg`), as published.
    ///
    /// ```
    /// assert_eq!(grantline::jose::Jwk::symmetric(b"s")?.algorithm(), None);
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn algorithm(&self) -> Option<&str> {
        self.alg.as_deref()
    }

    /// The intended use (`use`): `sig` or `enc`.
    ///
    /// ```
    /// assert_eq!(grantline::jose::Jwk::symmetric(b"s")?.key_use(), None);
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn key_use(&self) -> Option<&str> {
        self.key_use.as_deref()
    }

    /// Whether this key may verify a signature made with `alg`: same family and curve, `alg`
    /// equal to the key's own `alg` when it has one, `use` absent or `sig`, `key_ops` absent or
    /// holding `verify`.
    ///
    /// ```
    /// use grantline::jose::{Algorithm, Jwk};
    /// let jwk = Jwk::symmetric(b"s")?;
    /// assert!(jwk.can_verify(Algorithm::HS384));
    /// assert!(!jwk.can_verify(Algorithm::RS256));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn can_verify(&self, alg: Algorithm) -> bool {
        self.check_fits(alg).is_ok()
    }

    fn check_fits(&self, alg: Algorithm) -> Result<(), JoseError> {
        // The key's own `alg`, when set, wins over the token's header.
        if self.alg.as_deref().is_some_and(|own| own != alg.as_str()) {
            return Err(JoseError::KeyAlgorithmMismatch);
        }
        if !self.key.fits(alg) {
            return Err(JoseError::KeyAlgorithmMismatch);
        }
        if self.key_use.as_deref().is_some_and(|u| u != "sig") {
            return Err(JoseError::KeyAlgorithmMismatch);
        }
        if self
            .key_ops
            .as_ref()
            .is_some_and(|ops| !ops.iter().any(|op| op == "verify"))
        {
            return Err(JoseError::KeyAlgorithmMismatch);
        }
        Ok(())
    }

    /// Verifies `signature` over `input` under `alg` with this key.
    pub(crate) fn verify(
        &self,
        alg: Algorithm,
        input: &[u8],
        signature: &[u8],
    ) -> Result<(), JoseError> {
        self.check_fits(alg)?;
        crypto::verify(alg, &self.key, input, signature)
    }

    /// The public key as a JSON object, to publish (in a JWK Set, or at client registration).
    /// `None` for a symmetric key, whose secret is never serialized.
    ///
    /// ```
    /// let jwk = grantline::jose::Jwk::from_json(
    ///     r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"a"}"#)?;
    /// let json = jwk.to_public_json().unwrap();
    /// assert_eq!(json["kid"], "a");
    /// assert!(grantline::jose::Jwk::symmetric(b"s")?.to_public_json().is_none());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn to_public_json(&self) -> Option<Value> {
        let mut object = self.required_members()?;
        if let Some(kid) = &self.kid {
            object.insert("kid".into(), kid.clone().into());
        }
        if let Some(alg) = &self.alg {
            object.insert("alg".into(), alg.clone().into());
        }
        if let Some(key_use) = &self.key_use {
            object.insert("use".into(), key_use.clone().into());
        }
        Some(Value::Object(object))
    }

    /// The members RFC 7638 hashes, in lexicographic order (not for `oct`).
    fn required_members(&self) -> Option<Map<String, Value>> {
        let mut object = Map::new();
        match &self.key {
            PublicKey::Rsa { n, e } => {
                object.insert("e".into(), b64_encode(e).into());
                object.insert("kty".into(), "RSA".into());
                object.insert("n".into(), b64_encode(n).into());
            }
            PublicKey::Ec { curve, point } => {
                let len = curve.coordinate_len();
                let x = point.get(1..=len)?;
                let y = point.get(1 + len..)?;
                object.insert("crv".into(), curve.name().into());
                object.insert("kty".into(), "EC".into());
                object.insert("x".into(), b64_encode(x).into());
                object.insert("y".into(), b64_encode(y).into());
            }
            PublicKey::Ed25519 { x } => {
                object.insert("crv".into(), "Ed25519".into());
                object.insert("kty".into(), "OKP".into());
                object.insert("x".into(), b64_encode(x).into());
            }
            PublicKey::Oct { .. } => return None,
        }
        Some(object)
    }

    /// The JWK SHA-256 thumbprint (RFC 7638), base64url: a stable identifier for a public key.
    /// `None` for a symmetric key.
    ///
    /// ```
    /// // RFC 8037 §A.3
    /// let jwk = grantline::jose::Jwk::from_json(
    ///     r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
    /// assert_eq!(jwk.thumbprint().unwrap(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn thumbprint(&self) -> Option<String> {
        // serde_json's map keeps keys sorted, and compact output has no whitespace: exactly the
        // canonical form RFC 7638 §3 asks for.
        let canonical = serde_json::to_vec(&Value::Object(self.required_members()?)).ok()?;
        Some(b64_encode(&crypto::digest(Algorithm::RS256, &canonical)))
    }
}

/// A JWK Set (RFC 7517 §5): the keys an issuer signs with.
///
/// Keys of a type, curve or size grantline does not support, and keys that break the
/// specification, are skipped rather than failing the whole set, as RFC 7517 §5 recommends (a
/// provider may publish encryption keys or curves grantline does not use); [`ignored`]
/// counts them.
///
/// [`ignored`]: JwkSet::ignored
///
/// ```
/// use grantline::jose::JwkSet;
///
/// let set = JwkSet::from_json(br#"{"keys":[
///     {"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
///     {"kty":"EC","crv":"P-521","kid":"b","x":"AA","y":"AA"}
/// ]}"#)?;
/// assert_eq!(set.keys().len(), 1);
/// assert_eq!(set.ignored(), 1);
/// assert!(set.find("a").is_some());
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JwkSet {
    keys: Vec<Jwk>,
    ignored: usize,
}

impl JwkSet {
    /// A set of the given keys.
    ///
    /// ```
    /// let set = grantline::jose::JwkSet::new(vec![grantline::jose::Jwk::symmetric(b"s")?]);
    /// assert_eq!(set.keys().len(), 1);
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn new(keys: Vec<Jwk>) -> Self {
        Self { keys, ignored: 0 }
    }

    /// Parses a JWK Set document.
    ///
    /// # Errors
    ///
    /// [`JoseError::Malformed`] when the text is not a JSON object with a `keys` array.
    ///
    /// ```
    /// use grantline::{Error, error::JoseError, jose::JwkSet};
    /// assert!(matches!(JwkSet::from_json(b"[]"), Err(Error::Jose(JoseError::Malformed(_)))));
    /// assert!(JwkSet::from_json(br#"{"keys":[]}"#)?.keys().is_empty());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn from_json(json: &[u8]) -> Result<Self, Error> {
        match serde_json::from_slice::<Value>(json) {
            Ok(Value::Object(object)) => Ok(Self::from_object(&object)?),
            _ => Err(JoseError::Malformed("a JWK Set must be a JSON object").into()),
        }
    }

    pub(crate) fn from_object(object: &Map<String, Value>) -> Result<Self, JoseError> {
        let Some(Value::Array(members)) = object.get("keys") else {
            return Err(JoseError::Malformed("a JWK Set must have a `keys` array"));
        };
        let mut set = JwkSet::default();
        for member in members {
            if set.keys.len() == MAX_KEYS {
                set.ignored += 1;
                continue;
            }
            match member {
                Value::Object(object) => match Jwk::from_object(object) {
                    Ok(key) => set.keys.push(key),
                    Err(Unreadable::Unsupported(_) | Unreadable::Invalid(_)) => set.ignored += 1,
                },
                _ => set.ignored += 1,
            }
        }
        Ok(set)
    }

    /// The usable keys, in the order published.
    ///
    /// ```
    /// assert!(grantline::jose::JwkSet::default().keys().is_empty());
    /// ```
    #[must_use]
    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    /// How many members of the document were skipped (unsupported or invalid).
    ///
    /// ```
    /// assert_eq!(grantline::jose::JwkSet::default().ignored(), 0);
    /// ```
    #[must_use]
    pub fn ignored(&self) -> usize {
        self.ignored
    }

    /// The key with this `kid`, if any.
    ///
    /// ```
    /// assert!(grantline::jose::JwkSet::default().find("k").is_none());
    /// ```
    #[must_use]
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid.as_deref() == Some(kid))
    }

    /// The set's public keys as a JWK Set document (symmetric keys are left out).
    ///
    /// ```
    /// let set = grantline::jose::JwkSet::new(vec![grantline::jose::Jwk::symmetric(b"s")?]);
    /// assert_eq!(set.to_public_json()["keys"].as_array().unwrap().len(), 0);
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn to_public_json(&self) -> Value {
        let keys = self.keys.iter().filter_map(Jwk::to_public_json).collect();
        let mut object = Map::new();
        object.insert("keys".into(), Value::Array(keys));
        Value::Object(object)
    }

    /// Verifies a signature with the key the header designates.
    ///
    /// The header's `alg` has already been checked against the caller's allowed list. Keys are
    /// chosen by `kid` when the header has one; otherwise every key fitting the algorithm is
    /// tried (at most [`MAX_CANDIDATES`]).
    pub(crate) fn verify(
        &self,
        header: &JwsHeader,
        input: &[u8],
        signature: &[u8],
    ) -> Result<(), JoseError> {
        let alg = header.algorithm();
        let no_key = || JoseError::NoMatchingKey {
            kid: header.key_id().map(|kid| crate::error::bounded(kid, 256)),
        };
        let mut matched = false;
        let mut tried = 0;
        for key in &self.keys {
            if let Some(kid) = header.key_id() {
                if key.kid.as_deref() != Some(kid) {
                    continue;
                }
            }
            matched = true;
            if key.check_fits(alg).is_err() {
                continue;
            }
            if tried == MAX_CANDIDATES {
                break;
            }
            tried += 1;
            if crypto::verify(alg, &key.key, input, signature).is_ok() {
                return Ok(());
            }
        }
        match (tried, matched, header.key_id()) {
            (0, false, _) => Err(no_key()),
            // The token's kid names a key of another family or algorithm.
            (0, true, Some(_)) => Err(JoseError::KeyAlgorithmMismatch),
            (0, true, None) => Err(no_key()),
            _ => Err(JoseError::InvalidSignature),
        }
    }
}

impl FromIterator<Jwk> for JwkSet {
    fn from_iter<I: IntoIterator<Item = Jwk>>(iter: I) -> Self {
        Self::new(iter.into_iter().collect())
    }
}

impl From<Jwk> for JwkSet {
    fn from(key: Jwk) -> Self {
        Self::new(vec![key])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str =
        r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

    #[test]
    fn unsupported_and_invalid_members_are_skipped() {
        let set = JwkSet::from_json(
            format!(
                r#"{{"keys":[{ED},{{"kty":"RSA","n":"AQAB","e":"AQAB"}},{{"kty":"X"}},1,
                {{"kty":"EC","crv":"P-256","x":"!!","y":"AA"}},{{"kty":"oct","k":""}}]}}"#
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(set.keys().len(), 1);
        assert_eq!(set.ignored(), 5);
    }

    #[test]
    fn sets_are_capped() {
        let keys = vec![ED; MAX_KEYS + 5].join(",");
        let set = JwkSet::from_json(format!(r#"{{"keys":[{keys}]}}"#).as_bytes()).unwrap();
        assert_eq!(set.keys().len(), MAX_KEYS);
        assert_eq!(set.ignored(), 5);
    }

    #[test]
    fn use_and_key_ops_restrict_verification() {
        let enc = Jwk::from_json(&ED.replace('}', r#","use":"enc"}"#)).unwrap();
        assert!(!enc.can_verify(Algorithm::EdDSA));
        let sign_only = Jwk::from_json(&ED.replace('}', r#","key_ops":["sign"]}"#)).unwrap();
        assert!(!sign_only.can_verify(Algorithm::EdDSA));
        let verify = Jwk::from_json(&ED.replace('}', r#","key_ops":["verify"]}"#)).unwrap();
        assert!(verify.can_verify(Algorithm::EdDSA));
        assert!(verify.can_verify(Algorithm::Ed25519));
    }

    #[test]
    fn leading_zeros_of_rsa_members_are_dropped() {
        let n = [&[0u8, 0, 0xc5][..], &[0x11; 255][..]].concat();
        let jwk = Jwk::rsa(&n, &[0, 1, 0, 1]).unwrap();
        let PublicKey::Rsa { n, e } = &jwk.key else {
            panic!()
        };
        assert_eq!(n.len(), 256);
        assert_eq!(e, &[1, 0, 1]);
        assert!(Jwk::rsa(&[0xff; 255], &[1, 0, 1]).is_err(), "2040 bits");
    }
}
