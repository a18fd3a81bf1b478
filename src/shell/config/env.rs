//! Settings from the process environment. A value that is not UTF-8 is an error naming its
//! variable, never "unset" (a garbled `CVPN_DRY_RUN` must not run live). The client connect
//! handler reads only the settings it needs ([`CONNECT_SETTINGS`]), each on its own: a bad one
//! falls back to its documented default and is said on every decision, and a bad setting it does
//! not use changes nothing it decides.

use super::{Config, ConfigError};
use std::collections::HashMap;
use std::ffi::OsString;

/// What the connect handler reads; every other setting is left at its default for it.
pub const CONNECT_SETTINGS: [&str; 9] = [
    "CVPN_STATE_TABLE",
    "CVPN_USERNAME_CASE",
    "CVPN_DIRECTORY_DOMAINS",
    "CVPN_PROTECTED_USERS",
    "CVPN_CONNECT_ON_ERROR",
    "CVPN_CONNECT_TIMEOUT_MS",
    "CVPN_MAX_CONNECTIONS_PER_USER",
    "CVPN_DENY_MESSAGE",
    "CVPN_MAX_ATTEMPTS",
];

/// The environment's settings as text. A `CVPN_` variable whose value is not UTF-8 is an error
/// naming it; the names are the environment's, so the name is kept for the process's life (this
/// happens once, at start, before the function exits or answers only connect requests).
fn settings(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> (HashMap<String, String>, Vec<ConfigError>) {
    let mut values = HashMap::new();
    let mut problems = Vec::new();
    for (name, value) in vars {
        let Ok(name) = name.into_string() else {
            continue;
        };
        match value.into_string() {
            Ok(v) => {
                values.insert(name, v);
            }
            Err(_) if name.starts_with("CVPN_") => problems.push(ConfigError {
                variable: name.leak(),
                message:
                    "is not valid UTF-8; set it again in plain text (it was not read as unset)"
                        .into(),
            }),
            Err(_) => {}
        }
    }
    problems.sort_by_key(|p| p.variable);
    (values, problems)
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars_os())
    }

    /// As [`Config::from_env`] over any list of variables (tests give non-UTF-8 values).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Result<Self, ConfigError> {
        let (values, mut problems) = settings(vars);
        if !problems.is_empty() {
            return Err(problems.remove(0));
        }
        Self::from_lookup(|name| values.get(name).cloned())
    }

    /// The connect handler's settings when the whole configuration is bad: each of
    /// [`CONNECT_SETTINGS`] that cannot be read (not UTF-8, or a bad value) is left at its default
    /// and listed in `unreadable`; the other settings are not read at all.
    pub fn for_connect(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Self {
        let (values, unreadable) = settings(vars);
        let mut problems: Vec<ConfigError> = unreadable
            .into_iter()
            .filter(|p| CONNECT_SETTINGS.contains(&p.variable))
            .collect();
        let mut dropped: Vec<&str> = problems.iter().map(|p| p.variable).collect();
        loop {
            let get = |name: &str| {
                (CONNECT_SETTINGS.contains(&name) && !dropped.contains(&name))
                    .then(|| values.get(name).cloned())
                    .flatten()
            };
            match Self::from_lookup(get) {
                Ok(config) => {
                    return Config {
                        unreadable: problems,
                        ..config
                    }
                }
                // Each round drops one more setting, so this ends within CONNECT_SETTINGS' length.
                Err(e) if !dropped.contains(&e.variable) => {
                    dropped.push(e.variable);
                    problems.push(e);
                }
                Err(e) => {
                    problems.push(e);
                    return Config {
                        unreadable: problems,
                        ..Config::default()
                    };
                }
            }
        }
    }
}
