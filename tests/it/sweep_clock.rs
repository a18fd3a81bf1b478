//! Sweeps own their clock and their thresholds: a payload cannot move time forward, make a dry run
//! write state, make a late tick judge a young connection idle, or lower the limits below what a
//! person configured. Through the handler, aws-sdk-ec2 against the emulator and moto's DynamoDB.

use crate::common::office::*;
use crate::common::*;
use cvpn_terminator::domain::model::Reason;
use cvpn_terminator::shell::config::Config;
use cvpn_terminator::{HandlerError, StateStore};
use serde_json::{json, Value};

/// The office connections that have an item in the state table.
async fn stored(h: &Harness) -> usize {
    let ids: Vec<String> = h
        .emulator
        .service()
        .snapshot()
        .endpoints
        .iter()
        .flat_map(|e| e.connections.iter().map(|c| c.connection_id.clone()))
        .collect();
    h.app
        .store
        .as_ref()
        .unwrap()
        .load(&ids)
        .await
        .unwrap()
        .len()
}

fn bad_event_path(err: &HandlerError) -> &str {
    match err {
        HandlerError::BadEvent(e) => e.path.as_str(),
        other => panic!("not a bad event: {other}"),
    }
}

#[tokio::test]
async fn a_tick_from_the_future_is_refused_and_changes_nothing() {
    let moto = Moto::start();
    let h = with_store(office(), sweep_config(), &moto, "future").await;
    set_clock(&h, "2026-11-22T09:40:00Z");
    for event in [
        json!({"Sweep": {"Time": "2099-01-01T00:00:00Z", "DryRun": true}}),
        tick("2099-01-01T00:00:00Z"),
    ] {
        let err = h.app.handle(&event).await.unwrap_err();
        assert!(
            ["event.Sweep.Time", "event.time"].contains(&bad_event_path(&err)),
            "{err}"
        );
    }
    assert_eq!(stored(&h).await, 0, "no activity mark written");
    assert_eq!(h.api_calls(), 0, "nothing listed or ended");
    // The next real tick judges as if the payloads had never come.
    let r = tick_at(&h, "2026-11-22T09:40:00Z").await;
    assert_eq!(ended_ids(&r), named(&["newbie", "marathon"]));
}

#[tokio::test]
async fn a_dry_run_reads_state_and_writes_none() {
    let moto = Moto::start();
    let h = with_store(office(), sweep_config(), &moto, "dry").await;
    set_clock(&h, "2026-11-22T09:00:00Z");
    let dry = json!({"Sweep": {"Time": "2026-11-22T09:00:00Z", "DryRun": true}});
    let r = h.app.handle(&dry).await.unwrap();
    assert!(r.dry_run && r.terminated.is_empty());
    assert_eq!(stored(&h).await, 0);
    assert!(h.ended().is_empty());
    tick_at(&h, "2026-11-22T09:00:00Z").await;
    assert!(stored(&h).await > 0, "a real tick does write");
}

#[tokio::test]
async fn a_late_tick_never_judges_a_connection_idle_from_before_it_existed() {
    let moto = Moto::start();
    let mut state = office();
    // Connected at 09:50 and busy: seen first by a tick that claims 09:00.
    state.endpoints[0]
        .connections
        .push(conn("late", 1, "2026-11-22T09:50:00Z", 90_000));
    let h = with_store(state, sweep_config(), &moto, "late").await;
    set_clock(&h, "2026-11-22T09:55:00Z");
    let r = h.app.handle(&tick("2026-11-22T09:00:00Z")).await.unwrap();
    assert!(!ended_ids(&r).contains(&cid(name_tag("late"), 1)));
    // At 10:00 it is ten minutes old: not idle for 30, whatever the late tick saw.
    let r = tick_at(&h, "2026-11-22T10:00:00Z").await;
    assert!(
        !ended_ids(&r).contains(&cid(name_tag("late"), 1)),
        "{:?}",
        r.terminated
    );
}

#[tokio::test]
async fn overrides_cannot_lower_limits_below_the_floor() {
    let moto = Moto::start();
    let h = with_store(office(), sweep_config(), &moto, "floor").await;
    set_clock(&h, "2026-11-22T09:40:00Z");
    let cases: [(Value, &str); 3] = [
        (
            json!({"Sweep": {"MaxSessionMinutes": 1}}),
            "event.Sweep.MaxSessionMinutes",
        ),
        (
            json!({"Sweep": {"IdleMinutes": 14}}),
            "event.Sweep.IdleMinutes",
        ),
        (
            json!({"Sweep": {"IdleBytes": 1000000000}}),
            "event.Sweep.IdleBytes",
        ),
    ];
    for (event, path) in cases {
        let err = h.app.handle(&event).await.unwrap_err();
        assert_eq!(bad_event_path(&err), path, "{event}");
    }
    assert!(h.ended().is_empty());
    assert_eq!(h.api_calls(), 0);
}

#[tokio::test]
async fn a_run_with_overridden_thresholds_is_capped_as_an_incident() {
    let moto = Moto::start();
    let config = Config {
        max_terminations: 1,
        ..sweep_config()
    };
    let h = with_store(office(), config, &moto, "capped").await;
    set_clock(&h, "2026-11-22T09:40:00Z");
    // Every connection is over 60 minutes old; the sweep ceiling (10,000) would let all go.
    let r = h
        .app
        .handle(&json!({"Sweep": {"Time": "2026-11-22T09:40:00Z", "MaxSessionMinutes": 60}}))
        .await
        .unwrap();
    assert_eq!(r.terminated.len(), 1);
    assert!(r.deferred.len() >= 3, "{:?}", r.deferred);
    assert!(r
        .deferred
        .iter()
        .all(|d| d.reason.map(Reason::as_str) == Some("ceiling")));
    assert_eq!(h.ended().len(), 1);
}

#[tokio::test]
async fn a_redelivered_tick_marks_activity_when_the_counters_were_read() {
    let moto = Moto::start();
    let h = with_store(office(), sweep_config(), &moto, "redelivered").await;
    tick_at(&h, "2026-11-22T09:00:00Z").await;
    // busy moves data until 09:59; the 09:20 tick is delivered again and runs at 10:00.
    traffic(&h, &[("busy", 50_000)]);
    set_clock(&h, "2026-11-22T10:00:00Z");
    h.app.handle(&tick("2026-11-22T09:20:00Z")).await.unwrap();
    // At 10:05 busy was last seen active at 10:00, not 09:20: not idle for 30 minutes.
    let r = tick_at(&h, "2026-11-22T10:05:00Z").await;
    assert!(
        !ended_ids(&r).contains(&cid(name_tag("busy"), 1)),
        "{:?}",
        r.terminated
    );
}
