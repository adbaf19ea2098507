//! `grantline register` (RFC 7591) and `grantline client list|show|update|delete` (RFC 7592):
//! the registration flows of grantline, run by the backend; the registered clients kept in
//! [`crate::clients`].

use grantline::registration::{ClientMetadata, RegisteredClient, RegistrationFlow};
use grantline::secret::ClientSecret;
use serde_json::{Value, json};

use super::Context;
use crate::args::{
    ClientArgs, ClientCommand, ClientUpdateArgs, GlobalArgs, MetadataArgs, ProfileGrant,
    RegisterArgs, SecretStoreChoice,
};
use crate::backend::Backend;
use crate::clients::{self, ClientRecord};
use crate::config::{ConfigDir, Profile, check_profile_name};
use crate::error::CliError;
use crate::observe::{Observed, mask};
use crate::progress::machine_lines;
use crate::secrets;
use crate::settings::{Settings, join_scope, read_value};

/// Runs `register`.
pub(crate) fn run_register(
    cx: &Context,
    global: &GlobalArgs,
    args: &RegisterArgs,
) -> Result<(), CliError> {
    let config = cx.config()?;
    // Everything that could refuse the result is checked before the server creates a client.
    if let Some(name) = &args.name {
        check_profile_name(name)?;
        if clients::load_all(config)?.clients.contains_key(name) {
            return Err(CliError::config(format!(
                "a registered client named `{name}` exists: pick another --name, or delete it with `grantline client delete {name}`"
            )));
        }
    }
    if let Some(profile) = &args.save_profile {
        check_profile_name(profile)?;
        if config.profiles()?.profiles.contains_key(profile) {
            return Err(CliError::config(format!(
                "profile `{profile}` exists: pick another --save-profile, or remove it with `grantline profile remove {profile}`"
            )));
        }
    }
    let mut metadata = apply(ClientMetadata::new(), &args.metadata)?;
    if let Some(method) = global.auth_method {
        metadata = metadata.token_endpoint_auth_method(clients::auth_method_name(method));
    }
    let initial_access_token = match (&args.initial_access_token, &args.initial_access_token_file) {
        (Some(token), _) => Some(str::to_owned(token)),
        (None, Some(path)) => {
            let raw = if path.as_os_str() == "-" {
                "-".to_owned()
            } else {
                format!("@{}", path.display())
            };
            Some(read_value(&raw, "initial access token")?)
        }
        (None, None) => None,
    };

    let backend = cx.settings.backend()?;
    let endpoint = match &args.registration_endpoint {
        Some(url) => url.clone(),
        None => {
            let (server, _) = cx.settings.discover(&backend).map_err(|e| match e {
                CliError::Config(_) => CliError::config(
                    "no registration endpoint: pass --issuer URL (discovery) or --registration-endpoint URL",
                ),
                other => other,
            })?;
            server.registration_endpoint.ok_or_else(|| {
                CliError::config(
                    "the issuer's metadata names no registration_endpoint: pass --registration-endpoint URL",
                )
            })?
        }
    };
    let mut request = grantline::registration::RegistrationRequest::new(metadata);
    if let Some(token) = initial_access_token {
        request = request.initial_access_token(token);
    }
    if cx.settings.insecure_http {
        request = request.insecure_http();
    }
    let (registered, document) =
        run_registration(&backend, cx.settings.verbose, request.into_flow(&endpoint)?)?;

    let name = match &args.name {
        Some(name) => name.clone(),
        None => free_name(config, registered.client_id())?,
    };
    let base = ClientRecord {
        settings: server_settings(cx.settings.saved(), Settings::profile_from_args(global)),
        registration_endpoint: Some(endpoint),
        ..ClientRecord::default()
    };
    let mut record = clients::record_from(config, &name, base, &registered, args.secret_store)?;
    if let Some(profile_name) = &args.save_profile {
        save_profile(
            config,
            profile_name,
            &record,
            &registered,
            args.secret_store,
        )?;
        record.profile = Some(profile_name.clone());
    }
    let mut all = clients::load_all(config)?;
    all.clients.insert(name.clone(), record);
    clients::save_all(config, &all)?;

    eprintln!(
        "grantline: registered client `{}`, kept as `{name}` in {}",
        registered.client_id(),
        clients::path(config).display()
    );
    if let Some(profile) = &args.save_profile {
        eprintln!("grantline: saved profile `{profile}`: grantline token --profile {profile}");
    }
    let mut lines = vec![("client_id", registered.client_id()), ("client", &name)];
    if let Some(profile) = &args.save_profile {
        lines.push(("profile", profile));
    }
    machine_lines(&lines);
    cx.output.print(&masked(document, args.show_secrets))
}

