//! Profiles and the token cache, in the user's configuration directory.
//!
//! - The directory: `$GRANTLINE_CONFIG_DIR` when set (tests use it, so they never touch the
//!   real configuration), else the platform's configuration directory plus `grantline`
//!   (`~/.config/grantline` on Linux, `~/Library/Application Support/grantline` on macOS,
//!   `%APPDATA%\grantline` on Windows).
//! - `profiles.json`: every profile's settings, never a secret.
//! - `secrets.json`: client secrets that are not in the OS keyring (see [`crate::secrets`]).
//! - `tokens/NAME.json`: the last token of each profile, in grantline's stored-token format
//!   (`"grantline_token": 1`, `expires_at` in unix seconds). An older file without the version
//!   is ignored with a warning and replaced by the next token.
//!
//! The directory is created readable by the user only (0700) and every file is written
//! readable by the user only (0600), through a temporary file and a rename, so a reader never
//! sees half a file.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use grantline::TokenResponse;
use serde::{Deserialize, Serialize};

use crate::args::{AuthMethod, BasicEncoding, ProfileGrant, Provider, TransportKind};
use crate::error::CliError;
use crate::secrets::SecretLocation;

/// The environment variable that moves the configuration directory.
pub(crate) const CONFIG_DIR_ENV: &str = "GRANTLINE_CONFIG_DIR";

/// A saved set of server, client and connection settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Profile {
    /// The issuer, for discovery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) issuer: Option<String>,
    /// Endpoints given explicitly, by option name (`token`, `authorization`, ...).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) endpoints: BTreeMap<String, String>,
    /// The client identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_id: Option<String>,
    /// How the client authenticates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) auth_method: Option<AuthMethod>,
    /// Where the client secret is, if the profile has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_secret: Option<SecretLocation>,
    /// The private key file for `private_key_jwt` (the path; the key stays where it is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) private_key: Option<PathBuf>,
    /// The signing algorithm for the private key or `client_secret_jwt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) signing_alg: Option<String>,
    /// The private key's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) key_id: Option<String>,
    /// The transport.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) transport: Option<TransportKind>,
    /// CA files to trust.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) ca_cert: Vec<PathBuf>,
    /// The HTTP proxy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) proxy: Option<String>,
    /// Request timeout in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) timeout: Option<u64>,
    /// Plain http to hosts that are not loopback allowed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) insecure_http: bool,
    /// The grant `token --profile` renews with when there is no refresh token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) grant: Option<ProfileGrant>,
    /// Default scope.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) scope: Vec<String>,
    /// Default resource indicators.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) resource: Vec<String>,
    /// Default audiences.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) audience: Vec<String>,
    /// Default redirect URI for `authorize`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) redirect_uri: Option<String>,
    /// Where the profile's DPoP key is (the private key, in the secret store): the profile's
    /// tokens are DPoP-bound to it. `None`: no DPoP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) dpop: Option<SecretLocation>,
    /// The TLS client certificate file (the path; the certificate stays where it is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_cert: Option<PathBuf>,
    /// Its private key file (the path; the key stays where it is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_key: Option<PathBuf>,
    /// How `client_secret_basic` encodes the id and secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) basic_encoding: Option<BasicEncoding>,
    /// The FAPI 2.0 Security Profile (`--fapi2`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) fapi2: bool,
    /// Signed authorization responses (`--jarm`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) jarm: bool,
    /// The provider preset (`--provider`) and its options.
    #[serde(default, skip_serializing_if = "ProviderSettings::is_empty")]
    pub(crate) provider: ProviderSettings,
}

/// A provider preset and the options it needs, as `--provider` and its companions give them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProviderSettings {
    /// Which provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<Provider>,
    /// Entra ID's tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tenant: Option<String>,
    /// Auth0's or Okta's domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) domain: Option<String>,
    /// Okta's custom authorization server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) auth_server: Option<String>,
    /// Keycloak's server URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) server_url: Option<String>,
    /// Keycloak's realm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) realm: Option<String>,
    /// Cognito's user pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) user_pool: Option<String>,
    /// Apple's team id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) team_id: Option<String>,
}

impl ProviderSettings {
    /// Nothing set.
    pub(crate) fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Each setting of `self`, else `fallback`'s.
    pub(crate) fn or(self, fallback: &Self) -> Self {
        Self {
            name: self.name.or(fallback.name),
            tenant: self.tenant.or_else(|| fallback.tenant.clone()),
            domain: self.domain.or_else(|| fallback.domain.clone()),
            auth_server: self.auth_server.or_else(|| fallback.auth_server.clone()),
            server_url: self.server_url.or_else(|| fallback.server_url.clone()),
            realm: self.realm.or_else(|| fallback.realm.clone()),
            user_pool: self.user_pool.or_else(|| fallback.user_pool.clone()),
            team_id: self.team_id.or_else(|| fallback.team_id.clone()),
        }
    }
}

/// The contents of `profiles.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Profiles {
    /// Profiles by name.
    #[serde(default)]
    pub(crate) profiles: BTreeMap<String, Profile>,
}

/// The configuration directory.
#[derive(Debug, Clone)]
pub(crate) struct ConfigDir {
    path: PathBuf,
}

