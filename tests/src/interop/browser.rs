//! A minimal browser for driving login, consent and device pages over plain HTTP: a cookie jar,
//! manual redirects, and form posts. It is not the system under test (that is grantline), so it
//! uses ureq directly.

use std::collections::BTreeMap;

/// What a page answered.
#[derive(Debug)]
pub struct Page {
    /// The HTTP status.
    pub status: u16,
    /// The `Location` header, resolved against the request URL.
    pub location: Option<String>,
    /// The body, as text.
    pub body: String,
    /// The URL that was requested.
    pub url: String,
}

impl Page {
    /// The `value` of the form input named `name` (hidden inputs like `xsrf`).
    pub fn input(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\"");
        let at = self.body.find(&marker)?;
        // The input element around the name.
        let start = self.body[..at].rfind('<')?;
        let end = at + self.body[at..].find('>')?;
        let tag = &self.body[start..end];
        let value_at = tag.find("value=\"")? + "value=\"".len();
        let value_end = value_at + tag[value_at..].find('"')?;
        Some(html_unescape(&tag[value_at..value_end]))
    }
}

fn html_unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A cookie jar and an HTTP agent that follows no redirect on its own.
#[derive(Debug)]
pub struct Browser {
    agent: ureq::Agent,
    cookies: BTreeMap<String, String>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    /// A browser with an empty cookie jar.
    pub fn new() -> Self {
        let agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .proxy(None)
            .build()
            .new_agent();
        Self {
            agent,
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn finish(&mut self, url: &str, response: http::Response<ureq::Body>) -> Page {
        for value in response.headers().get_all("set-cookie") {
            let Ok(value) = value.to_str() else { continue };
            let pair = value.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() || value.contains("expires=Thu, 01 Jan 1970") {
                    self.cookies.remove(name.trim());
                } else {
                    self.cookies
                        .insert(name.trim().to_owned(), value.trim().to_owned());
                }
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .and_then(|l| url::Url::parse(url).ok()?.join(l).ok())
            .map(|u| u.to_string());
        let body = response.into_body().read_to_string().unwrap_or_default();
        Page {
            status,
            location,
            body,
            url: url.to_owned(),
        }
    }

    /// `GET url`.
    pub fn get(&mut self, url: &str) -> Page {
        let response = self
            .agent
            .get(url)
            .header("cookie", &self.cookie_header())
            .call()
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        self.finish(url, response)
    }

    /// `POST url` with a form.
    pub fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let response = self
            .agent
            .post(url)
            .header("cookie", &self.cookie_header())
            .send_form(form.iter().copied())
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        self.finish(url, response)
    }

    /// Follows redirects from `page` until one leaves for `stop_prefix` (returned) or a page
    /// with content is reached (returned as `Err`).
    pub fn follow(&mut self, mut page: Page, stop_prefix: &str) -> Result<String, Page> {
        for _ in 0..20 {
            match page.location.clone() {
                Some(location) if location.starts_with(stop_prefix) => return Ok(location),
                Some(location) if (300..400).contains(&page.status) => page = self.get(&location),
                _ => return Err(page),
            }
        }
        Err(page)
    }

    /// oidc-provider's development interactions: from an authorization URL, logs in as `login`,
    /// consents, and returns the redirect back to the client (a URL starting with
    /// `redirect_prefix`).
    pub fn oidc_provider_authorize(
        &mut self,
        authorization_url: &str,
        login: &str,
        redirect_prefix: &str,
    ) -> String {
        let mut page = self.get(authorization_url);
        for _ in 0..6 {
            match self.follow(page, redirect_prefix) {
                Ok(callback) => return callback,
                Err(form) => page = self.oidc_provider_interaction(form, login),
            }
        }
        panic!("the authorization did not come back to {redirect_prefix}");
    }

    /// Answers one oidc-provider interaction page (login or consent).
    fn oidc_provider_interaction(&mut self, page: Page, login: &str) -> Page {
        assert_eq!(
            page.status, 200,
            "an interaction page at {}: {}",
            page.url, page.body
        );
        if page.body.contains("name=\"login\"") {
            self.post(
                &page.url,
                &[("prompt", "login"), ("login", login), ("password", "x")],
            )
        } else {
            self.post(&page.url, &[("prompt", "consent")])
        }
    }

    /// oidc-provider's device pages: enters `user_code`, confirms, logs in as `login` and
    /// consents.
    pub fn oidc_provider_device(&mut self, verification_uri: &str, user_code: &str, login: &str) {
        let page = self.get(verification_uri);
        let xsrf = page
            .input("xsrf")
            .expect("the device page has an xsrf field");
        let page = self.post(
            verification_uri,
            &[("xsrf", &xsrf), ("user_code", user_code)],
        );
        let xsrf = page
            .input("xsrf")
            .expect("the confirm page has an xsrf field");
        let mut page = self.post(
            verification_uri,
            &[
                ("xsrf", &xsrf),
                ("user_code", user_code),
                ("confirm", "yes"),
            ],
        );
        for _ in 0..6 {
            match self.follow(page, "\u{0}never") {
                Ok(_) => unreachable!("no stop prefix matches"),
                Err(p) if p.body.contains("Sign-in Success") => return,
                Err(p) => page = self.oidc_provider_interaction(p, login),
            }
        }
        panic!("the device approval did not finish");
    }
}
