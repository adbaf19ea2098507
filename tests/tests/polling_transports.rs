//! The device and CIBA polling flows through both transports, against a loopback mock server
//! that records when each request arrives, so the interval rules are checked from the server's
//! side. Time runs 50 times faster on a `ScaledClock`: a 7 s interval is 140 ms of real time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use grantline::ciba::{BackchannelAuthenticationRequest, UserHint};
use grantline::clock::ScaledClock;
use grantline::device::DeviceAuthorizationRequest;
use grantline::{Client, Progress};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const SPEED: u32 = 50;
/// Timer granularity: a gap may come out this much short of the ideal and still count.
const SLACK: Duration = Duration::from_millis(3);
/// Generous upper margin for a loaded CI machine.
const LATE: Duration = Duration::from_millis(1500);

/// Answers each request with the next scripted reply, and records when each arrived.
#[derive(Clone)]
struct Scripted {
    replies: Arc<Mutex<VecDeque<ResponseTemplate>>>,
    arrivals: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Scripted {
    fn new(replies: Vec<ResponseTemplate>, arrivals: &Arc<Mutex<Vec<(Instant, String)>>>) -> Self {
        Self {
            replies: Arc::new(Mutex::new(replies.into())),
            arrivals: Arc::clone(arrivals),
        }
    }
}

impl Respond for Scripted {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body = String::from_utf8_lossy(&request.body).into_owned();
        self.arrivals.lock().unwrap().push((Instant::now(), body));
        self.replies
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| ResponseTemplate::new(500).set_body_string("script exhausted"))
    }
}

fn json(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/json")
        .set_body_string(body)
}

