//! Under Lambda (`AWS_LAMBDA_RUNTIME_API` set) the runtime loop; otherwise a command-line tool on
//! the same handler.

// The handler's future nests the AWS SDK's deep async stacks; optimized builds compute its layout
// past rustc's default query depth of 128.
#![recursion_limit = "256"]

mod answer;
mod args;
mod cli;
mod common;
mod lambda;
mod render;

use args::{Cli, Command};
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_ec2::config::SharedCredentialsProvider;
use clap::{CommandFactory, Parser};
use common::Shown;
use cvpn_terminator::adapters::aggregator::Aggregator;
use cvpn_terminator::adapters::assumed::AssumedRole;
use cvpn_terminator::adapters::directory::Directory;
use cvpn_terminator::adapters::http::OneHttpClient;
use cvpn_terminator::adapters::lazy::Lazy;
use cvpn_terminator::adapters::notify::{Notifiers, OutcomeBus};
use cvpn_terminator::adapters::organization::Organization;
use cvpn_terminator::adapters::targets::{ec2_targets, Targets, SESSION_NAME};
use cvpn_terminator::shell::config;
use cvpn_terminator::shell::logging::{self, Style};
use cvpn_terminator::shell::organization::start_targets;
use cvpn_terminator::{App, Config, Dynamo, Ec2};
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        logging::init(Style::Lambda);
        return lambda::run().await;
    }
    // Usage is checked whole before any setting or AWS configuration is read.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    if let Command::Completions { shell } = cli.command {
        clap_complete::generate(
            shell,
            &mut Cli::command(),
            "cvpn-terminator",
            &mut std::io::stdout(),
        );
        return ExitCode::SUCCESS;
    }
    let shown = Shown::new(cli.output());
    logging::init(Style::Command {
        text: !shown.json(),
        verbose: cli.verbose,
    });
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cvpn-terminator: {e}");
            return ExitCode::from(2);
        }
    };
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = &cli.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(profile) = cli.profile {
        loader = loader.profile_name(profile);
    }
    let sdk = sdk(loader, &config).await;
    let Some((app, sts)) = app(config, &sdk).await else {
        eprintln!("cvpn-terminator: the organization's accounts could not be had; see the log");
        return ExitCode::FAILURE;
    };
    match cli::run(&app, &sts, shown, cli.command, cli.region).await {
        Ok(code) => code,
        Err(usage) => {
            eprintln!("cvpn-terminator: {usage}");
            ExitCode::from(2)
        }
    }
}

/// The AWS configuration, with the retries the settings ask for and one HTTP client for every
/// SDK client.
async fn sdk(loader: aws_config::ConfigLoader, config: &Config) -> SdkConfig {
    loader
        .http_client(OneHttpClient::shared())
        .retry_config(RetryConfig::adaptive().with_max_attempts(config.max_attempts))
        .load()
        .await
}

/// The handler and its clients, each built when first used (building one costs a TLS
/// connector); `None`, the reason logged, when the function cannot act (the organization's
/// accounts could not be had).
async fn app(
    config: Config,
    sdk: &SdkConfig,
) -> Option<(App<Ec2, Dynamo>, Lazy<aws_sdk_sts::Client>)> {
    // A table given by ARN may be another Region's (the central table, read by a network
    // account's connect handler): its client sends there.
    let store = config.state_table.as_ref().map(|table| {
        let (own, region) = (sdk.clone(), config.state_table_region.clone());
        let client = Lazy::new(move || {
            let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(&own);
            if let Some(region) = &region {
                dynamodb = dynamodb.region(aws_config::Region::new(region.clone()));
            }
            aws_sdk_dynamodb::Client::from_conf(dynamodb.build())
        });
        Dynamo::built_on_use(client, table)
    });
    let own = sdk.clone();
    let sts = Lazy::new(move || aws_sdk_sts::Client::new(&own));
    let notify = &config.notify;
    let notifiers = Notifiers {
        bus: notify.outcome_bus.as_ref().map(|bus| {
            let own = sdk.clone();
            OutcomeBus::built_on_use(
                Lazy::new(move || aws_sdk_eventbridge::Client::new(&own)),
                bus,
            )
        }),
        securityhub: notify.finding_notes.then(|| {
            let own = sdk.clone();
            Lazy::new(move || aws_sdk_securityhub::Client::new(&own))
        }),
        region: sdk.region().map(|r| r.to_string()),
        sts: Some(sts.clone()),
        ..Notifiers::default()
    };
    let directory = (!config.idp.identity_stores.is_empty()).then(|| Directory::new(sdk.clone()));
    let mut api = targets(sdk, &config, store.as_ref(), &notifiers).await?;
    if let Some(spec) = &config.aggregator {
        api.set_aggregator(aggregator(sdk, spec, &sts));
    }
    let app = App {
        config,
        api,
        store,
        notifiers,
        directory,
    };
    Some((app, sts))
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
        return Some(ec2_targets(sdk, &config.targets, external_id));
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
            let mut targets = ec2_targets(sdk, &specs, external_id);
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

/// AWS Config's aggregator, asked in its Region through its role (`CVPN_CONFIG_AGGREGATOR*`),
/// its client built on first use.
fn aggregator(
    sdk: &SdkConfig,
    spec: &config::AggregatorSpec,
    sts: &Lazy<aws_sdk_sts::Client>,
) -> Aggregator {
    let (own, region) = (sdk.clone(), spec.region.clone());
    let role = spec.role.as_deref().map(|role| {
        SharedCredentialsProvider::new(AssumedRole::new(sts.clone(), role, SESSION_NAME, None))
    });
    let client = Lazy::new(move || {
        let mut config = aws_sdk_config::config::Builder::from(&own);
        if let Some(region) = &region {
            config = config.region(aws_config::Region::new(region.clone()));
        }
        if let Some(role) = &role {
            config = config.credentials_provider(role.clone());
        }
        aws_sdk_config::Client::from_conf(config.build())
    });
    Aggregator::new(client, &spec.name)
}
