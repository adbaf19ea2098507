//! Starting the interop servers.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

/// How long a server may take to print its ready line.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A server process and what it said when it was ready.
#[derive(Debug)]
pub(crate) struct Running {
    _child: Child,
    /// Held open: the launcher exits when it closes.
    _stdin: ChildStdin,
    pub(crate) ready: serde_json::Value,
}

/// The interop directory: `tests/interop`.
pub(crate) fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// Runs `command` in `dir` and waits for its JSON ready line on stdout.
///
/// # Panics
///
/// When the server cannot be started or does not become ready: the interop tests cannot run.
pub(crate) fn start(mut command: Command, what: &str, setup_hint: &str) -> Running {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what} ({e}); {setup_hint}"));
    let stdin = child.stdin.take().expect("stdin is piped");
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next();
        let _ = tx.send(first);
        // Keep draining so the server never blocks on a full pipe.
        for _ in lines {}
    });
    let line = match rx.recv_timeout(START_TIMEOUT) {
        Ok(Some(Ok(line))) => line,
        other => {
            let _ = child.kill();
            panic!("{what} did not become ready ({other:?}); {setup_hint}");
        }
    };
    let ready = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("{what} printed {line:?} instead of its ready line: {e}"));
    Running {
        _child: child,
        _stdin: stdin,
        ready,
    }
}

/// The oidc-provider (npm) test server: `tests/interop/oidc-provider/server.mjs`.
#[derive(Debug)]
pub struct OidcProvider {
    running: Running,
    mtls: super::MtlsMaterial,
}

impl OidcProvider {
    /// Its issuer identifier (`http://127.0.0.1:PORT`).
    pub fn issuer(&self) -> &str {
        self.running.ready["issuer"].as_str().unwrap_or_default()
    }

    /// The resource indicator for which it issues JWT access tokens with API scopes.
    pub fn api_resource(&self) -> &str {
        self.running.ready["api_resource"]
            .as_str()
            .unwrap_or_default()
    }

    /// Approves (or denies) the pending CIBA request for `login_hint`, as the person would on
    /// their authentication device.
    pub fn decide_ciba(&self, login_hint: &str, client_id: &str, approve: bool) {
        let action = if approve { "approve" } else { "deny" };
        let mut url = url::Url::parse(&format!("{}/__test/ciba/{action}", self.issuer()))
            .expect("the issuer is a URL");
        url.query_pairs_mut()
            .append_pair("login_hint", login_hint)
            .append_pair("client_id", client_id)
            .append_pair("scope", "openid");
        let response = Browser::new().get(url.as_str());
        assert_eq!(response.status, 200, "CIBA {action}: {}", response.body);
    }
}

impl OidcProvider {
    /// The TLS material of its mTLS endpoints (RFC 8705): the CA to trust, and the client
    /// certificates of `mtls-pki-client` (`tls_client_auth`, subject
    /// [`PKI_CLIENT_SUBJECT`](super::PKI_CLIENT_SUBJECT)) and `mtls-self-signed-client`
    /// (`self_signed_tls_client_auth`), both with certificate-bound access tokens, and a
    /// stranger's.
    pub fn mtls(&self) -> &super::MtlsMaterial {
        &self.mtls
    }

    /// The origin of its mTLS endpoints (`https://127.0.0.1:PORT`), which its metadata names in
    /// `mtls_endpoint_aliases`.
    pub fn mtls_origin(&self) -> &str {
        self.running.ready["mtls_origin"]
            .as_str()
            .unwrap_or_default()
    }

    /// Rotates the server's signing key: a new key signs from now on, the old ones stay
    /// published. Returns the new key's `kid`.
    pub fn rotate_keys(&self) -> String {
        let response = Browser::new().get(&format!("{}/__test/rotate-keys", self.issuer()));
        assert_eq!(response.status, 200, "key rotation: {}", response.body);
        let answer: serde_json::Value =
            serde_json::from_str(&response.body).expect("the rotation answers JSON");
        answer["kid"].as_str().unwrap_or_default().to_owned()
    }
}

use super::Browser;

/// The oidc-provider server for this test process, started on first use.
pub fn oidc_provider() -> &'static OidcProvider {
    static SERVER: OnceLock<OidcProvider> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = interop_dir().join("oidc-provider");
        let hint = "run tests/interop/setup.sh first (it installs the servers)";
        assert!(
            dir.join("node_modules").join("oidc-provider").exists(),
            "oidc-provider is not installed in {}; {hint}",
            dir.display()
        );
        let mtls = super::MtlsMaterial::generate();
        let mut command = Command::new("node");
        command
            .arg("server.mjs")
            .current_dir(&dir)
            .env("GRANTLINE_MTLS", mtls.server_json());
        OidcProvider {
            running: start(command, "the oidc-provider test server", hint),
            mtls,
        }
    })
}

/// The FAPI 2.0 oidc-provider test server: `tests/interop/oidc-provider/fapi-server.mjs` (the
/// FAPI 2.0 profile, JARM and JWT introspection on; one client, `fapi-client`).
#[derive(Debug)]
pub struct FapiProvider {
    running: Running,
}

impl FapiProvider {
    /// Its issuer identifier (`http://127.0.0.1:PORT`).
    pub fn issuer(&self) -> &str {
        self.running.ready["issuer"].as_str().unwrap_or_default()
    }

    /// The base URL of its https listener that asks for a client certificate (the mTLS
    /// endpoint aliases of its metadata point there).
    pub fn mtls_base(&self) -> &str {
        self.running.ready["mtls"].as_str().unwrap_or_default()
    }
}

/// The FAPI 2.0 oidc-provider server for this test process, started on first use, the way
/// [`oidc_provider`] starts the plain one.
pub fn oidc_provider_fapi() -> &'static FapiProvider {
    static SERVER: OnceLock<FapiProvider> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = interop_dir().join("oidc-provider");
        let hint = "run tests/interop/setup.sh first (it installs the servers)";
        assert!(
            dir.join("node_modules").join("oidc-provider").exists(),
            "oidc-provider is not installed in {}; {hint}",
            dir.display()
        );
        let mut command = Command::new("node");
        command.arg("fapi-server.mjs").current_dir(&dir);
        FapiProvider {
            running: start(command, "the oidc-provider FAPI 2.0 test server", hint),
        }
    })
}
