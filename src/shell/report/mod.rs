//! The handler's JSON response and its log lines. Field names here are a stable interface: log
//! queries and runbooks read them.

use crate::domain::model::{By, ConnectionStatus, Reason};
use crate::domain::plan::{CallError, Outcome};
use crate::domain::trigger::TriggerSource;
use crate::shell::budget::DEADLINE;
use serde::Serialize;

pub mod approval;
mod bound;
mod entry;
mod hold;
mod lines;
mod log;
pub mod note;
pub mod outcome;
pub use bound::Counts;
pub use entry::Entry;
pub use hold::{log_hold, log_unenforced, HoldEntry, HoldOutcome, Unenforced};
pub use log::{
    log_call_error, log_call_warning, log_notification, log_outcome, log_skipped, log_summary,
};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Response {
    pub trigger: TriggerInfo,
    pub dry_run: bool,
    pub terminated: Vec<Entry>,
    /// Ended by a `Username` call though not planned: the user connected again after the listing.
    /// They count against the cap, which leaves room for them before such a call is made.
    pub unplanned: Vec<Entry>,
    /// Connections of a targeted user still active after the calls (connected again after the
    /// listing, where connections were ended one by one): the invocation fails, so a retry ends
    /// them.
    pub left_active: Vec<Entry>,
    /// Dry run: the connections EC2 confirmed it would end.
    pub would_terminate: Vec<Entry>,
    pub skipped: Vec<Entry>,
    pub failed: Vec<Entry>,
    /// Sweeps: targets left for the next tick, with the reason (`deadline`, `ceiling`).
    pub deferred: Vec<Entry>,
    /// Steps that failed as a whole: endpoints that could not be listed (connections there may have
    /// been missed), idle state that could not be read or written.
    pub errors: Vec<CallError>,
    /// Quarantine changes: holds placed, extended, kept or released.
    pub quarantine: Vec<HoldEntry>,
    /// Endpoints in scope that would let a quarantined user back in.
    pub unenforced: Vec<Unenforced>,
    /// What the asking rules kept for a person: the requests made instead of acting.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approval_requests: Vec<approval::AskedEntry>,
    /// What a person's answer to a request did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<approval::AnswerEntry>,
    /// Requests that expired unanswered, found by a tick: nothing of them was done.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expired_requests: Vec<approval::AskedEntry>,
    pub api_calls: usize,
    /// The event was handled already (or, for a tick, is being handled): nothing was called.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<Duplicate>,
    /// Another event with this `id` but other contents was delivered before; this one was acted
    /// on (`delivery_conflict`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_conflict: Option<DeliveryConflict>,
    /// What people were told (the outcome event, notes on findings), sent or failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<Notification>,
    /// How many entries each list had: set when answered ([`Response::bounded`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<Counts>,
    /// Entries left out of each list, by list (`CVPN_RESPONSE_MAX_ITEMS`); each has its log line.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub truncated: std::collections::BTreeMap<&'static str, usize>,
    /// A request for a tick's places: what its children sweep (`{"Places": …}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub places: Option<TickPlaces>,
}

/// The places a tick's children sweep, each as a child's `Targets` names it, and the tick they
/// share a ceiling in.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TickPlaces {
    pub time: chrono::DateTime<chrono::Utc>,
    pub targets: Vec<String>,
    /// Places in scope no child can sweep (each an `errors` entry): the tick fails for them.
    pub refused: usize,
}

/// Where people were told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// `PutEvents` to `CVPN_OUTCOME_BUS`.
    OutcomeEvent,
    /// `BatchUpdateFindings` on a Security Hub finding.
    FindingNote,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OutcomeEvent => "outcome_event",
            Self::FindingNote => "finding_note",
        }
    }
}

/// One attempt to tell people: it never undoes or holds up what was done.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Notification {
    pub channel: Channel,
    /// The bus, or the finding's ID.
    pub destination: String,
    pub sent: bool,
    /// The outcome event's detail type, or the workflow status set on the finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// EventBridge's ID for the event sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How the invocation ended when it failed, for what people are told.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Failure {
    /// `CapExceeded`, `Incomplete`.
    pub kind: String,
    pub message: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DeliveryConflict {
    /// The EventBridge event's `id`.
    pub event_id: String,
    /// This event's digest (`domain/trigger/delivery.rs`).
    pub digest: String,
    /// The digest of the event delivered before it with the same `id`.
    pub earlier_digest: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Duplicate {
    /// The EventBridge event's `id`.
    pub event_id: String,
    /// When it was handled; none while another invocation is handling it (a tick).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handled_at: Option<String>,
    /// What the invocation that handled it did.
    pub summary: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TriggerInfo {
    pub source: TriggerSource,
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
    /// Where the detector's console shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl Response {
    /// Nothing done yet, for what `source` set off.
    pub fn of(source: TriggerSource) -> Self {
        Self {
            trigger: TriggerInfo {
                source,
                action_name: None,
                findings: Vec::new(),
                reason: None,
                time: None,
            },
            dry_run: false,
            terminated: Vec::new(),
            unplanned: Vec::new(),
            left_active: Vec::new(),
            would_terminate: Vec::new(),
            skipped: Vec::new(),
            failed: Vec::new(),
            deferred: Vec::new(),
            errors: Vec::new(),
            quarantine: Vec::new(),
            unenforced: Vec::new(),
            approval_requests: Vec::new(),
            approval: None,
            expired_requests: Vec::new(),
            api_calls: 0,
            duplicate: None,
            delivery_conflict: None,
            notifications: Vec::new(),
            counts: None,
            truncated: std::collections::BTreeMap::new(),
            places: None,
        }
    }

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
                e.reason = Some(Reason::AlreadyEnded);
                e.detail = Some(detail.clone());
                self.skipped.push(e);
            }
            Outcome::Permitted { target } => self.would_terminate.push(Entry::planned(target)),
            Outcome::Deferred { target, reason } => self.deferred.push(Entry {
                reason: Some(*reason),
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
                if code == DEADLINE {
                    e.reason = Some(Reason::Deadline);
                }
                self.failed.push(e);
            }
            Outcome::Unplanned {
                place,
                endpoint_id,
                by,
                change,
                ..
            } => {
                let e = Entry {
                    account: place.account.clone(),
                    region: place.region.clone(),
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
                if change.previous.code == ConnectionStatus::Active {
                    self.unplanned.push(e);
                } else {
                    self.skipped.push(Entry {
                        reason: Some(Reason::AlreadyEnded),
                        ..e
                    });
                }
            }
            Outcome::UsernameRefused { .. } => {}
        }
    }

    /// A step that failed as a whole: logged now, and listed in the answer.
    pub fn step_failed(&mut self, e: CallError) {
        log_call_error(&e);
        self.errors.push(e);
    }

    /// Complete means every planned termination was carried out (or skipped for a reason), every
    /// endpoint could be read, and no targeted user was left with an active connection.
    pub fn complete(&self) -> bool {
        self.failed.is_empty() && self.errors.is_empty() && self.left_active.is_empty()
    }
}
