//! The incident path end to end: sample events through the handler, aws-sdk-ec2 over HTTP, and the
//! emulator's state afterwards.

use crate::common::*;
use cvpn_emulator::{ActionFaults, ConnectionStatus, Faults};
use cvpn_terminator::domain::model::{ConnectionStatus as Status, Reason};
use cvpn_terminator::domain::person::People;
use cvpn_terminator::domain::scope::Scope;
use cvpn_terminator::{Config, HandlerError};
use serde_json::json;

#[tokio::test]
async fn every_sample_ends_exactly_its_connections() {
    let cases: &[(&str, Vec<String>)] = &[
        (
            "guardduty-iam-assumed-role.json",
            vec![cid("a11ce", 1), cid("a11ce", 2), cid("a11ce", 3)],
        ),
        ("guardduty-ec2-vpn-client-ip.json", vec![cid("ca401", 1)]),
        ("securityhub-imported.json", vec![cid("b0b", 1)]),
        ("securityhub-custom-action.json", vec![cid("da7e", 1)]),
        ("securityhub-ocsf-v2.json", vec![cid("e41a", 1)]),
        (
            "direct-username.json",
            vec![cid("f4a4c", 1), cid("f4a4c", 2)],
        ),
        ("direct-connection-id.json", vec![cid("94ace", 1)]),
        ("direct-dry-run.json", vec![]),
    ];
    for (name, expected) in cases {
        let h = harness(sample_state(), Config::default()).await;
        let response = h
            .app
            .handle(&event(name))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(h.ended(), set(expected), "{name}: ended in the emulator");
        assert_eq!(
            ids(&response.terminated),
            set(expected),
            "{name}: reported terminated"
        );
        assert!(
            response.failed.is_empty() && response.errors.is_empty(),
            "{name}: {response:?}"
        );
        for t in &response.terminated {
            assert_eq!(
                (
                    t.previous_status.map(Status::as_str),
                    t.current_status.map(Status::as_str)
                ),
                (Some("active"), Some("terminating"))
            );
            assert!(
                t.detail.as_deref().is_some_and(|d| !d.is_empty()),
                "{name}: says why"
            );
        }
    }
}

#[tokio::test]
async fn an_assumed_role_finding_reaches_every_endpoint_in_few_calls() {
    let h = harness(sample_state(), Config::default()).await;
    let r = h
        .app
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .unwrap();
    assert_eq!(r.trigger.source.as_str(), "guard_duty");
    assert_eq!(r.trigger.findings[0].id, "6ec9f4b2d2a0f2a7b3e8c1d5f0a9e8b7");
    // One endpoint listing, one connection listing per endpoint, one Username call per endpoint.
    assert_eq!(r.api_calls, 1 + 2 + 2);
    assert_eq!(terminate_stats(&h).calls, 2);
    let why = r.terminated[0].detail.as_deref().unwrap();
    assert!(
        why.contains("alice@example.com") && why.contains("principalId (session name)"),
        "{why}"
    );
}

#[tokio::test]
async fn dry_run_changes_nothing_but_asks_ec2() {
    let config = Config {
        dry_run: true,
        ..Config::default()
    };
    let h = harness(sample_state(), config).await;
    let r = h
        .app
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .unwrap();
    assert!(r.dry_run);
    assert!(r.terminated.is_empty());
    assert_eq!(
        ids(&r.would_terminate),
        set(&[cid("a11ce", 1), cid("a11ce", 2), cid("a11ce", 3)])
    );
    assert!(h.ended().is_empty());
    // Both calls went out with DryRun=true and came back DryRunOperation.
    let stats = terminate_stats(&h);
    assert_eq!((stats.calls, stats.client_errors), (2, 2));

    let h = harness(sample_state(), Config::default()).await;
    let r = h.app.handle(&event("direct-dry-run.json")).await.unwrap();
    assert!(r.dry_run);
    assert_eq!(ids(&r.would_terminate), set(&[cid("4e1d1", 1)]));
    assert!(h.ended().is_empty());
}

