//! `grantline authorize`: the authorization code flow with PKCE (and PAR with `--par`).
//!
//! 1. Bind the one-shot listener (unless `--paste`), which fixes the redirect URI.
//! 2. Build the request (PKCE S256, state, nonce with `openid`) and get the browser URL,
//!    pushing the request first with `--par`.
//! 3. Open the browser, or print the URL (`--no-browser`, or no terminal).
//! 4. Take the callback from the listener or from stdin, validate it (state, iss, errors).
//! 5. Exchange the code (with `openid` in scope the core also validates the ID token, fetching
//!    the issuer's keys); print (and with `--profile`, cache) the token.

use std::io::{BufRead as _, IsTerminal as _};
use std::time::Duration;

use grantline::authorization::{Callback, RedirectUri};

use super::{Context, scope_or_profile};
use crate::args::AuthorizeArgs;
use crate::error::CliError;
use crate::listener::CallbackListener;
use crate::observe::Observed;
use crate::progress::{machine_lines, stderr_is_terminal};

/// The redirect URI used with `--paste` when none is given.
const PASTE_REDIRECT_URI: &str = "http://127.0.0.1/callback";

/// Runs `authorize`.
pub(crate) fn run(cx: &Context, args: &AuthorizeArgs) -> Result<(), CliError> {
    let backend = cx.settings.backend()?;
    let client = cx.settings.client(&backend)?;
    let redirect_uri = args
        .redirect_uri
        .clone()
        .or_else(|| cx.settings.saved().and_then(|p| p.redirect_uri.clone()));

    let listener = if args.paste {
        None
    } else {
        Some(CallbackListener::bind(redirect_uri.as_deref())?)
    };
    // The redirect URI is known only now (the listener's port): it is this request's own.
    let redirect_uri = RedirectUri::new(match &listener {
        Some(listener) => listener.redirect_uri().to_owned(),
        None => redirect_uri.unwrap_or_else(|| PASTE_REDIRECT_URI.to_owned()),
    })?;

    let mut request = client.authorization_request().redirect_uri(redirect_uri);
    if let Some(scope) = scope_or_profile(cx, &args.scope) {
        request = request.scope(scope);
    }
    let resources = if args.resource.is_empty() {
        cx.settings
            .saved()
            .map(|p| p.resource.clone())
            .unwrap_or_default()
    } else {
        args.resource.clone()
    };
    for resource in resources {
        request = request.resource(resource);
    }
    if let Some(prompt) = &args.prompt {
        request = request.prompt(prompt.clone());
    }
    if let Some(hint) = &args.login_hint {
        request = request.login_hint(hint.clone());
    }
    for (name, value) in &args.param {
        request = request.param(name.clone(), value.clone());
    }

    let (url, pending) = if args.par {
        let (flow, pending) = request.into_pushed()?;
        let pushed = backend.run(Observed::new(flow, cx.settings.verbose), |_, _| {})?;
        (pushed.url().clone(), pending)
    } else {
        request.into_redirect()?
    };

    show_url(url.as_str(), args.no_browser || args.paste);

    let code = match listener {
        Some(listener) => {
            eprintln!(
                "grantline: waiting for the browser to come back to {} ...",
                listener.redirect_uri()
            );
            let arrived = listener.wait(Duration::from_secs(args.wait))?;
            let callback = arrived.callback.clone();
            match pending.validate_callback(callback) {
                Ok(code) => {
                    arrived.reply(Ok(()));
                    code
                }
                Err(e) => {
                    arrived.reply(Err(&e.to_string()));
                    return Err(e.into());
                }
            }
        }
        None => pending.validate_callback(read_pasted()?)?,
    };
    let flow = client.exchange_code(code)?;
    let token = backend.run(Observed::new(flow, cx.settings.verbose), |_, _| {})?;
    cx.finish_with_token(&backend, &token)
}

/// Opens the browser, or prints the URL for the person (and for scripts).
fn show_url(url: &str, print_only: bool) {
    let opened = !print_only && stderr_is_terminal() && webbrowser::open(url).is_ok();
    if opened {
        eprintln!("grantline: opened the browser; if nothing happened, open:\n\n    {url}\n");
    } else {
        eprintln!("grantline: open this URL in a browser to sign in:\n\n    {url}\n");
    }
    machine_lines(&[("authorization_url", url)]);
}

/// Reads the URL the browser ended up at (or its query) from stdin.
fn read_pasted() -> Result<Callback, CliError> {
    if std::io::stdin().is_terminal() {
        eprintln!(
            "grantline: after signing in, paste the URL your browser was sent to (it may show an error page) and press Enter:"
        );
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::config(format!("cannot read the pasted URL: {e}")))?;
    let line = line.trim();
    if line.is_empty() {
        return Err(CliError::Interrupted(
            "no URL was pasted on stdin".to_owned(),
        ));
    }
    Ok(Callback::from(line))
}
