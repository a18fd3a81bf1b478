//! AWS Organizations, read for the accounts that are targets: the whole organization
//! (`ListAccounts`), or the named units and every unit below them (`ListChildren`,
//! `ListAccountsForParent`), page by page. Organizations throttles above a few hundred accounts;
//! the SDK's adaptive retry backs off (`CVPN_MAX_ATTEMPTS`). Read through the role in the
//! management or a delegated administrator account when one is named.

use crate::adapters::aws::api_error;
use crate::domain::model::ApiError;
use crate::domain::organization::Account;
use aws_sdk_organizations::types::{AccountState, AccountStatus, ChildType};
use std::future::Future;

pub trait OrganizationApi: Send + Sync {
    /// The accounts of the organization, or of `units` at any depth.
    fn accounts(
        &self,
        units: &[String],
    ) -> impl Future<Output = Result<Vec<Account>, ApiError>> + Send;
}

#[derive(Clone)]
pub struct Organization {
    client: aws_sdk_organizations::Client,
}

impl Organization {
    pub fn new(client: aws_sdk_organizations::Client) -> Self {
        Self { client }
    }

    async fn all(&self) -> Result<Vec<Account>, ApiError> {
        let mut out = Vec::new();
        let mut pages = self.client.list_accounts().into_paginator().send();
        while let Some(page) = pages.next().await {
            out.extend(page.map_err(api_error)?.accounts().iter().map(account));
        }
        Ok(out)
    }

    async fn in_unit(&self, unit: &str) -> Result<Vec<Account>, ApiError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_accounts_for_parent()
            .parent_id(unit)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            out.extend(page.map_err(api_error)?.accounts().iter().map(account));
        }
        Ok(out)
    }

    async fn units_below(&self, unit: &str) -> Result<Vec<String>, ApiError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_children()
            .parent_id(unit)
            .child_type(ChildType::OrganizationalUnit)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(api_error)?;
            out.extend(
                page.children()
                    .iter()
                    .filter_map(|c| c.id().map(str::to_owned)),
            );
        }
        Ok(out)
    }
}

/// Active only when Organizations says so: a suspended, closing or closed account is no target.
/// `State` is the field Organizations keeps (it retired `Status` in September 2026); `Status` is
/// read only where `State` is absent.
fn account(a: &aws_sdk_organizations::types::Account) -> Account {
    let active = match (a.state(), a.status()) {
        (Some(state), _) => state == &AccountState::Active,
        (None, status) => status == Some(&AccountStatus::Active),
    };
    Account {
        id: a.id().unwrap_or_default().to_owned(),
        active: active && a.id().is_some(),
    }
}

impl OrganizationApi for Organization {
    async fn accounts(&self, units: &[String]) -> Result<Vec<Account>, ApiError> {
        if units.is_empty() {
            return self.all().await;
        }
        // Through every unit below those named, each once.
        let mut queue: Vec<String> = units.to_vec();
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        while let Some(unit) = queue.pop() {
            if !seen.insert(unit.clone()) {
                continue;
            }
            out.extend(self.in_unit(&unit).await?);
            queue.extend(self.units_below(&unit).await?);
        }
        Ok(out)
    }
}
