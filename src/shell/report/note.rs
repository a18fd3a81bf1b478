//! The note a Security Hub finding gets: what was ended, what was quarantined and until when, and
//! whether the finding's workflow moves on. A finding keeps one note, so a note people wrote is
//! never replaced: ours is added after their words when both fit in what Security Hub keeps, and
//! otherwise their note is left as it is and ours is told in the log line and the response
//! (`NoteKept`). A run that changed nothing (the same sessions ended before, a hold only kept)
//! writes no note. Pure.

use super::lines::{names_of, plural};
use super::{Entry, Failure, HoldEntry, Response};
use crate::domain::model::{clip, Reason};
use crate::domain::text::plain;
use crate::domain::trigger::own_note::note_marker;
use crate::domain::trigger::{
    ExistingNote, FindingEvent, FindingSource, SecurityHubRef, NOTE_AUTHOR,
};
use crate::shell::config::{Notify, Workflow};
use std::collections::BTreeSet;

/// Security Hub keeps at most 512 characters of a note (`NoteUpdate.Text`); counted here in
/// bytes, which are never fewer.
pub const MAX_NOTE: usize = 512;
/// Between the words people wrote and ours.
const AFTER_THEIRS: &str = "\n\n";
/// The least of ours worth adding after people's words; with less room their note is left alone.
const LEAST_OF_OURS: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The finding's ID as the event gave it.
    pub finding_id: String,
    pub finding: SecurityHubRef,
    /// What we say, written beside the note the finding has when it is written ([`Note::beside`]).
    pub ours: String,
    /// How our notes on this finding end (`own_note::note_marker`).
    pub marker: String,
    /// The note as the event showed it (`Finding::shown_note`), written beside when the note as
    /// it is now cannot be read; `None`: the event never shows it, and no note is written then.
    pub shown: Option<Option<ExistingNote>>,
    /// Set only when everything the finding asked for was done.
    pub workflow: Option<Workflow>,
}

impl Note {
    /// The note to write beside `existing`, the note the finding carries now (read just before,
    /// since an analyst may have written since the event); `None`: theirs is left as it is.
    pub fn beside(&self, existing: Option<&ExistingNote>) -> Option<String> {
        compose(existing, &self.ours, &self.marker)
    }
}

/// The note to write: what people wrote (on a note of ours, what they had written before it),
/// then ours, cut to what is left; the marker stays whole, since it is how Security Hub's event
/// for this note is known. `None` when neither ours whole nor [`LEAST_OF_OURS`] of it would fit
/// beside their words.
fn compose(existing: Option<&ExistingNote>, ours: &str, marker: &str) -> Option<String> {
    let theirs = match existing {
        None => "",
        Some(n) if n.by == NOTE_AUTHOR => {
            let start = format!("{AFTER_THEIRS}{NOTE_AUTHOR} ");
            n.text.rfind(&start).map_or("", |at| &n.text[..at])
        }
        Some(n) => n.text.as_str(),
    };
    if theirs.trim().is_empty() {
        return Some(format!(
            "{} {marker}",
            clip(ours, MAX_NOTE - marker.len() - 1)
        ));
    }
    let room = MAX_NOTE
        .checked_sub(theirs.len() + AFTER_THEIRS.len() + marker.len() + 1)
        .filter(|room| *room >= ours.len().min(LEAST_OF_OURS))?;
    Some(format!(
        "{theirs}{AFTER_THEIRS}{} {marker}",
        clip(ours, room)
    ))
}

/// Whether the finding was set aside before matching (closed, untrusted, below the bar, out of
/// scope, Security Hub's echo of a note): it led to nothing, so it is told nothing.
fn set_aside(r: &Response, id: &str) -> bool {
    r.skipped.iter().any(|e| {
        e.finding_id.as_deref() == Some(id)
            && e.connection_id.is_none()
            && e.reason.is_some_and(|reason| {
                matches!(
                    reason,
                    Reason::FindingClosed
                        | Reason::UntrustedProduct
                        | Reason::BelowSeverity
                        | Reason::TypeDenied
                        | Reason::TypeNotAllowed
                        | Reason::OutOfScope
                        | Reason::OwnNote
                )
            })
    })
}

/// What a failed invocation means for a finding, without other findings' details.
fn failed(f: &Failure) -> String {
    match f.kind.as_str() {
        "CapExceeded" => {
            "refused it: more connections matched than CVPN_MAX_TERMINATIONS allows, so nothing was ended".into()
        }
        kind => format!("did not finish ({kind}); Lambda retries it"),
    }
}

