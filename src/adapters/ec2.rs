//! The EC2 Client VPN API behind a small trait: the three calls the function makes, one page or one
//! Terminate at a time, so the shell above counts and paces every call. `Ec2` implements it with
//! aws-sdk-ec2 over HTTP.

use crate::adapters::aws::{api_error, credentials_error};
use crate::adapters::lazy::Lazy;
use crate::domain::model::{
    parse_api_time, ApiError, By, Cidr, Connection, ConnectionStatus, Endpoint, Page, Place,
    Status, StatusChange,
};
use aws_sdk_ec2::config::retry::{RetryConfig, RetryPartition};
use aws_sdk_ec2::config::{Region, SharedCredentialsProvider};
use aws_sdk_ec2::error::SdkError;
use aws_sdk_ec2::types::{ClientVpnConnectionStatus, ClientVpnEndpointStatusCode};
use std::future::Future;

pub trait ClientVpnApi: Send + Sync {
    /// The Region's endpoints that can have connections (not deleting or deleted).
    fn endpoints_page(
        &self,
        token: Option<String>,
    ) -> impl Future<Output = Result<Page<Endpoint>, ApiError>> + Send;

    fn connections_page(
        &self,
        endpoint_id: &str,
        token: Option<String>,
    ) -> impl Future<Output = Result<Page<Connection>, ApiError>> + Send;

    /// The connections of `username` on the endpoint: one Describe with the `username` filter (a
    /// user has far fewer than a page).
    fn user_connections(
        &self,
        endpoint_id: &str,
        username: &str,
    ) -> impl Future<Output = Result<Vec<Connection>, ApiError>> + Send;

    /// One Terminate call; a `Username` call is sent once, without the SDK's retries.
    fn terminate(
        &self,
        endpoint_id: &str,
        by: &By,
        dry_run: bool,
    ) -> impl Future<Output = Result<Vec<StatusChange>, ApiError>> + Send;
}

/// The largest page Describe allows.
const PAGE: i32 = 1000;

/// One account and Region's EC2 (a target): what it lists is stamped with its place. The places
/// share one client, each call sent to the place's Region with its role's credentials: a client
/// per place cost an organization's function hundreds of megabytes.
#[derive(Clone)]
pub struct Ec2 {
    client: Lazy<aws_sdk_ec2::Client>,
    place: Place,
    /// The Region its calls go to, when not the client's own.
    region: Option<Region>,
    /// The role assumed to act there (named when STS refuses it) and its credentials.
    role: Option<(String, SharedCredentialsProvider)>,
    /// Its calls' retry partition, made once: see [`Ec2::here`].
    partition: RetryPartition,
}

impl Ec2 {
    /// The function's own account and Region.
    pub fn new(client: aws_sdk_ec2::Client) -> Self {
        Self::at(client, Place::default())
    }

    pub fn at(client: aws_sdk_ec2::Client, place: Place) -> Self {
        Self::built_on_use(Lazy::ready(client), place)
    }

    /// A place of the client built on its first call, in the client's own Region and credentials.
    pub fn built_on_use(client: Lazy<aws_sdk_ec2::Client>, place: Place) -> Self {
        Self {
            partition: RetryPartition::new(format!("ec2-{}", place.label())),
            client,
            place,
            region: None,
            role: None,
        }
    }

    /// Builds the client now, ahead of the first call (Lambda's init phase).
    pub fn prepare(&self) {
        self.client.get();
    }

    /// Calls sent to `region`.
    pub fn in_region(self, region: &str) -> Self {
        Self {
            region: Some(Region::new(region.to_owned())),
            ..self
        }
    }

    /// Acting there through `role`, with `credentials` for it (shared by the role's places).
    pub fn assuming(self, role: &str, credentials: SharedCredentialsProvider) -> Self {
        Self {
            role: Some((role.to_owned(), credentials)),
            ..self
        }
    }

    /// This place's Region and credentials, for one call (the role's provider keeps its
    /// credentials; the SDK gives an overridden provider a cache of the call's own), and its own
    /// retry partition: EC2 throttles per account and Region, so one throttled place's token
    /// bucket and adaptive rate must not slow the others, as one shared client's would.
    fn here(&self) -> aws_sdk_ec2::config::Builder {
        let mut config = aws_sdk_ec2::config::Builder::default();
        if let Some(region) = &self.region {
            config = config.region(region.clone());
        }
        if let Some((_, credentials)) = &self.role {
            config.set_credentials_provider(Some(credentials.clone()));
        }
        config.retry_partition(self.partition.clone())
    }

    /// The call's error; when its credentials could not be had, one that names the role and the
    /// place, so the person reading it knows which account to look at.
    fn failed<E, R>(&self, e: SdkError<E, R>) -> ApiError
    where
        E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        match credentials_error(&e) {
            Some(refused) => {
                let place = self.place.label();
                let message = match &self.role {
                    Some((role, _)) => {
                        format!("assuming {role} to act in {place}: {}", refused.message)
                    }
                    None => format!("credentials to act in {place}: {}", refused.message),
                };
                ApiError { message, ..refused }
            }
            None => api_error(e),
        }
    }
}

