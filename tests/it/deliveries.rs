//! Once per delivery, through moto's DynamoDB and the emulator: EventBridge may deliver an event
//! twice, even at once; the function acts on it once, and a failed invocation leaves nothing that
//! would stop Lambda's retry.

// The handler's future nests the AWS SDK's deep async stacks (see src/bin/cvpn-terminator/main.rs).

use crate::common::quarantine::*;
use crate::common::*;
use aws_sdk_dynamodb::types::AttributeValue;
use cvpn_terminator::domain::trigger::delivery::delivery;
use cvpn_terminator::{App, Ec2, HandlerError};

fn calls(h: &Harness, action: &str) -> u64 {
    h.emulator.service().stats()[action].calls
}

#[tokio::test]
async fn a_delivery_handled_already_is_answered_from_its_record() {
    let moto = Moto::start();
    let h = with_table(config(), &moto, "twice").await;
    let finding = event("guardduty-iam-assumed-role.json");
    let first = deliver(&h.app, &finding, "req-1").await.unwrap();
    assert_eq!(first.terminated.len(), 3);
    assert!(first.duplicate.is_none());
    let (describes, terminates) = (
        calls(&h, "DescribeClientVpnConnections"),
        calls(&h, "TerminateClientVpnConnections"),
    );
    let again = deliver(&h.app, &finding, "req-2").await.unwrap();
    let dup = again.duplicate.expect("a duplicate");
    assert_eq!(dup.event_id, finding["id"].as_str().unwrap());
    assert!(dup.summary.starts_with("3 terminated"), "{}", dup.summary);
    assert!(again.terminated.is_empty() && again.quarantine.is_empty() && again.api_calls == 0);
    assert_eq!(calls(&h, "DescribeClientVpnConnections"), describes);
    assert_eq!(calls(&h, "TerminateClientVpnConnections"), terminates);
    // A republished finding is a new event: it is acted on (alice has nothing left to end).
    let republished = deliver(&h.app, &anew(&finding, "republished"), "req-3")
        .await
        .unwrap();
    assert!(republished.duplicate.is_none());
}

#[tokio::test]
async fn two_deliveries_at_once_act_once() {
    let moto = Moto::start();
    let h = with_table(config(), &moto, "at-once").await;
    let finding = event("securityhub-imported.json");
    let (a, b) = futures::join!(
        deliver(&h.app, &finding, "req-a"),
        deliver(&h.app, &finding, "req-b")
    );
    // One acts; the other either fails as in progress (Lambda retries it later) or, if the first
    // finished before it looked, is answered as handled.
    let (acted, other) = match (a, b) {
        (Ok(a), other) if a.duplicate.is_none() => (a, other),
        (other, Ok(b)) if b.duplicate.is_none() => (b, other),
        (a, b) => panic!("neither acted: {a:?} {b:?}"),
    };
    assert_eq!(acted.terminated.len(), 1);
    match other {
        Err(HandlerError::InProgress { event_id }) => {
            assert_eq!(event_id, finding["id"].as_str().unwrap())
        }
        Ok(r) => assert!(r.duplicate.is_some()),
        Err(e) => panic!("{e}"),
    }
    // The retry of the one that failed is answered from the record.
    let retry = deliver(&h.app, &finding, "req-b").await.unwrap();
    assert!(retry.duplicate.is_some() && retry.api_calls == 0);
    assert_eq!(calls(&h, "TerminateClientVpnConnections"), 1);
    assert_eq!(h.ended().len(), 1);
}

#[tokio::test]
async fn a_failed_invocation_leaves_no_record_so_the_retry_acts() {
    let moto = Moto::start();
    let h = with_table(config(), &moto, "retry").await;
    let finding = event("guardduty-iam-assumed-role.json");
    // The first attempt cannot list endpoint B: it ends the two sessions it sees, and fails.
    let faulty = h.without_listing(config(), EP_B);
    let e = deliver(&faulty, &finding, "req-1").await.unwrap_err();
    assert!(matches!(e, HandlerError::Incomplete(_)), "{e}");
    assert_eq!(h.ended().len(), 2);
    // Lambda's retry: the same event and request, acted on: the third session, now seen.
    let retry = deliver(&h.app, &finding, "req-1").await.unwrap();
    assert!(retry.duplicate.is_none());
    assert_eq!(retry.terminated.len(), 1);
    assert_eq!(h.ended().len(), 3);
}

#[tokio::test]
async fn without_a_table_a_duplicate_is_acted_on_again_and_ends_nothing_more() {
    let h = harness(sample_state(), Default::default()).await;
    let finding = event("guardduty-iam-assumed-role.json");
    assert_eq!(h.app.handle(&finding).await.unwrap().terminated.len(), 3);
    let again = h.app.handle(&finding).await.unwrap();
    assert!(again.duplicate.is_none() && again.terminated.is_empty());
}

