//! The quarantine in the state table. One item per held name: `pk` =
//! `quarantine#<username|common_name>#<folded name>`, `kind` = `quarantine`, `subjectKind`,
//! `name`, `since` and `expiresAt` (epoch seconds; the table's TTL attribute, and the hold's end),
//! `reason`, and when known `findingId` and `requestedBy`. The connect handler may read only
//! `quarantine#` keys (its IAM policy says so). A person's release of a finding's hold leaves
//! `release#<kind>#<name>` (`findingId`, `releasedAt`, `releasedBy`, `expiresAt`) so that the same
//! finding does not hold the name again.

use super::{number, Dynamo, Item};
use crate::aws::api_error;
use crate::model::ApiError;
use crate::quarantine::{Held, Hold, Released, Subject, SubjectKind};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use std::future::Future;

pub const KEY_PREFIX: &str = "quarantine#";
const RELEASE_PREFIX: &str = "release#";

pub trait QuarantineStore: Send + Sync {
    /// The stored holds on `subjects` (at most 100), expired ones included: the caller knows the
    /// time.
    fn holds(
        &self,
        subjects: &[Subject],
    ) -> impl Future<Output = Result<Vec<Hold>, ApiError>> + Send;

    /// Stores `hold` unless one lasting at least as long is stored: a quarantine never shortens.
    fn place(&self, hold: &Hold) -> impl Future<Output = Result<Held, ApiError>> + Send;

    /// Deletes the hold on `subject`, answering what it was; a finding's hold still in force at
    /// `now` leaves a release record.
    fn release(
        &self,
        subject: &Subject,
        by: Option<&str>,
        now: i64,
    ) -> impl Future<Output = Result<Option<Hold>, ApiError>> + Send;

    /// The release records of `subjects` (at most 100).
    fn releases(
        &self,
        subjects: &[Subject],
    ) -> impl Future<Output = Result<Vec<Released>, ApiError>> + Send;

    /// Every stored hold, expired ones included.
    fn list(&self) -> impl Future<Output = Result<Vec<Hold>, ApiError>> + Send;
}

fn key(prefix: &str, subject: &Subject) -> Item {
    Item::from([(
        "pk".to_owned(),
        AttributeValue::S(format!(
            "{prefix}{}#{}",
            subject.kind.as_str(),
            subject.name
        )),
    )])
}

fn subject_of(item: &Item, prefix: &str) -> Option<Subject> {
    let pk = item.get("pk")?.as_s().ok()?.strip_prefix(prefix)?;
    let (kind, name) = pk.split_once('#')?;
    Some(Subject {
        kind: SubjectKind::parse(kind)?,
        name: name.to_owned(),
    })
}

fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name)?.as_s().ok().cloned()
}

fn item(hold: &Hold) -> Item {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let n = |v: i64| AttributeValue::N(v.to_string());
    let mut item = key(KEY_PREFIX, &hold.subject);
    item.insert("kind".into(), s("quarantine"));
    item.insert("subjectKind".into(), s(hold.subject.kind.as_str()));
    item.insert("name".into(), s(&hold.subject.name));
    item.insert("since".into(), n(hold.since));
    item.insert("expiresAt".into(), n(hold.until));
    item.insert("reason".into(), s(&hold.reason));
    if let Some(f) = &hold.finding_id {
        item.insert("findingId".into(), s(f));
    }
    if let Some(r) = &hold.requested_by {
        item.insert("requestedBy".into(), s(r));
    }
    item
}

impl Dynamo {
    /// The hold an item under a quarantine key stands for. Its subject is the key's (what the
    /// handler looked up). An item whose times cannot be read was still put there to keep someone
    /// out: it holds, with no end, and says so at error level.
    fn hold_of(&self, item: &Item) -> Option<Hold> {
        let subject = subject_of(item, KEY_PREFIX)?;
        let times = number::<i64>(item, "since").zip(number::<i64>(item, "expiresAt"));
        if times.is_none() {
            tracing::error!(
                event = "state_item_unreadable",
                table = self.table.as_str(),
                kind = subject.kind.as_str(),
                name = subject.name.as_str(),
                "a quarantine item without readable since/expiresAt; treated as a hold with no end"
            );
        }
        let (since, until) = times.unwrap_or((0, i64::MAX));
        Some(Hold {
            subject,
            since,
            until,
            finding_id: text(item, "findingId"),
            reason: text(item, "reason").unwrap_or_default(),
            requested_by: text(item, "requestedBy"),
        })
    }
}

impl QuarantineStore for Dynamo {
    async fn holds(&self, subjects: &[Subject]) -> Result<Vec<Hold>, ApiError> {
        if subjects.is_empty() {
            return Ok(Vec::new());
        }
        let keys = subjects.iter().map(|s| key(KEY_PREFIX, s)).collect();
        let items = self.batch_get(keys).await?;
        Ok(items.iter().filter_map(|i| self.hold_of(i)).collect())
    }

    async fn place(&self, hold: &Hold) -> Result<Held, ApiError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(hold)))
            .condition_expression("attribute_not_exists(pk) OR expiresAt < :until")
            .expression_attribute_values(":until", AttributeValue::N(hold.until.to_string()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => {
                let before = out.attributes().and_then(|a| number::<i64>(a, "expiresAt"));
                Ok(match before {
                    Some(until) if until > hold.since => Held::Extended,
                    _ => Held::Placed,
                })
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(Held::Kept)
            }
            Err(e) => Err(api_error(e)),
        }
    }

    async fn release(
        &self,
        subject: &Subject,
        by: Option<&str>,
        now: i64,
    ) -> Result<Option<Hold>, ApiError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(KEY_PREFIX, subject)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(api_error)?;
        let before = out.attributes().and_then(|a| self.hold_of(a));
        if let Some(hold) = before.as_ref().filter(|h| h.in_force(now)) {
            if let Some(finding) = &hold.finding_id {
                let mut record = key(RELEASE_PREFIX, subject);
                record.insert("kind".into(), AttributeValue::S("release".into()));
                record.insert("findingId".into(), AttributeValue::S(finding.clone()));
                record.insert("releasedAt".into(), AttributeValue::N(now.to_string()));
                record.insert(
                    "expiresAt".into(),
                    AttributeValue::N(hold.until.to_string()),
                );
                if let Some(by) = by {
                    record.insert("releasedBy".into(), AttributeValue::S(by.to_owned()));
                }
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(record))
                    .send()
                    .await
                    .map_err(api_error)?;
            }
        }
        Ok(before)
    }

    async fn releases(&self, subjects: &[Subject]) -> Result<Vec<Released>, ApiError> {
        if subjects.is_empty() {
            return Ok(Vec::new());
        }
        let keys = subjects.iter().map(|s| key(RELEASE_PREFIX, s)).collect();
        let items = self.batch_get(keys).await?;
        Ok(items
            .iter()
            .filter_map(|i| {
                Some(Released {
                    subject: subject_of(i, RELEASE_PREFIX)?,
                    finding_id: text(i, "findingId")?,
                    at: number(i, "releasedAt")?,
                    by: text(i, "releasedBy"),
                    until: number(i, "expiresAt")?,
                })
            })
            .collect())
    }

    async fn list(&self) -> Result<Vec<Hold>, ApiError> {
        let mut holds = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("begins_with(pk, :prefix)")
                .expression_attribute_values(":prefix", AttributeValue::S(KEY_PREFIX.into()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(api_error)?;
            holds.extend(out.items().iter().filter_map(|i| self.hold_of(i)));
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(holds),
            }
        }
    }
}
