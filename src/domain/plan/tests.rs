use super::*;
use crate::domain::model::{By, ConnectionStatus};
use crate::domain::person::People;
use crate::domain::trigger::source::TriggerSource;

pub(crate) fn conn(
    endpoint: &str,
    id: u32,
    user: Option<&str>,
    cn: Option<&str>,
    ip: &str,
    status: &str,
) -> Connection {
    Connection {
        place: Default::default(),
        endpoint_id: endpoint.into(),
        connection_id: format!("cvpn-connection-{id:017x}"),
        username: user.map(str::to_owned),
        common_name: cn.map(str::to_owned),
        client_ip: ip.parse().ok(),
        status: ConnectionStatus::parse(status),
        established: Some("2026-11-22T07:30:00Z".parse().unwrap()),
        ended: None,
        observed: None,
        ingress_bytes: 0,
        egress_bytes: 0,
    }
}

pub(crate) fn selector(users: &[&str], ips: &[&str], ids: &[u32]) -> Selector {
    Selector {
        origin: Origin {
            finding_id: Some("f-1".into()),
            ..Origin::of(TriggerSource::Direct)
        },
        match_by: MatchBy::ALL,
        usernames: users
            .iter()
            .map(|u| Named {
                value: u.to_string(),
                origin: "test".into(),
            })
            .collect(),
        ips: ips
            .iter()
            .map(|i| Named {
                value: i.parse().unwrap(),
                origin: "test".into(),
            })
            .collect(),
        connection_ids: ids
            .iter()
            .map(|i| format!("cvpn-connection-{i:017x}"))
            .collect(),
        endpoint_ids: vec![],
        seen_from: None,
        seen_at: Some("2026-11-22T09:00:00Z".parse().unwrap()),
        since: None,
    }
}

pub(crate) fn run(
    selectors: &[Selector],
    connections: &[Connection],
    protected: &[&str],
) -> Selection {
    let is_protected = |n: &str| protected.iter().any(|p| p.eq_ignore_ascii_case(n));
    let endpoints: Vec<Endpoint> = ["e1", "e2"]
        .into_iter()
        .map(|id| Endpoint {
            place: Default::default(),
            id: id.into(),
            client_cidr: crate::domain::model::Cidr::parse("10.0.0.0/16"),
            connect_handler: None,
        })
        .collect();
    select(
        selectors,
        connections,
        &Rules {
            people: &People::default(),
            is_protected: &is_protected,
            endpoints: &endpoints,
        },
    )
}

fn ids(s: &Selection) -> Vec<String> {
    s.targets
        .iter()
        .map(|t| {
            t.connection.connection_id[16..]
                .trim_start_matches('0')
                .to_owned()
        })
        .collect()
}

#[test]
fn matches_by_username_common_name_id_and_ip() {
    let cs = vec![
        conn("e1", 1, Some("Alice"), None, "10.0.0.1", "active"),
        conn("e1", 2, None, Some("alice"), "10.0.0.2", "active"),
        conn("e1", 3, Some("bob"), Some("bob"), "10.0.0.3", "active"),
        conn("e1", 4, Some("carol"), None, "10.0.0.4", "active"),
        conn("e1", 5, Some("dave"), None, "10.0.0.5", "active"),
    ];
    let s = run(&[selector(&["alice"], &["10.0.0.4"], &[3])], &cs, &[]);
    assert_eq!(ids(&s), ["1", "2", "3", "4"]);
    assert!(s.targets[0].why[0].starts_with("username alice"));
    assert!(s.targets[1].why[0].starts_with("common name alice"));
    assert!(s.targets[3].why[0].starts_with("client IP 10.0.0.4"));
    assert!(s.skipped.is_empty());
}

#[test]
fn match_by_switches_attributes_off() {
    let cs = vec![
        conn("e1", 1, Some("x"), None, "10.0.0.1", "active"),
        conn("e1", 2, None, Some("alice"), "10.0.0.2", "active"),
    ];
    let mut sel = selector(&["alice"], &["10.0.0.1"], &[]);
    sel.match_by = MatchBy {
        username: true,
        common_name: false,
        connection_id: true,
        client_ip: false,
    };
    let s = run(&[sel], &cs, &[]);
    assert!(s.targets.is_empty());
    assert_eq!(s.skipped[0].reason, Reason::NoMatch);
}

#[test]
fn protected_and_inactive_are_skipped_with_reasons() {
    let cs = vec![
        conn("e1", 1, Some("BreakGlass"), None, "10.0.0.1", "active"),
        conn("e1", 2, None, Some("breakglass"), "10.0.0.2", "active"),
        conn("e1", 3, Some("alice"), None, "10.0.0.3", "terminated"),
        conn("e1", 4, Some("alice"), None, "10.0.0.4", "active"),
    ];
    // The IP also points at the protected user's connection: protection wins.
    let s = run(
        &[selector(&["breakglass", "alice"], &["10.0.0.1"], &[])],
        &cs,
        &["BREAKGLASS"],
    );
    assert_eq!(ids(&s), ["4"]);
    let reasons: Vec<_> = s.skipped.iter().map(|k| k.reason).collect();
    assert_eq!(
        reasons,
        [Reason::Protected, Reason::Protected, Reason::NotActive]
    );
}

