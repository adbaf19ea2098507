//! Private keys that sign, and the trait for a signer the application brings (HSM, cloud KMS).

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::algorithm::Algorithm;
use super::crypto::PrivateKey;
use super::jwk::{Jwk, b64_decode, curve_named, read_public_key};
use crate::Error;
use crate::error::JoseError;

/// Something that makes JWS signatures: a [`SigningKey`] held in memory, or a key the
/// application keeps elsewhere (an HSM, a cloud KMS, a hardware token).
///
/// grantline hands the signer the JWS Signing Input (`base64url(header) . base64url(payload)`)
/// and expects the signature bytes in JWS form: for RSA the raw signature, for ECDSA the fixed
/// `r || s` concatenation (RFC 7518 §3.4; convert a KMS's DER output with
/// [`ecdsa_der_to_jose`](super::ecdsa_der_to_jose)), for EdDSA the 64-byte signature.
///
/// ```
/// use grantline::jose::{Algorithm, JwsSigner};
///
/// /// A signer that asks a (here pretend) KMS.
/// #[derive(Debug)]
/// struct Kms {
///     key_name: String,
/// }
///
/// impl JwsSigner for Kms {
///     fn algorithm(&self) -> Algorithm {
///         Algorithm::ES256
///     }
///     fn key_id(&self) -> Option<&str> {
///         Some(&self.key_name)
///     }
///     fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, grantline::Error> {
///         let _ = signing_input; // call the KMS here (a blocking call, or a pre-signed cache)
///         Ok(vec![0; 64])
///     }
/// }
///
/// let auth = grantline::client_auth::PrivateKeyJwt::with_signer(Kms { key_name: "k1".into() });
/// # let _ = auth;
/// ```
pub trait JwsSigner: fmt::Debug + Send + Sync {
    /// The algorithm of every signature this signer makes.
    fn algorithm(&self) -> Algorithm;

    /// The key id to put in the header (`kid`), if the verifier needs one to find the key.
    fn key_id(&self) -> Option<&str> {
        None
    }

    /// Signs the JWS Signing Input.
    ///
    /// # Errors
    ///
    /// Whatever stops the signer (report it as [`JoseError::Signing`] or your own error kind).
    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, Error>;
}

/// A private key held in memory, with the algorithm it signs with and an optional key id.
///
/// Loaded from a JWK (with its private members), from PKCS#8 (`PRIVATE KEY`) DER or PEM, from
/// PKCS#1 (`RSA PRIVATE KEY`) PEM, or as an HMAC secret. Cheap to clone; `Debug` never shows
/// key material.
///
/// ```
/// use grantline::jose::{Algorithm, SigningKey};
///
/// // RFC 8037 §A.1
/// let key = SigningKey::from_jwk(r#"{"kty":"OKP","crv":"Ed25519","kid":"ed",
///     "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
/// assert_eq!(key.algorithm(), Algorithm::EdDSA);
/// assert_eq!(key.key_id(), Some("ed"));
/// let public = key.public_jwk().unwrap();
/// assert_eq!(public.key_type(), "OKP");
/// assert!(!format!("{key:?}").contains("nWGxne"));
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Clone)]
pub struct SigningKey {
    alg: Algorithm,
    kid: Option<String>,
    key: Arc<PrivateKey>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("key", &self.key)
            .finish()
    }
}

