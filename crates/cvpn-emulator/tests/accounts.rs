//! Accounts and Regions through the real SDKs: the Region taken from the SigV4 credential scope,
//! STS `AssumeRole` (aws-sdk-sts, and aws-config's assume-role provider, which cvpn-terminator
//! uses) checked against the roles in the state, and each account's endpoints seen only with its
//! credentials and in their Region.

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use cvpn_emulator::{
    ActionFaults, ConnectionStatus, Faults, Options, RunningEmulator, StateFile, Throttle,
};
use serde_json::json;

const NETWORK: &str = "222233334444";
const GUARDED: &str = "333344445555";
const ROLE: &str = "cvpn-terminator-target";

fn endpoint(id: &str, user: &str) -> serde_json::Value {
    json!({"clientVpnEndpointId": format!("cvpn-endpoint-{id}"), "connections": [{
        "connectionId": format!("cvpn-connection-{id}"), "username": user,
        "connectionEstablishedTime": "2026-11-22T08:00:00Z"}]})
}

/// The security account (the default, 111122223333): one flat endpoint `f0` and one in
/// us-east-1; a network account with the role in two Regions; another whose role wants an
/// external ID.
fn world() -> StateFile {
    serde_json::from_value(json!({
        "endpoints": [endpoint("00000000000000f00", "sec")],
        "regions": {"us-east-1": {"endpoints": [endpoint("00000000000000f01", "sec")]}},
        "accounts": [
            {"accountId": NETWORK, "roles": [{"roleName": ROLE}], "regions": {
                "ap-southeast-2": {"endpoints": [endpoint("00000000000000a02", "alice")]},
                "eu-west-1": {"endpoints": [endpoint("00000000000000a01", "alice")]}}},
            {"accountId": GUARDED, "roles": [{"roleName": ROLE, "externalId": "s3cret"}], "regions": {
                "eu-west-1": {"endpoints": [endpoint("00000000000000b01", "alice")]}}}
        ]
    }))
    .unwrap()
}

async fn start() -> RunningEmulator {
    cvpn_emulator::start("127.0.0.1:0", world(), Options::default())
        .await
        .unwrap()
}

/// This account's configuration: every service (EC2 and STS) at the emulator.
async fn base(emulator: &RunningEmulator, region: &'static str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(emulator.url())
        .retry_config(RetryConfig::disabled())
        .load()
        .await
}

/// As the function builds a target: the role assumed through aws-config's provider, which
/// caches the credentials.
async fn role(
    emulator: &RunningEmulator,
    account: &str,
    external_id: Option<&str>,
) -> AssumeRoleProvider {
    let mut builder = AssumeRoleProvider::builder(format!("arn:aws:iam::{account}:role/{ROLE}"))
        .session_name("cvpn-terminator")
        .configure(&base(emulator, "eu-west-1").await);
    if let Some(id) = external_id {
        builder = builder.external_id(id);
    }
    builder.build().await
}

fn ec2(
    config: &SdkConfig,
    credentials: Option<&SharedCredentialsProvider>,
    region: &'static str,
) -> aws_sdk_ec2::Client {
    let mut builder = aws_sdk_ec2::config::Builder::from(config).region(Region::new(region));
    if let Some(c) = credentials {
        builder = builder.credentials_provider(c.clone());
    }
    aws_sdk_ec2::Client::from_conf(builder.build())
}

async fn endpoint_ids(client: &aws_sdk_ec2::Client) -> Result<Vec<String>, String> {
    let out = client
        .describe_client_vpn_endpoints()
        .send()
        .await
        .map_err(|e| e.code().unwrap_or("no code").to_owned())?;
    Ok(out
        .client_vpn_endpoints()
        .iter()
        .filter_map(|e| {
            e.client_vpn_endpoint_id()
                .map(|id| id["cvpn-endpoint-".len()..].to_owned())
        })
        .collect())
}

#[tokio::test]
async fn each_caller_sees_its_own_account_and_region() {
    let emulator = start().await;
    let config = base(&emulator, "eu-west-1").await;
    // This account: the flat endpoint answers in every Region it does not name.
    assert_eq!(
        endpoint_ids(&ec2(&config, None, "eu-west-1"))
            .await
            .unwrap(),
        ["00000000000000f00"]
    );
    assert_eq!(
        endpoint_ids(&ec2(&config, None, "ap-southeast-2"))
            .await
            .unwrap(),
        ["00000000000000f00"]
    );
    assert_eq!(
        endpoint_ids(&ec2(&config, None, "us-east-1"))
            .await
            .unwrap(),
        ["00000000000000f01"]
    );

    // The network account: each client assumes the role once and caches the credentials.
    let network = SharedCredentialsProvider::new(role(&emulator, NETWORK, None).await);
    let eu = ec2(&config, Some(&network), "eu-west-1");
    let ap = ec2(&config, Some(&network), "ap-southeast-2");
    assert_eq!(endpoint_ids(&eu).await.unwrap(), ["00000000000000a01"]);
    assert_eq!(endpoint_ids(&eu).await.unwrap(), ["00000000000000a01"]);
    assert_eq!(emulator.service().stats()["AssumeRole"].calls, 1);
    assert_eq!(endpoint_ids(&ap).await.unwrap(), ["00000000000000a02"]);
    assert_eq!(
        endpoint_ids(&ec2(&config, Some(&network), "us-east-1"))
            .await
            .unwrap(),
        Vec::<String>::new()
    );

    // Another account's endpoint is as absent as in AWS, whichever way it is named.
    let foreign = eu
        .describe_client_vpn_connections()
        .client_vpn_endpoint_id("cvpn-endpoint-00000000000000f00")
        .send()
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Some("InvalidClientVpnEndpointId.NotFound"));
    let foreign = ec2(&config, None, "eu-west-1")
        .terminate_client_vpn_connections()
        .client_vpn_endpoint_id("cvpn-endpoint-00000000000000a01")
        .username("alice")
        .send()
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Some("InvalidClientVpnEndpointId.NotFound"));

    // Ending alice in one account and Region leaves her elsewhere alone.
    eu.terminate_client_vpn_connections()
        .client_vpn_endpoint_id("cvpn-endpoint-00000000000000a01")
        .username("alice")
        .send()
        .await
        .unwrap();
    let snapshot = emulator.service().snapshot();
    let status = |region: &str, account: usize| {
        snapshot.accounts[account].regions[region].endpoints[0].connections[0].status
    };
    assert_eq!(status("eu-west-1", 0), ConnectionStatus::Terminating);
    assert_eq!(status("ap-southeast-2", 0), ConnectionStatus::Active);
    assert_eq!(status("eu-west-1", 1), ConnectionStatus::Active);
}