#[tokio::test]
async fn protected_users_are_never_terminated_after_mapping() {
    let config = Config {
        protected_users: vec![People::default().pattern("alice@example.com").unwrap()],
        ..Config::default()
    };
    let h = harness(sample_state(), config).await;
    let r = h
        .app
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .unwrap();
    assert!(h.ended().is_empty());
    assert_eq!(
        r.skipped
            .iter()
            .filter(|s| s.reason.map(Reason::as_str) == Some("protected"))
            .count(),
        3
    );
    assert_eq!(terminate_stats(&h).calls, 0);

    // The identity Breakglass@example.com maps to the VPN user breakglass, who is protected.
    let mut config = Config::from_lookup(|name| match name {
        "CVPN_USERNAME_TEMPLATE" => Some("{local}".into()),
        "CVPN_PROTECTED_USERS" => Some("BREAKGLASS".into()),
        _ => None,
    })
    .unwrap();
    config.max_attempts = 2;
    let h = harness(sample_state(), config).await;
    let mut e = event("guardduty-iam-assumed-role.json");
    e["detail"]["resource"]["accessKeyDetails"]["principalId"] =
        json!("AROAEXAMPLE:Breakglass@example.com");
    let r = h.app.handle(&e).await.unwrap();
    assert!(h.ended().is_empty());
    assert_eq!(r.skipped[0].reason.map(Reason::as_str), Some("protected"));
    assert_eq!(
        r.skipped[0].connection_id.as_deref(),
        Some(cid("b4ea6", 1).as_str())
    );
}

#[tokio::test]
async fn over_the_cap_ends_nothing_and_fails_loudly() {
    let config = Config {
        max_terminations: 2,
        ..Config::default()
    };
    let h = harness(sample_state(), config).await;
    let err = h
        .app
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .unwrap_err();
    let HandlerError::CapExceeded {
        planned,
        cap,
        response,
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!((*planned, *cap), (3, 2));
    assert!(err.to_string().contains("CVPN_MAX_TERMINATIONS"));
    assert_eq!(
        response
            .skipped
            .iter()
            .filter(|s| s.reason.map(Reason::as_str) == Some("cap_exceeded"))
            .count(),
        3
    );
    assert!(h.ended().is_empty());
    assert_eq!(terminate_stats(&h).calls, 0);
}

#[tokio::test]
async fn more_than_five_connections_end_one_by_one() {
    let h = harness(with_user("mallory", "3a11", 7), Config::default()).await;
    let r = h.app.handle(&json!({"Username": "mallory"})).await.unwrap();
    let expected: Vec<String> = (1..=7).map(|i| cid("3a11", i)).collect();
    assert_eq!(h.ended(), set(&expected));
    assert_eq!(ids(&r.terminated), set(&expected));
    assert_eq!(terminate_stats(&h).calls, 7);
}

#[tokio::test]
async fn the_limit_error_mid_way_falls_back_to_planned_connections() {
    let h = harness(with_user("oscar", "05ca4", 3), Config::default()).await;
    let late: Vec<String> = (4..=6).map(|i| cid("05ca4", i)).collect();
    let late_connections: Vec<_> = late
        .iter()
        .map(|id| connection(id.clone(), Some("oscar"), "10.100.8.1"))
        .collect();
    let r = handle_meanwhile(
        &h,
        move |service| {
            service
                .upsert_connections(EP_A, late_connections.clone())
                .unwrap();
        },
        json!({"Username": "oscar"}),
    )
    .await
    .unwrap_err();
    let HandlerError::Incomplete(r) = &r else {
        panic!("{r}")
    };
    let planned: Vec<String> = (1..=3).map(|i| cid("05ca4", i)).collect();
    assert_eq!(ids(&r.terminated), set(&planned));
    assert_eq!(
        h.ended(),
        set(&planned),
        "the late connections are not ended by the fallback"
    );
    assert_eq!(ids(&r.left_active), set(&late), "but they are reported");
    let stats = terminate_stats(&h);
    assert_eq!((stats.calls, stats.client_errors), (1 + 3, 1));
}

#[tokio::test]
async fn a_user_gone_before_the_call_is_reported_not_failed() {
    let h = harness(sample_state(), Config::default()).await;
    let r = handle_meanwhile(
        &h,
        |service| {
            let mut gone: Vec<_> = [1, 2]
                .iter()
                .map(|i| connection(cid("f4a4c", *i), Some("frank"), "10.100.0.7"))
                .collect();
            gone.iter_mut()
                .for_each(|c| c.status = ConnectionStatus::Terminated);
            service.upsert_connections(EP_A, gone).unwrap();
        },
        event("direct-username.json"),
    )
    .await
    .unwrap();
    assert!(r.terminated.is_empty() && r.failed.is_empty());
    let reasons: Vec<_> = r
        .skipped
        .iter()
        .map(|s| s.reason.map(Reason::as_str).unwrap())
        .collect();
    assert_eq!(reasons, ["already_ended", "already_ended"]);
    assert!(r.skipped[0]
        .detail
        .as_deref()
        .unwrap()
        .contains("UserNotFound"));
}

#[tokio::test]
async fn a_user_without_connections_matches_nothing() {
    let h = harness(sample_state(), Config::default()).await;
    let r = h
        .app
        .handle(&json!({"Username": "nobody", "Reason": "test"}))
        .await
        .unwrap();
    assert!(r.terminated.is_empty() && h.ended().is_empty());
    assert_eq!(r.skipped[0].reason.map(Reason::as_str), Some("no_match"));
    assert_eq!(terminate_stats(&h).calls, 0);
}

#[tokio::test]
async fn an_unknown_endpoint_is_reported_and_the_others_still_served() {
    let config = Config {
        scope: Scope::endpoints(vec![EP_A.into(), "cvpn-endpoint-0000000000000dead".into()]),
        ..Config::default()
    };
    let h = harness(sample_state(), config).await;
    let err = h
        .app
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .unwrap_err();
    let HandlerError::Incomplete(r) = &err else {
        panic!("{err}")
    };
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].code, "InvalidClientVpnEndpointId.NotFound");
    assert_eq!(
        r.errors[0].endpoint_id.as_deref(),
        Some("cvpn-endpoint-0000000000000dead")
    );
    assert_eq!(h.ended(), set(&[cid("a11ce", 1), cid("a11ce", 2)]));
    assert!(err
        .to_string()
        .contains("InvalidClientVpnEndpointId.NotFound"));

    // A direct request for an endpoint outside the configured ones is refused before any call.
    let h = harness(
        sample_state(),
        Config {
            scope: Scope::endpoints(vec![EP_A.into()]),
            ..Config::default()
        },
    )
    .await;
    let err = h
        .app
        .handle(&json!({"ClientVpnEndpointId": EP_B, "Username": "alice@example.com"}))
        .await
        .unwrap_err();
    assert!(matches!(err, HandlerError::BadEvent(_)), "{err}");
    assert_eq!(h.api_calls(), 0);
}

