//! The URLs of the last few requests, parsed once.
//!
//! grantline's requests carry an [`http::Uri`]; reqwest wants a [`reqwest::Url`], and turning
//! one into the other (writing the URI out and parsing it with the `url` crate, as
//! `reqwest::Request::try_from` does) costs more than everything else the transport does for a
//! request. A client asks the same few endpoints again and again (a token endpoint, an
//! introspection endpoint), so the transport keeps the last few URLs it parsed, each under the
//! exact text it was parsed from, and hands out a copy when the same text comes again.

use std::fmt;
use std::sync::{Mutex, PoisonError};

use reqwest::Url;

/// How many URLs are kept: enough for the endpoints one client talks to in turn.
const SLOTS: usize = 4;

/// A few `(text, parsed URL)` pairs; the oldest is replaced when a new one comes.
#[derive(Default)]
pub(crate) struct UrlCache {
    slots: Mutex<Slots>,
}

#[derive(Default)]
struct Slots {
    entries: [Option<(String, Url)>; SLOTS],
    /// The entry replaced next.
    next: usize,
}

impl fmt::Debug for UrlCache {
    // The URLs themselves are left out: a URL may carry a query a log should not show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held = self.slots().entries.iter().flatten().count();
        f.debug_struct("UrlCache").field("held", &held).finish()
    }
}

impl UrlCache {
    /// The URL parsed from `uri`'s text before, if it is still kept.
    pub(crate) fn get(&self, uri: &http::Uri) -> Option<Url> {
        self.slots()
            .entries
            .iter()
            .flatten()
            .find(|(text, _)| is_written_as(uri, text))
            .map(|(_, url)| url.clone())
    }

    /// `uri`'s text (as `Display` writes it, which is what reqwest parses) and the URL parsed
    /// from it, kept in place of the oldest.
    pub(crate) fn parse(&self, uri: &http::Uri) -> Option<Url> {
        let text = uri.to_string();
        let url = Url::parse(&text).ok()?;
        let mut slots = self.slots();
        let next = slots.next;
        if let Some(slot) = slots.entries.get_mut(next) {
            *slot = Some((text, url.clone()));
        }
        slots.next = (next + 1) % SLOTS;
        Some(url)
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        // A panic elsewhere cannot leave the entries half-written: each is replaced whole.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether `text` is exactly what `uri`'s `Display` writes, without writing it: the scheme and
/// `://`, the authority, the path, and `?` with the query, as `http` 1 does.
fn is_written_as(uri: &http::Uri, text: &str) -> bool {
    let rest = Some(text);
    let rest = match uri.scheme_str() {
        Some(scheme) => rest
            .and_then(|r| r.strip_prefix(scheme))
            .and_then(|r| r.strip_prefix("://")),
        None => rest,
    };
    let rest = match uri.authority() {
        Some(authority) => rest.and_then(|r| r.strip_prefix(authority.as_str())),
        None => rest,
    };
    let rest = rest.and_then(|r| r.strip_prefix(uri.path()));
    let rest = match uri.query() {
        Some(query) => rest
            .and_then(|r| r.strip_prefix('?'))
            .and_then(|r| r.strip_prefix(query)),
        None => rest,
    };
    rest == Some("")
}

#[cfg(test)]
mod tests {
    use super::{SLOTS, UrlCache, is_written_as};

    const URIS: [&str; 22] = [
        "https://as.example/token",
        "https://as.example/token/",
        "https://as.example/token?",
        "https://as.example/token?a=b",
        "https://as.example/token?a=B",
        "https://as.example/tokena=b",
        "https://as.example/token?a=b#frag",
        "https://as.example",
        "https://as.example/",
        "https://AS.example/token",
        "HTTPS://as.example/token",
        "http://as.example/token",
        "https://as.example:443/token",
        "https://as.example:8443/token",
        "https://user:pw@as.example/token",
        "https://User:pw@as.example/token",
        "https://user:PW@as.example/token",
        "https://[::1]:8080/token",
        "https://as.example/t%20ken",
        "https://as.example/t ken",
        "/token",
        "as.example:443",
    ];

    fn uris() -> Vec<http::Uri> {
        URIS.iter().filter_map(|s| s.parse().ok()).collect()
    }

    #[test]
    fn a_text_matches_a_uri_exactly_when_it_is_what_display_writes() {
        let uris = uris();
        assert!(uris.len() > 15, "most test URIs parse");
        for a in &uris {
            for b in &uris {
                assert_eq!(
                    is_written_as(a, &b.to_string()),
                    a.to_string() == b.to_string(),
                    "{a} against {b}"
                );
            }
            let written = a.to_string();
            assert!(!is_written_as(a, &format!("{written}x")));
            assert!(!is_written_as(a, &written[..written.len() - 1]));
        }
    }

    #[test]
    fn a_kept_url_is_the_one_reqwest_would_parse() {
        let cache = UrlCache::default();
        for uri in uris() {
            let parsed = cache.parse(&uri);
            let by_reqwest = http::Request::builder()
                .uri(uri.clone())
                .body(Vec::<u8>::new())
                .ok()
                .and_then(|r| reqwest::Request::try_from(r).ok())
                .map(|r| r.url().clone());
            assert_eq!(parsed, by_reqwest, "{uri}");
            if parsed.is_some() {
                assert_eq!(cache.get(&uri), parsed, "{uri}");
            } else {
                assert_eq!(cache.get(&uri), None, "{uri}");
            }
        }
    }

    #[test]
    fn only_the_last_few_urls_are_kept() {
        let cache = UrlCache::default();
        let uri = |i: usize| -> http::Uri { format!("https://as.example/{i}").parse().unwrap() };
        for i in 0..=SLOTS {
            assert!(cache.get(&uri(i)).is_none());
            cache.parse(&uri(i)).unwrap();
        }
        assert!(cache.get(&uri(0)).is_none(), "the oldest was replaced");
        for i in 1..=SLOTS {
            assert_eq!(cache.get(&uri(i)).unwrap().path(), format!("/{i}"));
        }
        assert_eq!(
            format!("{cache:?}"),
            format!("UrlCache {{ held: {SLOTS} }}")
        );
    }
}
