//! Sweeps over several accounts and Regions (`CVPN_TARGETS`): every target swept, and the idle
//! tracks of other targets kept under keys that carry their account and Region.

#![recursion_limit = "256"]

mod common;

use common::fleet::*;
use common::*;
use cvpn_terminator::Config;
use serde_json::json;

#[tokio::test]
async fn a_sweep_ends_over_age_sessions_in_every_target() {
    let d = deploy(
        &everywhere(),
        Config {
            sweep: cvpn_terminator::domain::policy::SweepPolicy {
                limits: cvpn_terminator::domain::policy::Limits {
                    idle_minutes: None,
                    max_session_minutes: Some(60),
                },
                ..Default::default()
            },
            max_sweep_terminations: 100,
            ..Config::default()
        },
    )
    .await;
    d.emulator
        .service()
        .set_clock(&cvpn_emulator::ClockChange {
            now: Some("2026-11-22T12:00:00Z".into()),
            ..Default::default()
        })
        .unwrap();
    let tick = json!({"version": "0", "id": "tick-1", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "111122223333", "time": "2026-11-22T12:00:00Z",
        "region": "eu-west-1", "resources": [], "detail": {}});
    let r = d.app.handle(&tick).await.unwrap();
    // The five in the network accounts; this account is not among the targets, so dave stays.
    assert_eq!(r.terminated.len(), 5, "{:?}", r.errors);
    assert_eq!(ended(&d).len(), 5);
}

#[tokio::test]
async fn idle_tracks_carry_the_account_and_region_except_where_the_function_runs() {
    let moto = Moto::start();
    let mut targets = vec!["eu-west-1".to_owned()];
    targets.extend(everywhere());
    let mut d = deploy(
        &targets,
        Config {
            sweep: cvpn_terminator::domain::policy::SweepPolicy {
                limits: cvpn_terminator::domain::policy::Limits {
                    idle_minutes: Some(60),
                    max_session_minutes: None,
                },
                ..Default::default()
            },
            ..Config::default()
        },
    )
    .await;
    d.app.store = Some(moto.table("tracks").await);
    let tick = json!({"version": "0", "id": "tick-2", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "111122223333", "time": "2026-11-22T08:30:00Z",
        "region": "eu-west-1", "resources": [], "detail": {}});
    d.emulator
        .service()
        .set_clock(&cvpn_emulator::ClockChange {
            now: Some("2026-11-22T08:30:00Z".into()),
            ..Default::default()
        })
        .unwrap();
    let r = d.app.handle(&tick).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let items = moto
        .client()
        .scan()
        .table_name("tracks")
        .send()
        .await
        .unwrap();
    let mut keys: Vec<String> = items
        .items()
        .iter()
        .filter_map(|i| i.get("pk")?.as_s().ok().cloned())
        .collect();
    keys.sort();
    // Beside the tracks, the sweep of every place recorded where endpoints are.
    assert_eq!(keys.pop().as_deref(), Some("inventory"));
    let key =
        |prefix: &str, n: u32, i: u32| format!("connection#{prefix}{}", cid(&format!("{n}0"), i));
    let mut want = vec![
        key("", 9, 1),
        key("222233334444/eu-west-1/", 1, 1),
        key("222233334444/eu-west-1/", 1, 2),
        key("222233334444/us-east-1/", 2, 1),
        key("333344445555/ap-southeast-2/", 3, 1),
        key("333344445555/ap-southeast-2/", 3, 2),
    ];
    want.sort();
    assert_eq!(keys, want);
}
