//! cvpn-terminator: ends AWS Client VPN sessions on GuardDuty and Security Hub findings and on
//! direct requests, sweeps idle and over-age sessions, and keeps the people it cut off out.
//!
//! The tree is the architecture: [`domain`] is the pure core (plain data in, decisions out, no
//! I/O), [`adapters`] put AWS behind small traits, [`shell`] runs one invocation with them, and
//! `src/bin/cvpn-terminator` is the entry point (the Lambda runtime loop and the command line).
//! Imports run down this list, never back up.

pub mod adapters;
pub mod domain;
pub mod shell;

pub use adapters::ec2::{ClientVpnApi, Ec2};
pub use adapters::state::quarantine::QuarantineStore;
pub use adapters::state::{Dynamo, StateStore};
pub use adapters::targets::{Target, Targets};
pub use shell::app::{App, HandlerError};
pub use shell::config::Config;
pub use shell::report::Response;
