//! The client connect handler: `ModifyClientVpnEndpoint` through the real aws-sdk-ec2, and clients
//! connecting through a handler served here on the Lambda Invoke API, with Client VPN's rules for
//! what refuses a connection.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_ec2::config::Credentials;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::ClientConnectOptions;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use cvpn_emulator::{ConnectAttempt, LambdaOptions, Options, RunningEmulator, StateFile};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const EP: &str = "cvpn-endpoint-0123456789abcdef0";
const HANDLER: &str = "arn:aws:lambda:eu-west-1:111122223333:function:AWSClientVPN-test";

/// What the fake handler answers next, and what it was asked.
#[derive(Default)]
struct Fake {
    answer: Mutex<Option<(StatusCode, Value, bool)>>,
    asked: Mutex<Vec<(String, Value)>>,
}

async fn invoke(
    State(fake): State<Arc<Fake>>,
    Path(name): Path<String>,
    Json(request): Json<Value>,
) -> Response {
    fake.asked.lock().unwrap().push((name, request));
    let answer = fake.answer.lock().unwrap().clone();
    match answer {
        // Never answers: only the emulator's timeout ends the wait.
        None => std::future::pending().await,
        Some((status, body, function_error)) => {
            let mut r = (status, Json(body)).into_response();
            if function_error {
                r.headers_mut()
                    .insert("x-amz-function-error", "Unhandled".parse().unwrap());
            }
            r
        }
    }
}

async fn fake_lambda() -> (String, Arc<Fake>) {
    let fake = Arc::new(Fake::default());
    let app = Router::new()
        .route("/2015-03-31/functions/{name}/invocations", post(invoke))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, fake)
}

async fn emulator(lambda: LambdaOptions) -> RunningEmulator {
    let state: StateFile = serde_json::from_value(json!({"endpoints": [
        {"clientVpnEndpointId": EP, "clientCidrBlock": "10.100.0.0/24"}
    ]}))
    .unwrap();
    cvpn_emulator::start(
        "127.0.0.1:0",
        state,
        Options {
            lambda,
            ..Options::default()
        },
    )
    .await
    .unwrap()
}

fn ec2(url: &str) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::from_conf(
        aws_sdk_ec2::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "test",
            ))
            .endpoint_url(url)
            .build(),
    )
}