/// Runs `client ...`.
pub(crate) fn run_client(
    cx: &Context,
    global: &GlobalArgs,
    args: ClientArgs,
) -> Result<(), CliError> {
    let config = cx.config()?;
    match args.action {
        ClientCommand::List => {
            let all = clients::load_all(config)?;
            let list: Vec<Value> = all
                .clients
                .iter()
                .map(|(name, record)| describe(name, record))
                .collect();
            cx.output.print(&Value::Array(list))
        }
        ClientCommand::Show { name, show_secrets } => {
            let record = clients::load(config, &name)?;
            let settings = settings_for(cx, global, &record);
            let backend = settings.backend()?;
            let current = clients::restore(config, &name, &record, settings.insecure_http)?;
            let (read, document) = run_registration(&backend, settings.verbose, current.read()?)?;
            keep(config, &name, record, &read)?;
            cx.output.print(&masked(document, show_secrets))
        }
        ClientCommand::Update(update) => run_update(cx, global, config, &update),
        ClientCommand::Delete { name, local_only } => {
            let record = clients::load(config, &name)?;
            let client_id = record.settings.client_id.clone().unwrap_or_default();
            if !local_only {
                let settings = settings_for(cx, global, &record);
                let backend = settings.backend()?;
                let current = clients::restore(config, &name, &record, settings.insecure_http)?;
                backend.run(
                    Observed::new(current.delete()?, settings.verbose),
                    |_, _| {},
                )?;
            }
            clients::delete_secrets(config, &name, &record)?;
            let mut all = clients::load_all(config)?;
            all.clients.remove(&name);
            clients::save_all(config, &all)?;
            if local_only {
                eprintln!("grantline: forgot client `{name}` (the server was not asked)");
            } else {
                eprintln!("grantline: deleted client `{name}` ({client_id})");
            }
            if let Some(profile) = &record.profile {
                if config.profiles()?.profiles.contains_key(profile) {
                    eprintln!(
                        "grantline: profile `{profile}` still names this client: `grantline profile remove {profile}`"
                    );
                }
            }
            cx.output.print(&json!({
                "deleted": true,
                "client_id": client_id,
                "server_asked": !local_only,
            }))
        }
    }
}

fn run_update(
    cx: &Context,
    global: &GlobalArgs,
    config: &ConfigDir,
    args: &ClientUpdateArgs,
) -> Result<(), CliError> {
    let name = &args.name;
    let mut record = clients::load(config, name)?;
    if !args.merge && is_empty(&args.metadata) && global.auth_method.is_none() {
        return Err(CliError::config(
            "nothing to update: an update replaces all the metadata (RFC 7592), so give the new metadata, or --merge to change only what is given",
        ));
    }
    let settings = settings_for(cx, global, &record);
    let backend = settings.backend()?;
    let mut current = clients::restore(config, name, &record, settings.insecure_http)?;
    let base = if args.merge {
        let (read, _) = run_registration(&backend, settings.verbose, current.read()?)?;
        record = keep(config, name, record, &read)?;
        current = read;
        current.metadata().clone()
    } else {
        ClientMetadata::new()
    };
    let mut metadata = apply(base, &args.metadata)?;
    if let Some(method) = global.auth_method {
        metadata = metadata.token_endpoint_auth_method(clients::auth_method_name(method));
    }
    let (updated, document) =
        run_registration(&backend, settings.verbose, current.update(metadata)?)?;
    let old_secret = clients::client_secret(config, name, &record)?;
    let record = keep(config, name, record, &updated)?;
    let rotated = updated.client_secret().map(ClientSecret::secret)
        != old_secret.as_ref().map(ClientSecret::secret);
    if let (true, Some(profile)) = (rotated, &record.profile) {
        refresh_profile(config, profile, &record, &updated)?;
    }
    cx.output.print(&masked(document, args.show_secrets))
}

/// Runs a registration, read or update flow: the client, and the server's document.
fn run_registration(
    backend: &Backend,
    verbose: bool,
    flow: RegistrationFlow,
) -> Result<(RegisteredClient, Value), CliError> {
    let mut document = Value::Null;
    let registered = backend.run(Observed::new(flow, verbose), |flow, _| {
        if let Some(body) = flow.last_body() {
            document = serde_json::from_slice(body).unwrap_or_default();
        }
    })?;
    Ok((registered, document))
}

