//! How settings are written: comma lists, flags, whole numbers in a range, `CVPN_MATCH_BY`.

use crate::domain::model::is_account_id;
use crate::domain::plan::MatchBy;

pub(super) fn list(value: Option<String>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A setting that is a word (`allow`, `Sensitive`, `AUTO`, …): read without regard to ASCII case.
pub(super) fn word(value: Option<String>) -> Option<String> {
    value.map(|v| v.to_ascii_lowercase())
}

pub(super) fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

pub(super) fn number<T>(
    value: Option<String>,
    range: std::ops::RangeInclusive<T>,
    default: T,
) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    let Some(v) = value else { return Ok(default) };
    v.parse::<T>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            format!(
                "`{v}` is not a whole number from {} to {}",
                range.start(),
                range.end()
            )
        })
}

/// A number with a fraction, when given: `None` unset.
pub(super) fn decimal(
    value: Option<String>,
    range: std::ops::RangeInclusive<f64>,
) -> Result<Option<f64>, String> {
    let Some(v) = value else { return Ok(None) };
    v.parse::<f64>()
        .ok()
        .filter(|n| range.contains(n))
        .map(Some)
        .ok_or_else(|| {
            format!(
                "`{v}` is not a number from {} to {}",
                range.start(),
                range.end()
            )
        })
}

pub(super) fn parse_match_by(v: &str) -> Result<MatchBy, String> {
    let mut by = MatchBy {
        username: false,
        common_name: false,
        connection_id: false,
        client_ip: false,
    };
    for item in list(Some(v.to_owned())) {
        match item.as_str() {
            "username" => by.username = true,
            "common-name" => by.common_name = true,
            "connection-id" => by.connection_id = true,
            "client-ip" => by.client_ip = true,
            other => {
                return Err(format!(
                    "`{other}` is not one of username, common-name, connection-id, client-ip"
                ))
            }
        }
    }
    if by
        == (MatchBy {
            username: false,
            common_name: false,
            connection_id: false,
            client_ip: false,
        })
    {
        return Err("name at least one of username, common-name, connection-id, client-ip".into());
    }
    Ok(by)
}

/// The Region of a table named by ARN (`arn:PARTITION:dynamodb:REGION:ACCOUNT:table/NAME`);
/// `None` for a plain name.
pub(super) fn table_region(table: &str) -> Result<Option<String>, String> {
    if !table.starts_with("arn:") {
        return Ok(None);
    }
    match table.splitn(6, ':').collect::<Vec<_>>().as_slice() {
        ["arn", partition, "dynamodb", region, account, resource]
            if !partition.is_empty()
                && crate::domain::targets::is_region(region)
                && is_account_id(account)
                && resource
                    .strip_prefix("table/")
                    .is_some_and(|n| !n.is_empty() && !n.contains('/')) =>
        {
            Ok(Some((*region).to_owned()))
        }
        _ => Err(format!(
            "`{table}` is not a table ARN (arn:PARTITION:dynamodb:REGION:ACCOUNT:table/NAME)"
        )),
    }
}
