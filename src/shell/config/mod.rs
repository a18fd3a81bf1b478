//! Settings from environment variables, validated once at start; every error names its variable.

use crate::domain::approval::AskRules;
use crate::domain::gates::Gates;
use crate::domain::mapping::UsernameMapping;
use crate::domain::model::{is_resource_id, ENDPOINT_PREFIX};
use crate::domain::naming::Naming;
use crate::domain::person::{People, UserPattern};
use crate::domain::plan::MatchBy;
use crate::domain::policy::SweepPolicy;
use crate::domain::scope::Scope;
use crate::domain::targets::{self, TargetSpec};
use crate::domain::trigger::takes::Takes;
use std::fmt;
use std::time::Duration;

mod aggregator;
mod ask;
mod env;
mod findings;
mod identity;
mod idp;
mod notify;
mod organization;
mod quarantine;
mod sweep;
mod values;
pub use aggregator::AggregatorSpec;
pub use env::CONNECT_SETTINGS;
pub use idp::{Idp, Signal};
pub use notify::{Notify, Workflow};
pub use quarantine::{Quarantine, HANDLER_PREFIX, MAX_DENY_MESSAGE};
use values::{decimal, list, number, parse_bool, table_region, word};

#[derive(Clone, Debug)]
pub struct Config {
    /// Where to act (`CVPN_TARGETS`); empty: the function's own account and Region, unless the
    /// organization's accounts are the targets.
    pub targets: Vec<TargetSpec>,
    /// An organization's accounts as the targets (`CVPN_ORGANIZATION_*`), listed at start.
    pub organization: Option<crate::domain::organization::Reach>,
    /// AWS Config's aggregator, asked where endpoints are when no sweep lately has said
    /// (`CVPN_CONFIG_AGGREGATOR*`).
    pub aggregator: Option<AggregatorSpec>,
    /// Given when assuming a target's role (`CVPN_EXTERNAL_ID`).
    pub external_id: Option<String>,
    /// The endpoints acted on (`CVPN_ENDPOINT_IDS`; none named: every endpoint of every target).
    pub scope: Scope,
    pub dry_run: bool,
    /// Who a name is (`CVPN_USERNAME_CASE`, `CVPN_DIRECTORY_DOMAINS`): every comparison of names.
    pub people: People,
    /// Never ended, never held (`CVPN_PROTECTED_USERS`), in any form of the name.
    pub protected_users: Vec<UserPattern>,
    /// Who may name a person (`CVPN_IDENTITY_ACCOUNTS`, `CVPN_TRUSTED_SESSION_ROLES`).
    pub naming: Naming,
    /// The identity provider's word: its log streams, its signed tokens, and what its "back in"
    /// does.
    pub idp: Idp,
    pub max_terminations: usize,
    pub gates: Gates,
    /// When a person is asked first (`CVPN_ASK_*`, `CVPN_APPROVALS_REQUIRED`).
    pub ask: AskRules,
    /// What this deployment takes (`CVPN_TAKES`): everything, or, on the functions that carry
    /// out people's answers, only those.
    pub takes: Takes,
    pub mapping: UsernameMapping,
    pub match_by: MatchBy,
    /// Terminate calls and endpoint listings in flight at once.
    pub concurrency: usize,
    /// Places (targets) whose endpoints are listed at once (`CVPN_PLACE_CONCURRENCY`): each is
    /// its own role and connection, so an organization's thousands are worked on tens at a time.
    pub place_concurrency: usize,
    /// Attempts per API call, retries included (the SDK's adaptive retry; Terminate's own).
    pub max_attempts: u32,
    /// Terminate calls a second to start at (`CVPN_TERMINATE_RATE`), for accounts whose raised
    /// limit is known; otherwise learned from the first throttles.
    pub terminate_rate: Option<f64>,
    /// The scheduled cleanup's policy.
    pub sweep: SweepPolicy,
    /// DynamoDB table for the idle policy's state: a name, or another account's table by ARN
    /// (a connect handler in a network account reads the central table).
    pub state_table: Option<String>,
    /// The Region of a table given by ARN, where its client must send.
    pub state_table_region: Option<String>,
    /// Ceiling on terminations per sweep: the most idle go first, the rest are deferred.
    pub max_sweep_terminations: usize,
    /// No call starts, and none runs, when less than this remains before the Lambda deadline.
    pub deadline_margin: Duration,
    /// How far a tick's time may be ahead of this machine's clock.
    pub max_clock_skew: chrono::TimeDelta,
    /// The shortest idle or session limit a schedule's overrides may set.
    pub min_override_minutes: u32,
    /// The quarantine and the connect handler.
    pub quarantine: Quarantine,
    /// Outcome events and notes on findings.
    pub notify: Notify,
    /// Settings the connect handler needs that could not be read ([`Config::for_connect`]):
    /// their defaults are in force, and every decision says so.
    pub unreadable: Vec<ConfigError>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            targets: Vec::new(),
            organization: None,
            aggregator: None,
            external_id: None,
            scope: Scope::default(),
            dry_run: false,
            people: People::default(),
            protected_users: Vec::new(),
            naming: Naming::default(),
            idp: Idp::default(),
            max_terminations: 10,
            gates: Gates::default(),
            ask: AskRules::default(),
            takes: Takes::Everything,
            mapping: UsernameMapping::default(),
            match_by: MatchBy::ALL,
            concurrency: 8,
            place_concurrency: 32,
            max_attempts: 5,
            terminate_rate: None,
            sweep: SweepPolicy::default(),
            state_table: None,
            state_table_region: None,
            max_sweep_terminations: 10,
            deadline_margin: Duration::from_secs(5),
            max_clock_skew: chrono::TimeDelta::seconds(300),
            min_override_minutes: 15,
            quarantine: Quarantine::default(),
            notify: Notify::default(),
            unreadable: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads every setting through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let defaults = Config::default();
        let err = |variable: &'static str, message: String| ConfigError { variable, message };

