//! Deciding which connections to end and how to call Terminate. Pure: takes the live connections
//! and what to look for, returns targets, skips and calls.

use crate::config::MatchBy;
use crate::mapping::CaseRule;
use crate::model::{By, Connection, Endpoint, Reason, USERNAME_LIMIT};
use crate::policy::Verdict;
use crate::trigger::evidence::Named;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// What led to a decision: a finding, or a direct request.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Origin {
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What one finding (or request) asks to end.
#[derive(Clone, Debug, PartialEq)]
pub struct Selector {
    pub origin: Origin,
    pub match_by: MatchBy,
    /// VPN usernames (after mapping), each with where it came from.
    pub usernames: Vec<Named<String>>,
    pub ips: Vec<Named<IpAddr>>,
    pub connection_ids: Vec<String>,
    /// Limits matching to these endpoints; empty means every endpoint looked at.
    pub endpoint_ids: Vec<String>,
    /// When the activity was first seen (`None`: only at `seen_at`).
    pub seen_from: Option<DateTime<Utc>>,
    /// When the activity was last seen: a client IP names the connection that held it then.
    pub seen_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub connection: Connection,
    /// Every reason it matched, e.g. `username alice (event.detail…principalId (session name))`.
    pub why: Vec<String>,
    pub origin: Origin,
    /// For sweeps: the idle minutes, bytes and age that made it a target.
    pub verdict: Option<Verdict>,
    /// Chosen by its username: only then may a `Username` call end it, since that call also ends
    /// whatever else the user has open.
    pub by_username: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Skipped {
    pub connection: Option<Connection>,
    pub reason: Reason,
    pub detail: String,
    pub origin: Origin,
}

#[derive(Debug, Default, PartialEq)]
pub struct Selection {
    pub targets: Vec<Target>,
    pub skipped: Vec<Skipped>,
}

pub struct Rules<'a> {
    pub case: CaseRule,
    pub is_protected: &'a dyn Fn(&str) -> bool,
    /// The endpoints in scope with their client CIDRs; an IP matches only inside one.
    pub endpoints: &'a [Endpoint],
}

/// The one connection a client IP names, or why it names none.
enum IpHolder<'c> {
    One(&'c Connection),
    /// Not a client address of any endpoint in scope, or no connection ever had it: no match.
    Nobody,
    Refused(Reason, String),
}

