//! The inventory of where endpoints are (`domain/inventory.rs`) in use: a sweep that listed every
//! place records what it saw, a sweep of some places (a split sweep's child) what it saw of
//! them; an incident reads it (once per few minutes in a warm function) and
//! lists only the places that may have endpoints. A deployment of one place has no use for it.

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::inventory::InventoryStore;
use crate::adapters::state::StateStore;
use crate::adapters::targets::Target;
use crate::domain::inventory::Inventory;
use crate::shell::app::App;
use crate::shell::budget::Budget;
use crate::shell::invocation::{Invocation, Seen};
use crate::shell::report;
use std::time::Duration;

/// How long a warm function uses the inventory it read before reading it again: sweeps write it
/// every few minutes, and an incident should not pay a read each time.
const REREAD: Duration = Duration::from_secs(5 * 60);

impl<A: ClientVpnApi, S: StateStore + InventoryStore> App<A, S> {
    /// Of `targets`, those to list: the places the inventory says may have endpoints (with
    /// `named` endpoints it knows, their places), or all of them without a fresh inventory.
    pub async fn inventoried<'t>(
        &'t self,
        targets: Vec<&'t Target<A>>,
        named: Option<&[String]>,
        budget: &Budget,
    ) -> Vec<&'t Target<A>> {
        let (Some(store), true) = (&self.store, targets.len() > 1) else {
            return targets;
        };
        let inventory = match self.api.inventory_read_within(REREAD) {
            Some(remembered) => remembered,
            None => match budget.call(store.inventory()).await {
                Ok(read) => {
                    self.api.remember_inventory(read.clone());
                    read
                }
                Err(e) => {
                    // Not knowing where endpoints are is listing everywhere, as without one.
                    report::log_call_warning(
                        "GetItem",
                        &e,
                        "the inventory could not be read: every place is listed",
                    );
                    None
                }
            },
        };
        let now = chrono::Utc::now().timestamp();
        let places = targets.iter().map(|t| &t.place);
        let Some(keep) = Inventory::to_list(inventory.as_ref(), places, named, now) else {
            return targets;
        };
        let all = targets.len();
        let kept: Vec<&'t Target<A>> = targets
            .into_iter()
            .filter(|t| keep.contains(&t.place))
            .collect();
        tracing::info!(
            event = "inventory_used",
            places = kept.len(),
            of = all,
            "listing only the places the inventory says may have endpoints"
        );
        kept
    }
}

impl<'a, A: ClientVpnApi, S: StateStore + InventoryStore> Invocation<'a, A, S> {
    /// Records what a sweep that listed every place saw, for incidents to go straight to the
    /// places with endpoints. A failure is logged: incidents then list every place.
    pub(crate) async fn record_inventory(&mut self, seen: &Seen, started: i64) {
        let (Some(store), true) = (&self.app.store, self.app.api.len() > 1) else {
            return;
        };
        // Dated when the listing began: what it saw is no newer than that.
        let inventory = Inventory::seen(started, &seen.listed, &seen.endpoints);
        let (endpoints, handled) = inventory.coverage();
        match self.budget.call(store.record_inventory(&inventory)).await {
            Ok(false) => tracing::info!(
                event = "inventory_kept",
                "a later sweep's inventory is in the table: it stands"
            ),
            Ok(true) => {
                tracing::info!(
                    event = "inventory_recorded",
                    places = self.app.api.len(),
                    places_empty = inventory.empty.len(),
                    places_with_endpoints = inventory.endpoints.len(),
                    endpoints,
                    endpoints_with_connect_handler = handled,
                    "where endpoints are, for incidents to go straight there"
                );
                self.app.api.remember_inventory(Some(inventory));
            }
            Err(e) => report::log_call_warning(
                "PutItem",
                &e,
                "the inventory could not be recorded: incidents list every place",
            ),
        }
    }

    /// Records what a sweep of some places saw of each (listing from `started` to `done`),
    /// beside what the tick's other children saw. A failure is logged: incidents then list those
    /// places.
    pub(crate) async fn record_places(&mut self, seen: &Seen, started: i64, done: i64) {
        let (Some(store), true) = (&self.app.store, self.app.api.len() > 1) else {
            return;
        };
        let places = Inventory::seen(started, &seen.listed, &seen.endpoints).by_place(done);
        if places.is_empty() {
            return;
        }
        match self.budget.call(store.record_places(&places)).await {
            Ok(kept) => tracing::info!(
                event = "inventory_recorded",
                places = places.len(),
                newer_kept = kept,
                "where endpoints are in the places swept, for incidents to go straight there"
            ),
            Err(e) => report::log_call_warning(
                "UpdateItem",
                &e,
                "the inventory of these places could not be recorded: incidents list them",
            ),
        }
    }
}
