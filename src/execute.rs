//! The shell that talks to EC2: listing connections and carrying out Terminate calls, concurrently
//! under a bound. Every planned target comes back as exactly one outcome — ended, already gone,
//! permitted (dry run) or failed with its code — so nothing is dropped silently.

use crate::ec2::ClientVpnApi;
use crate::model::{
    ApiError, By, Connection, Endpoint, Page, StatusChange, CONNECTION_NOT_FOUND,
    DRY_RUN_OPERATION, LIMIT_EXCEEDED, USER_NOT_FOUND,
};
use crate::plan::{single, Call, Target};
use futures::stream::{self, StreamExt};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// A step that failed as a whole rather than for one connection: an endpoint or the endpoint
/// listing that could not be read, the idle state that could not be loaded or saved, or a finding
/// of a batch that could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CallError {
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
            endpoint_id,
            action,
            code: e.code,
            message: e.message,
            path: None,
            index: None,
        }
    }

    pub fn bad_finding(bad: &crate::trigger::BadFinding) -> Self {
        Self {
            endpoint_id: None,
            action: "DecodeFinding",
            code: "BadFinding".into(),
            message: bad.error.message.clone(),
            path: Some(bad.error.path.clone()),
            index: Some(bad.index),
        }
    }
}

/// Counts the API calls of one invocation.
#[derive(Default)]
pub struct Calls(AtomicUsize);

impl Calls {
    fn count(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// Every item of a listing, page after page, each page counted as a call.
async fn all_pages<T, F, Fut>(calls: &Calls, mut page: F) -> Result<Vec<T>, ApiError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, ApiError>>,
{
    let mut out = Vec::new();
    let mut token = None;
    loop {
        calls.count();
        let p = page(token).await?;
        out.extend(p.items);
        match p.next_token {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

/// Every endpoint in the Region, with its client CIDR.
pub async fn list_endpoints(
    api: &impl ClientVpnApi,
    calls: &Calls,
) -> Result<Vec<Endpoint>, CallError> {
    all_pages(calls, |token| api.endpoints_page(token))
        .await
        .map_err(|e| CallError::new(None, "DescribeClientVpnEndpoints", e))
}

/// The connections of `endpoints`, each endpoint paged in turn and endpoints listed concurrently.
pub async fn list_connections(
    api: &impl ClientVpnApi,
    endpoints: &[String],
    concurrency: usize,
    calls: &Calls,
) -> (Vec<Connection>, Vec<CallError>) {
    let results: Vec<Result<Vec<Connection>, CallError>> = stream::iter(endpoints)
        .map(|endpoint| async move {
            all_pages(calls, |token| api.connections_page(endpoint, token))
                .await
                .map_err(|e| {
                    CallError::new(Some(endpoint.clone()), "DescribeClientVpnConnections", e)
                })
        })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    let mut connections = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(c) => connections.extend(c),
            Err(e) => errors.push(e),
        }
    }
    (connections, errors)
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
    Deferred {
        target: Target,
        reason: &'static str,
    },
    /// A status for a connection that was not planned: a `Username` call also ended a connection
    /// discovery had not seen (the user connected again).
    Unplanned {
        endpoint_id: String,
        by: By,
        change: StatusChange,
    },
}

/// Carries out `planned`; no call starts after `stop_at`, its targets are deferred instead.
pub async fn run_calls(
    api: &impl ClientVpnApi,
    planned: Vec<Call>,
    dry_run: bool,
    concurrency: usize,
    calls: &Calls,
    stop_at: Option<Instant>,
) -> Vec<Outcome> {
    stream::iter(planned)
        .map(|call| async move {
            if stop_at.is_some_and(|t| Instant::now() >= t) {
                return call
                    .targets
                    .into_iter()
                    .map(|target| Outcome::Deferred {
                        target,
                        reason: "deadline",
                    })
                    .collect();
            }
            run_call(api, call, dry_run, calls).await
        })
        .buffer_unordered(concurrency.max(1))
        .flat_map(stream::iter)
        .collect()
        .await
}

async fn run_call(
    api: &impl ClientVpnApi,
    call: Call,
    dry_run: bool,
    calls: &Calls,
) -> Vec<Outcome> {
    calls.count();
    match api.terminate(&call.endpoint_id, &call.by, dry_run).await {
        Ok(changes) => settle(call, changes),
        Err(e) if e.code == LIMIT_EXCEEDED && matches!(call.by, By::Username(_)) => {
            // More connections than discovery saw: end the planned ones one by one instead.
            let mut out = Vec::new();
            for target in call.targets {
                let one = single(target);
                calls.count();
                let result = api.terminate(&one.endpoint_id, &one.by, dry_run).await;
                out.extend(match result {
                    Ok(changes) => settle(one, changes),
                    Err(e) => refused(one.targets, e),
                });
            }
            out
        }
        Err(e) => refused(call.targets, e),
    }
}

/// What an error answer means for each target of the call.
fn refused(targets: Vec<Target>, e: ApiError) -> Vec<Outcome> {
    targets
        .into_iter()
        .map(|target| match e.code.as_str() {
            DRY_RUN_OPERATION => Outcome::Permitted { target },
            USER_NOT_FOUND | CONNECTION_NOT_FOUND => Outcome::AlreadyEnded {
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
        out.push(if change.current.code == "failed-to-terminate" {
            Outcome::Failed {
                code: "failed-to-terminate".into(),
                message: change.current.message.clone().unwrap_or_default(),
                target,
                change: Some(change),
            }
        } else if change.previous.code == "active" {
            Outcome::Ended { target, change }
        } else {
            let detail = format!("it was already {}", change.previous.code);
            Outcome::AlreadyEnded {
                target,
                change: Some(change),
                detail,
            }
        });
    }
    out.extend(changes.into_iter().map(|change| Outcome::Unplanned {
        endpoint_id: call.endpoint_id.clone(),
        by: call.by.clone(),
        change,
    }));
    out
}
