//! Each signed token taken once: one item per token taken, `pk` = `token#<issuer>#<jti>`, `kind` =
//! `token`, `takenAt`, `expiresAt` (the table's TTL: when the token would be refused anyway, so
//! that its `jti` is remembered for as long as it could be replayed; an item past it counts as
//! absent, since DynamoDB deletes late).

use super::Dynamo;
use crate::adapters::aws::{api_error, condition_failed};
use crate::domain::model::ApiError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::future::Future;

const KEY_PREFIX: &str = "token#";

pub trait TokenStore: Send + Sync {
    /// Records the token `jti` of `issuer` as taken until `until`; `false` when it was taken
    /// before (and is still remembered).
    fn take(
        &self,
        issuer: &str,
        jti: &str,
        now: i64,
        until: i64,
    ) -> impl Future<Output = Result<bool, ApiError>> + Send;

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
    async fn take(&self, issuer: &str, jti: &str, now: i64, until: i64) -> Result<bool, ApiError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", key(issuer, jti))
            .item("kind", AttributeValue::S("token".into()))
            .item("takenAt", AttributeValue::N(now.to_string()))
            .item("expiresAt", AttributeValue::N(until.to_string()))
            .condition_expression("attribute_not_exists(pk) OR expiresAt < :now")
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(api_error(e)),
        }
    }

    async fn give_back(&self, issuer: &str, jti: &str) -> Result<(), ApiError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", key(issuer, jti))
            .send()
            .await
            .map_err(api_error)?;
        Ok(())
    }
}
