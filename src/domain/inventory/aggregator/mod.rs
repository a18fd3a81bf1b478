//! AWS Config's aggregator as a word of the inventory: where the Client VPN endpoints of the
//! accounts and Regions it aggregates are, from two advanced queries and the status of its
//! sources. It stands in for a sweep's word where no recent one exists (no sweep has run, or none
//! lately), so an incident can go straight to the places with endpoints. Config is believed only
//! as far as it can be. It speaks only for an account and Region where a configuration recorder
//! is recording and records `AWS::EC2::ClientVpnEndpoint` (as its own item there says: a stopped,
//! deleted or narrowed recorder leaves the old items behind, and Control Tower records only in its
//! governed Regions), and whose sources' status is `SUCCEEDED` with none failed there; a place it
//! cannot be told to speak for (this account, when which one it is is not known) gets no word and
//! is listed; a place an earlier word of the inventory saw with endpoints is not taken as empty on
//! its silence; and an answer that speaks for no target place, or sees no endpoint in any it
//! speaks for, is refused. Pure.

use super::{Inventory, Listed};
use crate::domain::model::{is_account_id, is_resource_id, Endpoint, Place, ENDPOINT_PREFIX};
use crate::domain::targets::is_region;
use serde_json::Value;
use std::collections::BTreeSet;

/// The resource type whose absence Config's silence is taken for.
const ENDPOINT_TYPE: &str = "AWS::EC2::ClientVpnEndpoint";

/// The advanced query: every Client VPN endpoint the aggregator knows, where it is, whether it
/// is still there, and whether it calls a connect handler (property names as Config's schema
/// has them).
pub const QUERY: &str = "SELECT accountId, awsRegion, resourceId, configurationItemStatus, \
    configuration.ClientConnectOptions WHERE resourceType = 'AWS::EC2::ClientVpnEndpoint'";

/// The advanced query for where a recorder records Client VPN endpoints: each configuration
/// recorder's own item, whether it is recording and what.
pub const RECORDED: &str = "SELECT accountId, awsRegion, configurationItemStatus, \
    configuration.Recording, configuration.RecordingGroup \
    WHERE resourceType = 'AWS::Config::ConfigurationRecorder'";

/// What the aggregator answered: the rows of [`QUERY`] (one JSON text an endpoint) and of
/// [`RECORDED`] (one a configuration recorder), and its sources' status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    pub rows: Vec<String>,
    pub recorded: Vec<String>,
    pub sources: Vec<Source>,
}

/// One source of the aggregator in one Region, as its status says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The account; `None`: the whole organization, or a source whose status could not be read
    /// (which, failed, vetoes the Region).
    pub account: Option<String>,
    pub region: String,
    /// Whether its last update succeeded (`SUCCEEDED`; not `FAILED` or `OUTDATED`).
    pub succeeded: bool,
}

/// Which answer a row that does not read as queried is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rows {
    Endpoints,
    Recorded,
}

/// Why the aggregator's answer is not used.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// A row that does not read as queried: `of` which answer, `row` its index, `field` what was
    /// wrong.
    Row {
        of: Rows,
        row: usize,
        field: &'static str,
    },
    /// No target place it may speak for.
    Unspoken,
    /// No endpoint in any target place it speaks for.
    Nothing,
}

impl Refused {
    /// A code for the log line.
    pub fn code(&self) -> &'static str {
        match self {
            Refused::Row { .. } => "AggregatorRowUnread",
            Refused::Unspoken => "AggregatorCoversNoTarget",
            Refused::Nothing => "AggregatorSawNothing",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Refused::Row { of, row, field } => {
                let list = match of {
                    Rows::Endpoints => "Results",
                    Rows::Recorded => "Recorded",
                };
                format!("{list}[{row}].{field} is not as queried")
            }
            Refused::Unspoken => "no target account and Region has both a recorder recording \
                AWS::EC2::ClientVpnEndpoint and sources whose last update succeeded"
                .into(),
            Refused::Nothing => "no Client VPN endpoint in any target account and Region it \
                speaks for: is AWS::EC2::ClientVpnEndpoint recorded there?"
                .into(),
        }
    }
}

/// Whether the aggregator may speak for `account` in `region`: a recorder there records Client
/// VPN endpoints, a source of it there (the account's, or the organization's) succeeded, and
/// none failed.
fn covers(answer: &Where, account: &str, region: &str) -> bool {
    let of_it: Vec<&Source> = answer
        .sources
        .iter()
        .filter(|s| s.region == region && s.account.as_deref().is_none_or(|a| a == account))
        .collect();
    answer
        .recorded
        .contains(&(account.to_owned(), region.to_owned()))
        && of_it.iter().any(|s| s.succeeded)
        && of_it.iter().all(|s| s.succeeded)
}