fn private_member(object: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, JoseError> {
    match object.get(name) {
        Some(Value::String(text)) => b64_decode(text).ok_or(JoseError::InvalidKey(
            "a private key member is not base64url",
        )),
        _ => Err(JoseError::InvalidKey(
            "the JWK lacks a private member this key type needs",
        )),
    }
}

impl SigningKey {
    fn new(key: PrivateKey, alg: Option<Algorithm>) -> Result<Self, Error> {
        let alg = alg.unwrap_or_else(|| key.default_algorithm());
        // A key of one family never signs for another (and an EC key only on its curve).
        key.sign(alg, b"")
            .map_err(|_| JoseError::KeyAlgorithmMismatch)?;
        Ok(Self {
            alg,
            kid: None,
            key: Arc::new(key),
        })
    }

    /// A private key from a JWK with its private members: RSA (`d p q dp dq qi`), EC P-256 or
    /// P-384 (`d`), OKP Ed25519 (`d`), or `oct` (`k`). The algorithm is the JWK's `alg`, or else
    /// RS256, ES256, ES384, EdDSA or HS256 by key type; the key id is its `kid`.
    ///
    /// # Errors
    ///
    /// [`JoseError::InvalidKey`] for a missing or malformed member, [`JoseError::Malformed`]
    /// for text that is not a JSON object, [`JoseError::KeyAlgorithmMismatch`] for an `alg`
    /// of another family.
    ///
    /// ```
    /// use grantline::{Error, error::JoseError, jose::SigningKey};
    /// let public_only = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
    /// assert!(matches!(SigningKey::from_jwk(public_only), Err(Error::Jose(JoseError::InvalidKey(_)))));
    /// ```
    pub fn from_jwk(json: &str) -> Result<Self, Error> {
        let Ok(Value::Object(object)) = serde_json::from_str::<Value>(json) else {
            return Err(JoseError::Malformed("a JWK must be a JSON object").into());
        };
        let alg = match object.get("alg") {
            Some(Value::String(alg)) => Some(Algorithm::parse_header_value(alg)?),
            None | Some(Value::Null) => None,
            Some(_) => return Err(JoseError::InvalidKey("`alg` is not a string").into()),
        };
        let key = match object.get("kty").and_then(Value::as_str) {
            Some("oct") => PrivateKey::Hmac(private_member(&object, "k")?),
            Some("RSA") => {
                // Checks the public half (modulus size, exponent) first.
                read_public_key(&object)?;
                let n = private_member(&object, "n")?;
                let e = private_member(&object, "e")?;
                let d = private_member(&object, "d")?;
                let p = private_member(&object, "p")?;
                let q = private_member(&object, "q")?;
                let dp = private_member(&object, "dp")?;
                let dq = private_member(&object, "dq")?;
                let qi = private_member(&object, "qi")?;
                PrivateKey::rsa_from_components([&n, &e, &d, &p, &q, &dp, &dq, &qi])?
            }
            Some("EC") => {
                let public = read_public_key(&object)?;
                let curve = object
                    .get("crv")
                    .and_then(Value::as_str)
                    .and_then(curve_named)
                    .ok_or(JoseError::InvalidKey("the curve is not supported"))?;
                let super::crypto::PublicKey::Ec { point, .. } = public else {
                    return Err(JoseError::InvalidKey("the EC key is malformed").into());
                };
                let d = private_member(&object, "d")?;
                PrivateKey::ec_from_scalar(curve, &d, &point)?
            }
            Some("OKP") => {
                let super::crypto::PublicKey::Ed25519 { x } = read_public_key(&object)? else {
                    return Err(JoseError::InvalidKey("the OKP key is malformed").into());
                };
                let d = private_member(&object, "d")?;
                PrivateKey::ed25519_from_seed(&d, &x)?
            }
            _ => return Err(JoseError::InvalidKey("the key type is not supported").into()),
        };
        let mut signing_key = Self::new(key, alg)?;
        signing_key.kid = object.get("kid").and_then(Value::as_str).map(str::to_owned);
        Ok(signing_key)
    }

    /// A private key from PKCS#8 DER, for `alg` (RSA keys for `RS*`/`PS*`, P-256 for ES256,
    /// P-384 for ES384, Ed25519 for EdDSA).
    ///
    /// # Errors
    ///
    /// [`JoseError::InvalidKey`] when the DER does not hold a key for `alg`, and
    /// [`JoseError::KeyAlgorithmMismatch`] for an HMAC algorithm.
    ///
    /// ```
    /// use grantline::jose::{Algorithm, SigningKey};
    /// assert!(SigningKey::from_pkcs8_der(Algorithm::ES256, b"not DER").is_err());
    /// ```
    pub fn from_pkcs8_der(alg: Algorithm, der: &[u8]) -> Result<Self, Error> {
        Self::new(PrivateKey::from_pkcs8(alg, der)?, Some(alg))
    }

    /// A private key from PEM: `PRIVATE KEY` (PKCS#8) for any family, or `RSA PRIVATE KEY`
    /// (PKCS#1) for RSA. (`EC PRIVATE KEY` must be converted to PKCS#8 first, for instance with
    /// `openssl pkcs8 -topk8 -nocrypt`.)
    ///
    /// # Errors
    ///
    /// [`JoseError::InvalidKey`] for text that is not one PEM block of those labels, or a key
    /// that does not suit `alg`.
    ///
    /// ```
    /// use grantline::jose::{Algorithm, SigningKey};
    /// let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n";
    /// let key = SigningKey::from_pem(Algorithm::EdDSA, pem)?;
    /// assert_eq!(key.algorithm(), Algorithm::EdDSA);
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn from_pem(alg: Algorithm, pem: &str) -> Result<Self, Error> {
        let (label, der) = pem_decode(pem)?;
        match label.as_str() {
            "PRIVATE KEY" => Self::from_pkcs8_der(alg, &der),
            "RSA PRIVATE KEY" if alg.key_type() == "RSA" => {
                Self::new(PrivateKey::from_pkcs1(&der)?, Some(alg))
            }
            _ => Err(JoseError::InvalidKey(
                "the PEM block is not a PRIVATE KEY (PKCS#8) or an RSA PRIVATE KEY (PKCS#1) for this algorithm",
            )
            .into()),
        }
    }

    /// An HMAC secret for `HS256`, `HS384` or `HS512` (`client_secret_jwt` uses the client
    /// secret's UTF-8 bytes).
    ///
    /// # Errors
    ///
    /// [`JoseError::KeyAlgorithmMismatch`] for a non-HMAC algorithm, [`JoseError::InvalidKey`]
    /// for an empty secret.
    ///
    /// ```
    /// use grantline::jose::{Algorithm, SigningKey};
    /// assert!(SigningKey::hmac(Algorithm::HS384, b"secret").is_ok());
    /// assert!(SigningKey::hmac(Algorithm::RS256, b"secret").is_err());
    /// ```
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Self, Error> {
        if secret.is_empty() {
            return Err(JoseError::InvalidKey("the HMAC secret is empty").into());
        }
        Self::new(PrivateKey::Hmac(secret.to_vec()), Some(alg))
    }

    /// Sets the key id put in signed headers (`kid`).
    ///
    /// ```
    /// # use grantline::jose::{Algorithm, SigningKey};
    /// let key = SigningKey::hmac(Algorithm::HS256, b"s")?.with_key_id("2024");
    /// assert_eq!(key.key_id(), Some("2024"));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn with_key_id(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The same key signing with another algorithm of its family (RS256 to PS256, for one).
    ///
    /// # Errors
    ///
    /// [`JoseError::KeyAlgorithmMismatch`] for an algorithm of another family or curve.
    ///
    /// ```
    /// # use grantline::jose::{Algorithm, SigningKey};
    /// let key = SigningKey::hmac(Algorithm::HS256, b"s")?.with_algorithm(Algorithm::HS512)?;
    /// assert_eq!(key.algorithm(), Algorithm::HS512);
    /// assert!(key.with_algorithm(Algorithm::EdDSA).is_err());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn with_algorithm(self, alg: Algorithm) -> Result<Self, Error> {
        self.key
            .sign(alg, b"")
            .map_err(|_| JoseError::KeyAlgorithmMismatch)?;
        Ok(Self { alg, ..self })
    }

    /// The algorithm this key signs with.
    ///
    /// ```
    /// # use grantline::jose::{Algorithm, SigningKey};
    /// assert_eq!(SigningKey::hmac(Algorithm::HS256, b"s")?.algorithm(), Algorithm::HS256);
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key id, if set.
    ///
    /// ```
    /// # use grantline::jose::{Algorithm, SigningKey};
    /// assert_eq!(SigningKey::hmac(Algorithm::HS256, b"s")?.key_id(), None);
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn key_id(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The public key, as a JWK with this key's `kid`, `alg` and `use: sig`, to publish or
    /// register (`None` for an HMAC secret).
    ///
    /// ```
    /// # use grantline::jose::{Algorithm, SigningKey};
    /// assert!(SigningKey::hmac(Algorithm::HS256, b"s")?.public_jwk().is_none());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn public_jwk(&self) -> Option<Jwk> {
        let jwk = Jwk::from_public_key(self.key.public_key()?).with_algorithm(self.alg);
        let mut object = match jwk.to_public_json()? {
            Value::Object(object) => object,
            _ => return None,
        };
        object.insert("use".into(), "sig".into());
        if let Some(kid) = &self.kid {
            object.insert("kid".into(), kid.clone().into());
        }
        Jwk::from_json(&Value::Object(object).to_string()).ok()
    }
}

