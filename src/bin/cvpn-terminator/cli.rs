//! The command line: the same handler as under Lambda, and the commands people reach for during
//! an incident (listing connections, ending a user's sessions, the quarantine, the wiring check).

use crate::common::{caller, options, printed, value};
use cvpn_terminator::domain::json::parse::Parsed;
use cvpn_terminator::domain::model::Endpoint;
use cvpn_terminator::domain::plan::endpoint_in_scope;
use cvpn_terminator::domain::quarantine;
use cvpn_terminator::shell::budget::Budget;
use cvpn_terminator::shell::execute::CallError;
use cvpn_terminator::shell::listing;
use cvpn_terminator::{App, Dynamo, Ec2, QuarantineStore};
use serde_json::{json, Value};
use std::io::Read;
use std::process::ExitCode;

pub const USAGE: &str = "usage:
  cvpn-terminator invoke --event FILE     run the handler on one JSON event (FILE or - for stdin)
                                          and print its JSON response
  cvpn-terminator connections [--endpoint ID]
                                          list live connections as JSON lines
  cvpn-terminator terminate (--username NAME | --connection-id ID) [--endpoint ID]
                            [--dry-run] [--reason TEXT]
                                          end a user's or a connection's sessions now
  cvpn-terminator quarantine list         the holds in force, as JSON lines
  cvpn-terminator quarantine add (--username NAME | --common-name NAME) [--minutes N]
                            [--reason TEXT]
                                          keep a user out (CVPN_QUARANTINE_MINUTES by default)
  cvpn-terminator quarantine release (--username NAME | --common-name NAME) [--reason TEXT]
                                          let a user connect again
  cvpn-terminator check                   for each endpoint in scope, whether it calls the
                                          deployed connect handler (CVPN_CONNECT_HANDLER_ARN)
  cvpn-terminator approve ID [--reason TEXT]
  cvpn-terminator deny ID [--reason TEXT]
                                          answer a request for approval (CVPN_ASK_*) as your
                                          AWS identity

Settings come from CVPN_* environment variables (see README); AWS credentials, Region and
endpoints (AWS_ENDPOINT_URL_EC2, _DYNAMODB, _STS) from the usual AWS configuration. Quarantine
changes record who asked: the caller's AWS identity (STS GetCallerIdentity) when known; an answer
to a request needs it, and counts as that verified identity.
Exit status: 0 done, 1 the handler failed (the response, if any, is still printed) or `check`
found an endpoint that lets quarantined users in, 2 bad usage or settings.";

