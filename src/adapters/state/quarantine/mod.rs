//! The quarantine in the state table. One item per held name: `pk` =
//! `quarantine#<username|common_name>#<folded name>`, `kind` = `quarantine`, `subjectKind`,
//! `name`, `since` and `expiresAt` (epoch seconds; the table's TTL attribute, and the hold's end),
//! `reason`, and when known `findingId` (the latest), `findingIds` (every finding that placed or
//! extended it, as `quarantine::finding_key` writes them), `requestedBy`, `heldByPerson` (a
//! person asked for it, whoever else did) and `placedBy` (whose words placed or extended it:
//! `Placer::key`, what lets an IdP lift only its own holds). The connect handler
//! may read only `quarantine#` keys (its IAM policy says so). A person's release of findings' hold
//! leaves `release#<kind>#<name>` (`findingIds`, `releasedAt`, `releasedBy`, `expiresAt`) so that
//! those findings neither end the name's sessions nor hold it again.

use super::BATCH;
use super::{number, Dynamo};
use crate::adapters::aws::{api_error, condition_failed};
use crate::domain::model::ApiError;
use crate::domain::quarantine::{Held, Hold, Released, Subject};
use crate::domain::trigger::idp::{stays, BackIn};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use std::future::Future;

mod items;
use items::{
    extension, finding_ids, finding_set, hold_of, key, placer_set, same_evidence, subject_of, text,
};

pub const KEY_PREFIX: &str = "quarantine#";
/// The error code of a release an IdP may not make (`QuarantineStore::release`, `idp::stays`).
pub const HOLD_STAYS: &str = "HoldStays";
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
    /// `now` leaves a release record for them first. For an IdP's `back` in, only a hold that
    /// IdP's word alone placed, before it said so, is deleted: another fails `HoldStays` and stays.
    fn release(
        &self,
        subject: &Subject,
        by: Option<&str>,
        now: i64,
        back: Option<BackIn<'_>>,
    ) -> impl Future<Output = Result<Option<Hold>, ApiError>> + Send;

    /// The release records of `subjects`.
    fn releases(
        &self,
        subjects: &[Subject],
    ) -> impl Future<Output = Result<Vec<Released>, ApiError>> + Send;

    /// Every stored hold, expired ones included.
    fn list(&self) -> impl Future<Output = Result<Vec<Hold>, ApiError>> + Send;
}

impl QuarantineStore for Dynamo {
    async fn holds(&self, subjects: &[Subject]) -> Result<Vec<Hold>, ApiError> {
        if subjects.is_empty() {
            return Ok(Vec::new());
        }
        let keys = subjects.iter().map(|s| key(KEY_PREFIX, s)).collect();
        let items = self.batch_get(keys).await?;
        Ok(items
            .iter()
            .filter_map(|i| hold_of(&self.table, i))
            .collect())
    }

