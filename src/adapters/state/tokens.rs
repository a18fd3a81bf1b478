//! Each signed token taken once: one item per token taken, `pk` = `token#<issuer>#<jti>`, `kind` =
//! `token`, `takenAt`, `state` (`pending` while its word is acted on, `done` once it was; an item
//! without one, from an earlier version, is done), `expiresAt` (the table's TTL: when the token
//! would be refused anyway, so that its `jti` is remembered for as long as it could be replayed; an
//! item past it counts as absent, since DynamoDB deletes late). A token still pending after
//! [`PENDING_SECONDS`] was taken by an invocation that died before it finished: it is taken again,
//! so that the IdP's retry acts and the word is not lost.

use super::Dynamo;
use crate::adapters::aws::{api_error, condition_failed};
use crate::domain::model::ApiError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::future::Future;

const KEY_PREFIX: &str = "token#";
/// Longer than any invocation runs (Lambda's 15 minutes).
pub const PENDING_SECONDS: i64 = 15 * 60;

/// What taking a token found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Take {
    /// Not taken before (or by an invocation that died before it finished): act on it.
    First,
    /// Taken, and its word carried out.
    Done,
    /// Taken by an invocation that is acting on it now.
    Pending,
}

pub trait TokenStore: Send + Sync {
    /// Records the token `jti` of `issuer` as taken (pending) until `until`; or says how it was
    /// taken before.
    fn take(
        &self,
        issuer: &str,
        jti: &str,
        now: i64,
        until: i64,
    ) -> impl Future<Output = Result<Take, ApiError>> + Send;

    /// Records that the taken token's word was carried out.
    fn done(&self, issuer: &str, jti: &str) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// Forgets a taken token, so that the IdP's retry of a request that failed here acts again.
    fn give_back(
        &self,
        issuer: &str,
        jti: &str,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
}

fn key(issuer: &str, jti: &str) -> AttributeValue {
    AttributeValue::S(format!("{KEY_PREFIX}{issuer}#{jti}"))
}

impl TokenStore for Dynamo {
    async fn take(&self, issuer: &str, jti: &str, now: i64, until: i64) -> Result<Take, ApiError> {
        let n = |v: i64| AttributeValue::N(v.to_string());
        let put = self
            .client()
            .put_item()
            .table_name(&self.table)
            .item("pk", key(issuer, jti))
            .item("kind", AttributeValue::S("token".into()))
            .item("state", AttributeValue::S("pending".into()))
            .item("takenAt", n(now))
            .item("expiresAt", n(until))
            .condition_expression(
                "attribute_not_exists(pk) OR expiresAt < :now \
                 OR (#state = :pending AND takenAt < :stale)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":pending", AttributeValue::S("pending".into()))
            .expression_attribute_values(":stale", n(now - PENDING_SECONDS))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Take::First),
            Err(e) if condition_failed(&e) => self.how_taken(issuer, jti).await,
            Err(e) => Err(api_error(e)),
        }
    }

    async fn done(&self, issuer: &str, jti: &str) -> Result<(), ApiError> {
        self.client()
            .update_item()
            .table_name(&self.table)
            .key("pk", key(issuer, jti))
            .update_expression("SET #state = :done")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":done", AttributeValue::S("done".into()))
            .send()
            .await
            .map_err(api_error)?;
        Ok(())
    }

    async fn give_back(&self, issuer: &str, jti: &str) -> Result<(), ApiError> {
        self.client()
            .delete_item()
            .table_name(&self.table)
            .key("pk", key(issuer, jti))
            .send()
            .await
            .map_err(api_error)?;
        Ok(())
    }
}

impl Dynamo {
    /// How a token whose taking was refused was taken: pending, or done (an item without a state
    /// is an earlier version's, whose word was carried out).
    async fn how_taken(&self, issuer: &str, jti: &str) -> Result<Take, ApiError> {
        let out = self
            .client()
            .get_item()
            .table_name(&self.table)
            .key("pk", key(issuer, jti))
            .consistent_read(true)
            .send()
            .await
            .map_err(api_error)?;
        let state = out
            .item()
            .and_then(|i| i.get("state"))
            .and_then(|v| v.as_s().ok());
        Ok(match state.map(String::as_str) {
            Some("pending") => Take::Pending,
            _ => Take::Done,
        })
    }
}
