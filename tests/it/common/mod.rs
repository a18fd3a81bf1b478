//! Harness for tests that run the production path (aws-sdk-ec2 over HTTP) against the emulator.

pub mod binary;
pub mod fleet;
pub mod office;
pub mod quarantine;
pub mod signals;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_ec2::config::Credentials;
use cvpn_emulator::{
    ClockChange, ConnectionState, ConnectionStatus, Options, RunningEmulator, Service, StateFile,
};
use cvpn_terminator::domain::model::{ApiError, By, Connection, Endpoint, Page, StatusChange};
use cvpn_terminator::{App, ClientVpnApi, Config, Dynamo, Ec2, HandlerError, Response};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub const EP_A: &str = "cvpn-endpoint-0a1b2c3d4e5f60718";
pub const EP_B: &str = "cvpn-endpoint-0b1c2d3e4f5a60719";

pub fn events_dir() -> String {
    format!("{}/events", env!("CARGO_MANIFEST_DIR"))
}

pub fn event(name: &str) -> Value {
    let path = format!("{}/{name}", events_dir());
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

pub fn sample_state() -> StateFile {
    serde_json::from_value(event("emulator-state.json")).unwrap()
}

/// A connection ID in the samples' style: `tag` then the number, 17 hex digits in all.
pub fn cid(tag: &str, n: u32) -> String {
    format!("cvpn-connection-{:0>17}", format!("{tag}{n:x}"))
}

pub fn connection(id: String, user: Option<&str>, ip: &str) -> ConnectionState {
    ConnectionState {
        connection_id: id,
        username: user.map(str::to_owned),
        common_name: user.map(str::to_owned),
        client_ip: Some(ip.to_owned()),
        client_ipv6_address: None,
        status: ConnectionStatus::Active,
        status_message: None,
        connection_established_time: "2026-11-22T07:30:00Z".parse().unwrap(),
        connection_end_time: None,
        ingress_bytes: 1000,
        egress_bytes: 1000,
        ingress_packets: 0,
        egress_packets: 0,
        posture_compliance_status_set: vec![],
    }
}

/// The SDK as production builds it (adaptive retry), with backoff shortened so storms stay quick.
pub fn ec2_client(url: &str, max_attempts: u32) -> aws_sdk_ec2::Client {
    let config = aws_sdk_ec2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "example-secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(url)
        .retry_config(
            RetryConfig::adaptive()
                .with_max_attempts(max_attempts)
                .with_initial_backoff(Duration::from_millis(2))
                .with_max_backoff(Duration::from_millis(20)),
        )
        .build();
    aws_sdk_ec2::Client::from_conf(config)
}

pub struct Harness {
    pub emulator: RunningEmulator,
    pub app: App<Ec2, Dynamo>,
}

impl Harness {
    /// The same function with `config`, its state table and notifiers, but endpoint `endpoint`
    /// cannot be listed: a partial picture.
    pub fn without_listing(
        &self,
        config: Config,
        endpoint: &'static str,
    ) -> App<Faulty<'static>, Dynamo> {
        App {
            config,
            api: Faulty {
                unlistable: Some(endpoint),
                ..Faulty::new(Ec2::new(ec2_client(&self.emulator.url(), 2)))
            }
            .into(),
            store: self.app.store.clone(),
            notifiers: self.app.notifiers.clone(),
            directory: None,
        }
    }
}

pub async fn harness(state: StateFile, config: Config) -> Harness {
    let emulator = cvpn_emulator::start(
        "127.0.0.1:0",
        state,
        Options {
            terminate_delay: Duration::from_secs(2),
            ..Options::default()
        },
    )
    .await
    .unwrap();
    emulator
        .service()
        .set_clock(&ClockChange {
            now: Some("2026-11-22T09:15:00Z".into()),
            ..Default::default()
        })
        .unwrap();
    let api = Ec2::new(ec2_client(&emulator.url(), config.max_attempts)).into();
    let notifiers = cvpn_terminator::adapters::notify::Notifiers {
        sts: Some(cvpn_terminator::adapters::lazy::Lazy::ready(sts_client(
            &emulator.url(),
        ))),
        ..Default::default()
    };
    Harness {
        emulator,
        app: App {
            config,
            api,
            store: None,
            notifiers,
            directory: None,
        },
    }
}

