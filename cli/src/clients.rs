//! The clients `grantline register` created, kept so `grantline client` can manage them: RFC
//! 7592 has no listing endpoint, so this store is the only list there is.
//!
//! - `clients.json` in the configuration directory (see [`crate::config`]): one record per
//!   local name, with the server and connection settings (the same fields as a profile), the
//!   client id, `registration_client_uri`, and where its two secrets are. Never a secret.
//! - The client secret and the registration access token go to the same store as profile
//!   secrets ([`crate::secrets`]: the OS keyring, else `secrets.json`), as the entries
//!   `client:NAME` and `registration:NAME`.

use std::collections::BTreeMap;

use grantline::registration::RegisteredClient;
use grantline::secret::ClientSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::args::{AuthMethod, SecretStoreChoice};
use crate::config::{ConfigDir, Profile, check_profile_name, read_json, write_json};
use crate::error::CliError;
use crate::secrets::{self, Entry, SecretLocation};

const CLIENTS_FILE: &str = "clients.json";

/// A registered client, as kept locally.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct ClientRecord {
    /// The server and connection settings, the client id and auth method (as a profile keeps
    /// them); its `client_secret` says where the client secret is.
    #[serde(flatten)]
    pub(crate) settings: Profile,
    /// Where the client was registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) registration_endpoint: Option<String>,
    /// Where it is managed (RFC 7592).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) registration_client_uri: Option<String>,
    /// Where the registration access token is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) registration_access_token: Option<SecretLocation>,
    /// When the client secret expires (unix seconds), if it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_secret_expires_at: Option<u64>,
    /// The profile saved with `register --save-profile`, kept in step when the secret rotates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) profile: Option<String>,
}

/// The contents of `clients.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Clients {
    /// Records by local name.
    #[serde(default)]
    pub(crate) clients: BTreeMap<String, ClientRecord>,
}

/// Every record (none when the file does not exist yet).
///
/// # Errors
///
/// A configuration error when the file cannot be read or parsed.
pub(crate) fn load_all(config: &ConfigDir) -> Result<Clients, CliError> {
    Ok(read_json(&config.path().join(CLIENTS_FILE))?.unwrap_or_default())
}

/// Replaces `clients.json`.
///
/// # Errors
///
/// A configuration error when it cannot be written.
pub(crate) fn save_all(config: &ConfigDir, clients: &Clients) -> Result<(), CliError> {
    write_json(config.path(), CLIENTS_FILE, clients)
}

/// One record.
///
/// # Errors
///
/// A configuration error for a bad name or an unknown client.
pub(crate) fn load(config: &ConfigDir, name: &str) -> Result<ClientRecord, CliError> {
    check_profile_name(name)?;
    load_all(config)?.clients.remove(name).ok_or_else(|| {
        CliError::config(format!(
            "no registered client named `{name}` in {}: see `grantline client list`",
            config.path().join(CLIENTS_FILE).display()
        ))
    })
}

/// The path of `clients.json`, for messages.
pub(crate) fn path(config: &ConfigDir) -> std::path::PathBuf {
    config.path().join(CLIENTS_FILE)
}

/// Stores `registered`'s secrets for `name` (where `choice` says) and returns the record
/// `base` updated with what the server answered.
///
/// # Errors
///
/// A configuration error when a secret cannot be stored.
pub(crate) fn record_from(
    config: &ConfigDir,
    name: &str,
    base: ClientRecord,
    registered: &RegisteredClient,
    choice: SecretStoreChoice,
) -> Result<ClientRecord, CliError> {
    let mut record = base;
    record.settings.client_id = Some(registered.client_id().to_owned());
    if let Some(method) = registered
        .metadata()
        .get("token_endpoint_auth_method")
        .and_then(Value::as_str)
    {
        record.settings.auth_method = auth_method(method).or(record.settings.auth_method);
    }
    record.settings.client_secret = match registered.client_secret() {
        Some(secret) => Some(secrets::store_entry(
            config,
            Entry::ClientSecret(name),
            secret,
            choice,
        )?),
        None => {
            secrets::delete_entry(
                config,
                Entry::ClientSecret(name),
                record.settings.client_secret,
            )?;
            None
        }
    };
    record.registration_access_token = match registered.registration_access_token() {
        Some(token) => Some(secrets::store_entry(
            config,
            Entry::RegistrationToken(name),
            &ClientSecret::new(token.secret()),
            choice,
        )?),
        None => {
            secrets::delete_entry(
                config,
                Entry::RegistrationToken(name),
                record.registration_access_token,
            )?;
            None
        }
    };
    if let Some(uri) = registered.registration_client_uri() {
        record.registration_client_uri = Some(uri.to_owned());
    }
    record.client_secret_expires_at = registered
        .client_secret_expires_at()
        .and_then(|at| at.duration_since(std::time::SystemTime::UNIX_EPOCH).ok())
        .map(|d| d.as_secs());
    Ok(record)
}

/// The store choice that keeps a secret where it already is.
pub(crate) fn same_store(location: Option<SecretLocation>) -> SecretStoreChoice {
    match location {
        Some(SecretLocation::Keyring) => SecretStoreChoice::Keyring,
        Some(SecretLocation::File) => SecretStoreChoice::File,
        None => SecretStoreChoice::Auto,
    }
}

/// Deletes a record's two secrets.
///
/// # Errors
///
/// A configuration error when `secrets.json` cannot be rewritten.
pub(crate) fn delete_secrets(
    config: &ConfigDir,
    name: &str,
    record: &ClientRecord,
) -> Result<(), CliError> {
    secrets::delete_entry(
        config,
        Entry::ClientSecret(name),
        record.settings.client_secret,
    )?;
    secrets::delete_entry(
        config,
        Entry::RegistrationToken(name),
        record.registration_access_token,
    )
}

