#![no_main]
//! Whole one-shot flows fed an arbitrary answer: client registration (RFC 7591), userinfo,
//! pushed authorization requests and discovery. Each must end in its output or a typed error.

use grantline::EndpointKind;
use grantline::{Client, Flow, Now, Step};
use libfuzzer_sys::fuzz_target;

mod common;

fn drive<F: Flow>(mut flow: F, response: http::Response<Vec<u8>>) {
    let now = Now::system();
    match flow.next(now) {
        Ok(Step::Send(_)) => {}
        _ => return,
    }
    match flow.handle_response(response, now) {
        Ok(()) => assert!(matches!(flow.next(now), Ok(Step::Done(_)))),
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((which, rest)) = data.split_first() else {
        return;
    };
    let response = common::response(rest);
    let Ok(client) = Client::builder("c")
        .issuer("https://as.example")
        .authorization_endpoint("https://as.example/authorize")
        .endpoint(EndpointKind::PushedAuthorization, "https://as.example/par")
        .endpoint(EndpointKind::Userinfo, "https://as.example/userinfo")
        .registration_endpoint("https://as.example/reg")
        .client_secret_basic("s")
        .redirect_uri("https://app.example/cb")
        .build()
    else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(flow) = grantline::registration::RegistrationRequest::new(Default::default())
                .into_flow_for(&client)
            {
                drive(flow, response);
            }
        }
        1 => {
            let token = grantline::secret::AccessToken::new("at");
            if let Ok(flow) = grantline::oidc::UserinfoFlow::new(&client, &token) {
                drive(flow, response);
            }
        }
        2 => {
            if let Ok((flow, _pending)) = client.authorization_request().into_pushed() {
                drive(flow, response);
            }
        }
        _ => {
            if let Ok(flow) = grantline::discovery::DiscoveryFlow::openid("https://as.example") {
                drive(flow, response);
            }
        }
    }
});
