//! Runs one case of the comparison N times, for counting: instructions under callgrind, heap
//! allocations with the counting allocator.
//!
//! ```text
//! opcount list                 the case names, one a line
//! opcount run <case> <n>       one warm-up run, then n measured runs; prints
//!                              `allocations=<a> bytes=<b> n=<n>` for the n runs
//! opcount fetch <rounds> <k>   end to end on loopback: each round times k token fetches
//!                              with every fetcher, in a rotating order; prints per fetcher
//!                              `fetcher=<name> ns=<median ns per fetch> ratio=<r>`, where r is
//!                              the median over rounds of its time over its bare transport's
//!                              in the same round (paired, so machine load cancels out)
//! opcount e2e <fetcher> <n>    end to end on loopback, for counting: 50 warm-up fetches, then
//!                              n fetches inside `measured_loop` (under callgrind with
//!                              `--separate-threads=yes`, the main thread's count is the
//!                              client's work alone: the server runs on its own thread)
//! opcount serve                the loopback token endpoint alone: prints its URL, serves
//!                              until killed (`footprint.sh` fetches a token from it)
//! ```
//!
//! Instructions per operation are the difference of two callgrind runs over N:
//!
//! ```text
//! valgrind --tool=callgrind --toggle-collect='*measured_loop*' opcount run token_minimal/grantline 0
//! valgrind --tool=callgrind --toggle-collect='*measured_loop*' opcount run token_minimal/grantline 2000
//! ```
//!
//! `--toggle-collect` counts only inside [`measured_loop`] (the inputs a case consumes, such as
//! the `PendingAuthorization` of the callback row, are made outside it), and the difference
//! removes what one call of the loop costs whatever N is. `run.sh` does all of this.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use std::time::Instant;

use grantline_benches::compare::{CaseId, Visitor, for_each_case, measured_loop};
use grantline_benches::e2e::{Clients, FetchError, Fetcher, TokenEndpoint};
use grantline_benches::{CountingAllocator, count_allocations};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

struct List;

impl Visitor for List {
    fn case<I, O>(&mut self, id: CaseId, _: impl FnMut() -> I, _: impl FnMut(I) -> O) {
        println!("{}", id.name());
    }
}

struct Run<'a> {
    name: &'a str,
    n: usize,
    found: bool,
}

impl Visitor for Run<'_> {
    fn case<I, O>(
        &mut self,
        id: CaseId,
        mut input: impl FnMut() -> I,
        mut run: impl FnMut(I) -> O,
    ) {
        if id.name() != self.name {
            return;
        }
        self.found = true;
        // One run first, so that one-time set-up (a lazily seeded RNG, say) is not counted.
        drop(run(input()));
        let inputs: Vec<I> = (0..self.n).map(|_| input()).collect();
        let ((), allocations) = count_allocations(|| measured_loop(inputs, &mut run));
        println!(
            "allocations={} bytes={} n={}",
            allocations.count, allocations.bytes, self.n
        );
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn fetch(rounds: usize, per_round: u32) -> Result<(), FetchError> {
    let endpoint = TokenEndpoint::start()?;
    let clients = Clients::new(&endpoint)?;
    let fetchers = Fetcher::ALL;
    // Warm up: connections open, pools filled.
    for fetcher in fetchers {
        for _ in 0..100 {
            clients.fetch(fetcher)?;
        }
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); fetchers.len()];
    for round in 0..rounds {
        for offset in 0..fetchers.len() {
            let index = (round + offset) % fetchers.len();
            let fetcher = fetchers.get(index).copied().ok_or("no fetcher")?;
            let start = Instant::now();
            for _ in 0..per_round {
                clients.fetch(fetcher)?;
            }
            let ns = start.elapsed().as_nanos() as f64 / f64::from(per_round);
            times.get_mut(index).ok_or("no fetcher")?.push(ns);
        }
    }
    for (index, fetcher) in fetchers.iter().enumerate() {
        let floor = fetchers
            .iter()
            .position(|f| *f == fetcher.floor())
            .ok_or("no floor")?;
        let own = times.get(index).ok_or("no times")?;
        let base = times.get(floor).ok_or("no times")?;
        let mut ratios: Vec<f64> = own.iter().zip(base).map(|(t, b)| t / b).collect();
        let mut own = own.clone();
        println!(
            "fetcher={} ns={:.0} ratio={:.4}",
            fetcher.as_str(),
            median(&mut own),
            median(&mut ratios)
        );
    }
    Ok(())
}

fn e2e(name: &str, n: usize) -> Result<(), FetchError> {
    let fetcher = Fetcher::ALL
        .into_iter()
        .find(|f| f.as_str() == name)
        .ok_or_else(|| format!("no fetcher {name}"))?;
    let endpoint = TokenEndpoint::start()?;
    let clients = Clients::new(&endpoint)?;
    for _ in 0..50 {
        clients.fetch(fetcher)?;
    }
    let mut failures = 0_usize;
    measured_loop(vec![(); n], &mut |()| {
        if clients.fetch(fetcher).is_err() {
            failures += 1;
        }
    });
    if failures > 0 {
        return Err(format!("{failures} of {n} fetches failed").into());
    }
    println!("fetches={n}");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["list"] => {
            for_each_case(&mut List);
            ExitCode::SUCCESS
        }
        ["run", name, n] => {
            let Ok(n) = n.parse() else {
                eprintln!("opcount: n must be a number, not {n}");
                return ExitCode::FAILURE;
            };
            let mut visitor = Run {
                name,
                n,
                found: false,
            };
            for_each_case(&mut visitor);
            if visitor.found {
                ExitCode::SUCCESS
            } else {
                eprintln!("opcount: no case {name} (see `opcount list`)");
                ExitCode::FAILURE
            }
        }
        ["fetch", rounds, per_round] => {
            let (Ok(rounds), Ok(per_round)) = (rounds.parse(), per_round.parse()) else {
                eprintln!("opcount: rounds and k must be numbers");
                return ExitCode::FAILURE;
            };
            match fetch(rounds, per_round) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("opcount: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        ["e2e", name, n] => {
            let Ok(n) = n.parse() else {
                eprintln!("opcount: n must be a number, not {n}");
                return ExitCode::FAILURE;
            };
            match e2e(name, n) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("opcount: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        ["serve"] => match TokenEndpoint::start() {
            Ok(endpoint) => {
                println!("{}", endpoint.url());
                loop {
                    std::thread::park();
                }
            }
            Err(e) => {
                eprintln!("opcount: {e}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!(
                "usage: opcount list | run <case> <n> | fetch <rounds> <k> | e2e <fetcher> <n> | serve"
            );
            ExitCode::FAILURE
        }
    }
}