#[test]
fn an_ip_names_only_its_one_holder_at_the_time_inside_the_cidr() {
    let at = |t: &str| Some(t.parse().unwrap());
    let mut early = conn("e1", 1, Some("amy"), None, "10.0.0.9", "terminated");
    early.ended = at("2026-11-22T08:00:00Z");
    let late = conn("e1", 2, Some("ben"), None, "10.0.0.9", "active");
    let mut late = Connection {
        place: Default::default(),
        established: at("2026-11-22T08:30:00Z"),
        ..late
    };
    // Held by ben at 09:00 (amy's session had ended): ben only.
    let s = run(
        &[selector(&[], &["10.0.0.9"], &[])],
        &[early.clone(), late.clone()],
        &[],
    );
    assert_eq!(ids(&s), ["2"]);
    // Activity at 08:10, when nobody held it: ip_reassigned, nothing ended.
    let mut sel = selector(&[], &["10.0.0.9"], &[]);
    sel.seen_at = at("2026-11-22T08:10:00Z");
    let s = run(&[sel.clone()], &[early.clone(), late.clone()], &[]);
    assert!(s.targets.is_empty());
    assert_eq!(s.skipped[0].reason, Reason::IpReassigned);
    // No time at all: refused the same way.
    sel.seen_at = None;
    assert_eq!(
        run(&[sel], &[late.clone()], &[]).skipped[0].reason,
        Reason::IpReassigned
    );
    // The same address on two endpoints with the same client CIDR: ambiguous, nothing ended.
    late.established = at("2026-11-22T07:30:00Z");
    let twin = conn("e2", 3, Some("cat"), None, "10.0.0.9", "active");
    let s = run(
        &[selector(&[], &["10.0.0.9"], &[])],
        &[late.clone(), twin],
        &[],
    );
    assert!(s.targets.is_empty());
    assert_eq!(s.skipped.len(), 1);
    assert_eq!(s.skipped[0].reason, Reason::AmbiguousIp);
    // Outside every client CIDR: not a VPN client address.
    let outside = conn("e1", 4, Some("dan"), None, "192.168.0.9", "active");
    let s = run(&[selector(&[], &["192.168.0.9"], &[])], &[outside], &[]);
    assert!(s.targets.is_empty());
    assert_eq!(s.skipped[0].reason, Reason::NoMatch);
}

#[test]
fn an_ip_must_be_held_by_one_connection_throughout_the_activity() {
    let at = |t: &str| Some(t.parse().unwrap());
    let mut first = conn("e1", 1, Some("amy"), None, "10.0.0.9", "terminated");
    first.ended = at("2026-11-22T08:20:00Z");
    let mut second = conn("e1", 2, Some("ben"), None, "10.0.0.9", "active");
    second.established = at("2026-11-22T08:30:00Z");
    let mut sel = selector(&[], &["10.0.0.9"], &[]);
    // Seen from 08:00 to 09:00: amy had it first, then ben. Either could be the actor.
    sel.seen_from = at("2026-11-22T08:00:00Z");
    let s = run(&[sel.clone()], &[first.clone(), second.clone()], &[]);
    assert!(s.targets.is_empty());
    assert_eq!(s.skipped[0].reason, Reason::AmbiguousIp);
    // Only ben in the data, but he connected after the activity began: not provably him.
    let s = run(&[sel.clone()], &[second.clone()], &[]);
    assert!(s.targets.is_empty());
    assert_eq!(s.skipped[0].reason, Reason::IpReassigned);
    // From 08:40 on, ben alone held it.
    sel.seen_from = at("2026-11-22T08:40:00Z");
    assert_eq!(
        ids(&run(&[sel.clone()], &[first, second.clone()], &[])),
        ["2"]
    );
    // A same-address connection whose times are unknown may have held it: ambiguous.
    let mut unknown = conn("e2", 3, Some("cat"), None, "10.0.0.9", "active");
    unknown.established = None;
    let s = run(&[sel], &[second, unknown], &[]);
    assert_eq!(s.skipped[0].reason, Reason::AmbiguousIp);
}

