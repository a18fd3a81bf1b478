//! Once per delivery: an EventBridge event (a finding or a tick) already handled successfully in
//! the last 24 hours is answered from its record (`duplicate`: nothing called, nothing sent). The
//! claim is a conditional put, so two concurrent deliveries act once: the second fails
//! (`InProgress`; a tick answers instead), so that Lambda retries it and finds the outcome. A
//! failed invocation gives its claim up, and one that died leaves it to Lambda's retry of it, which
//! has the same request ID and takes it over. Without a table, or when the table cannot be
//! reached, duplicates are acted on again, as before: terminations are idempotent. Only Lambda's
//! invocations are recorded (they have a request ID and a deadline); dry runs are not.

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::deliveries::{Claim, DeliveryStore};
use crate::adapters::state::quarantine::QuarantineStore;
use crate::adapters::state::StateStore;
use crate::domain::model::ApiError;
use crate::domain::quarantine::time;
use crate::domain::trigger::Trigger;
use crate::shell::execute::within;
use crate::shell::handler::{App, HandlerError, Invoked};
use crate::shell::logging::AUDIT;
use crate::shell::report::{Duplicate, Response, TriggerInfo};
use std::time::{Duration, Instant};

/// How long a handled event is remembered.
const REMEMBERED: i64 = 24 * 60 * 60;
/// The longest any bookkeeping call may take.
const BOOKKEEPING: Duration = Duration::from_secs(2);

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
        invoked: Invoked<'_>,
    ) -> Result<Response, HandlerError> {
        let once = matches!(trigger, Trigger::Findings(_) | Trigger::Sweep(_));
        let (Some(id), Some(owner), Some(deadline), Some(store), true) = (
            event_id,
            invoked.request_id,
            invoked.deadline,
            &self.store,
            once,
        ) else {
            return self.run(trigger, invoked, event_id).await;
        };
        let deadline = Some(deadline);
        let now = chrono::Utc::now().timestamp();
        // As long as this invocation may run, and the seconds its answer takes. If it dies,
        // Lambda's retry (same request ID) takes the claim over at once; another delivery waits
        // this long at most.
        let left = deadline.map_or(0, |d| d.saturating_duration_since(Instant::now()).as_secs());
        match within(
            BOOKKEEPING,
            store.claim(id, owner, now, now + left as i64 + 5),
        )
        .await
        {
            Ok(Claim::Claimed) => {}
            Ok(Claim::Done {
                handled_at,
                summary,
            }) => return Ok(duplicate(id, Some(time(handled_at)), summary)),
            // A tick's work is the next tick's too: answering lets the alarms be. A finding's
            // delivery fails, so that Lambda retries it and finds the outcome, or acts if the
            // other invocation died.
            Ok(Claim::InProgress) if matches!(trigger, Trigger::Sweep(_)) => {
                return Ok(duplicate(
                    id,
                    None,
                    "another invocation is handling this tick".into(),
                ))
            }
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
                // The claim may have been written all the same: give it up if the run fails.
                let result = self.run(trigger, invoked, event_id).await;
                if result.is_err() {
                    let _ = within(BOOKKEEPING, store.abandon(id, owner)).await;
                }
                return result;
            }
        }
        let result = self.run(trigger, invoked, event_id).await;
        // What is left before the deadline, less a little for the answer itself.
        let limit = deadline.map_or(BOOKKEEPING, |d| {
            d.saturating_duration_since(Instant::now())
                .saturating_sub(Duration::from_millis(200))
                .min(BOOKKEEPING)
        });
        let done = chrono::Utc::now().timestamp();
        let recorded = match &result {
            // A dry run changed nothing: the live run that follows must act on the same event.
            Ok(r) if !r.dry_run => {
                within(
                    limit,
                    store.complete(id, owner, done, &summary(r), done + REMEMBERED),
                )
                .await
            }
            _ => within(limit, store.abandon(id, owner)).await,
        };
        if let Err(e) = recorded {
            warn(
                if matches!(&result, Ok(r) if !r.dry_run) {
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

fn duplicate(event_id: &str, handled_at: Option<String>, summary: String) -> Response {
    tracing::info!(
        target: AUDIT,
        event = "duplicate",
        event_id,
        handled_at = handled_at.as_deref(),
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
