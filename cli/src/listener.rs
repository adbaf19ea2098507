//! The one-shot HTTP listener on a loopback address that catches the browser's redirect back
//! from the authorization server (RFC 8252 §7.3).
//!
//! It answers requests until one arrives at the redirect URI's path (a browser may ask for
//! `/favicon.ico` first), hands that callback over, and answers it with a page telling the
//! person to go back to the terminal. Nothing here checks the callback: that is
//! `PendingAuthorization::validate_callback`'s job.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use grantline::authorization::Callback;
use grantline_cli::loopback_request::{self, Routed};
use url::Url;

use crate::error::CliError;

/// A bound listener and the redirect URI that points at it.
#[derive(Debug)]
pub(crate) struct CallbackListener {
    listener: TcpListener,
    redirect_uri: Url,
}

/// The callback that arrived, and the connection to answer it on.
#[derive(Debug)]
pub(crate) struct Arrived {
    /// What the browser brought: the full redirect URL, or a form post's body.
    pub(crate) callback: Callback,
    stream: TcpStream,
}

impl CallbackListener {
    /// Binds to the redirect URI's loopback address and port (port 0 or none: a free one), or
    /// by default to `http://127.0.0.1:<free port>/callback`.
    ///
    /// # Errors
    ///
    /// A configuration error for a redirect URI that is not `http` on a loopback host, or a
    /// port that cannot be bound.
    pub(crate) fn bind(redirect_uri: Option<&str>) -> Result<Self, CliError> {
        let mut uri = match redirect_uri {
            Some(raw) => Url::parse(raw)
                .map_err(|e| CliError::config(format!("the --redirect-uri is not a URL: {e}")))?,
            None => Url::parse("http://127.0.0.1:0/callback")
                .map_err(|e| CliError::Internal(e.to_string()))?,
        };
        if uri.scheme() != "http" {
            return Err(CliError::config(
                "to listen for the redirect, the redirect URI must be http on 127.0.0.1, [::1] or localhost (or use --paste)",
            ));
        }
        let ip = match uri.host() {
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => IpAddr::V6(ip),
            Some(url::Host::Domain("localhost")) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            _ => {
                return Err(CliError::config(
                    "to listen for the redirect, the redirect URI's host must be 127.0.0.1, [::1] or localhost (or use --paste)",
                ));
            }
        };
        let port = uri.port_or_known_default().unwrap_or(80);
        let listener = TcpListener::bind(SocketAddr::new(ip, port)).map_err(|e| {
            CliError::config(format!(
                "cannot listen on {ip}:{port} for the redirect: {e}"
            ))
        })?;
        let bound = listener
            .local_addr()
            .map_err(|e| CliError::Internal(format!("no local address: {e}")))?;
        if port == 0 {
            uri.set_port(Some(bound.port())).map_err(|()| {
                CliError::Internal("cannot set the redirect URI's port".to_owned())
            })?;
        }
        Ok(Self {
            listener,
            redirect_uri: uri,
        })
    }

    /// The redirect URI to put in the authorization request.
    pub(crate) fn redirect_uri(&self) -> &str {
        self.redirect_uri.as_str()
    }

    /// Waits up to `wait` for the browser to come back to the redirect URI.
    ///
    /// # Errors
    ///
    /// [`CliError::Interrupted`] when nothing arrived in time.
    pub(crate) fn wait(self, wait: Duration) -> Result<Arrived, CliError> {
        let deadline = Instant::now() + wait;
        self.listener
            .set_nonblocking(true)
            .map_err(|e| CliError::Internal(format!("cannot poll the listener: {e}")))?;
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if let Some(arrived) = self.serve(stream) {
                        return Ok(arrived);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Err(CliError::Interrupted(format!(
                            "no redirect arrived at {} within {} s. If the browser shows an \
                             error from the authorization server, it did not accept this \
                             redirect URI for the client: register it (or \
                             http://127.0.0.1/callback, which RFC 8252 servers accept on any \
                             port), or pass --redirect-uri with one the server knows. If the \
                             sign-in is still going on, give it longer with --wait SECONDS; if \
                             the browser cannot reach this machine, use --paste",
                            self.redirect_uri,
                            wait.as_secs()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(25));
                }
                Err(e) => {
                    return Err(CliError::Internal(format!(
                        "the redirect listener failed: {e}"
                    )));
                }
            }
        }
    }

    /// Reads one request: the callback if it is at the redirect path, else answers 404.
    fn serve(&self, mut stream: TcpStream) -> Option<Arrived> {
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let request = loopback_request::read(&stream)?;
        match loopback_request::route(&request, &self.redirect_uri) {
            Routed::Callback(callback) => Some(Arrived { callback, stream }),
            Routed::NotFound => {
                respond(&mut stream, "404 Not Found", "Not found.");
                None
            }
            Routed::MethodNotAllowed => {
                respond(&mut stream, "405 Method Not Allowed", "Method not allowed.");
                None
            }
        }
    }
}

impl Arrived {
    /// Answers the browser: success, or the reason the callback was refused.
    pub(crate) fn reply(mut self, outcome: Result<(), &str>) {
        match outcome {
            Ok(()) => respond(
                &mut self.stream,
                "200 OK",
                "Signed in. You can close this tab and go back to the terminal.",
            ),
            Err(why) => respond(
                &mut self.stream,
                "400 Bad Request",
                &format!("Sign-in failed: {why}. Go back to the terminal."),
            ),
        }
    }
}

fn respond(stream: &mut TcpStream, status: &str, message: &str) {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>grantline</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><p>{escaped}</p></body></html>"
    );
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\n\
         cache-control: no-store\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    fn get(addr: &str, target: &str) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(stream, "GET {target} HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }

    #[test]
    fn the_callback_is_caught_and_other_paths_get_404() {
        let listener = CallbackListener::bind(None).unwrap();
        let uri = Url::parse(listener.redirect_uri()).unwrap();
        assert_eq!(uri.path(), "/callback");
        assert_ne!(uri.port(), Some(0));
        let addr = format!("127.0.0.1:{}", uri.port().unwrap());
        let browser = std::thread::spawn(move || {
            let favicon = get(&addr, "/favicon.ico");
            let callback = get(&addr, "/callback?code=c&state=s");
            (favicon, callback)
        });
        let arrived = listener.wait(Duration::from_secs(10)).unwrap();
        assert_eq!(
            arrived.callback,
            Callback::from(format!("{}?code=c&state=s", uri.as_str()))
        );
        arrived.reply(Ok(()));
        let (favicon, callback) = browser.join().unwrap();
        assert!(favicon.starts_with("HTTP/1.1 404"));
        assert!(callback.starts_with("HTTP/1.1 200") && callback.contains("Signed in"));
    }

    #[test]
    fn only_loopback_http_is_listened_on() {
        for bad in [
            "https://127.0.0.1/cb",
            "http://example.com/cb",
            "http://10.0.0.1/cb",
        ] {
            assert!(
                matches!(CallbackListener::bind(Some(bad)), Err(CliError::Config(_))),
                "{bad}"
            );
        }
        let listener = CallbackListener::bind(Some("http://localhost:0/cb")).unwrap();
        assert!(listener.redirect_uri().starts_with("http://localhost:"));
    }

    #[test]
    fn nothing_in_time_is_interrupted() {
        let listener = CallbackListener::bind(None).unwrap();
        assert!(matches!(
            listener.wait(Duration::from_millis(50)),
            Err(CliError::Interrupted(_))
        ));
    }
}
