//! GuardDuty findings, as EventBridge delivers them (lower camel case) or as GetFindings returns
//! them (upper camel case): both spellings of each field are read.
//!
//! Fields read as evidence, and nothing else:
//! - identity: `resource.accessKeyDetails` — `userType` decides; an `IAMUser` is named by
//!   `userName`, an `AssumedRole` by the session in `principalId` (`AROA…:session`), a
//!   `FederatedUser` by the name in `principalId` (`ACCOUNT:name`); any other or missing type names
//!   nobody. The account is the finding's `accountId`.
//! - client IPs: `service.action.{awsApiCallAction, rdsLoginAttemptAction}.remoteIpDetails`,
//!   `networkConnectionAction.remoteIpDetails` when its `connectionDirection` is `INBOUND`
//!   (outbound, the remote address is whatever the resource chose to reach), and
//!   `portProbeAction.portProbeDetails[].remoteIpDetails` (`ipAddressV4/V6` of each). Not
//!   `kubernetesApiCallAction`: the API server's source IPs begin with `X-Forwarded-For`, which the
//!   caller writes.
//! - connection and endpoint IDs: none (GuardDuty has no Client VPN resource).
//! - time of the activity: from `service.eventFirstSeen` to `service.eventLastSeen` (else
//!   `updatedAt`, else the envelope's `time`).
//!
//! Never read: `userAgent`, `additionalInfo`, API request parameters, `title`, `description`,
//! geolocation and organisation names, DNS names: the actor writes those.
//!
//! Severity is GuardDuty's own 0–10 scale.

use super::evidence::{Evidence, Principal};
use super::{opt_str, Finding, SecurityHubRef};
use crate::domain::json::{At, DecodeError};
use crate::domain::model::is_account_id;
use chrono::{DateTime, Utc};

/// Whether a bare finding (not wrapped in an envelope) is GuardDuty's.
pub fn looks_like(at: &At) -> bool {
    at.get_either("schemaVersion").is_some()
        && at.get_either("type").is_some()
        && at.get_either("resource").is_some()
}

pub fn decode(at: &At, event_time: Option<DateTime<Utc>>) -> Result<Finding, DecodeError> {
    let id = at.require_either("id")?.str()?.to_owned();
    let kind = at.require_either("type")?.str()?.to_owned();
    let severity_at = at.require_either("severity")?;
    let severity = severity_at.f64()?;
    if !(0.0..=10.0).contains(&severity) {
        return Err(severity_at.error(format!("{severity} is outside GuardDuty's 0 to 10")));
    }
    let service = at.get_either("service");
    let archived = match service.as_ref().and_then(|s| s.get_either("archived")) {
        Some(flag) => flag.bool()?,
        None => false,
    };
    let account = opt_str(at, "accountId")?;
    let mut evidence = Evidence::default();
    if let Some(key) = at
        .get_either("resource")
        .and_then(|r| r.get_either("accessKeyDetails"))
    {
        let kind = key.get_either("userType");
        evidence.principal(Principal {
            kind: kind
                .as_ref()
                .and_then(|k| Some((k.value.as_str()?, k.path()))),
            at: key.path(),
            name: key.get_either("userName"),
            principal_id: key.get_either("principalId"),
            arn: None,
            account: account.clone(),
            // For an assumed role, GuardDuty's `userName` is the role's name.
            role: None,
        });
    }
    if let Some(action) = service.as_ref().and_then(|s| s.get_either("action")) {
        evidence.remote_ips(&action)?;
    }
    evidence.seen_between(
        service
            .as_ref()
            .and_then(|s| s.get_either("eventFirstSeen")),
        &[
            service.as_ref().and_then(|s| s.get_either("eventLastSeen")),
            at.get_either("updatedAt"),
        ],
        event_time,
    )?;
    let securityhub = opt_str(at, "arn")?.and_then(|arn| securityhub_copy(&arn, &id));
    Ok(Finding {
        securityhub,
        own_note: None,
        // The note goes on the Security Hub copy, whose ASFF fields were never seen here.
        note_key: Some(super::own_note::COPY_KEY.into()),
        shown_note: None,
        posture: None,
        id,
        types: vec![kind],
        severity,
        severity_label: super::label_of(severity).to_owned(),
        closed: archived.then(|| "archived".to_owned()),
        product: None,
        account,
        region: opt_str(at, "region")?,
        evidence,
    })
}

