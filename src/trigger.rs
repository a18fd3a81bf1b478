//! Telling an event apart by its own fields and decoding it into a [`Trigger`]. Pure: no I/O.

use crate::indicators::{self, Indicators};
use crate::json::{At, DecodeError};
use crate::model::{is_resource_id, CONNECTION_PREFIX, ENDPOINT_PREFIX};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
pub enum Trigger {
    Findings(FindingEvent),
    Direct(DirectRequest),
    Sweep(SweepRequest),
}

/// A scheduled cleanup: an EventBridge rule's `Scheduled Event`, or an EventBridge Scheduler payload
/// `{"Sweep": {...}}`. Either may override the policy for this run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepRequest {
    /// The tick's time: the event's `time`, or the Scheduler payload's `Time`.
    pub time: Option<DateTime<Utc>>,
    pub overrides: SweepOverrides,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepOverrides {
    pub endpoint_ids: Option<Vec<String>>,
    pub idle_minutes: Option<u32>,
    pub idle_bytes: Option<u64>,
    pub max_session_minutes: Option<u32>,
    pub dry_run: Option<bool>,
}

const SWEEP_FIELDS: [&str; 6] = [
    "Time",
    "ClientVpnEndpointIds",
    "IdleMinutes",
    "IdleBytes",
    "MaxSessionMinutes",
    "DryRun",
];

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
}

#[derive(Clone, Debug, PartialEq)]
pub struct FindingEvent {
    pub source: FindingSource,
    /// The custom action's name, for Security Hub custom actions.
    pub action_name: Option<String>,
    pub findings: Vec<Finding>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub id: String,
    pub types: Vec<String>,
    /// On GuardDuty's scale, 0 to 10; ASFF labels and OCSF severities are placed on it.
    pub severity: f64,
    pub severity_label: String,
    /// Why the finding is no longer live (archived, suppressed, resolved, closed), if it is not.
    pub closed: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub indicators: Indicators,
}

/// A request shaped like `TerminateClientVpnConnections`, for runbooks, Step Functions and people.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectRequest {
    pub endpoint_id: Option<String>,
    pub connection_id: Option<String>,
    pub username: Option<String>,
    pub dry_run: bool,
    pub reason: Option<String>,
}

const DIRECT_FIELDS: [&str; 5] = [
    "ClientVpnEndpointId",
    "ConnectionId",
    "Username",
    "DryRun",
    "Reason",
];

const EXPECTED: &str = "expected an EventBridge event from aws.events (\"Scheduled Event\"), \
aws.guardduty (\"GuardDuty Finding\") or aws.securityhub (\"Security Hub Findings - Imported\", \"Security Hub Findings - Custom Action\", \
\"Findings Imported V2\"), a GuardDuty or Security Hub finding as GetFindings returns it, or a direct \
request with ClientVpnEndpointId, ConnectionId or Username, DryRun and Reason, or a Scheduler payload \
{\"Sweep\": {...}}";

pub fn decode(event: &Value) -> Result<Trigger, DecodeError> {
    let root = At::root(event);
    if !event.is_object() {
        return Err(root.error(format!("{EXPECTED}; found {}", crate::json::kind(event))));
    }
    if root.get("detail-type").is_some() || root.get("source").is_some() {
        return decode_eventbridge(&root);
    }
    if let Some(sweep) = root.get("Sweep") {
        if let Some(other) = event
            .as_object()
            .and_then(|o| o.keys().find(|k| *k != "Sweep"))
        {
            return Err(DecodeError {
                path: format!("event.{other}"),
                message: "a Scheduler payload holds only Sweep".into(),
            });
        }
        return decode_sweep(&sweep, None).map(Trigger::Sweep);
    }
    let object = event.as_object().expect("checked above");
    // Case-insensitively, so that `UserName` gets "not a field of a direct request" rather than
    // "not a recognised event".
    if object
        .keys()
        .any(|k| DIRECT_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(k)))
    {
        return decode_direct(&root).map(Trigger::Direct);
    }
    if let Some(findings) = root.get("Findings") {
        return decode_get_findings(&findings);
    }
    if looks_like_guardduty(&root) {
        return Ok(Trigger::Findings(FindingEvent {
            source: FindingSource::GuardDuty,
            action_name: None,
            findings: vec![guardduty(&root)?],
        }));
    }
    if root.get("ProductArn").is_some() && root.get("SchemaVersion").is_some() {
        return Ok(Trigger::Findings(FindingEvent {
            source: FindingSource::SecurityHubImported,
            action_name: None,
            findings: vec![asff(&root)?],
        }));
    }
    Err(root.error(EXPECTED))
}

