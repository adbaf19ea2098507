#!/usr/bin/env bash
# Instructions and allocations per operation for a few cases, without the whole table:
#
#   benches/measure.sh callback/grantline callback/floor     # one line per case
#   benches/measure.sh --profile callback/grantline          # and where the instructions go
#
# Case names: `opcount list` (row/column, e.g. `authorize_url/grantline`, `discovery/floor`;
# the incumbents' parse rows are `.gross` minus `.baseline`, see README.md). Instructions are
# counted by callgrind inside `measured_loop` for N = 0 and N (default 2000, `N=500` to change),
# as `run.sh` does; allocations by the counting allocator. Needs valgrind.
#
# The binary is the one cargo builds for this checkout (found through cargo's JSON messages, not
# `target/release/opcount`), so checkouts that share a target directory do not measure each
# other's code.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "measure.sh needs valgrind (apt-get install valgrind)" >&2; exit 1; }
profile=false
if [ "${1:-}" = "--profile" ]; then profile=true; shift; fi
[ $# -gt 0 ] || { echo "usage: benches/measure.sh [--profile] <case>... (see opcount list)" >&2; exit 2; }
n=${N:-2000}

opcount=$(cargo build --release -p grantline-benches --bin opcount --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "opcount":
        print(m["executable"])')
[ -n "$opcount" ] || { cargo build --release -p grantline-benches --bin opcount; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
count() { # case n -> instructions inside measured_loop
  valgrind --tool=callgrind --toggle-collect='*measured_loop*' \
    --callgrind-out-file="$work/out.$2" "$opcount" run "$1" "$2" >"$work/stdout.$2" 2>/dev/null
  sed -n 's/^summary: *//p' "$work/out.$2"
}
for case in "$@"; do
  zero=$(count "$case" 0)
  many=$(count "$case" "$n")
  allocs=$("$opcount" run "$case" "$n")
  python3 - "$case" "$zero" "$many" "$n" "$allocs" <<'EOF'
import sys
case, zero, many, n, allocs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
f = dict(p.split("=") for p in allocs.split())
print(f"{case:40} instructions/op {(many - zero) / n:10.0f}   allocations/op {int(f['allocations']) / n:6.1f}   bytes/op {int(f['bytes']) / n:8.0f}")
EOF
  if $profile; then
    callgrind_annotate --inclusive=yes "$work/out.$n" 2>/dev/null | sed -n '1,60p' | grep -v '^--' || true
  fi
done
