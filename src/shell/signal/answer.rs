//! `POST /approvals` on the answers' own Function URL (`AWS_IAM`, `CVPN_ANSWER_URL`): a person's
//! answer to a request for approval, signed with SigV4. Lambda checks the signature and names the
//! caller in the request context, which a client cannot write; the caller counts as a verified
//! answerer, as the command line's STS identity does. The answer is carried out as any other
//! (`shell/approval/answer.rs`) and answered over HTTP: `200` with what it did, `409` when the
//! request's state refuses it, `400` for a body that is not an answer, `403` unsigned.

use super::refused;
use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::Stores;
use crate::domain::json::At;
use crate::domain::signal::refusal::{HttpAnswer, Refusal, Why};
use crate::domain::signal::{Request, Route};
use crate::domain::trigger::approval::signed;
use crate::domain::trigger::Trigger;
use crate::shell::app::{App, HandlerError};
use serde_json::{json, Value};

impl<A, S> App<A, S>
where
    A: ClientVpnApi,
    S: Stores,
{
    /// Carries out a signed answer, or says why not.
    pub(super) async fn signed_answer(&self, request: &Request) -> HttpAnswer {
        let refuse = |why, detail: String| refused(Route::Answer, &Refusal::new(why, detail));
        if !self.config.ask.answers_over_url {
            return refuse(
                Why::NotFound,
                "answers are taken over the answers' own Function URL only (CVPN_ANSWER_URL)"
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
        let max = self.config.tell.response_max_items;
        match self.handle_trigger(Trigger::Answer(answer)).await {
            Ok(response) => HttpAnswer::json(
                200,
                serde_json::to_value(response.bounded(max)).expect("responses serialize"),
            ),
            // Denied, expired, carried out, the subject's own, no such request: nothing changed.
            Err(HandlerError::BadEvent(e)) => {
                refuse(Why::Refused, format!("{}: {}", e.path, e.message))
            }
            Err(e) => HttpAnswer::json(
                500,
                json!({"error": e.kind(), "description": e.to_string()}),
            ),
        }
    }
}