/// Decodes one finding of a given format.
type DecodeFinding = fn(&At) -> Result<Finding, DecodeError>;

fn decode_eventbridge(root: &At) -> Result<Trigger, DecodeError> {
    let source = root.require("source")?;
    let detail_type = root.require("detail-type")?;
    let (source_name, type_name) = (source.str()?, detail_type.str()?);
    if (source_name, type_name) == ("aws.events", "Scheduled Event") {
        let time = root.require("time")?;
        let at = time.str()?;
        let time = DateTime::parse_from_rfc3339(at)
            .map_err(|_| time.error(format!("`{at}` is not an RFC 3339 time")))?
            .with_timezone(&Utc);
        return match root.get("detail") {
            Some(detail) => decode_sweep(&detail, Some(time)).map(Trigger::Sweep),
            None => Ok(Trigger::Sweep(SweepRequest {
                time: Some(time),
                overrides: SweepOverrides::default(),
            })),
        };
    }
    let detail = root.require("detail")?;
    let (kind, decode_one): (FindingSource, DecodeFinding) = match (source_name, type_name) {
        ("aws.guardduty", "GuardDuty Finding") => {
            return Ok(Trigger::Findings(FindingEvent {
                source: FindingSource::GuardDuty,
                action_name: None,
                findings: vec![guardduty(&detail)?],
            }))
        }
        ("aws.securityhub", "Security Hub Findings - Imported") => {
            (FindingSource::SecurityHubImported, asff)
        }
        ("aws.securityhub", "Security Hub Findings - Custom Action") => {
            (FindingSource::SecurityHubCustomAction, asff)
        }
        ("aws.securityhub", "Findings Imported V2") => (FindingSource::SecurityHubOcsf, ocsf),
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
    let findings = detail.require("findings")?;
    let items = findings.items()?;
    if items.is_empty() {
        return Err(findings.error("empty; expected at least one finding"));
    }
    let action_name = match detail.get("actionName") {
        Some(name) => Some(name.str()?.to_owned()),
        None => None,
    };
    Ok(Trigger::Findings(FindingEvent {
        source: kind,
        action_name,
        findings: items.iter().map(decode_one).collect::<Result<_, _>>()?,
    }))
}

/// `{"Findings": [...]}` as GuardDuty's or Security Hub's GetFindings returns it.
fn decode_get_findings(findings: &At) -> Result<Trigger, DecodeError> {
    let items = findings.items()?;
    let first = items
        .first()
        .ok_or_else(|| findings.error("empty; expected at least one finding"))?;
    let (source, decode_one): (FindingSource, DecodeFinding) = if first.get("ProductArn").is_some()
    {
        (FindingSource::SecurityHubImported, asff)
    } else {
        (FindingSource::GuardDuty, guardduty)
    };
    Ok(Trigger::Findings(FindingEvent {
        source,
        action_name: None,
        findings: items.iter().map(decode_one).collect::<Result<_, _>>()?,
    }))
}

fn looks_like_guardduty(at: &At) -> bool {
    at.get_either("schemaVersion").is_some()
        && at.get_either("type").is_some()
        && at.get_either("resource").is_some()
}

fn opt_str(at: &At, key: &'static str) -> Result<Option<String>, DecodeError> {
    at.get_either(key)
        .map(|v| v.str().map(str::to_owned))
        .transpose()
}

/// A GuardDuty finding, in EventBridge's lower camel case or GetFindings' upper camel case.
fn guardduty(at: &At) -> Result<Finding, DecodeError> {
    let id = at.require_either("id")?.str()?.to_owned();
    let kind = at.require_either("type")?.str()?.to_owned();
    let severity_at = at.require_either("severity")?;
    let severity = severity_at.f64()?;
    if !(0.0..=10.0).contains(&severity) {
        return Err(severity_at.error(format!("{severity} is outside GuardDuty's 0 to 10")));
    }
    let archived = match at
        .get_either("service")
        .and_then(|s| s.get_either("archived").map(|a| a.bool()))
    {
        Some(flag) => flag?,
        None => false,
    };
    Ok(Finding {
        id,
        types: vec![kind],
        severity,
        severity_label: guardduty_label(severity).to_owned(),
        closed: archived.then(|| "archived".to_owned()),
        account: opt_str(at, "accountId")?,
        region: opt_str(at, "region")?,
        indicators: indicators::guardduty(at),
    })
}

fn guardduty_label(severity: f64) -> &'static str {
    match severity {
        s if s >= 9.0 => "CRITICAL",
        s if s >= 7.0 => "HIGH",
        s if s >= 4.0 => "MEDIUM",
        s if s >= 1.0 => "LOW",
        _ => "INFORMATIONAL",
    }
}

