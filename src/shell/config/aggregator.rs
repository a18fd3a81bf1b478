//! AWS Config's aggregator as a source of where endpoints are: `CVPN_CONFIG_AGGREGATOR` (its
//! name, `NAME@REGION` when it is in another Region than the function) and
//! `CVPN_CONFIG_AGGREGATOR_ROLE` (a role in the account it is in, when that is not this one).

use super::ConfigError;
use crate::domain::targets::{is_region, role_account};

/// The aggregator to ask, where, and through which role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggregatorSpec {
    pub name: String,
    /// `None`: the function's own Region.
    pub region: Option<String>,
    /// `None`: the function's own role.
    pub role: Option<String>,
}

/// Config's rule for an aggregator's name: 1 to 256 letters, digits, `_` and `-`.
fn is_name(text: &str) -> bool {
    (1..=256).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The aggregator, or `None` when `CVPN_CONFIG_AGGREGATOR` is not set.
pub(super) fn aggregator(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<AggregatorSpec>, ConfigError> {
    let given = |v: &str| {
        get(v)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let role = given("CVPN_CONFIG_AGGREGATOR_ROLE");
    let Some(text) = given("CVPN_CONFIG_AGGREGATOR") else {
        return match role {
            Some(_) => Err(ConfigError {
                variable: "CVPN_CONFIG_AGGREGATOR_ROLE",
                message: "is set, but CVPN_CONFIG_AGGREGATOR is not: name the aggregator".into(),
            }),
            None => Ok(None),
        };
    };
    let err = |message: String| ConfigError {
        variable: "CVPN_CONFIG_AGGREGATOR",
        message,
    };
    let (name, region) = match text.split_once('@') {
        Some((name, region)) => (name, Some(region)),
        None => (text.as_str(), None),
    };
    if !is_name(name) {
        return Err(err(format!(
            "`{name}` is not an aggregator's name (1 to 256 letters, digits, `_` or `-`)"
        )));
    }
    if let Some(bad) = region.filter(|r| !is_region(r)) {
        return Err(err(format!("`{bad}` after `@` is not a Region")));
    }
    if let Some(bad) = role.as_deref().filter(|r| role_account(r).is_none()) {
        return Err(ConfigError {
            variable: "CVPN_CONFIG_AGGREGATOR_ROLE",
            message: format!("`{bad}` is not a role ARN (arn:PARTITION:iam::ACCOUNT:role/NAME)"),
        });
    }
    Ok(Some(AggregatorSpec {
        name: name.to_owned(),
        region: region.map(str::to_owned),
        role,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Option<AggregatorSpec>, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        aggregator(&|name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    const ROLE: &str = "arn:aws:iam::444455556666:role/config-reader";

    #[test]
    fn a_name_a_region_and_a_role() {
        assert_eq!(read(&[]).unwrap(), None);
        assert_eq!(read(&[("CVPN_CONFIG_AGGREGATOR", " ")]).unwrap(), None);
        let a = read(&[("CVPN_CONFIG_AGGREGATOR", "org-wide_1")])
            .unwrap()
            .unwrap();
        assert_eq!(
            (a.name.as_str(), a.region, a.role),
            ("org-wide_1", None, None)
        );
        let a = read(&[
            ("CVPN_CONFIG_AGGREGATOR", "org@us-east-1"),
            ("CVPN_CONFIG_AGGREGATOR_ROLE", ROLE),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(a.region.as_deref(), Some("us-east-1"));
        assert_eq!(a.role.as_deref(), Some(ROLE));
    }

    #[test]
    fn what_is_wrong_is_named() {
        for (vars, variable, says) in [
            (
                vec![("CVPN_CONFIG_AGGREGATOR_ROLE", ROLE)],
                "CVPN_CONFIG_AGGREGATOR_ROLE",
                "is set, but",
            ),
            (
                vec![("CVPN_CONFIG_AGGREGATOR", "org wide")],
                "CVPN_CONFIG_AGGREGATOR",
                "`org wide`",
            ),
            (
                vec![("CVPN_CONFIG_AGGREGATOR", "@eu-west-1")],
                "CVPN_CONFIG_AGGREGATOR",
                "``",
            ),
            (
                vec![("CVPN_CONFIG_AGGREGATOR", "org@mars")],
                "CVPN_CONFIG_AGGREGATOR",
                "`mars`",
            ),
            (
                vec![
                    ("CVPN_CONFIG_AGGREGATOR", "org"),
                    ("CVPN_CONFIG_AGGREGATOR_ROLE", "reader"),
                ],
                "CVPN_CONFIG_AGGREGATOR_ROLE",
                "`reader` is not a role ARN",
            ),
        ] {
            let e = read(&vars).unwrap_err();
            assert_eq!(e.variable, variable);
            assert!(e.message.contains(says), "{}", e.message);
        }
        let long = "a".repeat(257);
        assert!(read(&[("CVPN_CONFIG_AGGREGATOR", &long)]).is_err());
    }
}