impl JwsSigner for SigningKey {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }

    fn key_id(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(self.key.sign(self.alg, signing_input)?)
    }
}

/// The label and DER bytes of the one PEM block in `pem`.
fn pem_decode(pem: &str) -> Result<(String, Vec<u8>), JoseError> {
    let invalid = JoseError::InvalidKey("the text is not one PEM block");
    let mut lines = pem.lines().map(str::trim).filter(|l| !l.is_empty());
    let label = lines
        .next()
        .and_then(|l| l.strip_prefix("-----BEGIN "))
        .and_then(|l| l.strip_suffix("-----"))
        .ok_or(invalid.clone())?
        .to_owned();
    let end = format!("-----END {label}-----");
    let mut body = String::new();
    let mut ended = false;
    for line in lines.by_ref() {
        if line == end {
            ended = true;
            break;
        }
        if line.contains(':') {
            // RFC 1421 headers (an encrypted key): not supported.
            return Err(JoseError::InvalidKey(
                "encrypted PEM keys are not supported: decrypt the key first",
            ));
        }
        body.push_str(line);
    }
    if !ended || lines.next().is_some() {
        return Err(invalid);
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|_| invalid)?;
    Ok((label, der))
}

/// Converts an ECDSA signature from ASN.1 DER (`SEQUENCE { r INTEGER, s INTEGER }`, what most
/// KMS and HSM APIs return) to the fixed `r || s` form JWS uses (RFC 7518 §3.4).
///
/// # Errors
///
/// [`JoseError::Signing`] when `der` is not such a sequence or the integers do not fit the
/// curve of `alg`, and [`JoseError::KeyAlgorithmMismatch`] for a non-ECDSA algorithm.
///
/// ```
/// use grantline::jose::{Algorithm, ecdsa_der_to_jose};
/// // SEQUENCE { INTEGER 1, INTEGER 2 }
/// let fixed = ecdsa_der_to_jose(Algorithm::ES256, &[0x30, 6, 2, 1, 1, 2, 1, 2])?;
/// assert_eq!(fixed.len(), 64);
/// assert_eq!((fixed[31], fixed[63]), (1, 2));
/// # Ok::<(), grantline::Error>(())
/// ```
pub fn ecdsa_der_to_jose(alg: Algorithm, der: &[u8]) -> Result<Vec<u8>, Error> {
    let len = match alg {
        Algorithm::ES256 => 32,
        Algorithm::ES384 => 48,
        _ => return Err(JoseError::KeyAlgorithmMismatch.into()),
    };
    let bad = || JoseError::Signing("the ECDSA signature is not DER `SEQUENCE { r, s }`");
    let (body, rest) = der_item(der, 0x30).ok_or_else(bad)?;
    if !rest.is_empty() {
        return Err(bad().into());
    }
    let (r, rest) = der_item(body, 0x02).ok_or_else(bad)?;
    let (s, rest) = der_item(rest, 0x02).ok_or_else(bad)?;
    if !rest.is_empty() {
        return Err(bad().into());
    }
    let mut fixed = vec![0; 2 * len];
    for (integer, slot) in [(r, 0), (s, len)] {
        let digits = integer
            .iter()
            .position(|b| *b != 0)
            .map_or(&[][..], |start| integer.get(start..).unwrap_or_default());
        if digits.len() > len {
            return Err(bad().into());
        }
        let start = slot + len - digits.len();
        fixed
            .get_mut(start..slot + len)
            .ok_or_else(bad)?
            .copy_from_slice(digits);
    }
    Ok(fixed)
}