/// ASFF labels placed on GuardDuty's scale at the bottom of GuardDuty's band for each label.
fn label_score(label: &str) -> Option<f64> {
    Some(match label.to_ascii_uppercase().as_str() {
        "INFORMATIONAL" => 0.0,
        "LOW" => 1.0,
        "MEDIUM" => 4.0,
        "HIGH" => 7.0,
        "CRITICAL" => 9.0,
        _ => return None,
    })
}

fn asff(at: &At) -> Result<Finding, DecodeError> {
    let id = at.require("Id")?.str()?.to_owned();
    let severity_at = at.require("Severity")?;
    let (severity, severity_label) = match (severity_at.get("Label"), severity_at.get("Normalized"))
    {
        (Some(label), _) => {
            let text = label.str()?;
            let score = label_score(text).ok_or_else(|| {
                label.error(format!(
                    "`{text}` is not INFORMATIONAL, LOW, MEDIUM, HIGH or CRITICAL"
                ))
            })?;
            (score, text.to_ascii_uppercase())
        }
        (None, Some(normalized)) => {
            let n = normalized.f64()?;
            if !(0.0..=100.0).contains(&n) {
                return Err(normalized.error(format!("{n} is outside 0 to 100")));
            }
            (n / 10.0, guardduty_label(n / 10.0).to_owned())
        }
        (None, None) => return Err(severity_at.error("needs Label or Normalized")),
    };
    let record_state = match at.get("RecordState") {
        Some(s) => Some(s.str()?.to_ascii_uppercase()),
        None => None,
    };
    let workflow = match at
        .get("Workflow")
        .and_then(|w| w.get("Status").map(|s| s.str()))
    {
        Some(s) => Some(s?.to_ascii_uppercase()),
        None => None,
    };
    let closed = if record_state.as_deref() == Some("ARCHIVED") {
        Some("archived".to_owned())
    } else {
        workflow
            .filter(|w| w == "SUPPRESSED" || w == "RESOLVED")
            .map(|w| w.to_ascii_lowercase())
    };
    Ok(Finding {
        id,
        types: at.strings("Types")?,
        severity,
        severity_label,
        closed,
        account: opt_str(at, "AwsAccountId")?,
        region: opt_str(at, "Region")?,
        indicators: indicators::asff(at),
    })
}

