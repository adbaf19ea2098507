//! `grantline userinfo`: the OpenID Connect userinfo endpoint, called with an access token.
//!
//! The core has no userinfo flow yet, so this is one GET through the transport's `execute`,
//! with the endpoint checked by the core's client builder (https unless loopback or
//! `--insecure-http`). When the core gains its userinfo flow (with signed-response
//! verification), this command should run that flow instead.

use grantline::Client;
use grantline::error::EndpointKind;

use super::Context;
use crate::args::UserinfoArgs;
use crate::error::{CliError, one_line};
use crate::observe::{describe_request, describe_response};
use crate::settings::read_value;

/// Runs `userinfo`.
pub(crate) fn run(cx: &Context, args: &UserinfoArgs) -> Result<(), CliError> {
    let token = match &args.token {
        Some(raw) => read_value(raw, "access token")?,
        None => profile_access_token(cx)?,
    };
    let backend = cx.settings.backend()?;
    let explicit = cx
        .settings
        .endpoints
        .iter()
        .find(|(kind, _)| *kind == EndpointKind::Userinfo)
        .map(|(_, url)| url.clone());
    let endpoint = match explicit {
        Some(url) => url,
        None => {
            let (metadata, _) = cx.settings.discover(&backend)?;
            metadata.userinfo_endpoint.ok_or_else(|| {
                CliError::config(
                    "the server's metadata names no userinfo endpoint: pass --userinfo-endpoint URL",
                )
            })?
        }
    };
    // The core's endpoint rules (https unless loopback or opted out), through its builder.
    let mut builder = Client::builder(
        cx.settings
            .client_id
            .clone()
            .unwrap_or_else(|| "grantline-cli".to_owned()),
    )
    .endpoint(EndpointKind::Userinfo, endpoint);
    if cx.settings.insecure_http {
        builder = builder.allow_insecure_http();
    }
    let checked = builder.build()?;
    let url = checked
        .endpoint(EndpointKind::Userinfo)
        .ok_or_else(|| CliError::Internal("the userinfo endpoint went missing".to_owned()))?;

    let mut authorization = http::HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| CliError::config("the access token cannot be sent in a header"))?;
    authorization.set_sensitive(true);
    let request = http::Request::get(url.as_str())
        .header(http::header::ACCEPT, "application/json")
        .header(http::header::AUTHORIZATION, authorization)
        .body(Vec::new())
        .map_err(|e| CliError::Internal(format!("cannot build the request: {e}")))?;
    if cx.settings.verbose {
        eprint!("{}", describe_request(&request));
    }
    let started = std::time::Instant::now();
    let response = backend.execute(request)?;
    if cx.settings.verbose {
        eprint!("{}", describe_response(&response, Some(started.elapsed())));
    }

    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if !response.status().is_success() {
        let challenge = response
            .headers()
            .get(http::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(|v| format!(" (WWW-Authenticate: {})", one_line(v)))
            .unwrap_or_default();
        return Err(CliError::Unexpected(format!(
            "the userinfo endpoint answered HTTP {}{challenge}",
            response.status().as_u16()
        )));
    }
    if content_type.starts_with("application/jwt") {
        let text = String::from_utf8_lossy(response.body());
        let decoded = crate::jwt::decode(&text).map_err(CliError::InvalidJwt)?;
        eprintln!(
            "grantline: a signed userinfo response; decoded only, the signature was not verified"
        );
        return cx
            .output
            .print(&decoded.to_document(std::time::SystemTime::now()));
    }
    let document: serde_json::Value = serde_json::from_slice(response.body()).map_err(|_| {
        CliError::Unexpected(format!(
            "the userinfo endpoint answered HTTP {} with a body that is not JSON ({})",
            response.status().as_u16(),
            if content_type.is_empty() {
                "no content type".to_owned()
            } else {
                one_line(&content_type)
            }
        ))
    })?;
    cx.output.print(&document)
}

/// The profile's cached access token.
fn profile_access_token(cx: &Context) -> Result<String, CliError> {
    let name = cx.settings.profile_name().ok_or_else(|| {
        CliError::config("no access token: pass it (or `-` to read stdin), or use --profile NAME")
    })?;
    cx.config()?
        .cached_token(name)
        .map(|t| t.access_token().secret().to_owned())
        .ok_or_else(|| {
            CliError::config(format!(
                "profile `{name}` has no cached token: run `grantline token --profile {name}` first"
            ))
        })
}
