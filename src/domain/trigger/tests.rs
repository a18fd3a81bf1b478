use super::*;
use serde_json::json;

pub(crate) fn sample(name: &str) -> Value {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn findings(v: &Value) -> FindingEvent {
    match decode(v).unwrap() {
        Trigger::Findings(f) => f,
        other => panic!("not findings: {other:?}"),
    }
}

/// The names a finding's evidence gives, in order.
pub(crate) fn identities(f: &Finding) -> Vec<&str> {
    f.evidence
        .identities
        .iter()
        .map(|i| i.name.value.as_str())
        .collect()
}

#[test]
fn guardduty_samples() {
    let e = findings(&sample("guardduty-iam-assumed-role.json"));
    assert_eq!(e.source, FindingSource::GuardDuty);
    let f = &e.findings[0];
    assert_eq!(f.id, "6ec9f4b2d2a0f2a7b3e8c1d5f0a9e8b7");
    assert_eq!(
        f.types,
        ["UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"]
    );
    assert_eq!((f.severity, f.severity_label.as_str()), (8.0, "HIGH"));
    assert_eq!(identities(f), ["alice@example.com"]);
    assert_eq!(
        (f.account.as_deref(), f.region.as_deref()),
        (Some("111122223333"), Some("eu-west-1"))
    );
    assert_eq!(f.closed, None);

    let f = &findings(&sample("guardduty-ec2-vpn-client-ip.json")).findings[0];
    assert!(identities(f).is_empty());
    assert_eq!(f.evidence.ips[0].value.to_string(), "10.200.0.7");
}

#[test]
fn guardduty_get_findings_form_in_upper_camel_case() {
    let v = json!({"Findings": [{
        "SchemaVersion": "2.0", "Id": "abc", "Type": "Recon:IAMUser/MaliciousIPCaller", "Severity": 5.0,
        "AccountId": "111122223333", "Region": "eu-west-1",
        "Resource": {"AccessKeyDetails": {"UserType": "AssumedRole", "UserName": "Admin", "PrincipalId": "AROAX:zoe"}},
        "Service": {"Archived": true, "Action": {"AwsApiCallAction": {"RemoteIpDetails": {"IpAddressV4": "203.0.113.9"}}}}
    }]});
    let e = findings(&v);
    assert_eq!(e.source, FindingSource::GuardDuty);
    let f = &e.findings[0];
    assert_eq!(
        (f.id.as_str(), f.severity, f.severity_label.as_str()),
        ("abc", 5.0, "MEDIUM")
    );
    assert_eq!(identities(f), ["zoe"]);
    assert_eq!(f.closed.as_deref(), Some("archived"));
    assert_eq!(f.region.as_deref(), Some("eu-west-1"));
    // A single finding decodes the same way, its fields read from the top.
    let single = findings(&v["Findings"][0].clone());
    let g = &single.findings[0];
    assert_eq!(
        (g.id.as_str(), g.severity, identities(g)),
        ("abc", 5.0, vec!["zoe"])
    );
    assert_eq!(
        g.evidence.identities[0].name.origin,
        "event.Resource.AccessKeyDetails.PrincipalId (session name)"
    );
}

#[test]
fn security_hub_samples() {
    let e = findings(&sample("securityhub-imported.json"));
    assert_eq!(e.source, FindingSource::SecurityHubImported);
    assert_eq!(
        (e.findings[0].severity, identities(&e.findings[0])),
        (7.0, vec!["bob"])
    );

    let e = findings(&sample("securityhub-custom-action.json"));
    assert_eq!(e.source, FindingSource::SecurityHubCustomAction);
    assert!(!e.source.severity_gated());
    assert_eq!(e.action_name.as_deref(), Some("EndVpnSessions"));
    assert_eq!(
        (e.findings[0].severity, identities(&e.findings[0])),
        (4.0, vec!["dave"])
    );

    let e = findings(&sample("securityhub-ocsf-v2.json"));
    assert_eq!(e.source, FindingSource::SecurityHubOcsf);
    let f = &e.findings[0];
    assert_eq!((f.severity, f.severity_label.as_str()), (7.0, "HIGH"));
    assert_eq!(f.types, ["CredentialAccess:IAMUser/AnomalousBehavior"]);
    assert_eq!(identities(f), ["erin"]);
    assert_eq!(f.account.as_deref(), Some("111122223333"));
}

#[test]
fn closed_security_hub_findings() {
    let mut v = sample("securityhub-imported.json");
    v["detail"]["findings"][0]["Workflow"]["Status"] = json!("SUPPRESSED");
    assert_eq!(
        findings(&v).findings[0].closed.as_deref(),
        Some("suppressed")
    );
    v["detail"]["findings"][0]["RecordState"] = json!("ARCHIVED");
    assert_eq!(findings(&v).findings[0].closed.as_deref(), Some("archived"));
    let mut o = sample("securityhub-ocsf-v2.json");
    o["detail"]["findings"][0]["status"] = json!("Resolved");
    assert_eq!(findings(&o).findings[0].closed.as_deref(), Some("resolved"));
    o["detail"]["findings"][0]["status"] = json!("New");
    o["detail"]["findings"][0]["activity_name"] = json!("Close");
    assert_eq!(findings(&o).findings[0].closed.as_deref(), Some("closed"));
}

#[test]
fn several_findings_in_one_event() {
    let mut v = sample("securityhub-imported.json");
    let mut second = v["detail"]["findings"][0].clone();
    second["Id"] = json!("second");
    second["Severity"] = json!({"Normalized": 95});
    v["detail"]["findings"].as_array_mut().unwrap().push(second);
    let e = findings(&v);
    assert_eq!(e.findings.len(), 2);
    assert_eq!(
        (
            e.findings[1].severity,
            e.findings[1].severity_label.as_str()
        ),
        (9.5, "CRITICAL")
    );
}

#[test]
fn get_findings_items_are_told_apart_one_by_one() {
    let asff = sample("securityhub-imported.json")["detail"]["findings"][0].clone();
    let v = json!({"Findings": [{"Id": "junk"}, asff.clone(), asff]});
    let e = findings(&v);
    assert_eq!(e.source, FindingSource::SecurityHubImported);
    assert_eq!(e.findings.len(), 2);
    assert_eq!(e.bad.len(), 1);
    assert_eq!(e.bad[0].index, 0);
}

#[test]
fn errors_name_the_field() {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"detail-type": "Security Hub Findings - Imported", "source": "aws.securityhub", "detail": {"findings": []}}),
            "event.detail.findings",
        ),
        (
            json!({"detail-type": "Security Hub Findings - Imported", "source": "aws.securityhub", "detail": {}}),
            "event.detail.findings",
        ),
        (
            json!({"detail-type": "Security Hub Findings - Imported", "source": "aws.securityhub", "detail": {"findings": [{"Id": "x", "Severity": {"Label": 7}}]}}),
            "event.detail.findings[0].Severity.Label",
        ),
        (
            json!({"detail-type": "Security Hub Findings - Imported", "source": "aws.securityhub", "detail": {"findings": [{"Id": "x", "Severity": {"Label": "SEVERE"}}]}}),
            "event.detail.findings[0].Severity.Label",
        ),
        (
            json!({"detail-type": "Security Hub Findings - Imported", "source": "aws.securityhub", "detail": {"findings": [{"Id": "x"}]}}),
            "event.detail.findings[0].Severity",
        ),
        (
            json!({"detail-type": "GuardDuty Finding", "source": "aws.guardduty", "detail": {"id": "x", "type": "t"}}),
            "event.detail.severity",
        ),
        (
            json!({"detail-type": "GuardDuty Finding", "source": "aws.guardduty", "detail": {"id": "x", "type": "t", "severity": 12}}),
            "event.detail.severity",
        ),
        (
            json!({"detail-type": "GuardDuty Finding", "source": "aws.guardduty"}),
            "event.detail",
        ),
        (
            json!({"detail-type": "Findings Imported V2", "source": "aws.securityhub", "detail": {"findings": [{"finding_info": {"uid": "u"}}]}}),
            "event.detail.findings[0]",
        ),
        (
            json!({"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "detail": {}}),
            "event.source",
        ),
        (
            json!({"detail-type": "Security Hub Insight Results", "source": "aws.securityhub", "detail": {}}),
            "event.detail-type",
        ),
        (json!({"hello": "world"}), "event"),
        (json!([1, 2]), "event"),
        (
            json!({"Username": "a", "ConnectionId": "cvpn-connection-0123456789abcdef0"}),
            "event",
        ),
        (json!({"Reason": "no target"}), "event"),
        (json!({"UserName": "alice"}), "event.UserName"),
        (json!({"Username": ""}), "event.Username"),
        (json!({"Username": 7}), "event.Username"),
        (json!({"Username": "a", "DryRun": "maybe"}), "event.DryRun"),
        (json!({"ConnectionId": "conn-1"}), "event.ConnectionId"),
        (
            json!({"Username": "a", "ClientVpnEndpointId": "vpn-1"}),
            "event.ClientVpnEndpointId",
        ),
        (json!({"Findings": []}), "event.Findings"),
    ];
    for (event, path) in cases {
        let e = decode(&event).unwrap_err();
        assert_eq!(e.path, path, "{event}: {e}");
        assert!(!e.message.is_empty());
    }
}

#[test]
fn each_source_is_named_as_it_serializes() {
    for source in [
        FindingSource::GuardDuty,
        FindingSource::SecurityHubImported,
        FindingSource::SecurityHubCustomAction,
        FindingSource::SecurityHubOcsf,
    ] {
        assert_eq!(serde_json::to_value(source).unwrap(), source.as_str());
    }
}
