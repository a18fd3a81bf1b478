//! The handler's JSON response and its log lines. Field names here are a stable interface: log
//! queries and runbooks read them.

use crate::execute::{CallError, Outcome};
use crate::model::{By, Connection, StatusChange};
use crate::plan::{Origin, Skipped, Target};
use crate::policy::Verdict;
use serde::Serialize;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Response {
    pub trigger: TriggerInfo,
    pub dry_run: bool,
    pub terminated: Vec<Entry>,
    /// Dry run: the connections EC2 confirmed it would end.
    pub would_terminate: Vec<Entry>,
    pub skipped: Vec<Entry>,
    pub failed: Vec<Entry>,
    /// Sweeps: targets left for the next tick, with the reason (`deadline`, `ceiling`).
    pub deferred: Vec<Entry>,
    /// Steps that failed as a whole: endpoints that could not be listed (connections there may have
    /// been missed), idle state that could not be read or written.
    pub errors: Vec<CallError>,
    pub api_calls: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TriggerInfo {
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<FindingInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Sweeps: the tick's time, which is the sweep's "now".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FindingInfo {
    pub id: String,
    pub types: Vec<String>,
    pub severity: f64,
    pub severity_label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// One connection (or, for a skipped finding, one finding) in the response.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Entry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Why it was skipped, as a stable code (`protected`, `not_active`, `already_ended`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why it failed: the EC2 error code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Why it was chosen, skipped or failed, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding_id: Option<String>,
    /// Sweeps: minutes since the connection was last seen active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_minutes: Option<i64>,
    /// Sweeps: bytes moved since the connection was last seen active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_since_active: Option<u64>,
    /// Sweeps: minutes since the connection was established.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_minutes: Option<i64>,
}

impl Entry {
    fn of(c: &Connection, origin: &Origin) -> Self {
        Self {
            endpoint_id: Some(c.endpoint_id.clone()),
            connection_id: Some(c.connection_id.clone()),
            username: c.username.clone(),
            common_name: c.common_name.clone(),
            client_ip: c.client_ip.map(|ip| ip.to_string()),
            finding_id: origin.finding_id.clone(),
            ..Self::default()
        }
    }

    fn with_change(mut self, change: &StatusChange) -> Self {
        self.previous_status = Some(change.previous.code.clone());
        self.current_status = Some(change.current.code.clone());
        self.message = change
            .current
            .message
            .clone()
            .or_else(|| change.previous.message.clone());
        self
    }

    pub fn finding_skipped(origin: &Origin, reason: &'static str, detail: String) -> Self {
        Self {
            finding_id: origin.finding_id.clone(),
            reason: Some(reason.to_owned()),
            detail: Some(detail),
            ..Self::default()
        }
    }

    pub fn skipped(s: &Skipped) -> Self {
        let base = match &s.connection {
            Some(c) => Entry::of(c, &s.origin),
            None => Entry {
                finding_id: s.origin.finding_id.clone(),
                ..Entry::default()
            },
        };
        Entry {
            reason: Some(s.reason.to_owned()),
            detail: Some(s.detail.clone()),
            ..base
        }
    }

    pub fn planned(t: &Target) -> Self {
        let v = t.verdict.as_ref();
        Entry {
            detail: Some(t.why.join("; ")),
            idle_minutes: v.and_then(|v| v.idle_minutes),
            bytes_since_active: v.and_then(|v| v.bytes_since_active),
            age_minutes: v.and_then(|v| v.age_minutes),
            ..Entry::of(&t.connection, &t.origin)
        }
    }
}

impl Response {
    pub fn record(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Ended { target, change } => {
                self.terminated
                    .push(Entry::planned(target).with_change(change));
            }
            Outcome::AlreadyEnded {
                target,
                change,
                detail,
            } => {
                let mut e = Entry::planned(target);
                if let Some(change) = change {
                    e = e.with_change(change);
                }
                e.reason = Some("already_ended".into());
                e.detail = Some(detail.clone());
                self.skipped.push(e);
            }
            Outcome::Permitted { target } => self.would_terminate.push(Entry::planned(target)),
            Outcome::Deferred { target, reason } => self.deferred.push(Entry {
                reason: Some((*reason).into()),
                ..Entry::planned(target)
            }),
            Outcome::Failed {
                target,
                code,
                message,
                change,
            } => {
                let mut e = Entry::planned(target);
                if let Some(change) = change {
                    e = e.with_change(change);
                }
                e.error_code = Some(code.clone());
                e.detail = Some(message.clone());
                self.failed.push(e);
            }
            Outcome::Unplanned {
                endpoint_id,
                by,
                change,
            } => {
                let e = Entry {
                    endpoint_id: Some(endpoint_id.clone()),
                    connection_id: Some(change.connection_id.clone()),
                    username: match by {
                        By::Username(u) => Some(u.clone()),
                        By::ConnectionId(_) => None,
                    },
                    detail: Some(
                        "ended by the same Username call: the user connected again after discovery"
                            .into(),
                    ),
                    ..Entry::default()
                }
                .with_change(change);
                if change.previous.code == "active" {
                    self.terminated.push(e);
                } else {
                    self.skipped.push(Entry {
                        reason: Some("already_ended".into()),
                        ..e
                    });
                }
            }
        }
    }

    /// Complete means every planned termination was carried out (or skipped for a reason) and
    /// every endpoint could be read.
    pub fn complete(&self) -> bool {
        self.failed.is_empty() && self.errors.is_empty()
    }
}

/// The fields of one connection's log line.
struct Line<'a> {
    event: &'static str,
    endpoint_id: &'a str,
    connection_id: &'a str,
    username: Option<&'a str>,
    common_name: Option<&'a str>,
    origin: &'a Origin,
    why: String,
    change: Option<&'a StatusChange>,
    error_code: Option<&'a str>,
    verdict: Option<&'a Verdict>,
}

