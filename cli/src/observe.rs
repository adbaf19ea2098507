//! Watching a flow run: `--verbose` logging of each HTTP exchange (secrets masked, JWTs
//! decoded) and the last response kept for the output.
//!
//! [`Observed`] wraps any [`Flow`] and is itself a flow, so the transports' own `run` loops
//! drive it: it sees each request the flow hands out and each response the transport brings
//! back, and passes both through unchanged. The protocol stays the flow's; this module only
//! looks.

use std::fmt::Write as _;
use std::time::Instant;

use grantline::{Flow, Now, Recovery, Step};
use serde_json::Value;

use crate::error::one_line;
use crate::jwt;

/// Form fields, query parameters and JSON members whose values are never shown.
const SECRET_FIELDS: &[&str] = &[
    "client_secret",
    "password",
    "access_token",
    "refresh_token",
    "id_token",
    "code",
    "code_verifier",
    "assertion",
    "client_assertion",
    "subject_token",
    "actor_token",
    "device_code",
    "auth_req_id",
    "token",
    "id_token_hint",
    "login_hint_token",
    "request",
    "registration_access_token",
    "software_statement",
];

/// Headers whose values are never shown (their scheme is).
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "dpop",
    "cookie",
    "set-cookie",
];

/// How much of a body that is not JSON `--verbose` shows.
const TEXT_EXCERPT: usize = 2048;

/// A flow, watched: logs exchanges when verbose, and keeps the last response's body.
pub(crate) struct Observed<F> {
    inner: F,
    verbose: bool,
    sent_at: Option<Instant>,
    last_body: Option<Vec<u8>>,
}

/// The last body (it may carry tokens) shows as its length only.
impl<F: std::fmt::Debug> std::fmt::Debug for Observed<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observed")
            .field("inner", &self.inner)
            .field("verbose", &self.verbose)
            .field("last_body_len", &self.last_body.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

impl<F> Observed<F> {
    /// Watches `inner`; logs each exchange on stderr when `verbose`.
    pub(crate) fn new(inner: F, verbose: bool) -> Self {
        Self {
            inner,
            verbose,
            sent_at: None,
            last_body: None,
        }
    }

    /// The wrapped flow.
    pub(crate) fn inner(&self) -> &F {
        &self.inner
    }

    /// The body of the last response the flow was given.
    pub(crate) fn last_body(&self) -> Option<&[u8]> {
        self.last_body.as_deref()
    }

    /// The `error` member of the last response, if it was an OAuth error object (for progress
    /// lines such as `authorization_pending`).
    pub(crate) fn last_error_code(&self) -> Option<String> {
        let body: Value = serde_json::from_slice(self.last_body.as_deref()?).ok()?;
        body.get("error")?.as_str().map(one_line)
    }
}

impl<F: Flow> Flow for Observed<F> {
    type Output = F::Output;

    fn next(&mut self, now: Now) -> Result<Step<F::Output>, grantline::Error> {
        let step = self.inner.next(now)?;
        if let Step::Send(request) = &step {
            if self.verbose {
                eprint!("{}", describe_request(request));
            }
            self.sent_at = Some(Instant::now());
        }
        Ok(step)
    }

    fn handle_response(
        &mut self,
        response: http::Response<Vec<u8>>,
        now: Now,
    ) -> Result<(), grantline::Error> {
        if self.verbose {
            let elapsed = self.sent_at.map(|at| at.elapsed());
            eprint!("{}", describe_response(&response, elapsed));
        }
        self.last_body = Some(response.body().clone());
        self.inner.handle_response(response, now)
    }

    fn handle_transport_error(&mut self, now: Now) -> Recovery {
        if self.verbose {
            eprintln!("< (no answer)");
        }
        self.inner.handle_transport_error(now)
    }
}

/// `--verbose`: the library's own `tracing` events on stderr (target `grantline`, the transports'
/// `tracing` feature): each flow and exchange with its URL without the query, grant type, status
/// and duration, and what no single exchange shows (token renewals, single-flight waits, retries,
/// polling waits, resends). They carry no secret: the library's secret sentinel test captures
/// them and searches them. The masked detail of each exchange is [`Observed`]'s.
pub(crate) fn trace_to_stderr() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .without_time()
        .with_level(false)
        .with_target(false);
    let only_grantline = Targets::new().with_target("grantline", LevelFilter::DEBUG);
    // Only fails when a subscriber is already installed (it then stays).
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(only_grantline)
        .try_init();
}

