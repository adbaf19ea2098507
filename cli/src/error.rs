//! The command's errors: one line on stderr, and one exit code per kind.
//!
//! | code | kind | examples |
//! | --- | --- | --- |
//! | 0 | success | |
//! | 1 | internal failure | a flow driven out of order, the random source failed, stdout closed |
//! | 2 | usage | an unknown option, a missing argument (reported by the argument parser) |
//! | 3 | configuration | no client id, a missing endpoint, an `http` endpoint without `--insecure-http`, an unreadable file, an unknown profile |
//! | 4 | network | connection refused, timeout, TLS failure, a body over the size limit |
//! | 5 | OAuth error | the server's error code, when no code below names it |
//! | 6 | `invalid_client` | a wrong client secret, an authentication method the server does not accept |
//! | 7 | `invalid_grant` | a refresh token, code, password or assertion the server refused |
//! | 8 | `access_denied` | the user (or the server's policy) said no |
//! | 9 | expired | a device code or backchannel request expired, `expired_token`, a profile's token expired and cannot be renewed |
//! | 10 | unexpected response | not an OAuth answer: an HTML error page, a 404 at a wrong URL, a redirect, a revocation the server did not confirm |
//! | 11 | invalid response | JSON that breaks the specification (no `access_token`, `expires_in` not a number) |
//! | 12 | validation failed | an issuer, `state` or `iss` that does not match (a possible attack); a JWT whose signature or claims were refused; userinfo about another user |
//! | 13 | invalid JWT | `decode` was given something that is not a JWT |
//! | 14 | interrupted | no browser callback arrived in time, or the run was cancelled |
//! | 15 | API error status | `grantline api`: the resource answered 4xx or 5xx (the body is still printed) |

use std::fmt;

use grantline::error::ErrorCode;

/// Exit codes, one per kind of failure (see the [module documentation](self)).
pub(crate) mod code {
    /// An internal failure: a bug, a failed random source, stdout closed.
    pub(crate) const INTERNAL: u8 = 1;
    /// Bad or missing arguments (the argument parser exits with it).
    pub(crate) const USAGE: u8 = 2;
    /// A configuration mistake.
    pub(crate) const CONFIG: u8 = 3;
    /// The request got no usable answer.
    pub(crate) const NETWORK: u8 = 4;
    /// An OAuth error not listed separately.
    pub(crate) const OAUTH: u8 = 5;
    /// `invalid_client`.
    pub(crate) const INVALID_CLIENT: u8 = 6;
    /// `invalid_grant`.
    pub(crate) const INVALID_GRANT: u8 = 7;
    /// `access_denied`.
    pub(crate) const ACCESS_DENIED: u8 = 8;
    /// Something expired before it was used.
    pub(crate) const EXPIRED: u8 = 9;
    /// An answer that is not OAuth at all.
    pub(crate) const UNEXPECTED_RESPONSE: u8 = 10;
    /// JSON that breaks the specification.
    pub(crate) const INVALID_RESPONSE: u8 = 11;
    /// A failed security check.
    pub(crate) const VALIDATION: u8 = 12;
    /// `decode` was given something that is not a JWT.
    pub(crate) const INVALID_JWT: u8 = 13;
    /// No callback in time, or cancelled.
    pub(crate) const INTERRUPTED: u8 = 14;
    /// `grantline api`: the resource answered with an error status (4xx, 5xx).
    pub(crate) const API_STATUS: u8 = 15;
}

/// Everything that can make a command fail.
#[derive(Debug)]
pub(crate) enum CliError {
    /// A grantline flow failed (the server's error, a bad answer, a configuration mistake).
    Flow(grantline::Error),
    /// The HTTP exchange failed: the transport's message and the innermost cause.
    Network {
        /// The transport's own message.
        message: String,
        /// The innermost source error's message, if any.
        cause: Option<String>,
    },
    /// A configuration mistake found by the command itself.
    Config(String),
    /// A JWT could not be read.
    InvalidJwt(String),
    /// An answer that is not OAuth (used where no flow reports it, e.g. userinfo).
    Unexpected(String),
    /// Something expired (a cached token that cannot be renewed).
    Expired(String),
    /// Waiting for the user ended (no callback in time) or the run was cancelled.
    Interrupted(String),
    /// A bug or an environment failure (stdout closed, a thread panicked).
    Internal(String),
    /// `grantline api`: the resource answered with an error status.
    ApiStatus(String),
    /// Getting or renewing the token for `grantline api` failed: the message, and the exit code
    /// of what failed (the same as the token flow's own).
    Token {
        /// What failed.
        message: String,
        /// The exit code of its kind.
        exit: u8,
    },
}

impl CliError {
    /// A configuration error with this message.
    pub(crate) fn config(message: impl Into<String>) -> Self {
        CliError::Config(message.into())
    }