#[test]
fn username_calls_only_for_targets_chosen_by_username() {
    let cs = vec![conn("e1", 1, Some("amy"), None, "10.0.0.9", "active")];
    let by_ip = run(&[selector(&[], &["10.0.0.9"], &[])], &cs, &[]);
    assert_eq!(
        calls(by_ip.targets, &cs, 100)[0].by,
        By::ConnectionId(cs[0].connection_id.clone())
    );
    let by_id = run(&[selector(&[], &[], &[1])], &cs, &[]);
    assert!(matches!(
        calls(by_id.targets, &cs, 100)[0].by,
        By::ConnectionId(_)
    ));
    let by_name = run(&[selector(&["AMY"], &[], &[])], &cs, &[]);
    assert_eq!(
        calls(by_name.targets.clone(), &cs, 100)[0].by,
        By::Username("amy".into())
    );
    // One target: the call could end four more; with less room under the cap, one by one.
    assert_eq!(
        calls(by_name.targets.clone(), &cs, 4)[0].by,
        By::Username("amy".into())
    );
    assert!(matches!(
        calls(by_name.targets, &cs, 3)[0].by,
        By::ConnectionId(_)
    ));
}

#[test]
fn endpoint_scope_limits_matches() {
    let cs = vec![
        conn("e1", 1, Some("alice"), None, "10.0.0.1", "active"),
        conn("e2", 2, Some("alice"), None, "10.0.0.1", "active"),
    ];
    let mut sel = selector(&["alice"], &[], &[]);
    sel.endpoint_ids = vec!["e2".into()];
    assert_eq!(ids(&run(&[sel], &cs, &[])), ["2"]);
}

#[test]
fn a_selector_without_indicators_matches_nothing() {
    let cs = vec![conn("e1", 1, Some("alice"), None, "10.0.0.1", "active")];
    let mut sel = selector(&[], &[], &[]);
    sel.endpoint_ids = vec!["e1".into()];
    let s = run(&[sel], &cs, &[]);
    assert!(s.targets.is_empty());
    assert_eq!(
        s.skipped[0].detail,
        "the trigger names no user, client IP or connection"
    );
}

#[test]
fn several_selectors_merge_reasons_once_per_connection() {
    let cs = vec![conn("e1", 1, Some("alice"), None, "10.0.0.1", "active")];
    let s = run(
        &[
            selector(&["alice"], &[], &[]),
            selector(&[], &["10.0.0.1"], &[]),
        ],
        &cs,
        &[],
    );
    assert_eq!(s.targets.len(), 1);
    assert_eq!(s.targets[0].why.len(), 2);
}

fn targets_of(cs: &[Connection], which: &[u32]) -> Vec<Planned> {
    cs.iter()
        .filter(|c| {
            which
                .iter()
                .any(|w| c.connection_id.ends_with(&format!("{w:017x}")))
        })
        .map(|c| Planned {
            connection: c.clone(),
            why: vec![],
            origin: Origin::of(TriggerSource::GuardDuty),
            findings: vec![],
            verdict: None,
            by_username: true,
            person: None,
        })
        .collect()
}

#[test]
fn username_call_only_for_all_of_a_users_active_connections_up_to_five() {
    let mut cs: Vec<Connection> = (1..=3)
        .map(|i| conn("e1", i, Some("alice"), None, "10.0.0.1", "active"))
        .collect();
    cs.extend((10..16).map(|i| conn("e1", i, Some("bob"), None, "10.0.0.2", "active")));
    cs.push(conn("e1", 20, Some("carol"), None, "10.0.0.3", "active"));
    cs.push(conn("e1", 21, Some("carol"), None, "10.0.0.4", "active"));
    cs.push(conn(
        "e1",
        22,
        Some("carol"),
        None,
        "10.0.0.4",
        "terminated",
    ));
    cs.push(conn("e1", 30, None, Some("dave"), "10.0.0.5", "active"));
    cs.push(conn("e2", 40, Some("alice"), None, "10.0.0.1", "active"));

    let all: Vec<u32> = vec![1, 2, 3, 10, 11, 12, 13, 14, 15, 20, 30, 40];
    let calls = calls(targets_of(&cs, &all), &cs, 100);
    let shapes: Vec<(String, By, usize)> = calls
        .iter()
        .map(|c| (c.endpoint_id.clone(), c.by.clone(), c.targets.len()))
        .collect();
    assert!(shapes.contains(&("e1".into(), By::Username("alice".into()), 3)));
    assert!(shapes.contains(&("e2".into(), By::Username("alice".into()), 1)));
    // Six of bob's: per connection. One of carol's two: per connection, to spare the other.
    assert_eq!(
        shapes
            .iter()
            .filter(|(_, b, _)| matches!(b, By::ConnectionId(_)))
            .count(),
        6 + 1 + 1
    );
    assert!(!shapes
        .iter()
        .any(|(_, b, _)| b == &By::Username("bob".into()) || b == &By::Username("carol".into())));
    assert_eq!(
        calls.iter().map(|c| c.targets.len()).sum::<usize>(),
        all.len()
    );
}
