//! `grantline authorize`: the authorization code flow with PKCE (and PAR with `--par`).
//!
//! 1. Bind the one-shot listener (unless `--paste`), which fixes the redirect URI.
//! 2. Build the request (PKCE S256, state, nonce with `openid`) and get the browser URL,
//!    pushing the request first with `--par`.
//!    With `--request-object` the parameters travel as one signed JWT (RFC 9101), in the URL or
//!    in the pushed request; with `--dpop` the code is bound to the DPoP key (`dpop_jkt`).
//! 3. Without PAR, ask the authorization endpoint for the URL once, without following
//!    redirects ([`Preflight`]): a server that refuses the request before any sign-in (an
//!    unregistered redirect URI, an unknown client) ends the command with its words at once.
//! 4. Open the browser, or print the URL (`--no-browser`, or no terminal).
//! 5. Take the callback from the listener or from stdin, validate it (state, iss, errors).
//! 6. Exchange the code (with `openid` in scope the core also validates the ID token, fetching
//!    the issuer's keys); print (and with `--profile`, cache) the token.

use std::io::{BufRead as _, IsTerminal as _};
use std::time::Duration;

use grantline::authorization::{Callback, RedirectUri};
use grantline::error::OAuthError;
use grantline::{Flow, Now, Step};

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

    // A provider preset adds its parameters (Apple: response_mode=form_post, which the
    // listener takes as a POST).
    let request = match cx.settings.provider.name {
        Some(_) => cx
            .settings
            .preset(client.client_id())?
            .authorization_request(&client),
        None => client.authorization_request(),
    };
    let mut request = request.redirect_uri(redirect_uri);
    let scope = scope_or_profile(cx, &args.scope);
    if let Some(scope) = &scope {
        request = request.scope(scope.clone());
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
    if let Some(seconds) = args.max_age {
        // The core then requires the ID token's auth_time and checks it against max_age.
        request = request.max_age(Duration::from_secs(seconds));
    }
    if client.dpop_key().is_some() {
        // The code is bound to the DPoP key too (RFC 9449 §10): only this key can exchange it.
        request = request.dpop_jkt();
    }
    if args.request_object {
        if cx.settings.private_key.is_none() {
            return Err(CliError::config(
                "--request-object signs the request with the client's key: pass --private-key PATH (a JWK or PEM file)",
            ));
        }
        request = request.request_object(cx.settings.signing_key()?, backend.now().wall());
    }

    // The FAPI 2.0 profile allows pushed requests only (FAPI 2.0 Security Profile §5.3.3.2).
    let (url, pending) = if args.par || cx.settings.fapi2 {
        let (flow, pending) = request.into_pushed()?;
        let pushed = backend.run(Observed::new(flow, cx.settings.verbose), |_, _| {})?;
        (pushed.url().clone(), pending)
    } else {
        let (url, pending) = request.into_redirect()?;
        // A pushed request was checked by the server already; this one is checked now, so a
        // refusal ends the command here instead of on a browser page the CLI never sees.
        preflight(&backend, &url, pending.redirect_uri(), cx.settings.verbose)?;
        (url, pending)
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
            match verify(cx, &backend, &client, pending, callback) {
                Ok(code) => {
                    arrived.reply(Ok(()));
                    code
                }
                Err(e) => {
                    arrived.reply(Err(&e.to_string()));
                    return Err(e);
                }
            }
        }
        None => verify(cx, &backend, &client, pending, read_pasted()?)?,
    };
    let flow = client.exchange_code(code)?;
    let token = backend.run(Observed::new(flow, cx.settings.verbose), |_, _| {})?;
    cx.finish_with_token(&backend, &token, scope.as_deref())
}

