//! Where endpoints are (`domain/inventory.rs`): one item, `pk` = `inventory`, `kind` =
//! `inventory`, `at` (epoch seconds of the last sweep of every place), `inventory` (the places it
//! saw empty and each other place's endpoints, as JSON), `places` (a map: each place a sweep of
//! some places saw since, by its label, to `{"at", "endpoints"}` as JSON), `expiresAt`. A sweep of
//! every place writes the item whole, only over an older one, so an overlapping slower sweep
//! cannot put an older picture back. A sweep of some places (a split sweep's child) sets its
//! places' members of `places` alone, so children running at once never write over each other.

use super::{Dynamo, Item};
use crate::adapters::aws::api_error;
use crate::domain::inventory::{Inventory, Seen};
use crate::domain::model::ApiError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::BTreeMap;
use std::future::Future;

const KEY: &str = "inventory";
/// Kept well past the age an incident still uses it, for `check` to report.
const KEEP_SECONDS: i64 = 7 * 24 * 60 * 60;
/// Places set by one UpdateItem: its expression stays well under DynamoDB's 4 KB.
const PLACES_PER_WRITE: usize = 100;

pub trait InventoryStore: Send + Sync {
    /// The last sweep's inventory, if any.
    fn inventory(&self) -> impl Future<Output = Result<Option<Inventory>, ApiError>> + Send;

    /// Records `inventory` unless a later sweep's is there (`Ok(false)`).
    fn record_inventory(
        &self,
        inventory: &Inventory,
    ) -> impl Future<Output = Result<bool, ApiError>> + Send;

    /// Records what a sweep of some places saw of each, beside what the others saw.
    fn record_places(
        &self,
        places: &BTreeMap<String, Seen>,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
}

fn unreadable(what: &str, e: serde_json::Error) -> ApiError {
    ApiError {
        code: "UnreadableItem".into(),
        message: format!("the inventory item cannot be read: {what}: {e}"),
    }
}

impl InventoryStore for Dynamo {
    async fn inventory(&self) -> Result<Option<Inventory>, ApiError> {
        let Some(item) = self.item(AttributeValue::S(KEY.into())).await? else {
            return Ok(None);
        };
        let mut inventory = match item.get("inventory").and_then(|v| v.as_s().ok()) {
            Some(text) => serde_json::from_str(text).map_err(|e| unreadable("inventory", e))?,
            None => Inventory::default(),
        };
        if let Some(places) = item.get("places").and_then(|v| v.as_m().ok()) {
            for (label, seen) in places {
                let text = seen.as_s().map_err(|_| ApiError {
                    code: "UnreadableItem".into(),
                    message: format!(
                        "the inventory item cannot be read: places.{label} is not a string"
                    ),
                })?;
                let seen = serde_json::from_str(text)
                    .map_err(|e| unreadable(&format!("places.{label}"), e))?;
                inventory.recent.insert(label.clone(), seen);
            }
        }
        Ok(Some(inventory))
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

    async fn record_places(&self, places: &BTreeMap<String, Seen>) -> Result<(), ApiError> {
        let key = AttributeValue::S(KEY.into());
        let at = places.values().map(|s| s.at).max().unwrap_or_default();
        // A member of `places` can be set only once the map is there.
        self.client()
            .update_item()
            .table_name(&self.table)
            .key("pk", key.clone())
            .update_expression(
                "SET places = if_not_exists(places, :none), #kind = :kind, \
                 expiresAt = :until",
            )
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_values(":none", AttributeValue::M(Default::default()))
            .expression_attribute_values(":kind", AttributeValue::S(KEY.into()))
            .expression_attribute_values(
                ":until",
                AttributeValue::N((at + KEEP_SECONDS).to_string()),
            )
            .send()
            .await
            .map_err(api_error)?;
        let places: Vec<(&String, &Seen)> = places.iter().collect();
        for chunk in places.chunks(PLACES_PER_WRITE) {
            let mut update = self
                .client()
                .update_item()
                .table_name(&self.table)
                .key("pk", key.clone());
            let mut sets = Vec::with_capacity(chunk.len());
            for (i, (label, seen)) in chunk.iter().enumerate() {
                let text = serde_json::to_string(seen).expect("sightings serialize");
                sets.push(format!("places.#p{i} = :p{i}"));
                update = update
                    .expression_attribute_names(format!("#p{i}"), label.as_str())
                    .expression_attribute_values(format!(":p{i}"), AttributeValue::S(text));
            }
            update
                .update_expression(format!("SET {}", sets.join(", ")))
                .send()
                .await
                .map_err(api_error)?;
        }
        Ok(())
    }
}
