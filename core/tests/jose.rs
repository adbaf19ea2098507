//! JOSE: known-answer tests from RFC 7515, RFC 7520 and RFC 8037, sign/verify round trips for
//! every algorithm, and one test per rejection rule.

#![cfg(feature = "jose")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use base64::Engine as _;
use grantline::Error;
use grantline::error::JoseError;
use grantline::jose::{
    self, Algorithm, Claims, Jwk, JwkSet, JwsHeader, JwsSigner, SigningKey, UnverifiedJws,
};

const RSA_7515: &str = include_str!("fixtures/rfc7515-a2-rsa.jwk.json");
const RSA_7520: &str = include_str!("fixtures/rfc7520-figure4-rsa.jwk.json");
const EC_7515: &str = include_str!("fixtures/rfc7515-a3-ec-p256.jwk.json");
const ED_8037: &str = include_str!("fixtures/rfc8037-a1-ed25519.jwk.json");

/// RFC 7515 §A.1 to §A.3 payload.
const PAYLOAD_7515: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
/// RFC 7520 §4 payload (Figure 8).
const PAYLOAD_7520: &str = "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The public half of a private JWK fixture (a `Jwk` ignores private members); no `alg`.
fn public(private: &str) -> Jwk {
    let jwk = Jwk::from_json(private).unwrap();
    assert_eq!(jwk.algorithm(), None);
    jwk
}

/// Checks a published JWS verifies, and, for deterministic algorithms, that signing its input
/// gives the published signature byte for byte.
fn known_answer(
    compact: &str,
    verify_key: &Jwk,
    signer: Option<&SigningKey>,
    alg: Algorithm,
) -> Vec<u8> {
    let jws = UnverifiedJws::parse(compact).unwrap();
    assert_eq!(jws.header().algorithm(), alg);
    let payload = jws
        .verify_with_key(verify_key, &[alg])
        .unwrap()
        .payload()
        .to_vec();
    if let Some(signer) = signer {
        let (input, signature) = compact.rsplit_once('.').unwrap();
        let signer = signer.clone().with_algorithm(alg).unwrap();
        assert_eq!(b64(&signer.sign(input.as_bytes()).unwrap()), signature);
    }
    payload
}

#[test]
fn rfc7515_a1_hs256() {
    let key_json = r#"{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#;
    let compact = format!(
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.{PAYLOAD_7515}.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    );
    let payload = known_answer(
        &compact,
        &Jwk::from_json(key_json).unwrap(),
        Some(&SigningKey::from_jwk(key_json).unwrap()),
        Algorithm::HS256,
    );
    assert_eq!(
        payload,
        b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}"
    );
}

#[test]
fn rfc7515_a2_rs256() {
    let compact = format!(
        "eyJhbGciOiJSUzI1NiJ9.{PAYLOAD_7515}.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
    );
    known_answer(
        &compact,
        &public(RSA_7515),
        Some(&SigningKey::from_jwk(RSA_7515).unwrap()),
        Algorithm::RS256,
    );
}

#[test]
fn rfc7515_a3_es256() {
    let compact = format!(
        "eyJhbGciOiJFUzI1NiJ9.{PAYLOAD_7515}.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
    );
    // ECDSA signatures are randomized: the published one is verified, not reproduced.
    known_answer(&compact, &public(EC_7515), None, Algorithm::ES256);
}

#[test]
fn rfc7520_4_1_rs256() {
    let compact = format!(
        "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9.{PAYLOAD_7520}.MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoBwA78185hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH84ogoree7vjbU5y18kDquDg"
    );
    let payload = known_answer(
        &compact,
        &public(RSA_7520),
        Some(&SigningKey::from_jwk(RSA_7520).unwrap()),
        Algorithm::RS256,
    );
    assert!(
        String::from_utf8(payload)
            .unwrap()
            .starts_with("It\u{2019}s a dangerous business, Frodo")
    );
    // Through a key set, found by its kid.
    let set = JwkSet::from_json(
        format!(
            r#"{{"keys":[{}]}}"#,
            public(RSA_7520).to_public_json().unwrap()
        )
        .as_bytes(),
    )
    .unwrap();
    let jws = UnverifiedJws::parse(&compact).unwrap();
    assert_eq!(
        jws.header().key_id(),
        Some("bilbo.baggins@hobbiton.example")
    );
    jws.verify(&set, &[Algorithm::RS256]).unwrap();
}