/// OCSF severity_id: 1 Informational … 5 Critical, 6 Fatal; 0 Unknown and 99 Other count as 0.
fn ocsf_severity(id: i64) -> (f64, &'static str) {
    match id {
        1 => (0.0, "INFORMATIONAL"),
        2 => (1.0, "LOW"),
        3 => (4.0, "MEDIUM"),
        4 => (7.0, "HIGH"),
        5 => (9.0, "CRITICAL"),
        6 => (10.0, "FATAL"),
        _ => (0.0, "UNKNOWN"),
    }
}

fn ocsf(at: &At) -> Result<Finding, DecodeError> {
    let info = at.get("finding_info");
    let id = match (
        info.as_ref().and_then(|i| i.get("uid")),
        at.get("metadata").and_then(|m| m.get("uid")),
    ) {
        (Some(uid), _) | (None, Some(uid)) => uid.str()?.to_owned(),
        (None, None) => return Err(at.error("needs finding_info.uid (or metadata.uid)")),
    };
    let types = match &info {
        Some(i) => i.strings("types")?,
        None => Vec::new(),
    };
    let (severity, severity_label) = match (at.get("severity_id"), at.get("severity")) {
        (Some(sid), _) => {
            let n = sid
                .value
                .as_i64()
                .ok_or_else(|| sid.error("expected a whole number"))?;
            let (score, label) = ocsf_severity(n);
            (score, label.to_owned())
        }
        (None, Some(label)) => {
            let text = label.str()?;
            let score = match text.to_ascii_uppercase().as_str() {
                "FATAL" => 10.0,
                other => label_score(other).unwrap_or(0.0),
            };
            (score, text.to_ascii_uppercase())
        }
        (None, None) => return Err(at.error("needs severity_id or severity")),
    };
    let status = match at.get("status") {
        Some(s) => Some(s.str()?.to_ascii_lowercase()),
        None => match at.get("status_id").and_then(|s| s.value.as_i64()) {
            Some(3) => Some("suppressed".to_owned()),
            Some(4) => Some("resolved".to_owned()),
            Some(5) => Some("archived".to_owned()),
            _ => None,
        },
    };
    let activity_closed = at
        .get("activity_name")
        .and_then(|a| a.value.as_str())
        .is_some_and(|a| a.eq_ignore_ascii_case("close"));
    let closed = status
        .filter(|s| matches!(s.as_str(), "suppressed" | "resolved" | "archived"))
        .or_else(|| activity_closed.then(|| "closed".to_owned()));
    let cloud = at.get("cloud");
    let account = cloud
        .as_ref()
        .and_then(|c| c.get("account"))
        .and_then(|a| a.get("uid").map(|u| u.str().map(str::to_owned)));
    let region = cloud
        .as_ref()
        .and_then(|c| c.get("region"))
        .map(|r| r.str().map(str::to_owned));
    Ok(Finding {
        id,
        types,
        severity,
        severity_label,
        closed,
        account: account.transpose()?,
        region: region.transpose()?,
        indicators: indicators::ocsf(at),
    })
}