#[tokio::test]
async fn a_role_missing_from_the_state_or_without_its_external_id_is_refused() {
    let emulator = start().await;
    let config = base(&emulator, "eu-west-1").await;
    let sts = aws_sdk_sts::Client::new(&config);
    let assume = |account: &str, role: &str, external_id: Option<&str>| {
        sts.assume_role()
            .role_arn(format!("arn:aws:iam::{account}:role/{role}"))
            .role_session_name("cvpn-terminator")
            .set_external_id(external_id.map(str::to_owned))
            .send()
    };
    for (account, role, external_id) in [
        (NETWORK, "someone-else", None),
        ("444455556666", ROLE, None),
        (GUARDED, ROLE, None),
        (GUARDED, ROLE, Some("guess")),
    ] {
        let e = assume(account, role, external_id).await.unwrap_err();
        assert_eq!(
            e.code(),
            Some("AccessDenied"),
            "{account} {role} {external_id:?}"
        );
    }
    let out = assume(GUARDED, ROLE, Some("s3cret")).await.unwrap();
    let user = out.assumed_role_user().unwrap();
    assert_eq!(
        user.arn(),
        format!("arn:aws:sts::{GUARDED}:assumed-role/{ROLE}/cvpn-terminator")
    );

    // Through the provider, a refused role leaves the client without credentials: EC2 is never
    // called.
    let missing = SharedCredentialsProvider::new(role(&emulator, GUARDED, None).await);
    assert!(endpoint_ids(&ec2(&config, Some(&missing), "eu-west-1"))
        .await
        .is_err());
    let described = |e: &RunningEmulator| {
        e.service()
            .stats()
            .get("DescribeClientVpnEndpoints")
            .map_or(0, |s| s.calls)
    };
    assert_eq!(described(&emulator), 0);
    let guarded = SharedCredentialsProvider::new(role(&emulator, GUARDED, Some("s3cret")).await);
    assert_eq!(
        endpoint_ids(&ec2(&config, Some(&guarded), "eu-west-1"))
            .await
            .unwrap(),
        ["00000000000000b01"]
    );
}

#[tokio::test]
async fn each_account_and_region_has_its_own_throttle_bucket() {
    let emulator = start().await;
    let one = ActionFaults {
        throttle: Some(Throttle {
            bucket: 1.0,
            refill_per_second: 0.0,
        }),
        ..ActionFaults::default()
    };
    emulator
        .service()
        .set_faults(Faults {
            seed: 1,
            actions: [("DescribeClientVpnEndpoints".to_owned(), one)].into(),
        })
        .unwrap();
    let config = base(&emulator, "eu-west-1").await;
    let here = ec2(&config, None, "eu-west-1");
    assert!(endpoint_ids(&here).await.is_ok());
    assert_eq!(
        endpoint_ids(&here).await.unwrap_err(),
        "RequestLimitExceeded"
    );
    assert!(endpoint_ids(&ec2(&config, None, "us-east-1")).await.is_ok());
    let network = SharedCredentialsProvider::new(role(&emulator, NETWORK, None).await);
    assert!(endpoint_ids(&ec2(&config, Some(&network), "eu-west-1"))
        .await
        .is_ok());
}

#[tokio::test]
async fn the_state_reads_back_as_written_and_bad_accounts_are_refused() {
    let emulator = start().await;
    assert_eq!(emulator.service().snapshot(), world());
    let mut twice = world();
    twice.accounts[1].account_id = NETWORK.into();
    let e = emulator.service().replace_state(twice).unwrap_err();
    assert!(
        e.contains("accounts[1].accountId") && e.contains("twice"),
        "{e}"
    );
    let mut bad = world();
    bad.accounts[0].account_id = "2222".into();
    let e = emulator.service().replace_state(bad).unwrap_err();
    assert!(
        e.contains("accounts[0].accountId") && e.contains("twelve digits"),
        "{e}"
    );
    let mut shared = world();
    shared.accounts[1]
        .regions
        .get_mut("eu-west-1")
        .unwrap()
        .endpoints[0]
        .client_vpn_endpoint_id = "cvpn-endpoint-00000000000000a01".into();
    let e = emulator.service().replace_state(shared).unwrap_err();
    assert!(
        e.contains("cvpn-endpoint-00000000000000a01 appears twice"),
        "{e}"
    );
}
