//! The incident's own rules between its selectors and its calls: which endpoints the selectors
//! name, whether the endpoints must be described, what the cap allows, and whose connections are
//! looked at again after the calls. The shell (`shell/incident.rs`) only carries them out. Pure.

use super::{Call, Selector};
use crate::domain::model::{By, Connection};
use std::collections::BTreeSet;

/// Whether an incident describes the endpoints it lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Describe {
    No,
    /// For their client CIDRs: without them the decision cannot be made.
    Needed,
    /// For their connect handlers, which only a warning needs: a failure is logged, not fatal.
    Wanted,
}

/// The endpoints the selectors name, sorted and once each, when every selector names some;
/// otherwise `None` (every endpoint in scope is listed).
pub fn named_endpoints(selectors: &[Selector]) -> Option<Vec<String>> {
    if !selectors.iter().all(|s| !s.endpoint_ids.is_empty()) {
        return None;
    }
    let named: BTreeSet<&String> = selectors.iter().flat_map(|s| &s.endpoint_ids).collect();
    Some(named.into_iter().cloned().collect())
}

/// Client addresses need the endpoints' CIDRs; with the quarantine on, the warning about
/// endpoints that let held people in wants their connect handlers.
pub fn describe(selectors: &[Selector], quarantine_on: bool) -> Describe {
    if selectors
        .iter()
        .any(|s| s.match_by.client_ip && !s.ips.is_empty())
    {
        Describe::Needed
    } else if quarantine_on {
        Describe::Wanted
    } else {
        Describe::No
    }
}

/// Whether a plan is refused: it would end something, and everything it counts (its targets, what
/// earlier attempts at the event ended) is more than the cap.
pub fn over_cap(targets: usize, planned: usize, cap: usize) -> bool {
    targets > 0 && planned > cap
}

/// What a `Username` call may end beyond the plan: what the cap leaves, and nothing on a partial
/// picture (where only what was planned, and remembered, is ended).
pub fn headroom(cap: usize, planned: usize, whole: bool) -> usize {
    if whole {
        cap.saturating_sub(planned)
    } else {
        0
    }
}

/// The (endpoint, username) of users chosen by name whose connections are ended one by one: one
/// who connected again after the listing keeps that connection, so they are looked at again.
pub fn one_by_one(calls: &[Call]) -> BTreeSet<(String, String)> {
    calls
        .iter()
        .filter(|c| matches!(c.by, By::ConnectionId(_)))
        .flat_map(|c| &c.targets)
        .filter(|t| t.by_username)
        .filter_map(|t| {
            let user = t.connection.username.clone()?;
            Some((t.connection.endpoint_id.clone(), user))
        })
        .collect()
}

/// Of the connections listed again, those of `users` still active that were not `planned`: what a
/// targeted user kept. Protected users are never reported, as they are never ended.
pub fn left_active<'c>(
    connections: &'c [Connection],
    users: &BTreeSet<(String, String)>,
    planned: &BTreeSet<String>,
    is_protected: &dyn Fn(&str) -> bool,
) -> Vec<&'c Connection> {
    connections
        .iter()
        .filter(|c| c.is_active() && !planned.contains(&c.connection_id))
        .filter(|c| {
            c.username.as_deref().is_some_and(|u| {
                users.contains(&(c.endpoint_id.clone(), u.to_owned())) && !is_protected(u)
            })
        })
        .collect()
}

#[cfg(test)]
#[path = "incident_tests.rs"]
mod tests;
