//! Where endpoints are, as the last sweep of every place saw them (`domain/inventory.rs`): one
//! item, `pk` = `inventory`, `kind` = `inventory`, `at` (epoch seconds of the sweep), `inventory`
//! (the places seen empty and each other place's endpoints, as JSON), `expiresAt`. A sweep writes
//! it only over an older one, so an overlapping slower sweep cannot put an older picture back.

use super::{Dynamo, Item};
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

    /// Records `inventory` unless a later sweep's is there (`Ok(false)`).
    fn record_inventory(
        &self,
        inventory: &Inventory,
    ) -> impl Future<Output = Result<bool, ApiError>> + Send;
}

impl InventoryStore for Dynamo {
    async fn inventory(&self) -> Result<Option<Inventory>, ApiError> {
        let item = self.item(AttributeValue::S(KEY.into())).await?;
        let Some(text) = item
            .as_ref()
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

    async fn record_inventory(&self, inventory: &Inventory) -> Result<bool, ApiError> {
        let n = |v: i64| AttributeValue::N(v.to_string());
        let text = serde_json::to_string(inventory).expect("inventories serialize");
        self.put_unless_later(Item::from([
            ("pk".into(), AttributeValue::S(KEY.into())),
            ("kind".into(), AttributeValue::S(KEY.into())),
            ("at".into(), n(inventory.at)),
            ("inventory".into(), AttributeValue::S(text)),
            ("expiresAt".into(), n(inventory.at + KEEP_SECONDS)),
        ]))
        .await
    }
}
