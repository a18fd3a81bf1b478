//! Terminate paced to EC2's bucket (the rate learned by `domain::pace`), and retried here rather
//! than by the SDK: a throttled call is sent again in the next paced slot (EC2 did nothing with
//! it) while the bucket refills, a transient failure of a call by connection ID after a short backoff, up to
//! `CVPN_MAX_ATTEMPTS`. A `Username` call that failed otherwise is never sent again: its answer
//! may have been lost after it ended connections the user opened since (the caller falls back to
//! connection IDs). Every other action keeps the SDK's adaptive retry.

use crate::adapters::ec2::ClientVpnApi;
use crate::domain::model::{ApiError, By, StatusChange};
use crate::domain::pace::Pacer;
use crate::shell::execute::{Budget, NOT_STARTED};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// EC2's answers when the account's bucket is empty.
const THROTTLED: [&str; 3] = ["RequestLimitExceeded", "Throttling", "ThrottlingException"];
/// Failures worth one more try: the server's, or the way to it.
const TRANSIENT: [&str; 8] = [
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "Unavailable",
    "DispatchFailure",
    "ResponseError",
    "Timeout",
    "RequestTimeout",
];
/// Without a deadline (the command line), how often one call may be throttled before it fails.
const MAX_THROTTLES: u32 = 1_000;

/// One invocation's Terminate pacing, shared by its concurrent calls.
pub struct Pace {
    pacer: Mutex<Pacer>,
    epoch: Instant,
    attempts: u32,
}

impl Pace {
    /// Bursting until the first throttle, or held at `seed` calls a second
    /// (`CVPN_TERMINATE_RATE`); transient failures tried `attempts` times in all.
    pub fn new(seed: Option<f64>, attempts: u32) -> Self {
        Self {
            pacer: Mutex::new(Pacer::new(seed)),
            epoch: Instant::now(),
            attempts: attempts.max(1),
        }
    }

    fn now(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64()
    }

    fn at(&self, seconds: f64) -> Instant {
        self.epoch + Duration::from_secs_f64(seconds.max(0.0))
    }

    fn pacer(&self) -> std::sync::MutexGuard<'_, Pacer> {
        // A panic elsewhere cannot leave the pacer half-updated: every change is one assignment.
        self.pacer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The calls a second held, once learned.
    pub fn rate(&self) -> Option<f64> {
        self.pacer().rate()
    }

    /// One Terminate, paced, counted by `budget` each time it is sent.
    pub async fn terminate(
        &self,
        api: &impl ClientVpnApi,
        budget: &Budget,
        endpoint_id: &str,
        by: &By,
        dry_run: bool,
    ) -> Result<Vec<StatusChange>, ApiError> {
        let mut slot = {
            let now = self.now();
            self.at(self.pacer().start(now))
        };
        let (mut failures, mut throttles) = (0, 0);
        let mut last: Option<ApiError> = None;
        loop {
            if budget.stop_at().is_some_and(|stop| slot >= stop) {
                // Throttled or not yet sent, it did nothing: deferred. A transient failure may
                // have: it stands.
                return Err(match last {
                    Some(e) if failures > 0 => e,
                    _ => ApiError {
                        code: NOT_STARTED.into(),
                        message: "not started: EC2's pace left no slot before the invocation's \
                                  deadline (less CVPN_DEADLINE_MARGIN_SECONDS)"
                            .into(),
                    },
                });
            }
            tokio::time::sleep_until(slot.into()).await;
            let e = match budget.call(api.terminate(endpoint_id, by, dry_run)).await {
                Ok(changes) => {
                    let now = self.now();
                    self.pacer().succeeded(now);
                    return Ok(changes);
                }
                Err(e) => e,
            };
            let code = e.code.as_str();
            // A bucket that gave no token since it ran dry may never refill (a limit of zero):
            // then a throttled call is tried as often as any failed one.
            let patient = self.pacer().refilling() || throttles + 1 < self.attempts;
            if THROTTLED.contains(&code)
                && patient
                && (budget.stop_at().is_some() || throttles < MAX_THROTTLES)
            {
                throttles += 1;
                let now = self.now();
                slot = self.at(self.pacer().throttled(now));
            } else if TRANSIENT.contains(&code)
                && matches!(by, By::ConnectionId(_))
                && failures + 1 < self.attempts
            {
                failures += 1;
                let backoff = Duration::from_millis(50 << failures.min(5));
                let now = self.now();
                slot = self
                    .at(self.pacer().start(now))
                    .max(Instant::now() + backoff);
            } else {
                return Err(e);
            }
            last = Some(e);
        }
    }
}
