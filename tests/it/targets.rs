//! One deployment acting in several accounts and Regions (`CVPN_TARGETS`), through the real SDKs:
//! aws-config's assume-role provider asks the emulator's STS for each network account's role, and
//! each target's EC2 client signs for its Region, so the emulator answers with that account's and
//! Region's endpoints only.

use crate::common::binary::run;
use crate::common::fleet::*;
use crate::common::*;
use cvpn_terminator::{Config, HandlerError};
use serde_json::json;
use std::collections::BTreeSet;

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
    // Assumed once per role: the network account's two Regions share its credentials.
    assert_eq!(d.emulator.service().stats()["AssumeRole"].calls, 2);
}

/// The fleet with one more place, whose role is missing, and a state table for what partial
/// attempts end.
async fn with_a_missing_place(moto: &Moto, config: Config) -> Deployment {
    let mut targets = everywhere();
    targets.push(role("444455556666", "eu-west-1"));
    let mut d = deploy(&targets, config).await;
    d.app.store = Some(moto.table("ended").await);
    d
}

#[tokio::test]
async fn a_target_whose_role_is_missing_fails_loudly_while_the_person_is_ended_where_seen() {
    let moto = Moto::start();
    let d = with_a_missing_place(&moto, Config::default()).await;
    let finding = event("guardduty-iam-assumed-role.json");
    let e = d.app.handle(&finding).await.unwrap_err();
    let HandlerError::Incomplete(r) = e else {
        panic!("expected an incomplete picture, so that Lambda retries")
    };
    assert_eq!(r.terminated.len(), 3, "{:?}", r.terminated);
    let failed = r
        .errors
        .iter()
        .find(|e| e.place.account.as_deref() == Some("444455556666"))
        .expect("the missing role's target is named");
    assert_eq!(failed.action, "DescribeClientVpnEndpoints");
    // STS's refusal, said as such: the role and the place named, no dump of the SDK's internals,
    // and not taken for a network fault worth retrying.
    assert_eq!(failed.code, "AccessDenied", "{failed:?}");
    assert!(
        failed.message.contains("role/cvpn-terminator-target")
            && failed.message.contains("444455556666/eu-west-1")
            && failed.message.len() < 400,
        "{}",
        failed.message
    );
    assert!(!failed.message.contains("headers"), "{}", failed.message);
    let said = HandlerError::Incomplete(r.clone()).to_string();
    assert!(
        said.ends_with("where steps failed: 444455556666/eu-west-1"),
        "{said}"
    );
    assert_eq!(sorted_ended(&d), alice_everywhere());
    // The retry Lambda makes still fails while the place is unreachable, and ends nothing twice.
    let again = d.app.handle(&finding).await.unwrap_err();
    let HandlerError::Incomplete(r) = again else {
        panic!("expected an incomplete picture")
    };
    assert!(r.terminated.is_empty(), "{:?}", r.terminated);
    assert_eq!(sorted_ended(&d), alice_everywhere());
}

#[tokio::test]
async fn without_a_state_table_a_partial_picture_ends_nothing() {
    // What a partial attempt ends could not be counted by a retry that sees another part.
    let mut targets = everywhere();
    targets.push(role("444455556666", "eu-west-1"));
    let d = deploy(&targets, Config::default()).await;
    let e = d
        .app
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .unwrap_err();
    assert!(matches!(e, HandlerError::Incomplete(_)), "{e:?}");
    assert!(ended(&d).is_empty(), "{:?}", ended(&d));
}

#[tokio::test]
async fn the_cap_counts_every_place_seen_while_one_is_missing() {
    let moto = Moto::start();
    let config = Config {
        max_terminations: 2,
        ..Config::default()
    };
    let d = with_a_missing_place(&moto, config).await;
    let e = d
        .app
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, HandlerError::CapExceeded { planned: 3, .. }),
        "{e:?}"
    );
    assert!(ended(&d).is_empty());
}

