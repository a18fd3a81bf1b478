//! A tick's sweep split into children (a Step Functions Distributed Map's): the request for the
//! tick's places, children that sweep only the places they name, and the tick's ceiling, which
//! every sweep of the tick shares through the state table.

use crate::common::fleet::*;
use crate::common::*;
use cvpn_terminator::Config;
use serde_json::json;

fn child(tick: &str, targets: serde_json::Value) -> serde_json::Value {
    json!({"Sweep": {"Time": tick, "MaxSessionMinutes": 60, "Targets": targets}})
}

fn places_of(tick: &str) -> serde_json::Value {
    json!({"Places": {"Time": tick}})
}

#[tokio::test]
async fn the_places_a_tick_lists_are_what_its_children_sweep() {
    let moto = Moto::start();
    let mut d = deploy(&everywhere(), Config::default()).await;
    let tick = "2026-11-22T20:00:00Z";
    // Without the state table the children could not share the tick's ceiling.
    let e = d.app.handle(&places_of(tick)).await.unwrap_err();
    assert!(e.to_string().contains("CVPN_STATE_TABLE"), "{e}");
    d.app.store = Some(moto.table("split").await);
    let answer = d
        .app
        .answer(&places_of(tick), Default::default())
        .await
        .unwrap();
    let listed = &answer["places"];
    assert_eq!(listed["time"], json!(tick));
    let targets: Vec<String> = serde_json::from_value(listed["targets"].clone()).unwrap();
    assert_eq!(
        targets,
        [
            format!("{NETWORK}/eu-west-1"),
            format!("{NETWORK}/us-east-1"),
            format!("{BRANCH}/ap-southeast-2"),
        ]
    );
    assert!(ended(&d).is_empty(), "listing ends nothing");
    // One child a place: together they end what the sweep of every place would.
    for place in &targets {
        d.app.handle(&child(tick, json!([place]))).await.unwrap();
    }
    let at = |account: &str, region: &str, user: &str| {
        (account.to_owned(), region.to_owned(), user.to_owned())
    };
    assert_eq!(
        sorted_ended(&d),
        [
            at(NETWORK, "eu-west-1", ALICE),
            at(NETWORK, "eu-west-1", "bob@example.com"),
            at(NETWORK, "us-east-1", ALICE),
            at(BRANCH, "ap-southeast-2", ALICE),
            at(BRANCH, "ap-southeast-2", "carol@example.com"),
        ]
    );
}

#[tokio::test]
async fn a_function_of_its_own_place_lists_it_by_region() {
    let moto = Moto::start();
    let mut d = deploy(&[], Config::default()).await;
    d.app.store = Some(moto.table("own").await);
    let tick = "2026-11-22T20:00:00Z";
    let r = d.app.handle(&places_of(tick)).await.unwrap();
    let listed = r.places.expect("the places");
    assert_eq!(
        (listed.targets.as_slice(), listed.refused),
        (&["eu-west-1".to_owned()][..], 0)
    );
    // The child of that place sweeps it: dave, in the function's own account.
    let swept = d
        .app
        .handle(&child(tick, json!(listed.targets)))
        .await
        .unwrap();
    assert_eq!(swept.terminated.len(), 1, "{swept:?}");
}

#[tokio::test]
async fn a_child_sweep_sweeps_only_the_places_it_names() {
    let moto = Moto::start();
    let mut d = deploy(&everywhere(), Config::default()).await;
    // Without the state table a child cannot share its tick's ceiling: it is refused.
    let tick = "2026-11-22T20:00:00Z";
    let e = d
        .app
        .handle(&child(tick, json!([format!("{NETWORK}/us-east-1")])))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("CVPN_STATE_TABLE"), "{e}");
    d.app.store = Some(moto.table("children").await);
    let r = d
        .app
        .handle(&child(tick, json!([format!("{NETWORK}/us-east-1")])))
        .await
        .unwrap();
    assert_eq!(places(&r), [(NETWORK.to_owned(), "us-east-1".to_owned())]);
    assert_eq!(
        ended(&d),
        [(NETWORK.to_owned(), "us-east-1".to_owned(), ALICE.to_owned())]
    );
    // A place this instance does not act in (an account gone from the organization since the
    // places were listed) is not swept, loudly: the child fails, the rest of its batch swept.
    let e = d
        .app
        .handle(&child(
            tick,
            json!([
                format!("{BRANCH}/ap-southeast-2"),
                format!("{BRANCH}/eu-west-1")
            ]),
        ))
        .await
        .unwrap_err();
    let r = e.response().expect("the sweep's answer");
    assert_eq!(r.errors.len(), 1, "{r:?}");
    let refused = &r.errors[0];
    assert_eq!(refused.code, "PlaceNotSwept");
    assert_eq!(refused.path.as_deref(), Some("event.Sweep.Targets[1]"));
    assert!(
        refused.message.contains("333344445555/eu-west-1"),
        "{refused:?}"
    );
    assert_eq!(ended(&d).len(), 3);
    // A batch of none it knows sweeps nothing at all (not every place).
    let e = d
        .app
        .handle(&child(tick, json!(["999988887777/eu-west-1"])))
        .await
        .unwrap_err();
    assert!(e.response().unwrap().terminated.is_empty());
    assert_eq!(ended(&d).len(), 3);
}

