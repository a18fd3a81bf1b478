//! Pacing Terminate to EC2's token bucket, whatever its size. EC2 throttles mutating actions per
//! account and Region with a bucket (documented: 50 tokens refilled at 5 a second; accounts with
//! raised limits have larger ones) and answers `RequestLimitExceeded` when it is empty; a throttled
//! call costs no token. So: send freely while the bucket lasts; from the first throttle on, the
//! calls that go through come at the refill rate, which is measured over the next few of them; then
//! hold that rate, a little under it, and step down at once if a throttle says it was too high.
//! Pure: times are seconds on the caller's clock, so the tests drive it with a fake one.

/// Calls through, sent after the first throttle, that make a measurement.
const SAMPLES: u32 = 20;
/// Calls through after the bucket ran dry left out of the measurement.
const SKIPPED: u32 = 1;
/// The shortest time a measurement spans, in seconds.
const WINDOW: f64 = 1.0;
/// The share of the measured rate held: a measurement a little high would throttle every call.
const HOLD: f64 = 0.97;
/// How far one throttle at the held rate steps it down.
const STEP_DOWN: f64 = 0.95;
/// How far a long run of calls without a throttle steps it back up, toward the measured rate.
const STEP_UP: f64 = 1.02;
/// While measuring, calls go out one at a time: a quarter of the refill interval seen so far
/// apart, or, before any call got through, this long, doubled with every throttle in a row (to
/// `MAX_PROBE`): each token is taken soon after it comes, without a storm of throttled calls.
const PROBE: f64 = 0.005;
const MAX_PROBE: f64 = 1.0;
/// How long a bucket that gives no token at all (another invocation drained it, or its limit is
/// zero) is waited for, in seconds.
const PATIENCE: f64 = 5.0;

#[derive(Clone, Debug, PartialEq)]
struct Measure {
    /// When the first throttled call was sent: calls sent before were under the old bucket.
    from: f64,
    /// When the first call sent since went through, and how many have since.
    first: Option<f64>,
    n: u32,
    /// Calls through not counted yet (see `SKIPPED`).
    skipped: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Pacer {
    /// Calls a second held, once measured (or seeded by `CVPN_TERMINATE_RATE`).
    rate: Option<f64>,
    /// The measured rate, which the held one climbs back toward after stepping down.
    ceiling: f64,
    /// When the next paced call may start.
    next: f64,
    measure: Option<Measure>,
    /// Calls sent before this were given their slots at an earlier rate: their throttles say
    /// nothing new.
    stale: f64,
    /// When a call last went through.
    through: f64,
    /// Throttles since a call last got through.
    dry: u32,
    /// Calls through at the held rate since the last throttle.
    streak: u32,
}

impl Pacer {
    /// A pacer that bursts until the first throttle, or one held at `seed` calls a second.
    pub fn new(seed: Option<f64>) -> Self {
        let seed = seed.filter(|r| r.is_finite() && *r > 0.0);
        Self {
            rate: seed,
            ceiling: seed.unwrap_or(0.0),
            next: 0.0,
            measure: None,
            stale: f64::NEG_INFINITY,
            through: f64::NEG_INFINITY,
            dry: 0,
            streak: 0,
        }
    }

    /// The rate held, once known.
    pub fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// Whether a throttled call is still worth sending again at `now`: a call went through (or the
    /// bucket ran dry) less than `PATIENCE` ago, or twenty refill intervals at a slow held rate.
    pub fn patient(&self, now: f64) -> bool {
        let Some(m) = &self.measure else {
            return true;
        };
        let wait = self
            .rate
            .map_or(PATIENCE, |r| PATIENCE.max(f64::from(SAMPLES) / r));
        now - self.through.max(m.from) < wait
    }

