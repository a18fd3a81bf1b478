//! Properties of the connect handler's decision over random requests, holds, failures and
//! settings: a held user who is not protected is never let in; a protected user always is; with
//! nothing held, nothing failing and no limit, everyone is; a failure decides as the setting says
//! (unless a hold already refused); and the answer never depends on the order of the holds.

use cvpn_terminator::domain::mapping::CaseRule;
use cvpn_terminator::domain::person::{Directory, People};
use cvpn_terminator::domain::quarantine::connect::{
    decide, ConnectReason, ConnectRequest, ConnectRules, Facts,
};
use cvpn_terminator::domain::quarantine::{Hold, OnStoreError, Subject, SubjectKind};
use proptest::prelude::*;

const NOW: i64 = 1_795_000_000;
const NAMES: [&str; 5] = [
    "alice",
    "ALICE",
    "bob",
    "BreakGlass",
    "laptop-9.example.com",
];

fn request(user: Option<usize>, cn: Option<usize>) -> ConnectRequest {
    ConnectRequest {
        connection_id: "cvpn-connection-0000000000000000a".into(),
        endpoint_id: "cvpn-endpoint-0a1b2c3d4e5f60718".into(),
        username: user.map(|i| NAMES[i].to_owned()),
        common_name: cn.map(|i| NAMES[i].to_owned()),
        public_ip: None,
        malformed: None,
    }
}

/// Name index, username (or common name), minutes from now its hold ends (negative: expired).
type RawHold = (usize, bool, i64);

fn hold((name, username, ends): RawHold, people: &People) -> Hold {
    let kind = if username {
        SubjectKind::Username
    } else {
        SubjectKind::CommonName
    };
    Hold {
        subject: Subject::new(kind, NAMES[name], people),
        since: NOW - 600,
        until: NOW + ends * 60,
        finding_id: Some("f".into()),
        findings: vec![],
        reason: "test".into(),
        requested_by: None,
        by_person: false,
        placed_by: Vec::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_decision_keeps_held_users_out_and_no_one_else(
        user in proptest::option::of(0..NAMES.len()),
        cn in proptest::option::of(0..NAMES.len()),
        raw in proptest::collection::vec((0..NAMES.len(), any::<bool>(), -120i64..120), 0..6),
        store_fails in any::<bool>(),
        deny_on_error in any::<bool>(),
        sensitive in any::<bool>(),
        active in proptest::option::of((0usize..4, proptest::option::of(any::<bool>()))),
        max in proptest::option::of(1usize..3),
        reverse in any::<bool>(),
    ) {
        let case = if sensitive { CaseRule::Sensitive } else { CaseRule::Insensitive };
        let people = People::new(case, Directory::EMPTY);
        let protected = [people.pattern("breakglass").unwrap()];
        let is_protected = |n: &str| people.listed(&protected, n);
        let on_error = if deny_on_error { OnStoreError::Deny } else { OnStoreError::Allow };
        let rules = ConnectRules { people: &people, is_protected: &is_protected, on_error, max_per_user: max };
        let req = request(user, cn);
        let mut holds: Vec<Hold> = raw.iter().map(|r| hold(*r, &people)).collect();
        if reverse {
            holds.reverse();
        }
        // `active`: how many other connections, and whether listing them failed.
        let listed = active.map(|(n, failed)| match failed {
            Some(true) => Err("RequestLimitExceeded".to_owned()),
            _ => Ok((0..n).map(|i| format!("cvpn-connection-{i:017x}")).collect()),
        });
        let facts = Facts {
            holds: if store_fails { Err("Timeout".into()) } else { Ok(holds.clone()) },
            active: listed.clone(),
        };
        let d = decide(&req, &facts, &rules, NOW);

        let names: Vec<Subject> = req.subjects(&people);
        let is_held = !store_fails
            && holds.iter().any(|h| h.in_force(NOW) && names.contains(&h.subject));
        let protected_user = [&req.username, &req.common_name]
            .into_iter()
            .flatten()
            .any(|n| is_protected(n));
        if protected_user {
            prop_assert!(d.allow && d.reason == ConnectReason::Protected);
        } else if is_held {
            prop_assert!(!d.allow);
            prop_assert_eq!(d.reason, ConnectReason::Quarantined);
        } else if store_fails && deny_on_error {
            prop_assert!(!d.allow);
        }
        if !protected_user && !is_held && !store_fails && (max.is_none() || listed.is_none() || req.username.is_none()) {
            prop_assert!(d.allow, "{d:?}");
        }
        // The same facts in the other order decide the same.
        let mut other = holds.clone();
        other.reverse();
        let facts2 = Facts {
            holds: if store_fails { Err("Timeout".into()) } else { Ok(other) },
            active: listed,
        };
        let d2 = decide(&req, &facts2, &rules, NOW);
        prop_assert_eq!((d.allow, d.reason), (d2.allow, d2.reason));
    }
}
