//! Shared by the quarantine tests: the settings, a table on moto, wiring an endpoint to the handler,
//! and asking the handler as Client VPN does.

use super::*;
use aws_sdk_ec2::types::ClientConnectOptions;
use cvpn_terminator::domain::person::People;
use cvpn_terminator::shell::config::Quarantine;
use cvpn_terminator::{App, ClientVpnApi, Config, Dynamo, Ec2};
use serde_json::{json, Value};
use std::time::Duration;

pub const HANDLER: &str = "arn:aws:lambda:eu-west-1:111122223333:function:AWSClientVPN-cvpn";
pub const ALICE: &str = "alice@example.com";
pub const GUARDDUTY_FINDING: &str = "6ec9f4b2d2a0f2a7b3e8c1d5f0a9e8b7";

pub fn config() -> Config {
    Config {
        state_table: Some("quarantine".into()),
        protected_users: vec![People::default().pattern("breakglass").unwrap()],
        quarantine: Quarantine {
            handler_arn: Some(HANDLER.into()),
            connect_timeout: Duration::from_millis(500),
            ..Quarantine::default()
        },
        ..Config::default()
    }
}

pub async fn with_table(config: Config, moto: &Moto, table: &str) -> Harness {
    let mut h = harness(sample_state(), config).await;
    h.app.store = Some(moto.table(table).await);
    h
}

/// Endpoint A calls the deployed handler; B calls none.
pub async fn wire_endpoint_a(h: &Harness) {
    ec2_client(&h.emulator.url(), 2)
        .modify_client_vpn_endpoint()
        .client_vpn_endpoint_id(EP_A)
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

/// What the handler answers Client VPN for a client with these names.
pub async fn connect<A: ClientVpnApi>(app: &App<A, Dynamo>, user: Option<&str>, cn: &str) -> Value {
    let request = json!({
        "connection-id": "cvpn-connection-0000000000c0ffee1", "endpoint-id": EP_A,
        "common-name": cn, "username": user.unwrap_or(""), "platform": "macos",
        "platform-version": "15.1", "public-ip": "198.51.100.44",
        "client-openvpn-version": "2.6.12", "schema-version": "v1"
    });
    let answer = app.answer(&request, Default::default()).await.unwrap();
    // Client VPN refuses an answer missing any of these.
    for field in [
        "allow",
        "error-msg-on-failed-posture-compliance",
        "posture-compliance-statuses",
        "schema-version",
    ] {
        assert!(
            answer.get(field).is_some_and(|v| !v.is_null()),
            "{field}: {answer}"
        );
    }
    answer
}

pub fn allowed(answer: &Value) -> bool {
    answer["allow"].as_bool().unwrap()
}

/// The custom action sample with one finding per user, each finding its own ID.
pub fn custom_action_for(users: &[&str]) -> Value {
    let mut e = event("securityhub-custom-action.json");
    let template = e["detail"]["findings"][0].clone();
    e["detail"]["findings"] = users
        .iter()
        .enumerate()
        .map(|(i, user)| {
            let mut f = template.clone();
            f["Id"] = json!(format!("{}-{i}", template["Id"].as_str().unwrap()));
            f["Resources"][0]["Details"]["AwsIamAccessKey"]["PrincipalName"] = json!(user);
            f["Resources"][0]["Details"]["AwsIamAccessKey"]["UserName"] = json!(user);
            f
        })
        .collect();
    e
}

/// The harness's app with other settings, on the same emulator and table.
pub fn app_with(h: &Harness, config: Config) -> App<Ec2, Dynamo> {
    App {
        config,
        api: Ec2::new(ec2_client(&h.emulator.url(), 2)).into(),
        store: h.app.store.clone(),
        notifiers: h.app.notifiers.clone(),
        directory: None,
    }
}

/// What the harness's table holds.
pub async fn holds(h: &Harness) -> Vec<cvpn_terminator::domain::quarantine::Hold> {
    use cvpn_terminator::QuarantineStore;
    h.app.store.as_ref().unwrap().list().await.unwrap()
}
