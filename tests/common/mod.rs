//! Harness for tests that run the production path (aws-sdk-ec2 over HTTP) against the emulator.
#![allow(dead_code)] // each test crate uses its own subset

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_ec2::config::Credentials;
use cvpn_emulator::{
    ClockChange, ConnectionState, ConnectionStatus, Options, RunningEmulator, StateFile,
};
use cvpn_terminator::{App, Config, Ec2};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

pub const EP_A: &str = "cvpn-endpoint-0a1b2c3d4e5f60718";
pub const EP_B: &str = "cvpn-endpoint-0b1c2d3e4f5a60719";

pub fn events_dir() -> String {
    format!("{}/events", env!("CARGO_MANIFEST_DIR"))
}

pub fn event(name: &str) -> Value {
    let path = format!("{}/{name}", events_dir());
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

pub fn sample_state() -> StateFile {
    serde_json::from_value(event("emulator-state.json")).unwrap()
}

/// A connection ID in the samples' style: `tag` then the number, 17 hex digits in all.
pub fn cid(tag: &str, n: u32) -> String {
    format!("cvpn-connection-{:0>17}", format!("{tag}{n:x}"))
}

pub fn connection(id: String, user: Option<&str>, ip: &str) -> ConnectionState {
    ConnectionState {
        connection_id: id,
        username: user.map(str::to_owned),
        common_name: user.map(str::to_owned),
        client_ip: Some(ip.to_owned()),
        client_ipv6_address: None,
        status: ConnectionStatus::Active,
        status_message: None,
        connection_established_time: "2026-11-22T07:30:00Z".parse().unwrap(),
        connection_end_time: None,
        ingress_bytes: 1000,
        egress_bytes: 1000,
        ingress_packets: 0,
        egress_packets: 0,
        posture_compliance_status_set: vec![],
    }
}

/// The SDK as production builds it (adaptive retry), with backoff shortened so storms stay quick.
pub fn ec2_client(url: &str, max_attempts: u32) -> aws_sdk_ec2::Client {
    let config = aws_sdk_ec2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "example-secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(url)
        .retry_config(
            RetryConfig::adaptive()
                .with_max_attempts(max_attempts)
                .with_initial_backoff(Duration::from_millis(2))
                .with_max_backoff(Duration::from_millis(20)),
        )
        .build();
    aws_sdk_ec2::Client::from_conf(config)
}

pub struct Harness {
    pub emulator: RunningEmulator,
    pub app: App<Ec2>,
}

pub async fn harness(state: StateFile, config: Config) -> Harness {
    let emulator = cvpn_emulator::start(
        "127.0.0.1:0",
        state,
        Options {
            terminate_delay: Duration::from_secs(2),
            ..Options::default()
        },
    )
    .await
    .unwrap();
    emulator
        .service()
        .set_clock(&ClockChange {
            now: Some("2026-11-22T09:15:00Z".into()),
            ..Default::default()
        })
        .unwrap();
    let api = Ec2::new(ec2_client(&emulator.url(), config.max_attempts));
    Harness {
        emulator,
        app: App { config, api },
    }
}

impl Harness {
    /// IDs of every connection that is no longer active.
    pub fn ended(&self) -> BTreeSet<String> {
        self.emulator
            .service()
            .snapshot()
            .endpoints
            .iter()
            .flat_map(|e| e.connections.iter())
            .filter(|c| c.status != ConnectionStatus::Active)
            .map(|c| c.connection_id.clone())
            .collect()
    }
}

pub fn set(ids: &[String]) -> BTreeSet<String> {
    ids.iter().cloned().collect()
}
