//! DPoP (RFC 9449): proofs, nonces and binding, on the scripted driver.

#![cfg(feature = "jose")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use grantline::EndpointKind;
use grantline::device::DeviceAuthorization;
use grantline::dpop::{DpopKey, ath, htu};
use grantline::error::ErrorCode;
use grantline::grant::TokenRequest;
use grantline::jose::{Algorithm, Jwk, UnverifiedJws};
use grantline::secret::AccessToken;
use grantline::testing::Driver;
use grantline::{Client, Error, Flow, Now, Step, TokenType};

fn client(allow_bearer: bool) -> Client {
    let mut builder = Client::builder("svc")
        .token_endpoint("https://as.example/token?tenant=x")
        .authorization_endpoint("https://as.example/authorize")
        .endpoint(EndpointKind::PushedAuthorization, "https://as.example/par")
        .redirect_uri("https://app.example/cb")
        .revocation_endpoint("https://as.example/revoke")
        .client_secret_basic("s")
        .dpop(DpopKey::generate(Algorithm::ES256).unwrap());
    if allow_bearer {
        builder = builder.insecure_dpop_allow_bearer();
    }
    builder.build().unwrap()
}

fn nonce_answer(nonce: &str) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(400)
        .header("dpop-nonce", nonce)
        .body(br#"{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof"}"#.to_vec())
        .unwrap()
}

fn dpop_token() -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(200)
        .header("dpop-nonce", "n-next")
        .body(br#"{"access_token":"at","token_type":"DPoP","expires_in":60}"#.to_vec())
        .unwrap()
}

/// The proofs the driver saw, verified with their own header's key, as (header, claims).
fn proofs(driver: &Driver) -> Vec<(serde_json::Value, serde_json::Value)> {
    driver
        .transcript()
        .requests()
        .filter_map(|r| r.headers().get("dpop"))
        .map(|value| {
            assert!(value.is_sensitive());
            let jws = UnverifiedJws::parse(value.to_str().unwrap()).unwrap();
            let jwk = jws.header().get("jwk").unwrap().to_string();
            let header = serde_json::json!({
                "typ": jws.header().token_type(),
                "alg": jws.header().algorithm().as_str(),
                "jwk": jws.header().get("jwk").unwrap().clone(),
            });
            let key = Jwk::from_json(&jwk).unwrap();
            let verified = jws.verify_with_key(&key, &[Algorithm::ES256]).unwrap();
            (header, serde_json::from_slice(verified.payload()).unwrap())
        })
        .collect()
}

#[test]
fn every_token_request_carries_a_fresh_proof() {
    let client = client(false);
    let mut flow = client
        .request_token(TokenRequest::client_credentials())
        .unwrap();
    let now = Now::system();
    let Step::Send(first) = flow.next(now).unwrap() else {
        panic!()
    };
    let Step::Send(again) = flow.next(now).unwrap() else {
        panic!()
    };
    assert_ne!(
        first.headers()["dpop"],
        again.headers()["dpop"],
        "a fresh jti every time"
    );

    let mut driver = Driver::new().reply(dpop_token());
    let token = driver
        .run(
            client
                .request_token(TokenRequest::client_credentials())
                .unwrap(),
        )
        .unwrap();
    assert_eq!(token.token_type(), &TokenType::DPoP);
    let proofs = proofs(&driver);
    let (header, claims) = &proofs[0];
    assert_eq!(header["typ"], "dpop+jwt");
    assert_eq!(header["alg"], "ES256");
    assert!(header["jwk"].get("d").is_none(), "only the public key");
    assert_eq!(claims["htm"], "POST");
    assert_eq!(claims["htu"], "https://as.example/token", "no query in htu");
    assert_eq!(
        claims["iat"].as_u64().unwrap(),
        driver
            .now()
            .wall()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    );
    assert_eq!(claims["jti"].as_str().unwrap().len(), 22, "128 random bits");
    assert!(claims.get("nonce").is_none() && claims.get("ath").is_none());
}

#[test]
fn use_dpop_nonce_is_retried_once_and_the_nonce_remembered() {
    let client = client(false);
    let mut driver = Driver::new().reply(nonce_answer("n-1")).reply(dpop_token());
    driver
        .run(
            client
                .request_token(TokenRequest::client_credentials())
                .unwrap(),
        )
        .unwrap();
    // The success answer's DPoP-Nonce is remembered too: the next request starts with it.
    driver.push_reply(dpop_token());
    driver
        .run(
            client
                .request_token(TokenRequest::refresh_token("rt"))
                .unwrap(),
        )
        .unwrap();
    let nonces: Vec<_> = proofs(&driver)
        .iter()
        .map(|(_, c)| c.get("nonce").cloned())
        .collect();
    assert_eq!(
        nonces,
        [None, Some("n-1".into()), Some("n-next".into())],
        "no nonce, then the server's, then the one it gave with the token"
    );
}

