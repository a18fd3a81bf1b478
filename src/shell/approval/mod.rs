//! Asking a person first, and carrying out their answer (`CVPN_ASK_*`). The incident path hands
//! over what the rules ask about ([`Invocation::ask_first`]) or, over the cap, all of it
//! ([`Invocation::request_approval`]): nothing of it is done, a request is stored and answered
//! with its ID. An answer ([`Invocation::answer_request`]) is decided by the domain; an approval
//! that suffices runs the incident path again on the request's people as they are now, under the
//! count the request showed ([`answer`]); a tick tells the requests that expired unanswered
//! ([`expiry`]). The rules are the domain's (`domain/approval/`).

mod answer;
mod expiry;

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::approvals::ApprovalStore;
use crate::adapters::state::quarantine::QuarantineStore;
use crate::adapters::state::StateStore;
use crate::domain::approval::{self, ApprovalRequest, AskWhy, ChosenBy};
use crate::domain::model::{ApiError, Connection};
use crate::domain::plan::CallError;
use crate::domain::plan::{self, Rules, Selector};
use crate::shell::invocation::Invocation;
use crate::shell::logging::AUDIT;
use crate::shell::report::approval::AskedEntry;

impl<A, S> Invocation<'_, A, S>
where
    A: ClientVpnApi,
    S: StateStore + QuarantineStore + ApprovalStore,
{
    /// `selectors` less those the asking rules keep for a person, who is asked about them in one
    /// request when the picture is `whole` (otherwise by the retry).
    pub(crate) async fn ask_first(
        &mut self,
        selectors: Vec<Selector>,
        connections: &[Connection],
        rules: &Rules<'_>,
        whole: bool,
    ) -> Vec<Selector> {
        let app = self.app;
        let ask = &app.config.ask;
        if !ask.asks() || self.chosen == ChosenBy::Person {
            return selectors;
        }
        let split = approval::split(selectors, connections, rules, ask, self.chosen);
        if split.ask.is_empty() {
        } else if whole {
            self.request_approval(&split.ask, split.why, connections, rules)
                .await;
        } else {
            // A request shows whom and how many sessions a person decides on: on a partial
            // picture that is not known, so the retry that sees it whole asks.
            tracing::error!(
                target: AUDIT,
                event = "approval_deferred",
                selectors = split.ask.len(),
                "a person is to be asked, but places or endpoints could not be listed: nothing of \
                 this is done, and the retry asks"
            );
        }
        split.act
    }

    /// Records a request for `selectors` (what they would end now, who would be held) and does
    /// none of it; a dry run only says what it would ask.
    pub(crate) async fn request_approval(
        &mut self,
        selectors: &[Selector],
        why: Vec<AskWhy>,
        connections: &[Connection],
        rules: &Rules<'_>,
    ) {
        let targets = plan::select(selectors, connections, rules).targets;
        let app = self.app;
        let ask = &app.config.ask;
        let now = chrono::Utc::now().timestamp();
        // A request made again for the same event (a retry) is the same request.
        let seed = self.seed.clone().unwrap_or_default();
        let request = ApprovalRequest::new(
            &seed,
            now,
            ask.minutes,
            ask.approvals_required,
            why,
            selectors,
            &targets,
        );
        let stored = match (&app.store, self.response.dry_run) {
            (_, true) => false,
            (None, false) => {
                self.response.step_failed(CallError::new(
                    None,
                    "PutItem",
                    ApiError {
                        code: "NoStateTable".into(),
                        message: "a request for approval needs CVPN_STATE_TABLE".into(),
                    },
                ));
                false
            }
            (Some(store), false) => match self.budget.call(store.ask(&request)).await {
                Ok(_) => true,
                Err(e) => {
                    self.response
                        .step_failed(CallError::new(None, "PutItem", e));
                    false
                }
            },
        };
        let entry = AskedEntry::new(&request, stored);
        tracing::warn!(
            target: AUDIT,
            event = "approval_requested",
            request_id = entry.id.as_str(),
            people = ?entry.people,
            sessions = entry.sessions,
            why = ?entry.why,
            stored,
            "a person is asked first; nothing of this was done"
        );
        self.response.approval_requests.push(entry);
    }
}
