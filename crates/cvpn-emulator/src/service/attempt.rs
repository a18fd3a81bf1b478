//! A client connecting (`POST /_emulator/endpoints/{id}/connect`): through the endpoint's connect
//! handler when it has one, then a new active connection or a refused attempt in the state.

use super::Service;
use crate::connect::{self, AttemptResult, ConnectAttempt};
use crate::state::{ConnectionState, ConnectionStatus, RefusedConnection};
use serde_json::json;
use std::net::Ipv4Addr;

impl Service {
    pub async fn attempt(
        &self,
        endpoint_id: &str,
        attempt: ConnectAttempt,
    ) -> Result<AttemptResult, String> {
        let (request, handler, client_ip) = self.request_for(endpoint_id, &attempt)?;
        let verdict = match &handler {
            Some(arn) => connect::ask(&self.lambda, arn, &request).await?,
            None => None,
        };
        let connection_id = request["connection-id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let mut inner = self.lock();
        let now = inner.clock.now();
        let endpoint = inner
            .world
            .endpoints
            .get_mut(endpoint_id)
            .ok_or_else(|| format!("endpoint {endpoint_id} went away during the attempt"))?;
        Ok(match verdict {
            Some((reason, message)) => {
                endpoint.meta.refused_connections.push(RefusedConnection {
                    connection_id: connection_id.clone(),
                    username: attempt.username,
                    common_name: attempt.common_name,
                    time: now,
                    reason: reason.clone(),
                    message: message.clone(),
                });
                AttemptResult {
                    allowed: false,
                    connection_id,
                    reason: Some(reason),
                    message,
                }
            }
            None => {
                endpoint.connections.insert(
                    connection_id.clone(),
                    ConnectionState {
                        connection_id: connection_id.clone(),
                        username: attempt.username,
                        common_name: attempt.common_name,
                        client_ip: Some(client_ip),
                        client_ipv6_address: None,
                        status: ConnectionStatus::Active,
                        status_message: None,
                        connection_established_time: now,
                        connection_end_time: None,
                        ingress_bytes: 0,
                        egress_bytes: 0,
                        ingress_packets: 0,
                        egress_packets: 0,
                        posture_compliance_status_set: vec![],
                    },
                );
                AttemptResult {
                    allowed: true,
                    connection_id,
                    reason: None,
                    message: None,
                }
            }
        })
    }

    /// The request Client VPN would send the endpoint's connect handler for `attempt` (with a
    /// new connection ID and, unless given, a free client address), and the handler to send it
    /// to, if the endpoint has one enabled.
    fn request_for(
        &self,
        endpoint_id: &str,
        attempt: &ConnectAttempt,
    ) -> Result<(serde_json::Value, Option<String>, String), String> {
        let inner = self.lock();
        let endpoint = inner
            .world
            .endpoints
            .get(endpoint_id)
            .ok_or_else(|| format!("no endpoint {endpoint_id}"))?;
        let connection_id = loop {
            let id = format!("cvpn-connection-{:017x}", fastrand::u64(..));
            if inner.world.connection(&id).is_none() {
                break id;
            }
        };
        let client_ip = match &attempt.client_ip {
            Some(ip) => ip.clone(),
            None => free_address(
                &endpoint.meta.client_cidr_block,
                endpoint.connections.values(),
            )?,
        };
        let handler = endpoint
            .meta
            .client_connect_options
            .as_ref()
            .filter(|o| o.enabled)
            .and_then(|o| o.lambda_function_arn.clone());
        // The request Client VPN sends (every field, hyphenated).
        let request = json!({
            "connection-id": connection_id,
            "endpoint-id": endpoint_id,
            "common-name": attempt.common_name.clone().unwrap_or_default(),
            "username": attempt.username.clone().unwrap_or_default(),
            "platform": "linux",
            "platform-version": "6.8",
            "public-ip": attempt.public_ip.clone().unwrap_or_else(|| "198.51.100.10".into()),
            "client-openvpn-version": "2.6.12",
            "schema-version": "v1",
        });
        Ok((request, handler, client_ip))
    }
}

/// The first address of an IPv4 client CIDR that no active connection holds (skipping the
/// network address and the first host, as Client VPN does).
fn free_address<'a>(
    cidr: &str,
    connections: impl Iterator<Item = &'a ConnectionState>,
) -> Result<String, String> {
    let bad = || format!("client CIDR {cidr} is not an IPv4 block");
    let (base, prefix) = cidr.split_once('/').ok_or_else(bad)?;
    let base: Ipv4Addr = base.parse().map_err(|_| bad())?;
    let prefix: u32 = prefix.parse().ok().filter(|p| *p <= 30).ok_or_else(bad)?;
    let used: std::collections::HashSet<&str> = connections
        .filter(|c| c.status == ConnectionStatus::Active)
        .filter_map(|c| c.client_ip.as_deref())
        .collect();
    let first = u32::from(base) & (u32::MAX << (32 - prefix));
    let size = 1u64 << (32 - prefix);
    (2..size - 1)
        .map(|n| Ipv4Addr::from(first + n as u32).to_string())
        .find(|ip| !used.contains(ip.as_str()))
        .ok_or_else(|| format!("client CIDR {cidr} has no free address"))
}
