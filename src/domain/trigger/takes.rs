//! What one deployment of the function takes (`CVPN_TAKES`). The main function takes every kind
//! of event. The functions that carry out people's answers take only those, so that the right to
//! invoke one grants nothing else: the answers' own function only answers signed over its
//! `AWS_IAM` Function URL (whose caller Lambda verified), the chat buttons' function only
//! approvals (a chat's answerer is only said, and a denial from a channel the person being cut
//! off may sit in would let them stay).

use super::Trigger;
use crate::domain::signal::Route;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Takes {
    #[default]
    Everything,
    /// `signed-answers`: `POST /approvals` over the Function URL, nothing else.
    SignedAnswers,
    /// `chat-approvals`: `{"Approve": {"Request": ID, "RequestedBy": …}}`, nothing else.
    ChatApprovals,
}

impl Takes {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "everything" => Some(Self::Everything),
            "signed-answers" => Some(Self::SignedAnswers),
            "chat-approvals" => Some(Self::ChatApprovals),
            _ => None,
        }
    }

    /// Why `trigger` is not for this function, or `None` when it is.
    pub fn refuses(self, trigger: &Trigger) -> Option<&'static str> {
        match (self, trigger) {
            (Self::Everything, _) => None,
            (Self::SignedAnswers, Trigger::Signal(r))
                if matches!(r.route, Ok(Route::Answer) | Err((Route::Answer, _))) =>
            {
                None
            }
            // What the URL's answer becomes once its signer is read: no event decodes to it.
            (Self::SignedAnswers, Trigger::Answer(a)) if a.verified => None,
            (Self::SignedAnswers, _) => Some(
                "this function takes only answers signed over its Function URL (POST /approvals)",
            ),
            (Self::ChatApprovals, Trigger::Answer(a)) if a.approve && !a.verified => None,
            (Self::ChatApprovals, _) => Some(
                "this function takes only approvals from chat: {\"Approve\": {\"Request\": ID, \
                 \"RequestedBy\": …}}",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::trigger::decode;
    use serde_json::json;

    fn trigger(event: serde_json::Value) -> Trigger {
        decode(&event).unwrap()
    }

    #[test]
    fn each_answering_function_takes_its_answers_and_nothing_else() {
        let id = "apr-0123456789abcdef0123";
        let approve = trigger(json!({"Approve": {"Request": id, "RequestedBy": "chat"}}));
        let deny = trigger(json!({"Deny": {"Request": id, "RequestedBy": "chat"}}));
        let url = |path: &str| {
            trigger(json!({"version": "2.0", "rawPath": path, "body": "{}",
                "requestContext": {"http": {"method": "POST", "path": path},
                    "authorizer": {"iam": {"userArn": "arn:aws:iam::111122223333:user/lead"}}}}))
        };
        let direct = trigger(json!({"Username": "alice"}));
        let sweep = trigger(json!({"Sweep": {}}));
        for t in [
            &approve,
            &deny,
            &url("/approvals"),
            &url("/ssf/events"),
            &direct,
            &sweep,
        ] {
            assert_eq!(Takes::Everything.refuses(t), None);
        }
        assert_eq!(Takes::SignedAnswers.refuses(&url("/approvals")), None);
        // The URL's answer once its signer is read (no event decodes to a verified answer).
        let signed = Trigger::Answer(crate::domain::trigger::approval::Answer {
            request: id.into(),
            approve: false,
            by: "arn:aws:iam::111122223333:user/lead".into(),
            verified: true,
            reason: None,
            request_path: "event.Deny.Request".into(),
        });
        assert_eq!(Takes::SignedAnswers.refuses(&signed), None);
        assert!(Takes::ChatApprovals.refuses(&signed).is_some());
        for t in [&approve, &deny, &url("/ssf/events"), &direct, &sweep] {
            assert!(Takes::SignedAnswers.refuses(t).is_some(), "{t:?}");
        }
        assert_eq!(Takes::ChatApprovals.refuses(&approve), None);
        for t in [&deny, &url("/approvals"), &direct, &sweep] {
            assert!(Takes::ChatApprovals.refuses(t).is_some(), "{t:?}");
        }
        assert_eq!(Takes::parse("chat-approvals"), Some(Takes::ChatApprovals));
        assert_eq!(Takes::parse("answers"), None);
    }
}
