//! What a person sees on stderr while a flow waits for them: the device flow's code (with a QR
//! code on a terminal), and a progress line while polling.
//!
//! On a terminal the progress line is a spinner redrawn in place, with the time left. Anywhere
//! else (a pipe, a log file, a test) each poll gets one plain line, and prompts are repeated as
//! `name=value` lines that a script can parse.

use std::io::{IsTerminal as _, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use grantline::Progress;
use grantline::device::DeviceAuthorization;
use grantline::flow::PollingStatus;

use crate::jwt::human_duration;

/// Whether stderr is a terminal (a person is watching).
pub(crate) fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Prints `name=value` lines for scripts, when stderr is not a terminal.
pub(crate) fn machine_lines(lines: &[(&str, &str)]) {
    if stderr_is_terminal() {
        return;
    }
    let mut stderr = std::io::stderr().lock();
    for (name, value) in lines {
        let _ = writeln!(stderr, "{name}={value}");
    }
    let _ = stderr.flush();
}

/// Shows the device flow's code: where to go, what to type, and a QR code of the complete URI
/// on a terminal.
pub(crate) fn show_device_code(authorization: &DeviceAuthorization, qr: bool) {
    let terminal = stderr_is_terminal();
    eprintln!();
    eprintln!(
        "To sign in, open {} on any device and enter the code:",
        authorization.verification_uri()
    );
    eprintln!();
    eprintln!("    {}", authorization.user_code());
    eprintln!();
    if let Some(complete) = authorization.verification_uri_complete() {
        if terminal && qr {
            if let Some(code) = qr_code(complete) {
                eprintln!("Or scan this code, which opens {complete} with the code filled in:");
                eprintln!("{code}");
            }
        } else {
            eprintln!("Or open {complete}, which has the code filled in.");
        }
    }
    let mut lines = vec![
        ("user_code", authorization.user_code()),
        ("verification_uri", authorization.verification_uri()),
    ];
    if let Some(complete) = authorization.verification_uri_complete() {
        lines.push(("verification_uri_complete", complete));
    }
    let expires_in = authorization.expires_in().as_secs().to_string();
    lines.push(("expires_in", &expires_in));
    machine_lines(&lines);
}

/// `text` as a QR code in Unicode half blocks, light on dark as terminals usually are.
pub(crate) fn qr_code(text: &str) -> Option<String> {
    use qrcode::render::unicode::Dense1x2;
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

/// What the progress line shows.
#[derive(Debug, Default)]
struct State {
    /// When the grant expires, in real time.
    deadline: Option<Instant>,
    /// The flow's polling interval (flow time, as the server set it).
    interval: Duration,
    /// Requests sent so far.
    polls: u32,
    /// The poll whose answer was shown last.
    shown: u32,
    /// The last answer: an OAuth error code or an HTTP status.
    last: Option<String>,
}

impl State {
    /// Takes a driver event of poll number `polls`; returns the plain line to print, if any:
    /// one per poll answered, one per poll without an answer. An answer to any other request of
    /// the flow (the JWK Set it fetches to validate the ID token, after the token came) is not a
    /// poll and changes nothing.
    fn take(
        &mut self,
        polls: u32,
        interval: Duration,
        time_left: Duration,
        event: Progress,
        last: Option<String>,
    ) -> Option<String> {
        match event {
            Progress::Received(http_status) if polls != self.shown => {
                self.shown = polls;
                let last = last.unwrap_or_else(|| format!("HTTP {}", http_status.as_u16()));
                let line = format!(
                    "grantline: poll {polls}: {last}; polling every {}s; {} left",
                    interval.as_secs(),
                    human_duration(time_left)
                );
                self.last = Some(last);
                Some(line)
            }
            Progress::TransportFailed => {
                self.last = Some("no answer, backing off".to_owned());
                Some(format!(
                    "grantline: poll {polls}: no answer; backing off; {} left",
                    human_duration(time_left)
                ))
            }
            _ => None,
        }
    }
}

/// A progress line while a polling flow waits for approval.
#[derive(Debug)]
pub(crate) struct PollProgress {
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    spinner: Option<JoinHandle<()>>,
}

impl PollProgress {
    /// Starts showing progress of `what` (e.g. "waiting for approval"): a spinner on a
    /// terminal (unless `plain`), plain lines otherwise.
    pub(crate) fn start(what: &'static str, plain: bool) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let spinner = (!plain && stderr_is_terminal()).then(|| {
            let state = Arc::clone(&state);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || spin(what, &state, &stop))
        });
        if spinner.is_none() {
            eprintln!("grantline: {what}...");
        }
        Self {
            state,
            stop,
            spinner,
        }
    }

    /// Takes a driver event: `status` is the flow's, `time_left` already in real time, `last`
    /// the OAuth error code of the last answer.
    pub(crate) fn update(
        &self,
        status: &PollingStatus,
        time_left: Duration,
        event: Progress,
        last: Option<String>,
    ) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.deadline = Some(Instant::now() + time_left);
        state.interval = status.interval;
        state.polls = status.polls;
        let line = state.take(status.polls, status.interval, time_left, event, last);
        if let Some(line) = line.filter(|_| self.spinner.is_none()) {
            eprintln!("{line}");
        }
    }

    /// Stops the spinner and clears its line.
    pub(crate) fn finish(mut self) {
        self.stop_spinner();
    }

    fn stop_spinner(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(spinner) = self.spinner.take() {
            let _ = spinner.join();
            eprint!("\r\x1b[K");
        }
    }
}

