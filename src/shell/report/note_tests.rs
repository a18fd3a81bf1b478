use super::*;
use crate::domain::trigger::TriggerSource;
use crate::domain::trigger::{Evidence, Finding};
use crate::shell::report::HoldEntry;
use crate::shell::report::HoldOutcome;

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
        shown_note: None,
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
        ..Response::of(TriggerSource::GuardDuty)
    };
    let notes = notes(&e, &r, None, &Notify::default());
    assert_eq!(
        notes.len(),
        1,
        "b led to nothing, c has no Security Hub copy"
    );
    assert_eq!(notes[0].finding_id, "a");
    assert_eq!(
        written(&notes[0]),
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
        ..Response::of(TriggerSource::GuardDuty)
    };
    let notes = notes(&e, &r, None, &Notify::default());
    assert!(written(&notes[0])
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
        ..Response::of(TriggerSource::GuardDuty)
    };
    let cap = Failure {
        kind: "CapExceeded".into(),
        message: "refused: … cvpn-connection-… of other findings …".into(),
    };
    let notes = notes(&e, &r, Some(&cap), &Notify::default());
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].finding_id, "a");
    assert!(
        !written(&notes[0]).contains("cvpn-connection"),
        "{}",
        written(&notes[0])
    );
    assert_eq!(notes[0].workflow, None);
}

#[test]
fn a_long_note_is_cut_to_what_security_hub_keeps() {
    let e = event(FindingSource::SecurityHubImported, vec![finding("a", true)]);
    let r = Response {
        terminated: (0..100).map(|n| ended(n, "a")).collect(),
        ..Response::of(TriggerSource::GuardDuty)
    };
    let notes = notes(&e, &r, None, &Notify::default());
    assert!(written(&notes[0]).len() <= MAX_NOTE && written(&notes[0]).len() > MAX_NOTE - 8);
    assert!(written(&notes[0]).ends_with(" [cvpn-terminator k]"));
}

#[test]
fn guardduty_findings_are_noted_only_when_asked() {
    let e = event(FindingSource::GuardDuty, vec![finding("a", true)]);
    let mut r = Response {
        terminated: vec![ended(1, "a")],
        ..Response::of(TriggerSource::GuardDuty)
    };
    assert!(notes(&e, &r, None, &Notify::default()).is_empty());
    let asked = Notify {
        guardduty_notes: true,
        ..Notify::default()
    };
    assert_eq!(notes(&e, &r, None, &asked).len(), 1);
    r.dry_run = true;
    assert!(notes(&e, &r, None, &asked).is_empty());
}

/// The note written on a finding that had none.
fn written(note: &Note) -> String {
    note.beside(None).expect("a note to write")
}

/// The note written beside `existing`, if any is written.
fn noted(existing: Option<ExistingNote>, r: &Response) -> Option<Option<String>> {
    let e = event(FindingSource::SecurityHubImported, vec![finding("a", true)]);
    let n = notes(&e, r, None, &Notify::default());
    n.first().map(|n| n.beside(existing.as_ref()))
}

fn theirs(text: &str) -> Option<ExistingNote> {
    Some(ExistingNote {
        text: text.into(),
        by: "arn:aws:iam::111122223333:user/analyst".into(),
    })
}

#[test]
fn a_persons_note_is_kept_and_ours_follows_it() {
    let r = Response {
        terminated: vec![ended(1, "a")],
        ..Response::of(TriggerSource::GuardDuty)
    };
    let first = noted(
        theirs("Looked at this with Dana: real, escalate to IR."),
        &r,
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        first,
        "Looked at this with Dana: real, escalate to IR.\n\ncvpn-terminator ended 1 Client VPN session of alice (cvpn-connection-00000000000000001). [cvpn-terminator k]"
    );
    // On our own note later, their words before it stay and ours is replaced.
    let ours = Some(ExistingNote {
        text: first,
        by: NOTE_AUTHOR.into(),
    });
    let again = Response {
        terminated: vec![ended(2, "a")],
        ..Response::of(TriggerSource::GuardDuty)
    };
    let second = noted(ours, &again).unwrap().unwrap();
    assert!(second.starts_with("Looked at this with Dana: real, escalate to IR.\n\ncvpn-terminator ended 1 Client VPN session of alice (cvpn-connection-00000000000000002)."));
    assert_eq!(second.matches("cvpn-terminator ended").count(), 1);
    // A note of ours alone is replaced whole.
    let alone = Some(ExistingNote {
        text: "cvpn-terminator ended 3 sessions. [cvpn-terminator k]".into(),
        by: NOTE_AUTHOR.into(),
    });
    assert!(noted(alone, &again)
        .unwrap()
        .unwrap()
        .starts_with("cvpn-terminator ended 1"));
}

