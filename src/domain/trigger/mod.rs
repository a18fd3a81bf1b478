//! Telling an event apart by its own fields and decoding it into a [`Trigger`], one module per
//! format: [`guardduty`], [`asff`] and [`ocsf`] findings, [`direct`] requests and [`schedule`]
//! payloads. The EventBridge envelope is `aws_lambda_events`'; what a finding may name is
//! [`evidence`]. Pure: no I/O.

pub mod approval;
pub mod asff;
pub mod connect;
pub mod delivery;
pub mod direct;
pub mod evidence;
pub mod guardduty;
pub mod identity_center;
pub mod idp;
pub mod ocsf;
pub mod okta;
pub mod own_note;
pub mod posture;
mod principal;
pub mod quarantine;
pub mod request;
pub mod schedule;
pub mod source;
pub mod split;
pub mod takes;

use crate::domain::json::{At, DecodeError};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
pub use direct::DirectRequest;
pub use evidence::Evidence;
pub use quarantine::QuarantineRequest;
pub use schedule::{SweepOverrides, SweepRequest};
use serde::Deserialize;
use serde_json::Value;
pub use source::{FindingSource, TriggerSource};

#[derive(Clone, Debug, PartialEq)]
pub enum Trigger {
    Findings(FindingEvent),
    Direct(DirectRequest),
    Sweep(SweepRequest),
    /// Which places a tick's children sweep (a Distributed Map's first step).
    Places(split::PlacesRequest),
    /// A person's change to the quarantine.
    Quarantine(QuarantineRequest),
    /// Client VPN asks whether a client may connect.
    Connect(crate::domain::quarantine::connect::ConnectRequest),
    /// The identity provider's word on a person (Okta's System Log, IAM Identity Center's
    /// CloudTrail records).
    Idp(idp::IdpEvent),
    /// A request over the Function URL (Global Token Revocation, Shared Signals), answered over
    /// HTTP once its token is verified.
    Signal(crate::domain::signal::Request),
    /// A person's answer to a request for approval (`{"Approve": …}`, `{"Deny": …}`).
    Answer(approval::Answer),
}

#[derive(Clone, Debug, PartialEq)]
pub struct FindingEvent {
    pub source: FindingSource,
    /// The custom action's name, for Security Hub custom actions.
    pub action_name: Option<String>,
    pub findings: Vec<Finding>,
    /// Findings of the batch that could not be decoded: reported, while the others are acted on.
    pub bad: Vec<BadFinding>,
    /// The envelope's time, the same on every delivery and retry of the event.
    pub time: Option<DateTime<Utc>>,
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
    /// The finding as Security Hub's `BatchUpdateFindings` names it: an ASFF finding's own, or
    /// the copy GuardDuty sends to Security Hub; none for OCSF findings.
    pub securityhub: Option<SecurityHubRef>,
    /// When the finding carries this function's note and has not changed since (its
    /// `own_note::note_marker` matches): the time of that note. Security Hub sends an Imported event for
    /// every `BatchUpdateFindings`.
    pub own_note: Option<String>,
    /// What a note of ours on this finding ends with (`own_note::note_marker`), so that Security Hub's
    /// event for it is recognised.
    pub note_key: Option<String>,
    /// Why it is a posture or compliance finding (`posture.rs`), which never acts.
    pub posture: Option<String>,
    /// The note as the event shows it (ASFF `Note`; `Some(None)`: it shows none), or `None` when
    /// the event never shows the note (GuardDuty's copies, OCSF): what ours is written beside
    /// when the note as it is now cannot be read.
    pub shown_note: Option<Option<ExistingNote>>,
}

impl Trigger {
    /// What set this invocation off, as its answer and log lines name it. `None` for what is
    /// answered rather than acted on: a connect handler's question, and a Function URL request
    /// (its verified word becomes an [`idp::IdpEvent`] of its own).
    pub fn source(&self) -> Option<TriggerSource> {
        Some(match self {
            Self::Findings(f) => f.source.into(),
            Self::Direct(_) => TriggerSource::Direct,
            Self::Sweep(_) | Self::Places(_) => TriggerSource::Schedule,
            Self::Quarantine(q) => match q.change {
                quarantine::Change::Hold { .. } => TriggerSource::Quarantine,
                quarantine::Change::Release => TriggerSource::Release,
            },
            Self::Answer(a) if a.approve => TriggerSource::Approve,
            Self::Answer(_) => TriggerSource::Deny,
            Self::Idp(event) => match event.via {
                idp::Via::LogStream { .. } => TriggerSource::Okta,
                idp::Via::Signal => TriggerSource::IdpSignal,
                idp::Via::IdentityCenter { .. } => TriggerSource::IdentityCenter,
            },
            Self::Connect(_) | Self::Signal(_) => return None,
        })
    }
}

