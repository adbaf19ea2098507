//! `grantline device` and `grantline ciba`: a grant approved somewhere else, then polling.
//!
//! Both run grantline's polling flows, which keep the interval, add 5 s for every `slow_down`
//! (for good), honour `Retry-After`, back off after network failures and stop at the grant's
//! expiry. This module only shows what happens.

use std::time::Duration;

use grantline::ciba::{BackchannelAuthenticationRequest, UserHint};
use grantline::device::DeviceAuthorizationRequest;

use super::{Context, scope_or_profile};
use crate::args::{CibaArgs, DeviceArgs};
use crate::error::CliError;
use crate::observe::Observed;
use crate::progress::{PollProgress, show_device_code};
use crate::settings::read_value;

/// Runs `device`.
pub(crate) fn run_device(cx: &Context, args: &DeviceArgs) -> Result<(), CliError> {
    let backend = cx.settings.backend()?;
    let client = cx.settings.client(&backend)?;
    let mut request = DeviceAuthorizationRequest::new();
    let scope = scope_or_profile(cx, &args.scope);
    if let Some(scope) = &scope {
        request = request.scope(scope.clone());
    }
    for (name, value) in &args.param {
        request = request.param(name.clone(), value.clone());
    }
    let verbose = cx.settings.verbose;
    let authorization = backend.run(
        Observed::new(client.device_authorization(request)?, verbose),
        |_, _| {},
    )?;
    show_device_code(&authorization, !args.no_qr);

    // Without `openid` there is no ID token to validate, and nothing to warn about.
    let openid = authorization.asked_for_openid();
    let flow = client.device_token(authorization)?;
    let flow = if openid {
        unvalidated_if_unknown(&client, flow, |f| f.insecure_skip_id_token_validation())
    } else {
        flow
    };
    let progress = PollProgress::start("waiting for approval", verbose);
    let token = backend.run(Observed::new(flow, verbose), |flow, event| {
        let status = flow.inner().status(backend.now());
        progress.update(
            &status,
            backend.real_duration(status.time_left),
            event,
            flow.last_error_code(),
        );
    });
    progress.finish();
    let token = token?;
    eprintln!("grantline: approved");
    cx.finish_with_token(&backend, &token, scope.as_deref())
}

/// Runs `ciba`.
pub(crate) fn run_ciba(cx: &Context, args: &CibaArgs) -> Result<(), CliError> {
    let backend = cx.settings.backend()?;
    let client = cx.settings.client(&backend)?;
    let hint = match (
        &args.login_hint,
        &args.login_hint_token,
        &args.id_token_hint,
    ) {
        (Some(hint), _, _) => UserHint::LoginHint(hint.clone()),
        (None, Some(token), _) => UserHint::LoginHintToken(read_value(token, "login hint token")?),
        (None, None, Some(token)) => UserHint::IdTokenHint(read_value(token, "ID token hint")?),
        (None, None, None) => {
            return Err(CliError::config(
                "say who to authenticate: --login-hint, --login-hint-token or --id-token-hint",
            ));
        }
    };
    let mut request = BackchannelAuthenticationRequest::new(hint);
    let given = scope_or_profile(cx, &args.scope);
    if let Some(scope) = &given {
        request = request.scope(scope.clone());
    }
    // CIBA always asks for `openid` (the request adds it when missing).
    let scope = std::iter::once("openid")
        .chain(given.iter().flat_map(|s| s.split_whitespace()))
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(message) = &args.binding_message {
        request = request.binding_message(message.clone());
    }
    if let Some(code) = &args.user_code {
        request = request.user_code(code.clone());
    }
    if let Some(expiry) = args.requested_expiry {
        request = request.requested_expiry(Duration::from_secs(expiry));
    }
    if let Some(acr) = &args.acr_values {
        request = request.acr_values(acr.clone());
    }
    for (name, value) in &args.param {
        request = request.param(name.clone(), value.clone());
    }
    let verbose = cx.settings.verbose;
    let pending = backend.run(
        Observed::new(client.backchannel_authentication(request)?, verbose),
        |_, _| {},
    )?;
    match &args.binding_message {
        Some(message) => eprintln!(
            "grantline: the server asked the user to approve on their device; check it shows: {message}"
        ),
        None => eprintln!("grantline: the server asked the user to approve on their device"),
    }

    let flow = unvalidated_if_unknown(&client, client.ciba_token(pending)?, |f| {
        f.insecure_skip_id_token_validation()
    });
    let progress = PollProgress::start("waiting for the user to approve", verbose);
    let token = backend.run(Observed::new(flow, verbose), |flow, event| {
        let status = flow.inner().status(backend.now());
        progress.update(
            &status,
            backend.real_duration(status.time_left),
            event,
            flow.last_error_code(),
        );
    });
    progress.finish();
    let token = token?;
    eprintln!("grantline: approved");
    cx.finish_with_token(&backend, &token, Some(&scope))
}

/// The ID token of a device or CIBA answer is validated when the client knows the issuer and
/// its JWK Set URL (`--issuer`, discovery). Configured by explicit endpoints alone it cannot be:
/// the command then says so on stderr and opts out by name, as it always did, rather than
/// refuse a flow the person may already be approving.
fn unvalidated_if_unknown<F>(client: &grantline::Client, flow: F, skip: impl FnOnce(F) -> F) -> F {
    let knows_keys = client.endpoint(grantline::EndpointKind::Jwks).is_some();
    if knows_keys && client.issuer().is_some() {
        return flow;
    }
    eprintln!(
        "grantline: the ID token (if any) is not validated: the client knows no issuer and JWK Set URL; use --issuer to have it validated"
    );
    skip(flow)
}
