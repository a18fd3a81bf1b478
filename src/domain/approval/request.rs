//! What a request for approval records: why it asks, what it would do now (who, which sessions,
//! which holds), and what an approval acts on — the people it names, so that an approval ends
//! their sessions as they are then, including ones opened since.

use super::AskWhy;
use crate::domain::plan::{MatchBy, Origin, Planned, Selector};
use crate::domain::trigger::evidence::Named;
use crate::domain::trigger::source::TriggerSource;
use chrono::DateTime;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One finding's (or the IdP's) part of a request: its origin and the people and connections it
/// named or matched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AskedSelector {
    pub source: TriggerSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    /// VPN usernames it named or whose connections it matched.
    #[serde(default)]
    pub usernames: Vec<String>,
    /// The connections it matched when asked, by ID.
    #[serde(default)]
    pub connection_ids: Vec<String>,
    #[serde(default)]
    pub endpoint_ids: Vec<String>,
}

/// A session the request would end now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AskedSession {
    pub endpoint_id: String,
    pub connection_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// A request for a person's approval, as stored and answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    pub id: String,
    /// Epoch seconds.
    pub created_at: i64,
    /// It is answered until then (`CVPN_ASK_MINUTES` after it was made).
    pub asks_until: i64,
    pub why: Vec<AskWhy>,
    /// The people whose sessions it would end and who would be held.
    pub people: Vec<String>,
    /// The sessions it would end now.
    pub sessions: Vec<AskedSession>,
    /// How many sessions it would end now: what an approval over the cap may end, no more.
    pub count: usize,
    pub selectors: Vec<AskedSelector>,
    pub approvals_required: u32,
}

impl ApprovalRequest {
    /// The request for `selectors` (with the `targets` they match now), made at `now`; its ID is
    /// derived from `seed` (the delivery's, so that a retry of the same event finds the same
    /// request) and what it asks.
    pub fn new(
        seed: &str,
        now: i64,
        minutes: u32,
        approvals_required: u32,
        why: Vec<AskWhy>,
        selectors: &[Selector],
        targets: &[Planned],
    ) -> Self {
        let asked: Vec<AskedSelector> = selectors.iter().map(|s| asked(s, targets)).collect();
        let mut people: Vec<String> = Vec::new();
        for name in asked
            .iter()
            .flat_map(|s| &s.usernames)
            .chain(targets.iter().filter_map(|t| t.person.as_ref()))
        {
            if !people.contains(name) {
                people.push(name.clone());
            }
        }
        let sessions: Vec<AskedSession> = targets
            .iter()
            .map(|t| AskedSession {
                endpoint_id: t.connection.endpoint_id.clone(),
                connection_id: t.connection.connection_id.clone(),
                username: t.connection.username.clone(),
            })
            .collect();
        // What the event asks about, not what the listing found then: a retry that lists again
        // finds the same request.
        let mut digest = Sha256::new();
        digest.update(seed.as_bytes());
        for s in selectors {
            digest.update(b"\0");
            digest.update(
                s.origin
                    .finding_id
                    .as_deref()
                    .unwrap_or_default()
                    .as_bytes(),
            );
            for u in &s.usernames {
                digest.update(b"\x1f");
                digest.update(u.value.as_bytes());
            }
        }
        let hex: String = digest.finalize()[..10]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Self {
            id: format!("apr-{hex}"),
            created_at: now,
            asks_until: now + i64::from(minutes) * 60,
            why,
            people,
            count: sessions.len(),
            sessions,
            selectors: asked,
            approvals_required,
        }
    }

    /// What an approval acts on: each part's people by name (as `match_by` says) and the
    /// connections it matched when asked by ID, from the same origin (so holds and notes carry the finding).
    pub fn selectors(&self, match_by: &MatchBy) -> Vec<Selector> {
        self.selectors
            .iter()
            .map(|a| Selector {
                origin: Origin {
                    source: a.source,
                    finding_id: a.finding_id.clone(),
                    finding_type: a.finding_type.clone(),
                    severity: a.severity,
                    reason: a.reason.clone(),
                    idp: a.idp.clone(),
                },
                // By name as the settings say, and the connections seen at the request by ID;
                // an address may name someone else by now.
                match_by: MatchBy {
                    connection_id: true,
                    client_ip: false,
                    ..match_by.clone()
                },
                usernames: a
                    .usernames
                    .iter()
                    .map(|u| Named {
                        value: u.clone(),
                        origin: format!("approval request {}", self.id),
                    })
                    .collect(),
                ips: Vec::new(),
                connection_ids: a.connection_ids.clone(),
                endpoint_ids: a.endpoint_ids.clone(),
                seen_from: None,
                seen_at: None,
                // What ended since the request counts against the count it allows: a request
                // carried out again never ends more than it showed.
                since: DateTime::from_timestamp(self.created_at, 0),
            })
            .collect()
    }
}

/// `s` as a request records it: the usernames it named and those of the connections it matches
/// now; the connections without one by ID.
fn asked(s: &Selector, targets: &[Planned]) -> AskedSelector {
    let mut usernames: Vec<String> = s.usernames.iter().map(|u| u.value.clone()).collect();
    let mut connection_ids = Vec::new();
    let matched = targets.iter().filter(|t| {
        t.findings
            .iter()
            .any(|f| Some(&f.id) == s.origin.finding_id.as_ref())
            || t.origin == s.origin
    });
    for t in matched {
        // A certificate's connection is its common name's, which matches as names do.
        let name = t
            .connection
            .username
            .as_ref()
            .or(t.connection.common_name.as_ref());
        if let Some(u) = name {
            if !usernames.contains(u) {
                usernames.push(u.clone());
            }
        }
        connection_ids.push(t.connection.connection_id.clone());
    }
    AskedSelector {
        source: s.origin.source,
        finding_id: s.origin.finding_id.clone(),
        finding_type: s.origin.finding_type.clone(),
        severity: s.origin.severity,
        reason: s.origin.reason.clone(),
        idp: s.origin.idp.clone(),
        usernames,
        connection_ids,
        endpoint_ids: s.endpoint_ids.clone(),
    }
}
