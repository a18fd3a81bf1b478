//! Keeping a user out end to end: incidents and requests hold users in moto's DynamoDB, the connect
//! handler answers Client VPN's request from it (aws-sdk-ec2 against the emulator, where endpoints
//! are wired to the handler with ModifyClientVpnEndpoint).

// The handler's future nests the AWS SDK's deep async stacks (see src/bin/cvpn-terminator/main.rs).

use crate::common::quarantine::*;
use crate::common::*;
use cvpn_terminator::domain::model::Reason;
use cvpn_terminator::domain::quarantine::{Subject, SubjectKind};
use cvpn_terminator::shell::config::Quarantine;
use cvpn_terminator::shell::report::HoldOutcome;
use cvpn_terminator::{Config, HandlerError, QuarantineStore};
use serde_json::json;

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
    let subject = Subject::new(SubjectKind::Username, "HEIDI", &Default::default());
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

    let dry = app_with(
        &h,
        Config {
            dry_run: true,
            ..config()
        },
    );
    let response = dry
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .unwrap();
    assert_eq!(response.would_terminate.len(), 3);
    assert!(response.quarantine.is_empty());

    let off = app_with(
        &h,
        Config {
            quarantine: Quarantine {
                quarantine_minutes: 0,
                ..config().quarantine
            },
            ..config()
        },
    );
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
    assert!(holds(&h).await.is_empty());
}

