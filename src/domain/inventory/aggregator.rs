//! AWS Config's aggregator as a word of the inventory: where the Client VPN endpoints of the
//! accounts and Regions it aggregates are, from one advanced query's rows and the status of its
//! sources. It stands in for a sweep's word where no recent one exists (no sweep has run, or none
//! lately), so an incident can go straight to the places with endpoints. Config is believed only
//! as far as it can be: it speaks only for the places whose source's data last came through
//! (`SUCCEEDED`, and no failure of that account there); a place it cannot be told to speak for
//! (this account, when which one it is is not known) gets no word and is listed; a place an
//! earlier word of the inventory saw with endpoints is not taken as empty on its silence; and an
//! answer with no endpoint in any target place is refused (more likely a recorder that does not
//! record the type than targets without Client VPN). Pure.

use super::{Inventory, Listed};
use crate::domain::model::{is_account_id, is_resource_id, Endpoint, Place, ENDPOINT_PREFIX};
use crate::domain::targets::is_region;
use serde_json::Value;

/// The advanced query: every Client VPN endpoint the aggregator knows, where it is, whether it
/// is still there, and whether it calls a connect handler.
pub const QUERY: &str = "SELECT accountId, awsRegion, resourceId, configurationItemStatus, \
    configuration.clientConnectOptions WHERE resourceType = 'AWS::EC2::ClientVpnEndpoint'";

/// What the aggregator answered: the query's rows (one JSON text an endpoint) and its sources'
/// status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    pub rows: Vec<String>,
    pub sources: Vec<Source>,
}

/// One source of the aggregator in one Region, as its status says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The account; `None`: the whole organization.
    pub account: Option<String>,
    pub region: String,
    /// Whether its data last came through (`SUCCEEDED`; not `FAILED` or `OUTDATED`).
    pub succeeded: bool,
}

/// Why the aggregator's answer is not used.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// A row that does not read as the query's: `row` is its index, `field` what was wrong.
    Row { row: usize, field: &'static str },
    /// No endpoint in any target place it speaks for.
    Nothing,
}

impl Refused {
    /// A code for the log line.
    pub fn code(&self) -> &'static str {
        match self {
            Refused::Row { .. } => "AggregatorRowUnread",
            Refused::Nothing => "AggregatorSawNothing",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Refused::Row { row, field } => format!("Results[{row}].{field} is not as queried"),
            Refused::Nothing => "no Client VPN endpoint in any target account and Region whose \
                data came through: is AWS::EC2::ClientVpnEndpoint recorded there?"
                .into(),
        }
    }
}

