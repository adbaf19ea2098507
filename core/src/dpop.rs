//! DPoP (RFC 9449): tokens bound to a key the client holds, so a leaked token is useless
//! without the key.
//!
//! Turn it on with one line, [`ClientBuilder::dpop`](crate::ClientBuilder::dpop): from then on
//! every request to the token endpoint (code exchange, refresh, client credentials, device,
//! CIBA, token exchange, custom grants) and to the PAR endpoint carries a fresh proof; a
//! `use_dpop_nonce` answer makes the flow send once more with the server's nonce (a second one
//! in a row is an error, not a loop); the last nonce of each server is remembered for the next
//! request; a token that comes back as `Bearer` instead of `DPoP` is refused unless
//! [`ClientBuilder::insecure_dpop_allow_bearer`](crate::ClientBuilder::insecure_dpop_allow_bearer) says otherwise.
//! At resource servers, [`DpopKey::proof`] with the access token gives the proof (with `ath`)
//! for each request, which the transports' auth handlers send.
//!
//! ```
//! // `testing::Driver` plays the server here; it needs grantline's `testing` feature.
//! use grantline::{Client, TokenType, dpop::DpopKey, grant::TokenRequest, jose::Algorithm, testing::Driver};
//!
//! let client = Client::builder("svc")
//!     .token_endpoint("https://as.example/token")
//!     .client_secret_basic("s")
//!     .dpop(DpopKey::generate(Algorithm::ES256)?)
//!     .build()?;
//! let mut driver = Driver::new()
//!     .reply(http::Response::builder().status(400).header("dpop-nonce", "n-1")
//!         .body(br#"{"error":"use_dpop_nonce"}"#.to_vec()).unwrap())
//!     .reply_json(200, r#"{"access_token":"at","token_type":"DPoP"}"#);
//! let token = driver.run(client.request_token(TokenRequest::client_credentials())?).unwrap();
//! assert_eq!(token.token_type(), &TokenType::DPoP);
//! // Two requests, each with its own proof; the second carries the nonce.
//! assert_eq!(driver.transcript().requests().filter(|r| r.headers().contains_key("dpop")).count(), 2);
//! # Ok::<(), grantline::Error>(())
//! ```

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use url::Url;

use crate::Error;
use crate::error::{ConfigError, JoseError};
use crate::jose::{Algorithm, Claims, Jwk, JwsHeader, JwsSigner, SigningKey, sign};
use crate::random::Randomness;
use crate::secret::{AccessToken, PrivateKeyDer, PrivateKeyJwk};

/// The `typ` of a DPoP proof (RFC 9449 §4.2).
const PROOF_TYPE: &str = "dpop+jwt";

/// The key a client proves possession of: its signer, public JWK and RFC 7638 thumbprint.
///
/// ```
/// use grantline::{dpop::DpopKey, jose::Algorithm};
/// let key = DpopKey::generate(Algorithm::ES256)?;
/// assert_eq!(key.thumbprint().len(), 43);
/// assert!(key.public_jwk().to_public_json().unwrap().get("d").is_none());
/// # Ok::<(), grantline::Error>(())
/// ```
#[derive(Clone)]
pub struct DpopKey {
    signer: Arc<dyn JwsSigner>,
    jwk: Jwk,
    public_json: serde_json::Value,
    thumbprint: String,
    /// The private key as PKCS#8 DER, for the keys that can be exported (generated here, or
    /// imported as EC or Ed25519 PKCS#8 or JWK); `None` for a signer-held key.
    pkcs8: Option<(Algorithm, Arc<Vec<u8>>)>,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey")
            .field("algorithm", &self.signer.algorithm())
            .field("thumbprint", &self.thumbprint)
            .field("exportable", &self.pkcs8.is_some())
            .finish_non_exhaustive()
    }
}

impl DpopKey {
    /// A new key: ES256 (the default DPoP algorithm here, and what every server accepts), ES384
    /// or EdDSA. The private key comes from the operating system's random source and never
    /// leaves memory.
    ///
    /// # Errors
    ///
    /// [`Error::Jose`] for another algorithm, or when the random source fails.
    ///
    /// ```
    /// use grantline::{dpop::DpopKey, jose::Algorithm};
    /// assert!(DpopKey::generate(Algorithm::EdDSA).is_ok());
    /// assert!(DpopKey::generate(Algorithm::HS256).is_err());
    /// ```
    pub fn generate(alg: Algorithm) -> Result<Self, Error> {
        let der = crate::jose::generate_pkcs8(alg)?;
        Self::from_pkcs8_der(alg, &der)
    }

