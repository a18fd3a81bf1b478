//! AWS Config's aggregator as a word of the inventory: where the Client VPN endpoints of the
//! accounts and Regions it aggregates are, from one advanced query's rows. It stands in for a
//! sweep's word where no recent one exists (no sweep has run, or none lately), so an incident can
//! go straight to the places with endpoints. Config is believed only as far as it can be: a place
//! it cannot be told to speak for (this account, when which one it is is not known) gets no word
//! and is listed; a place any earlier word of the inventory saw with endpoints, however old, is
//! not taken as empty; and an answer with no endpoint anywhere is refused (more likely a recorder
//! that does not record the type than an organization without Client VPN). Pure.

use super::{Inventory, Listed};
use crate::domain::model::{is_account_id, is_resource_id, Endpoint, Place, ENDPOINT_PREFIX};
use crate::domain::targets::is_region;
use serde_json::Value;

/// The advanced query: every Client VPN endpoint the aggregator knows, where it is, whether it
/// is still there, and whether it calls a connect handler.
pub const QUERY: &str = "SELECT accountId, awsRegion, resourceId, configurationItemStatus, \
    configuration.clientConnectOptions WHERE resourceType = 'AWS::EC2::ClientVpnEndpoint'";

/// Why the aggregator's answer is not used.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// A row that does not read as the query's: `row` is its index, `field` what was wrong.
    Row { row: usize, field: &'static str },
    /// No endpoint anywhere.
    Nothing,
}

impl Refused {
    pub fn message(&self) -> String {
        match self {
            Refused::Row { row, field } => format!("Results[{row}].{field} is not as queried"),
            Refused::Nothing => "no Client VPN endpoint in any account or Region: is \
                AWS::EC2::ClientVpnEndpoint recorded?"
                .into(),
        }
    }
}

/// One row: an endpoint, at an account and Region, and the connect handler it calls.
struct Row {
    account: String,
    region: String,
    id: String,
    connect_handler: Option<String>,
}

/// Deleted resources stay in Config as items of these statuses: no endpoint there.
const GONE: [&str; 2] = ["ResourceDeleted", "ResourceDeletedNotRecorded"];

/// A row as the query asked for it; `None` for an endpoint Config says is deleted.
fn row(index: usize, text: &str) -> Result<Option<Row>, Refused> {
    let bad = |field| Refused::Row { row: index, field };
    let value: Value = serde_json::from_str(text).map_err(|_| bad("(JSON)"))?;
    let text_of = |field: &'static str| value.get(field).and_then(Value::as_str);
    if text_of("configurationItemStatus").is_some_and(|s| GONE.contains(&s)) {
        return Ok(None);
    }
    let account = text_of("accountId").filter(|a| is_account_id(a));
    let region = text_of("awsRegion").filter(|r| is_region(r));
    let id = text_of("resourceId").filter(|id| is_resource_id(id, ENDPOINT_PREFIX));
    let options = value.pointer("/configuration/clientConnectOptions");
    let connect_handler = options
        .filter(|o| o.get("enabled").and_then(Value::as_bool) == Some(true))
        .and_then(|o| o.get("lambdaFunctionArn").and_then(Value::as_str))
        .filter(|arn| !arn.is_empty())
        .map(str::to_owned);
    Ok(Some(Row {
        account: account.ok_or_else(|| bad("accountId"))?.to_owned(),
        region: region.ok_or_else(|| bad("awsRegion"))?.to_owned(),
        id: id.ok_or_else(|| bad("resourceId"))?.to_owned(),
        connect_handler,
    }))
}

/// The account and Region `place` is, when they can be told: `own` is this account, `home`
/// this Region.
fn named<'a>(
    place: &'a Place,
    own: Option<&'a str>,
    home: Option<&'a str>,
) -> Option<(&'a str, &'a str)> {
    Some((
        place.account.as_deref().or(own)?,
        place.region.as_deref().or(home)?,
    ))
}

