//! Properties of the sweep's judgement over random connections, tracks, ceilings and pages: the
//! ceiling holds, a protected user is never ended, every connection the policy judges a target is
//! ended, deferred or protected (nothing else, nothing lost), the most idle go first, and judging
//! page by page in whatever order the pages arrive decides exactly as judging the fleet at once.

use chrono::{DateTime, TimeDelta, Utc};
use cvpn_terminator::domain::model::{Connection, ConnectionStatus};
use cvpn_terminator::domain::person::People;
use cvpn_terminator::domain::policy::sweep::{judge_page, Judged, Verdicts};
use cvpn_terminator::domain::policy::{judge, Limits, SweepPolicy, Track};
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap};

const USERS: [&str; 5] = ["amy", "ben", "BreakGlass", "svc-a", "cat"];

fn now() -> DateTime<Utc> {
    "2026-11-22T12:00:00Z".parse().unwrap()
}

/// User index, minutes since established, bytes, minutes since last active (if tracked).
type Raw = (usize, i64, u64, Option<i64>);

fn raw() -> impl Strategy<Value = Raw> {
    (
        0..USERS.len(),
        0..600i64,
        0..50_000u64,
        proptest::option::of(0..600i64),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_ceiling_and_protection_hold_and_nothing_is_lost(
        raws in prop::collection::vec(raw(), 0..30),
        ceiling in 0..12usize,
        page in 1..8usize,
        order in any::<u64>(),
        seen_twice in 0..4usize,
    ) {
        let policy = SweepPolicy {
            limits: Limits { idle_minutes: Some(30), max_session_minutes: Some(240) },
            idle_bytes: 10_000,
            extended_users: vec![People::default().pattern("svc-*").unwrap()],
            extended: Limits { idle_minutes: None, max_session_minutes: Some(480) },
            people: People::default(),
        };
        let connections: Vec<Connection> = raws
            .iter()
            .enumerate()
            .map(|(i, (u, age, bytes, _))| Connection {
                place: Default::default(),
                endpoint_id: "cvpn-endpoint-0000000000000000a".into(),
                connection_id: format!("cvpn-connection-{i:017x}"),
                username: Some(USERS[*u].into()),
                common_name: None,
                client_ip: None,
                // Every seventh has ended already: judged as nothing.
                status: if i % 7 == 6 { ConnectionStatus::Terminated } else { ConnectionStatus::Active },
                established: Some(now() - TimeDelta::minutes(*age)),
                ended: None,
                observed: None,
                ingress_bytes: *bytes,
                egress_bytes: 0,
            })
            .collect();
        let tracks: HashMap<String, Track> = raws
            .iter()
            .zip(&connections)
            .filter_map(|((_, _, bytes, idle), c)| {
                Some((c.connection_id.clone(), Track {
                    last_active_at: (now() - TimeDelta::minutes((*idle)?)).timestamp(),
                    last_active_total: *bytes,
                }))
            })
            .collect();
        let people = People::default();
        let protected = [people.pattern("break*").unwrap()];
        let is_protected = |n: &str| people.listed(&protected, n);
        // The first few seen again on a later page (pages shift as new connections arrive),
        // with more bytes moved since.
        let mut connections = connections;
        let again: Vec<Connection> = connections
            .iter()
            .take(seen_twice)
            .map(|c| Connection { ingress_bytes: c.ingress_bytes + 20_000, ..c.clone() })
            .collect();
        connections.extend(again);
        // The pages, shuffled by `order` (endpoints are listed concurrently).
        let mut pages: Vec<Vec<Connection>> = connections.chunks(page).map(<[Connection]>::to_vec).collect();
        let mut state = order | 1;
        for i in (1..pages.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            pages.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let mut streamed = Verdicts::default();
        for p in pages {
            streamed.merge(judge_page(p, &tracks, &policy, now(), &is_protected));
        }
        let whole = judge_page(connections.clone(), &tracks, &policy, now(), &is_protected);
        let d = streamed.decide(ceiling);
        prop_assert_eq!(&d, &whole.decide(ceiling));
        let (end, over_ceiling) = (&d.end, &d.over_ceiling);
        let ids = |v: &[(Judged, String)]| v.iter().map(|(j, _)| j.connection.connection_id.clone()).collect::<Vec<_>>();
        let protected = ids(&d.protected);
        prop_assert!(protected.windows(2).all(|w| w[0] < w[1]), "protected: once each, in ID order");

        prop_assert!(end.len() <= ceiling);
        for j in end.iter().chain(over_ceiling) {
            prop_assert!(!is_protected(j.connection.username.as_deref().unwrap()));
        }
        // Every target, judged independently, is in exactly one of the three lists.
        let targets: BTreeSet<&str> = connections
            .iter()
            .filter(|c| {
                c.status == ConnectionStatus::Active && {
                let (limits, _) = policy.limits_for(c.username.as_deref(), None);
                judge(&limits, tracks.get(&c.connection_id).copied(), c.ingress_bytes, c.established, now())
                    .is_target()
                }
            })
            .map(|c| c.connection_id.as_str())
            .collect();
        let decided: Vec<&str> = end.iter().chain(over_ceiling).chain(d.protected.iter().map(|(j, _)| j))
            .map(|j| j.connection.connection_id.as_str())
            .collect();
        prop_assert_eq!(decided.len(), targets.len());
        prop_assert_eq!(decided.into_iter().collect::<BTreeSet<_>>(), targets);
        // Nothing deferred outranks anything ended.
        if let (Some(last), Some(first)) = (end.last(), over_ceiling.first()) {
            prop_assert!(last.verdict.rank() >= first.verdict.rank());
        }
        prop_assert!(end.windows(2).all(|w| w[0].verdict.rank() >= w[1].verdict.rank()));
        prop_assert!(end.len() == ceiling || over_ceiling.is_empty());
    }
}
