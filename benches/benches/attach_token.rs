//! The hot path of every API call: attaching a cached token to a request, per transport.
//!
//! `cargo bench -p grantline-benches --bench attach_token` prints criterion's timings and, before
//! them, the heap allocations per attach (counted over 10 000 attaches after a warm-up).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use grantline::Now;
use grantline::token_manager::Access;
use grantline_benches::{CountingAllocator, cached_manager, count_allocations, poll_once};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const COUNTED: u32 = 10_000;

/// The transports' real attach path (the API clients' and middlewares'): the core's authorizer,
/// with its URL check.
fn attach_ureq(auth: &grantline_ureq::Auth, request: &mut http::Request<()>) {
    auth.authorize(request).unwrap();
}

fn attach_reqwest(auth: &grantline_reqwest::Auth, request: &mut reqwest::Request) {
    poll_once(auth.authorize(request))
        .expect("a cached token never suspends")
        .unwrap();
}

/// Prints the allocations per call of `f`, after one warm-up call.
fn report(name: &str, mut f: impl FnMut()) {
    f();
    let ((), allocations) = count_allocations(|| {
        for _ in 0..COUNTED {
            f();
        }
    });
    println!(
        "{name}: {} allocations, {} bytes per attach (over {COUNTED})",
        allocations.count as f64 / f64::from(COUNTED),
        allocations.bytes as f64 / f64::from(COUNTED),
    );
}

fn bench(c: &mut Criterion) {
    let mut manager = cached_manager();
    let now = Now::system();
    let ureq_auth = grantline_ureq::Auth::new(grantline_ureq::Transport::new(), cached_manager());
    let mut ureq_request = http::Request::get("https://api.example/v1/items")
        .header("accept", "application/json")
        .body(())
        .unwrap();
    let reqwest_auth = grantline_reqwest::Auth::new(
        grantline_reqwest::Transport::new().unwrap(),
        cached_manager(),
    );
    let mut reqwest_request = reqwest::Request::new(
        reqwest::Method::GET,
        "https://api.example/v1/items".parse().unwrap(),
    );

    report("attach_token/core", || {
        let Access::Ready(header) = manager.access(black_box(now)) else {
            unreachable!()
        };
        black_box(header);
    });
    report("attach_token/ureq", || {
        attach_ureq(&ureq_auth, &mut ureq_request)
    });
    report("attach_token/reqwest", || {
        attach_reqwest(&reqwest_auth, &mut reqwest_request);
    });

    let mut group = c.benchmark_group("attach_token");
    group.bench_function("core", |b| {
        b.iter(|| {
            let Access::Ready(header) = manager.access(black_box(now)) else {
                unreachable!()
            };
            header
        });
    });
    group.bench_function("ureq", |b| {
        b.iter(|| attach_ureq(black_box(&ureq_auth), &mut ureq_request));
    });
    group.bench_function("reqwest", |b| {
        b.iter(|| attach_reqwest(black_box(&reqwest_auth), &mut reqwest_request));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
