//! A sweep tick's ceiling, shared by the tick's sweeps (the sweep of every place, and a
//! Distributed Map's child sweeps, each of some places): one item per tick, `pk` =
//! `tick#<epoch seconds>`, `kind` = `tick`, `taken` (how many sessions the tick's sweeps may end,
//! in all), `expiresAt`. Each sweep takes what it ends before ending anything, so the tick ends
//! at most the ceiling, however many sweeps and retries it has.

use super::{number, Dynamo};
use crate::adapters::aws::{api_error, condition_failed};
use crate::domain::model::ApiError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::future::Future;

/// Longer than a tick's sweeps and their retries may come: Lambda retries for six hours, and a
/// Step Functions execution may be redriven for 14 days.
const KEEP_SECONDS: i64 = 15 * 24 * 60 * 60;
/// Children racing for the last of a ceiling: after this many conditional writes lost, the child
/// takes nothing (it ends nothing more; the next tick does).
const ATTEMPTS: usize = 4;

pub trait TickStore: Send + Sync {
    /// Takes up to `want` of `tick`'s `ceiling`: how many were taken, 0 when none is left.
    fn take_share(
        &self,
        tick: i64,
        want: usize,
        ceiling: usize,
    ) -> impl Future<Output = Result<usize, ApiError>> + Send;
}

fn key(tick: i64) -> AttributeValue {
    AttributeValue::S(format!("tick#{tick}"))
}

impl TickStore for Dynamo {
    async fn take_share(&self, tick: i64, want: usize, ceiling: usize) -> Result<usize, ApiError> {
        let mut asking = want.min(ceiling);
        for _ in 0..ATTEMPTS {
            if asking == 0 {
                return Ok(0);
            }
            let taken = self
                .client()
                .update_item()
                .table_name(&self.table)
                .key("pk", key(tick))
                .update_expression("ADD taken :n SET #kind = :kind, expiresAt = :until")
                .condition_expression("attribute_not_exists(taken) OR taken <= :left")
                .expression_attribute_names("#kind", "kind")
                .expression_attribute_values(":n", AttributeValue::N(asking.to_string()))
                .expression_attribute_values(
                    ":left",
                    AttributeValue::N((ceiling - asking).to_string()),
                )
                .expression_attribute_values(":kind", AttributeValue::S("tick".into()))
                .expression_attribute_values(
                    ":until",
                    AttributeValue::N((tick + KEEP_SECONDS).to_string()),
                )
                .send()
                .await;
            match taken {
                Ok(_) => return Ok(asking),
                Err(e) if condition_failed(&e) => {
                    // Another child took some meanwhile: ask for what is left, as read now.
                    let item = self.item(key(tick)).await?;
                    let taken: usize = item
                        .as_ref()
                        .and_then(|i| number(i, "taken"))
                        .unwrap_or(ceiling);
                    asking = want.min(ceiling.saturating_sub(taken));
                }
                Err(e) => return Err(api_error(e)),
            }
        }
        Ok(0)
    }
}