fn pending() -> ResponseTemplate {
    json(400, r#"{"error":"authorization_pending"}"#)
}

fn slow_down() -> ResponseTemplate {
    json(400, r#"{"error":"slow_down"}"#)
}

fn token() -> ResponseTemplate {
    json(
        200,
        r#"{"access_token":"polled-token","token_type":"Bearer","expires_in":300}"#,
    )
}

struct Server {
    server: MockServer,
    arrivals: Arc<Mutex<Vec<(Instant, String)>>>,
}

/// A server with a device authorization endpoint (interval 2 s), a backchannel endpoint
/// (interval 1 s) and a token endpoint answering `polls` in order.
async fn server(polls: Vec<ResponseTemplate>) -> Server {
    let server = MockServer::start().await;
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .and(path("/device"))
        .respond_with(Scripted::new(
            vec![json(
                200,
                r#"{"device_code":"dc-7","user_code":"BDWD-HQPK","verification_uri":"https://as.example/activate","expires_in":600,"interval":2}"#,
            )],
            &arrivals,
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/bc"))
        .and(body_string_contains("login_hint=alice"))
        .respond_with(Scripted::new(
            vec![json(
                200,
                r#"{"auth_req_id":"req-9","expires_in":60,"interval":1}"#,
            )],
            &arrivals,
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(Scripted::new(polls, &arrivals))
        .mount(&server)
        .await;
    Server { server, arrivals }
}

fn client(server: &MockServer) -> Client {
    Client::builder("tv")
        .device_authorization_endpoint(format!("{}/device", server.uri()))
        .backchannel_authentication_endpoint(format!("{}/bc", server.uri()))
        .token_endpoint(format!("{}/token", server.uri()))
        .client_secret_post("s")
        .build()
        .unwrap()
}

/// Checks that the gaps between consecutive arrivals match `seconds` of flow time: never
/// shorter, and not much longer.
fn assert_gaps(arrivals: &[(Instant, String)], seconds: &[u64]) {
    assert_eq!(
        arrivals.len(),
        seconds.len() + 1,
        "one more request than gaps"
    );
    for (i, expected) in seconds.iter().enumerate() {
        let ideal = Duration::from_secs(*expected) / SPEED;
        let gap = arrivals[i + 1].0 - arrivals[i].0;
        assert!(
            gap + SLACK >= ideal,
            "gap {i} was {gap:?}, shorter than {ideal:?}"
        );
        assert!(
            gap < ideal + LATE,
            "gap {i} was {gap:?}, far longer than {ideal:?}"
        );
    }
}

fn device_polls() -> Vec<ResponseTemplate> {
    vec![pending(), slow_down(), pending(), token()]
}

/// The device flow's expected gaps in flow seconds: the first poll one interval after the
/// authorization; pending keeps 2 s; slow_down makes it 7 s, kept after.
const DEVICE_GAPS: [u64; 4] = [2, 2, 7, 7];

fn check_device_run(arrivals: &[(Instant, String)], progress: &[Progress]) {
    assert_gaps(arrivals, &DEVICE_GAPS);
    for (_, body) in &arrivals[1..] {
        assert!(body.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"));
        assert!(body.contains("device_code=dc-7"));
    }
    let waits: Vec<_> = progress
        .iter()
        .filter_map(|p| match p {
            Progress::Waiting(d) => Some(d.as_secs_f64().round() as u64),
            _ => None,
        })
        .collect();
    assert_eq!(waits, DEVICE_GAPS, "the observer saw each wait");
    assert_eq!(
        progress
            .iter()
            .filter(|p| matches!(p, Progress::Sending))
            .count(),
        4
    );
}

#[test]
fn device_flow_over_ureq() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let Server { server, arrivals } = runtime.block_on(server(device_polls()));
    let client = client(&server);
    let transport = grantline_ureq::Transport::new().clock(ScaledClock::new(SPEED));

    let authorization = transport
        .run(
            client
                .device_authorization(DeviceAuthorizationRequest::new().scope("tv"))
                .unwrap(),
        )
        .unwrap();
    assert_eq!(authorization.user_code(), "BDWD-HQPK");
    let mut progress = Vec::new();
    let mut polls_seen = Vec::new();
    let token = transport
        .run_with(
            client.device_token(authorization).unwrap(),
            &grantline_ureq::Cancellation::new(),
            |flow, event| {
                progress.push(event);
                polls_seen.push(flow.status(grantline::Now::system()).polls);
            },
        )
        .unwrap();
    assert_eq!(token.access_token().secret(), "polled-token");
    assert_eq!(polls_seen.last(), Some(&4));
    check_device_run(&arrivals.lock().unwrap(), &progress);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_flow_over_reqwest() {
    let Server { server, arrivals } = server(device_polls()).await;
    let client = client(&server);
    let transport = grantline_reqwest::Transport::new()
        .unwrap()
        .clock(ScaledClock::new(SPEED));

    let authorization = transport
        .run(
            client
                .device_authorization(DeviceAuthorizationRequest::new())
                .unwrap(),
        )
        .await
        .unwrap();
    let mut progress = Vec::new();
    let token = transport
        .run_with(client.device_token(authorization).unwrap(), |_, event| {
            progress.push(event)
        })
        .await
        .unwrap();
    assert_eq!(token.access_token().secret(), "polled-token");
    check_device_run(&arrivals.lock().unwrap(), &progress);
}

/// CIBA: the first poll after 1 s; pending keeps it; slow_down makes it 6 s.
const CIBA_GAPS: [u64; 3] = [1, 1, 6];

fn check_ciba_run(arrivals: &[(Instant, String)]) {
    assert_gaps(arrivals, &CIBA_GAPS);
    assert!(arrivals[0].1.contains("scope=openid"));
    for (_, body) in &arrivals[1..] {
        assert!(body.contains("grant_type=urn%3Aopenid%3Aparams%3Agrant-type%3Aciba"));
        assert!(body.contains("auth_req_id=req-9"));
    }
}

#[test]
fn ciba_over_ureq() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let Server { server, arrivals } =
        runtime.block_on(server(vec![pending(), slow_down(), token()]));
    let client = client(&server);
    let transport = grantline_ureq::Transport::new().clock(ScaledClock::new(SPEED));
    let request = BackchannelAuthenticationRequest::new(UserHint::LoginHint("alice".into()));
    let pending = transport
        .run(client.backchannel_authentication(request).unwrap())
        .unwrap();
    let token = transport
        .run(
            client
                .ciba_token(pending)
                .unwrap()
                .insecure_skip_id_token_validation(),
        )
        .unwrap();
    assert_eq!(token.access_token().secret(), "polled-token");
    check_ciba_run(&arrivals.lock().unwrap());
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ciba_over_reqwest() {
    let Server { server, arrivals } = server(vec![pending(), slow_down(), token()]).await;
    let client = client(&server);
    let transport = grantline_reqwest::Transport::new()
        .unwrap()
        .clock(ScaledClock::new(SPEED));
    let request = BackchannelAuthenticationRequest::new(UserHint::LoginHint("alice".into()));
    let pending = transport
        .run(client.backchannel_authentication(request).unwrap())
        .await
        .unwrap();
    let token = transport
        .run(
            client
                .ciba_token(pending)
                .unwrap()
                .insecure_skip_id_token_validation(),
        )
        .await
        .unwrap();
    assert_eq!(token.access_token().secret(), "polled-token");
    check_ciba_run(&arrivals.lock().unwrap());
}

#[test]
fn a_denied_device_flow_stops_polling_over_ureq() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let Server { server, arrivals } = runtime.block_on(server(vec![
        pending(),
        json(400, r#"{"error":"access_denied"}"#),
        token(),
    ]));
    let client = client(&server);
    let transport = grantline_ureq::Transport::new().clock(ScaledClock::new(SPEED));
    let authorization = transport
        .run(
            client
                .device_authorization(DeviceAuthorizationRequest::new())
                .unwrap(),
        )
        .unwrap();
    let e = transport
        .run(client.device_token(authorization).unwrap())
        .unwrap_err();
    let grantline_ureq::Error::Flow(e) = e else {
        panic!("{e:?}")
    };
    assert_eq!(
        e.oauth_code(),
        Some(&grantline::error::ErrorCode::AccessDenied)
    );
    assert_eq!(
        arrivals.lock().unwrap().len(),
        3,
        "authorization + two polls, no more"
    );
    drop(server);
}

#[test]
fn polling_can_be_cancelled_over_ureq() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let Server { server, arrivals } = runtime.block_on(server(vec![pending(); 100]));
    let client = client(&server);
    // Real time: the 2 s interval really is 2 s, and the cancel comes first.
    let transport = grantline_ureq::Transport::new();
    let authorization = transport
        .run(
            client
                .device_authorization(DeviceAuthorizationRequest::new())
                .unwrap(),
        )
        .unwrap();
    let cancel = grantline_ureq::Cancellation::new();
    let flow = client.device_token(authorization).unwrap();
    let started = Instant::now();
    let result = transport.run_with(flow, &cancel, |_, progress| {
        if let Progress::Waiting(_) = progress {
            cancel.cancel();
        }
    });
    assert!(matches!(result, Err(grantline_ureq::Error::Cancelled)));
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(arrivals.lock().unwrap().len(), 1, "no poll was sent");
    drop(server);
}
