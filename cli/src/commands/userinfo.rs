//! `grantline userinfo`: the OpenID Connect userinfo endpoint, called with an access token,
//! through grantline's `UserinfoFlow`.
//!
//! A plain JSON answer is printed as it came. A signed (`application/jwt`) answer is accepted
//! with `--signed`: the issuer's JWK Set is fetched and the flow verifies the signature, `iss`
//! and `aud` before anything is printed.

use grantline::jose::Algorithm;
use grantline::oidc::{IdTokenValidator, JwksFetch, UserinfoFlow};
use grantline::secret::AccessToken;

use super::Context;
use crate::args::UserinfoArgs;
use crate::error::CliError;
use crate::observe::Observed;
use crate::settings::read_value;

/// Runs `userinfo`.
pub(crate) fn run(cx: &Context, args: &UserinfoArgs) -> Result<(), CliError> {
    let token = match &args.token {
        Some(raw) => read_value(raw, "access token")?,
        None => profile_access_token(cx)?,
    };
    let backend = cx.settings.backend()?;
    let verbose = cx.settings.verbose;
    let client = cx.settings.client_for_token_calls(&backend)?;
    let mut flow = UserinfoFlow::new(&client, &AccessToken::new(token))?;
    if let Some(subject) = &args.expect_subject {
        flow = flow.expect_subject(subject.clone());
    }
    if args.signed {
        let issuer = client
            .issuer()
            .ok_or_else(|| CliError::config("--signed needs the issuer: pass --issuer URL"))?;
        let client_id = cx.settings.client_id.clone().ok_or_else(|| {
            CliError::config(
                "--signed needs the client id (the answer's audience): pass --client-id",
            )
        })?;
        let keys = backend.run(
            Observed::new(JwksFetch::for_client(&client)?, verbose),
            |_, _| {},
        )?;
        let mut algorithms: Vec<Algorithm> = client
            .metadata()
            .map(|m| {
                m.userinfo_signing_alg_values_supported
                    .iter()
                    .filter_map(|name| Algorithm::from_name(name))
                    .collect()
            })
            .unwrap_or_default();
        if algorithms.is_empty() {
            algorithms.push(Algorithm::RS256);
        }
        let validator = IdTokenValidator::new(issuer, client_id).algorithms(algorithms);
        flow = flow.accept_signed(&validator, keys);
    }
    let info = backend.run(Observed::new(flow, verbose), |_, _| {})?;
    if info.is_signed() {
        eprintln!("grantline: a signed userinfo answer, verified");
    }
    cx.output
        .print(&serde_json::Value::Object(info.claims().clone()))
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
