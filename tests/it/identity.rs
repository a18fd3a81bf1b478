//! One person, one identity, end to end (aws-sdk-ec2 against the emulator, holds in moto's
//! DynamoDB): who may name a person, every logon form of a directory account, Unicode case
//! variants kept out but never ended, a certificate named for a held user, the per-person limit.

// The handler's future nests the AWS SDK's deep async stacks (see src/bin/cvpn-terminator/main.rs).

use crate::common::quarantine::*;
use crate::common::*;
use cvpn_terminator::domain::model::Reason;
use cvpn_terminator::shell::config::Quarantine;
use cvpn_terminator::{Config, Response};
use serde_json::{json, Value};

fn reasons(r: &Response) -> Vec<Reason> {
    r.skipped.iter().filter_map(|e| e.reason).collect()
}

/// `config()` with these settings read as the function reads its environment.
fn with(vars: &[(&str, &str)]) -> Config {
    let base = config();
    let read = Config::from_lookup(|n| {
        vars.iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.to_string())
    })
    .unwrap();
    Config {
        state_table: base.state_table,
        protected_users: base.protected_users,
        quarantine: Quarantine {
            handler_arn: base.quarantine.handler_arn,
            connect_timeout: base.quarantine.connect_timeout,
            ..read.quarantine.clone()
        },
        ..read
    }
}

#[tokio::test]
async fn a_session_name_the_caller_chose_names_nobody_and_holds_nobody() {
    let moto = Moto::start();
    let h = with_table(config(), &moto, "untrusted").await;
    // Any role of any account, assumed with --role-session-name alice@example.com.
    let mut e = event("guardduty-iam-assumed-role.json");
    e["detail"]["resource"]["accessKeyDetails"]["userName"] = json!("Deploy");
    let r = h.app.handle(&e).await.unwrap();
    assert!(r.terminated.is_empty(), "{:?}", r.terminated);
    assert!(r.quarantine.is_empty(), "{:?}", r.quarantine);
    assert!(
        reasons(&r).contains(&Reason::UntrustedSessionName),
        "{:?}",
        r.skipped
    );
    assert!(r
        .skipped
        .iter()
        .any(|s| s.detail.as_deref().is_some_and(|d| d.contains("Deploy"))));
    assert!(h.ended().is_empty());

    // A role whose session names the team trusts, and Identity Center's own, do name people.
    let trusted = app_with(&h, with(&[("CVPN_TRUSTED_SESSION_ROLES", "deploy")]));
    assert_eq!(trusted.handle(&e).await.unwrap().terminated.len(), 3);
}

#[tokio::test]
async fn an_iam_user_names_a_person_only_in_the_accounts_that_may() {
    let moto = Moto::start();
    let h = with_table(config(), &moto, "accounts").await;
    let mut foreign = event("securityhub-imported.json");
    foreign["detail"]["findings"][0]["AwsAccountId"] = json!("999999999999");
    let r = h.app.handle(&foreign).await.unwrap();
    assert!(r.terminated.is_empty() && r.quarantine.is_empty(), "{r:?}");
    assert!(
        reasons(&r).contains(&Reason::ForeignAccount),
        "{:?}",
        r.skipped
    );
    // The function's own account (STS GetCallerIdentity, answered by the emulator) may.
    let own = h
        .app
        .handle(&event("securityhub-imported.json"))
        .await
        .unwrap();
    assert_eq!(own.terminated.len(), 1, "{:?}", own.skipped);
    // `*` opts into any account.
    let any = app_with(&h, with(&[("CVPN_IDENTITY_ACCOUNTS", "*")]));
    let mut again = foreign.clone();
    again["detail"]["findings"][0]["Id"] = json!("another-finding");
    assert!(any.handle(&again).await.is_ok());
}

#[tokio::test]
async fn the_own_account_not_known_is_said_and_fails_the_invocation() {
    let h = harness(sample_state(), Config::default()).await;
    let blind = cvpn_terminator::App::<_, cvpn_terminator::Dynamo> {
        config: Config::default(),
        api: cvpn_terminator::Ec2::new(ec2_client(&h.emulator.url(), 2)).into(),
        store: None,
        notifiers: Default::default(),
        directory: None,
    };
    let Err(cvpn_terminator::HandlerError::Incomplete(r)) =
        blind.handle(&event("securityhub-imported.json")).await
    else {
        panic!("an unknown own account must fail loudly");
    };
    assert!(
        r.errors.iter().any(|e| e.code == "OwnAccountUnknown"),
        "{:?}",
        r.errors
    );
    assert!(r.terminated.is_empty());
}

#[tokio::test]
async fn a_posture_finding_never_acts() {
    let moto = Moto::start();
    let h = with_table(with(&[("CVPN_MIN_SEVERITY", "4")]), &moto, "posture").await;
    // Security Hub's control IAM.5: an IAM user with a console password and no MFA.
    let mut e = event("securityhub-imported.json");
    let f = &mut e["detail"]["findings"][0];
    f["Types"] = json!(["Software and Configuration Checks/Industry and Regulatory Standards"]);
    f["Compliance"] = json!({"Status": "FAILED", "SecurityControlId": "IAM.5"});
    let r = h.app.handle(&e).await.unwrap();
    assert!(r.terminated.is_empty() && r.quarantine.is_empty(), "{r:?}");
    assert_eq!(reasons(&r), [Reason::PostureFinding]);
    assert!(h.ended().is_empty());
}

