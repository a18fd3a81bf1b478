//! Once per delivery: EventBridge delivers at least once, so the same event (same `id`, same
//! digest: `domain/trigger/delivery.rs`) can reach the function twice. One item per delivery being
//! or having been handled: `pk` = `delivery#<event id>#<digest>`, `kind` = `delivery`, `state`
//! (`claimed` while an invocation acts on it, `done` after it succeeded), `owner` (the claiming
//! invocation's Lambda request ID, which Lambda keeps when it retries the event), `claimedAt`,
//! `handledAt`, `summary`, `expiresAt` (the claim's end, then 24 hours after success; an item past
//! it counts as absent, since DynamoDB deletes late). One more item per event `id`,
//! `delivery-id#<event id>`, keeps the digest last seen with it, so that another event reusing
//! the `id` is told apart and logged (`delivery_conflict`).

use super::{Dynamo, Item};
use crate::adapters::aws::{api_error, condition_failed};
use crate::domain::model::ApiError;
use crate::domain::trigger::delivery::Delivery;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use std::future::Future;

const KEY_PREFIX: &str = "delivery#";
const ID_PREFIX: &str = "delivery-id#";
/// Lambda runs an invocation for 15 minutes at most: a claim older than that, whatever it says
/// of its end, has no invocation behind it.
const LONGEST_INVOCATION: i64 = 15 * 60;
/// How long a handled delivery is remembered when its record gives no end of its own.
const REMEMBERED: i64 = 24 * 60 * 60;

/// What claiming an event found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// This invocation acts on it.
    Claimed,
    /// Handled already, successfully, at `handled_at` (epoch seconds), with what it did.
    Done { handled_at: i64, summary: String },
    /// Another invocation is acting on it now.
    InProgress,
}

pub trait DeliveryStore: Send + Sync {
    /// Claims `delivery` for `owner` until `until` (epoch seconds), unless it was handled or
    /// another invocation holds it: a claim past its end, older than Lambda's longest invocation,
    /// with neither end nor start, or the owner's own (Lambda retrying the invocation that claimed
    /// it, which died), is taken over.
    fn claim(
        &self,
        delivery: &Delivery,
        owner: &str,
        now: i64,
        until: i64,
    ) -> impl Future<Output = Result<Claim, ApiError>> + Send;

