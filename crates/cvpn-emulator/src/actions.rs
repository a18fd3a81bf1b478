//! The three Client VPN actions, over the emulated world.
//!
//! Choices where AWS documents nothing (also in the crate README):
//! - `ConnectionId` and `Username` together: `InvalidParameterCombination`; neither: `MissingParameter`.
//! - Terminating a connection that is no longer active (still listed by Describe) changes nothing
//!   and reports it with previous = current status and a message; one no longer listed is
//!   `InvalidClientVpnConnection.IdNotFound`.
//! - `DryRun` is answered after the request's shape and the endpoint are checked, before any
//!   connection or user is looked up.
//! - Without `MaxResults`, pages hold 1000 items.

use crate::accounts::Place;
use crate::pagination::Pages;
use crate::protocol::{ApiError, Params, Xml};
use crate::state::{api_time, ConnectionState, ConnectionStatus};
use crate::world::{Endpoint, World};
use chrono::{DateTime, TimeDelta, Utc};
use std::ops::Bound;

/// Most connections `Username` may terminate in one call (documented by AWS).
pub const USERNAME_LIMIT: usize = 5;
const DEFAULT_PAGE: u32 = 1000;

pub struct Ctx<'a> {
    pub world: &'a mut World,
    /// The caller's account and Region: it sees only the endpoints there.
    pub caller: &'a Place,
    pub pages: &'a mut Pages,
    pub now: DateTime<Utc>,
    pub terminate_delay: TimeDelta,
    pub request_id: &'a str,
}

pub fn describe_endpoints(ctx: Ctx, p: &Params) -> Result<String, ApiError> {
    p.only(&[
        "ClientVpnEndpointId.N",
        "MaxResults",
        "NextToken",
        "Filter.N",
        "DryRun",
    ])?;
    let mut ids: Vec<String> = p
        .list("ClientVpnEndpointId")
        .into_iter()
        .map(String::from)
        .collect();
    for (name, values) in p.filters()? {
        match name.as_str() {
            "endpoint-id" => ids.extend(values),
            other => return Err(unknown_filter(other)),
        }
    }
    ids.sort_unstable();
    ids.dedup();
    if let Some(missing) = ids
        .iter()
        .find(|id| ctx.world.visible_mut(id, ctx.caller).is_none())
    {
        return Err(endpoint_not_found(missing));
    }
    let page = p.int_in("MaxResults", 5..=1000)?.unwrap_or(DEFAULT_PAGE) as usize;
    dry_run(p)?;
    // A token is the caller's own: another account or Region lists other endpoints.
    let scope = format!(
        "DescribeClientVpnEndpoints|{}|{:?}",
        ids.join(","),
        ctx.caller
    );
    let after = ctx.pages.resume(p.get("NextToken"), &scope)?;
    let world = &*ctx.world;
    let mut selected = world
        .endpoints
        .range::<str, _>((bound_after(after.as_deref()), Bound::Unbounded))
        .filter(|(id, e)| {
            (ids.is_empty() || ids.contains(id)) && world.serves(&e.place, ctx.caller)
        })
        .map(|(_, e)| e);

    let mut xml = Xml::response("DescribeClientVpnEndpoints", ctx.request_id);
    xml.open("clientVpnEndpoint");
    let mut last = None;
    for endpoint in selected.by_ref().take(page) {
        write_endpoint(&mut xml, endpoint);
        last = Some(endpoint.meta.client_vpn_endpoint_id.clone());
    }
    xml.close("clientVpnEndpoint");
    if let (Some(last), Some(_)) = (last, selected.next()) {
        xml.leaf("nextToken", &ctx.pages.issue(scope, last));
    }
    Ok(xml.finish())
}

fn write_endpoint(xml: &mut Xml, endpoint: &Endpoint) {
    let m = &endpoint.meta;
    xml.open("item")
        .leaf("clientVpnEndpointId", &m.client_vpn_endpoint_id)
        .leaf_opt("description", m.description.as_deref())
        .open("status")
        .leaf("code", &m.status)
        .close("status")
        .leaf("clientCidrBlock", &m.client_cidr_block)
        .leaf_opt("vpcId", m.vpc_id.as_deref())
        .leaf("vpnProtocol", "openvpn")
        .leaf("transportProtocol", "udp")
        .leaf("vpnPort", "443");
    if let Some(options) = &m.client_connect_options {
        xml.open("clientConnectOptions")
            .leaf("enabled", if options.enabled { "true" } else { "false" })
            .leaf_opt("lambdaFunctionArn", options.lambda_function_arn.as_deref())
            .open("status")
            .leaf("code", "applied")
            .close("status")
            .close("clientConnectOptions");
    }
    xml.close("item");
}

