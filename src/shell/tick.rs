//! A tick's sweeps: which places its children sweep (`{"Places": …}`, a Distributed Map's first
//! step), a sweep of some places only (`Targets`, a Distributed Map's child), and the tick's
//! ceiling, which every sweep of the tick shares through the state table (`ticks.rs`).

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::inventory::InventoryStore;
use crate::adapters::state::ticks::TickStore;
use crate::adapters::state::StateStore;
use crate::domain::model::{ApiError, Place};
use crate::domain::plan::CallError;
use crate::domain::policy::sweep::Decision;
use crate::domain::split::{child_targets, same_place, unsweepable};
use crate::domain::trigger::split::PlacesRequest;
use crate::domain::trigger::SweepRequest;
use crate::shell::app::HandlerError;
use crate::shell::invocation::Invocation;
use crate::shell::report::{self, TickPlaces};
use std::collections::BTreeSet;

impl<A: ClientVpnApi, S: StateStore + TickStore + InventoryStore> Invocation<'_, A, S> {
    /// The places the tick's children sweep, each named as a child's `Targets` takes it: every
    /// target in scope. Refused without the state table, through which the children share the
    /// tick's ceiling; a place no child could sweep (no Region, named twice) is an error of the
    /// answer, the others listed.
    pub(crate) async fn list_places(
        &mut self,
        request: &PlacesRequest,
    ) -> Result<(), HandlerError> {
        if self.app.store.is_none() {
            return Err(HandlerError::bad_event(
                request.path.clone(),
                "the children of a split sweep share their tick's ceiling through the state \
                 table: it needs CVPN_STATE_TABLE; nothing was listed",
            ));
        }
        let places: Vec<Place> = self.app.api.places().cloned().collect();
        if self.may_have_twins(&places, &places) {
            self.ask_own_account().await;
        }
        let split = child_targets(&places, &self.scope, self.own_account.as_deref());
        let refused = split.refused.len();
        for (place, why) in split.refused {
            self.place_refused(&place, "ListPlaces", why, None);
        }
        self.response.places = Some(TickPlaces {
            time: request.time,
            targets: split.names,
            refused,
        });
        self.forget_places().await;
        Ok(())
    }

    /// Narrows this sweep to the places a child names (`Targets`, a Distributed Map's child).
    /// One the function cannot sweep (no target of this instance's, named twice) is an error of
    /// the answer, and the rest of the batch is swept; `false` when none is left.
    pub(crate) async fn sweep_places(
        &mut self,
        request: &SweepRequest,
    ) -> Result<bool, HandlerError> {
        let Some(places) = &request.overrides.places else {
            return Ok(true);
        };
        let field = format!("{}.Targets", request.path);
        // The children of one tick share its ceiling, kept in the state table under the tick.
        if self.app.store.is_none() || request.time.is_none() {
            return Err(HandlerError::bad_event(
                field,
                "a sweep of some places shares its tick's ceiling with the tick's other sweeps: \
                 it needs CVPN_STATE_TABLE and the tick's Time; nothing was swept",
            ));
        }
        let targets: Vec<Place> = self.app.api.places().cloned().collect();
        if self.may_have_twins(&targets, places) {
            self.ask_own_account().await;
        }
        let own = self.own_account.clone();
        let mut kept = Vec::new();
        for (i, place) in places.iter().enumerate() {
            match unsweepable(&targets, place, own.as_deref()) {
                None => kept.push(place.clone()),
                Some(why) => self.place_refused(place, "Sweep", why, Some(format!("{field}[{i}]"))),
            }
        }
        // None left: an empty narrowing would be every place.
        if kept.is_empty() {
            return Ok(false);
        }
        self.scope.places = kept;
        Ok(true)
    }

    /// Forgets the inventory's words on places that are no targets now, once a tick, so that the
    /// item does not grow with every account that ever was. Not done, it is only said: what stays
    /// is never listed.
    async fn forget_places(&self) {
        let (Some(store), false) = (&self.app.store, self.response.dry_run) else {
            return;
        };
        let targets: BTreeSet<String> = self.app.api.places().map(Place::label).collect();
        match self.budget.call(store.forget_places(&targets)).await {
            Ok(0) => {}
            Ok(forgotten) => tracing::info!(
                event = "inventory_forgotten",
                places = forgotten,
                "the inventory's words on places that are no targets now are gone"
            ),
            Err(e) => report::log_call_warning(
                "UpdateItem",
                &e,
                "the inventory's words on places that are no targets now stay",
            ),
        }
    }

    /// Whether one of `places` might be one of `targets` by another name, this account being
    /// unknown: then it is asked (under Lambda the invocation says; elsewhere STS does).
    fn may_have_twins(&self, targets: &[Place], places: &[Place]) -> bool {
        self.own_account.is_none()
            && places
                .iter()
                .any(|p| targets.iter().any(|t| same_place(t, p, None)))
    }

    /// A place left out, said loudly: the invocation's answer carries it as an error.
    fn place_refused(
        &mut self,
        place: &Place,
        action: &'static str,
        why: &str,
        path: Option<String>,
    ) {
        let refused = ApiError {
            code: "PlaceNotSwept".into(),
            message: format!("{} {why}; it was not swept", place.label()),
        };
        let mut e = CallError::new(None, action, refused).at(place);
        e.path = path;
        self.response.step_failed(e);
    }

    /// What this sweep may end of its tick's ceiling, shared with the tick's other sweeps
    /// (`ticks.rs`): those beyond what it could take wait for the next tick. Without a state table
    /// or a tick time there is nothing to share; a dry run takes nothing; a failed take ends
    /// nothing, and says so.
    pub(crate) async fn tick_share(
        &mut self,
        request: &SweepRequest,
        decision: Decision,
        ceiling: usize,
    ) -> Decision {
        let (Some(store), Some(tick)) = (&self.app.store, request.time) else {
            return decision;
        };
        if self.response.dry_run {
            return decision;
        }
        let want = decision.end.len();
        match self
            .budget
            .call(store.take_share(tick.timestamp(), want, ceiling))
            .await
        {
            Ok(taken) => decision.keep(taken),
            Err(e) => {
                self.response
                    .step_failed(CallError::new(None, "UpdateItem", e));
                decision.keep(0)
            }
        }
    }
}
