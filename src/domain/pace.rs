//! Pacing Terminate to EC2's token bucket, whatever its size. EC2 throttles mutating actions per
//! account and Region with a bucket (documented: 50 tokens refilled at 5 a second; accounts with
//! raised limits have larger ones) and answers `RequestLimitExceeded` when it is empty; a throttled
//! call costs no token. So: send freely while the bucket lasts; from the first throttle on, the
//! calls that go through come at the refill rate, which is measured over the next few of them; then
//! hold that rate, a little under it, and step down at once if a throttle says it was too high.
//! Pure: times are seconds on the caller's clock, so the tests drive it with a fake one.

/// Successes after the first throttle that make a measurement.
const SAMPLES: u32 = 20;
/// The shortest time a measurement spans, in seconds.
const WINDOW: f64 = 1.0;
/// The share of the measured rate held: a measurement a little high would throttle every call.
const HOLD: f64 = 0.97;
/// How far one throttle at the held rate steps it down.
const STEP_DOWN: f64 = 0.95;
/// While measuring, calls go out one at a time at a quarter of the refill interval seen so far (this, before
/// the first success): each token is taken soon after it comes, without a storm of throttled calls.
const PROBE: f64 = 0.005;

#[derive(Clone, Debug, PartialEq)]
pub struct Pacer {
    /// Calls a second, once measured (or seeded by `CVPN_TERMINATE_RATE`).
    rate: Option<f64>,
    /// When the next paced call may start.
    next: f64,
    /// Since the first throttle: the first success's time and the successes since (the
    /// measurement: from one success to the next, the bucket's refill interval).
    since: Option<(Option<f64>, u32)>,
    /// When the held rate last stepped down: the calls in flight then were sent at the old rate,
    /// and their throttles say nothing new.
    stepped: f64,
}

impl Pacer {
    /// A pacer that bursts until the first throttle, or one held at `seed` calls a second.
    pub fn new(seed: Option<f64>) -> Self {
        Self {
            rate: seed.filter(|r| r.is_finite() && *r > 0.0),
            next: 0.0,
            since: None,
            stepped: f64::NEG_INFINITY,
        }
    }

    /// The rate held, once known.
    pub fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// Whether the bucket has given a token since it first ran dry (or the rate was seeded): while
    /// it has not, a throttled call is only tried as often as any failed one.
    pub fn refilling(&self) -> bool {
        self.rate.is_some() || matches!(self.since, Some((Some(_), _)))
    }

    /// When a call wanted at `now` may start; the slot is taken.
    pub fn start(&mut self, now: f64) -> f64 {
        let gap = match (self.rate, &self.since) {
            (Some(rate), _) => 1.0 / rate,
            (None, Some((first, n))) => match first {
                Some(first) if *n > 0 => (now - first) / f64::from(*n) / 4.0,
                _ => PROBE,
            },
            (None, None) => return now,
        };
        let at = self.next.max(now);
        self.next = at + gap;
        at
    }

    /// A call answered at `now` went through.
    pub fn succeeded(&mut self, now: f64) {
        if self.rate.is_some() {
            return;
        }
        if let Some((first, n)) = &mut self.since {
            let Some(first) = *first else {
                *first = Some(now);
                return;
            };
            *n += 1;
            let span = now - first;
            if *n >= SAMPLES && span >= WINDOW {
                let rate = f64::from(*n) / span * HOLD;
                self.rate = Some(rate);
                self.next = now + 1.0 / rate;
                // Calls sent while measuring are still on their way; their throttles are no news.
                self.stepped = now;
            }
        }
    }

