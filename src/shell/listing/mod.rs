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
mod tests;
