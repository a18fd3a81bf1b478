//! `POST /approvals` on the answers' own Function URL (`AWS_IAM`, `CVPN_TAKES=signed-answers`):
//! a person's answer to a request for approval, signed with SigV4. Lambda checks the signature and
//! names the caller in the request context, which an HTTP client cannot write; the caller counts
//! as a verified answerer, as the command line's STS identity does. (A direct invocation could
//! write that context: docs/approvals.md "Signed answers over a URL" says whom to deny it.) The answer is
//! carried out as any other (`shell/approval/answer.rs`) and answered over HTTP: `200` with what
//! it did, `409` when the request's state refuses it, `422` over the cap it showed, `400` for a
//! body that is not an answer, `403` unsigned, `503` while another invocation acts on it, `500`
//! (with what was done) when carrying it out failed part way.

use super::refused;
use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::Stores;
use crate::domain::json::At;
use crate::domain::signal::refusal::{HttpAnswer, Refusal, Why};
use crate::domain::signal::{Request, Route};
use crate::domain::trigger::approval::signed;
use crate::domain::trigger::takes::Takes;
use crate::domain::trigger::Trigger;
use crate::shell::app::{App, HandlerError};
use crate::shell::handler::Invoked;
use serde_json::{json, Value};

impl<A, S> App<A, S>
where
    A: ClientVpnApi,
    S: Stores,
{
    /// Carries out a signed answer within the invocation's time, or says why not.
    pub(super) async fn signed_answer(
        &self,
        request: &Request,
        invoked: Invoked<'_>,
    ) -> HttpAnswer {
        let refuse = |why, detail: String| refused(Route::Answer, &Refusal::new(why, detail));
        if self.config.takes != Takes::SignedAnswers {
            return refuse(
                Why::NotFound,
                "answers are taken over the answers' own Function URL only \
                 (CVPN_TAKES=signed-answers)"
                    .into(),
            );
        }
        // Behind an AWS_IAM URL Lambda always names the caller; without one nobody signed.
        let Some(caller) = &request.caller else {
            return refuse(
                Why::Unsigned,
                "no verified caller: sign the request with SigV4 (the URL's AuthType is AWS_IAM)"
                    .into(),
            );
        };
        let body: Value = match serde_json::from_slice(&request.body) {
            Ok(body) => body,
            Err(e) => return refuse(Why::Malformed, format!("the body is not JSON: {e}")),
        };
        let answer = match signed(&At::root(&body), caller) {
            Ok(answer) => answer,
            Err(e) => return refuse(Why::Malformed, format!("{}: {}", e.path, e.message)),
        };
        let max = self.config.notify.response_max_items;
        let done = |status, response: &crate::shell::report::Response, extra: Value| {
            let mut body =
                serde_json::to_value(response.clone().bounded(max)).expect("responses serialize");
            if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
                b.extend(e);
            }
            HttpAnswer::json(status, body)
        };
        match self
            .report(Ok(Trigger::Answer(answer)), None, invoked)
            .await
        {
            Ok(response) => done(200, &response, json!({})),
            // Denied, expired, carried out, the subject's own, no such request: nothing changed.
            Err(HandlerError::BadEvent(e)) => {
                refuse(Why::Refused, format!("{}: {}", e.path, e.message))
            }
            Err(HandlerError::InProgress { .. }) => refuse(
                Why::InProgress,
                "another invocation is acting on this request now".into(),
            ),
            Err(e) => {
                let status = match e {
                    HandlerError::CapExceeded { .. } => 422,
                    _ => 500,
                };
                let error = json!({"error": e.kind(), "description": e.to_string()});
                match e.response() {
                    Some(response) => done(status, response, error),
                    None => HttpAnswer::json(status, error),
                }
            }
        }
    }
}
