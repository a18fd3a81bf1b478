//! Asking a person first (`CVPN_ASK_*`): which of an incident's findings and people wait for a
//! person's approval instead of being acted on ([`split`], [`cap_asks`]), what a request records
//! ([`request`]), and whether an approval or a denial counts ([`decide`]). Pure.
//!
//! What a person chose never asks: a direct request, a Security Hub custom action, an approval
//! being carried out. Sweeps never reach the incident path.

pub mod decide;
pub mod request;

use crate::domain::model::Connection;
use crate::domain::person::{People, UserPattern};
use crate::domain::plan::{self, Rules, Selector};
use serde::{Deserialize, Serialize};

pub use decide::{decide, who, Approver, Asked, Decision, Refused, State, Who};
pub use request::{ApprovalRequest, AskedSelector};

/// When to ask instead of acting; every part optional, none by default.
#[derive(Clone, Debug, PartialEq)]
pub struct AskRules {
    /// Findings at or above `CVPN_MIN_SEVERITY` but below this ask (`CVPN_ASK_BELOW_SEVERITY`,
    /// GuardDuty's 0–10 scale).
    pub below_severity: Option<f64>,
    /// People whose sessions are only ever ended on approval (`CVPN_ASK_USERS`), in any form of
    /// the name.
    pub users: Vec<UserPattern>,
    /// An incident over `CVPN_MAX_TERMINATIONS` asks instead of failing (`CVPN_ASK_OVER_CAP`).
    pub over_cap: bool,
    /// How long a request waits for its answer (`CVPN_ASK_MINUTES`).
    pub minutes: u32,
    /// Approvals from distinct verified identities that carry a request out
    /// (`CVPN_APPROVALS_REQUIRED`); one needs no verified identity.
    pub approvals_required: u32,
}

impl AskRules {
    /// Whether anything asks at all.
    pub fn asks(&self) -> bool {
        self.below_severity.is_some() || !self.users.is_empty() || self.over_cap
    }
}

impl Default for AskRules {
    fn default() -> Self {
        Self {
            below_severity: None,
            users: Vec::new(),
            over_cap: false,
            minutes: 60,
            approvals_required: 1,
        }
    }
}

/// Who chose what the incident acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChosenBy {
    /// A detector or the IdP: the team's rules may ask a person first.
    Evidence,
    /// A person (a direct request, a custom action, an approval): never asked again.
    Person,
}

/// Why an incident asks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AskWhy {
    BelowSeverity {
        #[serde(skip_serializing_if = "Option::is_none")]
        finding_id: Option<String>,
        severity: f64,
        below: f64,
    },
    User {
        person: String,
    },
    OverCap {
        planned: usize,
        cap: usize,
    },
}

impl AskWhy {
    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            Self::BelowSeverity {
                finding_id,
                severity,
                below,
            } => format!(
                "finding {} has severity {severity}, below CVPN_ASK_BELOW_SEVERITY ({below})",
                finding_id.as_deref().unwrap_or("(no ID)")
            ),
            Self::User { person } => format!("{person} is among CVPN_ASK_USERS"),
            Self::OverCap { planned, cap } => {
                format!("{planned} sessions to end, more than CVPN_MAX_TERMINATIONS ({cap})")
            }
        }
    }
}

/// Why a selector's finding asks, if it does: its severity is below the asking severity (a
/// finding below `CVPN_MIN_SEVERITY` was gated before). A finding without a severity (a request,
/// the IdP's word) never asks for it.
pub fn severity_asks(rules: &AskRules, chosen: ChosenBy, s: &Selector) -> Option<AskWhy> {
    let (below, severity) = (rules.below_severity?, s.origin.severity?);
    (chosen == ChosenBy::Evidence && severity < below).then(|| AskWhy::BelowSeverity {
        finding_id: s.origin.finding_id.clone(),
        severity,
        below,
    })
}

/// Why `name` asks, if it does: it is one of the people on the asking list, in any form.
pub fn person_asks(
    rules: &AskRules,
    chosen: ChosenBy,
    people: &People,
    name: &str,
) -> Option<AskWhy> {
    (chosen == ChosenBy::Evidence && people.listed(&rules.users, name)).then(|| AskWhy::User {
        person: people.canonical(name).to_owned(),
    })
}

/// Why an incident that would end `planned` sessions asks instead of failing, if it does.
pub fn cap_asks(rules: &AskRules, chosen: ChosenBy, planned: usize, cap: usize) -> Option<AskWhy> {
    (chosen == ChosenBy::Evidence && rules.over_cap && planned > cap)
        .then_some(AskWhy::OverCap { planned, cap })
}

/// An incident's selectors, split: those acted on now, those only a person's approval acts on,
/// and why.
#[derive(Debug, Default)]
pub struct Split {
    pub act: Vec<Selector>,
    pub ask: Vec<Selector>,
    pub why: Vec<AskWhy>,
}

/// Splits `selectors` by the asking rules: a selector asks when its finding's severity is below
/// the asking severity, when it names a person on the asking list, or when a connection it
/// matches is such a person's (by username or common name: a finding naming an address is asked
/// about when the address is an executive's). Nothing is lost: every selector is in one part.
pub fn split(
    selectors: Vec<Selector>,
    connections: &[Connection],
    rules: &Rules,
    ask: &AskRules,
    chosen: ChosenBy,
) -> Split {
    let mut out = Split::default();
    let people = rules.people;
    for s in selectors {
        let mut why: Vec<AskWhy> = severity_asks(ask, chosen, &s).into_iter().collect();
        why.extend(
            s.usernames
                .iter()
                .filter_map(|u| person_asks(ask, chosen, people, &u.value)),
        );
        if why.is_empty() && !ask.users.is_empty() && chosen == ChosenBy::Evidence {
            let matched = plan::select(std::slice::from_ref(&s), connections, rules);
            let names = matched.targets.iter().flat_map(|t| {
                let c = &t.connection;
                c.username.iter().chain(c.common_name.iter())
            });
            why.extend(names.filter_map(|n| person_asks(ask, chosen, people, n)));
        }
        if why.is_empty() {
            out.act.push(s);
        } else {
            for w in why {
                if !out.why.contains(&w) {
                    out.why.push(w);
                }
            }
            out.ask.push(s);
        }
    }
    out
}

#[cfg(test)]
mod tests;
