//! AWS Config's aggregator (aws-sdk-config): the rows of one advanced query
//! (`SelectAggregateResourceConfig`, `domain/inventory/aggregator.rs`'s), page by page, from the
//! account and Region the aggregator is in, through the role named for it when there is one.

use crate::adapters::aws::api_error;
use crate::adapters::lazy::Lazy;
use crate::domain::inventory::aggregator::QUERY;
use crate::domain::model::ApiError;

/// Rows a page: the API's most.
const PAGE: i32 = 100;

#[derive(Clone)]
pub struct Aggregator {
    client: Lazy<aws_sdk_config::Client>,
    name: String,
}

impl Aggregator {
    /// The aggregator `name`, asked through `client` (built for its Region and role).
    pub fn new(client: Lazy<aws_sdk_config::Client>, name: &str) -> Self {
        Self {
            client,
            name: name.to_owned(),
        }
    }

    /// Every row of the query: one JSON text an endpoint.
    pub async fn rows(&self) -> Result<Vec<String>, ApiError> {
        let mut rows = Vec::new();
        let mut pages = self
            .client
            .get()
            .select_aggregate_resource_config()
            .configuration_aggregator_name(&self.name)
            .expression(QUERY)
            .limit(PAGE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            rows.extend(page.map_err(api_error)?.results().iter().cloned());
        }
        Ok(rows)
    }
}