/// The DER OIDs of the keys a DPoP key can be exported as (RFC 5480, RFC 8410).
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// One DER item: `tag`, its length (short or long form), `body`.
fn der(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = body.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or_default());
    } else if len <= 0xff {
        out.extend([0x81, u8::try_from(len).unwrap_or_default()]);
    } else {
        out.extend([
            0x82,
            u8::try_from(len >> 8).unwrap_or_default(),
            u8::try_from(len & 0xff).unwrap_or_default(),
        ]);
    }
    out.extend_from_slice(body);
    out
}

/// A PKCS#8 (RFC 5208) document for an EC or Ed25519 private key given as JWK members: the
/// scalar or seed `d`, and for EC the public point `04 || x || y` (ring requires it).
/// `None` for another algorithm.
pub(crate) fn pkcs8_from_parts(alg: Algorithm, d: &[u8], point: Option<&[u8]>) -> Option<Vec<u8>> {
    let version0 = der(0x02, &[0]);
    match alg {
        Algorithm::ES256 | Algorithm::ES384 => {
            let curve = if alg == Algorithm::ES256 {
                OID_P256
            } else {
                OID_P384
            };
            let algorithm = der(
                0x30,
                &[der(0x06, OID_EC_PUBLIC_KEY), der(0x06, curve)].concat(),
            );
            let mut bit_string = vec![0];
            bit_string.extend_from_slice(point?);
            let ec_private_key = der(
                0x30,
                &[
                    der(0x02, &[1]),
                    der(0x04, d),
                    der(0xa1, &der(0x03, &bit_string)),
                ]
                .concat(),
            );
            Some(der(
                0x30,
                &[version0, algorithm, der(0x04, &ec_private_key)].concat(),
            ))
        }
        Algorithm::EdDSA | Algorithm::Ed25519 => {
            let algorithm = der(0x30, &der(0x06, OID_ED25519));
            Some(der(
                0x30,
                &[version0, algorithm, der(0x04, &der(0x04, d))].concat(),
            ))
        }
        _ => None,
    }
}