pub async fn run(
    app: &App<Ec2, Dynamo>,
    sts: &aws_sdk_sts::Client,
    args: &[String],
) -> Result<ExitCode, String> {
    let (command, rest) = args.split_first().expect("checked in main");
    match command.as_str() {
        "invoke" => {
            let opts = options(rest, &[], &["--event"])?;
            let path =
                value(&opts, "--event").ok_or("invoke needs --event FILE (or - for stdin)")?;
            let text = if path == "-" {
                read_event(std::io::stdin().lock()).map_err(|e| format!("stdin: {e}"))?
            } else {
                let file =
                    std::fs::File::open(&path).map_err(|e| format!("--event {path}: {e}"))?;
                read_event(file).map_err(|e| format!("--event {path}: {e}"))?
            };
            let event: Parsed = serde_json::from_slice(&text)
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
            Ok(run_handler(app, &Value::Object(event).into()).await)
        }
        "connections" => {
            let opts = options(rest, &[], &["--endpoint"])?;
            let budget = Budget::default();
            let named = match value(&opts, "--endpoint") {
                Some(e) => Some(vec![e]),
                None if !app.config.endpoint_ids.is_empty() => {
                    Some(app.config.endpoint_ids.clone())
                }
                None => None,
            };
            let endpoints = match named {
                // One target: the endpoints named are there.
                Some(ids) if app.api.len() == 1 => listing::at(&app.api.first().place, &ids),
                named => {
                    let Some(found) = endpoints_of(app, named, &budget).await else {
                        return Ok(ExitCode::FAILURE);
                    };
                    found
                }
            };
            let (connections, errors) =
                listing::list_connections(&app.api, &endpoints, app.config.concurrency, &budget)
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
        "quarantine" => quarantine(app, sts, rest).await,
        "approve" => crate::answer::run(app, sts, true, rest).await,
        "deny" => crate::answer::run(app, sts, false, rest).await,
        "check" => {
            options(rest, &[], &[])?;
            Ok(check(app).await)
        }
        other => Err(format!("unknown command `{other}`")),
    }
}

/// Lambda refuses an invocation payload over 6 MB; so does `invoke`, before reading any further
/// (`--event /dev/zero` would otherwise read until memory runs out).
const MAX_EVENT_BYTES: u64 = 6 * 1024 * 1024;

fn read_event(source: impl Read) -> Result<Vec<u8>, String> {
    let mut text = Vec::new();
    source
        .take(MAX_EVENT_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(|e| e.to_string())?;
    if text.len() as u64 > MAX_EVENT_BYTES {
        return Err(format!(
            "over {MAX_EVENT_BYTES} bytes, Lambda's limit for an invocation payload; nothing was done"
        ));
    }
    Ok(text)
}

async fn run_handler(app: &App<Ec2, Dynamo>, event: &Parsed) -> ExitCode {
    printed(app, app.answer_parsed(event, Default::default()).await)
}

async fn quarantine(
    app: &App<Ec2, Dynamo>,
    sts: &aws_sdk_sts::Client,
    args: &[String],
) -> Result<ExitCode, String> {
    let (sub, rest) = args
        .split_first()
        .ok_or("quarantine needs list, add or release")?;
    if sub == "list" {
        options(rest, &[], &[])?;
        let store = app
            .store
            .as_ref()
            .ok_or("the quarantine is kept in the state table: set CVPN_STATE_TABLE")?;
        return Ok(match store.list().await {
            Ok(mut holds) => {
                let now = chrono::Utc::now().timestamp();
                holds.retain(|h| h.in_force(now));
                holds.sort_by(|a, b| a.subject.cmp(&b.subject));
                for h in holds {
                    let mut line = serde_json::to_value(&h).expect("holds serialize");
                    line["since"] = json!(cvpn_terminator::domain::quarantine::time(h.since));
                    line["until"] = json!(cvpn_terminator::domain::quarantine::time(h.until));
                    println!("{line}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cvpn-terminator: Scan: {} {}", e.code, e.message);
                ExitCode::FAILURE
            }
        });
    }
    let (key, valued): (&str, &[&str]) = match sub.as_str() {
        "add" => (
            "Quarantine",
            &["--username", "--common-name", "--minutes", "--reason"],
        ),
        "release" => ("Release", &["--username", "--common-name", "--reason"]),
        other => return Err(format!("unknown quarantine command `{other}`")),
    };
    let opts = options(rest, &[], valued)?;
    let mut change = serde_json::Map::new();
    for (flag, field) in [
        ("--username", "Username"),
        ("--common-name", "CommonName"),
        ("--reason", "Reason"),
    ] {
        if let Some(v) = value(&opts, flag) {
            change.insert(field.into(), json!(v));
        }
    }
    if let Some(m) = value(&opts, "--minutes") {
        let minutes: u64 = m
            .parse()
            .map_err(|_| format!("--minutes: `{m}` is not a whole number"))?;
        change.insert("Minutes".into(), json!(minutes));
    }
    if let Some(who) = caller(sts).await {
        change.insert("RequestedBy".into(), json!(who));
    }
    Ok(run_handler(app, &json!({ key: change }).into()).await)
}

/// One line per endpoint in scope: does it call the deployed connect handler? Those that do not
/// get the command that wires them.
async fn check(app: &App<Ec2, Dynamo>) -> ExitCode {
    let budget = Budget::default();
    let Some(endpoints) = endpoints_of(app, None, &budget).await else {
        return ExitCode::FAILURE;
    };
    let config = &app.config;
    let deployed = config.keep_out.handler_arn.as_deref();
    let mut unwired = 0;
    let in_scope = endpoints
        .iter()
        .filter(|e| endpoint_in_scope(&config.endpoint_ids, &e.id));
    let home = app.api.home_place();
    let there = &config.keep_out.target_handler_name;
    for e in in_scope {
        let handler = e.connect_handler.as_deref();
        let wired = quarantine::enforced(deployed, there, home, &e.place, handler);
        println!(
            "{}",
            json!({
                "account": e.place.account,
                "region": e.place.region,
                "endpoint_id": e.id,
                "connect_handler": e.connect_handler,
                "deployed_handler": deployed,
                "enforces_quarantine": wired,
            })
        );
        if wired {
            continue;
        }
        unwired += 1;
        let region = e.place.region.as_deref().unwrap_or_default();
        match deployed.filter(|_| e.place == *home) {
            Some(arn) => eprintln!(
                "cvpn-terminator: {} does not call the deployed handler; to wire it:\n  aws ec2 \
                 modify-client-vpn-endpoint --region {region} --client-vpn-endpoint-id {} \
                 --client-connect-options Enabled=true,LambdaFunctionArn={arn}",
                e.id, e.id
            ),
            None if e.place != *home => eprintln!(
                "cvpn-terminator: {} ({}) does not call {there} there; run the WireConnectHandler \
                 output of target.yaml's stack in that account and Region",
                e.id,
                e.place.label()
            ),
            None => {}
        }
    }
    if deployed.is_none() {
        eprintln!("cvpn-terminator: CVPN_CONNECT_HANDLER_ARN is not set: only checked that a handler is enabled");
    }
    if unwired > 0 && config.quarantine_minutes().is_some() {
        eprintln!("cvpn-terminator: {unwired} endpoint(s) let quarantined users connect");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Every target's endpoints, or those `named`; `None` (each failure printed) when a target could
/// not be listed.
async fn endpoints_of(
    app: &App<Ec2, Dynamo>,
    named: Option<Vec<String>>,
    budget: &Budget,
) -> Option<Vec<Endpoint>> {
    let targets: Vec<_> = app.api.iter().collect();
    let located = listing::locate(&targets, named, app.config.place_concurrency, budget).await;
    located.failed.iter().for_each(print_error);
    located.absent.iter().for_each(print_error);
    located.ambiguous.iter().for_each(print_error);
    (located.failed.is_empty() && located.ambiguous.is_empty()).then_some(located.endpoints)
}

fn print_error(e: &CallError) {
    eprintln!("cvpn-terminator: {}: {} {}", e.action, e.code, e.message);
}
