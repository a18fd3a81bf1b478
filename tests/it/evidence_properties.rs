//! A metamorphic property of the decoders: writing identities, connection IDs, endpoint IDs, IPs
//! and ARNs into any field an actor can write (user agents, request parameters, titles,
//! descriptions, additional info, product fields, tags, notes) never changes what a finding names,
//! nor the connections it would end.

use crate::common::{event, EP_A, EP_B};
use cvpn_terminator::domain::model::{Cidr, Connection, ConnectionStatus, Endpoint};
use cvpn_terminator::domain::person::People;
use cvpn_terminator::domain::plan::MatchBy;
use cvpn_terminator::domain::plan::{select, Origin, Rules, Selector};
use cvpn_terminator::domain::trigger::evidence::Named;
use cvpn_terminator::domain::trigger::{decode, Finding, Trigger, TriggerSource};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Where each format keeps text its actor writes, relative to one finding.
const GUARDDUTY_TEXT: &[&[&str]] = &[
    &["title"],
    &["description"],
    &["service", "action", "awsApiCallAction", "userAgent"],
    &["service", "action", "awsApiCallAction", "requestParameters"],
    &["service", "action", "awsApiCallAction", "errorCode"],
    &[
        "service",
        "action",
        "awsApiCallAction",
        "remoteIpDetails",
        "organization",
    ],
    &["service", "action", "dnsRequestAction", "domain"],
    &["service", "additionalInfo"],
    &["service", "userFeedback"],
    &["resource", "instanceDetails", "tags"],
];
const ASFF_TEXT: &[&[&str]] = &[
    &["Title"],
    &["Description"],
    &["ProductFields"],
    &["Note", "Text"],
    &["SourceUrl"],
    &["UserDefinedFields", "note"],
    &["UserDefinedFields", "Comment"],
    &["Resources", "0", "Tags"],
    &["Resources", "0", "Details", "Other"],
    &["Action", "AwsApiCallAction", "Api"],
    &["Action", "AwsApiCallAction", "AffectedResources"],
    &["Network", "SourceDomain"],
];
const OCSF_TEXT: &[&[&str]] = &[
    &["finding_info", "title"],
    &["finding_info", "desc"],
    &["message"],
    &["http_request", "user_agent"],
    &["api", "request", "data"],
    &["unmapped"],
    &["observables"],
    &["actor", "session", "issuer"],
    &["metadata", "product", "name"],
];

/// Text an attacker would try: names, IDs, addresses and ARNs of other people, and objects shaped
/// like the trusted fields.
fn hostile() -> impl Strategy<Value = Value> {
    let atoms = prop_oneof![
        Just("bob".to_owned()),
        Just("alice@example.com".to_owned()),
        Just("\u{212A}ate".to_owned()),
        Just(format!("cvpn-connection-{:0>17}", "b0b1")),
        Just(EP_B.to_owned()),
        Just("cvpn-endpoint-0000000000000dead".to_owned()),
        Just("10.100.0.4".to_owned()),
        Just("10.200.0.7".to_owned()),
        Just("arn:aws:iam::111122223333:user/bob".to_owned()),
        Just("arn:aws:sts::111122223333:assumed-role/Admin/bob".to_owned()),
        Just("AROAEXAMPLE:bob".to_owned()),
        "[a-zA-Z0-9@:/._ -]{0,24}",
    ];
    let text = prop::collection::vec(atoms, 1..4).prop_map(|parts| parts.join(" "));
    prop_oneof![
        text.clone().prop_map(Value::String),
        text.clone()
            .prop_map(|t| json!({"userName": t, "principalId": t, "ipAddressV4": "10.100.0.4"})),
        text.clone().prop_map(|t| json!({
            "accessKeyDetails": {"userType": "IAMUser", "userName": t},
            "remoteIpDetails": {"ipAddressV4": "10.100.0.4"},
            "ClientVpnConnectionId": format!("cvpn-connection-{:0>17}", "b0b1"),
            "AwsIamAccessKey": {"PrincipalType": "IAMUser", "PrincipalName": "bob"},
            "actor": {"user": {"type": "IAMUser", "name": "bob"}},
            "src_endpoint": {"ip": "10.100.0.4"}
        })),
        text.prop_map(|t| json!([t, {"value": t, "type": "AwsIamUser", "uid": "arn:aws:iam::111122223333:user/bob"}])),
    ]
}

/// Writes `value` at `path` below `at`, making objects on the way (a number picks a list item).
fn put(at: &mut Value, path: &[&str], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        *at = value;
        return;
    };
    let child = match first.parse::<usize>() {
        Ok(i) if at.as_array().is_some_and(|a| a.len() > i) => &mut at[i],
        _ => {
            if !at.is_object() {
                *at = json!({});
            }
            at.as_object_mut()
                .unwrap()
                .entry(first.to_string())
                .or_insert(json!({}))
        }
    };
    put(child, rest, value);
}