impl<'a> Line<'a> {
    fn of(
        event: &'static str,
        t: &'a Target,
        change: Option<&'a StatusChange>,
        error_code: Option<&'a str>,
    ) -> Self {
        let c = &t.connection;
        Line {
            event,
            endpoint_id: &c.endpoint_id,
            connection_id: &c.connection_id,
            username: c.username.as_deref(),
            common_name: c.common_name.as_deref(),
            origin: &t.origin,
            why: t.why.join("; "),
            change,
            error_code,
            verdict: t.verdict.as_ref(),
        }
    }
}

/// One log line per returned status (and per dry-run permission and failure), with the trigger
/// and why the connection was chosen.
pub fn log_outcome(outcome: &Outcome, dry_run: bool) {
    let no_origin = Origin::default();
    let l = match outcome {
        Outcome::Ended { target, change } => {
            Line::of("connection_status", target, Some(change), None)
        }
        Outcome::AlreadyEnded { target, change, .. } => {
            Line::of("connection_status", target, change.as_ref(), None)
        }
        Outcome::Permitted { target } => Line::of("dry_run_permitted", target, None, None),
        Outcome::Deferred { target, .. } => Line::of("deferred", target, None, None),
        Outcome::Failed {
            target,
            change,
            code,
            ..
        } => Line::of("termination_failed", target, change.as_ref(), Some(code)),
        Outcome::Unplanned {
            endpoint_id,
            by,
            change,
        } => Line {
            event: "connection_status",
            endpoint_id,
            connection_id: &change.connection_id,
            username: match by {
                By::Username(u) => Some(u),
                By::ConnectionId(_) => None,
            },
            common_name: None,
            origin: &no_origin,
            why: "ended by the same Username call: the user connected again after discovery".into(),
            change: Some(change),
            error_code: None,
            verdict: None,
        },
    };
    macro_rules! line {
        ($level:ident, $message:literal) => {
            tracing::$level!(
                event = l.event,
                endpoint_id = l.endpoint_id,
                connection_id = l.connection_id,
                username = l.username,
                common_name = l.common_name,
                previous_status = l.change.map(|c| c.previous.code.as_str()),
                previous_message = l.change.and_then(|c| c.previous.message.as_deref()),
                current_status = l.change.map(|c| c.current.code.as_str()),
                current_message = l.change.and_then(|c| c.current.message.as_deref()),
                error_code = l.error_code,
                trigger_source = l.origin.source.as_str(),
                finding_id = l.origin.finding_id.as_deref(),
                finding_type = l.origin.finding_type.as_deref(),
                severity = l.origin.severity,
                why = l.why.as_str(),
                idle_minutes = l.verdict.and_then(|v| v.idle_minutes),
                bytes_since_active = l.verdict.and_then(|v| v.bytes_since_active),
                age_minutes = l.verdict.and_then(|v| v.age_minutes),
                dry_run,
                $message
            )
        };
    }
    if l.error_code.is_some() {
        line!(warn, "termination failed");
    } else {
        line!(info, "connection status");
    }
}

pub fn log_call_error(e: &CallError) {
    if let Some(path) = &e.path {
        tracing::error!(
            event = "bad_finding",
            path = path.as_str(),
            index = e.index,
            error = e.message.as_str(),
            "a finding of the batch could not be decoded; the others are acted on"
        );
        return;
    }
    tracing::error!(
        event = "call_failed",
        action = e.action,
        endpoint_id = e.endpoint_id.as_deref(),
        error_code = e.code.as_str(),
        error = e.message.as_str(),
        "a call failed"
    );
}

pub fn log_skipped(entry: &Entry, origin: &Origin) {
    tracing::info!(
        event = "skipped",
        endpoint_id = entry.endpoint_id.as_deref(),
        connection_id = entry.connection_id.as_deref(),
        username = entry.username.as_deref(),
        reason = entry.reason.as_deref(),
        detail = entry.detail.as_deref(),
        trigger_source = origin.source.as_str(),
        finding_id = origin.finding_id.as_deref(),
        finding_type = origin.finding_type.as_deref(),
        severity = origin.severity,
        "skipped"
    );
}

/// One line per invocation; at error level when the invocation did not finish its work.
pub fn log_summary(r: &Response, done: bool) {
    let level_ok = done;
    macro_rules! summary {
        ($level:ident) => {
            tracing::$level!(
                event = "summary",
                trigger_source = r.trigger.source.as_str(),
                findings = r.trigger.findings.len(),
                dry_run = r.dry_run,
                terminated = r.terminated.len(),
                would_terminate = r.would_terminate.len(),
                skipped = r.skipped.len(),
                failed = r.failed.len(),
                deferred = r.deferred.len(),
                endpoint_errors = r.errors.len(),
                api_calls = r.api_calls,
                "invocation summary"
            )
        };
    }
    if level_ok {
        summary!(info);
    } else {
        summary!(error);
    }
}