/// A client IP names a connection only when the IP lies in that endpoint's client CIDR, the
/// connection held it throughout the activity (from first to last seen), and no other connection
/// in scope may have held it meanwhile: addresses are reused across endpoints with the same CIDR
/// and after a client disconnects. A connection whose times are unknown may have held it.
fn holder<'c>(
    s: &Selector,
    ip: &Named<std::net::IpAddr>,
    connections: &'c [Connection],
    endpoints: &[Endpoint],
) -> IpHolder<'c> {
    let in_cidr = |c: &Connection| {
        endpoints.iter().any(|e| {
            e.id == c.endpoint_id && e.client_cidr.is_some_and(|cidr| cidr.contains(ip.value))
        })
    };
    let had_it: Vec<&Connection> = connections
        .iter()
        .filter(|c| c.client_ip == Some(ip.value) && in_scope(s, c))
        .collect();
    if !had_it.iter().any(|c| in_cidr(c)) {
        return IpHolder::Nobody;
    }
    let Some(to) = s.seen_at else {
        return IpHolder::Refused(
            Reason::IpReassigned,
            format!(
                "client IP {} ({}): the finding gives no time of activity, so who held the address then cannot be told",
                ip.value, ip.origin
            ),
        );
    };
    let from = s.seen_from.filter(|f| *f <= to).unwrap_or(to);
    let overlaps = |c: &&Connection| {
        c.established.is_none_or(|e| e <= to) && c.ended.is_none_or(|e| e >= from)
    };
    let covers = |c: &Connection| {
        c.established.is_some_and(|e| e <= from) && c.ended.is_none_or(|e| e >= to)
    };
    let maybe_then: Vec<&Connection> = had_it.iter().copied().filter(overlaps).collect();
    match maybe_then.as_slice() {
        [one] if covers(one) && in_cidr(one) => IpHolder::One(one),
        [_, _, ..] => IpHolder::Refused(
            Reason::AmbiguousIp,
            format!(
                "client IP {} ({}) may have been held by {} connections in scope between {from} and {to} ({}); nothing is ended for it",
                ip.value,
                ip.origin,
                maybe_then.len(),
                maybe_then
                    .iter()
                    .map(|c| format!("{} on {}", c.connection_id, c.endpoint_id))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        _ => IpHolder::Refused(
            Reason::IpReassigned,
            format!(
                "client IP {} ({}) was not held by one connection in scope from {from} to {to}: {} connection(s) had it at other times",
                ip.value,
                ip.origin,
                had_it.len()
            ),
        ),
    }
}

fn in_scope(s: &Selector, c: &Connection) -> bool {
    s.endpoint_ids.is_empty() || s.endpoint_ids.contains(&c.endpoint_id)
}

/// Why `c` matches `s`; `ips` are the selector's IPs with the connection each one names.
fn reasons(
    s: &Selector,
    ips: &[(&Named<std::net::IpAddr>, &Connection)],
    c: &Connection,
    case: CaseRule,
) -> (Vec<String>, bool) {
    let mut why = Vec::new();
    if !in_scope(s, c) {
        return (why, false);
    }
    let name_match = |field: &Option<String>| {
        field
            .as_deref()
            .and_then(|v| s.usernames.iter().find(|u| case.same(&u.value, v)))
    };
    let mut by_username = false;
    if s.match_by.username {
        if let Some(u) = name_match(&c.username) {
            why.push(format!("username {} ({})", u.value, u.origin));
            by_username = true;
        }
    }
    if s.match_by.common_name {
        if let Some(u) = name_match(&c.common_name) {
            why.push(format!("common name {} ({})", u.value, u.origin));
        }
    }
    if s.match_by.connection_id && s.connection_ids.contains(&c.connection_id) {
        why.push(format!(
            "connection ID {} named by the trigger",
            c.connection_id
        ));
    }
    if let Some((ip, _)) = ips
        .iter()
        .find(|(_, holder)| holder.connection_id == c.connection_id)
    {
        why.push(format!("client IP {} ({})", ip.value, ip.origin));
    }
    (why, by_username)
}

/// Matches every selector against every connection. A matched connection is a target only when
/// it is active and its user is not protected; otherwise it is skipped with the reason. A selector
/// that matched nothing is reported too, so a quiet run still says why.
pub fn select(selectors: &[Selector], connections: &[Connection], rules: &Rules) -> Selection {
    let mut out = Selection::default();
    let mut matched = vec![false; selectors.len()];
    let mut ip_holders = Vec::with_capacity(selectors.len());
    for (i, s) in selectors.iter().enumerate() {
        let mut held = Vec::new();
        for ip in s.ips.iter().filter(|_| s.match_by.client_ip) {
            match holder(s, ip, connections, rules.endpoints) {
                IpHolder::One(c) => held.push((ip, c)),
                IpHolder::Nobody => {}
                IpHolder::Refused(reason, detail) => {
                    matched[i] = true;
                    out.skipped.push(Skipped {
                        connection: None,
                        reason,
                        detail,
                        origin: s.origin.clone(),
                    });
                }
            }
        }
        ip_holders.push(held);
    }
    for c in connections {
        let mut hit: Option<(usize, Vec<String>, bool)> = None;
        for (i, s) in selectors.iter().enumerate() {
            let (why, by_name) = reasons(s, &ip_holders[i], c, rules.case);
            if why.is_empty() {
                continue;
            }
            matched[i] = true;
            match &mut hit {
                Some((_, all, by_username)) => {
                    all.extend(why);
                    *by_username |= by_name;
                }
                None => hit = Some((i, why, by_name)),
            }
        }
        let Some((first, why, by_username)) = hit else {
            continue;
        };
        let origin = selectors[first].origin.clone();
        let protected = [&c.username, &c.common_name]
            .into_iter()
            .flatten()
            .find(|name| (rules.is_protected)(name));
        if let Some(name) = protected {
            out.skipped.push(Skipped {
                connection: Some(c.clone()),
                reason: Reason::Protected,
                detail: format!("{name} is a protected user; matched by {}", why.join("; ")),
                origin,
            });
        } else if !c.is_active() {
            out.skipped.push(Skipped {
                connection: Some(c.clone()),
                reason: Reason::NotActive,
                detail: format!("the connection is {}", c.status),
                origin,
            });
        } else {
            out.targets.push(Target {
                connection: c.clone(),
                why,
                origin,
                verdict: None,
                by_username,
            });
        }
    }
    for (s, _) in selectors.iter().zip(matched).filter(|(_, m)| !m) {
        out.skipped.push(Skipped {
            connection: None,
            reason: Reason::NoMatch,
            detail: describe_selector(s),
            origin: s.origin.clone(),
        });
    }
    out
}

fn describe_selector(s: &Selector) -> String {
    let mut parts = Vec::new();
    if !s.usernames.is_empty() {
        parts.push(format!(
            "users {:?}",
            s.usernames.iter().map(|u| &u.value).collect::<Vec<_>>()
        ));
    }
    if !s.ips.is_empty() {
        parts.push(format!(
            "client IPs {:?}",
            s.ips.iter().map(|i| i.value).collect::<Vec<_>>()
        ));
    }
    if !s.connection_ids.is_empty() {
        parts.push(format!("connections {:?}", s.connection_ids));
    }
    if parts.is_empty() {
        return "the trigger names no user, client IP or connection".into();
    }
    format!("no live connection matches {}", parts.join(", "))
}

/// One Terminate call and the targets it is meant to end.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub endpoint_id: String,
    pub by: By,
    pub targets: Vec<Target>,
}

