//! Deciding which connections to end and how to call Terminate. Pure: takes the live connections
//! and what to look for, returns targets, skips and calls.

use crate::domain::model::{Connection, ConnectionStatus, Endpoint, Reason};
use crate::domain::person::People;
use crate::domain::policy::Verdict;
use crate::domain::trigger::evidence::Named;
use crate::domain::trigger::source::TriggerSource;
use chrono::{DateTime, Utc};
use serde::Serialize;

mod calls;
mod finding;
pub mod incident;
mod ip;
pub mod known;
pub mod outcome;
mod partial;
pub use calls::{calls, single, Call};
pub use finding::{finding_selector, Chosen, FindingRules};
use ip::{holder, in_scope, IpHolder};
pub use outcome::{CallError, Outcome};
pub use partial::{on_partial_picture, unseen, Partial};
use std::net::IpAddr;

/// Which connection attributes a finding's indicators may match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchBy {
    pub username: bool,
    pub common_name: bool,
    pub connection_id: bool,
    pub client_ip: bool,
}

impl MatchBy {
    pub const ALL: MatchBy = MatchBy {
        username: true,
        common_name: true,
        connection_id: true,
        client_ip: true,
    };
}

/// What led to a decision: a finding, or a direct request.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Origin {
    pub source: TriggerSource,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The IdP whose word this is (`okta.com/<org>`, `identitystore/<store>`, a token's issuer);
    /// `None` for a finding, a request or a sweep. The holds it places say so in their own
    /// attribute, never by the shape of a finding ID (a product may choose any ID).
    #[serde(skip)]
    pub idp: Option<String>,
}

impl Origin {
    /// Only where it came from: the rest is for findings, requests and the IdP to fill in.
    pub fn of(source: TriggerSource) -> Self {
        Self {
            source,
            finding_id: None,
            finding_type: None,
            severity: None,
            reason: None,
            idp: None,
        }
    }
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
    /// When the trigger was raised (a finding event's time, the same on every retry): matching
    /// connections that ended since then count against the cap, which a retry cannot spend again.
    pub since: Option<DateTime<Utc>>,
    /// When the activity was last seen: a client IP names the connection that held it then.
    pub seen_at: Option<DateTime<Utc>>,
}

/// A finding that matched, and when its activity was last seen (`Selector::seen_at`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FindingRef {
    pub id: String,
    pub seen_at: Option<DateTime<Utc>>,
    /// The IdP whose word it is ([`Origin::idp`]).
    pub idp: Option<String>,
}

impl Selector {
    pub fn finding(&self) -> Option<FindingRef> {
        Some(FindingRef {
            id: self.origin.finding_id.clone()?,
            seen_at: self.seen_at,
            idp: self.origin.idp.clone(),
        })
    }
}

/// A connection planned to end, and why. ("Target" is an account and Region the function acts
/// in: `adapters/targets.rs`.)
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    pub connection: Connection,
    /// Every reason it matched, e.g. `username alice (event.detail…principalId (session name))`.
    pub why: Vec<String>,
    pub origin: Origin,
    /// Every finding that matched it (`origin` is the first): a person's release of one does not
    /// spare it from another.
    pub findings: Vec<FindingRef>,
    /// For sweeps: the idle minutes, bytes and age that made it a target.
    pub verdict: Option<Verdict>,
    /// Chosen by its username: only then may a `Username` call end it, since that call also ends
    /// whatever else the user has open.
    pub by_username: bool,
    /// The person whose connection it is (`People::canonical` of its username, else its common
    /// name), so that what is told names each person once.
    pub person: Option<String>,
}

/// The person a connection is: of its username, else of its common name.
pub fn person_of(c: &Connection, people: &People) -> Option<String> {
    let name = c.username.as_deref().or(c.common_name.as_deref())?;
    Some(people.canonical(name).to_owned())
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
    pub targets: Vec<Planned>,
    pub skipped: Vec<Skipped>,
    /// Matching connections that ended since their trigger was raised: by an earlier attempt at
    /// the same event, or by themselves; either way they count against the cap.
    pub spent: Vec<Connection>,
}

pub struct Rules<'a> {
    /// A name matches when it is the same person, compared precisely (`People::same`).
    pub people: &'a People,
    pub is_protected: &'a dyn Fn(&str) -> bool,
    /// The endpoints in scope with their client CIDRs; an IP matches only inside one.
    pub endpoints: &'a [Endpoint],
}

/// Why `c` matches `s`; `ips` are the selector's IPs with the connection each one names.
fn reasons(
    s: &Selector,
    ips: &[(&Named<std::net::IpAddr>, &Connection)],
    c: &Connection,
    people: &People,
) -> (Vec<String>, bool) {
    let mut why = Vec::new();
    if !in_scope(s, c) {
        return (why, false);
    }
    let name_match = |field: &Option<String>| {
        field
            .as_deref()
            .and_then(|v| s.usernames.iter().find(|u| people.same(&u.value, v)))
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
    let ip_holders = ip_holders(selectors, connections, rules, &mut out, &mut matched);
    for c in connections {
        let mut hit: Option<(usize, Vec<String>, bool)> = None;
        let mut findings = Vec::new();
        for (i, s) in selectors.iter().enumerate() {
            let (why, by_name) = reasons(s, &ip_holders[i], c, rules.people);
            if why.is_empty() {
                continue;
            }
            matched[i] = true;
            findings.extend(s.finding().filter(|f| !findings.contains(f)));
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
            // Without an end time, only a connection still terminating is known to be recent.
            let since = selectors[first].since;
            let recent = |t| match c.ended {
                Some(e) => e >= t,
                None => c.status == ConnectionStatus::Terminating,
            };
            if since.is_some_and(recent) {
                out.spent.push(c.clone());
            }
            out.skipped.push(Skipped {
                connection: Some(c.clone()),
                reason: Reason::NotActive,
                detail: format!("the connection is {}", c.status),
                origin,
            });
        } else {
            out.targets.push(Planned {
                connection: c.clone(),
                why,
                origin,
                findings,
                verdict: None,
                by_username,
                person: person_of(c, rules.people),
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

/// For each selector, the connection that held each client IP it names; an IP whose holder
/// cannot be told is skipped with the reason, and counts as the selector's match.
fn ip_holders<'s, 'c>(
    selectors: &'s [Selector],
    connections: &'c [Connection],
    rules: &Rules,
    out: &mut Selection,
    matched: &mut [bool],
) -> Vec<Vec<(&'s Named<IpAddr>, &'c Connection)>> {
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
    ip_holders
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

#[cfg(test)]
pub(crate) mod tests;