/// The stored client secret, if there is one.
///
/// # Errors
///
/// A configuration error when it cannot be read.
pub(crate) fn client_secret(
    config: &ConfigDir,
    name: &str,
    record: &ClientRecord,
) -> Result<Option<ClientSecret>, CliError> {
    record
        .settings
        .client_secret
        .map(|location| secrets::load_entry(config, Entry::ClientSecret(name), location))
        .transpose()
}

/// The [`RegisteredClient`] a record describes, for RFC 7592's read, update and delete.
///
/// grantline builds a `RegisteredClient` only from a server's answer, so the stored values are
/// handed to a registration flow as if the server had sent them (sans-IO: nothing is sent).
///
/// # Errors
///
/// A configuration error without a `registration_client_uri` or for an unreadable secret.
pub(crate) fn restore(
    config: &ConfigDir,
    name: &str,
    record: &ClientRecord,
    insecure_http: bool,
) -> Result<RegisteredClient, CliError> {
    let uri = record.registration_client_uri.as_deref().ok_or_else(|| {
        CliError::config(format!(
            "the server gave no registration_client_uri for `{name}`: it cannot be managed (RFC 7592)"
        ))
    })?;
    let client_id = record
        .settings
        .client_id
        .clone()
        .ok_or_else(|| CliError::config(format!("the record of `{name}` has no client_id")))?;
    let mut document = Map::new();
    document.insert("client_id".to_owned(), Value::String(client_id));
    document.insert(
        "registration_client_uri".to_owned(),
        Value::String(uri.to_owned()),
    );
    if let Some(secret) = client_secret(config, name, record)? {
        document.insert(
            "client_secret".to_owned(),
            Value::String(secret.secret().to_owned()),
        );
    }
    if let Some(location) = record.registration_access_token {
        let token = secrets::load_entry(config, Entry::RegistrationToken(name), location)?;
        document.insert(
            "registration_access_token".to_owned(),
            Value::String(token.secret().to_owned()),
        );
    }
    if let Some(method) = record.settings.auth_method.map(auth_method_name) {
        document.insert(
            "token_endpoint_auth_method".to_owned(),
            Value::String(method.to_owned()),
        );
    }
    let client = RegisteredClient::from_document(document)?;
    Ok(if insecure_http {
        client.insecure_http()
    } else {
        client
    })
}

/// The CLI's method for a registered `token_endpoint_auth_method`, if it has one.
pub(crate) fn auth_method(name: &str) -> Option<AuthMethod> {
    Some(match name {
        "client_secret_basic" => AuthMethod::Basic,
        "client_secret_post" => AuthMethod::Post,
        "client_secret_jwt" => AuthMethod::ClientSecretJwt,
        "private_key_jwt" => AuthMethod::PrivateKeyJwt,
        "none" => AuthMethod::None,
        "tls_client_auth" => AuthMethod::TlsClientAuth,
        "self_signed_tls_client_auth" => AuthMethod::SelfSignedTlsClientAuth,
        _ => return None,
    })
}

/// The registered name of a CLI method.
pub(crate) fn auth_method_name(method: AuthMethod) -> &'static str {
    match method {
        AuthMethod::Basic => "client_secret_basic",
        AuthMethod::Post => "client_secret_post",
        AuthMethod::ClientSecretJwt => "client_secret_jwt",
        AuthMethod::PrivateKeyJwt => "private_key_jwt",
        AuthMethod::None => "none",
        AuthMethod::TlsClientAuth => "tls_client_auth",
        AuthMethod::SelfSignedTlsClientAuth => "self_signed_tls_client_auth",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_methods_round_trip() {
        for method in [
            AuthMethod::Basic,
            AuthMethod::Post,
            AuthMethod::ClientSecretJwt,
            AuthMethod::PrivateKeyJwt,
            AuthMethod::None,
            AuthMethod::TlsClientAuth,
            AuthMethod::SelfSignedTlsClientAuth,
        ] {
            assert_eq!(auth_method(auth_method_name(method)), Some(method));
        }
        assert_eq!(auth_method("attest_jwt_client_auth"), None);
    }

    #[test]
    fn a_record_restores_the_registered_client() {
        let dir = tempfile::tempdir().unwrap();
        let config = ConfigDir::locate_in(dir.path());
        let secret = ClientSecret::new("s3cret");
        let mut record = ClientRecord {
            registration_client_uri: Some("https://as.example/reg/c1".to_owned()),
            ..ClientRecord::default()
        };
        record.settings.client_id = Some("c1".to_owned());
        record.settings.auth_method = Some(AuthMethod::Post);
        record.settings.client_secret = Some(
            secrets::store_entry(
                &config,
                Entry::ClientSecret("c"),
                &secret,
                SecretStoreChoice::File,
            )
            .unwrap(),
        );
        record.registration_access_token = Some(
            secrets::store_entry(
                &config,
                Entry::RegistrationToken("c"),
                &ClientSecret::new("rat"),
                SecretStoreChoice::File,
            )
            .unwrap(),
        );
        let client = restore(&config, "c", &record, false).unwrap();
        assert_eq!(client.client_id(), "c1");
        assert_eq!(client.client_secret().unwrap().secret(), "s3cret");
        assert_eq!(client.registration_access_token().unwrap().secret(), "rat");
        assert_eq!(
            client.registration_client_uri(),
            Some("https://as.example/reg/c1")
        );
        let text = std::fs::read_to_string(dir.path().join("secrets.json")).unwrap();
        assert!(text.contains("\"client:c\"") && text.contains("\"registration:c\""));
        record.registration_client_uri = None;
        assert!(matches!(
            restore(&config, "c", &record, false),
            Err(CliError::Config(_))
        ));
    }
}
