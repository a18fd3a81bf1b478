//! The outcome event: one per invocation that did something (or failed), built from its response.
//! Pure. Field names are a stable interface: rules, input transformers and chat tools read them.

use super::approval::{AnswerEntry, AskedEntry};
use super::lines::{lead, names, reason, summary};
use super::{Counts, Entry, Failure, FindingInfo, HoldEntry, Response};
use crate::domain::model::clip;
use crate::domain::text::plain;
use crate::domain::trigger::TriggerSource;
use serde::Serialize;
use serde_json::Value;

/// What kind of work the invocation did, which names the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Work {
    Incident,
    Sweep,
    /// A person's `Quarantine` or `Release` request.
    QuarantineChange,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum DetailType {
    #[serde(rename = "Client VPN Sessions Terminated")]
    SessionsTerminated,
    #[serde(rename = "Client VPN Termination Failed")]
    TerminationFailed,
    #[serde(rename = "Client VPN Sweep Completed")]
    SweepCompleted,
    #[serde(rename = "Client VPN Quarantine Changed")]
    QuarantineChanged,
    #[serde(rename = "Client VPN Approval Requested")]
    ApprovalRequested,
    #[serde(rename = "Client VPN Approval Answered")]
    ApprovalAnswered,
    #[serde(rename = "Client VPN Approval Expired")]
    ApprovalExpired,
}

impl DetailType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SessionsTerminated => "Client VPN Sessions Terminated",
            Self::TerminationFailed => "Client VPN Termination Failed",
            Self::SweepCompleted => "Client VPN Sweep Completed",
            Self::QuarantineChanged => "Client VPN Quarantine Changed",
            Self::ApprovalRequested => "Client VPN Approval Requested",
            Self::ApprovalAnswered => "Client VPN Approval Answered",
            Self::ApprovalExpired => "Client VPN Approval Expired",
        }
    }
}

/// Where and why the invocation ran, besides its response.
#[derive(Clone, Copy, Debug, Default)]
pub struct Context<'a> {
    pub account: Option<&'a str>,
    pub region: Option<&'a str>,
    /// The Lambda request ID.
    pub request_id: Option<&'a str>,
    /// The EventBridge event's `id`.
    pub event_id: Option<&'a str>,
    /// Where people look when no finding caused it (the Client VPN console).
    pub fallback_link: Option<&'a str>,
}

/// EventBridge refuses entries over 256 KB (source, detail type and detail together); this leaves
/// room for the first two.
pub const MAX_DETAIL_BYTES: usize = 255 * 1024;
/// Entries listed per list before the rest are only counted.
const MAX_LISTED: usize = 100;
/// The longest line for people (summary, reason, error message), in bytes.
const MAX_LINE: usize = 1024;

/// One ended (or, in a dry run, endable) connection.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ended {
    pub endpoint_id: Option<String>,
    pub connection_id: Option<String>,
    pub username: Option<String>,
    pub common_name: Option<String>,
    pub client_ip: Option<String>,
    pub finding_id: Option<String>,
}

