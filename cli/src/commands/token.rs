//! `grantline token`: the token endpoint grants, and a profile's cached token.
//!
//! `grantline token --profile NAME` (no grant) prints the profile's cached token while it is
//! valid for at least the token manager's [`DEFAULT_LEEWAY`] more, and has grantline's token
//! manager renew it otherwise: with its refresh token when it has one, else with the profile's
//! grant (`--grant client-credentials` at `profile add`). The renewed token replaces the cached
//! one, so a script can call it before every request.

use std::io::IsTerminal as _;

use grantline::grant::TokenRequest;
use grantline::secret::{Password, RefreshToken};
use grantline::token_manager::{Access, DEFAULT_LEEWAY, TokenManager};
use grantline::{Client, TokenResponse};

use super::{Context, scope_or_profile, token_document};
use crate::args::{
    CustomGrantArgs, ExchangeArgs, GrantCommand, GrantOptions, JwtBearerArgs, PasswordArgs,
    ProfileGrant, RefreshArgs, TokenArgs,
};
use crate::backend::Backend;
use crate::error::CliError;
use crate::observe::Observed;
use crate::settings::read_value;

/// Runs `token`.
pub(crate) fn run(cx: &Context, args: TokenArgs) -> Result<(), CliError> {
    let Some(grant) = args.grant else {
        return cached(cx);
    };
    let backend = cx.settings.backend()?;
    let client = cx.settings.client(&backend)?;
    let mut used_refresh_token = None;
    // The scope the request asks for: what `with_options` sends.
    let asked = match &grant {
        GrantCommand::ClientCredentials(options)
        | GrantCommand::Refresh(RefreshArgs { options, .. })
        | GrantCommand::Password(PasswordArgs { options, .. })
        | GrantCommand::Exchange(ExchangeArgs { options, .. })
        | GrantCommand::JwtBearer(JwtBearerArgs { options, .. })
        | GrantCommand::Custom(CustomGrantArgs { options, .. }) => {
            scope_or_profile(cx, &options.scope)
        }
    };
    let request = match grant {
        GrantCommand::ClientCredentials(options) => {
            with_options(cx, TokenRequest::client_credentials(), &options)
        }
        GrantCommand::Refresh(args) => {
            let refresh_token = match &args.refresh_token {
                Some(raw) => read_value(raw, "refresh token")?,
                None => profile_refresh_token(cx)?,
            };
            used_refresh_token = Some(refresh_token.clone());
            with_options(
                cx,
                TokenRequest::refresh_token(refresh_token),
                &args.options,
            )
        }
        GrantCommand::Password(args) => {
            let password = match args.password {
                Some(password) => password,
                None => prompt_password()?,
            };
            with_options(
                cx,
                TokenRequest::password(args.username, password),
                &args.options,
            )
        }
        GrantCommand::Exchange(args) => {
            let subject = read_value(&args.subject_token, "subject token")?;
            let mut request =
                TokenRequest::token_exchange(subject, args.subject_token_type.as_str());
            if let (Some(actor), Some(actor_type)) = (&args.actor_token, &args.actor_token_type) {
                request =
                    request.actor_token(read_value(actor, "actor token")?, actor_type.as_str());
            }
            if let Some(requested) = &args.requested_token_type {
                request = request.requested_token_type(requested.as_str());
            }
            with_options(cx, request, &args.options)
        }
        GrantCommand::JwtBearer(args) => {
            let assertion = read_value(&args.assertion, "assertion")?;
            with_options(cx, TokenRequest::jwt_bearer(assertion), &args.options)
        }
        GrantCommand::Custom(args) => {
            check_grant_type(&args.grant_type)?;
            let mut request =
                with_options(cx, TokenRequest::custom(args.grant_type), &args.options);
            for (name, path) in &args.param_file {
                let source = if path == "-" {
                    path.clone()
                } else {
                    format!("@{path}")
                };
                let value = read_value(&source, &format!("`{name}` parameter"))?;
                request = request.param(name.clone(), value);
            }
            request
        }
    };
    let mut token = request_token(cx, &backend, &client, request)?;
    // A server that does not rotate refresh tokens sends none back (RFC 6749 §6): the one
    // used stays valid, and is kept with the token (as the token manager's renewal does).
    if let (None, Some(used)) = (token.refresh_token(), used_refresh_token) {
        token = token.with_refresh_token(Some(RefreshToken::new(used)));
    }
    cx.finish_with_token(&backend, &token, asked.as_deref())
}

/// Sends one token request.
pub(crate) fn request_token(
    cx: &Context,
    backend: &Backend,
    client: &Client,
    request: TokenRequest,
) -> Result<TokenResponse, CliError> {
    let flow = client.request_token(request)?;
    backend.run(Observed::new(flow, cx.settings.verbose), |_, _| {})
}

/// Adds scope, resources, audiences and extra parameters: the command line's, else the
/// profile's defaults.
pub(crate) fn with_options(
    cx: &Context,
    mut request: TokenRequest,
    options: &GrantOptions,
) -> TokenRequest {
    let saved = cx.settings.saved();
    if let Some(scope) = scope_or_profile(cx, &options.scope) {
        request = request.scope(scope);
    }
    let resources = if options.resource.is_empty() {
        saved.map(|p| p.resource.clone()).unwrap_or_default()
    } else {
        options.resource.clone()
    };
    for resource in resources {
        request = request.resource(resource);
    }
    let audiences = if options.audience.is_empty() {
        saved.map(|p| p.audience.clone()).unwrap_or_default()
    } else {
        options.audience.clone()
    };
    for audience in audiences {
        request = request.audience(audience);
    }
    for (name, value) in &options.param {
        request = request.param(name.clone(), value.clone());
    }
    request
}