#[test]
fn rfc7520_4_2_ps384() {
    let compact = format!(
        "eyJhbGciOiJQUzM4NCIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9.{PAYLOAD_7520}.cu22eBqkYDKgIlTpzDXGvaFfz6WGoz7fUDcfT0kkOy42miAh2qyBzk1xEsnk2IpN6-tPid6VrklHkqsGqDqHCdP6O8TTB5dDDItllVo6_1OLPpcbUrhiUSMxbbXUvdvWXzg-UD8biiReQFlfz28zGWVsdiNAUf8ZnyPEgVFn442ZdNqiVJRmBqrYRXe8P_ijQ7p8Vdz0TTrxUeT3lm8d9shnr2lfJT8ImUjvAA2Xez2Mlp8cBE5awDzT0qI0n6uiP1aCN_2_jLAeQTlqRHtfa64QQSUmFAAjVKPbByi7xho0uTOcbH510a6GYmJUAfmWjwZ6oD4ifKo8DYM-X72Eaw"
    );
    // PSS is randomized: verified, not reproduced.
    known_answer(&compact, &public(RSA_7520), None, Algorithm::PS384);
}

#[test]
fn rfc7520_4_4_hs256() {
    let key_json = r#"{"kty":"oct","kid":"018c0ae5-4d9b-471b-bfd6-eef314bc7037","use":"sig","alg":"HS256","k":"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"}"#;
    let compact = format!(
        "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9.{PAYLOAD_7520}.s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0"
    );
    known_answer(
        &compact,
        &Jwk::from_json(key_json).unwrap(),
        Some(&SigningKey::from_jwk(key_json).unwrap()),
        Algorithm::HS256,
    );
}

#[test]
fn rfc8037_a4_a5_ed25519() {
    let compact = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
    let payload = known_answer(
        compact,
        &public(ED_8037),
        Some(&SigningKey::from_jwk(ED_8037).unwrap()),
        Algorithm::EdDSA,
    );
    assert_eq!(payload, b"Example of Ed25519 signing");
    // RFC 8037 §A.3: the thumbprint of the public key.
    assert_eq!(
        public(ED_8037).thumbprint().unwrap(),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
}

/// Keys generated with *ring* for the algorithms no fixture covers.
fn generated(alg: Algorithm) -> SigningKey {
    use ring::signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
        Ed25519KeyPair,
    };
    let rng = ring::rand::SystemRandom::new();
    let der = match alg {
        Algorithm::ES256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng),
        Algorithm::ES384 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng),
        _ => Ed25519KeyPair::generate_pkcs8(&rng),
    }
    .unwrap();
    SigningKey::from_pkcs8_der(alg, der.as_ref()).unwrap()
}

/// A signing key and its verification key for every algorithm.
fn every_algorithm() -> Vec<(SigningKey, Jwk)> {
    let mut pairs = Vec::new();
    for alg in Algorithm::all() {
        let signer = match alg.key_type() {
            "RSA" => SigningKey::from_jwk(RSA_7520)
                .unwrap()
                .with_algorithm(*alg)
                .unwrap(),
            "oct" => {
                SigningKey::hmac(*alg, b"0123456789abcdef0123456789abcdef0123456789abcdef").unwrap()
            }
            _ if *alg == Algorithm::Ed25519 => SigningKey::from_jwk(ED_8037)
                .unwrap()
                .with_algorithm(*alg)
                .unwrap(),
            _ => generated(*alg),
        }
        .with_key_id(alg.as_str());
        let verifier = match alg.key_type() {
            "oct" => Jwk::symmetric(b"0123456789abcdef0123456789abcdef0123456789abcdef")
                .unwrap()
                .with_key_id(alg.as_str()),
            _ => signer.public_jwk().unwrap(),
        };
        pairs.push((signer, verifier));
    }
    pairs
}

