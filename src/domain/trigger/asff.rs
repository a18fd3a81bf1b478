//! Security Hub findings in ASFF (`Security Hub Findings - Imported` and `- Custom Action`, and
//! GetFindings' `{"Findings": [...]}`).
//!
//! Fields read as evidence, and nothing else:
//! - identity, from `Resources[]` by `Type`:
//!   - `AwsIamAccessKey`: `Details.AwsIamAccessKey.PrincipalType` decides; `IAMUser` is named by
//!     `PrincipalName` (or the older `UserName`), `AssumedRole` by the session in `PrincipalId`
//!     (`AROA…:session`), `FederatedUser` by the name in `PrincipalId`; any other or missing type
//!     names nobody;
//!   - `AwsIamUser`: `Details.AwsIamUser.UserName`, or the user in `Id` when it is an IAM user ARN;
//!     an `Id` that is another service's ARN names nobody;
//!   - `AwsIamRole`: nobody (a role is not a session);
//!   - any other type: an `Id` that is an IAM user ARN or an STS session ARN
//!     (`arn:aws:sts::…:assumed-role/ROLE/SESSION`, `…:federated-user/NAME`).
//!   - the account is the ARN's, else the finding's `AwsAccountId`.
//! - endpoint IDs: `Resources[]` of `Type` `AwsEc2ClientVpnEndpoint`, `Id` (ID or ARN), any
//!   resource's `Id` that is exactly an endpoint ID or ARN, and
//!   `UserDefinedFields.ClientVpnEndpointId`.
//! - connection IDs: any resource's `Id` that is exactly a connection ID, the endpoint resource's
//!   `Details.Other.ClientVpnConnectionId`, and `UserDefinedFields.ClientVpnConnectionId` (set by an
//!   analyst with BatchUpdateFindings).
//! - client IPs: `Network.SourceIpV4/V6` when `Network.Direction` is `IN`, and
//!   `Action.*.RemoteIpDetails.IpAddressV4/V6` (the action kinds GuardDuty reports; a network
//!   connection only when its `ConnectionDirection` is `INBOUND`).
//! - time of the activity: from `FirstObservedAt` to `LastObservedAt` (else `UpdatedAt`, else the
//!   envelope's `time`).
//!
//! Never read: `Title`, `Description`, `ProductFields`, other `UserDefinedFields` keys,
//! `Resources[].Details` other than those above, and anything under `Action` but remote IPs.
//! `Note` is read only to recognise Security Hub's event for a note of this function's (see
//! `own_note`), which names no target and only ever skips the finding.
//!
//! Severity: `Label` placed at the bottom of GuardDuty's band, else `Normalized` / 10.

use super::evidence::{Evidence, Principal};
use super::own_note::{note_key, own_note, shown_note};
use super::{
    label_of, label_score, opt_str, Finding, SecurityHubRef, CONNECTION_KEY, ENDPOINT_KEY,
};
use crate::domain::json::{At, DecodeError};
use chrono::{DateTime, Utc};

/// Whether a bare finding (not wrapped in an envelope) is ASFF.
pub fn looks_like(at: &At) -> bool {
    at.get("ProductArn").is_some() && at.get("SchemaVersion").is_some()
}