#[tokio::test]
async fn a_claim_left_by_a_dead_invocation_is_taken_over_by_its_retry_only() {
    use cvpn_terminator::adapters::state::deliveries::{Claim, DeliveryStore};
    let moto = Moto::start();
    let h = with_table(config(), &moto, "dead").await;
    let finding = event("guardduty-iam-assumed-role.json");
    let id = &delivery(&finding).unwrap();
    // Invocation req-1 claimed the event for a long time and died before acting.
    let now = chrono::Utc::now().timestamp();
    let store = h.app.store.as_ref().unwrap();
    assert_eq!(
        store.claim(id, "req-1", now, now + 600).await.unwrap(),
        Claim::Claimed
    );
    // Another delivery of the event fails, to be retried later.
    let e = deliver(&h.app, &finding, "req-2").await.unwrap_err();
    assert!(matches!(e, HandlerError::InProgress { .. }), "{e}");
    assert!(h.ended().is_empty());
    // Lambda's retry of req-1 takes its claim over and acts.
    let retry = deliver(&h.app, &finding, "req-1").await.unwrap();
    assert_eq!(retry.terminated.len(), 3);
    // A tick in the same situation answers (its work is the next tick's) instead of failing.
    let tick = tick("2026-11-22T09:15:00Z");
    let tick_id = &delivery(&tick).unwrap();
    store.claim(tick_id, "req-9", now, now + 600).await.unwrap();
    let r = deliver(&h.app, &tick, "req-10").await.unwrap();
    assert!(r.duplicate.is_some_and(|d| d.handled_at.is_none()));
}

#[tokio::test]
async fn dry_runs_and_command_line_runs_leave_no_record() {
    let moto = Moto::start();
    let h = with_table(config(), &moto, "dry").await;
    let finding = event("guardduty-iam-assumed-role.json");
    let dry = App {
        config: cvpn_terminator::Config {
            dry_run: true,
            ..config()
        },
        api: Ec2::new(ec2_client(&h.emulator.url(), 2)).into(),
        store: h.app.store.clone(),
        notifiers: h.app.notifiers.clone(),
        directory: None,
    };
    let r = deliver(&dry, &finding, "req-1").await.unwrap();
    assert_eq!(r.would_terminate.len(), 3);
    // The live run acts on the same event.
    let r = deliver(&h.app, &finding, "req-2").await.unwrap();
    assert_eq!(r.terminated.len(), 3);
    // `cvpn-terminator invoke` (no request ID) neither records nor is answered from the record.
    let again = h.app.handle(&finding).await.unwrap();
    assert!(again.duplicate.is_none());
}

#[tokio::test]
async fn another_event_reusing_an_id_is_acted_on_and_said_to_conflict() {
    let moto = Moto::start();
    let h = with_table(config(), &moto, "conflict").await;
    let alice = event("guardduty-iam-assumed-role.json");
    let first = deliver(&h.app, &alice, "req-1").await.unwrap();
    assert_eq!(first.terminated.len(), 3);
    assert!(first.delivery_conflict.is_none());
    // An edited copy: the same id, another person.
    let mut bob = alice.clone();
    bob["detail"]["resource"]["accessKeyDetails"]["principalId"] =
        serde_json::json!("AROAEXAMPLEEXAMPLE0001:bob");
    let second = deliver(&h.app, &bob, "req-2").await.unwrap();
    assert!(second.duplicate.is_none(), "{:?}", second.duplicate);
    assert_eq!(
        second
            .terminated
            .iter()
            .map(|e| e.username.as_deref().unwrap())
            .collect::<Vec<_>>(),
        ["bob"]
    );
    let conflict = second.delivery_conflict.expect("a delivery conflict");
    assert_eq!(conflict.event_id, alice["id"].as_str().unwrap());
    assert_eq!(conflict.digest, delivery(&bob).unwrap().digest);
    assert_eq!(conflict.earlier_digest, delivery(&alice).unwrap().digest);
    // Each is still its own delivery: redelivered, each is answered from its record.
    for (e, request) in [(&alice, "req-3"), (&bob, "req-4")] {
        let again = deliver(&h.app, e, request).await.unwrap();
        assert!(again.duplicate.is_some() && again.api_calls == 0);
    }
}

#[tokio::test]
async fn a_claim_nobody_holds_is_taken_over_and_a_live_one_is_not() {
    let moto = Moto::start();
    let h = with_table(config(), &moto, "stuck").await;
    let client = moto.client();
    let now = chrono::Utc::now().timestamp();
    let n = |v: i64| AttributeValue::N(v.to_string());
    // Claims as a crashed or older writer left them: no end, and no start or an old one; and a
    // claim with no end made a minute ago, whose invocation may still be running.
    let cases = [
        ("no-times", None, true),
        ("old", Some(n(now - 16 * 60)), true),
        ("live", Some(n(now - 60)), false),
    ];
    for (tag, claimed_at, taken_over) in cases {
        let finding = anew(&event("guardduty-iam-assumed-role.json"), tag);
        let d = delivery(&finding).unwrap();
        let mut put = client
            .put_item()
            .table_name("stuck")
            .item(
                "pk",
                AttributeValue::S(format!("delivery#{}#{}", d.id, d.digest)),
            )
            .item("kind", AttributeValue::S("delivery".into()))
            .item("state", AttributeValue::S("claimed".into()))
            .item("owner", AttributeValue::S("req-gone".into()));
        if let Some(at) = claimed_at {
            put = put.item("claimedAt", at);
        }
        put.send().await.unwrap();
        let r = deliver(&h.app, &finding, &format!("req-{tag}")).await;
        match (taken_over, r) {
            (true, Ok(r)) => assert!(r.duplicate.is_none(), "{tag}: {:?}", r.duplicate),
            (false, Err(HandlerError::InProgress { .. })) => {}
            (_, other) => panic!("{tag}: {other:?}"),
        }
    }
}
