//! The shell that carries out Terminate calls, concurrently under a bound. Every planned target
//! comes back as exactly one outcome (`domain/plan/outcome.rs`), so nothing is dropped silently.

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::targets::Targets;
use crate::domain::error_kind::ErrorKind;
use crate::domain::model::{ApiError, By, Reason};
use crate::domain::plan::outcome::{refused, settle};
use crate::domain::plan::Outcome;
use crate::domain::plan::{single, Call};
use crate::shell::budget::Budget;
use crate::shell::pace::{Pace, Paces};
use futures::stream::{self, Stream, StreamExt};

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
