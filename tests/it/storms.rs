//! The incident path under throttling and server-error storms on Terminate: every target is
//! accounted for, none lost, through the shell's paced retries (`shell/pace.rs`) against the
//! emulator.

use crate::common::*;
use cvpn_emulator::{ActionFaults, Faults, Throttle};
use cvpn_terminator::{Config, HandlerError};
use serde_json::json;

/// Every Terminate call meets `storm`.
fn storm_on_terminate(h: &Harness, storm: ActionFaults) {
    let actions = [("TerminateClientVpnConnections".to_owned(), storm)].into();
    h.emulator
        .service()
        .set_faults(Faults { seed: 5, actions })
        .unwrap();
}

#[tokio::test]
async fn a_throttling_storm_loses_no_termination() {
    let config = Config {
        max_attempts: 3,
        ..Config::default()
    };
    let h = harness(with_user("mallory", "3a11", 8), config).await;
    let storm = ActionFaults {
        throttle: Some(Throttle {
            bucket: 3.0,
            refill_per_second: 0.0,
        }),
        ..Default::default()
    };
    storm_on_terminate(&h, storm);
    let err = h
        .app
        .handle(&json!({"Username": "mallory"}))
        .await
        .unwrap_err();
    let HandlerError::Incomplete(r) = err else {
        panic!()
    };
    assert_eq!(
        r.terminated.len() + r.failed.len(),
        8,
        "every planned termination is accounted for"
    );
    assert_eq!(r.terminated.len(), 3);
    assert!(r
        .failed
        .iter()
        .all(|f| f.error_code.as_deref() == Some("RequestLimitExceeded")));
    assert_eq!(h.ended(), ids(&r.terminated));
    // A bucket that never refills is waited out a few seconds, with probes ever further apart,
    // not hammered: each of the five calls was tried again, but no more than a few dozen times.
    let stats = terminate_stats(&h);
    assert!(
        (5 * 2..=5 * 30).contains(&stats.throttled),
        "{} throttled tries",
        stats.throttled
    );
}

#[tokio::test]
async fn a_server_error_storm_loses_no_termination() {
    let config = Config {
        max_attempts: 3,
        ..Config::default()
    };
    let h = harness(sample_state(), config).await;
    let storm = ActionFaults {
        error_rate: 1.0,
        ..Default::default()
    };
    storm_on_terminate(&h, storm);
    let err = h
        .app
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .unwrap_err();
    let HandlerError::Incomplete(r) = err else {
        panic!()
    };
    assert!(r.terminated.is_empty());
    assert_eq!(
        ids(&r.failed),
        set(&[cid("a11ce", 1), cid("a11ce", 2), cid("a11ce", 3)])
    );
    assert!(r
        .failed
        .iter()
        .all(|f| f.error_code.as_deref() == Some("InternalError")));
    assert_eq!(
        terminate_stats(&h).failed,
        2 + 3 * 3,
        "two Username calls sent once each, then the three connections by ID, each tried three times"
    );
    assert!(h.ended().is_empty());
}

#[tokio::test]
async fn a_dry_run_under_throttling_is_paced_like_a_live_one() {
    // DryRunOperation is EC2's "it would go through": it takes a token like a live call, and a
    // dry run must not report as failed what the live run would end.
    let config = Config {
        dry_run: true,
        max_attempts: 2,
        ..Config::default()
    };
    let h = harness(with_user("mallory", "3a11", 8), config).await;
    storm_on_terminate(
        &h,
        ActionFaults {
            throttle: Some(Throttle {
                bucket: 2.0,
                refill_per_second: 20.0,
            }),
            ..Default::default()
        },
    );
    let r = h
        .app
        .handle(&json!({"Username": "mallory", "Reason": "INC-7"}))
        .await
        .expect("every dry-run call permitted in the end");
    assert_eq!(r.would_terminate.len(), 8, "{r:?}");
    assert!(r.failed.is_empty());
    assert!(terminate_stats(&h).throttled > 0, "the bucket did throttle");
    assert!(h.ended().is_empty());
}
