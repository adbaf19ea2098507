//! What the fleet tests share: a real `redis-server` on a free loopback port (stopped on drop,
//! also on panic), a small token endpoint that counts its requests, and the replica processes
//! (`src/bin/fleet_replica.rs`) with their reports.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// A `redis-server` on 127.0.0.1, no persistence. Killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl RedisServer {
    /// Starts one on a free port and waits until it answers `PING`.
    pub fn start() -> Self {
        let mut server = Self {
            port: free_port(),
            child: None,
        };
        server.restart();
        server
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Stops it (the port stays this server's).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (Debian package redis-server; .ci/run installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.ping() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not answer PING on port {}", self.port);
    }

    fn ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let mut answer = [0; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut answer).is_ok()
            && &answer == b"+PONG\r\n"
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A token endpoint on loopback: every request gets a new `at-N` living `expires_in` seconds;
/// it counts them, with their times. Optionally it holds the first request (never answers it).
#[derive(Debug)]
pub struct TokenServer {
    port: u16,
    state: Arc<Mutex<Vec<Instant>>>,
    stop: Arc<AtomicBool>,
}

impl TokenServer {
    /// Starts it; with `hold_first`, the first request is never answered.
    pub fn start(expires_in: u64, hold_first: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (requests, stopped) = (Arc::clone(&state), Arc::clone(&stop));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let requests = Arc::clone(&requests);
                std::thread::spawn(move || serve(stream, &requests, expires_in, hold_first));
            }
        });
        Self { port, state, stop }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }

    /// When each token request arrived.
    pub fn requests(&self) -> Vec<Instant> {
        self.state.lock().unwrap().clone()
    }

    /// Waits until it has had `n` requests (at most `within`).
    pub fn wait_for(&self, n: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.requests().len() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(stream: TcpStream, requests: &Mutex<Vec<Instant>>, expires_in: u64, hold_first: bool) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(&stream);
    loop {
        // The head, then the body by its length.
        let mut length = 0;
        let mut line = String::new();
        let mut started = false;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" && started {
                break;
            }
            started = true;
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let n = {
            let mut requests = requests.lock().unwrap();
            requests.push(Instant::now());
            requests.len()
        };
        if hold_first && n == 1 {
            std::thread::sleep(Duration::from_secs(60));
            return;
        }
        let json = format!(
            r#"{{"access_token":"at-{n}","token_type":"Bearer","expires_in":{expires_in}}}"#
        );
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{json}",
            json.len()
        );
        if (&stream).write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// How a replica is run.
#[derive(Debug, Clone)]
pub struct ReplicaConfig {
    /// `ureq` or `reqwest`.
    pub mode: &'static str,
    /// Concurrent callers.
    pub callers: usize,
    /// How long they call.
    pub run_for: Duration,
    /// The fleet's lease.
    pub lease: Duration,
    /// Sealing key byte (32 times), if sealed.
    pub seal: Option<u8>,
}

/// A running replica process; killed on drop.
#[derive(Debug)]
pub struct Replica {
    child: Option<Child>,
}

/// What a replica reports when its run ends.
#[derive(Debug, Deserialize)]
pub struct Report {
    /// The tokens its callers got, each once, in order of first sight.
    pub tokens: Vec<String>,
    /// Calls that failed.
    pub errors: usize,
    /// Calls made.
    pub calls: usize,
    /// The longest call, in milliseconds.
    pub max_wait_ms: u64,
    /// `StoreEvent::Unavailable` seen.
    pub unavailable: usize,
    /// `StoreEvent::Recovered` seen.
    pub recovered: usize,
}

impl Replica {
    /// Spawns `binary` (the `fleet_replica` test binary) against `redis` and `token_url`.
    pub fn spawn(binary: &str, redis: &str, token_url: &str, config: &ReplicaConfig) -> Self {
        let mut command = Command::new(binary);
        command
            .env("FLEET_REDIS", redis)
            .env("FLEET_TOKEN_URL", token_url)
            .env("FLEET_MODE", config.mode)
            .env("FLEET_CALLERS", config.callers.to_string())
            .env("FLEET_RUN_MS", config.run_for.as_millis().to_string())
            .env("FLEET_LEASE_MS", config.lease.as_millis().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(seal) = config.seal {
            command.env("FLEET_SEAL", seal.to_string());
        }
        Self {
            child: Some(command.spawn().expect("the replica binary runs")),
        }
    }

    /// Kills it now.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits for its report.
    pub fn report(mut self) -> Report {
        let mut child = self.child.take().expect("running");
        let mut out = String::new();
        child
            .stdout
            .take()
            .expect("piped")
            .read_to_string(&mut out)
            .expect("read the report");
        let status = child.wait().expect("wait");
        assert!(status.success(), "replica failed: {status}; {out}");
        serde_json::from_str(out.trim()).expect("a report")
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}
