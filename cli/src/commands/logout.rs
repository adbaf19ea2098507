//! `grantline logout`: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), through
//! grantline's `EndSessionRequest`.
//!
//! The end-session URL is built (the endpoint from `--end-session-endpoint` or the issuer's
//! metadata; `id_token_hint` from the option or the profile's cached ID token; `client_id` when
//! known), printed on stdout, and opened in the browser: the provider asks the person to confirm
//! and ends their session there. Nothing is sent from this process. `--forget-token` also deletes
//! the profile's cached token here (it is not revoked at the server).

use grantline::EndpointKind;
use grantline::oidc::EndSessionRequest;
use grantline::secret::IdToken;

use super::Context;
use crate::args::LogoutArgs;
use crate::error::CliError;
use crate::progress::stderr_is_terminal;
use crate::settings::read_value;

/// Runs `logout`.
pub(crate) fn run(cx: &Context, args: &LogoutArgs) -> Result<(), CliError> {
    if args.forget_token && cx.settings.profile_name().is_none() {
        return Err(CliError::config(
            "--forget-token deletes a profile's cached token: pass --profile NAME",
        ));
    }
    let id_token = match &args.id_token_hint {
        Some(raw) => Some(IdToken::new(read_value(raw, "ID token")?)),
        None => cached_id_token(cx)?,
    };
    let endpoint = match &args.end_session_endpoint {
        Some(url) => url.clone(),
        None => {
            let backend = cx.settings.backend()?;
            let client = cx.settings.client_for_token_calls(&backend)?;
            client
                .endpoint(EndpointKind::EndSession)
                .map(|url| url.as_str().to_owned())
                .ok_or_else(|| {
                    CliError::config(
                        "no end-session endpoint: the issuer's metadata has none (or no --issuer was given); pass --end-session-endpoint URL",
                    )
                })?
        }
    };

    let mut request = EndSessionRequest::new(endpoint);
    if cx.settings.insecure_http {
        request = request.insecure_http();
    }
    if let Some(token) = &id_token {
        request = request.id_token_hint(token);
    }
    if let Some(client_id) = &cx.settings.client_id {
        request = request.client_id(client_id.clone());
    }
    if let Some(uri) = &args.post_logout_redirect_uri {
        request = request.post_logout_redirect_uri(uri.clone());
    }
    if let Some(state) = &args.state {
        request = request.state(state.clone());
    }
    if let Some(hint) = &args.logout_hint {
        request = request.logout_hint(hint.clone());
    }
    let url = request.build()?;

    if args.forget_token {
        if let (Some(name), Ok(config)) = (cx.settings.profile_name(), cx.config()) {
            config.remove_token(name);
            eprintln!("grantline: deleted the cached token of profile `{name}` (not revoked)");
        }
    }
    let opened = !args.no_browser && stderr_is_terminal() && webbrowser::open(url.as_str()).is_ok();
    if opened {
        eprintln!(
            "grantline: opened the browser to log out; if nothing happened, open:\n\n    {url}\n"
        );
    } else {
        eprintln!("grantline: open this URL in a browser to log out:\n\n    {url}\n");
    }
    cx.output
        .print(&serde_json::json!({ "logout_url": url.as_str() }))
}

/// The profile's cached ID token, if there is one.
fn cached_id_token(cx: &Context) -> Result<Option<IdToken>, CliError> {
    let Some(name) = cx.settings.profile_name() else {
        return Ok(None);
    };
    Ok(cx
        .config()?
        .cached_token(name)
        .and_then(|token| token.id_token().cloned()))
}
