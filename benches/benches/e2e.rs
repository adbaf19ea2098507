//! Client-credentials token fetches on loopback, per library and transport, beside the bare
//! transports: see `grantline_benches::e2e`.
//!
//! `cargo bench -p grantline-benches --bench e2e` writes the criterion group `e2e`
//! (`target/criterion/e2e/<fetcher>/`); `run.sh` turns the medians into fetches per second.

#![allow(clippy::expect_used)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use grantline_benches::e2e::{Clients, Fetcher, TokenEndpoint};

fn bench(c: &mut Criterion) {
    let endpoint = TokenEndpoint::start().expect("a loopback token endpoint");
    let clients = Clients::new(&endpoint).expect("the clients");
    for fetcher in Fetcher::ALL {
        clients
            .fetch(fetcher)
            .unwrap_or_else(|e| panic!("{}: {e}", fetcher.as_str()));
    }
    let mut group = c.benchmark_group("e2e");
    for fetcher in Fetcher::ALL {
        group.bench_function(fetcher.as_str(), |b| {
            b.iter(|| clients.fetch(fetcher).expect("a token"));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(40);
    targets = bench
}
criterion_main!(benches);
