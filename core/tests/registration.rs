//! Dynamic client registration and management, on the scripted driver.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use grantline::EndpointKind;
use grantline::error::{ConfigError, ErrorCode};
use grantline::registration::{ClientMetadata, RegisteredClient, RegistrationRequest};
use grantline::testing::Driver;
use grantline::{Client, Error};

const REGISTERED: &str = r#"{
    "client_id": "c-1", "client_secret": "SECRET-1", "client_secret_expires_at": 0,
    "client_id_issued_at": 1700000000,
    "registration_access_token": "RAT-1",
    "registration_client_uri": "https://as.example/reg/c-1",
    "redirect_uris": ["https://app.example/cb"], "grant_types": ["authorization_code"],
    "token_endpoint_auth_method": "client_secret_post", "vendor_field": 7
}"#;

fn register(driver: &mut Driver) -> RegisteredClient {
    let metadata = ClientMetadata::new()
        .redirect_uris(["https://app.example/cb"])
        .grant_types(["authorization_code"])
        .token_endpoint_auth_method("client_secret_post")
        .jwks(serde_json::json!({"keys": []}))
        .field("vendor_field", 7.into());
    let flow = RegistrationRequest::new(metadata)
        .initial_access_token("IAT-1")
        .into_flow("https://as.example/reg")
        .unwrap();
    driver.run(flow).unwrap()
}

#[test]
fn registration_sends_json_with_the_initial_access_token() {
    let mut driver = Driver::new().reply_json(201, REGISTERED);
    let registered = register(&mut driver);
    let request = driver.transcript().requests().next().unwrap();
    assert_eq!(request.method(), http::Method::POST);
    assert_eq!(request.uri(), "https://as.example/reg");
    assert_eq!(request.headers()["content-type"], "application/json");
    let auth = &request.headers()["authorization"];
    assert_eq!(auth, "Bearer IAT-1");
    assert!(auth.is_sensitive());
    let body: serde_json::Value = serde_json::from_slice(request.body()).unwrap();
    assert_eq!(body["redirect_uris"][0], "https://app.example/cb");
    assert_eq!(body["vendor_field"], 7);
    assert_eq!(body["jwks"], serde_json::json!({"keys": []}));

    assert_eq!(registered.client_id(), "c-1");
    assert_eq!(registered.client_secret().unwrap().secret(), "SECRET-1");
    assert_eq!(registered.client_secret_expires_at(), None, "0 means never");
    assert!(registered.client_id_issued_at().is_some());
    assert_eq!(
        registered.registration_access_token().unwrap().secret(),
        "RAT-1"
    );
    assert_eq!(registered.metadata().get("vendor_field").unwrap(), 7);
    let shown = format!("{registered:?}");
    assert!(
        !shown.contains("SECRET-1") && !shown.contains("RAT-1"),
        "{shown}"
    );
}

#[test]
fn the_result_becomes_a_client() {
    let mut driver = Driver::new().reply_json(201, REGISTERED);
    let registered = register(&mut driver);
    let client = registered
        .client_builder()
        .token_endpoint("https://as.example/token")
        .build()
        .unwrap();
    assert_eq!(client.client_id(), "c-1");
    assert_eq!(client.auth_method(), "client_secret_post");

    let mut driver = Driver::new().reply_json(
        201,
        r#"{"client_id":"pub","token_endpoint_auth_method":"none"}"#,
    );
    let public = driver
        .run(
            RegistrationRequest::new(ClientMetadata::new())
                .into_flow("https://as.example/reg")
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        public.client_builder().build().unwrap().auth_method(),
        "none"
    );
}

