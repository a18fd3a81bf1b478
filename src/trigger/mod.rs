//! Telling an event apart by its own fields and decoding it into a [`Trigger`], one module per
//! format: [`guardduty`], [`asff`] and [`ocsf`] findings, [`direct`] requests and [`schedule`]
//! payloads. The EventBridge envelope is `aws_lambda_events`'; what a finding may name is
//! [`evidence`]. Pure: no I/O.

pub mod asff;
pub mod direct;
pub mod evidence;
pub mod guardduty;
pub mod ocsf;
pub mod schedule;

use crate::json::{At, DecodeError};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
pub use direct::DirectRequest;
pub use evidence::Evidence;
pub use schedule::{SweepOverrides, SweepRequest};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
pub enum Trigger {
    Findings(FindingEvent),
    Direct(DirectRequest),
    Sweep(SweepRequest),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingSource {
    GuardDuty,
    SecurityHubImported,
    SecurityHubCustomAction,
    SecurityHubOcsf,
}

impl FindingSource {
    /// A person chose to act on a custom action's findings, so severity does not gate them.
    pub fn severity_gated(self) -> bool {
        self != Self::SecurityHubCustomAction
    }

    /// Findings imported into Security Hub may come from any product allowed to import, including
    /// an account's own `BatchImportFindings`; GuardDuty's own events and a person's custom action
    /// do not.
    pub fn product_gated(self) -> bool {
        matches!(self, Self::SecurityHubImported | Self::SecurityHubOcsf)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct FindingEvent {
    pub source: FindingSource,
    /// The custom action's name, for Security Hub custom actions.
    pub action_name: Option<String>,
    pub findings: Vec<Finding>,
    /// Findings of the batch that could not be decoded: reported, while the others are acted on.
    pub bad: Vec<BadFinding>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadFinding {
    /// Its position in the batch.
    pub index: usize,
    pub error: DecodeError,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub id: String,
    pub types: Vec<String>,
    /// On GuardDuty's scale, 0 to 10; ASFF labels and OCSF severities are placed on it.
    pub severity: f64,
    pub severity_label: String,
    /// Why the finding is no longer live (archived, suppressed, resolved, deleted, closed).
    pub closed: Option<String>,
    /// The Security Hub product that wrote it (ASFF `ProductArn`, OCSF `metadata.product.uid`).
    pub product: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub evidence: Evidence,
}

const EXPECTED: &str = "expected an EventBridge event from aws.events (\"Scheduled Event\"), \
aws.guardduty (\"GuardDuty Finding\") or aws.securityhub (\"Security Hub Findings - Imported\", \"Security Hub Findings - Custom Action\", \
\"Findings Imported V2\"), a GuardDuty or Security Hub finding as GetFindings returns it, or a direct \
request with ClientVpnEndpointId, ConnectionId or Username, DryRun and Reason, or a Scheduler payload \
{\"Sweep\": {...}}";

/// Decodes one finding of a format; the time is the envelope's, for findings that give none.
type DecodeFinding = fn(&At, Option<DateTime<Utc>>) -> Result<Finding, DecodeError>;

pub fn decode(event: &Value) -> Result<Trigger, DecodeError> {
    let root = At::root(event);
    if !event.is_object() {
        return Err(root.error(format!("{EXPECTED}; found {}", crate::json::kind(event))));
    }
    if root.get("detail-type").is_some() || root.get("source").is_some() {
        return decode_eventbridge(&root);
    }
    if let Some(sweep) = schedule::payload(&root) {
        return sweep.map(Trigger::Sweep);
    }
    if direct::looks_like(&root) {
        return direct::decode(&root).map(Trigger::Direct);
    }
    if let Some(findings) = root.get("Findings") {
        // GetFindings of GuardDuty or of Security Hub: each item says which by its own fields.
        let asff_items = findings.items()?.iter().any(asff::looks_like);
        let source = if asff_items {
            FindingSource::SecurityHubImported
        } else {
            FindingSource::GuardDuty
        };
        return batch(source, None, &findings, get_findings_item, None);
    }
    if guardduty::looks_like(&root) {
        return single(FindingSource::GuardDuty, guardduty::decode(&root, None)?);
    }
    if asff::looks_like(&root) {
        return single(
            FindingSource::SecurityHubImported,
            asff::decode(&root, None)?,
        );
    }
    Err(root.error(EXPECTED))
}

fn get_findings_item(at: &At, time: Option<DateTime<Utc>>) -> Result<Finding, DecodeError> {
    if at.get("ProductArn").is_some() {
        asff::decode(at, time)
    } else {
        guardduty::decode(at, time)
    }
}

fn single(source: FindingSource, finding: Finding) -> Result<Trigger, DecodeError> {
    Ok(Trigger::Findings(FindingEvent {
        source,
        action_name: None,
        findings: vec![finding],
        bad: Vec::new(),
    }))
}

/// A batch of findings: one malformed finding is reported, not allowed to refuse the others; a
/// batch in which none decodes is a bad event.
fn batch(
    source: FindingSource,
    action_name: Option<String>,
    list: &At,
    decode_one: DecodeFinding,
    time: Option<DateTime<Utc>>,
) -> Result<Trigger, DecodeError> {
    let items = list.items()?;
    if items.is_empty() {
        return Err(list.error("empty; expected at least one finding"));
    }
    let mut findings = Vec::new();
    let mut bad = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match decode_one(item, time) {
            Ok(f) => findings.push(f),
            Err(error) => bad.push(BadFinding { index, error }),
        }
    }
    if findings.is_empty() {
        return Err(bad.swap_remove(0).error);
    }
    Ok(Trigger::Findings(FindingEvent {
        source,
        action_name,
        findings,
        bad,
    }))
}

fn decode_eventbridge(root: &At) -> Result<Trigger, DecodeError> {
    let source = root.require("source")?;
    let detail_type = root.require("detail-type")?;
    let (source_name, type_name) = (source.str()?, detail_type.str()?);
    let detail = root.require("detail")?;
    if let Some(time) = root.get("time") {
        time.time()?;
    }
    let envelope = EventBridgeEvent::<Value>::deserialize(root.value)
        .map_err(|e| root.error(format!("not an EventBridge event: {e}")))?;
    let time = envelope.time;
    let (kind, decode_one): (FindingSource, DecodeFinding) = match (source_name, type_name) {
        ("aws.events", "Scheduled Event") => {
            root.require("time")?;
            return schedule::decode(&detail, time).map(Trigger::Sweep);
        }
        ("aws.guardduty", "GuardDuty Finding") => {
            return single(FindingSource::GuardDuty, guardduty::decode(&detail, time)?);
        }
        ("aws.securityhub", "Security Hub Findings - Imported") => {
            (FindingSource::SecurityHubImported, asff::decode)
        }
        ("aws.securityhub", "Security Hub Findings - Custom Action") => {
            (FindingSource::SecurityHubCustomAction, asff::decode)
        }
        ("aws.securityhub", "Findings Imported V2") => {
            (FindingSource::SecurityHubOcsf, ocsf::decode)
        }
        ("aws.guardduty" | "aws.securityhub", _) => {
            return Err(
                detail_type.error(format!("`{type_name}` is not a finding event; {EXPECTED}"))
            )
        }
        _ => {
            return Err(source.error(format!(
                "`{source_name}` is not a supported source; {EXPECTED}"
            )))
        }
    };
    let action_name = match detail.get("actionName") {
        Some(name) => Some(name.str()?.to_owned()),
        None => None,
    };
    batch(
        kind,
        action_name,
        &detail.require("findings")?,
        decode_one,
        time,
    )
}

pub(crate) fn opt_str(at: &At, key: &'static str) -> Result<Option<String>, DecodeError> {
    at.get_either(key)
        .map(|v| v.str().map(str::to_owned))
        .transpose()
}

/// GuardDuty's bands on its 0–10 scale, the common scale of every format here.
pub(crate) fn label_of(severity: f64) -> &'static str {
    match severity {
        s if s >= 9.0 => "CRITICAL",
        s if s >= 7.0 => "HIGH",
        s if s >= 4.0 => "MEDIUM",
        s if s >= 1.0 => "LOW",
        _ => "INFORMATIONAL",
    }
}

/// A severity label placed at the bottom of GuardDuty's band for it.
pub(crate) fn label_score(label: &str) -> Option<f64> {
    Some(match label.to_ascii_uppercase().as_str() {
        "INFORMATIONAL" => 0.0,
        "LOW" => 1.0,
        "MEDIUM" => 4.0,
        "HIGH" => 7.0,
        "CRITICAL" => 9.0,
        _ => return None,
    })
}

#[cfg(test)]
pub(crate) mod tests {
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

    fn identities(f: &Finding) -> Vec<&str> {
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
}
