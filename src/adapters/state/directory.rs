//! The names of IAM Identity Center users, remembered when the store still knew them: a
//! `DeleteUser` record arrives once the user is gone, and only an earlier answer names them. One
//! item per user, `pk` = `user#<store ID>#<user ID>`, `kind` = `user`, `userName`, `seenAt`,
//! `expiresAt` (a little over a year after it was last seen).

use super::{Dynamo, Item};
use crate::adapters::aws::api_error;
use crate::domain::model::ApiError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::future::Future;

const KEY_PREFIX: &str = "user#";
/// How long a name is remembered after it was last read.
const KEEP_SECONDS: i64 = 400 * 24 * 60 * 60;

pub trait DirectoryCache: Send + Sync {
    /// Remembers that `user_id` of `store_id` is `user_name`.
    fn remember(
        &self,
        store_id: &str,
        user_id: &str,
        user_name: &str,
        now: i64,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// The name last remembered for `user_id` of `store_id`.
    fn recall(
        &self,
        store_id: &str,
        user_id: &str,
    ) -> impl Future<Output = Result<Option<String>, ApiError>> + Send;
}

fn key(store_id: &str, user_id: &str) -> AttributeValue {
    AttributeValue::S(format!("{KEY_PREFIX}{store_id}#{user_id}"))
}

impl DirectoryCache for Dynamo {
    async fn remember(
        &self,
        store_id: &str,
        user_id: &str,
        user_name: &str,
        now: i64,
    ) -> Result<(), ApiError> {
        self.client()
            .put_item()
            .table_name(&self.table)
            .item("pk", key(store_id, user_id))
            .item("kind", AttributeValue::S("user".into()))
            .item("userName", AttributeValue::S(user_name.into()))
            .item("seenAt", AttributeValue::N(now.to_string()))
            .item(
                "expiresAt",
                AttributeValue::N((now + KEEP_SECONDS).to_string()),
            )
            .send()
            .await
            .map_err(api_error)?;
        Ok(())
    }

    async fn recall(&self, store_id: &str, user_id: &str) -> Result<Option<String>, ApiError> {
        let out = self
            .client()
            .get_item()
            .table_name(&self.table)
            .key("pk", key(store_id, user_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(api_error)?;
        Ok(out.item().and_then(name))
    }
}

fn name(item: &Item) -> Option<String> {
    item.get("userName")?.as_s().ok().cloned()
}
