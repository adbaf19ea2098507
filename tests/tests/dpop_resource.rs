//! DPoP at a resource server (RFC 9449 §7, §9), through both transports' API clients, against a
//! loopback resource server (wiremock) that verifies every proof: signature by the key in its
//! own header, `typ`, `htm`, `htu`, `iat`, `ath` of the token sent, the nonce it demanded, and
//! that no `jti` is ever seen twice.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use grantline::dpop::{DpopKey, ath};
use grantline::jose::{Algorithm, Jwk, UnverifiedJws};
use grantline::secret::AccessToken;
use grantline::token_manager::TokenManager;
use grantline::{Client, TokenResponse, TokenType};
use wiremock::matchers::{header_exists, method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const CALLERS: usize = 50;

/// What the resource server saw.
#[derive(Default)]
struct Seen {
    /// Every `jti`, to refuse a replayed proof.
    jtis: HashSet<String>,
    /// The nonces it issued (each success issues a new one); any of them is accepted.
    issued: Vec<String>,
    /// Per request: (status answered, the nonce its proof carried).
    requests: Vec<(u16, Option<String>)>,
    /// Proofs that failed verification, with why.
    failures: Vec<String>,
}

/// A resource server that accepts `tokens`, only as DPoP-bound, only with a valid proof, and
/// only with a nonce it issued: without one it answers `401 use_dpop_nonce` with a nonce.
#[derive(Clone)]
struct ResourceServer {
    tokens: Arc<Vec<&'static str>>,
    seen: Arc<Mutex<Seen>>,
}

impl ResourceServer {
    fn new(tokens: &[&'static str]) -> Self {
        Self {
            tokens: Arc::new(tokens.to_vec()),
            seen: Arc::default(),
        }
    }

    fn statuses(&self) -> Vec<u16> {
        self.seen
            .lock()
            .unwrap()
            .requests
            .iter()
            .map(|r| r.0)
            .collect()
    }

    fn nonces(&self) -> Vec<Option<String>> {
        let seen = self.seen.lock().unwrap();
        seen.requests.iter().map(|r| r.1.clone()).collect()
    }

    fn issued(&self) -> Vec<String> {
        self.seen.lock().unwrap().issued.clone()
    }

    fn assert_every_proof_was_valid(&self) {
        let seen = self.seen.lock().unwrap();
        assert!(seen.failures.is_empty(), "{:?}", seen.failures);
    }

    /// Verifies the proof of `request`; returns its nonce claim.
    fn verify(&self, request: &Request, token: &str) -> Result<Option<String>, String> {
        let proof = request
            .headers
            .get("dpop")
            .ok_or("no DPoP header")?
            .to_str()
            .map_err(|e| e.to_string())?;
        let jws = UnverifiedJws::parse(proof).map_err(|e| e.to_string())?;
        if jws.header().token_type() != Some("dpop+jwt") {
            return Err("typ is not dpop+jwt".into());
        }
        let jwk = jws.header().get("jwk").ok_or("no jwk")?;
        if jwk.get("d").is_some() {
            return Err("the jwk carries the private key".into());
        }
        let key = Jwk::from_json(&jwk.to_string()).map_err(|e| e.to_string())?;
        let verified = jws
            .verify_with_key(&key, &[Algorithm::ES256])
            .map_err(|e| e.to_string())?;
        let claims: serde_json::Value =
            serde_json::from_slice(verified.payload()).map_err(|e| e.to_string())?;
        if claims["htm"] != request.method.as_str() {
            return Err(format!("htm {} for {}", claims["htm"], request.method));
        }
        // wiremock's request URL names no real host: the target is the Host header's.
        let host = request.headers.get("host").ok_or("no Host")?;
        let htu = format!(
            "http://{}{}",
            host.to_str().map_err(|e| e.to_string())?,
            request.url.path()
        );
        if claims["htu"] != htu.as_str() {
            return Err(format!("htu {} for {htu}", claims["htu"]));
        }
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let iat = claims["iat"].as_u64().ok_or("no iat")?;
        if iat.abs_diff(now) > 60 {
            return Err(format!("iat {iat} is not now ({now})"));
        }
        if claims["ath"] != ath(&AccessToken::new(token)) {
            return Err("ath is not the token's hash".into());
        }
        let jti = claims["jti"].as_str().ok_or("no jti")?.to_owned();
        if !self.seen.lock().unwrap().jtis.insert(jti) {
            return Err("a jti was used twice".into());
        }
        Ok(claims["nonce"].as_str().map(str::to_owned))
    }
}

impl Respond for ResourceServer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let authorization = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let Some(token) = authorization.strip_prefix("DPoP ") else {
            let mut seen = self.seen.lock().unwrap();
            seen.failures
                .push(format!("Authorization: {authorization}"));
            seen.requests.push((400, None));
            return ResponseTemplate::new(400);
        };
        let verified = self.verify(request, token);
        let mut seen = self.seen.lock().unwrap();
        let nonce = match verified {
            Ok(nonce) => nonce,
            Err(why) => {
                seen.failures.push(why.clone());
                seen.requests.push((400, None));
                return ResponseTemplate::new(400).set_body_string(why);
            }
        };
        let next_nonce = format!("n-{}", seen.issued.len() + 1);
        seen.issued.push(next_nonce.clone());
        let (status, challenge) = if !self.tokens.contains(&token) {
            (401, Some(r#"DPoP algs="ES256", error="invalid_token""#))
        } else if nonce.as_ref().is_none_or(|n| !seen.issued.contains(n)) {
            (
                401,
                Some(r#"DPoP algs="ES256", error="use_dpop_nonce", error_description="nonce""#),
            )
        } else {
            (200, None)
        };
        seen.requests.push((status, nonce));
        let mut template = ResponseTemplate::new(status).insert_header("dpop-nonce", next_nonce);
        if let Some(challenge) = challenge {
            template = template.insert_header("www-authenticate", challenge);
        } else {
            template = template.set_body_json(serde_json::json!({"sub": "alice"}));
        }
        template
    }
}

/// A server with the resource server under `/api/` and, when `token_reply` is given, a token
/// endpoint at `/token` that answers DPoP token requests with it (slowly).
async fn start(rs: &ResourceServer, token_reply: Option<&str>) -> MockServer {
    let server = MockServer::builder().start().await;
    Mock::given(path_regex("^/api/"))
        .respond_with(rs.clone())
        .mount(&server)
        .await;
    if let Some(reply) = token_reply {
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(header_exists("dpop"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "application/json")
                    .set_body_string(reply)
                    .set_delay(Duration::from_millis(300)),
            )
            .mount(&server)
            .await;
    }
    server
}

async fn token_requests(server: &MockServer) -> usize {
    let requests = server.received_requests().await.unwrap();
    requests.iter().filter(|r| r.url.path() == "/token").count()
}

fn manager(server: &MockServer, access_token: &str, expires_in: i64) -> TokenManager {
    let client = Client::builder("svc")
        .token_endpoint(format!("{}/token", server.uri()))
        .client_secret_basic("s3cr3t")
        .dpop(DpopKey::generate(Algorithm::ES256).unwrap())
        .build()
        .unwrap();
    let now = SystemTime::now();
    let expires_at = if expires_in >= 0 {
        now + Duration::from_secs(expires_in.unsigned_abs())
    } else {
        now - Duration::from_secs(expires_in.unsigned_abs())
    };
    let token =
        TokenResponse::new(access_token.into(), TokenType::DPoP).with_expires_at(Some(expires_at));
    TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())
        .unwrap()
        .with_token(token)
        .unwrap()
}

const DPOP_TOKEN: &str = r#"{"access_token":"at-new","token_type":"DPoP","expires_in":3600}"#;

mod ureq_api {
    use super::*;
    use grantline_ureq::{ApiClient, ApiError, Auth, Transport};

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .proxy(None)
            .build()
            .new_agent()
    }

    fn api(server: &MockServer, manager: TokenManager) -> ApiClient {
        ApiClient::new(&format!("{}/api/", server.uri()))
            .unwrap()
            .agent(agent())
            .auth(Auth::new(Transport::with_agent(agent()), manager))
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn the_nonce_is_asked_for_once_then_remembered_from_every_answer() {
        let runtime = runtime();
        let rs = ResourceServer::new(&["at-1"]);
        let server = runtime.block_on(start(&rs, None));
        let api = api(&server, manager(&server, "at-1", 3600));

        let me: serde_json::Value = api.get("me").query("x", "1").recv_json().unwrap();
        assert_eq!(me["sub"], "alice");
        assert_eq!(rs.statuses(), [401, 200], "one resend, with the nonce");
        // A POST with a JSON body: the nonce of the last success is carried, no 401.
        let status = api
            .post(["items", "7"])
            .json(&serde_json::json!({"a": 1}))
            .send()
            .unwrap()
            .status();
        assert_eq!(status, 200);
        assert_eq!(rs.statuses(), [401, 200, 200]);
        let issued = rs.issued();
        assert_eq!(
            rs.nonces(),
            [None, Some(issued[0].clone()), Some(issued[1].clone())]
        );
        rs.assert_every_proof_was_valid();
    }

    #[test]
    fn a_streamed_body_is_not_resent_for_a_nonce() {
        let runtime = runtime();
        let rs = ResourceServer::new(&["at-1"]);
        let server = runtime.block_on(start(&rs, None));
        let api = api(&server, manager(&server, "at-1", 3600));

        let error = api
            .put("upload")
            .body_reader(std::io::Cursor::new(b"bytes".to_vec()))
            .send()
            .unwrap_err();
        assert!(
            matches!(&error, ApiError::Status(e) if e.status() == 401),
            "{error:?}"
        );
        assert_eq!(rs.statuses(), [401]);
        // The nonce of that refusal is remembered: the next request goes through at once.
        let status = api.get("me").send().unwrap().status();
        assert_eq!(status, 200);
        assert_eq!(rs.statuses(), [401, 200]);
        rs.assert_every_proof_was_valid();
    }

    #[test]
    fn a_refused_dpop_token_is_renewed_once_and_the_request_resent() {
        let runtime = runtime();
        let rs = ResourceServer::new(&["at-new"]);
        let server = runtime.block_on(start(&rs, Some(DPOP_TOKEN)));
        // A token the resource server no longer takes, long before its expiry.
        let api = api(&server, manager(&server, "at-old", 3600));

        let status = api.get("me").send().unwrap().status();
        assert_eq!(status, 200);
        // invalid_token (with a nonce), renewal, resend with the new token and the nonce.
        assert_eq!(rs.statuses(), [401, 200]);
        assert_eq!(runtime.block_on(token_requests(&server)), 1);
        rs.assert_every_proof_was_valid();
    }

    #[test]
    fn many_threads_behind_an_expired_dpop_token_send_one_token_request() {
        let runtime = runtime();
        let rs = ResourceServer::new(&["at-new"]);
        let server = runtime.block_on(start(&rs, Some(DPOP_TOKEN)));
        let api = api(&server, manager(&server, "at-old", -5));

        let barrier = std::sync::Barrier::new(CALLERS);
        let results: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..CALLERS)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        api.get("me").send().map(|r| r.status())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });

        assert!(
            results.iter().all(|r| matches!(r, Ok(s) if *s == 200)),
            "{results:?}"
        );
        assert_eq!(runtime.block_on(token_requests(&server)), 1);
        let statuses = rs.statuses();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), CALLERS);
        assert!(statuses.iter().all(|s| *s == 200 || *s == 401));
        rs.assert_every_proof_was_valid();
    }
}

