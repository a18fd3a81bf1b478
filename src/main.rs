//! Under Lambda (`AWS_LAMBDA_RUNTIME_API` set) the runtime loop; otherwise a command-line tool on
//! the same handler.

// The handler's future nests the AWS SDK's deep async stacks; optimized builds compute its layout
// past rustc's default query depth of 128.
#![recursion_limit = "256"]

use aws_config::retry::RetryConfig;
use aws_config::BehaviorVersion;
use cvpn_terminator::execute::{self, Budget};
use cvpn_terminator::{logging, App, Config, Dynamo, Ec2};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::{json, Value};
use std::io::Read;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const USAGE: &str = "usage:
  cvpn-terminator invoke --event FILE     run the handler on one JSON event (FILE or - for stdin)
                                          and print its JSON response
  cvpn-terminator connections [--endpoint ID]
                                          list live connections as JSON lines
  cvpn-terminator terminate (--username NAME | --connection-id ID) [--endpoint ID]
                            [--dry-run] [--reason TEXT]
                                          end a user's or a connection's sessions now

Settings come from CVPN_* environment variables (see README); AWS credentials, Region and
endpoint (AWS_ENDPOINT_URL_EC2) from the usual AWS configuration. Exit status: 0 done,
1 the handler failed (the response, if any, is still printed), 2 bad usage or settings.";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    logging::init();
    let lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !lambda
        && matches!(
            args.first().map(String::as_str),
            None | Some("-h" | "--help" | "help")
        )
    {
        eprintln!("{USAGE}");
        return ExitCode::from(if args.is_empty() { 2 } else { 0 });
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(
                event = "bad_config",
                variable = e.variable,
                error = e.message.as_str(),
                "bad configuration"
            );
            eprintln!("cvpn-terminator: {e}");
            return ExitCode::from(2);
        }
    };
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::adaptive().with_max_attempts(config.max_attempts))
        .load()
        .await;
    let store = config
        .state_table
        .as_ref()
        .map(|table| Dynamo::new(aws_sdk_dynamodb::Client::new(&sdk), table));
    let app = App {
        config,
        api: Ec2::new(aws_sdk_ec2::Client::new(&sdk)),
        store,
    };
    if lambda {
        let app = &app;
        let handler = service_fn(move |event: LambdaEvent<Value>| async move {
            let deadline = instant_of(event.context.deadline);
            match deadline {
                Some(d) => tracing::debug!(
                    event = "invocation",
                    request_id = event.context.request_id.as_str(),
                    remaining_ms = d.saturating_duration_since(Instant::now()).as_millis() as u64,
                    "invocation"
                ),
                None => tracing::warn!(
                    event = "invocation",
                    request_id = event.context.request_id.as_str(),
                    deadline_ms = event.context.deadline,
                    "the Runtime API's deadline is not a time; running without one"
                ),
            }
            app.handle_until(&event.payload, deadline).await
        });
        return match lambda_runtime::run(handler).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(event = "runtime_failed", error = %e, "Lambda runtime loop ended");
                ExitCode::FAILURE
            }
        };
    }
    match cli(&app, &args).await {
        Ok(code) => code,
        Err(usage) => {
            eprintln!("cvpn-terminator: {usage}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Lambda gives the deadline as epoch milliseconds; timing it needs a monotonic instant. A value
/// too small to be a time of this century is not one (local Runtime API emulators such as
/// `cargo lambda watch` send the timeout, 600000): then there is none. A real deadline already
/// past leaves no time at all, so nothing new starts.
fn instant_of(deadline_ms: u64) -> Option<Instant> {
    const YEAR_2001_MS: u64 = 978_307_200_000;
    if deadline_ms < YEAR_2001_MS {
        return None;
    }
    let deadline = UNIX_EPOCH + Duration::from_millis(deadline_ms);
    let left = deadline
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    Some(Instant::now() + left)
}

/// Options as `--name value` pairs (and bare `--dry-run`).
fn options(
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

fn value(opts: &[(String, Option<String>)], name: &str) -> Option<String> {
    opts.iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.clone())
}

async fn cli(app: &App<Ec2, Dynamo>, args: &[String]) -> Result<ExitCode, String> {
    let (command, rest) = args.split_first().expect("checked in main");
    match command.as_str() {
        "invoke" => {
            let opts = options(rest, &[], &["--event"])?;
            let path =
                value(&opts, "--event").ok_or("invoke needs --event FILE (or - for stdin)")?;
            let text = if path == "-" {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .map_err(|e| format!("stdin: {e}"))?;
                s
            } else {
                std::fs::read_to_string(&path).map_err(|e| format!("--event {path}: {e}"))?
            };
            let event: Value = serde_json::from_str(&text)
                .map_err(|e| format!("--event {path}: not JSON: {e}"))?;
            Ok(run_handler(app, &event).await)
        }
        "terminate" => {
            let opts = options(
                rest,
                &["--dry-run"],
                &["--username", "--connection-id", "--endpoint", "--reason"],
            )?;
            let mut event = serde_json::Map::new();
            for (flag, field) in [
                ("--endpoint", "ClientVpnEndpointId"),
                ("--username", "Username"),
                ("--connection-id", "ConnectionId"),
                ("--reason", "Reason"),
            ] {
                if let Some(v) = value(&opts, flag) {
                    event.insert(field.into(), json!(v));
                }
            }
            if opts.iter().any(|(n, _)| n == "--dry-run") {
                event.insert("DryRun".into(), json!(true));
            }
            Ok(run_handler(app, &Value::Object(event)).await)
        }
        "connections" => {
            let opts = options(rest, &[], &["--endpoint"])?;
            let budget = Budget::default();
            let endpoints = match value(&opts, "--endpoint") {
                Some(e) => vec![e],
                None if !app.config.endpoint_ids.is_empty() => app.config.endpoint_ids.clone(),
                None => match execute::list_endpoints(&app.api, &budget).await {
                    Ok(all) => all.into_iter().map(|e| e.id).collect(),
                    Err(e) => {
                        eprintln!("cvpn-terminator: {}: {} {}", e.action, e.code, e.message);
                        return Ok(ExitCode::FAILURE);
                    }
                },
            };
            let (connections, errors) =
                execute::list_connections(&app.api, &endpoints, app.config.concurrency, &budget)
                    .await;
            for c in &connections {
                println!(
                    "{}",
                    serde_json::to_string(c).expect("connections serialize")
                );
            }
            for e in &errors {
                eprintln!(
                    "cvpn-terminator: {} {}: {} {}",
                    e.action,
                    e.endpoint_id.as_deref().unwrap_or(""),
                    e.code,
                    e.message
                );
            }
            Ok(if errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        other => Err(format!("unknown command `{other}`")),
    }
}

async fn run_handler(app: &App<Ec2, Dynamo>, event: &Value) -> ExitCode {
    match app.handle(event).await {
        Ok(response) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&response).expect("responses serialize")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            if let Some(response) = e.response() {
                println!(
                    "{}",
                    serde_json::to_string_pretty(response).expect("responses serialize")
                );
            }
            eprintln!("cvpn-terminator: {e}");
            ExitCode::FAILURE
        }
    }
}
