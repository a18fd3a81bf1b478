//! `approve ID` and `deny ID`: a person's answer to a request for approval, as the caller's AWS
//! identity (STS `GetCallerIdentity`), which counts as verified where an event's `RequestedBy`
//! is only said.

use crate::common::{caller, options, printed, value};
use cvpn_terminator::domain::trigger::approval::{is_request_id, Answer};
use cvpn_terminator::domain::trigger::Trigger;
use cvpn_terminator::{App, Dynamo, Ec2};
use std::process::ExitCode;

pub async fn run(
    app: &App<Ec2, Dynamo>,
    sts: &aws_sdk_sts::Client,
    approve: bool,
    args: &[String],
) -> Result<ExitCode, String> {
    let verb = if approve { "approve" } else { "deny" };
    let (id, rest) = args
        .split_first()
        .ok_or(format!("{verb} needs a request ID (apr-…)"))?;
    if !is_request_id(id) {
        return Err(format!(
            "`{id}` is not a request ID (apr- and 20 hex digits)"
        ));
    }
    let opts = options(rest, &[], &["--reason"])?;
    let by = caller(sts).await.ok_or(format!(
        "{verb} records who answers: STS GetCallerIdentity did not give your AWS identity"
    ))?;
    let answer = Answer {
        request: id.clone(),
        approve,
        by,
        verified: true,
        reason: value(&opts, "--reason"),
        request_path: "ID".into(),
    };
    let max = app.config.tell.response_max_items;
    let answered = app
        .handle_trigger(Trigger::Answer(answer))
        .await
        .map(|r| serde_json::to_value(r.bounded(max)).expect("responses serialize"));
    Ok(printed(app, answered))
}
