//! Keeping people out, from the incident side: an incident holds the identities it acts on in
//! the quarantine while its terminations run, and reports endpoints that would let them back in; a
//! person's `Quarantine` or `Release` request changes one hold. The connect handler that enforces
//! the holds is `connect.rs`.

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::quarantine::QuarantineStore;
use crate::adapters::state::StateStore;
use crate::domain::model::Reason;
use crate::domain::model::{ApiError, Connection, Endpoint};
use crate::domain::plan::{Call, FindingRef, Origin, Selector, Target};
use crate::domain::quarantine::{self, Held, Hold, Released, Subject};
use crate::domain::trigger::quarantine::{Change, QuarantineRequest};
use crate::shell::execute::{Budget, CallError, Outcome};
use crate::shell::handler::HandlerError;
use crate::shell::invocation::Invocation;
use crate::shell::logging::AUDIT;
use crate::shell::report::{self, Entry, HoldEntry, HoldOutcome, TriggerInfo, Unenforced};
use futures::stream::{self, StreamExt};
use std::time::Duration;

/// The action a failed quarantine write is reported under.
const PUT: &str = "PutItem";

/// How long an incident waits for the release records before acting without them.
const RELEASES_TIMEOUT: Duration = Duration::from_secs(2);

/// Stores `holds` concurrently within the budget; each with what became of it.
async fn place_all<S: QuarantineStore>(
    store: &S,
    holds: Vec<Hold>,
    budget: &Budget,
    concurrency: usize,
) -> Vec<(Hold, Result<Held, ApiError>)> {
    stream::iter(holds)
        .map(|hold| async move {
            let result = budget.call(store.place(&hold)).await;
            (hold, result)
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
        // Each source with the findings behind it: a selector's own, a target's every one.
        let identities = selectors.iter().flat_map(|s| {
            s.usernames.iter().map(move |u| {
                (
                    u.value.as_str(),
                    (&s.origin, s.finding().into_iter().collect()),
                )
            })
        });
        let ended = targets
            .iter()
            .map(|t| (&t.connection, (&t.origin, t.findings.clone())))
            .chain(
                spent
                    .iter()
                    .map(|c| (c, (&first.origin, first.finding().into_iter().collect()))),
            );
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
                "Quarantine",
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
            .map(|(subject, sources)| {
                let origin = sources[0].0;
                let mut findings: Vec<FindingRef> = Vec::new();
                for f in sources.into_iter().flat_map(|(_, fs)| fs) {
                    if !findings.contains(&f) {
                        findings.push(f);
                    }
                }
                Hold {
                    subject,
                    since: now,
                    until: now + i64::from(minutes) * 60,
                    finding_id: origin.finding_id.clone(),
                    findings,
                    reason: reason(origin),
                    requested_by: None,
                }
            })
            .collect()
    }

    /// The release records of the names the incident would hold. Read before any termination, so
    /// that a finding a person has released a user from does not end their sessions again; within
    /// a short timeout, since a slow table must not delay the endings. When they cannot be read,
    /// the incident acts without them: ending and holding by mistake is undone by releasing again,
    /// letting someone stay is not undone at all.
    pub(crate) async fn releases_for(
        &mut self,
        holds: &[Hold],
        targets: &[Target],
    ) -> Vec<Released> {
        let (Some(store), Some(_)) = (&self.app.store, self.app.config.quarantine_minutes()) else {
            return Vec::new();
        };
        let case = self.app.config.mapping.case;
        let mut asked: Vec<Subject> = Vec::new();
        let named = holds
            .iter()
            .filter(|h| !h.findings.is_empty())
            .map(|h| h.subject.clone())
            .chain(
                targets
                    .iter()
                    .filter(|t| !t.findings.is_empty())
                    .filter_map(|t| quarantine::subject_of(&t.connection, case)),
            );
        for subject in named {
            if !asked.contains(&subject) {
                asked.push(subject);
            }
        }
        if asked.is_empty() {
            return Vec::new();
        }
        let read = async {
            tokio::time::timeout(RELEASES_TIMEOUT, store.releases(&asked))
                .await
                .unwrap_or_else(|_| {
                    Err(ApiError {
                        code: "Timeout".into(),
                        message: format!("no answer within {RELEASES_TIMEOUT:?}"),
                    })
                })
        };
        match self.budget.call(read).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(
                    target: AUDIT,
                    event = "call_failed",
                    action = "BatchGetItem",
                    error_code = e.code.as_str(),
                    error = e.message.as_str(),
                    "release records could not be read; acting on everyone"
                );
                Vec::new()
            }
        }
    }

    /// Leaves out the targets and holds a person released for their finding: the targets are
    /// skipped (`released`), the holds reported `not_held`.
    pub(crate) fn drop_released(
        &mut self,
        targets: Vec<Target>,
        holds: Vec<Hold>,
        releases: &[Released],
    ) -> (Vec<Target>, Vec<Hold>) {
        if releases.is_empty() {
            return (targets, holds);
        }
        let case = self.app.config.mapping.case;
        let now = chrono::Utc::now().timestamp();
        let why = |r: &Released| {
            format!(
                "released from the quarantine this finding placed at {} by {}",
                quarantine::time(r.at),
                r.by.as_deref().unwrap_or("(unknown)")
            )
        };
        let release = |t: &Target| {
            let subject = quarantine::subject_of(&t.connection, case)?;
            quarantine::released(&subject, &t.findings, releases, now)
        };
        let (released, targets): (Vec<Target>, Vec<Target>) =
            targets.into_iter().partition(|t| release(t).is_some());
        for t in released {
            let r = release(&t).expect("partitioned on it");
            let entry = Entry {
                reason: Some(Reason::Released),
                detail: Some(why(r)),
                ..Entry::planned(&t)
            };
            report::log_skipped(&entry, &t.origin);
            self.response.skipped.push(entry);
        }
        let mut kept = Vec::new();
        for hold in holds {
            match hold.released_by(releases, now) {
                Some(r) => self.held(HoldEntry {
                    reason: Some(why(r)),
                    ..HoldEntry::not_held(&hold.subject)
                }),
                None => kept.push(hold),
            }
        }
        (targets, kept)
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
        let holding = async {
            match &app.store {
                Some(store) if !holds.is_empty() => {
                    place_all(store, holds, &self.budget, app.config.concurrency).await
                }
                _ => Vec::new(),
            }
        };
        let (done, placed) = futures::join!(self.run_planned(planned), holding);
        self.record_outcomes(&[], &done);
        self.record(placed);
        done
    }

    fn record(&mut self, placed: Vec<(Hold, Result<Held, ApiError>)>) {
        for (hold, result) in placed {
            match result {
                Ok(held) => self.held(HoldEntry::new(&hold, held.into())),
                // Whose hold failed, so that the answer says who is not kept out.
                Err(e) => self.response.step_failed(CallError::new(
                    None,
                    PUT,
                    ApiError {
                        message: format!(
                            "holding {} {}: {}",
                            hold.subject.kind.as_str(),
                            hold.subject.name,
                            e.message
                        ),
                        ..e
                    },
                )),
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
                    findings: Vec::new(),
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
