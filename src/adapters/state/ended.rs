//! What an event's attempts ended while part of the picture was missing: one item per event,
//! `pk` = `ended#<event id>`, `kind` = `ended`, `connections` (a string set of connection IDs),
//! `expiresAt`. A retry that no longer sees those connections (their place unreachable in turn)
//! still counts them against the cap, so the cap holds across retries that each see a different
//! part.

use super::Dynamo;
use crate::adapters::aws::api_error;
use crate::domain::model::ApiError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::future::Future;

const KEY_PREFIX: &str = "ended#";
/// Longer than Lambda keeps retrying an asynchronous event (six hours at most).
pub const KEEP_SECONDS: i64 = 24 * 60 * 60;

pub trait EndedStore: Send + Sync {
    /// The connections earlier attempts at `event` recorded before ending them.
    fn ended_before(
        &self,
        event: &str,
    ) -> impl Future<Output = Result<Vec<String>, ApiError>> + Send;

    /// Adds `connections` to what `event` ended, kept until `until` (epoch seconds).
    fn remember_ended(
        &self,
        event: &str,
        connections: &[String],
        until: i64,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
}

fn key(event: &str) -> AttributeValue {
    AttributeValue::S(format!("{KEY_PREFIX}{event}"))
}

impl EndedStore for Dynamo {
    async fn ended_before(&self, event: &str) -> Result<Vec<String>, ApiError> {
        Ok(self
            .item(key(event))
            .await?
            .as_ref()
            .and_then(|i| i.get("connections"))
            .and_then(|v| v.as_ss().ok())
            .cloned()
            .unwrap_or_default())
    }

    async fn remember_ended(
        &self,
        event: &str,
        connections: &[String],
        until: i64,
    ) -> Result<(), ApiError> {
        // DynamoDB refuses an empty set: nothing to add is nothing to write.
        if connections.is_empty() {
            return Ok(());
        }
        self.client()
            .update_item()
            .table_name(&self.table)
            .key("pk", key(event))
            .update_expression("ADD connections :ids SET #kind = :kind, expiresAt = :until")
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_values(":ids", AttributeValue::Ss(connections.to_vec()))
            .expression_attribute_values(":kind", AttributeValue::S("ended".into()))
            .expression_attribute_values(":until", AttributeValue::N(until.to_string()))
            .send()
            .await
            .map_err(api_error)?;
        Ok(())
    }
}
