//! An organization's accounts as the targets (`CVPN_ORGANIZATION_*`): read from the state table
//! when the function starts (listed through Organizations only when none are kept), and listed
//! again by a sweep once the kept list is an hour old. A warm function keeps the targets it
//! started with; the accounts a sweep finds are taken as new instances start.

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::organization::OrganizationApi;
use crate::adapters::state::organization::OrganizationStore;
use crate::adapters::state::StateStore;
use crate::domain::model::ApiError;
use crate::domain::organization::{Known, Reach};
use crate::domain::plan::CallError;
use crate::domain::targets::TargetSpec;
use crate::shell::invocation::Invocation;
use crate::shell::report;

/// The targets of an organization deployment as it starts: the accounts kept in the table, or
/// (none kept, or the table unreadable) those Organizations lists now, then kept. `Err` says why
/// there are none.
pub async fn start_targets<O: OrganizationApi, S: OrganizationStore>(
    reach: &Reach,
    organization: &O,
    store: &S,
    own: Option<&str>,
) -> Result<Vec<TargetSpec>, String> {
    let kept = match store.known().await {
        Ok(kept) => kept,
        Err(e) => {
            report::log_call_warning(
                "GetItem",
                &e,
                "the organization's accounts could not be read from the table: listing them",
            );
            None
        }
    };
    let known = match kept {
        Some(known) => known,
        None => {
            let listed = organization.accounts(&reach.units).await.map_err(|e| {
                format!(
                    "the organization's accounts could not be listed: {}: {}",
                    e.code, e.message
                )
            })?;
            let known = Known::listed(chrono::Utc::now().timestamp(), &listed);
            if let Some(why) = known.refused_over(None) {
                return Err(format!("{why} (CVPN_ORGANIZATION_UNITS)"));
            }
            if let Err(e) = store.keep(&known).await {
                report::log_call_warning(
                    "PutItem",
                    &e,
                    "the organization's accounts could not be kept: the next start lists them again",
                );
            }
            known
        }
    };
    let now = chrono::Utc::now().timestamp();
    if now - known.at > 24 * 60 * 60 {
        tracing::warn!(
            event = "organization_stale",
            listed_at = known.at,
            "the organization's accounts were last listed over a day ago: sweeps list them again \
             (EnableSchedule)"
        );
    }
    let targets = reach.targets(&known, own);
    tracing::info!(
        event = "organization_targets",
        accounts = known.accounts.len(),
        places = targets.len(),
        listed_at = known.at,
        "the organization's active accounts, in each Region, are the targets"
    );
    if targets.is_empty() {
        return Err(
            "the organization has no active account in scope (CVPN_ORGANIZATION_UNITS)".into(),
        );
    }
    Ok(targets)
}

impl<A: ClientVpnApi, S: StateStore + OrganizationStore> Invocation<'_, A, S> {
    /// Lists the organization again when the kept list is an hour old, and keeps it; what changed
    /// is logged (new instances take it). A failure is the sweep's error: the kept list stands.
    pub(crate) async fn refresh_organization(&mut self) {
        let app = self.app;
        let (Some(reach), Some(organization), Some(store)) =
            (&app.config.organization, app.api.organization(), &app.store)
        else {
            return;
        };
        let now = chrono::Utc::now().timestamp();
        let kept = match self.budget.call(store.known()).await {
            Ok(kept) => kept,
            Err(e) => {
                return self
                    .response
                    .step_failed(CallError::new(None, "GetItem", e))
            }
        };
        if kept.as_ref().is_some_and(|k| !k.stale(now)) {
            return;
        }
        let listed = match self.budget.call(organization.accounts(&reach.units)).await {
            Ok(listed) => Known::listed(now, &listed),
            Err(e) => {
                return self
                    .response
                    .step_failed(CallError::new(None, "ListAccounts", e))
            }
        };
        if let Some(why) = listed.refused_over(kept.as_ref()) {
            tracing::error!(
                event = "organization_refused",
                error = why.as_str(),
                "the kept list of the organization's accounts stands until a person looks"
            );
            let refused = ApiError {
                code: "OrganizationShrank".into(),
                message: why,
            };
            return self
                .response
                .step_failed(CallError::new(None, "ListAccounts", refused));
        }
        let before = kept.map(|k| k.accounts).unwrap_or_default();
        let added = listed
            .accounts
            .iter()
            .filter(|a| !before.contains(a))
            .count();
        let removed = before
            .iter()
            .filter(|a| !listed.accounts.contains(a))
            .count();
        match self.budget.call(store.keep(&listed)).await {
            Ok(true) => {}
            // Another sweep kept a later list meanwhile.
            Ok(false) => return,
            Err(e) => {
                return self
                    .response
                    .step_failed(CallError::new(None, "PutItem", e))
            }
        }
        tracing::info!(
            event = "organization_listed",
            accounts = listed.accounts.len(),
            added,
            removed,
            "the organization's accounts, kept for the function instances that start next"
        );
    }
}