/// The overrides of a Scheduler payload's `Sweep`, or of a scheduled event's `detail` (where the
/// time comes from the envelope).
fn decode_sweep(
    at: &At,
    envelope_time: Option<DateTime<Utc>>,
) -> Result<SweepRequest, DecodeError> {
    let object = at.value.as_object().ok_or_else(|| {
        at.error(format!(
            "expected an object, found {}",
            crate::json::kind(at.value)
        ))
    })?;
    if let Some(unknown) = object
        .keys()
        .find(|k| !SWEEP_FIELDS.contains(&k.as_str()) || (envelope_time.is_some() && *k == "Time"))
    {
        return Err(DecodeError {
            path: format!("{}.{unknown}", at.path()),
            message: format!("not a sweep setting; expected {}", SWEEP_FIELDS.join(", ")),
        });
    }
    let positive = |key: &str, max: u64| -> Result<Option<u64>, DecodeError> {
        let Some(v) = at.get(key) else {
            return Ok(None);
        };
        match v.value.as_u64() {
            Some(n) if (1..=max).contains(&n) => Ok(Some(n)),
            _ => Err(v.error(format!("expected a whole number from 1 to {max}"))),
        }
    };
    let time = match at.get("Time") {
        Some(t) => {
            let text = t.str()?;
            Some(
                DateTime::parse_from_rfc3339(text)
                    .map_err(|_| t.error(format!("`{text}` is not an RFC 3339 time")))?
                    .with_timezone(&Utc),
            )
        }
        None => envelope_time,
    };
    let endpoint_ids = match at.get("ClientVpnEndpointIds") {
        Some(list) => {
            let mut ids = Vec::new();
            for item in list.items()? {
                let id = item.str()?;
                if !is_resource_id(id, ENDPOINT_PREFIX) {
                    return Err(item.error(format!("`{id}` is not a Client VPN endpoint ID")));
                }
                ids.push(id.to_owned());
            }
            if ids.is_empty() {
                return Err(list.error("empty; leave it out to sweep every endpoint"));
            }
            Some(ids)
        }
        None => None,
    };
    Ok(SweepRequest {
        time,
        overrides: SweepOverrides {
            endpoint_ids,
            idle_minutes: positive("IdleMinutes", 5_256_000)?.map(|n| n as u32),
            idle_bytes: positive("IdleBytes", u64::MAX)?,
            max_session_minutes: positive("MaxSessionMinutes", 5_256_000)?.map(|n| n as u32),
            dry_run: at.get("DryRun").map(|d| d.bool()).transpose()?,
        },
    })
}

