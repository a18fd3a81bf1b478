//! A direct request shaped like `TerminateClientVpnConnections`, for runbooks, Step Functions and
//! people: `ClientVpnEndpointId`, `ConnectionId` or `Username`, `DryRun`, `Reason`. A person (or
//! their automation) wrote it on purpose, so what it names is evidence; `Reason` is only recorded.

use crate::domain::json::{At, DecodeError};
use crate::domain::model::{is_resource_id, CONNECTION_PREFIX, ENDPOINT_PREFIX};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectRequest {
    pub endpoint_id: Option<String>,
    pub connection_id: Option<String>,
    pub username: Option<String>,
    pub dry_run: bool,
    pub reason: Option<String>,
}

const DIRECT_FIELDS: [&str; 5] = [
    "ClientVpnEndpointId",
    "ConnectionId",
    "Username",
    "DryRun",
    "Reason",
];

/// Whether an object is meant as a direct request: a member named like one of its fields, in any
/// case, so that `UserName` gets "not a field of a direct request" rather than "not an event".
pub fn looks_like(root: &At) -> bool {
    root.value.as_object().is_some_and(|o| {
        o.keys()
            .any(|k| DIRECT_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(k)))
    })
}

pub fn decode(root: &At) -> Result<DirectRequest, DecodeError> {
    let object = root
        .value
        .as_object()
        .expect("decode checked for an object");
    if let Some(unknown) = object.keys().find(|k| !DIRECT_FIELDS.contains(&k.as_str())) {
        return Err(DecodeError {
            path: format!("event.{unknown}"),
            message: format!(
                "not a field of a direct request; expected {}",
                DIRECT_FIELDS.join(", ")
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
    };
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
    match (&request.connection_id, &request.username) {
        (Some(_), Some(_)) => {
            Err(root.error("give ConnectionId or Username, not both (as the API requires)"))
        }
        (None, None) => Err(root.error("a direct request needs ConnectionId or Username")),
        _ => Ok(request),
    }
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
            })
        );
        let Trigger::Direct(dry) = decode(&sample("direct-dry-run.json")).unwrap() else {
            panic!()
        };
        assert!(dry.dry_run);
        assert_eq!(dry.username.as_deref(), Some("heidi"));
    }
}
