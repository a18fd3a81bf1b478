//! Listing what is in scope, page by page, each page a call of the invocation's budget: the
//! endpoints, and their connections either all at once (incidents, which match against the whole
//! picture) or as a stream of pages (the sweep, which judges each page as it arrives).

use crate::adapters::ec2::ClientVpnApi;
use crate::domain::model::{ApiError, Connection, Endpoint, Page};
use crate::shell::execute::{Budget, CallError};
use futures::future;
use futures::stream::{self, Stream, StreamExt, TryStreamExt};
use std::future::Future;

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

/// Every endpoint in the Region, with its client CIDR.
pub async fn list_endpoints(
    api: &impl ClientVpnApi,
    budget: &Budget,
) -> Result<Vec<Endpoint>, CallError> {
    all_pages(budget, |token| api.endpoints_page(token))
        .await
        .map_err(|e| CallError::new(None, "DescribeClientVpnEndpoints", e))
}

/// The connections of `endpoints`, each endpoint paged in turn and endpoints listed concurrently.
pub async fn list_connections(
    api: &impl ClientVpnApi,
    endpoints: &[String],
    concurrency: usize,
    budget: &Budget,
) -> (Vec<Connection>, Vec<CallError>) {
    let results: Vec<Result<Vec<Connection>, CallError>> = stream::iter(endpoints)
        .map(|endpoint| async move {
            all_pages(budget, |token| api.connections_page(endpoint, token))
                .await
                .map_err(unlisted(endpoint))
        })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    let mut connections = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(c) => connections.extend(c),
            Err(e) => errors.push(e),
        }
    }
    (connections, errors)
}

/// The connections of `endpoints` page by page as they arrive, endpoints listed concurrently: for
/// the sweep, which judges each page and keeps only its targets.
pub fn connection_pages<'a>(
    api: &'a impl ClientVpnApi,
    endpoints: &'a [String],
    concurrency: usize,
    budget: &'a Budget,
) -> impl Stream<Item = Result<Vec<Connection>, CallError>> + 'a {
    stream::iter(endpoints)
        .map(move |endpoint| {
            // Pinned in a box: the merge below moves its streams around.
            Box::pin(
                pages(budget, move |token| api.connections_page(endpoint, token))
                    .map_err(unlisted(endpoint)),
            )
        })
        .flatten_unordered(concurrency.max(1))
}

/// The error of an endpoint whose connections could not be listed.
fn unlisted(endpoint: &str) -> impl Fn(ApiError) -> CallError + '_ {
    move |e| CallError::new(Some(endpoint.to_owned()), "DescribeClientVpnConnections", e)
}
