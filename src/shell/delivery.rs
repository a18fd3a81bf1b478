//! Once per delivery: an EventBridge event (a finding or a tick) already handled successfully in
//! the last 24 hours is answered from its record (`duplicate`: nothing called, nothing sent). The
//! claim is a conditional put, so two concurrent deliveries act once: the second fails
//! (`InProgress`), so that Lambda retries it and finds the outcome, or acts if the first died. A
//! failed invocation gives its claim up, so Lambda's retry does the rest of the work. Without a table, or when the table
//! cannot be reached, duplicates are acted on again, as before: terminations are idempotent, and a
//! decision is never lost to a bookkeeping fault.

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::deliveries::{Claim, DeliveryStore};
use crate::adapters::state::quarantine::QuarantineStore;
use crate::adapters::state::StateStore;
use crate::domain::model::ApiError;
use crate::domain::quarantine::time;
use crate::domain::trigger::Trigger;
use crate::shell::handler::{App, HandlerError};
use crate::shell::logging::AUDIT;
use crate::shell::report::{Duplicate, Response, TriggerInfo};
use std::future::Future;
use std::time::{Duration, Instant};

/// How long a handled event is remembered.
const REMEMBERED: i64 = 24 * 60 * 60;
/// The longest any bookkeeping call may take.
const BOOKKEEPING: Duration = Duration::from_secs(2);

/// `call` within `limit`, a timeout being an error like any other.
async fn within<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
        Err(ApiError {
            code: "Timeout".into(),
            message: format!("no answer within {limit:?}"),
        })
    })
}

fn warn(step: &str, event_id: &str, e: &ApiError) {
    tracing::warn!(
        target: AUDIT,
        event = "delivery_record_failed",
        step,
        event_id,
        error_code = e.code.as_str(),
        error = e.message.as_str(),
        "the record of handled events could not be used; acting as without one"
    );
}

/// What the record says of a run, for the duplicate's answer.
fn summary(r: &Response) -> String {
    format!(
        "{} terminated, {} would be, {} skipped, {} failed, {} deferred, {} quarantine changes",
        r.terminated.len(),
        r.would_terminate.len(),
        r.skipped.len(),
        r.failed.len(),
        r.deferred.len(),
        r.quarantine.len()
    )
}

impl<A: ClientVpnApi, S: StateStore + QuarantineStore + DeliveryStore> App<A, S> {
    /// Runs `trigger` unless the event `event_id` was handled (or is being handled) already.
    pub(crate) async fn once(
        &self,
        event_id: Option<&str>,
        trigger: &Trigger,
        deadline: Option<Instant>,
    ) -> Result<Response, HandlerError> {
        let once = matches!(trigger, Trigger::Findings(_) | Trigger::Sweep(_));
        let (Some(id), Some(store), true) = (event_id, &self.store, once) else {
            return self.run(trigger, deadline).await;
        };
        let now = chrono::Utc::now().timestamp();
        // Held as long as this invocation may run (and the seconds its answer takes): a retry of
        // an invocation that died finds the claim expired. With no deadline (the command line), a
        // quarter of an hour.
        let left = deadline.map_or(900, |d| {
            d.saturating_duration_since(Instant::now()).as_secs() as i64
        });
        match within(BOOKKEEPING, store.claim(id, now, now + left + 5)).await {
            Ok(Claim::Claimed) => {}
            Ok(Claim::Done {
                handled_at,
                summary,
            }) => return Ok(duplicate(id, time(handled_at), summary)),
            Ok(Claim::InProgress) => {
                tracing::warn!(
                    target: AUDIT,
                    event = "duplicate",
                    event_id = id,
                    state = "in_progress",
                    "another invocation is handling this event; failing so that Lambda retries it"
                );
                return Err(HandlerError::InProgress {
                    event_id: id.to_owned(),
                });
            }
            Err(e) => {
                warn("claim", id, &e);
                return self.run(trigger, deadline).await;
            }
        }
        let result = self.run(trigger, deadline).await;
        // What is left before the deadline, less a little for the answer itself.
        let limit = deadline.map_or(BOOKKEEPING, |d| {
            d.saturating_duration_since(Instant::now())
                .saturating_sub(Duration::from_millis(200))
                .min(BOOKKEEPING)
        });
        let done = chrono::Utc::now().timestamp();
        let recorded = match &result {
            Ok(r) => {
                within(
                    limit,
                    store.complete(id, done, &summary(r), done + REMEMBERED),
                )
                .await
            }
            Err(_) => within(limit, store.abandon(id)).await,
        };
        if let Err(e) = recorded {
            warn(
                if result.is_ok() {
                    "complete"
                } else {
                    "abandon"
                },
                id,
                &e,
            );
        }
        result
    }
}

fn duplicate(event_id: &str, handled_at: String, summary: String) -> Response {
    tracing::info!(
        target: AUDIT,
        event = "duplicate",
        event_id,
        state = "handled",
        handled_at = handled_at.as_str(),
        "this event was handled already; nothing was called"
    );
    Response {
        trigger: TriggerInfo {
            source: "duplicate".into(),
            ..TriggerInfo::default()
        },
        duplicate: Some(Duplicate {
            event_id: event_id.into(),
            handled_at,
            summary,
        }),
        ..Response::default()
    }
}
