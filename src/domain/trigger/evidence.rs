//! What a finding's detector (or an analyst) says about who or what is affected: identities,
//! client IPs, Client VPN connection and endpoint IDs, and when the activity was last seen. Each
//! format module reads only its own trusted fields into [`Evidence`]; the rules every format
//! shares (which principals are people, which ARNs name whom, how IDs are written) live here.
//! Pure.
//!
//! A principal names a person only as an IAM user, or as the session of an assumed role or
//! federated user. Root, AWS services, AWS accounts, roles without a session, principals of
//! unknown or missing type and ARNs of other services (MemoryDB and Transfer Family have users
//! too) name nobody: they are recorded in [`Evidence::no_identity`] with the field considered.

use super::principal::{arn, person_kind, role_name, session_of, Person};
use crate::domain::json::{At, DecodeError};
use crate::domain::model::{is_resource_id, CONNECTION_PREFIX, ENDPOINT_PREFIX};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::net::IpAddr;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Named<T> {
    pub value: T,
    /// The field path in the event it was read from.
    pub origin: String,
}

/// A person's name as the finding gives it, the account of the principal, and what kind of
/// principal wrote it (who may name a person is `domain::naming`'s rule).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub name: Named<String>,
    pub account: Option<String>,
    pub by: NamedBy,
}

/// The kind of principal a name came from: an IAM user's name is an account's own; a session name
/// is whatever the caller of `AssumeRole` (or `GetFederationToken`) chose, unless the role is one
/// whose session names the caller cannot choose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamedBy {
    IamUser,
    /// The session of an assumed role; the role's name when the finding says.
    Session {
        role: Option<String>,
    },
    FederatedUser,
}

/// A principal the finding names that is not a person (reason `no_identity`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoIdentity {
    /// The field that was considered.
    pub field: String,
    pub detail: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evidence {
    pub identities: Vec<Identity>,
    pub no_identity: Vec<NoIdentity>,
    pub ips: Vec<Named<IpAddr>>,
    pub connection_ids: Vec<String>,
    pub endpoint_ids: Vec<String>,
    /// When the activity was first seen, if the finding says; else it is taken as `seen_at`.
    pub first_seen: Option<DateTime<Utc>>,
    /// When the activity was last seen: a client IP names only the connection that held it then.
    pub seen_at: Option<DateTime<Utc>>,
}

/// Whether a direction field (ASFF `IN`, GuardDuty `INBOUND`) says the remote side started it; a
/// missing direction does not.
pub(super) fn is_inbound(direction: Option<&At>) -> Result<bool, DecodeError> {
    match direction {
        Some(d) => Ok(matches!(
            d.str()?.to_ascii_uppercase().as_str(),
            "IN" | "INBOUND"
        )),
        None => Ok(false),
    }
}

/// One principal as a format reports it, its fields located but not yet judged.
pub(super) struct Principal<'a> {
    /// The principal's type, as written (`IAMUser`, `assumedRole`, …), with its path.
    pub kind: Option<(&'a str, String)>,
    /// Where the principal sits, for the report when it has no type.
    pub at: String,
    pub name: Option<At<'a>>,
    /// `AROA…:session` for assumed roles, `ACCOUNT:name` for federated users.
    pub principal_id: Option<At<'a>>,
    pub arn: Option<At<'a>>,
    /// The finding's (or resource's) account, when the principal has no ARN to say.
    pub account: Option<String>,
    /// For an assumed role: the role's name or ARN (ASFF `SessionContext.SessionIssuer`, OCSF
    /// `actor.session.issuer`); else `name`, which GuardDuty and ASFF set to the role's name.
    pub role: Option<At<'a>>,
}

impl Person {
    fn named_by(self, role: Option<String>) -> NamedBy {
        match self {
            Self::IamUser => NamedBy::IamUser,
            Self::AssumedRole => NamedBy::Session { role },
            Self::FederatedUser => NamedBy::FederatedUser,
        }
    }
}

impl Evidence {
    fn identity(&mut self, name: &str, origin: String, account: Option<String>, by: NamedBy) {
        // ASCII only: a trailing ideographic space is part of another name.
        let name = name.trim_ascii();
        if !name.is_empty()
            && !self
                .identities
                .iter()
                .any(|i| i.name.value == name && i.account == account && i.by == by)
        {
            self.identities.push(Identity {
                name: Named {
                    value: name.to_owned(),
                    origin,
                },
                account,
                by,
            });
        }
    }

