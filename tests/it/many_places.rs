//! Many places: sweeps over several accounts and Regions (`CVPN_TARGETS`), every target swept and
//! the idle tracks of other targets kept under keys that carry their account and Region; the
//! inventory of where endpoints are, which a sweep records and incidents go by; and an
//! organization's accounts as the targets, through moto's AWS Organizations.

use crate::common::fleet::*;
use crate::common::*;
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

/// The fleet, and a place that has no endpoint (the network account's Tokyo Region).
fn with_an_empty_place() -> Vec<String> {
    let mut targets = everywhere();
    targets.push(role(NETWORK, "ap-northeast-1"));
    targets
}

/// A sweep's policy that ends nothing here: it lists every place, and so makes the inventory.
fn sweeping() -> Config {
    Config {
        sweep: cvpn_terminator::domain::policy::SweepPolicy {
            limits: cvpn_terminator::domain::policy::Limits {
                idle_minutes: None,
                max_session_minutes: Some(500_000),
            },
            ..Default::default()
        },
        ..Config::default()
    }
}

fn describes(d: &Deployment) -> u64 {
    d.emulator.service().stats()["DescribeClientVpnEndpoints"].calls
}

#[tokio::test]
async fn a_sweep_records_where_endpoints_are_and_incidents_go_straight_there() {
    let moto = Moto::start();
    let table = moto.table("inventory").await;
    let mut d = deploy(&with_an_empty_place(), sweeping()).await;
    d.app.store = Some(table.clone());
    // Without an inventory an incident lists all four places.
    let finding = event("guardduty-iam-assumed-role.json");
    let r = d.app.handle(&anew(&finding, "before")).await.unwrap();
    assert_eq!(r.terminated.len(), 3);
    assert_eq!(describes(&d), 4);
    // A sweep lists every place and records which have endpoints.
    let r = d.app.handle(&event("scheduled-event.json")).await.unwrap();
    assert!(r.terminated.is_empty());
    assert_eq!(describes(&d), 8);
    use cvpn_terminator::adapters::state::inventory::InventoryStore;
    let inventory = table.inventory().await.unwrap().expect("recorded");
    assert_eq!(
        inventory.empty.iter().collect::<Vec<_>>(),
        [&format!("{NETWORK}/ap-northeast-1")]
    );
    assert_eq!(inventory.endpoints.len(), 3);
    // A cold function reads it from the table and lists only the three places with endpoints.
    let mut cold = app_at(&d.emulator, &with_an_empty_place(), sweeping()).await;
    cold.store = Some(table.clone());
    let r = cold.handle(&anew(&finding, "after")).await.unwrap();
    assert_eq!(describes(&d), 11);
    // alice was ended by the first incident: the second sees her sessions ended, in each place.
    assert!(r.terminated.is_empty());
}

#[tokio::test]
async fn an_inventory_over_an_hour_old_is_not_used() {
    use cvpn_terminator::adapters::state::inventory::InventoryStore;
    use cvpn_terminator::domain::inventory::Inventory;
    let moto = Moto::start();
    let table = moto.table("stale").await;
    // Every place but one seen empty, two hours ago: were it used, alice would be missed.
    let at = chrono::Utc::now().timestamp() - 2 * 60 * 60;
    let empty: Vec<cvpn_terminator::domain::model::Place> =
        cvpn_terminator::domain::targets::parse(&everywhere())
            .unwrap()
            .into_iter()
            .map(|spec| spec.place)
            .collect();
    table
        .record_inventory(&Inventory::seen(at, &empty, &[]))
        .await
        .unwrap();
    let mut d = deploy(&everywhere(), Config::default()).await;
    d.app.store = Some(table);
    d.app
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .unwrap();
    assert_eq!(describes(&d), 3);
    assert_eq!(sorted_ended(&d), alice_everywhere());
}

/// An organization at moto: a root, a `network` unit with a `branch` unit below it, and accounts
/// in each (one of them closed, so suspended), and one account at the root.
struct Org {
    client: aws_sdk_organizations::Client,
    network: String,
    accounts: std::collections::BTreeMap<&'static str, String>,
}

async fn organization(moto: &Moto) -> Org {
    use aws_sdk_organizations::types::OrganizationFeatureSet;
    let client = aws_sdk_organizations::Client::new(&moto.sdk());
    client
        .create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let root = client.list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_owned();
    let unit = |parent: String, name: &'static str| {
        let client = client.clone();
        async move {
            let out = client
                .create_organizational_unit()
                .parent_id(parent)
                .name(name)
                .send()
                .await
                .unwrap();
            out.organizational_unit().unwrap().id().unwrap().to_owned()
        }
    };
    let network = unit(root.clone(), "network").await;
    let branch = unit(network.clone(), "branch").await;
    let mut accounts = std::collections::BTreeMap::new();
    for (name, parent) in [
        ("hub", Some(&network)),
        ("closed", Some(&network)),
        ("branch", Some(&branch)),
        ("sandbox", None),
    ] {
        let made = client
            .create_account()
            .account_name(name)
            .email(format!("{name}@example.com"))
            .send()
            .await
            .unwrap();
        let id = made
            .create_account_status()
            .unwrap()
            .account_id()
            .unwrap()
            .to_owned();
        if let Some(parent) = parent {
            client
                .move_account()
                .account_id(&id)
                .source_parent_id(&root)
                .destination_parent_id(parent)
                .send()
                .await
                .unwrap();
        }
        accounts.insert(name, id);
    }
    client
        .close_account()
        .account_id(&accounts["closed"])
        .send()
        .await
        .unwrap();
    Org {
        client,
        network,
        accounts,
    }
}

