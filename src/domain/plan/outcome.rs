//! What became of each planned target — ended, already gone, permitted (dry run), deferred or
//! failed with its code — and of steps that failed as a whole: one outcome per target, so nothing
//! is dropped silently. How a call's answer maps onto them is decided here; the shell carries the
//! calls out (`shell/execute.rs`). Pure.

use super::{Call, Origin, Planned};
use crate::domain::error_kind::ErrorKind;
use crate::domain::model::{ApiError, By, ConnectionStatus, Place, Reason, StatusChange};

/// A step that failed as a whole rather than for one connection: an endpoint or the endpoint
/// listing that could not be read, the idle state that could not be loaded or saved, or a finding
/// of a batch that could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CallError {
    /// The target it failed in.
    #[serde(flatten)]
    pub place: Place,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<String>,
    pub action: &'static str,
    pub code: String,
    pub message: String,
    /// For a bad finding: the field that was wrong, and the finding's position in its batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
}

impl CallError {
    pub fn new(endpoint_id: Option<String>, action: &'static str, e: ApiError) -> Self {
        Self {
            place: Place::default(),
            endpoint_id,
            action,
            code: e.code,
            message: e.message,
            path: None,
            index: None,
        }
    }

    /// The same error, in the target at `place`.
    pub fn at(self, place: &Place) -> Self {
        Self {
            place: place.clone(),
            ..self
        }
    }

    pub fn bad_finding(bad: &crate::domain::trigger::BadFinding) -> Self {
        Self {
            place: Place::default(),
            endpoint_id: None,
            action: "DecodeFinding",
            code: "BadFinding".into(),
            message: bad.error.message.clone(),
            path: Some(bad.error.path.clone()),
            index: Some(bad.index),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Terminate moved it from `active` on.
    Ended {
        target: Planned,
        change: StatusChange,
    },
    /// It had ended before our call reached it.
    AlreadyEnded {
        target: Planned,
        change: Option<StatusChange>,
        detail: String,
    },
    /// Dry run: EC2 answered `DryRunOperation`, so the call would have been allowed.
    Permitted { target: Planned },
    Failed {
        target: Planned,
        code: String,
        message: String,
        change: Option<StatusChange>,
    },
    /// Not attempted: the deadline came (`deadline`) or the sweep's ceiling was reached (`ceiling`).
    /// A sweep picks it up at the next tick.
    Deferred { target: Planned, reason: Reason },
    /// A `Username` call did not go through (`code`): refused as over five because the user has
    /// connections the listing did not see, or failed on its one attempt. The planned connections
    /// were then ended one by one.
    UsernameRefused {
        endpoint_id: String,
        username: String,
        code: String,
    },
    /// A status for a connection that was not planned: a `Username` call also ended a connection
    /// discovery had not seen (the user connected again).
    Unplanned {
        place: Place,
        endpoint_id: String,
        by: By,
        change: StatusChange,
        /// What the call's planned connections were ended for (the first's, when several).
        origin: Option<Origin>,
    },
}

/// What an error answer means for each target of the call.
pub fn refused(targets: Vec<Planned>, e: ApiError) -> Vec<Outcome> {
    targets
        .into_iter()
        .map(|target| match e.kind() {
            ErrorKind::DryRunPermitted => Outcome::Permitted { target },
            ErrorKind::NotStarted => Outcome::Deferred {
                target,
                reason: Reason::Deadline,
            },
            ErrorKind::UserNotFound | ErrorKind::ConnectionNotFound => Outcome::AlreadyEnded {
                target,
                change: None,
                detail: format!("{}: {}", e.code, e.message),
            },
            _ => Outcome::Failed {
                target,
                code: e.code.clone(),
                message: e.message.clone(),
                change: None,
            },
        })
        .collect()
}

/// Pairs the returned statuses with the call's targets.
pub fn settle(call: Call, mut changes: Vec<StatusChange>) -> Vec<Outcome> {
    let mut out = Vec::with_capacity(call.targets.len());
    let origin = call.targets.first().map(|t| t.origin.clone());
    for target in call.targets {
        let position = changes
            .iter()
            .position(|c| c.connection_id == target.connection.connection_id);
        let Some(change) = position.map(|i| changes.swap_remove(i)) else {
            out.push(Outcome::Failed {
                target,
                code: "NotReported".into(),
                message: "Terminate succeeded but did not report this connection".into(),
                change: None,
            });
            continue;
        };
        out.push(
            if change.current.code == ConnectionStatus::FailedToTerminate {
                Outcome::Failed {
                    code: "failed-to-terminate".into(),
                    message: change.current.message.clone().unwrap_or_default(),
                    target,
                    change: Some(change),
                }
            } else if change.previous.code == ConnectionStatus::Active {
                Outcome::Ended { target, change }
            } else {
                let detail = format!("it was already {}", change.previous.code);
                Outcome::AlreadyEnded {
                    target,
                    change: Some(change),
                    detail,
                }
            },
        );
    }
    out.extend(changes.into_iter().map(|change| Outcome::Unplanned {
        place: call.place.clone(),
        endpoint_id: call.endpoint_id.clone(),
        by: call.by.clone(),
        change,
        origin: origin.clone(),
    }));
    out
}
