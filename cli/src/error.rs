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

use grantline::EndpointKind;
use grantline::driver::{TransportError, TransportErrorKind};
use grantline::error::{ConfigError, ErrorCode, Expired, Fapi2Rule, ValidationError};

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
    /// Displayed in the command's own terms (see [`flow_message`]).
    Flow(grantline::Error),
    /// The HTTP exchange failed: what kind of failure, which request, and the innermost cause.
    Network(Box<NetworkFailure>),
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

/// A request that got no usable answer, with what the message needs to name it.
#[derive(Debug)]
pub(crate) struct NetworkFailure {
    /// The transport's classification of the failure.
    pub(crate) kind: TransportErrorKind,
    /// The request that failed, if the flow had sent one.
    pub(crate) target: Option<Target>,
    /// The server's host name did not resolve (a DNS failure).
    pub(crate) unresolved: bool,
    /// The proxy requests went through, as the user set it: `--proxy`, or the environment
    /// variable the HTTP stack read (`HTTPS_PROXY`, ...).
    pub(crate) proxy: Option<ProxySource>,
    /// The innermost source error's message, if any.
    pub(crate) cause: Option<String>,
}

/// Where the proxy in use was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProxySource {
    /// `--proxy` (or the profile's).
    Option,
    /// This environment variable (both transports read the usual ones).
    Environment(&'static str),
}

impl ProxySource {
    /// The variables the transports read a proxy from, in their order.
    const VARIABLES: [&'static str; 6] = [
        "ALL_PROXY",
        "all_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
    ];

    /// The proxy in use: `--proxy` when given, else the first proxy variable set.
    pub(crate) fn find(option: bool) -> Option<Self> {
        if option {
            return Some(ProxySource::Option);
        }
        Self::VARIABLES
            .into_iter()
            .find(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
            .map(ProxySource::Environment)
    }
}

impl fmt::Display for ProxySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxySource::Option => f.write_str("the proxy given with --proxy"),
            ProxySource::Environment(name) => write!(f, "the proxy set in ${name}"),
        }
    }
}

/// The request a network error is about: its method and URL (without the query, which may
/// carry a code or a state), and its host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// `GET`, `POST`, ...
    pub(crate) method: String,
    /// Scheme, authority and path.
    pub(crate) url: String,
    /// The host, as in the URL.
    pub(crate) host: String,
}

impl Target {
    /// The target of `request`.
    pub(crate) fn of(request: &http::Request<Vec<u8>>) -> Self {
        let uri = request.uri();
        let url = match (uri.scheme_str(), uri.authority()) {
            (Some(scheme), Some(authority)) => format!("{scheme}://{authority}{}", uri.path()),
            _ => uri.path().to_owned(),
        };
        Self {
            method: request.method().to_string(),
            url: one_line(&url),
            host: one_line(uri.host().unwrap_or_default()),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.url)
    }
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
            CliError::Network(_) => code::NETWORK,
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

    /// A network error from a transport's error, for the request `target` (the last one the
    /// flow handed out), sent through a proxy or not.
    pub(crate) fn network(
        error: &TransportError,
        target: Option<Target>,
        proxy: Option<ProxySource>,
    ) -> Self {
        let chain = || std::iter::successors(std::error::Error::source(error), |e| e.source());
        let cause = chain().last().map(ToString::to_string);
        // A host that does not resolve is a connect failure on one stack, an I/O one on another.
        let unresolved = matches!(
            error.kind(),
            TransportErrorKind::Connect | TransportErrorKind::Io | TransportErrorKind::Other
        ) && chain().any(is_dns_failure);
        CliError::Network(Box::new(NetworkFailure {
            kind: error.kind(),
            target,
            unresolved,
            proxy,
            cause,
        }))
    }

    /// The failure of a token renewal run by an auth handler (`grantline api`): the exit code
    /// of its kind, as if the command had run the renewal itself.
    pub(crate) fn renewal(
        error: &grantline::driver::RunError,
        proxy: &Option<ProxySource>,
    ) -> Self {
        use grantline::driver::RunError;
        let exit = match error {
            RunError::Flow(e) => flow_exit_code(e),
            RunError::Transport(_) => code::NETWORK,
            _ => code::INTERRUPTED,
        };
        let message = match error {
            RunError::Transport(e) => CliError::network(e, None, proxy.clone()).to_string(),
            other => other.to_string(),
        };
        CliError::Token {
            message: format!("could not get a token for the request: {message}"),
            exit,
        }
    }
}

