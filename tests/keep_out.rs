//! Keeping a user out end to end: incidents and requests hold users in moto's DynamoDB, the connect
//! handler answers Client VPN's request from it (aws-sdk-ec2 against the emulator, where endpoints
//! are wired to the handler with ModifyClientVpnEndpoint).

// The handler's future nests the AWS SDK's deep async stacks (see src/bin/cvpn-terminator/main.rs).
#![recursion_limit = "256"]

mod common;

use aws_sdk_ec2::types::ClientConnectOptions;
use common::*;
use cvpn_terminator::config::{KeepOut, OnStoreError};
use cvpn_terminator::mapping::{CaseRule, NamePattern};
use cvpn_terminator::quarantine::{Subject, SubjectKind};
use cvpn_terminator::report::HoldOutcome;
use cvpn_terminator::{App, Config, Dynamo, Ec2, HandlerError, QuarantineStore};
use serde_json::{json, Value};
use std::time::Duration;

const HANDLER: &str = "arn:aws:lambda:eu-west-1:111122223333:function:AWSClientVPN-cvpn";
const ALICE: &str = "alice@example.com";
const GUARDDUTY_FINDING: &str = "6ec9f4b2d2a0f2a7b3e8c1d5f0a9e8b7";

fn config() -> Config {
    Config {
        state_table: Some("quarantine".into()),
        protected_users: vec![NamePattern::new("breakglass", CaseRule::Insensitive).unwrap()],
        keep_out: KeepOut {
            handler_arn: Some(HANDLER.into()),
            connect_timeout: Duration::from_millis(500),
            ..KeepOut::default()
        },
        ..Config::default()
    }
}

async fn with_table(config: Config, moto: &Moto, table: &str) -> Harness {
    let mut h = harness(sample_state(), config).await;
    h.app.store = Some(moto.table(table).await);
    h
}

