use super::*;
use proptest::prelude::*;

fn row_of(account: &str, region: &str, id: u32, handler: bool) -> String {
    serde_json::json!({
        "accountId": account, "awsRegion": region,
        "resourceId": format!("cvpn-endpoint-{id:017x}"),
        "configurationItemStatus": "OK",
        "configuration": {"ClientConnectOptions": {"Enabled": handler,
            "LambdaFunctionArn": "arn:aws:lambda:eu-west-1:111122223333:function:AWSClientVPN-x"}}
    })
    .to_string()
}

/// A row of [`RECORDED`]: the recorder of `account` at `region`, its configuration `configuration`.
fn recorder(account: &str, region: &str, configuration: Value) -> String {
    serde_json::json!({"accountId": account, "awsRegion": region, "configurationItemStatus": "OK",
        "configuration": configuration})
    .to_string()
}

/// A row of [`RECORDED`]: a recorder recording every supported type in `account` at `region`.
fn recorded_at(account: &str, region: &str) -> String {
    let all = serde_json::json!({"Recording": true, "RecordingGroup": {"AllSupported": true}});
    recorder(account, region, all)
}

const A: &str = "111122223333";
const B: &str = "444455556666";
const C: &str = "777788889999";
const REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];

fn source(account: Option<&str>, region: &str, succeeded: bool) -> Source {
    Source {
        account: account.map(str::to_owned),
        region: region.into(),
        succeeded,
    }
}

/// The organization's sources succeeded in both Regions, and every account records in both.
fn answer(rows: &[String]) -> Answer {
    Answer {
        rows: rows.to_vec(),
        recorded: [A, B, C]
            .iter()
            .flat_map(|a| REGIONS.map(|r| recorded_at(a, r)))
            .collect(),
        sources: REGIONS.map(|r| source(None, r, true)).to_vec(),
    }
}

#[test]
fn endpoints_go_to_their_places_and_the_rest_is_seen_empty() {
    let (a, b) = (
        Place::at(Some(A), Some("eu-west-1")),
        Place::at(Some(B), Some("eu-west-1")),
    );
    let rows = [
        row_of(A, "eu-west-1", 1, true),
        row_of(A, "eu-west-1", 2, false),
        // Not a target: no concern of this function.
        row_of("999988887777", "eu-west-1", 3, true),
    ];
    let w = word(&answer(&rows), &[&a, &b], None, None, 100).unwrap();
    assert_eq!(w.at, 100);
    let listed = &w.endpoints[&a.label()];
    assert_eq!(listed.len(), 2);
    assert!(listed[0].connect_handler && !listed[1].connect_handler);
    assert!(w.empty.contains(&b.label()) && w.endpoints.len() == 1);
}

#[test]
fn only_where_it_records_and_its_sources_succeeded_does_it_speak() {
    let (a, b) = (
        Place::at(Some(A), Some("eu-west-1")),
        Place::at(Some(B), Some("eu-west-1")),
    );
    let c = Place::at(Some(C), Some("eu-west-1"));
    let rows = [row_of(A, "eu-west-1", 1, true)];
    let spoken = |recorded: &[&str], sources: Vec<Source>| {
        let answer = Answer {
            rows: rows.to_vec(),
            recorded: recorded
                .iter()
                .map(|a| recorded_at(a, "eu-west-1"))
                .collect(),
            sources,
        };
        word(&answer, &[&a, &b, &c], None, None, 5)
    };
    let empty = |w: Inventory| w.empty.into_iter().collect::<Vec<_>>();
    let organization = || vec![source(None, "eu-west-1", true)];
    // C records nothing there (no recorder): no word, listed.
    let w = spoken(&[A, B], organization()).unwrap();
    assert_eq!(empty(w), [b.label()]);
    // B's own source failed: it vetoes B, whatever the organization's says.
    let mut sources = organization();
    sources.push(source(Some(B), "eu-west-1", false));
    assert!(empty(spoken(&[A, B, C], sources).unwrap()) == [c.label()]);
    // A status that could not be read (no account, failed) vetoes the Region.
    let mut sources = organization();
    sources.push(source(None, "eu-west-1", false));
    assert_eq!(spoken(&[A, B, C], sources), Err(Refused::Unspoken));
    // Accounts' own sources speak each for itself; none at all speaks for no one.
    let sources = vec![
        source(Some(A), "eu-west-1", true),
        source(Some(B), "eu-west-1", true),
    ];
    assert_eq!(empty(spoken(&[A, B, C], sources).unwrap()), [b.label()]);
    assert_eq!(spoken(&[A, B, C], Vec::new()), Err(Refused::Unspoken));
    assert_eq!(spoken(&[], organization()), Err(Refused::Unspoken));
}

