//! Keeping people out, from the incident side: an incident holds the identities it acts on in
//! the quarantine while its terminations run, and reports endpoints that would let them back in; a
//! person's `Quarantine` or `Release` request changes one hold. The connect handler that enforces
//! the holds is `connect.rs`. Release records are read in [`releases`], people's requests handled
//! in [`requests`].

mod releases;
mod requests;

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::quarantine::QuarantineStore;
use crate::adapters::state::StateStore;
use crate::domain::model::{ApiError, Connection, Endpoint};
use crate::domain::plan::{Call, Planned, Selector};
use crate::domain::plan::{CallError, Outcome};
use crate::domain::quarantine::{self, Held, Hold};
use crate::shell::budget::Budget;
use crate::shell::invocation::Invocation;
use crate::shell::logging::AUDIT;
use crate::shell::report::{self, HoldEntry, Unenforced};
use futures::stream::{self, StreamExt};

/// The action a failed quarantine write is reported under.
const PUT: &str = "PutItem";

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
        targets: &[Planned],
        spent: &[Connection],
        listed: &[Connection],
        whole: bool,
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
            &config.people,
            &is_protected,
            // Whether others use a certificate is only known from the whole picture.
            config.quarantine.hold_common_names && whole,
        );
        let why =
            quarantine::incident::not_held_because(whole, config.quarantine.hold_common_names);
        for subject in holding.shared {
            self.held(HoldEntry {
                reason: Some(why.into()),
                ..HoldEntry::not_held(&subject)
            });
        }
        if holding.held.len() > config.max_terminations {
            self.holds_over_cap(holding.held.len());
            return Vec::new();
        }
        let now = chrono::Utc::now().timestamp();
        let hold = |(subject, sources)| quarantine::incident::hold(subject, sources, now, minutes);
        holding.held.into_iter().map(hold).collect()
    }

    /// More people to hold than the cap: nobody is held, and the step fails loudly.
    fn holds_over_cap(&mut self, holds: usize) {
        let cap = self.app.config.max_terminations;
        tracing::error!(
            target: AUDIT,
            event = "cap_exceeded",
            holds,
            cap,
            "the incident would quarantine more users than CVPN_MAX_TERMINATIONS; holding nobody"
        );
        let message = format!(
            "{holds} users to quarantine, more than CVPN_MAX_TERMINATIONS ({cap}); none held"
        );
        let e = ApiError {
            code: "CapExceeded".into(),
            message,
        };
        self.response
            .step_failed(CallError::new(None, "Quarantine", e));
    }

    /// With quarantine on, each endpoint in scope that does not call the deployed connect handler
    /// (in another target: the handler `target.yaml` deploys there) is a warning and an entry in
    /// `unenforced`.
    pub(crate) fn report_unenforced(&mut self, endpoints: &[Endpoint]) {
        if self.app.config.quarantine_minutes().is_none() {
            return;
        }
        let quarantine = &self.app.config.quarantine;
        let deployed = quarantine.handler_arn.as_deref();
        let home = self.app.api.home_place();
        for e in endpoints {
            let handler = e.connect_handler.as_deref();
            if !quarantine::enforced(
                deployed,
                &quarantine.target_handler_name,
                home,
                &e.place,
                handler,
            ) {
                let u = Unenforced {
                    place: e.place.clone(),
                    endpoint_id: e.id.clone(),
                    connect_handler: e.connect_handler.clone(),
                };
                report::log_unenforced(&u);
                self.response.unenforced.push(u);
            }
        }
        // In the order people look them up, whichever place answered first.
        let unenforced = &mut self.response.unenforced;
        unenforced.sort_by(|a, b| (&a.place, &a.endpoint_id).cmp(&(&b.place, &b.endpoint_id)));
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
        self.record_outcomes(&done);
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

    pub(crate) fn held(&mut self, entry: HoldEntry) {
        report::log_hold(&entry);
        self.response.quarantine.push(entry);
    }
}
