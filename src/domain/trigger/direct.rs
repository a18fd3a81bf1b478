//! A direct request shaped like `TerminateClientVpnConnections`, for runbooks, Step Functions and
//! people: `ClientVpnEndpointId`, `ConnectionId` or `Username`, `DryRun`, `Reason`, and where the
//! function acts in several accounts and Regions, `AccountId` and `Region` to narrow it. A person
//! (or their automation) wrote it on purpose, so what it names is evidence; `Reason` is only
//! recorded.

use crate::domain::json::{At, DecodeError};
use crate::domain::model::{is_account_id, is_resource_id, CONNECTION_PREFIX, ENDPOINT_PREFIX};
use crate::domain::targets::is_region;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectRequest {
    pub endpoint_id: Option<String>,
    pub connection_id: Option<String>,
    pub username: Option<String>,
    pub dry_run: bool,
    pub reason: Option<String>,
    /// Only the targets in this account (another account's, reached by a role).
    pub account_id: Option<String>,
    /// Only the targets in this Region.
    pub region: Option<String>,
}

/// The fields that make an object a direct request.
const IDENTIFYING: [&str; 5] = [
    "ClientVpnEndpointId",
    "ConnectionId",
    "Username",
    "DryRun",
    "Reason",
];
/// Fields a direct request may also have, which do not identify it: findings in GuardDuty's API
/// form have those too.
const NARROWING: [&str; 2] = ["AccountId", "Region"];

/// Whether an object is meant as a direct request: a member named like one of its identifying
/// fields, in any case, so that `UserName` gets "not a field of a direct request" rather than
/// "not an event".
pub fn looks_like(root: &At) -> bool {
    root.value.as_object().is_some_and(|o| {
        o.keys()
            .any(|k| IDENTIFYING.iter().any(|f| f.eq_ignore_ascii_case(k)))
    })
}

pub fn decode(root: &At) -> Result<DirectRequest, DecodeError> {
    let object = root
        .value
        .as_object()
        .expect("decode checked for an object");
    let known = |k: &str| IDENTIFYING.contains(&k) || NARROWING.contains(&k);
    if let Some(unknown) = object.keys().find(|k| !known(k)) {
        return Err(DecodeError {
            path: format!("event.{unknown}"),
            message: format!(
                "not a field of a direct request; expected {}, {}",
                IDENTIFYING.join(", "),
                NARROWING.join(", ")
            ),
        });
    }
    let text = |key: &'static str| -> Result<Option<String>, DecodeError> {
        match root.get(key) {
            None => Ok(None),
            Some(v) => {
                let s = v.str()?.trim();
                if s.is_empty() {
                    return Err(v.error("empty"));
                }
                Ok(Some(s.to_owned()))
            }
        }
    };
    let request = DirectRequest {
        endpoint_id: text("ClientVpnEndpointId")?,
        connection_id: text("ConnectionId")?,
        username: text("Username")?,
        dry_run: match root.get("DryRun") {
            Some(v) => v.bool()?,
            None => false,
        },
        reason: text("Reason")?,
        account_id: text("AccountId")?,
        region: text("Region")?,
    };
    check_forms(&request)?;
    match (&request.connection_id, &request.username) {
        (Some(_), Some(_)) => {
            Err(root.error("give ConnectionId or Username, not both (as the API requires)"))
        }
        (None, None) => Err(root.error("a direct request needs ConnectionId or Username")),
        _ => Ok(request),
    }
}

/// Each ID, account and Region the request gives is of its form: nothing else is looked up.
fn check_forms(request: &DirectRequest) -> Result<(), DecodeError> {
    if let Some(id) = &request.account_id {
        if !is_account_id(id) {
            return Err(DecodeError {
                path: "event.AccountId".into(),
                message: format!("`{id}` is not an account ID (twelve digits)"),
            });
        }
    }
    if let Some(region) = &request.region {
        if !is_region(region) {
            return Err(DecodeError {
                path: "event.Region".into(),
                message: format!("`{region}` is not a Region (such as eu-west-1)"),
            });
        }
    }
    if let Some(id) = &request.endpoint_id {
        if !is_resource_id(id, ENDPOINT_PREFIX) {
            return Err(DecodeError {
                path: "event.ClientVpnEndpointId".into(),
                message: format!(
                    "`{id}` is not a Client VPN endpoint ID (cvpn-endpoint- and 17 hex digits)"
                ),
            });
        }
    }
    if let Some(id) = &request.connection_id {
        if !is_resource_id(id, CONNECTION_PREFIX) {
            return Err(DecodeError {
                path: "event.ConnectionId".into(),
                message: format!(
                    "`{id}` is not a Client VPN connection ID (cvpn-connection- and 17 hex digits)"
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::domain::trigger::tests::sample;
    use crate::domain::trigger::{decode, DirectRequest, Trigger};

    #[test]
    fn direct_requests() {
        assert_eq!(
            decode(&sample("direct-connection-id.json")).unwrap(),
            Trigger::Direct(DirectRequest {
                endpoint_id: Some("cvpn-endpoint-0a1b2c3d4e5f60718".into()),
                connection_id: Some("cvpn-connection-0000000000094ace1".into()),
                username: None,
                dry_run: false,
                reason: Some("Session flagged by the SOC (INC-2042)".into()),
                ..DirectRequest::default()
            })
        );
        let at = |fields: serde_json::Value| {
            let mut e = serde_json::json!({"Username": "heidi"});
            e.as_object_mut()
                .unwrap()
                .extend(fields.as_object().unwrap().clone());
            decode(&e).map(|t| match t {
                Trigger::Direct(d) => (d.account_id, d.region),
                _ => panic!(),
            })
        };
        assert_eq!(
            at(serde_json::json!({"AccountId": "222233334444", "Region": "eu-west-1"})).unwrap(),
            (Some("222233334444".into()), Some("eu-west-1".into()))
        );
        assert_eq!(
            at(serde_json::json!({"AccountId": "2222"}))
                .unwrap_err()
                .path,
            "event.AccountId"
        );
        assert_eq!(
            at(serde_json::json!({"Region": "Ireland"}))
                .unwrap_err()
                .path,
            "event.Region"
        );
        let Trigger::Direct(dry) = decode(&sample("direct-dry-run.json")).unwrap() else {
            panic!()
        };
        assert!(dry.dry_run);
        assert_eq!(dry.username.as_deref(), Some("heidi"));
    }
}
