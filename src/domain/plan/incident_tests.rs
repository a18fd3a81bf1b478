//! The incident's rules between selectors and calls.

use super::*;
use crate::domain::plan::tests::{conn, selector};
use crate::domain::plan::{Origin, Planned};
use crate::domain::trigger::source::TriggerSource;
use proptest::prelude::*;

fn target(c: Connection, by_username: bool) -> Planned {
    Planned {
        connection: c,
        why: vec![],
        origin: Origin::of(TriggerSource::GuardDuty),
        findings: vec![],
        verdict: None,
        by_username,
        person: None,
    }
}

#[test]
fn named_endpoints_only_when_every_selector_names_some() {
    let mut a = selector(&["amy"], &[], &[]);
    let mut b = selector(&["bob"], &[], &[]);
    a.endpoint_ids = vec!["e2".into(), "e1".into()];
    assert_eq!(named_endpoints(&[a.clone(), b.clone()]), None);
    b.endpoint_ids = vec!["e1".into()];
    assert_eq!(
        named_endpoints(&[a, b]),
        Some(vec!["e1".to_owned(), "e2".to_owned()])
    );
}

#[test]
fn addresses_need_the_endpoints_described_and_holds_want_it() {
    let by_name = selector(&["amy"], &[], &[]);
    let by_ip = selector(&[], &["10.0.0.9"], &[]);
    assert_eq!(
        describe(std::slice::from_ref(&by_name), false),
        Describe::No
    );
    assert_eq!(
        describe(std::slice::from_ref(&by_name), true),
        Describe::Wanted
    );
    assert_eq!(describe(&[by_name, by_ip.clone()], false), Describe::Needed);
    let mut not_by_ip = by_ip;
    not_by_ip.match_by.client_ip = false;
    assert_eq!(describe(&[not_by_ip], false), Describe::No);
}

#[test]
fn connections_ended_one_by_one_are_looked_at_again_for_users_chosen_by_name() {
    let amy = conn("e1", 1, Some("amy"), None, "10.0.0.1", "active");
    let ip = conn("e1", 2, Some("ivan"), None, "10.0.0.2", "active");
    let by_id = |t: Planned| Call {
        place: Default::default(),
        endpoint_id: "e1".into(),
        by: By::ConnectionId(t.connection.connection_id.clone()),
        targets: vec![t],
    };
    let username_call = Call {
        place: Default::default(),
        endpoint_id: "e1".into(),
        by: By::Username("amy".into()),
        targets: vec![target(amy.clone(), true)],
    };
    let calls = [
        by_id(target(amy, true)),
        by_id(target(ip, false)),
        username_call,
    ];
    assert_eq!(
        one_by_one(&calls),
        BTreeSet::from([("e1".to_owned(), "amy".to_owned())])
    );
}

#[test]
fn what_a_targeted_user_kept_is_reported_but_not_a_protected_one() {
    let listed = [
        conn("e1", 1, Some("amy"), None, "10.0.0.1", "terminated"),
        conn("e1", 2, Some("amy"), None, "10.0.0.2", "active"),
        conn("e1", 3, Some("amy"), None, "10.0.0.3", "active"),
        conn("e2", 4, Some("amy"), None, "10.0.0.4", "active"),
        conn("e1", 5, Some("root"), None, "10.0.0.5", "active"),
    ];
    let users = BTreeSet::from([
        ("e1".to_owned(), "amy".to_owned()),
        ("e1".to_owned(), "root".to_owned()),
    ]);
    let planned = BTreeSet::from([listed[2].connection_id.clone()]);
    let kept = left_active(&listed, &users, &planned, &|u: &str| u == "root");
    // Active, not planned, that user on that endpoint: the second alone.
    assert_eq!(kept, [&listed[1]]);
}

proptest! {
    /// A plan the cap allows, with what a Username call may add, never passes the cap; a partial
    /// picture adds nothing.
    #[test]
    fn the_cap_holds_for_what_username_calls_may_add(
        targets in 0usize..50, planned_extra in 0usize..50, cap in 0usize..60, whole: bool
    ) {
        let planned = targets + planned_extra;
        if !over_cap(targets, planned, cap) && targets > 0 {
            prop_assert!(planned + headroom(cap, planned, whole) <= cap);
        }
        if !whole {
            prop_assert_eq!(headroom(cap, planned, whole), 0);
        }
        prop_assert_eq!(over_cap(0, planned, cap), false);
    }
}