#[test]
fn only_a_recorder_that_records_client_vpn_endpoints_lets_it_speak() {
    let a = Place::at(Some(A), Some("eu-west-1"));
    let b = Place::at(Some(B), Some("eu-west-1"));
    let rows = [row_of(A, "eu-west-1", 1, true)];
    let spoken_for_b = |configuration: Value, status: &str| {
        let mut row: Value =
            serde_json::from_str(&recorder(B, "eu-west-1", configuration)).unwrap();
        row["configurationItemStatus"] = status.into();
        let answer = Answer {
            recorded: vec![recorded_at(A, "eu-west-1"), row.to_string()],
            ..answer(&rows)
        };
        let w = word(&answer, &[&a, &b], None, None, 5).unwrap();
        w.empty.contains(&b.label())
    };
    let json = |v: &str| serde_json::from_str::<Value>(v).unwrap();
    for (configuration, status, speaks) in [
        (
            r#"{"Recording": true, "RecordingGroup": {"AllSupported": true}}"#,
            "OK",
            true,
        ),
        (
            r#"{"recording": true, "recordingGroup": {"allSupported": true}}"#,
            "OK",
            true,
        ),
        // Stopped, or deleted: the items it recorded stay, and say nothing of today.
        (
            r#"{"Recording": false, "RecordingGroup": {"AllSupported": true}}"#,
            "OK",
            false,
        ),
        (
            r#"{"Recording": true, "RecordingGroup": {"AllSupported": true}}"#,
            "ResourceDeleted",
            false,
        ),
        (r#"{"RecordingGroup": {"AllSupported": true}}"#, "OK", false),
        // Some types: this one among them, or not.
        (
            r#"{"Recording": true, "RecordingGroup": {"AllSupported": false,
            "ResourceTypes": ["AWS::EC2::VPC", "AWS::EC2::ClientVpnEndpoint"]}}"#,
            "OK",
            true,
        ),
        (
            r#"{"Recording": true, "RecordingGroup": {"AllSupported": false,
            "ResourceTypes": ["AWS::EC2::VPC"]}}"#,
            "OK",
            false,
        ),
        // All but some: this one excluded, or not.
        (
            r#"{"Recording": true, "RecordingGroup": {"AllSupported": false,
            "RecordingStrategy": {"UseOnly": "EXCLUSION_BY_RESOURCE_TYPES"},
            "ExclusionByResourceTypes": {"ResourceTypes": ["AWS::EC2::ClientVpnEndpoint"]}}}"#,
            "OK",
            false,
        ),
        (
            r#"{"Recording": true, "RecordingGroup": {"AllSupported": false,
            "RecordingStrategy": {"UseOnly": "EXCLUSION_BY_RESOURCE_TYPES"},
            "ExclusionByResourceTypes": {"ResourceTypes": ["AWS::IAM::Role"]}}}"#,
            "OK",
            true,
        ),
    ] {
        assert_eq!(
            spoken_for_b(json(configuration), status),
            speaks,
            "{configuration} {status}"
        );
    }
}

