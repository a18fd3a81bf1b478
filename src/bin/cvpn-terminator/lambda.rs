//! The Lambda runtime loop: every invocation through the same handler as the command line.

use crate::{app, sdk};
use cvpn_terminator::domain::json::parse::Parsed;
use cvpn_terminator::domain::trigger::{decode, Trigger};
use cvpn_terminator::shell::handler::Invoked;
use cvpn_terminator::Config;
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub async fn run() -> ExitCode {
    // A bad setting still leaves the connect handler answering (Client VPN would refuse everyone
    // on an error), from the settings it needs; anything else fails with it.
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
            unconfigured = Some(e.to_string());
            Config::for_connect(std::env::vars_os())
        }
    };
    let sdk = sdk(lambdas_own(), &config).await;
    // Without its targets the function cannot act; failing to start has the next invocation
    // start it again (the fault may have passed), and the event is retried.
    let Some((app, _)) = app(config, &sdk).await else {
        return ExitCode::FAILURE;
    };
    // The clients nearly every invocation calls (the state table's, this place's EC2) are built
    // in Lambda's init phase, at full CPU and ahead of time under provisioned concurrency, not
    // within the connect handler's deadline; the others wait for their first call. The one
    // connector they share is made by the first call (`adapters/http.rs`).
    if let Some(store) = &app.store {
        store.prepare();
    }
    if let Some(home) = app.api.home() {
        home.prepare();
    }
    let app = &app;
    let unconfigured = unconfigured.as_deref();
    let handler = service_fn(move |event: LambdaEvent<Parsed>| async move {
        if let Some(problem) = unconfigured {
            if !matches!(decode(&event.payload.value), Ok(Trigger::Connect(_))) {
                return Err(Diagnostic {
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
            .map_err(Diagnostic::from)
    });
    match lambda_runtime::run(handler).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(event = "runtime_failed", error = %e, "Lambda runtime loop ended");
            ExitCode::FAILURE
        }
    }
}

/// The AWS configuration Lambda gives every function in its environment: the execution role's
/// credentials and the Region. Taken from there directly, the start builds none of the default
/// chain's providers (profile files, web identity and its STS client, containers, IMDS); without
/// them (another runtime), the default chain.
fn lambdas_own() -> aws_config::ConfigLoader {
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    let set = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
    let loader = match set("AWS_REGION") {
        Some(region) => loader.region(aws_config::Region::new(region)),
        None => loader,
    };
    if set("AWS_ACCESS_KEY_ID").is_some() && set("AWS_SECRET_ACCESS_KEY").is_some() {
        let env =
            aws_config::environment::credentials::EnvironmentVariableCredentialsProvider::new();
        return loader.credentials_provider(env);
    }
    loader
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