#[tokio::test]
async fn the_per_user_limit_refuses_a_connection_beyond_it() {
    let moto = Moto::start();
    let h = with_table(
        Config {
            quarantine: Quarantine {
                max_connections_per_user: Some(2),
                ..config().quarantine
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
    assert!(holds(&h).await.is_empty());
    // Two fit.
    let r = h
        .app
        .handle(&custom_action_for(&["offline1", "offline2"]))
        .await
        .unwrap();
    assert_eq!(r.quarantine.len(), 2);
}

#[tokio::test]
async fn a_released_user_is_neither_ended_nor_held_again_by_the_same_findings() {
    let moto = Moto::start();
    let h = with_table(config(), &moto, "released").await;
    let finding = event("guardduty-iam-assumed-role.json");
    // A second finding about alice, through Security Hub: it extends (or keeps) the same hold.
    let mut second = anew(&finding, "second");
    second["detail"]["id"] = json!("0000aaaa1111bbbb2222cccc3333dddd");
    h.app.handle(&finding).await.unwrap();
    h.app.handle(&second).await.unwrap();
    let release = json!({"Release": {"Username": ALICE, "RequestedBy": "soc@example.com"}});
    h.app.handle(&release).await.unwrap();
    // alice connects again; then GuardDuty publishes both findings again (or EventBridge delivers
    // them twice).
    h.emulator
        .service()
        .upsert_connections(
            EP_A,
            vec![connection(cid("a11ce", 9), Some(ALICE), "10.100.9.9")],
        )
        .unwrap();
    for f in [&finding, &second] {
        let again = h.app.handle(&anew(f, "republished")).await.unwrap();
        assert!(again.terminated.is_empty(), "{again:?}");
        assert!(again.skipped.iter().any(
            |e| e.reason == Some(Reason::Released) && e.connection_id == Some(cid("a11ce", 9))
        ));
        let [entry] = again.quarantine.as_slice() else {
            panic!("{:?}", again.quarantine)
        };
        assert_eq!(entry.outcome, HoldOutcome::NotHeld);
        assert!(
            entry.reason.as_deref().unwrap().contains("soc@example.com"),
            "{entry:?}"
        );
    }
    assert!(!h.ended().contains(&cid("a11ce", 9)));
    assert!(allowed(
        &connect(&h.app, Some(ALICE), "shared.vpn.example.com").await
    ));
    // A new finding about alice ends her session and holds her again.
    let mut other = anew(&finding, "other");
    other["detail"]["id"] = json!("ffff0000eeee1111dddd2222cccc3333");
    let r = h.app.handle(&other).await.unwrap();
    assert_eq!(ids(&r.terminated), set(&[cid("a11ce", 9)]));
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
async fn a_release_spares_no_one_a_new_finding_or_new_activity_names() {
    let moto = Moto::start();
    let h = with_table(config(), &moto, "newer").await;
    let reconnect = |n: u32| {
        h.emulator
            .service()
            .upsert_connections(
                EP_A,
                vec![connection(
                    cid("da7e", n),
                    Some("dave"),
                    &format!("10.100.8.{n}"),
                )],
            )
            .unwrap();
    };
    h.app.handle(&custom_action_for(&["dave"])).await.unwrap();
    h.app
        .handle(&json!({"Release": {"Username": "dave", "RequestedBy": "soc@example.com"}}))
        .await
        .unwrap();
    // One event with the released finding and a new one, both naming dave.
    reconnect(2);
    let r = h
        .app
        .handle(&anew(&custom_action_for(&["dave", "dave"]), "both"))
        .await
        .unwrap();
    assert_eq!(ids(&r.terminated), set(&[cid("da7e", 2)]), "{r:?}");
    assert_eq!(r.quarantine[0].outcome, HoldOutcome::Placed);

    // The GuardDuty finding about alice, released; then GuardDuty publishes it again with activity
    // seen after the release.
    let finding = event("guardduty-iam-assumed-role.json");
    h.app.handle(&finding).await.unwrap();
    h.app
        .handle(&json!({"Release": {"Username": ALICE}}))
        .await
        .unwrap();
    h.emulator
        .service()
        .upsert_connections(
            EP_A,
            vec![connection(cid("a11ce", 7), Some(ALICE), "10.100.7.7")],
        )
        .unwrap();
    let mut active_again = anew(&finding, "active-again");
    let later = (chrono::Utc::now() + chrono::TimeDelta::minutes(1)).to_rfc3339();
    active_again["detail"]["service"]["eventLastSeen"] = json!(later);
    let r = h.app.handle(&active_again).await.unwrap();
    assert_eq!(ids(&r.terminated), set(&[cid("a11ce", 7)]), "{r:?}");
    assert_eq!(r.quarantine[0].outcome, HoldOutcome::Placed);
}

#[tokio::test]
async fn holding_again_after_a_hold_expired_keeps_nothing_of_the_old_one() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let moto = Moto::start();
    let h = with_table(config(), &moto, "stale").await;
    // An expired hold DynamoDB has not deleted yet, from an old finding and a person.
    moto.client()
        .put_item()
        .table_name("stale")
        .item("pk", AttributeValue::S("quarantine#username#heidi".into()))
        .item("kind", AttributeValue::S("quarantine".into()))
        .item("subjectKind", AttributeValue::S("username".into()))
        .item("name", AttributeValue::S("heidi".into()))
        .item("since", AttributeValue::N("1000".into()))
        .item("expiresAt", AttributeValue::N("2000".into()))
        .item("reason", AttributeValue::S("old".into()))
        .item("findingId", AttributeValue::S("old-finding".into()))
        .item("findingIds", AttributeValue::Ss(vec!["old-finding".into()]))
        .item(
            "requestedBy",
            AttributeValue::S("someone@example.com".into()),
        )
        .send()
        .await
        .unwrap();
    let r = h
        .app
        .handle(&json!({"Quarantine": {"Username": "heidi", "Minutes": 30, "Reason": "INC-8"}}))
        .await
        .unwrap();
    assert_eq!(r.quarantine[0].outcome, HoldOutcome::Placed);
    let [held] = holds(&h).await.try_into().unwrap();
    assert_eq!(
        (held.reason.as_str(), held.finding_id, held.requested_by),
        ("INC-8", None, None)
    );
    assert!(held.findings.is_empty());
}