/// The answer read: where a recorder records Client VPN endpoints, and its sources.
struct Where<'a> {
    recorded: BTreeSet<(String, String)>,
    sources: &'a [Source],
}

/// The account and Region of a row, checked.
fn account_and_region(
    value: &Value,
    bad: impl Fn(&'static str) -> Refused,
) -> Result<(String, String), Refused> {
    let text_of = |field: &'static str| value.get(field).and_then(Value::as_str);
    let account = text_of("accountId").filter(|a| is_account_id(a));
    let region = text_of("awsRegion").filter(|r| is_region(r));
    Ok((
        account.ok_or_else(|| bad("accountId"))?.to_owned(),
        region.ok_or_else(|| bad("awsRegion"))?.to_owned(),
    ))
}

/// `value`'s field `name`, as Config's schema spells it or in camel case.
fn field<'v>(value: &'v Value, name: &str) -> Option<&'v Value> {
    let mut camel = name.to_owned();
    camel[..1].make_ascii_lowercase();
    value.get(name).or_else(|| value.get(&camel))
}

/// The resource types of a list field.
fn types(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Whether a recorder's item says it records Client VPN endpoints: it is recording, and its
/// recording group takes every supported type, or this one, or all but some that exclude not
/// this one.
fn records_endpoints(configuration: Option<&Value>) -> bool {
    let Some(c) = configuration else {
        return false;
    };
    let group = field(c, "RecordingGroup");
    let of_group = |name| group.and_then(|g| field(g, name));
    let excluded =
        types(of_group("ExclusionByResourceTypes").and_then(|e| field(e, "ResourceTypes")));
    let strategy = of_group("RecordingStrategy")
        .and_then(|r| field(r, "UseOnly"))
        .and_then(Value::as_str);
    field(c, "Recording").and_then(Value::as_bool) == Some(true)
        && !excluded.contains(&ENDPOINT_TYPE)
        && (of_group("AllSupported").and_then(Value::as_bool) == Some(true)
            || types(of_group("ResourceTypes")).contains(&ENDPOINT_TYPE)
            || strategy == Some("EXCLUSION_BY_RESOURCE_TYPES"))
}

/// Where [`RECORDED`] says a recorder records Client VPN endpoints.
fn recorded(rows: &[String]) -> Result<BTreeSet<(String, String)>, Refused> {
    let mut places = BTreeSet::new();
    for (i, text) in rows.iter().enumerate() {
        let bad = |field| Refused::Row {
            of: Rows::Recorded,
            row: i,
            field,
        };
        let value: Value = serde_json::from_str(text).map_err(|_| bad("(JSON)"))?;
        let place = account_and_region(&value, bad)?;
        let gone = value
            .get("configurationItemStatus")
            .and_then(Value::as_str)
            .is_some_and(|s| GONE.contains(&s));
        if !gone && records_endpoints(value.get("configuration")) {
            places.insert(place);
        }
    }
    Ok(places)
}

/// One row: an endpoint, at an account and Region, and the connect handler it calls.
struct Row {
    account: String,
    region: String,
    id: String,
    connect_handler: Option<String>,
}

/// Deleted resources stay in Config as items of these statuses: they are not there.
const GONE: [&str; 2] = ["ResourceDeleted", "ResourceDeletedNotRecorded"];

/// A row as the query asked for it; `None` for an endpoint Config says is deleted.
fn row(index: usize, text: &str) -> Result<Option<Row>, Refused> {
    let bad = |field| Refused::Row {
        of: Rows::Endpoints,
        row: index,
        field,
    };
    let value: Value = serde_json::from_str(text).map_err(|_| bad("(JSON)"))?;
    let text_of = |field: &'static str| value.get(field).and_then(Value::as_str);
    if text_of("configurationItemStatus").is_some_and(|s| GONE.contains(&s)) {
        return Ok(None);
    }
    let (account, region) = account_and_region(&value, bad)?;
    let id = text_of("resourceId").filter(|id| is_resource_id(id, ENDPOINT_PREFIX));
    let options = value
        .get("configuration")
        .and_then(|c| field(c, "ClientConnectOptions"));
    let connect_handler = options
        .filter(|o| field(o, "Enabled").and_then(Value::as_bool) == Some(true))
        .and_then(|o| field(o, "LambdaFunctionArn").and_then(Value::as_str))
        .filter(|arn| !arn.is_empty())
        .map(str::to_owned);
    Ok(Some(Row {
        account,
        region,
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
    let known = Where {
        recorded: recorded(&answer.recorded)?,
        sources: &answer.sources,
    };
    let mut spoken: Vec<&Place> = Vec::new();
    let mut endpoints: Vec<Endpoint> = Vec::new();
    for place in places.iter().copied() {
        let Some((account, region)) = named(place, own, home) else {
            continue;
        };
        if !covers(&known, account, region) {
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
    if spoken.is_empty() {
        return Err(Refused::Unspoken);
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
mod tests;
