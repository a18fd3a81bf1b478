//! The quarantine in the state table. One item per held name: `pk` =
//! `quarantine#<username|common_name>#<folded name>`, `kind` = `quarantine`, `subjectKind`,
//! `name`, `since` and `expiresAt` (epoch seconds; the table's TTL attribute, and the hold's end),
//! `reason`, and when known `findingId` and `requestedBy`. The connect handler may read only
//! `quarantine#` keys (its IAM policy says so).

use super::{number, Dynamo, Item};
use crate::aws::api_error;
use crate::model::ApiError;
use crate::quarantine::{Held, Hold, Subject, SubjectKind};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use std::future::Future;

pub const KEY_PREFIX: &str = "quarantine#";

pub trait QuarantineStore: Send + Sync {
    /// The stored holds on `subjects` (at most 100), expired ones included: the caller knows the
    /// time.
    fn holds(
        &self,
        subjects: &[Subject],
    ) -> impl Future<Output = Result<Vec<Hold>, ApiError>> + Send;

    /// Stores `hold` unless one lasting at least as long is stored: a quarantine never shortens.
    fn place(&self, hold: &Hold) -> impl Future<Output = Result<Held, ApiError>> + Send;

    /// Deletes the hold on `subject`, answering what it was.
    fn release(
        &self,
        subject: &Subject,
    ) -> impl Future<Output = Result<Option<Hold>, ApiError>> + Send;

    /// Every stored hold, expired ones included.
    fn list(&self) -> impl Future<Output = Result<Vec<Hold>, ApiError>> + Send;
}

fn key(subject: &Subject) -> Item {
    Item::from([(
        "pk".to_owned(),
        AttributeValue::S(format!(
            "{KEY_PREFIX}{}#{}",
            subject.kind.as_str(),
            subject.name
        )),
    )])
}

fn item(hold: &Hold) -> Item {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let n = |v: i64| AttributeValue::N(v.to_string());
    let mut item = key(&hold.subject);
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

fn parse(item: &Item) -> Option<Hold> {
    let text = |name: &str| item.get(name)?.as_s().ok().cloned();
    if !text("pk")?.starts_with(KEY_PREFIX) {
        return None;
    }
    Some(Hold {
        subject: Subject {
            kind: SubjectKind::parse(&text("subjectKind")?)?,
            name: text("name")?,
        },
        since: number(item, "since")?,
        until: number(item, "expiresAt")?,
        finding_id: text("findingId"),
        reason: text("reason").unwrap_or_default(),
        requested_by: text("requestedBy"),
    })
}

impl Dynamo {
    fn holds_of(&self, items: &[Item]) -> Vec<Hold> {
        items
            .iter()
            .filter_map(|i| {
                let hold = parse(i);
                if hold.is_none() {
                    self.unreadable();
                }
                hold
            })
            .collect()
    }
}

impl QuarantineStore for Dynamo {
    async fn holds(&self, subjects: &[Subject]) -> Result<Vec<Hold>, ApiError> {
        if subjects.is_empty() {
            return Ok(Vec::new());
        }
        let items = self.batch_get(subjects.iter().map(key).collect()).await?;
        Ok(self.holds_of(&items))
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

    async fn release(&self, subject: &Subject) -> Result<Option<Hold>, ApiError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(subject)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(api_error)?;
        Ok(out.attributes().and_then(parse))
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
            holds.extend(self.holds_of(out.items()));
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(holds),
            }
        }
    }
}