/// Checks the callback against the request: `state`, `iss`, the error the server sent; with
/// `--jarm` (or `--fapi2` and a server that signs its responses) the response JWT is verified
/// first with the issuer's keys (fetched once).
fn verify(
    cx: &Context,
    backend: &crate::backend::Backend,
    client: &grantline::Client,
    pending: grantline::authorization::PendingAuthorization,
    callback: Callback,
) -> Result<grantline::authorization::AuthorizationCode, CliError> {
    let flow = client.verify_callback(pending, callback)?;
    backend.run(Observed::new(flow, cx.settings.verbose), |_, _| {})
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

/// Checks the authorization URL with the server before the person is sent there (see
/// [`Preflight`]). A transport failure is not a refusal: the browser may reach what this
/// process cannot, so the command goes on.
fn preflight(
    backend: &crate::backend::Backend,
    url: &url::Url,
    redirect_uri: &str,
    verbose: bool,
) -> Result<(), CliError> {
    let refusal = match backend.run(Observed::new(Preflight::new(url), verbose), |_, _| {}) {
        Ok(refusal) => refusal,
        Err(CliError::Network { .. }) => return Ok(()),
        Err(other) => return Err(other),
    };
    match refusal {
        None => Ok(()),
        Some(Refusal::OAuth(e)) => Err(CliError::Flow(grantline::Error::OAuth(e))),
        Some(Refusal::Page { status, text }) => Err(CliError::Unexpected(format!(
            "the authorization server refused the authorization request before any sign-in (HTTP {status}): \
             {text}. Check the client id, and that the redirect URI {redirect_uri} is registered \
             for it (a server that follows RFC 8252 accepts any port on http://127.0.0.1 once \
             http://127.0.0.1/callback is registered), or pass --redirect-uri with one it knows"
        ))),
    }
}

/// What a server said when it refused an authorization request outright.
#[derive(Debug)]
enum Refusal {
    /// An OAuth error object (a server that answers JSON).
    OAuth(Box<OAuthError>),
    /// An error page: its status and its text without markup.
    Page { status: u16, text: String },
}

/// One `GET` of the authorization URL, redirects not followed. The server answers a request it
/// accepts with its login page or a redirect to it (or, with a session, a redirect back to the
/// client: not followed, so no code is spent), and one it refuses before any sign-in with a
/// 4xx error page: the only answers a CLI can see of what the browser would show.
#[derive(Debug)]
struct Preflight {
    request: Option<http::Request<Vec<u8>>>,
    refusal: Option<Option<Refusal>>,
}

impl Preflight {
    fn new(url: &url::Url) -> Self {
        let request = http::Request::get(url.as_str())
            .header(http::header::ACCEPT, "text/html, application/json;q=0.9")
            .body(Vec::new())
            .ok();
        Self {
            request,
            refusal: None,
        }
    }
}

impl Flow for Preflight {
    type Output = Option<Refusal>;

    fn next(&mut self, _now: Now) -> Result<Step<Self::Output>, grantline::Error> {
        if let Some(refusal) = self.refusal.take() {
            return Ok(Step::Done(refusal));
        }
        // A URL that makes no request was already refused by the core when it was built.
        Ok(match self.request.take() {
            Some(request) => Step::Send(request),
            None => Step::Done(None),
        })
    }

    fn handle_response(
        &mut self,
        response: http::Response<Vec<u8>>,
        _now: Now,
    ) -> Result<(), grantline::Error> {
        let status = response.status();
        self.refusal = Some(if status.is_client_error() {
            let content_type = response
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            Some(
                match OAuthError::from_body(status, content_type, response.body()) {
                    Ok(e) => Refusal::OAuth(Box::new(e)),
                    Err(_) => Refusal::Page {
                        status: status.as_u16(),
                        text: page_text(response.body()),
                    },
                },
            )
        } else {
            None
        });
        Ok(())
    }
}

/// The visible text of an HTML page (or any body): tags and the contents of `script` and
/// `style` dropped, whitespace collapsed, at most 300 characters.
fn page_text(body: &[u8]) -> String {
    let html = String::from_utf8_lossy(body);
    let mut text = String::new();
    let mut rest = html.as_ref();
    while let Some((before, tag)) = rest.split_once('<') {
        text.push_str(before);
        text.push(' ');
        let lower = tag.to_ascii_lowercase();
        let close = if lower.starts_with("script") {
            "</script>"
        } else if lower.starts_with("style") {
            "</style>"
        } else {
            ">"
        };
        // Lowercasing ASCII keeps every byte offset, so `end` is an offset into `tag` too.
        rest = lower
            .find(close)
            .and_then(|end| tag.get(end + close.len()..))
            .unwrap_or("");
    }
    text.push_str(rest);
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match joined.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", joined.get(..cut).unwrap_or_default()),
        None if joined.is_empty() => "(an empty page)".to_owned(),
        None => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_text_keeps_what_a_person_reads() {
        let page = b"<html><head><style>h1{color:red}</style><script>var x = '<b>';</script>\
            <title>Error</title></head><body><h1>oops! something went wrong</h1>\
            <pre><strong>error</strong>: invalid_redirect_uri</pre></body></html>";
        assert_eq!(
            page_text(page),
            "Error oops! something went wrong error : invalid_redirect_uri"
        );
        assert_eq!(page_text(b""), "(an empty page)");
        assert_eq!(page_text(b"<unclosed"), "(an empty page)");
        assert_eq!(page_text("é".repeat(400).as_bytes()).chars().count(), 301);
    }

    fn answer(status: u16, content_type: &str, body: &str) -> Option<Refusal> {
        let url = url::Url::parse("https://as.example/authorize?client_id=c").unwrap();
        let mut flow = Preflight::new(&url);
        let Ok(Step::Send(request)) = flow.next(Now::system()) else {
            panic!("the preflight sends one request")
        };
        assert_eq!(request.method(), http::Method::GET);
        let response = http::Response::builder()
            .status(status)
            .header("content-type", content_type)
            .body(body.as_bytes().to_vec())
            .unwrap();
        flow.handle_response(response, Now::system()).unwrap();
        match flow.next(Now::system()) {
            Ok(Step::Done(refusal)) => refusal,
            other => panic!("the preflight ends after one answer: {other:?}"),
        }
    }

    #[test]
    fn only_a_client_error_is_a_refusal() {
        assert!(answer(200, "text/html", "<form name=login>").is_none());
        assert!(answer(302, "text/html", "").is_none());
        assert!(answer(503, "text/html", "busy").is_none());
        assert!(matches!(
            answer(400, "application/json", r#"{"error":"invalid_request_uri"}"#),
            Some(Refusal::OAuth(e)) if e.code.as_str() == "invalid_request_uri"
        ));
        assert!(matches!(
            answer(400, "text/html", "<h1>invalid_redirect_uri</h1>"),
            Some(Refusal::Page { status: 400, text }) if text == "invalid_redirect_uri"
        ));
    }
}