impl ConfigDir {
    /// `$GRANTLINE_CONFIG_DIR`, else the platform's configuration directory plus `grantline`.
    ///
    /// # Errors
    ///
    /// A configuration error when the platform has no configuration directory.
    pub(crate) fn locate() -> Result<Self, CliError> {
        if let Some(dir) = std::env::var_os(CONFIG_DIR_ENV).filter(|d| !d.is_empty()) {
            return Ok(Self {
                path: PathBuf::from(dir),
            });
        }
        let base = dirs::config_dir().ok_or_else(|| {
            CliError::config(format!(
                "no configuration directory on this system: set {CONFIG_DIR_ENV}"
            ))
        })?;
        Ok(Self {
            path: base.join("grantline"),
        })
    }

    /// A configuration directory at `path` (tests).
    #[cfg(test)]
    pub(crate) fn locate_in(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
        }
    }

    /// The directory itself.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Every profile (none when the file does not exist yet).
    ///
    /// # Errors
    ///
    /// A configuration error when the file cannot be read or parsed.
    pub(crate) fn profiles(&self) -> Result<Profiles, CliError> {
        match read_json(&self.path.join("profiles.json"))? {
            Some(profiles) => Ok(profiles),
            None => Ok(Profiles::default()),
        }
    }

    /// One profile.
    ///
    /// # Errors
    ///
    /// A configuration error when it does not exist.
    pub(crate) fn profile(&self, name: &str) -> Result<Profile, CliError> {
        self.profiles()?.profiles.remove(name).ok_or_else(|| {
            CliError::config(format!(
                "no profile named `{name}` in {}: create it with `grantline profile add {name} ...`",
                self.path.display()
            ))
        })
    }

    /// Replaces `profiles.json`.
    ///
    /// # Errors
    ///
    /// A configuration error when it cannot be written.
    pub(crate) fn save_profiles(&self, profiles: &Profiles) -> Result<(), CliError> {
        write_json(&self.path, "profiles.json", profiles)
    }

    /// The profile's cached token, if there is one and it can be read.
    ///
    /// A file that is not a stored token (one written by a grantline before stored tokens
    /// carried `"grantline_token": 1`, or a token endpoint's raw answer) is not taken for one:
    /// the reason is printed on stderr and the profile acts as if nothing were cached, so its
    /// next token replaces the file.
    pub(crate) fn cached_token(&self, name: &str) -> Option<TokenResponse> {
        match read_json(&self.tokens_dir().join(format!("{name}.json"))) {
            Ok(token) => token,
            Err(e) => {
                eprintln!(
                    "grantline: warning: {e}; the cached token is ignored and the next token replaces it"
                );
                None
            }
        }
    }

    /// Caches the profile's token.
    ///
    /// # Errors
    ///
    /// A configuration error when it cannot be written.
    pub(crate) fn save_token(&self, name: &str, token: &TokenResponse) -> Result<(), CliError> {
        write_json(&self.tokens_dir(), &format!("{name}.json"), token)
    }

    /// Forgets the profile's cached token.
    pub(crate) fn remove_token(&self, name: &str) {
        let _ = std::fs::remove_file(self.tokens_dir().join(format!("{name}.json")));
    }

    fn tokens_dir(&self) -> PathBuf {
        self.path.join("tokens")
    }
}

/// Profile names are file names and keyring entry names: keep them plain.
///
/// # Errors
///
/// A configuration error for an empty, long or odd name.
pub(crate) fn check_profile_name(name: &str) -> Result<(), CliError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(CliError::config(format!(
            "`{}` is not a usable profile name: use up to 64 letters, digits, `.`, `_` and `-`",
            crate::error::one_line(name)
        )))
    }
}

/// Reads a JSON file; `None` when it does not exist.
pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>, CliError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(CliError::config(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| CliError::config(format!("{} is not valid: {e}", path.display())))
}

/// Writes `value` as `dir/name`, readable by the user only, atomically.
pub(crate) fn write_json<T: Serialize>(dir: &Path, name: &str, value: &T) -> Result<(), CliError> {
    let fail = |e: std::io::Error| {
        CliError::config(format!("cannot write {}: {e}", dir.join(name).display()))
    };
    create_private_dir(dir).map_err(fail)?;
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| CliError::Internal(format!("cannot serialize {name}: {e}")))?;
    bytes.push(b'\n');
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = private_file(&temp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, dir.join(name))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(fail)
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["work", "a.b_c-1", "X"] {
            assert!(check_profile_name(good).is_ok(), "{good}");
        }
        for bad in ["", ".hidden", "a/b", "../x", "a b", &"x".repeat(65)] {
            assert!(check_profile_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn files_are_private_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let config = ConfigDir {
            path: dir.path().join("nested"),
        };
        assert!(config.profiles().unwrap().profiles.is_empty());
        let mut profiles = Profiles::default();
        profiles.profiles.insert(
            "work".to_owned(),
            Profile {
                issuer: Some("https://as.example".to_owned()),
                client_id: Some("svc".to_owned()),
                ..Profile::default()
            },
        );
        config.save_profiles(&profiles).unwrap();
        assert_eq!(
            config.profile("work").unwrap().client_id.as_deref(),
            Some("svc")
        );
        assert!(matches!(config.profile("other"), Err(CliError::Config(_))));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&config.path.join("profiles.json")), 0o600);
            assert_eq!(mode(&config.path), 0o700);
        }
    }
}
