//! Where Client VPN endpoints are, as the last sweep of every place saw them, and since then the
//! sweeps of some places (a split sweep's children), each place at its own time. Most account-Regions
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
    /// Places the sweeps of some places saw, by [`Place::label`], each at its own time: where
    /// newer, over what the rest says of them. Kept apart from the rest (`places` in the table),
    /// each child adding its own.
    #[serde(skip)]
    pub recent: BTreeMap<String, Seen>,
}

/// One place as a sweep saw it: when, and its endpoints (none: it has none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub at: i64,
    pub endpoints: Vec<Listed>,
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

    /// Each place it saw in full, as a sweep of some places records it: a place seen empty dated
    /// when the listing began (`at`), one seen with endpoints when it ended (`done`). Between
    /// sightings the newer stands (`adapters/state/inventory.rs`), so an empty sighting is never
    /// dated after what it saw, nor one with an endpoint before: an endpoint seen is never put
    /// aside for an emptiness seen earlier.
    pub fn by_place(&self, done: i64) -> BTreeMap<String, Seen> {
        let seen = |at: i64, endpoints: &[Listed]| Seen {
            at,
            endpoints: endpoints.to_vec(),
        };
        let mut places: BTreeMap<String, Seen> = self
            .endpoints
            .iter()
            .map(|(label, listed)| (label.clone(), seen(done.max(self.at), listed)))
            .collect();
        places.extend(
            self.empty
                .iter()
                .map(|label| (label.clone(), seen(self.at, &[]))),
        );
        places
    }

    /// What its recent words say of the place `label` at `now` (the sweep of every place's, a
    /// child's; words over [`MAX_AGE_SECONDS`] old, or from the future, do not count): every
    /// endpoint any of them saw there, or `None` when none speaks. A place is seen empty only
    /// when every recent word saw it so.
    fn lately(&self, label: &str, now: i64) -> Option<Vec<&Listed>> {
        let recent = |at: i64| (0..=MAX_AGE_SECONDS).contains(&(now - at));
        let whole = self.whole_word(label);
        let words: Vec<&[Listed]> = [
            whole.filter(|_| recent(self.at)),
            self.recent
                .get(label)
                .filter(|seen| recent(seen.at))
                .map(|seen| seen.endpoints.as_slice()),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!words.is_empty()).then(|| words.into_iter().flatten().collect())
    }

    /// The places an incident lists among `places`, or `None` for all of them: no recent word on
    /// any, or `named` endpoints one of which no recent word puts in one of `places` (an
    /// endpoint created since, a place that is no target now). With `named` endpoints it knows,
    /// their places; otherwise every place not seen empty lately.
    pub fn to_list<'a>(
        inventory: Option<&Self>,
        places: impl IntoIterator<Item = &'a Place>,
        named: Option<&[String]>,
        now: i64,
    ) -> Option<Vec<Place>> {
        let inventory = inventory?;
        let places: Vec<&Place> = places.into_iter().collect();
        let views: Vec<(&Place, Option<Vec<&Listed>>)> = places
            .iter()
            .map(|p| (*p, inventory.lately(&p.label(), now)))
            .collect();
        if views.iter().all(|(_, view)| view.is_none()) {
            return None;
        }
        let Some(ids) = named else {
            let may_have =
                |view: &Option<Vec<&Listed>>| view.as_ref().is_none_or(|l| !l.is_empty());
            return Some(
                views
                    .into_iter()
                    .filter(|(_, v)| may_have(v))
                    .map(|(p, _)| p.clone())
                    .collect(),
            );
        };
        let holds = |view: &Option<Vec<&Listed>>, id: &String| {
            view.as_ref().is_some_and(|l| l.iter().any(|e| &e.id == id))
        };
        let mut kept: Vec<&Place> = Vec::new();
        for id in ids {
            // Every place a recent word puts it in: two words may disagree.
            let at: Vec<&Place> = views
                .iter()
                .filter(|(_, v)| holds(v, id))
                .map(|(p, _)| *p)
                .collect();
            if at.is_empty() {
                return None;
            }
            kept.extend(at);
        }
        // In the targets' order, as without names.
        Some(
            places
                .into_iter()
                .filter(|p| kept.contains(p))
                .cloned()
                .collect(),
        )
    }

    /// The endpoints its recent words saw at `place` at `now`, each once.
    pub fn endpoints_lately(&self, place: &Place, now: i64) -> Vec<String> {
        let mut ids: Vec<String> = self
            .lately(&place.label(), now)
            .unwrap_or_default()
            .into_iter()
            .map(|l| l.id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// What the sweep of every place saw at the place `label`, if it listed it in full.
    fn whole_word(&self, label: &str) -> Option<&[Listed]> {
        match self.endpoints.get(label) {
            Some(listed) => Some(listed.as_slice()),
            None => self.empty.contains(label).then_some(&[][..]),
        }
    }

    /// What it says of the place `label`, whatever its age: the newer word.
    fn newest(&self, label: &str) -> Option<&[Listed]> {
        let whole = self.whole_word(label);
        match (self.recent.get(label), whole) {
            (Some(recent), Some(listed)) if recent.at < self.at => Some(listed),
            (Some(recent), _) => Some(recent.endpoints.as_slice()),
            (None, whole) => whole,
        }
    }

    /// How many endpoints it knows, and how many of them call a connect handler.
    pub fn coverage(&self) -> (usize, usize) {
        let labels: BTreeSet<&String> = self.endpoints.keys().chain(self.recent.keys()).collect();
        let known: Vec<&Listed> = labels
            .into_iter()
            .filter_map(|label| self.newest(label))
            .flatten()
            .collect();
        let handled = known.iter().filter(|l| l.connect_handler).count();
        (known.len(), handled)
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

    #[test]
    fn a_place_is_skipped_only_when_every_recent_word_saw_it_empty() {
        // The whole sweep (at 1,000) saw 1 with an endpoint, 2 and 3 empty.
        let mut inv = Inventory::seen(
            1_000,
            [place(1), place(2), place(3)].iter(),
            &[endpoint(1, "e-1", false)],
        );
        let seen = |at: i64, ids: &[&str]| Seen {
            at,
            endpoints: ids
                .iter()
                .map(|id| Listed {
                    id: (*id).into(),
                    connect_handler: true,
                })
                .collect(),
        };
        // A child since saw 2 with a new endpoint, and 1 empty: the endpoint the whole sweep saw
        // there an hour ago or less still counts.
        inv.recent.insert(place(2).label(), seen(2_000, &["e-2"]));
        inv.recent.insert(place(1).label(), seen(1_500, &[]));
        let places: Vec<Place> = (1..=4).map(place).collect();
        let listed = Inventory::to_list(Some(&inv), &places, None, 2_100).unwrap();
        assert_eq!(listed, [place(1), place(2), place(4)]);
        let named = ["e-2".to_owned()];
        let straight = Inventory::to_list(Some(&inv), &places, Some(&named), 2_100);
        assert_eq!(straight, Some(vec![place(2)]));
        // The newest word on each: e-2 alone.
        assert_eq!(inv.coverage(), (1, 1));
        // Over an hour after the whole sweep, only the children's words count: 1 is seen empty,
        // 3 not seen lately; e-1 is no longer known.
        let later = 1_000 + MAX_AGE_SECONDS + 1;
        let listed = Inventory::to_list(Some(&inv), &places, None, later).unwrap();
        assert_eq!(listed, [place(2), place(3), place(4)]);
        let named = ["e-1".to_owned()];
        assert_eq!(
            Inventory::to_list(Some(&inv), &places, Some(&named), later),
            None
        );
        // The children's words alone (no sweep of every place ever).
        let split = Inventory {
            recent: inv.recent.clone(),
            ..Inventory::default()
        };
        let listed = Inventory::to_list(Some(&split), &places, None, 2_100).unwrap();
        assert_eq!(listed, [place(2), place(3), place(4)]);
    }

    #[test]
    fn a_childs_sighting_is_dated_so_an_endpoint_seen_outlasts_an_emptiness_seen_before() {
        let inv = Inventory::seen(
            1_000,
            [place(1), place(2)].iter(),
            &[endpoint(1, "e-1", false)],
        );
        let by_place = inv.by_place(1_090);
        // Seen empty: when the listing began; seen with an endpoint: when it ended.
        assert_eq!(by_place[&place(2).label()].at, 1_000);
        assert_eq!(by_place[&place(1).label()].at, 1_090);
    }

    proptest! {
        /// Whatever the sweep of every place and the children saw, an incident skips a place only
        /// when every recent word on it saw it empty.
        #[test]
        fn no_place_that_may_have_an_endpoint_is_skipped_whoever_saw_it(
            child in proptest::collection::btree_map(0u32..20, (any::<bool>(), 0i64..8_000), 0..10),
            now in 5_000i64..=5_000 + MAX_AGE_SECONDS,
            listed in proptest::collection::btree_set(0u32..20, 0..20),
            with in proptest::collection::btree_set(0u32..20, 0..8),
        ) {
            let endpoints: Vec<Endpoint> = with.iter().filter(|a| listed.contains(a))
                .map(|a| endpoint(*a, &format!("e-{a}"), false)).collect();
            let listed_places: Vec<Place> = listed.iter().map(|a| place(*a)).collect();
            let mut inv = Inventory::seen(5_000, &listed_places, &endpoints);
            for (a, (has, at)) in &child {
                let endpoints = if *has {
                    vec![Listed { id: format!("c-{a}"), connect_handler: false }]
                } else {
                    vec![]
                };
                inv.recent.insert(place(*a).label(), Seen { at: *at, endpoints });
            }
            let places: Vec<Place> = (0..20).map(place).collect();
            // None: every place.
            let kept = Inventory::to_list(Some(&inv), &places, None, now).unwrap_or(places.clone());
            for a in 0..20u32 {
                // The recent words on the place: the whole sweep's and the child's.
                let whole = listed.contains(&a).then(|| (5_000, with.contains(&a)));
                let child = child.get(&a).map(|(has, at)| (*at, *has));
                let lately: Vec<bool> = [whole, child]
                    .into_iter()
                    .flatten()
                    .filter(|(at, _)| (0..=MAX_AGE_SECONDS).contains(&(now - at)))
                    .map(|(_, has)| has)
                    .collect();
                let may_have = lately.is_empty() || lately.contains(&true);
                prop_assert_eq!(kept.contains(&place(a)), may_have, "account {}", a);
            }
        }
    }
}