/// STS on the emulator, which answers `GetCallerIdentity` with the account the keys act in: how
/// an incident outside Lambda learns the function's own account.
pub fn sts_client(url: &str) -> aws_sdk_sts::Client {
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "example-secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(url)
        .build();
    aws_sdk_sts::Client::from_conf(config)
}

impl Harness {
    /// Calls of every action the emulator has answered, but the one `GetCallerIdentity` that
    /// tells the function its own account (asked once per process, outside the incident's calls).
    pub fn api_calls(&self) -> u64 {
        self.emulator
            .service()
            .stats()
            .iter()
            .filter(|(action, _)| action.as_str() != "GetCallerIdentity")
            .map(|(_, s)| s.calls)
            .sum()
    }

    /// How many connections of `user` are active.
    pub fn active_of(&self, user: &str) -> usize {
        self.emulator
            .service()
            .snapshot()
            .endpoints
            .iter()
            .flat_map(|e| e.connections.iter())
            .filter(|c| c.username.as_deref() == Some(user) && c.status == ConnectionStatus::Active)
            .count()
    }

    /// IDs of every connection that is no longer active.
    pub fn ended(&self) -> BTreeSet<String> {
        self.emulator
            .service()
            .snapshot()
            .endpoints
            .iter()
            .flat_map(|e| e.connections.iter())
            .filter(|c| c.status != ConnectionStatus::Active)
            .map(|c| c.connection_id.clone())
            .collect()
    }
}

/// `event` as a new EventBridge event (another ID): a republished finding, not a redelivery.
pub fn anew(event: &Value, tag: &str) -> Value {
    let mut e = event.clone();
    e["id"] = serde_json::json!(format!("{}-{tag}", event["id"].as_str().unwrap_or("event")));
    e
}

/// `event` handled as Lambda's invocation `request` would, in account 111122223333.
pub async fn deliver(
    app: &App<impl ClientVpnApi, Dynamo>,
    event: &Value,
    request: &str,
) -> Result<Response, HandlerError> {
    let invoked = cvpn_terminator::shell::handler::Invoked {
        deadline: Some(std::time::Instant::now() + Duration::from_secs(60)),
        request_id: Some(request),
        account: Some("111122223333"),
    };
    app.handle_invoked(event, invoked).await
}

/// The connection IDs of response entries.
pub fn ids(entries: &[cvpn_terminator::shell::report::Entry]) -> BTreeSet<String> {
    entries
        .iter()
        .filter_map(|e| e.connection_id.clone())
        .collect()
}

pub fn set(ids: &[String]) -> BTreeSet<String> {
    ids.iter().cloned().collect()
}

/// moto's server on a free loopback port, for DynamoDB; killed when dropped.
pub struct Moto {
    child: std::process::Child,
    pub url: String,
}

impl Moto {
    /// Starts `moto_server` (or `$MOTO_SERVER`) and waits for the line that gives its address.
    pub fn start() -> Moto {
        use std::io::{BufRead, BufReader};
        let program = std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
        let mut child = std::process::Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {program} ({e}): pip install 'moto[server]' (scripts/test does)"
                )
            });
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("moto_server exited before it listened")
                .unwrap();
            if let Some(at) = line.find("http://") {
                break line[at..].trim().to_owned();
            }
        };
        // Keep draining its log so the pipe never fills and stalls it.
        std::thread::spawn(move || lines.for_each(drop));
        Moto { child, url }
    }

    /// The settings of any SDK client for this server.
    pub fn sdk(&self) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(aws_sdk_ec2::config::SharedCredentialsProvider::new(
                Credentials::new("AKIDEXAMPLE", "example-secret", None, None, "test"),
            ))
            .endpoint_url(&self.url)
            .build()
    }

    /// A DynamoDB client for this server.
    pub fn client(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk())
    }

    /// A fresh table shaped as the function expects (string key `pk`, TTL on `expiresAt`).
    pub async fn table(&self, name: &str) -> Dynamo {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
            TimeToLiveSpecification,
        };
        let client = self.client();
        client
            .create_table()
            .table_name(name)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .unwrap();
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name("expiresAt")
                    .enabled(true)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        Dynamo::new(client, name)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An EventBridge rule's scheduled event at `time` (each tick its own event ID, as EventBridge
