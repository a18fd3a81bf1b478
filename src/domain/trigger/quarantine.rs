//! A person's change to the quarantine: `{"Quarantine": {"Username" | "CommonName": …, "Minutes":
//! …, "Reason": …, "RequestedBy": …}}` or `{"Release": {"Username" | "CommonName": …,
//! "RequestedBy": …}}`. The CLI's `quarantine add | release` sends the same.

use super::request::{known_fields, member, text};
use crate::domain::json::{At, DecodeError};
use crate::domain::quarantine::SubjectKind;
use crate::domain::quarantine::MAX_QUARANTINE_MINUTES;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// `None`: `CVPN_QUARANTINE_MINUTES`.
    Hold {
        minutes: Option<u32>,
    },
    Release,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuarantineRequest {
    pub change: Change,
    pub kind: SubjectKind,
    /// As given; folded when stored.
    pub name: String,
    pub reason: Option<String>,
    pub requested_by: Option<String>,
    /// Where the name sits in the event, for errors about it.
    pub name_path: String,
}

const HOLD_FIELDS: [&str; 5] = ["Username", "CommonName", "Minutes", "Reason", "RequestedBy"];
const RELEASE_FIELDS: [&str; 4] = ["Username", "CommonName", "Reason", "RequestedBy"];

/// `Some` when the event is a quarantine change (its one member is `Quarantine` or `Release`).
pub fn payload(root: &At) -> Option<Result<QuarantineRequest, DecodeError>> {
    let found = member(root, &["Quarantine", "Release"], "a quarantine change")?;
    Some(found.and_then(|(key, at)| decode(&at, key == "Quarantine")))
}

fn decode(at: &At, hold: bool) -> Result<QuarantineRequest, DecodeError> {
    known_fields(at, if hold { &HOLD_FIELDS } else { &RELEASE_FIELDS })?;
    let text = |key: &str| text(at, key);
    let (kind, (name, name_path)) = match (text("Username")?, text("CommonName")?) {
        (Some(u), None) => (SubjectKind::Username, u),
        (None, Some(c)) => (SubjectKind::CommonName, c),
        (Some(_), Some(_)) => return Err(at.error("give Username or CommonName, not both")),
        (None, None) => return Err(at.error("needs Username or CommonName")),
    };
    let change = if hold {
        let minutes = match at.get("Minutes") {
            None => None,
            Some(v) => Some(
                v.value
                    .as_u64()
                    .filter(|m| (1..=u64::from(MAX_QUARANTINE_MINUTES)).contains(m))
                    .ok_or_else(|| {
                        v.error(format!(
                            "expected a whole number of minutes from 1 to {MAX_QUARANTINE_MINUTES}"
                        ))
                    })? as u32,
            ),
        };
        Change::Hold { minutes }
    } else {
        Change::Release
    };
    Ok(QuarantineRequest {
        change,
        kind,
        name,
        reason: text("Reason")?.map(|(r, _)| r),
        requested_by: text("RequestedBy")?.map(|(r, _)| r),
        name_path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::trigger::{decode as decode_event, Trigger};
    use serde_json::json;

    fn decode(v: serde_json::Value) -> Result<Trigger, DecodeError> {
        decode_event(&v)
    }

    #[test]
    fn holds_and_releases() {
        let Trigger::Quarantine(q) = decode(json!({"Quarantine": {"Username": " alice ",
            "Minutes": 60, "Reason": "INC-7", "RequestedBy": "soc@example.com"}}))
        .unwrap() else {
            panic!()
        };
        assert_eq!(q.change, Change::Hold { minutes: Some(60) });
        assert_eq!((q.kind, q.name.as_str()), (SubjectKind::Username, "alice"));
        assert_eq!(q.name_path, "event.Quarantine.Username");
        let Trigger::Quarantine(r) =
            decode(json!({"Release": {"CommonName": "laptop-9.vpn.example.com"}})).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (r.change, r.kind),
            (Change::Release, SubjectKind::CommonName)
        );
    }

    #[test]
    fn bad_changes_name_the_field() {
        for (event, path) in [
            (
                json!({"Quarantine": {"Username": "a", "Minutes": 0}}),
                "event.Quarantine.Minutes",
            ),
            (
                json!({"Quarantine": {"Username": "a", "Minutes": 1.5}}),
                "event.Quarantine.Minutes",
            ),
            (
                json!({"Quarantine": {"Username": "a", "Minutes": 525601}}),
                "event.Quarantine.Minutes",
            ),
            (
                json!({"Release": {"Username": "a", "Minutes": 5}}),
                "event.Release.Minutes",
            ),
            (
                json!({"Quarantine": {"Username": "a", "CommonName": "b"}}),
                "event.Quarantine",
            ),
            (json!({"Quarantine": {}}), "event.Quarantine"),
            (
                json!({"Quarantine": {"Username": ""}}),
                "event.Quarantine.Username",
            ),
            (
                json!({"Quarantine": {"Username": "a\nb"}}),
                "event.Quarantine.Username",
            ),
            (
                json!({"Quarantine": {"Username": "a"}, "DryRun": true}),
                "event.DryRun",
            ),
            (json!({"Release": "alice"}), "event.Release"),
        ] {
            let e = decode(event.clone()).unwrap_err();
            assert_eq!(e.path, path, "{event}: {e}");
        }
    }
}
