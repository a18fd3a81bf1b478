//! Findings name only what they can vouch for: each way an attacker (or a principal that is not a
//! person) could steer the incident path, tried through the handler, aws-sdk-ec2 over HTTP and the
//! emulator.

use crate::common::*;
use cvpn_emulator::{EndpointState, StateFile};
use cvpn_terminator::domain::model::Reason;
use cvpn_terminator::{Config, HandlerError, Response};
use serde_json::{json, Value};
use std::collections::HashMap;

fn config(vars: &[(&str, &str)]) -> Config {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|name| vars.get(name).cloned()).unwrap()
}

/// The skip reasons, leaving out `no_match` for the samples' public caller addresses, which are
/// no VPN client's.
fn reasons(r: &Response) -> Vec<&str> {
    r.skipped
        .iter()
        .filter(|e| {
            !(e.reason.map(Reason::as_str) == Some("no_match")
                && e.detail
                    .as_deref()
                    .is_some_and(|d| d.starts_with("no live connection matches client IPs [")))
        })
        .filter_map(|e| e.reason.map(Reason::as_str))
        .collect()
}

fn alice() -> BTreeSet {
    set(&[cid("a11ce", 1), cid("a11ce", 2), cid("a11ce", 3)])
}

type BTreeSet = std::collections::BTreeSet<String>;

/// The assumed-role GuardDuty sample with `edit` applied to its `detail`.
fn guardduty(edit: impl FnOnce(&mut Value)) -> Value {
    let mut e = event("guardduty-iam-assumed-role.json");
    edit(&mut e["detail"]);
    e
}

/// A GuardDuty finding whose access key is `key`, from the Region's own account.
fn guardduty_key(key: Value) -> Value {
    guardduty(|d| d["resource"]["accessKeyDetails"] = key)
}

async fn run(state: StateFile, config: Config, event: &Value) -> (Harness, Response) {
    let h = harness(state, config).await;
    let r = h.app.handle(event).await.unwrap_or_else(|e| panic!("{e}"));
    (h, r)
}

#[tokio::test]
async fn a_user_agent_naming_endpoints_neither_narrows_nor_escapes_the_scope() {
    let hostile = guardduty(|d| {
        d["service"]["action"]["awsApiCallAction"]["userAgent"] =
            json!("aws-cli/2 cvpn-endpoint-0000000000000dead cvpn-endpoint-0b1c2d3e4f5a60719");
        d["service"]["additionalInfo"] =
            json!({"value": "{\"endpoint\":\"cvpn-endpoint-0000000000000dead\"}"});
    });
    // Without CVPN_ENDPOINT_IDS: every endpoint is still looked at.
    let (h, r) = run(sample_state(), Config::default(), &hostile).await;
    assert_eq!(h.ended(), alice(), "{r:?}");
    // With CVPN_ENDPOINT_IDS: not talked out of scope either.
    let scoped = config(&[("CVPN_ENDPOINT_IDS", EP_A)]);
    let (h, r) = run(sample_state(), scoped, &hostile).await;
    assert_eq!(h.ended(), set(&[cid("a11ce", 1), cid("a11ce", 2)]), "{r:?}");
    assert!(!reasons(&r).contains(&"out_of_scope"));
}

#[tokio::test]
async fn a_connection_id_in_free_text_ends_nobody() {
    let bob = cid("b0b", 1);
    let hostile = guardduty(|d| {
        d["service"]["action"]["awsApiCallAction"]["userAgent"] = json!(format!("Boto3 {bob}"));
        d["service"]["action"]["awsApiCallAction"]["requestParameters"] =
            json!({"connectionId": bob, "userName": "bob", "sourceIp": "10.100.0.4"});
        d["title"] = json!(format!("{bob} bob 10.100.0.4"));
        d["description"] = json!(format!("see {bob}"));
    });
    let (h, _) = run(sample_state(), Config::default(), &hostile).await;
    assert_eq!(h.ended(), alice());
}

