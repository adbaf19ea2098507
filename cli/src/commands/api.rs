//! `grantline api METHOD URL`: one request to a protected resource, with a token.
//!
//! The token comes from a grantline token manager, as for `token --profile`: the profile's
//! cached token, renewed with its refresh token or the profile's grant when it is due (the
//! renewed token is cached again); or, without a profile, `--grant client-credentials` with the
//! client options; or a fixed `--token`. The request goes through the transport's `ApiClient`
//! with an `Auth` handler on grantline's `Authorizer`, which decides everything the command does
//! not: the token only to https (or loopback) URLs, a DPoP proof when the token is DPoP-bound,
//! the server's DPoP nonce, and one resend after a `401 invalid_token` with a renewed token.
//!
//! The response body goes to stdout as it came (at most [`BODY_LIMIT`] bytes); `--include`
//! puts the status line and the headers first. A 4xx or 5xx is said on stderr and exits with
//! [`code::API_STATUS`](crate::error::code::API_STATUS).

use std::io::{Read as _, Write as _};

use grantline::api::BaseUrl;
use grantline::authorizer::Authorizer;
use grantline::driver::ApiError;
use grantline::grant::TokenRequest;
use grantline::token_manager::TokenManager;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version};

use super::Context;
use crate::args::{ApiArgs, ProfileGrant};
use crate::error::{CliError, ProxySource, Target, one_line};
use crate::settings::read_value;

/// The most bytes of a response body the command reads.
pub(crate) const BODY_LIMIT: u64 = 16 * 1024 * 1024;

/// One request, as the transports send it. Its `Debug` shows neither header values nor the body.
pub(crate) struct ApiCall {
    /// The method.
    pub(crate) method: Method,
    /// The resource's URL without its query.
    pub(crate) base: BaseUrl,
    /// `""`, or `?` and the URL's query.
    pub(crate) path: String,
    /// Headers to send.
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    /// The body, if any.
    pub(crate) body: Option<Vec<u8>>,
}

impl ApiCall {
    /// The request, as error messages name it: the method and the URL without its query (which
    /// may carry secrets).
    pub(crate) fn target(&self) -> Target {
        let url = self.base.as_url();
        Target {
            method: self.method.to_string(),
            url: one_line(url.as_str()),
            host: one_line(url.host_str().unwrap_or_default()),
        }
    }
}

