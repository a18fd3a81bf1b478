//! A security account and two network accounts in three Regions, and the function deployed to act
//! in them (`CVPN_TARGETS`) as main builds it, every service (EC2 and STS) at the emulator.

use super::cid;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_ec2::config::Credentials;
use cvpn_emulator::{ConnectionStatus, Options, RunningEmulator, StateFile};
use cvpn_terminator::adapters::targets::ec2_targets;
use cvpn_terminator::domain::targets;
use cvpn_terminator::{App, Config, Dynamo, Response};
use serde_json::json;

pub const NETWORK: &str = "222233334444";
pub const BRANCH: &str = "333344445555";
pub const ROLE: &str = "cvpn-terminator-target";
pub const ALICE: &str = "alice@example.com";

pub fn endpoint(n: u32, users: &[&str]) -> serde_json::Value {
    let connections: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            json!({"connectionId": cid(&format!("{n}0"), i as u32 + 1), "username": u,
                   "clientIp": format!("10.100.{n}.{}", i + 2), "ingressBytes": 5_000_000,
                   "connectionEstablishedTime": "2026-11-22T08:00:00Z"})
        })
        .collect();
    json!({"clientVpnEndpointId": format!("cvpn-endpoint-{n:017x}"), "connections": connections})
}

/// The security account (the default) has dave's session; alice is connected in two network
/// accounts and three Regions, beside bob and carol.
pub fn fleet() -> StateFile {
    serde_json::from_value(json!({
        "endpoints": [endpoint(9, &["dave@example.com"])],
        "accounts": [
            {"accountId": NETWORK, "roles": [{"roleName": ROLE}], "regions": {
                "eu-west-1": {"endpoints": [endpoint(1, &[ALICE, "bob@example.com"])]},
                "us-east-1": {"endpoints": [endpoint(2, &[ALICE])]}}},
            {"accountId": BRANCH, "roles": [{"roleName": ROLE}], "regions": {
                "ap-southeast-2": {"endpoints": [endpoint(3, &[ALICE, "carol@example.com"])]}}}
        ]
    }))
    .unwrap()
}

pub fn role(account: &str, region: &str) -> String {
    format!("arn:aws:iam::{account}:role/{ROLE}@{region}")
}

pub struct Deployment {
    pub emulator: RunningEmulator,
    pub app: App<cvpn_terminator::Ec2, Dynamo>,
}

/// The function as main builds it, with `targets` for CVPN_TARGETS and every service (EC2 and
/// STS) at the emulator.
pub async fn deploy(targets: &[String], config: Config) -> Deployment {
    let emulator = cvpn_emulator::start("127.0.0.1:0", fleet(), Options::default())
        .await
        .unwrap();
    let app = app_at(&emulator, targets, config).await;
    Deployment { emulator, app }
}

/// Another deployment of the function at the same emulator (a retry that reaches other places).
pub async fn app_at(
    emulator: &RunningEmulator,
    targets: &[String],
    config: Config,
) -> App<cvpn_terminator::Ec2, Dynamo> {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(emulator.url())
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .load()
        .await;
    let config = Config {
        targets: targets::parse(targets).unwrap(),
        ..config
    };
    let api = ec2_targets(&sdk, &config.targets, None);
    App {
        config,
        api,
        store: None,
        // The emulator answers GetCallerIdentity: the function's own account.
        notifiers: cvpn_terminator::adapters::notify::Notifiers {
            sts: Some(cvpn_terminator::adapters::lazy::Lazy::ready(
                aws_sdk_sts::Client::new(&sdk),
            )),
            ..Default::default()
        },
        directory: None,
    }
}

pub fn everywhere() -> Vec<String> {
    vec![
        role(NETWORK, "eu-west-1"),
        role(NETWORK, "us-east-1"),
        role(BRANCH, "ap-southeast-2"),
    ]
}

/// Every connection's (account, Region, user, status).
pub fn statuses(d: &Deployment) -> Vec<(String, String, String, ConnectionStatus)> {
    let state = d.emulator.service().snapshot();
    let mut out = Vec::new();
    for account in &state.accounts {
        for (region, r) in &account.regions {
            for e in &r.endpoints {
                for c in &e.connections {
                    out.push((
                        account.account_id.clone(),
                        region.clone(),
                        c.username.clone().unwrap_or_default(),
                        c.status,
                    ));
                }
            }
        }
    }
    out
}

pub fn ended(d: &Deployment) -> Vec<(String, String, String)> {
    statuses(d)
        .into_iter()
        .filter(|s| s.3 != ConnectionStatus::Active)
        .map(|(a, r, u, _)| (a, r, u))
        .collect()
}

pub fn places(r: &Response) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = r
        .terminated
        .iter()
        .map(|e| (e.account.clone().unwrap(), e.region.clone().unwrap()))
        .collect();
    p.sort();
    p
}

/// Every ended session's (account, Region, user), sorted.
pub fn sorted_ended(d: &Deployment) -> Vec<(String, String, String)> {
    let mut gone = ended(d);
    gone.sort();
    gone
}

/// Alice's sessions in every place of the fleet, as [`sorted_ended`] lists them.
pub fn alice_everywhere() -> Vec<(String, String, String)> {
    [
        (NETWORK, "eu-west-1"),
        (NETWORK, "us-east-1"),
        (BRANCH, "ap-southeast-2"),
    ]
    .map(|(a, r)| (a.to_owned(), r.to_owned(), ALICE.to_owned()))
    .to_vec()
}
