//! A small authorization server on loopback for tests and runnable examples: discovery, an
//! authorization endpoint that "logs the person in" at once and redirects back with a code,
//! pushed authorization requests, and a token endpoint that checks the client secret, the
//! redirect URI, single use of the code and the PKCE verifier (S256 or plain).
//!
//! Built on wiremock's custom responders, so the checks are real: a wrong verifier or a reused
//! code gets `invalid_grant`, as from a real server. With `openid` in scope it issues an ID
//! token signed with an Ed25519 key published at `/jwks`, carrying the request's nonce, and, when
//! the request asked for `max_age`, an `auth_time` of [`SESSION_AGE`] ago (the person's session
//! is that old: the server does not make them sign in again).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use sha2::Digest as _;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The client the server knows.
pub const CLIENT_ID: &str = "web-app";
/// Its secret (with characters that need form-encoding in Basic authentication).
pub const CLIENT_SECRET: &str = "s3cr:t+%";

/// How long ago the person signed in, as the ID token's `auth_time` says when `max_age` was asked.
pub const SESSION_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// The server's signing key (test-only).
const SIGNING_KEY: &str = r#"{"kty":"OKP","crv":"Ed25519","kid":"mini-as-1",
    "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

#[derive(Debug, Clone)]
struct Grant {
    redirect_uri: String,
    challenge: Option<(String, String)>,
    nonce: Option<String>,
    openid: bool,
    max_age: bool,
}

#[derive(Debug, Default)]
struct State {
    /// Pushed requests by request_uri.
    pushed: HashMap<String, Vec<(String, String)>>,
    /// Issued codes, removed when used.
    codes: HashMap<String, Grant>,
    counter: u64,
    /// How many times each endpoint was called.
    calls: HashMap<&'static str, usize>,
}

/// A running mini authorization server. Dropping it stops it.
#[derive(Debug)]
pub struct MiniAs {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

fn json(status: u16, body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/json")
        .set_body_string(body.to_string())
}

fn form(request: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn basic_ok(request: &Request) -> bool {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            url::form_urlencoded::byte_serialize(CLIENT_ID.as_bytes()).collect::<String>(),
            url::form_urlencoded::byte_serialize(CLIENT_SECRET.as_bytes()).collect::<String>()
        ))
    );
    request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str())
}

struct Authorize {
    state: Arc<Mutex<State>>,
    issuer: String,
}

impl Respond for Authorize {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *st.calls.entry("authorize").or_default() += 1;
        let mut params: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        if let Some(request_uri) = get(&params, "request_uri").map(str::to_owned) {
            match st.pushed.remove(&request_uri) {
                Some(pushed) => params = pushed,
                None => return json(400, serde_json::json!({"error": "invalid_request_uri"})),
            }
        }
        let (Some(redirect_uri), Some(state)) =
            (get(&params, "redirect_uri"), get(&params, "state"))
        else {
            return json(400, serde_json::json!({"error": "invalid_request"}));
        };
        if get(&params, "response_type") != Some("code") {
            return json(
                400,
                serde_json::json!({"error": "unsupported_response_type"}),
            );
        }
        st.counter += 1;
        let code = format!("code-{}", st.counter);
        let challenge = get(&params, "code_challenge").map(|c| {
            (
                c.to_owned(),
                get(&params, "code_challenge_method")
                    .unwrap_or("plain")
                    .to_owned(),
            )
        });
        st.codes.insert(
            code.clone(),
            Grant {
                redirect_uri: redirect_uri.to_owned(),
                challenge,
                nonce: get(&params, "nonce").map(str::to_owned),
                openid: get(&params, "scope").is_some_and(|s| s.split(' ').any(|t| t == "openid")),
                max_age: get(&params, "max_age").is_some(),
            },
        );
        let Ok(mut location) = url::Url::parse(redirect_uri) else {
            return json(400, serde_json::json!({"error": "invalid_request"}));
        };
        location
            .query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", state)
            .append_pair("iss", &self.issuer);
        ResponseTemplate::new(302).insert_header("location", location.as_str())
    }
}

struct Par {
    state: Arc<Mutex<State>>,
}

impl Respond for Par {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *st.calls.entry("par").or_default() += 1;
        if !basic_ok(request) {
            return json(401, serde_json::json!({"error": "invalid_client"}));
        }
        st.counter += 1;
        let request_uri = format!("urn:ietf:params:oauth:request_uri:{}", st.counter);
        st.pushed.insert(request_uri.clone(), form(request));
        json(
            201,
            serde_json::json!({"request_uri": request_uri, "expires_in": 60}),
        )
    }
}