/// Whether an HTTP stack's error says a host name did not resolve: ureq's `HostNotFound`,
/// hyper's "dns error", the system resolver's "failed to lookup address".
fn is_dns_failure(error: &(dyn std::error::Error + 'static)) -> bool {
    #[cfg(feature = "ureq")]
    if let Some(grantline_ureq::ureq::Error::HostNotFound) =
        error.downcast_ref::<grantline_ureq::ureq::Error>()
    {
        return true;
    }
    let text = error.to_string().to_ascii_lowercase();
    text.starts_with("dns error")
        || text.contains("failed to lookup address")
        || text.contains("name or service not known")
        || text.contains("no such host")
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
            CliError::Flow(e) => f.write_str(&flow_message(e)),
            CliError::Network(failure) => f.write_str(&network_message(failure)),
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

/// The message of a failed request, in the command's terms: which request, what happened,
/// which option to look at.
fn network_message(failure: &NetworkFailure) -> String {
    let request = failure
        .target
        .as_ref()
        .map_or_else(|| "the request".to_owned(), ToString::to_string);
    let proxy = failure
        .proxy
        .as_ref()
        .map_or_else(String::new, |proxy| format!(", and {proxy}"));
    let mut message = match failure.kind {
        _ if failure.unresolved => {
            match failure.target.as_ref().filter(|_| failure.proxy.is_none()) {
                Some(target) => format!(
                    "cannot resolve the host `{}` for {request}: check the host name in the URL \
                     (--issuer or the endpoint options)",
                    target.host
                ),
                None => format!(
                    "a host name did not resolve for {request}: check the host names of the URL{proxy}"
                ),
            }
        }
        TransportErrorKind::Connect => format!(
            "could not connect for {request}: check the URL's host and port and that the server is \
             running{proxy}"
        ),
        TransportErrorKind::Timeout => format!(
            "{request} timed out: the server is slow or unreachable; check the URL{proxy}, or \
             raise --timeout SECONDS if the server is known to be slow"
        ),
        TransportErrorKind::Tls => format!(
            "the TLS handshake failed for {request}: check that the URL speaks https and that the \
             server's certificate is trusted (--ca-cert PATH for a private CA)"
        ),
        TransportErrorKind::BodyTooLarge { limit } => format!(
            "the answer to {request} is larger than the limit of {limit} bytes: check the URL"
        ),
        TransportErrorKind::Redirected => format!(
            "{request} was answered with a redirect, which is not followed: give the final URL"
        ),
        TransportErrorKind::InvalidRequest => format!(
            "{request} could not be sent: its URL, scheme or a header is not usable; check the \
             URLs given (--issuer, the endpoint options{proxy})"
        ),
        TransportErrorKind::Io => format!(
            "the connection broke during {request}: check the network{proxy}, then run the \
             command again"
        ),
        TransportErrorKind::Builder => {
            "the HTTP client could not be set up: check --ca-cert and --proxy".to_owned()
        }
        _ => format!("{request} failed"),
    };
    if let Some(cause) = &failure.cause {
        message.push_str(" (");
        message.push_str(&one_line(cause));
        message.push(')');
    }
    message
}

/// The option that sets an endpoint, if the command has one.
pub(crate) fn endpoint_flag(kind: EndpointKind) -> Option<&'static str> {
    Some(match kind {
        EndpointKind::Token => "--token-endpoint",
        EndpointKind::Authorization => "--authorization-endpoint",
        EndpointKind::DeviceAuthorization => "--device-authorization-endpoint",
        EndpointKind::PushedAuthorization => "--par-endpoint",
        EndpointKind::BackchannelAuthentication => "--backchannel-authentication-endpoint",
        EndpointKind::Revocation => "--revocation-endpoint",
        EndpointKind::Introspection => "--introspection-endpoint",
        EndpointKind::Userinfo => "--userinfo-endpoint",
        EndpointKind::Registration => "--registration-endpoint",
        EndpointKind::Metadata => "--issuer",
        _ => return None,
    })
}

/// The option that sets a request parameter, if the command has one.
pub(crate) fn parameter_flag(name: &str) -> Option<&'static str> {
    Some(match name {
        "scope" => "--scope",
        "resource" => "--resource",
        "audience" => "--audience",
        "redirect_uri" => "--redirect-uri",
        "issuer" => "--issuer",
        "client_id" => "--client-id",
        "prompt" => "--prompt",
        "login_hint" => "--login-hint",
        "login_hint_token" => "--login-hint-token",
        "id_token_hint" => "--id-token-hint",
        "binding_message" => "--binding-message",
        "user_code" => "--user-code",
        "requested_expiry" => "--requested-expiry",
        "acr_values" => "--acr-values",
        "subject_token" => "--subject-token",
        "subject_token_type" => "--subject-token-type",
        "actor_token" => "--actor-token",
        "actor_token_type" => "--actor-token-type",
        "requested_token_type" => "--requested-token-type",
        "assertion" => "--assertion",
        "username" => "--username",
        "password" => "--password",
        "token_type_hint" => "--token-type-hint",
        "software_statement" => "--software-statement",
        _ => return None,
    })
}

