//! Keeping people out, from the incident side: an incident holds the identities it acts on in
//! the quarantine while its terminations run, and reports endpoints that would let them back in; a
//! person's `Quarantine` or `Release` request changes one hold. The connect handler that enforces
//! the holds is `connect.rs`.

use crate::ec2::ClientVpnApi;
use crate::execute::{self, Budget, CallError, Outcome};
use crate::handler::HandlerError;
use crate::invocation::Invocation;
use crate::logging::AUDIT;
use crate::model::{ApiError, Connection, Endpoint};
use crate::plan::{Call, Origin, Selector, Target};
use crate::quarantine::{self, Held, Hold, Subject};
use crate::report::{self, HoldEntry, HoldOutcome, TriggerInfo, Unenforced};
use crate::state::quarantine::QuarantineStore;
use crate::state::StateStore;
use crate::trigger::quarantine::{Change, QuarantineRequest};
use futures::stream::{self, StreamExt};

/// The action a failed quarantine write is reported under.
const PUT: &str = "PutItem";

/// What became of one hold.
enum Placement {
    Stored(Hold, Held),
    /// A person released this finding's hold on the subject; the finding does not hold it again.
    Released(Hold, quarantine::Released),
    Failed(ApiError),
}

/// Stores `holds` concurrently within the budget, except those a person released for the same
/// finding. When the release records cannot be read, every hold is placed: keeping someone out
/// by mistake is undone by releasing them again; letting them in is not undone at all.
async fn place_all<S: QuarantineStore>(
    store: &S,
    holds: Vec<Hold>,
    budget: &Budget,
    concurrency: usize,
) -> Vec<Placement> {
    let now = chrono::Utc::now().timestamp();
    let asked: Vec<Subject> = holds
        .iter()
        .filter(|h| h.finding_id.is_some())
        .map(|h| h.subject.clone())
        .collect();
    let releases = match budget.call(store.releases(&asked)).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(
                target: AUDIT,
                event = "call_failed",
                action = "BatchGetItem",
                error_code = e.code.as_str(),
                error = e.message.as_str(),
                "release records could not be read; holding everyone"
            );
            Vec::new()
        }
    };
    let releases = &releases;
    stream::iter(holds)
        .map(|hold| async move {
            if let Some(r) = hold.released_by(releases, now) {
                return Placement::Released(hold.clone(), r.clone());
            }
            match budget.call(store.place(&hold)).await {
                Ok(held) => Placement::Stored(hold, held),
                Err(e) => Placement::Failed(e),
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

impl<A: ClientVpnApi, S: StateStore + QuarantineStore> Invocation<'_, A, S> {
    /// The holds an incident places (none in a dry run or with quarantine off): the users the
    /// selectors named, and the names of its targets and of the connections earlier attempts at
    /// the event ended. Worked out before the terminations, so that they are stored by the time
    /// the clients reconnect. More than `CVPN_MAX_TERMINATIONS` of them holds nobody and fails the
    /// invocation: a finding naming that many people is one a person should read first.
    pub(crate) fn holds_for(
        &mut self,
        selectors: &[Selector],
        targets: &[Target],
        spent: &[Connection],
        listed: &[Connection],
    ) -> Vec<Hold> {
        let config = &self.app.config;
        let (Some(minutes), Some(first), false) = (
            config.quarantine_minutes(),
            selectors.first(),
            self.response.dry_run,
        ) else {
            return Vec::new();
        };
        let identities = selectors.iter().flat_map(|s| {
            s.usernames
                .iter()
                .map(move |u| (u.value.as_str(), &s.origin))
        });
        let ended = targets
            .iter()
            .map(|t| (&t.connection, &t.origin))
            .chain(spent.iter().map(|c| (c, &first.origin)));
        let is_protected = |name: &str| config.is_protected(name);
        let holding = quarantine::subjects(
            identities,
            ended,
            listed,
            config.mapping.case,
            &is_protected,
        );
        for subject in holding.shared {
            self.held(HoldEntry {
                reason: Some("shared certificate: connections outside this incident use it".into()),
                ..HoldEntry::not_held(&subject)
            });
        }
        if holding.held.len() > config.max_terminations {
            tracing::error!(
                target: AUDIT,
                event = "cap_exceeded",
                holds = holding.held.len(),
                cap = config.max_terminations,
                "the incident would quarantine more users than CVPN_MAX_TERMINATIONS; holding nobody"
            );
            self.response.step_failed(CallError::new(
                None,
                PUT,
                ApiError {
                    code: "CapExceeded".into(),
                    message: format!(
                        "{} users to quarantine, more than CVPN_MAX_TERMINATIONS ({}); none held",
                        holding.held.len(),
                        config.max_terminations
                    ),
                },
            ));
            return Vec::new();
        }
        let now = chrono::Utc::now().timestamp();
        holding
            .held
            .into_iter()
            .map(|(subject, origin)| Hold {
                subject,
                since: now,
                until: now + i64::from(minutes) * 60,
                finding_id: origin.finding_id.clone(),
                reason: reason(origin),
                requested_by: None,
            })
            .collect()
    }

    /// With quarantine on, each endpoint in scope that does not call the deployed connect handler
    /// is a warning and an entry in `unenforced`.
    pub(crate) fn report_unenforced(&mut self, endpoints: &[Endpoint]) {
        if self.app.config.quarantine_minutes().is_none() {
            return;
        }
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

    /// Carries out the planned calls (as `carry_out`) while the holds are stored.
    pub(crate) async fn carry_out_holding(
        &mut self,
        planned: Vec<Call>,
        holds: Vec<Hold>,
    ) -> Vec<Outcome> {
        let app = self.app;
        let dry_run = self.response.dry_run;
        let log = |o: &Outcome| report::log_outcome(o, dry_run);
        let concurrency = app.config.concurrency;
        let holding = async {
            match &app.store {
                Some(store) if !holds.is_empty() => {
                    place_all(store, holds, &self.budget, concurrency).await
                }
                _ => Vec::new(),
            }
        };
        let terminating =
            execute::run_calls(&app.api, planned, dry_run, concurrency, &self.budget, &log);
        let (done, placed) = futures::join!(terminating, holding);
        for o in &done {
            self.response.record(o);
        }
        self.record(placed);
        done
    }

    fn record(&mut self, placed: Vec<Placement>) {
        for p in placed {
            match p {
                Placement::Stored(hold, held) => self.held(HoldEntry::new(&hold, held.into())),
                Placement::Released(hold, r) => self.held(HoldEntry {
                    reason: Some(format!(
                        "released for this finding at {} by {}",
                        quarantine::time(r.at),
                        r.by.as_deref().unwrap_or("(unknown)")
                    )),
                    ..HoldEntry::not_held(&hold.subject)
                }),
                Placement::Failed(e) => self.response.step_failed(CallError::new(None, PUT, e)),
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
                let placed = place_all(store, vec![hold], &self.budget, 1).await;
                self.record(placed);
            }
            Change::Release => {
                let by = request.requested_by.as_deref();
                match self.budget.call(store.release(&subject, by, now)).await {
                    Ok(before) => {
                        let entry = match before.filter(|h| h.in_force(now)) {
                            Some(h) => HoldEntry::new(&h, HoldOutcome::Released),
                            None => HoldEntry::not_held(&subject),
                        };
                        self.held(HoldEntry {
                            requested_by: request.requested_by.clone(),
                            reason: request.reason.clone(),
                            ..entry
                        });
                    }
                    Err(e) => self
                        .response
                        .step_failed(CallError::new(None, "DeleteItem", e)),
                }
            }
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
