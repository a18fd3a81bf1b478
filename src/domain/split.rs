//! How a tick's sweep splits into children, each sweeping some places (a Step Functions
//! Distributed Map's): which places there are, by the names a child's `Targets` takes, and which
//! places are one place by two names. Pure.

use crate::domain::model::Place;
use crate::domain::scope::Scope;

/// Whether `target` is `place` by another name: this account's place written by Region alone,
/// beside a role target in this account (`own`; when not known, any account) at that Region.
pub fn same_place(target: &Place, place: &Place, own: Option<&str>) -> bool {
    target != place
        && target.region == place.region
        && match (&target.account, &place.account) {
            (None, Some(a)) | (Some(a), None) => own.is_none_or(|o| o == a),
            _ => false,
        }
}

/// Why a child cannot sweep `place` of `targets`, or `None` when it can: one listing of a place
/// named twice acts on neither (`shell/listing`), split, each would act.
pub fn unsweepable(targets: &[Place], place: &Place, own: Option<&str>) -> Option<&'static str> {
    if place.region.is_none() {
        Some("has no Region to name it by (AWS_REGION unset)")
    } else if !targets.contains(place) {
        Some(
            "is not one of the function's targets (CVPN_TARGETS, or the organization's accounts \
             as this instance read them; this account is named by Region alone)",
        )
    } else if targets.iter().any(|t| same_place(t, place, own)) {
        Some(
            "is also a target by another name (this account by Region and by its own role): \
             only the sweep of every place sweeps it",
        )
    } else {
        None
    }
}

/// A tick's places split for its children.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Split {
    /// Each place a child may sweep, as its `Targets` names it (`ACCOUNT/REGION`, or `REGION`
    /// for this account), in the targets' order.
    pub names: Vec<String>,
    /// The places in scope no child could sweep, and why.
    pub refused: Vec<(Place, &'static str)>,
}

/// The places in `scope` of `targets`, split for the tick's children.
pub fn child_targets(targets: &[Place], scope: &Scope, own: Option<&str>) -> Split {
    let mut split = Split::default();
    for place in targets.iter().filter(|p| scope.holds(p)) {
        if let Some(why) = unsweepable(targets, place, own) {
            split.refused.push((place.clone(), why));
            continue;
        }
        let region = place.region.as_deref().unwrap_or_default();
        split.names.push(match &place.account {
            Some(account) => format!("{account}/{region}"),
            None => region.to_owned(),
        });
    }
    split
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::trigger::{decode, Trigger};
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn this_account_by_region_and_by_its_own_role_is_one_place() {
        let own = Some("111122223333");
        let by_region = Place::at(None, Some("eu-west-1"));
        let by_role = Place::at(own, Some("eu-west-1"));
        assert!(same_place(&by_role, &by_region, own) && same_place(&by_region, &by_role, own));
        // Another account's role, another Region, or the place itself: not twins.
        let other = Place::at(Some("222233334444"), Some("eu-west-1"));
        assert!(!same_place(&other, &by_region, own));
        assert!(!same_place(
            &Place::at(own, Some("us-east-1")),
            &by_region,
            own
        ));
        assert!(!same_place(&by_region, &by_region, own));
        // Not knowing this account, any role at that Region might be it.
        assert!(same_place(&other, &by_region, None));
    }

    #[test]
    fn places_are_named_as_a_child_names_them_or_refused() {
        let targets = [
            Place::at(None, Some("eu-west-1")),
            Place::at(Some("222233334444"), Some("us-east-1")),
        ];
        let split = child_targets(&targets, &Scope::default(), Some("111122223333"));
        assert_eq!(split.names, ["eu-west-1", "222233334444/us-east-1"]);
        assert!(split.refused.is_empty());
        let narrowed = Scope::default().within(Some("222233334444".into()), None);
        let split = child_targets(&targets, &narrowed, None);
        assert_eq!(split.names, ["222233334444/us-east-1"]);
        // The function's own place, set by no Region: refused, the others listed.
        let mut unnamed = targets.to_vec();
        unnamed.push(Place::default());
        let split = child_targets(&unnamed, &Scope::default(), Some("111122223333"));
        assert_eq!(split.names.len(), 2);
        assert_eq!(split.refused.len(), 1);
        assert!(split.refused[0].1.starts_with("has no Region"));
        // This account twice, by Region and by its own role: neither is listed.
        let twins = [
            Place::at(None, Some("eu-west-1")),
            Place::at(Some("111122223333"), Some("eu-west-1")),
        ];
        let split = child_targets(&twins, &Scope::default(), Some("111122223333"));
        assert!(split.names.is_empty());
        assert_eq!(split.refused.len(), 2);
        assert!(split.refused[0].1.contains("also a target by another name"));
        // A place that is no target.
        let stranger = Place::at(Some("999988887777"), Some("eu-west-1"));
        assert!(unsweepable(&targets, &stranger, None).is_some());
    }

    fn place() -> impl Strategy<Value = Place> {
        let account = prop_oneof![
            Just(None),
            Just(Some("111122223333")),
            Just(Some("222233334444"))
        ];
        let region = prop_oneof![Just(None), Just(Some("eu-west-1")), Just(Some("us-east-1"))];
        (account, region).prop_map(|(a, r)| Place::at(a, r))
    }

    proptest! {
        /// What the split names, a child takes back as exactly the places it may sweep; what it
        /// refuses, a child would have refused.
        #[test]
        fn children_sweep_exactly_the_places_in_scope(
            mut targets in proptest::collection::vec(place(), 1..6),
            own in prop_oneof![Just(None), Just(Some("111122223333"))],
        ) {
            targets.sort();
            targets.dedup();
            let scope = Scope::default();
            let split = child_targets(&targets, &scope, own);
            // Every place is listed or refused, once.
            prop_assert_eq!(split.names.len() + split.refused.len(), targets.len());
            let listed: Vec<Place> = targets
                .iter()
                .filter(|p| unsweepable(&targets, p, own).is_none())
                .cloned()
                .collect();
            if !listed.is_empty() {
                let child = json!({"Sweep": {"Time": "2026-12-07T10:00:00Z", "Targets": split.names}});
                let Ok(Trigger::Sweep(sweep)) = decode(&child) else {
                    panic!("a child sweep: {child}")
                };
                // What the children take back is exactly what was listed, and each may sweep it.
                let places = sweep.overrides.places.unwrap();
                prop_assert_eq!(&places, &listed);
                for p in &places {
                    prop_assert!(unsweepable(&targets, p, own).is_none());
                }
            }
        }
    }
}