pub fn describe_connections(ctx: Ctx, p: &Params) -> Result<String, ApiError> {
    p.only(&[
        "ClientVpnEndpointId",
        "MaxResults",
        "NextToken",
        "Filter.N",
        "DryRun",
    ])?;
    let endpoint_id = p.required("ClientVpnEndpointId")?;
    let mut connection_ids: Option<Vec<String>> = None;
    let mut usernames: Option<Vec<String>> = None;
    for (name, values) in p.filters()? {
        let slot = match name.as_str() {
            "connection-id" => &mut connection_ids,
            "username" => &mut usernames,
            other => return Err(unknown_filter(other)),
        };
        slot.get_or_insert_with(Vec::new).extend(values);
    }
    let endpoint = ctx
        .world
        .visible_mut(endpoint_id, ctx.caller)
        .ok_or_else(|| endpoint_not_found(endpoint_id))?;
    let page = p.int_in("MaxResults", 5..=1000)?.unwrap_or(DEFAULT_PAGE) as usize;
    dry_run(p)?;
    let scope =
        format!("DescribeClientVpnConnections|{endpoint_id}|{connection_ids:?}|{usernames:?}");
    let after = ctx.pages.resume(p.get("NextToken"), &scope)?;

    let now = ctx.now;
    let wanted = |c: &ConnectionState| {
        c.visible(now)
            && connection_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&c.connection_id))
            && usernames
                .as_ref()
                .is_none_or(|names| c.username.as_ref().is_some_and(|u| names.contains(u)))
    };
    let mut xml = Xml::response("DescribeClientVpnConnections", ctx.request_id);
    xml.open("connections");
    let mut written = 0;
    let mut last: Option<String> = None;
    let mut more = false;
    for c in endpoint
        .connections
        .range_mut::<str, _>((bound_after(after.as_deref()), Bound::Unbounded))
        .map(|(_, c)| c)
    {
        c.settle(now);
        if !wanted(c) {
            continue;
        }
        if written == page {
            more = true;
            break;
        }
        write_connection(&mut xml, endpoint_id, c, now);
        written += 1;
        last = Some(c.connection_id.clone());
    }
    xml.close("connections");
    if let (true, Some(last)) = (more, last) {
        xml.leaf("nextToken", &ctx.pages.issue(scope, last));
    }
    Ok(xml.finish())
}

fn write_connection(xml: &mut Xml, endpoint_id: &str, c: &ConnectionState, now: DateTime<Utc>) {
    xml.open("item")
        .leaf("clientVpnEndpointId", endpoint_id)
        .leaf("timestamp", &api_time::wire(now))
        .leaf("connectionId", &c.connection_id)
        .leaf_opt("username", c.username.as_deref())
        .leaf(
            "connectionEstablishedTime",
            &api_time::wire(c.connection_established_time),
        )
        .leaf("ingressBytes", &c.ingress_bytes.to_string())
        .leaf("egressBytes", &c.egress_bytes.to_string())
        .leaf("ingressPackets", &c.ingress_packets.to_string())
        .leaf("egressPackets", &c.egress_packets.to_string())
        .leaf_opt("clientIp", c.client_ip.as_deref())
        .leaf_opt("clientIpv6Address", c.client_ipv6_address.as_deref())
        .leaf_opt("commonName", c.common_name.as_deref())
        .open("status")
        .leaf("code", c.status.code())
        .leaf_opt("message", c.status_message.as_deref())
        .close("status");
    if c.status == ConnectionStatus::Terminated {
        xml.leaf_opt(
            "connectionEndTime",
            c.connection_end_time.map(api_time::wire).as_deref(),
        );
    }
    if !c.posture_compliance_status_set.is_empty() {
        xml.open("postureComplianceStatusSet");
        for s in &c.posture_compliance_status_set {
            xml.leaf("item", s);
        }
        xml.close("postureComplianceStatusSet");
    }
    xml.close("item");
}

