//! What every CLI test shares: the command in an isolated environment (its own configuration
//! directory, secrets in a file, no proxy or grantline variable from the caller), the
//! transports this build has, a runtime for the loopback servers, and small wiremock helpers.

#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};

use assert_cmd::cargo::CommandCargoExt as _;
use wiremock::{Match, Request, ResponseTemplate};

/// A client secret with characters that Basic encoding must escape, easy to search for.
pub const SECRET: &str = "s3cr:t+%-sentinel";

/// The transports this build of the CLI has.
pub fn transports() -> Vec<&'static str> {
    let mut out = Vec::new();
    if cfg!(feature = "ureq") {
        out.push("ureq");
    }
    if cfg!(feature = "reqwest") {
        out.push("reqwest");
    }
    out
}

/// `grantline` with `config_dir` as its configuration directory and nothing inherited that
/// could change its behaviour.
pub fn grantline(config_dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("grantline").unwrap();
    isolate(cmd.env("GRANTLINE_CONFIG_DIR", config_dir));
    cmd
}

/// The same as a plain `std::process::Command`, for tests that talk to the running process.
pub fn grantline_process(config_dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("grantline").unwrap();
    cmd.env("GRANTLINE_CONFIG_DIR", config_dir);
    for name in INHERITED {
        cmd.env_remove(name);
    }
    cmd.env("GRANTLINE_SECRET_STORE", "file");
    cmd
}

const INHERITED: &[&str] = &[
    "GRANTLINE_CLIENT_ID",
    "GRANTLINE_CLIENT_SECRET",
    "GRANTLINE_PROFILE",
    "GRANTLINE_PASSWORD",
    "GRANTLINE_TIME_SCALE",
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

fn isolate(cmd: &mut assert_cmd::Command) {
    for name in INHERITED {
        cmd.env_remove(name);
    }
    cmd.env("GRANTLINE_SECRET_STORE", "file");
}

/// A runtime for the loopback servers' setup (wiremock serves from its own threads).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// A JSON response.
pub fn json(status: u16, body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/json")
        .set_body_string(body.to_string())
}

/// The standard token answer.
pub fn token_json(access_token: &str) -> ResponseTemplate {
    json(
        200,
        serde_json::json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": "rt-sentinel",
            "scope": "read",
        }),
    )
}

/// `Authorization: Basic` for `client_id` and [`SECRET`], form-encoded first (RFC 6749 §2.3.1).
pub fn basic(client_id: &str) -> String {
    use base64::Engine as _;
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            enc(client_id),
            enc(SECRET)
        ))
    )
}

/// Matches a form body holding each of these name=value pairs.
pub struct FormHas(pub Vec<(&'static str, String)>);

impl Match for FormHas {
    fn matches(&self, request: &Request) -> bool {
        let form: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        self.0
            .iter()
            .all(|(name, value)| form.iter().any(|(n, v)| n == name && v == value))
    }
}

/// Builds a [`FormHas`].
pub fn form(pairs: &[(&'static str, &str)]) -> FormHas {
    FormHas(pairs.iter().map(|(n, v)| (*n, (*v).to_owned())).collect())
}

/// Parses stdout as exactly one JSON document on one line (what a pipe gets).
pub fn one_document(stdout: &[u8]) -> serde_json::Value {
    let text = std::str::from_utf8(stdout).unwrap();
    assert!(text.ends_with('\n'), "stdout ends with a newline: {text:?}");
    assert_eq!(
        text.trim_end().lines().count(),
        1,
        "stdout is one line: {text:?}"
    );
    serde_json::from_str(text).unwrap()
}

/// Writes the client secret to a file and returns its path.
pub fn secret_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("client-secret.txt");
    std::fs::write(&path, format!("{SECRET}\n")).unwrap();
    path
}

/// Reads stderr lines until one starts with `name=`, echoing them for a failing test's log;
/// returns the value and the reader (to keep draining).
pub fn read_machine_line(
    reader: &mut std::io::BufReader<ChildStderr>,
    name: &str,
    seen: &mut String,
) -> String {
    use std::io::BufRead as _;
    let prefix = format!("{name}=");
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).unwrap();
        assert!(n > 0, "stderr ended before `{prefix}`: {seen}");
        seen.push_str(&line);
        if let Some(value) = line.trim_end().strip_prefix(&prefix) {
            return value.to_owned();
        }
    }
}

/// Spawns the command with piped stdin, stdout and stderr.
pub fn spawn(mut cmd: Command) -> Child {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A plain HTTP GET that follows no redirect (the test plays the browser): status and
/// `Location`.
pub fn browser_get(url: &str) -> (u16, Option<String>, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent.get(url).call().unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.body_mut().read_to_string().unwrap_or_default();
    (status, location, body)
}

/// An HTTP proxy on loopback that sends everything to `target`, whatever host was asked for:
/// `CONNECT` requests (ureq tunnels even plain http) get a tunnel, absolute-form requests
/// (reqwest) are passed through as they are. Returns its URL and the request lines it saw.
pub fn loopback_proxy(
    target: std::net::SocketAddr,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead as _, BufReader, Write as _};
    use std::net::{TcpListener, TcpStream};
    use std::sync::{Arc, Mutex};

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for client in listener.incoming().take(16) {
            let Ok(client) = client else { return };
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    head.push_str(&line);
                    if line == "\r\n" {
                        break;
                    }
                }
                let request_line = head.lines().next().unwrap_or_default().to_owned();
                log.lock().unwrap().push(request_line.clone());
                let mut upstream = TcpStream::connect(target).unwrap();
                let mut client_w = client;
                if request_line.starts_with("CONNECT ") {
                    client_w
                        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                        .unwrap();
                } else {
                    upstream.write_all(head.as_bytes()).unwrap();
                }
                // Whatever the reader buffered past the head goes first.
                let buffered = reader.buffer().to_vec();
                upstream.write_all(&buffered).unwrap();
                let mut up_r = upstream.try_clone().unwrap();
                let mut down_w = client_w.try_clone().unwrap();
                let down = std::thread::spawn(move || {
                    let _ = std::io::copy(&mut up_r, &mut down_w);
                    let _ = down_w.shutdown(std::net::Shutdown::Both);
                });
                let mut client_r = reader.into_inner();
                let _ = std::io::copy(&mut client_r, &mut upstream);
                let _ = upstream.shutdown(std::net::Shutdown::Write);
                let _ = down.join();
            });
        }
    });
    (url, seen)
}
