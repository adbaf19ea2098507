//! `tracing` spans and events (feature `tracing`): what the drivers' runs, the authorizer and the
//! fleet renewal do, never a secret.
//!
//! Everything here is written once, in the core, and every driver reports through it. Without
//! the feature nothing of it is compiled: [`event!`] expands to nothing and [`RunTrace`] is a
//! zero-sized type.
//!
//! What may go into a field: an endpoint's URL **without its query, fragment or user info**
//! ([`Url`]), a method, a status, the `grant_type` of a token request (a grant's name, never its
//! code, assertion or refresh token), durations computed from the [`Now`]s the driver passed in,
//! counters, and error messages (which carry no secret: the hardening issue's sentinel test checks
//! them). Never a header value, a body, a query string or a token.

#[cfg(feature = "tracing")]
use std::time::Instant;

use crate::Now;

/// The target every grantline event is reported under (`RUST_LOG=grantline=debug`).
#[cfg(feature = "tracing")]
pub(crate) const TARGET: &str = "grantline";

/// `tracing::event!` under the `grantline` target with the feature, nothing without it (the
/// arguments are not even evaluated).
macro_rules! event {
    ($level:ident, $($rest:tt)*) => {{
        #[cfg(feature = "tracing")]
        {
            ::tracing::event!(target: "grantline", ::tracing::Level::$level, $($rest)*);
        }
    }};
}
pub(crate) use event;

/// A URL as it may be shown: scheme, host, port and path; no user info, no query, no fragment
/// (a query may carry a code or a state).
#[cfg(feature = "tracing")]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Url<'a>(pub(crate) &'a http::Uri);

#[cfg(feature = "tracing")]
impl std::fmt::Display for Url<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let uri = self.0;
        if let Some(scheme) = uri.scheme_str() {
            write!(f, "{scheme}://")?;
        }
        if let Some(host) = uri.host() {
            f.write_str(host)?;
        }
        if let Some(port) = uri.port_u16() {
            write!(f, ":{port}")?;
        }
        f.write_str(uri.path())
    }
}

/// A `url::Url` as it may be shown: as [`Url`].
#[cfg(feature = "tracing")]
pub(crate) fn url_text(url: &url::Url) -> String {
    let mut text = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        text.push_str(&format!(":{port}"));
    }
    text.push_str(url.path());
    text
}

/// The `grant_type` of a form-encoded token request (its name only), if it has one.
#[cfg(feature = "tracing")]
fn grant_type(request: &http::Request<Vec<u8>>) -> Option<String> {
    let form = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return None;
    }
    url::form_urlencoded::parse(request.body())
        .find(|(name, _)| name == "grant_type")
        .map(|(_, value)| value.into_owned())
}

/// The short name of a flow type: `OneShot` for `grantline::flow::one_shot::OneShot<..>`.
#[cfg(feature = "tracing")]
fn short_name<F>() -> &'static str {
    let full = std::any::type_name::<F>();
    let head = full.split('<').next().unwrap_or(full);
    head.rsplit("::").next().unwrap_or(head)
}

/// What a [`Run`](crate::driver::Run) reports: a `flow` span, an `exchange` span per request
/// inside it, and the events of each step.
#[derive(Debug)]
pub(crate) struct RunTrace {
    #[cfg(feature = "tracing")]
    span: tracing::Span,
    #[cfg(feature = "tracing")]
    exchange: Option<(tracing::Span, Instant)>,
    #[cfg(feature = "tracing")]
    started: Option<Instant>,
    #[cfg(feature = "tracing")]
    exchanges: u32,
    #[cfg(feature = "tracing")]
    retries: u32,
}

