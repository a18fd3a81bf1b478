//! One HTTP client for every AWS SDK client of the process. The SDK's default gives each client
//! its own, and validates it when the client is built by making a TLS connector (the platform's
//! root certificates parsed) only to drop it: the connect handler's start paid for three
//! connectors where one serves. Here every client shares one connector per timeout setting, made
//! on the first call that needs it, with the SDK's default stack (hyper 1, rustls on aws-lc, the
//! platform's roots, proxies from the environment).

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_http_client::ConnectorBuilder;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Connectors by their timeouts (connect, read): what tells one setting from another.
type Connectors = HashMap<(Option<Duration>, Option<Duration>), SharedHttpConnector>;

/// Cheap to clone: the clones share the connectors.
#[derive(Clone, Debug, Default)]
pub struct OneHttpClient {
    connectors: Arc<Mutex<Connectors>>,
}

impl OneHttpClient {
    pub fn shared() -> SharedHttpClient {
        SharedHttpClient::new(Self::default())
    }

    /// How many connectors were made.
    pub fn connectors(&self) -> usize {
        self.connectors.lock().expect("not poisoned").len()
    }
}

impl HttpClient for OneHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self.connectors.lock().expect("not poisoned");
        connectors
            .entry(key)
            .or_insert_with(|| {
                let mut builder =
                    ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::AwsLc));
                builder.set_connector_settings(Some(settings.clone()));
                builder.set_sleep_impl(components.sleep_impl());
                builder.set_proxy_config(Some(ProxyConfig::from_env()));
                SharedHttpConnector::new(builder.build())
            })
            .clone()
    }
    // Validating, the default, makes nothing: the connector is made on the first call.
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_config::{BehaviorVersion, Region};
    use aws_sdk_ec2::config::Credentials;

    #[tokio::test]
    async fn every_client_shares_one_connector_made_on_the_first_call() {
        let emulator = cvpn_emulator::start(
            "127.0.0.1:0",
            Default::default(),
            cvpn_emulator::Options::default(),
        )
        .await
        .unwrap();
        let http = OneHttpClient::default();
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http.clone())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url(emulator.url())
            .load()
            .await;
        let ec2 = aws_sdk_ec2::Client::new(&sdk);
        let sts = aws_sdk_sts::Client::new(&sdk);
        assert_eq!(http.connectors(), 0, "building clients makes no connector");
        ec2.describe_client_vpn_endpoints().send().await.unwrap();
        sts.get_caller_identity().send().await.unwrap();
        assert_eq!(http.connectors(), 1, "both calls went through one");
    }
}
