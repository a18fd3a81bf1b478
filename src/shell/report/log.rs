//! The log lines: one per returned status, skip, failed step and invocation. Field names are a
//! stable interface: log queries and alarms read them.

use super::{Entry, Notification, Response};
use crate::domain::model::{ApiError, By, Place, Reason, StatusChange};
use crate::domain::plan::{CallError, Outcome};
use crate::domain::plan::{Origin, Planned};
use crate::domain::policy::Verdict;
use crate::shell::budget::DEADLINE;
use crate::shell::logging::AUDIT;

/// The fields of one connection's log line.
struct Line<'a> {
    event: &'static str,
    place: &'a Place,
    endpoint_id: &'a str,
    connection_id: &'a str,
    username: Option<&'a str>,
    common_name: Option<&'a str>,
    /// The person whose connection it is, whatever form of the name it was opened with.
    person: Option<&'a str>,
    origin: Option<&'a Origin>,
    why: String,
    change: Option<&'a StatusChange>,
    error_code: Option<&'a str>,
    error_message: Option<&'a str>,
    /// Why it was deferred or failed, for the lines that have one.
    reason: Option<&'static str>,
    verdict: Option<&'a Verdict>,
}

impl<'a> Line<'a> {
    fn of(
        event: &'static str,
        t: &'a Planned,
        change: Option<&'a StatusChange>,
        error_code: Option<&'a str>,
    ) -> Self {
        let c = &t.connection;
        Line {
            event,
            place: &c.place,
            endpoint_id: &c.endpoint_id,
            connection_id: &c.connection_id,
            username: c.username.as_deref(),
            common_name: c.common_name.as_deref(),
            person: t.person.as_deref(),
            origin: Some(&t.origin),
            why: t.why.join("; "),
            change,
            error_code,
            error_message: None,
            reason: None,
            verdict: t.verdict.as_ref(),
        }
    }
}

/// One log line per returned status (and per dry-run permission and failure), with the trigger
/// and why the connection was chosen.
pub fn log_outcome(outcome: &Outcome, dry_run: bool) {
    if let Some(line) = line_of(outcome) {
        write(&line, dry_run);
    }
}

/// The line an outcome gives; a refused `Username` call has a line of its own, written here.
fn line_of(outcome: &Outcome) -> Option<Line<'_>> {
    let l = match outcome {
        Outcome::Ended { target, change } => {
            Line::of("connection_status", target, Some(change), None)
        }
        Outcome::AlreadyEnded { target, change, .. } => {
            Line::of("connection_status", target, change.as_ref(), None)
        }
        Outcome::Permitted { target } => Line::of("dry_run_permitted", target, None, None),
        Outcome::Deferred { target, reason } => Line {
            reason: Some(reason.as_str()),
            ..Line::of("deferred", target, None, None)
        },
        Outcome::Failed {
            target,
            change,
            code,
            message,
        } => Line {
            error_message: Some(message),
            reason: (code == DEADLINE).then_some(Reason::Deadline.as_str()),
            ..Line::of("termination_failed", target, change.as_ref(), Some(code))
        },
        Outcome::Unplanned {
            place,
            endpoint_id,
            by,
            change,
            origin,
        } => Line {
            event: "connection_status",
            place,
            endpoint_id,
            connection_id: &change.connection_id,
            username: match by {
                By::Username(u) => Some(u),
                By::ConnectionId(_) => None,
            },
            common_name: None,
            person: None,
            origin: origin.as_ref(),
            why: "ended by the same Username call: the user connected again after discovery".into(),
            change: Some(change),
            error_code: None,
            error_message: None,
            reason: None,
            verdict: None,
        },
        Outcome::UsernameRefused {
            endpoint_id,
            username,
            code,
        } => {
            tracing::warn!(
                target: AUDIT,
                event = "username_refused",
                endpoint_id = endpoint_id.as_str(),
                username = username.as_str(),
                error_code = code.as_str(),
                "the Username call did not go through; ending the planned connections one by one"
            );
            return None;
        }
    };
    Some(l)
}

