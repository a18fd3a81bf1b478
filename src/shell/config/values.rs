//! How settings are written: comma lists, flags, whole numbers in a range, `CVPN_MATCH_BY`.

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

pub(super) fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

pub(super) fn number(
    value: Option<String>,
    range: std::ops::RangeInclusive<usize>,
    default: usize,
) -> Result<usize, String> {
    let Some(v) = value else { return Ok(default) };
    v.parse::<usize>()
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
