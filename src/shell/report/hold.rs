//! The quarantine's part of the response and its audit lines.

use crate::domain::model::Place;
use crate::domain::quarantine::{time, Held, Hold, Subject, SubjectKind};
use crate::shell::logging::AUDIT;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldOutcome {
    Placed,
    Extended,
    /// A hold lasting at least as long was in force and stays.
    Kept,
    Released,
    /// No hold: a release found none in force, a person released this finding's hold before, or
    /// the certificate is shared (`reason` says which).
    NotHeld,
}

impl HoldOutcome {
    /// Whether the quarantine is other than it was (a hold only kept is not).
    pub fn changed(self) -> bool {
        matches!(self, Self::Placed | Self::Extended | Self::Released)
    }
}

impl From<Held> for HoldOutcome {
    fn from(h: Held) -> Self {
        match h {
            Held::Placed => Self::Placed,
            Held::Extended => Self::Extended,
            Held::Kept => Self::Kept,
        }
    }
}

impl HoldOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Placed => "placed",
            Self::Extended => "extended",
            Self::Kept => "kept",
            Self::Released => "released",
            Self::NotHeld => "not_held",
        }
    }
}

/// One quarantine change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HoldEntry {
    pub kind: SubjectKind,
    pub name: String,
    pub outcome: HoldOutcome,
    /// When the hold asked for (or released) ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
}

impl HoldEntry {
    pub fn new(hold: &Hold, outcome: HoldOutcome) -> Self {
        Self {
            kind: hold.subject.kind,
            name: hold.subject.name.clone(),
            outcome,
            until: Some(time(hold.until)),
            finding_id: hold.finding_id.clone(),
            reason: Some(hold.reason.clone()),
            requested_by: hold.requested_by.clone(),
        }
    }

    /// No hold on `subject` (released before, shared, or none to release).
    pub fn not_held(subject: &Subject) -> Self {
        Self {
            kind: subject.kind,
            name: subject.name.clone(),
            outcome: HoldOutcome::NotHeld,
            until: None,
            finding_id: None,
            reason: None,
            requested_by: None,
        }
    }
}

/// An endpoint in scope that lets a quarantined user back in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unenforced {
    /// Its target.
    #[serde(flatten)]
    pub place: Place,
    pub endpoint_id: String,
    /// The handler it calls instead of the deployed one; none when it calls none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_handler: Option<String>,
}

pub fn log_hold(e: &HoldEntry) {
    tracing::info!(
        target: AUDIT,
        event = "quarantine_changed",
        kind = e.kind.as_str(),
        name = e.name.as_str(),
        outcome = e.outcome.as_str(),
        until = e.until.as_deref(),
        finding_id = e.finding_id.as_deref(),
        reason = e.reason.as_deref(),
        requested_by = e.requested_by.as_deref(),
        "quarantine changed"
    );
}

pub fn log_unenforced(u: &Unenforced) {
    tracing::warn!(
        target: AUDIT,
        event = "quarantine_unenforced",
        account = u.place.account.as_deref(),
        region = u.place.region.as_deref(),
        endpoint_id = u.endpoint_id.as_str(),
        connect_handler = u.connect_handler.as_deref(),
        "quarantine is on, but this endpoint does not call the deployed connect handler: a \
         quarantined user can connect to it"
    );
}
