//! AWS Config's aggregator as the inventory before any sweep: aws-sdk-config answered by
//! aws-smithy-mocks (neither moto's server nor the emulator has `SelectAggregateResourceConfig`),
//! Client VPN at the emulator as elsewhere. An incident lists only the places the aggregator
//! shows with endpoints, asks once per few minutes in a warm function, and lists every place
//! when the aggregator cannot be asked or its answer cannot be believed.

use crate::common::fleet::*;
use crate::common::*;
use aws_sdk_config::operation::describe_configuration_aggregator_sources_status::DescribeConfigurationAggregatorSourcesStatusOutput;
use aws_sdk_config::operation::select_aggregate_resource_config::{
    SelectAggregateResourceConfigError, SelectAggregateResourceConfigInput,
    SelectAggregateResourceConfigOutput,
};
use aws_sdk_config::types::error::NoSuchConfigurationAggregatorException;
use aws_sdk_config::types::{
    AggregatedSourceStatus, AggregatedSourceStatusType, AggregatedSourceType,
};
use aws_smithy_mocks::{mock, MockResponseInterceptor, Rule, RuleMode};
use cvpn_terminator::adapters::aggregator::Aggregator;
use cvpn_terminator::adapters::lazy::Lazy;
use cvpn_terminator::domain::inventory::aggregator::{QUERY, RECORDED};
use cvpn_terminator::Config;
use serde_json::json;
use std::sync::{Arc, Mutex};

/// The fleet's places and a fourth with no endpoint (the network account's Tokyo Region).
fn four_places() -> Vec<String> {
    let mut targets = everywhere();
    targets.push(role(NETWORK, "ap-northeast-1"));
    targets
}

fn row(account: &str, region: &str, n: u32, status: &str) -> String {
    json!({"accountId": account, "awsRegion": region,
           "resourceId": format!("cvpn-endpoint-{n:017x}"), "configurationItemStatus": status,
           "configuration": {"ClientConnectOptions": {"Enabled": false}}})
    .to_string()
}

/// What Config shows of the fleet: its three endpoints where they are, one deleted in Tokyo, and
/// one in an account that is no target.
fn the_fleet_as_config_shows_it() -> Vec<String> {
    vec![
        row(NETWORK, "eu-west-1", 1, "OK"),
        row(NETWORK, "us-east-1", 2, "ResourceDiscovered"),
        row(BRANCH, "ap-southeast-2", 3, "OK"),
        row(NETWORK, "ap-northeast-1", 7, "ResourceDeleted"),
        row("999988887777", "eu-west-1", 8, "OK"),
    ]
}

type Asked = Arc<Mutex<Vec<SelectAggregateResourceConfigInput>>>;

/// Where a recorder records every supported type: every place of the fleet, but `unrecorded`.
fn recorded(unrecorded: &'static [&'static str]) -> Rule {
    mock!(aws_sdk_config::Client::select_aggregate_resource_config)
        .match_requests(|req| req.expression() == Some(RECORDED))
        .then_output(move || {
            [
                (NETWORK, "eu-west-1"),
                (NETWORK, "us-east-1"),
                (BRANCH, "ap-southeast-2"),
                (NETWORK, "ap-northeast-1"),
            ]
            .iter()
            .filter(|(_, region)| !unrecorded.contains(region))
            .fold(
                SelectAggregateResourceConfigOutput::builder(),
                |out, (a, r)| {
                    out.results(
                    json!({"accountId": a, "awsRegion": r, "configurationItemStatus": "OK",
                        "configuration": {"Recording": true, "RecordingGroup": {"AllSupported": true}}})
                    .to_string(),
                )
                },
            )
            .build()
        })
}

/// The organization's data came through in every Region of the fleet, except in `failed`.
fn sources(failed: &'static [&'static str]) -> Rule {
    mock!(aws_sdk_config::Client::describe_configuration_aggregator_sources_status).then_output(
        move || {
            let status = |region: &str| {
                AggregatedSourceStatus::builder()
                    .source_id("o-exampleorgid")
                    .source_type(AggregatedSourceType::Organization)
                    .aws_region(region)
                    .last_update_status(if failed.contains(&region) {
                        AggregatedSourceStatusType::Failed
                    } else {
                        AggregatedSourceStatusType::Succeeded
                    })
                    .build()
            };
            ["eu-west-1", "us-east-1", "ap-southeast-2", "ap-northeast-1"]
                .iter()
                .fold(
                    DescribeConfigurationAggregatorSourcesStatusOutput::builder(),
                    |out, region| out.aggregated_source_status_list(status(region)),
                )
                .build()
        },
    )
}