    /// The process exit code for this error (see the [module documentation](self)).
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::Flow(e) => flow_exit_code(e),
            CliError::Network { .. } => code::NETWORK,
            CliError::Config(_) => code::CONFIG,
            CliError::InvalidJwt(_) => code::INVALID_JWT,
            CliError::Unexpected(_) => code::UNEXPECTED_RESPONSE,
            CliError::Expired(_) => code::EXPIRED,
            CliError::Interrupted(_) => code::INTERRUPTED,
            CliError::Internal(_) => code::INTERNAL,
            CliError::ApiStatus(_) => code::API_STATUS,
            CliError::Token { exit, .. } => *exit,
        }
    }

    /// A network error from a transport error: its message and its innermost cause.
    pub(crate) fn network(error: &(dyn std::error::Error + 'static)) -> Self {
        let mut cause = None;
        let mut source = error.source();
        while let Some(inner) = source {
            cause = Some(inner.to_string());
            source = inner.source();
        }
        CliError::Network {
            message: error.to_string(),
            cause,
        }
    }

    /// The failure of a token renewal run by an auth handler (`grantline api`): the exit code
    /// of its kind, as if the command had run the renewal itself.
    pub(crate) fn renewal(error: &grantline::driver::RunError) -> Self {
        use grantline::driver::RunError;
        let exit = match error {
            RunError::Flow(e) => flow_exit_code(e),
            RunError::Transport(_) => code::NETWORK,
            _ => code::INTERRUPTED,
        };
        let message = match error {
            RunError::Transport(e) => CliError::network(e).to_string(),
            other => other.to_string(),
        };
        CliError::Token {
            message: format!("could not get a token for the request: {message}"),
            exit,
        }
    }
}

fn flow_exit_code(error: &grantline::Error) -> u8 {
    use grantline::Error as E;
    match error {
        E::OAuth(e) => match &e.code {
            ErrorCode::InvalidClient => code::INVALID_CLIENT,
            ErrorCode::InvalidGrant => code::INVALID_GRANT,
            ErrorCode::AccessDenied => code::ACCESS_DENIED,
            ErrorCode::ExpiredToken => code::EXPIRED,
            _ => code::OAUTH,
        },
        E::UnexpectedResponse(_) => code::UNEXPECTED_RESPONSE,
        E::InvalidResponse(_) => code::INVALID_RESPONSE,
        E::Config(_) => code::CONFIG,
        E::Expired(_) => code::EXPIRED,
        E::Validation(_) => code::VALIDATION,
        E::Jose(_) => code::VALIDATION,
        _ => code::INTERNAL,
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Flow(e) => write!(f, "{e}"),
            CliError::Network { message, cause } => {
                write!(f, "{message}")?;
                if let Some(cause) = cause.as_deref().filter(|c| !message.contains(c)) {
                    write!(f, " ({})", one_line(cause))?;
                }
                Ok(())
            }
            CliError::Config(m)
            | CliError::InvalidJwt(m)
            | CliError::Unexpected(m)
            | CliError::Expired(m)
            | CliError::Interrupted(m)
            | CliError::Internal(m)
            | CliError::ApiStatus(m)
            | CliError::Token { message: m, .. } => f.write_str(&one_line(m)),
        }
    }
}

impl std::error::Error for CliError {}

impl From<grantline::Error> for CliError {
    fn from(e: grantline::Error) -> Self {
        CliError::Flow(e)
    }
}

/// Text made safe for one line of a terminal: control characters escaped, bounded.
pub(crate) fn one_line(text: &str) -> String {
    const MAX: usize = 800;
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An OAuth error made by the real parser: a 400 with the code.
    fn oauth(code: &str) -> CliError {
        let response = http::Response::builder()
            .status(400)
            .header("content-type", "application/json")
            .body(format!(r#"{{"error":"{code}"}}"#).into_bytes())
            .unwrap();
        CliError::Flow(
            grantline::TokenResponse::from_response(&response, grantline::Now::system())
                .unwrap_err(),
        )
    }

    #[test]
    fn every_kind_has_its_own_code() {
        let codes = [
            oauth("invalid_client").exit_code(),
            oauth("invalid_grant").exit_code(),
            oauth("access_denied").exit_code(),
            oauth("expired_token").exit_code(),
            oauth("invalid_scope").exit_code(),
            CliError::config("x").exit_code(),
            CliError::Network {
                message: "x".into(),
                cause: None,
            }
            .exit_code(),
            CliError::Unexpected("x".into()).exit_code(),
            CliError::InvalidJwt("x".into()).exit_code(),
            CliError::Interrupted("x".into()).exit_code(),
            CliError::Internal("x".into()).exit_code(),
            CliError::ApiStatus("x".into()).exit_code(),
        ];
        let mut unique = codes.to_vec();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), codes.len(), "{codes:?}");
        assert!(!codes.contains(&0) && !codes.contains(&code::USAGE));
    }

    #[test]
    fn one_line_escapes_and_bounds() {
        assert_eq!(one_line("a\nb\u{1b}"), "a\\nb\\u{1b}");
        assert!(one_line(&"x".repeat(1000)).ends_with('…'));
    }
}
