//! AWS Config's aggregator (aws-sdk-config): the rows of two advanced queries
//! (`SelectAggregateResourceConfig`, `domain/inventory/aggregator`'s) and the status of its
//! sources (`DescribeConfigurationAggregatorSourcesStatus`), asked side by side, page by page,
//! in the account and Region the aggregator is in, through the role named for it when there is
//! one.

use crate::adapters::aws::api_error;
use crate::adapters::lazy::Lazy;
use crate::domain::inventory::aggregator::{Answer, Source, QUERY, RECORDED};
use crate::domain::model::ApiError;
use aws_sdk_config::types::{
    AggregatedSourceStatus, AggregatedSourceStatusType, AggregatedSourceType,
};

/// Rows a page: the API's most.
const PAGE: i32 = 100;

/// A call of the aggregator that failed, and which.
#[derive(Debug)]
pub struct Failed {
    pub action: &'static str,
    pub error: ApiError,
}

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

    /// Both queries' rows and the sources' status.
    pub async fn ask(&self) -> Result<Answer, Failed> {
        let select = |e| Failed {
            action: "SelectAggregateResourceConfig",
            error: e,
        };
        let (rows, recorded, sources) = futures::try_join!(
            async { self.rows(QUERY).await.map_err(select) },
            async { self.rows(RECORDED).await.map_err(select) },
            async {
                self.sources().await.map_err(|e| Failed {
                    action: "DescribeConfigurationAggregatorSourcesStatus",
                    error: e,
                })
            },
        )?;
        Ok(Answer {
            rows,
            recorded,
            sources,
        })
    }

    /// Every row of `query`: one JSON text each.
    async fn rows(&self, query: &str) -> Result<Vec<String>, ApiError> {
        let mut rows = Vec::new();
        let mut pages = self
            .client
            .get()
            .select_aggregate_resource_config()
            .configuration_aggregator_name(&self.name)
            .expression(query)
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
            for status in page.aggregated_source_status_list() {
                sources.push(source(status)?);
            }
        }
        Ok(sources)
    }
}

/// A source as the domain reads it. One of a kind this function does not know, or an account
/// without its ID, vetoes its Region (as a failed source of every account there); one without a
/// Region cannot be placed, and the answer is not used.
fn source(s: &AggregatedSourceStatus) -> Result<Source, ApiError> {
    let region = s.aws_region().ok_or_else(|| ApiError {
        code: "SourceUnread".into(),
        message: "a source's status names no Region (AggregatedSourceStatusList[].AwsRegion)"
            .into(),
    })?;
    let read = match s.source_type() {
        Some(AggregatedSourceType::Account) => s.source_id().map(|id| Some(id.to_owned())),
        Some(AggregatedSourceType::Organization) => Some(None),
        _ => None,
    };
    Ok(match read {
        Some(account) => Source {
            account,
            region: region.to_owned(),
            succeeded: s.last_update_status() == Some(&AggregatedSourceStatusType::Succeeded),
        },
        None => Source {
            account: None,
            region: region.to_owned(),
            succeeded: false,
        },
    })
}
