//! Requests for a person's approval: one item per request, `pk` = `approval#<id>`, `kind` =
//! `approval`, `state` (`pending`, `approved` while it is carried out, `done`, `denied`),
//! `request` (the [`ApprovalRequest`] as JSON: what it would do, why, and what an approval acts
//! on), `asksUntil` (epoch seconds; answered until then), `approvers` (a list of `{identity,
//! verified}` as JSON strings, in order), `decidedBy`, and `expiresAt` (the table's TTL: a week
//! after it stops asking, so that a late answer is told what became of it). Every change is
//! conditional on the state (and the approvals) it was decided on, so two answers at once never
//! both count. One more item, `approvals#pending`, holds the IDs of the requests that may still
//! be waiting (`ids`), so that a tick finds the ones that expired without reading the table.

use super::Dynamo;
use crate::adapters::aws::{api_error, condition_failed};
use crate::domain::approval::{ApprovalRequest, Approver, State};
use crate::domain::model::ApiError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::future::Future;

const KEY_PREFIX: &str = "approval#";
const PENDING: &str = "approvals#pending";
/// How long a request is remembered after it stops asking.
const KEEP_SECONDS: i64 = 7 * 24 * 60 * 60;
/// The error code of a change that lost to another answer.
const ANSWERED_MEANWHILE: &str = "AnsweredMeanwhile";

/// A request as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    pub request: ApprovalRequest,
    pub state: State,
    pub approvers: Vec<Approver>,
}

pub trait ApprovalStore: Send + Sync {
    /// Stores `request`, pending, unless one with its ID is stored (a retry of the same event):
    /// `Ok(false)` then.
    fn ask(&self, request: &ApprovalRequest)
        -> impl Future<Output = Result<bool, ApiError>> + Send;

    /// The request `id`, if one is stored.
    fn approval(&self, id: &str) -> impl Future<Output = Result<Option<Stored>, ApiError>> + Send;

