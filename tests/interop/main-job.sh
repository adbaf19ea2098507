#!/usr/bin/env bash
# The main job: a real authorization server (oidc-provider, the OpenID Certified provider) on
# 127.0.0.1, and the grantline command against it: a client-credentials token, then the device
# flow, with a stand-in for the person approving it in a browser. Everything stays on loopback;
# the server stops when this script ends.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

echo "== installing the test server (npm, pinned) and building grantline"
tests/interop/setup.sh oidc-provider
cargo build --quiet -p grantline-cli
cargo build --quiet -p grantline-tests --features interop --example approve_device
grantline="$root/target/debug/grantline"
approve="$root/target/debug/examples/approve_device"

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
echo "== authorization server: $issuer"

export GRANTLINE_CONFIG_DIR="$work/config"
echo
echo "== grantline token client-credentials (client_secret_basic, a resource indicator)"
echo "\$ grantline --issuer $issuer --client-id basic-client token client-credentials --resource https://api.grantline.test/ --scope api:read"
GRANTLINE_CLIENT_SECRET='basic secret:+%/~!' "$grantline" --issuer "$issuer" --client-id basic-client \
  token client-credentials --resource https://api.grantline.test/ --scope api:read

echo
echo "== grantline device (the person approves on another device)"
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