#[test]
fn every_algorithm_round_trips() {
    let pairs = every_algorithm();
    assert_eq!(pairs.len(), Algorithm::all().len());
    let set: JwkSet = pairs.iter().map(|(_, jwk)| jwk.clone()).collect();
    for (signer, verifier) in &pairs {
        let alg = signer.algorithm();
        let payload = Claims::new().with("alg", alg.as_str()).to_json();
        let token = jose::sign(signer, JwsHeader::for_signer(signer), &payload).unwrap();
        // With the one key, and through the set (by kid).
        let verified = UnverifiedJws::parse(&token)
            .unwrap()
            .verify_with_key(verifier, &[alg])
            .unwrap();
        assert_eq!(verified.payload(), payload, "{alg}");
        UnverifiedJws::parse(&token)
            .unwrap()
            .verify(&set, Algorithm::all())
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        // Tampering with any part breaks it.
        let (input, signature) = token.rsplit_once('.').unwrap();
        let mut bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(signature)
            .unwrap();
        bytes[0] ^= 1;
        let forged = format!("{input}.{}", b64(&bytes));
        assert_eq!(
            reject(&forged, &set, Algorithm::all()),
            JoseError::InvalidSignature,
            "{alg}"
        );
        let (header, _) = input.split_once('.').unwrap();
        let other = format!("{header}.{}.{signature}", b64(b"{\"alg\":\"other\"}"));
        assert_eq!(
            reject(&other, &set, Algorithm::all()),
            JoseError::InvalidSignature
        );
    }
}

fn reject(token: &str, keys: &JwkSet, allowed: &[Algorithm]) -> JoseError {
    match UnverifiedJws::parse(token).and_then(|jws| jws.verify(keys, allowed)) {
        Err(Error::Jose(e)) => e,
        other => panic!("expected a JOSE error, got {other:?}"),
    }
}

fn unsigned(header: &str, payload: &str) -> String {
    format!("{}.{}.", b64(header.as_bytes()), b64(payload.as_bytes()))
}

#[test]
fn alg_none_is_never_accepted() {
    let keys = JwkSet::new(vec![public(RSA_7520)]);
    for header in [
        r#"{"alg":"none"}"#,
        r#"{"alg":"None"}"#,
        r#"{"alg":"NONE","kid":"bilbo.baggins@hobbiton.example"}"#,
    ] {
        for token in [
            unsigned(header, "{}"),
            format!("{}AAAA", unsigned(header, "{}")),
        ] {
            assert_eq!(
                reject(&token, &keys, Algorithm::all()),
                JoseError::Unsecured
            );
        }
    }
}

#[test]
fn only_allowed_algorithms_are_accepted() {
    let signer = SigningKey::from_jwk(RSA_7520)
        .unwrap()
        .with_algorithm(Algorithm::PS256)
        .unwrap();
    let keys = JwkSet::new(vec![public(RSA_7520)]);
    let token = jose::sign(&signer, JwsHeader::for_signer(&signer), b"{}").unwrap();
    assert_eq!(
        reject(&token, &keys, &[Algorithm::RS256]),
        JoseError::AlgorithmNotAllowed("PS256".into())
    );
    assert_eq!(
        reject(&token, &keys, &[]),
        JoseError::AlgorithmNotAllowed("PS256".into())
    );
}

