//! Every decision holds under partial failures and a world that moves between listing and
//! Terminate: a person is ended where they can be seen, the cap holds across the retries of a
//! partial picture and for everything a call can end, and a
//! targeted user's connection that stays up is reported. Through the handler, aws-sdk-ec2 and the
//! emulator.

use crate::common::*;
use cvpn_terminator::{Config, HandlerError, Response};
use serde_json::json;

#[tokio::test]
async fn a_partial_listing_ends_what_it_sees_and_the_retry_cannot_spend_the_cap_again() {
    // alice has two connections on endpoint A and one on B; the cap is 2.
    let config = Config {
        max_terminations: 2,
        ..Config::default()
    };
    // The table keeps what the partial attempt ended, for its retries to count.
    let moto = Moto::start();
    let mut h = harness(sample_state(), config.clone()).await;
    h.app.store = Some(moto.table("partial").await);
    let flaky = h.without_listing(config.clone(), EP_B);
    let finding = event("guardduty-iam-assumed-role.json");
    let err = flaky.handle(&finding).await.unwrap_err();
    let HandlerError::Incomplete(r) = &err else {
        panic!("{err}")
    };
    // The evidence names a person: the two it could see are ended, and the invocation fails so
    // that Lambda retries.
    assert_eq!(h.ended().len(), 2, "{:?}", h.ended());
    assert_eq!(r.terminated.len(), 2);
    assert_eq!(r.errors[0].endpoint_id.as_deref(), Some(EP_B));
    // Lambda's retry, with the listing working again, sees the third: with the two this event
    // ended already that is over the cap, so nothing more ends.
    let err = h.app.handle(&finding).await.unwrap_err();
    assert!(
        matches!(
            err,
            HandlerError::CapExceeded {
                planned: 3,
                cap: 2,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(h.ended().len(), 2);
}

/// Ends frank's sessions while he connects again between the listing and Terminate; the new
/// connection's ID and the handler's answer.
async fn frank_connects_again(h: &Harness) -> (String, Result<Response, HandlerError>) {
    let late = cid("f4a4c", 3);
    let late_connection = connection(late.clone(), Some("frank"), "10.100.0.30");
    let answer = handle_meanwhile(
        h,
        move |service| {
            service
                .upsert_connections(EP_A, vec![late_connection.clone()])
                .unwrap();
        },
        json!({"Username": "frank"}),
    )
    .await;
    (late, answer)
}

#[tokio::test]
async fn a_username_call_reports_what_it_ended_beyond_the_plan() {
    let h = harness(sample_state(), Config::default()).await;
    let (late, answer) = frank_connects_again(&h).await;
    let r = answer.unwrap();
    let planned = set(&[cid("f4a4c", 1), cid("f4a4c", 2)]);
    assert_eq!(ids(&r.terminated), planned);
    assert_eq!(ids(&r.unplanned), set(std::slice::from_ref(&late)));
    assert_eq!(h.ended(), set(&[cid("f4a4c", 1), cid("f4a4c", 2), late]));
}

#[tokio::test]
async fn without_room_under_the_cap_a_user_is_ended_one_by_one_and_what_is_left_is_reported() {
    // frank's two connections, a cap of 4: a Username call could end five, so one by one.
    let config = Config {
        max_terminations: 4,
        ..Config::default()
    };
    let h = harness(sample_state(), config).await;
    let (late, answer) = frank_connects_again(&h).await;
    let err = answer.unwrap_err();
    let HandlerError::Incomplete(r) = &err else {
        panic!("{err}")
    };
    let planned = set(&[cid("f4a4c", 1), cid("f4a4c", 2)]);
    assert_eq!(ids(&r.terminated), planned);
    assert_eq!(h.ended(), planned, "never more than the plan");
    assert!(r.unplanned.is_empty());
    assert_eq!(ids(&r.left_active), set(&[late]));
    assert_eq!(
        h.emulator.service().stats()["TerminateClientVpnConnections"].calls,
        2
    );
}

#[tokio::test]
async fn a_retry_cannot_spend_the_cap_again() {
    // alice's three connections, a cap of three: the first delivery ends all three.
    let config = Config {
        max_terminations: 3,
        ..Config::default()
    };
    let h = harness(sample_state(), config).await;
    let finding = event("guardduty-iam-assumed-role.json");
    let r = h.app.handle(&finding).await.unwrap();
    assert_eq!(r.terminated.len(), 3);
    // Her clients reconnect twice; the same event comes again (a retry or a second delivery).
    let again: Vec<_> = (4..=5)
        .map(|i| connection(cid("a11ce", i), Some("alice@example.com"), "10.100.0.40"))
        .collect();
    h.emulator
        .service()
        .upsert_connections(EP_A, again)
        .unwrap();
    let err = h.app.handle(&finding).await.unwrap_err();
    // Three ended since the event plus two new ones is more than three: nothing more ends.
    assert!(
        matches!(
            err,
            HandlerError::CapExceeded {
                planned: 5,
                cap: 3,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(h.ended().len(), 3);
}

#[tokio::test]
async fn a_retry_with_nothing_left_to_end_is_no_cap_refusal() {
    let config = Config {
        max_terminations: 3,
        ..Config::default()
    };
    let h = harness(sample_state(), config).await;
    let finding = event("guardduty-iam-assumed-role.json");
    assert_eq!(h.app.handle(&finding).await.unwrap().terminated.len(), 3);
    // Another of her sessions ended by itself since the event: four ended in all, none active.
    let mut gone = connection(cid("a11ce", 9), Some("alice@example.com"), "10.100.0.41");
    gone.status = cvpn_emulator::ConnectionStatus::Terminated;
    gone.connection_end_time = Some("2026-11-22T09:14:00Z".parse().unwrap());
    h.emulator
        .service()
        .upsert_connections(EP_A, vec![gone])
        .unwrap();
    let r = h.app.handle(&finding).await.unwrap();
    assert!(r.terminated.is_empty());
    assert_eq!(h.ended().len(), 4);
}