    /// Adds `approver` to `stored`'s approvals, moving it to `to` (pending, or approved when they
    /// suffice) or denied, unless it changed since it was read (`AnsweredMeanwhile`).
    fn answer(
        &self,
        stored: &Stored,
        approver: &Approver,
        to: State,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// The IDs of the requests that may still be waiting.
    fn waiting(&self) -> impl Future<Output = Result<Vec<String>, ApiError>> + Send;

    /// Marks `stored` expired, unless it was answered meanwhile (`AnsweredMeanwhile`).
    fn expire(&self, stored: &Stored) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// Forgets `ids` as waiting (answered, expired or gone).
    fn unlist(&self, ids: &[String]) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// Records that the approved request `id` was carried out.
    fn carried_out(&self, id: &str) -> impl Future<Output = Result<(), ApiError>> + Send;
}

fn key(id: &str) -> AttributeValue {
    AttributeValue::S(format!("{KEY_PREFIX}{id}"))
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn unreadable(id: &str, what: &str) -> ApiError {
    ApiError {
        code: "ApprovalUnreadable".into(),
        message: format!("approval request {id}: its {what} cannot be read; nothing was done"),
    }
}

impl ApprovalStore for Dynamo {
    async fn ask(&self, request: &ApprovalRequest) -> Result<bool, ApiError> {
        let n = |v: i64| AttributeValue::N(v.to_string());
        let json =
            serde_json::to_string(request).map_err(|e| unreadable(&request.id, &e.to_string()))?;
        let put = self
            .client()
            .put_item()
            .table_name(&self.table)
            .item("pk", key(&request.id))
            .item("kind", s("approval"))
            .item("state", s(State::Pending.as_str()))
            .item("request", s(&json))
            .item("asksUntil", n(request.asks_until))
            .item("expiresAt", n(request.asks_until + KEEP_SECONDS))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        let created = match put {
            Ok(_) => true,
            Err(e) if condition_failed(&e) => false,
            Err(e) => return Err(api_error(e)),
        };
        // Listed as waiting whether new or made before (a retry lists what a fault left unlisted).
        self.client()
            .update_item()
            .table_name(&self.table)
            .key("pk", s(PENDING))
            .update_expression("SET #kind = :kind ADD ids :id")
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_values(":kind", s("approvals"))
            .expression_attribute_values(":id", AttributeValue::Ss(vec![request.id.clone()]))
            .send()
            .await
            .map_err(api_error)?;
        Ok(created)
    }

    async fn waiting(&self) -> Result<Vec<String>, ApiError> {
        Ok(self
            .item(s(PENDING))
            .await?
            .as_ref()
            .and_then(|i| i.get("ids"))
            .and_then(|v| v.as_ss().ok())
            .cloned()
            .unwrap_or_default())
    }

    async fn expire(&self, stored: &Stored) -> Result<(), ApiError> {
        let id = &stored.request.id;
        let update = self
            .client()
            .update_item()
            .table_name(&self.table)
            .key("pk", key(id))
            .update_expression("SET #state = :expired")
            .condition_expression("#state = :pending")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":expired", s(State::Expired.as_str()))
            .expression_attribute_values(":pending", s(State::Pending.as_str()))
            .send()
            .await;
        match update {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(ApiError {
                code: ANSWERED_MEANWHILE.into(),
                message: format!("approval request {id} was answered as it expired"),
            }),
            Err(e) => Err(api_error(e)),
        }
    }

    async fn unlist(&self, ids: &[String]) -> Result<(), ApiError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.client()
            .update_item()
            .table_name(&self.table)
            .key("pk", s(PENDING))
            .update_expression("DELETE ids :ids")
            .expression_attribute_values(":ids", AttributeValue::Ss(ids.to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(api_error)
    }

    async fn approval(&self, id: &str) -> Result<Option<Stored>, ApiError> {
        let Some(item) = self.item(key(id)).await? else {
            return Ok(None);
        };
        let item = &item;
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
        let request = text("request")
            .and_then(|j| serde_json::from_str(j).ok())
            .ok_or_else(|| unreadable(id, "request"))?;
        let state = text("state")
            .and_then(|s| State::parse(s))
            .ok_or_else(|| unreadable(id, "state"))?;
        let approvers = match item.get("approvers") {
            None => Vec::new(),
            Some(v) => v
                .as_l()
                .ok()
                .and_then(|l| {
                    l.iter()
                        .map(|a| serde_json::from_str(a.as_s().ok()?).ok())
                        .collect::<Option<Vec<Approver>>>()
                })
                .ok_or_else(|| unreadable(id, "approvers"))?,
        };
        Ok(Some(Stored {
            request,
            state,
            approvers,
        }))
    }

    async fn answer(
        &self,
        stored: &Stored,
        approver: &Approver,
        to: State,
    ) -> Result<(), ApiError> {
        let id = &stored.request.id;
        let one = serde_json::to_string(approver).map_err(|e| unreadable(id, &e.to_string()))?;
        let seen = match stored.approvers.len() {
            0 => "attribute_not_exists(approvers)",
            _ => "size(approvers) = :seen",
        };
        // A denial is not an approval: it is recorded as who decided, not among the approvers.
        let (approves, decides) = (to != State::Denied, to != State::Pending);
        let mut set = vec!["#state = :to"];
        set.extend(
            approves.then_some("approvers = list_append(if_not_exists(approvers, :none), :one)"),
        );
        set.extend(decides.then_some("decidedBy = :by"));
        let mut update = self
            .client()
            .update_item()
            .table_name(&self.table)
            .key("pk", key(id))
            .update_expression(format!("SET {}", set.join(", ")))
            .condition_expression(format!("#state = :from AND {seen}"))
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":from", s(stored.state.as_str()));
        if approves {
            update = update
                .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
                .expression_attribute_values(":one", AttributeValue::L(vec![s(&one)]));
        }
        if decides {
            update = update.expression_attribute_values(":by", s(&approver.identity));
        }
        if !stored.approvers.is_empty() {
            let count = stored.approvers.len().to_string();
            update = update.expression_attribute_values(":seen", AttributeValue::N(count));
        }
        match update.send().await {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(ApiError {
                code: ANSWERED_MEANWHILE.into(),
                message: format!(
                    "approval request {id} was answered by someone else meanwhile; nothing was \
                     changed: answer again"
                ),
            }),
            Err(e) => Err(api_error(e)),
        }
    }

    async fn carried_out(&self, id: &str) -> Result<(), ApiError> {
        self.client()
            .update_item()
            .table_name(&self.table)
            .key("pk", key(id))
            .update_expression("SET #state = :done")
            .condition_expression("#state = :approved")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":done", s(State::Done.as_str()))
            .expression_attribute_values(":approved", s(State::Approved.as_str()))
            .send()
            .await
            .map(|_| ())
            .map_err(api_error)
    }
}