#[test]
fn hmac_is_never_verified_with_a_public_key() {
    // The classic confusion attack: HS256 "signed" with the bytes of the server's RSA public
    // key, in every form an attacker might guess, named with the RSA key's kid.
    let rsa = public(RSA_7520);
    let keys = JwkSet::new(vec![rsa.clone()]);
    let public_json = rsa.to_public_json().unwrap().to_string();
    let n = rsa.to_public_json().unwrap()["n"]
        .as_str()
        .unwrap()
        .to_owned();
    for secret in [public_json.as_bytes(), n.as_bytes()] {
        let attacker = SigningKey::hmac(Algorithm::HS256, secret)
            .unwrap()
            .with_key_id("bilbo.baggins@hobbiton.example");
        let token = jose::sign(&attacker, JwsHeader::for_signer(&attacker), b"{}").unwrap();
        assert_eq!(
            reject(&token, &keys, Algorithm::all()),
            JoseError::KeyAlgorithmMismatch
        );
        // Without a kid no key fits at all.
        let attacker = SigningKey::hmac(Algorithm::HS256, secret).unwrap();
        let token = jose::sign(&attacker, JwsHeader::for_signer(&attacker), b"{}").unwrap();
        assert!(matches!(
            reject(&token, &keys, Algorithm::all()),
            JoseError::NoMatchingKey { kid: None }
        ));
        // And a single RSA key refuses HMAC outright.
        let e = UnverifiedJws::parse(&token)
            .unwrap()
            .verify_with_key(&rsa, Algorithm::all())
            .unwrap_err();
        assert!(matches!(e, Error::Jose(JoseError::KeyAlgorithmMismatch)));
    }
    // EC and OKP public keys likewise.
    for private in [EC_7515, ED_8037] {
        let jwk = public(private).with_key_id("k");
        let attacker = SigningKey::hmac(Algorithm::HS256, b"guess")
            .unwrap()
            .with_key_id("k");
        let token = jose::sign(&attacker, JwsHeader::for_signer(&attacker), b"{}").unwrap();
        assert_eq!(
            reject(&token, &JwkSet::from(jwk), Algorithm::all()),
            JoseError::KeyAlgorithmMismatch
        );
    }
}

#[test]
fn the_key_alg_wins_over_the_header() {
    // The key is published for RS256 only; a PS256 token made with the same private key is
    // refused even though the caller allows PS256.
    let jwk = Jwk::from_json(&public(RSA_7520).to_public_json().unwrap().to_string())
        .unwrap()
        .with_algorithm(Algorithm::RS256);
    assert_eq!(jwk.algorithm(), Some("RS256"));
    let signer = SigningKey::from_jwk(RSA_7520)
        .unwrap()
        .with_algorithm(Algorithm::PS256)
        .unwrap();
    let token = jose::sign(&signer, JwsHeader::for_signer(&signer), b"{}").unwrap();
    assert_eq!(
        reject(&token, &JwkSet::from(jwk.clone()), Algorithm::all()),
        JoseError::KeyAlgorithmMismatch
    );
    let rs256 = signer.with_algorithm(Algorithm::RS256).unwrap();
    let token = jose::sign(&rs256, JwsHeader::for_signer(&rs256), b"{}").unwrap();
    UnverifiedJws::parse(&token)
        .unwrap()
        .verify(&JwkSet::from(jwk), Algorithm::all())
        .unwrap();
}

#[test]
fn a_key_of_another_curve_is_refused() {
    let p256 = public(EC_7515).with_key_id("k");
    let p384 = generated(Algorithm::ES384).with_key_id("k");
    let token = jose::sign(&p384, JwsHeader::for_signer(&p384), b"{}").unwrap();
    assert_eq!(
        reject(&token, &JwkSet::from(p256), Algorithm::all()),
        JoseError::KeyAlgorithmMismatch
    );
}

#[test]
fn an_unknown_kid_finds_no_key() {
    let signer = SigningKey::from_jwk(ED_8037)
        .unwrap()
        .with_key_id("new-key");
    let token = jose::sign(&signer, JwsHeader::for_signer(&signer), b"{}").unwrap();
    let keys = JwkSet::from(public(ED_8037).with_key_id("old-key"));
    assert_eq!(
        reject(&token, &keys, Algorithm::all()),
        JoseError::NoMatchingKey {
            kid: Some("new-key".into())
        }
    );
}