    /// A key from PKCS#8 DER (what [`to_pkcs8_der`](Self::to_pkcs8_der) exports, or what
    /// `openssl genpkey` writes) for `alg`: ES256 (P-256), ES384 (P-384), EdDSA (Ed25519), or an
    /// RSA algorithm. EC and Ed25519 keys can be exported again.
    ///
    /// # Errors
    ///
    /// [`Error::Jose`] when the DER does not hold a key for `alg`, or for an HMAC algorithm.
    ///
    /// ```
    /// use grantline::{dpop::DpopKey, jose::Algorithm};
    /// let key = DpopKey::generate(Algorithm::ES256)?;
    /// let stored = key.to_pkcs8_der()?; // keep it as you keep a password
    /// let back = DpopKey::from_pkcs8_der(Algorithm::ES256, stored.secret())?;
    /// assert_eq!(back.thumbprint(), key.thumbprint());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn from_pkcs8_der(alg: Algorithm, der: &[u8]) -> Result<Self, Error> {
        let mut key = Self::from_signing_key(SigningKey::from_pkcs8_der(alg, der)?)?;
        if crate::jose::pkcs8_private_part(der).is_some() {
            key.pkcs8 = Some((alg, Arc::new(der.to_vec())));
        }
        Ok(key)
    }

    /// A key from a private JWK (what [`to_jwk`](Self::to_jwk) exports): EC P-256 or P-384,
    /// OKP Ed25519, or RSA. The algorithm is the JWK's `alg`, or ES256, ES384 or EdDSA by curve
    /// (RS256 for RSA). EC and Ed25519 keys can be exported again.
    ///
    /// # Errors
    ///
    /// [`Error::Jose`] for a JWK without its private members, a symmetric (`oct`) key, or an
    /// `alg` that does not fit the key.
    ///
    /// ```
    /// use grantline::{dpop::DpopKey, jose::Algorithm};
    /// let key = DpopKey::generate(Algorithm::EdDSA)?;
    /// let stored = key.to_jwk()?;
    /// let back = DpopKey::from_jwk(stored.secret())?;
    /// assert_eq!(back.thumbprint(), key.thumbprint());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn from_jwk(json: &str) -> Result<Self, Error> {
        let signing = SigningKey::from_jwk(json)?;
        let alg = signing.algorithm();
        let public = signing.public_jwk().ok_or(JoseError::Signing(
            "a DPoP key must be asymmetric, not an HMAC secret",
        ))?;
        // EC and Ed25519 keys are kept as PKCS#8 too, so that they can be exported again.
        let d = serde_json::from_str::<serde_json::Value>(json)
            .ok()
            .and_then(|v| {
                v.get("d")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
            })
            .and_then(|d| crate::jose::b64_decode(&d));
        let point = public.to_public_json().and_then(|p| {
            let x = crate::jose::b64_decode(p.get("x")?.as_str()?)?;
            let y = crate::jose::b64_decode(p.get("y")?.as_str()?)?;
            Some([&[0x04][..], &x, &y].concat())
        });
        if let Some(der) = d.and_then(|d| crate::jose::pkcs8_from_parts(alg, &d, point.as_deref()))
        {
            let key = Self::from_pkcs8_der(alg, &der)?;
            if key.thumbprint() == public.thumbprint().unwrap_or_default() {
                return Ok(key);
            }
        }
        Self::from_signing_key(signing)
    }

    /// The private key as PKCS#8 DER, to keep a DPoP key (and the tokens bound to it, a
    /// refresh token among them) across restarts. [`from_pkcs8_der`](Self::from_pkcs8_der)
    /// reads it back.
    ///
    /// # Errors
    ///
    /// [`Error::Jose`] for a key that cannot be exported: one held by a signer
    /// ([`with_signer`](Self::with_signer): an HSM, a KMS), or an RSA key (keep the key you
    /// gave grantline instead).
    ///
    /// ```
    /// use grantline::{dpop::DpopKey, jose::Algorithm};
    /// let der = DpopKey::generate(Algorithm::ES384)?.to_pkcs8_der()?;
    /// assert_eq!(der.secret().first(), Some(&0x30));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn to_pkcs8_der(&self) -> Result<PrivateKeyDer, Error> {
        let (_, der) = self.exportable()?;
        Ok(PrivateKeyDer::new(der.to_vec()))
    }

    /// The private key as a JWK with its private member `d` (and `alg`), to keep a DPoP key
    /// across restarts. [`from_jwk`](Self::from_jwk) reads it back.
    ///
    /// # Errors
    ///
    /// As for [`to_pkcs8_der`](Self::to_pkcs8_der).
    ///
    /// ```
    /// use grantline::{dpop::DpopKey, jose::Algorithm};
    /// let jwk = DpopKey::generate(Algorithm::ES256)?.to_jwk()?;
    /// let parsed: serde_json::Value = serde_json::from_str(jwk.secret()).unwrap();
    /// assert_eq!(parsed["kty"], "EC");
    /// assert!(parsed.get("d").is_some());
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn to_jwk(&self) -> Result<PrivateKeyJwk, Error> {
        let (alg, der) = self.exportable()?;
        let d = crate::jose::pkcs8_private_part(der).ok_or(JoseError::InvalidKey(
            "the key's PKCS#8 document holds no private part",
        ))?;
        let mut jwk = match &self.public_json {
            serde_json::Value::Object(members) => members.clone(),
            _ => return Err(JoseError::InvalidKey("the public key is not a JWK object").into()),
        };
        jwk.insert("d".to_owned(), crate::jose::b64_encode(&d).into());
        jwk.insert("alg".to_owned(), alg.as_str().into());
        Ok(PrivateKeyJwk::new(
            serde_json::Value::Object(jwk).to_string(),
        ))
    }

    fn exportable(&self) -> Result<(Algorithm, &[u8]), Error> {
        self.pkcs8
            .as_ref()
            .map(|(alg, der)| (*alg, der.as_slice()))
            .ok_or_else(|| {
                JoseError::InvalidKey(
                    "this DPoP key cannot be exported: it is held by a signer (HSM, KMS) or is an RSA key; keep the key material you built it from",
                )
                .into()
            })
    }

    /// A key from a private key the application holds (RS256, PS256, ES256, EdDSA, ...).
    ///
    /// # Errors
    ///
    /// [`Error::Jose`] for a symmetric (HMAC) key, which cannot prove possession.
    ///
    /// ```
    /// use grantline::{dpop::DpopKey, jose::SigningKey};
    /// let key = SigningKey::from_jwk(r#"{"kty":"OKP","crv":"Ed25519",
    ///     "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    ///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
    /// let dpop = DpopKey::from_signing_key(key)?;
    /// // RFC 8037 §A.3's thumbprint of this key.
    /// assert_eq!(dpop.thumbprint(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn from_signing_key(key: SigningKey) -> Result<Self, Error> {
        let jwk = key.public_jwk().ok_or(JoseError::Signing(
            "a DPoP key must be asymmetric, not an HMAC secret",
        ))?;
        Self::with_signer(key, jwk)
    }

    /// A key held elsewhere (an HSM, a cloud KMS): `signer` signs, `public_jwk` is its public
    /// half.
    ///
    /// # Errors
    ///
    /// [`Error::Jose`] when the JWK is not a public key that fits the signer's algorithm.
    ///
    /// ```
    /// # use grantline::{dpop::DpopKey, jose::SigningKey};
    /// # let key = SigningKey::from_jwk(r#"{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
    /// let public = key.public_jwk().unwrap();
    /// let dpop = DpopKey::with_signer(key, public)?; // in real use, your KMS signer
    /// # let _ = dpop;
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn with_signer(signer: impl JwsSigner + 'static, public_jwk: Jwk) -> Result<Self, Error> {
        if !public_jwk.can_verify(signer.algorithm()) {
            return Err(
                JoseError::Signing("the public JWK does not fit the signer's algorithm").into(),
            );
        }
        let public_json = public_jwk
            .to_public_json()
            .ok_or(JoseError::Signing("a DPoP key must be asymmetric"))?;
        let thumbprint = public_jwk
            .thumbprint()
            .ok_or(JoseError::Signing("the key has no RFC 7638 thumbprint"))?;
        Ok(Self {
            signer: Arc::new(signer),
            jwk: public_jwk,
            public_json,
            thumbprint,
            pkcs8: None,
        })
    }

    /// The algorithm the key signs proofs with.
    pub(crate) fn algorithm(&self) -> crate::jose::Algorithm {
        self.signer.algorithm()
    }

    /// The public key, as a JWK.
    ///
    /// ```
    /// # let key = grantline::dpop::DpopKey::generate(grantline::jose::Algorithm::ES256)?;
    /// assert_eq!(key.public_jwk().key_type(), "EC");
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn public_jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// The public key's RFC 7638 thumbprint (base64url SHA-256), as `dpop_jkt` and `cnf.jkt`
    /// carry it.
    ///
    /// ```
    /// # let key = grantline::dpop::DpopKey::generate(grantline::jose::Algorithm::ES256)?;
    /// assert!(!key.thumbprint().contains('='));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    #[must_use]
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// A proof for one request (RFC 9449 §4.2): `typ: dpop+jwt` and the public `jwk` in the
    /// header; a fresh random `jti`, `htm`, `htu` (see [`htu`]), `iat` from `now`, the server's
    /// `nonce` if it gave one, and `ath` (the access token's hash) for a resource server.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidEndpoint`] for a target that is not an absolute http(s) URL, and
    /// the signer's or random source's failures.
    ///
    /// ```
    /// use grantline::{dpop::DpopKey, jose::{Algorithm, UnverifiedJws}, random::SystemRandom};
    /// let key = DpopKey::generate(Algorithm::ES256)?;
    /// let proof = key.proof("POST", "https://as.example/token?x=1", grantline::Now::system().wall(), &SystemRandom, None, None)?;
    /// let parsed = UnverifiedJws::parse(&proof)?;
    /// assert_eq!(parsed.header().token_type(), Some("dpop+jwt"));
    /// # Ok::<(), grantline::Error>(())
    /// ```
    pub fn proof(
        &self,
        method: &str,
        uri: &str,
        now: SystemTime,
        randomness: &dyn Randomness,
        nonce: Option<&str>,
        access_token: Option<&AccessToken>,
    ) -> Result<String, Error> {
        let mut jti = [0u8; 16];
        randomness.fill(&mut jti)?;
        let mut claims = Claims::new()
            .with("jti", URL_SAFE_NO_PAD.encode(jti))
            .with("htm", method)
            .with("htu", htu(uri)?)
            .with_time("iat", now);
        if let Some(nonce) = nonce {
            claims = claims.with("nonce", nonce);
        }
        if let Some(token) = access_token {
            claims = claims.with("ath", ath(token));
        }
        let header = JwsHeader::new(self.signer.algorithm())
            .with_type(PROOF_TYPE)
            .with_param("jwk", self.public_json.clone());
        sign(&*self.signer, header, &claims.to_json())
    }
}