pub fn terminate_connections(ctx: Ctx, p: &Params) -> Result<String, ApiError> {
    p.only(&["ClientVpnEndpointId", "ConnectionId", "Username", "DryRun"])?;
    let endpoint_id = p.required("ClientVpnEndpointId")?;
    let connection_id = p.get("ConnectionId").filter(|v| !v.is_empty());
    let username = p.get("Username").filter(|v| !v.is_empty());
    if connection_id.is_some() && username.is_some() {
        return Err(ApiError::new(
            400,
            "InvalidParameterCombination",
            "Specify either ConnectionId or Username, not both",
        ));
    }
    if connection_id.is_none() && username.is_none() {
        return Err(ApiError::missing("ConnectionId or Username"));
    }
    let endpoint = ctx
        .world
        .visible_mut(endpoint_id, ctx.caller)
        .ok_or_else(|| endpoint_not_found(endpoint_id))?;
    dry_run(p)?;

    let now = ctx.now;
    let targets: Vec<&mut ConnectionState> = if let Some(id) = connection_id {
        let not_found = || {
            ApiError::new(
                400,
                "InvalidClientVpnConnection.IdNotFound",
                format!("The connection ID '{id}' does not exist"),
            )
        };
        let c = endpoint.connections.get_mut(id).ok_or_else(not_found)?;
        c.settle(now);
        if !c.visible(now) {
            return Err(not_found());
        }
        vec![c]
    } else {
        user_connections(endpoint, endpoint_id, username.unwrap_or_default(), now)?
    };

    let mut xml = Xml::response("TerminateClientVpnConnections", ctx.request_id);
    xml.leaf("clientVpnEndpointId", endpoint_id)
        .leaf_opt("username", username);
    xml.open("connectionStatuses");
    for c in targets {
        let previous = c.status;
        let mut message = None;
        if previous == ConnectionStatus::Active {
            c.status = ConnectionStatus::Terminating;
            // Cannot overflow (the clock ends in 9999, the delay is at most a year), but saturate
            // rather than panic should either limit change.
            c.connection_end_time = Some(
                now.checked_add_signed(ctx.terminate_delay)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
            );
        } else {
            message = Some("The connection is not active");
        }
        xml.open("item")
            .leaf("connectionId", &c.connection_id)
            .open("previousStatus")
            .leaf("code", previous.code())
            .close("previousStatus")
            .open("currentStatus")
            .leaf("code", c.status.code())
            .leaf_opt("message", message)
            .close("currentStatus")
            .close("item");
    }
    xml.close("connectionStatuses");
    Ok(xml.finish())
}

/// The user's active connections on the endpoint, as `Username` ends them: none is
/// `UserNotFound`, more than five is refused whole.
fn user_connections<'e>(
    endpoint: &'e mut Endpoint,
    endpoint_id: &str,
    user: &str,
    now: DateTime<Utc>,
) -> Result<Vec<&'e mut ConnectionState>, ApiError> {
    let active: Vec<&mut ConnectionState> = endpoint
        .connections
        .values_mut()
        .filter_map(|c| {
            c.settle(now);
            (c.status == ConnectionStatus::Active && c.username.as_deref() == Some(user))
                .then_some(c)
        })
        .collect();
    if active.is_empty() {
        return Err(ApiError::new(
            400,
            "InvalidClientVpnConnection.UserNotFound",
            format!("The user '{user}' has no active connection on {endpoint_id}"),
        ));
    }
    if active.len() > USERNAME_LIMIT {
        return Err(ApiError::new(
            400,
            "ClientVpnTerminateConnectionsLimitExceeded",
            format!(
                "The user '{user}' has {} active connections; Username terminates at most {USERNAME_LIMIT}",
                active.len()
            ),
        ));
    }
    Ok(active)
}

pub fn dry_run(p: &Params) -> Result<(), ApiError> {
    if p.flag("DryRun")? {
        return Err(ApiError::new(
            412,
            "DryRunOperation",
            "Request would have succeeded, but DryRun flag is set.",
        ));
    }
    Ok(())
}

fn bound_after(key: Option<&str>) -> Bound<&str> {
    key.map_or(Bound::Unbounded, Bound::Excluded)
}

pub fn endpoint_not_found(id: &str) -> ApiError {
    ApiError::new(
        400,
        "InvalidClientVpnEndpointId.NotFound",
        format!("The ClientVpnEndpointId '{id}' does not exist"),
    )
}

fn unknown_filter(name: &str) -> ApiError {
    ApiError::invalid_value(format!("The filter '{name}' is invalid"))
}
