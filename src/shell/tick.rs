//! A tick's sweeps: a sweep of some places only (`Targets`, a Distributed Map's child), and the
//! tick's ceiling, which every sweep of the tick shares through the state table (`ticks.rs`).

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::ticks::TickStore;
use crate::adapters::state::StateStore;
use crate::domain::model::Place;
use crate::domain::plan::CallError;
use crate::domain::policy::sweep::Decision;
use crate::domain::trigger::SweepRequest;
use crate::shell::app::HandlerError;
use crate::shell::invocation::Invocation;

impl<A: ClientVpnApi, S: StateStore + TickStore> Invocation<'_, A, S> {
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

/// Whether `target` is `place` by another name: this account's place written by Region alone,
/// beside a role target in this account (`own`; when not known, any account) at that Region.
fn same_place(target: &Place, place: &Place, own: Option<&str>) -> bool {
    target != place
        && target.region == place.region
        && match (&target.account, &place.account) {
            (None, Some(a)) | (Some(a), None) => own.is_none_or(|o| o == a),
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::same_place;
    use crate::domain::model::Place;

    #[test]
    fn this_account_by_region_and_by_its_own_role_is_one_place() {
        let at = |account: Option<&str>, region: &str| Place {
            account: account.map(str::to_owned),
            region: Some(region.to_owned()),
        };
        let own = Some("111122223333");
        let by_region = at(None, "eu-west-1");
        let by_role = at(own, "eu-west-1");
        assert!(same_place(&by_role, &by_region, own) && same_place(&by_region, &by_role, own));
        // Another account's role, another Region, or the place itself: not twins.
        assert!(!same_place(
            &at(Some("222233334444"), "eu-west-1"),
            &by_region,
            own
        ));
        assert!(!same_place(&at(own, "us-east-1"), &by_region, own));
        assert!(!same_place(&by_region, &by_region, own));
        // Not knowing this account, any role at that Region might be it.
        assert!(same_place(
            &at(Some("222233334444"), "eu-west-1"),
            &by_region,
            None
        ));
    }
}
