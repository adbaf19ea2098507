#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) on its committed corpus.
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# A crash stops the script with cargo-fuzz's exit code; the input is left in fuzz/artifacts/.
set -euo pipefail
seconds="${1:-60}"
cd "$(dirname "$0")"
for target in $(cargo +nightly fuzz list); do
  echo "== $target: ${seconds}s"
  # Fuzz into a scratch copy so a short run does not churn the committed seeds.
  scratch="$(mktemp -d)"
  cp -r "corpus/$target/." "$scratch/" 2>/dev/null || true
  cargo +nightly fuzz run "$target" "$scratch" -- -max_total_time="$seconds" -max_len=4096
  rm -rf "$scratch"
done
