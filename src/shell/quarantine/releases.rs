//! What people released: read before an incident's terminations, so that a finding a person has
//! released a user from neither ends their sessions again nor holds them again.

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::quarantine::QuarantineStore;
use crate::adapters::state::StateStore;
use crate::domain::model::Reason;
use crate::domain::plan::Planned;
use crate::domain::quarantine::{self, Hold, Released, Subject};
use crate::shell::budget::within;
use crate::shell::invocation::Invocation;
use crate::shell::report::{self, Entry, HoldEntry};
use std::time::Duration;

/// How long an incident waits for the release records before acting without them.
const RELEASES_TIMEOUT: Duration = Duration::from_secs(2);

impl<A: ClientVpnApi, S: StateStore + QuarantineStore> Invocation<'_, A, S> {
    /// The release records of the names the incident would hold. Read before any termination, so
    /// that a finding a person has released a user from does not end their sessions again; within
    /// a short timeout, since a slow table must not delay the endings. When they cannot be read,
    /// the incident acts without them: ending and holding by mistake is undone by releasing again,
    /// letting someone stay is not undone at all.
    pub(crate) async fn releases_for(
        &mut self,
        holds: &[Hold],
        targets: &[Planned],
    ) -> Vec<Released> {
        let (Some(store), Some(_)) = (&self.app.store, self.app.config.quarantine_minutes()) else {
            return Vec::new();
        };
        let people = &self.app.config.people;
        let mut asked: Vec<Subject> = Vec::new();
        let named = holds
            .iter()
            .filter(|h| !h.findings.is_empty())
            .map(|h| h.subject.clone())
            .chain(
                targets
                    .iter()
                    .filter(|t| !t.findings.is_empty())
                    .filter_map(|t| quarantine::subject_of(&t.connection, people)),
            );
        for subject in named {
            if !asked.contains(&subject) {
                asked.push(subject);
            }
        }
        if asked.is_empty() {
            return Vec::new();
        }
        let read = within(RELEASES_TIMEOUT, store.releases(&asked));
        match self.budget.call(read).await {
            Ok(r) => r,
            Err(e) => {
                report::log_call_warning(
                    "BatchGetItem",
                    &e,
                    "release records could not be read; acting on everyone",
                );
                Vec::new()
            }
        }
    }

    /// Leaves out the targets and holds a person released for their finding: the targets are
    /// skipped (`released`), the holds reported `not_held`.
    pub(crate) fn drop_released(
        &mut self,
        targets: Vec<Planned>,
        holds: Vec<Hold>,
        releases: &[Released],
    ) -> (Vec<Planned>, Vec<Hold>) {
        if releases.is_empty() {
            return (targets, holds);
        }
        let people = &self.app.config.people;
        let now = chrono::Utc::now().timestamp();
        let why = |r: &Released| {
            format!(
                "released from the quarantine this finding placed at {} by {}",
                quarantine::time(r.at),
                r.by.as_deref().unwrap_or("(unknown)")
            )
        };
        let release = |t: &Planned| {
            let subject = quarantine::subject_of(&t.connection, people)?;
            quarantine::released(&subject, &t.findings, releases, now)
        };
        let (released, targets): (Vec<Planned>, Vec<Planned>) =
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
}
