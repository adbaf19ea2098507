//! grantline beside oauth2-rs, openidconnect-rs and the floor, timed: every case of
//! `grantline_benches::compare` (the same cases `opcount` counts instructions and allocations of).
//!
//! `cargo bench -p grantline-benches --bench compare` writes one criterion group per row
//! (`target/criterion/<row>/<column>/`); `run.sh` reads the medians into the table.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use grantline_benches::CountingAllocator;
use grantline_benches::compare::{CaseId, Visitor, for_each_case};

// The same allocator as `opcount`'s, so both measure the same program (it counts nothing here).
#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

struct Bench<'a>(&'a mut Criterion);

impl Visitor for Bench<'_> {
    fn case<I, O>(
        &mut self,
        id: CaseId,
        mut input: impl FnMut() -> I,
        mut run: impl FnMut(I) -> O,
    ) {
        let mut group = self.0.benchmark_group(id.row);
        group.bench_function(id.bench_name(), |b| {
            // The output is dropped inside the timed region, as in `opcount`.
            b.iter_batched(
                &mut input,
                |input| {
                    black_box(run(black_box(input)));
                },
                BatchSize::SmallInput,
            );
        });
        group.finish();
    }
}

fn bench(c: &mut Criterion) {
    for_each_case(&mut Bench(c));
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);
    targets = bench
}
criterion_main!(benches);