#[tokio::test]
async fn principals_that_are_not_people_end_nothing() {
    let cases = [
        // A role's name in userName and no type: everyone named like the role would go.
        json!({"userName": "bob", "principalId": "AROAEXAMPLE:bob-session"}),
        json!({"userType": "Role", "userName": "bob", "principalId": "AROAEXAMPLE"}),
        json!({"userType": "AssumedRole", "userName": "bob", "principalId": "AIDAEXAMPLE"}),
        json!({"userType": "Root", "userName": "bob", "principalId": "111122223333"}),
        json!({"userType": "AWSService", "userName": "bob"}),
    ];
    for key in cases {
        let (h, r) = run(
            sample_state(),
            Config::default(),
            &guardduty_key(key.clone()),
        )
        .await;
        assert!(h.ended().is_empty(), "{key}: {:?}", h.ended());
        assert_eq!(reasons(&r), ["no_identity"], "{key}");
        assert!(r.skipped[0]
            .detail
            .as_deref()
            .unwrap()
            .starts_with("event.detail.resource.accessKeyDetails"));
    }
    let mut asff = event("securityhub-imported.json");
    let resources = [
        json!({"Type": "AwsIamAccessKey", "Id": "AWS::IAM::AccessKey:AKIAX",
            "Details": {"AwsIamAccessKey": {"PrincipalName": "bob", "UserName": "bob"}}}),
        json!({"Type": "AwsIamAccessKey", "Id": "AWS::IAM::AccessKey:AKIAX",
            "Details": {"AwsIamAccessKey": {"PrincipalType": "Root", "PrincipalName": "bob"}}}),
        json!({"Type": "AwsIamUser", "Id": "arn:aws:memorydb:eu-west-1:111122223333:user/bob",
            "Details": {"AwsIamUser": {"UserName": "bob"}}}),
        json!({"Type": "Other", "Id": "arn:aws:transfer:eu-west-1:111122223333:user/s-0123/bob"}),
    ];
    for resource in resources {
        asff["detail"]["findings"][0]["Resources"] = json!([resource.clone()]);
        let (h, r) = run(sample_state(), Config::default(), &asff).await;
        assert!(h.ended().is_empty(), "{resource}");
        assert_eq!(reasons(&r), ["no_identity"], "{resource}");
    }
    let mut ocsf = event("securityhub-ocsf-v2.json");
    ocsf["detail"]["findings"][0]["actor"]["user"] = json!({"name": "erin", "uid": "AIDAX"});
    ocsf["detail"]["findings"][0]["resources"] = json!([]);
    let (h, r) = run(sample_state(), Config::default(), &ocsf).await;
    assert!(h.ended().is_empty());
    assert_eq!(reasons(&r), ["no_identity"]);
}

#[tokio::test]
async fn types_are_compared_without_case() {
    let key = json!({"userType": "assumedRole", "userName": "AWSReservedSSO_SomeRole_0123",
        "principalId": "AROAEXAMPLE:alice@example.com"});
    let (h, _) = run(sample_state(), Config::default(), &guardduty_key(key)).await;
    assert_eq!(h.ended(), alice());
}

/// The sample state plus an endpoint that hands out the same client CIDR as endpoint B.
fn twin_endpoints(established: &str) -> StateFile {
    let mut state = sample_state();
    let mut twin = connection(cid("7717", 1), Some("tina"), "10.200.0.7");
    twin.connection_established_time = established.parse().unwrap();
    state.endpoints.push(EndpointState {
        client_vpn_endpoint_id: "cvpn-endpoint-0c1d2e3f4a5b60720".into(),
        client_cidr_block: "10.200.0.0/16".into(),
        description: None,
        status: "available".into(),
        vpc_id: None,
        client_connect_options: None,
        connections: vec![twin],
        refused_connections: vec![],
    });
    state
}

#[tokio::test]
async fn a_client_ip_held_on_two_endpoints_ends_neither() {
    let (h, r) = run(
        twin_endpoints("2026-11-22T07:30:00Z"),
        Config::default(),
        &event("guardduty-ec2-vpn-client-ip.json"),
    )
    .await;
    assert!(h.ended().is_empty());
    assert_eq!(reasons(&r), ["ambiguous_ip"]);
}

