//! What an incident may end when part of the picture is missing (a place whose role cannot be
//! assumed, an endpoint whose connections could not be listed).
//!
//! Evidence that names a person (a username, a common name) or a connection (its ID) names the
//! same sessions wherever they are: ending those that can be seen is safe, and leaving a
//! compromised person connected everywhere because one place is unreachable is the worse failure.
//! A client address is another matter: which connection held it is only known from the whole
//! picture (the endpoints' CIDRs overlap across places), so address evidence waits for it.

use super::Selector;
use std::collections::BTreeSet;

/// The selectors split for an incomplete picture.
#[derive(Debug, Default, PartialEq)]
pub struct Partial {
    /// What may act on the sessions that can be seen: the person and connection evidence, each
    /// selector without its addresses.
    pub acting: Vec<Selector>,
    /// Selectors whose client addresses were set aside (for their person evidence, if any, is
    /// in `acting`): nothing is ended for those addresses until the whole picture is seen.
    pub waiting: Vec<Selector>,
}

/// Whether `s` names anything by client address.
fn by_address(s: &Selector) -> bool {
    s.match_by.client_ip && !s.ips.is_empty()
}

/// Whether `s` names a person or a connection (what it may match once its addresses are gone).
fn by_person(s: &Selector) -> bool {
    ((s.match_by.username || s.match_by.common_name) && !s.usernames.is_empty())
        || (s.match_by.connection_id && !s.connection_ids.is_empty())
}

/// Splits `selectors` for a picture some places or endpoints are missing from: person and
/// connection evidence acts on what can be seen; addresses wait.
pub fn on_partial_picture(selectors: Vec<Selector>) -> Partial {
    let mut partial = Partial::default();
    for s in selectors {
        if !by_address(&s) {
            partial.acting.push(s);
            continue;
        }
        if by_person(&s) {
            let mut person = s.clone();
            person.ips.clear();
            person.match_by.client_ip = false;
            partial.acting.push(person);
        }
        partial.waiting.push(s);
    }
    partial
}

/// How many of the connections an event's earlier attempts remembered ending (`remembered`) this
/// attempt does not see (`seen`: those it lists as ended by the event, and its targets): they count
/// against the cap beside what it sees, so attempts that each see another part cannot spend the
/// cap twice.
pub fn unseen<'a>(remembered: &BTreeSet<String>, seen: impl IntoIterator<Item = &'a str>) -> usize {
    let seen: BTreeSet<&str> = seen.into_iter().collect();
    remembered
        .iter()
        .filter(|id| !seen.contains(id.as_str()))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::plan::tests::{conn, run, selector};
    use proptest::prelude::*;

    #[test]
    fn addresses_wait_while_names_act() {
        let named = selector(&["alice"], &[], &[]);
        let address = selector(&[], &["10.0.0.4"], &[]);
        let both = selector(&["bob"], &["10.0.0.5"], &[7]);
        let p = on_partial_picture(vec![named.clone(), address.clone(), both.clone()]);
        let mut bob = both.clone();
        bob.ips.clear();
        bob.match_by.client_ip = false;
        assert_eq!(p.acting, [named, bob]);
        assert_eq!(p.waiting, [address, both]);
    }

    #[test]
    fn addresses_not_matched_by_are_not_evidence() {
        // A deployment that matches no client IPs has no address evidence to set aside.
        let mut s = selector(&[], &["10.0.0.4"], &[]);
        s.match_by.client_ip = false;
        let p = on_partial_picture(vec![s.clone()]);
        assert_eq!((p.acting, p.waiting), (vec![s], vec![]));
    }

    #[test]
    fn what_was_remembered_and_is_not_seen_counts_once() {
        let remembered: BTreeSet<String> = ["c-1", "c-2", "c-3"].map(String::from).into();
        assert_eq!(unseen(&remembered, ["c-2", "c-9"]), 2);
        assert_eq!(unseen(&remembered, ["c-1", "c-2", "c-3"]), 0);
        assert_eq!(unseen(&BTreeSet::new(), ["c-1"]), 0);
    }

    const USERS: [&str; 3] = ["alice", "bob", "carol"];
    const IPS: [&str; 3] = ["10.0.0.1", "10.0.0.2", "10.0.0.3"];

    proptest! {
        /// On a partial picture nothing is ever chosen by an address, and what is chosen is
        /// what the whole evidence would choose: the split only narrows.
        #[test]
        fn a_partial_picture_only_narrows_and_never_by_address(
            picks in proptest::collection::vec((0u8..8, 0u8..8, 0u8..4, any::<bool>()), 0..4),
            holders in proptest::collection::vec((0usize..3, 0usize..3), 1..6),
        ) {
            let subset = |bits: u8, from: &[&'static str; 3]| -> Vec<&'static str> {
                (0..3).filter(|i| bits & (1 << i) != 0).map(|i| from[i]).collect()
            };
            let selectors: Vec<Selector> = picks.iter().map(|&(u, i, id, by_ip)| {
                let ids: Vec<u32> = (id > 0).then_some(u32::from(id)).into_iter().collect();
                let mut s = selector(&subset(u, &USERS), &subset(i, &IPS), &ids);
                s.match_by.client_ip = by_ip;
                s
            }).collect();
            let connections: Vec<_> = holders.iter().enumerate().map(|(n, &(u, i))| {
                conn("e1", n as u32 + 1, Some(USERS[u]), None, IPS[i], "active")
            }).collect();
            let whole = run(&selectors, &connections, &[]);
            let p = on_partial_picture(selectors.clone());
            prop_assert!(p.acting.iter().all(|s| !by_address(s)));
            let partial = run(&p.acting, &connections, &[]);
            for t in &partial.targets {
                prop_assert!(t.why.iter().all(|w| !w.starts_with("client IP")), "{:?}", t.why);
                prop_assert!(whole.targets.iter().any(|w| w.connection == t.connection));
            }
            // Every selector that names a person or a connection still acts, unchanged but for
            // its addresses.
            for s in selectors.iter().filter(|s| by_person(s)) {
                prop_assert!(p.acting.iter().any(|a| a.usernames == s.usernames
                    && a.connection_ids == s.connection_ids));
            }
        }
    }
}