/// The `--verbose` text for a request: method, URL, headers, form or JSON body, secrets masked.
pub(crate) fn describe_request(request: &http::Request<Vec<u8>>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "> {} {}",
        request.method(),
        masked_uri(&request.uri().to_string())
    );
    describe_headers(&mut out, "> ", request.headers());
    let content_type = header_str(request.headers(), http::header::CONTENT_TYPE);
    describe_body(&mut out, "> ", content_type, request.body());
    out
}

/// The `--verbose` text for a response: status, time, headers, body, secrets masked.
pub(crate) fn describe_response(
    response: &http::Response<Vec<u8>>,
    elapsed: Option<std::time::Duration>,
) -> String {
    let mut out = String::new();
    let _ = write!(out, "< HTTP {}", response.status());
    if let Some(elapsed) = elapsed {
        let _ = write!(out, " ({} ms)", elapsed.as_millis());
    }
    out.push('\n');
    describe_headers(&mut out, "< ", response.headers());
    let content_type = header_str(response.headers(), http::header::CONTENT_TYPE);
    describe_body(&mut out, "< ", content_type, response.body());
    out.push('\n');
    out
}

fn header_str(headers: &http::HeaderMap, name: http::header::HeaderName) -> &str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn describe_headers(out: &mut String, prefix: &str, headers: &http::HeaderMap) {
    for (name, value) in headers {
        let text = String::from_utf8_lossy(value.as_bytes());
        let shown = if SECRET_HEADERS.contains(&name.as_str()) || value.is_sensitive() {
            match text.split_once(' ') {
                Some((scheme, rest)) if name != "dpop" => {
                    format!("{scheme} {}", mask(rest.trim()))
                }
                _ => mask(&text),
            }
        } else {
            one_line(&text)
        };
        let _ = writeln!(out, "{prefix}{name}: {shown}");
        if name == "dpop" {
            describe_jwt(out, prefix, &text);
        }
    }
}

fn describe_body(out: &mut String, prefix: &str, content_type: &str, body: &[u8]) {
    if body.is_empty() {
        return;
    }
    out.push_str(prefix);
    out.push('\n');
    if content_type.starts_with("application/x-www-form-urlencoded") {
        for (name, value) in url::form_urlencoded::parse(body) {
            if is_secret_field(&name) {
                let _ = writeln!(out, "{prefix}{}={}", one_line(&name), mask(&value));
                describe_jwt(out, prefix, &value);
            } else {
                let _ = writeln!(out, "{prefix}{}={}", one_line(&name), one_line(&value));
            }
        }
        return;
    }
    if let Ok(mut json) = serde_json::from_slice::<Value>(body) {
        let mut jwts = Vec::new();
        mask_json(&mut json, &mut jwts);
        let pretty = serde_json::to_string_pretty(&json).unwrap_or_default();
        for line in pretty.lines() {
            let _ = writeln!(out, "{prefix}{}", one_line_unbounded(line));
        }
        for (name, token) in jwts {
            let _ = writeln!(out, "{prefix}{name}, decoded (not verified):");
            describe_jwt(out, prefix, &token);
        }
        return;
    }
    let text = String::from_utf8_lossy(body);
    if content_type.starts_with("application/jwt") || jwt::looks_like_jwt(text.trim()) {
        let _ = writeln!(out, "{prefix}{}", mask(text.trim()));
        describe_jwt(out, prefix, text.trim());
        return;
    }
    let excerpt: String = text.chars().take(TEXT_EXCERPT).collect();
    for line in excerpt.lines() {
        let _ = writeln!(out, "{prefix}{}", one_line(line));
    }
    if text.chars().count() > TEXT_EXCERPT {
        let _ = writeln!(out, "{prefix}… ({} bytes in all)", body.len());
    }
}

/// Prints a JWT's header and claims under the line that masked it.
fn describe_jwt(out: &mut String, prefix: &str, token: &str) {
    if !jwt::looks_like_jwt(token) {
        return;
    }
    let Ok(decoded) = jwt::decode(token) else {
        return;
    };
    let _ = writeln!(out, "{prefix}    jwt header: {}", decoded.header);
    if let Some(claims) = &decoded.claims {
        let _ = writeln!(
            out,
            "{prefix}    jwt claims: {}",
            one_line_unbounded(&claims.to_string())
        );
    }
}

