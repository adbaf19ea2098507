//! A local authorization server for the runnable examples: a loopback mock that plays a device
//! authorization endpoint, a backchannel endpoint and a token endpoint which answers
//! `authorization_pending`, then `slow_down`, then a token.

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn json(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/json")
        .set_body_string(body.to_owned())
}

/// Starts the demo server on 127.0.0.1; it stops when the returned value is dropped.
///
/// ```no_run
/// # async fn f() {
/// let server = grantline_tests::demo::device_server().await;
/// println!("{}/device", server.uri());
/// # }
/// ```
pub async fn device_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/device"))
        .respond_with(json(
            200,
            r#"{"device_code":"demo-device-code","user_code":"WDJB-MJHT",
               "verification_uri":"https://as.example/activate",
               "verification_uri_complete":"https://as.example/activate?user_code=WDJB-MJHT",
               "expires_in":300,"interval":2}"#,
        ))
        .mount(&server)
        .await;
    // Answered in priority order, each as many times as it says.
    let polls = [
        (json(400, r#"{"error":"authorization_pending"}"#), 2),
        (json(400, r#"{"error":"slow_down"}"#), 1),
        (json(400, r#"{"error":"authorization_pending"}"#), 1),
    ];
    for (priority, (reply, times)) in (1u8..).zip(polls) {
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(reply)
            .up_to_n_times(times)
            .with_priority(priority)
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(json(
            200,
            r#"{"access_token":"demo-access-token","token_type":"Bearer","expires_in":3600,"refresh_token":"demo-refresh"}"#,
        ))
        .with_priority(100)
        .mount(&server)
        .await;
    server
}