#[test]
fn this_account_is_spoken_for_only_when_known() {
    let home = Place::at(None, Some("eu-west-1"));
    let own_region = Place::at(Some(A), None);
    let other = Place::at(Some(B), Some("eu-west-1"));
    let rows = [
        row_of(A, "eu-west-1", 1, true),
        row_of(B, "eu-west-1", 2, true),
    ];
    let w = word(&answer(&rows), &[&home, &other], Some(A), None, 5).unwrap();
    assert_eq!(w.endpoints[&home.label()].len(), 1);
    let w = word(&answer(&rows), &[&home, &other], None, None, 5).unwrap();
    assert!(
        !w.endpoints.contains_key(&home.label()) && w.empty.is_empty(),
        "{w:?}"
    );
    let w = word(&answer(&rows), &[&own_region], None, Some("eu-west-1"), 5).unwrap();
    assert_eq!(w.endpoints[&own_region.label()].len(), 1);
    let w = word(&answer(&rows), &[&own_region, &other], None, None, 5).unwrap();
    assert!(!w.endpoints.contains_key(&own_region.label()));
}

#[test]
fn deleted_endpoints_are_not_there_and_none_in_a_target_is_refused() {
    let a = Place::at(Some(A), Some("eu-west-1"));
    let mut gone: Value = serde_json::from_str(&row_of(A, "eu-west-1", 1, true)).unwrap();
    gone["configurationItemStatus"] = "ResourceDeleted".into();
    let rows = [gone.to_string(), row_of(A, "us-east-1", 2, false)];
    let us = Place::at(Some(A), Some("us-east-1"));
    let w = word(&answer(&rows), &[&a, &us], None, None, 5).unwrap();
    assert!(w.empty.contains(&a.label()));
    // Endpoints only where no target is, or none at all: refused.
    assert_eq!(
        word(&answer(&rows), &[&a], None, None, 5),
        Err(Refused::Nothing)
    );
    assert_eq!(
        word(&answer(&[]), &[&a], None, None, 5),
        Err(Refused::Nothing)
    );
}

#[test]
fn a_row_not_as_queried_refuses_the_answer_and_names_itself() {
    let a = Place::at(Some(A), Some("eu-west-1"));
    let good = row_of(A, "eu-west-1", 1, true);
    for (bad, field) in [
        ("not json".to_owned(), "(JSON)"),
        (good.replace(A, "12345"), "accountId"),
        (good.replace("eu-west-1", "mars-1"), "awsRegion"),
        (good.replace("cvpn-endpoint-", "vpc-"), "resourceId"),
    ] {
        let refused = word(&answer(&[good.clone(), bad]), &[&a], None, None, 5).unwrap_err();
        let of = Rows::Endpoints;
        assert_eq!(refused, Refused::Row { of, row: 1, field });
        assert!(refused.message().starts_with("Results[1]."));
    }
    let mut garbled = answer(&[good]);
    garbled.recorded[2] = serde_json::json!({"accountId": A, "configuration": {}}).to_string();
    let refused = word(&garbled, &[&a], None, None, 5).unwrap_err();
    assert_eq!(refused.message(), "Recorded[2].awsRegion is not as queried");
}

#[test]
fn what_an_earlier_word_saw_is_not_undone_by_silence() {
    let (a, b) = (
        Place::at(Some(A), Some("eu-west-1")),
        Place::at(Some(B), Some("eu-west-1")),
    );
    let endpoint = Endpoint {
        place: b.clone(),
        id: "cvpn-endpoint-00000000000000009".into(),
        client_cidr: None,
        connect_handler: None,
    };
    let before = Inventory::seen(1, [&a, &b], &[endpoint]);
    let rows = [row_of(A, "eu-west-1", 1, true)];
    let w = word(&answer(&rows), &[&a, &b], None, None, 5_000_000).unwrap();
    assert!(w.empty.contains(&b.label()));
    let w = with_earlier(w, Some(&before));
    assert!(w.empty.is_empty(), "{w:?}");
    assert_eq!(
        w.endpoints[&b.label()][0].id,
        "cvpn-endpoint-00000000000000009"
    );
}