/// The private scalar (EC) or seed (Ed25519) inside a PKCS#8 document, as ring writes and
/// reads them. `None` for anything else (RSA among them).
pub(crate) fn pkcs8_private_part(document: &[u8]) -> Option<Vec<u8>> {
    let (body, _) = der_item(document, 0x30)?;
    let (_version, rest) = der_item(body, 0x02)?;
    let (algorithm, rest) = der_item(rest, 0x30)?;
    let (private_key, _) = der_item(rest, 0x04)?;
    let (oid, _) = der_item(algorithm, 0x06)?;
    if oid == OID_ED25519 {
        let (seed, _) = der_item(private_key, 0x04)?;
        return Some(seed.to_vec());
    }
    if oid == OID_EC_PUBLIC_KEY {
        let (ec, _) = der_item(private_key, 0x30)?;
        let (_version, rest) = der_item(ec, 0x02)?;
        let (scalar, _) = der_item(rest, 0x04)?;
        return Some(scalar.to_vec());
    }
    None
}

/// One DER item of `tag` with a short or one/two-byte long length: its body and what follows.
fn der_item(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81 => {
            let (&len, rest) = rest.split_first()?;
            (usize::from(len), rest)
        }
        0x82 => {
            let (bytes, rest) = rest.split_at_checked(2)?;
            (
                usize::from(*bytes.first()?) << 8 | usize::from(*bytes.get(1)?),
                rest,
            )
        }
        _ => return None,
    };
    rest.split_at_checked(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_conversion_rejects_garbage() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 6, 2, 1, 1, 2, 1],
            &[0x30, 6, 2, 1, 1, 2, 1, 2, 0],
            &[0x31, 6, 2, 1, 1, 2, 1, 2],
            &[0x30, 0x83, 0, 0, 0],
        ] {
            assert!(ecdsa_der_to_jose(Algorithm::ES256, bad).is_err(), "{bad:?}");
        }
        // A 33-byte r with a leading zero (its high bit set) still fits.
        let mut der = vec![0x30, 0x45, 0x02, 0x21, 0x00];
        der.extend([0x80; 32]);
        der.extend([0x02, 0x20]);
        der.extend([0x01; 32]);
        let fixed = ecdsa_der_to_jose(Algorithm::ES256, &der).unwrap();
        assert_eq!(&fixed[..32], &[0x80; 32]);
        assert!(ecdsa_der_to_jose(Algorithm::RS256, &der).is_err());
    }

    #[test]
    fn pem_blocks_are_read_strictly() {
        assert!(pem_decode("no pem").is_err());
        assert!(pem_decode("-----BEGIN PRIVATE KEY-----\nAAAA\n").is_err());
        assert!(
            pem_decode("-----BEGIN X-----\nProc-Type: 4,ENCRYPTED\nAAAA\n-----END X-----").is_err()
        );
        let (label, der) = pem_decode("-----BEGIN X-----\r\nAAEC\r\n-----END X-----\r\n").unwrap();
        assert_eq!((label.as_str(), der.as_slice()), ("X", &[0, 1, 2][..]));
    }
}
