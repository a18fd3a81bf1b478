//! Listing what is in scope, page by page, each page a call of the invocation's budget: every
//! target's endpoints, and their connections, each in its target, either all at once (incidents,
//! which match against the whole picture) or as a stream of pages (the sweep, which judges each
//! page as it arrives).

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::targets::{Target, Targets};
use crate::domain::model::{ApiError, Connection, Endpoint, Page, Place, ENDPOINT_NOT_FOUND};
use crate::domain::plan::CallError;
use crate::shell::budget::Budget;
use crate::shell::config::Config;
use futures::future;
use futures::stream::{self, Stream, StreamExt, TryStreamExt};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

/// A listing's pages, each a call of the budget, fetched as they are read; a failed page ends it.
fn pages<'a, T, F, Fut>(
    budget: &'a Budget,
    page: F,
) -> impl Stream<Item = Result<Vec<T>, ApiError>> + 'a
where
    T: 'a,
    F: FnMut(Option<String>) -> Fut + 'a,
    Fut: Future<Output = Result<Page<T>, ApiError>> + 'a,
{
    // The state: the next page's token (`Some(None)`: the first page), or `None` once done.
    stream::unfold((Some(None), page), move |(token, mut page)| async move {
        let token = token?;
        match budget.call(page(token)).await {
            Ok(p) => Some((Ok(p.items), (p.next_token.map(Some), page))),
            Err(e) => Some((Err(e), (None, page))),
        }
    })
}

/// Every item of a listing, page after page.
async fn all_pages<T, F, Fut>(budget: &Budget, page: F) -> Result<Vec<T>, ApiError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, ApiError>>,
{
    pages(budget, page)
        .try_fold(Vec::new(), |mut all, items| {
            all.extend(items);
            future::ready(Ok(all))
        })
        .await
}

/// Every endpoint of every target, with its client CIDR, `places` targets listed at a time (an
/// organization's thousands of places are not all asked at once: each is its own role and
/// connection); for each target that could not be listed (its role not assumed, or its listing
/// refused), its error.
pub async fn list_endpoints<A: ClientVpnApi>(
    targets: &[&Target<A>],
    places: usize,
    budget: &Budget,
) -> (Vec<Endpoint>, Vec<CallError>) {
    let results: Vec<Result<Vec<Endpoint>, CallError>> = stream::iter(targets)
        .map(|t| async move {
            all_pages(budget, |token| t.api.endpoints_page(token))
                .await
                .map_err(|e| CallError::new(None, "DescribeClientVpnEndpoints", e).at(&t.place))
        })
        .buffer_unordered(places.max(1))
        .collect()
        .await;
    let mut endpoints = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(e) => endpoints.extend(e),
            Err(e) => errors.push(e),
        }
    }
    (endpoints, errors)
}

/// Named endpoints in the target at `place`, undescribed.
pub fn at(place: &Place, ids: &[String]) -> Vec<Endpoint> {
    ids.iter()
        .map(|id| Endpoint {
            place: place.clone(),
            id: id.clone(),
            client_cidr: None,
            connect_handler: None,
        })
        .collect()
}

/// Where the endpoints in scope are: every target's endpoints, or those `named` as their targets
/// describe them.
pub struct Located {
    pub endpoints: Vec<Endpoint>,
    /// The targets that could not be listed.
    pub failed: Vec<CallError>,
    /// Named endpoints no target has, as not-found errors; none when a target failed (one may be
    /// there).
    pub absent: Vec<CallError>,
    /// Endpoints more than one target lists (a place named twice, say this account's Region and
    /// a role in this account): left out, since which target to act in is not known.
    pub ambiguous: Vec<CallError>,
}

/// Lists every target's endpoints and finds the `named` ones among them.
pub async fn locate<A: ClientVpnApi>(
    targets: &[&Target<A>],
    named: Option<Vec<String>>,
    places: usize,
    budget: &Budget,
) -> Located {
    let (mut all, failed) = list_endpoints(targets, places, budget).await;
    let mut ambiguous = Vec::new();
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &all {
        seen.entry(e.id.clone()).or_default().push(e.place.label());
    }
    for (id, places) in seen.into_iter().filter(|(_, p)| p.len() > 1) {
        all.retain(|e| e.id != id);
        ambiguous.push(CallError::new(
            Some(id),
            "DescribeClientVpnEndpoints",
            ApiError {
                code: "AmbiguousEndpoint".into(),
                message: format!(
                    "listed by several targets ({}): check CVPN_TARGETS",
                    places.join(", ")
                ),
            },
        ));
    }
    let (endpoints, absent) = match named {
        None => (all, Vec::new()),
        Some(ids) => find(ids, &all),
    };
    let absent = if failed.is_empty() {
        absent
    } else {
        Vec::new()
    };
    Located {
        endpoints,
        failed,
        absent,
        ambiguous,
    }
}

