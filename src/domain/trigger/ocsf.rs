//! Security Hub findings in OCSF (`Findings Imported V2`).
//!
//! Fields read as evidence, and nothing else:
//! - identity: `actor.user` and `evidences[].actor.user` — `type` decides; `IAMUser` is named by
//!   `name`, `AssumedRole` by the session in the principal ID (`AROA…:session`) or the STS ARN,
//!   `FederatedUser` likewise; any other or missing type names nobody. `uid` and `uid_alt` hold the
//!   principal ID and the ARN in either order; an ARN of another service than the type's names
//!   nobody. The account is `account.uid` of the user, else `cloud.account.uid`.
//! - `resources[]`: `uid` of `type` `AwsEc2ClientVpnEndpoint` is an endpoint ID (or ARN); any other
//!   `uid` that is exactly a connection or endpoint ID names that resource, and one that is an IAM
//!   user or STS session ARN names its person.
//! - client IPs: `src_endpoint.ip` and `evidences[].src_endpoint.ip`.
//! - time of the activity: from `finding_info.first_seen_time(_dt)` to
//!   `finding_info.last_seen_time(_dt)` (else `time(_dt)`, else the envelope's `time`).
//!
//! Never read: `finding_info.title` / `desc`, `message`, `http_request` (user agents, URLs),
//! `api.request`, `unmapped`, `observables[]` values, `actor.session` other than the above.
//!
//! Severity: `severity_id` (1 Informational … 5 Critical, 6 Fatal), else the `severity` label.
//! Status `Suppressed`, `Resolved`, `Archived` and `Deleted` (or `status_id` 3–6) are closed, and so
//! is a Close activity.

use super::evidence::{Evidence, Principal};
use super::{label_score, Finding};
use crate::domain::json::{At, DecodeError};
use chrono::{DateTime, Utc};

pub fn decode(at: &At, event_time: Option<DateTime<Utc>>) -> Result<Finding, DecodeError> {
    let info = at.get("finding_info");
    let id = match (
        info.as_ref().and_then(|i| i.get("uid")),
        at.get("metadata").and_then(|m| m.get("uid")),
    ) {
        (Some(uid), _) | (None, Some(uid)) => uid.str()?.to_owned(),
        (None, None) => return Err(at.error("needs finding_info.uid (or metadata.uid)")),
    };
    let types = match &info {
        Some(i) => i.strings("types")?,
        None => Vec::new(),
    };
    let (severity, severity_label) = severity(at)?;
    let cloud = at.get("cloud");
    let account = match cloud
        .as_ref()
        .and_then(|c| c.get("account"))
        .and_then(|a| a.get("uid"))
    {
        Some(uid) => Some(uid.str()?.to_owned()),
        None => None,
    };
    let region = match cloud.as_ref().and_then(|c| c.get("region")) {
        Some(r) => Some(r.str()?.to_owned()),
        None => None,
    };
    let evidence = evidence_of(at, info.as_ref(), &account, event_time)?;
    Ok(Finding {
        posture: super::posture::ocsf(at),
        id,
        types,
        severity,
        severity_label,
        closed: closed(at)?,
        product: match at
            .get("metadata")
            .and_then(|m| m.get("product"))
            .and_then(|p| p.get("uid"))
        {
            Some(uid) => Some(uid.str()?.to_owned()),
            None => None,
        },
        account,
        region,
        evidence,
        // Security Hub's OCSF findings are updated through another API (BatchUpdateFindingsV2).
        securityhub: None,
        own_note: None,
        note_key: None,
        shown_note: None,
    })
}

/// What the finding's actor, sources, evidences and resources may name, and when it was seen.
fn evidence_of(
    at: &At,
    info: Option<&At>,
    account: &Option<String>,
    event_time: Option<DateTime<Utc>>,
) -> Result<Evidence, DecodeError> {
    let mut evidence = Evidence::default();
    read_actor_and_source(at, account, &mut evidence)?;
    if let Some(evidences) = at.get("evidences") {
        for item in evidences.items()? {
            read_actor_and_source(&item, account, &mut evidence)?;
        }
    }
    if let Some(resources) = at.get("resources") {
        for resource in resources.items()? {
            let Some(uid) = resource.get("uid") else {
                continue;
            };
            match resource.get("type").and_then(|t| t.value.as_str()) {
                Some("AwsEc2ClientVpnEndpoint") => evidence.endpoint_id(&uid)?,
                _ => evidence.resource_id(&uid)?,
            }
        }
    }
    let seen = |key: &str| info?.get(&format!("{key}_dt")).or_else(|| info?.get(key));
    evidence.seen_between(
        seen("first_seen_time"),
        &[
            seen("last_seen_time"),
            at.get("time_dt").or_else(|| at.get("time")),
        ],
        event_time,
    )?;
    Ok(evidence)
}

