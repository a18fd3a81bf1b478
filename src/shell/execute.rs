//! The shell that talks to EC2: listing connections and carrying out Terminate calls, concurrently
//! under a bound. Every planned target comes back as exactly one outcome — ended, already gone,
//! permitted (dry run) or failed with its code — so nothing is dropped silently.

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::targets::Targets;
use crate::domain::error_kind::ErrorKind;
use crate::domain::model::{ApiError, By, ConnectionStatus, Place, Reason, StatusChange};
use crate::domain::plan::{single, Call, Target};
// Where they were before `budget.rs` (the command line and tests name them so).
pub use crate::shell::budget::{within, Budget, DEADLINE, NOT_STARTED};
use crate::shell::pace::{Pace, Paces};
use futures::stream::{self, Stream, StreamExt};

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
        target: Target,
        change: StatusChange,
    },
    /// It had ended before our call reached it.
    AlreadyEnded {
        target: Target,
        change: Option<StatusChange>,
        detail: String,
    },
    /// Dry run: EC2 answered `DryRunOperation`, so the call would have been allowed.
    Permitted { target: Target },
    Failed {
        target: Target,
        code: String,
        message: String,
        change: Option<StatusChange>,
    },
    /// Not attempted: the deadline came (`deadline`) or the sweep's ceiling was reached (`ceiling`).
    /// A sweep picks it up at the next tick.
    Deferred { target: Target, reason: Reason },
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
    },
}

/// Carries out `planned` within the budget, each call made as it is taken from `planned` (a sweep
/// plans them lazily); a call that cannot start in time has its targets
/// deferred. `log` sees each call's outcomes the moment the call returns, so an ended connection
/// has its log line even if the invocation is cut off later; the caller reads them as they come.
pub fn run_calls<'a, A: ClientVpnApi>(
    targets: &'a Targets<A>,
    planned: impl IntoIterator<Item = Call, IntoIter: Send + 'a>,
    dry_run: bool,
    concurrency: usize,
    budget: &'a Budget,
    paces: &'a Paces,
    log: &'a (dyn Fn(&Outcome) + Sync),
) -> impl Stream<Item = Outcome> + 'a {
    stream::iter(planned)
        .map(move |call| async move {
            let outcomes = if budget.expired() {
                call.targets
                    .into_iter()
                    .map(|target| Outcome::Deferred {
                        target,
                        reason: Reason::Deadline,
                    })
                    .collect()
            } else {
                match (targets.at(&call.place), paces.at(&call.place)) {
                    (Some(api), Some(pace)) => run_call(api, call, dry_run, budget, pace).await,
                    _ => {
                        let e = ApiError {
                            code: "NoTarget".into(),
                            message: format!("no target is {}", call.place.label()),
                        };
                        refused(call.targets, e)
                    }
                }
            };
            outcomes.iter().for_each(log);
            outcomes
        })
        .buffer_unordered(concurrency.max(1))
        .flat_map(stream::iter)
}

async fn run_call(
    api: &impl ClientVpnApi,
    call: Call,
    dry_run: bool,
    budget: &Budget,
    pace: &Pace,
) -> Vec<Outcome> {
    let answer = pace
        .terminate(api, budget, &call.endpoint_id, &call.by, dry_run)
        .await;
    match answer {
        Ok(changes) => settle(call, changes),
        Err(e) => match call.by.clone() {
            // Refused as over five (the user connected again), or failed or lost on its one
            // attempt: the planned connections one by one, each call safe to retry.
            // Not after a throttle given up: the bucket is empty, and one call per connection
            // would only meet it again.
            By::Username(username)
                if !matches!(
                    e.kind(),
                    ErrorKind::DryRunPermitted
                        | ErrorKind::UserNotFound
                        | ErrorKind::Deadline
                        | ErrorKind::NotStarted
                        | ErrorKind::Throttled
                ) =>
            {
                let mut out = vec![Outcome::UsernameRefused {
                    endpoint_id: call.endpoint_id.clone(),
                    username,
                    code: e.code,
                }];
                for target in call.targets {
                    let one = single(target);
                    let result = pace
                        .terminate(api, budget, &one.endpoint_id, &one.by, dry_run)
                        .await;
                    out.extend(match result {
                        Ok(changes) => settle(one, changes),
                        Err(e) => refused(one.targets, e),
                    });
                }
                out
            }
            _ => refused(call.targets, e),
        },
    }
}

/// What an error answer means for each target of the call.
fn refused(targets: Vec<Target>, e: ApiError) -> Vec<Outcome> {
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
fn settle(call: Call, mut changes: Vec<StatusChange>) -> Vec<Outcome> {
    let mut out = Vec::with_capacity(call.targets.len());
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
    }));
    out
}