    /// Records a principal that names nobody.
    pub(super) fn refuse(&mut self, field: String, detail: impl Into<String>) {
        self.no_identity.push(NoIdentity {
            field,
            detail: detail.into(),
        });
    }

    /// Judges one principal: a person's name is an identity, anything else is `no_identity`.
    pub(super) fn principal(&mut self, p: Principal) {
        let Some((kind_text, kind_path)) = p.kind else {
            return self.refuse(
                p.at,
                "the principal has no type, so whether it is a person cannot be told",
            );
        };
        let Some(kind) = person_kind(kind_text) else {
            return self.refuse(
                kind_path,
                format!("a principal of type `{kind_text}` is not a person: only IAM users and sessions of assumed roles or federated users are"),
            );
        };
        let parsed = p
            .arn
            .as_ref()
            .and_then(|a| a.value.as_str().map(|t| (a, arn(t))));
        // An ARN that disagrees with the type (a MemoryDB user said to be an IAM user) is refused.
        if let Some((at, Some(parsed))) = &parsed {
            if parsed.person().map(|(k, _)| k) != Some(kind) {
                return self.refuse(
                    at.path(),
                    format!("not the ARN of a {kind_text}, so it names nobody"),
                );
            }
        }
        let arn_person = parsed.as_ref().and_then(|(at, a)| {
            let a = a.as_ref()?;
            Some((at.path(), a.person()?.1.to_owned(), a.account.to_owned()))
        });
        let account = arn_person
            .as_ref()
            .map(|(_, _, account)| account.clone())
            .or(p.account);
        // The session's role: from its ARN, else the field that names it, else the name field.
        let role = parsed
            .as_ref()
            .and_then(|(_, a)| a.as_ref()?.role().map(str::to_owned))
            .or_else(|| {
                [&p.role, &p.name]
                    .into_iter()
                    .flatten()
                    .find_map(|at| role_name(at.value.as_str()?))
            });
        let found = match kind {
            Person::IamUser => p
                .name
                .as_ref()
                .and_then(|n| Some((n.path(), n.value.as_str()?.trim_ascii().to_owned())))
                .filter(|(_, n)| !n.is_empty()),
            Person::AssumedRole | Person::FederatedUser => p.principal_id.as_ref().and_then(|id| {
                let session = session_of(id.value.as_str()?, kind)?;
                Some((format!("{} (session name)", id.path()), session.to_owned()))
            }),
        }
        .or_else(|| arn_person.map(|(path, name, _)| (format!("{path} ({kind_text})"), name)));
        match found {
            Some((origin, name)) => self.identity(&name, origin, account, kind.named_by(role)),
            None => self.refuse(
                kind_path,
                match kind {
                    Person::IamUser => "an IAM user without a user name".to_owned(),
                    _ => format!("a {kind_text} without a session name in a principal ID or ARN"),
                },
            ),
        }
    }

    /// A resource's ID field: exactly a Client VPN connection ID, or an endpoint ID or ARN, names
    /// that resource (a whole field, never text that contains one); otherwise its ARN is judged as
    /// a principal's.
    pub(super) fn resource_id(&mut self, at: &At) -> Result<(), DecodeError> {
        let Some(text) = at.value.as_str().map(str::trim) else {
            return Ok(());
        };
        if is_resource_id(text, CONNECTION_PREFIX) {
            return self.connection_id(at);
        }
        // Only a well-formed one: other text in a generic resource ID names nothing.
        let endpoint_arn = arn(text).is_some_and(|a| {
            a.service == "ec2"
                && a.resource
                    .strip_prefix("client-vpn-endpoint/")
                    .is_some_and(|id| is_resource_id(id, ENDPOINT_PREFIX))
        });
        if endpoint_arn || is_resource_id(text, ENDPOINT_PREFIX) {
            return self.endpoint_id(at);
        }
        self.resource_arn(at);
        Ok(())
    }

    /// A resource's ARN: an IAM user or STS session names its person; a `user/` of any other
    /// service names nobody; other ARNs are not principals at all.
    fn resource_arn(&mut self, at: &At) {
        let Some(parsed) = at.value.as_str().and_then(arn) else {
            return;
        };
        match parsed.person() {
            Some((kind, name)) => {
                let label = match kind {
                    Person::IamUser => "IAM user",
                    Person::AssumedRole | Person::FederatedUser => "session name",
                };
                self.identity(
                    name,
                    format!("{} ({label})", at.path()),
                    Some(parsed.account.to_owned()),
                    kind.named_by(parsed.role().map(str::to_owned)),
                )
            }
            None if parsed.resource.starts_with("user/")
                || parsed.resource.starts_with("assumed-role/") =>
            {
                self.refuse(
                    at.path(),
                    format!(
                        "an ARN of {} `{}` is not an IAM user or a session, so it names nobody",
                        parsed.service, parsed.resource
                    ),
                )
            }
            None => {}
        }
    }

