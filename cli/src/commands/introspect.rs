//! `grantline introspect` (RFC 7662) and `grantline revoke` (RFC 7009).

use grantline::revocation::RevocationOutcome;
use grantline::token::{TargetToken, TokenTypeHint};
use serde_json::json;

use super::Context;
use crate::args::{IntrospectArgs, RevokeArgs, TokenHint};
use crate::error::CliError;
use crate::observe::Observed;
use crate::settings::read_value;

fn target(raw: &str, hint: Option<TokenHint>) -> Result<TargetToken, CliError> {
    let token = TargetToken::new(read_value(raw, "token")?);
    Ok(match hint {
        Some(TokenHint::AccessToken) => token.with_hint(TokenTypeHint::AccessToken),
        Some(TokenHint::RefreshToken) => token.with_hint(TokenTypeHint::RefreshToken),
        None => token,
    })
}

/// Runs `introspect`: prints the server's answer as it sent it (checked to have `active`).
pub(crate) fn run_introspect(cx: &Context, args: &IntrospectArgs) -> Result<(), CliError> {
    let backend = cx.settings.backend()?;
    let client = cx.settings.client(&backend)?;
    let flow = client.introspect(target(&args.token, args.token_type_hint)?)?;
    let mut document = serde_json::Value::Null;
    let introspection = backend.run(Observed::new(flow, cx.settings.verbose), |flow, _| {
        if let Some(body) = flow.last_body() {
            document = serde_json::from_slice(body).unwrap_or_default();
        }
    })?;
    if !introspection.active() {
        eprintln!("grantline: the token is not active");
    }
    cx.output.print(&document)
}

/// Runs `revoke`: `{"revoked": true}` on success; a server answer that does not confirm the
/// revocation is an unexpected-response error.
pub(crate) fn run_revoke(cx: &Context, args: &RevokeArgs) -> Result<(), CliError> {
    let backend = cx.settings.backend()?;
    let client = cx.settings.client(&backend)?;
    let flow = client.revoke(target(&args.token, args.token_type_hint)?)?;
    match backend.run(Observed::new(flow, cx.settings.verbose), |_, _| {})? {
        RevocationOutcome::Revoked => cx.output.print(&json!({"revoked": true})),
        RevocationOutcome::NotConfirmed(answer) => Err(CliError::Unexpected(format!(
            "the revocation was not confirmed: {answer}"
        ))),
        other => Err(CliError::Unexpected(format!(
            "the revocation was not confirmed: {other:?}"
        ))),
    }
}