    /// When a call wanted at `now` may start; the slot is taken.
    pub fn start(&mut self, now: f64) -> f64 {
        let gap = match (self.rate, &self.measure) {
            (Some(rate), _) => 1.0 / rate,
            (None, None) => return now,
            (None, Some(m)) => match m.first {
                Some(first) if m.n > 0 => ((now - first) / f64::from(m.n) / 4.0).max(0.0),
                // Growing with the throttles in a row, but never past half the time since the
                // bucket ran dry: many calls throttled at once must not push the first probe out.
                _ => (PROBE * 2f64.powi(self.dry.min(30) as i32))
                    .min(MAX_PROBE)
                    .min(((now - m.from) / 2.0).max(PROBE)),
            },
        };
        let at = self.next.max(now);
        self.next = at + gap;
        at
    }

    /// A call sent at `sent` went through (or was answered without touching a connection: a dry
    /// run's permission, a connection already gone), answered at `now`.
    pub fn succeeded(&mut self, sent: f64, now: f64) {
        self.dry = 0;
        self.through = self.through.max(now);
        if let Some(rate) = self.rate {
            self.streak += 1;
            // Back up toward the measured rate, never past the share of it held.
            let top = self.ceiling * HOLD;
            if self.streak >= 2 * SAMPLES && rate < top {
                self.rate = Some((rate * STEP_UP).min(top));
                self.streak = 0;
            }
            return;
        }
        let Some(m) = &mut self.measure else { return };
        if sent < m.from {
            return;
        }
        // The first few through after the bucket ran dry may have taken its last tokens, not new
        // ones (a call sent later can reach EC2 sooner): the measurement starts after them.
        if m.skipped < SKIPPED {
            m.skipped += 1;
            return;
        }
        let Some(first) = m.first else {
            m.first = Some(now);
            return;
        };
        m.n += 1;
        let span = now - first;
        if m.n >= SAMPLES && span >= WINDOW {
            self.ceiling = f64::from(m.n) / span;
            let rate = self.ceiling * HOLD;
            self.rate = Some(rate);
            // Calls sent while measuring, or holding a slot from then, were paced by the probe's
            // gap, not the rate: their throttles are no news.
            self.stale = self.next.max(now);
            self.next = self.stale + 1.0 / rate;
        }
    }

    /// A call sent at `sent` was throttled, answered at `now`, and will not be sent again.
    pub fn gave_up(&mut self, sent: f64, now: f64) {
        self.dry += 1;
        self.streak = 0;
        if self.measure.is_none() {
            self.measure = Some(Measure {
                from: sent,
                first: None,
                n: 0,
                skipped: 0,
            });
        }
        // A throttle of a call sent at the held rate says the rate is too high; one sent before
        // the last step down (its slot was handed out at the old rate) says nothing new.
        if let Some(rate) = self.rate {
            if sent >= self.stale {
                self.rate = Some(rate * STEP_DOWN);
                self.stale = self.next.max(now);
            }
        }
    }

