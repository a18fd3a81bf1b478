//! The incident path: selectors (`selectors.rs`, `idp.rs`) meet the live connections, and the
//! chosen ones are terminated.

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::approvals::ApprovalStore;
use crate::adapters::state::ended::EndedStore;
use crate::adapters::state::inventory::InventoryStore;
use crate::adapters::state::quarantine::QuarantineStore;
use crate::adapters::state::StateStore;
use crate::domain::approval;
use crate::domain::model::{Endpoint, Reason};
use crate::domain::plan::Outcome;
use crate::domain::plan::{self, incident, Call, Planned, Rules, Selector};
use crate::domain::quarantine::Hold;
use crate::shell::app::HandlerError;
use crate::shell::invocation::Invocation;
use crate::shell::listing::{self, Spread};
use crate::shell::report::{self, Entry};
use std::collections::BTreeSet;

impl<A, S> Invocation<'_, A, S>
where
    A: ClientVpnApi,
    S: StateStore + QuarantineStore + ApprovalStore + EndedStore + InventoryStore,
{
    /// Lists, decides and terminates; refuses when the targets and what earlier attempts at the
    /// event ended exceed the cap. When a place or endpoint in scope could not be listed, person
    /// evidence still ends what can be seen, and client addresses end nothing.
    /// Its steps' futures are on the heap (`Box::pin`): in a debug build the SDKs' nested futures
    /// outgrow a 2 MiB thread stack.
    pub(crate) async fn incident(&mut self, selectors: Vec<Selector>) -> Result<(), HandlerError> {
        if selectors.is_empty() {
            return Ok(());
        }
        let config = &self.app.config;
        let named = incident::named_endpoints(&selectors);
        let describe = incident::describe(&selectors, config.quarantine_minutes().is_some());
        let Some(picture) = Box::pin(self.connections_of(named, describe)).await else {
            return Ok(());
        };
        // A partial picture: person evidence acts on what is seen, counting what earlier attempts
        // ended (`partial.rs`); `None` when nothing may act.
        let Some((selectors, earlier)) = Box::pin(self.acting(selectors, picture.unlisted)).await
        else {
            return Ok(());
        };
        let whole = earlier.is_none();
        if selectors.is_empty() {
            return Ok(());
        }
        let connections = picture.connections;
        let is_protected = |name: &str| config.is_protected(name);
        let rules = Rules {
            people: &config.people,
            is_protected: &is_protected,
            endpoints: &picture.endpoints,
        };
        // What the team wants a person to decide waits for them: only the rest is acted on.
        let selectors = Box::pin(self.ask_first(selectors, &connections, &rules, whole)).await;
        let selection = plan::select(&selectors, &connections, &rules);
        selection.skipped.iter().for_each(|s| self.skipped(s));
        // Who would be held, and whom a person released for the same finding: those are neither
        // ended again nor held again.
        let holds = self.holds_for(
            &selectors,
            &selection.targets,
            &selection.spent,
            &connections,
            whole,
        );
        let releases = Box::pin(self.releases_for(&holds, &selection.targets)).await;
        let (targets, holds) = self.drop_released(selection.targets, holds, &releases);
        // What earlier attempts at this event ended counts too, so a retry cannot spend the cap
        // again: those still listed (`spent`), and on a partial picture those it remembered.
        let unseen = earlier
            .as_ref()
            .map_or(0, |e| e.unseen(&selection.spent, &targets));
        let planned = targets.len() + selection.spent.len() + unseen;
        // An approval allows the count its request showed.
        let cap = config.max_terminations.max(self.approved.unwrap_or(0));
        if incident::over_cap(targets.len(), planned, cap) {
            // A request shows the whole picture: on a partial one, the retry asks.
            let asks = whole
                .then(|| approval::cap_asks(&config.ask, self.chosen, planned, cap))
                .flatten();
            if let Some(why) = asks {
                Box::pin(self.request_approval(&selectors, vec![why], &connections, &rules)).await;
                return Ok(());
            }
            return Err(self.refused(&targets, selection.spent.len(), planned, cap));
        }
        if picture.described {
            self.report_unenforced(&picture.endpoints);
        }
        // What a Username call may end beyond its plan must fit under the cap too.
        let headroom = incident::headroom(cap, planned, whole);
        let planned_ids: BTreeSet<String> = targets
            .iter()
            .map(|t| t.connection.connection_id.clone())
            .collect();
        if let Some(earlier) = &earlier {
            if !Box::pin(self.remember_ending(earlier, &targets, &selection.spent)).await {
                return Ok(());
            }
        }
        let calls = plan::calls(targets, &connections, headroom);
        Box::pin(self.end_planned(calls, holds, planned_ids, &picture.endpoints)).await;
        Ok(())
    }

    /// A skipped match, in the response and the log.
    fn skipped(&mut self, s: &plan::Skipped) {
        let entry = Entry::skipped(s);
        report::log_skipped(&entry, &s.origin);
        self.response.skipped.push(entry);
    }

    /// A plan over the cap, refused: every target skipped, nothing ended.
    fn refused(
        &mut self,
        targets: &[Planned],
        spent: usize,
        planned: usize,
        cap: usize,
    ) -> HandlerError {
        tracing::error!(
            event = "cap_exceeded",
            planned,
            already_ended = spent,
            cap,
            "refusing to terminate"
        );
        self.response.skipped.extend(targets.iter().map(|t| Entry {
            reason: Some(Reason::CapExceeded),
            ..Entry::planned(t)
        }));
        self.cap_exceeded(planned, cap)
    }

    /// Makes the calls, placing the holds, then looks again at the users whose connections were
    /// ended one by one (or whose `Username` call was refused): one who connected again after the
    /// listing keeps that connection, and is reported.
    async fn end_planned(
        &mut self,
        calls: Vec<Call>,
        holds: Vec<Hold>,
        planned: BTreeSet<String>,
        endpoints: &[Endpoint],
    ) {
        let mut one_by_one = incident::one_by_one(&calls);
        let outcomes = Box::pin(self.carry_out_holding(calls, holds)).await;
        one_by_one.extend(outcomes.iter().filter_map(|o| match o {
            Outcome::UsernameRefused {
                endpoint_id,
                username,
                ..
            } => Some((endpoint_id.clone(), username.clone())),
            _ => None,
        }));
        if !one_by_one.is_empty() && !self.response.dry_run {
            Box::pin(self.report_left_active(one_by_one, &planned, endpoints)).await;
        }
    }

    /// Lists the connections of `users`' endpoints (of those `seen`) again and reports each active connection of theirs that was
    /// not planned as `left_active`.
    async fn report_left_active(
        &mut self,
        users: BTreeSet<(String, String)>,
        planned: &BTreeSet<String>,
        seen: &[Endpoint],
    ) {
        // Their endpoints, each in the place the incident found it: no place is listed again.
        let endpoints: Vec<Endpoint> = seen
            .iter()
            .filter(|e| users.iter().any(|(id, _)| *id == e.id))
            .cloned()
            .collect();
        let app = self.app;
        let config = &app.config;
        let (connections, errors) =
            listing::list_connections(&app.api, &endpoints, Spread::of(config), &self.budget).await;
        errors
            .into_iter()
            .for_each(|e| self.response.step_failed(e));
        let is_protected = |name: &str| config.is_protected(name);
        for c in incident::left_active(&connections, &users, planned, &is_protected) {
            tracing::error!(
                event = "left_active",
                endpoint_id = c.endpoint_id.as_str(),
                connection_id = c.connection_id.as_str(),
                username = c.username.as_deref(),
                "a targeted user has a connection that was not ended"
            );
            self.response.left_active.push(Entry::left_active(c));
        }
    }
}