/// The aggregator `org-wide` answering with `rows` (`None`: it does not exist), its sources
/// having failed in the `failed` Regions and nothing recorded in the `unrecorded` ones; each
/// query kept.
fn aggregator(
    rows: Option<Vec<String>>,
    failed: &'static [&'static str],
    unrecorded: &'static [&'static str],
    asked: &Asked,
) -> (Aggregator, Rule) {
    let keep = asked.clone();
    let rule = mock!(aws_sdk_config::Client::select_aggregate_resource_config).match_requests(
        move |req| {
            keep.lock().unwrap().push(req.clone());
            req.expression() == Some(QUERY)
        },
    );
    let rule = match rows {
        Some(rows) => rule.then_output(move || {
            rows.iter()
                .fold(SelectAggregateResourceConfigOutput::builder(), |out, r| {
                    out.results(r.clone())
                })
                .build()
        }),
        None => rule.then_error(|| {
            SelectAggregateResourceConfigError::NoSuchConfigurationAggregatorException(
                NoSuchConfigurationAggregatorException::builder()
                    .message("no aggregator org-wide")
                    .build(),
            )
        }),
    };
    let config = aws_sdk_config::config::Builder::from(&mocked_sdk())
        .interceptor(
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::MatchAny)
                .with_rule(&rule)
                .with_rule(&recorded(unrecorded))
                .with_rule(&sources(failed)),
        )
        .build();
    let client = aws_sdk_config::Client::from_conf(config);
    (Aggregator::new(Lazy::ready(client), "org-wide"), rule)
}

fn describes(d: &Deployment) -> u64 {
    d.emulator.service().stats()["DescribeClientVpnEndpoints"].calls
}

#[tokio::test]
async fn before_any_sweep_an_incident_lists_only_where_config_shows_endpoints() {
    let asked = Asked::default();
    let (config_aggregator, rule) =
        aggregator(Some(the_fleet_as_config_shows_it()), &[], &[], &asked);
    let mut d = deploy(&four_places(), Config::default()).await;
    d.app.api.set_aggregator(config_aggregator);
    let finding = event("guardduty-iam-assumed-role.json");
    let r = d.app.handle(&anew(&finding, "first")).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(sorted_ended(&d), alice_everywhere());
    // Tokyo, where Config's only endpoint is deleted, is not described.
    assert_eq!(describes(&d), 3);
    // Both queries, of the aggregator named: where the endpoints are, and where it records.
    let sent = asked.lock().unwrap().clone();
    let mut queries: Vec<&str> = sent.iter().filter_map(|q| q.expression()).collect();
    queries.sort();
    assert_eq!(queries, [RECORDED, QUERY]);
    assert!(sent
        .iter()
        .all(|q| q.configuration_aggregator_name() == Some("org-wide")));
    assert!(QUERY.contains("resourceType = 'AWS::EC2::ClientVpnEndpoint'"));
    // A warm function asks again only after a few minutes: the next incident goes by its word.
    d.app.handle(&anew(&finding, "second")).await.unwrap();
    assert_eq!(describes(&d), 6);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn an_aggregator_that_cannot_be_asked_or_believed_leaves_every_place_listed() {
    let finding = event("guardduty-iam-assumed-role.json");
    // No such aggregator; an answer with no endpoint at all; a row not as queried.
    let mut garbled = the_fleet_as_config_shows_it();
    garbled[1] =
        json!({"accountId": NETWORK, "resourceId": "cvpn-endpoint-00000000000000002"}).to_string();
    for rows in [None, Some(Vec::new()), Some(garbled)] {
        let asked = Asked::default();
        let (config_aggregator, rule) = aggregator(rows.clone(), &[], &[], &asked);
        let mut d = deploy(&four_places(), Config::default()).await;
        d.app.api.set_aggregator(config_aggregator);
        let r = d.app.handle(&anew(&finding, "asked")).await.unwrap();
        assert!(r.errors.is_empty(), "{rows:?}: {:?}", r.errors);
        assert_eq!(rule.num_calls(), 1, "{rows:?}");
        assert_eq!(describes(&d), 4, "{rows:?}");
        assert_eq!(sorted_ended(&d), alice_everywhere(), "{rows:?}");
        // The next incident does not wait for it again: a failure is kept a minute, an answer
        // five.
        d.app.handle(&anew(&finding, "again")).await.unwrap();
        assert_eq!(rule.num_calls(), 1, "{rows:?}");
        assert_eq!(describes(&d), 8, "{rows:?}");
    }
}

#[tokio::test]
async fn a_place_where_config_may_not_speak_is_listed() {
    let asked = Asked::default();
    let rows = Some(the_fleet_as_config_shows_it());
    // Tokyo's source failed; no recorder records there.
    for (failed, unrecorded) in [
        (&["ap-northeast-1"][..], &[][..]),
        (&[], &["ap-northeast-1"]),
    ] {
        let (config_aggregator, _) = aggregator(rows.clone(), failed, unrecorded, &asked);
        let mut d = deploy(&four_places(), Config::default()).await;
        d.app.api.set_aggregator(config_aggregator);
        let r = d
            .app
            .handle(&event("guardduty-iam-assumed-role.json"))
            .await
            .unwrap();
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        // Config's silence on Tokyo says nothing there.
        assert_eq!(describes(&d), 4, "{failed:?} {unrecorded:?}");
        assert_eq!(sorted_ended(&d), alice_everywhere());
    }
}