/// Masks secret members of a JSON document in place, collecting the JWTs among them.
fn mask_json(value: &mut Value, jwts: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (name, member) in map.iter_mut() {
                if is_secret_field(name) {
                    if let Value::String(secret) = member {
                        if jwt::looks_like_jwt(secret) {
                            jwts.push((name.clone(), secret.clone()));
                        }
                        *member = Value::String(mask(secret));
                        continue;
                    }
                }
                mask_json(member, jwts);
            }
        }
        Value::Array(items) => {
            for item in items {
                mask_json(item, jwts);
            }
        }
        _ => {}
    }
}

fn is_secret_field(name: &str) -> bool {
    SECRET_FIELDS.contains(&name)
}

/// Masks the query parameters of a URL that carry secrets.
fn masked_uri(uri: &str) -> String {
    let Some((base, query)) = uri.split_once('?') else {
        return one_line(uri);
    };
    let pairs: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(name, value)| {
            let value = if is_secret_field(&name) {
                mask(&value)
            } else {
                value.into_owned()
            };
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair(&name, &value)
                .finish()
        })
        .collect();
    one_line_unbounded(&format!("{base}?{}", pairs.join("&")))
}

/// What is shown instead of a secret: its length only.
pub(crate) fn mask(secret: &str) -> String {
    format!("[masked, {} chars]", secret.chars().count())
}

/// Control characters escaped, no length bound (for lines of a document already bounded).
fn one_line_unbounded(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    const SECRET: &str = "s3cr:t+%-sentinel";

    fn jwt() -> String {
        let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(
            "{}.{}.sig",
            b(r#"{"alg":"RS256"}"#),
            b(r#"{"sub":"alice"}"#)
        )
    }

    #[test]
    fn form_secrets_and_authorization_are_masked() {
        let mut value = http::HeaderValue::from_static("Basic c2VjcmV0LXNlbnRpbmVs");
        value.set_sensitive(true);
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "refresh_token")
            .append_pair("refresh_token", "rt-sentinel")
            .append_pair("client_secret", SECRET)
            .append_pair("client_assertion", &jwt())
            .finish();
        let request = http::Request::post("https://as.example/token")
            .header("authorization", value)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.into_bytes())
            .unwrap();
        let text = describe_request(&request);
        assert!(text.contains("> POST https://as.example/token"));
        assert!(text.contains("authorization: Basic [masked, 20 chars]"));
        assert!(text.contains("grant_type=refresh_token"));
        assert!(!text.contains("sentinel"), "{text}");
        assert!(!text.contains("s3cr"), "{text}");
        assert!(text.contains("jwt claims: {\"sub\":\"alice\"}"), "{text}");
    }

    #[test]
    fn json_secrets_are_masked_and_jwts_decoded() {
        let body = serde_json::json!({
            "access_token": "at-sentinel",
            "refresh_token": "rt-sentinel",
            "id_token": jwt(),
            "token_type": "Bearer",
            "nested": {"device_code": "dc-sentinel"}
        });
        let response = http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .header("set-cookie", "session=sentinel")
            .body(body.to_string().into_bytes())
            .unwrap();
        let text = describe_response(&response, None);
        assert!(!text.contains("sentinel"), "{text}");
        assert!(text.contains("\"token_type\": \"Bearer\""));
        assert!(text.contains("id_token, decoded (not verified):"));
        assert!(text.contains("jwt header: {\"alg\":\"RS256\"}"));
    }

    #[test]
    fn secret_query_parameters_are_masked() {
        assert_eq!(
            masked_uri("https://as.example/cb?code=abc&state=xyz"),
            "https://as.example/cb?code=%5Bmasked%2C+3+chars%5D&state=xyz"
        );
    }

    #[test]
    fn text_bodies_are_escaped_and_bounded() {
        let body = format!("<html>\u{1b}[31m{}</html>", "x".repeat(5000));
        let response = http::Response::builder()
            .status(500)
            .header("content-type", "text/html")
            .body(body.into_bytes())
            .unwrap();
        let text = describe_response(&response, None);
        assert!(!text.contains('\u{1b}'));
        assert!(text.contains("bytes in all"));
    }
}