/// Marks of a library name in a core message: a path (`ClientBuilder::issuer`), a call
/// (`next()`, `.redirect_uri(..)`), or an option the command spells differently.
const LIBRARY_MARKS: &[&str] = &[
    "::",
    "()",
    "(..)",
    "insecure_http",
    "insecure_skip_id_token_validation",
    "into_pushed",
    "builder",
    "building the client",
    "build the client",
    "the agent",
];

/// Whether `text` names a library item rather than something a command-line user can act on.
pub(crate) fn names_library(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    LIBRARY_MARKS.iter().any(|mark| lower.contains(mark))
}

/// A core reason without its library advice: the clauses (separated by `: ` or `; `) from the
/// first one that names a library item are left out. The command adds its own advice.
fn without_library_advice(text: &str) -> String {
    let mut kept = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let end = [rest.find(": "), rest.find("; ")]
            .into_iter()
            .flatten()
            .min()
            .map_or(rest.len(), |at| at + 2);
        let (clause, after) = rest.split_at(end);
        if names_library(clause) {
            break;
        }
        kept += clause.len();
        rest = after;
    }
    match text.get(..kept) {
        Some(kept) if !kept.is_empty() => one_line(kept.trim_end_matches([':', ';', ' '])),
        _ => one_line(text),
    }
}

/// A grantline error in the command's terms: options by their command-line names, the
/// server's error code and description as sent (escaped to one line). The core's own messages
/// speak to library users (builder methods, `insecure_http`) and are not shown as they are.
pub(crate) fn flow_message(error: &grantline::Error) -> String {
    use grantline::Error as E;
    match error {
        E::OAuth(e) => {
            let mut message = format!(
                "the server answered with OAuth error `{}` (HTTP {})",
                one_line(e.code.as_str()),
                e.status.as_u16()
            );
            if let Some(description) = &e.description {
                message.push_str(": ");
                message.push_str(&one_line(description));
            }
            if let Some(uri) = &e.uri {
                message.push_str(" (see ");
                message.push_str(&one_line(uri));
                message.push(')');
            }
            message
        }
        E::Config(e) => config_message(e),
        E::Misuse(e) => format!(
            "internal error: an exchange was run out of order ({}); please report this bug",
            without_library_advice(&e.to_string())
        ),
        E::Expired(Expired::DeviceCode) => "the device code expired before the user approved \
             the request: run `grantline device` again"
            .to_owned(),
        E::Expired(Expired::BackchannelRequest) => "the backchannel authentication request \
             expired before the user approved it: run `grantline ciba` again"
            .to_owned(),
        E::Validation(ValidationError::Fapi2(rule)) => format!(
            "the server's answer breaks the FAPI 2.0 Security Profile ({}): {}",
            rule.section(),
            fapi2_rule(*rule)
        ),
        E::Validation(ValidationError::IssuerMismatch { .. }) => format!(
            "{}; check that --issuer is exactly the server's issuer (a trailing slash counts)",
            one_line(&error.to_string())
        ),
        other => without_library_advice(&other.to_string()),
    }
}

