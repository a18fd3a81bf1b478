//! Forming Terminate calls from targets: by `Username` only where that cannot end a connection
//! that was not chosen beyond what the cap allows. Pure.

use super::Planned;
use crate::domain::model::{By, Connection, Place, USERNAME_LIMIT};
use std::collections::BTreeMap;

/// One Terminate call and the targets it is meant to end.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The target the endpoint is in, where the call is made.
    pub place: Place,
    pub endpoint_id: String,
    pub by: By,
    pub targets: Vec<Planned>,
}

/// One `Username` call per user and endpoint when the targets were chosen by that username and
/// are all of the user's active connections there, at most five; otherwise one `ConnectionId` call
/// per target, so a call never ends a connection that was not chosen.
///
/// A `Username` call also ends what the user opened after the listing, up to five in all: it is
/// made only while those possible extra connections fit in `headroom` (what the cap leaves beyond
/// the targets), so the cap holds for everything the calls can end.
pub fn calls(targets: Vec<Planned>, connections: &[Connection], mut headroom: usize) -> Vec<Call> {
    let mut active_per_user: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for c in connections.iter().filter(|c| c.is_active()) {
        if let Some(u) = c.username.as_deref().filter(|u| !u.is_empty()) {
            *active_per_user
                .entry((c.endpoint_id.as_str(), u))
                .or_default() += 1;
        }
    }
    let mut by_user: BTreeMap<(String, String), Vec<Planned>> = BTreeMap::new();
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
                place: group[0].connection.place.clone(),
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

pub fn single(t: Planned) -> Call {
    Call {
        place: t.connection.place.clone(),
        endpoint_id: t.connection.endpoint_id.clone(),
        by: By::ConnectionId(t.connection.connection_id.clone()),
        targets: vec![t],
    }
}