    /// Three conditional updates, tried in turn, so that the item always says one hold: no item
    /// or an expired one (DynamoDB deletes late) is replaced whole; a shorter one is extended,
    /// adding this hold's findings; a longer one stays, with this hold's findings added, so that
    /// releasing it releases them too.
    async fn place(&self, hold: &Hold) -> Result<Held, ApiError> {
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let n = |v: i64| AttributeValue::N(v.to_string());
        let findings = finding_set(hold);
        let same = same_evidence(hold);
        // A person's hold (no findings) is marked for good, even where a longer one stays, so
        // that no IdP's "back in" lifts what a person also asked for (`placed_only_by`).
        let by_person = hold.by_person;
        let update = |condition: &str, set_findings: bool| {
            let mut set = vec![
                "#kind = :kind",
                "subjectKind = :subjectKind",
                "#name = :name",
                "since = :since",
                "expiresAt = :until",
                "#reason = :reason",
            ];
            let mut remove = Vec::new();
            // Who placed it: set anew with the hold, added to when it is extended.
            let mut add = vec![match set_findings {
                true => {
                    set.push("placedBy = :placers");
                    ""
                }
                false => "placedBy :placers",
            }];
            let mut request = self
                .client()
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(KEY_PREFIX, &hold.subject)))
                .condition_expression(condition)
                .expression_attribute_names("#kind", "kind")
                .expression_attribute_names("#name", "name")
                .expression_attribute_names("#reason", "reason")
                .expression_attribute_values(":kind", s("quarantine"))
                .expression_attribute_values(":subjectKind", s(hold.subject.kind.as_str()))
                .expression_attribute_values(":name", s(&hold.subject.name))
                .expression_attribute_values(":since", n(hold.since))
                .expression_attribute_values(":until", n(hold.until))
                .expression_attribute_values(":reason", s(&hold.reason))
                .expression_attribute_values(":placers", placer_set(hold))
                .return_values(ReturnValue::AllOld);
            match &hold.requested_by {
                Some(by) => {
                    set.push("requestedBy = :by");
                    request = request.expression_attribute_values(":by", s(by));
                }
                None => remove.push("requestedBy"),
            }
            if by_person {
                set.push("heldByPerson = :person");
                request =
                    request.expression_attribute_values(":person", AttributeValue::Bool(true));
            } else if set_findings {
                remove.push("heldByPerson");
            }
            match (&hold.finding_id, &findings) {
                (Some(f), Some(keys)) => {
                    set.push("findingId = :finding");
                    request = request
                        .expression_attribute_values(":finding", s(f))
                        .expression_attribute_values(":findings", keys.clone());
                    if set_findings {
                        set.push("findingIds = :findings");
                    } else {
                        add.push("findingIds :findings");
                    }
                }
                _ if set_findings => remove.extend(["findingId", "findingIds"]),
                _ => {}
            }
            let remove = if remove.is_empty() {
                String::new()
            } else {
                format!(" REMOVE {}", remove.join(", "))
            };
            add.retain(|a| !a.is_empty());
            let add = if add.is_empty() {
                String::new()
            } else {
                format!(" ADD {}", add.join(", "))
            };
            request.update_expression(format!("SET {}{remove}{add}", set.join(", ")))
        };
        let fresh = update("attribute_not_exists(pk) OR expiresAt <= :since", true)
            .send()
            .await;
        match fresh {
            Ok(_) => return Ok(Held::Placed),
            Err(e) if condition_failed(&e) => {}
            Err(e) => return Err(api_error(e)),
        }
        let mut extend = update(&extension(same.as_ref()), false);
        for (name, value) in same.into_iter().flat_map(|(_, values)| values) {
            extend = extend.expression_attribute_values(name, value);
        }
        match extend.send().await {
            Ok(_) => return Ok(Held::Extended),
            Err(e) if condition_failed(&e) => {}
            Err(e) => return Err(api_error(e)),
        }
        let kept = match findings {
            Some(keys) => Some(
                self.client()
                    .update_item()
                    .update_expression("ADD findingIds :findings, placedBy :placers")
                    .expression_attribute_values(":findings", keys),
            ),
            None if by_person => Some(
                self.client()
                    .update_item()
                    .update_expression("SET heldByPerson = :person ADD placedBy :placers")
                    .expression_attribute_values(":person", AttributeValue::Bool(true)),
            ),
            None => None,
        };
        if let Some(request) = kept {
            let added = request
                .expression_attribute_values(":placers", placer_set(hold))
                .table_name(&self.table)
                .set_key(Some(key(KEY_PREFIX, &hold.subject)))
                .condition_expression("attribute_exists(pk)")
                .send()
                .await;
            // Released meanwhile: nothing is left to add to, and nothing was held longer.
            if let Err(e) = added {
                if !condition_failed(&e) {
                    return Err(api_error(e));
                }
            }
        }
        Ok(Held::Kept)
    }

    async fn release(
        &self,
        subject: &Subject,
        by: Option<&str>,
        now: i64,
        back: Option<BackIn<'_>>,
    ) -> Result<Option<Hold>, ApiError> {
        let out = self
            .client()
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(KEY_PREFIX, subject)))
            .consistent_read(true)
            .send()
            .await
            .map_err(api_error)?;
        let item = out.item();
        let before = item.and_then(|i| hold_of(&self.table, i));
        let unreadable = || {
            format!(
                "the hold on {} {} cannot be read",
                subject.kind.as_str(),
                subject.name
            )
        };
        let stays = match (back, item, &before) {
            (Some(b), _, Some(hold)) => stays(hold, b),
            (Some(_), Some(_), None) => Some(unreadable()),
            _ => None,
        };
        if let Some(why) = stays {
            return Err(ApiError {
                code: HOLD_STAYS.into(),
                message: why,
            });
        }
        // The IdP lifts only a hold it read: with none read, one placed meanwhile is not its own.
        if back.is_some() && item.is_none() {
            return Ok(None);
        }
        let findings = item.map(finding_ids).unwrap_or_default();
        // The release record first: if the delete then fails, releasing again finds the hold and
        // writes the record again; the other way round, a failed record would be lost for good.
        if let Some(hold) = before
            .as_ref()
            .filter(|h| h.in_force(now) && !findings.is_empty())
        {
            // An item whose end could not be read holds forever; its record need not.
            let until = hold.until.min(now + 366 * 24 * 60 * 60);
            let mut request = self
                .client()
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(RELEASE_PREFIX, subject)))
                .expression_attribute_names("#kind", "kind")
                .expression_attribute_values(":kind", AttributeValue::S("release".into()))
                .expression_attribute_values(":findings", AttributeValue::Ss(findings))
                .expression_attribute_values(":at", AttributeValue::N(now.to_string()))
                .expression_attribute_values(":until", AttributeValue::N(until.to_string()));
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
        // Only the hold that was read: one a finding placed, extended or added to meanwhile is not
        // covered by the record, so it stays, and the person is told to release again.
        let mut delete = self
            .client()
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(KEY_PREFIX, subject)));
        if let Some(item) = item {
            let count = item
                .get("findingIds")
                .and_then(|v| v.as_ss().ok())
                .map_or(0, Vec::len);
            let until = item.get("expiresAt").cloned();
            let mut conditions = vec![match until {
                Some(v) => {
                    delete = delete.expression_attribute_values(":until", v);
                    "expiresAt = :until"
                }
                None => "attribute_not_exists(expiresAt)",
            }];
            if count > 0 {
                conditions.push("size(findingIds) = :count");
                delete = delete
                    .expression_attribute_values(":count", AttributeValue::N(count.to_string()));
            } else {
                conditions.push("attribute_not_exists(findingIds)");
            }
            if back.is_some() {
                // Nor one another word was added to meanwhile (placedBy only grows), nor one a
                // person held (the findings' count may not have changed).
                let placers = item
                    .get("placedBy")
                    .and_then(|v| v.as_ss().ok())
                    .map_or(0, Vec::len);
                conditions.push("size(placedBy) = :placers");
                delete = delete.expression_attribute_values(
                    ":placers",
                    AttributeValue::N(placers.to_string()),
                );
                conditions.push("attribute_not_exists(heldByPerson)");
                conditions.push("attribute_not_exists(requestedBy)");
            }
            delete = delete.condition_expression(conditions.join(" AND "));
        }
        match delete.send().await {
            Ok(_) => Ok(before),
            Err(e) if condition_failed(&e) => Err(ApiError {
                code: "HoldChanged".into(),
                message: format!(
                    "the hold on {} {} changed while it was being released (a finding held it \
                         again); it stays: release again",
                    subject.kind.as_str(),
                    subject.name
                ),
            }),
            Err(e) => Err(api_error(e)),
        }
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
                .client()
                .scan()
                .table_name(&self.table)
                .filter_expression("begins_with(pk, :prefix)")
                .expression_attribute_values(":prefix", AttributeValue::S(KEY_PREFIX.into()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(api_error)?;
            holds.extend(out.items().iter().filter_map(|i| hold_of(&self.table, i)));
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(holds),
            }
        }
    }
}
