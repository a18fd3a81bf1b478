//! Where Client VPN endpoints are, as the last sweep of every place saw them. Most account-Regions
//! of an organization have none, yet without this an incident would assume a role and describe
//! the endpoints in each before it could end anything. With it, an incident lists only the places
//! that may have endpoints: those the sweep saw with some, those it could not list, and those it
//! did not list at all (a target added since). An inventory older than [`MAX_AGE_SECONDS`], or one
//! that does not know a named endpoint, is not used: every place is listed, as without one.
//! Pure.

use crate::domain::model::{Endpoint, Place};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How old an inventory may be and still spare an incident the places it saw empty: an endpoint
/// created in such a place since is only looked at by the next sweep, or after this.
pub const MAX_AGE_SECONDS: i64 = 60 * 60;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// When the sweep listed the places (epoch seconds).
    pub at: i64,
    /// Places listed and found without endpoints, by [`Place::label`].
    pub empty: BTreeSet<String>,
    /// The endpoints of each place that has some, by [`Place::label`].
    pub endpoints: BTreeMap<String, Vec<Listed>>,
}

/// An endpoint as the sweep listed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    pub id: String,
    /// Whether it calls a client connect handler (which keeps held people out).
    pub connect_handler: bool,
}

impl Inventory {
    /// What a sweep at `at` saw: `listed`, the places whose endpoints it listed in full (not those
    /// it could not), and `endpoints`, theirs.
    pub fn seen<'a>(
        at: i64,
        listed: impl IntoIterator<Item = &'a Place>,
        endpoints: &[Endpoint],
    ) -> Self {
        let mut inventory = Inventory {
            at,
            ..Inventory::default()
        };
        for e in endpoints {
            inventory
                .endpoints
                .entry(e.place.label())
                .or_default()
                .push(Listed {
                    id: e.id.clone(),
                    connect_handler: e.connect_handler.is_some(),
                });
        }
        for place in listed {
            let label = place.label();
            if !inventory.endpoints.contains_key(&label) {
                inventory.empty.insert(label);
            }
        }
        inventory
    }

    /// Whether it still speaks for the places at `now`: not older than [`MAX_AGE_SECONDS`], nor
    /// from the future (a clock that was wrong).
    pub fn fresh(&self, now: i64) -> bool {
        (0..=MAX_AGE_SECONDS).contains(&(now - self.at))
    }

    /// The places an incident lists among `places`, or `None` for all of them: no fresh
    /// inventory, or `named` endpoints one of which it does not know in one of `places` (an
    /// endpoint created since, a place that is no target now). With `named` endpoints it knows,
    /// their places; otherwise every place it did not see empty.
    pub fn to_list<'a>(
        inventory: Option<&Self>,
        places: impl IntoIterator<Item = &'a Place>,
        named: Option<&[String]>,
        now: i64,
    ) -> Option<Vec<Place>> {
        let inventory = inventory.filter(|i| i.fresh(now))?;
        let places: Vec<&Place> = places.into_iter().collect();
        let labels: BTreeSet<String> = places.iter().map(|p| p.label()).collect();
        let holding: Option<BTreeSet<&str>> = match named {
            None => None,
            Some(ids) => Some(
                ids.iter()
                    .map(|id| {
                        inventory
                            .endpoints
                            .iter()
                            .find(|(_, listed)| listed.iter().any(|l| &l.id == id))
                            .map(|(label, _)| label.as_str())
                            .filter(|label| labels.contains(*label))
                    })
                    .collect::<Option<_>>()?,
            ),
        };
        let keep = |place: &Place| {
            let label = place.label();
            match &holding {
                Some(held) => held.contains(label.as_str()),
                None => !inventory.empty.contains(&label),
            }
        };
        Some(places.into_iter().filter(|p| keep(p)).cloned().collect())
    }

    /// How many endpoints it knows, and how many of them call a connect handler.
    pub fn coverage(&self) -> (usize, usize) {
        let all = self.endpoints.values().flatten();
        let handled = all.clone().filter(|l| l.connect_handler).count();
        (self.endpoints.values().map(Vec::len).sum(), handled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn place(account: u32) -> Place {
        Place {
            account: Some(format!("{account:012}")),
            region: Some("eu-west-1".into()),
        }
    }

    fn endpoint(account: u32, id: &str, handler: bool) -> Endpoint {
        Endpoint {
            place: place(account),
            id: id.into(),
            client_cidr: None,
            connect_handler: handler.then(|| "arn:aws:lambda:eu-west-1:1:function:h".into()),
        }
    }

    #[test]
    fn an_incident_skips_only_the_places_seen_empty() {
        // Listed: 1 (an endpoint), 2 (none); 3 could not be listed; 4 was not a target then.
        let inv = Inventory::seen(
            1_000,
            [place(1), place(2)].iter(),
            &[endpoint(1, "cvpn-endpoint-1", true)],
        );
        let places: Vec<Place> = (1..=4).map(place).collect();
        let listed = Inventory::to_list(Some(&inv), &places, None, 1_100).unwrap();
        assert_eq!(listed, [place(1), place(3), place(4)]);
        assert_eq!(inv.coverage(), (1, 1));
    }

    #[test]
    fn named_endpoints_go_straight_to_their_places_when_all_are_known() {
        let inv = Inventory::seen(
            1_000,
            [place(1), place(2), place(3)].iter(),
            &[endpoint(1, "e-1", false), endpoint(3, "e-3", true)],
        );
        let places: Vec<Place> = (1..=3).map(place).collect();
        let named = ["e-3".to_owned()];
        assert_eq!(
            Inventory::to_list(Some(&inv), &places, Some(&named), 1_000),
            Some(vec![place(3)])
        );
        // One it does not know (created since?), or one in a place that is no target now:
        // every place, as without an inventory.
        let named = ["e-3".to_owned(), "e-9".to_owned()];
        assert_eq!(
            Inventory::to_list(Some(&inv), &places, Some(&named), 1_000),
            None
        );
        let named = ["e-3".to_owned()];
        assert_eq!(
            Inventory::to_list(Some(&inv), &places[..2], Some(&named), 1_000),
            None
        );
    }

    #[test]
    fn a_stale_or_future_or_absent_inventory_lists_everything() {
        let inv = Inventory::seen(1_000, [place(2)].iter(), &[]);
        let places = [place(2)];
        assert_eq!(Inventory::to_list(None, &places, None, 1_000), None);
        assert_eq!(
            Inventory::to_list(Some(&inv), &places, None, 1_000 + MAX_AGE_SECONDS + 1),
            None
        );
        assert_eq!(Inventory::to_list(Some(&inv), &places, None, 999), None);
        assert_eq!(
            Inventory::to_list(Some(&inv), &places, None, 1_000 + MAX_AGE_SECONDS),
            Some(vec![])
        );
    }

    proptest! {
        /// Whatever the sweep saw, an incident never skips a place where it saw an endpoint, nor
        /// one it did not list in full.
        #[test]
        fn no_place_that_may_have_an_endpoint_is_skipped(
            listed in proptest::collection::btree_set(0u32..20, 0..20),
            with in proptest::collection::btree_set(0u32..20, 0..8),
            age in 0i64..=MAX_AGE_SECONDS,
        ) {
            let endpoints: Vec<Endpoint> = with.iter().filter(|a| listed.contains(a))
                .map(|a| endpoint(*a, &format!("e-{a}"), false)).collect();
            let listed_places: Vec<Place> = listed.iter().map(|a| place(*a)).collect();
            let inv = Inventory::seen(5_000, &listed_places, &endpoints);
            let places: Vec<Place> = (0..20).map(place).collect();
            let kept = Inventory::to_list(Some(&inv), &places, None, 5_000 + age).unwrap();
            for a in 0..20u32 {
                let may_have = !listed.contains(&a) || with.contains(&a);
                prop_assert_eq!(kept.contains(&place(a)), may_have, "account {}", a);
            }
        }
    }
}
