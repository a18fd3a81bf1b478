//! Terminate paced to EC2's bucket (the rate learned by `domain::pace`), and retried here rather
//! than by the SDK: a throttled call is sent again in the next paced slot (EC2 did nothing with
//! it) while the bucket refills or ran dry less than a few seconds ago, a transient failure of a call by connection ID after a short backoff, up to
//! `CVPN_MAX_ATTEMPTS`. A `Username` call that failed otherwise is never sent again: its answer
//! may have been lost after it ended connections the user opened since (the caller falls back to
//! connection IDs). Every other action keeps the SDK's adaptive retry.

use crate::adapters::ec2::ClientVpnApi;
use crate::domain::error_kind::ErrorKind;
use crate::domain::model::{ApiError, By, Place, StatusChange};
use crate::domain::pace::Pacer;
use crate::shell::budget::{Budget, NOT_STARTED};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Paced waits end this long before the invocation's stop: the outcome event and the notes on
/// findings need it (`notify.rs` gives each call at most 3 s).
const RESERVE: Duration = Duration::from_secs(3);
/// The latest a slot may be, in seconds from the pace's start: a rate so low that its slots lie
/// beyond is not waited for.
const LAST_SLOT: f64 = 1e6;

/// One pace per target, since EC2's buckets are per account and Region.
pub struct Paces(Vec<(Place, Pace)>);

impl Paces {
    pub fn new<'a>(
        places: impl Iterator<Item = &'a Place>,
        seed: Option<f64>,
        attempts: u32,
    ) -> Self {
        Self(
            places
                .map(|p| (p.clone(), Pace::new(seed, attempts)))
                .collect(),
        )
    }

    pub fn at(&self, place: &Place) -> Option<&Pace> {
        self.0
            .iter()
            .find(|(p, _)| p == place)
            .map(|(_, pace)| pace)
    }

    /// The rate each paced target was held at.
    pub fn rates(&self) -> impl Iterator<Item = (&Place, f64)> {
        self.0
            .iter()
            .filter_map(|(p, pace)| Some((p, pace.rate()?)))
    }
}

/// One invocation's Terminate pacing in one target, shared by its concurrent calls.
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
        let seconds = if seconds.is_finite() {
            seconds.clamp(0.0, LAST_SLOT)
        } else {
            LAST_SLOT
        };
        self.epoch + Duration::from_secs_f64(seconds)
    }

    fn pacer(&self) -> std::sync::MutexGuard<'_, Pacer> {
        // No lock is held across a panic point that leaves the pacer inconsistent: take it over.
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
        // A paced wait leaves the last seconds before the margin to telling people.
        let cutoff = budget
            .stop_at()
            .map(|stop| stop.checked_sub(RESERVE).unwrap_or(stop));
        let mut slot = {
            let now = self.now();
            self.at(self.pacer().start(now))
        };
        let mut failures = 0;
        let mut transient: Option<ApiError> = None;
        loop {
            let waits = slot > Instant::now();
            if cutoff.is_some_and(|c| waits && slot >= c) {
                // Throttled or not yet sent, it did nothing: deferred. A transient failure may
                // have done something: it stands.
                return Err(transient.unwrap_or_else(|| ApiError {
                    code: NOT_STARTED.into(),
                    message: "not started: EC2's pace left no slot before the invocation's \
                              deadline (less CVPN_DEADLINE_MARGIN_SECONDS and the time to tell people)"
                        .into(),
                }));
            }
            tokio::time::sleep_until(slot.into()).await;
            let sent = self.now();
            let e = match budget.call(api.terminate(endpoint_id, by, dry_run)).await {
                Ok(changes) => {
                    let now = self.now();
                    self.pacer().succeeded(sent, now);
                    return Ok(changes);
                }
                Err(e) => e,
            };
            let kind = e.kind();
            let now = self.now();
            if kind == ErrorKind::Throttled {
                let mut pacer = self.pacer();
                if pacer.patient(now) {
                    slot = self.at(pacer.throttled(sent, now));
                    continue;
                }
                pacer.gave_up(sent, now);
                return Err(transient.unwrap_or(e));
            }
            // Answered without ending anything, it went through all the same: a dry run's
            // permission, a connection or user already gone.
            if matches!(
                kind,
                ErrorKind::DryRunPermitted
                    | ErrorKind::ConnectionNotFound
                    | ErrorKind::UserNotFound
            ) {
                self.pacer().succeeded(sent, now);
                return Err(e);
            }
            if kind == ErrorKind::Transient
                && matches!(by, By::ConnectionId(_))
                && failures + 1 < self.attempts
            {
                failures += 1;
                let backoff = Duration::from_millis(50 << failures.min(5)).as_secs_f64();
                slot = self.at(self.pacer().start(now + backoff));
                transient = Some(e);
                continue;
            }
            // Not started at the deadline after a transient failure: that failure is what
            // happened (one cut off mid-way may have ended the connection: it says so).
            return Err(match transient {
                Some(t) if kind == ErrorKind::NotStarted => t,
                _ => e,
            });
        }
    }
}
