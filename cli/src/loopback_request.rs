//! The browser's request to the loopback redirect listener, read and turned into a callback
//! with no I/O of its own: the listener hands it the socket's bytes, a fuzz target any bytes.

use std::io::{BufRead as _, BufReader, Read};

use grantline::authorization::Callback;
use url::Url;

/// The largest request head or form body accepted: 64 KiB.
pub const MAX_REQUEST: usize = 64 * 1024;

/// One HTTP/1.x request, as far as the listener needs it.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoopbackRequest {
    /// The method (`GET` for a query response, `POST` for `response_mode=form_post`).
    pub method: String,
    /// The request target: path and query.
    pub target: String,
    /// The body (at most [`MAX_REQUEST`] bytes, as long as `Content-Length` says).
    pub body: Vec<u8>,
}

/// The query and the body carry the authorization code and the state: only the path and the
/// body's length are shown.
impl std::fmt::Debug for LoopbackRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = self.target.split('?').next().unwrap_or_default();
        f.debug_struct("LoopbackRequest")
            .field("method", &self.method)
            .field("path", &path)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// What the listener does with a request.
#[derive(Debug)]
#[allow(clippy::exhaustive_enums)] // the listener matches all three
pub enum Routed {
    /// The redirect arrived: this is the callback to validate.
    Callback(Callback),
    /// Another path (`/favicon.ico`, say): answer 404 and keep listening.
    NotFound,
    /// The redirect path with a method other than GET or POST: answer 405 and keep listening.
    MethodNotAllowed,
}

/// Reads one request from `stream`: its request line, headers up to the blank line, and a body
/// of `Content-Length` bytes. At most [`MAX_REQUEST`] bytes of head and at most as many of body
/// are read; `None` for anything that is not such a request (cut short, a line that is not
/// text, a length that is not a number).
pub fn read(stream: impl Read) -> Option<LoopbackRequest> {
    let mut reader = BufReader::new(stream.take(MAX_REQUEST as u64));
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                content_length = value.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; content_length.min(MAX_REQUEST)];
    reader.read_exact(&mut body).ok()?;
    Some(LoopbackRequest {
        method,
        target,
        body,
    })
}

/// Routes `request` for the listener of `redirect_uri`: the callback if it is at the redirect
/// URI's path (its query for GET, its form for POST), else what to answer.
#[must_use]
pub fn route(request: &LoopbackRequest, redirect_uri: &Url) -> Routed {
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((&request.target, ""));
    if path != redirect_uri.path() {
        return Routed::NotFound;
    }
    match request.method.as_str() {
        "GET" => {
            let mut url = redirect_uri.clone();
            url.set_query((!query.is_empty()).then_some(query));
            Routed::Callback(Callback::from(&url))
        }
        "POST" => Routed::Callback(Callback::form_post(&request.body)),
        _ => Routed::MethodNotAllowed,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn redirect() -> Url {
        Url::parse("http://127.0.0.1:8400/callback").unwrap()
    }

    #[test]
    fn a_get_callback_is_read_from_its_query() {
        let request =
            read(&b"GET /callback?code=c&state=s HTTP/1.1\r\nHost: x\r\n\r\n"[..]).unwrap();
        assert_eq!(request.method, "GET");
        assert!(matches!(route(&request, &redirect()), Routed::Callback(_)));
    }

    #[test]
    fn a_form_post_reads_its_body() {
        let raw = b"POST /callback HTTP/1.1\r\nContent-Length: 15\r\n\r\ncode=c&state=s&";
        let request = read(&raw[..]).unwrap();
        assert_eq!(request.body, b"code=c&state=s&");
        assert!(matches!(route(&request, &redirect()), Routed::Callback(_)));
    }

    #[test]
    fn other_paths_and_methods_are_not_the_callback() {
        let favicon = read(&b"GET /favicon.ico HTTP/1.1\r\n\r\n"[..]).unwrap();
        assert!(matches!(route(&favicon, &redirect()), Routed::NotFound));
        let put = read(&b"PUT /callback HTTP/1.1\r\n\r\n"[..]).unwrap();
        assert!(matches!(route(&put, &redirect()), Routed::MethodNotAllowed));
    }

    #[test]
    fn broken_requests_are_none() {
        for raw in [
            &b""[..],
            b"GET\r\n\r\n",
            b"POST /callback HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort",
            b"POST /callback HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"GET /\xff HTTP/1.1\r\n\r\n",
        ] {
            assert!(read(raw).is_none(), "{raw:?}");
        }
    }

    #[test]
    fn a_huge_content_length_reads_no_more_than_the_limit() {
        let raw = format!(
            "POST /callback HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            u64::MAX
        );
        assert!(read(raw.as_bytes()).is_none());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_read_or_refused_without_panicking(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            if let Some(request) = read(&bytes[..]) {
                let _ = route(&request, &redirect());
            }
        }
    }
}
