//! Plain data shared by the pure core and the EC2 adapter.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use std::net::IpAddr;

/// Where the function acts: an account (`None`: the function's own) and a Region (`None`: the
/// function's own). EC2 throttles, and the function paces, per place.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Place {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

impl Place {
    /// The place as people read it: `ACCOUNT/REGION`, `this account` and `this Region` where
    /// unnamed.
    pub fn label(&self) -> String {
        format!(
            "{}/{}",
            self.account.as_deref().unwrap_or("this account"),
            self.region.as_deref().unwrap_or("this Region")
        )
    }

    /// The place of `account` in `region` (`None`: the function's own), for tests.
    #[cfg(test)]
    pub fn at(account: Option<&str>, region: Option<&str>) -> Place {
        Place {
            account: account.map(str::to_owned),
            region: region.map(str::to_owned),
        }
    }
}

/// One Client VPN connection as Describe reports it, and where its endpoint is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Connection {
    pub place: Place,
    pub endpoint_id: String,
    pub connection_id: String,
    pub username: Option<String>,
    pub common_name: Option<String>,
    pub client_ip: Option<IpAddr>,
    pub status: ConnectionStatus,
    pub established: Option<DateTime<Utc>>,
    /// Set once the connection ended (or, while terminating, when it will).
    pub ended: Option<DateTime<Utc>>,
    /// When EC2 read these counters (Describe's `timestamp`).
    pub observed: Option<DateTime<Utc>>,
    pub ingress_bytes: u64,
    pub egress_bytes: u64,
}

impl Connection {
    pub fn is_active(&self) -> bool {
        self.status == ConnectionStatus::Active
    }
}

/// A connection's status as Client VPN reports it; `unknown` for a code it has not documented.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectionStatus {
    Active,
    Terminating,
    Terminated,
    FailedToTerminate,
    Unknown,
}

impl ConnectionStatus {
    pub fn parse(code: &str) -> Self {
        match code {
            "active" => Self::Active,
            "terminating" => Self::Terminating,
            "terminated" => Self::Terminated,
            "failed-to-terminate" => Self::FailedToTerminate,
            _ => Self::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Terminating => "terminating",
            Self::Terminated => "terminated",
            Self::FailedToTerminate => "failed-to-terminate",
            Self::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for ConnectionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a finding or a connection was skipped, deferred or failed. The strings are a stable
/// interface (docs/what-people-see.md, "Log lines"): log queries and runbooks read them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    FindingClosed,
    UntrustedProduct,
    BelowSeverity,
    TypeDenied,
    TypeNotAllowed,
    OutOfScope,
    NoIdentity,
    ForeignAccount,
    /// A session name whose caller could choose it (a role not trusted to carry people's names).
    UntrustedSessionName,
    /// A posture or compliance finding: how something is set up, not that anyone acted.
    PostureFinding,
    /// An identity provider's event from a source not in `CVPN_IDP_SOURCES`.
    UntrustedSource,
    /// An identity provider's event that does not say the person is out (its type, or an
    /// outcome other than `SUCCESS`).
    NotOut,
    NoMatch,
    AmbiguousIp,
    IpReassigned,
    /// Client addresses set aside while places or endpoints could not be listed: which
    /// connection held an address is only known from the whole picture.
    IncompletePicture,
    Protected,
    NotActive,
    AlreadyEnded,
    CapExceeded,
    LeftActive,
    /// A person released the user from the quarantine this finding had placed them in.
    Released,
    /// Security Hub's event for this function's own note on the finding.
    OwnNote,
    /// Not started, or cut off, at the invocation's deadline.
    Deadline,
    /// Beyond the sweep's ceiling: left for the next tick.
    Ceiling,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FindingClosed => "finding_closed",
            Self::UntrustedProduct => "untrusted_product",
            Self::BelowSeverity => "below_severity",
            Self::TypeDenied => "type_denied",
            Self::TypeNotAllowed => "type_not_allowed",
            Self::OutOfScope => "out_of_scope",
            Self::NoIdentity => "no_identity",
            Self::ForeignAccount => "foreign_account",
            Self::UntrustedSessionName => "untrusted_session_name",
            Self::PostureFinding => "posture_finding",
            Self::UntrustedSource => "untrusted_source",
            Self::NotOut => "not_out",
            Self::NoMatch => "no_match",
            Self::AmbiguousIp => "ambiguous_ip",
            Self::IpReassigned => "ip_reassigned",
            Self::IncompletePicture => "incomplete_picture",
            Self::Protected => "protected",
            Self::NotActive => "not_active",
            Self::AlreadyEnded => "already_ended",
            Self::CapExceeded => "cap_exceeded",
            Self::LeftActive => "left_active",
            Self::Released => "released",
            Self::OwnNote => "own_note",
            Self::Deadline => "deadline",
            Self::Ceiling => "ceiling",
        }
    }
}

