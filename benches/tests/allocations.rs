//! The hot path allocates nothing: attaching a cached token through each transport's real attach
//! path (`Auth::authorize`, which the API clients and the middlewares take: the core's
//! authorizer with the URL check) clones a reference-counted header value and replaces the one
//! already in the request. This fails if a change makes it allocate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use grantline::Now;
use grantline::token_manager::Access;
use grantline_benches::{CountingAllocator, cached_manager, count_allocations, poll_once};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Calls `f` once to warm up (the first insert into a request grows its header map), then
/// returns the allocations of 1000 more calls.
fn allocations_of(mut f: impl FnMut()) -> u64 {
    f();
    count_allocations(|| {
        for _ in 0..1000 {
            f();
        }
    })
    .1
    .count
}

#[test]
fn the_counter_counts() {
    assert!(allocations_of(|| drop(std::hint::black_box(vec![1_u8; 16]))) >= 1000);
}

#[test]
fn the_core_hands_out_a_cached_header_without_allocating() {
    let mut manager = cached_manager();
    let now = Now::system();
    let allocations = allocations_of(|| {
        let Access::Ready(header) = manager.access(now) else {
            panic!("a cached token")
        };
        drop(std::hint::black_box(header));
    });
    assert_eq!(allocations, 0);
}

#[test]
fn ureq_attaches_a_cached_token_without_allocating() {
    let auth = grantline_ureq::Auth::new(grantline_ureq::Transport::new(), cached_manager());
    let mut request = http::Request::get("https://api.example/v1/items")
        .body(())
        .unwrap();
    let allocations = allocations_of(|| auth.authorize(&mut request).unwrap());
    assert_eq!(allocations, 0);
    assert!(
        request.headers()["authorization"]
            .as_bytes()
            .starts_with(b"Bearer eyJ")
    );
}

#[test]
fn reqwest_attaches_a_cached_token_without_allocating() {
    let auth = grantline_reqwest::Auth::new(
        grantline_reqwest::Transport::new().unwrap(),
        cached_manager(),
    );
    let mut request = reqwest::Request::new(
        reqwest::Method::GET,
        "https://api.example/v1/items".parse().unwrap(),
    );
    let allocations = allocations_of(|| {
        poll_once(auth.authorize(&mut request))
            .expect("a cached token never suspends")
            .unwrap();
    });
    assert_eq!(allocations, 0);
}