#[test]
fn a_server_that_always_wants_a_new_nonce_gets_one_retry_and_a_typed_error() {
    let client = client(false);
    let mut driver = Driver::new();
    for i in 0..5 {
        driver = driver.reply(nonce_answer(&format!("n-{i}")));
    }
    let e = driver
        .run(
            client
                .request_token(TokenRequest::client_credentials())
                .unwrap(),
        )
        .unwrap_err();
    assert_eq!(
        e.flow_error().and_then(Error::oauth_code),
        Some(&ErrorCode::UseDpopNonce)
    );
    assert_eq!(driver.transcript().requests().count(), 2);
}

#[test]
fn a_bearer_answer_to_a_dpop_request_is_refused_unless_allowed() {
    let bearer = || http::Response::new(br#"{"access_token":"at","token_type":"Bearer"}"#.to_vec());
    let mut driver = Driver::new().reply(bearer());
    let e = driver
        .run(
            client(false)
                .request_token(TokenRequest::client_credentials())
                .unwrap(),
        )
        .unwrap_err();
    assert!(matches!(e.flow_error(), Some(Error::InvalidResponse(e)) if e.field == "token_type"));
    let mut driver = Driver::new().reply(bearer());
    let token = driver
        .run(
            client(true)
                .request_token(TokenRequest::client_credentials())
                .unwrap(),
        )
        .unwrap();
    assert_eq!(token.token_type(), &TokenType::Bearer);
}

#[test]
fn par_carries_a_proof_and_revocation_does_not() {
    let client = client(false);
    let (flow, _) = client
        .authorization_request()
        .dpop_jkt()
        .into_pushed()
        .unwrap();
    let mut driver = Driver::new()
        .reply_json(201, r#"{"request_uri":"urn:x","expires_in":60}"#)
        .reply(http::Response::new(Vec::new()));
    driver.run(flow).unwrap();
    driver
        .run(client.revoke(&AccessToken::new("at")).unwrap())
        .unwrap();
    let requests: Vec<_> = driver.transcript().requests().collect();
    assert!(requests[0].headers().contains_key("dpop"));
    assert!(!requests[1].headers().contains_key("dpop"));
    let form = driver.transcript().form(0).unwrap();
    let jkt = client.dpop_key().unwrap().thumbprint();
    assert!(form.iter().any(|(k, v)| k == "dpop_jkt" && v == jkt));
}

#[test]
fn device_polling_retries_a_nonce_at_once() {
    let client = client(false);
    let mut driver = Driver::new()
        .reply(nonce_answer("n-7"))
        .reply_json(400, r#"{"error":"authorization_pending"}"#)
        .reply(dpop_token());
    let authorization = DeviceAuthorization::from_response(
        &http::Response::new(br#"{"device_code":"d","user_code":"U","verification_uri":"https://x/","expires_in":600,"interval":5}"#.to_vec()),
        driver.now(),
    )
    .unwrap();
    let token = driver
        .run(client.device_token(authorization).unwrap())
        .unwrap();
    assert_eq!(token.token_type(), &TokenType::DPoP);
    let waits: Vec<_> = driver.transcript().waits().map(|w| w.as_secs()).collect();
    assert_eq!(
        waits,
        [5, 5],
        "the nonce retry went at once; pending waited the interval"
    );
}

#[test]
fn proofs_for_resource_servers_carry_ath_and_normalised_htu() {
    let key = DpopKey::generate(Algorithm::EdDSA).unwrap();
    let token = AccessToken::new("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU");
    let proof = key
        .proof(
            "GET",
            "HTTPS://RS.Example:443/v1/items?page=2#x",
            std::time::SystemTime::now(),
            &grantline::random::SystemRandom,
            Some("rs-nonce"),
            Some(&token),
        )
        .unwrap();
    let jws = UnverifiedJws::parse(&proof).unwrap();
    let verified = jws
        .verify_with_key(key.public_jwk(), &[Algorithm::EdDSA])
        .unwrap();
    let claims: serde_json::Value = serde_json::from_slice(verified.payload()).unwrap();
    assert_eq!(claims["htu"], "https://rs.example/v1/items");
    assert_eq!(claims["htm"], "GET");
    assert_eq!(claims["nonce"], "rs-nonce");
    assert_eq!(claims["ath"], ath(&token));
    assert_eq!(ath(&token), "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo");
    for (input, expected) in [
        ("https://as.example/token", "https://as.example/token"),
        (
            "https://as.example:8443/token?x=1",
            "https://as.example:8443/token",
        ),
        ("http://127.0.0.1:80/t#f", "http://127.0.0.1/t"),
    ] {
        assert_eq!(htu(input).unwrap(), expected);
    }
    assert!(htu("ftp://x/").is_err());
}

#[test]
fn the_rfc_7638_thumbprint_known_answer() {
    let jwk = Jwk::from_json(r#"{"kty":"RSA","e":"AQAB","alg":"RS256","kid":"2011-04-29",
        "n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}"#).unwrap();
    assert_eq!(
        jwk.thumbprint().unwrap(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn nonce_memory_keeps_the_servers_used_most_recently() {
    use grantline::dpop::DpopNonces;
    let nonces = DpopNonces::default();
    for i in 0..DpopNonces::CAPACITY {
        nonces.remember(&format!("https://rs{i}.example/"), &format!("n-{i}"));
    }
    // rs0 is used again, so rs1 is now the one used longest ago.
    assert_eq!(nonces.get("https://rs0.example/x").as_deref(), Some("n-0"));
    nonces.remember("https://new.example/", "n-new");
    assert!(nonces.get("https://rs1.example/").is_none(), "evicted");
    assert_eq!(nonces.get("https://rs0.example/").as_deref(), Some("n-0"));
    assert_eq!(nonces.get("https://new.example/").as_deref(), Some("n-new"));
    // A server's new nonce replaces its old one, without growing the memory.
    nonces.remember("https://rs2.example/", "n-2b");
    assert_eq!(nonces.get("https://rs2.example/").as_deref(), Some("n-2b"));
    let kept = (0..DpopNonces::CAPACITY)
        .filter(|i| nonces.get(&format!("https://rs{i}.example/")).is_some())
        .count();
    assert_eq!(kept, DpopNonces::CAPACITY - 1, "rs1 out, new.example in");
}

#[test]
fn a_dpop_key_round_trips_through_pkcs8_and_jwk() {
    use grantline::jose::{JwkSet, UnverifiedJws};
    use grantline::random::SystemRandom;
    for alg in [Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA] {
        let key = DpopKey::generate(alg).unwrap();
        let der = key.to_pkcs8_der().unwrap();
        let jwk = key.to_jwk().unwrap();
        assert!(!format!("{der:?}{jwk:?}{key:?}").contains(jwk.secret()));
        for back in [
            DpopKey::from_pkcs8_der(alg, der.secret()).unwrap(),
            DpopKey::from_jwk(jwk.secret()).unwrap(),
        ] {
            // The same key: the same thumbprint, and its proofs verify with the original's
            // public key.
            assert_eq!(back.thumbprint(), key.thumbprint(), "{alg:?}");
            let proof = back
                .proof(
                    "POST",
                    "https://as.example/token",
                    grantline::Now::system().wall(),
                    &SystemRandom,
                    None,
                    None,
                )
                .unwrap();
            UnverifiedJws::parse(&proof)
                .unwrap()
                .verify(&JwkSet::from(key.public_jwk().clone()), &[alg])
                .unwrap();
            // And it exports again: the same JWK, and PKCS#8 of the same key (ring writes
            // Ed25519 as v2 with the public key, grantline as v1 without: both read back).
            assert_eq!(back.to_jwk().unwrap(), jwk, "{alg:?}");
            let again = back.to_pkcs8_der().unwrap();
            let again = DpopKey::from_pkcs8_der(alg, again.secret()).unwrap();
            assert_eq!(again.thumbprint(), key.thumbprint(), "{alg:?}");
        }
    }
    // RFC 8037 §A.1's key, imported as a JWK: exported with the same private member.
    let rfc = r#"{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
    let key = DpopKey::from_jwk(rfc).unwrap();
    assert_eq!(
        key.thumbprint(),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
    let exported: serde_json::Value = serde_json::from_str(key.to_jwk().unwrap().secret()).unwrap();
    assert_eq!(exported["d"], "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
}

#[test]
fn keys_that_cannot_be_exported_say_so() {
    use grantline::error::JoseError;
    use grantline::jose::SigningKey;
    // A signer-held key (an HSM, a KMS): grantline never sees its private half.
    let signing = SigningKey::from_jwk(r#"{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#).unwrap();
    let public = signing.public_jwk().unwrap();
    let held = DpopKey::with_signer(signing, public).unwrap();
    assert!(matches!(
        held.to_pkcs8_der(),
        Err(Error::Jose(JoseError::InvalidKey(_)))
    ));
    assert!(matches!(
        held.to_jwk(),
        Err(Error::Jose(JoseError::InvalidKey(_)))
    ));
    // Garbage is refused on the way in.
    assert!(DpopKey::from_pkcs8_der(Algorithm::ES256, b"not DER").is_err());
    assert!(DpopKey::from_jwk(r#"{"kty":"oct","k":"c2VjcmV0"}"#).is_err());
    assert!(
        DpopKey::from_jwk(
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#
        )
        .is_err()
    );
}
