#!/usr/bin/env bash
# The comparison table of benches/README.md, with one command:
#
#   benches/run.sh            # about 10 minutes on 2 cores, after the first build
#
# 1. builds `opcount` and `report` (release);
# 2. times every case with criterion (`--bench compare`, `--bench e2e`);
# 3. `report` counts instructions (callgrind, N = 0 and N = 2000) and allocations per operation
#    for every case, runs the paired end-to-end rounds, reads criterion's medians, and rewrites
#    the part of benches/README.md between its results markers.
#
# Needs valgrind. Options after the command go to `report` (--n, --rounds, --k). Set
# CRITERION_ARGS to pass options to criterion (e.g. "--measurement-time 1" for a quick run).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "run.sh needs valgrind (apt-get install valgrind)" >&2; exit 1; }
target=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')

cargo build --release -p grantline-benches --bin opcount --bin report
# shellcheck disable=SC2086 # CRITERION_ARGS is split on purpose
cargo bench -p grantline-benches --bench compare -- ${CRITERION_ARGS:-}
# shellcheck disable=SC2086
cargo bench -p grantline-benches --bench e2e -- ${CRITERION_ARGS:-}
"$target/release/report" \
  --opcount "$target/release/opcount" \
  --criterion "$target/criterion" \
  --readme benches/README.md \
  "$@"
