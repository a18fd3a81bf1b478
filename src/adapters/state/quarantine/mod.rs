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
use aws_sdk_dynamodb::types::AttributeValue;
use std::future::Future;

mod items;
mod writes;
use items::{extension, finding_ids, finding_set, hold_of, key, same_evidence, subject_of, text};

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
        let findings = finding_set(hold);
        let same = same_evidence(hold);
        let fresh = self
            .hold_update(
                hold,
                &findings,
                "attribute_not_exists(pk) OR expiresAt <= :since",
                true,
            )
            .send()
            .await;
        match fresh {
            Ok(_) => return Ok(Held::Placed),
            Err(e) if condition_failed(&e) => {}
            Err(e) => return Err(api_error(e)),
        }
        let mut extend = self.hold_update(hold, &findings, &extension(same.as_ref()), false);
        for (name, value) in same.into_iter().flat_map(|(_, values)| values) {
            extend = extend.expression_attribute_values(name, value);
        }
        match extend.send().await {
            Ok(_) => return Ok(Held::Extended),
            Err(e) if condition_failed(&e) => {}
            Err(e) => return Err(api_error(e)),
        }
        self.add_to_longer(hold, findings).await?;
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
            self.record_release(subject, by, now, hold.until, findings)
                .await?;
        }
        // Only the hold that was read: one a finding placed, extended or added to meanwhile is not
        // covered by the record, so it stays, and the person is told to release again.
        let delete = self.delete_as_read(subject, item, back.is_some());
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
