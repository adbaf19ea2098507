#!/usr/bin/env bash
# Footprint: what a user pays in dependencies, build time and binary size.
#
#   benches/footprint.sh              # all variants: ~20-30 minutes of cold builds on 2 cores
#   benches/footprint.sh oauth2-ureq  # only the variants named
#
# For each variant, a tiny program that fetches one client-credentials token (from the URL given
# as its first argument) is generated under $FOOTPRINT_DIR (default /tmp/grantline-footprint),
# with the workspace's Cargo.lock (so the versions are the ones the benchmarks use), and:
#
# - crates: packages in its normal dependency tree (`cargo tree -e normal`, host target; build
#   scripts' and dev dependencies not counted), the program itself excluded;
# - cold build: wall time of `cargo build --release` into an empty target directory (every
#   dependency compiled; the registry already downloaded);
# - binary: size of the release binary (cargo's default release profile), and stripped.
#
# Each program is then run once against `opcount serve` (the benchmarks' loopback token endpoint)
# when `opcount` is built (`cargo build --release -p grantline-benches --bin opcount`).
#
# Results go to the table between the footprint markers of benches/README.md (the rows of
# variants not run are kept).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${FOOTPRINT_DIR:-/tmp/grantline-footprint}
mkdir -p "$work"

all=(grantline-core grantline-core-no-jose grantline-ureq grantline-reqwest oauth2-default oauth2-ureq)
if [ $# -gt 0 ]; then variants=("$@"); else variants=("${all[@]}"); fi

label() {
  case $1 in
    grantline-core) echo 'grantline (core, default features: `jose` with *ring*), requests sent by hand over `std::net`' ;;
    grantline-core-no-jose) echo 'grantline (core, `default-features = false`), requests sent by hand over `std::net`' ;;
    grantline-ureq) echo 'grantline + grantline-ureq (default features: rustls)' ;;
    grantline-reqwest) echo 'grantline + grantline-reqwest (default features: rustls) + tokio `rt`' ;;
    oauth2-default) echo 'oauth2 5, default features (`reqwest` 0.12 + `rustls-tls`) + tokio `rt`' ;;
    oauth2-ureq) echo 'oauth2 5, `default-features = false, features = ["ureq"]` (ureq 2 with its default rustls)' ;;
    *) echo "unknown variant $1" >&2; exit 1 ;;
  esac
}

deps() {
  case $1 in
    grantline-core) echo "grantline = { path = \"$repo/core\" }" ;;
    grantline-core-no-jose) echo "grantline = { path = \"$repo/core\", default-features = false }" ;;
    grantline-ureq) echo "grantline-ureq = { path = \"$repo/transport-ureq\" }" ;;
    grantline-reqwest) printf '%s\n' "grantline-reqwest = { path = \"$repo/transport-reqwest\" }" \
      'tokio = { version = "1", default-features = false, features = ["rt"] }' ;;
    oauth2-default) printf '%s\n' 'oauth2 = "5"' \
      'reqwest = { version = "0.12", default-features = false }' \
      'tokio = { version = "1", default-features = false, features = ["rt"] }' ;;
    oauth2-ureq) printf '%s\n' 'oauth2 = { version = "5", default-features = false, features = ["ureq"] }' 'ureq = "2"' ;;
  esac
}

main_rs() {
  case $1 in
    grantline-core | grantline-core-no-jose) cat <<'EOF'
//! One client-credentials token with the sans-IO core alone: the HTTP/1.1 exchange by hand.
use std::io::{BufRead, BufReader, Read, Write};
use grantline::{Client, Flow, Now, Step, grant::TokenRequest, http};

fn send(request: http::Request<Vec<u8>>) -> std::io::Result<http::Response<Vec<u8>>> {
    let uri = request.uri();
    let host = uri.authority().map_or("", |a| a.as_str()).to_owned();
    let mut stream = std::net::TcpStream::connect(&host)?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    write!(stream, "{} {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n", request.method())?;
    for (name, value) in request.headers() {
        stream.write_all(name.as_str().as_bytes())?;
        stream.write_all(b": ")?;
        stream.write_all(value.as_bytes())?;
        stream.write_all(b"\r\n")?;
    }
    write!(stream, "content-length: {}\r\n\r\n", request.body().len())?;
    stream.write_all(request.body())?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status: u16 = line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(500);
    let mut builder = http::Response::builder().status(status);
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let Some((name, value)) = line.trim_end().split_once(':') else { break };
        builder = builder.header(name.trim(), value.trim());
    }
    let mut body = Vec::new();
    reader.read_to_end(&mut body)?;
    builder.body(body).map_err(std::io::Error::other)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).ok_or("usage: tiny <token endpoint URL>")?;
    let client = Client::builder("bench-client").token_endpoint(url).client_secret_basic("s3cr3t").build()?;
    let mut flow = client.request_token(TokenRequest::client_credentials().scope("api:read"))?;
    let token = loop {
        match flow.next(Now::system())? {
            Step::Send(request) => flow.handle_response(send(request)?, Now::system())?,
            Step::Wait(duration) => std::thread::sleep(duration),
            Step::Done(token) => break token,
        }
    };
    println!("{}", token.access_token().secret().len());
    Ok(())
}
EOF
    ;;
    grantline-ureq) cat <<'EOF'
use grantline_ureq::{Transport, grantline::{Client, grant::TokenRequest}};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).ok_or("usage: tiny <token endpoint URL>")?;
    let client = Client::builder("bench-client").token_endpoint(url).client_secret_basic("s3cr3t").build()?;
    let token = Transport::new().run(client.request_token(TokenRequest::client_credentials().scope("api:read"))?)?;
    println!("{}", token.access_token().secret().len());
    Ok(())
}
EOF
    ;;
    grantline-reqwest) cat <<'EOF'
