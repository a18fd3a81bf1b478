//! The state file's shape, connections' statuses and times, and the emulated clock (the world they
//! load into: `world.rs`).
//!
//! The state file and `GET /_emulator/state` share one shape, written with the API's own lower camel
//! case names, so a Describe response and a state file read alike.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::time::Instant;

/// Another account, with the roles that may be assumed into it and its endpoints per Region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountState {
    pub account_id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<RoleState>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub regions: BTreeMap<String, RegionState>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegionState {
    #[serde(default)]
    pub endpoints: Vec<EndpointState>,
}

/// A role that `AssumeRole` accepts; with `externalId`, only a request giving that ID.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleState {
    pub role_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

/// How long Describe keeps reporting a terminated connection (documented by AWS).
pub const TERMINATED_VISIBLE_FOR: TimeDelta = TimeDelta::minutes(60);

/// The world: the default account's endpoints — flat (every Region it does not name) or per
/// Region — its roles, and other accounts (`accounts.rs`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StateFile {
    #[serde(default)]
    pub endpoints: Vec<EndpointState>,
    /// The default account; `111122223333` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub regions: BTreeMap<String, RegionState>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<RoleState>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountState>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointState {
    pub client_vpn_endpoint_id: String,
    #[serde(default = "default_cidr")]
    pub client_cidr_block: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default = "default_endpoint_status")]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    /// The client connect handler (`ModifyClientVpnEndpoint --client-connect-options`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_connect_options: Option<ClientConnectOptions>,
    #[serde(default)]
    pub connections: Vec<ConnectionState>,
    /// Connection attempts the connect handler refused, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused_connections: Vec<RefusedConnection>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientConnectOptions {
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda_function_arn: Option<String>,
}

/// A connection attempt the connect handler refused, with the reason Client VPN's connection log
/// gives (`client-connect-failed`, `client-connect-handler-timed-out`, …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefusedConnection {
    pub connection_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    #[serde(with = "api_time")]
    pub time: DateTime<Utc>,
    pub reason: String,
    /// What the handler asked the client to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

fn default_cidr() -> String {
    "10.100.0.0/16".to_owned()
}

fn default_endpoint_status() -> String {
    "available".to_owned()
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectionStatus {
    #[default]
    Active,
    FailedToTerminate,
    Terminating,
    Terminated,
}

impl ConnectionStatus {
    pub fn code(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::FailedToTerminate => "failed-to-terminate",
            Self::Terminating => "terminating",
            Self::Terminated => "terminated",
        }
    }
}

/// One client connection. While `status` is `terminating`, `connectionEndTime` holds the emulated
/// time at which it becomes `terminated`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectionState {
    pub connection_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ipv6_address: Option<String>,
    #[serde(default)]
    pub status: ConnectionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    #[serde(with = "api_time")]
    pub connection_established_time: DateTime<Utc>,
    #[serde(
        default,
        with = "api_time_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub connection_end_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub ingress_bytes: u64,
    #[serde(default)]
    pub egress_bytes: u64,
    #[serde(default)]
    pub ingress_packets: u64,
    #[serde(default)]
    pub egress_packets: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub posture_compliance_status_set: Vec<String>,
}

impl ConnectionState {
    /// Moves a `terminating` connection on to `terminated` once its end time has come.
    pub fn settle(&mut self, now: DateTime<Utc>) {
        if self.status == ConnectionStatus::Terminating
            && self.connection_end_time.is_some_and(|end| end <= now)
        {
            self.status = ConnectionStatus::Terminated;
        }
    }

    /// Whether Describe still reports this connection (active, or ended within the last hour).
    pub fn visible(&self, now: DateTime<Utc>) -> bool {
        match (self.status, self.connection_end_time) {
            (ConnectionStatus::Terminated, Some(end)) => now - end < TERMINATED_VISIBLE_FOR,
            _ => true,
        }
    }
}

/// Timestamps are read in RFC 3339 or in the API's own `2018-12-13 18:38:10` form (UTC), and
/// written in RFC 3339.
pub mod api_time {
    use super::*;

    pub fn parse(text: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                    .ok()
                    .map(|t| t.and_utc())
            })
    }

    /// The form the EC2 API uses in Describe responses.
    pub fn wire(time: DateTime<Utc>) -> String {
        time.format("%Y-%m-%d %H:%M:%S").to_string()
    }

    pub fn serialize<S: Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a time: use RFC 3339 (2026-11-22T08:00:00Z) or `2026-11-22 08:00:00`"
            ))
        })
    }
}

mod api_time_opt {
    use super::*;

    pub fn serialize<S: Serializer>(time: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match time {
            Some(t) => api_time::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        api_time::deserialize(d).map(Some)
    }
}

/// Emulated time: it runs with the wall clock from a base until a test sets it, then stands still
/// until it is set or advanced again, so tests step through time without waiting.
#[derive(Clone, Debug)]
pub struct Clock {
    base: DateTime<Utc>,
    running_since: Option<Instant>,
}

impl Clock {
    /// The earliest time the clock takes: the first RFC 3339 can write (0000-01-01T00:00:00Z).
    pub const EARLIEST: DateTime<Utc> = DateTime::from_timestamp(-62_167_219_200, 0)
        .expect("0000-01-01T00:00:00Z is within chrono's range");
    /// The latest time the clock takes: the last RFC 3339 and the API's `%Y-%m-%d %H:%M:%S` can
    /// write (9999-12-31T23:59:59Z). A running clock stops there.
    pub const LATEST: DateTime<Utc> = DateTime::from_timestamp(253_402_300_799, 0)
        .expect("9999-12-31T23:59:59Z is within chrono's range");

    pub fn in_range(time: DateTime<Utc>) -> bool {
        (Self::EARLIEST..=Self::LATEST).contains(&time)
    }

    pub fn running() -> Self {
        Self {
            base: Utc::now(),
            running_since: Some(Instant::now()),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self.running_since {
            Some(since) => TimeDelta::from_std(since.elapsed())
                .ok()
                .and_then(|elapsed| self.base.checked_add_signed(elapsed))
                .map_or(Self::LATEST, |now| now.min(Self::LATEST)),
            None => self.base,
        }
    }

    pub fn set(&mut self, now: DateTime<Utc>, frozen: bool) {
        self.base = now;
        self.running_since = (!frozen).then(Instant::now);
    }

    pub fn frozen(&self) -> bool {
        self.running_since.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_clock_stops_at_its_latest_time() {
        let mut clock = Clock::running();
        clock.set(Clock::LATEST, false);
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(clock.now(), Clock::LATEST);
        // Before the clock had a range, a base at chrono's own limit overflowed (and panicked).
        clock.base = DateTime::<Utc>::MAX_UTC;
        assert_eq!(clock.now(), Clock::LATEST);
        assert_eq!(
            Clock::EARLIEST.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "0000-01-01T00:00:00Z"
        );
        assert_eq!(
            Clock::LATEST.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "9999-12-31T23:59:59Z"
        );
    }
}