#[cfg_attr(not(feature = "tracing"), allow(clippy::unused_self))]
impl RunTrace {
    /// The trace of a run of a flow of type `F`.
    #[cfg_attr(not(feature = "tracing"), allow(clippy::extra_unused_type_parameters))]
    pub(crate) fn new<F>() -> Self {
        Self {
            #[cfg(feature = "tracing")]
            span: tracing::debug_span!(
                target: TARGET,
                "flow",
                flow = short_name::<F>(),
                grant_type = tracing::field::Empty,
            ),
            #[cfg(feature = "tracing")]
            exchange: None,
            #[cfg(feature = "tracing")]
            started: None,
            #[cfg(feature = "tracing")]
            exchanges: 0,
            #[cfg(feature = "tracing")]
            retries: 0,
        }
    }

    /// The flow asked to send `request` at `now`.
    pub(crate) fn sending(&mut self, request: &http::Request<Vec<u8>>, now: Now) {
        #[cfg(feature = "tracing")]
        {
            let at = now.monotonic();
            self.started.get_or_insert(at);
            self.exchanges += 1;
            let span = tracing::debug_span!(
                target: TARGET,
                parent: &self.span,
                "exchange",
                method = %request.method(),
                url = %Url(request.uri()),
                grant_type = tracing::field::Empty,
                attempt = self.exchanges,
            );
            // Reading the body costs: only for a subscriber that listens.
            if !span.is_disabled() {
                if let Some(grant) = grant_type(request) {
                    self.span.record("grant_type", grant.as_str());
                    span.record("grant_type", grant.as_str());
                }
            }
            span.in_scope(|| event!(DEBUG, "sending the request"));
            self.exchange = Some((span, at));
        }
        let _ = (request, now);
    }

    /// The flow asked to wait `duration` (a polling interval, a back-off).
    pub(crate) fn waiting(&self, duration: std::time::Duration) {
        #[cfg(feature = "tracing")]
        self.span.in_scope(|| {
            event!(
                DEBUG,
                wait_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
                "waiting before the next request"
            );
        });
        let _ = duration;
    }

    /// The response to the last request arrived with `status`, at `now`.
    pub(crate) fn received(&self, status: http::StatusCode, now: Now) {
        #[cfg(feature = "tracing")]
        {
            if let Some((span, sent)) = &self.exchange {
                span.in_scope(|| {
                    event!(
                        DEBUG,
                        status = status.as_u16(),
                        duration_ms = millis(now.monotonic().saturating_duration_since(*sent)),
                        "response received"
                    );
                });
            }
        }
        let _ = (status, now);
    }

    /// The last request got no answer (`error`); `retry` when the flow tries again.
    pub(crate) fn transport_failed(
        &mut self,
        error: &crate::driver::TransportError,
        retry: bool,
        now: Now,
    ) {
        #[cfg(feature = "tracing")]
        {
            if retry {
                self.retries += 1;
            }
            if let Some((span, sent)) = &self.exchange {
                span.in_scope(|| {
                    event!(
                        DEBUG,
                        error = %error,
                        retry,
                        duration_ms = millis(now.monotonic().saturating_duration_since(*sent)),
                        "no answer"
                    );
                });
            }
        }
        let _ = (error, retry, now);
    }

    /// The flow ended at `now`: `error` is its failure, if it failed.
    pub(crate) fn done(&self, error: Option<&dyn std::fmt::Display>, now: Now) {
        #[cfg(feature = "tracing")]
        self.span.in_scope(|| {
            let duration_ms = self.started.map_or(0, |at| {
                millis(now.monotonic().saturating_duration_since(at))
            });
            match error {
                None => event!(
                    DEBUG,
                    exchanges = self.exchanges,
                    retries = self.retries,
                    duration_ms,
                    "flow done"
                ),
                Some(error) => event!(
                    DEBUG,
                    exchanges = self.exchanges,
                    retries = self.retries,
                    duration_ms,
                    error = %error,
                    "flow failed"
                ),
            }
        });
        let _ = (error, now);
    }
}

/// Milliseconds, for a field.
#[cfg(feature = "tracing")]
pub(crate) fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