/// A configuration mistake the core found, in the command's terms.
fn config_message(error: &ConfigError) -> String {
    let flag_or_issuer = |kind: EndpointKind| match endpoint_flag(kind) {
        Some("--issuer") | None => "--issuer URL (the server's metadata gives it)".to_owned(),
        Some(flag) => format!("{flag} URL, or --issuer URL to discover it"),
    };
    match error {
        ConfigError::MissingEndpoint(EndpointKind::Metadata) => {
            "no issuer: pass --issuer URL".to_owned()
        }
        ConfigError::MissingEndpoint(kind) => {
            format!("no {kind}: pass {}", flag_or_issuer(*kind))
        }
        ConfigError::InvalidEndpoint {
            kind: EndpointKind::Metadata,
            reason,
        } => format!(
            "the issuer (--issuer) is not usable: {}",
            without_library_advice(reason)
        ),
        ConfigError::InvalidEndpoint { kind, reason } => match endpoint_flag(*kind) {
            Some(flag) => format!(
                "the {kind} ({flag}, or the issuer's metadata) is not usable: {}",
                without_library_advice(reason)
            ),
            None => format!(
                "the {kind} (from the issuer's metadata) is not usable: {}",
                without_library_advice(reason)
            ),
        },
        ConfigError::InsecureEndpoint { kind, host } => format!(
            "the {} uses plain http on `{}`, which is not a loopback address: use an https \
             URL, or pass --insecure-http (everything sent can then be read on the network)",
            if *kind == EndpointKind::Metadata {
                "issuer".to_owned()
            } else {
                kind.to_string()
            },
            one_line(host)
        ),
        ConfigError::InsecureResource { host } if host.is_empty() => {
            "refusing to send an access token to a URL without a scheme and host: give an \
             absolute https URL"
                .to_owned()
        }
        ConfigError::InsecureResource { host } => format!(
            "refusing to send an access token over plain http to `{}`, which is not a loopback \
             address: use https, or pass --insecure-http",
            one_line(host)
        ),
        ConfigError::InvalidParameter { name, reason } => {
            // The core's advice for a missing issuer names its builder; the command's is --issuer.
            let hint = if names_library(reason) && reason.contains("issuer") {
                "; pass --issuer URL"
            } else {
                ""
            };
            let reason = without_library_advice(reason);
            match parameter_flag(name) {
                Some(flag) => format!("`{}` ({flag}) is invalid: {reason}{hint}", one_line(name)),
                None => format!("parameter `{}` is invalid: {reason}{hint}", one_line(name)),
            }
        }
        ConfigError::ReservedParameter(name) => match parameter_flag(name) {
            Some(flag) => format!(
                "`{}` is set by the command itself and cannot be given with --param: use {flag}",
                one_line(name)
            ),
            None => format!(
                "`{}` is set by the command itself and cannot be given with --param",
                one_line(name)
            ),
        },
        ConfigError::InvalidCredentials(reason) => format!(
            "the client credentials cannot be sent: {}; check --client-id, the client secret and \
             --auth-method",
            without_library_advice(reason)
        ),
        ConfigError::MissingRedirectUri => {
            "the authorization request has no redirect URI: pass --redirect-uri URI".to_owned()
        }
        ConfigError::MissingIssuer => "ID token validation needs the issuer (the token's `iss` \
             is compared with it): pass --issuer URL"
            .to_owned(),
        ConfigError::ParRequired => "the server requires pushed authorization requests: add \
             --par (`grantline authorize --par`)"
            .to_owned(),
        ConfigError::Fapi2(rule) => format!(
            "--fapi2 (FAPI 2.0 Security Profile {}): {}",
            rule.section(),
            fapi2_rule(*rule)
        ),
        other => without_library_advice(&other.to_string()),
    }
}