/// The endpoints named, as `all` (every target's) describes them; for each that no target has,
/// a not-found error, so the answer says so.
fn find(ids: Vec<String>, all: &[Endpoint]) -> (Vec<Endpoint>, Vec<CallError>) {
    let mut found = Vec::with_capacity(ids.len());
    let mut absent = Vec::new();
    for id in ids {
        match all.iter().find(|e| e.id == id) {
            Some(e) => found.push(e.clone()),
            None => absent.push(CallError::new(
                Some(id),
                "DescribeClientVpnEndpoints",
                ApiError {
                    code: ENDPOINT_NOT_FOUND.into(),
                    message: "no target has this endpoint".into(),
                },
            )),
        }
    }
    (found, absent)
}

/// How many connection listings an incident runs at once: `per_place` in one place (its account
/// and Region, which EC2 throttles as one) and `places` places at a time, so endpoints spread over
/// an organization are listed in one wave rather than `per_place` at a time in all.
#[derive(Clone, Copy, Debug)]
pub struct Spread {
    pub places: usize,
    pub per_place: usize,
}

/// The most listings in flight at once, whatever the settings (each up to 256): every one is a
/// connection, and Lambda allows a process 1,024 descriptors.
const MOST_LISTINGS: usize = 256;

impl Spread {
    /// Places listed at once: as many as asked, but never more than [`MOST_LISTINGS`] listings.
    fn places_at_once(self) -> usize {
        self.places
            .min(MOST_LISTINGS / self.per_place.max(1))
            .max(1)
    }

    /// `CVPN_PLACE_CONCURRENCY` places at a time, `CVPN_CONCURRENCY` listings in each.
    pub fn of(config: &Config) -> Self {
        Spread {
            places: config.place_concurrency,
            per_place: config.concurrency,
        }
    }
}

/// The connections of `endpoints`, each listed in its target, each endpoint paged in turn and
/// endpoints listed concurrently as `spread` allows; in the order of `endpoints`.
pub async fn list_connections<A: ClientVpnApi>(
    targets: &Targets<A>,
    endpoints: &[Endpoint],
    spread: Spread,
    budget: &Budget,
) -> (Vec<Connection>, Vec<CallError>) {
    let mut by_place: BTreeMap<&Place, Vec<(usize, &Endpoint)>> = BTreeMap::new();
    for (i, endpoint) in endpoints.iter().enumerate() {
        by_place
            .entry(&endpoint.place)
            .or_default()
            .push((i, endpoint));
    }
    let mut results: Vec<(usize, Result<Vec<Connection>, CallError>)> =
        stream::iter(by_place.into_values())
            .map(|place| {
                stream::iter(place)
                    .map(|(i, endpoint)| async move {
                        (i, connections_of(targets, endpoint, budget).await)
                    })
                    .buffer_unordered(spread.per_place.max(1))
            })
            .flatten_unordered(spread.places_at_once())
            .collect()
            .await;
    // Answers come as they finish; the plan and the answer list them as the endpoints were given.
    results.sort_unstable_by_key(|(i, _)| *i);
    let mut connections = Vec::new();
    let mut errors = Vec::new();
    for (_, r) in results {
        match r {
            Ok(c) => connections.extend(c),
            Err(e) => errors.push(e),
        }
    }
    (connections, errors)
}

/// Every connection of one endpoint, listed in its target.
async fn connections_of<A: ClientVpnApi>(
    targets: &Targets<A>,
    endpoint: &Endpoint,
    budget: &Budget,
) -> Result<Vec<Connection>, CallError> {
    let api = targets
        .at(&endpoint.place)
        .ok_or_else(|| no_target(endpoint))?;
    all_pages(budget, |token| api.connections_page(&endpoint.id, token))
        .await
        .map_err(unlisted(endpoint))
}

/// The connections of `endpoints` page by page as they arrive, each endpoint listed in its target
/// and endpoints listed concurrently: for the sweep, which judges each page and keeps only its
/// targets.
pub fn connection_pages<'a, A: ClientVpnApi>(
    targets: &'a Targets<A>,
    endpoints: &'a [Endpoint],
    concurrency: usize,
    budget: &'a Budget,
) -> impl Stream<Item = Result<Vec<Connection>, CallError>> + 'a {
    stream::iter(endpoints)
        .map(move |endpoint| {
            // Pinned in a box: the merge below moves its streams around.
            let listing: Pin<Box<dyn Stream<Item = _> + Send + 'a>> =
                match targets.at(&endpoint.place) {
                    Some(api) => Box::pin(
                        pages(budget, move |token| {
                            api.connections_page(&endpoint.id, token)
                        })
                        .map_err(unlisted(endpoint)),
                    ),
                    None => Box::pin(stream::once(future::ready(Err(no_target(endpoint))))),
                };
            listing
        })
        .flatten_unordered(concurrency.max(1))
}