proptest! {
    /// Whatever the rows, where it records, the sources and the targets, against a model of
    /// its own: a place is spoken for only where it records and every source of it there (its
    /// own, the organization's) succeeded, one at least; no place with an endpoint in Config is
    /// seen empty; every endpoint of a place spoken for is in its word; and the answer is
    /// refused exactly when it speaks for no target, or sees no endpoint in those it does.
    #[test]
    fn no_endpoint_config_knows_is_set_aside(
        rows in prop::collection::vec((0..3usize, 0..2usize, 0..50u32), 0..12),
        recorded in prop::collection::vec((0..3usize, 0..2usize), 0..6),
        sources in prop::collection::vec((0..4usize, 0..2usize, any::<bool>()), 0..6),
        targets in prop::collection::vec((0..4usize, 0..2usize), 1..8),
        own_known in any::<bool>(),
    ) {
        let accounts = [A, B, C];
        let answer = Answer {
            rows: rows.iter().map(|&(a, r, id)| row_of(accounts[a], REGIONS[r], id, id % 2 == 0)).collect(),
            recorded: recorded.iter().map(|&(a, r)| recorded_at(accounts[a], REGIONS[r])).collect(),
            // Account index 3: the organization.
            sources: sources.iter().map(|&(a, r, ok)| source(accounts.get(a).copied(), REGIONS[r], ok)).collect(),
        };
        // Account index 3: this account named by Region alone.
        let places: Vec<Place> = targets.iter()
            .map(|&(a, r)| Place::at(accounts.get(a).copied(), Some(REGIONS[r]))).collect();
        let refs: Vec<&Place> = places.iter().collect();
        let own = own_known.then_some(A);
        let spoken_for = |account: &str, region: &str| {
            let of_it: Vec<bool> = sources.iter()
                .filter(|&&(a, r, _)| REGIONS[r] == region && accounts.get(a).is_none_or(|x| *x == account))
                .map(|&(_, _, ok)| ok).collect();
            recorded.iter().any(|&(a, r)| accounts[a] == account && REGIONS[r] == region)
                && !of_it.is_empty() && of_it.iter().all(|ok| *ok)
        };
        let ids_at = |account: &str, region: &str| -> Vec<String> {
            rows.iter().filter(|&&(a, r, _)| accounts[a] == account && REGIONS[r] == region)
                .map(|&(_, _, id)| format!("cvpn-endpoint-{id:017x}")).collect()
        };
        let mut any_spoken = false;
        let mut any_endpoint = false;
        for place in &places {
            let region = place.region.as_deref().unwrap();
            if let Some(account) = place.account.as_deref().or(own).filter(|a| spoken_for(a, region)) {
                any_spoken = true;
                any_endpoint |= !ids_at(account, region).is_empty();
            }
        }
        let w = match word(&answer, &refs, own, None, 9) {
            Err(Refused::Unspoken) => {
                prop_assert!(!any_spoken);
                return Ok(());
            }
            Err(Refused::Nothing) => {
                prop_assert!(any_spoken && !any_endpoint);
                return Ok(());
            }
            Err(other) => return Err(TestCaseError::fail(format!("{other:?}"))),
            Ok(w) => w,
        };
        prop_assert!(any_spoken && any_endpoint);
        for place in &places {
            let label = place.label();
            let region = place.region.as_deref().unwrap();
            let Some(account) = place.account.as_deref().or(own).filter(|a| spoken_for(a, region)) else {
                prop_assert!(!w.empty.contains(&label) && !w.endpoints.contains_key(&label), "{} spoken for", label);
                continue;
            };
            let expected = ids_at(account, region);
            let got: Vec<String> = w.endpoints.get(&label).into_iter().flatten().map(|l| l.id.clone()).collect();
            prop_assert_eq!(expected.is_empty(), w.empty.contains(&label));
            for id in &expected {
                prop_assert!(got.contains(id), "{} missing at {}", id, label);
            }
        }
    }
}
