//! Endpoint URL checks, applied when a client is built.

use std::fmt;

use url::{Host, Url};

use crate::error::ConfigError;

/// Parses and checks an endpoint URL.
///
/// An endpoint must be an absolute `https` URL without a fragment (RFC 6749 §3.1, §3.2) and
/// without user info (credentials travel through client authentication, not the URL). Plain
/// `http` is accepted on loopback hosts (`127.0.0.0/8`, `::1`, `localhost`), and elsewhere only
/// when `insecure_http` is set.
pub(crate) fn check_endpoint(
    kind: EndpointKind,
    raw: &str,
    insecure_http: bool,
) -> Result<Url, ConfigError> {
    let invalid = |reason| ConfigError::InvalidEndpoint { kind, reason };
    let url = Url::parse(raw).map_err(|_| invalid("it is not an absolute URL"))?;
    if url.fragment().is_some() {
        return Err(invalid(
            "it has a fragment (#...), which endpoints must not have",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "it has user info (user:password@); give credentials through client authentication",
        ));
    }
    let host = url
        .host()
        .ok_or_else(|| invalid("it has no host"))?
        .to_owned();
    match url.scheme() {
        "https" => Ok(url),
        "http" if insecure_http || is_loopback(&host) => Ok(url),
        "http" => Err(ConfigError::InsecureEndpoint {
            kind,
            host: host.to_string(),
        }),
        _ => Err(invalid("its scheme is neither https nor http")),
    }
}

/// `127.0.0.0/8`, `::1` (also IPv4-mapped), and `localhost`.
pub(crate) fn is_loopback(host: &Host<String>) -> bool {
    match host {
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
    }
}

/// Which endpoint of the authorization server a message is about.
///
/// ```
/// assert_eq!(grantline::EndpointKind::Token.to_string(), "token endpoint");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndpointKind {
    /// The token endpoint (RFC 6749 §3.2).
    Token,
    /// The authorization endpoint (RFC 6749 §3.1).
    Authorization,
    /// The revocation endpoint (RFC 7009).
    Revocation,
    /// The introspection endpoint (RFC 7662).
    Introspection,
    /// The device authorization endpoint (RFC 8628).
    DeviceAuthorization,
    /// The pushed authorization request endpoint (RFC 9126).
    PushedAuthorization,
    /// The backchannel authentication endpoint (CIBA).
    BackchannelAuthentication,
    /// The UserInfo endpoint (OpenID Connect).
    Userinfo,
    /// The JWK Set document (RFC 7517).
    Jwks,
    /// The dynamic client registration endpoint (RFC 7591).
    Registration,
    /// The end-session (logout) endpoint (OpenID Connect RP-initiated logout).
    EndSession,
    /// A server metadata document (RFC 8414, OpenID Connect discovery).
    Metadata,
}

impl fmt::Display for EndpointKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndpointKind::Token => "token endpoint",
            EndpointKind::Authorization => "authorization endpoint",
            EndpointKind::Revocation => "revocation endpoint",
            EndpointKind::Introspection => "introspection endpoint",
            EndpointKind::DeviceAuthorization => "device authorization endpoint",
            EndpointKind::PushedAuthorization => "pushed authorization request endpoint",
            EndpointKind::BackchannelAuthentication => "backchannel authentication endpoint",
            EndpointKind::Userinfo => "userinfo endpoint",
            EndpointKind::Jwks => "JWK Set URL",
            EndpointKind::Registration => "registration endpoint",
            EndpointKind::EndSession => "end-session endpoint",
            EndpointKind::Metadata => "metadata URL",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str) -> Result<Url, ConfigError> {
        check_endpoint(EndpointKind::Token, raw, false)
    }

    #[test]
    fn https_is_accepted_and_query_kept() {
        let url = check("https://as.example/oauth2/token?grant_type=client_credentials").unwrap();
        assert_eq!(url.query(), Some("grant_type=client_credentials"));
    }

    #[test]
    fn http_only_on_loopback() {
        for ok in [
            "http://127.0.0.1:8080/token",
            "http://127.1.2.3/token",
            "http://[::1]:9000/token",
            "http://[::ffff:127.0.0.1]/token",
            "http://localhost/token",
            "http://LOCALHOST:3000/token",
        ] {
            assert!(check(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://as.example/token",
            "http://10.0.0.1/token",
            "http://localhost.evil.example/token",
            "http://128.0.0.1/token",
            "http://[::2]/token",
        ] {
            assert!(
                matches!(
                    check(bad),
                    Err(ConfigError::InsecureEndpoint {
                        kind: EndpointKind::Token,
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn insecure_http_needs_the_opt_in() {
        assert!(check_endpoint(EndpointKind::Token, "http://as.example/token", true).is_ok());
    }

    #[test]
    fn malformed_endpoints_are_refused_with_a_reason() {
        for bad in [
            "not a url",
            "/relative/token",
            "https://as.example/token#frag",
            "https://user:pass@as.example/token",
            "ftp://as.example/token",
            "file:///etc/passwd",
        ] {
            assert!(
                matches!(check(bad), Err(ConfigError::InvalidEndpoint { .. })),
                "{bad}"
            );
        }
    }
}
