//! A sweep's activity tracks (`domain/policy`): each connection's track read from the state
//! table, judged against its counters, and saved with a condition on what was read, so that two
//! overlapping ticks never lose each other's marks.

use crate::adapters::state::{StateStore, Stored};
use crate::domain::model::{ApiError, Connection};
use crate::domain::plan::CallError;
use crate::domain::policy::{observe, SweepPolicy, Track};
use crate::shell::budget::Budget;
use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;

/// Conditional writes lost to overlapping runs are retried after re-reading, this many times.
const SAVE_ATTEMPTS: usize = 3;

/// What judging a page's connections needs: each connection's track read, judged and (unless a
/// dry run) saved.
pub(crate) struct Judge<'x, S> {
    pub store: &'x S,
    pub policy: &'x SweepPolicy,
    /// How long an item outlives its last write, in seconds.
    pub retention: i64,
    pub write: bool,
    pub writes: &'x Semaphore,
    pub budget: &'x Budget,
}

impl<S: StateStore> Judge<'_, S> {
    /// One connection's track at `now`, from `current` (what the table held), saved when it
    /// changed or its item nears expiry; another writer's save is read back and judged again.
    pub(crate) async fn track(
        &self,
        c: &Connection,
        key: &str,
        mut current: Option<Stored>,
        now: DateTime<Utc>,
    ) -> (String, Track, Option<CallError>) {
        let now_s = now.timestamp();
        // A connection's writes under one permit: the two pages judged together stay within
        // CVPN_CONCURRENCY writes.
        let _permit = match self.write {
            true => Some(
                self.writes
                    .acquire()
                    .await
                    .expect("the semaphore is never closed"),
            ),
            false => None,
        };
        let total = c.ingress_bytes.saturating_add(c.egress_bytes);
        let idle_bytes = self.policy.idle_bytes;
        let judged = |current: Option<Stored>| {
            observe(
                current.map(|s| s.track),
                total,
                c.established,
                now,
                idle_bytes,
            )
        };
        let mut observed = judged(current);
        let failed = |action, e, track| {
            (
                c.connection_id.clone(),
                track,
                Some(CallError::new(None, action, e)),
            )
        };
        for attempt in 1..=SAVE_ATTEMPTS {
            let renew =
                current.is_some_and(|s| s.expires_at.saturating_sub(now_s) < self.retention / 2);
            if !self.write || (!observed.write && !renew) {
                break;
            }
            let expected = current.map(|s| s.track);
            let expires = now_s + self.retention;
            let save = self
                .store
                .save(key, &c.endpoint_id, observed.track, expected, expires);
            match self.budget.call(save).await {
                Ok(true) => break,
                Ok(false) if attempt == SAVE_ATTEMPTS => {
                    let e = ApiError {
                        code: "ConditionalCheckFailed".into(),
                        message: format!(
                            "the activity mark of {} lost to other writers {SAVE_ATTEMPTS} times",
                            c.connection_id
                        ),
                    };
                    return failed("PutItem", e, observed.track);
                }
                // Another run wrote first: judge from what it wrote.
                Ok(false) => {
                    let keys = [key.to_owned()];
                    match self.budget.call(self.store.load(&keys)).await {
                        Ok(mut fresh) => {
                            current = fresh.remove(key);
                            observed = judged(current);
                        }
                        Err(e) => return failed("BatchGetItem", e, observed.track),
                    }
                }
                // An activity mark that is not saved is seen again next tick, since the counters
                // keep the bytes: judging by it now is safe.
                Err(e) => return failed("PutItem", e, observed.track),
            }
        }
        (c.connection_id.clone(), observed.track, None)
    }
}