fn read_actor_and_source(
    holder: &At,
    account: &Option<String>,
    evidence: &mut Evidence,
) -> Result<(), DecodeError> {
    if let Some(user) = holder.get("actor").and_then(|a| a.get("user")) {
        let kind = user.get("type");
        // `uid` and `uid_alt` hold the principal ID and the ARN, in either order by producer.
        let ids = [user.get("uid"), user.get("uid_alt")];
        let is_arn = |a: &At| a.value.as_str().is_some_and(|t| t.starts_with("arn:"));
        let arn = ids.iter().flatten().find(|a| is_arn(a)).cloned();
        let principal_id = ids.iter().flatten().find(|a| !is_arn(a)).cloned();
        let user_account = match user.get("account").and_then(|a| a.get("uid")) {
            Some(uid) => Some(uid.str()?.to_owned()),
            None => None,
        };
        evidence.principal(Principal {
            kind: kind
                .as_ref()
                .and_then(|k| Some((k.value.as_str()?, k.path()))),
            at: user.path(),
            name: user.get("name"),
            principal_id,
            arn,
            account: user_account.or_else(|| account.clone()),
            role: holder
                .get("actor")
                .and_then(|a| a.get("session"))
                .and_then(|s| s.get("issuer")),
        });
    }
    if let Some(ip) = holder.get("src_endpoint").and_then(|s| s.get("ip")) {
        evidence.ip(&ip)?;
    }
    Ok(())
}

/// `severity_id` 1 Informational … 5 Critical, 6 Fatal; 0 Unknown and 99 Other count as 0.
fn severity(at: &At) -> Result<(f64, String), DecodeError> {
    match (at.get("severity_id"), at.get("severity")) {
        (Some(sid), _) => {
            let n = sid
                .value
                .as_i64()
                .ok_or_else(|| sid.error("expected a whole number"))?;
            let (score, label) = match n {
                1 => (0.0, "INFORMATIONAL"),
                2 => (1.0, "LOW"),
                3 => (4.0, "MEDIUM"),
                4 => (7.0, "HIGH"),
                5 => (9.0, "CRITICAL"),
                6 => (10.0, "FATAL"),
                _ => (0.0, "UNKNOWN"),
            };
            Ok((score, label.to_owned()))
        }
        (None, Some(label)) => {
            let text = label.str()?;
            let score = match text.to_ascii_uppercase().as_str() {
                "FATAL" => 10.0,
                other => label_score(other).unwrap_or(0.0),
            };
            Ok((score, text.to_ascii_uppercase()))
        }
        (None, None) => Err(at.error("needs severity_id or severity")),
    }
}