struct Token {
    state: Arc<Mutex<State>>,
    issuer: String,
}

/// A signed ID token for `grant`.
fn id_token(issuer: &str, grant: &Grant) -> String {
    use grantline::jose::{Claims, JwsHeader, SigningKey, sign};
    let key = SigningKey::from_jwk(SIGNING_KEY).expect("the test key loads");
    let now = std::time::SystemTime::now();
    let mut claims = Claims::new()
        .with("iss", issuer)
        .with("sub", "alice")
        .with("aud", CLIENT_ID)
        .with_time("iat", now)
        .with_time("exp", now + std::time::Duration::from_secs(600));
    if let Some(nonce) = &grant.nonce {
        claims = claims.with("nonce", nonce.as_str());
    }
    if grant.max_age {
        claims = claims.with_time("auth_time", now - SESSION_AGE);
    }
    sign(&key, JwsHeader::for_signer(&key), &claims.to_json()).expect("the test key signs")
}

impl Respond for Token {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *st.calls.entry("token").or_default() += 1;
        if !basic_ok(request) {
            return json(401, serde_json::json!({"error": "invalid_client"}));
        }
        let params = form(request);
        if get(&params, "grant_type") != Some("authorization_code") {
            return json(400, serde_json::json!({"error": "unsupported_grant_type"}));
        }
        let invalid = |why: &str| {
            json(
                400,
                serde_json::json!({"error": "invalid_grant", "error_description": why}),
            )
        };
        let Some(grant) = get(&params, "code").and_then(|c| st.codes.remove(c)) else {
            return invalid("unknown or used code");
        };
        if get(&params, "redirect_uri") != Some(grant.redirect_uri.as_str()) {
            return invalid("redirect_uri mismatch");
        }
        if let Some((challenge, method)) = &grant.challenge {
            let Some(verifier) = get(&params, "code_verifier") else {
                return invalid("code_verifier missing");
            };
            let computed = match method.as_str() {
                "S256" => base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(sha2::Sha256::digest(verifier.as_bytes())),
                _ => verifier.to_owned(),
            };
            if &computed != challenge {
                return invalid("PKCE verification failed");
            }
        }
        let mut body = serde_json::json!({
            "access_token": format!("at-for-{}", grant.nonce.as_deref().unwrap_or("no-nonce")),
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": "rt-1",
            "scope": "openid profile",
        });
        if grant.openid {
            body["id_token"] = serde_json::Value::String(id_token(&self.issuer, &grant));
        }
        json(200, body)
    }
}

impl MiniAs {
    /// Starts the server on 127.0.0.1. `require_par` makes its metadata require pushed requests.
    pub async fn start(require_par: bool) -> Self {
        let server = MockServer::start().await;
        let issuer = server.uri();
        let state = Arc::new(Mutex::new(State::default()));
        let metadata = serde_json::json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
            "id_token_signing_alg_values_supported": ["EdDSA"],
            "pushed_authorization_request_endpoint": format!("{issuer}/par"),
            "require_pushed_authorization_requests": require_par,
            "authorization_response_iss_parameter_supported": true,
            "code_challenge_methods_supported": ["S256", "plain"],
            "response_types_supported": ["code"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        });
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(json(200, metadata))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/authorize"))
            .respond_with(Authorize {
                state: Arc::clone(&state),
                issuer: issuer.clone(),
            })
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/par"))
            .respond_with(Par {
                state: Arc::clone(&state),
            })
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(Token {
                state: Arc::clone(&state),
                issuer: issuer.clone(),
            })
            .mount(&server)
            .await;
        let key = grantline::jose::SigningKey::from_jwk(SIGNING_KEY).expect("the test key loads");
        let jwks =
            grantline::jose::JwkSet::from(key.public_jwk().expect("a public key")).to_public_json();
        Mock::given(method("GET"))
            .and(path("/jwks"))
            .respond_with(json(200, jwks))
            .mount(&server)
            .await;
        Self { server, state }
    }

    /// The issuer identifier (`http://127.0.0.1:PORT`).
    pub fn issuer(&self) -> String {
        self.server.uri()
    }

    /// How many times `endpoint` (`authorize`, `par`, `token`) was called.
    pub fn calls(&self, endpoint: &str) -> usize {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.calls.get(endpoint).copied().unwrap_or(0)
    }
}
