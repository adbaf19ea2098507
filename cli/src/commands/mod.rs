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
    ///
    /// `asked` is the scope the request asked for (`None` when it asked for none): when the
    /// server granted another one, a warning on stderr names both. A response without `scope`
    /// means the scope asked for (RFC 6749 §5.1), so it is not warned about.
    pub(crate) fn finish_with_token(
        &self,
        backend: &Backend,
        token: &TokenResponse,
        asked: Option<&str>,
    ) -> Result<(), CliError> {
        if let Some(warning) = scope_warning(asked, token.scope().map(|s| s.as_str())) {
            eprintln!("grantline: warning: {warning}");
        }
        if let Some(name) = self.settings.profile_name() {
            self.config()?.save_token(name, token)?;
        }
        self.output
            .print(&token_document(token, backend.now().wall()))
    }
}

/// The warning for a granted scope that is not the one asked for (compared as sets of scope
/// tokens, RFC 6749 §3.3), if there is one to give.
pub(crate) fn scope_warning(asked: Option<&str>, granted: Option<&str>) -> Option<String> {
    let (asked, granted) = (asked?, granted?);
    let set = |scope| str::split_whitespace(scope).collect::<std::collections::BTreeSet<&str>>();
    if set(asked) == set(granted) {
        return None;
    }
    let shown = |scope: &str| match scope.trim() {
        "" => "(none)".to_owned(),
        scope => format!("`{}`", crate::error::one_line(scope)),
    };
    Some(format!(
        "the server granted scope {} instead of the requested {}",
        shown(granted),
        shown(asked)
    ))
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

#[cfg(test)]
mod tests {
    use super::scope_warning;

    #[test]
    fn a_scope_other_than_the_one_asked_is_warned_about() {
        // The same scope tokens in another order, or no `scope` member: as requested.
        assert_eq!(scope_warning(Some("read write"), Some("write  read")), None);
        assert_eq!(scope_warning(Some("read write"), None), None);
        // Nothing asked: the server's default, nothing to compare with.
        assert_eq!(scope_warning(None, Some("read")), None);
        let warning = scope_warning(Some("read write"), Some("read")).unwrap();
        assert_eq!(
            warning,
            "the server granted scope `read` instead of the requested `read write`"
        );
        assert!(
            scope_warning(Some("read"), Some(""))
                .unwrap()
                .contains("granted scope (none)")
        );
    }
}
