//! Keeping a user out when parts fail: a hold that could not be written is written by the retry,
//! a table that is down or an item that cannot be read, a Terminate that never answers.

// The handler's future nests the AWS SDK's deep async stacks (see src/bin/cvpn-terminator/main.rs).

use crate::common::quarantine::*;
use crate::common::*;
use cvpn_terminator::domain::quarantine::OnStoreError;
use cvpn_terminator::domain::quarantine::SubjectKind;
use cvpn_terminator::shell::config::Quarantine;
use cvpn_terminator::shell::report::HoldOutcome;
use cvpn_terminator::{App, Config, Dynamo, Ec2, HandlerError};
use std::time::Duration;

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
                quarantine: Quarantine {
                    on_error,
                    ..config().quarantine
                },
                ..config()
            },
            api: Ec2::new(ec2_client(&h.emulator.url(), 2)).into(),
            store: Some(dead.clone()),
            notifiers: h.app.notifiers.clone(),
            directory: None,
        };
        let answer = connect(&app, Some("bob"), "shared.vpn.example.com").await;
        assert_eq!(allowed(&answer), allow, "{on_error:?}");
    }
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
async fn a_holds_end_alone_decides_whether_it_holds() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let moto = Moto::start();
    let h = with_table(config(), &moto, "ends").await;
    let now = chrono::Utc::now().timestamp();
    // Put by hand without a start time: dave's ended an hour ago, erin's ends in an hour.
    for (name, end) in [("dave", now - 3600), ("erin", now + 3600)] {
        moto.client()
            .put_item()
            .table_name("ends")
            .item(
                "pk",
                AttributeValue::S(format!("quarantine#username#{name}")),
            )
            .item("expiresAt", AttributeValue::N(end.to_string()))
            .send()
            .await
            .unwrap();
    }
    assert!(allowed(&connect(&h.app, Some("dave"), "dave").await));
    assert!(!allowed(&connect(&h.app, Some("erin"), "erin").await));
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
        }
        .into(),
        store: h.app.store.clone(),
        notifiers: h.app.notifiers.clone(),
        directory: None,
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

#[tokio::test]
async fn a_partial_listing_still_holds_the_person_named() {
    // Endpoint B cannot be listed: alice's sessions on A are ended, and she is held (holds are
    // central), so she is refused wherever she connects again while the retry waits.
    let moto = Moto::start();
    let h = with_table(config(), &moto, "partial").await;
    let faulty = h.without_listing(config(), EP_B);
    let e = faulty
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .unwrap_err();
    let HandlerError::Incomplete(r) = e else {
        panic!("{e}")
    };
    assert_eq!(r.terminated.len(), 2);
    assert!(
        r.quarantine
            .iter()
            .any(|hold| hold.kind == SubjectKind::Username && hold.name == "alice@example.com"),
        "{:?}",
        r.quarantine
    );
    assert!(!allowed(
        &connect(&h.app, Some("alice@example.com"), "shared.vpn.example.com").await
    ));
}