fn write(l: &Line, dry_run: bool) {
    macro_rules! line {
        ($level:ident, $message:literal) => {
            tracing::$level!(
                target: AUDIT,
                event = l.event,
                account = l.place.account.as_deref(),
                region = l.place.region.as_deref(),
                endpoint_id = l.endpoint_id,
                connection_id = l.connection_id,
                username = l.username,
                common_name = l.common_name,
                person = l.person,
                previous_status = l.change.map(|c| c.previous.code.as_str()),
                previous_message = l.change.and_then(|c| c.previous.message.as_deref()),
                current_status = l.change.map(|c| c.current.code.as_str()),
                current_message = l.change.and_then(|c| c.current.message.as_deref()),
                error_code = l.error_code,
                error = l.error_message,
                reason = l.reason,
                trigger_source = l.origin.map(|o| o.source.as_str()),
                finding_id = l.origin.and_then(|o| o.finding_id.as_deref()),
                finding_type = l.origin.and_then(|o| o.finding_type.as_deref()),
                severity = l.origin.and_then(|o| o.severity),
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

/// A call whose failure changes no decision, only what is kept or known: a warning that says
/// what follows from it (`consequence`).
pub fn log_call_warning(action: &str, e: &ApiError, consequence: &str) {
    tracing::warn!(
        target: AUDIT,
        event = "call_failed",
        action,
        error_code = e.code.as_str(),
        error = e.message.as_str(),
        consequence,
        "a call failed: {consequence}"
    );
}

pub fn log_call_error(e: &CallError) {
    if let (Some(path), Some(_)) = (&e.path, e.index) {
        tracing::error!(
            target: AUDIT,
            event = "bad_finding",
            path = path.as_str(),
            index = e.index,
            error = e.message.as_str(),
            "a finding of the batch could not be decoded; the others are acted on"
        );
        return;
    }
    tracing::error!(
        target: AUDIT,
        event = "call_failed",
        action = e.action,
        account = e.place.account.as_deref(),
        region = e.place.region.as_deref(),
        endpoint_id = e.endpoint_id.as_deref(),
        // The request's field the failure is about, where one is (a child sweep's place).
        path = e.path.as_deref(),
        error_code = e.code.as_str(),
        error = e.message.as_str(),
        "a call failed"
    );
}

pub fn log_skipped(entry: &Entry, origin: &Origin) {
    tracing::info!(
        target: AUDIT,
        event = "skipped",
        account = entry.account.as_deref(),
        region = entry.region.as_deref(),
        endpoint_id = entry.endpoint_id.as_deref(),
        connection_id = entry.connection_id.as_deref(),
        username = entry.username.as_deref(),
        reason = entry.reason.map(|r| r.as_str()),
        detail = entry.detail.as_deref(),
        trigger_source = origin.source.as_str(),
        finding_id = origin.finding_id.as_deref(),
        finding_type = origin.finding_type.as_deref(),
        severity = origin.severity,
        "skipped"
    );
}

/// One line per invocation, with how long it took since `started`; at error level when the
/// invocation did not finish its work.
pub fn log_summary(r: &Response, done: bool, started: std::time::Instant) {
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let level_ok = done;
    macro_rules! summary {
        ($level:ident) => {
            tracing::$level!(
                target: AUDIT,
                event = "summary",
                trigger_source = r.trigger.source.as_str(),
                findings = r.trigger.findings.len(),
                dry_run = r.dry_run,
                terminated = r.terminated.len(),
                would_terminate = r.would_terminate.len(),
                skipped = r.skipped.len(),
                failed = r.failed.len(),
                deferred = r.deferred.len(),
                unplanned = r.unplanned.len(),
                left_active = r.left_active.len(),
                endpoint_errors = r.errors.len(),
                api_calls = r.api_calls,
                duration_ms,
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

/// One line per attempt to tell people: `notification_failed` (alarmed on) or `notification_sent`.
pub fn log_notification(n: &Notification) {
    if n.sent {
        tracing::info!(
            target: AUDIT,
            event = "notification_sent",
            channel = n.channel.as_str(),
            destination = n.destination.as_str(),
            detail = n.detail.as_deref(),
            event_id = n.event_id.as_deref(),
            "people were told"
        );
    } else {
        tracing::error!(
            target: AUDIT,
            event = "notification_failed",
            channel = n.channel.as_str(),
            destination = n.destination.as_str(),
            detail = n.detail.as_deref(),
            error_code = n.error_code.as_deref(),
            error = n.error.as_deref(),
            "people could not be told; what was done stands"
        );
    }
}
