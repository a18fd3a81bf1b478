//! Which connection a client IP names, if any: addresses are reused across endpoints with the
//! same client CIDR and after a client disconnects, so only a single holder throughout the
//! activity counts. Pure.

use super::Selector;
use crate::domain::model::{Connection, Endpoint, Reason};
use crate::domain::trigger::evidence::Named;

/// The one connection a client IP names, or why it names none.
pub(super) enum IpHolder<'c> {
    One(&'c Connection),
    /// Not a client address of any endpoint in scope, or no connection ever had it: no match.
    Nobody,
    Refused(Reason, String),
}

/// A client IP names a connection only when the IP lies in that endpoint's client CIDR, the
/// connection held it throughout the activity (from first to last seen), and no other connection
/// in scope may have held it meanwhile: addresses are reused across endpoints with the same CIDR
/// and after a client disconnects. A connection whose times are unknown may have held it.
pub(super) fn holder<'c>(
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

pub(super) fn in_scope(s: &Selector, c: &Connection) -> bool {
    crate::domain::scope::among(&s.endpoint_ids, &c.endpoint_id)
}