    /// Records the owner's success, kept until `until`.
    fn complete(
        &self,
        delivery: &Delivery,
        owner: &str,
        now: i64,
        summary: &str,
        until: i64,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// Gives the owner's claim up, so that Lambda's retry of a failed invocation acts again.
    fn abandon(
        &self,
        delivery: &Delivery,
        owner: &str,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// Records `delivery`'s digest as the last seen with its `id` (until `until`) and answers the
    /// digest seen before it, if it is another one that is still remembered.
    fn seen(
        &self,
        delivery: &Delivery,
        now: i64,
        until: i64,
    ) -> impl Future<Output = Result<Option<String>, ApiError>> + Send;
}

fn key(delivery: &Delivery) -> Item {
    Item::from([(
        "pk".to_owned(),
        AttributeValue::S(format!("{KEY_PREFIX}{}#{}", delivery.id, delivery.digest)),
    )])
}

impl DeliveryStore for Dynamo {
    async fn claim(
        &self,
        delivery: &Delivery,
        owner: &str,
        now: i64,
        until: i64,
    ) -> Result<Claim, ApiError> {
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let n = |v: i64| AttributeValue::N(v.to_string());
        // Twice at most: an item that disappears between the refused put and the read (its owner
        // gave it up, or TTL removed it) is claimable again.
        for _ in 0..2 {
            let mut item = key(delivery);
            item.insert("kind".into(), s("delivery"));
            item.insert("state".into(), s("claimed"));
            item.insert("owner".into(), s(owner));
            item.insert("claimedAt".into(), n(now));
            item.insert("expiresAt".into(), n(until));
            let put = self
                .client()
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(
                    "attribute_not_exists(pk) OR attribute_not_exists(#state) OR expiresAt < :now \
                     OR (#state = :claimed AND (#owner = :owner OR claimedAt < :stale \
                         OR (attribute_not_exists(expiresAt) AND attribute_not_exists(claimedAt)))) \
                     OR (#state = :done AND attribute_not_exists(expiresAt) \
                         AND (attribute_not_exists(handledAt) OR handledAt < :forgotten))",
                )
                .expression_attribute_names("#state", "state")
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_values(":claimed", s("claimed"))
                .expression_attribute_values(":done", s("done"))
                .expression_attribute_values(":owner", s(owner))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":stale", n(now - LONGEST_INVOCATION))
                .expression_attribute_values(":forgotten", n(now - REMEMBERED))
                .send()
                .await;
            match put {
                Ok(_) => return Ok(Claim::Claimed),
                Err(e) if condition_failed(&e) => {}
                Err(e) => return Err(api_error(e)),
            }
            let out = self
                .client()
                .get_item()
                .table_name(&self.table)
                .set_key(Some(key(delivery)))
                .consistent_read(true)
                .send()
                .await
                .map_err(api_error)?;
            let Some(item) = out.item() else { continue };
            let text = |name: &str| item.get(name)?.as_s().ok().cloned();
            return Ok(match text("state").as_deref() {
                Some("done") => Claim::Done {
                    handled_at: super::number(item, "handledAt").unwrap_or_default(),
                    summary: text("summary").unwrap_or_default(),
                },
                _ => Claim::InProgress,
            });
        }
        Ok(Claim::InProgress)
    }

    async fn complete(
        &self,
        delivery: &Delivery,
        owner: &str,
        now: i64,
        summary: &str,
        until: i64,
    ) -> Result<(), ApiError> {
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let mut item = key(delivery);
        item.insert("kind".into(), s("delivery"));
        item.insert("state".into(), s("done"));
        item.insert("owner".into(), s(owner));
        item.insert("handledAt".into(), AttributeValue::N(now.to_string()));
        item.insert("summary".into(), s(summary));
        item.insert("expiresAt".into(), AttributeValue::N(until.to_string()));
        // Only over this owner's claim (or none left): never over another invocation's.
        self.client()
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await
            .map_err(api_error)?;
        Ok(())
    }

    async fn abandon(&self, delivery: &Delivery, owner: &str) -> Result<(), ApiError> {
        let result = self
            .client()
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(delivery)))
            .condition_expression("#state = :claimed AND #owner = :owner")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":claimed", AttributeValue::S("claimed".into()))
            .expression_attribute_values(":owner", AttributeValue::S(owner.into()))
            .send()
            .await;
        match result {
            // Not this owner's any more: nothing of ours to give up.
            Err(e) if condition_failed(&e) => Ok(()),
            other => other.map(|_| ()).map_err(api_error),
        }
    }

    async fn seen(
        &self,
        delivery: &Delivery,
        now: i64,
        until: i64,
    ) -> Result<Option<String>, ApiError> {
        let out = self
            .client()
            .update_item()
            .table_name(&self.table)
            .key(
                "pk",
                AttributeValue::S(format!("{ID_PREFIX}{}", delivery.id)),
            )
            .update_expression("SET #kind = :kind, digest = :digest, expiresAt = :until")
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_values(":kind", AttributeValue::S("delivery-id".into()))
            .expression_attribute_values(":digest", AttributeValue::S(delivery.digest.clone()))
            .expression_attribute_values(":until", AttributeValue::N(until.to_string()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(api_error)?;
        let Some(old) = out.attributes() else {
            return Ok(None);
        };
        let remembered = super::number::<i64>(old, "expiresAt").is_none_or(|end| end >= now);
        let digest = old.get("digest").and_then(|d| d.as_s().ok());
        Ok(digest
            .filter(|d| remembered && **d != delivery.digest)
            .cloned())
    }
}
