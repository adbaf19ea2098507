#!/usr/bin/env bash
# `cargo deny check` against the offline RustSec snapshot in ../shared/advisory-db/ (CI reaches no
# git host, so cargo-deny cannot fetch the database). See ../shared/advisory-db/SNAPSHOT.md.
set -euo pipefail
cd "$(dirname "$0")/.."
snapshot="${ADVISORY_DB:-../shared/advisory-db}"
command -v cargo-deny >/dev/null || cargo install cargo-deny --locked --version 0.20.2 --quiet
# cargo-deny looks for a git clone of the default database under this name in db-path.
db="target/advisory-dbs/advisory-db-3157b0e258782691"
rm -rf "$db"
mkdir -p "$(dirname "$db")"
cp -r "$snapshot" "$db"
git -C "$db" init -q
git -C "$db" add -A
git -C "$db" -c user.name=ci -c user.email=ci@localhost commit -qm snapshot
# `--offline` keeps cargo-deny from fetching the database, and also keeps its `cargo metadata`
# from downloading crates: on a fresh machine, fetch every crate of the lock file first
# (crates.io is reachable; optional and other-platform crates are in the graph cargo-deny reads).
cargo fetch --locked --quiet
cargo deny --offline check "$@"