/// The error of an endpoint whose place is no target's (a bug: endpoints come from the targets).
fn no_target(endpoint: &Endpoint) -> CallError {
    unlisted(endpoint)(ApiError {
        code: "NoTarget".into(),
        message: format!("no target is {}", endpoint.place.label()),
    })
}

/// The error of an endpoint whose connections could not be listed.
fn unlisted(endpoint: &Endpoint) -> impl Fn(ApiError) -> CallError + '_ {
    move |e| {
        CallError::new(Some(endpoint.id.clone()), "DescribeClientVpnConnections", e)
            .at(&endpoint.place)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{By, StatusChange};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A place whose endpoint listing counts the listings in flight across all places.
    struct Counted<'a> {
        now: &'a AtomicUsize,
        most: &'a AtomicUsize,
    }

    impl ClientVpnApi for Counted<'_> {
        async fn endpoints_page(&self, _: Option<String>) -> Result<Page<Endpoint>, ApiError> {
            self.in_flight().await;
            Ok(Page {
                items: Vec::new(),
                next_token: None,
            })
        }

        async fn connections_page(
            &self,
            _: &str,
            _: Option<String>,
        ) -> Result<Page<Connection>, ApiError> {
            self.in_flight().await;
            Ok(Page {
                items: Vec::new(),
                next_token: None,
            })
        }

        async fn user_connections(&self, _: &str, _: &str) -> Result<Vec<Connection>, ApiError> {
            unreachable!("only listings are counted here")
        }

        async fn terminate(&self, _: &str, _: &By, _: bool) -> Result<Vec<StatusChange>, ApiError> {
            unreachable!("only listings are counted here")
        }
    }

    impl Counted<'_> {
        /// One listing in flight, counted, giving every other listing the chance to start
        /// before this one ends.
        async fn in_flight(&self) {
            let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            for _ in 0..8 {
                tokio::task::yield_now().await;
            }
            self.now.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// `n` places in eu-west-1, each counting into `now` and `most`.
    fn counted<'a>(
        n: usize,
        now: &'a AtomicUsize,
        most: &'a AtomicUsize,
    ) -> Vec<Target<Counted<'a>>> {
        (0..n)
            .map(|n| Target {
                place: Place {
                    account: Some(format!("{n:012}")),
                    region: Some("eu-west-1".into()),
                },
                api: Counted { now, most },
            })
            .collect()
    }

    #[tokio::test]
    async fn places_are_listed_a_bounded_number_at_a_time() {
        let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let targets = counted(40, &now, &most);
        let all: Vec<&Target<Counted>> = targets.iter().collect();
        let budget = Budget::new(None);
        for places in [1, 3, 16] {
            most.store(0, Ordering::SeqCst);
            let (endpoints, failed) = list_endpoints(&all, places, &budget).await;
            assert!(endpoints.is_empty() && failed.is_empty());
            assert_eq!(most.load(Ordering::SeqCst), places, "{places} at a time");
        }
    }

    #[tokio::test]
    async fn connections_are_listed_per_place_and_places_at_once() {
        let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let places = counted(6, &now, &most);
        let home = places[0].place.clone();
        let targets = Targets::new(places, home);
        // Five endpoints in each of the six places, given place by place in turn.
        let endpoints: Vec<Endpoint> = (0..30)
            .map(|n| Endpoint {
                id: format!("cvpn-endpoint-{n:017x}"),
                place: targets.iter().nth(n % 6).unwrap().place.clone(),
                client_cidr: None,
                connect_handler: None,
            })
            .collect();
        let budget = Budget::new(None);
        // (places at once, listings in a place) → the most in flight.
        // At 256 listings a place, one place at a time however many are asked for.
        for (places, per_place, expected) in [
            (1, 1, 1),
            (6, 1, 6),
            (1, 3, 3),
            (4, 2, 8),
            (32, 8, 30),
            (256, 256, 5),
        ] {
            most.store(0, Ordering::SeqCst);
            let spread = Spread { places, per_place };
            let (connections, failed) =
                list_connections(&targets, &endpoints, spread, &budget).await;
            assert!(connections.is_empty() && failed.is_empty());
            assert_eq!(most.load(Ordering::SeqCst), expected, "{spread:?}");
        }
    }
}
