//! When to ask a person first: `CVPN_ASK_BELOW_SEVERITY`, `CVPN_ASK_USERS`, `CVPN_ASK_OVER_CAP`,
//! `CVPN_ASK_MINUTES` and `CVPN_APPROVALS_REQUIRED`, and what this deployment takes
//! (`CVPN_TAKES`: the answering functions take only answers). Asking and answering need the state
//! table, where requests wait for their answer.

use super::values::{list, number, parse_bool};
use super::ConfigError;
use crate::domain::approval::AskRules;
use crate::domain::person::People;
use crate::domain::trigger::takes::Takes;

/// The asking rules, given the severity findings must have to act at all and whether there is a
/// state table.
pub(super) fn from_lookup(
    get: &impl Fn(&str) -> Option<String>,
    people: &People,
    min_severity: f64,
    state_table: bool,
) -> Result<AskRules, ConfigError> {
    let err = |variable: &'static str, message: String| ConfigError { variable, message };
    let defaults = AskRules::default();
    let below_severity = match get("CVPN_ASK_BELOW_SEVERITY") {
        None => None,
        Some(v) => Some(
            v.parse::<f64>()
                .ok()
                .filter(|s| (0.0..=10.0).contains(s) && *s > min_severity)
                .ok_or_else(|| {
                    err(
                        "CVPN_ASK_BELOW_SEVERITY",
                        format!(
                            "`{v}` is not a number above CVPN_MIN_SEVERITY ({min_severity}) and \
                             at most 10: findings from CVPN_MIN_SEVERITY up to it ask"
                        ),
                    )
                })?,
        ),
    };
    let users = list(get("CVPN_ASK_USERS"))
        .iter()
        .map(|p| people.pattern(p).map_err(|m| err("CVPN_ASK_USERS", m)))
        .collect::<Result<Vec<_>, _>>()?;
    let over_cap = match get("CVPN_ASK_OVER_CAP") {
        None => false,
        Some(v) => parse_bool(&v)
            .ok_or_else(|| err("CVPN_ASK_OVER_CAP", format!("`{v}` is not true or false")))?,
    };
    let minutes = number(get("CVPN_ASK_MINUTES"), 1..=10_080, defaults.minutes)
        .map_err(|m| err("CVPN_ASK_MINUTES", m))?;
    let required = number(get("CVPN_APPROVALS_REQUIRED"), 1..=5, 1)
        .map_err(|m| err("CVPN_APPROVALS_REQUIRED", m))?;
    let rules = AskRules {
        below_severity,
        users,
        over_cap,
        minutes,
        approvals_required: required,
    };
    if rules.asks() && !state_table {
        let variable = if rules.below_severity.is_some() {
            "CVPN_ASK_BELOW_SEVERITY"
        } else if !rules.users.is_empty() {
            "CVPN_ASK_USERS"
        } else {
            "CVPN_ASK_OVER_CAP"
        };
        return Err(err(
            variable,
            "needs CVPN_STATE_TABLE: requests wait there for a person's answer".into(),
        ));
    }
    Ok(rules)
}

/// What this deployment takes (`CVPN_TAKES`: `everything`, `signed-answers`, `chat-approvals`).
pub(super) fn takes(
    get: &impl Fn(&str) -> Option<String>,
    state_table: bool,
) -> Result<Takes, ConfigError> {
    let err = |message: String| ConfigError {
        variable: "CVPN_TAKES",
        message,
    };
    let takes = match get("CVPN_TAKES") {
        None => Takes::Everything,
        Some(v) => Takes::parse(&v).ok_or_else(|| {
            err(format!(
                "`{v}` is not everything, signed-answers or chat-approvals"
            ))
        })?,
    };
    if takes != Takes::Everything && !state_table {
        return Err(err(
            "needs CVPN_STATE_TABLE: answers are to the requests waiting there".into(),
        ));
    }
    Ok(takes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)], table: bool) -> Result<AskRules, ConfigError> {
        let get = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        from_lookup(&get, &People::default(), 4.0, table)
    }

    #[test]
    fn asking_is_off_by_default_and_each_setting_is_checked() {
        let none = read(&[], false).unwrap();
        assert!(!none.asks());
        assert_eq!((none.minutes, none.approvals_required), (60, 1));
        let on = read(
            &[
                ("CVPN_ASK_BELOW_SEVERITY", "7"),
                ("CVPN_ASK_USERS", "ceo, cfo*"),
                ("CVPN_ASK_OVER_CAP", "TRUE"),
                ("CVPN_ASK_MINUTES", "30"),
                ("CVPN_APPROVALS_REQUIRED", "2"),
            ],
            true,
        )
        .unwrap();
        assert_eq!(on.below_severity, Some(7.0));
        assert_eq!(
            (
                on.users.len(),
                on.over_cap,
                on.minutes,
                on.approvals_required
            ),
            (2, true, 30, 2)
        );
        for (name, bad) in [
            ("CVPN_ASK_BELOW_SEVERITY", "4"),
            ("CVPN_ASK_BELOW_SEVERITY", "11"),
            ("CVPN_ASK_BELOW_SEVERITY", "high"),
            ("CVPN_ASK_OVER_CAP", "maybe"),
            ("CVPN_ASK_MINUTES", "0"),
            ("CVPN_APPROVALS_REQUIRED", "6"),
            ("CVPN_ASK_USERS", "a**"),
        ] {
            let e = read(&[(name, bad)], true).unwrap_err();
            assert_eq!(e.variable, name, "{bad}");
        }
        let e = read(&[("CVPN_ASK_OVER_CAP", "true")], false).unwrap_err();
        assert!(e.message.contains("CVPN_STATE_TABLE"), "{}", e.message);
    }
}
