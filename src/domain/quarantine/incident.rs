//! An incident's holds (`subjects` chooses whom): each made from the findings behind it, and why
//! a certificate is left unheld. Pure.

use super::{placers, Hold, Subject};
use crate::domain::plan::{FindingRef, Origin};

/// Why the certificates an incident saw were not held.
pub fn not_held_because(whole: bool, hold_common_names: bool) -> &'static str {
    if !whole {
        "certificates are held only on the whole picture: places or endpoints could not be listed"
    } else if hold_common_names {
        "shared certificate: connections outside this incident use it"
    } else {
        "certificates are not held (CVPN_HOLD_COMMON_NAMES=never)"
    }
}

/// The hold of `subject` from `now` for `minutes`: named by the first source that chose it, with
/// every finding behind any of them once, and who placed it by those findings.
pub fn hold(
    subject: Subject,
    sources: Vec<(&Origin, Vec<FindingRef>)>,
    now: i64,
    minutes: u32,
) -> Hold {
    let origin = sources[0].0;
    let mut findings: Vec<FindingRef> = Vec::new();
    for f in sources.iter().flat_map(|(_, fs)| fs) {
        if !findings.contains(f) {
            findings.push(f.clone());
        }
    }
    Hold {
        subject,
        since: now,
        until: now + i64::from(minutes) * 60,
        finding_id: origin.finding_id.clone(),
        placed_by: placers(&findings),
        findings,
        reason: reason(origin),
        requested_by: None,
        by_person: false,
    }
}

/// Why an incident held someone, for the item and the people who read it: the request's reason,
/// else the finding's type, else the trigger's source.
fn reason(origin: &Origin) -> String {
    origin
        .reason
        .clone()
        .or_else(|| origin.finding_type.clone())
        .unwrap_or_else(|| origin.source.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::quarantine::SubjectKind;
    use crate::domain::trigger::source::TriggerSource;

    fn finding(id: &str) -> FindingRef {
        FindingRef {
            id: id.into(),
            seen_at: None,
            idp: None,
        }
    }

    #[test]
    fn a_hold_names_its_first_source_and_keeps_every_finding_once() {
        let first = Origin {
            source: TriggerSource::GuardDuty,
            finding_id: Some("f1".into()),
            finding_type: Some("UnauthorizedAccess:IAMUser/X".into()),
            ..Origin::of(TriggerSource::GuardDuty)
        };
        let second = Origin {
            reason: Some("INC-7".into()),
            ..Origin::of(TriggerSource::GuardDuty)
        };
        let subject = Subject {
            kind: SubjectKind::Username,
            name: "amy".into(),
        };
        let sources = vec![
            (&first, vec![finding("f1"), finding("f2")]),
            (&second, vec![finding("f2"), finding("f3")]),
        ];
        let h = hold(subject, sources, 1_000, 30);
        assert_eq!((h.since, h.until), (1_000, 1_000 + 1_800));
        assert_eq!(h.finding_id.as_deref(), Some("f1"));
        assert_eq!(h.reason, "UnauthorizedAccess:IAMUser/X");
        let ids: Vec<&str> = h.findings.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["f1", "f2", "f3"]);
        assert!(!h.by_person && h.requested_by.is_none());
    }

    #[test]
    fn why_a_certificate_is_not_held() {
        assert!(not_held_because(false, true).contains("whole picture"));
        assert!(not_held_because(true, true).starts_with("shared certificate"));
        assert!(not_held_because(true, false).contains("CVPN_HOLD_COMMON_NAMES=never"));
    }
}
