//! Where Client VPN endpoints are, as the last sweep of every place saw them, and since then the
//! sweeps of some places (a split sweep's children), each place at its own time. Most account-Regions
//! of an organization have none, yet without this an incident would assume a role and describe
//! the endpoints in each before it could end anything. With it, an incident lists only the places
//! that may have endpoints: those the sweep saw with some, those it could not list, and those it
//! did not list at all (a target added since). An inventory older than [`MAX_AGE_SECONDS`], or one
//! that does not know a named endpoint, is not used: every place is listed, as without one.
//! Pure.

pub mod aggregator;

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

    /// Every endpoint any of its words saw at the place `label`, whatever their age.
    fn ever(&self, label: &str) -> Vec<Listed> {
        let mut all: Vec<Listed> = self.whole_word(label).unwrap_or_default().to_vec();
        all.extend(
            self.recent
                .get(label)
                .into_iter()
                .flat_map(|s| s.endpoints.clone()),
        );
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all.dedup_by(|a, b| a.id == b.id);
        all
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
mod tests;
