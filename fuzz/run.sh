#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) on its committed corpus.
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# A crash stops the script with cargo-fuzz's exit code; the input is left in fuzz/artifacts/.
set -euo pipefail
seconds="${1:-60}"
cd "$(dirname "$0")"
# One build for every target first, so each run below starts at once.
cargo +nightly fuzz build
for target in $(cargo +nightly fuzz list); do
  echo "== $target: ${seconds}s"
  # Fuzz into a scratch copy so a short run does not churn the committed seeds.
  scratch="$(mktemp -d)"
  cp -r "corpus/$target/." "$scratch/" 2>/dev/null || true
  log="$scratch.log"
  status=0
  cargo +nightly fuzz run "$target" "$scratch" -- -max_total_time="$seconds" -max_len=4096 >"$log" 2>&1 || status=$?
  grep -E '^(#[0-9]+ +DONE|Done )' "$log" || true
  if [ "$status" -ne 0 ]; then
    echo "fuzz target $target failed (exit $status); the input is in fuzz/artifacts/$target/:"
    tail -n 60 "$log"
    rm -rf "$scratch" "$log"
    exit 1
  fi
  rm -f "$log"
  rm -rf "$scratch"
done