fn decode_direct(root: &At) -> Result<DirectRequest, DecodeError> {
    let object = root
        .value
        .as_object()
        .expect("decode checked for an object");
    if let Some(unknown) = object.keys().find(|k| !DIRECT_FIELDS.contains(&k.as_str())) {
        return Err(DecodeError {
            path: format!("event.{unknown}"),
            message: format!(
                "not a field of a direct request; expected {}",
                DIRECT_FIELDS.join(", ")
            ),
        });
    }
    let text = |key: &'static str| -> Result<Option<String>, DecodeError> {
        match root.get(key) {
            None => Ok(None),
            Some(v) => {
                let s = v.str()?.trim();
                if s.is_empty() {
                    return Err(v.error("empty"));
                }
                Ok(Some(s.to_owned()))
            }
        }
    };
    let request = DirectRequest {
        endpoint_id: text("ClientVpnEndpointId")?,
        connection_id: text("ConnectionId")?,
        username: text("Username")?,
        dry_run: match root.get("DryRun") {
            Some(v) => v.bool()?,
            None => false,
        },
        reason: text("Reason")?,
    };
    if let Some(id) = &request.endpoint_id {
        if !is_resource_id(id, ENDPOINT_PREFIX) {
            return Err(DecodeError {
                path: "event.ClientVpnEndpointId".into(),
                message: format!(
                    "`{id}` is not a Client VPN endpoint ID (cvpn-endpoint- and 17 hex digits)"
                ),
            });
        }
    }
    if let Some(id) = &request.connection_id {
        if !is_resource_id(id, CONNECTION_PREFIX) {
            return Err(DecodeError {
                path: "event.ConnectionId".into(),
                message: format!(
                    "`{id}` is not a Client VPN connection ID (cvpn-connection- and 17 hex digits)"
                ),
            });
        }
    }
    match (&request.connection_id, &request.username) {
        (Some(_), Some(_)) => {
            Err(root.error("give ConnectionId or Username, not both (as the API requires)"))
        }
        (None, None) => Err(root.error("a direct request needs ConnectionId or Username")),
        _ => Ok(request),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample(name: &str) -> Value {
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
        f.indicators
            .identities
            .iter()
            .map(|i| i.value.as_str())
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
        assert_eq!(f.indicators.ips[0].value.to_string(), "10.200.0.7");
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
            g.indicators.identities[0].origin,
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
    fn scheduled_events_and_scheduler_payloads() {
        let rule = json!({"version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "111122223333", "time": "2026-11-22T10:00:00Z", "region": "eu-west-1", "resources": [], "detail": {}});
        let Trigger::Sweep(s) = decode(&rule).unwrap() else {
            panic!()
        };
        assert_eq!(s.time, Some("2026-11-22T10:00:00Z".parse().unwrap()));
        assert_eq!(s.overrides, SweepOverrides::default());

        let payload = json!({"Sweep": {"Time": "2026-11-22T10:05:00Z", "ClientVpnEndpointIds": ["cvpn-endpoint-0a1b2c3d4e5f60718"],
            "IdleMinutes": 45, "IdleBytes": 20000, "MaxSessionMinutes": 600, "DryRun": true}});
        let Trigger::Sweep(s) = decode(&payload).unwrap() else {
            panic!()
        };
        assert_eq!(s.time, Some("2026-11-22T10:05:00Z".parse().unwrap()));
        assert_eq!(
            s.overrides,
            SweepOverrides {
                endpoint_ids: Some(vec!["cvpn-endpoint-0a1b2c3d4e5f60718".into()]),
                idle_minutes: Some(45),
                idle_bytes: Some(20000),
                max_session_minutes: Some(600),
                dry_run: Some(true),
            }
        );
        let Trigger::Sweep(s) = decode(&json!({"Sweep": {}})).unwrap() else {
            panic!()
        };
        assert_eq!(s, SweepRequest::default());
    }

    #[test]
    fn bad_sweep_settings_name_the_field() {
        let cases = [
            (
                json!({"Sweep": {"IdleMinutes": 0}}),
                "event.Sweep.IdleMinutes",
            ),
            (
                json!({"Sweep": {"IdleMinutes": -5}}),
                "event.Sweep.IdleMinutes",
            ),
            (
                json!({"Sweep": {"IdleBytes": "lots"}}),
                "event.Sweep.IdleBytes",
            ),
            (
                json!({"Sweep": {"IdleMinuets": 5}}),
                "event.Sweep.IdleMinuets",
            ),
            (json!({"Sweep": {"Time": "yesterday"}}), "event.Sweep.Time"),
            (
                json!({"Sweep": {"ClientVpnEndpointIds": []}}),
                "event.Sweep.ClientVpnEndpointIds",
            ),
            (
                json!({"Sweep": {"ClientVpnEndpointIds": ["vpn-1"]}}),
                "event.Sweep.ClientVpnEndpointIds[0]",
            ),
            (json!({"Sweep": 5}), "event.Sweep"),
            (json!({"Sweep": {}, "Username": "x"}), "event.Username"),
            (
                json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}),
                "event.time",
            ),
            (
                json!({"detail-type": "Scheduled Event", "source": "aws.events", "time": "2026-11-22T10:00:00Z", "detail": {"Time": "2026-11-22T10:00:00Z"}}),
                "event.detail.Time",
            ),
        ];
        for (event, path) in cases {
            let e = decode(&event).unwrap_err();
            assert_eq!(e.path, path, "{event}: {e}");
        }
    }

    #[test]
    fn direct_requests() {
        assert_eq!(
            decode(&sample("direct-connection-id.json")).unwrap(),
            Trigger::Direct(DirectRequest {
                endpoint_id: Some("cvpn-endpoint-0a1b2c3d4e5f60718".into()),
                connection_id: Some("cvpn-connection-0000000000094ace1".into()),
                username: None,
                dry_run: false,
                reason: Some("Session flagged by the SOC (INC-2042)".into()),
            })
        );
        let Trigger::Direct(dry) = decode(&sample("direct-dry-run.json")).unwrap() else {
            panic!()
        };
        assert!(dry.dry_run);
        assert_eq!(dry.username.as_deref(), Some("heidi"));
    }
}
