//! IAM Identity Center's records name a user by ID only: the Identity Store names them
//! (`DescribeUser`), and the state table remembers the name for the `DeleteUser` record, which
//! comes when the store no longer can. An ID neither knows names nobody, and the invocation fails
//! saying which store and ID, so that a person ends the sessions by name. What the record says is
//! the domain's (`domain/trigger/identity_center.rs`).

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::directory::DirectoryCache;
use crate::adapters::state::StateStore;
use crate::domain::model::ApiError;
use crate::domain::trigger::identity_center::to_resolve;
use crate::domain::trigger::idp::IdpEvent;
use crate::shell::execute::CallError;
use crate::shell::invocation::Invocation;

const WHERE: &str = "detail.requestParameters.userId";

impl<A: ClientVpnApi, S: StateStore + DirectoryCache> Invocation<'_, A, S> {
    /// `event` with its user named, when it is an Identity Center record whose word would be
    /// taken; any other event as it is.
    pub(crate) async fn named_by_directory(&mut self, event: &IdpEvent) -> IdpEvent {
        let mut event = event.clone();
        let Some((store, user, region)) = to_resolve(&event, self.app.config.idp.trust()) else {
            return event;
        };
        match self.user_name(store, user, region).await {
            Ok(name) => {
                let named = format!("{WHERE} ({user}, named by identity store {store})");
                event.user = Some((name, named));
            }
            Err(e) => {
                event.no_user = Some(e.message.clone());
                self.response.step_failed(CallError {
                    path: Some(WHERE.into()),
                    ..e
                });
            }
        }
        event
    }

    /// The store's name for the user, remembered for later; or, when the store says the user is
    /// gone, the name remembered before. A store that cannot be asked is an error (the retry may
    /// ask it): a remembered name may be out of date while the user still exists.
    async fn user_name(
        &mut self,
        store: &str,
        user: &str,
        region: Option<&str>,
    ) -> Result<String, CallError> {
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
            .call(directory.user_name(region, store, user))
            .await;
        let now = chrono::Utc::now().timestamp();
        match (described, &self.app.store) {
            (Ok(Some(name)), Some(table)) => {
                let remembered = self.budget.call(table.remember(store, user, &name, now));
                if let Err(e) = remembered.await {
                    // The name is known now; only a later DeleteUser would miss it.
                    tracing::warn!(
                        event = "directory_not_remembered",
                        code = e.code.as_str(),
                        message = e.message.as_str(),
                        "the user's name could not be written to the state table"
                    );
                }
                Ok(name)
            }
            (Ok(Some(name)), None) => Ok(name),
            (Ok(None), Some(table)) => match self.budget.call(table.recall(store, user)).await {
                Ok(Some(name)) => Ok(name),
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