#[tokio::test]
async fn the_sweeps_of_one_tick_share_its_ceiling_retries_included() {
    let moto = Moto::start();
    let config = Config {
        max_sweep_terminations: 3,
        ..Config::default()
    };
    let mut d = deploy(&everywhere(), config).await;
    d.app.store = Some(moto.table("ceiling").await);
    let tick = "2026-11-22T20:00:00Z";
    // eu-west-1 has alice and bob: both ended, one of the tick's three left.
    let first = d
        .app
        .handle(&child(tick, json!([format!("{NETWORK}/eu-west-1")])))
        .await
        .unwrap();
    assert_eq!(first.terminated.len(), 2);
    // ap-southeast-2 has alice and carol: one is ended, the other waits for the next tick.
    let second = d
        .app
        .handle(&child(tick, json!([format!("{BRANCH}/ap-southeast-2")])))
        .await
        .unwrap();
    assert_eq!((second.terminated.len(), second.deferred.len()), (1, 1));
    // Its retry, and another child of the tick, end nothing more.
    for place in [
        format!("{BRANCH}/ap-southeast-2"),
        format!("{NETWORK}/us-east-1"),
    ] {
        let again = d.app.handle(&child(tick, json!([place]))).await.unwrap();
        assert!(again.terminated.is_empty(), "{again:?}");
    }
    // Nor does the sweep of every place at that tick: it shares the ceiling too.
    let whole = json!({"Sweep": {"Time": tick, "MaxSessionMinutes": 60}});
    let all = d.app.handle(&whole).await.unwrap();
    assert!(
        all.terminated.is_empty() && !all.deferred.is_empty(),
        "{all:?}"
    );
    assert_eq!(ended(&d).len(), 3);
    // The next tick has a ceiling of its own.
    let next = d
        .app
        .handle(&child(
            "2026-11-22T20:05:00Z",
            json!([format!("{NETWORK}/us-east-1")]),
        ))
        .await
        .unwrap();
    assert_eq!(next.terminated.len(), 1);
}

#[tokio::test]
async fn a_child_that_cannot_reach_a_place_fails_after_sweeping_the_rest() {
    let moto = Moto::start();
    let mut targets = everywhere();
    targets.push(role("444455556666", "eu-west-1"));
    let mut d = deploy(&targets, Config::default()).await;
    d.app.store = Some(moto.table("unreachable").await);
    let tick = "2026-11-22T20:00:00Z";
    let batch = json!([format!("{NETWORK}/eu-west-1"), "444455556666/eu-west-1"]);
    // Failing has Step Functions retry the batch and count it; what could be swept was.
    let e = d.app.handle(&child(tick, batch.clone())).await.unwrap_err();
    let r = e.response().expect("the sweep's answer");
    assert!(!r.errors.is_empty(), "{r:?}");
    assert_eq!(r.terminated.len(), 2);
    assert_eq!(ended(&d).len(), 2);
    // The retry ends nothing twice.
    let again = d.app.handle(&child(tick, batch)).await.unwrap_err();
    assert!(again.response().unwrap().terminated.is_empty());
    assert_eq!(ended(&d).len(), 2);
}

