//! Where profiles keep their client secrets: the OS keyring where one answers, else a file only
//! the user can read.
//!
//! - **Keyring** (cargo feature `keyring`, on by default): the macOS Keychain, the Windows
//!   Credential Manager, or the Secret Service (GNOME Keyring, KWallet) on Linux and the BSDs,
//!   through the `keyring` crate in pure Rust. The entry's service is `grantline` and its user
//!   `profile:NAME`.
//! - **File**: `secrets.json` in the configuration directory, mode 0600, one member per
//!   profile. Used when the keyring is not built in, does not answer (a server, a container, CI),
//!   or when asked for (`--secret-store file` or `GRANTLINE_SECRET_STORE=file`).
//!
//! The profile records which of the two holds its secret, so reading never guesses.

use std::collections::BTreeMap;

use grantline::secret::ClientSecret;
use serde::{Deserialize, Serialize};

use crate::args::SecretStoreChoice;
use crate::config::{ConfigDir, read_json, write_json};
use crate::error::CliError;

/// Where a profile's secret is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SecretLocation {
    /// The OS keyring.
    Keyring,
    /// `secrets.json`, readable by the user only.
    File,
}

impl SecretLocation {
    /// A short description for `profile show`.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            SecretLocation::Keyring => "stored in the OS keyring",
            SecretLocation::File => "stored in secrets.json (readable by you only)",
        }
    }
}

const SECRETS_FILE: &str = "secrets.json";

/// Stores `secret` for `profile` where `choice` says, and answers where it went.
///
/// # Errors
///
/// A configuration error when the chosen store cannot take it (`keyring` without a keyring, a
/// file that cannot be written).
pub(crate) fn store(
    config: &ConfigDir,
    profile: &str,
    secret: &ClientSecret,
    choice: SecretStoreChoice,
) -> Result<SecretLocation, CliError> {
    match choice {
        SecretStoreChoice::File => {
            store_file(config, profile, Some(secret))?;
            Ok(SecretLocation::File)
        }
        SecretStoreChoice::Keyring => {
            keyring_store::set(profile, secret).map_err(CliError::Config)?;
            store_file(config, profile, None)?;
            Ok(SecretLocation::Keyring)
        }
        SecretStoreChoice::Auto => match keyring_store::set(profile, secret) {
            Ok(()) => {
                store_file(config, profile, None)?;
                Ok(SecretLocation::Keyring)
            }
            Err(why) => {
                eprintln!(
                    "grantline: no OS keyring ({why}); the client secret goes to {}, readable by you only",
                    config.path().join(SECRETS_FILE).display()
                );
                store_file(config, profile, Some(secret))?;
                Ok(SecretLocation::File)
            }
        },
    }
}

/// Reads `profile`'s secret from where it was stored.
///
/// # Errors
///
/// A configuration error when it is not there any more.
pub(crate) fn load(
    config: &ConfigDir,
    profile: &str,
    location: SecretLocation,
) -> Result<ClientSecret, CliError> {
    match location {
        SecretLocation::Keyring => keyring_store::get(profile).map_err(|why| {
            CliError::config(format!(
                "cannot read the client secret of profile `{profile}` from the OS keyring: {why}"
            ))
        }),
        SecretLocation::File => {
            let secrets: BTreeMap<String, ClientSecret> =
                read_json(&config.path().join(SECRETS_FILE))?.unwrap_or_default();
            secrets.get(profile).cloned().ok_or_else(|| {
                CliError::config(format!(
                    "the client secret of profile `{profile}` is missing from {SECRETS_FILE}: add the profile again"
                ))
            })
        }
    }
}

/// Deletes `profile`'s secret from where the profile says it is.
///
/// # Errors
///
/// A configuration error when `secrets.json` cannot be rewritten.
pub(crate) fn delete(
    config: &ConfigDir,
    profile: &str,
    location: Option<SecretLocation>,
) -> Result<(), CliError> {
    match location {
        Some(SecretLocation::Keyring) => {
            if let Err(why) = keyring_store::delete(profile) {
                eprintln!("grantline: could not delete the secret from the OS keyring: {why}");
            }
            Ok(())
        }
        Some(SecretLocation::File) => store_file(config, profile, None),
        None => Ok(()),
    }
}

/// Sets (or with `None` removes) `profile`'s member of `secrets.json`.
fn store_file(
    config: &ConfigDir,
    profile: &str,
    secret: Option<&ClientSecret>,
) -> Result<(), CliError> {
    let path = config.path().join(SECRETS_FILE);
    let mut secrets: BTreeMap<String, ClientSecret> = read_json(&path)?.unwrap_or_default();
    let changed = match secret {
        Some(secret) => {
            secrets.insert(profile.to_owned(), secret.clone());
            true
        }
        None => secrets.remove(profile).is_some(),
    };
    if changed {
        write_json(config.path(), SECRETS_FILE, &secrets)?;
    }
    Ok(())
}

#[cfg(feature = "keyring")]
mod keyring_store {
    use grantline::secret::ClientSecret;

    const SERVICE: &str = "grantline";

    fn entry(profile: &str) -> Result<keyring::Entry, String> {
        keyring::Entry::new(SERVICE, &format!("profile:{profile}")).map_err(|e| e.to_string())
    }

    pub(super) fn set(profile: &str, secret: &ClientSecret) -> Result<(), String> {
        entry(profile)?
            .set_password(secret.secret())
            .map_err(|e| e.to_string())
    }

    pub(super) fn get(profile: &str) -> Result<ClientSecret, String> {
        entry(profile)?
            .get_password()
            .map(ClientSecret::new)
            .map_err(|e| e.to_string())
    }

    pub(super) fn delete(profile: &str) -> Result<(), String> {
        entry(profile)?
            .delete_credential()
            .map_err(|e| e.to_string())
    }
}

#[cfg(not(feature = "keyring"))]
mod keyring_store {
    use grantline::secret::ClientSecret;

    const NOT_BUILT: &str = "this grantline was built without the `keyring` feature";

    pub(super) fn set(_profile: &str, _secret: &ClientSecret) -> Result<(), String> {
        Err(NOT_BUILT.to_owned())
    }

    pub(super) fn get(_profile: &str) -> Result<ClientSecret, String> {
        Err(NOT_BUILT.to_owned())
    }

    pub(super) fn delete(_profile: &str) -> Result<(), String> {
        Err(NOT_BUILT.to_owned())
    }
}