#[tokio::test]
async fn retries_that_each_see_another_part_cannot_spend_the_cap_twice() {
    let moto = Moto::start();
    let config = Config {
        max_terminations: 2,
        ..Config::default()
    };
    let table = moto.table("ended").await;
    let finding = event("guardduty-iam-assumed-role.json");
    // The first attempt cannot reach the branch account: alice's two sessions in the network
    // account fit under the cap and are ended.
    let mut first = deploy(
        &[
            role(NETWORK, "eu-west-1"),
            role(NETWORK, "us-east-1"),
            "arn:aws:iam::333344445555:role/missing@ap-southeast-2".into(),
        ],
        config.clone(),
    )
    .await;
    first.app.store = Some(table.clone());
    let e = first.app.handle(&finding).await.unwrap_err();
    assert!(matches!(e, HandlerError::Incomplete(_)), "{e:?}");
    assert_eq!(ended(&first).len(), 2);
    // The retry reaches the branch account but no longer the network account: the two ended
    // there are not listed, yet count, so the third session would exceed the cap.
    let mut retry = app_at(
        &first.emulator,
        &[
            "arn:aws:iam::222233334444:role/missing@eu-west-1".into(),
            "arn:aws:iam::222233334444:role/missing@us-east-1".into(),
            role(BRANCH, "ap-southeast-2"),
        ],
        config,
    )
    .await;
    retry.store = Some(table);
    let e = retry.handle(&finding).await.unwrap_err();
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
    assert_eq!(ended(&first).len(), 2, "{:?}", ended(&first));
}

/// A brute-force finding whose remote address is alice's session in the branch account.
fn address_finding() -> serde_json::Value {
    let mut finding = event("guardduty-ec2-vpn-client-ip.json");
    finding["detail"]["service"]["action"]["networkConnectionAction"]["remoteIpDetails"]
        ["ipAddressV4"] = json!("10.100.3.2");
    finding
}

#[tokio::test]
async fn address_evidence_ends_nothing_while_a_place_is_missing() {
    // With every place seen, the address names alice's session in the branch account.
    let d = deploy(&everywhere(), Config::default()).await;
    d.app.handle(&address_finding()).await.unwrap();
    assert_eq!(
        sorted_ended(&d),
        [(
            BRANCH.to_owned(),
            "ap-southeast-2".to_owned(),
            ALICE.to_owned()
        )]
    );
    // With one place unreachable, the same session could be anywhere: nothing is ended.
    let moto = Moto::start();
    let d = with_a_missing_place(&moto, Config::default()).await;
    let e = d.app.handle(&address_finding()).await.unwrap_err();
    let HandlerError::Incomplete(r) = e else {
        panic!("expected an incomplete picture")
    };
    assert!(r.terminated.is_empty() && ended(&d).is_empty());
    let reasons: Vec<_> = r.skipped.iter().filter_map(|s| s.reason).collect();
    assert_eq!(
        reasons,
        [cvpn_terminator::domain::model::Reason::IncompletePicture]
    );
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

#[tokio::test]
async fn an_endpoint_two_targets_list_is_acted_on_in_neither() {
    // Two places answered by the same account and Region (as `eu-west-1` beside a role of this
    // account in eu-west-1 would be): every endpoint is listed twice.
    let h = harness(sample_state(), Config::default()).await;
    let client = || ec2_client(&h.emulator.url(), 2);
    let at = |account: Option<&str>| cvpn_terminator::domain::model::Place {
        account: account.map(str::to_owned),
        region: Some("eu-west-1".into()),
    };
    let twice = vec![
        cvpn_terminator::Target {
            place: at(None),
            api: cvpn_terminator::Ec2::at(client(), at(None)),
        },
        cvpn_terminator::Target {
            place: at(Some("111122223333")),
            api: cvpn_terminator::Ec2::at(client(), at(Some("111122223333"))),
        },
    ];
    let app = cvpn_terminator::App::<_, cvpn_terminator::Dynamo> {
        config: Config::default(),
        api: cvpn_terminator::Targets::new(twice, at(None)),
        store: None,
        notifiers: h.app.notifiers.clone(),
        directory: None,
    };
    let e = app
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .unwrap_err();
    let HandlerError::Incomplete(r) = e else {
        panic!("expected an incomplete picture: {e:?}")
    };
    assert!(r.terminated.is_empty());
    assert!(
        r.errors.iter().all(|e| e.code == "AmbiguousEndpoint"),
        "{:?}",
        r.errors
    );
    assert!(h.ended().is_empty());
}