/// A FAPI 2.0 rule in the command's terms: what it asks for, and the options that meet it.
fn fapi2_rule(rule: Fapi2Rule) -> String {
    match rule {
        Fapi2Rule::PushedAuthorizationRequests => "authorization requests are pushed: add --par",
        Fapi2Rule::PkceS256 => "every authorization request uses PKCE with S256",
        Fapi2Rule::SenderConstrainedTokens => {
            "tokens must be bound to a key the client holds, and a Bearer token is refused: add \
             --dpop, or --client-cert and --client-key with --auth-method tls-client-auth"
        }
        Fapi2Rule::ClientAuthentication => {
            "the client authenticates with --auth-method private-key-jwt (and --private-key), \
             tls-client-auth or self-signed-tls-client-auth (and --client-cert)"
        }
        Fapi2Rule::AssertionAudience => "a client assertion's `aud` must be the issuer",
        Fapi2Rule::SigningAlgorithm => {
            "only PS256, ES256 or EdDSA are allowed: pass --signing-alg PS256 with an RSA \
             --private-key, or use a P-256 or Ed25519 key"
        }
        Fapi2Rule::IssParameter => {
            "the authorization response's issuer is checked: pass --issuer URL (and the server \
             must send `iss`)"
        }
        Fapi2Rule::Lifetime => "a pushed request's request_uri must expire in under 600 seconds",
        Fapi2Rule::Tls => "every endpoint must use https: drop --insecure-http",
        Fapi2Rule::ServerMetadata => {
            "the server's metadata must offer a pushed authorization request endpoint, S256 and \
             the `iss` response parameter (is the FAPI 2.0 profile on at the server?)"
        }
        other => return without_library_advice(other.requirement()),
    }
    .to_owned()
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
            CliError::network(
                &TransportError::new(TransportErrorKind::Connect),
                None,
                None,
            )
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

    /// Every long option of the command tree the program parses.
    fn all_flags() -> std::collections::BTreeSet<String> {
        fn walk(cmd: &clap::Command, out: &mut std::collections::BTreeSet<String>) {
            for arg in cmd.get_arguments() {
                if let Some(long) = arg.get_long() {
                    out.insert(format!("--{long}"));
                }
            }
            for sc in cmd.get_subcommands() {
                walk(sc, out);
            }
        }
        let mut out = std::collections::BTreeSet::new();
        walk(&crate::help::command(), &mut out);
        out
    }

    /// The `--flags` a message names.
    fn named_flags(message: &str) -> Vec<String> {
        message
            .match_indices("--")
            .map(|(at, _)| {
                message[at..]
                    .chars()
                    .take_while(|c| *c == '-' || c.is_ascii_lowercase() || c.is_ascii_digit())
                    .collect::<String>()
            })
            .filter(|flag| flag.len() > 2)
            .collect()
    }

    /// The message is in the command's terms: no library item, and every option it names is
    /// one the command has.
    fn assert_cli_terms(message: &str, flags: &std::collections::BTreeSet<String>) {
        assert!(!names_library(message), "names a library item: {message}");
        for word in [
            "allow_insecure_http",
            "insecure_http",
            "redirect_uri(",
            "agent",
        ] {
            assert!(!message.contains(word), "`{word}` in: {message}");
        }
        for flag in named_flags(message) {
            assert!(flags.contains(&flag), "no option {flag}: {message}");
        }
    }

    fn every_endpoint_kind() -> [EndpointKind; 12] {
        [
            EndpointKind::Token,
            EndpointKind::Authorization,
            EndpointKind::Revocation,
            EndpointKind::Introspection,
            EndpointKind::DeviceAuthorization,
            EndpointKind::PushedAuthorization,
            EndpointKind::BackchannelAuthentication,
            EndpointKind::Userinfo,
            EndpointKind::Jwks,
            EndpointKind::Registration,
            EndpointKind::EndSession,
            EndpointKind::Metadata,
        ]
    }

    #[test]
    fn configuration_errors_name_flags_not_library_items() {
        let flags = all_flags();
        let mut errors = Vec::new();
        for kind in every_endpoint_kind() {
            errors.push(ConfigError::MissingEndpoint(kind));
            errors.push(ConfigError::InvalidEndpoint {
                kind,
                reason: "it is not an absolute URL",
            });
            errors.push(ConfigError::InsecureEndpoint {
                kind,
                host: "as.example".to_owned(),
            });
        }
        // Reasons as the core words them, library advice included.
        for (name, reason) in [
            (
                "redirect_uri",
                "it must be an absolute URI without a fragment",
            ),
            ("resource", "it must be an absolute URI without a fragment"),
            (
                "request",
                "a request object's audience is the issuer: build the client from metadata or set ClientBuilder::issuer",
            ),
            (
                "dpop_jkt",
                "the client has no DPoP key: set one with ClientBuilder::dpop",
            ),
            ("grant_type", "it is empty"),
            ("scope", "it is empty"),
        ] {
            errors.push(ConfigError::InvalidParameter {
                name: name.to_owned(),
                reason,
            });
        }
        for name in ["scope", "grant_type", "client_id"] {
            errors.push(ConfigError::ReservedParameter(name.to_owned()));
        }
        errors.extend([
            ConfigError::InvalidCredentials("the client id is empty"),
            ConfigError::MissingRedirectUri,
            ConfigError::ParRequired,
            ConfigError::MissingIssuer,
            ConfigError::InsecureResource {
                host: "api.example".to_owned(),
            },
            ConfigError::InsecureResource {
                host: String::new(),
            },
            ConfigError::AssertionUnavailable {
                source: "assertion.jwt".to_owned(),
                reason: "the file is empty".to_owned(),
            },
        ]);
        errors.extend(every_fapi2_rule().map(ConfigError::Fapi2));
        let mut library_worded = 0;
        for error in errors {
            library_worded += usize::from(names_library(&error.to_string()));
            let message = CliError::Flow(grantline::Error::Config(error)).to_string();
            assert_cli_terms(&message, &flags);
        }
        // The core's own words name its API (right for library users): the mapping matters.
        assert!(library_worded >= 15, "{library_worded}");
    }

    fn every_fapi2_rule() -> [Fapi2Rule; 10] {
        [
            Fapi2Rule::PushedAuthorizationRequests,
            Fapi2Rule::PkceS256,
            Fapi2Rule::SenderConstrainedTokens,
            Fapi2Rule::ClientAuthentication,
            Fapi2Rule::AssertionAudience,
            Fapi2Rule::SigningAlgorithm,
            Fapi2Rule::IssParameter,
            Fapi2Rule::Lifetime,
            Fapi2Rule::Tls,
            Fapi2Rule::ServerMetadata,
        ]
    }

    #[test]
    fn fapi2_rules_name_the_profile_section_and_the_options_that_meet_them() {
        let flags = all_flags();
        for rule in every_fapi2_rule() {
            let config = CliError::Flow(ConfigError::Fapi2(rule).into()).to_string();
            assert!(
                config.starts_with("--fapi2") && config.contains(rule.section()),
                "{config}"
            );
            let answer = CliError::Flow(ValidationError::Fapi2(rule).into()).to_string();
            assert!(answer.contains(rule.section()), "{answer}");
            assert_cli_terms(&answer, &flags);
        }
        let binding = CliError::Flow(ConfigError::Fapi2(Fapi2Rule::SenderConstrainedTokens).into());
        assert!(binding.to_string().contains("--dpop"), "{binding}");
        let auth = CliError::Flow(ConfigError::Fapi2(Fapi2Rule::ClientAuthentication).into());
        assert!(
            auth.to_string().contains("--auth-method private-key-jwt"),
            "{auth}"
        );
    }

    #[test]
    fn errors_point_at_the_option_to_fix() {
        let message = |e: ConfigError| CliError::Flow(grantline::Error::Config(e)).to_string();
        let insecure = message(ConfigError::InsecureEndpoint {
            kind: EndpointKind::Token,
            host: "as.example".to_owned(),
        });
        assert!(
            insecure.contains("--insecure-http") && insecure.contains("`as.example`"),
            "{insecure}"
        );
        assert!(
            message(ConfigError::MissingEndpoint(EndpointKind::Token)).contains("--token-endpoint")
        );
        assert!(message(ConfigError::MissingRedirectUri).contains("--redirect-uri"));
        assert!(message(ConfigError::ParRequired).contains("--par"));
        let request = message(ConfigError::InvalidParameter {
            name: "request".to_owned(),
            reason: "a request object's audience is the issuer: build the client from metadata or set ClientBuilder::issuer",
        });
        assert!(
            request.contains("audience is the issuer") && request.contains("--issuer"),
            "{request}"
        );
    }

    #[test]
    fn every_endpoint_and_parameter_flag_exists() {
        let flags = all_flags();
        for kind in every_endpoint_kind() {
            if let Some(flag) = endpoint_flag(kind) {
                assert!(flags.contains(flag), "{flag}");
            }
        }
        for name in [
            "scope",
            "resource",
            "audience",
            "redirect_uri",
            "issuer",
            "client_id",
            "prompt",
            "login_hint",
            "login_hint_token",
            "id_token_hint",
            "binding_message",
            "user_code",
            "requested_expiry",
            "acr_values",
            "subject_token",
            "subject_token_type",
            "actor_token",
            "actor_token_type",
            "requested_token_type",
            "assertion",
            "username",
            "password",
            "token_type_hint",
            "software_statement",
        ] {
            let flag = parameter_flag(name).unwrap_or_else(|| panic!("{name}"));
            assert!(flags.contains(flag), "{flag}");
        }
    }

    #[test]
    fn other_flow_errors_are_in_the_command_terms() {
        let flags = all_flags();
        for error in [
            grantline::Error::Misuse(grantline::error::Misuse::UnexpectedResponse),
            grantline::Error::Misuse(grantline::error::Misuse::AlreadyDone),
            grantline::Error::Expired(Expired::DeviceCode),
            grantline::Error::Expired(Expired::BackchannelRequest),
            grantline::Error::Validation(ValidationError::IssuerMismatch {
                expected: "https://as.example".to_owned(),
                received: "https://as.example/".to_owned(),
            }),
            grantline::Error::Validation(ValidationError::StateMismatch),
            grantline::Error::Jose(grantline::error::JoseError::InvalidSignature),
        ] {
            assert_cli_terms(&CliError::Flow(error).to_string(), &flags);
        }
        let expired = CliError::Flow(grantline::Error::Expired(Expired::DeviceCode)).to_string();
        assert!(expired.contains("`grantline device`"), "{expired}");
    }

    #[test]
    fn network_errors_name_the_request_and_the_option() {
        let flags = all_flags();
        let target = Target {
            method: "POST".to_owned(),
            url: "https://as.example/token".to_owned(),
            host: "as.example".to_owned(),
        };
        for kind in [
            TransportErrorKind::Connect,
            TransportErrorKind::Timeout,
            TransportErrorKind::Tls,
            TransportErrorKind::BodyTooLarge { limit: 1024 },
            TransportErrorKind::Redirected,
            TransportErrorKind::InvalidRequest,
            TransportErrorKind::Io,
            TransportErrorKind::Other,
        ] {
            for proxy in [
                None,
                Some(ProxySource::Option),
                Some(ProxySource::Environment("HTTPS_PROXY")),
            ] {
                let error = TransportError::new(kind);
                let message =
                    CliError::network(&error, Some(target.clone()), proxy.clone()).to_string();
                if let (Some(proxy), TransportErrorKind::Connect | TransportErrorKind::Timeout) =
                    (&proxy, kind)
                {
                    assert!(message.contains(&proxy.to_string()), "{message}");
                }
                assert!(
                    message.contains("POST https://as.example/token"),
                    "{kind:?}: {message}"
                );
                assert_cli_terms(&message, &flags);
                assert!(!message.contains("retry"), "{message}");
            }
        }
        let timeout = CliError::network(
            &TransportError::new(TransportErrorKind::Timeout),
            Some(target.clone()),
            None,
        )
        .to_string();
        assert!(timeout.contains("--timeout"), "{timeout}");
        let unresolved = CliError::network(
            &TransportError::with_source(
                TransportErrorKind::Io,
                std::io::Error::other(
                    "failed to lookup address information: Name or service not known",
                ),
            ),
            Some(target),
            None,
        )
        .to_string();
        assert!(
            unresolved.contains("cannot resolve the host `as.example`")
                && unresolved.contains("check the host name"),
            "{unresolved}"
        );
    }

    #[test]
    fn oauth_errors_show_the_code_and_the_description_on_one_line() {
        let response = http::Response::builder()
            .status(400)
            .header("content-type", "application/json")
            .body(
                br#"{"error":"invalid_scope","error_description":"no\nsuch scope: admin"}"#
                    .to_vec(),
            )
            .unwrap();
        let error = CliError::Flow(
            grantline::TokenResponse::from_response(&response, grantline::Now::system())
                .unwrap_err(),
        )
        .to_string();
        assert_eq!(
            error,
            "the server answered with OAuth error `invalid_scope` (HTTP 400): no\\nsuch scope: admin"
        );
    }

    #[test]
    fn library_advice_is_cut_at_its_clause() {
        assert_eq!(
            without_library_advice("the client has no DPoP key: set one with ClientBuilder::dpop"),
            "the client has no DPoP key"
        );
        assert_eq!(
            without_library_advice("a response was given: call next() first; then retry"),
            "a response was given"
        );
        assert_eq!(
            without_library_advice("nothing to cut: here"),
            "nothing to cut: here"
        );
    }

    #[test]
    fn one_line_escapes_and_bounds() {
        assert_eq!(one_line("a\nb\u{1b}"), "a\\nb\\u{1b}");
        assert!(one_line(&"x".repeat(1000)).ends_with('…'));
    }
}
