//! AWS behind small traits: Client VPN's API ([`ec2`], aws-sdk-ec2) and the state table
//! ([`state`], aws-sdk-dynamodb: idle tracks and the quarantine); [`aws`] turns SDK errors into the
//! core's.

pub mod aws;
pub mod ec2;
pub mod state;