impl ClientVpnApi for Ec2 {
    async fn endpoints_page(&self, token: Option<String>) -> Result<Page<Endpoint>, ApiError> {
        let out = self
            .client
            .get()
            .describe_client_vpn_endpoints()
            .max_results(PAGE)
            .set_next_token(token)
            .customize()
            .config_override(self.here())
            .send()
            .await
            .map_err(|e| self.failed(e))?;
        let items = out
            .client_vpn_endpoints()
            .iter()
            .filter(|e| {
                !matches!(
                    e.status().and_then(|s| s.code()),
                    Some(
                        ClientVpnEndpointStatusCode::Deleting
                            | ClientVpnEndpointStatusCode::Deleted
                    )
                )
            })
            .filter_map(|e| {
                Some(Endpoint {
                    place: self.place.clone(),
                    id: e.client_vpn_endpoint_id()?.to_owned(),
                    client_cidr: e.client_cidr_block().and_then(Cidr::parse),
                    connect_handler: e
                        .client_connect_options()
                        .filter(|o| o.enabled() == Some(true))
                        .and_then(|o| o.lambda_function_arn())
                        .map(str::to_owned),
                })
            })
            .collect();
        Ok(Page {
            items,
            next_token: out.next_token().map(str::to_owned),
        })
    }

    async fn connections_page(
        &self,
        endpoint_id: &str,
        token: Option<String>,
    ) -> Result<Page<Connection>, ApiError> {
        let out = self
            .client
            .get()
            .describe_client_vpn_connections()
            .client_vpn_endpoint_id(endpoint_id)
            .max_results(PAGE)
            .set_next_token(token)
            .customize()
            .config_override(self.here())
            .send()
            .await
            .map_err(|e| self.failed(e))?;
        Ok(Page {
            items: connections(out.connections(), endpoint_id, &self.place),
            next_token: out.next_token().map(str::to_owned),
        })
    }

    async fn user_connections(
        &self,
        endpoint_id: &str,
        username: &str,
    ) -> Result<Vec<Connection>, ApiError> {
        let out = self
            .client
            .get()
            .describe_client_vpn_connections()
            .client_vpn_endpoint_id(endpoint_id)
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("username")
                    .values(username)
                    .build(),
            )
            .max_results(PAGE)
            .customize()
            .config_override(self.here())
            .send()
            .await
            .map_err(|e| self.failed(e))?;
        Ok(connections(out.connections(), endpoint_id, &self.place))
    }

    async fn terminate(
        &self,
        endpoint_id: &str,
        by: &By,
        dry_run: bool,
    ) -> Result<Vec<StatusChange>, ApiError> {
        let request = self
            .client
            .get()
            .terminate_client_vpn_connections()
            .client_vpn_endpoint_id(endpoint_id)
            .dry_run(dry_run);
        let request = match by {
            By::Username(u) => request.username(u),
            By::ConnectionId(id) => request.connection_id(id),
        };
        // Sent once by the SDK: the shell paces Terminate to EC2's bucket and retries it itself
        // (`shell/pace.rs`), never a `Username` call whose answer was lost (it could have ended
        // connections the user opened meanwhile, beyond what the cap left room for).
        let out = request
            .customize()
            .config_override(
                self.here()
                    .retry_config(RetryConfig::standard().with_max_attempts(1)),
            )
            .send()
            .await
            .map_err(|e| self.failed(e))?;
        Ok(out
            .connection_statuses()
            .iter()
            .map(|s| StatusChange {
                connection_id: s.connection_id().unwrap_or_default().to_owned(),
                previous: status(s.previous_status()),
                current: status(s.current_status()),
            })
            .collect())
    }
}

fn counter(text: Option<&str>) -> u64 {
    text.and_then(|t| t.trim().parse().ok()).unwrap_or(0)
}

fn status(s: Option<&ClientVpnConnectionStatus>) -> Status {
    Status {
        code: s
            .and_then(|s| s.code())
            .map_or(ConnectionStatus::Unknown, |c| {
                ConnectionStatus::parse(c.as_str())
            }),
        message: s.and_then(|s| s.message()).map(str::to_owned),
    }
}

fn connections(
    items: &[aws_sdk_ec2::types::ClientVpnConnection],
    endpoint_id: &str,
    place: &Place,
) -> Vec<Connection> {
    items
        .iter()
        .filter_map(|c| {
            Some(Connection {
                place: place.clone(),
                endpoint_id: c.client_vpn_endpoint_id().unwrap_or(endpoint_id).to_owned(),
                connection_id: c.connection_id()?.to_owned(),
                username: c.username().filter(|u| !u.is_empty()).map(str::to_owned),
                common_name: c.common_name().filter(|u| !u.is_empty()).map(str::to_owned),
                client_ip: c.client_ip().and_then(|ip| ip.parse().ok()),
                status: status(c.status()).code,
                established: c.connection_established_time().and_then(parse_api_time),
                ended: c.connection_end_time().and_then(parse_api_time),
                observed: c.timestamp().and_then(parse_api_time),
                ingress_bytes: counter(c.ingress_bytes()),
                egress_bytes: counter(c.egress_bytes()),
            })
        })
        .collect()
}