#[test]
fn a_persons_long_note_is_left_alone_and_ours_is_kept_aside() {
    let r = Response {
        terminated: vec![ended(1, "a")],
        ..Response::of(TriggerSource::GuardDuty)
    };
    let long = "x".repeat(MAX_NOTE - 40);
    assert_eq!(noted(theirs(&long), &r), Some(None));
    let e = event(FindingSource::SecurityHubImported, vec![finding("a", true)]);
    let n = &notes(&e, &r, None, &Notify::default())[0];
    assert!(n
        .ours
        .starts_with("cvpn-terminator ended 1 Client VPN session"));
    assert_eq!(n.workflow, Some(Workflow::Notified));
    // With room for some of ours, ours is cut and theirs kept whole.
    let some = "y".repeat(MAX_NOTE - 150);
    let text = noted(theirs(&some), &r).unwrap().unwrap();
    assert!(text.starts_with(&some) && text.len() <= MAX_NOTE);
    assert!(text.ends_with(" [cvpn-terminator k]"));
}

#[test]
fn a_run_that_changed_nothing_writes_no_note() {
    let kept = HoldEntry {
        kind: crate::domain::quarantine::SubjectKind::Username,
        name: "alice".into(),
        outcome: HoldOutcome::Kept,
        until: None,
        finding_id: Some("a".into()),
        reason: None,
        requested_by: None,
    };
    let r = Response {
        skipped: vec![Entry {
            reason: Some(Reason::AlreadyEnded),
            ..ended(1, "a")
        }],
        quarantine: vec![kept.clone()],
        ..Response::of(TriggerSource::GuardDuty)
    };
    assert_eq!(noted(theirs("mine"), &r), None);
    let placed = Response {
        quarantine: vec![HoldEntry {
            outcome: HoldOutcome::Placed,
            ..kept
        }],
        ..r
    };
    assert!(noted(None, &placed)
        .unwrap()
        .unwrap()
        .contains("1 session already ended"));
}

#[test]
fn a_finding_set_aside_for_a_person_says_how_to_answer_and_keeps_its_workflow() {
    use crate::shell::report::approval::AskedEntry;
    let e = event(
        FindingSource::SecurityHubImported,
        vec![finding("a", true), finding("b", true)],
    );
    let asked = AskedEntry {
        id: "apr-0123456789abcdef0123".into(),
        why: vec!["below".into()],
        people: vec!["alice".into()],
        people_count: 1,
        sessions: 2,
        asks_until: "2026-12-07T15:00:00+00:00".into(),
        approvals_required: 1,
        approve: "cvpn-terminator approve apr-0123456789abcdef0123".into(),
        deny: "cvpn-terminator deny apr-0123456789abcdef0123".into(),
        stored: true,
        finding_ids: vec!["a".into()],
    };
    let r = Response {
        approval_requests: vec![asked.clone()],
        ..Response::of(TriggerSource::GuardDuty)
    };
    let told = notes(&e, &r, None, &Notify::default());
    assert_eq!(told.len(), 1, "b was neither acted on nor asked about");
    assert!(written(&told[0]).contains("asked a person first, until 2026-12-07T15:00:00+00:00: cvpn-terminator approve apr-0123456789abcdef0123"));
    assert_eq!(told[0].workflow, None);
    // A request that could not be stored is no request: the note does not point at it.
    let unstored = Response {
        approval_requests: vec![AskedEntry {
            stored: false,
            ..asked
        }],
        ..Response::of(TriggerSource::GuardDuty)
    };
    assert!(notes(&e, &unstored, None, &Notify::default()).is_empty());
}
