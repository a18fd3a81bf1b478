//! Properties of the decision core over random findings and connection sets: no protected user is
//! ever a target, nothing outside the trigger's evidence is a target (a client IP only through its
//! one holder at the time of the activity), and the Terminate calls end exactly the targets.

use cvpn_terminator::domain::mapping::CaseRule;
use cvpn_terminator::domain::model::{
    By, Cidr, Connection, ConnectionStatus, Endpoint, USERNAME_LIMIT,
};
use cvpn_terminator::domain::person::{Directory, People};
use cvpn_terminator::domain::plan::MatchBy;
use cvpn_terminator::domain::plan::{calls, select, Origin, Rules, Selector};
use cvpn_terminator::domain::trigger::evidence::Named;
use cvpn_terminator::domain::trigger::TriggerSource;
use proptest::prelude::*;
use std::collections::BTreeSet;

const USERS: [&str; 6] = ["alice", "Alice", "bob", "breakglass", "carol", "dave"];
const ENDPOINTS: [&str; 2] = [
    "cvpn-endpoint-0000000000000000a",
    "cvpn-endpoint-0000000000000000b",
];

fn ip(i: u8) -> std::net::IpAddr {
    format!("10.100.0.{i}").parse().unwrap()
}

/// Endpoint index, username index, common name index, IP index, active, connected after the
/// activity, ended before it (when not active).
type RawConnection = (usize, Option<usize>, Option<usize>, u8, bool, bool, bool);

fn time(t: &str) -> chrono::DateTime<chrono::Utc> {
    t.parse().unwrap()
}

/// When the selectors' activity was last seen.
const SEEN: &str = "2026-11-22T09:00:00Z";

fn connection_strategy() -> impl Strategy<Value = RawConnection> {
    (
        0..2usize,
        proptest::option::of(0..USERS.len()),
        proptest::option::of(0..USERS.len()),
        0..8u8,
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.2),
        any::<bool>(),
    )
}

fn connections(raw: Vec<RawConnection>) -> Vec<Connection> {
    raw.into_iter()
        .enumerate()
        .map(
            |(i, (e, u, cn, ip_i, active, late, ended_early))| Connection {
                place: Default::default(),
                endpoint_id: ENDPOINTS[e].into(),
                connection_id: format!("cvpn-connection-{i:017x}"),
                username: u.map(|u| USERS[u].to_owned()),
                common_name: cn.map(|u| USERS[u].to_owned()),
                client_ip: Some(ip(ip_i)),
                status: if active {
                    ConnectionStatus::Active
                } else {
                    ConnectionStatus::Terminated
                },
                established: Some(time(if late {
                    "2026-11-22T09:30:00Z"
                } else {
                    "2026-11-22T07:30:00Z"
                })),
                ended: (!active).then(|| {
                    time(if ended_early {
                        "2026-11-22T08:00:00Z"
                    } else {
                        "2026-11-22T09:40:00Z"
                    })
                }),
                observed: None,
                ingress_bytes: 0,
                egress_bytes: 0,
            },
        )
        .collect()
}

#[derive(Debug, Clone)]
struct RawSelector {
    users: Vec<usize>,
    ips: Vec<u8>,
    ids: Vec<usize>,
    scope: Option<usize>,
    match_by: (bool, bool, bool, bool),
}

fn selector_strategy() -> impl Strategy<Value = RawSelector> {
    (
        prop::collection::vec(0..USERS.len(), 0..3),
        prop::collection::vec(0..10u8, 0..3),
        prop::collection::vec(0..40usize, 0..3),
        proptest::option::of(0..2usize),
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
    )
        .prop_map(|(users, ips, ids, scope, match_by)| RawSelector {
            users,
            ips,
            ids,
            scope,
            match_by,
        })
}

fn selector(r: &RawSelector) -> Selector {
    Selector {
        origin: Origin {
            ..Origin::of(TriggerSource::Direct)
        },
        match_by: MatchBy {
            username: r.match_by.0,
            common_name: r.match_by.1,
            connection_id: r.match_by.2,
            client_ip: r.match_by.3,
        },
        usernames: r
            .users
            .iter()
            .map(|u| Named {
                value: USERS[*u].to_owned(),
                origin: "p".into(),
            })
            .collect(),
        ips: r
            .ips
            .iter()
            .map(|i| Named {
                value: ip(*i),
                origin: "p".into(),
            })
            .collect(),
        connection_ids: r
            .ids
            .iter()
            .map(|i| format!("cvpn-connection-{i:017x}"))
            .collect(),
        endpoint_ids: r
            .scope
            .map(|e| vec![ENDPOINTS[e].to_owned()])
            .unwrap_or_default(),
        seen_from: None,
        seen_at: Some(time(SEEN)),
        since: None,
    }
}