mod reqwest_api {
    use super::*;
    use grantline_reqwest::{ApiClient, ApiError, Auth, Transport};

    fn api(server: &MockServer, manager: TokenManager) -> ApiClient {
        let transport = Transport::from_builder(reqwest::Client::builder().no_proxy()).unwrap();
        ApiClient::new(&format!("{}/api/", server.uri()))
            .unwrap()
            .client_builder(reqwest::Client::builder().no_proxy())
            .unwrap()
            .auth(Auth::new(transport, manager))
    }

    #[tokio::test]
    async fn the_nonce_is_asked_for_once_then_remembered_from_every_answer() {
        let rs = ResourceServer::new(&["at-1"]);
        let server = start(&rs, None).await;
        let api = api(&server, manager(&server, "at-1", 3600));

        let me: serde_json::Value = api.get("me").query("x", "1").recv_json().await.unwrap();
        assert_eq!(me["sub"], "alice");
        assert_eq!(rs.statuses(), [401, 200], "one resend, with the nonce");
        let status = api
            .post(["items", "7"])
            .json(&serde_json::json!({"a": 1}))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
        assert_eq!(rs.statuses(), [401, 200, 200]);
        let issued = rs.issued();
        assert_eq!(
            rs.nonces(),
            [None, Some(issued[0].clone()), Some(issued[1].clone())]
        );
        rs.assert_every_proof_was_valid();
    }

