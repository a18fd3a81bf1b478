//! Who a name is and who may name a person: `CVPN_USERNAME_CASE`, `CVPN_DIRECTORY_DOMAINS`,
//! `CVPN_USERNAME_TEMPLATE`, `CVPN_MATCH_BY`, `CVPN_PROTECTED_USERS`, `CVPN_IDENTITY_ACCOUNTS` and
//! `CVPN_TRUSTED_SESSION_ROLES`.

use super::values::{list, parse_match_by, word};
use super::ConfigError;
use crate::domain::mapping::{CaseRule, UsernameMapping};
use crate::domain::model::is_account_id;
use crate::domain::naming::{Accounts, Naming};
use crate::domain::person::{Directory, People, UserPattern};
use crate::domain::plan::MatchBy;

/// The identity settings, read together: every other list of names is read by their `people`.
pub(super) struct Who {
    pub people: People,
    pub mapping: UsernameMapping,
    pub match_by: MatchBy,
    pub protected_users: Vec<UserPattern>,
    pub naming: Naming,
}

/// The names `variable` lists, as patterns on every form of a name.
pub(super) fn user_patterns(
    get: &impl Fn(&str) -> Option<String>,
    people: &People,
    variable: &'static str,
) -> Result<Vec<UserPattern>, ConfigError> {
    list(get(variable))
        .iter()
        .map(|p| {
            people
                .pattern(p)
                .map_err(|message| ConfigError { variable, message })
        })
        .collect()
}

pub(super) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Who, ConfigError> {
    let err = |variable: &'static str, message: String| ConfigError { variable, message };
    let case = match word(get("CVPN_USERNAME_CASE")).as_deref() {
        None | Some("insensitive") => CaseRule::Insensitive,
        Some("sensitive") => CaseRule::Sensitive,
        Some(v) => {
            return Err(err(
                "CVPN_USERNAME_CASE",
                format!("`{v}` is not `insensitive` or `sensitive`"),
            ))
        }
    };
    let directory = Directory::parse(&get("CVPN_DIRECTORY_DOMAINS").unwrap_or_default())
        .map_err(|m| err("CVPN_DIRECTORY_DOMAINS", m))?;
    let people = People::new(case, directory);
    let mapping = match get("CVPN_USERNAME_TEMPLATE") {
        None => UsernameMapping::default(),
        Some(t) => UsernameMapping::new(&t).map_err(|m| err("CVPN_USERNAME_TEMPLATE", m))?,
    };
    let protected_users = user_patterns(get, &people, "CVPN_PROTECTED_USERS")?;
    if let Some(all) = protected_users.iter().find(|p| p.matches_everyone()) {
        return Err(err(
            "CVPN_PROTECTED_USERS",
            format!("`{all}` protects every user, so nothing could ever be ended; use CVPN_DRY_RUN to stop terminations"),
        ));
    }
    let identity_accounts = list(get("CVPN_IDENTITY_ACCOUNTS"));
    let accounts = match identity_accounts.as_slice() {
        [] => Accounts::OwnAndTargets,
        [any] if any == "*" => Accounts::Any,
        listed => {
            if let Some(bad) = listed.iter().find(|a| !is_account_id(a)) {
                return Err(err(
                    "CVPN_IDENTITY_ACCOUNTS",
                    format!(
                        "`{bad}` is not an AWS account ID (12 digits); `*` alone opts into any account"
                    ),
                ));
            }
            Accounts::Listed(identity_accounts.clone())
        }
    };
    let naming = Naming::new(accounts, &list(get("CVPN_TRUSTED_SESSION_ROLES")))
        .map_err(|m| err("CVPN_TRUSTED_SESSION_ROLES", m))?;
    let match_by = match word(get("CVPN_MATCH_BY")) {
        None => MatchBy::ALL,
        Some(v) => parse_match_by(&v).map_err(|m| err("CVPN_MATCH_BY", m))?,
    };
    Ok(Who {
        people,
        mapping,
        match_by,
        protected_users,
        naming,
    })
}
