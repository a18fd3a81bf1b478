//! What the function keeps between invocations, behind traits, and DynamoDB behind them: what the
//! idle policy saw between ticks (here), the quarantine ([`quarantine`]) and the events already
//! handled ([`deliveries`]), the tokens taken ([`tokens`]), Identity Center's user names
//! ([`directory`]), when an IdP last said a person is out ([`said`]), what an event's attempts
//! ended on a partial picture ([`ended`]), where endpoints are ([`inventory`]) and an
//! organization's accounts ([`organization`]).
//!
//! Table: one string partition key `pk`, TTL attribute `expiresAt`; each kind of item has its own
//! `kind#` key prefix. One item per connection: `pk` = `connection#<connection ID>`, `kind` =
//! `connection`, `endpointId`, `lastActiveAt` (epoch seconds), `lastActiveTotal` (bytes),
//! `expiresAt` (epoch seconds).

pub mod approvals;
pub mod deliveries;
pub mod directory;
pub mod ended;
pub mod inventory;
pub mod organization;
pub mod quarantine;
pub mod said;
pub mod ticks;
pub mod tokens;

use crate::adapters::aws::{api_error, build_error, written};
use crate::adapters::lazy::Lazy;
use crate::domain::model::ApiError;
use crate::domain::policy::Track;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use futures::stream::{self, StreamExt, TryStreamExt};
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

/// A stored track and when its item expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stored {
    pub track: Track,
    pub expires_at: i64,
}

pub trait StateStore: Send + Sync {
    /// The stored tracks of those `connection_ids` that have one.
    fn load(
        &self,
        connection_ids: &[String],
    ) -> impl Future<Output = Result<HashMap<String, Stored>, ApiError>> + Send;

    /// Writes `track` if the stored one is still `expected` (`None`: no item). `Ok(false)` when
    /// another run changed it first.
    fn save(
        &self,
        connection_id: &str,
        endpoint_id: &str,
        track: Track,
        expected: Option<Track>,
        expires_at: i64,
    ) -> impl Future<Output = Result<bool, ApiError>> + Send;
}

/// Everything the function keeps in the state table, as one bound: what an invocation may need.
pub trait Stores:
    StateStore
    + quarantine::QuarantineStore
    + deliveries::DeliveryStore
    + tokens::TokenStore
    + directory::DirectoryCache
    + said::SaidStore
    + approvals::ApprovalStore
    + ended::EndedStore
    + inventory::InventoryStore
    + organization::OrganizationStore
    + ticks::TickStore
{
}

impl<T> Stores for T where
    T: StateStore
        + quarantine::QuarantineStore
        + deliveries::DeliveryStore
        + tokens::TokenStore
        + directory::DirectoryCache
        + said::SaidStore
        + approvals::ApprovalStore
        + ended::EndedStore
        + inventory::InventoryStore
        + organization::OrganizationStore
        + ticks::TickStore
{
}

/// BatchGetItem's limit.
const BATCH: usize = 100;
const KEY_PREFIX: &str = "connection#";

#[derive(Clone)]
pub struct Dynamo {
    client: Lazy<aws_sdk_dynamodb::Client>,
    table: String,
}

