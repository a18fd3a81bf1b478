//! Where endpoints are, as the last sweep of every place saw them (`domain/inventory.rs`): one
//! item, `pk` = `inventory`, `kind` = `inventory`, `at` (epoch seconds of the sweep), `inventory`
//! (the places seen empty and each other place's endpoints, as JSON), `expiresAt`. A sweep writes
//! it only over an older one, so an overlapping slower sweep cannot put an older picture back.

use super::Dynamo;
use crate::adapters::aws::{api_error, condition_failed};
use crate::domain::inventory::Inventory;
use crate::domain::model::ApiError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::future::Future;

const KEY: &str = "inventory";
/// Kept well past the age an incident still uses it, for `check` to report.
const KEEP_SECONDS: i64 = 7 * 24 * 60 * 60;

pub trait InventoryStore: Send + Sync {
    /// The last sweep's inventory, if any.
    fn inventory(&self) -> impl Future<Output = Result<Option<Inventory>, ApiError>> + Send;

    /// Records `inventory` unless a later sweep's is there.
    fn record_inventory(
        &self,
        inventory: &Inventory,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
}

impl InventoryStore for Dynamo {
    async fn inventory(&self) -> Result<Option<Inventory>, ApiError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(KEY.into()))
            .send()
            .await
            .map_err(api_error)?;
        let Some(text) = out
            .item()
            .and_then(|i| i.get("inventory"))
            .and_then(|v| v.as_s().ok())
        else {
            return Ok(None);
        };
        serde_json::from_str(text).map(Some).map_err(|e| ApiError {
            code: "UnreadableItem".into(),
            message: format!("the inventory item cannot be read: {e}"),
        })
    }

    async fn record_inventory(&self, inventory: &Inventory) -> Result<(), ApiError> {
        let n = |v: i64| AttributeValue::N(v.to_string());
        let text = serde_json::to_string(inventory).expect("inventories serialize");
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(KEY.into()))
            .item("kind", AttributeValue::S(KEY.into()))
            .item("at", n(inventory.at))
            .item("inventory", AttributeValue::S(text))
            .item("expiresAt", n(inventory.at + KEEP_SECONDS))
            .condition_expression("attribute_not_exists(#at) OR #at <= :at")
            .expression_attribute_names("#at", "at")
            .expression_attribute_values(":at", n(inventory.at))
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            // A later sweep's picture stands.
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(api_error(e)),
        }
    }
}