/// Whether `sources` say the data of `account` in `region` last came through: a source of it
/// (the account, or the organization) there succeeded, and none of the account there failed.
fn covers(sources: &[Source], account: &str, region: &str) -> bool {
    let of_it: Vec<&Source> = sources
        .iter()
        .filter(|s| s.region == region && s.account.as_deref().is_none_or(|a| a == account))
        .collect();
    of_it.iter().any(|s| s.succeeded) && !of_it.iter().any(|s| !s.succeeded && s.account.is_some())
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

/// The aggregator's word at `at` on `places`, from its `answer`. Rows of places that are not
/// among `places` are no concern of this function.
pub fn word(
    answer: &Answer,
    places: &[&Place],
    own: Option<&str>,
    home: Option<&str>,
    at: i64,
) -> Result<Inventory, Refused> {
    let rows: Vec<Row> = answer
        .rows
        .iter()
        .enumerate()
        .filter_map(|(i, text)| row(i, text).transpose())
        .collect::<Result<_, _>>()?;
    let mut spoken: Vec<&Place> = Vec::new();
    let mut endpoints: Vec<Endpoint> = Vec::new();
    for place in places.iter().copied() {
        let Some((account, region)) = named(place, own, home) else {
            continue;
        };
        if !covers(&answer.sources, account, region) {
            continue;
        }
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
    if endpoints.is_empty() {
        return Err(Refused::Nothing);
    }
    Ok(Inventory::seen(at, spoken, &endpoints))
}

/// `word` beside `before`, the inventory as stored (every word it keeps, of any age): a place
/// an earlier word saw with endpoints is not taken as empty on Config's silence.
pub fn with_earlier(mut word: Inventory, before: Option<&Inventory>) -> Inventory {
    let Some(before) = before else {
        return word;
    };
    for label in word.empty.clone() {
        let ever: Vec<Listed> = before.ever(&label);
        if !ever.is_empty() {
            word.empty.remove(&label);
            word.endpoints.insert(label, ever);
        }
    }
    word
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
    const REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];

    /// The whole organization's data came through in both Regions.
    fn organization() -> Vec<Source> {
        REGIONS
            .map(|r| Source {
                account: None,
                region: r.into(),
                succeeded: true,
            })
            .to_vec()
    }

    fn answer(rows: &[String]) -> Answer {
        Answer {
            rows: rows.to_vec(),
            sources: organization(),
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

    /// The word on `places`, from `rows` and `sources`, this account and Region unknown.
    fn spoken(
        rows: &[String],
        sources: Vec<Source>,
        places: &[&Place],
    ) -> Result<Inventory, Refused> {
        word(
            &Answer {
                rows: rows.to_vec(),
                sources,
            },
            places,
            None,
            None,
            5,
        )
    }

    #[test]
    fn only_places_whose_data_came_through_are_spoken_for() {
        let places = [A, B].map(|a| Place::at(Some(a), Some("eu-west-1")));
        let tokyo = Place::at(Some(B), Some("ap-northeast-1"));
        let refs = [&places[0], &places[1], &tokyo];
        let rows = [row_of(A, "eu-west-1", 1, true)];
        let source = |account: Option<&str>, succeeded| Source {
            account: account.map(str::to_owned),
            region: "eu-west-1".into(),
            succeeded,
        };
        // The organization's data came through, but B's own failed; Tokyo has no source at all.
        let sources = vec![source(None, true), source(Some(B), false)];
        let w = spoken(&rows, sources, &refs).unwrap();
        assert_eq!(w.endpoints.len(), 1);
        assert!(w.empty.is_empty(), "B and Tokyo have no word: {w:?}");
        // An account's own source that came through speaks for it alone.
        let sources = vec![source(Some(B), true), source(Some(A), true)];
        let w = spoken(&rows, sources, &refs).unwrap();
        assert_eq!(w.empty.iter().collect::<Vec<_>>(), [&places[1].label()]);
        // The organization's data outdated: no word anywhere, so nothing seen, refused.
        let sources = vec![source(None, false)];
        let refused = spoken(&rows, sources, &refs);
        assert_eq!(refused, Err(Refused::Nothing));
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
        let none = word(&answer(&rows), &[&own_region, &other], None, None, 5).unwrap();
        assert!(!none.endpoints.contains_key(&own_region.label()));
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
            assert_eq!(refused, Refused::Row { row: 1, field });
            assert!(refused.message().starts_with("Results[1]."));
        }
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
        /// Whatever the rows, the sources and the targets: no place with an endpoint in Config
        /// is seen empty, every endpoint of a target place it speaks for is in its word, and a
        /// place it cannot name, or whose data did not come through, has no word at all.
        #[test]
        fn no_endpoint_config_knows_is_set_aside(
            rows in prop::collection::vec((0..3usize, 0..2usize, 0..50u32), 1..12),
            targets in prop::collection::vec((0..4usize, 0..2usize), 1..8),
            sources in prop::collection::vec((0..4usize, 0..2usize, any::<bool>()), 0..6),
            own_known in any::<bool>(),
        ) {
            let accounts = [A, B, "777788889999"];
            let text: Vec<String> = rows.iter()
                .map(|&(a, r, id)| row_of(accounts[a], REGIONS[r], id, id % 2 == 0)).collect();
            // Account index 3: this account named by Region alone; as a source, the organization.
            let places: Vec<Place> = targets.iter()
                .map(|&(a, r)| Place::at(accounts.get(a).copied(), Some(REGIONS[r]))).collect();
            let sources: Vec<Source> = sources.iter().map(|&(a, r, succeeded)| Source {
                account: accounts.get(a).map(|a| a.to_string()),
                region: REGIONS[r].into(),
                succeeded,
            }).collect();
            let refs: Vec<&Place> = places.iter().collect();
            let own = own_known.then_some(A);
            let answer = Answer { rows: text, sources: sources.clone() };
            let Ok(w) = word(&answer, &refs, own, None, 9) else {
                return Ok(());
            };
            for place in &places {
                let label = place.label();
                let region = place.region.as_deref().unwrap();
                let account = place.account.as_deref().or(own);
                let Some(account) = account.filter(|a| covers(&sources, a, region)) else {
                    prop_assert!(!w.empty.contains(&label) && !w.endpoints.contains_key(&label));
                    continue;
                };
                let expected: Vec<String> = rows.iter()
                    .filter(|&&(a, r, _)| accounts[a] == account && REGIONS[r] == region)
                    .map(|&(_, _, id)| format!("cvpn-endpoint-{id:017x}")).collect();
                let got: Vec<String> = w.endpoints.get(&label).into_iter().flatten()
                    .map(|l| l.id.clone()).collect();
                prop_assert_eq!(expected.is_empty(), w.empty.contains(&label));
                for id in &expected {
                    prop_assert!(got.contains(id), "{} missing at {}", id, label);
                }
            }
        }

        /// A source that failed for an account never lets Config speak for it there.
        #[test]
        fn a_failed_account_is_never_covered(organization_ok in any::<bool>(), own_ok in any::<bool>()) {
            let sources = vec![
                Source { account: None, region: "eu-west-1".into(), succeeded: organization_ok },
                Source { account: Some(B.into()), region: "eu-west-1".into(), succeeded: own_ok },
            ];
            prop_assert_eq!(covers(&sources, B, "eu-west-1"), own_ok);
            prop_assert_eq!(covers(&sources, A, "eu-west-1"), organization_ok);
            prop_assert!(!covers(&sources, A, "us-east-1"));
        }
    }
}