fn reach(units: Vec<String>) -> cvpn_terminator::domain::organization::Reach {
    cvpn_terminator::domain::organization::Reach {
        regions: vec!["eu-west-1".into(), "us-east-1".into()],
        units,
        role_name: ROLE.into(),
        reader_role: None,
        partition: "aws".into(),
        excluded: vec![],
    }
}

#[tokio::test]
async fn the_active_accounts_of_the_named_units_at_any_depth_are_the_targets_and_are_kept() {
    use cvpn_terminator::adapters::organization::Organization;
    use cvpn_terminator::adapters::state::organization::OrganizationStore;
    use cvpn_terminator::shell::organization::start_targets;
    let moto = Moto::start();
    let org = organization(&moto).await;
    let table = moto.table("org").await;
    let api = Organization::new(org.client.clone());
    let specs = start_targets(&reach(vec![org.network.clone()]), &api, &table, None)
        .await
        .unwrap();
    let mut places: Vec<(String, String)> = specs
        .iter()
        .map(|s| (s.place.label(), s.role_arn.clone().unwrap()))
        .collect();
    places.sort();
    // The hub and the branch below it, in both Regions; not the closed account, nor the sandbox at
    // the root.
    let mut want: Vec<(String, String)> = ["hub", "branch"]
        .iter()
        .flat_map(|name| {
            let id = org.accounts[name].clone();
            ["eu-west-1", "us-east-1"].map(move |region| {
                (
                    format!("{id}/{region}"),
                    format!("arn:aws:iam::{id}:role/{ROLE}"),
                )
            })
        })
        .collect();
    want.sort();
    assert_eq!(places, want);
    let kept = table.known().await.unwrap().unwrap();
    let mut ids = vec![org.accounts["hub"].clone(), org.accounts["branch"].clone()];
    ids.sort();
    assert_eq!(kept.accounts, ids);
    // The next start reads the kept accounts: Organizations is not asked (here it cannot be).
    let gone = Organization::new(aws_sdk_organizations::Client::from_conf(
        aws_sdk_organizations::config::Builder::from(&moto.sdk())
            .endpoint_url("http://127.0.0.1:9")
            .build(),
    ));
    let again = start_targets(&reach(vec![org.network.clone()]), &gone, &table, None)
        .await
        .unwrap();
    assert_eq!(again, specs);
    // Nothing kept and Organizations unreachable: no targets, and why.
    let empty = moto.table("org-empty").await;
    let e = start_targets(&reach(vec![]), &gone, &empty, None)
        .await
        .unwrap_err();
    assert!(e.contains("could not be listed"), "{e}");
}

#[tokio::test]
async fn the_whole_organization_reaches_its_own_account_without_a_role() {
    use cvpn_terminator::adapters::organization::Organization;
    use cvpn_terminator::shell::organization::start_targets;
    let moto = Moto::start();
    let org = organization(&moto).await;
    let table = moto.table("org-whole").await;
    let own = org.accounts["sandbox"].clone();
    let specs = start_targets(
        &reach(vec![]),
        &Organization::new(org.client.clone()),
        &table,
        Some(&own),
    )
    .await
    .unwrap();
    let mine: Vec<_> = specs.iter().filter(|s| s.role_arn.is_none()).collect();
    assert_eq!(mine.len(), 2, "{specs:?}");
    assert!(mine.iter().all(|s| s.place.account.is_none()));
    // Every active account: the management account moto made, the hub, the branch, the sandbox.
    let accounts: std::collections::BTreeSet<_> = specs
        .iter()
        .filter_map(|s| s.place.account.clone())
        .collect();
    assert_eq!(accounts.len(), 3, "{accounts:?}");
    assert!(!accounts.contains(&org.accounts["closed"]));
}

#[tokio::test]
async fn a_sweep_lists_the_organization_again_once_the_kept_list_is_an_hour_old() {
    use cvpn_terminator::adapters::organization::Organization;
    use cvpn_terminator::adapters::state::organization::OrganizationStore;
    use cvpn_terminator::domain::organization::Known;
    let moto = Moto::start();
    let org = organization(&moto).await;
    let table = moto.table("org-refresh").await;
    let old = Known {
        at: chrono::Utc::now().timestamp() - 2 * 60 * 60,
        accounts: vec!["999999999999".into()],
    };
    table.keep(&old).await.unwrap();
    let mut d = deploy(
        &everywhere(),
        Config {
            organization: Some(reach(vec![org.network.clone()])),
            ..sweeping()
        },
    )
    .await;
    d.app.store = Some(table.clone());
    d.app
        .api
        .set_organization(Organization::new(org.client.clone()));
    let r = d.app.handle(&event("scheduled-event.json")).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let kept = table.known().await.unwrap().unwrap();
    let mut ids = vec![org.accounts["hub"].clone(), org.accounts["branch"].clone()];
    ids.sort();
    assert_eq!(kept.accounts, ids);
    assert!(kept.at > old.at);
    // Fresh now: the next tick leaves it.
    d.app
        .handle(&anew(&event("scheduled-event.json"), "next"))
        .await
        .unwrap();
    assert_eq!(table.known().await.unwrap().unwrap().at, kept.at);
}
