//! IAM Identity Center's records name a user by ID only: the Identity Store names them
//! (`DescribeUser`), and the state table remembers the name for the `DeleteUser` record, which
//! comes when the store no longer can. An ID neither knows names nobody, and the invocation fails
//! saying which store and ID, so that a person ends the sessions by name. What the record says is
//! the domain's (`domain/trigger/identity_center.rs`).

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::directory::DirectoryCache;
use crate::adapters::state::StateStore;
use crate::domain::model::ApiError;
use crate::domain::plan::CallError;
use crate::domain::trigger::identity_center::{to_resolve, unreadable_out};
use crate::domain::trigger::idp::IdpEvent;
use crate::shell::invocation::Invocation;

const WHERE: &str = "detail.requestParameters.userId";

/// A name the store gave, to remember once the sessions ended (writing it first would delay them).
pub(crate) struct Learned {
    store: String,
    user: String,
    name: String,
}

impl<A: ClientVpnApi, S: StateStore + DirectoryCache> Invocation<'_, A, S> {
    /// `event` with its user named, when it is an Identity Center record whose word would be
    /// taken (and the name the store gave, to remember); any other event as it is.
    pub(crate) async fn named_by_directory(
        &mut self,
        event: &IdpEvent,
    ) -> (IdpEvent, Option<Learned>) {
        let mut event = event.clone();
        let trust = self.app.config.idp.trust();
        if let Some(why) = unreadable_out(&event, trust) {
            let e = ApiError {
                code: "RecordUnreadable".into(),
                message: format!(
                    "{} record {}: {why}; nobody was ended or held: end the user's sessions with a \
                     direct request naming them",
                    event.event_type, event.uuid
                ),
            };
            // The record's whole detail: `why` names the field.
            self.response.step_failed(CallError {
                path: Some("detail".into()),
                ..CallError::new(None, "DecodeRecord", e)
            });
            return (event, None);
        }
        let Some((store, user, region)) = to_resolve(&event, trust) else {
            return (event, None);
        };
        let (store, user) = (store.to_owned(), user.to_owned());
        match self
            .user_name(&store, &user, region.map(str::to_owned))
            .await
        {
            Ok((name, fresh)) => {
                let named = format!("{WHERE} ({user}, named by identity store {store})");
                event.user = Some((name.clone(), named));
                let learned = fresh.then_some(Learned { store, user, name });
                (event, learned)
            }
            Err(e) => {
                event.no_user = Some(e.message.clone());
                self.response.step_failed(CallError {
                    path: Some(WHERE.into()),
                    ..e
                });
                (event, None)
            }
        }
    }

    /// Remembers a name the store gave, for the `DeleteUser` that comes when it no longer can. A
    /// failure is said: only that later record would miss the name.
    pub(crate) async fn remember(&mut self, learned: Learned) {
        let Some(table) = &self.app.store else {
            return;
        };
        let now = chrono::Utc::now().timestamp();
        let call = table.remember(&learned.store, &learned.user, &learned.name, now);
        if let Err(e) = self.budget.call(call).await {
            tracing::warn!(
                event = "directory_not_remembered",
                code = e.code.as_str(),
                message = e.message.as_str(),
                "the user's name could not be written to the state table"
            );
        }
    }

    /// The store's name for the user (`true`: just read, to remember); or, when the store says
    /// the user is gone, the name remembered before. A store that cannot be asked is an error
    /// (the retry may ask it): a remembered name may be out of date while the user still exists.
    async fn user_name(
        &mut self,
        store: &str,
        user: &str,
        region: Option<String>,
    ) -> Result<(String, bool), CallError> {
        let failed = |action, e| CallError::new(None, action, e);
        let Some(directory) = &self.app.directory else {
            let e = ApiError {
                code: "NoDirectory".into(),
                message: "no Identity Store client: the function was built without one".into(),
            };
            return Err(failed("DescribeUser", e));
        };
        let described = self
            .budget
            .call(directory.user_name(region.as_deref(), store, user))
            .await;
        match (described, &self.app.store) {
            (Ok(Some(name)), _) => Ok((name, true)),
            (Ok(None), Some(table)) => match self.budget.call(table.recall(store, user)).await {
                Ok(Some(name)) => {
                    // Renamed before it went, the user's old name may be another user's now.
                    let holder = directory.user_id_of(region.as_deref(), store, &name);
                    match self.budget.call(holder).await {
                        Ok(Some(other)) if other != user => {
                            Err(failed("GetUserId", taken(store, user, &name, &other)))
                        }
                        Ok(_) => Ok((name, false)),
                        Err(e) => Err(failed("GetUserId", e)),
                    }
                }
                Ok(None) => Err(failed("DescribeUser", unknown(store, user))),
                Err(e) => Err(failed("GetItem", e)),
            },
            (Ok(None), None) => Err(failed("DescribeUser", unknown(store, user))),
            (Err(e), _) => Err(failed("DescribeUser", e)),
        }
    }
}

fn unknown(store: &str, user: &str) -> ApiError {
    ApiError {
        code: "UserUnknown".into(),
        message: format!(
            "user {user} of identity store {store} is not in the store any more and no earlier \
             record named it here (a DisableUser first would have): end their sessions with a \
             direct request naming the user"
        ),
    }
}

fn taken(store: &str, user: &str, name: &str, other: &str) -> ApiError {
    ApiError {
        code: "NameTaken".into(),
        message: format!(
            "user {user} of identity store {store} is gone, and the name remembered for it, \
             {name}, is user {other}'s now: ending {name}'s sessions could end someone else's; \
             end the user's sessions with a direct request naming them"
        ),
    }
}