    /// An IP address the detector observed; a value that is not one is a malformed finding.
    pub(super) fn ip(&mut self, at: &At) -> Result<(), DecodeError> {
        let text = at.str()?;
        let addr: IpAddr = text
            .trim()
            .parse()
            .map_err(|_| at.error(format!("`{text}` is not an IP address")))?;
        if !self.ips.iter().any(|i| i.value == addr) {
            self.ips.push(Named {
                value: addr,
                origin: at.path(),
            });
        }
        Ok(())
    }

    /// The `remoteIpDetails` of the action kinds GuardDuty (and ASFF, in upper camel case)
    /// reports where the remote side is the actor: API calls, RDS logins, port probes, and inbound
    /// network connections. Not Kubernetes API calls, whose source IPs the caller can forward.
    pub(super) fn remote_ips(&mut self, action: &At) -> Result<(), DecodeError> {
        for kind in ["awsApiCallAction", "rdsLoginAttemptAction"] {
            if let Some(details) = action
                .get_either(kind)
                .and_then(|a| a.get_either("remoteIpDetails"))
            {
                self.remote_ip_details(&details)?;
            }
        }
        if let Some(connection) = action.get_either("networkConnectionAction") {
            if is_inbound(connection.get_either("connectionDirection").as_ref())? {
                if let Some(details) = connection.get_either("remoteIpDetails") {
                    self.remote_ip_details(&details)?;
                }
            }
        }
        if let Some(probes) = action
            .get_either("portProbeAction")
            .and_then(|p| p.get_either("portProbeDetails"))
        {
            for probe in probes.items()? {
                if let Some(details) = probe.get_either("remoteIpDetails") {
                    self.remote_ip_details(&details)?;
                }
            }
        }
        Ok(())
    }

    fn remote_ip_details(&mut self, details: &At) -> Result<(), DecodeError> {
        for field in ["ipAddressV4", "ipAddressV6"] {
            if let Some(ip) = details.get_either(field) {
                self.ip(&ip)?;
            }
        }
        Ok(())
    }

    /// A Client VPN endpoint, by ID or by ARN (`…:client-vpn-endpoint/cvpn-endpoint-…`).
    pub(super) fn endpoint_id(&mut self, at: &At) -> Result<(), DecodeError> {
        let text = at.str()?.trim();
        let id = match arn(text) {
            Some(a) if a.service == "ec2" => a.resource.strip_prefix("client-vpn-endpoint/"),
            Some(_) => None,
            None => Some(text),
        }
        .filter(|id| is_resource_id(id, ENDPOINT_PREFIX))
        .ok_or_else(|| {
            at.error(format!(
                "`{text}` is not a Client VPN endpoint ID or ARN (cvpn-endpoint- and 17 hex digits)"
            ))
        })?;
        if !self.endpoint_ids.iter().any(|e| e == id) {
            self.endpoint_ids.push(id.to_owned());
        }
        Ok(())
    }

    pub(super) fn connection_id(&mut self, at: &At) -> Result<(), DecodeError> {
        let id = at.str()?.trim();
        if !is_resource_id(id, CONNECTION_PREFIX) {
            return Err(at.error(format!(
                "`{id}` is not a Client VPN connection ID (cvpn-connection- and 17 hex digits)"
            )));
        }
        if !self.connection_ids.iter().any(|c| c == id) {
            self.connection_ids.push(id.to_owned());
        }
        Ok(())
    }

    /// The activity's window: from `first` (if given) to the first of `last` present, else
    /// `fallback` (the envelope's time).
    pub(super) fn seen_between(
        &mut self,
        first: Option<At>,
        last: &[Option<At>],
        fallback: Option<DateTime<Utc>>,
    ) -> Result<(), DecodeError> {
        self.seen_at = match last.iter().flatten().next() {
            Some(at) => Some(at.time()?),
            None => fallback,
        };
        self.first_seen = match first {
            Some(at) => Some(at.time()?),
            None => None,
        };
        Ok(())
    }
}
