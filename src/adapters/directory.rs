//! IAM Identity Center's Identity Store (aws-sdk-identitystore): the name of a user its CloudTrail
//! records name only by ID. One client per Region asked, since the store lives in Identity
//! Center's home Region, which need not be the function's.

use crate::adapters::aws::{api_error, build_error};
use crate::domain::model::ApiError;
use aws_sdk_identitystore::operation::describe_user::DescribeUserError;
use aws_sdk_identitystore::operation::get_user_id::GetUserIdError;
use aws_sdk_identitystore::types::{AlternateIdentifier, UniqueAttribute};
use aws_smithy_types::Document;
use std::collections::HashMap;
use std::sync::Mutex;

pub struct Directory {
    sdk: aws_config::SdkConfig,
    clients: Mutex<HashMap<Option<String>, aws_sdk_identitystore::Client>>,
}

impl Directory {
    pub fn new(sdk: aws_config::SdkConfig) -> Self {
        Self {
            sdk,
            clients: Mutex::default(),
        }
    }

    fn client(&self, region: Option<&str>) -> aws_sdk_identitystore::Client {
        let mut clients = self.clients.lock().expect("no panic holds the lock");
        clients
            .entry(region.map(str::to_owned))
            .or_insert_with(|| {
                let mut config = aws_sdk_identitystore::config::Builder::from(&self.sdk);
                if let Some(region) = region {
                    config = config.region(aws_config::Region::new(region.to_owned()));
                }
                aws_sdk_identitystore::Client::from_conf(config.build())
            })
            .clone()
    }

    /// The `UserName` of `user_id` in `store_id`; `None` when the store says there is no such
    /// user (deleted). A user the store has without a name is an error: it is not gone.
    pub async fn user_name(
        &self,
        region: Option<&str>,
        store_id: &str,
        user_id: &str,
    ) -> Result<Option<String>, ApiError> {
        let out = self
            .client(region)
            .describe_user()
            .identity_store_id(store_id)
            .user_id(user_id)
            .send()
            .await;
        match out {
            Ok(user) => match user.user_name() {
                Some(name) => Ok(Some(name.to_owned())),
                None => Err(ApiError {
                    code: "UserUnnamed".into(),
                    message: format!("user {user_id} of identity store {store_id} has no UserName"),
                }),
            },
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DescribeUserError::ResourceNotFoundException(_))
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(api_error(e)),
        }
    }

    /// The user of `store_id` whose `UserName` is `name` now, if any (`GetUserId`).
    pub async fn user_id_of(
        &self,
        region: Option<&str>,
        store_id: &str,
        name: &str,
    ) -> Result<Option<String>, ApiError> {
        let unique = UniqueAttribute::builder()
            .attribute_path("userName")
            .attribute_value(Document::String(name.to_owned()))
            .build()
            .map_err(build_error)?;
        let out = self
            .client(region)
            .get_user_id()
            .identity_store_id(store_id)
            .alternate_identifier(AlternateIdentifier::UniqueAttribute(unique))
            .send()
            .await;
        match out {
            Ok(found) => Ok(Some(found.user_id().to_owned())),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(GetUserIdError::ResourceNotFoundException(_))
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(api_error(e)),
        }
    }
}