        let (targets, external_id, endpoint_ids) = reach(&get)?;
        let dry_run = match get("CVPN_DRY_RUN") {
            None => false,
            Some(v) => parse_bool(&v)
                .ok_or_else(|| err("CVPN_DRY_RUN", format!("`{v}` is not true or false")))?,
        };
        let who = identity::from_lookup(&get)?;
        let limits = limits(&get, &defaults)?;
        let gates = findings::gates(&get)?;
        let extended_users = identity::user_patterns(&get, &who.people, "CVPN_EXTENDED_USERS")?;
        let sweep = sweep::policy(&get, &who.people, &extended_users)?;
        let state_table = get("CVPN_STATE_TABLE");
        let state_table_region = state_table
            .as_deref()
            .map(table_region)
            .transpose()
            .map_err(|m| err("CVPN_STATE_TABLE", m))?
            .flatten();
        let organization = organization::reach(&get, !targets.is_empty(), state_table.is_some())?;
        if sweep.tracks_idle() && state_table.is_none() {
            return Err(err(
                "CVPN_STATE_TABLE",
                "the idle policy (CVPN_IDLE_MINUTES or CVPN_EXTENDED_IDLE_MINUTES) keeps counters between ticks \
                 and needs a DynamoDB table: set CVPN_STATE_TABLE"
                    .into(),
            ));
        }
        let ask = ask::from_lookup(&get, &who.people, gates.min_severity, state_table.is_some())?;
        let takes = ask::takes(&get, state_table.is_some())?;
        Ok(Config {
            targets,
            organization,
            aggregator: aggregator::aggregator(&get)?,
            external_id,
            scope: Scope::endpoints(endpoint_ids),
            dry_run,
            people: who.people,
            protected_users: who.protected_users,
            naming: who.naming,
            idp: Idp::from_lookup(&get, state_table.is_some())?,
            max_terminations: limits.max_terminations,
            ask,
            takes,
            gates,
            mapping: who.mapping,
            match_by: who.match_by,
            concurrency: limits.concurrency,
            place_concurrency: limits.place_concurrency,
            max_attempts: limits.max_attempts,
            terminate_rate: limits.terminate_rate,
            sweep,
            state_table,
            state_table_region,
            max_sweep_terminations: limits.max_sweep_terminations,
            deadline_margin: limits.deadline_margin,
            max_clock_skew: limits.max_clock_skew,
            min_override_minutes: limits.min_override_minutes,
            quarantine: Quarantine::from_lookup(get)?,
            notify: Notify::from_lookup(get, &lookup)?,
            unreadable: Vec::new(),
        })
    }

    pub fn is_protected(&self, name: &str) -> bool {
        self.people.listed(&self.protected_users, name)
    }

    /// The accounts of `CVPN_TARGETS`' roles, whose principals may name people by default.
    pub fn target_accounts(&self) -> Vec<String> {
        self.targets
            .iter()
            .filter_map(|t| t.place.account.clone())
            .collect()
    }

    /// Minutes an incident keeps the identities it acted on out: `None` when quarantine is off
    /// (`CVPN_QUARANTINE_MINUTES=0`, or no table to keep it in).
    pub fn quarantine_minutes(&self) -> Option<u32> {
        (self.quarantine.quarantine_minutes > 0 && self.state_table.is_some())
            .then_some(self.quarantine.quarantine_minutes)
    }
}