/// One `Username` call per user and endpoint when the targets were chosen by that username and
/// are all of the user's active connections there, at most five; otherwise one `ConnectionId` call
/// per target, so a call never ends a connection that was not chosen.
///
/// A `Username` call also ends what the user opened after the listing, up to five in all: it is
/// made only while those possible extra connections fit in `headroom` (what the cap leaves beyond
/// the targets), so the cap holds for everything the calls can end.
pub fn calls(targets: Vec<Target>, connections: &[Connection], mut headroom: usize) -> Vec<Call> {
    let mut active_per_user: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for c in connections.iter().filter(|c| c.is_active()) {
        if let Some(u) = c.username.as_deref().filter(|u| !u.is_empty()) {
            *active_per_user
                .entry((c.endpoint_id.as_str(), u))
                .or_default() += 1;
        }
    }
    let mut by_user: BTreeMap<(String, String), Vec<Target>> = BTreeMap::new();
    let mut out = Vec::new();
    for t in targets {
        match t
            .connection
            .username
            .clone()
            .filter(|u| !u.is_empty() && t.by_username)
        {
            Some(u) => by_user
                .entry((t.connection.endpoint_id.clone(), u))
                .or_default()
                .push(t),
            None => out.push(single(t)),
        }
    }
    for ((endpoint_id, user), group) in by_user {
        let active = active_per_user
            .get(&(endpoint_id.as_str(), user.as_str()))
            .copied()
            .unwrap_or(0);
        let extra = USERNAME_LIMIT.saturating_sub(group.len());
        if group.len() == active && active <= USERNAME_LIMIT && extra <= headroom {
            headroom -= extra;
            out.push(Call {
                endpoint_id,
                by: By::Username(user),
                targets: group,
            });
        } else {
            out.extend(group.into_iter().map(single));
        }
    }
    out
}

pub fn single(t: Target) -> Call {
    Call {
        endpoint_id: t.connection.endpoint_id.clone(),
        by: By::ConnectionId(t.connection.connection_id.clone()),
        targets: vec![t],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ConnectionStatus;

    pub(crate) fn conn(
        endpoint: &str,
        id: u32,
        user: Option<&str>,
        cn: Option<&str>,
        ip: &str,
        status: &str,
    ) -> Connection {
        Connection {
            endpoint_id: endpoint.into(),
            connection_id: format!("cvpn-connection-{id:017x}"),
            username: user.map(str::to_owned),
            common_name: cn.map(str::to_owned),
            client_ip: ip.parse().ok(),
            status: ConnectionStatus::parse(status),
            established: Some("2026-11-22T07:30:00Z".parse().unwrap()),
            ended: None,
            ingress_bytes: 0,
            egress_bytes: 0,
        }
    }

    fn selector(users: &[&str], ips: &[&str], ids: &[u32]) -> Selector {
        Selector {
            origin: Origin {
                source: "test".into(),
                finding_id: Some("f-1".into()),
                ..Default::default()
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
        }
    }

    fn run(selectors: &[Selector], connections: &[Connection], protected: &[&str]) -> Selection {
        let is_protected = |n: &str| protected.iter().any(|p| p.eq_ignore_ascii_case(n));
        let endpoints: Vec<Endpoint> = ["e1", "e2"]
            .into_iter()
            .map(|id| Endpoint {
                id: id.into(),
                client_cidr: crate::model::Cidr::parse("10.0.0.0/16"),
            })
            .collect();
        select(
            selectors,
            connections,
            &Rules {
                case: CaseRule::Insensitive,
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

    fn targets_of(cs: &[Connection], which: &[u32]) -> Vec<Target> {
        cs.iter()
            .filter(|c| {
                which
                    .iter()
                    .any(|w| c.connection_id.ends_with(&format!("{w:017x}")))
            })
            .map(|c| Target {
                connection: c.clone(),
                why: vec![],
                origin: Origin::default(),
                verdict: None,
                by_username: true,
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
        assert!(!shapes.iter().any(
            |(_, b, _)| b == &By::Username("bob".into()) || b == &By::Username("carol".into())
        ));
        assert_eq!(
            calls.iter().map(|c| c.targets.len()).sum::<usize>(),
            all.len()
        );
    }
}