use grantline_reqwest::{Transport, grantline::{Client, grant::TokenRequest}};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).ok_or("usage: tiny <token endpoint URL>")?;
    let client = Client::builder("bench-client").token_endpoint(url).client_secret_basic("s3cr3t").build()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let token = runtime.block_on(async {
        Transport::new()?.run(client.request_token(TokenRequest::client_credentials().scope("api:read"))?).await
            .map_err(Box::<dyn std::error::Error>::from)
    })?;
    println!("{}", token.access_token().secret().len());
    Ok(())
}
EOF
    ;;
    oauth2-default) cat <<'EOF'
use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).ok_or("usage: tiny <token endpoint URL>")?;
    let client = BasicClient::new(ClientId::new("bench-client".into()))
        .set_client_secret(ClientSecret::new("s3cr3t".into()))
        .set_token_uri(TokenUrl::new(url)?);
    let http = reqwest::ClientBuilder::new().redirect(reqwest::redirect::Policy::none()).build()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let token = runtime.block_on(
        client.exchange_client_credentials().add_scope(Scope::new("api:read".into())).request_async(&http),
    )?;
    println!("{}", token.access_token().secret().len());
    Ok(())
}
EOF
    ;;
    oauth2-ureq) cat <<'EOF'
use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).ok_or("usage: tiny <token endpoint URL>")?;
    let client = BasicClient::new(ClientId::new("bench-client".into()))
        .set_client_secret(ClientSecret::new("s3cr3t".into()))
        .set_token_uri(TokenUrl::new(url)?);
    let http = ureq::AgentBuilder::new().redirects(0).build();
    let token = client.exchange_client_credentials().add_scope(Scope::new("api:read".into())).request(&http)?;
    println!("{}", token.access_token().secret().len());
    Ok(())
}
EOF
    ;;
  esac
}

# To check that each program really fetches a token (skipped when it is not built).
target=$(cd "$repo" && cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
opcount="$target/release/opcount"
results="$work/results.tsv"
touch "$results"
for variant in "${variants[@]}"; do
  dir="$work/$variant"
  rm -rf "$dir" "$work/target-$variant"
  mkdir -p "$dir/src"
  { printf '[package]\nname = "tiny"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n[workspace]\n\n[dependencies]\n'
    deps "$variant"; } >"$dir/Cargo.toml"
  main_rs "$variant" >"$dir/src/main.rs"
  cp "$repo/Cargo.lock" "$dir/Cargo.lock"
  echo "==> $variant" >&2
  (cd "$dir" && cargo fetch --quiet)
  crates=$(cd "$dir" && cargo tree -e normal --prefix none | sed 's/ (\*)$//' | sort -u | grep -vc '^tiny ')
  start=$(date +%s.%N)
  (cd "$dir" && CARGO_TARGET_DIR="$work/target-$variant" cargo build --release --quiet)
  end=$(date +%s.%N)
  seconds=$(echo "$end - $start" | bc)
  binary="$work/target-$variant/release/tiny"
  size=$(stat -c %s "$binary")
  strip -o "$binary.stripped" "$binary"
  stripped=$(stat -c %s "$binary.stripped")
  # The program must work: one token from the benchmarks' loopback token endpoint.
  if [ -x "$opcount" ]; then
    "$opcount" serve >"$work/serve.url" &
    server=$!
    for _ in $(seq 50); do [ -s "$work/serve.url" ] && break; sleep 0.1; done
    got=$("$binary" "$(cat "$work/serve.url")") || { kill "$server"; echo "$variant: the program failed" >&2; exit 1; }
    kill "$server"
    wait "$server" 2>/dev/null || true
    echo "$variant: fetched a token of $got characters" >&2
  fi
  grep -v "^$variant	" "$results" >"$results.new" || true
  printf '%s\t%s\t%.0f\t%s\t%s\n' "$variant" "$crates" "$seconds" "$size" "$stripped" >>"$results.new"
  mv "$results.new" "$results"
  printf '%s: %s crates, %.0f s, %s bytes (%s stripped)\n' "$variant" "$crates" "$seconds" "$size" "$stripped" >&2
done

# The table, in the order of `all`, from every result recorded so far.
mib() { echo "scale=2; $1 / 1048576" | bc | sed 's/^\./0./'; }
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
table=$(
  echo '<!-- footprint:begin -->'
  echo
  echo "Machine: $cpu, $(nproc) cores; $(rustc --version); $(date -u +%Y-%m-%d). Cold builds ran one after the other, on a machine shared with other builds: build times are indicative, crate counts and sizes are exact."
  echo
  echo '| program that fetches one client-credentials token | crates (normal deps) | cold release build | release binary | stripped |'
  echo '|---|---:|---:|---:|---:|'
  for variant in "${all[@]}"; do
    line=$(grep "^$variant	" "$results" || true)
    [ -n "$line" ] || continue
    IFS=$'\t' read -r _ crates seconds size stripped <<<"$line"
    echo "| $(label "$variant") | $crates | ${seconds} s | $(mib "$size") MiB | $(mib "$stripped") MiB |"
  done
  echo
  echo '<!-- footprint:end -->'
)
readme="$repo/benches/README.md"
TABLE="$table" python3 - "$readme" <<'EOF'
import os, re, sys
path = sys.argv[1]
text = open(path).read()
new = re.sub(r"<!-- footprint:begin -->.*?<!-- footprint:end -->", lambda _: os.environ["TABLE"], text, flags=re.S)
if new == text and "<!-- footprint:begin -->" not in text:
    sys.exit(f"{path} has no footprint markers")
open(path, "w").write(new)
EOF
echo "footprint: wrote $readme" >&2
