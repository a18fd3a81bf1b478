//! Keeping people out, from the incident side: after an incident, the identities it acted on are
//! held in the quarantine and endpoints that would let them back in are reported; a person's
//! `Quarantine` or `Release` request changes one hold. The connect handler that enforces the holds
//! is `connect.rs`.

use crate::ec2::ClientVpnApi;
use crate::execute::{CallError, Outcome};
use crate::handler::HandlerError;
use crate::invocation::Invocation;
use crate::model::{Connection, Endpoint};
use crate::plan::{Origin, Selector};
use crate::quarantine::{self, Hold, Subject};
use crate::report::{self, HoldEntry, HoldOutcome, TriggerInfo, Unenforced};
use crate::state::quarantine::QuarantineStore;
use crate::state::StateStore;
use crate::trigger::quarantine::{Change, QuarantineRequest};
use futures::stream::{self, StreamExt};

/// The action a failed quarantine write or read is reported under.
const PUT: &str = "PutItem";

impl<A: ClientVpnApi, S: StateStore + QuarantineStore> Invocation<'_, A, S> {
    /// After an incident's terminations (not a dry run): the endpoints in scope that do not call
    /// the deployed connect handler are reported, and the users the selectors named and the ended
    /// connections' names are held for `CVPN_QUARANTINE_MINUTES`.
    pub(crate) async fn keep_out(
        &mut self,
        selectors: &[Selector],
        outcomes: &[Outcome],
        spent: &[Connection],
        endpoints: &[Endpoint],
    ) {
        let config = &self.app.config;
        let (Some(minutes), Some(first), false) = (
            config.quarantine_minutes(),
            selectors.first(),
            self.response.dry_run,
        ) else {
            return;
        };
        self.report_unenforced(endpoints);
        let identities = selectors.iter().flat_map(|s| {
            s.usernames
                .iter()
                .map(move |u| (u.value.as_str(), &s.origin))
        });
        let ended = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Ended { target, .. } | Outcome::AlreadyEnded { target, .. } => {
                    Some((&target.connection, &target.origin))
                }
                _ => None,
            })
            // Ended by an earlier attempt at this event, whose quarantine may have failed.
            .chain(spent.iter().map(|c| (c, &first.origin)));
        let is_protected = |name: &str| config.is_protected(name);
        let now = chrono::Utc::now().timestamp();
        let holds: Vec<Hold> =
            quarantine::subjects(identities, ended, config.mapping.case, &is_protected)
                .into_iter()
                .map(|(subject, origin)| Hold {
                    subject,
                    since: now,
                    until: now + i64::from(minutes) * 60,
                    finding_id: origin.finding_id.clone(),
                    reason: reason(origin),
                    requested_by: None,
                })
                .collect();
        self.place(holds).await;
    }

    fn report_unenforced(&mut self, endpoints: &[Endpoint]) {
        let deployed = self.app.config.keep_out.handler_arn.as_deref();
        for e in endpoints {
            if !quarantine::enforces(deployed, e.connect_handler.as_deref()) {
                let u = Unenforced {
                    endpoint_id: e.id.clone(),
                    connect_handler: e.connect_handler.clone(),
                };
                report::log_unenforced(&u);
                self.response.unenforced.push(u);
            }
        }
    }

    /// Stores each hold, concurrently within the budget; each change has its log line.
    async fn place(&mut self, holds: Vec<Hold>) {
        let Some(store) = &self.app.store else { return };
        let budget = &self.budget;
        let placed: Vec<(Hold, Result<_, _>)> = stream::iter(holds)
            .map(|hold| async move {
                let result = budget.call(store.place(&hold)).await;
                (hold, result)
            })
            .buffer_unordered(self.app.config.concurrency.max(1))
            .collect()
            .await;
        for (hold, result) in placed {
            match result {
                Ok(held) => self.held(HoldEntry::new(&hold, held.into())),
                Err(e) => self.response.step_failed(CallError::new(None, PUT, e)),
            }
        }
    }

    fn held(&mut self, entry: HoldEntry) {
        report::log_hold(&entry);
        self.response.quarantine.push(entry);
    }

    /// A person's `Quarantine` or `Release` request.
    pub(crate) async fn change_quarantine(
        &mut self,
        request: &QuarantineRequest,
    ) -> Result<(), HandlerError> {
        let config = &self.app.config;
        let source = match request.change {
            Change::Hold { .. } => "quarantine",
            Change::Release => "release",
        };
        self.response.trigger = TriggerInfo {
            source: source.into(),
            reason: request.reason.clone(),
            ..TriggerInfo::default()
        };
        let Some(store) = &self.app.store else {
            return Err(HandlerError::bad_event(
                &request.name_path,
                "the quarantine is kept in the state table: set CVPN_STATE_TABLE; nothing was changed",
            ));
        };
        let subject = Subject::new(request.kind, &request.name, config.mapping.case);
        let now = chrono::Utc::now().timestamp();
        match request.change {
            Change::Hold { minutes } => {
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
                let minutes = minutes.unwrap_or(config.keep_out.quarantine_minutes);
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
                let hold = Hold {
                    subject,
                    since: now,
                    until: now + i64::from(minutes) * 60,
                    finding_id: None,
                    reason: request.reason.clone().unwrap_or_else(|| "requested".into()),
                    requested_by: request.requested_by.clone(),
                };
                self.place(vec![hold]).await;
            }
            Change::Release => match self.budget.call(store.release(&subject)).await {
                Ok(before) => {
                    let in_force = before.filter(|h| h.in_force(now));
                    let entry = HoldEntry {
                        requested_by: request.requested_by.clone(),
                        reason: request.reason.clone(),
                        ..match &in_force {
                            Some(h) => HoldEntry::new(h, HoldOutcome::Released),
                            None => HoldEntry {
                                kind: subject.kind,
                                name: subject.name.clone(),
                                outcome: HoldOutcome::NotHeld,
                                until: None,
                                finding_id: None,
                                reason: None,
                                requested_by: None,
                            },
                        }
                    };
                    self.held(entry);
                }
                Err(e) => self
                    .response
                    .step_failed(CallError::new(None, "DeleteItem", e)),
            },
        }
        Ok(())
    }
}

/// Why an incident held someone, for the item and the people who read it.
fn reason(origin: &Origin) -> String {
    origin
        .reason
        .clone()
        .or_else(|| origin.finding_type.clone())
        .unwrap_or_else(|| origin.source.clone())
}