/// The `htu` of a request to `uri` (RFC 9449 §4.2, §4.3): the URI without query and fragment,
/// with scheme and host lowercased and a default port left out.
///
/// # Errors
///
/// [`ConfigError::InvalidEndpoint`] for anything but an absolute http(s) URL.
///
/// ```
/// use grantline::dpop::htu;
/// assert_eq!(htu("HTTPS://AS.Example:443/token?x=1#f")?, "https://as.example/token");
/// assert_eq!(htu("http://127.0.0.1:8080/t")?, "http://127.0.0.1:8080/t");
/// # Ok::<(), grantline::Error>(())
/// ```
pub fn htu(uri: &str) -> Result<String, Error> {
    let invalid = || ConfigError::InvalidEndpoint {
        kind: crate::EndpointKind::Token,
        reason: "a DPoP proof's target must be an absolute http(s) URL",
    };
    let mut url = Url::parse(uri).map_err(|_| invalid())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid().into());
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url.to_string())
}

/// The `ath` of an access token: base64url SHA-256 of its ASCII bytes (RFC 9449 §4.2).
///
/// ```
/// use grantline::{dpop::ath, secret::AccessToken};
/// // RFC 9449 §7.1's example.
/// assert_eq!(
///     ath(&AccessToken::new("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU")),
///     "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
/// );
/// ```
#[must_use]
pub fn ath(access_token: &AccessToken) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.secret().as_bytes()))
}

