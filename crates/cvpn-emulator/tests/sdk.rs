//! The real aws-sdk-ec2, configured only with an endpoint URL and dummy credentials, against the
//! in-process emulator.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_ec2::config::Credentials;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{ClientVpnConnection, Filter};
use aws_sdk_ec2::Client;
use cvpn_emulator::{
    ActionFaults, ClockChange, ConnectionState, ConnectionStatus, EndpointState, Faults, Options,
    RunningEmulator, StateFile, Throttle,
};

const EP: &str = "cvpn-endpoint-0123456789abcdef0";
const EP2: &str = "cvpn-endpoint-0123456789abcdef1";

fn conn(id: usize, user: &str) -> ConnectionState {
    ConnectionState {
        connection_id: format!("cvpn-connection-{id:017x}"),
        username: Some(user.to_owned()),
        common_name: Some(user.to_owned()),
        client_ip: Some(format!("10.100.{}.{}", id / 250, id % 250 + 2)),
        client_ipv6_address: None,
        status: ConnectionStatus::Active,
        status_message: None,
        connection_established_time: "2026-11-22T08:00:00Z".parse().unwrap(),
        connection_end_time: None,
        ingress_bytes: 1200,
        egress_bytes: 3400,
        ingress_packets: 12,
        egress_packets: 34,
        posture_compliance_status_set: vec![],
    }
}

fn endpoint(id: &str, connections: Vec<ConnectionState>) -> EndpointState {
    EndpointState {
        client_vpn_endpoint_id: id.to_owned(),
        client_cidr_block: "10.100.0.0/16".into(),
        description: Some("test".into()),
        status: "available".into(),
        vpc_id: None,
        client_connect_options: None,
        connections,
        refused_connections: vec![],
    }
}

/// Endpoint EP: alice (1 connection), bob (3), carol (6); EP2: dave (1).
fn small_world() -> StateFile {
    let mut connections = vec![conn(1, "alice")];
    connections.extend((10..13).map(|i| conn(i, "bob")));
    connections.extend((20..26).map(|i| conn(i, "carol")));
    StateFile {
        endpoints: vec![
            endpoint(EP, connections),
            endpoint(EP2, vec![conn(99, "dave")]),
        ],
        ..StateFile::default()
    }
}

async fn start(state: StateFile) -> (RunningEmulator, Client) {
    let emulator = cvpn_emulator::start("127.0.0.1:0", state, Options::default())
        .await
        .unwrap();
    emulator
        .service()
        .set_clock(&ClockChange {
            now: Some("2026-11-22T09:00:00Z".into()),
            ..Default::default()
        })
        .unwrap();
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "example-secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(emulator.url())
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    (emulator, Client::new(&config))
}

async fn connections(client: &Client, endpoint: &str) -> Vec<ClientVpnConnection> {
    client
        .describe_client_vpn_connections()
        .client_vpn_endpoint_id(endpoint)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
}

fn status_of<'a>(all: &'a [ClientVpnConnection], id: &str) -> Option<&'a str> {
    all.iter()
        .find(|c| c.connection_id() == Some(id))
        .and_then(|c| c.status()?.code().map(|c| c.as_str()))
}

fn advance(emulator: &RunningEmulator, seconds: i64) {
    emulator
        .service()
        .set_clock(&ClockChange {
            advance_seconds: Some(seconds),
            ..Default::default()
        })
        .unwrap();
}

#[tokio::test]
async fn describes_endpoints_by_id_and_pages_them() {
    let (_emulator, client) = start(small_world()).await;
    let all = client.describe_client_vpn_endpoints().send().await.unwrap();
    let ids: Vec<_> = all
        .client_vpn_endpoints()
        .iter()
        .filter_map(|e| e.client_vpn_endpoint_id())
        .collect();
    assert_eq!(ids, [EP, EP2]);
    assert_eq!(
        all.client_vpn_endpoints()[0].client_cidr_block(),
        Some("10.100.0.0/16")
    );

    let one = client
        .describe_client_vpn_endpoints()
        .client_vpn_endpoint_ids(EP2)
        .send()
        .await
        .unwrap();
    assert_eq!(one.client_vpn_endpoints().len(), 1);
    assert_eq!(
        one.client_vpn_endpoints()[0].client_vpn_endpoint_id(),
        Some(EP2)
    );

    let missing = client
        .describe_client_vpn_endpoints()
        .client_vpn_endpoint_ids("cvpn-endpoint-00000000000000000")
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("InvalidClientVpnEndpointId.NotFound"));
}

