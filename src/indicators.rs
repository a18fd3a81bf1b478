//! What a finding says about who or what is affected: identities, IP addresses and Client VPN IDs,
//! each with the field it came from, so a log line can say why a connection was chosen. Pure.
//!
//! An assumed role's name (GuardDuty `userName`, ASFF `PrincipalName`) is shared by everyone who
//! assumes it, so for assumed roles and federated users only the session name is an identity.

use crate::json::At;
use crate::model::{is_resource_id, CONNECTION_PREFIX, ENDPOINT_PREFIX};
use serde::Serialize;
use serde_json::Value;
use std::net::IpAddr;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Named<T> {
    pub value: T,
    /// The field path in the event it was read from.
    pub origin: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Indicators {
    pub identities: Vec<Named<String>>,
    pub ips: Vec<Named<IpAddr>>,
    pub connection_ids: Vec<String>,
    pub endpoint_ids: Vec<String>,
}

impl Indicators {
    fn identity(&mut self, value: &str, origin: String) {
        let value = value.trim();
        if !value.is_empty() && !self.identities.iter().any(|i| i.value == value) {
            self.identities.push(Named {
                value: value.to_owned(),
                origin,
            });
        }
    }

    fn ip(&mut self, at: &At) {
        if let Some(addr) = at
            .value
            .as_str()
            .and_then(|s| s.trim().parse::<IpAddr>().ok())
        {
            if !self.ips.iter().any(|i| i.value == addr) {
                self.ips.push(Named {
                    value: addr,
                    origin: at.path(),
                });
            }
        }
    }

    /// The session name after `:` in a principal ID (`AROA…:alice@example.com`).
    fn session(&mut self, principal_id: Option<At>) {
        if let Some(p) = principal_id {
            if let Some((_, session)) = p.value.as_str().and_then(|s| s.split_once(':')) {
                self.identity(session, format!("{} (session name)", p.path()));
            }
        }
    }

    fn named(&mut self, at: Option<At>) {
        if let Some(at) = at {
            if let Some(s) = at.value.as_str() {
                self.identity(s, at.path());
            }
        }
    }
}

fn is_session_principal(kind: Option<&str>) -> bool {
    matches!(kind, Some("AssumedRole" | "FederatedUser" | "Role"))
}

pub fn guardduty(finding: &At) -> Indicators {
    let mut out = Indicators::default();
    if let Some(resource) = finding.get_either("resource") {
        if let Some(key) = resource.get_either("accessKeyDetails") {
            let user_type = key.get_either("userType").and_then(|t| t.value.as_str());
            match user_type {
                Some("Root" | "AWSService" | "AWSAccount") => {}
                Some("IAMUser") => out.named(key.get_either("userName")),
                t if is_session_principal(t) => out.session(key.get_either("principalId")),
                _ => {
                    out.session(key.get_either("principalId"));
                    if out.identities.is_empty() {
                        out.named(key.get_either("userName"));
                    }
                }
            }
        }
    }
    if let Some(service) = finding.get_either("service") {
        if let Some(action) = service.get_either("action") {
            remote_ips(&action, &mut out);
        }
    }
    scan_ids(finding.value, &mut out);
    out
}

pub fn asff(finding: &At) -> Indicators {
    let mut out = Indicators::default();
    if let Some(resources) = finding.get("Resources") {
        for resource in resources.items().unwrap_or_default() {
            let details = resource.get("Details");
            if let Some(key) = details.as_ref().and_then(|d| d.get("AwsIamAccessKey")) {
                if is_session_principal(key.get("PrincipalType").and_then(|t| t.value.as_str())) {
                    out.session(key.get("PrincipalId"));
                } else {
                    out.named(key.get("PrincipalName"));
                    out.named(key.get("UserName"));
                    out.session(key.get("PrincipalId"));
                }
            }
            if let Some(user) = details.as_ref().and_then(|d| d.get("AwsIamUser")) {
                out.named(user.get("UserName"));
            }
            if let Some(id) = resource.get("Id") {
                if let Some(arn) = id.value.as_str() {
                    arn_identity(arn, id.path(), &mut out);
                }
            }
        }
    }
    if let Some(network) = finding.get("Network") {
        for key in ["SourceIpV4", "SourceIpV6"] {
            if let Some(ip) = network.get(key) {
                out.ip(&ip);
            }
        }
    }
    if let Some(action) = finding.get("Action") {
        remote_ips(&action, &mut out);
    }
    scan_ids(finding.value, &mut out);
    out
}

pub fn ocsf(finding: &At) -> Indicators {
    let mut out = Indicators::default();
    let from = |holder: &At, out: &mut Indicators| {
        if let Some(user) = holder.get("actor").as_ref().and_then(|a| a.get("user")) {
            if is_session_principal(user.get("type").and_then(|t| t.value.as_str())) {
                out.session(user.get("uid"));
            } else {
                out.named(user.get("name"));
            }
        }
        if let Some(ip) = holder
            .get("src_endpoint")
            .as_ref()
            .and_then(|s| s.get("ip"))
        {
            out.ip(&ip);
        }
    };
    from(finding, &mut out);
    if let Some(evidences) = finding.get("evidences") {
        for evidence in evidences.items().unwrap_or_default() {
            from(&evidence, &mut out);
        }
    }
    scan_ids(finding.value, &mut out);
    out
}

/// IAM user and STS assumed-role ARNs name a person: `…:user/path/alice`, `…:assumed-role/Role/alice`.
fn arn_identity(arn: &str, origin: String, out: &mut Indicators) {
    let Some(resource) = arn
        .strip_prefix("arn:")
        .and_then(|r| r.splitn(5, ':').nth(4))
    else {
        return;
    };
    if let Some(path) = resource.strip_prefix("user/") {
        if let Some(name) = path.rsplit('/').next() {
            out.identity(name, format!("{origin} (IAM user)"));
        }
    } else if let Some(rest) = resource.strip_prefix("assumed-role/") {
        if let Some((_, session)) = rest.split_once('/') {
            out.identity(session, format!("{origin} (session name)"));
        }
    }
}

/// Every `remoteIpDetails` (any case) below `at`: GuardDuty and ASFF nest them per action kind.
fn remote_ips(at: &At, out: &mut Indicators) {
    match at.value {
        Value::Object(map) => {
            for key in map.keys() {
                let Some(child) = at.get(key) else { continue };
                if key.eq_ignore_ascii_case("remoteIpDetails") {
                    for field in ["ipAddressV4", "ipAddressV6"] {
                        if let Some(ip) = child.get_either(field) {
                            out.ip(&ip);
                        }
                    }
                } else {
                    remote_ips(&child, out);
                }
            }
        }
        Value::Array(_) => {
            for item in at.items().unwrap_or_default() {
                remote_ips(&item, out);
            }
        }
        _ => {}
    }
}

/// Client VPN connection and endpoint IDs wherever they appear in the finding's strings.
fn scan_ids(value: &Value, out: &mut Indicators) {
    match value {
        Value::String(s) => {
            for (prefix, list) in [
                (CONNECTION_PREFIX, &mut out.connection_ids),
                (ENDPOINT_PREFIX, &mut out.endpoint_ids),
            ] {
                for id in find_ids(s, prefix) {
                    if !list.contains(&id) {
                        list.push(id);
                    }
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| scan_ids(v, out)),
        Value::Object(map) => map.values().for_each(|v| scan_ids(v, out)),
        _ => {}
    }
}

fn find_ids(text: &str, prefix: &str) -> Vec<String> {
    let id_len = prefix.len() + 17;
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    text.match_indices(prefix)
        .filter_map(|(at, _)| {
            let candidate = text.get(at..at + id_len)?;
            let before = text[..at].chars().next_back();
            let after = text[at + id_len..].chars().next();
            (is_resource_id(candidate, prefix) && !word(before) && !word(after))
                .then(|| candidate.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(i: &Indicators) -> Vec<&str> {
        i.identities.iter().map(|n| n.value.as_str()).collect()
    }

    #[test]
    fn guardduty_assumed_role_gives_the_session_not_the_role() {
        let f = json!({"resource": {"accessKeyDetails": {
            "userType": "AssumedRole", "userName": "AWSReservedSSO_Admin", "principalId": "AROAEXAMPLE:alice@example.com"}}});
        let i = guardduty(&At::root(&f));
        assert_eq!(names(&i), ["alice@example.com"]);
        assert_eq!(
            i.identities[0].origin,
            "event.resource.accessKeyDetails.principalId (session name)"
        );
    }

    #[test]
    fn guardduty_iam_user_and_upper_camel() {
        let f = json!({"Resource": {"AccessKeyDetails": {"UserType": "IAMUser", "UserName": "bob", "PrincipalId": "AIDAEXAMPLE"}},
            "Service": {"Action": {"AwsApiCallAction": {"RemoteIpDetails": {"IpAddressV4": "198.51.100.7"}}}}});
        let i = guardduty(&At::root(&f));
        assert_eq!(names(&i), ["bob"]);
        assert_eq!(i.ips[0].value.to_string(), "198.51.100.7");
        assert_eq!(
            i.ips[0].origin,
            "event.Service.Action.AwsApiCallAction.RemoteIpDetails.IpAddressV4"
        );
    }

    #[test]
    fn guardduty_root_and_services_are_nobody() {
        for t in ["Root", "AWSService"] {
            let f = json!({"resource": {"accessKeyDetails": {"userType": t, "userName": "Root", "principalId": "123:x"}}});
            assert!(guardduty(&At::root(&f)).identities.is_empty(), "{t}");
        }
    }

    #[test]
    fn guardduty_port_probe_ips_in_lists() {
        let f = json!({"service": {"action": {"portProbeAction": {"portProbeDetails": [
            {"remoteIpDetails": {"ipAddressV4": "10.100.0.7"}}, {"remoteIpDetails": {"ipAddressV4": "10.100.0.8"}},
            {"remoteIpDetails": {"ipAddressV4": "10.100.0.7"}}, {"remoteIpDetails": {"ipAddressV4": "not-an-ip"}}]}}}});
        let ips: Vec<String> = guardduty(&At::root(&f))
            .ips
            .iter()
            .map(|i| i.value.to_string())
            .collect();
        assert_eq!(ips, ["10.100.0.7", "10.100.0.8"]);
    }

    #[test]
    fn asff_access_keys_users_arns_and_network() {
        let f = json!({
            "Resources": [
                {"Type": "AwsIamAccessKey", "Id": "AWS::IAM::AccessKey:ASIAEXAMPLE",
                 "Details": {"AwsIamAccessKey": {"PrincipalType": "AssumedRole", "PrincipalName": "AdminRole", "PrincipalId": "AROAEXAMPLE:carol"}}},
                {"Type": "AwsIamAccessKey", "Details": {"AwsIamAccessKey": {"PrincipalName": "dave", "UserName": "dave"}}},
                {"Type": "AwsIamUser", "Id": "arn:aws:iam::111122223333:user/ops/erin", "Details": {"AwsIamUser": {"UserName": "erin"}}},
                {"Type": "Other", "Id": "arn:aws:sts::111122223333:assumed-role/Dev/frank@example.com"}
            ],
            "Network": {"SourceIpV4": "10.100.0.9"},
            "Action": {"AwsApiCallAction": {"RemoteIpDetails": {"IpAddressV4": "203.0.113.5"}}}
        });
        let i = asff(&At::root(&f));
        assert_eq!(names(&i), ["carol", "dave", "erin", "frank@example.com"]);
        let ips: Vec<String> = i.ips.iter().map(|i| i.value.to_string()).collect();
        assert_eq!(ips, ["10.100.0.9", "203.0.113.5"]);
    }

    #[test]
    fn ocsf_actor_evidence_and_endpoints() {
        let f = json!({
            "actor": {"user": {"name": "grace", "type": "IAMUser"}},
            "src_endpoint": {"ip": "10.100.0.10"},
            "evidences": [{"actor": {"user": {"name": "Role", "type": "AssumedRole", "uid": "AROAX:heidi"}}, "src_endpoint": {"ip": "10.100.0.11"}}]
        });
        let i = ocsf(&At::root(&f));
        assert_eq!(names(&i), ["grace", "heidi"]);
        assert_eq!(i.ips.len(), 2);
    }

    #[test]
    fn finds_ids_anywhere_with_word_boundaries() {
        let f = json!({"UserDefinedFields": {"note": "ended cvpn-connection-0123456789abcdef0 on cvpn-endpoint-0123456789abcdef0."},
            "x": ["cvpn-connection-0123456789abcdef01", "xcvpn-connection-0123456789abcdef1", "cvpn-connection-0123456789ABCDEF2"]});
        let i = asff(&At::root(&f));
        assert_eq!(i.connection_ids, ["cvpn-connection-0123456789abcdef0"]);
        assert_eq!(i.endpoint_ids, ["cvpn-endpoint-0123456789abcdef0"]);
    }
}