    /// A call answered at `now` was throttled; the answer is when to send it again.
    pub fn throttled(&mut self, now: f64) -> f64 {
        if self.since.is_none() {
            self.since = Some((None, 0));
        }
        if let Some(rate) = self.rate {
            if now - self.stepped >= f64::from(SAMPLES) / rate {
                self.rate = Some(rate * STEP_DOWN);
                self.stepped = now;
            }
        }
        self.start(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// EC2's bucket on a fake clock: `capacity` tokens, refilled at `refill` a second.
    struct Bucket {
        capacity: f64,
        refill: f64,
        tokens: f64,
        at: f64,
    }

    impl Bucket {
        fn take(&mut self, now: f64) -> bool {
            self.tokens = (self.tokens + (now - self.at) * self.refill).min(self.capacity);
            self.at = now;
            if self.tokens >= 1.0 {
                self.tokens -= 1.0;
                true
            } else {
                false
            }
        }
    }

    /// `n` calls, `concurrency` at a time, each taking `rtt` seconds: the time they all took and
    /// the throttles seen.
    fn run(
        n: usize,
        capacity: f64,
        refill: f64,
        concurrency: usize,
        rtt: f64,
        seed: Option<f64>,
    ) -> (f64, u32) {
        let mut bucket = Bucket {
            capacity,
            refill,
            tokens: capacity,
            at: 0.0,
        };
        let mut pacer = Pacer::new(seed);
        // Each worker's next send time; the earliest goes first.
        let mut workers: Vec<f64> = vec![0.0; concurrency];
        let (mut done, mut throttles, mut end) = (0, 0, 0.0_f64);
        let mut wanted = vec![false; concurrency];
        while done < n {
            let (i, &t) = workers
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(b.1))
                .unwrap();
            // A worker ready at `t` takes a slot, and waits for it with the others in time order.
            if !wanted[i] {
                let slot = pacer.start(t);
                workers[i] = slot;
                wanted[i] = true;
                if slot > t {
                    continue;
                }
            }
            wanted[i] = false;
            let start = t;
            let answered = start + rtt;
            if bucket.take(start + rtt / 2.0) {
                pacer.succeeded(answered);
                done += 1;
                end = end.max(answered);
                workers[i] = answered;
            } else {
                throttles += 1;
                workers[i] = pacer.throttled(answered);
                wanted[i] = true;
            }
        }
        (end, throttles)
    }

    fn bound(n: usize, capacity: f64, refill: f64) -> f64 {
        ((n as f64 - capacity) / refill).max(0.0)
    }

    #[test]
    fn the_documented_bucket_is_held_close_to_its_bound() {
        let (took, throttles) = run(300, 50.0, 5.0, 8, 0.02, None);
        let bound = bound(300, 50.0, 5.0);
        assert!(took <= bound * 1.05, "{took} s against {bound} s");
        assert!(throttles < 150, "{throttles} throttles");
    }

    #[test]
    fn a_raised_bucket_is_learned_from_the_first_throttles() {
        let (took, _) = run(3_000, 50.0, 200.0, 8, 0.01, None);
        let bound = bound(3_000, 50.0, 200.0);
        assert!(took <= bound * 1.1, "{took} s against {bound} s");
    }

    #[test]
    fn a_seeded_rate_is_held_from_the_start_and_a_seed_too_high_steps_down() {
        let mut p = Pacer::new(Some(10.0));
        assert_eq!(p.start(0.0), 0.0);
        assert!((p.start(0.0) - 0.1).abs() < 1e-9);
        let again = p.throttled(0.15);
        assert!((p.rate().unwrap() - 9.5).abs() < 1e-9);
        assert!((again - 0.2).abs() < 1e-9, "the next slot, not at once");
        // The calls already in flight at the old rate step it down no further.
        p.throttled(0.16);
        assert!((p.rate().unwrap() - 9.5).abs() < 1e-9);
        assert_eq!(Pacer::new(Some(f64::NAN)).rate(), None);
        assert_eq!(Pacer::new(Some(0.0)).rate(), None);
    }

    #[test]
    fn a_bucket_that_never_refills_is_told_apart() {
        let mut p = Pacer::new(None);
        p.succeeded(0.0);
        p.throttled(0.1);
        assert!(!p.refilling());
        p.succeeded(0.3);
        assert!(p.refilling());
        assert!(Pacer::new(Some(5.0)).refilling());
    }

    #[test]
    fn without_throttles_nothing_is_paced() {
        let mut p = Pacer::new(None);
        for i in 0..1_000 {
            let now = f64::from(i) * 0.001;
            assert_eq!(p.start(now), now);
            p.succeeded(now);
        }
        assert_eq!(p.rate(), None);
    }

    proptest! {
        /// Whatever the bucket, the sweep ends within 1.2× its bound (plus the calls' own time),
        /// and a held rate never sends faster than the bucket refills for long.
        #[test]
        fn any_bucket_is_held_within_its_bound(
            capacity in 1.0f64..500.0,
            refill in 1.0f64..2_000.0,
            n in 100usize..2_000,
            concurrency in 1usize..16,
        ) {
            let rtt = 0.01;
            let (took, _) = run(n, capacity, refill, concurrency, rtt, None);
            let bound = bound(n, capacity, refill);
            // However fast the bucket, a worker sends one call per round trip.
            let floor = n as f64 * rtt / concurrency as f64;
            prop_assert!(took <= (bound * 1.2).max(floor * 1.2) + 2.0 * WINDOW, "{} s against {} s", took, bound);
        }
    }
}
