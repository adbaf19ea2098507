#!/usr/bin/env bash
# The interop suite: installs the real authorization servers (tests/interop/setup.sh), then runs
# every interop test against them through both transports. The test harness starts each server on
# 127.0.0.1 once per test binary and stops it when the tests end.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/setup.sh"
cd "$here/../.."
# One test at a time: the tests of a server log in the same user, and django-oauth-toolkit derives
# a refreshed ID token's auth_time from the user's last login, so a login in a parallel test would
# change it (grantline rightly refuses that, OpenID Connect Core §12.2).
export RUST_TEST_THREADS=1
cargo test -p grantline-tests --features interop --test 'interop_*' "$@"
# The grantline command against the same servers, with both transports.
cargo test -p grantline-cli --features _interop,reqwest --test interop "$@"
