//! Once per delivery: an EventBridge event (a finding or a tick) already handled successfully in
//! the last 24 hours is answered from its record (`duplicate`: nothing called, nothing sent). A
//! delivery is the event's `id` with the digest of what decides the action
//! (`domain/trigger/delivery.rs`): another event reusing the `id` is acted on, and logged as
//! `delivery_conflict`. The
//! claim is a conditional put, so two concurrent deliveries act once: the second fails
//! (`InProgress`; a tick answers instead), so that Lambda retries it and finds the outcome. A
//! failed invocation gives its claim up, and one that died leaves it to Lambda's retry of it, which
//! has the same request ID and takes it over. Without a table, or when the table cannot be
//! reached, duplicates are acted on again, as before: terminations are idempotent. Only Lambda's
//! invocations are recorded (they have a request ID and a deadline); dry runs are not.

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::deliveries::Claim;
use crate::adapters::state::Stores;
use crate::domain::model::ApiError;
use crate::domain::quarantine::time;
use crate::domain::trigger::delivery::Delivery;
use crate::domain::trigger::Trigger;
use crate::domain::trigger::TriggerSource;
use crate::shell::app::{App, HandlerError};
use crate::shell::budget::within;
use crate::shell::handler::Invoked;
use crate::shell::logging::AUDIT;
use crate::shell::report::{DeliveryConflict, Duplicate, Response};
use std::time::{Duration, Instant};

/// How long a handled event is remembered.
const REMEMBERED: i64 = 24 * 60 * 60;
/// The longest any bookkeeping call may take.
const BOOKKEEPING: Duration = Duration::from_secs(2);

fn warn(step: &str, event_id: &str, e: &ApiError) {
    // (the event's own id only: the digest says nothing to a person)
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

/// Another invocation is handling the delivery. A tick's work is the next tick's too: answering
/// lets the alarms be. A finding's delivery fails, so that Lambda retries it and finds the
/// outcome, or acts if the other invocation died.
fn in_progress(trigger: &Trigger, id: &str) -> Result<Response, HandlerError> {
    if matches!(trigger, Trigger::Sweep(_)) {
        return Ok(duplicate(
            id,
            None,
            "another invocation is handling this tick".into(),
        ));
    }
    tracing::warn!(
        target: AUDIT,
        event = "duplicate",
        event_id = id,
        state = "in_progress",
        "another invocation is handling this event; failing so that Lambda retries it"
    );
    Err(HandlerError::InProgress {
        event_id: id.to_owned(),
    })
}

impl<A, S> App<A, S>
where
    A: ClientVpnApi,
    S: Stores,
{
    /// Runs `trigger` unless `delivery` was handled (or is being handled) already.
    pub(crate) async fn once(
        &self,
        delivery: Option<&Delivery>,
        trigger: &Trigger,
        invoked: Invoked<'_>,
    ) -> Result<Response, HandlerError> {
        let event_id = delivery.map(|d| d.id.as_str());
        let once = matches!(
            trigger,
            Trigger::Findings(_) | Trigger::Sweep(_) | Trigger::Idp(_)
        );
        let (Some(delivery), Some(owner), Some(deadline), Some(store), true) = (
            delivery,
            invoked.request_id,
            invoked.deadline,
            &self.store,
            once,
        ) else {
            return self.run(trigger, invoked, event_id).await;
        };
        let id = delivery.id.as_str();
        let now = chrono::Utc::now().timestamp();
        // As long as this invocation may run, and the seconds its answer takes. If it dies,
        // Lambda's retry (same request ID) takes the claim over at once; another delivery waits
        // this long at most.
        let left = deadline.saturating_duration_since(Instant::now()).as_secs();
        let (claim, seen) = futures::join!(
            within(
                BOOKKEEPING,
                store.claim(delivery, owner, now, now + left as i64 + 5)
            ),
            within(BOOKKEEPING, store.seen(delivery, now, now + REMEMBERED)),
        );
        match claim {
            Ok(Claim::Claimed) => {}
            Ok(Claim::Done {
                handled_at,
                summary,
            }) => return Ok(duplicate(id, Some(time(handled_at)), summary)),
            Ok(Claim::InProgress) => return in_progress(trigger, id),
            Err(e) => {
                warn("claim", id, &e);
                // The claim may have been written all the same: the run's end is recorded over
                // it (done, or given up), as after a claim that answered.
                let result = self.run(trigger, invoked, event_id).await;
                self.record(store, delivery, owner, deadline, &result).await;
                return result;
            }
        }
        match &seen {
            Ok(Some(earlier)) => conflict(delivery, earlier),
            Ok(None) => {}
            Err(e) => warn("seen", id, e),
        }
        let mut result = self.run(trigger, invoked, event_id).await;
        if let (Ok(Some(earlier)), Ok(r)) = (&seen, &mut result) {
            r.delivery_conflict = Some(DeliveryConflict {
                event_id: id.to_owned(),
                digest: delivery.digest.clone(),
                earlier_digest: earlier.clone(),
            });
        }
        self.record(store, delivery, owner, deadline, &result).await;
        result
    }

    /// Records the run's end: done (remembered), or the claim given up so that a retry acts.
    async fn record(
        &self,
        store: &S,
        delivery: &Delivery,
        owner: &str,
        deadline: Instant,
        result: &Result<Response, HandlerError>,
    ) {
        // What is left before the deadline, less a little for the answer itself.
        let limit = deadline
            .saturating_duration_since(Instant::now())
            .saturating_sub(Duration::from_millis(200))
            .min(BOOKKEEPING);
        let done = chrono::Utc::now().timestamp();
        // A dry run changed nothing: the live run that follows must act on the same event.
        let (step, recorded) = match result {
            Ok(r) if !r.dry_run => (
                "complete",
                within(
                    limit,
                    store.complete(delivery, owner, done, &summary(r), done + REMEMBERED),
                )
                .await,
            ),
            _ => (
                "abandon",
                within(limit, store.abandon(delivery, owner)).await,
            ),
        };
        if let Err(e) = recorded {
            warn(step, &delivery.id, &e);
        }
    }
}

/// Another event came with this `id` before: this one is acted on, and said so.
fn conflict(delivery: &Delivery, earlier: &str) {
    tracing::warn!(
        target: AUDIT,
        event = "delivery_conflict",
        event_id = delivery.id.as_str(),
        digest = delivery.digest.as_str(),
        earlier_digest = earlier,
        "an event with this id but other contents was delivered before; this one is acted on"
    );
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
        duplicate: Some(Duplicate {
            event_id: event_id.into(),
            handled_at,
            summary,
        }),
        ..Response::of(TriggerSource::Duplicate)
    }
}