impl Dynamo {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self::built_on_use(Lazy::ready(client), table)
    }

    /// The table's client built when first called.
    pub fn built_on_use(client: Lazy<aws_sdk_dynamodb::Client>, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Builds the client now, ahead of the first call (Lambda's init phase).
    pub fn prepare(&self) {
        self.client();
    }

    fn client(&self) -> &aws_sdk_dynamodb::Client {
        self.client.get()
    }

    /// The item with key `pk`, read consistently.
    async fn item(&self, pk: AttributeValue) -> Result<Option<Item>, ApiError> {
        let out = self
            .client()
            .get_item()
            .table_name(&self.table)
            .key("pk", pk)
            .consistent_read(true)
            .send()
            .await
            .map_err(api_error)?;
        Ok(out.item)
    }

    /// Puts `item`, whose `at` (epoch seconds) is the moment it speaks for, unless the table holds
    /// a later one: an overlapping, slower writer cannot put an older picture back. One dated
    /// more than five minutes past `at` (a clock that was wrong) is replaced. `Ok(false)`: a later
    /// one stands.
    async fn put_unless_later(&self, item: Item) -> Result<bool, ApiError> {
        let at = item
            .get("at")
            .and_then(|a| a.as_n().ok()?.parse::<i64>().ok())
            .unwrap_or_default();
        let n = |v: i64| AttributeValue::N(v.to_string());
        let put = self
            .client()
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#at) OR #at <= :at OR #at > :future")
            .expression_attribute_names("#at", "at")
            .expression_attribute_values(":at", n(at))
            .expression_attribute_values(":future", n(at + 300))
            .send()
            .await;
        written(put)
    }

    /// Items by key with BatchGetItem (at most [`BATCH`] keys), strongly consistent, asking again
    /// for unprocessed keys.
    async fn batch_get(&self, mut keys: Vec<Item>) -> Result<Vec<Item>, ApiError> {
        let mut found = Vec::new();
        // UnprocessedKeys are normal under load: ask again for those, backing off.
        for attempt in 0..8u32 {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(build_error)?;
            let out = self
                .client()
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(api_error)?;
            // The request names one table; the answer may key it by name or by ARN (a table given
            // by ARN), so whatever key it uses is this table's.
            for items in out.responses().into_iter().flat_map(|r| r.values()) {
                found.extend(items.iter().cloned());
            }
            keys = out
                .unprocessed_keys()
                .into_iter()
                .flat_map(|u| u.values())
                .flat_map(|rest| rest.keys().iter().cloned())
                .collect();
            if keys.is_empty() {
                return Ok(found);
            }
            tokio::time::sleep(Duration::from_millis(25 << attempt)).await;
        }
        Err(ApiError {
            code: "UnprocessedKeys".into(),
            message: format!(
                "{} keys still unprocessed by BatchGetItem on {}",
                keys.len(),
                self.table
            ),
        })
    }

    async fn load_batch(&self, ids: &[String]) -> Result<Vec<(String, Stored)>, ApiError> {
        let items = self
            .batch_get(ids.iter().map(|id| key(id)).collect())
            .await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let parsed = parse(item);
                if parsed.is_none() {
                    self.unreadable();
                }
                parsed
            })
            .collect())
    }

    fn unreadable(&self) {
        tracing::warn!(
            event = "state_item_unreadable",
            table = self.table.as_str(),
            "ignoring an unreadable state item"
        );
    }
}

/// One DynamoDB item.
type Item = HashMap<String, AttributeValue>;

fn key(connection_id: &str) -> Item {
    HashMap::from([(
        "pk".to_owned(),
        AttributeValue::S(format!("{KEY_PREFIX}{connection_id}")),
    )])
}

fn number<T: std::str::FromStr>(item: &Item, name: &str) -> Option<T> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

fn parse(item: &Item) -> Option<(String, Stored)> {
    let id = item
        .get("pk")?
        .as_s()
        .ok()?
        .strip_prefix(KEY_PREFIX)?
        .to_owned();
    let track = Track {
        last_active_at: number(item, "lastActiveAt")?,
        last_active_total: number(item, "lastActiveTotal")?,
    };
    Some((
        id,
        Stored {
            track,
            expires_at: number(item, "expiresAt").unwrap_or(i64::MAX),
        },
    ))
}

impl StateStore for Dynamo {
    async fn load(&self, connection_ids: &[String]) -> Result<HashMap<String, Stored>, ApiError> {
        let batches: Vec<Vec<(String, Stored)>> =
            stream::iter(connection_ids.chunks(BATCH).map(<[String]>::to_vec))
                .map(|ids| async move { self.load_batch(&ids).await })
                .buffer_unordered(4)
                .try_collect()
                .await?;
        Ok(batches.into_iter().flatten().collect())
    }

    async fn save(
        &self,
        connection_id: &str,
        endpoint_id: &str,
        track: Track,
        expected: Option<Track>,
        expires_at: i64,
    ) -> Result<bool, ApiError> {
        let n = |v: i64| AttributeValue::N(v.to_string());
        let mut item = key(connection_id);
        item.insert("kind".into(), AttributeValue::S("connection".into()));
        item.insert("endpointId".into(), AttributeValue::S(endpoint_id.into()));
        item.insert("lastActiveAt".into(), n(track.last_active_at));
        item.insert(
            "lastActiveTotal".into(),
            AttributeValue::N(track.last_active_total.to_string()),
        );
        item.insert("expiresAt".into(), n(expires_at));
        let request = self
            .client()
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let request = match expected {
            None => request.condition_expression("attribute_not_exists(pk)"),
            Some(t) => request
                .condition_expression("lastActiveAt = :at AND lastActiveTotal = :total")
                .expression_attribute_values(":at", n(t.last_active_at))
                .expression_attribute_values(
                    ":total",
                    AttributeValue::N(t.last_active_total.to_string()),
                ),
        };
        written(request.send().await)
    }
}
