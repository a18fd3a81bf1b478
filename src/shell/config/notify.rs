//! Settings of what the function tells people (`CVPN_OUTCOME_BUS`, `CVPN_FINDING_NOTES`,
//! `CVPN_FINDING_WORKFLOW`, `CVPN_SECURITYHUB_NOTES`) and its invoker (`CVPN_RESPONSE_MAX_ITEMS`).

use super::{number, parse_bool, ConfigError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notify {
    /// The EventBridge bus outcome events go to (name or ARN); `None`: none are sent.
    pub outcome_bus: Option<String>,
    /// Whether Security Hub findings that led to an action get a note.
    pub finding_notes: bool,
    /// The workflow status a noted finding is moved to; `None` leaves it as it is.
    pub workflow: Option<Workflow>,
    /// Whether a GuardDuty finding's copy in Security Hub gets the note too.
    pub guardduty_notes: bool,
    /// Entries per list in the invocation's answer; the rest are counted (`truncated`).
    pub response_max_items: usize,
}

/// The Security Hub workflow statuses the function may set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workflow {
    Notified,
    Resolved,
}

impl Workflow {
    /// As Security Hub spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Notified => "NOTIFIED",
            Self::Resolved => "RESOLVED",
        }
    }
}

impl Default for Notify {
    fn default() -> Self {
        Self {
            outcome_bus: Some("default".into()),
            finding_notes: true,
            workflow: Some(Workflow::Notified),
            guardduty_notes: false,
            response_max_items: 100,
        }
    }
}

/// EventBridge's bus names: letters, digits, `.`, `-`, `_` and `/` (partner buses), at most 256.
fn bus_name(name: &str) -> bool {
    (1..=256).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b))
}

impl Notify {
    /// `raw` sees a variable set to the empty string (which turns the outcome events off); `get`
    /// takes that for unset, as every other setting does.
    pub(super) fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
        raw: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let err = |variable: &'static str, message: String| ConfigError { variable, message };
        let outcome_bus = match raw("CVPN_OUTCOME_BUS").map(|v| v.trim().to_owned()) {
            None => defaults.outcome_bus,
            Some(v) if v.is_empty() => None,
            Some(v) => {
                let name = match v.strip_prefix("arn:") {
                    Some(rest) => match rest.split_once(":event-bus/") {
                        Some((head, name)) if head.contains(":events:") => name,
                        _ => {
                            return Err(err(
                                "CVPN_OUTCOME_BUS",
                                format!("`{v}` is not an event bus ARN (arn:PARTITION:events:REGION:ACCOUNT:event-bus/NAME)"),
                            ))
                        }
                    },
                    None => v.as_str(),
                };
                if !bus_name(name) {
                    return Err(err(
                        "CVPN_OUTCOME_BUS",
                        format!("`{v}` is not an event bus name (letters, digits, . - _ /, at most 256); set it empty to send no outcome events"),
                    ));
                }
                Some(v)
            }
        };
        let flag = |variable: &'static str, default: bool| match get(variable) {
            None => Ok(default),
            Some(v) => {
                parse_bool(&v).ok_or_else(|| err(variable, format!("`{v}` is not true or false")))
            }
        };
        let workflow = match get("CVPN_FINDING_WORKFLOW").as_deref() {
            None => defaults.workflow,
            Some(v) if v.eq_ignore_ascii_case("none") => None,
            Some(v) if v.eq_ignore_ascii_case("notified") => Some(Workflow::Notified),
            Some(v) if v.eq_ignore_ascii_case("resolved") => Some(Workflow::Resolved),
            Some(v) => {
                return Err(err(
                    "CVPN_FINDING_WORKFLOW",
                    format!("`{v}` is not none, NOTIFIED or RESOLVED"),
                ))
            }
        };
        Ok(Self {
            outcome_bus,
            finding_notes: flag("CVPN_FINDING_NOTES", defaults.finding_notes)?,
            workflow,
            guardduty_notes: flag("CVPN_SECURITYHUB_NOTES", defaults.guardduty_notes)?,
            response_max_items: number(
                get("CVPN_RESPONSE_MAX_ITEMS"),
                0..=100_000,
                defaults.response_max_items,
            )
            .map_err(|m| err("CVPN_RESPONSE_MAX_ITEMS", m))?,
        })
    }
}