#[test]
fn management_reads_replaces_and_deletes_with_the_registration_access_token() {
    let mut driver = Driver::new().reply_json(201, REGISTERED);
    let registered = register(&mut driver);

    // Read.
    driver.push_reply(
        http::Response::builder()
            .status(200)
            .body(br#"{"client_id":"c-1","client_name":"Now named"}"#.to_vec())
            .unwrap(),
    );
    let read = driver.run(registered.read().unwrap()).unwrap();
    assert_eq!(read.metadata().get("client_name").unwrap(), "Now named");
    // Credentials the server left out are kept.
    assert_eq!(read.client_secret().unwrap().secret(), "SECRET-1");
    assert_eq!(
        read.registration_client_uri(),
        Some("https://as.example/reg/c-1")
    );

    // Update: a full replacement, with client_id and client_secret, and a rotated token.
    driver.push_reply(
        http::Response::builder()
            .status(200)
            .body(br#"{"client_id":"c-1","registration_access_token":"RAT-2","client_name":"Renamed"}"#.to_vec())
            .unwrap(),
    );
    let updated = driver
        .run(
            registered
                .update(ClientMetadata::new().client_name("Renamed"))
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        updated.registration_access_token().unwrap().secret(),
        "RAT-2"
    );

    // Delete, with the newest token.
    driver.push_reply(
        http::Response::builder()
            .status(204)
            .body(Vec::new())
            .unwrap(),
    );
    driver.run(updated.delete().unwrap()).unwrap();

    let requests: Vec<_> = driver.transcript().requests().collect();
    let methods: Vec<_> = requests
        .iter()
        .map(|r| r.method().as_str().to_owned())
        .collect();
    assert_eq!(methods, ["POST", "GET", "PUT", "DELETE"]);
    assert_eq!(requests[1].uri(), "https://as.example/reg/c-1");
    assert_eq!(requests[1].headers()["authorization"], "Bearer RAT-1");
    let put: serde_json::Value = serde_json::from_slice(requests[2].body()).unwrap();
    assert_eq!(put["client_id"], "c-1");
    assert_eq!(put["client_secret"], "SECRET-1");
    assert_eq!(put["client_name"], "Renamed");
    assert_eq!(requests[3].headers()["authorization"], "Bearer RAT-2");
}

#[test]
fn errors_are_the_typed_oauth_errors() {
    for (code, expected) in [
        ("invalid_redirect_uri", ErrorCode::InvalidRedirectUri),
        ("invalid_client_metadata", ErrorCode::InvalidClientMetadata),
        (
            "invalid_software_statement",
            ErrorCode::Other("invalid_software_statement".into()),
        ),
    ] {
        let mut driver = Driver::new().reply_json(400, &format!(r#"{{"error":"{code}"}}"#));
        let e = driver
            .run(
                RegistrationRequest::new(ClientMetadata::new())
                    .into_flow("https://as.example/reg")
                    .unwrap(),
            )
            .unwrap_err();
        assert_eq!(e.flow_error().and_then(Error::oauth_code), Some(&expected));
    }
    // A deleted client: reading it fails with the server's error.
    let mut driver = Driver::new().reply_json(201, REGISTERED);
    let registered = register(&mut driver);
    driver.push_reply(
        http::Response::builder()
            .status(401)
            .body(br#"{"error":"invalid_token"}"#.to_vec())
            .unwrap(),
    );
    let e = driver.run(registered.read().unwrap()).unwrap_err();
    assert_eq!(
        e.flow_error().and_then(Error::oauth_code),
        Some(&ErrorCode::InvalidToken)
    );
    // A missing client_id, and an answer about another client.
    let mut driver = Driver::new().reply_json(201, r#"{"client_secret":"s"}"#);
    let e = driver
        .run(
            RegistrationRequest::new(ClientMetadata::new())
                .into_flow("https://as.example/reg")
                .unwrap(),
        )
        .unwrap_err();
    assert!(matches!(e.flow_error(), Some(Error::InvalidResponse(e)) if e.field == "client_id"));
    let mut driver = Driver::new()
        .reply_json(201, REGISTERED)
        .reply_json(200, r#"{"client_id":"other"}"#);
    let registered = register(&mut driver);
    let e = driver.run(registered.read().unwrap()).unwrap_err();
    assert!(matches!(e.flow_error(), Some(Error::InvalidResponse(e)) if e.field == "client_id"));
}

#[test]
fn endpoints_are_checked() {
    assert!(matches!(
        RegistrationRequest::new(ClientMetadata::new()).into_flow("http://as.example/reg"),
        Err(Error::Config(ConfigError::InsecureEndpoint { .. }))
    ));
    let client = Client::builder("bootstrap").build().unwrap();
    assert!(matches!(
        RegistrationRequest::new(ClientMetadata::new()).into_flow_for(&client),
        Err(Error::Config(ConfigError::MissingEndpoint(
            EndpointKind::Registration
        )))
    ));
    let mut driver = Driver::new().reply_json(201, r#"{"client_id":"x"}"#);
    let unmanaged = driver
        .run(
            RegistrationRequest::new(ClientMetadata::new())
                .into_flow("https://as.example/reg")
                .unwrap(),
        )
        .unwrap();
    assert!(matches!(
        unmanaged.read(),
        Err(Error::Config(ConfigError::MissingEndpoint(
            EndpointKind::Registration
        )))
    ));
}

#[test]
fn a_registered_client_round_trips_through_its_document_and_serde() {
    let answer = serde_json::json!({
        "client_id": "c-1",
        "client_secret": "s3cr3t",
        "client_id_issued_at": 1_700_000_000u64,
        "client_secret_expires_at": 1_800_000_000u64,
        "registration_access_token": "rat-1",
        "registration_client_uri": "https://as.example/reg/c-1",
        "redirect_uris": ["https://app.example/cb"],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "client_secret_post",
        "vendor_extension": {"nested": [1, 2]}
    });
    let client = RegisteredClient::from_document(answer.as_object().unwrap().clone()).unwrap();
    // The document is the server's answer, member for member.
    assert_eq!(serde_json::Value::Object(client.to_document()), answer);
    // Through serde (what an application stores), and back.
    let stored = serde_json::to_vec(&client).unwrap();
    let back: RegisteredClient = serde_json::from_slice(&stored).unwrap();
    assert_eq!(back.client_id(), "c-1");
    assert_eq!(back.client_secret().unwrap().secret(), "s3cr3t");
    assert_eq!(back.registration_access_token().unwrap().secret(), "rat-1");
    assert_eq!(
        back.registration_client_uri(),
        client.registration_client_uri()
    );
    assert_eq!(
        back.client_secret_expires_at(),
        client.client_secret_expires_at()
    );
    assert_eq!(back.client_id_issued_at(), client.client_id_issued_at());
    assert_eq!(back.metadata(), client.metadata());
    assert_eq!(back.to_document(), client.to_document());
    // "Never expires" (0) is left out, and still reads back as never.
    let never = serde_json::json!({"client_id": "c-2", "client_secret_expires_at": 0});
    let client = RegisteredClient::from_document(never.as_object().unwrap().clone()).unwrap();
    let document = client.to_document();
    assert!(document.get("client_secret_expires_at").is_none());
    let back = RegisteredClient::from_document(document).unwrap();
    assert_eq!(back.client_secret_expires_at(), None);
    // A document without client_id is refused by serde too, without echoing secrets.
    let e = serde_json::from_str::<RegisteredClient>(r#"{"client_secret":"LEAK"}"#).unwrap_err();
    assert!(!e.to_string().contains("LEAK"), "{e}");
}