/// The copy GuardDuty sends to Security Hub: its ASFF `Id` is the finding's ARN
/// (`arn:PARTITION:guardduty:REGION:ACCOUNT:detector/DETECTOR/finding/ID`), its `ProductArn`
/// GuardDuty's product in that partition and Region. An ARN of another shape, or of another
/// finding, names none.
pub fn securityhub_copy(arn: &str, id: &str) -> Option<SecurityHubRef> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("guardduty"), Some(region), Some(account), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let (detector, finding) = rest.strip_prefix("detector/")?.split_once("/finding/")?;
    let plain =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    (finding == id
        && plain(partition)
        && plain(region)
        && is_account_id(account)
        && plain(detector))
    .then(|| SecurityHubRef {
        id: arn.to_owned(),
        product_arn: format!("arn:{partition}:securityhub:{region}::product/aws/guardduty"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::trigger::tests::identities as names;
    use serde_json::{json, Value};

    fn finding(key: Value) -> Finding {
        let v = json!({"id": "f", "type": "t", "severity": 8, "accountId": "111122223333",
            "resource": {"accessKeyDetails": key}});
        decode(&At::root(&v), None).unwrap()
    }

    #[test]
    fn the_security_hub_copy_is_named_by_the_findings_arn() {
        let arn = "arn:aws:guardduty:eu-west-1:111122223333:detector/12ab/finding/f";
        assert_eq!(
            securityhub_copy(arn, "f"),
            Some(SecurityHubRef {
                id: arn.into(),
                product_arn: "arn:aws:securityhub:eu-west-1::product/aws/guardduty".into(),
            })
        );
        let gov = "arn:aws-us-gov:guardduty:us-gov-west-1:111122223333:detector/d/finding/f";
        assert_eq!(
            securityhub_copy(gov, "f").unwrap().product_arn,
            "arn:aws-us-gov:securityhub:us-gov-west-1::product/aws/guardduty"
        );
        for bad in [
            "arn:aws:guardduty:eu-west-1:111122223333:detector/12ab/finding/other",
            "arn:aws:securityhub:eu-west-1:111122223333:detector/12ab/finding/f",
            "arn:aws:guardduty:eu-west-1:1111:detector/12ab/finding/f",
            "arn:aws:guardduty:eu-west-1:111122223333:detector//finding/f",
            "f",
        ] {
            assert_eq!(securityhub_copy(bad, "f"), None, "{bad}");
        }
        let v = json!({"id": "f", "type": "t", "severity": 8, "arn": arn, "resource": {}});
        assert_eq!(
            decode(&At::root(&v), None).unwrap().securityhub.unwrap().id,
            arn
        );
    }

    #[test]
    fn assumed_role_gives_the_session_not_the_role() {
        let f = finding(
            json!({"userType": "AssumedRole", "userName": "AWSReservedSSO_Admin",
            "principalId": "AROAEXAMPLE:alice@example.com"}),
        );
        assert_eq!(names(&f), ["alice@example.com"]);
        assert_eq!(
            f.evidence.identities[0].name.origin,
            "event.resource.accessKeyDetails.principalId (session name)"
        );
        assert_eq!(
            f.evidence.identities[0].account.as_deref(),
            Some("111122223333")
        );
    }

    #[test]
    fn types_compare_without_case_and_only_people_are_named() {
        assert_eq!(
            names(&finding(
                json!({"userType": "iamuser", "userName": "bob", "principalId": "AIDAX"})
            )),
            ["bob"]
        );
        assert_eq!(
            names(&finding(
                json!({"userType": "assumedRole", "userName": "Admin", "principalId": "AROAX:zoe"})
            )),
            ["zoe"]
        );
        assert_eq!(
            names(&finding(
                json!({"userType": "FederatedUser", "userName": "x", "principalId": "111122223333:fed"})
            )),
            ["fed"]
        );
        for key in [
            json!({"userName": "AdminRole", "principalId": "AROAX:zoe"}),
            json!({"userType": "Root", "userName": "Root", "principalId": "111122223333"}),
            json!({"userType": "AWSService", "userName": "svc"}),
            json!({"userType": "AWSAccount", "userName": "x"}),
            json!({"userType": "Role", "userName": "AdminRole", "principalId": "AROAX"}),
            json!({"userType": "AssumedRole", "userName": "AdminRole", "principalId": "AIDAX"}),
            json!({"userType": "AssumedRole", "userName": "AdminRole"}),
            json!({"userType": "IAMUser", "userName": " "}),
        ] {
            let f = finding(key.clone());
            assert!(f.evidence.identities.is_empty(), "{key}");
            assert_eq!(f.evidence.no_identity.len(), 1, "{key}");
            assert!(f.evidence.no_identity[0]
                .field
                .starts_with("event.resource.accessKeyDetails"));
        }
    }

    #[test]
    fn upper_camel_case_and_times() {
        let v = json!({"Id": "abc", "Type": "Recon:IAMUser/MaliciousIPCaller", "Severity": "5.0",
            "Resource": {"AccessKeyDetails": {"UserType": "AssumedRole", "UserName": "Admin", "PrincipalId": "AROAX:zoe"}},
            "UpdatedAt": "2026-11-22T09:00:00Z",
            "Service": {"Archived": true, "EventLastSeen": "2026-11-22T08:59:00Z",
                "Action": {"AwsApiCallAction": {"RemoteIpDetails": {"IpAddressV4": "203.0.113.9"}}}}});
        let f = decode(&At::root(&v), None).unwrap();
        assert_eq!((f.severity, f.severity_label.as_str()), (5.0, "MEDIUM"));
        assert_eq!(names(&f), ["zoe"]);
        assert_eq!(f.closed.as_deref(), Some("archived"));
        assert_eq!(f.evidence.ips[0].value.to_string(), "203.0.113.9");
        assert_eq!(
            f.evidence.seen_at,
            Some("2026-11-22T08:59:00Z".parse().unwrap())
        );
    }

    #[test]
    fn port_probes_list_their_addresses_once() {
        let v = json!({"id": "f", "type": "t", "severity": 8, "resource": {},
            "service": {"action": {
            "networkConnectionAction": {"connectionDirection": "OUTBOUND", "remoteIpDetails": {"ipAddressV4": "10.100.0.20"}},
            "kubernetesApiCallAction": {"remoteIpDetails": {"ipAddressV4": "10.100.0.21"}},
            "portProbeAction": {"portProbeDetails": [
            {"remoteIpDetails": {"ipAddressV4": "10.100.0.7"}}, {"remoteIpDetails": {"ipAddressV4": "10.100.0.8"}},
            {"remoteIpDetails": {"ipAddressV4": "10.100.0.7"}}]}}}});
        let ips: Vec<String> = decode(&At::root(&v), None)
            .unwrap()
            .evidence
            .ips
            .iter()
            .map(|i| i.value.to_string())
            .collect();
        assert_eq!(ips, ["10.100.0.7", "10.100.0.8"]);
        let mut bad = v.clone();
        bad["service"]["action"]["portProbeAction"]["portProbeDetails"][1]["remoteIpDetails"]
            ["ipAddressV4"] = json!("not-an-ip");
        assert_eq!(
            decode(&At::root(&bad), None).unwrap_err().path,
            "event.service.action.portProbeAction.portProbeDetails[1].remoteIpDetails.ipAddressV4"
        );
    }

    #[test]
    fn free_text_names_nothing() {
        let v = json!({"id": "f", "type": "t", "severity": 8,
            "title": "cvpn-connection-0123456789abcdef0 alice", "description": "cvpn-endpoint-0123456789abcdef0",
            "resource": {"accessKeyDetails": {"userType": "Root", "userName": "alice"}},
            "service": {"action": {"awsApiCallAction": {"userAgent": "cvpn-endpoint-0123456789abcdef0",
                "requestParameters": {"ip": "10.100.0.9", "userName": "carol"}}},
                "additionalInfo": {"value": "{\"connection\":\"cvpn-connection-0123456789abcdef1\"}"}}});
        let f = decode(&At::root(&v), None).unwrap();
        assert!(f.evidence.identities.is_empty());
        assert!(f.evidence.ips.is_empty());
        assert!(f.evidence.connection_ids.is_empty() && f.evidence.endpoint_ids.is_empty());
    }
}