/// alice's directory account, connected three ways on endpoint A, and another alice elsewhere.
fn directory_state() -> cvpn_emulator::StateFile {
    let mut state = sample_state();
    for (n, user) in ["CORP\\alice", "alice@corp.example.com", "Alice"]
        .iter()
        .enumerate()
    {
        let c = connection(cid("d1", n as u32), Some(user), &format!("10.100.9.{n}"));
        state.endpoints[0].connections.push(c);
    }
    state
}

#[tokio::test]
async fn every_logon_form_of_a_directory_account_is_ended_and_kept_out() {
    let moto = Moto::start();
    let settings = [
        ("CVPN_DIRECTORY_DOMAINS", "CORP=corp.example.com"),
        ("CVPN_USERNAME_TEMPLATE", "{local}"),
    ];
    let mut h = harness(directory_state(), with(&settings)).await;
    h.app.store = Some(moto.table("directory").await);
    let r = h
        .app
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .unwrap();
    let mut ended: Vec<&str> = r
        .terminated
        .iter()
        .filter_map(|e| e.username.as_deref())
        .collect();
    ended.sort();
    assert_eq!(ended, ["Alice", "CORP\\alice", "alice@corp.example.com"]);
    assert!(r
        .terminated
        .iter()
        .all(|e| e.person.as_deref() == Some("alice") || e.person.as_deref() == Some("Alice")));
    let [hold] = r.quarantine.as_slice() else {
        panic!("{:?}", r.quarantine)
    };
    assert_eq!(hold.name, "alice");
    for form in ["corp\\ALICE", "Alice@Corp.Example.Com", "alice"] {
        assert!(
            !allowed(&connect(&h.app, Some(form), "laptop.vpn").await),
            "{form}"
        );
    }
    // Another domain's alice is another person.
    assert!(allowed(
        &connect(&h.app, Some("alice@example.com"), "laptop.vpn").await
    ));
    // A release by any form lifts the hold on every form.
    let release = json!({"Release": {"Username": "CORP\\Alice", "RequestedBy": "soc"}});
    h.app.handle(&release).await.unwrap();
    assert!(allowed(
        &connect(&h.app, Some("alice@corp.example.com"), "laptop.vpn").await
    ));
}

async fn hold(h: &Harness, name: &str) -> Value {
    let request = json!({"Quarantine": {"Username": name, "Minutes": 60, "RequestedBy": "soc"}});
    serde_json::to_value(h.app.handle(&request).await.unwrap()).unwrap()
}

#[tokio::test]
async fn unicode_case_variants_are_kept_out_but_never_ended() {
    let moto = Moto::start();
    let mut state = sample_state();
    state.endpoints[0].connections.push(connection(
        cid("d2", 1),
        Some("\u{212A}ate"),
        "10.100.9.20",
    ));
    let mut h = harness(state, config()).await;
    h.app.store = Some(moto.table("unicode").await);
    hold(&h, "kate").await;
    hold(&h, "jörg@example.com").await;
    assert!(!allowed(
        &connect(&h.app, Some("\u{212A}ate"), "laptop.vpn").await
    ));
    assert!(!allowed(
        &connect(&h.app, Some("JÖRG@example.com"), "laptop.vpn").await
    ));
    // A certificate whose common name is the held user's name is hers.
    assert!(!allowed(&connect(&h.app, None, "kate").await));
    assert!(!allowed(&connect(&h.app, Some("bob"), "Kate").await));
    // Ending stays precise: the Kelvin-sign name is not kate's session.
    let r = h.app.handle(&json!({"Username": "kate"})).await.unwrap();
    assert!(r.terminated.is_empty(), "{:?}", r.terminated);
    assert!(!h.ended().contains(&cid("d2", 1)));
}

#[tokio::test]
async fn the_per_user_limit_counts_one_person_once_in_any_case() {
    let moto = Moto::start();
    let mut state = sample_state();
    // bob has one connection on endpoint A already; BOB is the same person.
    state.endpoints[0]
        .connections
        .push(connection(cid("d3", 1), Some("BOB"), "10.100.9.30"));
    let mut config = config();
    config.quarantine.max_connections_per_user = Some(2);
    let mut h = harness(state, config).await;
    h.app.store = Some(moto.table("limit").await);
    assert!(!allowed(&connect(&h.app, Some("Bob"), "laptop.vpn").await));
    assert!(allowed(&connect(&h.app, Some("dave"), "laptop.vpn").await));
}

#[tokio::test]
async fn a_bad_setting_the_handler_does_not_use_changes_no_decision() {
    let moto = Moto::start();
    let h = with_table(config(), &moto, "unused").await;
    hold(&h, "dave").await;
    let vars = [
        ("CVPN_MIN_SEVERITY", "eleven"),
        ("CVPN_STATE_TABLE", "unused"),
        ("CVPN_CONNECT_ON_ERROR", "Deny"),
    ];
    let degraded = Config::for_connect(vars.iter().map(|(k, v)| (k.into(), v.into())));
    assert!(degraded.unreadable.is_empty(), "{:?}", degraded.unreadable);
    let app = app_with(&h, degraded);
    assert!(!allowed(&connect(&app, Some("dave"), "laptop.vpn").await));
    assert!(allowed(&connect(&app, Some("erin"), "laptop.vpn").await));
}
