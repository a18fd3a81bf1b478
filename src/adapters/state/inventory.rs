//! Where endpoints are (`domain/inventory.rs`): one item, `pk` = `inventory`, `kind` =
//! `inventory`, `at` (epoch seconds of the last sweep of every place), `inventory` (the places it
//! saw empty and each other place's endpoints, as JSON), `places` (a map: each place a sweep of
//! some places saw, by its label, to `{at, endpoints}`, the endpoints as JSON), `expiresAt`. A
//! sweep of every place sets its attributes only over an older one's, so an overlapping slower
//! sweep cannot put an older picture back; a sweep of some places (a split sweep's child) sets
//! each of its places' members of `places` only over an older word, so children running at once,
//! or one tick's over the next's, never put an older word back.

use super::Dynamo;
use crate::adapters::aws::{api_error, written};
use crate::domain::inventory::{Inventory, Seen};
use crate::domain::model::ApiError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

const KEY: &str = "inventory";
/// Kept well past the age an incident still uses it, for `check` to report.
const KEEP_SECONDS: i64 = 7 * 24 * 60 * 60;
/// Places set by one UpdateItem: its expressions (each member's condition too) stay well under
/// DynamoDB's 4 KB.
const PLACES_PER_WRITE: usize = 25;

pub trait InventoryStore: Send + Sync {
    /// The last sweep's inventory, if any.
    fn inventory(&self) -> impl Future<Output = Result<Option<Inventory>, ApiError>> + Send;

    /// Records `inventory` unless a later sweep's is there (`Ok(false)`).
    fn record_inventory(
        &self,
        inventory: &Inventory,
    ) -> impl Future<Output = Result<bool, ApiError>> + Send;

    /// Forgets the children's words on places not among `targets` (accounts gone from the
    /// organization): how many.
    fn forget_places(
        &self,
        targets: &BTreeSet<String>,
    ) -> impl Future<Output = Result<usize, ApiError>> + Send;

    /// Records what a sweep of some places saw of each, beside what the others saw, where no
    /// newer word is there: how many were (and stand).
    fn record_places(
        &self,
        places: &BTreeMap<String, Seen>,
    ) -> impl Future<Output = Result<usize, ApiError>> + Send;
}

fn unreadable(what: impl std::fmt::Display) -> ApiError {
    ApiError {
        code: "UnreadableItem".into(),
        message: format!("the inventory item cannot be read: {what}"),
    }
}

impl InventoryStore for Dynamo {
    async fn inventory(&self) -> Result<Option<Inventory>, ApiError> {
        let Some(item) = self.item(AttributeValue::S(KEY.into())).await? else {
            return Ok(None);
        };
        let mut inventory = match item.get("inventory").and_then(|v| v.as_s().ok()) {
            Some(text) => {
                serde_json::from_str(text).map_err(|e| unreadable(format!("inventory: {e}")))?
            }
            None => Inventory::default(),
        };
        if let Some(places) = item.get("places").and_then(|v| v.as_m().ok()) {
            for (label, seen) in places {
                let seen = seen_of(seen).ok_or_else(|| {
                    unreadable(format!("places.{label} is not {{at, endpoints}}"))
                })?;
                inventory.recent.insert(label.clone(), seen);
            }
        }
        Ok(Some(inventory))
    }