pub fn decode(at: &At, event_time: Option<DateTime<Utc>>) -> Result<Finding, DecodeError> {
    let id = at.require("Id")?.str()?.to_owned();
    let (severity, severity_label) = severity(&at.require("Severity")?)?;
    let record_state = match at.get("RecordState") {
        Some(s) => Some(s.str()?.to_ascii_uppercase()),
        None => None,
    };
    let workflow = match at.get("Workflow").and_then(|w| w.get("Status")) {
        Some(s) => Some(s.str()?.to_ascii_uppercase()),
        None => None,
    };
    let closed = if record_state.as_deref() == Some("ARCHIVED") {
        Some("archived".to_owned())
    } else {
        workflow
            .filter(|w| w == "SUPPRESSED" || w == "RESOLVED")
            .map(|w| w.to_ascii_lowercase())
    };
    let account = opt_str(at, "AwsAccountId")?;
    let mut evidence = Evidence::default();
    if let Some(resources) = at.get("Resources") {
        for resource in resources.items()? {
            read_resource(&resource, &account, &mut evidence)?;
        }
    }
    if let Some(fields) = at.get("UserDefinedFields") {
        if let Some(id) = fields.get(ENDPOINT_KEY) {
            evidence.endpoint_id(&id)?;
        }
        if let Some(id) = fields.get(CONNECTION_KEY) {
            evidence.connection_id(&id)?;
        }
    }
    if let Some(network) = at.get("Network") {
        // Outbound, the source is the finding's own resource and the destination its victim.
        if super::evidence::is_inbound(network.get("Direction").as_ref())? {
            for key in ["SourceIpV4", "SourceIpV6"] {
                if let Some(ip) = network.get(key) {
                    evidence.ip(&ip)?;
                }
            }
        }
    }
    if let Some(action) = at.get("Action") {
        evidence.remote_ips(&action)?;
    }
    evidence.seen_between(
        at.get("FirstObservedAt"),
        &[at.get("LastObservedAt"), at.get("UpdatedAt")],
        event_time,
    )?;
    let product = opt_str(at, "ProductArn")?;
    let types = at.strings("Types")?;
    let key = note_key(at);
    let own_note = own_note(at, &key)?;
    Ok(Finding {
        shown_note: shown_note(at),
        own_note,
        note_key: Some(key),
        securityhub: product.clone().map(|product_arn| SecurityHubRef {
            id: id.clone(),
            product_arn,
        }),
        id,
        posture: super::posture::asff(at, &types),
        types,
        severity,
        severity_label,
        closed,
        product,
        account,
        region: opt_str(at, "Region")?,
        evidence,
    })
}

fn severity(at: &At) -> Result<(f64, String), DecodeError> {
    match (at.get("Label"), at.get("Normalized")) {
        (Some(label), _) => {
            let text = label.str()?;
            let score = label_score(text).ok_or_else(|| {
                label.error(format!(
                    "`{text}` is not INFORMATIONAL, LOW, MEDIUM, HIGH or CRITICAL"
                ))
            })?;
            Ok((score, text.to_ascii_uppercase()))
        }
        (None, Some(normalized)) => {
            let n = normalized.f64()?;
            if !(0.0..=100.0).contains(&n) {
                return Err(normalized.error(format!("{n} is outside 0 to 100")));
            }
            Ok((n / 10.0, label_of(n / 10.0).to_owned()))
        }
        (None, None) => Err(at.error("needs Label or Normalized")),
    }
}