/// The last DPoP nonce each server gave (by origin: scheme, host and port), shared by a client
/// and its flows, and by the transports' auth handlers for resource servers.
///
/// ```
/// let nonces = grantline::dpop::DpopNonces::default();
/// nonces.remember("https://as.example/token", "n-1");
/// assert_eq!(nonces.get("https://as.example/other").as_deref(), Some("n-1"));
/// assert_eq!(nonces.get("https://rs.example/"), None);
/// ```
///
/// The memory is bounded: the [`CAPACITY`](Self::CAPACITY) servers used most recently are kept
/// (a client that talks to more forgets the one it used longest ago, which then answers
/// `use_dpop_nonce` once more), and a nonce longer than [`MAX_NONCE_LEN`](Self::MAX_NONCE_LEN)
/// bytes is not kept.
#[derive(Debug, Default)]
pub struct DpopNonces {
    /// (origin, nonce), the most recently used last.
    by_origin: Mutex<VecDeque<(String, String)>>,
}

fn origin(uri: &str) -> Option<String> {
    Url::parse(uri)
        .ok()
        .map(|u| u.origin().ascii_serialization())
}

impl DpopNonces {
    /// How many servers' nonces are kept: 64.
    ///
    /// ```
    /// assert_eq!(grantline::dpop::DpopNonces::CAPACITY, 64);
    /// ```
    pub const CAPACITY: usize = 64;

