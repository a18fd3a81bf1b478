//! An organization's accounts as last listed (`domain/organization.rs`): one item, `pk` =
//! `organization`, `kind` = `organization`, `at`, `accounts` (a list of account IDs), `expiresAt`.
//! Read when the function starts, so that no incident waits for Organizations; written by the
//! sweeps that list it again, only over an older list.

use super::{Dynamo, Item};
use crate::domain::model::ApiError;
use crate::domain::organization::Known;
use aws_sdk_dynamodb::types::AttributeValue;
use std::future::Future;

const KEY: &str = "organization";
/// Kept long past a refresh: a function starting while Organizations cannot be read still finds
/// the accounts.
const KEEP_SECONDS: i64 = 30 * 24 * 60 * 60;

pub trait OrganizationStore: Send + Sync {
    fn known(&self) -> impl Future<Output = Result<Option<Known>, ApiError>> + Send;

    /// Keeps `known` unless a later list is there (`Ok(false)`).
    fn keep(&self, known: &Known) -> impl Future<Output = Result<bool, ApiError>> + Send;
}

impl OrganizationStore for Dynamo {
    async fn known(&self) -> Result<Option<Known>, ApiError> {
        let Some(item) = self.item(AttributeValue::S(KEY.into())).await? else {
            return Ok(None);
        };
        let item = &item;
        let at = super::number(item, "at");
        let accounts = item.get("accounts").and_then(|v| v.as_l().ok());
        match (at, accounts) {
            (Some(at), Some(list)) => {
                let accounts = list
                    .iter()
                    .map(|a| a.as_s().cloned())
                    .collect::<Result<Vec<_>, _>>();
                accounts
                    .map(|accounts| Some(Known { at, accounts }))
                    .map_err(|_| unreadable())
            }
            _ => Err(unreadable()),
        }
    }

    async fn keep(&self, known: &Known) -> Result<bool, ApiError> {
        let n = |v: i64| AttributeValue::N(v.to_string());
        let accounts = known
            .accounts
            .iter()
            .map(|a| AttributeValue::S(a.clone()))
            .collect();
        self.put_unless_later(Item::from([
            ("pk".into(), AttributeValue::S(KEY.into())),
            ("kind".into(), AttributeValue::S(KEY.into())),
            ("at".into(), n(known.at)),
            ("accounts".into(), AttributeValue::L(accounts)),
            ("expiresAt".into(), n(known.at + KEEP_SECONDS)),
        ]))
        .await
    }
}

fn unreadable() -> ApiError {
    ApiError {
        code: "UnreadableItem".into(),
        message: "the organization item's at or accounts cannot be read".into(),
    }
}