/// Stores what the server answered about `name` (a rotated secret or registration access
/// token, a new `registration_client_uri`), where its secrets already are.
fn keep(
    config: &ConfigDir,
    name: &str,
    record: ClientRecord,
    registered: &RegisteredClient,
) -> Result<ClientRecord, CliError> {
    let choice = clients::same_store(
        record
            .registration_access_token
            .or(record.settings.client_secret),
    );
    let record = clients::record_from(config, name, record, registered, choice)?;
    let mut all = clients::load_all(config)?;
    all.clients.insert(name.to_owned(), record.clone());
    clients::save_all(config, &all)?;
    Ok(record)
}

/// The server's document with the client secret and registration access token masked.
fn masked(mut document: Value, show_secrets: bool) -> Value {
    if !show_secrets {
        if let Value::Object(map) = &mut document {
            for field in ["client_secret", "registration_access_token"] {
                if let Some(Value::String(secret)) = map.get_mut(field) {
                    *secret = mask(secret);
                }
            }
        }
    }
    document
}

/// A record as `client list` shows it (never a secret).
fn describe(name: &str, record: &ClientRecord) -> Value {
    let mut doc = json!({ "name": name });
    let mut put = |key: &str, value: Option<Value>| {
        if let (Some(value), Value::Object(map)) = (value, &mut doc) {
            map.insert(key.to_owned(), value);
        }
    };
    put(
        "client_id",
        record.settings.client_id.clone().map(Value::from),
    );
    put("issuer", record.settings.issuer.clone().map(Value::from));
    put(
        "registration_endpoint",
        record.registration_endpoint.clone().map(Value::from),
    );
    put(
        "registration_client_uri",
        record.registration_client_uri.clone().map(Value::from),
    );
    put(
        "token_endpoint_auth_method",
        record
            .settings
            .auth_method
            .map(|m| Value::from(clients::auth_method_name(m))),
    );
    put(
        "client_secret",
        record.settings.client_secret.map(|l| json!(l.describe())),
    );
    put(
        "client_secret_expires_at",
        record.client_secret_expires_at.map(Value::from),
    );
    put(
        "registration_access_token",
        record
            .registration_access_token
            .map(|l| json!(l.describe())),
    );
    put("profile", record.profile.clone().map(Value::from));
    doc
}

/// The metadata options applied over `base`.
fn apply(base: ClientMetadata, args: &MetadataArgs) -> Result<ClientMetadata, CliError> {
    let mut metadata = base;
    if !args.redirect_uri.is_empty() {
        metadata = metadata.redirect_uris(args.redirect_uri.iter().cloned());
    }
    if !args.grant_type.is_empty() {
        metadata = metadata.grant_types(args.grant_type.iter().cloned());
    }
    if !args.response_type.is_empty() {
        metadata = metadata.response_types(args.response_type.iter().cloned());
    }
    if let Some(name) = &args.client_name {
        metadata = metadata.client_name(name.clone());
    }
    if let Some(scope) = join_scope(&args.scope) {
        metadata = metadata.scope(scope);
    }
    if let Some(uri) = &args.jwks_uri {
        metadata = metadata.jwks_uri(uri.clone());
    }
    if let Some(path) = &args.jwks {
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::config(format!("cannot read the JWK Set {}: {e}", path.display()))
        })?;
        let jwks: Value = serde_json::from_str(&text).map_err(|e| {
            CliError::config(format!("the JWK Set {} is not JSON: {e}", path.display()))
        })?;
        if !jwks.get("keys").is_some_and(Value::is_array) {
            return Err(CliError::config(format!(
                "the JWK Set {} has no `keys` array",
                path.display()
            )));
        }
        metadata = metadata.jwks(jwks);
    }
    if let Some(raw) = &args.software_statement {
        metadata = metadata.software_statement(read_value(raw, "software statement")?);
    }
    for (name, raw) in &args.field {
        let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.clone()));
        metadata = metadata.field(name.clone(), value);
    }
    Ok(metadata)
}

fn is_empty(args: &MetadataArgs) -> bool {
    args.redirect_uri.is_empty()
        && args.grant_type.is_empty()
        && args.response_type.is_empty()
        && args.client_name.is_none()
        && args.scope.is_empty()
        && args.jwks_uri.is_none()
        && args.jwks.is_none()
        && args.software_statement.is_none()
        && args.field.is_empty()
}