/// Endpoint A calls the deployed handler; B calls none.
async fn wire_endpoint_a(h: &Harness) {
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
async fn connect<A: cvpn_terminator::ClientVpnApi>(
    app: &App<A, Dynamo>,
    user: Option<&str>,
    cn: &str,
) -> Value {
    let request = json!({
        "connection-id": "cvpn-connection-0000000000c0ffee1", "endpoint-id": EP_A,
        "common-name": cn, "username": user.unwrap_or(""), "platform": "macos",
        "platform-version": "15.1", "public-ip": "198.51.100.44",
        "client-openvpn-version": "2.6.12", "schema-version": "v1"
    });
    let answer = app.answer(&request, None).await.unwrap();
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

fn allowed(answer: &Value) -> bool {
    answer["allow"].as_bool().unwrap()
}

#[tokio::test]
async fn a_finding_keeps_its_user_out_until_a_person_releases_them() {
    let moto = Moto::start();
    let h = with_table(config(), &moto, "story").await;
    wire_endpoint_a(&h).await;

    let response = h
        .app
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .unwrap();
    assert_eq!(response.terminated.len(), 3);
    let [hold] = response.quarantine.as_slice() else {
        panic!("{:?}", response.quarantine)
    };
    assert_eq!(
        (hold.kind, hold.name.as_str()),
        (SubjectKind::Username, ALICE)
    );
    assert_eq!(hold.outcome, HoldOutcome::Placed);
    assert_eq!(hold.finding_id.as_deref(), Some(GUARDDUTY_FINDING));
    // Endpoint B would let alice back in, and the response says so.
    assert_eq!(response.unenforced.len(), 1);
    assert_eq!(response.unenforced[0].endpoint_id, EP_B);

    let refused = connect(&h.app, Some("Alice@Example.com"), "shared.vpn.example.com").await;
    assert!(!allowed(&refused));
    assert!(refused["error-msg-on-failed-posture-compliance"]
        .as_str()
        .unwrap()
        .contains("suspended"));
    assert!(allowed(
        &connect(&h.app, Some("bob"), "shared.vpn.example.com").await
    ));

    let release =
        json!({"Release": {"Username": "ALICE@example.com", "RequestedBy": "soc@example.com"}});
    let response = h.app.handle(&release).await.unwrap();
    let [released] = response.quarantine.as_slice() else {
        panic!()
    };
    assert_eq!(released.outcome, HoldOutcome::Released);
    assert_eq!(released.requested_by.as_deref(), Some("soc@example.com"));
    assert_eq!(released.finding_id.as_deref(), Some(GUARDDUTY_FINDING));
    assert!(allowed(
        &connect(&h.app, Some(ALICE), "shared.vpn.example.com").await
    ));
    let again = h.app.handle(&release).await.unwrap();
    assert_eq!(again.quarantine[0].outcome, HoldOutcome::NotHeld);
}

#[tokio::test]
async fn a_quarantine_extends_and_never_shortens() {
    let moto = Moto::start();
    let h = with_table(config(), &moto, "extend").await;
    let hold = |minutes: u32| json!({"Quarantine": {"Username": "heidi", "Minutes": minutes, "Reason": "INC-9"}});
    let outcome = |r: cvpn_terminator::Response| r.quarantine[0].outcome;
    assert_eq!(
        outcome(h.app.handle(&hold(600)).await.unwrap()),
        HoldOutcome::Placed
    );
    assert_eq!(
        outcome(h.app.handle(&hold(60)).await.unwrap()),
        HoldOutcome::Kept
    );
    assert_eq!(
        outcome(h.app.handle(&hold(1200)).await.unwrap()),
        HoldOutcome::Extended
    );
    let store = h.app.store.as_ref().unwrap();
    let stored = store.list().await.unwrap();
    let [held] = stored.as_slice() else {
        panic!("{stored:?}")
    };
    assert_eq!(held.until - held.since, 1200 * 60);
    assert_eq!(held.reason, "INC-9");
    // A finding about heidi later keeps the longer hold.
    let subject = Subject::new(SubjectKind::Username, "HEIDI", CaseRule::Insensitive);
    assert_eq!(store.holds(&[subject]).await.unwrap().len(), 1);
}

#[tokio::test]
async fn protected_users_dry_runs_and_bad_requests_hold_nobody() {
    let moto = Moto::start();
    let h = with_table(config(), &moto, "nobody").await;
    let e = h
        .app
        .handle(&json!({"Quarantine": {"Username": "BreakGlass"}}))
        .await
        .unwrap_err();
    let HandlerError::BadEvent(e) = e else {
        panic!("{e}")
    };
    assert_eq!(e.path, "event.Quarantine.Username");
    assert!(e.message.contains("protected"), "{e}");

    let dry = App {
        config: Config {
            dry_run: true,
            ..config()
        },
        api: Ec2::new(ec2_client(&h.emulator.url(), 2)),
        store: h.app.store.clone(),
    };
    let response = dry
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .unwrap();
    assert_eq!(response.would_terminate.len(), 3);
    assert!(response.quarantine.is_empty());

    let off = App {
        config: Config {
            keep_out: KeepOut {
                quarantine_minutes: 0,
                ..config().keep_out
            },
            ..config()
        },
        api: Ec2::new(ec2_client(&h.emulator.url(), 2)),
        store: h.app.store.clone(),
    };
    let response = off
        .handle(&event("securityhub-imported.json"))
        .await
        .unwrap();
    assert_eq!(response.terminated.len(), 1);
    assert!(response.quarantine.is_empty() && response.unenforced.is_empty());
    let e = off
        .handle(&json!({"Quarantine": {"Username": "bob"}}))
        .await
        .unwrap_err();
    let HandlerError::BadEvent(e) = e else {
        panic!("{e}")
    };
    assert_eq!(e.path, "event.Quarantine.Minutes");
    assert!(h
        .app
        .store
        .as_ref()
        .unwrap()
        .list()
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn certificate_users_are_held_by_common_name_even_when_a_retry_finishes_the_work() {
    let moto = Moto::start();
    let mut h = harness(sample_state(), config()).await;
    // The first attempt's table does not exist: the connection is ended, the hold fails, and the
    // invocation fails so that Lambda retries it.
    h.app.store = Some(Dynamo::new(moto.client(), "missing"));
    let finding = event("guardduty-ec2-vpn-client-ip.json");
    let e = h.app.handle(&finding).await.unwrap_err();
    let HandlerError::Incomplete(first) = e else {
        panic!("{e}")
    };
    assert_eq!(first.terminated.len(), 1);
    assert_eq!(first.errors[0].action, "PutItem");
    assert_eq!(first.errors[0].code, "ResourceNotFoundException");
    // The retry finds the connection already ending and holds its certificate.
    h.app.store = Some(moto.table("retry").await);
    let retry = h.app.handle(&finding).await.unwrap();
    assert!(retry.terminated.is_empty());
    let [hold] = retry.quarantine.as_slice() else {
        panic!("{retry:?}")
    };
    assert_eq!(
        (hold.kind, hold.name.as_str()),
        (SubjectKind::CommonName, "carol.devices.example.com")
    );
    assert!(!allowed(
        &connect(&h.app, None, "Carol.Devices.example.com").await
    ));
}

#[tokio::test]
async fn a_store_outage_is_decided_by_the_setting_and_never_errors() {
    let moto = Moto::start();
    let h = with_table(config(), &moto, "outage").await;
    let dead = {
        let gone = Moto::start();
        let store = gone.table("gone").await;
        drop(gone);
        store
    };
    for (on_error, allow) in [(OnStoreError::Allow, true), (OnStoreError::Deny, false)] {
        let app = App {
            config: Config {
                keep_out: KeepOut {
                    on_error,
                    ..config().keep_out
                },
                ..config()
            },
            api: Ec2::new(ec2_client(&h.emulator.url(), 2)),
            store: Some(dead.clone()),
        };
        let answer = connect(&app, Some("bob"), "shared.vpn.example.com").await;
        assert_eq!(allowed(&answer), allow, "{on_error:?}");
    }
}

#[tokio::test]
async fn the_per_user_limit_refuses_a_connection_beyond_it() {
    let moto = Moto::start();
    let h = with_table(
        Config {
            keep_out: KeepOut {
                max_connections_per_user: Some(2),
                ..config().keep_out
            },
            ..config()
        },
        &moto,
        "limit",
    )
    .await;
    // frank has two connections on endpoint A, bob one.
    let frank = connect(&h.app, Some("frank"), "shared.vpn.example.com").await;
    assert!(!allowed(&frank));
    assert!(frank["error-msg-on-failed-posture-compliance"]
        .as_str()
        .unwrap()
        .contains("2 VPN connection"));
    assert!(allowed(
        &connect(&h.app, Some("bob"), "shared.vpn.example.com").await
    ));
}

/// The custom action sample with one finding per user, each finding its own ID.
fn custom_action_for(users: &[&str]) -> Value {
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

#[tokio::test]
async fn a_finding_naming_more_users_than_the_cap_holds_nobody_and_fails() {
    let moto = Moto::start();
    let h = with_table(
        Config {
            max_terminations: 2,
            ..config()
        },
        &moto,
        "many",
    )
    .await;
    // Three users, none of them connected: nothing to end, three to hold.
    let e = h
        .app
        .handle(&custom_action_for(&["offline1", "offline2", "offline3"]))
        .await
        .unwrap_err();
    let HandlerError::Incomplete(r) = e else {
        panic!("{e}")
    };
    assert!(r.quarantine.is_empty(), "{:?}", r.quarantine);
    assert_eq!(r.errors[0].code, "CapExceeded");
    assert!(h
        .app
        .store
        .as_ref()
        .unwrap()
        .list()
        .await
        .unwrap()
        .is_empty());
    // Two fit.
    let r = h
        .app
        .handle(&custom_action_for(&["offline1", "offline2"]))
        .await
        .unwrap();
    assert_eq!(r.quarantine.len(), 2);
}

#[tokio::test]
async fn a_released_user_is_not_held_again_by_the_same_finding_but_is_by_a_new_one() {
    let moto = Moto::start();
    let h = with_table(config(), &moto, "released").await;
    let finding = event("guardduty-iam-assumed-role.json");
    h.app.handle(&finding).await.unwrap();
    let release = json!({"Release": {"Username": ALICE, "RequestedBy": "soc@example.com"}});
    h.app.handle(&release).await.unwrap();
    // GuardDuty publishes the same finding again (or EventBridge delivers it twice).
    let again = h.app.handle(&finding).await.unwrap();
    let [entry] = again.quarantine.as_slice() else {
        panic!("{:?}", again.quarantine)
    };
    assert_eq!(entry.outcome, HoldOutcome::NotHeld);
    assert!(
        entry.reason.as_deref().unwrap().contains("soc@example.com"),
        "{entry:?}"
    );
    assert!(allowed(
        &connect(&h.app, Some(ALICE), "shared.vpn.example.com").await
    ));
    // Another finding about alice holds her again.
    let mut other = finding.clone();
    other["detail"]["id"] = json!("0000aaaa1111bbbb2222cccc3333dddd");
    let r = h.app.handle(&other).await.unwrap();
    assert_eq!(r.quarantine[0].outcome, HoldOutcome::Placed);
    assert!(!allowed(
        &connect(&h.app, Some(ALICE), "shared.vpn.example.com").await
    ));
}

#[tokio::test]
async fn a_certificate_others_connect_with_is_never_held() {
    let moto = Moto::start();
    let mut state = sample_state();
    // carol's certificate is the one every contractor laptop uses.
    let mut twin = connection(cid("c0c0", 1), None, "10.200.0.50");
    twin.common_name = Some("CAROL.devices.example.com".into());
    state.endpoints[1].connections.push(twin);
    let mut h = harness(state, config()).await;
    h.app.store = Some(moto.table("shared").await);
    let r = h
        .app
        .handle(&event("guardduty-ec2-vpn-client-ip.json"))
        .await
        .unwrap();
    assert_eq!(r.terminated.len(), 1);
    let [entry] = r.quarantine.as_slice() else {
        panic!("{:?}", r.quarantine)
    };
    assert_eq!(entry.outcome, HoldOutcome::NotHeld);
    assert!(entry
        .reason
        .as_deref()
        .unwrap()
        .contains("shared certificate"));
    assert!(allowed(
        &connect(&h.app, None, "carol.devices.example.com").await
    ));
}

#[tokio::test]
async fn an_unreadable_quarantine_item_still_holds() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let moto = Moto::start();
    let h = with_table(config(), &moto, "unreadable").await;
    // Put by hand, with the time as a string: meant to keep bob out.
    moto.client()
        .put_item()
        .table_name("unreadable")
        .item("pk", AttributeValue::S("quarantine#username#bob".into()))
        .item("expiresAt", AttributeValue::S("tomorrow".into()))
        .send()
        .await
        .unwrap();
    assert!(!allowed(
        &connect(&h.app, Some("BOB"), "shared.vpn.example.com").await
    ));
}

#[tokio::test]
async fn holds_are_stored_while_terminate_calls_are_still_out() {
    let moto = Moto::start();
    let h = with_table(config(), &moto, "meanwhile").await;
    // Terminate never answers: only the deadline ends the calls. The hold does not wait for them.
    let app = App {
        config: Config {
            deadline_margin: Duration::from_secs(1),
            ..config()
        },
        api: Faulty {
            unanswered: true,
            ..Faulty::new(Ec2::new(ec2_client(&h.emulator.url(), 2)))
        },
        store: h.app.store.clone(),
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    let e = app
        .handle_until(&event("guardduty-iam-assumed-role.json"), Some(deadline))
        .await
        .unwrap_err();
    let HandlerError::Incomplete(r) = e else {
        panic!("{e}")
    };
    assert!(r.terminated.is_empty());
    assert_eq!(r.quarantine[0].outcome, HoldOutcome::Placed);
    assert!(!allowed(
        &connect(&h.app, Some(ALICE), "shared.vpn.example.com").await
    ));
}