fn read_resource(
    resource: &At,
    account: &Option<String>,
    evidence: &mut Evidence,
) -> Result<(), DecodeError> {
    let kind_at = resource.get("Type");
    let kind = kind_at
        .as_ref()
        .and_then(|k| k.value.as_str())
        .unwrap_or("");
    let details = resource.get("Details");
    let id = resource.get("Id");
    match kind {
        "AwsIamAccessKey" => {
            let Some(key) = details.as_ref().and_then(|d| d.get("AwsIamAccessKey")) else {
                evidence.refuse(
                    resource.path(),
                    "an access key without Details.AwsIamAccessKey names nobody",
                );
                return Ok(());
            };
            let principal_type = key.get("PrincipalType");
            evidence.principal(Principal {
                kind: principal_type
                    .as_ref()
                    .and_then(|t| Some((t.value.as_str()?, t.path()))),
                at: key.path(),
                name: key.get("PrincipalName").or_else(|| key.get("UserName")),
                principal_id: key.get("PrincipalId"),
                arn: None,
                account: account.clone(),
                role: key
                    .get("SessionContext")
                    .and_then(|c| c.get("SessionIssuer"))
                    .and_then(|i| i.get("UserName").or_else(|| i.get("Arn"))),
            });
        }
        "AwsIamUser" => {
            let kind_at = kind_at.expect("the type was read from it");
            evidence.principal(Principal {
                kind: Some(("IAMUser", kind_at.path())),
                at: resource.path(),
                name: details
                    .as_ref()
                    .and_then(|d| d.get("AwsIamUser"))
                    .and_then(|u| u.get("UserName")),
                principal_id: None,
                arn: id.clone(),
                account: account.clone(),
                role: None,
            });
        }
        "AwsIamRole" => evidence.refuse(
            kind_at.expect("the type was read from it").path(),
            "a role names nobody: only a session of it does",
        ),
        "AwsEc2ClientVpnEndpoint" => {
            if let Some(id) = &id {
                evidence.endpoint_id(id)?;
            }
            if let Some(connection) = details
                .as_ref()
                .and_then(|d| d.get("Other"))
                .and_then(|o| o.get(CONNECTION_KEY))
            {
                evidence.connection_id(&connection)?;
            }
        }
        _ => {
            if let Some(id) = &id {
                evidence.resource_id(id)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::trigger::own_note::note_marker;
    use crate::domain::trigger::tests::identities as names;
    use serde_json::{json, Value};

    fn finding(resources: Value) -> Finding {
        let v = json!({"Id": "f", "Severity": {"Label": "HIGH"}, "AwsAccountId": "111122223333",
            "Resources": resources});
        decode(&At::root(&v), None).unwrap()
    }

    #[test]
    fn the_functions_own_note_is_told_apart_from_any_later_change() {
        let base = json!({"Id": "f", "Severity": {"Label": "HIGH"}, "UpdatedAt": "2026-11-22T09:14:00Z",
            "Types": ["TTPs/x"], "UserDefinedFields": {"ClientVpnConnectionId": "cvpn-connection-0123456789abcdef0"}});
        let key = decode(&At::root(&base), None).unwrap().note_key.unwrap();
        let noted = |mut v: Value, text: String, by: &str| {
            v["Note"] =
                json!({"Text": text, "UpdatedBy": by, "UpdatedAt": "2026-11-22T09:15:05.123Z"});
            decode(&At::root(&v), None).unwrap().own_note
        };
        let ours = format!("cvpn-terminator ended … {}", note_marker(&key));
        assert!(noted(base.clone(), ours.clone(), "cvpn-terminator").is_some());
        // A person's note, or ours on a finding changed since: new evidence, acted on.
        assert_eq!(noted(base.clone(), ours.clone(), "analyst"), None);
        for (field, value) in [
            ("UpdatedAt", json!("2026-11-22T09:20:00Z")),
            ("Severity", json!({"Label": "CRITICAL"})),
            ("Types", json!(["TTPs/y"])),
            (
                "UserDefinedFields",
                json!({"ClientVpnConnectionId": "cvpn-connection-0123456789abcdef1"}),
            ),
        ] {
            let mut changed = base.clone();
            changed[field] = value;
            assert_eq!(
                noted(changed, ours.clone(), "cvpn-terminator"),
                None,
                "{field}"
            );
        }
        // A note on a GuardDuty copy is matched by time: a later update by GuardDuty acts.
        let copy = format!("cvpn-terminator ended … {}", note_marker("copy"));
        assert!(noted(base.clone(), copy.clone(), "cvpn-terminator").is_some());
        let mut later = base.clone();
        later["UpdatedAt"] = json!("2026-11-22T09:30:00Z");
        assert_eq!(noted(later, copy, "cvpn-terminator"), None);
        assert_eq!(finding(json!([])).own_note, None);
    }

    #[test]
    fn access_keys_users_and_session_arns() {
        let f = finding(json!([
            {"Type": "AwsIamAccessKey", "Id": "AWS::IAM::AccessKey:ASIAEXAMPLE",
             "Details": {"AwsIamAccessKey": {"PrincipalType": "AssumedRole", "PrincipalName": "AdminRole", "PrincipalId": "AROAEXAMPLE:carol"}}},
            {"Type": "AwsIamAccessKey", "Details": {"AwsIamAccessKey": {"PrincipalType": "iamuser", "PrincipalName": "dave"}}},
            {"Type": "AwsIamUser", "Id": "arn:aws:iam::444455556666:user/ops/erin", "Details": {"AwsIamUser": {"UserName": "erin"}}},
            {"Type": "Other", "Id": "arn:aws:sts::111122223333:assumed-role/Dev/frank@example.com"},
            {"Type": "Other", "Id": "cvpn-connection-0123456789abcdef7"},
            {"Type": "Other", "Id": "see cvpn-connection-0123456789abcdef8"},
            {"Type": "Other", "Id": "arn:aws:ec2:eu-west-1:111122223333:client-vpn-endpoint/not-one"},
            {"Type": "AwsIamUser", "Id": "arn:aws:iam::111122223333:user/grace"}
        ]));
        assert_eq!(
            names(&f),
            ["carol", "dave", "erin", "frank@example.com", "grace"]
        );
        assert_eq!(
            f.evidence.identities[2].account.as_deref(),
            Some("444455556666")
        );
        assert!(f.evidence.no_identity.is_empty());
        // A resource ID that is a connection ID names it; text that contains one does not.
        assert_eq!(
            f.evidence.connection_ids,
            ["cvpn-connection-0123456789abcdef7"]
        );
    }

    #[test]
    fn principals_that_are_not_people_name_nobody() {
        for resource in [
            json!({"Type": "AwsIamAccessKey", "Details": {"AwsIamAccessKey": {"PrincipalName": "AdminRole", "UserName": "AdminRole"}}}),
            json!({"Type": "AwsIamAccessKey", "Details": {"AwsIamAccessKey": {"PrincipalType": "Root", "PrincipalName": "root"}}}),
            json!({"Type": "AwsIamAccessKey", "Details": {"AwsIamAccessKey": {"PrincipalType": "AssumedRole", "PrincipalName": "AdminRole"}}}),
            json!({"Type": "AwsIamAccessKey"}),
            json!({"Type": "AwsIamUser", "Id": "arn:aws:memorydb:eu-west-1:111122223333:user/bob", "Details": {"AwsIamUser": {"UserName": "bob"}}}),
            json!({"Type": "Other", "Id": "arn:aws:transfer:eu-west-1:111122223333:user/s-01234567890abcdef/bob"}),
            json!({"Type": "AwsIamRole", "Id": "arn:aws:iam::111122223333:role/AdminRole"}),
        ] {
            let f = finding(json!([resource.clone()]));
            assert!(f.evidence.identities.is_empty(), "{resource}");
            assert_eq!(f.evidence.no_identity.len(), 1, "{resource}");
        }
    }

    #[test]
    fn endpoint_and_connection_ids_from_resources_and_analyst_fields_only() {
        let v = json!({"Id": "f", "Severity": {"Normalized": 95},
            "Title": "cvpn-connection-0123456789abcdef9", "Description": "cvpn-endpoint-0123456789abcdef9",
            "ProductFields": {"aws/guardduty/service/action/awsApiCallAction/userAgent": "cvpn-endpoint-0123456789abcdef8"},
            "Resources": [{"Type": "AwsEc2ClientVpnEndpoint",
                "Id": "arn:aws:ec2:eu-west-1:111122223333:client-vpn-endpoint/cvpn-endpoint-0123456789abcdef0",
                "Details": {"Other": {"ClientVpnConnectionId": "cvpn-connection-0123456789abcdef0"}}}],
            "UserDefinedFields": {"ClientVpnConnectionId": "cvpn-connection-0123456789abcdef1",
                "ClientVpnEndpointId": "cvpn-endpoint-0123456789abcdef1", "note": "cvpn-connection-0123456789abcdef2"}});
        let f = decode(&At::root(&v), None).unwrap();
        assert_eq!((f.severity, f.severity_label.as_str()), (9.5, "CRITICAL"));
        assert_eq!(
            f.evidence.endpoint_ids,
            [
                "cvpn-endpoint-0123456789abcdef0",
                "cvpn-endpoint-0123456789abcdef1"
            ]
        );
        assert_eq!(
            f.evidence.connection_ids,
            [
                "cvpn-connection-0123456789abcdef0",
                "cvpn-connection-0123456789abcdef1"
            ]
        );
        let mut bad = v.clone();
        bad["UserDefinedFields"]["ClientVpnConnectionId"] = json!("conn-1");
        assert_eq!(
            decode(&At::root(&bad), None).unwrap_err().path,
            "event.UserDefinedFields.ClientVpnConnectionId"
        );
    }

    #[test]
    fn network_and_action_addresses_and_times() {
        let v = json!({"Id": "f", "Severity": {"Label": "high"},
            "Network": {"Direction": "IN", "SourceIpV4": "10.100.0.9"}, "UpdatedAt": "2026-11-22T09:10:00Z",
            "Action": {"AwsApiCallAction": {"RemoteIpDetails": {"IpAddressV4": "203.0.113.5"},
                "CallerType": "Remote IP", "ServiceName": "10.100.0.10"}}});
        let f = decode(&At::root(&v), None).unwrap();
        let ips: Vec<String> = f.evidence.ips.iter().map(|i| i.value.to_string()).collect();
        assert_eq!(ips, ["10.100.0.9", "203.0.113.5"]);
        assert_eq!(
            f.evidence.seen_at,
            Some("2026-11-22T09:10:00Z".parse().unwrap())
        );
        // Outbound, the addresses are the resource's own and its victim's.
        let mut out = v.clone();
        out["Network"]["Direction"] = json!("OUT");
        out["Action"] = json!({"NetworkConnectionAction": {"ConnectionDirection": "OUTBOUND",
            "RemoteIpDetails": {"IpAddressV4": "10.100.0.11"}}});
        assert!(decode(&At::root(&out), None)
            .unwrap()
            .evidence
            .ips
            .is_empty());
    }
}
