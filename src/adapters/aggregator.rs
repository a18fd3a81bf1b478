//! AWS Config's aggregator (aws-sdk-config): the rows of one advanced query
//! (`SelectAggregateResourceConfig`, `domain/inventory/aggregator.rs`'s) and the status of its
//! sources (`DescribeConfigurationAggregatorSourcesStatus`), asked side by side, page by page,
//! in the account and Region the aggregator is in, through the role named for it when there is
//! one.

use crate::adapters::aws::api_error;
use crate::adapters::lazy::Lazy;
use crate::domain::inventory::aggregator::{Answer, Source, QUERY};
use crate::domain::model::ApiError;
use aws_sdk_config::types::{
    AggregatedSourceStatus, AggregatedSourceStatusType, AggregatedSourceType,
};

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

    /// The query's rows and the sources' status.
    pub async fn ask(&self) -> Result<Answer, ApiError> {
        let (rows, sources) = futures::try_join!(self.rows(), self.sources())?;
        Ok(Answer { rows, sources })
    }

    /// Every row of the query: one JSON text an endpoint.
    async fn rows(&self) -> Result<Vec<String>, ApiError> {
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

    /// Every source in every Region, whatever its status.
    async fn sources(&self) -> Result<Vec<Source>, ApiError> {
        let mut sources = Vec::new();
        let mut pages = self
            .client
            .get()
            .describe_configuration_aggregator_sources_status()
            .configuration_aggregator_name(&self.name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(api_error)?;
            sources.extend(
                page.aggregated_source_status_list()
                    .iter()
                    .filter_map(source),
            );
        }
        Ok(sources)
    }
}

/// A source as the domain reads it; one of a kind this function does not know, or without a
/// Region, speaks for nothing.
fn source(s: &AggregatedSourceStatus) -> Option<Source> {
    let account = match s.source_type()? {
        AggregatedSourceType::Account => Some(s.source_id()?.to_owned()),
        AggregatedSourceType::Organization => None,
        _ => return None,
    };
    Some(Source {
        account,
        region: s.aws_region()?.to_owned(),
        succeeded: s.last_update_status() == Some(&AggregatedSourceStatusType::Succeeded),
    })
}
