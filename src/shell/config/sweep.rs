//! The scheduled cleanup's policy: `CVPN_IDLE_MINUTES`, `CVPN_MAX_SESSION_MINUTES`,
//! `CVPN_IDLE_BYTES` and the extended users' limits (`CVPN_EXTENDED_*`).

use super::values::number;
use super::ConfigError;
use crate::domain::person::{People, UserPattern};
use crate::domain::policy::{Limits, SweepPolicy};

pub(super) fn policy(
    get: &impl Fn(&str) -> Option<String>,
    people: &People,
    extended_users: &[UserPattern],
) -> Result<SweepPolicy, ConfigError> {
    let err = |variable: &'static str, message: String| ConfigError { variable, message };
    let defaults = SweepPolicy::default();
    let minutes = |variable: &'static str| -> Result<Option<u32>, ConfigError> {
        get(variable)
            .map(|v| number(Some(v), 1..=5_256_000, 0).map_err(|m| err(variable, m)))
            .transpose()
    };
    let limits = Limits {
        idle_minutes: minutes("CVPN_IDLE_MINUTES")?,
        max_session_minutes: minutes("CVPN_MAX_SESSION_MINUTES")?,
    };
    let extended = Limits {
        idle_minutes: minutes("CVPN_EXTENDED_IDLE_MINUTES")?,
        max_session_minutes: minutes("CVPN_EXTENDED_MAX_SESSION_MINUTES")?,
    };
    for (variable, longer, shorter) in [
        (
            "CVPN_EXTENDED_IDLE_MINUTES",
            extended.idle_minutes,
            limits.idle_minutes,
        ),
        (
            "CVPN_EXTENDED_MAX_SESSION_MINUTES",
            extended.max_session_minutes,
            limits.max_session_minutes,
        ),
    ] {
        if let (Some(l), Some(s)) = (longer, shorter) {
            if l < s {
                return Err(err(variable, format!("{l} is shorter than the ordinary limit {s}; the extended policy is the longer one")));
            }
        }
    }
    Ok(SweepPolicy {
        limits,
        idle_bytes: number(get("CVPN_IDLE_BYTES"), 1..=u64::MAX, defaults.idle_bytes)
            .map_err(|m| err("CVPN_IDLE_BYTES", m))?,
        extended_users: extended_users.to_vec(),
        people: people.clone(),
        extended,
    })
}
