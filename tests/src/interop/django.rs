//! The django-oauth-toolkit (PyPI) test server, `tests/interop/django/serve.py`, and the person's
//! steps at its pages: the login form, the authorization (consent) form and the device pages.

use std::process::Command;
use std::sync::OnceLock;

use super::server::{Running, interop_dir, start};
use super::{Browser, Page};

/// The applications the server is started with: django-oauth-toolkit allows one grant per
/// application (refresh tokens come with the code, password and device grants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DjangoApp {
    /// Confidential, authorization code + PKCE; its secret needs form-encoding.
    Confidential,
    /// Public, authorization code + PKCE.
    Public,
    /// Confidential, client credentials.
    ClientCredentials,
    /// Confidential, the resource owner password grant.
    Password,
    /// Public, the device authorization grant.
    Device,
}

impl DjangoApp {
    fn key(self) -> &'static str {
        match self {
            DjangoApp::Confidential => "confidential",
            DjangoApp::Public => "public",
            DjangoApp::ClientCredentials => "client_credentials",
            DjangoApp::Password => "password",
            DjangoApp::Device => "device",
        }
    }
}

/// The django-oauth-toolkit test server.
#[derive(Debug)]
pub struct Django {
    running: Running,
}

impl Django {
    fn ready(&self, path: &[&str]) -> Option<&str> {
        let mut value = &self.running.ready;
        for key in path {
            value = value.get(key)?;
        }
        value.as_str()
    }

    /// Its issuer identifier (`http://127.0.0.1:PORT/o`).
    pub fn issuer(&self) -> &str {
        self.ready(&["issuer"]).unwrap_or_default()
    }

    /// The origin it listens on (`http://127.0.0.1:PORT`), where the login page is.
    pub fn origin(&self) -> &str {
        self.issuer().strip_suffix("/o").unwrap_or_default()
    }

    /// Its device authorization endpoint, which its metadata does not name.
    pub fn device_authorization_endpoint(&self) -> String {
        format!("{}/device-authorization/", self.issuer())
    }

    /// The client ID of `app`.
    pub fn client_id(&self, app: DjangoApp) -> &str {
        self.ready(&["clients", app.key(), "client_id"])
            .unwrap_or_default()
    }

    /// The plaintext secret of `app` (`None` for a public one).
    pub fn client_secret(&self, app: DjangoApp) -> Option<&str> {
        self.ready(&["clients", app.key(), "client_secret"])
    }

    /// The test user's username.
    pub fn username(&self) -> &str {
        self.ready(&["user", "username"]).unwrap_or_default()
    }

    /// The test user's password.
    pub fn password(&self) -> &str {
        self.ready(&["user", "password"]).unwrap_or_default()
    }
}

/// The django-oauth-toolkit server for this test process, started on first use.
pub fn django() -> &'static Django {
    static SERVER: OnceLock<Django> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = interop_dir().join("django");
        let python = dir.join(".venv").join("bin").join("python");
        let hint = "run tests/interop/setup.sh first (it installs the servers)";
        assert!(
            python.exists(),
            "django-oauth-toolkit is not installed in {}; {hint}",
            dir.join(".venv").display()
        );
        let mut command = Command::new(python);
        command.arg("serve.py").current_dir(&dir);
        Django {
            running: start(command, "the django-oauth-toolkit test server", hint),
        }
    })
}