fn text(r: &Response, id: &str, failure: Option<&Failure>) -> Option<(String, bool)> {
    if set_aside(r, id) {
        return None;
    }
    let mine = |e: &&Entry| e.finding_id.as_deref() == Some(id);
    let ended: Vec<&Entry> = r.terminated.iter().filter(mine).collect();
    // Ended by an earlier attempt of the same invocation (Lambda's retry): the note replaces that
    // attempt's, so it says so.
    let before = r
        .skipped
        .iter()
        .filter(mine)
        .filter(|e| e.reason == Some(Reason::AlreadyEnded))
        .count();
    let faults: Vec<&Entry> = r
        .failed
        .iter()
        .chain(&r.left_active)
        .chain(&r.deferred)
        .filter(mine)
        .collect();
    let holds: Vec<&HoldEntry> = r
        .quarantine
        .iter()
        .filter(|h| h.finding_id.as_deref() == Some(id) && h.outcome.changed())
        .collect();
    let mut parts = Vec::new();
    if !ended.is_empty() {
        parts.push(ended_part(&ended));
    }
    if !holds.is_empty() {
        parts.push(held_part(&holds));
    }
    // A refusal by the cap is every finding's; another finding's fault is not this one's.
    let told = failure.filter(|f| f.kind == "CapExceeded" || !faults.is_empty());
    // The same sessions ended before and a hold only kept: nothing new to say.
    let news = !(ended.is_empty() && holds.is_empty() && faults.is_empty() && told.is_none());
    if before > 0 && news {
        parts.push(format!("{} already ended", plural(before, "session")));
    }
    if !faults.is_empty() {
        parts.push(faults_part(&faults));
    }
    if let Some(f) = told {
        parts.push(failed(f));
    }
    // Set aside for a person: nothing was done yet, and the note says how to answer.
    let asked = r
        .approval_requests
        .iter()
        .filter(|a| a.stored && a.finding_ids.iter().any(|f| f == id));
    for a in asked {
        parts.push(format!(
            "asked a person first, until {}: {} (or {})",
            a.asks_until, a.approve, a.deny
        ));
    }
    if parts.is_empty() {
        return None;
    }
    let waits = r
        .approval_requests
        .iter()
        .any(|a| a.finding_ids.iter().any(|f| f == id));
    let complete = failure.is_none() && faults.is_empty() && !waits;
    Some((format!("cvpn-terminator {}.", parts.join("; ")), complete))
}

/// "ended N Client VPN sessions of PEOPLE (IDS)".
fn ended_part(ended: &[&Entry]) -> String {
    let connections: Vec<&str> = ended
        .iter()
        .filter_map(|e| e.connection_id.as_deref())
        .collect();
    format!(
        "ended {} of {} ({})",
        plural(ended.len(), "Client VPN session"),
        names_of(ended.iter().copied())
            .iter()
            .map(|n| plain(n))
            .collect::<Vec<_>>()
            .join(", "),
        connections.join(", ")
    )
}

/// "quarantined KIND NAME until WHEN, …".
fn held_part(holds: &[&HoldEntry]) -> String {
    let held: Vec<String> = holds
        .iter()
        .map(|h| match &h.until {
            Some(until) => format!("{} {} until {until}", h.kind.as_str(), plain(&h.name)),
            None => format!("{} {}", h.kind.as_str(), plain(&h.name)),
        })
        .collect();
    format!("quarantined {}", held.join(", "))
}

/// "N sessions not ended yet (CODES)".
fn faults_part(faults: &[&Entry]) -> String {
    let codes: BTreeSet<String> = faults
        .iter()
        .map(|e| {
            e.error_code
                .clone()
                .or_else(|| e.reason.map(|r| r.as_str().to_owned()))
                .unwrap_or_else(|| "unknown".into())
        })
        .collect();
    format!(
        "{} not ended yet ({})",
        plural(faults.len(), "session"),
        codes.into_iter().collect::<Vec<_>>().join(", ")
    )
}

/// The notes an incident's findings get: none on a dry run or with notes off; GuardDuty's
/// findings (through their Security Hub copies) only with `CVPN_SECURITYHUB_NOTES`; only
/// findings something was done for, or tried and failed.
pub fn notes(
    event: &FindingEvent,
    r: &Response,
    failure: Option<&Failure>,
    notify: &Notify,
) -> Vec<Note> {
    if r.dry_run
        || !notify.finding_notes
        || (event.source == FindingSource::GuardDuty && !notify.guardduty_notes)
    {
        return Vec::new();
    }
    event
        .findings
        .iter()
        .filter_map(|f| {
            let finding = f.securityhub.clone()?;
            let marker = note_marker(f.note_key.as_deref()?);
            let (text, complete) = text(r, &f.id, failure)?;
            Some(Note {
                finding_id: f.id.clone(),
                finding,
                ours: text,
                marker,
                shown: f.shown_note.clone(),
                workflow: notify.workflow.filter(|_| complete),
            })
        })
        .collect()
}

#[cfg(test)]
#[path = "note_tests.rs"]
mod tests;
