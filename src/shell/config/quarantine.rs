//! Settings of the quarantine and the client connect handler (`CVPN_QUARANTINE_MINUTES`,
//! `CVPN_HOLD_COMMON_NAMES`, `CVPN_DENY_MESSAGE`, `CVPN_CONNECT_*`, `CVPN_MAX_CONNECTIONS_PER_USER`,
//! `CVPN_CONNECT_HANDLER_ARN`, `CVPN_TARGET_CONNECT_HANDLER_NAME`).

use super::{number, word, ConfigError};
use crate::domain::model::{clip, is_account_id};
use crate::domain::quarantine::{OnStoreError, MAX_QUARANTINE_MINUTES};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quarantine {
    /// How long an incident keeps the identities it acted on out; 0: incidents quarantine nobody.
    pub quarantine_minutes: u32,
    /// Shown to a refused user (Client VPN allows at most 255 characters).
    pub deny_message: String,
    pub connect_timeout: Duration,
    pub on_error: OnStoreError,
    /// Refuse a user's connection beyond this many active ones.
    pub max_connections_per_user: Option<usize>,
    /// The deployed connect handler, which every endpoint in the function's own account and
    /// Region should call.
    pub handler_arn: Option<String>,
    /// The name of the connect handler `target.yaml` deploys in each target
    /// (`CVPN_TARGET_CONNECT_HANDLER_NAME`), which that target's endpoints should call.
    pub target_handler_name: String,
    /// Whether a certificate-only connection's common name is held (`CVPN_HOLD_COMMON_NAMES`
    /// `auto`, unless others use it) or never (`never`: clients share one certificate).
    pub hold_common_names: bool,
}

/// Client VPN shows the user at most this many characters (kept to as many bytes).
pub const MAX_DENY_MESSAGE: usize = 255;
pub const HANDLER_PREFIX: &str = "AWSClientVPN-";

impl Default for Quarantine {
    fn default() -> Self {
        Self {
            quarantine_minutes: 1440,
            deny_message: "Your VPN access is suspended while a security alert is investigated. \
                           Contact your security team to have it restored."
                .into(),
            connect_timeout: Duration::from_millis(2000),
            on_error: OnStoreError::Allow,
            max_connections_per_user: None,
            handler_arn: None,
            target_handler_name: "AWSClientVPN-cvpn-terminator".into(),
            hold_common_names: true,
        }
    }
}

impl Quarantine {
    pub(super) fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let err = |variable: &'static str, message: String| ConfigError { variable, message };
        let quarantine_minutes = number(
            get("CVPN_QUARANTINE_MINUTES"),
            0..=MAX_QUARANTINE_MINUTES,
            defaults.quarantine_minutes,
        )
        .map_err(|m| err("CVPN_QUARANTINE_MINUTES", m))?;
        let deny_message = match get("CVPN_DENY_MESSAGE") {
            None => defaults.deny_message,
            Some(m) if m.chars().any(char::is_control) => {
                return Err(err(
                    "CVPN_DENY_MESSAGE",
                    "contains control characters; the VPN client shows it as one line".into(),
                ))
            }
            // Trimmed rather than refused: a long message still says most of what it meant to. To
            // 255 bytes, whole characters: within the limit however Client VPN counts.
            Some(m) => clip(&m, MAX_DENY_MESSAGE).to_owned(),
        };
        let connect_timeout = number(get("CVPN_CONNECT_TIMEOUT_MS"), 50..=25_000, 2000)
            .map_err(|m| err("CVPN_CONNECT_TIMEOUT_MS", m))?;
        let on_error = match word(get("CVPN_CONNECT_ON_ERROR")).as_deref() {
            None | Some("allow") => OnStoreError::Allow,
            Some("deny") => OnStoreError::Deny,
            Some(v) => {
                return Err(err(
                    "CVPN_CONNECT_ON_ERROR",
                    format!("`{v}` is not `allow` or `deny`"),
                ))
            }
        };
        let max_connections_per_user = get("CVPN_MAX_CONNECTIONS_PER_USER")
            .map(|v| number(Some(v), 1..=1000, 0))
            .transpose()
            .map_err(|m| err("CVPN_MAX_CONNECTIONS_PER_USER", m))?;
        let (handler_arn, target_handler_name) = handlers(&get, defaults.target_handler_name)?;
        let hold_common_names = match word(get("CVPN_HOLD_COMMON_NAMES")).as_deref() {
            None | Some("auto") => true,
            Some("never") => false,
            Some(v) => {
                return Err(err(
                    "CVPN_HOLD_COMMON_NAMES",
                    format!("`{v}` is not `auto` or `never`"),
                ))
            }
        };
        Ok(Self {
            quarantine_minutes,
            deny_message,
            connect_timeout: Duration::from_millis(connect_timeout),
            on_error,
            max_connections_per_user,
            handler_arn,
            target_handler_name,
            hold_common_names,
        })
    }
}

/// `arn:PARTITION:lambda:REGION:ACCOUNT:function:AWSClientVPN-…`, with or without a version or
/// alias (Client VPN calls qualified functions too).
fn is_handler_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    matches!(
        parts.as_slice(),
        ["arn", partition, "lambda", region, account, "function", name, ..]
            if parts.len() <= 8
                && partition.starts_with("aws")
                && !region.is_empty()
                && is_account_id(account)
                && name.starts_with(HANDLER_PREFIX)
                && name.len() <= 64
    )
}

/// The connect handler this deployment answers for (`CVPN_CONNECT_HANDLER_ARN`) and the name of
/// the one in each target account: both named as Client VPN requires.
fn handlers(
    get: &impl Fn(&str) -> Option<String>,
    default_target: String,
) -> Result<(Option<String>, String), ConfigError> {
    let err = |variable: &'static str, message: String| ConfigError { variable, message };
    let handler_arn = get("CVPN_CONNECT_HANDLER_ARN");
    if let Some(arn) = &handler_arn {
        if !is_handler_arn(arn) {
            return Err(err(
                "CVPN_CONNECT_HANDLER_ARN",
                format!(
                    "`{arn}` is not a Lambda function ARN whose name begins with \
                     {HANDLER_PREFIX} (Client VPN calls no other)"
                ),
            ));
        }
    }
    let target_handler_name = get("CVPN_TARGET_CONNECT_HANDLER_NAME").unwrap_or(default_target);
    if !target_handler_name.starts_with(HANDLER_PREFIX)
        || target_handler_name.len() > 64
        || target_handler_name.contains(':')
    {
        return Err(err(
            "CVPN_TARGET_CONNECT_HANDLER_NAME",
            format!(
                "`{target_handler_name}` is not a function name beginning with {HANDLER_PREFIX} \
                 (at most 64 characters; Client VPN calls no other)"
            ),
        ));
    }
    Ok((handler_arn, target_handler_name))
}