/// The grant types RFC 6749 names (§4.1.3, §4.3.2, §4.4.2, §6); every other is an absolute URI
/// (§4.5).
const REGISTERED_GRANT_TYPES: [&str; 4] = [
    "authorization_code",
    "password",
    "client_credentials",
    "refresh_token",
];

/// Refuses a `token custom --grant-type` that is neither an absolute URI nor a name RFC 6749
/// registered.
fn check_grant_type(grant_type: &str) -> Result<(), CliError> {
    if REGISTERED_GRANT_TYPES.contains(&grant_type) {
        return Ok(());
    }
    let absolute = !grant_type
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
        && url::Url::parse(grant_type).is_ok();
    if absolute {
        Ok(())
    } else {
        Err(CliError::config(format!(
            "`{grant_type}` is not a grant type: pass an absolute URI (an extension grant's, e.g. urn:ietf:params:oauth:grant-type:jwt-bearer) or one of {}",
            REGISTERED_GRANT_TYPES.join(", ")
        )))
    }
}

/// The profile's cached refresh token, for `token refresh` without an argument.
fn profile_refresh_token(cx: &Context) -> Result<String, CliError> {
    let name = cx.settings.profile_name().ok_or_else(|| {
        CliError::config("no refresh token: pass it (or `-` to read stdin), or use --profile NAME")
    })?;
    cx.config()?
        .cached_token(name)
        .and_then(|t| t.refresh_token().map(|r| r.secret().to_owned()))
        .ok_or_else(|| CliError::config(format!("profile `{name}` has no cached refresh token")))
}

/// Asks for the password on the terminal, without echo.
fn prompt_password() -> Result<Password, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::config(
            "no password: pass --password or set GRANTLINE_PASSWORD",
        ));
    }
    rpassword::prompt_password("Password: ")
        .map(Password::new)
        .map_err(|e| CliError::config(format!("cannot read the password: {e}")))
}

/// `token --profile NAME`: the cached token, or a renewed one.
///
/// A cached token still valid past the token manager's leeway is printed without contacting
/// the server. Otherwise grantline's token manager decides and builds the renewal: the refresh
/// token when there is one (falling back to the profile's grant on `invalid_grant`), else the
/// profile's grant.
fn cached(cx: &Context) -> Result<(), CliError> {
    let (name, profile) = cx.settings.profile.as_ref().ok_or_else(|| {
        CliError::config(
            "`grantline token` needs a grant (e.g. `token client-credentials`) or --profile NAME for the cached token",
        )
    })?;
    let config = cx.config()?;
    let backend = cx.settings.backend()?;
    let cached = config.cached_token(name);
    if let Some(token) = &cached {
        if !token.is_expired(backend.now().wall(), DEFAULT_LEEWAY) {
            return cx
                .output
                .print(&token_document(token, backend.now().wall()));
        }
    }

    // What the profile asks for (a refresh without scope asks for the same, RFC 6749 §6).
    let asked = scope_or_profile(cx, &[]);
    let grant = profile.grant.map(|grant| match grant {
        ProfileGrant::ClientCredentials => with_options(
            cx,
            TokenRequest::client_credentials(),
            &GrantOptions::default(),
        ),
    });
    let renewable = cached.as_ref().is_some_and(|t| t.refresh_token().is_some());
    if !renewable && grant.is_none() {
        return Err(match cached {
            Some(_) => CliError::Expired(format!(
                "the token of profile `{name}` expired and it has no refresh token: sign in again with `grantline authorize --profile {name}` (or `device`), or give the profile a grant (`profile add {name} --grant client-credentials --force ...`)"
            )),
            None => CliError::config(format!(
                "profile `{name}` has no token yet: get one with `grantline authorize --profile {name}` (or `device`, or `token client-credentials --profile {name}`)"
            )),
        });
    }

    let client = cx.settings.client(&backend)?;
    let mut manager = match (grant, cached) {
        (Some(request), Some(token)) => TokenManager::grant(client, request)?.with_token(token)?,
        (Some(request), None) => TokenManager::grant(client, request)?,
        (None, Some(token)) => TokenManager::refreshing(client, token)?,
        (None, None) => return Err(CliError::Internal("nothing to renew with".to_owned())),
    };
    match manager.access(backend.now()) {
        Access::Ready(_) => {}
        Access::Renew(renewal) => {
            match backend.run(Observed::new(renewal, cx.settings.verbose), |_, _| {}) {
                Ok(token) => {
                    manager.complete(token, backend.now())?;
                }
                Err(e) => {
                    let _ = manager.renewal_failed(backend.now());
                    return Err(e);
                }
            }
        }
        Access::Wait => {
            return Err(CliError::Internal(
                "the token manager is waiting for another renewal".to_owned(),
            ));
        }
    }
    let token = manager
        .token()
        .ok_or_else(|| CliError::Internal("the token manager has no token".to_owned()))?;
    cx.finish_with_token(&backend, token, asked.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_custom_grant_type_is_an_absolute_uri_or_a_registered_name() {
        for good in [
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "https://grants.example/ticket",
            "client_credentials",
            "refresh_token",
        ] {
            assert!(check_grant_type(good).is_ok(), "{good}");
        }
        for bad in ["", "jwt-bearer", "my_grant", "/relative", "urn:has space"] {
            assert!(
                matches!(check_grant_type(bad), Err(CliError::Config(_))),
                "{bad}"
            );
        }
    }
}
