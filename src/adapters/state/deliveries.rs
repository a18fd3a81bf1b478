//! Once per delivery: EventBridge delivers at least once, so the same event (same `id`) can reach
//! the function twice. One item per event being or having been handled: `pk` =
//! `delivery#<event id>`, `kind` = `delivery`, `state` (`claimed` while an invocation acts on it,
//! `done` after it succeeded), `handledAt`, `summary`, `expiresAt` (the claim's end, then 24 hours
//! after success).

use super::{Dynamo, Item};
use crate::adapters::aws::api_error;
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
    /// Claims `event_id` until `until` (epoch seconds), unless it was handled or is being handled;
    /// a claim whose time has passed (its invocation died) can be taken over.
    fn claim(
        &self,
        event_id: &str,
        now: i64,
        until: i64,
    ) -> impl Future<Output = Result<Claim, ApiError>> + Send;

    /// Records the success, kept until `until`.
    fn complete(
        &self,
        event_id: &str,
        now: i64,
        summary: &str,
        until: i64,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// Gives the claim up, so that Lambda's retry of a failed invocation acts again.
    fn abandon(&self, event_id: &str) -> impl Future<Output = Result<(), ApiError>> + Send;
}

fn key(event_id: &str) -> Item {
    Item::from([(
        "pk".to_owned(),
        AttributeValue::S(format!("{KEY_PREFIX}{event_id}")),
    )])
}

impl DeliveryStore for Dynamo {
    async fn claim(&self, event_id: &str, now: i64, until: i64) -> Result<Claim, ApiError> {
        let mut item = key(event_id);
        item.insert("kind".into(), AttributeValue::S("delivery".into()));
        item.insert("state".into(), AttributeValue::S("claimed".into()));
        item.insert("expiresAt".into(), AttributeValue::N(until.to_string()));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(pk) OR (#state = :claimed AND expiresAt < :now)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":claimed", AttributeValue::S("claimed".into()))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .send()
            .await;
        match put {
            Ok(_) => return Ok(Claim::Claimed),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) => {}
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
        let item = out.item();
        let text = |name: &str| item.and_then(|i| i.get(name)?.as_s().ok().cloned());
        Ok(match text("state").as_deref() {
            Some("done") => Claim::Done {
                handled_at: item
                    .and_then(|i| super::number(i, "handledAt"))
                    .unwrap_or_default(),
                summary: text("summary").unwrap_or_default(),
            },
            _ => Claim::InProgress,
        })
    }

    async fn complete(
        &self,
        event_id: &str,
        now: i64,
        summary: &str,
        until: i64,
    ) -> Result<(), ApiError> {
        let mut item = key(event_id);
        item.insert("kind".into(), AttributeValue::S("delivery".into()));
        item.insert("state".into(), AttributeValue::S("done".into()));
        item.insert("handledAt".into(), AttributeValue::N(now.to_string()));
        item.insert("summary".into(), AttributeValue::S(summary.into()));
        item.insert("expiresAt".into(), AttributeValue::N(until.to_string()));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(api_error)?;
        Ok(())
    }

    async fn abandon(&self, event_id: &str) -> Result<(), ApiError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(event_id)))
            .condition_expression("#state = :claimed")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":claimed", AttributeValue::S("claimed".into()))
            .send()
            .await
            .map(|_| ())
            .or_else(|e| {
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception())
                {
                    Ok(())
                } else {
                    Err(api_error(e))
                }
            })
    }
}
