//! The command line: the same handler as under Lambda, and the commands people reach for during
//! an incident (listing connections, ending a user's sessions, the quarantine, the wiring check).

use crate::args::{Command, Quarantine, Subject, Terminate};
use crate::common::{caller, go_ahead, printed, Shown};
use crate::render;
use cvpn_terminator::adapters::lazy::Lazy;
use cvpn_terminator::domain::json::parse::Parsed;
use cvpn_terminator::domain::model::Endpoint;
use cvpn_terminator::domain::plan::CallError;
use cvpn_terminator::domain::quarantine;
use cvpn_terminator::shell::budget::Budget;
use cvpn_terminator::shell::listing::{self, Spread};
use cvpn_terminator::{App, Dynamo, Ec2, QuarantineStore};
use serde_json::{json, Value};
use std::io::Read;
use std::process::ExitCode;

/// Runs one command; `Err` is a usage error found only once the settings are known (a command
/// that needs the state table without one). `region` (`--region`) is also where `terminate`
/// acts: with several targets, only their places in that Region.
pub async fn run(
    app: &App<Ec2, Dynamo>,
    sts: &Lazy<aws_sdk_sts::Client>,
    shown: Shown,
    command: Command,
    region: Option<String>,
) -> Result<ExitCode, String> {
    match command {
        Command::Invoke { event } => {
            let text = if event == "-" {
                read_event(std::io::stdin().lock()).map_err(|e| format!("stdin: {e}"))?
            } else {
                let file =
                    std::fs::File::open(&event).map_err(|e| format!("--event {event}: {e}"))?;
                read_event(file).map_err(|e| format!("--event {event}: {e}"))?
            };
            let parsed: Parsed = serde_json::from_slice(&text)
                .map_err(|e| format!("--event {event}: not JSON: {e}"))?;
            Ok(run_handler(app, shown, &parsed).await)
        }
        Command::Terminate(t) => Ok(terminate(app, shown, t, region).await),
        Command::Connections { endpoint } => Ok(connections(app, shown, endpoint).await),
        Command::Quarantine(q) => quarantine(app, sts, shown, q).await,
        Command::Approve(a) => Ok(crate::answer::run(app, sts, shown, true, a).await),
        Command::Deny(a) => Ok(crate::answer::run(app, sts, shown, false, a).await),
        Command::Check => Ok(check(app, shown).await),
        Command::Completions { .. } => unreachable!("answered before any setting is read"),
    }
}

async fn terminate(
    app: &App<Ec2, Dynamo>,
    shown: Shown,
    t: Terminate,
    region: Option<String>,
) -> ExitCode {
    let who = match (&t.username, &t.connection_id) {
        (Some(user), _) => format!("every session of {user}"),
        (None, Some(id)) => format!("connection {id}"),
        (None, None) => unreachable!("clap requires one"),
    };
    // Where, said in the question: a person must not learn it from what was ended.
    let places = app.api.len();
    let place = match (&t.endpoint, &region) {
        (Some(e), _) => format!(" on {e}"),
        (None, Some(r)) if places > 1 => format!(" in {r} (of {places} target places)"),
        (None, _) if places > 1 => format!(" in all {places} target places"),
        (None, _) => String::new(),
    };
    let question = format!("End {who}{place}?");
    if !go_ahead(&question, t.yes, t.dry_run) {
        return ExitCode::FAILURE;
    }
    let mut event = serde_json::Map::new();
    for (value, field) in [
        (t.endpoint, "ClientVpnEndpointId"),
        (t.username, "Username"),
        (t.connection_id, "ConnectionId"),
        (t.reason, "Reason"),
        (region, "Region"),
    ] {
        if let Some(v) = value {
            event.insert(field.into(), json!(v));
        }
    }
    if t.dry_run {
        event.insert("DryRun".into(), json!(true));
    }
    run_handler(app, shown, &Value::Object(event).into()).await
}