#[tokio::test]
async fn describe_reports_every_documented_field() {
    let (_emulator, client) = start(small_world()).await;
    let all = connections(&client, EP).await;
    assert_eq!(all.len(), 10);
    let alice = all.iter().find(|c| c.username() == Some("alice")).unwrap();
    assert_eq!(alice.client_vpn_endpoint_id(), Some(EP));
    assert_eq!(
        alice.connection_id(),
        Some("cvpn-connection-00000000000000001")
    );
    assert_eq!(alice.common_name(), Some("alice"));
    assert_eq!(alice.client_ip(), Some("10.100.0.3"));
    assert_eq!(alice.ingress_bytes(), Some("1200"));
    assert_eq!(alice.egress_bytes(), Some("3400"));
    assert_eq!(alice.ingress_packets(), Some("12"));
    assert_eq!(alice.egress_packets(), Some("34"));
    assert_eq!(
        alice.connection_established_time(),
        Some("2026-11-22 08:00:00")
    );
    assert_eq!(alice.timestamp(), Some("2026-11-22 09:00:00"));
    assert_eq!(
        alice.status().and_then(|s| s.code()).map(|c| c.as_str()),
        Some("active")
    );
    assert_eq!(alice.connection_end_time(), None);
}

#[tokio::test]
async fn filters_by_username_and_connection_id() {
    let (_emulator, client) = start(small_world()).await;
    let bob = client
        .describe_client_vpn_connections()
        .client_vpn_endpoint_id(EP)
        .filters(Filter::builder().name("username").values("bob").build())
        .send()
        .await
        .unwrap();
    assert_eq!(bob.connections().len(), 3);
    assert!(bob
        .connections()
        .iter()
        .all(|c| c.username() == Some("bob")));

    let two = client
        .describe_client_vpn_connections()
        .client_vpn_endpoint_id(EP)
        .filters(
            Filter::builder()
                .name("connection-id")
                .values("cvpn-connection-00000000000000001")
                .values("cvpn-connection-00000000000000014")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(two.connections().len(), 2);

    let bad = client
        .describe_client_vpn_connections()
        .client_vpn_endpoint_id(EP)
        .filters(
            Filter::builder()
                .name("client-ip")
                .values("10.0.0.1")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some("InvalidParameterValue"));
}

#[tokio::test]
async fn pages_through_2500_connections_at_1000_and_at_5() {
    let many = (0..2500).map(|i| conn(i, &format!("user{i}"))).collect();
    let (_emulator, client) = start(StateFile {
        endpoints: vec![endpoint(EP, many)],
        ..StateFile::default()
    })
    .await;
    for (page, expected_pages) in [(1000, 3), (5, 500)] {
        let pages: Vec<_> = client
            .describe_client_vpn_connections()
            .client_vpn_endpoint_id(EP)
            .max_results(page)
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap();
        assert_eq!(pages.len(), expected_pages, "page size {page}");
        assert!(pages.iter().all(|p| p.connections().len() <= page as usize));
        assert!(pages.last().unwrap().next_token().is_none());
        let mut ids: Vec<_> = pages
            .iter()
            .flat_map(|p| p.connections())
            .filter_map(|c| c.connection_id())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 2500, "page size {page}");
    }
}

#[tokio::test]
async fn refuses_bad_page_sizes_and_tokens() {
    let many = (0..20).map(|i| conn(i, "u")).collect();
    let (emulator, client) = start(StateFile {
        endpoints: vec![endpoint(EP, many)],
        ..StateFile::default()
    })
    .await;
    for size in [4, 1001] {
        let err = client
            .describe_client_vpn_connections()
            .client_vpn_endpoint_id(EP)
            .max_results(size)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Some("InvalidParameterValue"),
            "MaxResults {size}"
        );
    }
    let forged = client
        .describe_client_vpn_connections()
        .client_vpn_endpoint_id(EP)
        .next_token("AAAAforged")
        .send()
        .await
        .unwrap_err();
    assert_eq!(forged.code(), Some("InvalidPaginationToken"));

    let first = client
        .describe_client_vpn_connections()
        .client_vpn_endpoint_id(EP)
        .max_results(5)
        .send()
        .await
        .unwrap();
    let token = first.next_token().unwrap().to_owned();
    // A token belongs to its listing: another filter, or a replaced state, makes it stale.
    let other_listing = client
        .describe_client_vpn_connections()
        .client_vpn_endpoint_id(EP)
        .filters(Filter::builder().name("username").values("u").build())
        .next_token(&token)
        .send()
        .await
        .unwrap_err();
    assert_eq!(other_listing.code(), Some("InvalidPaginationToken"));
    let snapshot = emulator.service().snapshot();
    emulator.service().replace_state(snapshot).unwrap();
    let stale = client
        .describe_client_vpn_connections()
        .client_vpn_endpoint_id(EP)
        .next_token(&token)
        .send()
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Some("InvalidPaginationToken"));
}