impl From<&Entry> for Ended {
    fn from(e: &Entry) -> Self {
        Self {
            endpoint_id: e.endpoint_id.clone(),
            connection_id: e.connection_id.clone(),
            username: e.username.clone(),
            common_name: e.common_name.clone(),
            client_ip: e.client_ip.clone(),
            finding_id: e.finding_id.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Detail {
    pub account: Option<String>,
    pub region: Option<String>,
    /// `completed` or `failed`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
    /// `guard_duty`, `security_hub_imported`, `security_hub_custom_action`, `security_hub_ocsf`,
    /// `okta`, `direct`, `schedule`, `quarantine`, `release`.
    pub trigger: TriggerSource,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_name: Option<String>,
    pub dry_run: bool,
    /// One line for people: what was done to whom.
    pub summary: String,
    /// One line for people: why.
    pub reason: String,
    /// The first finding's console link, else the Client VPN console.
    pub link: String,
    pub findings: Vec<FindingInfo>,
    pub finding_ids: Vec<String>,
    /// Usernames and common names acted on.
    pub users: Vec<String>,
    pub counts: Counts,
    pub ended: Vec<Ended>,
    pub failed: Vec<Entry>,
    pub quarantine: Vec<HoldEntry>,
    /// Requests for a person's approval this made instead of acting, with the commands that
    /// answer them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approval_requests: Vec<AskedEntry>,
    /// What a person's answer to a request did, and who approved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<AnswerEntry>,
    /// Requests that expired unanswered: nothing of them was done.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expired_requests: Vec<AskedEntry>,
    /// Entries of the lists above left out to keep the event under EventBridge's limit.
    pub not_listed: usize,
    pub request_id: Option<String>,
    pub event_id: Option<String>,
}

/// Whether the invocation is worth an event, and which.
pub fn detail_type(work: Work, r: &Response, failed: bool) -> Option<DetailType> {
    let ended =
        !(r.terminated.is_empty() && r.unplanned.is_empty() && r.would_terminate.is_empty());
    // A hold only kept is no change: nothing new to tell.
    let held = r.quarantine.iter().any(|h| h.outcome.changed());
    let asked = !r.approval_requests.is_empty();
    match work {
        Work::Incident if failed => Some(DetailType::TerminationFailed),
        Work::Incident if ended => Some(DetailType::SessionsTerminated),
        Work::Incident if asked => Some(DetailType::ApprovalRequested),
        Work::Incident if r.approval.is_some() && !held => Some(DetailType::ApprovalAnswered),
        Work::Incident | Work::QuarantineChange if held || failed => {
            Some(DetailType::QuarantineChanged)
        }
        Work::Sweep
            if ended
                || failed
                || !(r.failed.is_empty() && r.errors.is_empty() && r.deferred.is_empty()) =>
        {
            Some(DetailType::SweepCompleted)
        }
        Work::Sweep if !r.expired_requests.is_empty() => Some(DetailType::ApprovalExpired),
        _ => None,
    }
}

/// The event's detail, or `None` when the invocation did nothing worth telling.
pub fn build(
    work: Work,
    r: &Response,
    failure: Option<&Failure>,
    cx: Context<'_>,
) -> Option<(DetailType, Detail)> {
    let kind = detail_type(work, r, failure.is_some())?;
    let shared = Shared {
        users: names(r),
        counts: Counts::of(r),
        link: lead(r)
            .and_then(|f| f.link.clone())
            .or_else(|| cx.fallback_link.map(str::to_owned))
            .unwrap_or_default(),
        ended: r
            .terminated
            .iter()
            .chain(&r.unplanned)
            .chain(&r.would_terminate)
            .collect(),
        failed: r.failed.iter().chain(&r.left_active).collect(),
        // People's text (a request's reason, many names) must not outgrow the event either.
        said: clip(&summary(r, failure), MAX_LINE).to_owned(),
        why: clip(&reason(r), MAX_LINE).to_owned(),
        error: failure.map(|f| Failure {
            kind: f.kind.clone(),
            message: clip(&f.message, MAX_LINE).to_owned(),
        }),
    };
    // Halve the lists until the event fits; with none listed it is a few kilobytes at most.
    let mut limit = MAX_LISTED;
    loop {
        let detail = shared.detail(r, &cx, limit);
        if limit == 0 || size(&detail) <= MAX_DETAIL_BYTES {
            return Some((kind, detail));
        }
        limit /= 2;
    }
}

/// What the detail says at every size: worked out once, then listed up to shrinking limits.
struct Shared<'r> {
    users: Vec<String>,
    counts: Counts,
    link: String,
    ended: Vec<&'r Entry>,
    failed: Vec<&'r Entry>,
    said: String,
    why: String,
    error: Option<Failure>,
}

impl Shared<'_> {
    /// The detail with at most `limit` entries in each list, counting those left out.
    fn detail(&self, r: &Response, cx: &Context<'_>, limit: usize) -> Detail {
        let mut not_listed = 0;
        let mut take = |n: usize| {
            not_listed += n.saturating_sub(limit);
            n.min(limit)
        };
        let findings = take(r.trigger.findings.len());
        let ids = take(r.trigger.findings.len());
        let user_count = take(self.users.len());
        let ended_count = take(self.ended.len());
        let failed_count = take(self.failed.len());
        let held_count = take(r.quarantine.len());
        Detail {
            account: cx.account.map(str::to_owned),
            region: cx.region.map(str::to_owned),
            outcome: if self.error.is_some() {
                "failed"
            } else {
                "completed"
            },
            error: self.error.clone(),
            trigger: r.trigger.source,
            action_name: r
                .trigger
                .action_name
                .as_deref()
                .map(|a| clip(a, 256).to_owned()),
            dry_run: r.dry_run,
            summary: self.said.clone(),
            reason: self.why.clone(),
            link: self.link.clone(),
            findings: r.trigger.findings[..findings].to_vec(),
            finding_ids: r.trigger.findings[..ids]
                .iter()
                .map(|f| f.id.clone())
                .collect(),
            users: self.users[..user_count].to_vec(),
            counts: self.counts.clone(),
            ended: self.ended[..ended_count]
                .iter()
                .map(|e| Ended::from(*e))
                .collect(),
            failed: self.failed[..failed_count]
                .iter()
                .map(|e| (*e).clone())
                .collect(),
            quarantine: r.quarantine[..held_count].to_vec(),
            approval_requests: r.approval_requests.clone(),
            approval: r.approval.clone(),
            expired_requests: r.expired_requests.clone(),
            not_listed,
            request_id: cx.request_id.map(str::to_owned),
            event_id: cx.event_id.map(str::to_owned),
        }
    }
}

/// The detail's size as EventBridge counts it (UTF-8 bytes of the JSON sent).
pub fn size(detail: &Detail) -> usize {
    serde_json::to_vec(&sent(detail)).map_or(usize::MAX, |v| v.len())
}

/// Fields that carry no text from outside: the links the function built, and EC2's and
/// Lambda's own identifiers and addresses.
const AS_BUILT: [&str; 5] = [
    "link",
    "client_ip",
    "connection_id",
    "endpoint_id",
    "request_id",
];

/// The detail as it is sent: every other text field (and each item of a list of them) as people
/// may read it (`text::plain`), whichever field a rule or a chat tool shows.
pub fn sent(detail: &Detail) -> Value {
    let mut value = serde_json::to_value(detail).expect("details serialize");
    clean(&mut value, None);
    value
}

fn clean(value: &mut Value, key: Option<&str>) {
    match value {
        Value::String(s) if !key.is_some_and(|k| AS_BUILT.contains(&k)) => *s = plain(s),
        Value::Array(items) => items.iter_mut().for_each(|i| clean(i, key)),
        Value::Object(map) => map.iter_mut().for_each(|(k, v)| clean(v, Some(k.as_str()))),
        _ => {}
    }
}

#[cfg(test)]
#[path = "outcome_tests.rs"]
mod tests;
