//! An incident on a partial picture (a place whose role cannot be assumed, an endpoint whose
//! connections could not be listed): person and connection evidence ends what can be seen, and
//! client addresses end nothing (`domain/plan/partial.rs`). The cap must hold across Lambda's
//! retries even when each attempt sees another part, so before ending anything an attempt reads
//! what the event's earlier attempts ended and writes what it is about to end (the state table's
//! `ended#<event id>`); without a table or an event ID nothing is ended on a partial picture.

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::ended::{EndedStore, KEEP_SECONDS};
use crate::adapters::state::StateStore;
use crate::domain::model::{Connection, Reason};
use crate::domain::plan::CallError;
use crate::domain::plan::{self, Planned, Selector, Skipped};
use crate::shell::invocation::Invocation;
use crate::shell::report::{self, Entry};
use std::collections::BTreeSet;

/// What an event's earlier attempts ended, as they remembered it.
pub(crate) struct Earlier {
    event: String,
    ended: BTreeSet<String>,
}

impl Earlier {
    /// Those this attempt does not see, which count against the cap beside what it does.
    pub fn unseen(&self, spent: &[Connection], targets: &[Planned]) -> usize {
        let seen = spent
            .iter()
            .chain(targets.iter().map(|t| &t.connection))
            .map(|c| c.connection_id.as_str());
        plan::unseen(&self.ended, seen)
    }
}

impl<A: ClientVpnApi, S: StateStore + EndedStore> Invocation<'_, A, S> {
    /// The selectors that may act on a picture that misses `unlisted` listings: every one on a
    /// whole picture; else those `on_partial_picture` leaves, with what earlier attempts ended.
    pub(crate) async fn acting(
        &mut self,
        selectors: Vec<Selector>,
        unlisted: usize,
    ) -> Option<(Vec<Selector>, Option<Earlier>)> {
        if unlisted == 0 {
            return Some((selectors, None));
        }
        let (selectors, earlier) = Box::pin(self.on_partial_picture(selectors, unlisted)).await?;
        Some((selectors, Some(earlier)))
    }

    /// What may act while `unlisted` places or endpoints could not be listed (their errors are in
    /// the response, so the invocation fails and is retried), and what the event's earlier
    /// attempts ended; `None` when nothing may act. Client addresses are set aside, each
    /// selector's reported as skipped.
    async fn on_partial_picture(
        &mut self,
        selectors: Vec<Selector>,
        unlisted: usize,
    ) -> Option<(Vec<Selector>, Earlier)> {
        let partial = plan::on_partial_picture(selectors);
        tracing::error!(
            event = "incomplete_picture",
            unlisted,
            acting = partial.acting.len(),
            addresses_set_aside = partial.waiting.len(),
            "places or endpoints in scope could not be listed: sessions of the people named are \
             ended where they can be seen; client IPs wait for the whole picture"
        );
        for s in partial.waiting {
            let ips: Vec<String> = s.ips.iter().map(|ip| ip.value.to_string()).collect();
            let skipped = Skipped {
                connection: None,
                reason: Reason::IncompletePicture,
                detail: format!(
                    "client IP {} not matched: {unlisted} places or endpoints could not be listed",
                    ips.join(", ")
                ),
                origin: s.origin,
            };
            let entry = Entry::skipped(&skipped);
            report::log_skipped(&entry, &skipped.origin);
            self.response.skipped.push(entry);
        }
        if partial.acting.is_empty() {
            return None;
        }
        let (Some(store), Some(event)) = (&self.app.store, self.seed.clone()) else {
            tracing::error!(
                event = "partial_picture_not_acted",
                "without a state table (CVPN_STATE_TABLE) and an event ID, what this attempt ends \
                 could not be counted by a retry that sees another part: nothing is ended"
            );
            return None;
        };
        match self.budget.call(store.ended_before(&event)).await {
            Ok(ended) => Some((
                partial.acting,
                Earlier {
                    event,
                    ended: ended.into_iter().collect(),
                },
            )),
            Err(e) => {
                self.response
                    .step_failed(CallError::new(None, "GetItem", e));
                None
            }
        }
    }

    /// Remembers, before they are ended, the connections this attempt ends and those it lists as
    /// ended by the event already; `false` (the failure recorded) when that could not be written,
    /// so nothing is ended. A dry run ends nothing and writes nothing.
    pub(crate) async fn remember_ending(
        &mut self,
        earlier: &Earlier,
        targets: &[Planned],
        spent: &[Connection],
    ) -> bool {
        let Some(store) = &self.app.store else {
            return false;
        };
        if self.response.dry_run {
            return true;
        }
        let ids: Vec<String> = targets
            .iter()
            .map(|t| &t.connection)
            .chain(spent)
            .map(|c| c.connection_id.clone())
            .filter(|id| !earlier.ended.contains(id))
            .collect();
        let until = chrono::Utc::now().timestamp() + KEEP_SECONDS;
        match self
            .budget
            .call(store.remember_ended(&earlier.event, &ids, until))
            .await
        {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(
                    event = "partial_picture_not_acted",
                    "what this attempt would end could not be remembered for its retries: nothing \
                     is ended"
                );
                self.response
                    .step_failed(CallError::new(None, "UpdateItem", e));
                false
            }
        }
    }
}
