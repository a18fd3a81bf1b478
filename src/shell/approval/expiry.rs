//! A tick's look at the requests still waiting: each that stopped asking unanswered is marked
//! expired and told; nothing of it is done.

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::approvals::ApprovalStore;
use crate::adapters::state::quarantine::QuarantineStore;
use crate::adapters::state::StateStore;
use crate::domain::approval::State;
use crate::domain::plan::CallError;
use crate::shell::invocation::Invocation;
use crate::shell::logging::AUDIT;
use crate::shell::report::approval::AskedEntry;

impl<A, S> Invocation<'_, A, S>
where
    A: ClientVpnApi,
    S: StateStore + QuarantineStore + ApprovalStore,
{
    /// Each request that stopped asking unanswered is marked expired and told (a tick does this):
    /// nothing of it is done. The oldest first, [`EXPIRED_PER_TICK`] at most; a fault is said and
    /// left for the next tick.
    pub(crate) async fn expire_requests(&mut self) {
        let app = self.app;
        let (Some(store), true) = (&app.store, app.config.ask.asks()) else {
            return;
        };
        let waiting = match self.budget.call(store.waiting()).await {
            Ok(ids) => ids,
            Err(e) => {
                return self
                    .response
                    .step_failed(CallError::new(None, "GetItem", e))
            }
        };
        let now = chrono::Utc::now().timestamp();
        let mut settled = Vec::new();
        for id in waiting.into_iter().take(EXPIRED_PER_TICK) {
            let stored = match self.budget.call(store.approval(&id)).await {
                Ok(Some(stored)) => stored,
                Ok(None) => {
                    settled.push(id);
                    continue;
                }
                Err(e) => {
                    self.response
                        .step_failed(CallError::new(None, "GetItem", e));
                    continue;
                }
            };
            let r = &stored.request;
            if stored.state == State::Pending && r.asks_until > now {
                continue;
            }
            if stored.state == State::Pending && !self.response.dry_run {
                if let Err(e) = self.budget.call(store.expire(&stored)).await {
                    self.response
                        .step_failed(CallError::new(None, "UpdateItem", e));
                    continue;
                }
            }
            if stored.state == State::Pending {
                let entry = AskedEntry::new(r, true);
                tracing::warn!(
                    target: AUDIT,
                    event = "approval_expired",
                    request_id = entry.id.as_str(),
                    people = ?entry.people,
                    "a request for approval expired unanswered; nothing of it was done"
                );
                self.response.expired_requests.push(entry);
            }
            settled.push(id);
        }
        if self.response.dry_run {
            return;
        }
        if let Err(e) = self.budget.call(store.unlist(&settled)).await {
            self.response
                .step_failed(CallError::new(None, "UpdateItem", e));
        }
    }
}

/// Requests a tick looks at; the rest wait for the next one.
const EXPIRED_PER_TICK: usize = 50;