/// The aggregator's word at `at` on `places`, from its `rows`, beside `before`, the inventory as
/// stored (any age). Rows of places that are not among `places` are no concern of this function.
pub fn word(
    rows: &[String],
    places: &[&Place],
    own: Option<&str>,
    home: Option<&str>,
    at: i64,
    before: Option<&Inventory>,
) -> Result<Inventory, Refused> {
    let rows: Vec<Row> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, text)| row(i, text).transpose())
        .collect::<Result<_, _>>()?;
    if rows.is_empty() {
        return Err(Refused::Nothing);
    }
    let mut spoken: Vec<&Place> = Vec::new();
    let mut endpoints: Vec<Endpoint> = Vec::new();
    for place in places.iter().copied() {
        let Some((account, region)) = named(place, own, home) else {
            continue;
        };
        spoken.push(place);
        for r in rows
            .iter()
            .filter(|r| r.account == account && r.region == region)
        {
            endpoints.push(Endpoint {
                place: place.clone(),
                id: r.id.clone(),
                client_cidr: None,
                connect_handler: r.connect_handler.clone(),
            });
        }
    }
    let mut word = Inventory::seen(at, spoken, &endpoints);
    // What an earlier word saw is not undone by Config's silence.
    if let Some(before) = before {
        for label in word.empty.clone() {
            let ever: Vec<Listed> = before.ever(&label);
            if !ever.is_empty() {
                word.empty.remove(&label);
                word.endpoints.insert(label, ever);
            }
        }
    }
    Ok(word)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(account: Option<&str>, region: Option<&str>) -> Place {
        Place {
            account: account.map(str::to_owned),
            region: region.map(str::to_owned),
        }
    }

    fn row_of(account: &str, region: &str, id: u32, handler: bool) -> String {
        serde_json::json!({
            "accountId": account, "awsRegion": region,
            "resourceId": format!("cvpn-endpoint-{id:017x}"),
            "configurationItemStatus": "OK",
            "configuration": {"clientConnectOptions": {"enabled": handler,
                "lambdaFunctionArn": "arn:aws:lambda:eu-west-1:111122223333:function:AWSClientVPN-x"}}
        })
        .to_string()
    }

    const A: &str = "111122223333";
    const B: &str = "444455556666";

    #[test]
    fn endpoints_go_to_their_places_and_the_rest_is_seen_empty() {
        let (a, b) = (
            at(Some(A), Some("eu-west-1")),
            at(Some(B), Some("eu-west-1")),
        );
        let rows = [
            row_of(A, "eu-west-1", 1, true),
            row_of(A, "eu-west-1", 2, false),
            // Not a target: no concern of this function.
            row_of("999988887777", "eu-west-1", 3, true),
        ];
        let w = word(&rows, &[&a, &b], None, None, 100, None).unwrap();
        assert_eq!(w.at, 100);
        let listed = &w.endpoints[&a.label()];
        assert_eq!(listed.len(), 2);
        assert!(listed[0].connect_handler && !listed[1].connect_handler);
        assert!(w.empty.contains(&b.label()) && w.endpoints.len() == 1);
    }

    #[test]
    fn this_account_is_spoken_for_only_when_known() {
        let home = at(None, Some("eu-west-1"));
        let own_region = at(Some(A), None);
        let rows = [row_of(A, "eu-west-1", 1, true)];
        let w = word(&rows, &[&home], Some(A), None, 5, None).unwrap();
        assert_eq!(w.endpoints[&home.label()].len(), 1);
        let w = word(&rows, &[&home], None, None, 5, None).unwrap();
        assert!(w.endpoints.is_empty() && w.empty.is_empty(), "{w:?}");
        let w = word(&rows, &[&own_region], None, Some("eu-west-1"), 5, None).unwrap();
        assert_eq!(w.endpoints[&own_region.label()].len(), 1);
        let w = word(&rows, &[&own_region], None, None, 5, None).unwrap();
        assert!(w.endpoints.is_empty() && w.empty.is_empty());
    }

    #[test]
    fn deleted_endpoints_are_not_there_and_none_anywhere_is_refused() {
        let a = at(Some(A), Some("eu-west-1"));
        let mut gone: Value = serde_json::from_str(&row_of(A, "eu-west-1", 1, true)).unwrap();
        gone["configurationItemStatus"] = "ResourceDeleted".into();
        let rows = [gone.to_string(), row_of(B, "us-east-1", 2, false)];
        let w = word(&rows, &[&a], None, None, 5, None).unwrap();
        assert!(w.empty.contains(&a.label()));
        assert_eq!(
            word(&rows[..1], &[&a], None, None, 5, None),
            Err(Refused::Nothing)
        );
        assert_eq!(word(&[], &[&a], None, None, 5, None), Err(Refused::Nothing));
    }

    #[test]
    fn a_row_not_as_queried_refuses_the_answer_and_names_itself() {
        let a = at(Some(A), Some("eu-west-1"));
        let good = row_of(A, "eu-west-1", 1, true);
        for (bad, field) in [
            ("not json".to_owned(), "(JSON)"),
            (good.replace(A, "12345"), "accountId"),
            (good.replace("eu-west-1", "mars-1"), "awsRegion"),
            (good.replace("cvpn-endpoint-", "vpc-"), "resourceId"),
        ] {
            let refused = word(&[good.clone(), bad], &[&a], None, None, 5, None).unwrap_err();
            assert_eq!(refused, Refused::Row { row: 1, field });
            assert!(refused.message().starts_with("Results[1]."));
        }
    }

    #[test]
    fn what_an_earlier_word_saw_is_not_undone_by_silence() {
        let (a, b) = (
            at(Some(A), Some("eu-west-1")),
            at(Some(B), Some("eu-west-1")),
        );
        let old = at(Some(B), Some("eu-west-1"));
        let endpoint = Endpoint {
            place: old,
            id: "cvpn-endpoint-00000000000000009".into(),
            client_cidr: None,
            connect_handler: None,
        };
        let before = Inventory::seen(1, [&a, &b], &[endpoint]);
        let rows = [row_of(A, "eu-west-1", 1, true)];
        let w = word(&rows, &[&a, &b], None, None, 5_000_000, Some(&before)).unwrap();
        assert!(w.empty.is_empty(), "{w:?}");
        assert_eq!(
            w.endpoints[&b.label()][0].id,
            "cvpn-endpoint-00000000000000009"
        );
    }

    proptest! {
        /// Whatever the rows and the targets: no place with an endpoint in Config is seen empty,
        /// every endpoint of a target place is in its word, and a place that cannot be told
        /// apart (this account, unknown) has no word at all.
        #[test]
        fn no_endpoint_config_knows_is_set_aside(
            rows in prop::collection::vec((0..3usize, 0..2usize, 0..50u32), 1..12),
            targets in prop::collection::vec((0..4usize, 0..2usize), 1..8),
            own_known in any::<bool>(),
        ) {
            let accounts = [A, B, "777788889999"];
            let regions = ["eu-west-1", "us-east-1"];
            let text: Vec<String> = rows.iter()
                .map(|&(a, r, id)| row_of(accounts[a], regions[r], id, id % 2 == 0)).collect();
            // Account index 3: this account, named by Region alone.
            let places: Vec<Place> = targets.iter().map(|&(a, r)| {
                at(accounts.get(a).copied(), Some(regions[r]))
            }).collect();
            let refs: Vec<&Place> = places.iter().collect();
            let own = own_known.then_some(A);
            let w = word(&text, &refs, own, None, 9, None).unwrap();
            for place in &places {
                let label = place.label();
                let Some(account) = place.account.as_deref().or(own) else {
                    prop_assert!(!w.empty.contains(&label) && !w.endpoints.contains_key(&label));
                    continue;
                };
                let region = place.region.as_deref().unwrap();
                let expected: Vec<String> = rows.iter()
                    .filter(|&&(a, r, _)| accounts[a] == account && regions[r] == region)
                    .map(|&(_, _, id)| format!("cvpn-endpoint-{id:017x}")).collect();
                let got: Vec<String> = w.endpoints.get(&label).into_iter().flatten()
                    .map(|l| l.id.clone()).collect();
                prop_assert_eq!(expected.is_empty(), w.empty.contains(&label));
                for id in &expected {
                    prop_assert!(got.contains(id), "{} missing at {}", id, label);
                }
            }
        }
    }
}
