//! A response whose size does not grow with the fleet: counts for every outcome, and at most
//! `CVPN_RESPONSE_MAX_ITEMS` entries per list, the rest counted in `truncated`. Lambda refuses a
//! response over 6 MB (the invocation then fails and is retried); every entry left out still has
//! its log line.

use super::Response;
use serde::Serialize;
use std::collections::BTreeMap;

/// How many entries each of a response's lists had.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub terminated: usize,
    pub would_terminate: usize,
    pub unplanned: usize,
    pub left_active: usize,
    pub skipped: usize,
    pub failed: usize,
    pub deferred: usize,
    pub errors: usize,
    pub quarantine: usize,
}

impl Counts {
    pub fn of(r: &Response) -> Self {
        Self {
            terminated: r.terminated.len(),
            would_terminate: r.would_terminate.len(),
            unplanned: r.unplanned.len(),
            left_active: r.left_active.len(),
            skipped: r.skipped.len(),
            failed: r.failed.len(),
            deferred: r.deferred.len(),
            errors: r.errors.len(),
            quarantine: r.quarantine.len(),
        }
    }
}

fn cut<T>(
    list: &mut Vec<T>,
    max: usize,
    name: &'static str,
    left: &mut BTreeMap<&'static str, usize>,
) {
    if list.len() > max {
        left.insert(name, list.len() - max);
        list.truncate(max);
        list.shrink_to_fit();
    }
}

impl Response {
    /// This response as it is answered: with its counts, and each list cut to `max` entries.
    pub fn bounded(mut self, max: usize) -> Response {
        self.counts = Some(Counts::of(&self));
        let mut left = BTreeMap::new();
        cut(&mut self.terminated, max, "terminated", &mut left);
        cut(&mut self.unplanned, max, "unplanned", &mut left);
        cut(&mut self.left_active, max, "left_active", &mut left);
        cut(&mut self.would_terminate, max, "would_terminate", &mut left);
        cut(&mut self.skipped, max, "skipped", &mut left);
        cut(&mut self.failed, max, "failed", &mut left);
        cut(&mut self.deferred, max, "deferred", &mut left);
        cut(&mut self.errors, max, "errors", &mut left);
        cut(&mut self.quarantine, max, "quarantine", &mut left);
        cut(&mut self.unenforced, max, "unenforced", &mut left);
        cut(&mut self.notifications, max, "notifications", &mut left);
        cut(&mut self.trigger.findings, max, "findings", &mut left);
        self.truncated = left;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::trigger::TriggerSource;
    use crate::shell::report::Entry;
    use proptest::prelude::*;

    fn entries(n: usize) -> Vec<Entry> {
        (0..n)
            .map(|i| Entry {
                connection_id: Some(format!("cvpn-connection-{i:017x}")),
                username: Some(format!("user{i}")),
                detail: Some("why it was chosen, at some length".into()),
                ..Entry::default()
            })
            .collect()
    }

    #[test]
    fn a_fleet_sized_response_stays_small_and_counts_everything() {
        let r = Response {
            terminated: entries(15_000),
            skipped: entries(35_000),
            ..Response::of(TriggerSource::GuardDuty)
        };
        let full = serde_json::to_vec(&r).unwrap().len();
        let b = r.bounded(100);
        let size = serde_json::to_vec(&b).unwrap().len();
        assert!(full > 6_000_000 && size < 64 * 1024, "{full} → {size}");
        assert_eq!(b.counts.as_ref().unwrap().terminated, 15_000);
        assert_eq!(b.counts.as_ref().unwrap().skipped, 35_000);
        assert_eq!(b.terminated.len(), 100);
        assert_eq!(b.truncated["terminated"], 14_900);
        assert_eq!(b.truncated["skipped"], 34_900);
        assert!(!b.truncated.contains_key("failed"));
    }

    proptest! {
        /// Nothing is lost: what a list keeps plus what it left out is what it had, and it keeps
        /// the first entries, in order.
        #[test]
        fn every_entry_is_kept_or_counted(n in 0usize..400, m in 0usize..400, max in 0usize..200) {
            let r = Response { terminated: entries(n), failed: entries(m), ..Response::of(TriggerSource::GuardDuty) };
            let b = r.clone().bounded(max);
            prop_assert_eq!(b.terminated.len() + b.truncated.get("terminated").copied().unwrap_or(0), n);
            prop_assert_eq!(b.failed.len() + b.truncated.get("failed").copied().unwrap_or(0), m);
            prop_assert!(b.terminated.len() <= max && b.failed.len() <= max);
            prop_assert_eq!(&b.terminated[..], &r.terminated[..b.terminated.len()]);
            prop_assert_eq!(b.counts.unwrap(), Counts::of(&r));
        }
    }
}
