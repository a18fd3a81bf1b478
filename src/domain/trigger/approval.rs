//! A person's answer to a request for approval: `{"Approve": {"Request": ID, "RequestedBy": …}}`
//! or `{"Deny": {…}}`. Who answers is only said here (anyone allowed to invoke the function can
//! write it): the command line's `approve` and `deny` answer with the caller's verified AWS
//! identity instead, which no event can.

use crate::domain::json::{At, DecodeError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub request: String,
    pub approve: bool,
    /// Who answered, as said (`RequestedBy`) or, from the command line, as verified.
    pub by: String,
    /// Set only by the command line, from STS: no event can claim it.
    pub verified: bool,
    pub reason: Option<String>,
    /// Where the request ID sits in the event, for errors about it.
    pub request_path: String,
}

const FIELDS: [&str; 3] = ["Request", "RequestedBy", "Reason"];

/// `Some` when the event is an answer (its one member is `Approve` or `Deny`).
pub fn payload(root: &At) -> Option<Result<Answer, DecodeError>> {
    let object = root.value.as_object()?;
    let (key, at) = ["Approve", "Deny"]
        .into_iter()
        .find_map(|k| Some((k, root.get(k)?)))?;
    if let Some(other) = object.keys().find(|k| *k != key) {
        return Some(Err(DecodeError {
            path: format!("event.{other}"),
            message: format!("an answer holds only {key}"),
        }));
    }
    Some(decode(&at, key == "Approve"))
}

fn decode(at: &At, approve: bool) -> Result<Answer, DecodeError> {
    let object = at.value.as_object().ok_or_else(|| {
        at.error(format!(
            "expected an object, found {}",
            crate::domain::json::kind(at.value)
        ))
    })?;
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(DecodeError {
            path: format!("{}.{unknown}", at.path()),
            message: format!("not a field here; expected {}", FIELDS.join(", ")),
        });
    }
    let text = |key: &str| -> Result<Option<(String, String)>, DecodeError> {
        let Some(v) = at.get(key) else {
            return Ok(None);
        };
        let s = v.str()?.trim();
        if s.is_empty() || s.chars().any(char::is_control) {
            return Err(v.error("empty or with control characters"));
        }
        Ok(Some((s.to_owned(), v.path())))
    };
    let (request, request_path) = text("Request")?.ok_or_else(|| at.error("needs Request"))?;
    if !is_request_id(&request) {
        return Err(DecodeError {
            path: request_path,
            message: format!("`{request}` is not a request ID (apr- and 20 hex digits)"),
        });
    }
    let (by, _) = text("RequestedBy")?
        .ok_or_else(|| at.error("needs RequestedBy: who answers is recorded"))?;
    Ok(Answer {
        request,
        approve,
        by,
        verified: false,
        reason: text("Reason")?.map(|(r, _)| r),
        request_path,
    })
}

/// Whether `id` has the shape of a request's ID, so that nothing else reaches the table's key.
pub fn is_request_id(id: &str) -> bool {
    id.strip_prefix("apr-")
        .is_some_and(|hex| hex.len() == 20 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(event: serde_json::Value) -> Result<Answer, DecodeError> {
        payload(&At::root(&event)).expect("an answer")
    }

    #[test]
    fn an_answer_names_a_request_and_who_answers() {
        let id = "apr-0123456789abcdef0123";
        let a = answer(json!({"Approve": {"Request": id, "RequestedBy": "soc"}})).unwrap();
        assert!(a.approve && !a.verified && a.by == "soc" && a.request == id);
        let d = answer(json!({"Deny": {"Request": id, "RequestedBy": "soc", "Reason": "fp"}}));
        assert_eq!(d.unwrap().reason.as_deref(), Some("fp"));
        for (bad, path) in [
            (json!({"Approve": {"Request": id}}), "event.Approve"),
            (
                json!({"Approve": {"Request": "approval#x", "RequestedBy": "a"}}),
                "event.Approve.Request",
            ),
            (
                json!({"Approve": {"Request": id, "RequestedBy": "a", "Verified": true}}),
                "event.Approve.Verified",
            ),
            (
                json!({"Approve": {"Request": id, "RequestedBy": "a"}, "Deny": {}}),
                "event.Deny",
            ),
            (json!({"Approve": "apr-1"}), "event.Approve"),
        ] {
            assert_eq!(answer(bad.clone()).unwrap_err().path, path, "{bad}");
        }
        assert!(payload(&At::root(&json!({"Username": "a"}))).is_none());
    }
}
