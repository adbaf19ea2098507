//! The DPoP key of a run (RFC 9449, `--dpop`, `--dpop-key`): the client proves it holds this key
//! with every token request and API call, and the tokens it gets are bound to it.
//!
//! - `--dpop-key PATH`: a private JWK file, or a PEM file (PKCS#8: ES256, ES384, EdDSA; PKCS#8 or
//!   PKCS#1 RSA, as RS256).
//! - `--dpop` alone: a new ES256 key.
//! - A profile keeps its key in the same secret store as its client secret (the OS keyring, else
//!   `secrets.json`, readable by the user only; never `profiles.json`), as the entry `dpop:NAME`,
//!   the JWK or PEM text itself. `profile add --dpop` stores one; `--dpop` with a profile that
//!   has none stores the run's key, so later renewals and `grantline api` use the same key. A
//!   profile with a key always uses DPoP.

use std::path::Path;

use clap::ValueEnum as _;
use grantline::dpop::DpopKey;
use grantline::jose::{Algorithm, SigningKey};
use grantline::secret::ClientSecret;

use crate::args::{GlobalArgs, SecretStoreChoice};
use crate::config::{ConfigDir, Profile};
use crate::error::CliError;
use crate::secrets::{self, Entry, SecretLocation};

/// A key and the text it is kept as.
#[derive(Debug)]
pub(crate) struct KeyText {
    /// The key.
    pub(crate) key: DpopKey,
    /// Its private JWK or PEM text (a secret).
    pub(crate) text: ClientSecret,
}

/// Reads a DPoP key from its JWK or PEM text; `origin` names where it came from, for errors.
fn parse(text: &str, origin: &str) -> Result<DpopKey, CliError> {
    let bad = |e: grantline::Error| {
        CliError::config(format!("{origin} is not a usable DPoP private key: {e}"))
    };
    if text.trim_start().starts_with('{') {
        return DpopKey::from_jwk(text).map_err(bad);
    }
    // A PEM key does not say its algorithm: the first one it fits.
    let mut last = None;
    for alg in [
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
        Algorithm::RS256,
    ] {
        match SigningKey::from_pem(alg, text).and_then(DpopKey::from_signing_key) {
            Ok(key) => return Ok(key),
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => bad(e),
        None => CliError::config(format!("{origin} holds no key")),
    })
}

/// `--dpop-key PATH`.
fn read_file(path: &Path) -> Result<KeyText, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::config(format!("cannot read the DPoP key {}: {e}", path.display()))
    })?;
    let key = parse(&text, &format!("the DPoP key file {}", path.display()))?;
    Ok(KeyText {
        key,
        text: ClientSecret::new(text),
    })
}

/// A new ES256 key.
fn generate() -> Result<KeyText, CliError> {
    let key = DpopKey::generate(Algorithm::ES256)?;
    let text = ClientSecret::new(key.to_jwk()?.secret());
    Ok(KeyText { key, text })
}

/// The key `--dpop` / `--dpop-key` ask for, if any: the file's, or a new one.
///
/// # Errors
///
/// A configuration error for an unreadable or unusable key file.
pub(crate) fn from_args(args: &GlobalArgs) -> Result<Option<KeyText>, CliError> {
    match &args.dpop_key {
        Some(path) => read_file(path).map(Some),
        None if args.dpop => generate().map(Some),
        None => Ok(None),
    }
}

/// Stores `key` as `profile`'s DPoP key where `choice` says, and answers where it went.
///
/// # Errors
///
/// A configuration error when the store cannot take it.
pub(crate) fn store(
    config: &ConfigDir,
    profile: &str,
    key: &KeyText,
    choice: SecretStoreChoice,
) -> Result<SecretLocation, CliError> {
    secrets::store_entry(config, Entry::DpopKey(profile), &key.text, choice)
}

/// Deletes `profile`'s DPoP key, if it has one.
///
/// # Errors
///
/// A configuration error when `secrets.json` cannot be rewritten.
pub(crate) fn delete(
    config: &ConfigDir,
    profile: &str,
    location: Option<SecretLocation>,
) -> Result<(), CliError> {
    secrets::delete_entry(config, Entry::DpopKey(profile), location)
}

/// The DPoP key of this run: the profile's, else the one the command line asks for (kept in
/// the profile when there is one, so the next runs use it too).
///
/// # Errors
///
/// A configuration error for an unusable key, a stored key that cannot be read, or a
/// `--dpop-key` other than the profile's own.
pub(crate) fn resolve(
    args: &GlobalArgs,
    profile: Option<&mut (String, Profile)>,
    config: Option<&ConfigDir>,
) -> Result<Option<DpopKey>, CliError> {
    let given = from_args(args)?;
    let (Some((name, profile)), Some(config)) = (profile, config) else {
        return Ok(given.map(|k| k.key));
    };
    if let Some(location) = profile.dpop {
        let text = secrets::load_entry(config, Entry::DpopKey(name), location)?;
        let stored = parse(text.secret(), &format!("the DPoP key of profile `{name}`"))?;
        if let Some(given) = given {
            if given.key.thumbprint() != stored.thumbprint() {
                return Err(CliError::config(format!(
                    "profile `{name}` keeps another DPoP key, and its tokens are bound to it: drop --dpop-key, or replace the profile (`grantline profile add {name} --force --dpop-key PATH ...`)"
                )));
            }
        }
        return Ok(Some(stored));
    }
    let Some(given) = given else {
        return Ok(None);
    };
    // The first run with DPoP: the profile keeps the key for its renewals.
    let choice = std::env::var("GRANTLINE_SECRET_STORE")
        .ok()
        .and_then(|v| SecretStoreChoice::from_str(&v, true).ok())
        .unwrap_or_default();
    let location = store(config, name, &given, choice)?;
    let mut profiles = config.profiles()?;
    if let Some(saved) = profiles.profiles.get_mut(name.as_str()) {
        saved.dpop = Some(location);
        config.save_profiles(&profiles)?;
    }
    profile.dpop = Some(location);
    eprintln!(
        "grantline: profile `{name}` now uses DPoP; its key is {}",
        location.describe()
    );
    Ok(Some(given.key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_from_jwk_and_pem_and_bad_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let generated = generate().unwrap();
        let back = parse(generated.text.secret(), "x").unwrap();
        assert_eq!(back.thumbprint(), generated.key.thumbprint());

        let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/keys");
        let pem = read_file(&keys.join("client-es256.private.pem")).unwrap();
        let jwk = read_file(&keys.join("client-es256.private.jwk.json")).unwrap();
        assert_eq!(pem.key.thumbprint(), jwk.key.thumbprint());
        assert!(read_file(&keys.join("client-rs256.private.pem")).is_ok());

        let public = dir.path().join("public.json");
        std::fs::write(
            &public,
            r#"{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}"#,
        )
        .unwrap();
        let e = read_file(&public).unwrap_err().to_string();
        assert!(e.contains("public.json") && e.contains("DPoP"), "{e}");
        assert!(read_file(&dir.path().join("missing.pem")).is_err());
    }
}
