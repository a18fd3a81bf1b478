//! The note a Security Hub finding gets: what was ended, what was quarantined and until when, and
//! whether the finding's workflow moves on. Pure.

use super::hold::HoldOutcome;
use super::lines::{names_of, plain, plural};
use super::outcome::Failure;
use super::{Entry, Response};
use crate::domain::model::{clip, Reason};
use crate::domain::trigger::own_note::note_marker;
use crate::domain::trigger::{FindingEvent, FindingSource, SecurityHubRef};
use crate::shell::config::{Tell, Workflow};
use std::collections::BTreeSet;

/// Security Hub keeps at most 512 characters of a note.
pub const MAX_NOTE: usize = 512;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The finding's ID as the event gave it.
    pub finding_id: String,
    pub finding: SecurityHubRef,
    pub text: String,
    /// Set only when everything the finding asked for was done.
    pub workflow: Option<Workflow>,
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
    let holds: Vec<_> = r
        .quarantine
        .iter()
        .filter(|h| h.finding_id.as_deref() == Some(id) && h.outcome != HoldOutcome::NotHeld)
        .collect();
    let mut parts = Vec::new();
    if !ended.is_empty() {
        let connections: Vec<&str> = ended
            .iter()
            .filter_map(|e| e.connection_id.as_deref())
            .collect();
        parts.push(format!(
            "ended {} of {} ({})",
            plural(ended.len(), "Client VPN session"),
            names_of(ended.iter().copied())
                .iter()
                .map(|n| plain(n))
                .collect::<Vec<_>>()
                .join(", "),
            connections.join(", ")
        ));
    }
    if !holds.is_empty() {
        let held: Vec<String> = holds
            .iter()
            .map(|h| match &h.until {
                Some(until) => format!("{} {} until {until}", h.kind.as_str(), plain(&h.name)),
                None => format!("{} {}", h.kind.as_str(), plain(&h.name)),
            })
            .collect();
        parts.push(format!("quarantined {}", held.join(", ")));
    }
    if before > 0 {
        parts.push(format!("{} already ended", plural(before, "session")));
    }
    if !faults.is_empty() {
        let codes: BTreeSet<String> = faults
            .iter()
            .map(|e| {
                e.error_code
                    .clone()
                    .or_else(|| e.reason.map(|r| r.as_str().to_owned()))
                    .unwrap_or_else(|| "unknown".into())
            })
            .collect();
        parts.push(format!(
            "{} not ended yet ({})",
            plural(faults.len(), "session"),
            codes.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    // A refusal by the cap is every finding's; another finding's fault is not this one's.
    if let Some(f) = failure.filter(|f| f.kind == "CapExceeded" || !faults.is_empty()) {
        parts.push(failed(f));
    }
    if parts.is_empty() {
        return None;
    }
    let complete = failure.is_none() && faults.is_empty();
    Some((format!("cvpn-terminator {}.", parts.join("; ")), complete))
}

/// The notes an incident's findings get: none on a dry run or with notes off; GuardDuty's
/// findings (through their Security Hub copies) only with `CVPN_SECURITYHUB_NOTES`; only
/// findings something was done for, or tried and failed.
pub fn notes(
    event: &FindingEvent,
    r: &Response,
    failure: Option<&Failure>,
    tell: &Tell,
) -> Vec<Note> {
    if r.dry_run
        || !tell.finding_notes
        || (event.source == FindingSource::GuardDuty && !tell.guardduty_notes)
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
            // The marker stays whole: it is how Security Hub's event for this note is known.
            let body = clip(&text, MAX_NOTE - marker.len() - 1);
            Some(Note {
                finding_id: f.id.clone(),
                finding,
                text: format!("{body} {marker}"),
                workflow: tell.workflow.filter(|_| complete),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::trigger::{Evidence, Finding};

    fn finding(id: &str, securityhub: bool) -> Finding {
        Finding {
            id: id.into(),
            types: vec![],
            severity: 8.0,
            severity_label: "HIGH".into(),
            closed: None,
            product: None,
            account: None,
            region: None,
            evidence: Evidence::default(),
            own_note: None,
            note_key: securityhub.then(|| "k".into()),
            posture: None,
            securityhub: securityhub.then(|| SecurityHubRef {
                id: id.into(),
                product_arn: "arn:aws:securityhub:eu-west-1::product/aws/guardduty".into(),
            }),
        }
    }

    fn event(source: FindingSource, findings: Vec<Finding>) -> FindingEvent {
        FindingEvent {
            source,
            action_name: None,
            findings,
            bad: vec![],
            time: None,
        }
    }

    fn ended(n: usize, finding: &str) -> Entry {
        Entry {
            connection_id: Some(format!("cvpn-connection-{n:017x}")),
            username: Some("alice".into()),
            finding_id: Some(finding.into()),
            ..Entry::default()
        }
    }

    #[test]
    fn each_finding_is_told_only_what_it_led_to() {
        let e = event(
            FindingSource::SecurityHubImported,
            vec![finding("a", true), finding("b", true), finding("c", false)],
        );
        let r = Response {
            terminated: vec![ended(1, "a"), ended(2, "c")],
            ..Response::default()
        };
        let notes = notes(&e, &r, None, &Tell::default());
        assert_eq!(
            notes.len(),
            1,
            "b led to nothing, c has no Security Hub copy"
        );
        assert_eq!(notes[0].finding_id, "a");
        assert_eq!(
            notes[0].text,
            "cvpn-terminator ended 1 Client VPN session of alice (cvpn-connection-00000000000000001). [cvpn-terminator k]"
        );
        assert_eq!(notes[0].workflow, Some(Workflow::Notified));
    }

    #[test]
    fn a_finding_not_fully_acted_on_keeps_its_workflow() {
        let e = event(
            FindingSource::SecurityHubCustomAction,
            vec![finding("a", true)],
        );
        let r = Response {
            terminated: vec![ended(1, "a")],
            failed: vec![Entry {
                error_code: Some("InternalError".into()),
                ..ended(2, "a")
            }],
            ..Response::default()
        };
        let notes = notes(&e, &r, None, &Tell::default());
        assert!(notes[0]
            .text
            .ends_with("; 1 session not ended yet (InternalError). [cvpn-terminator k]"));
        assert_eq!(notes[0].workflow, None);
    }

    #[test]
    fn a_finding_set_aside_is_told_nothing_even_when_the_invocation_fails() {
        let e = event(
            FindingSource::SecurityHubCustomAction,
            vec![finding("a", true), finding("low", true)],
        );
        let r = Response {
            skipped: vec![Entry {
                finding_id: Some("low".into()),
                reason: Some(Reason::BelowSeverity),
                ..Entry::default()
            }],
            ..Response::default()
        };
        let cap = Failure {
            kind: "CapExceeded".into(),
            message: "refused: … cvpn-connection-… of other findings …".into(),
        };
        let notes = notes(&e, &r, Some(&cap), &Tell::default());
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].finding_id, "a");
        assert!(
            !notes[0].text.contains("cvpn-connection"),
            "{}",
            notes[0].text
        );
        assert_eq!(notes[0].workflow, None);
    }

    #[test]
    fn a_long_note_is_cut_to_what_security_hub_keeps() {
        let e = event(FindingSource::SecurityHubImported, vec![finding("a", true)]);
        let r = Response {
            terminated: (0..100).map(|n| ended(n, "a")).collect(),
            ..Response::default()
        };
        let notes = notes(&e, &r, None, &Tell::default());
        assert!(notes[0].text.len() <= MAX_NOTE && notes[0].text.len() > MAX_NOTE - 8);
        assert!(notes[0].text.ends_with(" [cvpn-terminator k]"));
    }

    #[test]
    fn guardduty_findings_are_noted_only_when_asked() {
        let e = event(FindingSource::GuardDuty, vec![finding("a", true)]);
        let mut r = Response {
            terminated: vec![ended(1, "a")],
            ..Response::default()
        };
        assert!(notes(&e, &r, None, &Tell::default()).is_empty());
        let asked = Tell {
            guardduty_notes: true,
            ..Tell::default()
        };
        assert_eq!(notes(&e, &r, None, &asked).len(), 1);
        r.dry_run = true;
        assert!(notes(&e, &r, None, &asked).is_empty());
    }
}
