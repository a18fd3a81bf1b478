//! The lines people read in an outcome: who was acted on, what was done to them, and why. Pure.

use super::approval::AnswerOutcome;
use super::hold::HoldOutcome;
use super::{Entry, Failure, FindingInfo, HoldEntry, Response};
use crate::domain::text::plain;
use crate::domain::trigger::TriggerSource;
use std::collections::BTreeSet;

/// Names in a one-line summary before the rest are counted.
const NAMES_IN_SUMMARY: usize = 5;

/// The usernames (or, without one, common names) of `entries`, each once, sorted.
pub fn names_of<'a>(entries: impl Iterator<Item = &'a Entry>) -> Vec<String> {
    // Each person once, with the other forms of the name their connections were opened with:
    // `alice (CORP\alice, alice@corp.example.com)`.
    let mut people: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for e in entries {
        let Some(name) = e.username.clone().or_else(|| e.common_name.clone()) else {
            continue;
        };
        let person = e.person.clone().unwrap_or_else(|| name.clone());
        let forms = people.entry(person.clone()).or_default();
        if name != person {
            forms.insert(name);
        }
    }
    people
        .into_iter()
        .map(|(person, forms)| match forms.is_empty() {
            true => person,
            false => format!(
                "{person} ({})",
                forms.into_iter().collect::<Vec<_>>().join(", ")
            ),
        })
        .collect()
}

/// Everyone the invocation acted on or tried to: ended, endable, failed, held.
pub fn names(r: &Response) -> Vec<String> {
    let connections = r
        .terminated
        .iter()
        .chain(&r.unplanned)
        .chain(&r.would_terminate)
        .chain(&r.failed)
        .chain(&r.left_active);
    let held = r
        .quarantine
        .iter()
        .filter(|h| h.outcome != HoldOutcome::NotHeld)
        .map(|h| h.name.clone());
    let mut names = names_of(connections);
    // A hold is on the person's folded name: one already named by a connection is not named again.
    let person = |n: &str| n.split(" (").next().unwrap_or(n).to_lowercase();
    let known: BTreeSet<String> = names.iter().map(|n| person(n)).collect();
    names.extend(held.filter(|h| !known.contains(&h.to_lowercase())));
    names.sort();
    names.dedup();
    names
}

fn listed(names: &[String]) -> String {
    let shown: Vec<String> = names
        .iter()
        .take(NAMES_IN_SUMMARY)
        .map(|n| plain(n))
        .collect();
    match names.len() {
        0 => "no one".into(),
        n if n <= NAMES_IN_SUMMARY => shown.join(", "),
        n => format!("{} and {} more", shown.join(", "), n - NAMES_IN_SUMMARY),
    }
}

pub fn plural(n: usize, one: &str) -> String {
    format!("{n} {one}{}", if n == 1 { "" } else { "s" })
}

/// What was done to whom, in one line.
pub fn summary(r: &Response, failure: Option<&Failure>) -> String {
    let mut parts = Vec::new();
    if r.dry_run {
        parts.push(format!(
            "dry run: would end {} of {}",
            plural(r.would_terminate.len(), "session"),
            listed(&names_of(r.would_terminate.iter()))
        ));
    } else {
        let ended = r.terminated.len() + r.unplanned.len();
        let asked = !r.approval_requests.is_empty() || r.approval.is_some();
        if ended > 0 || (r.quarantine.is_empty() && !asked) {
            parts.push(format!(
                "ended {} of {}",
                plural(ended, "session"),
                listed(&names_of(r.terminated.iter().chain(&r.unplanned)))
            ));
        }
    }
    let holds: Vec<&HoldEntry> = r
        .quarantine
        .iter()
        .filter(|h| h.outcome != HoldOutcome::NotHeld)
        .collect();
    let (released, held): (Vec<&HoldEntry>, Vec<&HoldEntry>) = holds
        .into_iter()
        .partition(|h| h.outcome == HoldOutcome::Released);
    if !held.is_empty() {
        let until = held.iter().filter_map(|h| h.until.as_deref()).max();
        let who: Vec<String> = held.iter().map(|h| h.name.clone()).collect();
        parts.push(format!(
            "quarantined {}{}",
            listed(&who),
            until.map(|u| format!(" until {u}")).unwrap_or_default()
        ));
    }
    if !released.is_empty() {
        let who: Vec<String> = released.iter().map(|h| h.name.clone()).collect();
        parts.push(format!("released {} from quarantine", listed(&who)));
    }
    let faults: Vec<&Entry> = r.failed.iter().chain(&r.left_active).collect();
    if !faults.is_empty() {
        parts.push(format!(
            "{} of {} could not be ended",
            plural(faults.len(), "session"),
            listed(&names_of(faults.into_iter()))
        ));
    }
    if !r.deferred.is_empty() {
        parts.push(format!(
            "{} left for later",
            plural(r.deferred.len(), "session")
        ));
    }
    parts.extend(approvals(r));
    if let Some(f) = failure {
        parts.push(format!("failed ({})", f.kind));
    }
    parts.join("; ")
}

