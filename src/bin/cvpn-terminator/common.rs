//! What the commands share: their options, who runs them, and printing the handler's answer.

use cvpn_terminator::{App, Dynamo, Ec2, HandlerError};
use serde_json::Value;
use std::process::ExitCode;
use std::time::Duration;

/// Options as `--name value` pairs (and bare `--dry-run`).
pub(crate) fn options(
    args: &[String],
    flags: &[&str],
    valued: &[&str],
) -> Result<Vec<(String, Option<String>)>, String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if flags.contains(&a.as_str()) {
            out.push((a.clone(), None));
        } else if valued.contains(&a.as_str()) {
            let v = it.next().ok_or_else(|| format!("{a} needs a value"))?;
            out.push((a.clone(), Some(v.clone())));
        } else {
            return Err(format!("unexpected argument `{a}`"));
        }
    }
    Ok(out)
}

pub(crate) fn value(opts: &[(String, Option<String>)], name: &str) -> Option<String> {
    opts.iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.clone())
}

/// Prints what the handler answered (the response, also of a failure), and says how it ended.
pub(crate) fn printed(app: &App<Ec2, Dynamo>, answered: Result<Value, HandlerError>) -> ExitCode {
    match answered {
        Ok(response) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&response).expect("responses serialize")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            if let Some(response) = e.response() {
                let answered = response.clone().bounded(app.config.tell.response_max_items);
                println!(
                    "{}",
                    serde_json::to_string_pretty(&answered).expect("responses serialize")
                );
            }
            eprintln!("cvpn-terminator: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Who is running the command, for the audit line of a quarantine change: the caller's ARN, when
/// STS answers within a few seconds.
pub(crate) async fn caller(sts: &aws_sdk_sts::Client) -> Option<String> {
    let asked = tokio::time::timeout(Duration::from_secs(3), sts.get_caller_identity().send());
    match asked.await {
        Ok(Ok(identity)) => identity.arn().map(str::to_owned),
        Ok(Err(e)) => {
            tracing::debug!(event = "caller_unknown", error = %e, "STS GetCallerIdentity failed");
            None
        }
        Err(_) => None,
    }
}