/// gives them).
pub fn tick(time: &str) -> Value {
    serde_json::json!({
        "version": "0", "id": format!("tick-{time}"), "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "111122223333", "time": time, "region": "eu-west-1",
        "resources": ["arn:aws:events:eu-west-1:111122223333:rule/cvpn-terminator-sweep"], "detail": {}
    })
}

/// Handles `event` with the harness's configuration while `change` moves the emulator's world
/// between the listing and the first Terminate.
pub async fn handle_meanwhile(
    h: &Harness,
    change: impl Fn(&Service) + Send + Sync,
    event: serde_json::Value,
) -> Result<Response, HandlerError> {
    let app = App {
        config: h.app.config.clone(),
        api: Faulty {
            meanwhile: Some((Box::new(change), h.emulator.service())),
            ..Faulty::new(Ec2::new(ec2_client(&h.emulator.url(), 2)))
        }
        .into(),
        store: None::<Dynamo>,
        notifiers: Default::default(),
        directory: None,
    };
    app.handle(&event).await
}

pub fn terminate_stats(h: &Harness) -> cvpn_emulator::ActionStats {
    h.emulator.service().stats()["TerminateClientVpnConnections"]
}

/// The sample state plus `count` connections of `user` on endpoint A.
pub fn with_user(user: &str, tag: &str, count: u32) -> cvpn_emulator::StateFile {
    let mut state = sample_state();
    state.endpoints[0]
        .connections
        .extend((1..=count).map(|i| connection(cid(tag, i), Some(user), &format!("10.100.9.{i}"))));
    state
}

/// One change to the emulator's world, made just before the first Terminate.
pub type Meanwhile<'a> = (Box<dyn Fn(&Service) + Send + Sync + 'a>, &'a Service);

/// The emulator's EC2 with what the emulator alone cannot express: one endpoint whose connections
/// cannot be listed, a Terminate that is never answered (only a deadline ends the wait), or the
/// world moving between the listing and the first Terminate.
pub struct Faulty<'a> {
    pub inner: Ec2,
    pub unlistable: Option<&'static str>,
    /// An endpoint whose listing never answers: only a deadline ends the wait.
    pub hanging: Option<&'static str>,
    pub unanswered: bool,
    pub meanwhile: Option<Meanwhile<'a>>,
    pub done: AtomicBool,
}

impl Faulty<'_> {
    pub fn new(inner: Ec2) -> Self {
        Self {
            inner,
            unlistable: None,
            hanging: None,
            unanswered: false,
            meanwhile: None,
            done: AtomicBool::new(false),
        }
    }
}

impl ClientVpnApi for Faulty<'_> {
    async fn endpoints_page(&self, token: Option<String>) -> Result<Page<Endpoint>, ApiError> {
        self.inner.endpoints_page(token).await
    }

    async fn connections_page(
        &self,
        endpoint_id: &str,
        token: Option<String>,
    ) -> Result<Page<Connection>, ApiError> {
        if self.unlistable == Some(endpoint_id) {
            return Err(ApiError {
                code: "InternalError".into(),
                message: "injected".into(),
            });
        }
        if self.hanging == Some(endpoint_id) {
            std::future::pending::<()>().await;
        }
        self.inner.connections_page(endpoint_id, token).await
    }

    async fn user_connections(
        &self,
        endpoint_id: &str,
        username: &str,
    ) -> Result<Vec<Connection>, ApiError> {
        self.inner.user_connections(endpoint_id, username).await
    }

    async fn terminate(
        &self,
        endpoint_id: &str,
        by: &By,
        dry_run: bool,
    ) -> Result<Vec<StatusChange>, ApiError> {
        if self.unanswered {
            std::future::pending::<()>().await;
        }
        if let Some((change, service)) = &self.meanwhile {
            if !self.done.swap(true, Ordering::SeqCst) {
                change(service);
            }
        }
        self.inner.terminate(endpoint_id, by, dry_run).await
    }
}

/// The SDK's configuration for a client aws-smithy-mocks answers (for the actions neither moto's
/// server nor the emulator has): each test adds its rules on the service's own builder.
pub fn mocked_sdk() -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(aws_sdk_ec2::config::SharedCredentialsProvider::new(
            aws_sdk_ec2::config::Credentials::new(
                "AKIDEXAMPLE",
                "example-secret",
                None,
                None,
                "test",
            ),
        ))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .build()
}
