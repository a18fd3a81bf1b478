//! The answer's approval part: the requests an incident made instead of acting
//! (`approval_requests`), and what a person's answer to one did (`approval`).

use crate::domain::approval::ApprovalRequest;
use serde::Serialize;

/// People listed per request before the rest are only counted.
pub const MAX_PEOPLE: usize = 100;

/// A request for a person's approval, as answered and told.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AskedEntry {
    pub id: String,
    /// Why it asks, one line each.
    pub why: Vec<String>,
    /// Whose sessions it would end and who would be held (the first [`MAX_PEOPLE`]; `people_count`
    /// says how many), so that the answer and the outcome event stay small.
    pub people: Vec<String>,
    pub people_count: usize,
    /// How many sessions it would end now.
    pub sessions: usize,
    /// When it stops asking (RFC 3339).
    pub asks_until: String,
    pub approvals_required: u32,
    /// The command that approves it, and the one that denies it.
    pub approve: String,
    pub deny: String,
    /// Whether it was stored (not in a dry run, nor when the table could not be written).
    pub stored: bool,
    /// The findings it is about, whose notes say a person was asked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub finding_ids: Vec<String>,
}

impl AskedEntry {
    pub fn new(r: &ApprovalRequest, stored: bool) -> Self {
        Self {
            id: r.id.clone(),
            why: r.why.iter().map(|w| w.describe()).collect(),
            people: r.people.iter().take(MAX_PEOPLE).cloned().collect(),
            people_count: r.people.len(),
            sessions: r.count,
            asks_until: chrono::DateTime::from_timestamp(r.asks_until, 0)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
            approvals_required: r.approvals_required,
            approve: format!("cvpn-terminator approve {}", r.id),
            deny: format!("cvpn-terminator deny {}", r.id),
            stored,
            finding_ids: r
                .selectors
                .iter()
                .filter_map(|s| s.finding_id.clone())
                .collect(),
        }
    }
}

/// What an answer did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerOutcome {
    /// Counted towards the approvals it needs.
    Counted,
    /// Approved, and carried out (what was ended is in the answer's lists).
    CarriedOut,
    Denied,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AnswerEntry {
    pub id: String,
    pub outcome: AnswerOutcome,
    /// Who answered, and whether that identity was verified (the command line's AWS identity).
    pub by: String,
    pub verified: bool,
    /// Approvals so far, and how many it needs.
    pub approvals: usize,
    pub needed: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approved_by: Vec<String>,
}
