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

/// The places in `scope` of `targets`, as a child's `Targets` names them (`ACCOUNT/REGION`, or
/// `REGION` for this account), in the targets' order. Refused, with the reason, when a place
/// cannot be named so (this place, set by no Region) or is a target by two names: its children
/// would refuse it, and a split sweep would leave it unswept.
pub fn child_targets(
    targets: &[Place],
    scope: &Scope,
    own: Option<&str>,
) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for place in targets.iter().filter(|p| scope.holds(p)) {
        let Some(region) = &place.region else {
            return Err(format!(
                "{} has no Region to name it by: a split sweep needs its targets named \
                 (CVPN_TARGETS, or the organization's accounts)",
                place.label()
            ));
        };
        if targets.iter().any(|t| same_place(t, place, own)) {
            return Err(format!(
                "{} is also a target by another name (this account by Region and by its own \
                 role): name it once for a split sweep",
                place.label()
            ));
        }
        names.push(match &place.account {
            Some(account) => format!("{account}/{region}"),
            None => region.clone(),
        });
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::trigger::{decode, Trigger};
    use proptest::prelude::*;
    use serde_json::json;

    fn at(account: Option<&str>, region: Option<&str>) -> Place {
        Place {
            account: account.map(str::to_owned),
            region: region.map(str::to_owned),
        }
    }

    #[test]
    fn this_account_by_region_and_by_its_own_role_is_one_place() {
        let own = Some("111122223333");
        let by_region = at(None, Some("eu-west-1"));
        let by_role = at(own, Some("eu-west-1"));
        assert!(same_place(&by_role, &by_region, own) && same_place(&by_region, &by_role, own));
        // Another account's role, another Region, or the place itself: not twins.
        let other = at(Some("222233334444"), Some("eu-west-1"));
        assert!(!same_place(&other, &by_region, own));
        assert!(!same_place(&at(own, Some("us-east-1")), &by_region, own));
        assert!(!same_place(&by_region, &by_region, own));
        // Not knowing this account, any role at that Region might be it.
        assert!(same_place(&other, &by_region, None));
    }

    #[test]
    fn places_are_named_as_a_child_names_them_or_refused() {
        let targets = [
            at(None, Some("eu-west-1")),
            at(Some("222233334444"), Some("us-east-1")),
        ];
        let named = child_targets(&targets, &Scope::default(), Some("111122223333"));
        assert_eq!(named.unwrap(), ["eu-west-1", "222233334444/us-east-1"]);
        let narrowed = Scope::default().within(Some("222233334444".into()), None);
        let named = child_targets(&targets, &narrowed, None).unwrap();
        assert_eq!(named, ["222233334444/us-east-1"]);
        // The function's own place, set by no Region.
        let e = child_targets(&[Place::default()], &Scope::default(), None).unwrap_err();
        assert!(
            e.starts_with("this account/this Region has no Region"),
            "{e}"
        );
        // This account twice: by Region and by its own role.
        let twins = [
            at(None, Some("eu-west-1")),
            at(Some("111122223333"), Some("eu-west-1")),
        ];
        let e = child_targets(&twins, &Scope::default(), Some("111122223333")).unwrap_err();
        assert!(e.contains("also a target by another name"), "{e}");
    }

    fn place() -> impl Strategy<Value = Place> {
        let account = prop_oneof![
            Just(None),
            Just(Some("111122223333")),
            Just(Some("222233334444"))
        ];
        let region = prop_oneof![Just(None), Just(Some("eu-west-1")), Just(Some("us-east-1"))];
        (account, region).prop_map(|(a, r)| at(a, r))
    }

    proptest! {
        /// What the split names, a child takes back as exactly the places in scope, each once;
        /// what it refuses, a child would have refused.
        #[test]
        fn children_sweep_exactly_the_places_in_scope(
            mut targets in proptest::collection::vec(place(), 1..6),
            own in prop_oneof![Just(None), Just(Some("111122223333"))],
        ) {
            targets.sort();
            targets.dedup();
            let scope = Scope::default();
            match child_targets(&targets, &scope, own) {
                Ok(names) => {
                    let child = json!({"Sweep": {"Time": "2026-12-07T10:00:00Z", "Targets": names}});
                    let Ok(Trigger::Sweep(sweep)) = decode(&child) else {
                        panic!("a child sweep: {child}")
                    };
                    prop_assert_eq!(sweep.overrides.places.unwrap(), targets.clone());
                    for p in &targets {
                        prop_assert!(!targets.iter().any(|t| same_place(t, p, own)));
                    }
                }
                Err(_) => prop_assert!(targets.iter().any(|p| p.region.is_none()
                    || targets.iter().any(|t| same_place(t, p, own)))),
            }
        }
    }
}
