//! When each IdP last said a person is out, by its own clock: one item per IdP and person, `pk` =
//! `said#<idp>#<person>`, `kind` = `said`, `outAt` (epoch seconds of the latest "out"), `expiresAt`.
//! A "back in" the IdP said before its latest "out" (delivered late: a retry, events out of order)
//! lifts nothing.

use super::Dynamo;
use crate::adapters::aws::{api_error, condition_failed};
use crate::domain::model::ApiError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::future::Future;

const KEY_PREFIX: &str = "said#";
/// Longer than any hold an IdP's word places lasts in practice; a later "out" writes it again.
const KEEP_SECONDS: i64 = 400 * 24 * 60 * 60;

pub trait SaidStore: Send + Sync {
    /// Records that `idp` said `person` is out at `at`, unless it said so later already.
    fn said_out(
        &self,
        idp: &str,
        person: &str,
        at: i64,
        now: i64,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// When `idp` last said `person` is out.
    fn last_out(
        &self,
        idp: &str,
        person: &str,
    ) -> impl Future<Output = Result<Option<i64>, ApiError>> + Send;
}

fn key(idp: &str, person: &str) -> AttributeValue {
    AttributeValue::S(format!("{KEY_PREFIX}{idp}#{person}"))
}

impl SaidStore for Dynamo {
    async fn said_out(&self, idp: &str, person: &str, at: i64, now: i64) -> Result<(), ApiError> {
        let n = |v: i64| AttributeValue::N(v.to_string());
        let put = self
            .client()
            .put_item()
            .table_name(&self.table)
            .item("pk", key(idp, person))
            .item("kind", AttributeValue::S("said".into()))
            .item("outAt", n(at))
            .item("expiresAt", n(now + KEEP_SECONDS))
            .condition_expression("attribute_not_exists(outAt) OR outAt < :at")
            .expression_attribute_values(":at", n(at))
            .send()
            .await;
        match put {
            // It said so later already: that stands.
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(api_error(e)),
        }
    }

    async fn last_out(&self, idp: &str, person: &str) -> Result<Option<i64>, ApiError> {
        Ok(self
            .item(key(idp, person))
            .await?
            .as_ref()
            .and_then(|i| i.get("outAt"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok()))
    }
}