/// The endpoint calls HANDLER, set through the SDK.
async fn wire(emu: &RunningEmulator) {
    ec2(&emu.url())
        .modify_client_vpn_endpoint()
        .client_vpn_endpoint_id(EP)
        .client_connect_options(
            ClientConnectOptions::builder()
                .enabled(true)
                .lambda_function_arn(HANDLER)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

fn attempt(user: &str) -> ConnectAttempt {
    ConnectAttempt {
        username: Some(user.into()),
        common_name: Some("shared.vpn.example.com".into()),
        ..ConnectAttempt::default()
    }
}

fn handler_answer(allow: bool, message: &str) -> Value {
    json!({"allow": allow, "error-msg-on-failed-posture-compliance": message,
           "posture-compliance-statuses": [], "schema-version": "v1"})
}

#[tokio::test]
async fn modify_sets_the_handler_and_describe_reports_it() {
    let emu = emulator(LambdaOptions::default()).await;
    let client = ec2(&emu.url());
    let set = |enabled: bool, arn: Option<&str>| {
        client
            .modify_client_vpn_endpoint()
            .client_vpn_endpoint_id(EP)
            .client_connect_options(
                ClientConnectOptions::builder()
                    .enabled(enabled)
                    .set_lambda_function_arn(arn.map(str::to_owned))
                    .build(),
            )
            .send()
    };
    let not_a_handler = "arn:aws:lambda:eu-west-1:111122223333:function:cvpn-terminator";
    let e = set(true, Some(not_a_handler)).await.unwrap_err();
    assert_eq!(e.code(), Some("InvalidParameterValue"));
    let e = set(true, None).await.unwrap_err();
    assert_eq!(e.code(), Some("MissingParameter"));
    assert!(set(true, Some(HANDLER)).await.unwrap().r#return().unwrap());
    let described = client.describe_client_vpn_endpoints().send().await.unwrap();
    let options = described.client_vpn_endpoints()[0]
        .client_connect_options()
        .unwrap();
    assert_eq!(options.enabled(), Some(true));
    assert_eq!(options.lambda_function_arn(), Some(HANDLER));
    set(false, None).await.unwrap();
    let snapshot = emu.service().snapshot();
    let options = snapshot.endpoints[0]
        .client_connect_options
        .as_ref()
        .unwrap();
    assert!(!options.enabled);
}

#[tokio::test]
async fn clients_connect_through_the_handler_and_refusals_are_recorded() {
    let (url, fake) = fake_lambda().await;
    let emu = emulator(LambdaOptions {
        url: Some(url),
        function: None,
        timeout: Duration::from_millis(200),
    })
    .await;
    let service = emu.service();
    // No handler yet: everyone connects.
    let free = service.attempt(EP, attempt("alice")).await.unwrap();
    assert!(free.allowed);
    assert!(fake.asked.lock().unwrap().is_empty());
    wire(&emu).await;

    let cases = [
        (
            Some((StatusCode::OK, handler_answer(true, ""), false)),
            None,
        ),
        (
            Some((StatusCode::OK, handler_answer(false, "Call the SOC"), false)),
            Some("client-connect-failed"),
        ),
        (
            Some((StatusCode::OK, json!({"allow": true}), false)),
            Some("client-connect-handler-invalid-response"),
        ),
        (
            Some((StatusCode::OK, json!({"errorMessage": "boom"}), true)),
            Some("client-connect-handler-other-execution-error"),
        ),
        (
            Some((StatusCode::TOO_MANY_REQUESTS, json!({}), false)),
            Some("client-connect-handler-throttled"),
        ),
        (
            Some((StatusCode::INTERNAL_SERVER_ERROR, json!({}), false)),
            Some("client-connect-handler-other-execution-error"),
        ),
        (None, Some("client-connect-handler-timed-out")),
    ];
    for (answer, refused) in cases {
        *fake.answer.lock().unwrap() = answer;
        let result = service.attempt(EP, attempt("bob")).await.unwrap();
        assert_eq!(result.allowed, refused.is_none(), "{refused:?}");
        assert_eq!(result.reason.as_deref(), refused);
    }
    let (name, request) = fake.asked.lock().unwrap()[1].clone();
    assert_eq!(name, "AWSClientVPN-test");
    for field in [
        "connection-id",
        "endpoint-id",
        "common-name",
        "username",
        "platform",
        "platform-version",
        "public-ip",
        "client-openvpn-version",
        "schema-version",
    ] {
        assert!(
            request.get(field).is_some(),
            "{field} missing from {request}"
        );
    }
    assert_eq!(request["username"], "bob");
    let state = service.snapshot();
    let endpoint = &state.endpoints[0];
    // alice before the handler, bob's one allowed attempt; six refusals with their reasons.
    assert_eq!(endpoint.connections.len(), 2);
    assert_eq!(endpoint.refused_connections.len(), 6);
    assert_eq!(
        endpoint.refused_connections[0].message.as_deref(),
        Some("Call the SOC")
    );
    // Two clients got different addresses from the pool.
    assert_ne!(
        endpoint.connections[0].client_ip,
        endpoint.connections[1].client_ip
    );
}

#[tokio::test]
async fn a_handler_without_a_lambda_url_is_a_test_mistake_not_a_refusal() {
    let emu = emulator(LambdaOptions::default()).await;
    wire(&emu).await;
    let e = emu.service().attempt(EP, attempt("bob")).await.unwrap_err();
    assert!(e.contains("--lambda-url"), "{e}");
    assert!(emu.service().snapshot().endpoints[0]
        .refused_connections
        .is_empty());
}