/// Where to act: `CVPN_TARGETS`, the `CVPN_EXTERNAL_ID` their roles are assumed with, and
/// `CVPN_ENDPOINT_IDS`.
type Reach = (Vec<TargetSpec>, Option<String>, Vec<String>);

fn reach(get: &impl Fn(&str) -> Option<String>) -> Result<Reach, ConfigError> {
    let err = |variable: &'static str, message: String| ConfigError { variable, message };
    let targets = targets::parse(&list(get("CVPN_TARGETS"))).map_err(|m| err("CVPN_TARGETS", m))?;
    let external_id = get("CVPN_EXTERNAL_ID");
    // An organization's accounts are each reached through a role.
    let organization = get("CVPN_ORGANIZATION_REGIONS").is_some();
    if external_id.is_some() && !organization && targets.iter().all(|t| t.role_arn.is_none()) {
        return Err(err(
            "CVPN_EXTERNAL_ID",
            "is set, but CVPN_TARGETS names no role to assume with it".into(),
        ));
    }
    let endpoint_ids = list(get("CVPN_ENDPOINT_IDS"));
    if let Some(bad) = endpoint_ids
        .iter()
        .find(|id| !is_resource_id(id, ENDPOINT_PREFIX))
    {
        return Err(err(
            "CVPN_ENDPOINT_IDS",
            format!("`{bad}` is not a Client VPN endpoint ID (cvpn-endpoint- and 17 hex digits)"),
        ));
    }
    Ok((targets, external_id, endpoint_ids))
}

/// How much one invocation may do, and how fast: the numeric settings, each within its range.
struct Limits {
    max_terminations: usize,
    max_sweep_terminations: usize,
    concurrency: usize,
    place_concurrency: usize,
    max_attempts: u32,
    terminate_rate: Option<f64>,
    deadline_margin: Duration,
    max_clock_skew: chrono::TimeDelta,
    min_override_minutes: u32,
}

fn limits(get: &impl Fn(&str) -> Option<String>, defaults: &Config) -> Result<Limits, ConfigError> {
    let err = |variable: &'static str| move |message: String| ConfigError { variable, message };
    let max_terminations = number(
        get("CVPN_MAX_TERMINATIONS"),
        1..=100_000,
        defaults.max_terminations,
    )
    .map_err(err("CVPN_MAX_TERMINATIONS"))?;
    // At least a second: what follows the last call (its log line, the summary, the answer)
    // must land before Lambda freezes the process.
    let deadline_margin = number(get("CVPN_DEADLINE_MARGIN_SECONDS"), 1..=900, 5)
        .map_err(err("CVPN_DEADLINE_MARGIN_SECONDS"))?;
    let max_clock_skew = number(get("CVPN_MAX_CLOCK_SKEW_SECONDS"), 0..=86_400, 300)
        .map_err(err("CVPN_MAX_CLOCK_SKEW_SECONDS"))?;
    Ok(Limits {
        max_terminations,
        max_sweep_terminations: number(
            get("CVPN_MAX_SWEEP_TERMINATIONS"),
            1..=1_000_000,
            max_terminations,
        )
        .map_err(err("CVPN_MAX_SWEEP_TERMINATIONS"))?,
        concurrency: number(get("CVPN_CONCURRENCY"), 1..=256, defaults.concurrency)
            .map_err(err("CVPN_CONCURRENCY"))?,
        place_concurrency: number(
            get("CVPN_PLACE_CONCURRENCY"),
            1..=256,
            defaults.place_concurrency,
        )
        .map_err(err("CVPN_PLACE_CONCURRENCY"))?,
        max_attempts: number(get("CVPN_MAX_ATTEMPTS"), 1..=20, defaults.max_attempts)
            .map_err(err("CVPN_MAX_ATTEMPTS"))?,
        terminate_rate: decimal(get("CVPN_TERMINATE_RATE"), 0.1..=100_000.0).map_err(|m| {
            ConfigError {
                variable: "CVPN_TERMINATE_RATE",
                message: format!("{m} calls a second"),
            }
        })?,
        deadline_margin: Duration::from_secs(deadline_margin),
        max_clock_skew: chrono::TimeDelta::seconds(max_clock_skew),
        min_override_minutes: number(get("CVPN_MIN_OVERRIDE_MINUTES"), 1..=5_256_000, 15)
            .map_err(err("CVPN_MIN_OVERRIDE_MINUTES"))?,
    })
}

#[cfg(test)]
mod tests;