#[tokio::test]
async fn a_client_ip_taken_after_the_activity_ends_nobody() {
    // Only the twin endpoint, whose connection took 10.200.0.7 after the finding's last activity.
    let mut state = twin_endpoints("2026-11-22T09:13:00Z");
    state.endpoints.retain(|e| e.client_vpn_endpoint_id != EP_B);
    let (h, r) = run(
        state,
        Config::default(),
        &event("guardduty-ec2-vpn-client-ip.json"),
    )
    .await;
    assert!(h.ended().is_empty());
    assert_eq!(reasons(&r), ["ip_reassigned"]);
    // Once the activity is seen after it connected, it is the holder.
    let mut e = event("guardduty-ec2-vpn-client-ip.json");
    e["detail"]["service"]["eventLastSeen"] = json!("2026-11-22T09:14:00Z");
    let mut state = twin_endpoints("2026-11-22T09:13:00Z");
    state.endpoints.retain(|e| e.client_vpn_endpoint_id != EP_B);
    let (h, _) = run(state, Config::default(), &e).await;
    assert_eq!(h.ended(), set(&[cid("7717", 1)]));
}

#[tokio::test]
async fn an_address_outside_the_client_cidr_matches_nothing() {
    let mut state = sample_state();
    // A connection reporting an address its endpoint never hands out.
    state.endpoints[1].connections[1].client_ip = Some("192.0.2.44".into());
    let ocsf = event("securityhub-ocsf-v2.json");
    let (h, _) = run(state, Config::default(), &ocsf).await;
    // erin by name; not the connection at the finding's source address.
    assert_eq!(h.ended(), set(&[cid("e41a", 1)]));
}

#[tokio::test]
async fn look_alike_letters_are_other_names() {
    let mut state = sample_state();
    state.endpoints[0]
        .connections
        .push(connection(cid("ca7e", 1), Some("kate"), "10.100.0.40"));
    let key = json!({"userType": "IAMUser", "userName": "\u{212A}ate", "principalId": "AIDAX"});
    let (h, r) = run(state.clone(), Config::default(), &guardduty_key(key)).await;
    assert!(h.ended().is_empty());
    assert_eq!(reasons(&r), ["no_match"]);
    let key = json!({"userType": "IAMUser", "userName": "KATE", "principalId": "AIDAX"});
    let (h, _) = run(state, Config::default(), &guardduty_key(key)).await;
    assert_eq!(h.ended(), set(&[cid("ca7e", 1)]));
}

#[tokio::test]
async fn principals_of_other_accounts_name_nobody_when_accounts_are_listed() {
    let theirs = config(&[("CVPN_IDENTITY_ACCOUNTS", "999988887777")]);
    let (h, r) = run(
        sample_state(),
        theirs,
        &event("guardduty-iam-assumed-role.json"),
    )
    .await;
    assert!(h.ended().is_empty());
    assert_eq!(reasons(&r), ["foreign_account"]);
    let ours = config(&[("CVPN_IDENTITY_ACCOUNTS", "999988887777,111122223333")]);
    let (h, _) = run(
        sample_state(),
        ours,
        &event("guardduty-iam-assumed-role.json"),
    )
    .await;
    assert_eq!(h.ended(), alice());
    // An IAM user ARN of another account, in a finding of ours, is that account's principal.
    let mut asff = event("securityhub-imported.json");
    asff["detail"]["findings"][0]["Resources"] = json!([{"Type": "AwsIamUser",
        "Id": "arn:aws:iam::999988887777:user/bob", "Details": {"AwsIamUser": {"UserName": "bob"}}}]);
    let ours = config(&[("CVPN_IDENTITY_ACCOUNTS", "111122223333")]);
    let (h, r) = run(sample_state(), ours.clone(), &asff).await;
    assert!(h.ended().is_empty());
    assert_eq!(reasons(&r), ["foreign_account"]);
    // A finding from another account cannot vouch for a principal of ours by naming its ARN.
    asff["detail"]["findings"][0]["AwsAccountId"] = json!("999988887777");
    asff["detail"]["findings"][0]["Resources"][0]["Id"] =
        json!("arn:aws:iam::111122223333:user/bob");
    let (h, r) = run(sample_state(), ours, &asff).await;
    assert!(h.ended().is_empty());
    assert_eq!(reasons(&r), ["foreign_account"]);
}

