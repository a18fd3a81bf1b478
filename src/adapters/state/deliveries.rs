//! Once per delivery: EventBridge delivers at least once, so the same event (same `id`) can reach
//! the function twice. One item per event being or having been handled: `pk` =
//! `delivery#<event id>`, `kind` = `delivery`, `state` (`claimed` while an invocation acts on it,
//! `done` after it succeeded), `owner` (the claiming invocation's Lambda request ID, which Lambda
//! keeps when it retries the event), `handledAt`, `summary`, `expiresAt` (the claim's end, then 24
//! hours after success; an item past it counts as absent, since DynamoDB deletes late).

use super::{Dynamo, Item};
use crate::adapters::aws::{api_error, condition_failed};
use crate::domain::model::ApiError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::future::Future;

const KEY_PREFIX: &str = "delivery#";

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
    /// Claims `event_id` for `owner` until `until` (epoch seconds), unless it was handled or
    /// another invocation holds it: a claim past its time, or the owner's own (Lambda retrying the
    /// invocation that claimed it, which died), is taken over.
    fn claim(
        &self,
        event_id: &str,
        owner: &str,
        now: i64,
        until: i64,
    ) -> impl Future<Output = Result<Claim, ApiError>> + Send;

    /// Records the owner's success, kept until `until`.
    fn complete(
        &self,
        event_id: &str,
        owner: &str,
        now: i64,
        summary: &str,
        until: i64,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// Gives the owner's claim up, so that Lambda's retry of a failed invocation acts again.
    fn abandon(
        &self,
        event_id: &str,
        owner: &str,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
}

fn key(event_id: &str) -> Item {
    Item::from([(
        "pk".to_owned(),
        AttributeValue::S(format!("{KEY_PREFIX}{event_id}")),
    )])
}

impl DeliveryStore for Dynamo {
    async fn claim(
        &self,
        event_id: &str,
        owner: &str,
        now: i64,
        until: i64,
    ) -> Result<Claim, ApiError> {
        let s = |v: &str| AttributeValue::S(v.to_owned());
        // Twice at most: an item that disappears between the refused put and the read (its owner
        // gave it up, or TTL removed it) is claimable again.
        for _ in 0..2 {
            let mut item = key(event_id);
            item.insert("kind".into(), s("delivery"));
            item.insert("state".into(), s("claimed"));
            item.insert("owner".into(), s(owner));
            item.insert("expiresAt".into(), AttributeValue::N(until.to_string()));
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(
                    "attribute_not_exists(pk) OR expiresAt < :now \
                     OR (#state = :claimed AND #owner = :owner)",
                )
                .expression_attribute_names("#state", "state")
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_values(":claimed", s("claimed"))
                .expression_attribute_values(":owner", s(owner))
                .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
                .send()
                .await;
            match put {
                Ok(_) => return Ok(Claim::Claimed),
                Err(e) if condition_failed(&e) => {}
                Err(e) => return Err(api_error(e)),
            }
            let out = self
                .client
                .get_item()
                .table_name(&self.table)
                .set_key(Some(key(event_id)))
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
        event_id: &str,
        owner: &str,
        now: i64,
        summary: &str,
        until: i64,
    ) -> Result<(), ApiError> {
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let mut item = key(event_id);
        item.insert("kind".into(), s("delivery"));
        item.insert("state".into(), s("done"));
        item.insert("owner".into(), s(owner));
        item.insert("handledAt".into(), AttributeValue::N(now.to_string()));
        item.insert("summary".into(), s(summary));
        item.insert("expiresAt".into(), AttributeValue::N(until.to_string()));
        // Only over this owner's claim (or none left): never over another invocation's.
        self.client
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

    async fn abandon(&self, event_id: &str, owner: &str) -> Result<(), ApiError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(event_id)))
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
}