impl Drop for PollProgress {
    fn drop(&mut self) {
        self.stop_spinner();
    }
}

/// The spinner thread: redraws the line ten times a second until told to stop.
fn spin(what: &str, state: &Mutex<State>, stop: &AtomicBool) {
    const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
    let mut frame = 0;
    while !stop.load(Ordering::Relaxed) {
        let line = {
            let state = state.lock().unwrap_or_else(PoisonError::into_inner);
            let mut line = format!(
                "{} {what}",
                FRAMES.get(frame % FRAMES.len()).unwrap_or(&' ')
            );
            if let Some(deadline) = state.deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                line.push_str(&format!(" · {} left", human_duration(left)));
            }
            if !state.interval.is_zero() {
                line.push_str(&format!(" · polling every {}s", state.interval.as_secs()));
            }
            if state.polls > 0 {
                let plural = if state.polls == 1 { "" } else { "s" };
                line.push_str(&format!(" · {} poll{plural}", state.polls));
            }
            if let Some(last) = &state.last {
                line.push_str(&format!(" · {last}"));
            }
            line
        };
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "\r\x1b[K{line}");
        let _ = stderr.flush();
        drop(stderr);
        frame += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_poll_not_per_request() {
        let mut state = State::default();
        let interval = Duration::from_secs(5);
        let left = Duration::from_secs(594);
        let pending = Some("authorization_pending".to_owned());
        let ok = Progress::Received(http::StatusCode::OK);
        let bad = Progress::Received(http::StatusCode::BAD_REQUEST);
        assert_eq!(
            state.take(1, interval, left, bad, pending).as_deref(),
            Some("grantline: poll 1: authorization_pending; polling every 5s; 9m 54s left")
        );
        assert_eq!(
            state
                .take(2, interval, left, Progress::TransportFailed, None)
                .as_deref(),
            Some("grantline: poll 2: no answer; backing off; 9m 54s left")
        );
        assert_eq!(
            state.take(2, interval, left, ok, None).as_deref(),
            Some("grantline: poll 2: HTTP 200; polling every 5s; 9m 54s left")
        );
        // The token came; the flow then fetches the JWK Set to validate its ID token: no poll.
        assert_eq!(state.take(2, interval, left, ok, None), None);
        assert_eq!(state.last.as_deref(), Some("HTTP 200"));
        assert_eq!(state.take(2, interval, left, Progress::Sending, None), None);
    }

    #[test]
    fn qr_codes_are_drawn() {
        let code = qr_code("https://as.example/activate?user_code=WDJB-MJHT").unwrap();
        assert!(code.lines().count() > 10);
        assert!(code.contains('█') || code.contains('▀') || code.contains('▄'));
    }
}