impl std::fmt::Debug for ApiCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiCall")
            .field("method", &self.method)
            .field("base", &self.base)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("body", &self.body.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

/// The resource's answer. Its `Debug` shows the body's length only.
pub(crate) struct ApiAnswer {
    /// The HTTP version.
    pub(crate) version: Version,
    /// The status.
    pub(crate) status: StatusCode,
    /// The headers.
    pub(crate) headers: HeaderMap,
    /// The body (at most [`BODY_LIMIT`] bytes).
    pub(crate) body: Vec<u8>,
}

impl std::fmt::Debug for ApiAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiAnswer")
            .field("status", &self.status)
            .field("body", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// Runs `api`.
pub(crate) fn run(cx: &Context, args: &ApiArgs) -> Result<(), CliError> {
    let method = Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| CliError::config(format!("`{}` is not an HTTP method", args.method)))?;
    let (base, path) = split_url(&args.url, cx.settings.insecure_http)?;
    let headers = args
        .header
        .iter()
        .map(|raw| parse_header(raw))
        .collect::<Result<Vec<_>, _>>()?;
    let body = match &args.data {
        Some(raw) => Some(read_body(raw)?),
        None => None,
    };

    let backend = cx.settings.backend()?;
    let mut authorizer = Authorizer::new(token_manager(cx, &backend, args)?);
    if cx.settings.insecure_http {
        authorizer = authorizer.insecure_http();
    }
    let answer = backend.api(
        authorizer,
        ApiCall {
            method,
            base,
            path,
            headers,
            body,
        },
    )?;

    let mut stdout = std::io::stdout().lock();
    let mut printed = Vec::new();
    if args.include {
        printed.extend_from_slice(format!("{:?} {}\r\n", answer.version, answer.status).as_bytes());
        for (name, value) in &answer.headers {
            printed.extend_from_slice(name.as_str().as_bytes());
            printed.extend_from_slice(b": ");
            printed.extend_from_slice(value.as_bytes());
            printed.extend_from_slice(b"\r\n");
        }
        printed.extend_from_slice(b"\r\n");
    }
    printed.extend_from_slice(&answer.body);
    stdout
        .write_all(&printed)
        .and_then(|()| stdout.flush())
        .map_err(|e| CliError::Internal(format!("cannot write to stdout: {e}")))?;
    if answer.status.is_client_error() || answer.status.is_server_error() {
        return Err(CliError::ApiStatus(format!(
            "the API answered HTTP {}",
            answer.status
        )));
    }
    Ok(())
}

/// The token manager: the profile's (its cached token, renewed as `token --profile` does, and
/// cached again when renewed), else `--grant` with the client options, else a fixed `--token`.
fn token_manager(
    cx: &Context,
    backend: &crate::backend::Backend,
    args: &ApiArgs,
) -> Result<TokenManager, CliError> {
    if let Some(raw) = &args.token {
        return Ok(TokenManager::bearer(read_value(raw, "access token")?)?);
    }
    let grant = args
        .grant
        .or_else(|| cx.settings.saved().and_then(|p| p.grant));
    let grant = grant.map(|grant| match grant {
        ProfileGrant::ClientCredentials => {
            super::token::with_options(cx, TokenRequest::client_credentials(), &args.options)
        }
    });
    let Some(name) = cx.settings.profile_name() else {
        let Some(request) = grant else {
            return Err(CliError::config(
                "`grantline api` needs a token: use --profile NAME, or --grant client-credentials with the client options, or --token TOKEN",
            ));
        };
        return Ok(TokenManager::grant(cx.settings.client(backend)?, request)?);
    };
    let config = cx.config()?;
    let cached = config.cached_token(name);
    if cached.is_none() && grant.is_none() {
        return Err(CliError::config(format!(
            "profile `{name}` has no token yet: get one with `grantline authorize --profile {name}` (or `device`, or `token client-credentials --profile {name}`)"
        )));
    }
    let client = cx.settings.client(backend)?;
    let manager = match (grant, cached) {
        (Some(request), Some(token)) => TokenManager::grant(client, request)?.with_token(token)?,
        (Some(request), None) => TokenManager::grant(client, request)?,
        // Without a refresh token it is sent as it is: the resource server decides.
        (None, Some(token)) => TokenManager::refreshing(client, token)?,
        (None, None) => return Err(CliError::Internal("nothing to renew with".to_owned())),
    };
    let (config, name) = (config.clone(), name.to_owned());
    Ok(manager.on_renewed(move |token| {
        if let Err(e) = config.save_token(&name, token) {
            eprintln!("grantline: warning: the renewed token was not cached: {e}");
        }
    }))
}

/// Splits the URL into the base the token is confined to (no query) and its query.
fn split_url(raw: &str, insecure_http: bool) -> Result<(BaseUrl, String), CliError> {
    let mut url = url::Url::parse(raw)
        .map_err(|e| CliError::config(format!("`{raw}` is not an absolute URL: {e}")))?;
    // A fragment never goes to the server.
    url.set_fragment(None);
    let path = url.query().map(|q| format!("?{q}")).unwrap_or_default();
    url.set_query(None);
    let base = if insecure_http {
        BaseUrl::insecure_http(url.as_str())
    } else {
        BaseUrl::new(url.as_str())
    };
    match base {
        Ok(base) => Ok((base, path)),
        Err(_) if url.scheme() == "http" => Err(CliError::config(format!(
            "{url} is plain http on a host that is not a loopback address: the token would travel in clear. Use https, or --insecure-http on a trusted network"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// `Name: value`.
fn parse_header(raw: &str) -> Result<(HeaderName, HeaderValue), CliError> {
    let (name, value) = raw
        .split_once(':')
        .ok_or_else(|| CliError::config("a --header is not `Name: value` (no colon)".to_owned()))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| CliError::config(format!("`{}` is not a header name", name.trim())))?;
    let mut value = HeaderValue::from_str(value.trim()).map_err(|_| {
        CliError::config(format!(
            "the value of the --header `{name}` is not a valid header value"
        ))
    })?;
    value.set_sensitive(true);
    Ok((name, value))
}

/// The body: the text itself, `@PATH` for a file's bytes, `-` for all of stdin.
fn read_body(raw: &str) -> Result<Vec<u8>, CliError> {
    if raw == "-" {
        let mut body = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut body)
            .map_err(|e| CliError::config(format!("cannot read the body from stdin: {e}")))?;
        Ok(body)
    } else if let Some(path) = raw.strip_prefix('@') {
        std::fs::read(path)
            .map_err(|e| CliError::config(format!("cannot read the body from {path}: {e}")))
    } else {
        Ok(raw.as_bytes().to_vec())
    }
}

/// An API client's error, in the command's words and exit codes: `target` is the request that
/// was sent, `proxy` the proxy it went through.
pub(crate) fn api_error(error: ApiError, target: &Target, proxy: &Option<ProxySource>) -> CliError {
    match error {
        ApiError::Path(e) => CliError::Flow(e),
        ApiError::Auth(e) => CliError::renewal(e.error(), proxy),
        ApiError::Transport(e) => CliError::network(&e, Some(target.clone()), proxy.clone()),
        ApiError::Status(e) => CliError::ApiStatus(format!("the API answered HTTP {}", e.status())),
        ApiError::InvalidHeader => {
            CliError::config("a --header is not a valid HTTP header".to_owned())
        }
        ApiError::Request(e) | ApiError::Body(e) => CliError::Internal(format!("{target}: {e}")),
        other => CliError::Internal(format!("{target}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_base_and_query_and_plain_http_is_refused() {
        let (base, path) =
            split_url("https://api.example/v1/items?page=2&q=a%20b#top", false).unwrap();
        assert_eq!(base.as_url().as_str(), "https://api.example/v1/items");
        assert_eq!(path, "?page=2&q=a%20b");
        assert_eq!(
            base.join(path.as_str()).unwrap().as_str(),
            "https://api.example/v1/items?page=2&q=a%20b"
        );

        let e = split_url("http://api.example/x", false).unwrap_err();
        assert!(
            matches!(e, CliError::Config(ref m) if m.contains("--insecure-http")),
            "{e}"
        );
        assert!(split_url("http://api.example/x", true).is_ok());
        assert!(split_url("http://127.0.0.1:8080/x", false).is_ok());
        assert!(matches!(
            split_url("not a url", false),
            Err(CliError::Config(_))
        ));
    }

    #[test]
    fn headers_are_name_colon_value() {
        let (name, value) = parse_header("X-Trace:  abc ").unwrap();
        assert_eq!((name.as_str(), value.to_str().unwrap()), ("x-trace", "abc"));
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: x").is_err());
    }
}
