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
    let token = target(&args.token, args.token_type_hint)?;
    let flow = if args.signed {
        client.introspect_jwt(token)?
    } else {
        client.introspect(token)?
    };
    let mut document = serde_json::Value::Null;
    let introspection = backend.run(Observed::new(flow, cx.settings.verbose), |flow, _| {
        // The first answer is the introspection's (a signed one may be followed by the
        // issuer's keys).
        if let (serde_json::Value::Null, Some(body)) = (&document, flow.last_body()) {
            document = answer_document(body);
        }
    })?;
    if !introspection.active() {
        eprintln!("grantline: the token is not active");
    }
    cx.output.print(&document)
}

/// The answer as printed: a JSON answer as it came; a signed one (RFC 9701, verified by the
/// flow before this is printed) as its `token_introspection` claim.
fn answer_document(body: &[u8]) -> serde_json::Value {
    if let Ok(json) = serde_json::from_slice(body) {
        return json;
    }
    std::str::from_utf8(body)
        .ok()
        .and_then(|jwt| crate::jwt::decode(jwt).ok())
        .and_then(|decoded| decoded.claims)
        .and_then(|mut claims| {
            claims
                .get_mut("token_introspection")
                .map(serde_json::Value::take)
        })
        .unwrap_or_default()
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