    #[tokio::test]
    async fn a_streamed_body_is_not_resent_for_a_nonce() {
        let rs = ResourceServer::new(&["at-1"]);
        let server = start(&rs, None).await;
        let api = api(&server, manager(&server, "at-1", 3600));

        let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(b"bytes".to_vec())]);
        let error = api
            .put("upload")
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ApiError::Status(e) if e.status() == 401),
            "{error:?}"
        );
        assert_eq!(rs.statuses(), [401]);
        let status = api.get("me").send().await.unwrap().status();
        assert_eq!(status, 200);
        assert_eq!(rs.statuses(), [401, 200]);
        rs.assert_every_proof_was_valid();
    }

    #[tokio::test]
    async fn a_refused_dpop_token_is_renewed_once_and_the_request_resent() {
        let rs = ResourceServer::new(&["at-new"]);
        let server = start(&rs, Some(DPOP_TOKEN)).await;
        let api = api(&server, manager(&server, "at-old", 3600));

        let status = api.get("me").send().await.unwrap().status();
        assert_eq!(status, 200);
        assert_eq!(rs.statuses(), [401, 200]);
        assert_eq!(token_requests(&server).await, 1);
        rs.assert_every_proof_was_valid();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 8)]
    async fn many_tasks_behind_an_expired_dpop_token_send_one_token_request() {
        let rs = ResourceServer::new(&["at-new"]);
        let server = start(&rs, Some(DPOP_TOKEN)).await;
        let api = api(&server, manager(&server, "at-old", -5));

        let barrier = Arc::new(tokio::sync::Barrier::new(CALLERS));
        let tasks: Vec<_> = (0..CALLERS)
            .map(|_| {
                let api = api.clone();
                let barrier = Arc::clone(&barrier);
                tokio::spawn(async move {
                    barrier.wait().await;
                    api.get("me").send().await.map(|r| r.status())
                })
            })
            .collect();
        for task in tasks {
            let status = task.await.unwrap().unwrap();
            assert_eq!(status, 200);
        }
        assert_eq!(token_requests(&server).await, 1);
        let statuses = rs.statuses();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), CALLERS);
        rs.assert_every_proof_was_valid();
    }
}
