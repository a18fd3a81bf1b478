//! A person's answer to a request for approval: `{"Approve": {"Request": ID, "RequestedBy": …}}`
//! or `{"Deny": {…}}`. Who answers is only said here (anyone allowed to invoke the function can
//! write it): the command line's `approve` and `deny` answer with the caller's verified AWS
//! identity instead, which no event can, and so does a signed answer over the answers' Function
//! URL ([`signed`]).

use super::request::{known_fields, member, text};
use crate::domain::json::{At, DecodeError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub request: String,
    pub approve: bool,
    /// Who answered, as said (`RequestedBy`) or, from the command line, as verified.
    pub by: String,
    /// Set only by the command line (from STS) and by a signed answer over the answers'
    /// Function URL (from Lambda's IAM auth): no event can claim it.
    pub verified: bool,
    pub reason: Option<String>,
    /// Where the request ID sits in the event, for errors about it.
    pub request_path: String,
}

const FIELDS: [&str; 3] = ["Request", "RequestedBy", "Reason"];
const SIGNED: [&str; 2] = ["Request", "Reason"];

/// `Some` when the event is an answer (its one member is `Approve` or `Deny`).
pub fn payload(root: &At) -> Option<Result<Answer, DecodeError>> {
    let found = member(root, &["Approve", "Deny"], "an answer")?;
    Some(found.and_then(|(key, at)| decode(&at, key == "Approve", None)))
}

/// The body of an answer over the answers' Function URL, `{"Approve": {"Request": ID, "Reason":
/// …}}` or `{"Deny": {…}}`, from `caller`, the identity Lambda verified: no `RequestedBy`, since
/// who answers is the signer.
pub fn signed(body: &At, caller: &str) -> Result<Answer, DecodeError> {
    let (key, at) = member(body, &["Approve", "Deny"], "an answer")
        .unwrap_or_else(|| Err(body.error("expected {\"Approve\": {…}} or {\"Deny\": {…}}")))?;
    decode(&at, key == "Approve", Some(caller))
}

/// An answer's fields; `signer` is the verified caller, when there is one (then `RequestedBy` is
/// not taken).
fn decode(at: &At, approve: bool, signer: Option<&str>) -> Result<Answer, DecodeError> {
    // Who answers is either the signer or said: a signed answer takes no `RequestedBy`.
    known_fields(at, if signer.is_some() { &SIGNED } else { &FIELDS })?;
    let text = |key: &str| text(at, key);
    let (request, request_path) = text("Request")?.ok_or_else(|| at.error("needs Request"))?;
    if !is_request_id(&request) {
        return Err(DecodeError {
            path: request_path,
            message: format!("`{request}` is not a request ID (apr- and 20 hex digits)"),
        });
    }
    let by = match signer {
        Some(caller) => caller.to_owned(),
        None => {
            text("RequestedBy")?
                .ok_or_else(|| at.error("needs RequestedBy: who answers is recorded"))?
                .0
        }
    };
    Ok(Answer {
        request,
        approve,
        by,
        verified: signer.is_some(),
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

    #[test]
    fn a_signed_answer_is_the_signers_and_takes_no_said_name() {
        let id = "apr-0123456789abcdef0123";
        let caller = "arn:aws:iam::111122223333:user/dana";
        let body = json!({"Deny": {"Request": id, "Reason": "false positive"}});
        let a = signed(&At::root(&body), caller).unwrap();
        assert!(!a.approve && a.verified && a.by == caller && a.request == id);
        for bad in [
            json!({"Approve": {"Request": id, "RequestedBy": "someone else"}}),
            json!({"Approve": {"Request": "approval#x"}}),
            json!({"Request": id}),
            json!({"Approve": {"Request": id}, "Deny": {"Request": id}}),
        ] {
            assert!(signed(&At::root(&bad), caller).is_err(), "{bad}");
        }
    }
}
