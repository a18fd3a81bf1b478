//! The integration tests: one module per concern, in one test crate, so that the AWS SDKs are
//! linked once rather than once per file. Each module's own comment says what it covers; the
//! harness is `common/`.

// The handler's future nests the AWS SDK's deep async stacks (see src/bin/cvpn-terminator/main.rs);
// tests that await it compute its layout past rustc's default query depth.
#![recursion_limit = "256"]

mod common;

mod aggregator;
mod approval;
mod cli;
mod connect_properties;
mod deliveries;
mod evidence;
mod evidence_properties;
mod faults;
mod finding_notes;
mod identity;
mod idp;
mod incident;
mod many_places;
mod outcomes;
mod plan_properties;
mod quarantine;
mod quarantine_faults;
mod runtime_deadline;
mod signals;
mod split;
mod storms;
mod sweep;
mod sweep_clock;
mod sweep_properties;
mod targets;
