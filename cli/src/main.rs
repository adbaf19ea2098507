//! # `grantline`: every OAuth 2 and OpenID Connect flow from a terminal
//!
//! A command-line client on grantline's sans-IO core: every exchange is a grantline flow, run
//! by a grantline transport (ureq by default, reqwest with the `reqwest` feature and
//! `--transport reqwest`). The program adds only what a terminal needs: options, a loopback
//! listener for the browser's redirect, prompts, progress, profiles and output.
//!
//! ## Commands
//!
//! ```text
//! grantline [OPTIONS] discover                      the issuer's metadata
//! grantline [OPTIONS] token client-credentials      token endpoint grants, each with
//!                           refresh [TOKEN]          --scope, --resource, --audience, --param
//!                           password --username U
//!                           exchange --subject-token T
//!                           jwt-bearer --assertion JWT
//! grantline [OPTIONS] token --profile NAME          the profile's cached token, renewed if needed
//! grantline [OPTIONS] authorize [--par] [--no-browser] [--paste] [--max-age S] [--request-object]
//! grantline [OPTIONS] device                        device authorization grant (RFC 8628)
//! grantline [OPTIONS] ciba --login-hint WHO         backchannel authentication, poll mode
//! grantline [OPTIONS] introspect TOKEN
//! grantline [OPTIONS] revoke TOKEN
//! grantline [OPTIONS] userinfo [TOKEN]
//! grantline decode JWT                              header and claims, not verified
//! grantline profile add NAME | list | show NAME | remove NAME
//! grantline [OPTIONS] register [--save-profile P]  dynamic client registration (RFC 7591)
//! grantline client list | show NAME | update NAME | delete NAME   (RFC 7592)
//! grantline [OPTIONS] logout [--post-logout-redirect-uri URI]   RP-initiated logout URL
//! grantline [OPTIONS] api METHOD URL [-H 'N: v'] [--data BODY]   a request with the token
//! ```
//!
//! Options (before or after the subcommand): the server (`--issuer` or explicit endpoints), the
//! client (`--client-id`, `--client-secret` or `GRANTLINE_CLIENT_SECRET` or
//! `--client-secret-file`, `--auth-method`), the connection (`--transport`, `--ca-cert`,
//! `--proxy`, `--timeout`, `--insecure-http`), the output (`--output json|text`, `-v`), and
//! `--profile`.
//! `--dpop`/`--dpop-key PATH` bind tokens to a key (see [`dpop`]).
//!
//! ## Output
//!
//! The result goes to stdout as JSON, pretty on a terminal and one compact line otherwise, so
//! `grantline token ... | jq -r .access_token` works; `--output text` prints `name: value`
//! lines. Prompts, progress, `--verbose` logs and errors go to stderr. When stderr is not a
//! terminal, what a person would be asked to do is repeated as `name=value` lines for scripts
//! (`authorization_url=...`, `user_code=...`, `verification_uri=...`).
//!
//! ## Errors and exit codes
//!
//! A failure prints one line, `grantline: error: ...`, in the command's terms (the option to fix,
//! never a library function): the OAuth error code and description, the method and URL of a
//! request that got no answer, or the validation that failed; and exits with the code of its
//! kind: see [`error`] for the table. A granted scope other than the one asked for is a warning
//! on stderr (`grantline: warning: ...`), not a failure.
//!
//! ## Help
//!
//! See [`help`]: the global options once on `grantline --help`, and each subcommand's page with
//! its examples first.
//!
//! ## Profiles
//!
//! See [`config`] (where profiles and cached tokens live) and [`secrets`] (the OS keyring, or a
//! file only the user can read).
//!
//! ## Testing aids
//!
//! `GRANTLINE_CONFIG_DIR` moves the configuration directory; `GRANTLINE_SECRET_STORE=file`
//! keeps secrets out of the OS keyring; the hidden `--time-scale N` (or
//! `GRANTLINE_TIME_SCALE=N`) runs the flows' clock N times faster, so polling tests take
//! milliseconds while the server still sees the intervals' proportions.

#![forbid(unsafe_code)]
// Printing is this program's job: results go to stdout, prompts, progress and errors to stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[cfg(not(any(feature = "ureq", feature = "reqwest")))]
compile_error!("grantline-cli needs a transport: enable the `ureq` or the `reqwest` feature");

mod args;
mod backend;
mod clients;
mod commands;
mod config;
mod dpop;
mod error;
mod help;
mod jwt;
mod listener;
mod observe;
mod output;
mod progress;
mod secrets;
#[cfg(test)]
mod sentinel;
mod settings;

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match help::try_parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` are "errors" that print to stdout and succeed.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(error::code::USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    if cli.global.verbose {
        observe::trace_to_stderr();
    }
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("grantline: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
