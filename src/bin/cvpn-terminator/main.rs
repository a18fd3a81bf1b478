//! Under Lambda (`AWS_LAMBDA_RUNTIME_API` set) the runtime loop; otherwise a command-line tool on
//! the same handler.

// The handler's future nests the AWS SDK's deep async stacks; optimized builds compute its layout
// past rustc's default query depth of 128.
#![recursion_limit = "256"]

mod answer;
mod cli;
mod common;

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_ec2::config::SharedCredentialsProvider;
use cli::USAGE;
use cvpn_terminator::adapters::directory::Directory;
use cvpn_terminator::adapters::notify::{Notifiers, OutcomeBus};
use cvpn_terminator::adapters::organization::Organization;
use cvpn_terminator::adapters::targets::{ec2_targets, Targets, SESSION_NAME};
use cvpn_terminator::domain::json::parse::Parsed;
use cvpn_terminator::shell::handler::Invoked;
use cvpn_terminator::shell::logging;
use cvpn_terminator::shell::organization::start_targets;
use cvpn_terminator::{App, Config, Dynamo, Ec2};
use lambda_runtime::{service_fn, LambdaEvent};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
    // Under Lambda a bad setting still leaves the connect handler answering (Client VPN would
    // refuse everyone on an error), from the settings it needs; anything else fails with it.
    let mut unconfigured = None;
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(
                event = "bad_config",
                variable = e.variable,
                error = e.message.as_str(),
                "bad configuration"
            );
            if !lambda {
                eprintln!("cvpn-terminator: {e}");
                return ExitCode::from(2);
            }
            unconfigured = Some(e.to_string());
            Config::for_connect(std::env::vars_os())
        }
    };
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::adaptive().with_max_attempts(config.max_attempts))
        .load()
        .await;
    // A table given by ARN may be another Region's (the central table, read by a network
    // account's connect handler): its client sends there.
    let store = config.state_table.as_ref().map(|table| {
        let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(&sdk);
        if let Some(region) = &config.state_table_region {
            dynamodb = dynamodb.region(aws_config::Region::new(region.clone()));
        }
        Dynamo::new(aws_sdk_dynamodb::Client::from_conf(dynamodb.build()), table)
    });
    let sts = aws_sdk_sts::Client::new(&sdk);
    let notifiers = Notifiers {
        bus: config
            .tell
            .outcome_bus
            .as_ref()
            .map(|bus| OutcomeBus::new(aws_sdk_eventbridge::Client::new(&sdk), bus)),
        securityhub: config
            .tell
            .finding_notes
            .then(|| aws_sdk_securityhub::Client::new(&sdk)),
        region: sdk.region().map(|r| r.to_string()),
        sts: Some(sts.clone()),
        ..Notifiers::default()
    };
    let directory = (!config.idp.identity_stores.is_empty()).then(|| Directory::new(sdk.clone()));
    // Without its targets the function cannot act; under Lambda, failing to start has the next
    // invocation start it again (the fault may have passed), and the event is retried.
    let Some(api) = targets(&sdk, &config, store.as_ref(), &notifiers).await else {
        if !lambda {
            eprintln!("cvpn-terminator: the organization's accounts could not be had; see the log");
        }
        return ExitCode::FAILURE;
    };
    let app = App {
        config,
        api,
        store,
        notifiers,
        directory,
    };
    if lambda {
        let app = &app;
        let unconfigured = unconfigured.as_deref();
        let handler = service_fn(move |event: LambdaEvent<Parsed>| async move {
            if let Some(problem) = unconfigured {
                let decoded = cvpn_terminator::domain::trigger::decode(&event.payload.value);
                if !matches!(
                    decoded,
                    Ok(cvpn_terminator::domain::trigger::Trigger::Connect(_))
                ) {
                    return Err(lambda_runtime::Diagnostic {
                        error_type: "BadConfig".into(),
                        error_message: format!("{problem}; nothing was done"),
                    });
                }
            }
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
            let invoked = Invoked {
                deadline,
                request_id: Some(event.context.request_id.as_str()),
                // arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME
                account: event.context.invoked_function_arn.split(':').nth(4),
            };
            app.answer_parsed(&event.payload, invoked)
                .await
                .map_err(lambda_runtime::Diagnostic::from)
        });
        return match lambda_runtime::run(handler).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(event = "runtime_failed", error = %e, "Lambda runtime loop ended");
                ExitCode::FAILURE
            }
        };
    }
    match cli::run(&app, &sts, &args).await {
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

/// Where the function acts: `CVPN_TARGETS`, or an organization's accounts (kept in the table,
/// listed through Organizations when none are); `None`, the reason logged, when the
/// organization's accounts cannot be had.
async fn targets(
    sdk: &SdkConfig,
    config: &Config,
    store: Option<&Dynamo>,
    notifiers: &Notifiers,
) -> Option<Targets<Ec2>> {
    let external_id = config.external_id.as_deref();
    let (Some(reach), Some(store)) = (&config.organization, store) else {
        return Some(ec2_targets(sdk, &config.targets, external_id).await);
    };
    let mut reader = aws_sdk_organizations::config::Builder::from(sdk);
    if let Some(role) = &reach.reader_role {
        let provider = AssumeRoleProvider::builder(role)
            .session_name(SESSION_NAME)
            .configure(sdk)
            .build()
            .await;
        reader = reader.credentials_provider(SharedCredentialsProvider::new(provider));
    }
    let organization = Organization::new(aws_sdk_organizations::Client::from_conf(reader.build()));
    // Unknown, the own account is reached through its role like any other, and said so.
    let own = notifiers.account().await.ok().flatten();
    if own.is_none() {
        tracing::warn!(
            event = "own_account_unknown",
            "STS did not say which account the function runs in: it is reached through its role"
        );
    }
    match start_targets(reach, &organization, store, own.as_deref()).await {
        Ok(specs) => {
            let mut targets = ec2_targets(sdk, &specs, external_id).await;
            targets.set_organization(organization);
            Some(targets)
        }
        Err(problem) => {
            tracing::error!(
                event = "no_targets",
                error = problem.as_str(),
                "the function cannot act"
            );
            None
        }
    }
}