#[tokio::test]
async fn a_region_whose_endpoints_cannot_be_listed_is_reported_as_such() {
    let h = harness(sample_state(), Config::default()).await;
    let denied = ActionFaults {
        deny: true,
        ..Default::default()
    };
    let actions = [("DescribeClientVpnEndpoints".to_owned(), denied)].into();
    h.emulator
        .service()
        .set_faults(Faults { seed: 5, actions })
        .unwrap();
    let err = h
        .app
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .unwrap_err();
    let HandlerError::Incomplete(r) = err else {
        panic!("{err}")
    };
    assert_eq!(r.errors.len(), 1);
    assert_eq!(
        (r.errors[0].action, r.errors[0].code.as_str()),
        ("DescribeClientVpnEndpoints", "UnauthorizedOperation")
    );
    assert!(
        r.skipped.is_empty(),
        "not reported as matching nothing: {:?}",
        r.skipped
    );
    assert!(h.ended().is_empty());
}

#[tokio::test]
async fn findings_that_fail_a_gate_make_no_call() {
    let h = harness(sample_state(), Config::default()).await;
    let mut e = event("guardduty-iam-assumed-role.json");
    e["detail"]["severity"] = json!(5.5);
    let r = h.app.handle(&e).await.unwrap();
    assert_eq!(
        r.skipped[0].reason.map(Reason::as_str),
        Some("below_severity")
    );
    assert_eq!(r.api_calls, 0);
    e["detail"]["severity"] = json!(8);
    e["detail"]["service"]["archived"] = json!(true);
    let r = h.app.handle(&e).await.unwrap();
    assert_eq!(
        r.skipped[0].reason.map(Reason::as_str),
        Some("finding_closed")
    );
    assert!(h.ended().is_empty());
}