    /// A call sent at `sent` was throttled, answered at `now`; the answer is when to send it again.
    pub fn throttled(&mut self, sent: f64, now: f64) -> f64 {
        self.gave_up(sent, now);
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

    /// `n` calls, `concurrency` at a time, on a fake clock: a call takes a token half way, a call
    /// that went through is answered `rtt` after it was sent, a throttled one four times sooner (so
    /// answers come back out of order, as EC2's do). The time they all took and the throttles.
    fn run(
        n: usize,
        capacity: f64,
        refill: f64,
        concurrency: usize,
        rtt: f64,
        seed: Option<f64>,
    ) -> (f64, u32) {
        #[derive(Clone, Copy)]
        enum Event {
            /// The worker is free for a new call.
            Ready,
            /// Its call, sent at `sent`, is on its way.
            Send,
            Answer {
                sent: f64,
                through: bool,
            },
        }
        let mut bucket = Bucket {
            capacity,
            refill,
            tokens: capacity,
            at: 0.0,
        };
        let mut pacer = Pacer::new(seed);
        let mut events: Vec<(f64, usize, Event)> =
            (0..concurrency).map(|w| (0.0, w, Event::Ready)).collect();
        let (mut started, mut done, mut throttles, mut end) = (0, 0, 0, 0.0_f64);
        while done < n {
            let i = (0..events.len())
                .min_by(|a, b| events[*a].0.total_cmp(&events[*b].0))
                .unwrap();
            let (now, w, event) = events.swap_remove(i);
            match event {
                Event::Ready => {
                    if started == n {
                        continue;
                    }
                    started += 1;
                    events.push((pacer.start(now).max(now), w, Event::Send));
                }
                Event::Send => {
                    let through = bucket.take(now + rtt / 2.0);
                    let back = if through { rtt } else { rtt / 4.0 };
                    events.push((now + back, w, Event::Answer { sent: now, through }));
                }
                Event::Answer {
                    sent,
                    through: true,
                } => {
                    pacer.succeeded(sent, now);
                    done += 1;
                    end = end.max(now);
                    events.push((now, w, Event::Ready));
                }
                Event::Answer {
                    sent,
                    through: false,
                } => {
                    throttles += 1;
                    assert!(pacer.patient(now), "gave up at {now} s");
                    let again = pacer.throttled(sent, now);
                    events.push((again.max(now), w, Event::Send));
                }
            }
        }
        (end, throttles)
    }

    fn bound(n: usize, capacity: f64, refill: f64) -> f64 {
        ((n as f64 - capacity) / refill).max(0.0)
    }

    #[test]
    fn the_documented_bucket_is_held_close_to_its_bound() {
        let (took, throttles) = run(300, 50.0, 5.0, 16, 0.002, None);
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
        let again = p.throttled(0.1, 0.15);
        assert!((p.rate().unwrap() - 9.5).abs() < 1e-9);
        assert!((again - 0.2).abs() < 1e-9, "the next slot, not at once");
        // The calls already in flight at the old rate step it down no further.
        p.throttled(0.1, 0.16);
        assert!((p.rate().unwrap() - 9.5).abs() < 1e-9);
        assert_eq!(Pacer::new(Some(f64::NAN)).rate(), None);
        assert_eq!(Pacer::new(Some(0.0)).rate(), None);
    }

    #[test]
    fn a_bucket_that_gives_nothing_is_probed_ever_more_slowly_and_then_given_up() {
        let mut p = Pacer::new(None);
        let mut now = 0.02;
        let mut gaps = Vec::new();
        while p.patient(now) {
            let again = p.throttled(now - 0.01, now);
            gaps.push(again - now);
            now = again + 0.001;
        }
        assert!(
            now >= PATIENCE && gaps.len() < 30,
            "{} tries over {now} s",
            gaps.len()
        );
        // Close together at first, a second apart in the end.
        assert!(gaps[..3].iter().all(|g| *g < 0.05), "{gaps:?}");
        assert!(*gaps.last().unwrap() > 0.5, "{gaps:?}");
        // A token after all: the bucket refills, and a throttle is worth waiting out again.
        p.succeeded(now, now + 0.01);
        assert!(p.patient(now + 1.0));
        assert!(
            !p.patient(now + 100.0),
            "until it gives nothing again for a while"
        );
    }

    #[test]
    fn calls_sent_before_the_bucket_ran_dry_do_not_count_as_its_refill() {
        let mut p = Pacer::new(None);
        p.throttled(1.0, 1.01);
        // Sent at 0.99, before the throttled one: answered later, but no measure of the refill.
        for _ in 0..100 {
            p.succeeded(0.99, 1.02);
        }
        assert!(!p.patient(7.0), "still no token since it ran dry");
        assert_eq!(p.rate(), None);
    }

    #[test]
    fn a_rate_stepped_down_climbs_back_toward_the_measured_one() {
        let mut p = Pacer::new(Some(100.0));
        p.throttled(0.0, 0.01);
        assert!((p.rate().unwrap() - 95.0).abs() < 1e-9);
        for i in 0..200 {
            let t = 0.02 + f64::from(i) * 0.01;
            p.succeeded(t, t + 0.005);
        }
        assert!(p.rate().unwrap() > 95.0 && p.rate().unwrap() <= 100.0);
    }

    #[test]
    fn without_throttles_nothing_is_paced() {
        let mut p = Pacer::new(None);
        for i in 0..1_000 {
            let now = f64::from(i) * 0.001;
            assert_eq!(p.start(now), now);
            p.succeeded(now, now);
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
            concurrency in 1usize..64,
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
