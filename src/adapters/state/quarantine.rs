//! The quarantine in the state table. One item per held name: `pk` =
//! `quarantine#<username|common_name>#<folded name>`, `kind` = `quarantine`, `subjectKind`,
//! `name`, `since` and `expiresAt` (epoch seconds; the table's TTL attribute, and the hold's end),
//! `reason`, and when known `findingId` (the latest), `findingIds` (every finding that placed or
//! extended it, as `quarantine::finding_key` writes them) and `requestedBy`. The connect handler
//! may read only `quarantine#` keys (its IAM policy says so). A person's release of findings' hold
//! leaves `release#<kind>#<name>` (`findingIds`, `releasedAt`, `releasedBy`, `expiresAt`) so that
//! those findings neither end the name's sessions nor hold it again.

use super::BATCH;
use super::{number, Dynamo, Item};
use crate::adapters::aws::api_error;
use crate::domain::model::ApiError;
use crate::domain::quarantine::{finding_key, Held, Hold, Released, Subject, SubjectKind};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use std::future::Future;

pub const KEY_PREFIX: &str = "quarantine#";
const RELEASE_PREFIX: &str = "release#";

pub trait QuarantineStore: Send + Sync {
    /// The stored holds on `subjects` (at most 100: the connect handler asks for two), expired ones
    /// included: the caller knows the time.
    fn holds(
        &self,
        subjects: &[Subject],
    ) -> impl Future<Output = Result<Vec<Hold>, ApiError>> + Send;

    /// Stores `hold` unless one lasting at least as long is stored: a quarantine never shortens.
    fn place(&self, hold: &Hold) -> impl Future<Output = Result<Held, ApiError>> + Send;

    /// Deletes the hold on `subject`, answering what it was; a hold of findings still in force at
    /// `now` leaves a release record for them first.
    fn release(
        &self,
        subject: &Subject,
        by: Option<&str>,
        now: i64,
    ) -> impl Future<Output = Result<Option<Hold>, ApiError>> + Send;

    /// The release records of `subjects`.
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

/// A string set of one finding's key.
fn finding_set(finding: &str) -> AttributeValue {
    AttributeValue::Ss(vec![finding_key(finding)])
}

fn finding_ids(item: &Item) -> Vec<String> {
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
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let n = |v: i64| AttributeValue::N(v.to_string());
        let mut set = vec![
            "#kind = :kind",
            "subjectKind = :subjectKind",
            "#name = :name",
            "since = :since",
            "expiresAt = :until",
            "#reason = :reason",
        ];
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(KEY_PREFIX, &hold.subject)))
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_names("#name", "name")
            .expression_attribute_names("#reason", "reason")
            .expression_attribute_values(":kind", s("quarantine"))
            .expression_attribute_values(":subjectKind", s(hold.subject.kind.as_str()))
            .expression_attribute_values(":name", s(&hold.subject.name))
            .expression_attribute_values(":since", n(hold.since))
            .expression_attribute_values(":until", n(hold.until))
            .expression_attribute_values(":reason", s(&hold.reason));
        if let Some(by) = &hold.requested_by {
            set.push("requestedBy = :by");
            request = request.expression_attribute_values(":by", s(by));
        }
        let mut update = String::new();
        if let Some(f) = &hold.finding_id {
            set.push("findingId = :finding");
            request = request
                .expression_attribute_values(":finding", s(f))
                .expression_attribute_values(":findings", finding_set(f));
            update = " ADD findingIds :findings".into();
        }
        let result = request
            .update_expression(format!("SET {}{update}", set.join(", ")))
            .condition_expression("attribute_not_exists(pk) OR expiresAt < :until")
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
                // A longer hold stays; it is now this finding's too, so that releasing it
                // releases this finding as well.
                if let Some(f) = &hold.finding_id {
                    self.client
                        .update_item()
                        .table_name(&self.table)
                        .set_key(Some(key(KEY_PREFIX, &hold.subject)))
                        .update_expression("ADD findingIds :findings")
                        .condition_expression("attribute_exists(pk)")
                        .expression_attribute_values(":findings", finding_set(f))
                        .send()
                        .await
                        .map_err(api_error)?;
                }
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
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(KEY_PREFIX, subject)))
            .consistent_read(true)
            .send()
            .await
            .map_err(api_error)?;
        let item = out.item();
        let before = item.and_then(|i| self.hold_of(i));
        let findings = item.map(finding_ids).unwrap_or_default();
        // The release record first: if the delete then fails, releasing again finds the hold and
        // writes the record again; the other way round, a failed record would be lost for good.
        if let Some(hold) = before
            .as_ref()
            .filter(|h| h.in_force(now) && !findings.is_empty())
        {
            let mut request = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(RELEASE_PREFIX, subject)))
                .expression_attribute_names("#kind", "kind")
                .expression_attribute_values(":kind", AttributeValue::S("release".into()))
                .expression_attribute_values(":findings", AttributeValue::Ss(findings))
                .expression_attribute_values(":at", AttributeValue::N(now.to_string()))
                .expression_attribute_values(":until", AttributeValue::N(hold.until.to_string()));
            let mut set = "#kind = :kind, releasedAt = :at, expiresAt = :until".to_owned();
            if let Some(by) = by {
                set.push_str(", releasedBy = :by");
                request = request.expression_attribute_values(":by", AttributeValue::S(by.into()));
            }
            request
                .update_expression(format!("SET {set} ADD findingIds :findings"))
                .send()
                .await
                .map_err(api_error)?;
        }
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(KEY_PREFIX, subject)))
            .send()
            .await
            .map_err(api_error)?;
        Ok(before)
    }

    async fn releases(&self, subjects: &[Subject]) -> Result<Vec<Released>, ApiError> {
        let mut found = Vec::new();
        for chunk in subjects.chunks(BATCH) {
            let keys = chunk.iter().map(|s| key(RELEASE_PREFIX, s)).collect();
            found.extend(self.batch_get(keys).await?);
        }
        Ok(found
            .iter()
            .filter_map(|i| {
                Some(Released {
                    subject: subject_of(i, RELEASE_PREFIX)?,
                    finding_ids: finding_ids(i),
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