#[tokio::test]
async fn terminates_by_connection_id_through_the_lifecycle() {
    let (emulator, client) = start(small_world()).await;
    let id = "cvpn-connection-00000000000000001";
    let out = client
        .terminate_client_vpn_connections()
        .client_vpn_endpoint_id(EP)
        .connection_id(id)
        .send()
        .await
        .unwrap();
    assert_eq!(out.client_vpn_endpoint_id(), Some(EP));
    let [status] = out.connection_statuses() else {
        panic!("one status expected")
    };
    assert_eq!(status.connection_id(), Some(id));
    assert_eq!(
        status
            .previous_status()
            .and_then(|s| s.code())
            .map(|c| c.as_str()),
        Some("active")
    );
    assert_eq!(
        status
            .current_status()
            .and_then(|s| s.code())
            .map(|c| c.as_str()),
        Some("terminating")
    );
    assert_eq!(
        status_of(&connections(&client, EP).await, id),
        Some("terminating")
    );

    advance(&emulator, 2);
    let all = connections(&client, EP).await;
    assert_eq!(status_of(&all, id), Some("terminated"));
    let ended = all.iter().find(|c| c.connection_id() == Some(id)).unwrap();
    assert_eq!(ended.connection_end_time(), Some("2026-11-22 09:00:02"));

    // Terminating again changes nothing and says so.
    let again = client
        .terminate_client_vpn_connections()
        .client_vpn_endpoint_id(EP)
        .connection_id(id)
        .send()
        .await
        .unwrap();
    let s = &again.connection_statuses()[0];
    assert_eq!(
        s.previous_status()
            .and_then(|s| s.code())
            .map(|c| c.as_str()),
        Some("terminated")
    );
    assert_eq!(
        s.current_status()
            .and_then(|s| s.code())
            .map(|c| c.as_str()),
        Some("terminated")
    );
    assert!(s.current_status().and_then(|s| s.message()).is_some());

    // Listed for 60 minutes after it ended, then gone, for Describe and Terminate alike.
    advance(&emulator, 59 * 60);
    assert_eq!(
        status_of(&connections(&client, EP).await, id),
        Some("terminated")
    );
    advance(&emulator, 60);
    assert_eq!(status_of(&connections(&client, EP).await, id), None);
    let gone = client
        .terminate_client_vpn_connections()
        .client_vpn_endpoint_id(EP)
        .connection_id(id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Some("InvalidClientVpnConnection.IdNotFound"));
    // The admin state still holds it, for checks after the fact.
    let state = emulator.service().snapshot();
    let kept = state.endpoints[0]
        .connections
        .iter()
        .find(|c| c.connection_id == id)
        .unwrap();
    assert_eq!(kept.status, ConnectionStatus::Terminated);
}

#[tokio::test]
async fn username_ends_up_to_five_connections_and_no_more() {
    let (_emulator, client) = start(small_world()).await;
    let bob = client
        .terminate_client_vpn_connections()
        .client_vpn_endpoint_id(EP)
        .username("bob")
        .send()
        .await
        .unwrap();
    assert_eq!(bob.username(), Some("bob"));
    assert_eq!(bob.connection_statuses().len(), 3);

    let carol = client
        .terminate_client_vpn_connections()
        .client_vpn_endpoint_id(EP)
        .username("carol")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        carol.code(),
        Some("ClientVpnTerminateConnectionsLimitExceeded")
    );
    let all = connections(&client, EP).await;
    let carol_active = all
        .iter()
        .filter(|c| {
            c.username() == Some("carol")
                && status_of(&all, c.connection_id().unwrap()) == Some("active")
        })
        .count();
    assert_eq!(carol_active, 6, "the limit error terminates nothing");
    assert!(all.iter().filter(|c| c.username() == Some("bob")).all(|c| c
        .status()
        .and_then(|s| s.code())
        .map(|c| c.as_str())
        == Some("terminating")));

    let again = client
        .terminate_client_vpn_connections()
        .client_vpn_endpoint_id(EP)
        .username("bob")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        again.code(),
        Some("InvalidClientVpnConnection.UserNotFound")
    );
}

