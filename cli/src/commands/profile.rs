//! `grantline profile add|list|show|remove`.

use std::io::IsTerminal as _;

use grantline::secret::ClientSecret;
use serde_json::{Value, json};

use crate::args::{GlobalArgs, ProfileAddArgs, ProfileArgs, ProfileCommand};
use crate::config::{ConfigDir, check_profile_name};
use crate::error::CliError;
use crate::output::Output;
use crate::secrets;
use crate::settings::Settings;

/// Runs `profile ...`.
pub(crate) fn run(
    global: &GlobalArgs,
    args: ProfileArgs,
    config: &ConfigDir,
    output: &Output,
) -> Result<(), CliError> {
    match args.action {
        ProfileCommand::Add(add) => run_add(global, &add, config, output),
        ProfileCommand::List => {
            let profiles = config.profiles()?;
            let names: Vec<Value> = profiles.profiles.keys().map(|n| json!(n)).collect();
            output.print(&Value::Array(names))
        }
        ProfileCommand::Show { name } => {
            check_profile_name(&name)?;
            let profile = config.profile(&name)?;
            output.print(&describe(&name, &profile, config))
        }
        ProfileCommand::Remove { name } => {
            check_profile_name(&name)?;
            let mut profiles = config.profiles()?;
            let Some(removed) = profiles.profiles.remove(&name) else {
                return Err(CliError::config(format!("no profile named `{name}`")));
            };
            secrets::delete(config, &name, removed.client_secret)?;
            crate::dpop::delete(config, &name, removed.dpop)?;
            config.remove_token(&name);
            config.save_profiles(&profiles)?;
            eprintln!("grantline: removed profile `{name}`");
            Ok(())
        }
    }
}

fn run_add(
    global: &GlobalArgs,
    add: &ProfileAddArgs,
    config: &ConfigDir,
    output: &Output,
) -> Result<(), CliError> {
    check_profile_name(&add.name)?;
    let mut profiles = config.profiles()?;
    if profiles.profiles.contains_key(&add.name) && !add.force {
        return Err(CliError::config(format!(
            "profile `{}` exists: pass --force to replace it",
            add.name
        )));
    }
    let mut profile = Settings::profile_from_args(global);
    if profile.issuer.is_none() && profile.endpoints.is_empty() && profile.provider.name.is_none() {
        return Err(CliError::config(
            "a profile needs a server: pass --issuer URL, --provider NAME or endpoints (--token-endpoint, ...)",
        ));
    }
    profile.grant = add.grant;
    profile.scope.clone_from(&add.scope);
    profile.resource.clone_from(&add.resource);
    profile.audience.clone_from(&add.audience);
    if let Some(uri) = &add.redirect_uri {
        // Refused now rather than at the first `authorize`.
        grantline::authorization::RedirectUri::new(uri.as_str())?;
    }
    profile.redirect_uri.clone_from(&add.redirect_uri);

    let secret = match Settings::resolve(global, None)?.client_secret {
        Some(secret) => Some(secret),
        None => prompt_secret(global)?,
    };
    let dpop = crate::dpop::from_args(global)?;
    // A replaced profile must not keep an old secret, DPoP key or token.
    let old = profiles.profiles.get(&add.name);
    let (old_secret, old_dpop) = (old.and_then(|p| p.client_secret), old.and_then(|p| p.dpop));
    secrets::delete(config, &add.name, old_secret)?;
    crate::dpop::delete(config, &add.name, old_dpop)?;
    config.remove_token(&add.name);
    if let Some(secret) = &secret {
        let location = secrets::store(config, &add.name, secret, add.secret_store)?;
        profile.client_secret = Some(location);
    }
    if let Some(key) = &dpop {
        let location = crate::dpop::store(config, &add.name, key, add.secret_store)?;
        profile.dpop = Some(location);
    }
    profiles.profiles.insert(add.name.clone(), profile.clone());
    config.save_profiles(&profiles)?;
    eprintln!(
        "grantline: saved profile `{}` in {}",
        add.name,
        config.path().display()
    );
    output.print(&describe(&add.name, &profile, config))
}

/// Asks for a secret on the terminal when a confidential client is likely (an auth method that
/// needs one); otherwise the profile is for a public client.
fn prompt_secret(global: &GlobalArgs) -> Result<Option<ClientSecret>, CliError> {
    use crate::args::AuthMethod;
    if !matches!(
        global.auth_method,
        Some(AuthMethod::Basic | AuthMethod::Post)
    ) {
        return Ok(None);
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::config(
            "this authentication method needs a client secret: pass --client-secret-file PATH or set GRANTLINE_CLIENT_SECRET",
        ));
    }
    rpassword::prompt_password("Client secret: ")
        .map(|s| Some(ClientSecret::new(s)))
        .map_err(|e| CliError::config(format!("cannot read the client secret: {e}")))
}

/// A profile as shown: its settings, where its secret is (never the secret), and its cached
/// token's expiry.
fn describe(name: &str, profile: &crate::config::Profile, config: &ConfigDir) -> Value {
    let mut doc = serde_json::to_value(profile).unwrap_or_default();
    if let Value::Object(map) = &mut doc {
        map.insert("name".to_owned(), json!(name));
        if let Some(location) = profile.client_secret {
            map.insert("client_secret".to_owned(), json!(location.describe()));
        }
        if let Some(location) = profile.dpop {
            map.insert("dpop".to_owned(), json!(location.describe()));
        }
        if let Some(token) = config.cached_token(name) {
            let expires = token
                .expires_at()
                .and_then(|at| at.duration_since(std::time::SystemTime::UNIX_EPOCH).ok())
                .map_or_else(
                    || json!("cached, no expiry given"),
                    |d| {
                        json!(format!(
                            "cached, expires {}",
                            crate::jwt::utc_date(d.as_secs())
                        ))
                    },
                );
            map.insert("token".to_owned(), expires);
        }
    }
    doc
}