#[tokio::test]
async fn a_child_answers_step_functions_in_a_few_entries_a_list() {
    let moto = Moto::start();
    let users: Vec<String> = (0..15).map(|i| format!("user{i}@example.com")).collect();
    let users: Vec<&str> = users.iter().map(String::as_str).collect();
    let state = serde_json::from_value(json!({"accounts": [{"accountId": NETWORK,
        "roles": [{"roleName": ROLE}], "regions": {"eu-west-1": {"endpoints": [endpoint(1, &users)]}}}]}))
    .unwrap();
    let emulator = cvpn_emulator::start("127.0.0.1:0", state, cvpn_emulator::Options::default())
        .await
        .unwrap();
    // A schedule's own thresholds cap it as an incident is, too.
    let config = Config {
        max_sweep_terminations: 20,
        max_terminations: 20,
        ..Config::default()
    };
    let mut app = app_at(&emulator, &[role(NETWORK, "eu-west-1")], config).await;
    app.store = Some(moto.table("bounded").await);
    let batch = child(
        "2026-11-22T20:00:00Z",
        json!([format!("{NETWORK}/eu-west-1")]),
    );
    let answer = app.answer(&batch, Default::default()).await.unwrap();
    // Every session ended, ten listed: Step Functions refuses a result over 256 KiB.
    assert_eq!(answer["counts"]["terminated"], 15);
    assert_eq!(answer["terminated"].as_array().unwrap().len(), 10);
    assert_eq!(answer["truncated"]["terminated"], 5);
}

#[tokio::test]
async fn what_the_children_saw_sends_incidents_straight_to_the_endpoints() {
    let moto = Moto::start();
    // A fourth place, with no endpoint.
    let mut targets = everywhere();
    targets.push(role(BRANCH, "eu-west-1"));
    let mut d = deploy(&targets, Config::default()).await;
    d.app.store = Some(moto.table("inventory").await);
    let tick = "2026-11-22T20:00:00Z";
    let listed = d
        .app
        .handle(&places_of(tick))
        .await
        .unwrap()
        .places
        .unwrap();
    assert_eq!(listed.targets.len(), 4);
    // Two children of two places each, whose limit nobody is over: what they see is all that
    // matters here.
    for batch in listed.targets.chunks(2) {
        let mut request = child(tick, json!(batch));
        request["Sweep"]["MaxSessionMinutes"] = json!(5_000_000);
        d.app.handle(&request).await.unwrap();
    }
    let described =
        |d: &Deployment| d.emulator.service().stats()["DescribeClientVpnEndpoints"].calls;
    let before = described(&d);
    d.app
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .unwrap();
    // The place the children saw empty is not described again.
    assert_eq!(described(&d) - before, 3);
    assert_eq!(sorted_ended(&d), alice_everywhere());
}

#[tokio::test]
async fn an_older_word_on_a_place_never_replaces_a_newer_one_and_gone_places_are_forgotten() {
    use cvpn_terminator::adapters::state::inventory::InventoryStore;
    use cvpn_terminator::domain::inventory::{Inventory, Listed, Seen};
    use std::collections::BTreeMap;
    let moto = Moto::start();
    let store = moto.table("words").await;
    let word = |at: i64, ids: &[&str]| Seen {
        at,
        endpoints: ids
            .iter()
            .map(|id| Listed {
                id: (*id).to_owned(),
                connect_handler: false,
            })
            .collect(),
    };
    let (a, b) = (
        format!("{NETWORK}/eu-west-1"),
        format!("{BRANCH}/eu-west-1"),
    );
    let newer = BTreeMap::from([(a.clone(), word(2_000, &["cvpn-endpoint-1"]))]);
    assert_eq!(store.record_places(&newer).await.unwrap(), 1);
    // A child that began earlier writes after it: its word on the same place stays out, its
    // other place goes in.
    let older = BTreeMap::from([(a.clone(), word(1_000, &[])), (b.clone(), word(1_000, &[]))]);
    assert_eq!(store.record_places(&older).await.unwrap(), 1);
    // The sweep of every place leaves the children's words beside its own.
    let whole = Inventory {
        at: 500,
        ..Inventory::default()
    };
    assert!(store.record_inventory(&whole).await.unwrap());
    let read = store.inventory().await.unwrap().unwrap();
    assert_eq!(read.recent[&a], word(2_000, &["cvpn-endpoint-1"]));
    assert_eq!(read.recent[&b], word(1_000, &[]));
    assert_eq!(read.at, 500);
    // A place that is no target now (an account gone) is forgotten; the others stay.
    let targets = std::collections::BTreeSet::from([a.clone()]);
    assert_eq!(store.forget_places(&targets).await.unwrap(), 1);
    let read = store.inventory().await.unwrap().unwrap();
    assert_eq!(read.recent.keys().collect::<Vec<_>>(), [&a]);
}

