//! A person's `Quarantine` or `Release` request (the CLI's `quarantine add | release` sends the
//! same).

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::quarantine::QuarantineStore;
use crate::adapters::state::StateStore;
use crate::domain::plan::CallError;
use crate::domain::quarantine::{Hold, Placer, Subject};
use crate::domain::trigger::quarantine::{Change, QuarantineRequest};
use crate::shell::app::HandlerError;
use crate::shell::config::Config;
use crate::shell::invocation::Invocation;
use crate::shell::report::{HoldEntry, HoldOutcome};

use super::place_all;

impl<A: ClientVpnApi, S: StateStore + QuarantineStore> Invocation<'_, A, S> {
    /// A person's `Quarantine` or `Release` request.
    pub(crate) async fn change_quarantine(
        &mut self,
        request: &QuarantineRequest,
    ) -> Result<(), HandlerError> {
        let config = &self.app.config;
        self.response.trigger.reason = request.reason.clone();
        let Some(store) = &self.app.store else {
            return Err(HandlerError::bad_event(
                &request.name_path,
                "the quarantine is kept in the state table: set CVPN_STATE_TABLE; nothing was changed",
            ));
        };
        let subject = Subject::new(request.kind, &request.name, &config.people);
        let now = chrono::Utc::now().timestamp();
        match request.change {
            Change::Hold { minutes } => {
                let hold = requested_hold(config, request, subject, minutes, now)?;
                let placed = place_all(store, vec![hold], &self.budget, 1).await;
                self.record(placed);
            }
            // A release lifts every hold on the person: through either kind of name, under any
            // key an earlier version wrote (the connect handler refuses on each of them).
            Change::Release => {
                let by = request.requested_by.as_deref();
                let mut released = Vec::new();
                for held in Subject::holding(&request.name, &config.people) {
                    match self.budget.call(store.release(&held, by, now, None)).await {
                        Ok(before) => released.extend(before.filter(|h| h.in_force(now))),
                        Err(e) => {
                            self.response
                                .step_failed(CallError::new(None, "DeleteItem", e));
                        }
                    }
                }
                let entries = match released.is_empty() {
                    true => vec![HoldEntry::not_held(&subject)],
                    false => released
                        .iter()
                        .map(|h| HoldEntry::new(h, HoldOutcome::Released))
                        .collect(),
                };
                for entry in entries {
                    self.held(HoldEntry {
                        requested_by: request.requested_by.clone(),
                        reason: request.reason.clone(),
                        ..entry
                    });
                }
            }
        }
        Ok(())
    }
}

/// The hold a person asked for: never on a protected user, and for as long as they said or,
/// if they did not, `CVPN_QUARANTINE_MINUTES`.
fn requested_hold(
    config: &Config,
    request: &QuarantineRequest,
    subject: Subject,
    minutes: Option<u32>,
    now: i64,
) -> Result<Hold, HandlerError> {
    if config.is_protected(&request.name) {
        return Err(HandlerError::bad_event(
            &request.name_path,
            format!(
                "{} is a protected user (CVPN_PROTECTED_USERS), and protected users are \
                 never quarantined; nothing was changed",
                request.name
            ),
        ));
    }
    let minutes = minutes.unwrap_or(config.quarantine.quarantine_minutes);
    if minutes == 0 {
        let parent = request
            .name_path
            .rsplit_once('.')
            .map_or("event", |(p, _)| p);
        return Err(HandlerError::bad_event(
            format!("{parent}.Minutes"),
            "needed: CVPN_QUARANTINE_MINUTES is 0, so there is no default; nothing was changed",
        ));
    }
    Ok(Hold {
        subject,
        since: now,
        until: now + i64::from(minutes) * 60,
        finding_id: None,
        findings: Vec::new(),
        reason: request.reason.clone().unwrap_or_else(|| "requested".into()),
        requested_by: request.requested_by.clone(),
        by_person: true,
        placed_by: vec![Placer::Person],
    })
}