#[tokio::test]
async fn findings_imported_by_an_account_of_its_own_accord_end_nothing() {
    let mut e = event("securityhub-imported.json");
    e["detail"]["findings"][0]["ProductArn"] =
        json!("arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default");
    let (h, r) = run(sample_state(), Config::default(), &e).await;
    assert!(h.ended().is_empty());
    assert_eq!(reasons(&r), ["untrusted_product"]);
    // Trusted when the deployment says so.
    let own = config(&[("CVPN_FINDING_PRODUCTS", "*:product/111122223333/*")]);
    let (h, _) = run(sample_state(), own, &e).await;
    assert_eq!(h.ended(), set(&[cid("b0b", 1)]));
}

#[tokio::test]
async fn outbound_connections_name_no_client() {
    let mut e = event("guardduty-ec2-vpn-client-ip.json");
    e["detail"]["service"]["action"]["networkConnectionAction"]["connectionDirection"] =
        json!("OUTBOUND");
    let (h, r) = run(sample_state(), Config::default(), &e).await;
    assert!(h.ended().is_empty());
    assert_eq!(reasons(&r), ["no_match"]);
}

#[tokio::test]
async fn protected_patterns_protect_and_extended_users_follow_the_case_rule() {
    let protected = config(&[("CVPN_PROTECTED_USERS", "BREAK*")]);
    let (h, r) = run(
        sample_state(),
        protected,
        &json!({"Username": "breakglass"}),
    )
    .await;
    assert!(h.ended().is_empty());
    assert_eq!(reasons(&r), ["protected"]);
    for (variable, value) in [
        ("CVPN_PROTECTED_USERS", "*"),
        ("CVPN_PROTECTED_USERS", "break**"),
    ] {
        let e = Config::from_lookup(|n| (n == variable).then(|| value.to_owned())).unwrap_err();
        assert_eq!(e.variable, variable);
    }
    let extended = config(&[
        ("CVPN_EXTENDED_USERS", "NIGHT-*"),
        ("CVPN_MAX_SESSION_MINUTES", "60"),
        ("CVPN_EXTENDED_MAX_SESSION_MINUTES", "1440"),
    ]);
    assert!(extended.sweep.limits_for(Some("night-owl"), None).1);
}

#[tokio::test]
async fn a_malformed_finding_does_not_refuse_the_others() {
    let mut e = event("securityhub-imported.json");
    let good = e["detail"]["findings"][0].clone();
    let mut bad = good.clone();
    bad["Id"] = json!("bad");
    bad["Severity"] = json!({"Label": "SEVERE"});
    let mut dave = good.clone();
    dave["Id"] = json!("dave");
    dave["Resources"][0]["Details"]["AwsIamAccessKey"]["PrincipalName"] = json!("dave");
    e["detail"]["findings"] = json!([good, bad, dave]);
    let h = harness(sample_state(), Config::default()).await;
    let err = h.app.handle(&e).await.unwrap_err();
    let HandlerError::Incomplete(r) = &err else {
        panic!("{err}")
    };
    assert_eq!(h.ended(), set(&[cid("b0b", 1), cid("da7e", 1)]));
    assert_eq!(r.errors.len(), 1);
    assert_eq!(
        (r.errors[0].path.as_deref(), r.errors[0].index),
        (Some("event.detail.findings[1].Severity.Label"), Some(1))
    );
    assert_eq!(r.errors[0].code, "BadFinding");
}

#[tokio::test]
async fn a_deleted_ocsf_finding_is_closed() {
    let mut e = event("securityhub-ocsf-v2.json");
    e["detail"]["findings"][0]["status"] = json!("Deleted");
    let (h, r) = run(sample_state(), Config::default(), &e).await;
    assert!(h.ended().is_empty());
    assert_eq!(reasons(&r), ["finding_closed"]);
}

#[tokio::test]
async fn analysts_name_connections_and_endpoints_in_their_own_fields() {
    let mut e = event("securityhub-custom-action.json");
    let f = &mut e["detail"]["findings"][0];
    f["Resources"] = json!([{"Type": "AwsEc2ClientVpnEndpoint",
        "Id": format!("arn:aws:ec2:eu-west-1:111122223333:client-vpn-endpoint/{EP_B}")}]);
    f["UserDefinedFields"] = json!({"ClientVpnConnectionId": cid("19a7", 1)});
    let (h, r) = run(sample_state(), Config::default(), &e).await;
    assert_eq!(h.ended(), set(&[cid("19a7", 1)]), "{r:?}");
}
