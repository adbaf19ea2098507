//! `grantline userinfo`: the OpenID Connect userinfo endpoint, called with an access token,
//! through grantline's `UserinfoFlow`.
//!
//! The token is sent as its type says: a DPoP profile's token (or a token given with `--dpop` /
//! `--dpop-key`) with `Authorization: DPoP` and a proof by the key, others as `Bearer`.
//!
//! A plain JSON answer is printed as it came. A signed (`application/jwt`) answer is accepted
//! with `--signed`: the issuer's JWK Set is fetched and the flow verifies the signature, `iss`
//! and `aud` before anything is printed.

use grantline::jose::Algorithm;
use grantline::oidc::{IdTokenValidator, JwksFetch, UserinfoFlow};
use grantline::secret::AccessToken;
use grantline::{TokenResponse, TokenType};

use super::Context;
use crate::args::UserinfoArgs;
use crate::error::CliError;
use crate::observe::Observed;
use crate::settings::read_value;

/// Runs `userinfo`.
pub(crate) fn run(cx: &Context, args: &UserinfoArgs) -> Result<(), CliError> {
    let token = match &args.token {
        // A token given by hand is DPoP-bound when the command was given a DPoP key.
        Some(raw) => {
            let kind = if cx.settings.dpop.is_some() {
                TokenType::DPoP
            } else {
                TokenType::Bearer
            };
            TokenResponse::new(AccessToken::new(read_value(raw, "access token")?), kind)
        }
        None => profile_token(cx)?,
    };
    let backend = cx.settings.backend()?;
    let verbose = cx.settings.verbose;
    let client = cx.settings.client_for_token_calls(&backend)?;
    let mut flow = UserinfoFlow::for_token(&client, &token)?;
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

/// The profile's cached token, with its type.
fn profile_token(cx: &Context) -> Result<TokenResponse, CliError> {
    let name = cx.settings.profile_name().ok_or_else(|| {
        CliError::config("no access token: pass it (or `-` to read stdin), or use --profile NAME")
    })?;
    cx.config()?.cached_token(name).ok_or_else(|| {
        CliError::config(format!(
            "profile `{name}` has no cached token: run `grantline token --profile {name}` first"
        ))
    })
}