#[test]
fn encryption_keys_do_not_verify() {
    let mut json = public(ED_8037).to_public_json().unwrap();
    json["use"] = "enc".into();
    let keys = JwkSet::from(Jwk::from_json(&json.to_string()).unwrap());
    let signer = SigningKey::from_jwk(ED_8037).unwrap();
    let token = jose::sign(&signer, JwsHeader::for_signer(&signer), b"{}").unwrap();
    assert!(matches!(
        reject(&token, &keys, Algorithm::all()),
        JoseError::NoMatchingKey { .. }
    ));
}

#[test]
fn critical_headers_are_refused() {
    let signer = SigningKey::from_jwk(ED_8037).unwrap();
    let header = JwsHeader::for_signer(&signer)
        .with_param("crit", vec!["b64"])
        .with_param("b64", false);
    let token = jose::sign(&signer, header, b"{}").unwrap();
    assert_eq!(
        reject(&token, &JwkSet::from(public(ED_8037)), Algorithm::all()),
        JoseError::CriticalHeader
    );
}

#[test]
fn embedded_keys_in_the_header_are_ignored() {
    // The attacker signs with its own key and embeds it (`jwk`) or points at it (`jku`).
    let attacker = generated(Algorithm::ES256);
    let header = JwsHeader::for_signer(&attacker)
        .with_param(
            "jwk",
            attacker.public_jwk().unwrap().to_public_json().unwrap(),
        )
        .with_param("jku", "https://attacker.example/jwks");
    let token = jose::sign(&attacker, header, b"{}").unwrap();
    let keys = JwkSet::from(public(EC_7515));
    assert_eq!(
        reject(&token, &keys, Algorithm::all()),
        JoseError::InvalidSignature
    );
}

#[test]
fn signing_keys_load_from_pem_and_refuse_other_families() {
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let der = EcdsaKeyPair::generate_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &ring::rand::SystemRandom::new(),
    )
    .unwrap();
    let body = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let pem = format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n");
    let key = SigningKey::from_pem(Algorithm::ES256, &pem).unwrap();
    assert_eq!(key.public_jwk().unwrap().curve(), Some("P-256"));
    assert!(SigningKey::from_pem(Algorithm::ES384, &pem).is_err());
    assert!(SigningKey::from_pem(Algorithm::RS256, &pem).is_err());
    assert!(matches!(
        SigningKey::from_jwk(EC_7515)
            .unwrap()
            .with_algorithm(Algorithm::HS256),
        Err(Error::Jose(JoseError::KeyAlgorithmMismatch))
    ));
    assert!(matches!(
        SigningKey::from_jwk(RSA_7515)
            .unwrap()
            .with_algorithm(Algorithm::ES256),
        Err(Error::Jose(JoseError::KeyAlgorithmMismatch))
    ));
    // A private JWK never leaks through Debug or its public half.
    let rsa = SigningKey::from_jwk(RSA_7520).unwrap();
    assert!(!format!("{rsa:?}").contains("bWUC9B"));
    let published = rsa.public_jwk().unwrap().to_public_json().unwrap();
    assert!(published.get("d").is_none());
    assert_eq!(published["kid"], "bilbo.baggins@hobbiton.example");
}

#[test]
fn a_kms_signature_in_der_is_converted() {
    // What a KMS returns for ES256 (DER), converted, verifies like a native JWS signature.
    use ring::signature::{self as sig, KeyPair as _};
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 =
        sig::EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let pair =
        sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
    for _ in 0..20 {
        let der = pair.sign(&rng, b"header.payload").unwrap();
        let fixed = jose::ecdsa_der_to_jose(Algorithm::ES256, der.as_ref()).unwrap();
        sig::UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref())
            .verify(b"header.payload", &fixed)
            .unwrap();
    }
}
