//! The pure core: decoding events ([`trigger`], one module per format, reading only the fields
//! that are evidence), who may name a person ([`naming`]) and who a name is ([`person`]), mapping
//! identities ([`mapping`], [`pattern`]), gating findings ([`gates`]), asking a person first
//! ([`approval`]),
//! deciding what to end ([`plan`]), judging idle and over-age connections ([`policy`]), and whom an
//! incident keeps out and what the connect handler answers ([`quarantine`]), the IdP's signed word over
//! HTTP ([`signal`]), and the console links people are sent ([`console`]); where it acts ([`targets`])
//! (or an organization's accounts: [`organization`]) and which of those places have endpoints
//! ([`inventory`]). Plain data
//! ([`model`], [`json`]) in, decisions out; no I/O, so every rule is tested on its own.

pub mod approval;
pub mod console;
pub mod error_kind;
pub mod gates;
pub mod inventory;
pub mod json;
pub mod mapping;
pub mod metrics;
pub mod model;
pub mod naming;
pub mod organization;
pub mod pace;
pub mod pattern;
pub mod person;
pub mod plan;
pub mod policy;
pub mod quarantine;
pub mod scope;
pub mod signal;
pub mod split;
pub mod targets;
pub mod text;
pub mod trigger;
