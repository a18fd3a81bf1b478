//! One line of an answer's lists: a connection (or a finding) and what became of it.

use crate::domain::model::{Connection, ConnectionStatus, Reason, StatusChange};
use crate::domain::plan::{Origin, Planned, Skipped};
use serde::Serialize;

/// One connection (or, for a skipped finding, one finding) in the response.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Entry {
    /// The account, when another than the function's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    /// The person whose connection it is (the canonical name), whatever form it was opened with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_status: Option<ConnectionStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_status: Option<ConnectionStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Why it was skipped, deferred or failed, as a stable code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// Why it failed: the EC2 error code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Why it was chosen, skipped or failed, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding_id: Option<String>,
    /// Sweeps: minutes since the connection was last seen active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_minutes: Option<i64>,
    /// Sweeps: bytes moved since the connection was last seen active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_since_active: Option<u64>,
    /// Sweeps: minutes since the connection was established.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_minutes: Option<i64>,
}

impl Entry {
    fn of(c: &Connection, origin: &Origin) -> Self {
        Self {
            finding_id: origin.finding_id.clone(),
            ..Self::connection(c)
        }
    }

    fn connection(c: &Connection) -> Self {
        Self {
            account: c.place.account.clone(),
            region: c.place.region.clone(),
            endpoint_id: Some(c.endpoint_id.clone()),
            connection_id: Some(c.connection_id.clone()),
            username: c.username.clone(),
            common_name: c.common_name.clone(),
            client_ip: c.client_ip.map(|ip| ip.to_string()),
            ..Self::default()
        }
    }

    pub(super) fn with_change(mut self, change: &StatusChange) -> Self {
        self.previous_status = Some(change.previous.code);
        self.current_status = Some(change.current.code);
        self.message = change
            .current
            .message
            .clone()
            .or_else(|| change.previous.message.clone());
        self
    }

    pub fn finding_skipped(origin: &Origin, reason: Reason, detail: String) -> Self {
        Self {
            finding_id: origin.finding_id.clone(),
            reason: Some(reason),
            detail: Some(detail),
            ..Self::default()
        }
    }

    pub fn skipped(s: &Skipped) -> Self {
        let base = match &s.connection {
            Some(c) => Entry::of(c, &s.origin),
            None => Entry {
                finding_id: s.origin.finding_id.clone(),
                ..Entry::default()
            },
        };
        Entry {
            reason: Some(s.reason),
            detail: Some(s.detail.clone()),
            ..base
        }
    }

    pub fn left_active(c: &Connection) -> Self {
        Self {
            reason: Some(Reason::LeftActive),
            detail: Some(
                "a targeted user's connection, not seen by the listing, is still active".into(),
            ),
            ..Entry::connection(c)
        }
    }

    pub fn planned(t: &Planned) -> Self {
        let v = t.verdict.as_ref();
        Entry {
            detail: Some(t.why.join("; ")),
            idle_minutes: v.and_then(|v| v.idle_minutes),
            bytes_since_active: v.and_then(|v| v.bytes_since_active),
            age_minutes: v.and_then(|v| v.age_minutes),
            person: t.person.clone(),
            ..Entry::of(&t.connection, &t.origin)
        }
    }
}