/// A note on a finding as Security Hub has it: its text and who wrote it (`UpdatedBy`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExistingNote {
    pub text: String,
    pub by: String,
}

/// The keys of an ASFF finding's `UserDefinedFields` where an analyst names a Client VPN
/// connection or endpoint as evidence (read by `asff.rs`, and part of what a note of ours records
/// in `own_note.rs`).
pub const CONNECTION_KEY: &str = "ClientVpnConnectionId";
pub const ENDPOINT_KEY: &str = "ClientVpnEndpointId";

/// Who the function's notes on findings are by.
pub const NOTE_AUTHOR: &str = "cvpn-terminator";

/// A finding in Security Hub (ASFF `Id` and `ProductArn`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityHubRef {
    pub id: String,
    pub product_arn: String,
}

const EXPECTED: &str = "expected an EventBridge event from aws.events (\"Scheduled Event\"), \
aws.guardduty (\"GuardDuty Finding\") or aws.securityhub (\"Security Hub Findings - Imported\", \"Security Hub Findings - Custom Action\", \
\"Findings Imported V2\"), aws.partner/okta.com/… (\"SystemLog\"), aws.sso-directory or aws.identitystore \
(\"AWS API Call via CloudTrail\"), a GuardDuty or Security Hub finding as GetFindings returns it, or a direct \
request with ClientVpnEndpointId, ConnectionId or Username, DryRun and Reason, a Function URL request (POST /global-token-revocation, /ssf/events), a Scheduler payload \
{\"Sweep\": {...}}, a request for a tick's places {\"Places\": {\"Time\": ...}}, a quarantine change {\"Quarantine\": {...}} or {\"Release\": {...}}, an answer to a \
request for approval {\"Approve\": {...}} or {\"Deny\": {...}}, or a Client VPN client connect handler request";

/// Decodes one finding of a format; the time is the envelope's, for findings that give none.
type DecodeFinding = fn(&At, Option<DateTime<Utc>>) -> Result<Finding, DecodeError>;

pub fn decode(event: &Value) -> Result<Trigger, DecodeError> {
    let root = At::root(event);
    if !event.is_object() {
        return Err(root.error(format!(
            "{EXPECTED}; found {}",
            crate::domain::json::kind(event)
        )));
    }
    if root.get("detail-type").is_some() || root.get("source").is_some() {
        return decode_eventbridge(&root);
    }
    // The envelope is Lambda's; what is in the body is anyone's, and read only once verified.
    if crate::domain::signal::looks_like(&root) {
        return Ok(Trigger::Signal(crate::domain::signal::decode(&root)));
    }
    if let Some(sweep) = schedule::payload(&root) {
        return sweep.map(Trigger::Sweep);
    }
    if let Some(places) = split::payload(&root) {
        return places.map(Trigger::Places);
    }
    if let Some(change) = quarantine::payload(&root) {
        return change.map(Trigger::Quarantine);
    }
    if let Some(answer) = approval::payload(&root) {
        return answer.map(Trigger::Answer);
    }
    if connect::looks_like(&root) {
        return Ok(Trigger::Connect(connect::decode(&root)));
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
        return single(
            FindingSource::GuardDuty,
            guardduty::decode(&root, None)?,
            None,
        );
    }
    if asff::looks_like(&root) {
        return single(
            FindingSource::SecurityHubImported,
            asff::decode(&root, None)?,
            None,
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

fn single(
    source: FindingSource,
    finding: Finding,
    time: Option<DateTime<Utc>>,
) -> Result<Trigger, DecodeError> {
    Ok(Trigger::Findings(FindingEvent {
        source,
        action_name: None,
        findings: vec![finding],
        bad: Vec::new(),
        time,
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
        time,
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
    if okta::looks_like(source_name, type_name) {
        return okta::decode(&detail, source_name, time).map(Trigger::Idp);
    }
    if identity_center::looks_like(source_name, type_name) {
        return identity_center::decode(&detail, time).map(Trigger::Idp);
    }
    let (kind, decode_one): (FindingSource, DecodeFinding) = match (source_name, type_name) {
        ("aws.events", "Scheduled Event") => {
            root.require("time")?;
            return schedule::decode(&detail, time).map(Trigger::Sweep);
        }
        ("aws.guardduty", "GuardDuty Finding") => {
            let finding = guardduty::decode(&detail, time)?;
            return single(FindingSource::GuardDuty, finding, time);
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
pub(crate) mod tests;
