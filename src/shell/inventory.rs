//! The inventory of where endpoints are (`domain/inventory.rs`) in use: a sweep that listed every
//! place records what it saw, a sweep of some places (a split sweep's child) what it saw of
//! them; an incident reads it (once per few minutes in a warm function) and
//! lists only the places that may have endpoints. A deployment of one place has no use for it.

use crate::adapters::aggregator::{Aggregator, Failed};
use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::inventory::InventoryStore;
use crate::adapters::state::StateStore;
use crate::adapters::targets::Target;
use crate::domain::inventory::aggregator::{self, Answer};
use crate::domain::inventory::Inventory;
use crate::domain::model::{ApiError, Connection, Endpoint, Place};
use crate::domain::plan::known::reconcile;
use crate::domain::plan::CallError;
use crate::shell::app::App;
use crate::shell::budget::{within, Budget};
use crate::shell::invocation::{Invocation, Seen};
use crate::shell::listing::{self, Spread};
use crate::shell::logging::AUDIT;
use crate::shell::report;
use std::time::Duration;

/// How long a warm function uses the inventory it read before reading it again: sweeps write it
/// every few minutes, and an incident should not pay a read each time. So too AWS Config's
/// aggregator's answer.
const REREAD: Duration = Duration::from_secs(5 * 60);
/// Before AWS Config's aggregator is asked, the table is read again unless read this lately: a
/// sweep may have written a word since that spares asking, or that Config does not know.
const FRESH: Duration = Duration::from_secs(30);
/// How long an incident waits for the aggregator (all its calls, every page and retry): past
/// this, every place is listed.
const ASK_WITHIN: Duration = Duration::from_secs(5);
/// After the aggregator failed, how long incidents list every place without asking it again.
const FAILED_AGAIN: Duration = Duration::from_secs(60);