/// Every `<input type="hidden">` of the page, as `(name, value)` (a missing value is empty).
fn hidden_inputs(page: &Page) -> Vec<(String, String)> {
    let mut inputs = Vec::new();
    let mut rest = page.body.as_str();
    while let Some(at) = rest.find("<input") {
        rest = &rest[at..];
        let Some(end) = rest.find('>') else { break };
        let tag = &rest[..end];
        rest = &rest[end..];
        if !tag.contains("type=\"hidden\"") {
            continue;
        }
        let name = attribute(tag, "name");
        if let Some(name) = name {
            inputs.push((name, attribute(tag, "value").unwrap_or_default()));
        }
    }
    inputs
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let at = tag.find(&marker)? + marker.len();
    let end = at + tag[at..].find('"')?;
    Some(
        tag[at..end]
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

fn form_pairs(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

impl Browser {
    /// django-oauth-toolkit: from an authorization URL, logs in as `username` (when asked),
    /// then allows (or cancels, when `allow` is false) at the authorization form, and returns
    /// the redirect back to the client (a URL starting with `redirect_prefix`).
    pub fn django_authorize(
        &mut self,
        authorization_url: &str,
        (username, password): (&str, &str),
        allow: bool,
        redirect_prefix: &str,
    ) -> String {
        let mut page = self.get(authorization_url);
        for _ in 0..4 {
            match self.follow(page, redirect_prefix) {
                Ok(callback) => return callback,
                Err(form) if is_login(&form) => page = self.django_login(&form, username, password),
                Err(form) if form.body.contains("id=\"authorizationForm\"") => {
                    let mut fields = hidden_inputs(&form);
                    if allow {
                        fields.push(("allow".to_owned(), "Authorize".to_owned()));
                    }
                    page = self.post(&form.url, &form_pairs(&fields));
                }
                Err(other) => panic!(
                    "an unexpected page at {} ({}): {}",
                    other.url, other.status, other.body
                ),
            }
        }
        panic!("the authorization did not come back to {redirect_prefix}");
    }

    /// django-oauth-toolkit's device pages: logs in as `username` (when asked), enters
    /// `user_code`, then accepts (or denies) the device.
    pub fn django_device(
        &mut self,
        verification_uri: &str,
        user_code: &str,
        (username, password): (&str, &str),
        accept: bool,
    ) {
        let mut page = self.get(verification_uri);
        page = self.settle(page);
        if is_login(&page) {
            page = self.django_login(&page, username, password);
            page = self.settle(page);
        }
        // The user code form.
        assert!(
            page.body.contains("name=\"user_code\""),
            "the device page at {} ({}): {}",
            page.url,
            page.status,
            page.body
        );
        let mut fields = hidden_inputs(&page);
        fields.push(("user_code".to_owned(), user_code.to_owned()));
        let entered = self.post(&page.url, &form_pairs(&fields));
        // It redirects to the confirmation page.
        let confirm = self.settle(entered);
        assert!(
            confirm.body.contains("name=\"action\""),
            "the device confirmation page at {} ({}): {}",
            confirm.url,
            confirm.status,
            confirm.body
        );
        let mut fields = hidden_inputs(&confirm);
        let action = if accept { "accept" } else { "deny" };
        fields.push(("action".to_owned(), action.to_owned()));
        let decided = self.post(&confirm.url, &form_pairs(&fields));
        let status = self.settle(decided);
        assert_eq!(
            status.status, 200,
            "the device status page at {}: {}",
            status.url, status.body
        );
    }

    /// django-oauth-toolkit's RP-initiated logout: from an end-session URL, confirms at its
    /// logout form and returns the redirect back to the client (a URL starting with
    /// `redirect_prefix`). The browser must hold the session that logs out.
    pub fn django_logout(&mut self, end_session_url: &str, redirect_prefix: &str) -> String {
        let page = self.get(end_session_url);
        let form = match self.follow(page, redirect_prefix) {
            Ok(redirect) => return redirect,
            Err(form) => form,
        };
        assert!(
            form.body.contains("value=\"Logout\""),
            "the logout page at {} ({}): {}",
            form.url,
            form.status,
            form.body
        );
        let mut fields = hidden_inputs(&form);
        fields.push(("allow".to_owned(), "Logout".to_owned()));
        let confirmed = self.post(&form.url, &form_pairs(&fields));
        self.follow(confirmed, redirect_prefix)
            .unwrap_or_else(|p| panic!("the logout ended at {} ({}): {}", p.url, p.status, p.body))
    }

    /// Follows redirects from `page` to a page with content.
    fn settle(&mut self, page: Page) -> Page {
        match self.follow(page, "\u{0}never") {
            Ok(_) => unreachable!("no redirect starts with NUL"),
            Err(page) => page,
        }
    }

    /// Answers django's login form at `page` and returns where it leads.
    fn django_login(&mut self, page: &Page, username: &str, password: &str) -> Page {
        let mut fields = hidden_inputs(page);
        fields.push(("username".to_owned(), username.to_owned()));
        fields.push(("password".to_owned(), password.to_owned()));
        let answered = self.post(&page.url, &form_pairs(&fields));
        assert!(
            (300..400).contains(&answered.status),
            "the login at {} was refused ({}): {}",
            page.url,
            answered.status,
            answered.body
        );
        answered
    }
}

fn is_login(page: &Page) -> bool {
    page.body.contains("id=\"loginForm\"")
}
