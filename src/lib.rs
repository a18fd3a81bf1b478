//! cvpn-terminator: ends AWS Client VPN sessions on GuardDuty and Security Hub findings and on
//! direct requests.
//!
//! The pure core decodes events ([`trigger`]), extracts indicators ([`indicators`]), maps
//! identities ([`mapping`]), gates findings ([`gates`]) and decides what to end ([`plan`]). The
//! shell lists and terminates through [`ec2`] ([`execute`]) and reports ([`report`]); [`handler`]
//! ties one invocation together.

pub mod config;
pub mod ec2;
pub mod execute;
pub mod gates;
pub mod handler;
pub mod indicators;
pub mod json;
pub mod logging;
pub mod mapping;
pub mod model;
pub mod plan;
pub mod report;
pub mod trigger;

pub use config::Config;
pub use ec2::{ClientVpnApi, Ec2};
pub use handler::{App, HandlerError};
pub use report::Response;
