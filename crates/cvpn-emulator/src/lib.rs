//! A local stand-in for the EC2 Client VPN connection API (`DescribeClientVpnEndpoints`,
//! `DescribeClientVpnConnections`, `TerminateClientVpnConnections`, and `ModifyClientVpnEndpoint`
//! for the client connect handler) over the EC2 Query protocol, so that the unmodified AWS SDKs and
//! CLI can be pointed at it; clients connecting go through the endpoint's connect handler, called
//! through the Lambda Invoke API. Endpoints live in accounts and Regions, reached with STS
//! `AssumeRole` (`accounts.rs`). See README.md for the admin API.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let emulator = cvpn_emulator::start("127.0.0.1:0", Default::default(), Default::default()).await?;
//! std::env::set_var("AWS_ENDPOINT_URL_EC2", emulator.url());
//! # Ok(()) }
//! ```

mod accounts;
mod actions;
mod connect;
mod faults;
mod http;
mod pagination;
mod protocol;
mod service;
mod state;
mod world;

pub use accounts::DEFAULT_ACCOUNT;
pub use connect::{AttemptResult, ConnectAttempt, LambdaOptions};
pub use faults::{ActionFaults, ActionStats, Faults, Throttle};
pub use service::{ClockChange, ClockView, Options, Service, TrafficChange, MAX_TERMINATE_DELAY};
pub use state::{
    AccountState, ClientConnectOptions, ConnectionState, ConnectionStatus, EndpointState,
    RefusedConnection, RegionState, RoleState, StateFile,
};

use std::net::SocketAddr;
use std::sync::Arc;

/// An emulator serving on a loopback port; it stops when dropped.
pub struct RunningEmulator {
    addr: SocketAddr,
    service: Arc<Service>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningEmulator {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint URL to give an SDK (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Direct access to what the admin API exposes, for in-process tests.
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// Serves until the task is cancelled (for the binary, which runs until killed).
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `listen` (port 0 picks a free port) and serves `state` in the background.
pub async fn start(
    listen: &str,
    state: StateFile,
    options: Options,
) -> std::io::Result<RunningEmulator> {
    let service = Arc::new(
        Service::new(state, options)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
    );
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let app = http::router(service.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(RunningEmulator {
        addr,
        service,
        task,
    })
}
