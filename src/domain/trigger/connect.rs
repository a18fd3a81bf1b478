//! Client VPN's client connect handler request (the shape of `aws_lambda_events::clientvpn`'s
//! request), told apart by its hyphenated field names. Every name in it was checked by Client VPN's
//! own authentication before the handler is asked, so the username and common name are the ones a
//! hold is on.
//!
//! Decoding never fails: Client VPN refuses a connection whenever the handler errs, whatever
//! `CVPN_CONNECT_ON_ERROR` says, so a request this function cannot read fully is still answered,
//! with what was wrong in [`ConnectRequest::malformed`] for the decision to weigh.

use crate::domain::json::At;
use crate::domain::quarantine::connect::ConnectRequest;

/// The request's hyphenated fields, any one of which marks a connect request (no other event this
/// function takes has them).
const HYPHENATED: [&str; 7] = [
    "connection-id",
    "endpoint-id",
    "common-name",
    "public-ip",
    "platform-version",
    "client-openvpn-version",
    "schema-version",
];

pub fn looks_like(root: &At) -> bool {
    root.value
        .as_object()
        .is_some_and(|o| HYPHENATED.iter().any(|k| o.contains_key(*k)))
}

pub fn decode(root: &At) -> ConnectRequest {
    let mut problems = Vec::new();
    let mut text = |key: &str| -> Option<String> {
        let at = root.get(key)?;
        match at.value.as_str() {
            Some(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
            None => {
                problems.push(format!("{}: expected a string", at.path()));
                None
            }
        }
    };
    let connection_id = text("connection-id");
    let endpoint_id = text("endpoint-id");
    let username = text("username");
    let common_name = text("common-name");
    let public_ip = text("public-ip");
    if username.is_none() && common_name.is_none() {
        problems.push("event: neither username nor common-name names the client".into());
    }
    ConnectRequest {
        connection_id: connection_id.unwrap_or_default(),
        endpoint_id: endpoint_id.unwrap_or_default(),
        username,
        common_name,
        public_ip,
        malformed: (!problems.is_empty()).then(|| problems.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::trigger::{decode, Trigger};
    use serde_json::json;

    fn connect(v: serde_json::Value) -> crate::domain::quarantine::connect::ConnectRequest {
        match decode(&v).unwrap() {
            Trigger::Connect(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_connect_request_is_recognised_and_answered() {
        let full = connect(json!({"connection-id": "cvpn-connection-0000000000000000a",
            "endpoint-id": "cvpn-endpoint-0a1b2c3d4e5f60718", "common-name": " alice ", "username": "alice",
            "platform": "ios", "platform-version": "18", "public-ip": "198.51.100.1",
            "client-openvpn-version": "2.6", "schema-version": "v1"}));
        assert_eq!(full.common_name.as_deref(), Some("alice"));
        assert_eq!(full.malformed, None);
        // A lowercase `username` does not make it a direct request, an odd endpoint ID is no
        // error, and a field of another type is reported, not refused.
        let odd =
            connect(json!({"endpoint-id": "not-an-endpoint", "username": "bob", "common-name": 7}));
        assert_eq!(odd.username.as_deref(), Some("bob"));
        assert!(odd.malformed.unwrap().contains("event.common-name"));
        let nameless = connect(json!({"connection-id": "c", "username": "", "common-name": null}));
        assert!(nameless
            .malformed
            .unwrap()
            .contains("neither username nor common-name"));
    }
}
