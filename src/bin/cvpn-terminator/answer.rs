//! `approve ID` and `deny ID`: a person's answer to a request for approval, as the caller's AWS
//! identity (STS `GetCallerIdentity`), which counts as verified where an event's `RequestedBy`
//! is only said.

use crate::args::Answer as Args;
use crate::common::{caller, printed, Shown};
use cvpn_terminator::adapters::lazy::Lazy;
use cvpn_terminator::domain::trigger::approval::Answer;
use cvpn_terminator::domain::trigger::Trigger;
use cvpn_terminator::{App, Dynamo, Ec2};
use std::process::ExitCode;

pub async fn run(
    app: &App<Ec2, Dynamo>,
    sts: &Lazy<aws_sdk_sts::Client>,
    shown: Shown,
    approve: bool,
    args: Args,
) -> ExitCode {
    let verb = if approve { "approve" } else { "deny" };
    let Some(by) = caller(sts.get()).await else {
        eprintln!(
            "cvpn-terminator: {verb} records who answers: STS GetCallerIdentity did not give your \
             AWS identity; nothing was done"
        );
        return ExitCode::FAILURE;
    };
    let answer = Answer {
        request: args.id,
        approve,
        by,
        verified: true,
        reason: args.reason,
        request_path: "ID".into(),
    };
    let max = app.config.notify.response_max_items;
    let answered = app
        .handle_trigger(Trigger::Answer(answer))
        .await
        .map(|r| serde_json::to_value(r.bounded(max)).expect("responses serialize"));
    printed(app, shown, answered)
}
