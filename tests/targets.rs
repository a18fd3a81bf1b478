//! One deployment acting in several accounts and Regions (`CVPN_TARGETS`), through the real SDKs:
//! aws-config's assume-role provider asks the emulator's STS for each network account's role, and
//! each target's EC2 client signs for its Region, so the emulator answers with that account's and
//! Region's endpoints only.

#![recursion_limit = "256"]

mod common;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_ec2::config::Credentials;
use common::binary::run;
use common::*;
use cvpn_emulator::{ConnectionStatus, Options, RunningEmulator, StateFile};
use cvpn_terminator::adapters::targets::ec2_targets;
use cvpn_terminator::domain::targets;
use cvpn_terminator::{App, Config, Dynamo, HandlerError, Response};
use serde_json::json;
use std::collections::BTreeSet;

const NETWORK: &str = "222233334444";
const BRANCH: &str = "333344445555";
const ROLE: &str = "cvpn-terminator-target";
const ALICE: &str = "alice@example.com";

fn endpoint(n: u32, users: &[&str]) -> serde_json::Value {
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
fn fleet() -> StateFile {
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

fn role(account: &str, region: &str) -> String {
    format!("arn:aws:iam::{account}:role/{ROLE}@{region}")
}

struct Deployment {
    emulator: RunningEmulator,
    app: App<cvpn_terminator::Ec2, Dynamo>,
}

/// The function as main builds it, with `targets` for CVPN_TARGETS and every service (EC2 and
/// STS) at the emulator.
async fn deploy(targets: &[String], config: Config) -> Deployment {
    let emulator = cvpn_emulator::start("127.0.0.1:0", fleet(), Options::default())
        .await
        .unwrap();
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
    let api = ec2_targets(&sdk, &config.targets, None).await;
    Deployment {
        emulator,
        app: App {
            config,
            api,
            store: None,
            notifiers: Default::default(),
        },
    }
}

fn everywhere() -> Vec<String> {
    vec![
        role(NETWORK, "eu-west-1"),
        role(NETWORK, "us-east-1"),
        role(BRANCH, "ap-southeast-2"),
    ]
}

/// Every connection's (account, Region, user, status).
fn statuses(d: &Deployment) -> Vec<(String, String, String, ConnectionStatus)> {
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

fn ended(d: &Deployment) -> Vec<(String, String, String)> {
    statuses(d)
        .into_iter()
        .filter(|s| s.3 != ConnectionStatus::Active)
        .map(|(a, r, u, _)| (a, r, u))
        .collect()
}

fn places(r: &Response) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = r
        .terminated
        .iter()
        .map(|e| (e.account.clone().unwrap(), e.region.clone().unwrap()))
        .collect();
    p.sort();
    p
}

#[tokio::test]
async fn a_finding_ends_alice_in_two_accounts_and_three_regions_at_once() {
    let d = deploy(&everywhere(), Config::default()).await;
    let r = d
        .app
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .unwrap();
    assert_eq!(
        places(&r),
        [
            (NETWORK, "eu-west-1"),
            (NETWORK, "us-east-1"),
            (BRANCH, "ap-southeast-2"),
        ]
        .map(|(a, r)| (a.to_owned(), r.to_owned()))
    );
    let mut gone = ended(&d);
    gone.sort();
    assert_eq!(
        gone,
        [
            (NETWORK, "eu-west-1"),
            (NETWORK, "us-east-1"),
            (BRANCH, "ap-southeast-2"),
        ]
        .map(|(a, r)| (a.to_owned(), r.to_owned(), ALICE.to_owned()))
    );
    // One role per target, assumed once each.
    assert_eq!(d.emulator.service().stats()["AssumeRole"].calls, 3);
}

#[tokio::test]
async fn a_target_whose_role_is_missing_fails_the_incident_and_ends_nothing() {
    let mut targets = everywhere();
    targets.push(role("444455556666", "eu-west-1"));
    let d = deploy(&targets, Config::default()).await;
    let e = d
        .app
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .unwrap_err();
    let HandlerError::Incomplete(r) = e else {
        panic!("expected an incomplete picture")
    };
    assert!(r.terminated.is_empty());
    let failed = r
        .errors
        .iter()
        .find(|e| e.place.account.as_deref() == Some("444455556666"))
        .expect("the missing role's target is named");
    assert_eq!(failed.action, "DescribeClientVpnEndpoints");
    assert!(ended(&d).is_empty(), "{:?}", ended(&d));
}

#[tokio::test]
async fn the_cap_counts_across_targets() {
    let d = deploy(
        &everywhere(),
        Config {
            max_terminations: 2,
            ..Config::default()
        },
    )
    .await;
    let e = d
        .app
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            HandlerError::CapExceeded {
                planned: 3,
                cap: 2,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(ended(&d).is_empty());
}

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
async fn a_direct_request_may_narrow_to_an_account_and_a_region() {
    let d = deploy(&everywhere(), Config::default()).await;
    let request = |fields: serde_json::Value| {
        let mut e = json!({"Username": ALICE});
        e.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        e
    };
    let r = d
        .app
        .handle(&request(json!({"AccountId": BRANCH})))
        .await
        .unwrap();
    assert_eq!(
        places(&r),
        [(BRANCH.to_owned(), "ap-southeast-2".to_owned())]
    );
    let r = d
        .app
        .handle(&request(
            json!({"AccountId": NETWORK, "Region": "us-east-1"}),
        ))
        .await
        .unwrap();
    assert_eq!(places(&r), [(NETWORK.to_owned(), "us-east-1".to_owned())]);
    assert_eq!(ended(&d).len(), 2);
    // The function's own account has no role target: naming it is a mistake, and changes nothing.
    let e = d
        .app
        .handle(&request(json!({"AccountId": "111122223333"})))
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("event.AccountId"), "{e:?}");
    assert_eq!(ended(&d).len(), 2);
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

#[tokio::test]
async fn invoke_acts_in_another_account_through_sts_and_logs_where() {
    let mut state = sample_state();
    state.accounts.push(
        serde_json::from_value(serde_json::json!({
            "accountId": "222233334444",
            "roles": [{"roleName": "cvpn-terminator-target"}],
            "regions": {"eu-west-1": {"endpoints": [{
                "clientVpnEndpointId": "cvpn-endpoint-00000000000000bbb",
                "connections": [{"connectionId": cid("bbb", 1), "username": "alice@example.com",
                                 "connectionEstablishedTime": "2026-11-22T08:00:00Z"}]}]}}
        }))
        .unwrap(),
    );
    let h = harness(state, Default::default()).await;
    let url = h.emulator.url();
    let r = run(
        &url,
        &[
            "invoke",
            "--event",
            "events/guardduty-iam-assumed-role.json",
        ],
        &[
            ("AWS_ENDPOINT_URL_STS", url.as_str()),
            (
                "CVPN_TARGETS",
                "eu-west-1,arn:aws:iam::222233334444:role/cvpn-terminator-target@eu-west-1",
            ),
            ("CVPN_EXTERNAL_ID", "not-asked-by-this-role"),
        ],
        None,
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(h.emulator.service().stats()["AssumeRole"].calls, 1);
    let places: BTreeSet<(String, String, String)> = r
        .logs
        .iter()
        .filter(|l| l["event"] == "connection_status")
        .map(|l| {
            (
                l["account"].as_str().unwrap_or("own").to_owned(),
                l["region"].as_str().unwrap_or_default().to_owned(),
                l["connection_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let own = |n| ("own".to_owned(), "eu-west-1".to_owned(), cid("a11ce", n));
    assert_eq!(
        places,
        BTreeSet::from([
            own(1),
            own(2),
            own(3),
            (
                "222233334444".to_owned(),
                "eu-west-1".to_owned(),
                cid("bbb", 1)
            ),
        ])
    );
}

#[tokio::test]
async fn endpoints_elsewhere_enforce_the_quarantine_through_their_own_handler() {
    let moto = Moto::start();
    let mut d = deploy(
        &everywhere(),
        Config {
            state_table: Some("holds".into()),
            ..Config::default()
        },
    )
    .await;
    d.app.store = Some(moto.table("holds").await);
    let mut state = fleet();
    let handler = |region: &str, account: &str| {
        serde_json::from_value(json!({"enabled": true, "lambdaFunctionArn":
            format!("arn:aws:lambda:{region}:{account}:function:AWSClientVPN-cvpn-terminator")}))
        .unwrap()
    };
    // Endpoint 1 calls its own account's handler; endpoint 2 one in another account.
    let regions = &mut state.accounts[0].regions;
    regions.get_mut("eu-west-1").unwrap().endpoints[0].client_connect_options =
        Some(handler("eu-west-1", NETWORK));
    regions.get_mut("us-east-1").unwrap().endpoints[0].client_connect_options =
        Some(handler("us-east-1", BRANCH));
    d.emulator.service().replace_state(state).unwrap();
    let r = d
        .app
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .unwrap();
    let unenforced: Vec<(String, String)> = r
        .unenforced
        .iter()
        .map(|u| (u.endpoint_id.clone(), u.place.label()))
        .collect();
    assert_eq!(
        unenforced,
        [
            (
                format!("cvpn-endpoint-{:017x}", 2),
                format!("{NETWORK}/us-east-1")
            ),
            (
                format!("cvpn-endpoint-{:017x}", 3),
                format!("{BRANCH}/ap-southeast-2")
            ),
        ]
    );
}
