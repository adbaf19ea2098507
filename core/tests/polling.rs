//! The device and CIBA polling rules, each proven on a fake clock. No test sleeps.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Duration;

use grantline::ciba::{BackchannelAuthentication, BackchannelAuthenticationRequest, UserHint};
use grantline::device::{DeviceAuthorization, DeviceAuthorizationRequest};
use grantline::error::{ConfigError, ErrorCode, Expired, Misuse};
use grantline::testing::{Driver, DriverError, Event};
use grantline::{Client, Error, Flow, Now, Recovery, Step};

const PENDING: &str = r#"{"error":"authorization_pending"}"#;
const SLOW_DOWN: &str = r#"{"error":"slow_down"}"#;
const TOKEN: &str = r#"{"access_token":"at","token_type":"Bearer","expires_in":60}"#;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn client() -> Client {
    Client::builder("device-client")
        .device_authorization_endpoint("https://as.example/device")
        .backchannel_authentication_endpoint("https://as.example/bc")
        .token_endpoint("https://as.example/token")
        .build()
        .unwrap()
}

/// A device authorization received at the driver's current time.
fn authorization(driver: &Driver, expires_in: u64, interval: Option<u64>) -> DeviceAuthorization {
    let interval = interval.map_or(String::new(), |i| format!(r#","interval":{i}"#));
    let body = format!(
        r#"{{"device_code":"dc-1","user_code":"ABCD-EFGH","verification_uri":"https://as.example/activate","expires_in":{expires_in}{interval}}}"#
    );
    DeviceAuthorization::from_response(&http::Response::new(body.into_bytes()), driver.now())
        .unwrap()
}

fn with_retry_after(status: u16, body: &str, retry_after: &str) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .header("retry-after", retry_after)
        .body(body.as_bytes().to_vec())
        .unwrap()
}

fn waits(driver: &Driver) -> Vec<Duration> {
    driver.transcript().waits().collect()
}

#[test]
fn pending_waits_the_interval_before_every_poll() {
    let mut driver = Driver::new()
        .reply_json(400, PENDING)
        .reply_json(400, PENDING)
        .reply_json(200, TOKEN);
    let flow = client()
        .device_token(authorization(&driver, 600, Some(3)))
        .unwrap();
    let token = driver.run(flow).unwrap();
    assert_eq!(token.access_token().secret(), "at");
    assert_eq!(waits(&driver), [secs(3), secs(3), secs(3)]);
    let form = driver.transcript().form(0).unwrap();
    assert_eq!(
        form,
        [
            (
                "grant_type".to_owned(),
                "urn:ietf:params:oauth:grant-type:device_code".to_owned()
            ),
            ("device_code".to_owned(), "dc-1".to_owned()),
            ("client_id".to_owned(), "device-client".to_owned()),
        ]
    );
}

#[test]
fn the_interval_defaults_to_five_seconds() {
    let mut driver = Driver::new().reply_json(200, TOKEN);
    let flow = client()
        .device_token(authorization(&driver, 600, None))
        .unwrap();
    driver.run(flow).unwrap();
    assert_eq!(waits(&driver), [secs(5)]);
}

#[test]
fn slow_down_adds_five_seconds_for_every_later_poll() {
    let mut driver = Driver::new()
        .reply_json(400, SLOW_DOWN)
        .reply_json(400, SLOW_DOWN)
        .reply_json(400, PENDING)
        .reply_json(200, TOKEN);
    let flow = client()
        .device_token(authorization(&driver, 600, Some(5)))
        .unwrap();
    driver.run(flow).unwrap();
    // First poll after 5 s; each slow_down adds 5 s; pending keeps the grown interval.
    assert_eq!(waits(&driver), [secs(5), secs(10), secs(15), secs(15)]);
}

#[test]
fn a_longer_retry_after_is_honoured_and_a_shorter_one_is_not() {
    let mut driver = Driver::new()
        .reply(with_retry_after(400, PENDING, "30"))
        .reply(with_retry_after(400, PENDING, "1"))
        .reply(with_retry_after(400, SLOW_DOWN, "2"))
        .reply_json(200, TOKEN);
    let flow = client()
        .device_token(authorization(&driver, 600, Some(5)))
        .unwrap();
    driver.run(flow).unwrap();
    assert_eq!(waits(&driver), [secs(5), secs(30), secs(5), secs(10)]);
}

#[test]
fn a_retry_after_date_is_honoured() {
    let driver_start = Driver::new();
    // The driver's wall clock starts at 1_700_000_000 (2023-11-14 22:13:20 UTC); the first poll
    // answers at +5 s; the date asks for +65 s, so the next poll waits 60 s.
    let mut driver = driver_start
        .reply(with_retry_after(
            400,
            PENDING,
            "Tue, 14 Nov 2023 22:14:25 GMT",
        ))
        .reply_json(200, TOKEN);
    let flow = client()
        .device_token(authorization(&driver, 600, Some(5)))
        .unwrap();
    driver.run(flow).unwrap();
    assert_eq!(waits(&driver), [secs(5), secs(60)]);
}

#[test]
fn expiry_mid_way_stops_without_another_request() {
    let mut driver = Driver::new()
        .reply_json(400, PENDING)
        .reply_json(400, PENDING)
        .reply_json(200, TOKEN);
    let flow = client()
        .device_token(authorization(&driver, 12, Some(5)))
        .unwrap();
    let e = driver.run(flow).unwrap_err();
    assert!(matches!(
        e.flow_error(),
        Some(Error::Expired(Expired::DeviceCode))
    ));
    // Polls at 5 s and 10 s; a poll at 15 s would be past the 12 s expiry, so none is sent.
    assert_eq!(driver.transcript().requests().count(), 2);
    assert_eq!(driver.replies_left(), 1);
}

#[test]
fn a_flow_started_after_expiry_sends_nothing() {
    let mut driver = Driver::new();
    let authorization = authorization(&driver, 10, Some(5));
    driver.advance(secs(11));
    let e = driver
        .run(client().device_token(authorization).unwrap())
        .unwrap_err();
    assert!(matches!(
        e.flow_error(),
        Some(Error::Expired(Expired::DeviceCode))
    ));
    assert_eq!(driver.transcript().requests().count(), 0);
}

#[test]
fn denial_and_server_side_expiry_stop_with_their_error() {
    for (body, code) in [
        (r#"{"error":"access_denied"}"#, ErrorCode::AccessDenied),
        (r#"{"error":"expired_token"}"#, ErrorCode::ExpiredToken),
        (r#"{"error":"invalid_client"}"#, ErrorCode::InvalidClient),
    ] {
        let mut driver = Driver::new()
            .reply_json(400, PENDING)
            .reply_json(400, body)
            .reply_json(200, TOKEN);
        let flow = client()
            .device_token(authorization(&driver, 600, Some(5)))
            .unwrap();
        let e = driver.run(flow).unwrap_err();
        assert_eq!(e.flow_error().and_then(Error::oauth_code), Some(&code));
        assert_eq!(driver.replies_left(), 1, "no poll after {code:?}");
    }
}

#[test]
fn transport_failures_back_off_exponentially_and_never_below_the_interval() {
    let mut driver = Driver::new()
        .fail_transport()
        .fail_transport()
        .fail_transport()
        .reply_json(400, PENDING)
        .fail_transport()
        .reply_json(200, TOKEN);
    let flow = client()
        .device_token(authorization(&driver, 3600, Some(5)))
        .unwrap();
    driver.run(flow).unwrap();
    // 5 s before the first poll; then 10, 20, 40 after three failures in a row; an answer resets
    // the back-off (5 s), and the next failure starts again at 10 s.
    assert_eq!(
        waits(&driver),
        [secs(5), secs(10), secs(20), secs(40), secs(5), secs(10)]
    );
}

#[test]
fn back_off_is_capped_but_a_longer_interval_wins() {
    let mut driver = Driver::new();
    for _ in 0..8 {
        driver = driver.fail_transport();
    }
    let mut driver = driver.reply_json(200, TOKEN);
    let flow = client()
        .device_token(authorization(&driver, 36_000, Some(5)))
        .unwrap();
    driver.run(flow).unwrap();
    let observed = waits(&driver);
    assert_eq!(observed.iter().max(), Some(&secs(120)));
    assert!(observed.iter().all(|w| *w >= secs(5)));

    // With an interval above the cap, back-off never goes below the interval.
    let mut driver = Driver::new().fail_transport().reply_json(200, TOKEN);
    let flow = client()
        .device_token(authorization(&driver, 36_000, Some(300)))
        .unwrap();
    driver.run(flow).unwrap();
    assert_eq!(waits(&driver), [secs(300), secs(300)]);
}

#[test]
fn overload_answers_back_off_like_failures() {
    let mut driver = Driver::new()
        .reply(with_retry_after(503, "busy", "1"))
        .reply_json(429, "{}")
        .reply_json(200, TOKEN);
    let flow = client()
        .device_token(authorization(&driver, 600, Some(5)))
        .unwrap();
    driver.run(flow).unwrap();
    assert_eq!(waits(&driver), [secs(5), secs(10), secs(20)]);
}

#[test]
fn status_exposes_what_a_ui_needs() {
    let driver = Driver::new();
    let now = driver.now();
    let mut flow = client()
        .device_token(authorization(&driver, 600, Some(5)))
        .unwrap();
    assert_eq!(flow.authorization().user_code(), "ABCD-EFGH");
    let status = flow.status(now);
    assert_eq!(
        (
            status.polls,
            status.interval,
            status.time_left,
            status.next_poll_in
        ),
        (0, secs(5), secs(600), secs(5))
    );
    // Waking early is harmless: the flow asks to wait for what remains.
    let early = now.advance(secs(2));
    assert!(matches!(flow.next(early), Ok(Step::Wait(d)) if d == secs(3)));
    let on_time = now.advance(secs(5));
    let Step::Send(_) = flow.next(on_time).unwrap() else {
        panic!("expected a poll")
    };
    // Calling next again before the answer sends the same poll again, counted once.
    assert!(matches!(flow.next(on_time), Ok(Step::Send(_))));
    assert_eq!(flow.status(on_time).polls, 1);
    flow.handle_response(
        http::Response::builder()
            .status(400)
            .body(SLOW_DOWN.as_bytes().to_vec())
            .unwrap(),
        on_time,
    )
    .unwrap();
    let status = flow.status(on_time);
    assert_eq!(status.interval, secs(10));
    assert_eq!(status.next_poll_in, secs(10));
    assert_eq!(status.time_left, secs(595));
}

#[test]
fn done_comes_out_once_and_responses_need_a_request() {
    let mut driver = Driver::new().reply_json(200, TOKEN);
    let mut flow = client()
        .device_token(authorization(&driver, 600, Some(5)))
        .unwrap();
    let now = driver.now();
    assert!(matches!(
        flow.handle_response(http::Response::new(Vec::new()), now),
        Err(Error::Misuse(Misuse::UnexpectedResponse))
    ));
    assert_eq!(flow.handle_transport_error(now), Recovery::GiveUp);
    driver.run(&mut flow).unwrap();
    assert!(matches!(
        flow.next(driver.now()),
        Err(Error::Misuse(Misuse::AlreadyDone))
    ));
    assert!(matches!(
        driver.transcript().events().last(),
        Some(Event::Done)
    ));
}

#[test]
fn the_device_authorization_request_and_response() {
    let mut driver = Driver::new().reply_json(
        200,
        r#"{"device_code":"dc","user_code":"UC","verification_url":"https://as.example/x",
            "verification_uri_complete":"https://as.example/x?u=UC","expires_in":"900","message":"hi"}"#,
    );
    let flow = client()
        .device_authorization(
            DeviceAuthorizationRequest::new()
                .scope("openid offline_access")
                .param("audience", "api"),
        )
        .unwrap();
    let authorization = driver.run(flow).unwrap();
    assert_eq!(authorization.verification_uri(), "https://as.example/x");
    assert_eq!(
        authorization.verification_uri_complete(),
        Some("https://as.example/x?u=UC")
    );
    assert_eq!(authorization.expires_in(), secs(900));
    assert_eq!(authorization.interval(), secs(5));
    assert_eq!(authorization.extra()["message"], "hi");
    assert!(!format!("{authorization:?}").contains("\"dc\""));
    let request = driver.transcript().requests().next().unwrap();
    assert_eq!(request.uri(), "https://as.example/device");
    assert_eq!(
        driver.transcript().form(0).unwrap(),
        [
            ("scope".to_owned(), "openid offline_access".to_owned()),
            ("audience".to_owned(), "api".to_owned()),
            ("client_id".to_owned(), "device-client".to_owned()),
        ]
    );
}

#[test]
fn bad_device_authorization_responses_name_the_field() {
    for (body, field) in [
        (
            r#"{"user_code":"u","verification_uri":"v","expires_in":1}"#,
            "device_code",
        ),
        (
            r#"{"device_code":"d","verification_uri":"v","expires_in":1}"#,
            "user_code",
        ),
        (
            r#"{"device_code":"d","user_code":"u","expires_in":1}"#,
            "verification_uri",
        ),
        (
            r#"{"device_code":"d","user_code":"u","verification_uri":"v"}"#,
            "expires_in",
        ),
        (
            r#"{"device_code":"d","user_code":"u","verification_uri":"v","expires_in":1,"interval":"x"}"#,
            "interval",
        ),
    ] {
        let e = DeviceAuthorization::from_response(
            &http::Response::new(body.as_bytes().to_vec()),
            Now::system(),
        )
        .unwrap_err();
        assert!(
            matches!(e, Error::InvalidResponse(ref e) if e.field == field),
            "{body}: {e:?}"
        );
    }
}

#[test]
fn ciba_polls_with_the_same_rules() {
    let mut driver = Driver::new()
        .reply_json(
            200,
            r#"{"auth_req_id":"req-1","expires_in":60,"interval":2}"#,
        )
        .reply_json(400, PENDING)
        .reply_json(400, SLOW_DOWN)
        .fail_transport()
        .reply_json(200, TOKEN);
    let request = BackchannelAuthenticationRequest::new(UserHint::LoginHint("alice".into()))
        .scope("email")
        .binding_message("W4SCT")
        .user_code("1234")
        .requested_expiry(secs(60))
        .acr_values("mfa");
    let pending = driver
        .run(client().backchannel_authentication(request).unwrap())
        .unwrap();
    assert_eq!(pending.interval(), secs(2));
    let token = driver
        .run(
            client()
                .ciba_token(pending)
                .unwrap()
                .insecure_skip_id_token_validation(),
        )
        .unwrap();
    assert_eq!(token.access_token().secret(), "at");
    // 2 s; pending keeps 2 s; slow_down makes it 7 s; a failure backs off to 14 s.
    assert_eq!(waits(&driver), [secs(2), secs(2), secs(7), secs(14)]);
    assert_eq!(
        driver.transcript().form(0).unwrap(),
        [
            ("scope".to_owned(), "openid email".to_owned()),
            ("login_hint".to_owned(), "alice".to_owned()),
            ("binding_message".to_owned(), "W4SCT".to_owned()),
            ("user_code".to_owned(), "1234".to_owned()),
            ("requested_expiry".to_owned(), "60".to_owned()),
            ("acr_values".to_owned(), "mfa".to_owned()),
            ("client_id".to_owned(), "device-client".to_owned()),
        ]
    );
    assert_eq!(
        driver.transcript().form(1).unwrap()[..2],
        [
            (
                "grant_type".to_owned(),
                "urn:openid:params:grant-type:ciba".to_owned()
            ),
            ("auth_req_id".to_owned(), "req-1".to_owned()),
        ]
    );
}

#[test]
fn ciba_expiry_and_denial() {
    let mut driver = Driver::new();
    let pending = BackchannelAuthentication::from_response(
        &http::Response::new(br#"{"auth_req_id":"r","expires_in":4}"#.to_vec()),
        driver.now(),
    )
    .unwrap();
    let e = driver
        .run(
            client()
                .ciba_token(pending)
                .unwrap()
                .insecure_skip_id_token_validation(),
        )
        .unwrap_err();
    assert!(matches!(
        e.flow_error(),
        Some(Error::Expired(Expired::BackchannelRequest))
    ));
    assert_eq!(
        driver.transcript().requests().count(),
        0,
        "5 s default interval > 4 s expiry"
    );

    let mut driver = Driver::new().reply_json(400, r#"{"error":"access_denied"}"#);
    let pending = BackchannelAuthentication::from_response(
        &http::Response::new(br#"{"auth_req_id":"r","expires_in":60,"interval":1}"#.to_vec()),
        driver.now(),
    )
    .unwrap();
    let e = driver
        .run(
            client()
                .ciba_token(pending)
                .unwrap()
                .insecure_skip_id_token_validation(),
        )
        .unwrap_err();
    assert_eq!(
        e.flow_error().and_then(Error::oauth_code),
        Some(&ErrorCode::AccessDenied)
    );
}

#[test]
fn ciba_requests_are_checked() {
    let c = client();
    let empty = BackchannelAuthenticationRequest::new(UserHint::LoginHint(String::new()));
    assert!(matches!(
        c.backchannel_authentication(empty),
        Err(Error::Config(ConfigError::InvalidParameter { .. }))
    ));
    let second_hint = BackchannelAuthenticationRequest::new(UserHint::IdTokenHint("t".into()))
        .param("login_hint", "bob");
    assert!(matches!(
        c.backchannel_authentication(second_hint),
        Err(Error::Config(ConfigError::ReservedParameter(_)))
    ));
    let hidden = format!(
        "{:?}",
        BackchannelAuthenticationRequest::new(UserHint::LoginHintToken("SECRET".into()))
    );
    assert!(!hidden.contains("SECRET"));
    for (body, field) in [
        (r#"{"expires_in":60}"#, "auth_req_id"),
        (r#"{"auth_req_id":"r"}"#, "expires_in"),
    ] {
        let e = BackchannelAuthentication::from_response(
            &http::Response::new(body.as_bytes().to_vec()),
            Now::system(),
        )
        .unwrap_err();
        assert!(matches!(e, Error::InvalidResponse(ref e) if e.field == field));
    }
}

#[test]
fn a_failed_poll_flow_gives_up_on_misuse() {
    let mut driver = Driver::new().reply_json(400, r#"{"error":"access_denied"}"#);
    let mut flow = client()
        .device_token(authorization(&driver, 600, Some(1)))
        .unwrap();
    assert!(matches!(driver.run(&mut flow), Err(DriverError::Flow(_))));
    assert!(matches!(
        flow.next(driver.now()),
        Err(Error::Misuse(Misuse::AlreadyFailed))
    ));
}

#[test]
fn an_interval_under_a_second_counts_as_the_default() {
    for sent in [Some(0), None] {
        let mut driver = Driver::new()
            .reply_json(400, PENDING)
            .reply_json(200, TOKEN);
        let flow = client()
            .device_token(authorization(&driver, 600, sent))
            .unwrap();
        driver.run(flow).unwrap();
        assert_eq!(waits(&driver), [secs(5), secs(5)], "{sent:?}");
    }
}

#[test]
fn a_device_code_that_expires_at_once_sends_nothing() {
    let mut driver = Driver::new().reply_json(200, TOKEN);
    let flow = client()
        .device_token(authorization(&driver, 0, Some(5)))
        .unwrap();
    let e = driver.run(flow).unwrap_err();
    assert!(matches!(
        e.flow_error(),
        Some(Error::Expired(Expired::DeviceCode))
    ));
    assert_eq!(driver.transcript().requests().count(), 0);
}

#[test]
fn a_slow_down_storm_never_hammers() {
    // Every answer is slow_down: each poll waits 5 s longer than the last, until expiry.
    let mut driver = Driver::new();
    for _ in 0..50 {
        driver = driver.reply_json(400, SLOW_DOWN);
    }
    let flow = client()
        .device_token(authorization(&driver, 300, Some(5)))
        .unwrap();
    let e = driver.run(flow).unwrap_err();
    assert!(matches!(
        e.flow_error(),
        Some(Error::Expired(Expired::DeviceCode))
    ));
    let observed = waits(&driver);
    // 5, 10, 15, ... : within 300 s only ten polls fit.
    assert!(
        observed.windows(2).all(|w| w[1] == w[0] + secs(5)),
        "{observed:?}"
    );
    assert!(driver.transcript().requests().count() <= 10);
}

#[test]
fn a_device_code_lifetime_of_years_is_polled_for_one_hour_at_most() {
    // A server that says the code lives 30 years and answers pending forever: the poll ends
    // after MAX_POLLING_LIFETIME with the expiry error, not decades later.
    let mut driver = Driver::new();
    for _ in 0..800 {
        driver = driver.reply_json(400, PENDING);
    }
    let start = driver.now();
    let authorization = authorization(&driver, 30 * 365 * 24 * 3600, Some(5));
    assert_eq!(
        authorization.expires_in(),
        grantline::flow::MAX_POLLING_LIFETIME
    );
    let e = driver
        .run(client().device_token(authorization).unwrap())
        .unwrap_err();
    assert!(matches!(
        e.flow_error(),
        Some(Error::Expired(Expired::DeviceCode))
    ));
    let polled_for = driver.now().monotonic() - start.monotonic();
    assert!(
        polled_for <= grantline::flow::MAX_POLLING_LIFETIME,
        "{polled_for:?}"
    );
}

#[test]
fn a_ciba_lifetime_and_interval_of_years_are_capped() {
    let body = br#"{"auth_req_id":"r-1","expires_in":999999999999,"interval":999999999}"#;
    let now = Now::system();
    let started =
        BackchannelAuthentication::from_response(&http::Response::new(body.to_vec()), now).unwrap();
    assert_eq!(
        started.expires_at(),
        now.monotonic() + grantline::flow::MAX_POLLING_LIFETIME
    );
    assert!(started.interval() <= grantline::flow::MAX_POLLING_LIFETIME);
}