/// Closed when `status` or `status_id` says so, or the activity is Close (`activity_id` 3).
fn closed(at: &At) -> Result<Option<String>, DecodeError> {
    let status = match at.get("status") {
        Some(s) => Some(s.str()?.to_ascii_lowercase()),
        None => None,
    }
    .filter(|s| {
        matches!(
            s.as_str(),
            "suppressed" | "resolved" | "archived" | "deleted"
        )
    });
    let status_id = match at.get("status_id") {
        Some(id) => match id.value.as_i64() {
            Some(3) => Some("suppressed"),
            Some(4) => Some("resolved"),
            Some(5) => Some("archived"),
            Some(6) => Some("deleted"),
            Some(_) => None,
            None => return Err(id.error("expected a whole number")),
        },
        None => None,
    };
    let activity_closed = at
        .get("activity_name")
        .and_then(|a| a.value.as_str())
        .is_some_and(|a| a.eq_ignore_ascii_case("close"))
        || at.get("activity_id").and_then(|a| a.value.as_i64()) == Some(3);
    Ok(status
        .or_else(|| status_id.map(str::to_owned))
        .or_else(|| activity_closed.then(|| "closed".to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::trigger::tests::identities as names;
    use serde_json::{json, Value};

    fn finding(extra: Value) -> Finding {
        let mut v = json!({"finding_info": {"uid": "u", "types": ["T"]}, "severity_id": 4,
            "cloud": {"account": {"uid": "111122223333"}, "region": "eu-west-1"}});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        decode(&At::root(&v), None).unwrap()
    }

    #[test]
    fn actors_by_type_and_evidences() {
        let f = finding(json!({
            "actor": {"user": {"name": "grace", "type": "IAMUser", "uid": "AIDAX", "account": {"uid": "444455556666"}}},
            "src_endpoint": {"ip": "10.100.0.10"},
            "evidences": [{"actor": {"user": {"name": "Role", "type": "AssumedRole", "uid": "AROAX:heidi"}}, "src_endpoint": {"ip": "10.100.0.11"}}],
            "resources": [{"type": "AwsIamUser", "uid": "arn:aws:iam::111122223333:user/ivan"}]
        }));
        assert_eq!(names(&f), ["grace", "heidi", "ivan"]);
        // Security Lake's layout: the ARN in uid, the principal ID in uid_alt.
        let lake = finding(
            json!({"actor": {"user": {"type": "AssumedRole", "name": "R",
            "uid": "arn:aws:sts::111122223333:assumed-role/R/judy", "uid_alt": "AROAX:judy"}}}),
        );
        assert_eq!(names(&lake), ["judy"]);
        let bad = json!({"finding_info": {"uid": "u"}, "severity_id": 4,
            "actor": {"user": {"type": "IAMUser", "name": "x", "account": {"uid": 444455556666_u64}}}});
        assert_eq!(
            decode(&At::root(&bad), None).unwrap_err().path,
            "event.actor.user.account.uid"
        );
        assert_eq!(
            f.evidence.identities[0].account.as_deref(),
            Some("444455556666")
        );
        assert_eq!(
            f.evidence.identities[1].account.as_deref(),
            Some("111122223333")
        );
        assert_eq!(f.evidence.ips.len(), 2);
    }

    #[test]
    fn users_without_a_person_type_name_nobody() {
        for user in [
            json!({"name": "erin"}),
            json!({"name": "erin", "type_id": 1}),
            json!({"name": "AdminRole", "type": "Role"}),
            json!({"name": "root", "type": "Root"}),
            json!({"name": "bob", "type": "IAMUser", "uid": "arn:aws:memorydb:eu-west-1:111122223333:user/bob"}),
            json!({"name": "bob", "type": "IAMUser", "uid": "arn:aws:memorydb:eu-west-1:111122223333:user/bob", "uid_alt": "AIDAX"}),
        ] {
            let f = finding(json!({"actor": {"user": user.clone()}}));
            assert!(f.evidence.identities.is_empty(), "{user}");
            assert_eq!(f.evidence.no_identity.len(), 1, "{user}");
        }
    }

    #[test]
    fn deleted_and_other_closed_statuses() {
        for (status, closed) in [
            ("Deleted", Some("deleted")),
            ("Resolved", Some("resolved")),
            ("New", None),
        ] {
            assert_eq!(finding(json!({"status": status})).closed.as_deref(), closed);
        }
        assert_eq!(
            finding(json!({"status_id": 6})).closed.as_deref(),
            Some("deleted")
        );
        assert_eq!(
            finding(json!({"activity_name": "Close"})).closed.as_deref(),
            Some("closed")
        );
        assert_eq!(
            finding(json!({"status": "Other", "status_id": 6}))
                .closed
                .as_deref(),
            Some("deleted")
        );
        assert_eq!(
            finding(json!({"activity_id": 3})).closed.as_deref(),
            Some("closed")
        );
    }

    #[test]
    fn endpoints_and_times() {
        let f = finding(json!({
            "resources": [{"type": "AwsEc2ClientVpnEndpoint", "uid": "cvpn-endpoint-0123456789abcdef0"}],
            "finding_info": {"uid": "u", "title": "cvpn-endpoint-0123456789abcdef1", "last_seen_time": 1795338000000_i64},
            "http_request": {"user_agent": "cvpn-connection-0123456789abcdef1"}
        }));
        assert_eq!(f.evidence.endpoint_ids, ["cvpn-endpoint-0123456789abcdef0"]);
        assert!(f.evidence.connection_ids.is_empty());
        assert_eq!(
            f.evidence.seen_at.unwrap().timestamp_millis(),
            1795338000000
        );
    }
}
