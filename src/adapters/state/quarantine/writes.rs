//! The writes behind placing and releasing a hold, each one conditional request: what the
//! quarantine's trait methods (`mod.rs`) try in turn.

use super::items::{key, placer_set};
use super::{KEY_PREFIX, RELEASE_PREFIX};
use crate::adapters::aws::{api_error, condition_failed};
use crate::adapters::state::{Dynamo, Item};
use crate::domain::model::ApiError;
use crate::domain::quarantine::{Hold, Subject};
use aws_sdk_dynamodb::operation::delete_item::builders::DeleteItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

impl Dynamo {
    /// `hold` written under `condition`: in whole (`set_findings`), or extending the stored one,
    /// adding its findings and placers to those there.
    pub(super) fn hold_update(
        &self,
        hold: &Hold,
        findings: &Option<AttributeValue>,
        condition: &str,
        set_findings: bool,
    ) -> UpdateItemFluentBuilder {
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let n = |v: i64| AttributeValue::N(v.to_string());
        // A person's hold (no findings) is marked for good, even where a longer one stays, so
        // that no IdP's "back in" lifts what a person also asked for (`placed_only_by`).
        let by_person = hold.by_person;
        let mut set = vec![
            "#kind = :kind",
            "subjectKind = :subjectKind",
            "#name = :name",
            "since = :since",
            "expiresAt = :until",
            "#reason = :reason",
        ];
        let mut remove = Vec::new();
        // Who placed it: set anew with the hold, added to when it is extended.
        let mut add = vec![match set_findings {
            true => {
                set.push("placedBy = :placers");
                ""
            }
            false => "placedBy :placers",
        }];
        let mut request = self
            .client()
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(KEY_PREFIX, &hold.subject)))
            .condition_expression(condition)
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_names("#name", "name")
            .expression_attribute_names("#reason", "reason")
            .expression_attribute_values(":kind", s("quarantine"))
            .expression_attribute_values(":subjectKind", s(hold.subject.kind.as_str()))
            .expression_attribute_values(":name", s(&hold.subject.name))
            .expression_attribute_values(":since", n(hold.since))
            .expression_attribute_values(":until", n(hold.until))
            .expression_attribute_values(":reason", s(&hold.reason))
            .expression_attribute_values(":placers", placer_set(hold))
            .return_values(ReturnValue::AllOld);
        match &hold.requested_by {
            Some(by) => {
                set.push("requestedBy = :by");
                request = request.expression_attribute_values(":by", s(by));
            }
            None => remove.push("requestedBy"),
        }
        if by_person {
            set.push("heldByPerson = :person");
            request = request.expression_attribute_values(":person", AttributeValue::Bool(true));
        } else if set_findings {
            remove.push("heldByPerson");
        }
        match (&hold.finding_id, findings) {
            (Some(f), Some(keys)) => {
                set.push("findingId = :finding");
                request = request
                    .expression_attribute_values(":finding", s(f))
                    .expression_attribute_values(":findings", keys.clone());
                if set_findings {
                    set.push("findingIds = :findings");
                } else {
                    add.push("findingIds :findings");
                }
            }
            _ if set_findings => remove.extend(["findingId", "findingIds"]),
            _ => {}
        }
        request.update_expression(expression(&set, &remove, &add))
    }

    /// A longer hold stays: `hold`'s findings (or a person's mark) and placers are added to it, so
    /// that releasing it releases them too.
    pub(super) async fn add_to_longer(
        &self,
        hold: &Hold,
        findings: Option<AttributeValue>,
    ) -> Result<(), ApiError> {
        let by_person = hold.by_person;
        let kept = match findings {
            Some(keys) => Some(
                self.client()
                    .update_item()
                    .update_expression("ADD findingIds :findings, placedBy :placers")
                    .expression_attribute_values(":findings", keys),
            ),
            None if by_person => Some(
                self.client()
                    .update_item()
                    .update_expression("SET heldByPerson = :person ADD placedBy :placers")
                    .expression_attribute_values(":person", AttributeValue::Bool(true)),
            ),
            None => None,
        };
        if let Some(request) = kept {
            let added = request
                .expression_attribute_values(":placers", placer_set(hold))
                .table_name(&self.table)
                .set_key(Some(key(KEY_PREFIX, &hold.subject)))
                .condition_expression("attribute_exists(pk)")
                .send()
                .await;
            // Released meanwhile: nothing is left to add to, and nothing was held longer.
            if let Err(e) = added {
                if !condition_failed(&e) {
                    return Err(api_error(e));
                }
            }
        }

        Ok(())
    }

    /// The record that a person released `subject`'s hold of `findings`, so that those findings
    /// neither end the name's sessions nor hold it again while the hold would have lasted.
    pub(super) async fn record_release(
        &self,
        subject: &Subject,
        by: Option<&str>,
        now: i64,
        held_until: i64,
        findings: Vec<String>,
    ) -> Result<(), ApiError> {
        // An item whose end could not be read holds forever; its record need not.
        let until = held_until.min(now + 366 * 24 * 60 * 60);
        let mut request = self
            .client()
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(RELEASE_PREFIX, subject)))
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_values(":kind", AttributeValue::S("release".into()))
            .expression_attribute_values(":findings", AttributeValue::Ss(findings))
            .expression_attribute_values(":at", AttributeValue::N(now.to_string()))
            .expression_attribute_values(":until", AttributeValue::N(until.to_string()));
        let mut set = "#kind = :kind, releasedAt = :at, expiresAt = :until".to_owned();
        if let Some(by) = by {
            set.push_str(", releasedBy = :by");
            request = request.expression_attribute_values(":by", AttributeValue::S(by.into()));
        }
        request
            .update_expression(format!("SET {set} ADD findingIds :findings"))
            .send()
            .await
            .map_err(api_error)?;
        Ok(())
    }

    /// Deletes the hold on `subject` only as it was read (`item`): its end, its findings' count
    /// and, for an IdP's word (`by_idp`), its placers and no person's part in it.
    pub(super) fn delete_as_read(
        &self,
        subject: &Subject,
        item: Option<&Item>,
        by_idp: bool,
    ) -> DeleteItemFluentBuilder {
        let mut delete = self
            .client()
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(KEY_PREFIX, subject)));
        if let Some(item) = item {
            let count = item
                .get("findingIds")
                .and_then(|v| v.as_ss().ok())
                .map_or(0, Vec::len);
            let until = item.get("expiresAt").cloned();
            let mut conditions = vec![match until {
                Some(v) => {
                    delete = delete.expression_attribute_values(":until", v);
                    "expiresAt = :until"
                }
                None => "attribute_not_exists(expiresAt)",
            }];
            if count > 0 {
                conditions.push("size(findingIds) = :count");
                delete = delete
                    .expression_attribute_values(":count", AttributeValue::N(count.to_string()));
            } else {
                conditions.push("attribute_not_exists(findingIds)");
            }
            if by_idp {
                // Nor one another word was added to meanwhile (placedBy only grows), nor one a
                // person held (the findings' count may not have changed).
                let placers = item
                    .get("placedBy")
                    .and_then(|v| v.as_ss().ok())
                    .map_or(0, Vec::len);
                conditions.push("size(placedBy) = :placers");
                delete = delete.expression_attribute_values(
                    ":placers",
                    AttributeValue::N(placers.to_string()),
                );
                conditions.push("attribute_not_exists(heldByPerson)");
                conditions.push("attribute_not_exists(requestedBy)");
            }
            delete = delete.condition_expression(conditions.join(" AND "));
        }
        delete
    }
}

/// `SET … REMOVE … ADD …`, each clause only when it has something.
fn expression(set: &[&str], remove: &[&str], add: &[&str]) -> String {
    let mut expression = format!("SET {}", set.join(", "));
    for (clause, parts) in [("REMOVE", remove), ("ADD", add)] {
        let parts: Vec<&str> = parts.iter().copied().filter(|p| !p.is_empty()).collect();
        if !parts.is_empty() {
            expression.push_str(&format!(" {clause} {}", parts.join(", ")));
        }
    }
    expression
}
