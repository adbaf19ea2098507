#!/usr/bin/env bash
# One long fuzzing campaign: every target for a number of executions, the results printed as
# the rows of the table in fuzz/README.md ("Campaigns").
#
#   fuzz/campaign.sh                 # 10^8 executions in all, split evenly over the targets
#   fuzz/campaign.sh 20000000        # a total of your choice
#   fuzz/campaign.sh 100000000 jwks  # only these targets, each with its share of the total
#
# Each target runs on a scratch copy of its committed corpus (the seeds stay as they are), one
# process at a time, at low priority. A crash does not stop the campaign: its row says so and
# the input is kept in fuzz/artifacts/<target>/; fix it, add the input to the target's corpus,
# and run that target again. Needs the nightly toolchain and cargo-fuzz, like run.sh.
#
# The campaign builds without AddressSanitizer (`--sanitizer none`): every crate of ours forbids
# `unsafe`, so what ASan adds is checks on dependencies' unsafe code, at several times the cost per
# execution; the CI smoke run (run.sh) keeps ASan on. Panics, overflows (debug assertions stay on)
# and timeouts are found either way.
set -euo pipefail
total="${1:-100000000}"
shift || true
cd "$(dirname "$0")"
cargo +nightly fuzz build --sanitizer none
all=$(cargo +nightly fuzz list)
count=$(printf '%s\n' "$all" | wc -l)
targets="${*:-$all}"
per_target=$(( (total + count - 1) / count ))
echo "| date | target | executions | seconds | crashes | coverage (edges) |"
echo "|---|---|---:|---:|---:|---:|"
sum=0
for target in $targets; do
  scratch="$(mktemp -d)"
  cp -r "corpus/$target/." "$scratch/" 2>/dev/null || true
  log="$scratch.log"
  status=0
  nice -n 10 cargo +nightly fuzz run --sanitizer none "$target" "$scratch" -- \
    -runs="$per_target" -max_len=4096 -print_final_stats=1 >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  seconds=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
  crashes=0
  if [ "$status" -ne 0 ]; then
    crashes=1
    echo "fuzz target $target crashed (exit $status); the input is in fuzz/artifacts/$target/:" >&2
    tail -n 40 "$log" >&2
  fi
  sum=$(( sum + ${runs:-0} ))
  echo "| $(date -u +%Y-%m-%d) | $target | ${runs:-?} | ${seconds:-?} | $crashes | ${cov:-?} |"
  rm -rf "$scratch" "$log"
done
echo "| | **all targets** | **$sum** | | | |"