/// What was asked of a person, or what their answer did.
fn approvals(r: &Response) -> Vec<String> {
    let mut parts: Vec<String> = r
        .approval_requests
        .iter()
        .map(|a| {
            format!(
                "asked a person first about {} of {} (until {}): {}",
                plural(a.sessions, "session"),
                listed(&a.people),
                a.asks_until,
                a.approve
            )
        })
        .collect();
    for a in &r.expired_requests {
        parts.push(format!(
            "request {} about {} expired unanswered: nothing was done",
            a.id,
            listed(&a.people)
        ));
    }
    if let Some(a) = &r.approval {
        let by = listed(std::slice::from_ref(&a.by));
        parts.push(match a.outcome {
            AnswerOutcome::Counted => format!(
                "approval {} of {} of request {} by {by}",
                a.approvals, a.needed, a.id
            ),
            AnswerOutcome::CarriedOut => {
                format!("request {} approved by {}", a.id, listed(&a.approved_by))
            }
            AnswerOutcome::Denied => format!("request {} denied by {by}", a.id),
        });
    }
    parts
}

/// The finding that led to what was done (the first one an ended, endable, failed or held entry
/// names), else the event's first: a finding that was skipped does not speak for the others.
pub fn lead(r: &Response) -> Option<&FindingInfo> {
    let acted = r
        .terminated
        .iter()
        .chain(&r.would_terminate)
        .chain(&r.failed)
        .filter_map(|e| e.finding_id.as_deref())
        .chain(r.quarantine.iter().filter_map(|h| h.finding_id.as_deref()))
        .find_map(|id| r.trigger.findings.iter().find(|f| f.id == id));
    acted.or_else(|| r.trigger.findings.first())
}

/// Why, in one line.
pub fn reason(r: &Response) -> String {
    let t = &r.trigger;
    let by = match t.source {
        TriggerSource::Schedule => return "scheduled cleanup of idle and over-age sessions".into(),
        TriggerSource::Direct => "direct request",
        TriggerSource::Okta => "Okta",
        TriggerSource::Quarantine => "quarantine request",
        TriggerSource::Release => "release request",
        TriggerSource::Approve => "a person's approval",
        TriggerSource::Deny => "a person's denial",
        TriggerSource::IdpSignal | TriggerSource::IdentityCenter | TriggerSource::Duplicate => {
            return t.source.as_str().into()
        }
        TriggerSource::GuardDuty
        | TriggerSource::SecurityHubImported
        | TriggerSource::SecurityHubCustomAction
        | TriggerSource::SecurityHubOcsf => {
            let Some(first) = lead(r) else {
                return t.source.as_str().into();
            };
            let kind = first.types.first().map_or("finding".into(), |t| plain(t));
            let rest = t.findings.len() - 1;
            let more = if rest == 0 {
                String::new()
            } else {
                format!(" and {} more", plural(rest, "finding"))
            };
            let action = t
                .action_name
                .as_deref()
                .map(|a| format!(", custom action {}", plain(a)))
                .unwrap_or_default();
            return format!("{kind} ({}{action}){more}", plain(&first.severity_label));
        }
    };
    match &t.reason {
        Some(why) => format!("{by}: {}", plain(why)),
        None => by.into(),
    }
}
