//! Makes the comparison table of `benches/README.md`: `run.sh` builds everything, runs the
//! criterion benches, then runs this.
//!
//! ```text
//! report --opcount <path> --criterion <dir> --readme <path> [--n 2000] [--rounds 15 --k 200]
//!        [--fetches 300]
//! ```
//!
//! For every case of `grantline_benches::compare` it runs `opcount` under
//! `valgrind --tool=callgrind` for 0 and N operations (instructions per operation: the
//! difference over N), then natively (allocations and bytes per operation); it reads criterion's
//! medians from `<criterion>/<row>/<column>/new/estimates.json` and `<criterion>/e2e/...`, runs
//! `opcount fetch` for the paired end-to-end ratios and `opcount e2e` under callgrind for the
//! client's instructions per fetch, and writes the tables between
//! `<!-- results:begin -->` and `<!-- results:end -->` in the README.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use grantline_benches::compare::{CaseId, Column, Kind, ROWS, Visitor, for_each_case};
use grantline_benches::e2e::Fetcher;

type Error = Box<dyn std::error::Error>;

const BEGIN: &str = "<!-- results:begin -->";
const END: &str = "<!-- results:end -->";

struct Options {
    opcount: PathBuf,
    criterion: PathBuf,
    readme: PathBuf,
    n: u64,
    rounds: u32,
    k: u32,
    fetches: u64,
}

impl Options {
    fn parse() -> Result<Self, Error> {
        let mut options = Options {
            opcount: PathBuf::new(),
            criterion: PathBuf::new(),
            readme: PathBuf::new(),
            n: 2000,
            rounds: 15,
            k: 200,
            fetches: 300,
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let value = args.next().ok_or(format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--opcount" => options.opcount = value.into(),
                "--criterion" => options.criterion = value.into(),
                "--readme" => options.readme = value.into(),
                "--n" => options.n = value.parse()?,
                "--rounds" => options.rounds = value.parse()?,
                "--k" => options.k = value.parse()?,
                "--fetches" => options.fetches = value.parse()?,
                _ => return Err(format!("unknown option {flag}").into()),
            }
        }
        for (name, path) in [
            ("--opcount", &options.opcount),
            ("--criterion", &options.criterion),
            ("--readme", &options.readme),
        ] {
            if path.as_os_str().is_empty() {
                return Err(format!("{name} is required").into());
            }
        }
        Ok(options)
    }
}

/// What one case costs per operation.
#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    instructions: f64,
    allocations: f64,
    bytes: f64,
    /// Criterion's median, in nanoseconds, if the bench ran.
    nanos: Option<f64>,
}

impl std::ops::Sub for Figures {
    type Output = Figures;

    fn sub(self, base: Figures) -> Figures {
        Figures {
            instructions: self.instructions - base.instructions,
            allocations: self.allocations - base.allocations,
            bytes: self.bytes - base.bytes,
            nanos: self.nanos.zip(base.nanos).map(|(a, b)| a - b),
        }
    }
}

struct Cases(Vec<CaseId>);

impl Visitor for Cases {
    fn case<I, O>(&mut self, id: CaseId, _: impl FnMut() -> I, _: impl FnMut(I) -> O) {
        self.0.push(id);
    }
}

