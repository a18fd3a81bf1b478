//! The office the sweep tests run in: a few connections with readable names, the policy they are
//! judged by, and helpers to move the emulator's clock and counters.

use super::*;
use cvpn_emulator::{ClockChange, EndpointState, TrafficChange};
use cvpn_terminator::domain::person::People;
use cvpn_terminator::domain::policy::{Limits, SweepPolicy};
use cvpn_terminator::domain::scope::Scope;
use cvpn_terminator::Response;
use std::collections::BTreeSet;

pub fn conn(name: &str, n: u32, established: &str, bytes: u64) -> ConnectionState {
    let mut c = connection(cid(name_tag(name), n), Some(name), &format!("10.100.1.{n}"));
    c.connection_established_time = established.parse().unwrap();
    c.ingress_bytes = bytes / 2;
    c.egress_bytes = bytes - bytes / 2;
    c
}

/// Hex tags for readable IDs.
pub fn name_tag(name: &str) -> &'static str {
    match name {
        "busy" => "b05e",
        "quiet" => "901e7",
        "newbie" => "7eb1e",
        "marathon" => "3a7a",
        "breakglass" => "b4ea6",
        "svc-backup" => "5bac",
        _ => "f",
    }
}

pub fn endpoint(id: &str, connections: Vec<ConnectionState>) -> EndpointState {
    EndpointState {
        client_vpn_endpoint_id: id.into(),
        client_cidr_block: "10.100.0.0/16".into(),
        description: None,
        status: "available".into(),
        vpc_id: None,
        client_connect_options: None,
        connections,
        refused_connections: vec![],
    }
}

/// busy and quiet have moved plenty; newbie has moved almost nothing since 08:55; marathon has been
/// connected since the evening before; breakglass is protected; svc-backup is under the extended policy.
pub fn office() -> StateFile {
    StateFile {
        endpoints: vec![endpoint(
            EP_A,
            vec![
                conn("busy", 1, "2026-11-22T07:00:00Z", 100_000),
                conn("quiet", 1, "2026-11-22T07:00:00Z", 100_000),
                conn("newbie", 1, "2026-11-22T08:55:00Z", 500),
                conn("marathon", 1, "2026-11-21T20:00:00Z", 900_000),
                conn("breakglass", 1, "2026-11-22T07:00:00Z", 100_000),
                conn("svc-backup", 1, "2026-11-22T07:00:00Z", 100_000),
            ],
        )],
        ..StateFile::default()
    }
}

pub fn sweep_config() -> Config {
    Config {
        scope: Scope::endpoints(vec![EP_A.into()]),
        protected_users: vec![People::default().pattern("breakglass").unwrap()],
        sweep: SweepPolicy {
            limits: Limits {
                idle_minutes: Some(30),
                max_session_minutes: Some(720),
            },
            idle_bytes: 10_000,
            extended_users: vec![People::default().pattern("svc-*").unwrap()],
            extended: Limits {
                idle_minutes: None,
                max_session_minutes: Some(2880),
            },
            people: People::default(),
        },
        state_table: Some("unused: the test passes its store".into()),
        max_sweep_terminations: 10_000,
        max_attempts: 8,
        concurrency: 16,
        ..Config::default()
    }
}

pub async fn with_store(state: StateFile, config: Config, moto: &Moto, table: &str) -> Harness {
    let mut h = harness(state, config).await;
    h.app.store = Some(moto.table(table).await);
    h
}

pub fn set_clock(h: &Harness, time: &str) {
    h.emulator
        .service()
        .set_clock(&ClockChange {
            now: Some(time.into()),
            ..Default::default()
        })
        .unwrap();
}

pub fn traffic(h: &Harness, changes: &[(&str, u64)]) {
    let changes: Vec<TrafficChange> = changes
        .iter()
        .map(|(name, bytes)| TrafficChange {
            connection_id: cid(name_tag(name), 1),
            add_ingress_bytes: *bytes,
            ..Default::default()
        })
        .collect();
    h.emulator.service().change_traffic(&changes).unwrap();
}

pub fn ended_ids(r: &Response) -> BTreeSet<String> {
    r.terminated
        .iter()
        .filter_map(|e| e.connection_id.clone())
        .collect()
}

pub fn named(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| cid(name_tag(n), 1)).collect()
}

pub async fn tick_at(h: &Harness, time: &str) -> Response {
    set_clock(h, time);
    h.app
        .handle(&tick(time))
        .await
        .unwrap_or_else(|e| panic!("tick {time}: {e}"))
}
