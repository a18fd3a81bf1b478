//! AWS behind small traits: Client VPN's API ([`ec2`], aws-sdk-ec2) and the state table
//! ([`state`], aws-sdk-dynamodb: idle tracks and the quarantine); where people are told what was
//! done ([`notify`]: EventBridge and Security Hub); where it acts ([`targets`]: one EC2 client per
//! account and Region); an IdP's signing keys ([`keys`], over HTTPS); IAM Identity Center's
//! users ([`directory`]); an organization's accounts ([`organization`]) and where its endpoints
//! are ([`aggregator`]: AWS Config); [`aws`] turns SDK errors into the core's.

pub mod aggregator;
pub mod assumed;
pub mod aws;
pub mod directory;
pub mod ec2;
pub mod http;
pub mod keys;
pub mod lazy;
pub mod notify;
pub mod organization;
pub mod state;
pub mod targets;
