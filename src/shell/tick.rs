//! A tick's sweeps: which places its children sweep (`{"Places": …}`, a Distributed Map's first
//! step), a sweep of some places only (`Targets`, a Distributed Map's child), and the tick's
//! ceiling, which every sweep of the tick shares through the state table (`ticks.rs`).

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::ticks::TickStore;
use crate::adapters::state::StateStore;
use crate::domain::model::Place;
use crate::domain::plan::CallError;
use crate::domain::policy::sweep::Decision;
use crate::domain::split::{child_targets, same_place};
use crate::domain::trigger::split::PlacesRequest;
use crate::domain::trigger::SweepRequest;
use crate::shell::app::HandlerError;
use crate::shell::invocation::Invocation;
use crate::shell::report::TickPlaces;

impl<A: ClientVpnApi, S: StateStore + TickStore> Invocation<'_, A, S> {
    /// The places the tick's children sweep, each named as a child's `Targets` takes it: every
    /// target in scope. Refused when the children could not sweep them all (no state table to
    /// share the ceiling through; a place with no Region, or named twice).
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
        let places: Vec<Place> = self.app.api.iter().map(|t| t.place.clone()).collect();
        let twins = |own: Option<&str>| {
            places
                .iter()
                .any(|p| places.iter().any(|t| same_place(t, p, own)))
        };
        if twins(None) {
            self.ask_own_account().await;
        }
        let targets =
            child_targets(&places, &self.scope, self.own_account.as_deref()).map_err(|why| {
                HandlerError::bad_event(request.path.clone(), format!("{why}; nothing was listed"))
            })?;
        self.response.places = Some(TickPlaces {
            time: request.time,
            targets,
        });
        Ok(())
    }

    /// A sweep of some places only (`Targets`, a Distributed Map's child): each must be one of
    /// the function's targets, or nothing is swept.
    pub(crate) async fn sweep_places(
        &mut self,
        request: &SweepRequest,
    ) -> Result<(), HandlerError> {
        let Some(places) = &request.overrides.places else {
            return Ok(());
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
        let targets = &self.app.api;
        let twins = |own: Option<&str>| {
            places
                .iter()
                .any(|p| targets.iter().any(|t| same_place(&t.place, p, own)))
        };
        // Under Lambda the invocation says which account this is; elsewhere STS does, when it
        // matters.
        if twins(None) {
            self.ask_own_account().await;
        }
        let own = self.own_account.as_deref();
        for place in places {
            let why = if !targets.iter().any(|t| t.place == *place) {
                "is not one of the function's targets (CVPN_TARGETS, or the organization's \
                 accounts; this account is named by Region alone)"
            } else if targets.iter().any(|t| same_place(&t.place, place, own)) {
                // One listing of both acts on neither (`listing.rs`); split, each would act.
                "is also a target by another name (this account by Region and by its own role): \
                 only the sweep of every place sweeps it"
            } else {
                continue;
            };
            return Err(HandlerError::bad_event(
                field,
                format!("{} {why}; nothing was swept", place.label()),
            ));
        }
        self.scope.places = places.clone();
        Ok(())
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