    /// The longest nonce kept, in bytes: 1 KiB (RFC 9449 nonces are short opaque strings).
    ///
    /// ```
    /// let nonces = grantline::dpop::DpopNonces::default();
    /// nonces.remember("https://as.example/", &"n".repeat(grantline::dpop::DpopNonces::MAX_NONCE_LEN + 1));
    /// assert!(nonces.get("https://as.example/").is_none());
    /// ```
    pub const MAX_NONCE_LEN: usize = 1024;

    /// The nonce last given by the server of `uri`.
    ///
    /// ```
    /// assert!(grantline::dpop::DpopNonces::default().get("https://as.example/").is_none());
    /// ```
    #[must_use]
    pub fn get(&self, uri: &str) -> Option<String> {
        let origin = origin(uri)?;
        let mut nonces = self
            .by_origin
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let at = nonces.iter().position(|(o, _)| *o == origin)?;
        // Used now: it moves to the back, furthest from eviction.
        let entry = nonces.remove(at)?;
        let nonce = entry.1.clone();
        nonces.push_back(entry);
        Some(nonce)
    }

    /// Remembers `nonce` for the server of `uri`.
    ///
    /// ```
    /// let nonces = grantline::dpop::DpopNonces::default();
    /// nonces.remember("https://as.example/", "n");
    /// ```
    pub fn remember(&self, uri: &str, nonce: &str) {
        if nonce.len() > Self::MAX_NONCE_LEN {
            return;
        }
        let Some(origin) = origin(uri) else {
            return;
        };
        let mut nonces = self
            .by_origin
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        nonces.retain(|(o, _)| *o != origin);
        if nonces.len() >= Self::CAPACITY {
            nonces.pop_front();
        }
        nonces.push_back((origin, nonce.to_owned()));
    }

    /// Remembers the `DPoP-Nonce` of `response`, if it has one, for the server of `uri`.
    ///
    /// ```
    /// let nonces = grantline::dpop::DpopNonces::default();
    /// let response = http::Response::builder().header("dpop-nonce", "n-2").body(()).unwrap();
    /// nonces.remember_from("https://as.example/token", response.headers());
    /// assert_eq!(nonces.get("https://as.example/").as_deref(), Some("n-2"));
    /// ```
    pub fn remember_from(&self, uri: &str, headers: &http::HeaderMap) {
        if let Some(nonce) = headers
            .get(crate::error::DPOP_NONCE)
            .and_then(|v| v.to_str().ok())
        {
            self.remember(uri, nonce);
        }
    }
}

/// Whether `response` asks for a proof with a (new) nonce: a `use_dpop_nonce` error in the
/// body (authorization server, RFC 9449 §8) or in `WWW-Authenticate` (resource server, §9).
///
/// ```
/// let response = http::Response::builder()
///     .status(401)
///     .header("www-authenticate", r#"DPoP error="use_dpop_nonce", error_description="fresh nonce""#)
///     .body(Vec::new())
///     .unwrap();
/// assert!(grantline::dpop::asks_for_nonce(&response));
/// ```
#[must_use]
pub fn asks_for_nonce(response: &http::Response<Vec<u8>>) -> bool {
    let status = response.status().as_u16();
    if status != 400 && status != 401 {
        return false;
    }
    let challenged = response
        .headers()
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(crate::www_authenticate::parse)
        .any(|c| c.is_scheme("DPoP") && c.param("error") == Some("use_dpop_nonce"));
    challenged
        || matches!(
            crate::response::error_from(response),
            Error::OAuth(e) if e.code == crate::error::ErrorCode::UseDpopNonce
        )
}
