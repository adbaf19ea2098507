//! The subcommands. Each one turns its options into grantline flows, has the backend run them,
//! and prints the result; none of them holds protocol logic of its own.

pub(crate) mod api;
mod authorize;
mod decode;
mod device;
mod discover;
mod introspect;
mod logout;
mod profile;
mod register;
mod token;
mod userinfo;

use grantline::TokenResponse;
use serde_json::Value;

use crate::args::{Cli, Command};
use crate::backend::Backend;
use crate::config::ConfigDir;
use crate::error::CliError;
use crate::output::Output;
use crate::settings::Settings;

/// What every subcommand gets: the settings, where to print, the configuration directory.
#[derive(Debug)]
pub(crate) struct Context {
    /// The effective settings.
    pub(crate) settings: Settings,
    /// Where results go.
    pub(crate) output: Output,
    /// The configuration directory, if one could be found.
    pub(crate) config: Option<ConfigDir>,
}

impl Context {
    /// The configuration directory, or why there is none.
    pub(crate) fn config(&self) -> Result<&ConfigDir, CliError> {
        self.config
            .as_ref()
            .ok_or_else(|| CliError::config("no configuration directory: set GRANTLINE_CONFIG_DIR"))
    }

    /// Prints `token` (see [`token_document`]) and caches it for the profile, if one is in use.
    pub(crate) fn finish_with_token(
        &self,
        backend: &Backend,
        token: &TokenResponse,
    ) -> Result<(), CliError> {
        if let Some(name) = self.settings.profile_name() {
            self.config()?.save_token(name, token)?;
        }
        self.output
            .print(&token_document(token, backend.now().wall()))
    }
}

/// Runs the command line.
///
/// # Errors
///
/// Whatever the subcommand failed with.
pub(crate) fn run(cli: Cli) -> Result<(), CliError> {
    let output = Output::new(cli.global.output);
    let config = ConfigDir::locate().ok();
    if let Command::Profile(args) = cli.command {
        let config = config.ok_or_else(|| {
            CliError::config("no configuration directory: set GRANTLINE_CONFIG_DIR")
        })?;
        return profile::run(&cli.global, args, &config, &output);
    }
    if let Command::Decode(args) = &cli.command {
        return decode::run(args, &output);
    }
    if let Some(name) = &cli.global.profile {
        crate::config::check_profile_name(name)?;
    }
    let settings = Settings::resolve(&cli.global, config.as_ref())?;
    let cx = Context {
        settings,
        output,
        config,
    };
    match cli.command {
        Command::Discover => discover::run(&cx),
        Command::Token(args) => token::run(&cx, args),
        Command::Authorize(args) => authorize::run(&cx, &args),
        Command::Device(args) => device::run_device(&cx, &args),
        Command::Ciba(args) => device::run_ciba(&cx, &args),
        Command::Introspect(args) => introspect::run_introspect(&cx, &args),
        Command::Revoke(args) => introspect::run_revoke(&cx, &args),
        Command::Userinfo(args) => userinfo::run(&cx, &args),
        Command::Register(args) => register::run_register(&cx, &cli.global, &args),
        Command::Client(args) => register::run_client(&cx, &cli.global, args),
        Command::Logout(args) => logout::run(&cx, &args),
        Command::Api(args) => api::run(&cx, &args),
        Command::Decode(_) | Command::Profile(_) => Ok(()),
    }
}

/// A token as printed: grantline's stored form of the response (every field the server sent,
/// `expires_at` in unix seconds) without its format version, plus `expires_in`, the seconds
/// left at `now`. The same shape whether the token is fresh or cached.
pub(crate) fn token_document(token: &TokenResponse, now: std::time::SystemTime) -> Value {
    let mut document = serde_json::to_value(token).unwrap_or_default();
    if let Value::Object(map) = &mut document {
        map.remove("grantline_token");
        if let Some(left) = token.expires_in(now) {
            map.insert("expires_in".to_owned(), Value::from(left.as_secs()));
        }
    }
    document
}

/// The scope: the command line's, else the profile's.
pub(crate) fn scope_or_profile(cx: &Context, given: &[String]) -> Option<String> {
    crate::settings::join_scope(given).or_else(|| {
        cx.settings
            .saved()
            .and_then(|p| crate::settings::join_scope(&p.scope))
    })
}