#[tokio::test]
async fn terminate_errors_carry_their_documented_codes() {
    let (_emulator, client) = start(small_world()).await;
    let t = || client.terminate_client_vpn_connections();
    let cases = [
        (
            t().client_vpn_endpoint_id("cvpn-endpoint-00000000000000000")
                .username("alice"),
            "InvalidClientVpnEndpointId.NotFound",
        ),
        (
            t().client_vpn_endpoint_id(EP)
                .connection_id("cvpn-connection-0000000000000ffff"),
            "InvalidClientVpnConnection.IdNotFound",
        ),
        (
            t().client_vpn_endpoint_id(EP2)
                .connection_id("cvpn-connection-00000000000000001"),
            "InvalidClientVpnConnection.IdNotFound",
        ),
        (
            t().client_vpn_endpoint_id(EP).username("nobody"),
            "InvalidClientVpnConnection.UserNotFound",
        ),
        (
            t().client_vpn_endpoint_id(EP)
                .username("alice")
                .connection_id("cvpn-connection-00000000000000001"),
            "InvalidParameterCombination",
        ),
        (t().client_vpn_endpoint_id(EP), "MissingParameter"),
        (
            t().client_vpn_endpoint_id(EP)
                .username("alice")
                .dry_run(true),
            "DryRunOperation",
        ),
        (
            t().client_vpn_endpoint_id(EP)
                .connection_id("cvpn-connection-00000000000000001")
                .dry_run(true),
            "DryRunOperation",
        ),
    ];
    for (request, code) in cases {
        let err = request.send().await.unwrap_err();
        assert_eq!(err.code(), Some(code));
    }
    let dry = client
        .describe_client_vpn_connections()
        .client_vpn_endpoint_id(EP)
        .dry_run(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(dry.code(), Some("DryRunOperation"));
    assert_eq!(dry.raw_response().map(|r| r.status().as_u16()), Some(412));
    let all = connections(&client, EP).await;
    assert!(all
        .iter()
        .all(|c| c.status().and_then(|s| s.code()).map(|c| c.as_str()) == Some("active")));
}

#[tokio::test]
async fn throttling_surfaces_as_request_limit_exceeded_without_retries() {
    let (emulator, client) = start(small_world()).await;
    let throttled = ActionFaults {
        throttle: Some(Throttle {
            bucket: 2.0,
            refill_per_second: 0.0,
        }),
        ..Default::default()
    };
    emulator
        .service()
        .set_faults(Faults {
            seed: 1,
            actions: [("DescribeClientVpnEndpoints".to_owned(), throttled)].into(),
        })
        .unwrap();
    for _ in 0..2 {
        client.describe_client_vpn_endpoints().send().await.unwrap();
    }
    let err = client
        .describe_client_vpn_endpoints()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("RequestLimitExceeded"));
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(503));
    // Other actions have their own buckets.
    connections(&client, EP).await;
    let stats = emulator.service().stats();
    assert_eq!(stats["DescribeClientVpnEndpoints"].calls, 3);
    assert_eq!(stats["DescribeClientVpnEndpoints"].throttled, 1);
}

#[tokio::test]
async fn injected_server_errors_and_denial() {
    let (emulator, client) = start(small_world()).await;
    let faults = Faults {
        seed: 3,
        actions: [
            (
                "DescribeClientVpnConnections".to_owned(),
                ActionFaults {
                    error_rate: 1.0,
                    ..Default::default()
                },
            ),
            (
                "TerminateClientVpnConnections".to_owned(),
                ActionFaults {
                    deny: true,
                    ..Default::default()
                },
            ),
        ]
        .into(),
    };
    emulator.service().set_faults(faults).unwrap();
    let err = client
        .describe_client_vpn_connections()
        .client_vpn_endpoint_id(EP)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InternalError"));
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(500));
    let denied = client
        .terminate_client_vpn_connections()
        .client_vpn_endpoint_id(EP)
        .username("alice")
        .dry_run(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Some("UnauthorizedOperation"));
    assert_eq!(
        emulator.service().stats()["DescribeClientVpnConnections"].failed,
        1
    );
}
