#!/usr/bin/env bash
# The main job: a real authorization server (oidc-provider, the OpenID Certified provider) on
# 127.0.0.1, and the grantline command against it: a client-credentials token, then the device
# flow, with a stand-in for the person approving it in a browser. Everything stays on loopback;
# the server stops when this script ends.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

for tool in cargo node npm python3; do
  command -v "$tool" >/dev/null || { echo "main-job.sh needs $tool on the PATH (see README.md, Prerequisites)" >&2; exit 1; }
done

echo "== 1/4 installing the test server (oidc-provider 9.13.3 from npm, pinned; skipped once installed)"
tests/interop/setup.sh oidc-provider
echo "== 2/4 building grantline (the first build compiles about 300 crates: several minutes on 2 cores; then seconds)"
cargo build -p grantline-cli
cargo build -p grantline-tests --features interop --example approve_device
# Where cargo put them: `target/` unless CARGO_TARGET_DIR or a cargo config says otherwise.
target_dir="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
grantline="$target_dir/debug/grantline"
approve="$target_dir/debug/examples/approve_device"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The server reads its stdin until it closes: tie it to this script's life.
node tests/interop/oidc-provider/server.mjs 2>"$work/server.log" >"$work/server.out" \
  < <(while kill -0 $$ 2>/dev/null; do sleep 1; done) &
for _ in $(seq 1 100); do
  [ -s "$work/server.out" ] && break
  sleep 0.1
done
issuer="$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["issuer"])' "$work/server.out")"
echo "== 3/4 authorization server started: $issuer"

export GRANTLINE_CONFIG_DIR="$work/config"
echo
echo "== 4/4 the grantline command against it"
echo "-- grantline token client-credentials (client_secret_basic, a resource indicator)"
echo "\$ grantline --issuer $issuer --client-id basic-client token client-credentials --resource https://api.grantline.test/ --scope api:read"
GRANTLINE_CLIENT_SECRET='basic secret:+%/~!' "$grantline" --issuer "$issuer" --client-id basic-client \
  token client-credentials --resource https://api.grantline.test/ --scope api:read

echo
echo "-- grantline device (the person approves on another device)"
echo "\$ grantline --issuer $issuer --client-id public-client --auth-method none device --scope 'openid offline_access'"
"$grantline" --issuer "$issuer" --client-id public-client --auth-method none \
  device --scope "openid offline_access" --no-qr 2>"$work/device.err" >"$work/device.out" &
device=$!
for _ in $(seq 1 100); do
  grep -q '^verification_uri=' "$work/device.err" 2>/dev/null && break
  sleep 0.1
done
user_code="$(sed -n 's/^user_code=//p' "$work/device.err")"
verification="$(sed -n 's/^verification_uri=//p' "$work/device.err")"
echo "grantline: open $verification and enter $user_code"
"$approve" "$verification" "$user_code" newcomer
wait "$device"
grep '^grantline: poll' "$work/device.err" || true
cat "$work/device.out"
echo
echo "== done: two real tokens from a real authorization server"