/// Whether `c` is named by `s`, decided independently of the planner's own matching. Both
/// endpoints hand out 10.100.0.0/16, so the same address on both is ambiguous.
fn named_by(s: &Selector, c: &Connection, all: &[Connection], case: CaseRule) -> bool {
    let scoped =
        |c: &Connection| s.endpoint_ids.is_empty() || s.endpoint_ids.contains(&c.endpoint_id);
    let in_scope = scoped(c);
    let held = |c: &Connection| {
        c.established.is_some_and(|e| e <= time(SEEN)) && c.ended.is_none_or(|e| e >= time(SEEN))
    };
    let sole_holder = |a| {
        held(c)
            && all
                .iter()
                .filter(|o| o.client_ip == Some(a) && scoped(o) && held(o))
                .count()
                == 1
    };
    let user = |field: &Option<String>| {
        field
            .as_deref()
            .is_some_and(|v| s.usernames.iter().any(|u| case.same(&u.value, v)))
    };
    in_scope
        && ((s.match_by.username && user(&c.username))
            || (s.match_by.common_name && user(&c.common_name))
            || (s.match_by.connection_id && s.connection_ids.contains(&c.connection_id))
            || (s.match_by.client_ip
                && c.client_ip
                    .is_some_and(|a| s.ips.iter().any(|i| i.value == a) && sole_holder(a))))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_a_protected_user_nor_anything_outside_the_indicators(
        raw_connections in prop::collection::vec(connection_strategy(), 0..40),
        raw_selectors in prop::collection::vec(selector_strategy(), 1..4),
        protected in prop::collection::btree_set(0..USERS.len(), 0..3),
        sensitive in any::<bool>(),
        headroom in 0..12usize,
    ) {
        let case = if sensitive { CaseRule::Sensitive } else { CaseRule::Insensitive };
        let connections = connections(raw_connections);
        let selectors: Vec<Selector> = raw_selectors.iter().map(selector).collect();
        let protected: BTreeSet<String> = protected.iter().map(|u| case.fold(USERS[*u])).collect();
        let is_protected = |name: &str| protected.contains(&case.fold(name));
        let endpoints: Vec<Endpoint> = ENDPOINTS
            .iter()
            .map(|id| Endpoint { place: Default::default(), id: id.to_string(), client_cidr: Cidr::parse("10.100.0.0/16"), connect_handler: None })
            .collect();
        let selection = select(&selectors, &connections, &Rules { people: &People::new(case, Directory::EMPTY), is_protected: &is_protected, endpoints: &endpoints });

        for t in &selection.targets {
            let c = &t.connection;
            prop_assert!(c.is_active());
            for name in [&c.username, &c.common_name].into_iter().flatten() {
                prop_assert!(!is_protected(name), "protected {name} targeted");
            }
            prop_assert!(selectors.iter().any(|s| named_by(s, c, &connections, case)), "{c:?} is outside every selector");
        }
        // Conversely, every active, unprotected connection that a selector names is a target.
        for c in &connections {
            let named = selectors.iter().any(|s| named_by(s, c, &connections, case));
            let protected = [&c.username, &c.common_name].into_iter().flatten().any(|n| is_protected(n));
            let target = selection.targets.iter().any(|t| t.connection.connection_id == c.connection_id);
            prop_assert_eq!(target, named && c.is_active() && !protected);
        }

        let targets: BTreeSet<String> = selection.targets.iter().map(|t| t.connection.connection_id.clone()).collect();
        let planned = calls(selection.targets, &connections, headroom);
        // What Username calls could end beyond their targets fits in the headroom under the cap.
        let extra: usize = planned
            .iter()
            .filter(|c| matches!(c.by, By::Username(_)))
            .map(|c| USERNAME_LIMIT - c.targets.len())
            .sum();
        prop_assert!(extra <= headroom);
        let mut covered = BTreeSet::new();
        for call in &planned {
            for t in &call.targets {
                prop_assert!(covered.insert(t.connection.connection_id.clone()), "planned twice");
                prop_assert_eq!(&t.connection.endpoint_id, &call.endpoint_id);
            }
            match &call.by {
                By::ConnectionId(id) => {
                    prop_assert_eq!(call.targets.len(), 1);
                    prop_assert_eq!(&call.targets[0].connection.connection_id, id);
                }
                By::Username(u) => {
                    // A Username call ends every active connection of that exact username there:
                    // those must all be targets, and at most five.
                    let ended: BTreeSet<String> = connections
                        .iter()
                        .filter(|c| c.endpoint_id == call.endpoint_id && c.is_active() && c.username.as_deref() == Some(u.as_str()))
                        .map(|c| c.connection_id.clone())
                        .collect();
                    prop_assert!(ended.len() <= USERNAME_LIMIT);
                    let call_targets: BTreeSet<String> = call.targets.iter().map(|t| t.connection.connection_id.clone()).collect();
                    prop_assert_eq!(ended, call_targets);
                }
            }
        }
        prop_assert_eq!(covered, targets);
    }
}