    async fn record_inventory(&self, inventory: &Inventory) -> Result<bool, ApiError> {
        let n = |v: i64| AttributeValue::N(v.to_string());
        let text = serde_json::to_string(inventory).expect("inventories serialize");
        // Set, not put: the children's words in `places` stay, and the newer word counts.
        let answer = self
            .client()
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(KEY.into()))
            .update_expression(
                "SET #at = :at, inventory = :inventory, #kind = :kind, expiresAt = :until",
            )
            .condition_expression("attribute_not_exists(#at) OR #at <= :at OR #at > :future")
            .expression_attribute_names("#at", "at")
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_values(":at", n(inventory.at))
            .expression_attribute_values(":future", n(inventory.at + 300))
            .expression_attribute_values(":inventory", AttributeValue::S(text))
            .expression_attribute_values(":kind", AttributeValue::S(KEY.into()))
            .expression_attribute_values(":until", n(inventory.at + KEEP_SECONDS))
            .send()
            .await;
        written(answer)
    }

    async fn forget_places(&self, targets: &BTreeSet<String>) -> Result<usize, ApiError> {
        let item = self.item(AttributeValue::S(KEY.into())).await?;
        let gone: Vec<&String> = item
            .as_ref()
            .and_then(|i| i.get("places"))
            .and_then(|v| v.as_m().ok())
            .map(|places| places.keys().filter(|l| !targets.contains(*l)).collect())
            .unwrap_or_default();
        for chunk in gone.chunks(PLACES_PER_WRITE) {
            let mut update = self
                .client()
                .update_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(KEY.into()));
            let mut removed = Vec::with_capacity(chunk.len());
            for (i, label) in chunk.iter().enumerate() {
                removed.push(format!("places.#p{i}"));
                update = update.expression_attribute_names(format!("#p{i}"), label.as_str());
            }
            update
                .update_expression(format!("REMOVE {}", removed.join(", ")))
                .send()
                .await
                .map_err(api_error)?;
        }
        Ok(gone.len())
    }

    async fn record_places(&self, places: &BTreeMap<String, Seen>) -> Result<usize, ApiError> {
        let at = places.values().map(|s| s.at).max().unwrap_or_default();
        // A member of `places` can be set only once the map is there.
        self.client()
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(KEY.into()))
            .update_expression(
                "SET places = if_not_exists(places, :none), #kind = :kind, expiresAt = :until",
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
        let mut stood = 0;
        for chunk in places.chunks(PLACES_PER_WRITE) {
            if self.set_places(chunk).await? {
                stood += chunk.len();
                continue;
            }
            // A newer word on one of them: each on its own, so the others are written.
            for place in chunk {
                stood += usize::from(self.set_places(std::slice::from_ref(place)).await?);
            }
        }
        Ok(stood)
    }
}

/// A member of `places`: `{at, endpoints}`.
fn seen_of(value: &AttributeValue) -> Option<Seen> {
    let member = value.as_m().ok()?;
    Some(Seen {
        at: member.get("at")?.as_n().ok()?.parse().ok()?,
        endpoints: serde_json::from_str(member.get("endpoints")?.as_s().ok()?).ok()?,
    })
}

impl Dynamo {
    /// Sets `places`' members where each is absent or older: `Ok(false)` when one is newer, and
    /// none is set.
    async fn set_places(&self, places: &[(&String, &Seen)]) -> Result<bool, ApiError> {
        let mut update = self
            .client()
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(KEY.into()))
            .expression_attribute_names("#at", "at");
        let (mut sets, mut conditions) = (Vec::new(), Vec::new());
        for (i, (label, seen)) in places.iter().enumerate() {
            let endpoints = serde_json::to_string(&seen.endpoints).expect("endpoints serialize");
            let member = AttributeValue::M(
                [
                    ("at".to_owned(), AttributeValue::N(seen.at.to_string())),
                    ("endpoints".to_owned(), AttributeValue::S(endpoints)),
                ]
                .into(),
            );
            sets.push(format!("places.#p{i} = :p{i}"));
            conditions.push(format!(
                "(attribute_not_exists(places.#p{i}) OR places.#p{i}.#at <= :a{i})"
            ));
            update = update
                .expression_attribute_names(format!("#p{i}"), label.as_str())
                .expression_attribute_values(format!(":p{i}"), member)
                .expression_attribute_values(
                    format!(":a{i}"),
                    AttributeValue::N(seen.at.to_string()),
                );
        }
        let answer = update
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression(conditions.join(" AND "))
            .send()
            .await;
        written(answer)
    }
}