async fn connections(app: &App<Ec2, Dynamo>, shown: Shown, endpoint: Option<String>) -> ExitCode {
    let budget = Budget::default();
    let named = match endpoint {
        Some(e) => Some(vec![e]),
        None => app.config.scope.named_endpoints(),
    };
    let endpoints = match named {
        // One target: the endpoints named are there.
        Some(ids) if app.api.len() == 1 => listing::at(&app.api.first().place, &ids),
        named => {
            let Some(found) = endpoints_of(app, named, &budget).await else {
                return ExitCode::FAILURE;
            };
            found
        }
    };
    let (connections, errors) =
        listing::list_connections(&app.api, &endpoints, Spread::of(&app.config), &budget).await;
    shown.rows(&connections, render::connections);
    errors.iter().for_each(print_error);
    if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
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

async fn run_handler(app: &App<Ec2, Dynamo>, shown: Shown, event: &Parsed) -> ExitCode {
    printed(
        app,
        shown,
        app.answer_parsed(event, Default::default()).await,
    )
}

async fn quarantine(
    app: &App<Ec2, Dynamo>,
    sts: &Lazy<aws_sdk_sts::Client>,
    shown: Shown,
    command: Quarantine,
) -> Result<ExitCode, String> {
    let store = app
        .store
        .as_ref()
        .ok_or("the quarantine is kept in the state table: set CVPN_STATE_TABLE")?;
    let (key, subject, reason, minutes) = match command {
        Quarantine::List => return Ok(list_holds(store, shown).await),
        Quarantine::Add {
            subject,
            minutes,
            reason,
            yes,
        } => {
            let question = format!("Keep {} out?", named(&subject));
            if !go_ahead(&question, yes, false) {
                return Ok(ExitCode::FAILURE);
            }
            ("Quarantine", subject, reason, minutes)
        }
        Quarantine::Release { subject, reason } => ("Release", subject, reason, None),
    };
    let mut change = serde_json::Map::new();
    for (value, field) in [
        (subject.username, "Username"),
        (subject.common_name, "CommonName"),
        (reason, "Reason"),
    ] {
        if let Some(v) = value {
            change.insert(field.into(), json!(v));
        }
    }
    if let Some(minutes) = minutes {
        change.insert("Minutes".into(), json!(minutes));
    }
    if let Some(who) = caller(sts.get()).await {
        change.insert("RequestedBy".into(), json!(who));
    }
    Ok(run_handler(app, shown, &json!({ key: change }).into()).await)
}

fn named(subject: &Subject) -> String {
    match (&subject.username, &subject.common_name) {
        (Some(user), _) => format!("user {user}"),
        (None, Some(cn)) => format!("certificate {cn}"),
        (None, None) => unreachable!("clap requires one"),
    }
}

async fn list_holds(store: &Dynamo, shown: Shown) -> ExitCode {
    match store.list().await {
        Ok(mut holds) => {
            let now = chrono::Utc::now().timestamp();
            holds.retain(|h| h.in_force(now));
            holds.sort_by(|a, b| a.subject.cmp(&b.subject));
            let rows: Vec<Value> = holds
                .iter()
                .map(|h| {
                    let mut line = serde_json::to_value(h).expect("holds serialize");
                    line["since"] = json!(quarantine::time(h.since));
                    line["until"] = json!(quarantine::time(h.until));
                    line
                })
                .collect();
            shown.rows(&rows, render::holds);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cvpn-terminator: Scan: {} {}", e.code, e.message);
            ExitCode::FAILURE
        }
    }
}

/// One line per endpoint in scope: does it call the deployed connect handler? Those that do not
/// get the command that wires them.
async fn check(app: &App<Ec2, Dynamo>, shown: Shown) -> ExitCode {
    let budget = Budget::default();
    let Some(endpoints) = endpoints_of(app, None, &budget).await else {
        return ExitCode::FAILURE;
    };
    let config = &app.config;
    let deployed = config.quarantine.handler_arn.as_deref();
    let mut unwired = 0;
    let in_scope: Vec<&Endpoint> = endpoints
        .iter()
        .filter(|e| config.scope.has_endpoint(&e.id))
        .collect();
    let home = app.api.home_place();
    let there = &config.quarantine.target_handler_name;
    let mut rows = Vec::new();
    for e in &in_scope {
        let handler = e.connect_handler.as_deref();
        let wired = quarantine::enforced(deployed, there, home, &e.place, handler);
        rows.push(json!({
            "account": e.place.account,
            "region": e.place.region,
            "endpoint_id": e.id,
            "connect_handler": e.connect_handler,
            "deployed_handler": deployed,
            "enforces_quarantine": wired,
        }));
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
    shown.rows(&rows, render::wiring);
    let places: std::collections::BTreeSet<_> = in_scope.iter().map(|e| &e.place).collect();
    eprintln!(
        "cvpn-terminator: {} of {} endpoints in {} places keep held people out",
        rows.len() - unwired,
        rows.len(),
        places.len()
    );
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
    // Where the inventory says endpoints are (every place without a fresh one), as incidents do.
    let targets = app
        .inventoried(app.api.iter().collect(), named.as_deref(), None, budget)
        .await;
    if targets.len() < app.api.len() {
        eprintln!(
            "cvpn-terminator: listed {} of {} target places: the others had no endpoints at the \
             last sweep (within the hour), or as AWS Config's aggregator says",
            targets.len(),
            app.api.len()
        );
    }
    let located = listing::locate(&targets, named, app.config.place_concurrency, budget).await;
    located.failed.iter().for_each(print_error);
    located.absent.iter().for_each(print_error);
    located.ambiguous.iter().for_each(print_error);
    (located.failed.is_empty() && located.ambiguous.is_empty()).then_some(located.endpoints)
}

fn print_error(e: &CallError) {
    let on = e
        .endpoint_id
        .as_deref()
        .map(|id| format!(" {id}"))
        .unwrap_or_default();
    let (action, place) = (e.action, e.place.label());
    eprintln!(
        "cvpn-terminator: {action}{on} in {place}: {} {}",
        e.code, e.message
    );
}