/// The first finding of a sample, and where its findings sit in the event.
fn sample(
    format: usize,
) -> (
    Value,
    &'static [&'static str],
    &'static [&'static [&'static str]],
) {
    match format {
        0 => (
            event("guardduty-iam-assumed-role.json"),
            &["detail"],
            GUARDDUTY_TEXT,
        ),
        1 => (
            event("guardduty-ec2-vpn-client-ip.json"),
            &["detail"],
            GUARDDUTY_TEXT,
        ),
        2 => (
            event("securityhub-imported.json"),
            &["detail", "findings", "0"],
            ASFF_TEXT,
        ),
        3 => (
            event("securityhub-custom-action.json"),
            &["detail", "findings", "0"],
            ASFF_TEXT,
        ),
        _ => (
            event("securityhub-ocsf-v2.json"),
            &["detail", "findings", "0"],
            OCSF_TEXT,
        ),
    }
}

fn findings(event: &Value) -> Vec<Finding> {
    match decode(event).unwrap() {
        Trigger::Findings(f) => f.findings,
        other => panic!("not findings: {other:?}"),
    }
}

fn connection(endpoint: &str, id: &str, user: &str, ip: &str) -> Connection {
    Connection {
        place: Default::default(),
        endpoint_id: endpoint.into(),
        connection_id: format!("cvpn-connection-{id:0>17}"),
        username: Some(user.into()),
        common_name: Some(user.into()),
        client_ip: ip.parse().ok(),
        status: ConnectionStatus::Active,
        established: Some("2026-11-22T07:30:00Z".parse().unwrap()),
        ended: None,
        observed: None,
        ingress_bytes: 0,
        egress_bytes: 0,
    }
}

/// The connections every finding is matched against, and the IDs it would end.
fn targets(f: &Finding) -> BTreeSet<String> {
    let connections = [
        connection(EP_A, "a11ce1", "alice@example.com", "10.100.0.2"),
        connection(EP_A, "b0b1", "bob", "10.100.0.4"),
        connection(EP_A, "ca7e1", "kate", "10.100.0.5"),
        connection(EP_A, "da7e1", "dave", "10.100.0.8"),
        connection(EP_A, "e41a1", "erin", "10.100.0.6"),
        connection(EP_B, "ca4011", "x", "10.200.0.7"),
    ];
    let endpoints: Vec<Endpoint> = [(EP_A, "10.100.0.0/16"), (EP_B, "10.200.0.0/16")]
        .iter()
        .map(|(id, cidr)| Endpoint {
            place: Default::default(),
            id: id.to_string(),
            client_cidr: Cidr::parse(cidr),
            connect_handler: None,
        })
        .collect();
    let selector = Selector {
        origin: Origin::of(TriggerSource::GuardDuty),
        match_by: MatchBy::ALL,
        usernames: f
            .evidence
            .identities
            .iter()
            .map(|i| i.name.clone())
            .collect::<Vec<Named<String>>>(),
        ips: f.evidence.ips.clone(),
        connection_ids: f.evidence.connection_ids.clone(),
        endpoint_ids: f.evidence.endpoint_ids.clone(),
        seen_from: f.evidence.first_seen,
        seen_at: f.evidence.seen_at,
        since: None,
    };
    let selection = select(
        &[selector],
        &connections,
        &Rules {
            people: &People::default(),
            is_protected: &|_| false,
            endpoints: &endpoints,
        },
    );
    selection
        .targets
        .iter()
        .map(|t| t.connection.connection_id.clone())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn free_text_never_changes_the_targets(
        format in 0..5usize,
        writes in prop::collection::vec((any::<prop::sample::Index>(), hostile()), 1..6),
    ) {
        let (original, at, fields) = sample(format);
        let mut tampered = original.clone();
        let mut finding_at = &mut tampered;
        for step in at {
            finding_at = match step.parse::<usize>() {
                Ok(i) => &mut finding_at[i],
                Err(_) => &mut finding_at[*step],
            };
        }
        for (index, value) in &writes {
            put(finding_at, fields[index.index(fields.len())], value.clone());
        }
        let before = findings(&original);
        let after = findings(&tampered);
        prop_assert_eq!(&before[0].evidence, &after[0].evidence, "{}", tampered);
        prop_assert_eq!(targets(&before[0]), targets(&after[0]));
    }
}

#[test]
fn the_samples_name_someone_so_the_property_is_not_vacuous() {
    for format in 0..5 {
        let (event, _, _) = sample(format);
        assert!(!targets(&findings(&event)[0]).is_empty(), "sample {format}");
    }
}
