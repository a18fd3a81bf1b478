//! Client VPN's client connect handler request (`aws_lambda_events::clientvpn`), told apart by
//! its hyphenated `connection-id` and `endpoint-id`. Every name in it was checked by Client VPN's
//! own authentication before the handler is asked, so the username and common name are the ones
//! a hold is on.

use crate::json::{At, DecodeError};
use crate::model::{is_resource_id, ENDPOINT_PREFIX};
use crate::quarantine::connect::ConnectRequest;
use aws_lambda_events::clientvpn::ClientVpnConnectionHandlerRequest;
use serde::Deserialize;

pub fn looks_like(root: &At) -> bool {
    root.get("connection-id").is_some() && root.get("endpoint-id").is_some()
}

pub fn decode(root: &At) -> Result<ConnectRequest, DecodeError> {
    let request = ClientVpnConnectionHandlerRequest::deserialize(root.value)
        .map_err(|e| root.error(format!("not a client connect handler request: {e}")))?;
    let present = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let endpoint_id = present(request.endpoint_id).unwrap_or_default();
    if !is_resource_id(&endpoint_id, ENDPOINT_PREFIX) {
        return Err(DecodeError {
            path: "event.endpoint-id".into(),
            message: format!("`{endpoint_id}` is not a Client VPN endpoint ID"),
        });
    }
    let connection_id = present(request.connection_id).ok_or_else(|| DecodeError {
        path: "event.connection-id".into(),
        message: "empty".into(),
    })?;
    Ok(ConnectRequest {
        connection_id,
        endpoint_id,
        username: present(request.username),
        common_name: present(request.common_name),
        public_ip: present(request.public_ip),
    })
}