fn output(command: &mut Command) -> Result<String, Error> {
    let out = command.output()?;
    if !out.status.success() {
        return Err(format!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// `key=value` pairs of a line.
fn fields(line: &str) -> HashMap<&str, &str> {
    line.split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .collect()
}

fn number(map: &HashMap<&str, &str>, key: &str) -> Result<f64, Error> {
    Ok(map.get(key).ok_or(format!("no {key}"))?.parse()?)
}

/// Instructions callgrind counted inside `measured_loop` for `n` operations.
fn instructions(options: &Options, case: &str, n: u64) -> Result<f64, Error> {
    let out = std::env::temp_dir().join(format!(
        "opcount-{}-{}-{n}.callgrind",
        std::process::id(),
        case.replace('/', "-")
    ));
    output(
        Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg("--toggle-collect=*measured_loop*")
            .arg(format!("--callgrind-out-file={}", out.display()))
            .arg(&options.opcount)
            .args(["run", case, &n.to_string()]),
    )?;
    let text = std::fs::read_to_string(&out)?;
    std::fs::remove_file(&out)?;
    let total = text
        .lines()
        .find_map(|line| line.strip_prefix("summary:"))
        .ok_or("callgrind wrote no summary")?;
    Ok(total.trim().parse()?)
}

/// Instructions the client (the main thread: the token endpoint has a thread of its own) makes
/// per token fetch with `fetcher`, inside `measured_loop`: the difference of 0 and `n` fetches.
fn fetch_instructions(options: &Options, fetcher: Fetcher, n: u64) -> Result<f64, Error> {
    let mut totals = [0.0; 2];
    for (total, count) in totals.iter_mut().zip([0, n]) {
        let name = format!(
            "opcount-{}-e2e-{}-{count}.callgrind",
            std::process::id(),
            fetcher.as_str()
        );
        let out = std::env::temp_dir().join(&name);
        output(
            Command::new("valgrind")
                .arg("--tool=callgrind")
                .arg("--separate-threads=yes")
                .arg("--toggle-collect=*measured_loop*")
                .arg(format!("--callgrind-out-file={}", out.display()))
                .arg(&options.opcount)
                .args(["e2e", fetcher.as_str(), &count.to_string()]),
        )?;
        // One file per thread: `<name>-01` is the main thread's.
        let main_thread = std::env::temp_dir().join(format!("{name}-01"));
        let text = std::fs::read_to_string(&main_thread)?;
        *total = text
            .lines()
            .find_map(|line| line.strip_prefix("summary:"))
            .ok_or("callgrind wrote no summary")?
            .trim()
            .parse()?;
        for entry in std::fs::read_dir(std::env::temp_dir())? {
            let path = entry?.path();
            if path
                .file_name()
                .and_then(|f| f.to_str())
                .is_some_and(|f| f.starts_with(&name))
            {
                std::fs::remove_file(path)?;
            }
        }
    }
    let [zero, many] = totals;
    Ok((many - zero) / n as f64)
}

/// Criterion's median for a bench, in nanoseconds.
fn criterion_median(dir: &Path, group: &str, bench: &str) -> Option<f64> {
    let text =
        std::fs::read_to_string(dir.join(group).join(bench).join("new/estimates.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.get("median")?.get("point_estimate")?.as_f64()
}

fn measure(options: &Options, id: &CaseId) -> Result<Figures, Error> {
    let name = id.name();
    let n = options.n;
    let zero = instructions(options, &name, 0)?;
    let many = instructions(options, &name, n)?;
    let native = output(Command::new(&options.opcount).args(["run", &name, &n.to_string()]))?;
    let map = fields(native.trim());
    let per = |key| number(&map, key).map(|v| v / n as f64);
    Ok(Figures {
        instructions: (many - zero) / n as f64,
        allocations: per("allocations")?,
        bytes: per("bytes")?,
        nanos: criterion_median(&options.criterion, id.row, &id.bench_name()),
    })
}

/// Every case, measured: two at a time (callgrind runs are long and the counts do not depend on
/// load).
fn measure_all(options: &Options, cases: &[CaseId]) -> Result<HashMap<CaseId, Figures>, Error> {
    let (first, second) = cases.split_at(cases.len() / 2);
    let run = |half: &[CaseId]| -> Result<Vec<(CaseId, Figures)>, String> {
        half.iter()
            .map(|id| {
                eprintln!("report: counting {}", id.name());
                measure(options, id)
                    .map(|f| (*id, f))
                    .map_err(|e| format!("{}: {e}", id.name()))
            })
            .collect()
    };
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| run(first));
        let b = run(second);
        (a.join(), b)
    });
    let a = a.map_err(|_| "a measuring thread panicked")?;
    Ok(a?.into_iter().chain(b?).collect())
}

/// The figures of a row and column: the direct case, or gross minus baseline.
fn cell(all: &HashMap<CaseId, Figures>, row: &'static str, column: Column) -> Option<Figures> {
    let get = |kind| all.get(&CaseId { row, column, kind }).copied();
    get(Kind::Direct).or_else(|| Some(get(Kind::Gross)? - get(Kind::Baseline)?))
}

fn thousands(value: f64) -> String {
    let whole = value.round() as i64;
    let digits = whole.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    if whole < 0 { format!("-{out}") } else { out }
}

fn ratio(value: f64, base: f64) -> String {
    format!("{:.2}x", value / base)
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim())
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(String::new(), |kb| {
            format!(", {} GiB RAM", (kb + 512 * 1024) / 1024 / 1024)
        });
    let run = |program: &str, args: &[&str]| {
        output(Command::new(program).args(args))
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| "?".to_owned())
    };
    format!(
        "{model}, {cores} cores{memory}; {}; {}; {}; grantline at {}{}; {}",
        run("uname", &["-sr"]),
        run("rustc", &["--version"]),
        run("valgrind", &["--version"]),
        run("git", &["rev-parse", "--short", "HEAD"]),
        if run("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty() {
            ""
        } else {
            " (with local changes)"
        },
        run("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
    )
}

fn table(all: &HashMap<CaseId, Figures>, options: &Options) -> String {
    let mut md = String::new();
    let columns = ["grantline", "oauth2-rs 5", "openidconnect-rs 4", "floor"];
    let cells = |row: &'static str| Column::ALL.map(|c| cell(all, row, c));

    let _ = writeln!(
        md,
        "### Instructions per operation (callgrind, N = 0 and N = {}), and ratio to the floor\n",
        options.n
    );
    let _ = writeln!(
        md,
        "| operation | {} | grantline ÷ oauth2-rs | grantline ÷ openidconnect-rs | bar: ≤ 1.3x floor, ≤ oauth2-rs, ≤ openidconnect-rs (ID token, discovery) |",
        columns.join(" | ")
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|:---:|");
    for row in ROWS {
        let c = cells(row.id);
        let [g, o, oidc, floor] = c;
        let floor_i = floor.map(|f| f.instructions);
        let show = |f: Option<Figures>| match (f, floor_i) {
            (Some(f), Some(base)) => {
                format!(
                    "{} ({})",
                    thousands(f.instructions),
                    ratio(f.instructions, base)
                )
            }
            (Some(f), None) => thousands(f.instructions),
            (None, _) => "—".to_owned(),
        };
        let versus = |other: Option<Figures>| match (g, other) {
            (Some(g), Some(o)) => ratio(g.instructions, o.instructions),
            _ => "—".to_owned(),
        };
        // Issue 18's bar: at most 1.3x the floor, at most oauth2-rs where it has the row, and at
        // most openidconnect-rs on the ID token and discovery rows.
        let oidc_row = matches!(
            row.id,
            "token_id_token" | "discovery" | "discovery_keycloak"
        );
        let at_most = |other: Option<Figures>, g: Figures| {
            other.is_none_or(|other| g.instructions <= other.instructions)
        };
        let bar = match (g, floor_i) {
            (Some(g), Some(base))
                if g.instructions <= 1.3 * base
                    && at_most(o, g)
                    && (!oidc_row || at_most(oidc, g)) =>
            {
                "✓"
            }
            (Some(_), Some(_)) => "✗",
            _ => "—",
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {bar} |",
            row.label,
            show(g),
            show(o),
            show(oidc),
            show(floor),
            versus(o),
            versus(oidc)
        );
    }

    let _ = writeln!(
        md,
        "\n### Heap allocations per operation (bytes requested in parentheses)\n"
    );
    let _ = writeln!(
        md,
        "| operation | {} | grantline − floor |",
        columns.join(" | ")
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|");
    for row in ROWS {
        let [g, o, oidc, floor] = cells(row.id);
        let show = |f: Option<Figures>| {
            f.map_or("—".to_owned(), |f| {
                format!("{:.1} ({})", f.allocations, thousands(f.bytes))
            })
        };
        let over = match (g, floor) {
            (Some(g), Some(f)) => format!("{:+.1}", g.allocations - f.allocations),
            _ => "—".to_owned(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {over} |",
            row.label,
            show(g),
            show(o),
            show(oidc),
            show(floor)
        );
    }

    let _ = writeln!(
        md,
        "\n### Time (criterion median, one run), as a ratio to the floor\n"
    );
    let _ = writeln!(
        md,
        "| operation | {} | grantline ÷ oauth2-rs | grantline ÷ openidconnect-rs |",
        columns.join(" | ")
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|");
    for row in ROWS {
        let [g, o, oidc, floor] = cells(row.id).map(|c| c.and_then(|f| f.nanos));
        let show = |t: Option<f64>| match (t, floor) {
            (Some(t), Some(base)) if t == base => format!("1.00x ({:.2} µs)", base / 1000.0),
            (Some(t), Some(base)) => ratio(t, base),
            _ => "—".to_owned(),
        };
        let versus = |other: Option<f64>| match (g, other) {
            (Some(g), Some(o)) => ratio(g, o),
            _ => "—".to_owned(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.label,
            show(g),
            show(o),
            show(oidc),
            show(floor),
            versus(o),
            versus(oidc)
        );
    }
    md
}

fn e2e_table(
    options: &Options,
    paired: &HashMap<String, (f64, f64)>,
    instructions: &HashMap<Fetcher, f64>,
) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "\n### End to end: client-credentials token fetches on loopback\n\n\
         Paired: {} rounds; in each, every fetcher makes {} fetches in turn (rotating order), and \
         its time is divided by its bare transport's in the same round; the median over rounds is \
         shown. Criterion: the median of `benches/e2e.rs`, one bench after the other. Client \
         instructions: callgrind, the main thread only (the token endpoint runs on its own \
         thread; the kernel's work is not counted), N = 0 and N = {} fetches.\n",
        options.rounds, options.k, options.fetches
    );
    let _ = writeln!(
        md,
        "| transport | client | fetches/s (paired) | speed ÷ bare transport (paired) | speed ÷ bare transport (criterion) | client instructions per fetch (÷ bare transport) |"
    );
    let _ = writeln!(md, "|---|---|---:|---:|---:|---:|");
    for fetcher in Fetcher::ALL {
        let name = fetcher.as_str();
        let (transport, client) = match fetcher {
            Fetcher::GrantlineUreq => ("ureq 3", "grantline-ureq"),
            Fetcher::FloorUreq3 => ("ureq 3", "bare ureq 3 + serde_json (floor)"),
            Fetcher::Oauth2Ureq => ("ureq 2", "oauth2-rs `ureq` feature"),
            Fetcher::FloorUreq2 => ("ureq 2", "bare ureq 2 + serde_json (floor)"),
            Fetcher::GrantlineReqwest => ("reqwest 0.13", "grantline-reqwest"),
            Fetcher::FloorReqwest013 => ("reqwest 0.13", "bare reqwest 0.13 + serde_json (floor)"),
            Fetcher::Oauth2Reqwest => ("reqwest 0.12", "oauth2-rs `reqwest` feature"),
            Fetcher::FloorReqwest012 => ("reqwest 0.12", "bare reqwest 0.12 + serde_json (floor)"),
        };
        let (fetches, paired_ratio) = paired
            .get(name)
            .map_or(("—".to_owned(), "—".to_owned()), |(ns, r)| {
                (thousands(1e9 / ns), format!("{:.3}x", 1.0 / r))
            });
        let criterion = criterion_median(&options.criterion, "e2e", name)
            .zip(criterion_median(
                &options.criterion,
                "e2e",
                fetcher.floor().as_str(),
            ))
            .map_or("—".to_owned(), |(t, base)| format!("{:.3}x", base / t));
        let counted = instructions
            .get(&fetcher)
            .zip(instructions.get(&fetcher.floor()))
            .map_or("—".to_owned(), |(i, base)| {
                format!("{} ({})", thousands(*i), ratio(*i, *base))
            });
        let _ = writeln!(
            md,
            "| {transport} | {client} | {fetches} | {paired_ratio} | {criterion} | {counted} |"
        );
    }
    md
}

fn paired_e2e(options: &Options) -> Result<HashMap<String, (f64, f64)>, Error> {
    eprintln!("report: end to end, paired rounds");
    let text = output(Command::new(&options.opcount).args([
        "fetch",
        &options.rounds.to_string(),
        &options.k.to_string(),
    ]))?;
    let mut out = HashMap::new();
    for line in text.lines() {
        let map = fields(line);
        let name = (*map.get("fetcher").ok_or("no fetcher")?).to_owned();
        out.insert(name, (number(&map, "ns")?, number(&map, "ratio")?));
    }
    Ok(out)
}

fn run() -> Result<(), Error> {
    let options = Options::parse()?;
    let readme = std::fs::read_to_string(&options.readme)?;
    let (before, rest) = readme
        .split_once(BEGIN)
        .ok_or(format!("{} has no {BEGIN}", options.readme.display()))?;
    let (_, after) = rest
        .split_once(END)
        .ok_or(format!("{} has no {END}", options.readme.display()))?;

    let mut cases = Cases(Vec::new());
    for_each_case(&mut cases);
    let all = measure_all(&options, &cases.0)?;
    let paired = paired_e2e(&options)?;
    let mut fetch_counts = HashMap::new();
    for fetcher in Fetcher::ALL {
        eprintln!("report: counting end to end, {}", fetcher.as_str());
        fetch_counts.insert(
            fetcher,
            fetch_instructions(&options, fetcher, options.fetches)?,
        );
    }

    let mut md = String::new();
    let _ = writeln!(md, "{BEGIN}\n");
    let _ = writeln!(md, "Machine: {}.\n", machine());
    md.push_str(&table(&all, &options));
    md.push_str(&e2e_table(&options, &paired, &fetch_counts));
    let _ = write!(md, "\n{END}");
    std::fs::write(&options.readme, format!("{before}{md}{after}"))?;
    eprintln!("report: wrote {}", options.readme.display());
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("report: {e}");
            ExitCode::FAILURE
        }
    }
}