/// The server and connection settings to keep with a new client: the command line's over the
/// profile in use (if any), without anything about another client.
fn server_settings(saved: Option<&Profile>, given: Profile) -> Profile {
    let mut settings = saved.cloned().unwrap_or_default();
    settings.client_id = None;
    settings.client_secret = None;
    settings.grant = None;
    settings.scope.clear();
    settings.resource.clear();
    settings.audience.clear();
    settings.redirect_uri = None;
    if given.issuer.is_some() {
        settings.issuer = given.issuer;
    }
    settings.endpoints.extend(given.endpoints);
    settings.auth_method = given.auth_method.or(settings.auth_method);
    settings.private_key = given.private_key.or(settings.private_key);
    settings.signing_alg = given.signing_alg.or(settings.signing_alg);
    settings.key_id = given.key_id.or(settings.key_id);
    settings.transport = given.transport.or(settings.transport);
    if !given.ca_cert.is_empty() {
        settings.ca_cert = given.ca_cert;
    }
    settings.proxy = given.proxy.or(settings.proxy);
    settings.timeout = given.timeout.or(settings.timeout);
    settings.insecure_http |= given.insecure_http;
    settings.provider = given.provider.or(&settings.provider);
    settings
}

/// The settings for managing a kept client: the command line's connection options over the
/// ones it was registered with.
fn settings_for(cx: &Context, global: &GlobalArgs, record: &ClientRecord) -> Settings {
    let mut settings = cx.settings.clone();
    let saved = &record.settings;
    if global.transport.is_none() {
        if let Some(transport) = saved.transport {
            settings.transport = transport;
        }
    }
    if global.ca_cert.is_empty() && !saved.ca_cert.is_empty() {
        settings.connection.ca_certs.clone_from(&saved.ca_cert);
    }
    if global.proxy.is_none() && saved.proxy.is_some() {
        settings.connection.proxy.clone_from(&saved.proxy);
    }
    if global.timeout.is_none() {
        if let Some(timeout) = saved.timeout {
            settings.connection.timeout = Some(std::time::Duration::from_secs(timeout));
        }
    }
    settings.insecure_http |= saved.insecure_http;
    settings
}

/// A local name for a client registered without `--name`: its id (made a usable name), with a
/// number added if that name is taken.
fn free_name(config: &ConfigDir, client_id: &str) -> Result<String, CliError> {
    let mut base: String = client_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(56)
        .collect();
    if base.is_empty() || base.starts_with('.') {
        base.insert_str(0, "client");
    }
    let all = clients::load_all(config)?;
    let mut name = base.clone();
    let mut n = 2;
    while all.clients.contains_key(&name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    Ok(name)
}

/// Saves the new client as a profile: its server, id, auth method and secret.
fn save_profile(
    config: &ConfigDir,
    name: &str,
    record: &ClientRecord,
    registered: &RegisteredClient,
    choice: SecretStoreChoice,
) -> Result<(), CliError> {
    let mut profile = record.settings.clone();
    profile.client_secret = registered
        .client_secret()
        .map(|secret| secrets::store(config, name, secret, choice))
        .transpose()?;
    let grants = registered.metadata().get("grant_types");
    let has_client_credentials = grants
        .and_then(Value::as_array)
        .is_some_and(|g| g.iter().any(|g| g == "client_credentials"));
    if has_client_credentials {
        profile.grant = Some(ProfileGrant::ClientCredentials);
    }
    let mut profiles = config.profiles()?;
    profiles.profiles.insert(name.to_owned(), profile);
    config.save_profiles(&profiles)
}

/// Puts a rotated client secret into the profile saved with `--save-profile`, if it still
/// names this client.
fn refresh_profile(
    config: &ConfigDir,
    profile_name: &str,
    record: &ClientRecord,
    registered: &RegisteredClient,
) -> Result<(), CliError> {
    let mut profiles = config.profiles()?;
    let Some(profile) = profiles.profiles.get_mut(profile_name) else {
        return Ok(());
    };
    if profile.client_id != record.settings.client_id {
        return Ok(());
    }
    let choice = clients::same_store(profile.client_secret);
    secrets::delete(config, profile_name, profile.client_secret)?;
    profile.client_secret = registered
        .client_secret()
        .map(|secret| secrets::store(config, profile_name, secret, choice))
        .transpose()?;
    config.remove_token(profile_name);
    config.save_profiles(&profiles)?;
    eprintln!("grantline: the new client secret is in profile `{profile_name}` too");
    Ok(())
}
