//! A person's answer to a request for approval: refused, counted, a denial, or the approval that
//! carries it out.

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::approvals::{ApprovalStore, Stored};
use crate::adapters::state::ended::EndedStore;
use crate::adapters::state::inventory::InventoryStore;
use crate::adapters::state::quarantine::QuarantineStore;
use crate::adapters::state::StateStore;
use crate::domain::approval::{
    decide, who, ApprovalRequest, Approver, Asked, ChosenBy, Decision, Refused, State,
};
use crate::domain::plan::CallError;
use crate::domain::trigger::approval::Answer;
use crate::shell::app::HandlerError;
use crate::shell::invocation::Invocation;
use crate::shell::logging::AUDIT;
use crate::shell::report::approval::{AnswerEntry, AnswerOutcome};
use crate::shell::report::{self};

impl<'a, A, S> Invocation<'a, A, S>
where
    A: ClientVpnApi,
    S: StateStore + QuarantineStore + ApprovalStore + EndedStore + InventoryStore,
{
    /// A person's answer to a request: refused (nothing changes, and the error says why),
    /// counted, a denial, or the approval that carries it out.
    pub(crate) async fn answer_request(&mut self, answer: &Answer) -> Result<(), HandlerError> {
        self.response.trigger.reason = answer.reason.clone();
        let Some((store, stored)) = self.answered(answer).await? else {
            return Ok(());
        };
        let approver = Approver {
            identity: answer.by.clone(),
            verified: answer.verified,
        };
        let decision = self.decision(&stored, &approver, answer)?;
        let to = match decision {
            Decision::Deny => State::Denied,
            Decision::Counted { .. } => State::Pending,
            Decision::CarryOut => State::Approved,
        };
        // An approved request cut short is carried out again without another answer recorded.
        let mut approved_by: Vec<String> = stored
            .approvers
            .iter()
            .map(|a| a.identity.clone())
            .collect();
        if stored.state == State::Pending {
            if !self.response.dry_run {
                if let Err(e) = self.budget.call(store.answer(&stored, &approver, to)).await {
                    self.response
                        .step_failed(CallError::new(None, "UpdateItem", e));
                    return Ok(());
                }
            }
            approved_by.push(approver.identity.clone());
        }
        tracing::warn!(
            target: AUDIT,
            event = "approval_answered",
            request_id = stored.request.id.as_str(),
            by = approver.identity.as_str(),
            verified = approver.verified,
            state = to.as_str(),
            "a request for approval was answered"
        );
        let (outcome, approvals) = match decision {
            Decision::Deny => (AnswerOutcome::Denied, 0),
            Decision::Counted { have, .. } => (AnswerOutcome::Counted, have),
            Decision::CarryOut => (AnswerOutcome::CarriedOut, approved_by.len()),
        };
        self.response.approval = Some(AnswerEntry {
            id: stored.request.id.clone(),
            outcome,
            by: approver.identity.clone(),
            verified: approver.verified,
            approvals,
            needed: stored.request.approvals_required,
            approved_by: if outcome == AnswerOutcome::Denied {
                Vec::new()
            } else {
                approved_by
            },
        });
        match decision {
            Decision::CarryOut => self.carry_out_approved(&stored.request).await,
            Decision::Deny | Decision::Counted { .. } => Ok(()),
        }
    }

    /// The request `answer` answers, with the store it is in; `None` when it could not be read
    /// (the response's failed step). A missing request or table is the answer's error.
    async fn answered(&mut self, answer: &Answer) -> Result<Option<(&'a S, Stored)>, HandlerError> {
        let app = self.app;
        let Some(store) = &app.store else {
            return Err(HandlerError::bad_event(
                &answer.request_path,
                "CVPN_STATE_TABLE is not set: there are no requests to answer",
            ));
        };
        match self.budget.call(store.approval(&answer.request)).await {
            Ok(Some(stored)) => Ok(Some((store, stored))),
            Ok(None) => Err(HandlerError::bad_event(
                &answer.request_path,
                format!(
                    "no approval request {} (a week after it stopped asking, a request is \
                         forgotten); nothing was done",
                    answer.request
                ),
            )),
            Err(e) => {
                self.response
                    .step_failed(CallError::new(None, "GetItem", e));
                Ok(None)
            }
        }
    }

    /// What `approver`'s answer does to `stored`, as the domain decides it; a refusal is logged
    /// and is the invocation's error.
    fn decision(
        &self,
        stored: &Stored,
        approver: &Approver,
        answer: &Answer,
    ) -> Result<Decision, HandlerError> {
        let (r, config) = (&stored.request, &self.app.config);
        let who_is = |a: &Approver| who(a, &config.naming, &config.mapping, &config.people);
        let prior: Vec<_> = stored.approvers.iter().map(who_is).collect();
        let asked = Asked {
            state: stored.state,
            asks_until: r.asks_until,
            required: r.approvals_required,
            affected: &r.people,
            prior: &prior,
        };
        let now = chrono::Utc::now().timestamp();
        let identity = approver.identity.as_str();
        let decided = decide(
            &asked,
            &who_is(approver),
            identity,
            answer.approve,
            now,
            &config.people,
        );
        decided.map_err(|Refused(why)| {
            tracing::warn!(
                target: AUDIT,
                event = "approval_refused",
                request_id = r.id.as_str(),
                by = identity,
                verified = approver.verified,
                why = why.as_str(),
                "an answer to a request changed nothing"
            );
            HandlerError::bad_event(&answer.request_path, format!("{}: {why}", r.id))
        })
    }

    /// An approved request carried out: its people's sessions as they are now, under the count it
    /// showed; marked carried out only when nothing of it is left, so that a retry finishes it.
    async fn carry_out_approved(&mut self, r: &ApprovalRequest) -> Result<(), HandlerError> {
        self.chosen = ChosenBy::Person;
        self.approved = Some(r.count);
        let selectors = r.selectors(&self.app.config.match_by);
        let result = Box::pin(self.incident(selectors)).await;
        let finished = self.response.complete() && self.response.deferred.is_empty();
        if let (Ok(()), true, false, Some(store)) =
            (&result, finished, self.response.dry_run, &self.app.store)
        {
            if let Err(e) = self.budget.call(store.carried_out(&r.id)).await {
                // Carried out: a later approval carries it out again, ending nothing new.
                report::log_call_warning(
                    "UpdateItem",
                    &e,
                    "the request could not be marked carried out",
                );
            }
        }
        result
    }
}
