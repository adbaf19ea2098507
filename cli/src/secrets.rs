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
//! The profile records which of the two holds its secret, so reading never guesses. Clients
//! registered with `grantline register` keep their client secret and registration access token
//! the same way (see [`Entry`] and [`crate::clients`]), and so does a profile's DPoP private key
//! (`dpop:NAME`), which never goes to `profiles.json`.

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

/// A secret's name in both stores: a profile's client secret (member `NAME`, keyring user
/// `profile:NAME`), or one of the secrets of a client registered with `grantline register`
/// (members and keyring users `client:NAME` and `registration:NAME`; `:` never appears in a
/// name, so they cannot collide with a profile's).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Entry<'a> {
    /// A profile's client secret.
    Profile(&'a str),
    /// A registered client's client secret.
    ClientSecret(&'a str),
    /// A registered client's registration access token (RFC 7592).
    RegistrationToken(&'a str),
    /// A profile's DPoP private key (RFC 9449), as the JWK or PEM text it was read from.
    DpopKey(&'a str),
}

impl Entry<'_> {
    fn member(self) -> String {
        match self {
            Entry::Profile(name) => name.to_owned(),
            Entry::ClientSecret(name) => format!("client:{name}"),
            Entry::RegistrationToken(name) => format!("registration:{name}"),
            Entry::DpopKey(name) => format!("dpop:{name}"),
        }
    }

    fn keyring_user(self) -> String {
        match self {
            Entry::Profile(name) => format!("profile:{name}"),
            other => other.member(),
        }
    }

    fn describe(self) -> String {
        match self {
            Entry::Profile(name) => format!("the client secret of profile `{name}`"),
            Entry::ClientSecret(name) => {
                format!("the client secret of registered client `{name}`")
            }
            Entry::RegistrationToken(name) => {
                format!("the registration access token of registered client `{name}`")
            }
            Entry::DpopKey(name) => format!("the DPoP key of profile `{name}`"),
        }
    }

    fn what(self) -> &'static str {
        match self {
            Entry::Profile(_) | Entry::ClientSecret(_) => "the client secret",
            Entry::RegistrationToken(_) => "the registration access token",
            Entry::DpopKey(_) => "the DPoP key",
        }
    }
}

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
    store_entry(config, Entry::Profile(profile), secret, choice)
}

/// Stores the secret `entry` where `choice` says, and answers where it went.
///
/// # Errors
///
/// As [`store`].
pub(crate) fn store_entry(
    config: &ConfigDir,
    entry: Entry<'_>,
    secret: &ClientSecret,
    choice: SecretStoreChoice,
) -> Result<SecretLocation, CliError> {
    let profile = entry.member();
    let profile = profile.as_str();
    let user = entry.keyring_user();
    match choice {
        SecretStoreChoice::File => {
            store_file(config, profile, Some(secret))?;
            Ok(SecretLocation::File)
        }
        SecretStoreChoice::Keyring => {
            keyring_store::set(&user, secret).map_err(CliError::Config)?;
            store_file(config, profile, None)?;
            Ok(SecretLocation::Keyring)
        }
        SecretStoreChoice::Auto => match keyring_store::set(&user, secret) {
            Ok(()) => {
                store_file(config, profile, None)?;
                Ok(SecretLocation::Keyring)
            }
            Err(why) => {
                eprintln!(
                    "grantline: no OS keyring ({why}); {} goes to {}, readable by you only",
                    entry.what(),
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
    load_entry(config, Entry::Profile(profile), location)
}

/// Reads the secret `entry` from where it was stored.
///
/// # Errors
///
/// As [`load`].
pub(crate) fn load_entry(
    config: &ConfigDir,
    entry: Entry<'_>,
    location: SecretLocation,
) -> Result<ClientSecret, CliError> {
    match location {
        SecretLocation::Keyring => keyring_store::get(&entry.keyring_user()).map_err(|why| {
            CliError::config(format!(
                "cannot read {} from the OS keyring: {why}",
                entry.describe()
            ))
        }),
        SecretLocation::File => {
            let secrets: BTreeMap<String, ClientSecret> =
                read_json(&config.path().join(SECRETS_FILE))?.unwrap_or_default();
            secrets.get(&entry.member()).cloned().ok_or_else(|| {
                let again = match entry {
                    Entry::Profile(_) | Entry::DpopKey(_) => "add the profile again",
                    _ => "register the client again",
                };
                CliError::config(format!(
                    "{} is missing from {SECRETS_FILE}: {again}",
                    entry.describe()
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
    delete_entry(config, Entry::Profile(profile), location)
}

/// Deletes the secret `entry` from where the record says it is.
///
/// # Errors
///
/// As [`delete`].
pub(crate) fn delete_entry(
    config: &ConfigDir,
    entry: Entry<'_>,
    location: Option<SecretLocation>,
) -> Result<(), CliError> {
    let profile = entry.member();
    let profile = profile.as_str();
    match location {
        Some(SecretLocation::Keyring) => {
            if let Err(why) = keyring_store::delete(&entry.keyring_user()) {
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

    fn entry(user: &str) -> Result<keyring::Entry, String> {
        keyring::Entry::new(SERVICE, user).map_err(|e| e.to_string())
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
