//! What a quarantine item holds and the conditions its updates carry, as DynamoDB reads them.

use super::KEY_PREFIX;
use crate::adapters::state::{number, Item};
use crate::domain::plan::FindingRef;
use crate::domain::quarantine::{finding_key, Hold, Placer, Subject, SubjectKind};
use aws_sdk_dynamodb::types::AttributeValue;

pub(super) fn key(prefix: &str, subject: &Subject) -> Item {
    Item::from([(
        "pk".to_owned(),
        AttributeValue::S(format!(
            "{prefix}{}#{}",
            subject.kind.as_str(),
            subject.name
        )),
    )])
}

pub(super) fn subject_of(item: &Item, prefix: &str) -> Option<Subject> {
    let pk = item.get("pk")?.as_s().ok()?.strip_prefix(prefix)?;
    let (kind, name) = pk.split_once('#')?;
    Some(Subject {
        kind: SubjectKind::parse(kind)?,
        name: name.to_owned(),
    })
}

pub(super) fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name)?.as_s().ok().cloned()
}

/// The keys of a hold's findings, as a string set (`None`: it has none).
pub(super) fn finding_set(hold: &Hold) -> Option<AttributeValue> {
    let mut keys: Vec<String> = Vec::new();
    for f in &hold.findings {
        let key = finding_key(&f.id);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    (!keys.is_empty()).then_some(AttributeValue::Ss(keys))
}

/// The condition under which a hold in force is extended: it ends sooner, and this is not the
/// evidence that holds it already (`same_evidence`).
pub(super) fn extension(same: Option<&(String, Vec<(String, AttributeValue)>)>) -> String {
    match same {
        Some((clause, _)) => format!("expiresAt < :until AND NOT ({clause})"),
        None => "expiresAt < :until".into(),
    }
}

/// When every finding of `hold` is known, with when its activity was last seen: the condition
/// (and its values) that the hold in force already has them all and was placed or extended after
/// that activity. Then it is the same evidence again (a run again on an unchanged finding, another
/// event carrying it): the hold is kept as it is, not moved on by the seconds since. A finding
/// with newer activity, or a new one, extends it; so does a person's request (no finding). A
/// custom action pressed again on an unchanged finding keeps the hold too: to hold longer, a
/// person asks for it (`{"Quarantine": …}`, `cvpn-terminator quarantine add`).
pub(super) fn same_evidence(hold: &Hold) -> Option<(String, Vec<(String, AttributeValue)>)> {
    /// Beyond this many findings the condition is not worth its size: the hold is extended.
    const MOST: usize = 20;
    if hold.findings.is_empty() || hold.findings.len() > MOST {
        return None;
    }
    let seen = hold
        .findings
        .iter()
        .map(|f| f.seen_at.map(|t| t.timestamp()))
        .collect::<Option<Vec<i64>>>()?
        .into_iter()
        .max()?;
    let mut clause = vec!["since >= :seen".to_owned()];
    let mut values = vec![(":seen".to_owned(), AttributeValue::N(seen.to_string()))];
    for (i, f) in hold.findings.iter().enumerate() {
        clause.push(format!("contains(findingIds, :same{i})"));
        values.push((format!(":same{i}"), AttributeValue::S(finding_key(&f.id))));
    }
    Some((clause.join(" AND "), values))
}

pub(super) fn finding_ids(item: &Item) -> Vec<String> {
    let mut ids: Vec<String> = item
        .get("findingIds")
        .and_then(|v| v.as_ss().ok())
        .cloned()
        .unwrap_or_default();
    if let Some(latest) = text(item, "findingId") {
        let key = finding_key(&latest);
        if !ids.contains(&key) {
            ids.push(key);
        }
    }
    ids
}

/// Whose words placed `hold`, as a string set (a hold always has a placer: a person's is marked
/// so too, whatever its request says).
pub(super) fn placer_set(hold: &Hold) -> AttributeValue {
    let mut keys: Vec<String> = hold.placed_by.iter().map(Placer::key).collect();
    if keys.is_empty() {
        keys.push(Placer::Finding.key());
    }
    AttributeValue::Ss(keys)
}

/// Whose words placed or extended the hold an item stands for (none: an earlier version wrote it).
pub(super) fn placers(item: &Item) -> Vec<Placer> {
    item.get("placedBy")
        .and_then(|v| v.as_ss().ok())
        .map(|keys| keys.iter().map(|k| Placer::parse(k)).collect())
        .unwrap_or_default()
}

/// The hold an item under a quarantine key stands for. Its subject is the key's (what the
/// handler looked up). Its end alone decides whether it holds: an item whose end cannot be
/// read was still put there to keep someone out, so it holds with no end, and says so at
/// error level; one whose start cannot be read holds until its end, and says so too.
pub(super) fn hold_of(table: &str, item: &Item) -> Option<Hold> {
    let subject = subject_of(item, KEY_PREFIX)?;
    let since = number::<i64>(item, "since");
    let until = number::<i64>(item, "expiresAt");
    for (field, missing, meaning) in [
        (
            "expiresAt",
            until.is_none(),
            "treated as a hold with no end",
        ),
        ("since", since.is_none(), "it holds until its end"),
    ] {
        if missing {
            tracing::error!(
                event = "state_item_unreadable",
                table,
                kind = subject.kind.as_str(),
                name = subject.name.as_str(),
                field,
                "a quarantine item without a readable {field}; {meaning}"
            );
        }
    }
    let until = until.unwrap_or(i64::MAX);
    let since = since.unwrap_or(0);
    Some(Hold {
        subject,
        since,
        until,
        finding_id: text(item, "findingId"),
        findings: finding_ids(item)
            .into_iter()
            .map(|id| FindingRef {
                id,
                seen_at: None,
                idp: None,
            })
            .collect(),
        reason: text(item, "reason").unwrap_or_default(),
        requested_by: text(item, "requestedBy"),
        by_person: item
            .get("heldByPerson")
            .and_then(|v| v.as_bool().ok())
            .is_some_and(|held| *held),
        placed_by: placers(item),
    })
}
