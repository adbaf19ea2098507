//! Benchmarks for grantline's hot paths, and the tools they share.
//!
//! `cargo bench -p grantline-benches` times them with criterion; each bench also prints how many
//! heap allocations one iteration makes, counted by [`CountingAllocator`]. The tests in
//! `benches/tests/` assert those counts, so `cargo test --workspace` fails if a hot path starts
//! allocating.
//!
//! | bench | what it measures |
//! | --- | --- |
//! | `attach_token/ureq` | `grantline_ureq::Auth::authorize` with a cached token (the API client's and middleware's attach path: the core's authorizer, URL check included) |
//! | `attach_token/reqwest` | `grantline_reqwest::Auth::authorize` on a `reqwest::Request` (polled once: it completes without suspending) |
//! | `attach_token/core` | `TokenManager::access` alone: the sans-IO decision and the header clone |
//!
//! Later benches (flows, parsers, grantline against `oauth2`/`openidconnect`) join this crate.
//!
//! The comparison with the incumbents (oauth2-rs, openidconnect-rs) and the floor is in
//! [`compare`] (parsers and builders, timed by `benches/compare.rs`, counted by
//! `src/bin/opcount.rs`) and [`e2e`] (token fetches on loopback, `benches/e2e.rs`); `run.sh`
//! makes its table. See `benches/README.md`.

pub mod compare;
pub mod e2e;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

use grantline::token_manager::TokenManager;
use grantline::{TokenResponse, TokenType};

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
}

/// A global allocator that forwards to [`System`] and counts, on the current thread only and only
/// inside [`count_allocations`], how many allocations (and reallocations) are made and how many
/// bytes they ask for.
///
/// Install it in a bench or test binary:
///
/// ```
/// #[global_allocator]
/// static ALLOCATOR: grantline_benches::CountingAllocator = grantline_benches::CountingAllocator;
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[allow(clippy::exhaustive_structs)]
pub struct CountingAllocator;

fn record(bytes: usize) {
    // `try_with`: allocations during thread teardown are simply not counted.
    let counting = COUNTING.try_with(Cell::get).unwrap_or(false);
    if counting {
        let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
        let _ = BYTES.try_with(|b| b.set(b.get() + bytes as u64));
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the counting
// touches only const-initialised thread-locals, which never allocate.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: the caller's contract for `alloc` is passed on as it is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Heap allocations counted by [`count_allocations`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(clippy::exhaustive_structs)]
pub struct Allocations {
    /// How many allocations and reallocations.
    pub count: u64,
    /// How many bytes they asked for.
    pub bytes: u64,
}

/// Runs `f` and counts the allocations it makes on this thread (needs [`CountingAllocator`]
/// installed as the global allocator; without it the counts are zero).
///
/// ```
/// let (value, allocations) = grantline_benches::count_allocations(|| 2 + 2);
/// assert_eq!(value, 4);
/// assert_eq!(allocations.count, 0);
/// ```
pub fn count_allocations<R>(f: impl FnOnce() -> R) -> (R, Allocations) {
    ALLOCATIONS.with(|a| a.set(0));
    BYTES.with(|b| b.set(0));
    COUNTING.with(|c| c.set(true));
    let result = f();
    COUNTING.with(|c| c.set(false));
    let allocations = Allocations {
        count: ALLOCATIONS.with(Cell::get),
        bytes: BYTES.with(Cell::get),
    };
    (result, allocations)
}

/// Polls `future` once, for futures that complete without suspending (the auth handler's hot
/// path); `None` if it would have suspended.
///
/// ```
/// assert_eq!(grantline_benches::poll_once(async { 7 }), Some(7));
/// ```
pub fn poll_once<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

/// A token manager holding a cached bearer token valid for an hour (by client credentials, so it
/// could renew): what every API call behind an auth handler sees on its hot path.
///
/// # Panics
///
/// Never in practice: the client and token are fixed and valid.
///
/// ```
/// let manager = grantline_benches::cached_manager();
/// assert!(manager.token().is_some());
/// ```
#[must_use]
#[allow(clippy::expect_used)]
pub fn cached_manager() -> TokenManager {
    let client = grantline::Client::builder("bench")
        .token_endpoint("https://as.example/token")
        .client_secret_basic("s3cr3t")
        .build()
        .expect("a valid client");
    // A realistic token: a JWT-sized access token.
    let access_token = format!("eyJhbGciOiJSUzI1NiJ9.{}.signature", "x".repeat(600));
    let token = TokenResponse::new(access_token.into(), TokenType::Bearer)
        .with_expires_at(Some(SystemTime::now() + Duration::from_secs(3600)));
    TokenManager::grant(client, grantline::grant::TokenRequest::client_credentials())
        .and_then(|m| m.with_token(token))
        .expect("a valid manager")
}
