//! The inputs every column gets: the same client, endpoints, secrets and server answers.
//!
//! The discovery document and three of the token endpoint's answers were recorded from the
//! interop oidc-provider (they are the fuzz corpus' seeds; the first two bytes of a corpus file are
//! the fuzz target's header and are skipped). oidc-provider's answers to a code exchange (with a
//! refresh token, and with an ID token) are in `benches/fixtures/`: made in its shape (its field
//! order, 43-character opaque tokens, an RS256 ID token of its claims), not recorded.

use grantline::Now;

/// The client id.
pub const CLIENT_ID: &str = "bench-client";
/// The client secret (43 characters, as oidc-provider generates them).
pub const CLIENT_SECRET: &str = "zq8H3vX2kLmN5pQ7rS9tU1wY3aB5cD7eF9gH1jK3mN5";
/// The issuer: the interop oidc-provider's.
pub const ISSUER: &str = "http://127.0.0.1:37667";
/// Its token endpoint.
pub const TOKEN_ENDPOINT: &str = "http://127.0.0.1:37667/token";
/// Its authorization endpoint.
pub const AUTHORIZATION_ENDPOINT: &str = "http://127.0.0.1:37667/auth";
/// The client's redirect URI.
pub const REDIRECT_URI: &str = "http://127.0.0.1:8080/callback";
/// The scope of the client-credentials request.
pub const CC_SCOPE: &str = "api:read";
/// The `state` of the callback row (fixed so that the callback URL is too).
pub const STATE: &str = "S8bW1x5b3rLQ7c3Hj4pW0yZkTn2Vq9Ue6Ra1Mf0Gd7E";
/// The callback the browser brings back: a 43-character code, the state, and `iss`.
pub const CALLBACK: &str = "http://127.0.0.1:8080/callback?code=Jq3kV8wX1mZ5rT7yB2nC4dF6gH8jK0lP9oI7uY5tR3e&state=S8bW1x5b3rLQ7c3Hj4pW0yZkTn2Vq9Ue6Ra1Mf0Gd7E&iss=http%3A%2F%2F127.0.0.1%3A37667";

fn corpus(bytes: &'static [u8]) -> &'static [u8] {
    bytes.get(2..).unwrap_or_default()
}

/// oidc-provider's client-credentials answer: `access_token`, `expires_in`, `token_type`.
#[must_use]
pub fn token_minimal_body() -> &'static [u8] {
    corpus(include_bytes!(
        "../../../fuzz/corpus/token_response/oidc-provider-cc"
    ))
}

/// oidc-provider's client-credentials answer with a JWT access token (RFC 9068) and `scope`.
#[must_use]
pub fn token_jwt_at_body() -> &'static [u8] {
    corpus(include_bytes!(
        "../../../fuzz/corpus/token_response/oidc-provider-jwt-at"
    ))
}

/// A code exchange's answer with a refresh token and scope.
#[must_use]
pub fn token_refresh_body() -> &'static [u8] {
    include_bytes!("../../fixtures/token-refresh.json")
}

/// A code exchange's answer with a refresh token, scope and an ID token.
#[must_use]
pub fn token_id_token_body() -> &'static [u8] {
    include_bytes!("../../fixtures/token-id-token.json")
}

/// oidc-provider's answer to a wrong client secret (with status 401).
#[must_use]
pub fn error_body() -> &'static [u8] {
    corpus(include_bytes!(
        "../../../fuzz/corpus/token_response/oidc-provider-invalid-client"
    ))
}

/// A discovery document in Keycloak's shape (its members and their order, a realm's
/// endpoints, every `*_supported` list a Keycloak 26 realm publishes), with the benchmark's
/// issuer: an input unlike oidc-provider's.
#[must_use]
pub fn discovery_keycloak_body() -> &'static [u8] {
    include_bytes!("../../fixtures/discovery-keycloak.json")
}

/// The scope of the three-scope authorization URL row.
pub const THREE_SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// oidc-provider's discovery document.
#[must_use]
pub fn discovery_body() -> &'static [u8] {
    corpus(include_bytes!(
        "../../../fuzz/corpus/server_metadata/oidc-provider-discovery"
    ))
}

/// An answer as a transport hands it over: status, `content-type: application/json; charset=utf-8`
/// (oidc-provider's), body.
///
/// # Panics
///
/// Never: the status is valid.
#[must_use]
#[allow(clippy::expect_used)]
pub fn response(status: u16, body: &[u8]) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .body(body.to_vec())
        .expect("a valid response")
}

/// The canned answers, built once.
#[derive(Debug)]
#[allow(clippy::exhaustive_structs)]
pub struct Fixtures {
    /// When the answers are read.
    pub now: Now,
    /// `token_minimal_body`, 200.
    pub token_minimal: http::Response<Vec<u8>>,
    /// `token_jwt_at_body`, 200.
    pub token_jwt_at: http::Response<Vec<u8>>,
    /// `token_refresh_body`, 200.
    pub token_refresh: http::Response<Vec<u8>>,
    /// `token_id_token_body`, 200.
    pub token_id_token: http::Response<Vec<u8>>,
    /// `error_body`, 401.
    pub error: http::Response<Vec<u8>>,
    /// `discovery_body`, 200.
    pub discovery: http::Response<Vec<u8>>,
    /// `discovery_keycloak_body`, 200.
    pub discovery_keycloak: http::Response<Vec<u8>>,
    /// [`CALLBACK`], parsed (a web framework hands the application a parsed URL).
    pub callback: url::Url,
}

impl Fixtures {
    /// Builds them.
    ///
    /// # Panics
    ///
    /// Never: the callback is a valid URL.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn new() -> Self {
        Self {
            now: Now::system(),
            token_minimal: response(200, token_minimal_body()),
            token_jwt_at: response(200, token_jwt_at_body()),
            token_refresh: response(200, token_refresh_body()),
            token_id_token: response(200, token_id_token_body()),
            error: response(401, error_body()),
            discovery: response(200, discovery_body()),
            discovery_keycloak: response(200, discovery_keycloak_body()),
            callback: url::Url::parse(CALLBACK).expect("a valid callback"),
        }
    }

    /// The discovery rows: row id and the document each parses.
    #[must_use]
    pub fn discovery_rows(&self) -> [(&'static str, &http::Response<Vec<u8>>); 2] {
        [
            ("discovery", &self.discovery),
            ("discovery_keycloak", &self.discovery_keycloak),
        ]
    }

    /// The token rows: row id and the answer each parses.
    #[must_use]
    pub fn token_rows(&self) -> [(&'static str, &http::Response<Vec<u8>>); 5] {
        [
            ("token_minimal", &self.token_minimal),
            ("token_jwt_at", &self.token_jwt_at),
            ("token_refresh", &self.token_refresh),
            ("token_id_token", &self.token_id_token),
            ("error_response", &self.error),
        ]
    }
}

impl Default for Fixtures {
    fn default() -> Self {
        Self::new()
    }
}
