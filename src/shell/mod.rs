//! One invocation, with the adapters: the [`app`] holds the settings and clients; [`handler`] decodes the event and hands it, with a fresh
//! per-invocation context, to the incident path ([`incident`], the IdP's word through `idp.rs`, then [`quarantine`]), the scheduled
//! cleanup ([`sweep`]) or the connect handler ([`connect`]), once per EventBridge delivery
//! (`delivery.rs`), then tells people what was done (`notify.rs`); [`listing`] lists and [`execute`]
//! terminates within the invocation's [`budget`]; [`report`] builds the answer and the audit lines. Settings come
//! from [`config`], the log format from [`logging`].

mod activity;
pub mod app;
mod approval;
pub mod budget;
pub mod config;
pub mod connect;
mod delivery;
pub mod execute;
pub mod handler;
mod identity_center;
mod idp;
pub mod incident;
mod inventory;
mod invocation;
pub mod listing;
pub mod logging;
mod notify;
pub mod organization;
mod pace;
mod partial;
pub mod quarantine;
pub mod report;
mod selectors;
mod signal;
pub mod sweep;
mod tick;