/// A GuardDuty finding for alice at the fleet, with an inventory `ago` seconds old that knows
/// eu-west-1's endpoint 1, us-east-1's 2, and ap-southeast-2's 9, deleted since (3 was created
/// since): alice's sessions ended, the answer's errors, and how many listings of connections.
async fn incident_with_inventory(ago: i64) -> (Vec<(String, String, String)>, usize, u64) {
    use cvpn_terminator::adapters::state::inventory::InventoryStore;
    use cvpn_terminator::domain::inventory::{Inventory, Listed};
    let moto = Moto::start();
    let mut d = deploy(&everywhere(), Config::default()).await;
    let store = moto.table("known").await;
    let listed = |id: u32| Listed {
        id: format!("cvpn-endpoint-{id:017x}"),
        connect_handler: false,
    };
    let word = Inventory {
        at: chrono::Utc::now().timestamp() - ago,
        endpoints: [
            (format!("{NETWORK}/eu-west-1"), vec![listed(1)]),
            (format!("{NETWORK}/us-east-1"), vec![listed(2)]),
            (format!("{BRANCH}/ap-southeast-2"), vec![listed(9)]),
        ]
        .into(),
        ..Inventory::default()
    };
    assert!(store.record_inventory(&word).await.unwrap());
    d.app.store = Some(store);
    let r = d
        .app
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .expect("an endpoint gone since is put aside, not a failure");
    let listings = d.emulator.service().stats()["DescribeClientVpnConnections"].calls;
    (sorted_ended(&d), r.errors.len(), listings)
}

#[tokio::test]
async fn endpoints_the_inventory_knows_are_listed_while_their_places_are_described() {
    // The description decides: endpoint 3 is listed after it, so alice is ended everywhere, and
    // endpoint 9, gone, is no failure.
    let (ended, errors, listings) = incident_with_inventory(60).await;
    assert_eq!((ended, errors), (alice_everywhere(), 0));
    // Without a recent word, the places are described first: one listing fewer (9's).
    let (ended, errors, described_first) = incident_with_inventory(7_200).await;
    assert_eq!((ended, errors), (alice_everywhere(), 0));
    assert_eq!(listings, described_first + 1);
}

#[tokio::test]
async fn an_endpoint_the_inventory_puts_where_nothing_could_be_described_is_acted_on_nowhere() {
    use cvpn_terminator::adapters::state::inventory::InventoryStore;
    use cvpn_terminator::domain::inventory::{Inventory, Listed};
    let moto = Moto::start();
    // A fourth place whose role is missing: it cannot be described.
    let mut targets = everywhere();
    targets.push(role("444455556666", "eu-west-1"));
    let mut d = deploy(&targets, Config::default()).await;
    let store = moto.table("twice").await;
    let one = Listed {
        id: format!("cvpn-endpoint-{:017x}", 1),
        connect_handler: false,
    };
    // The inventory puts endpoint 1 there, and it is described at NETWORK/eu-west-1: which is
    // it? Neither is acted on; the others are.
    let word = Inventory {
        at: chrono::Utc::now().timestamp() - 60,
        endpoints: [("444455556666/eu-west-1".to_owned(), vec![one])].into(),
        ..Inventory::default()
    };
    assert!(store.record_inventory(&word).await.unwrap());
    d.app.store = Some(store);
    let e = d
        .app
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .unwrap_err();
    let r = e.response().expect("the incident's answer");
    assert!(
        r.errors.iter().any(|e| e.code == "AmbiguousEndpoint"),
        "{:?}",
        r.errors
    );
    let ended = sorted_ended(&d);
    assert!(!ended.contains(&(NETWORK.to_owned(), "eu-west-1".to_owned(), ALICE.to_owned())));
    assert!(ended.contains(&(
        BRANCH.to_owned(),
        "ap-southeast-2".to_owned(),
        ALICE.to_owned()
    )));
}