/// An endpoint and the block its clients' addresses come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub place: Place,
    pub id: String,
    pub client_cidr: Option<Cidr>,
    /// The client connect handler's Lambda ARN, when one is enabled.
    pub connect_handler: Option<String>,
}

/// An address block such as `10.100.0.0/16`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    base: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Self> {
        let (base, prefix) = text.trim().split_once('/')?;
        let base: IpAddr = base.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        let bits = if base.is_ipv4() { 32 } else { 128 };
        (prefix <= bits).then_some(Self { base, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let (a, b, bits) = match (self.base, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32),
            (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
            _ => return false,
        };
        let host_bits = bits - u32::from(self.prefix);
        host_bits >= bits || (a >> host_bits) == (b >> host_bits)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

/// How one Terminate call selects connections.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    Username(String),
    ConnectionId(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Status {
    pub code: ConnectionStatus,
    pub message: Option<String>,
}

/// One entry of Terminate's `connectionStatuses`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusChange {
    pub connection_id: String,
    pub previous: Status,
    pub current: Status,
}

/// An error from the EC2 API (its code), or from reaching it (a code of our own naming the failure).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

pub const DRY_RUN_OPERATION: &str = "DryRunOperation";
pub const USER_NOT_FOUND: &str = "InvalidClientVpnConnection.UserNotFound";
pub const CONNECTION_NOT_FOUND: &str = "InvalidClientVpnConnection.IdNotFound";
pub const ENDPOINT_NOT_FOUND: &str = "InvalidClientVpnEndpointId.NotFound";
/// Our codes for a call the invocation's deadline cut off, and for one it never started.
pub const DEADLINE: &str = "Deadline";
pub const NOT_STARTED: &str = "DeadlineNotStarted";
/// Most connections one `Username` call may end (documented by AWS).
pub const USERNAME_LIMIT: usize = 5;

/// One page of a listing and the token for the next.
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn clip(s: &str, max: usize) -> &str {
    let mut end = 0;
    for (i, c) in s.char_indices() {
        if i + c.len_utf8() > max {
            break;
        }
        end = i + c.len_utf8();
    }
    &s[..end]
}

/// Client VPN times come as `2018-12-13 18:38:10` (UTC); RFC 3339 is accepted too.
pub fn parse_api_time(text: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .map(|t| t.and_utc())
        .ok()
        .or_else(|| {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        })
}

/// Whether `text` is `prefix` followed by exactly 17 lower-case hex digits, the form of Client VPN
/// endpoint and connection IDs.
pub fn is_resource_id(text: &str, prefix: &str) -> bool {
    text.strip_prefix(prefix).is_some_and(|hex| {
        hex.len() == 17
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Whether `text` is an AWS account ID: twelve digits.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

pub const ENDPOINT_PREFIX: &str = "cvpn-endpoint-";
pub const CONNECTION_PREFIX: &str = "cvpn-connection-";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_reasons_serialise_to_their_documented_strings() {
        for status in [
            ConnectionStatus::Active,
            ConnectionStatus::Terminating,
            ConnectionStatus::Terminated,
            ConnectionStatus::FailedToTerminate,
        ] {
            assert_eq!(ConnectionStatus::parse(status.as_str()), status);
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        assert_eq!(
            ConnectionStatus::parse("pending"),
            ConnectionStatus::Unknown
        );
        for reason in [Reason::NoIdentity, Reason::IpReassigned, Reason::LeftActive] {
            assert_eq!(serde_json::to_value(reason).unwrap(), reason.as_str());
        }
    }

    #[test]
    fn parses_both_time_forms() {
        let t = parse_api_time("2026-11-22 08:00:00").unwrap();
        assert_eq!(Some(t), parse_api_time("2026-11-22T08:00:00Z"));
        assert_eq!(parse_api_time("yesterday"), None);
    }

    #[test]
    fn cidrs_contain_their_addresses_only() {
        let c = Cidr::parse("10.100.0.0/16").unwrap();
        assert!(c.contains("10.100.255.1".parse().unwrap()));
        assert!(!c.contains("10.101.0.1".parse().unwrap()));
        assert!(!c.contains("::1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.7/32")
            .unwrap()
            .contains("10.0.0.7".parse().unwrap()));
        assert!(Cidr::parse("fd00::/8")
            .unwrap()
            .contains("fd12::1".parse().unwrap()));
        for bad in ["10.0.0.0", "10.0.0.0/33", "x/8", "::/129"] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn recognises_resource_ids() {
        assert!(is_resource_id(
            "cvpn-endpoint-0123456789abcdef0",
            ENDPOINT_PREFIX
        ));
        assert!(!is_resource_id(
            "cvpn-endpoint-0123456789ABCDEF0",
            ENDPOINT_PREFIX
        ));
        assert!(!is_resource_id(
            "cvpn-endpoint-0123456789abcdef",
            ENDPOINT_PREFIX
        ));
        assert!(!is_resource_id(
            "cvpn-connection-0123456789abcdef0",
            ENDPOINT_PREFIX
        ));
    }
}
