//! cvpn-terminator: ends AWS Client VPN sessions on GuardDuty and Security Hub findings and on
//! direct requests.
//!
//! The pure core decodes events ([`trigger`], one module per format, reading only the fields
//! that are evidence), maps identities ([`mapping`]), gates findings ([`gates`]), decides what to end ([`plan`]) and judges
//! idle and over-age connections ([`policy`]). The shell lists and terminates through [`ec2`]
//! ([`execute`]), keeps idle state through [`state`], and reports ([`report`]); [`handler`] ties one
//! invocation together, handing findings and requests to [`incident`] and schedules to [`sweep`].
//! [`quarantine`] decides whom an incident keeps out and what the client connect handler answers;
//! [`keep_out`] and [`connect`] are their shells.

pub mod aws;
pub mod config;
pub mod connect;
pub mod ec2;
pub mod execute;
pub mod gates;
pub mod handler;
pub mod incident;
mod invocation;
pub mod json;
pub mod keep_out;
pub mod logging;
pub mod mapping;
pub mod model;
pub mod pattern;
pub mod plan;
pub mod policy;
pub mod quarantine;
pub mod report;
pub mod state;
pub mod sweep;
pub mod trigger;

pub use config::Config;
pub use ec2::{ClientVpnApi, Ec2};
pub use handler::{App, HandlerError};
pub use report::Response;
pub use state::quarantine::QuarantineStore;
pub use state::{Dynamo, StateStore};
