#!/usr/bin/env bash
# Hunts flaky tests: runs every test step of .ci/run (the workspace tests, the secret sentinel over
# the tracing output, the CLI's tests with both transports, the interop suite against the real
# servers) N times in a row (default 5),
# and stops at the first failure with its log. Run it on a clean clone after one full .ci/run
# (which installs the servers and builds everything):
#
#   .ci/repeat-tests.sh 5
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
logs="$(mktemp -d)"
for i in $(seq 1 "$runs"); do
  log="$logs/run-$i.log"
  start=$(date +%s)
  if ! {
    cargo test --workspace &&
      cargo test -p grantline-tests --features tracing --test tracing_sentinel &&
      cargo test -p grantline-cli --features reqwest &&
      tests/interop/run.sh
  } >"$log" 2>&1; then
    echo "run $i of $runs FAILED after $(($(date +%s) - start)) s; its log: $log"
    grep -E '^(test .* FAILED|---- |failures:|thread .* panicked)' "$log" | head -n 40 || true
    exit 1
  fi
  passed=$(grep -oE 'test result: ok\. [0-9]+ passed' "$log" | awk '{s += $4} END {print s}')
  echo "run $i of $runs passed in $(($(date +%s) - start)) s ($passed tests)"
done
echo "all $runs runs passed; logs in $logs"
