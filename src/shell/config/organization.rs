//! Targets from an AWS organization: `CVPN_ORGANIZATION_REGIONS` (turns it on),
//! `CVPN_ORGANIZATION_UNITS`, `CVPN_ORGANIZATION_EXCLUDED_ACCOUNTS`, `CVPN_ORGANIZATION_ROLE` and
//! `CVPN_TARGET_ROLE_NAME`. The accounts are kept in the state table.

use super::values::list;
use super::ConfigError;
use crate::domain::model::is_account_id;
use crate::domain::organization::{is_unit, Reach};
use crate::domain::targets::{is_region, role_account};

/// The role each account is reached through, unless named: `target.yaml`'s.
const DEFAULT_ROLE_NAME: &str = "cvpn-terminator-target";

/// The organization's reach, or `None` when `CVPN_ORGANIZATION_REGIONS` is not set. It and
/// `CVPN_TARGETS` are one or the other; it needs the state table.
pub(super) fn reach(
    get: &impl Fn(&str) -> Option<String>,
    targets_given: bool,
    state_table: bool,
) -> Result<Option<Reach>, ConfigError> {
    let err = |variable: &'static str, message: String| ConfigError { variable, message };
    let regions = list(get("CVPN_ORGANIZATION_REGIONS"));
    let units = list(get("CVPN_ORGANIZATION_UNITS"));
    let excluded = list(get("CVPN_ORGANIZATION_EXCLUDED_ACCOUNTS"));
    let reader_role = get("CVPN_ORGANIZATION_ROLE").filter(|r| !r.trim().is_empty());
    if regions.is_empty() {
        if let Some(variable) = [
            ("CVPN_ORGANIZATION_UNITS", !units.is_empty()),
            ("CVPN_ORGANIZATION_EXCLUDED_ACCOUNTS", !excluded.is_empty()),
            ("CVPN_ORGANIZATION_ROLE", reader_role.is_some()),
        ]
        .into_iter()
        .find_map(|(v, set)| set.then_some(v))
        {
            return Err(err(
                variable,
                "is set, but CVPN_ORGANIZATION_REGIONS is not: the organization's Regions say where to act".into(),
            ));
        }
        return Ok(None);
    }
    let variable = "CVPN_ORGANIZATION_REGIONS";
    if targets_given {
        return Err(err(
            variable,
            "and CVPN_TARGETS are one or the other: the organization's accounts are the targets"
                .into(),
        ));
    }
    if !state_table {
        return Err(err(
            variable,
            "needs CVPN_STATE_TABLE: the organization's accounts are kept there".into(),
        ));
    }
    check_regions(&regions)?;
    if let Some(bad) = excluded.iter().find(|a| !is_account_id(a)) {
        return Err(err(
            "CVPN_ORGANIZATION_EXCLUDED_ACCOUNTS",
            format!("`{bad}` is not an account ID (12 digits)"),
        ));
    }
    if let Some(bad) = units.iter().find(|u| !is_unit(u)) {
        return Err(err(
            "CVPN_ORGANIZATION_UNITS",
            format!("`{bad}` is not an organizational unit's ID (ou-…-…) or the root's (r-…)"),
        ));
    }
    if let Some(role) = reader_role.as_deref().filter(|r| role_account(r).is_none()) {
        return Err(err(
            "CVPN_ORGANIZATION_ROLE",
            format!("`{role}` is not a role ARN (arn:PARTITION:iam::ACCOUNT:role/NAME)"),
        ));
    }
    let role_name = target_role_name(get)?;
    Ok(Some(Reach {
        partition: partition(&regions[0]).into(),
        regions,
        units,
        role_name,
        reader_role,
        excluded,
    }))
}

/// The organization's Regions: Region names, each once, in one partition.
fn check_regions(regions: &[String]) -> Result<(), ConfigError> {
    let variable = "CVPN_ORGANIZATION_REGIONS";
    let err = |message: String| ConfigError { variable, message };
    if let Some(bad) = regions.iter().find(|r| !is_region(r)) {
        return Err(err(format!("`{bad}` is not a Region name")));
    }
    if let Some((_, twice)) = regions
        .iter()
        .enumerate()
        .find(|(i, r)| regions[..*i].contains(r))
    {
        return Err(err(format!("`{twice}` is named twice")));
    }
    if let Some(other) = regions
        .iter()
        .find(|r| partition(r) != partition(&regions[0]))
    {
        return Err(err(format!(
            "`{other}` is in another partition than `{}`: one partition's Regions",
            regions[0]
        )));
    }
    Ok(())
}