impl<A: ClientVpnApi, S: StateStore + InventoryStore> App<A, S> {
    /// Of `targets`, those to list: the places the inventory says may have endpoints (with
    /// `named` endpoints it knows, their places), or, without a recent word, the places AWS
    /// Config's aggregator says may have (`own`: this account, when known), or all of them.
    pub async fn inventoried<'t>(
        &'t self,
        targets: Vec<&'t Target<A>>,
        named: Option<&[String]>,
        own: Option<&str>,
        budget: &Budget,
    ) -> Vec<&'t Target<A>> {
        if targets.len() < 2 {
            return targets;
        }
        let now = chrono::Utc::now().timestamp();
        let places: Vec<&Place> = targets.iter().map(|t| &t.place).collect();
        // A table that cannot be read is every place listed, aggregator or not.
        let Some(stored) = self.stored_inventory(REREAD, budget).await else {
            return targets;
        };
        let keep = match Inventory::to_list(stored.as_ref(), places.iter().copied(), named, now) {
            Some(keep) => keep,
            None => match self.aggregated(&places, named, own, now, budget).await {
                Some(keep) => keep,
                None => return targets,
            },
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

    /// The inventory as a warm function read it within `within`, or as read from the state
    /// table now (`Some(None)`: none there, or no table); `None` when it could not be read.
    async fn stored_inventory(
        &self,
        within: Duration,
        budget: &Budget,
    ) -> Option<Option<Inventory>> {
        if let Some(remembered) = self.api.inventory_read_within(within) {
            return Some(remembered);
        }
        let Some(store) = &self.store else {
            return Some(None);
        };
        match budget.call(store.inventory()).await {
            Ok(read) => {
                self.api.remember_inventory(read.clone());
                Some(read)
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
        }
    }

    /// Of `places`, those to list as AWS Config's aggregator says (`domain/inventory/aggregator.rs`),
    /// beside what the table says, when one is named and its answer is used; its answer is kept
    /// as the inventory is. The table is read again first unless just read: a sweep may have
    /// written since a word that spares asking, or that Config does not know.
    async fn aggregated(
        &self,
        places: &[&Place],
        named: Option<&[String]>,
        own: Option<&str>,
        now: i64,
        budget: &Budget,
    ) -> Option<Vec<Place>> {
        let to_list = |inventory: Option<&Inventory>| {
            Inventory::to_list(inventory, places.iter().copied(), named, now)
        };
        let aggregator = self.api.aggregator()?;
        let stored = self.stored_inventory(FRESH, budget).await?;
        if let Some(keep) = to_list(stored.as_ref()) {
            return Some(keep);
        }
        let answer = match self.api.answer_within(REREAD, FAILED_AGAIN) {
            Some(Ok(answer)) => answer,
            // It failed lately: every place is listed without waiting for it again.
            Some(Err(())) => {
                tracing::info!(
                    target: AUDIT,
                    event = "aggregator_skipped",
                    "AWS Config's aggregator failed within the last minute: every place is listed"
                );
                return None;
            }
            None => {
                let answer = ask(aggregator, budget).await;
                self.api.remember_answer(answer.clone().ok_or(()));
                answer?
            }
        };
        let home = self.api.home_place().region.as_deref();
        match aggregator::word(&answer, places, own, home, now) {
            Ok(word) => {
                tracing::info!(
                    target: AUDIT,
                    event = "aggregator_used",
                    places_with_endpoints = word.endpoints.len(),
                    places_empty = word.empty.len(),
                    of = places.len(),
                    "where endpoints are, as AWS Config's aggregator says: places it cannot speak \
                     for are listed"
                );
                to_list(Some(&aggregator::with_earlier(word, stored.as_ref())))
            }
            Err(refused) => {
                tracing::warn!(
                    target: AUDIT,
                    event = "aggregator_refused",
                    error_code = refused.code(),
                    error = refused.message(),
                    consequence = "every place is listed",
                    "AWS Config's aggregator's answer is not used"
                );
                None
            }
        }
    }
}

impl<A: ClientVpnApi, S> App<A, S> {
    /// The endpoints the inventory (as last read) lately saw in `targets`, where it speaks for
    /// more than one place.
    pub(crate) fn known_endpoints(&self, targets: &[&Target<A>]) -> Vec<Endpoint> {
        let Some(inventory) = self.api.inventory_read_within(REREAD).flatten() else {
            return Vec::new();
        };
        if targets.len() < 2 {
            return Vec::new();
        }
        let now = chrono::Utc::now().timestamp();
        targets
            .iter()
            .flat_map(|t| listing::at(&t.place, &inventory.endpoints_lately(&t.place, now)))
            .collect()
    }
}

impl<'a, A: ClientVpnApi, S: StateStore + InventoryStore> Invocation<'a, A, S> {
    /// The connections of the endpoints the inventory lately saw (`known`), listed while every
    /// place of `targets` is described, so the description costs no round trip of its own; then
    /// reconciled with it (`domain/plan/known.rs`): the endpoints it found that the inventory
    /// did not know are listed after it. Whether every endpoint was described comes third;
    /// `None` when no place could be described.
    pub(crate) async fn known_first(
        &mut self,
        targets: &[&Target<A>],
        known: Vec<Endpoint>,
    ) -> Option<(Seen, (Vec<Connection>, Vec<CallError>), bool)> {
        let app = self.app;
        let config = &app.config;
        let describing = listing::locate(targets, None, config.place_concurrency, &self.budget);
        let listing = listing::list_connections(&app.api, &known, Spread::of(config), &self.budget);
        let (located, (mut connections, mut errors)) = futures::join!(describing, listing);
        let twice: Vec<String> = located
            .ambiguous
            .iter()
            .filter_map(|e| e.endpoint_id.clone())
            .collect();
        let failed: Vec<Place> = located.failed.iter().map(|e| e.place.clone()).collect();
        let r = reconcile(&known, &located.endpoints, &twice, &failed);
        let mut seen = self.seen_of(targets, located)?;
        for (id, places) in &r.ambiguous {
            let labels: Vec<String> = places.iter().map(Place::label).collect();
            self.response.step_failed(CallError::new(
                Some(id.clone()),
                "DescribeClientVpnEndpoints",
                ApiError {
                    code: "AmbiguousEndpoint".into(),
                    message: format!(
                        "in the inventory and the description at several places ({}): acted on \
                         at none",
                        labels.join(", ")
                    ),
                },
            ));
            seen.unknown += 1;
        }
        let at_two = |id: &String| r.ambiguous.iter().any(|(a, _)| a == id);
        seen.endpoints.retain(|e| !at_two(&e.id));
        let aside = |place: &Place, id: Option<&String>| {
            r.aside
                .iter()
                .any(|k| &k.place == place && Some(&k.id) == id)
        };
        connections.retain(|c| !aside(&c.place, Some(&c.endpoint_id)));
        errors.retain(|e| !aside(&e.place, e.endpoint_id.as_ref()));
        if !r.new.is_empty() {
            let (more, failed) =
                listing::list_connections(&app.api, &r.new, Spread::of(config), &self.budget).await;
            connections.extend(more);
            errors.extend(failed);
        }
        let all_described = r.undescribed.is_empty();
        seen.endpoints.extend(r.undescribed);
        Some((seen, (connections, errors), all_described))
    }

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

/// The aggregator's answer, within [`ASK_WITHIN`]; `None`, said, when it could not be had.
async fn ask(aggregator: &Aggregator, budget: &Budget) -> Option<Answer> {
    let failed = |action: &str, e: &ApiError| {
        report::log_call_warning(
            action,
            e,
            "AWS Config's aggregator could not be asked: every place is listed",
        )
    };
    match budget
        .call(within(ASK_WITHIN, async { Ok(aggregator.ask().await) }))
        .await
    {
        Ok(Ok(answer)) => Some(answer),
        Ok(Err(Failed { action, error })) => {
            failed(action, &error);
            None
        }
        Err(e) => {
            failed(
                "SelectAggregateResourceConfig, DescribeConfigurationAggregatorSourcesStatus",
                &e,
            );
            None
        }
    }
}