/// The role the function assumes in each of the organization's accounts: an IAM role name.
fn target_role_name(get: &impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let role_name = get("CVPN_TARGET_ROLE_NAME").unwrap_or_else(|| DEFAULT_ROLE_NAME.into());
    let name_ok = !role_name.is_empty()
        && role_name.len() <= 64
        && role_name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if !name_ok {
        return Err(ConfigError {
            variable: "CVPN_TARGET_ROLE_NAME",
            message: format!("`{role_name}` is not an IAM role name (without a path)"),
        });
    }
    Ok(role_name)
}

/// The partition a Region is in, for the roles' ARNs.
fn partition(region: &str) -> &'static str {
    const PARTITIONS: [(&str, &str); 7] = [
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-iso-", "aws-iso"),
        ("us-isob-", "aws-iso-b"),
        ("eu-isoe-", "aws-iso-e"),
        ("us-isof-", "aws-iso-f"),
        ("eusc-", "aws-eusc"),
    ];
    PARTITIONS
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or("aws", |(_, partition)| partition)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(
        vars: &[(&str, &str)],
        targets: bool,
        table: bool,
    ) -> Result<Option<Reach>, ConfigError> {
        let get = |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        };
        reach(&get, targets, table)
    }

    #[test]
    fn the_organization_is_read_whole_and_each_fault_names_its_variable() {
        let r = read(
            &[
                ("CVPN_ORGANIZATION_REGIONS", "eu-west-1, us-east-1"),
                ("CVPN_ORGANIZATION_UNITS", "ou-ab12-cd34ef56"),
                (
                    "CVPN_ORGANIZATION_ROLE",
                    "arn:aws:iam::999988887777:role/org-reader",
                ),
            ],
            false,
            true,
        )
        .unwrap()
        .unwrap();
        assert_eq!(r.regions, ["eu-west-1", "us-east-1"]);
        assert_eq!(
            (r.role_name.as_str(), r.partition.as_str()),
            (DEFAULT_ROLE_NAME, "aws")
        );
        assert_eq!(read(&[], false, false).unwrap(), None);
        for (vars, targets, table, variable) in [
            (
                vec![("CVPN_ORGANIZATION_UNITS", "ou-ab12-cd34ef56")],
                false,
                true,
                "CVPN_ORGANIZATION_UNITS",
            ),
            (
                vec![("CVPN_ORGANIZATION_REGIONS", "eu-west-1")],
                true,
                true,
                "CVPN_ORGANIZATION_REGIONS",
            ),
            (
                vec![("CVPN_ORGANIZATION_REGIONS", "eu-west-1")],
                false,
                false,
                "CVPN_ORGANIZATION_REGIONS",
            ),
            (
                vec![("CVPN_ORGANIZATION_REGIONS", "europe")],
                false,
                true,
                "CVPN_ORGANIZATION_REGIONS",
            ),
            (
                vec![
                    ("CVPN_ORGANIZATION_REGIONS", "eu-west-1"),
                    ("CVPN_ORGANIZATION_UNITS", "finance"),
                ],
                false,
                true,
                "CVPN_ORGANIZATION_UNITS",
            ),
            (
                vec![
                    ("CVPN_ORGANIZATION_REGIONS", "eu-west-1"),
                    ("CVPN_ORGANIZATION_ROLE", "org-reader"),
                ],
                false,
                true,
                "CVPN_ORGANIZATION_ROLE",
            ),
            (
                vec![("CVPN_ORGANIZATION_REGIONS", "eu-west-1,eu-west-1")],
                false,
                true,
                "CVPN_ORGANIZATION_REGIONS",
            ),
            (
                vec![("CVPN_ORGANIZATION_REGIONS", "eu-west-1,cn-north-1")],
                false,
                true,
                "CVPN_ORGANIZATION_REGIONS",
            ),
            (
                vec![
                    ("CVPN_ORGANIZATION_REGIONS", "eu-west-1"),
                    ("CVPN_ORGANIZATION_EXCLUDED_ACCOUNTS", "mgmt"),
                ],
                false,
                true,
                "CVPN_ORGANIZATION_EXCLUDED_ACCOUNTS",
            ),
            (
                vec![
                    ("CVPN_ORGANIZATION_REGIONS", "eu-west-1"),
                    ("CVPN_TARGET_ROLE_NAME", "path/role"),
                ],
                false,
                true,
                "CVPN_TARGET_ROLE_NAME",
            ),
        ] {
            assert_eq!(
                read(&vars, targets, table).unwrap_err().variable,
                variable,
                "{vars:?}"
            );
        }
    }
}
