//! The identity provider's word on a person (Okta's System Log through EventBridge, or a token it
//! signed over the Function URL: `signal/`): an event that says a person is out, from a source a
//! person named (`CVPN_IDP_SOURCES`) or a verified token, ends the person's sessions and holds them
//! through the incident path (mapping, the identity model, protected users, cap, dry run,
//! quarantine, telling, once per delivery). One that says the person is back lifts the holds that
//! IdP's word alone placed, when `CVPN_IDP_RELEASE_ON_REACTIVATE` asks for it. What it may say is
//! the domain's (`domain/trigger/idp.rs`, `okta.rs`, `domain/signal/`).

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::approvals::ApprovalStore;
use crate::adapters::state::directory::DirectoryCache;
use crate::adapters::state::ended::EndedStore;
use crate::adapters::state::inventory::InventoryStore;
use crate::adapters::state::quarantine::{QuarantineStore, HOLD_STAYS};
use crate::adapters::state::said::SaidStore;
use crate::adapters::state::StateStore;
use crate::domain::model::Reason;
use crate::domain::plan::CallError;
use crate::domain::plan::{Origin, Selector};
use crate::domain::quarantine::{Subject, SubjectKind};
use crate::domain::trigger::evidence::Named;
use crate::domain::trigger::idp::{
    back_after_out, refusal, release_refusal, BackIn, IdpEvent, Says,
};
use crate::shell::app::HandlerError;
use crate::shell::invocation::Invocation;
use crate::shell::report::{self, Entry, HoldEntry, HoldOutcome};

impl<A, S> Invocation<'_, A, S>
where
    A: ClientVpnApi,
    S: StateStore
        + QuarantineStore
        + SaidStore
        + DirectoryCache
        + ApprovalStore
        + EndedStore
        + InventoryStore,
{
    /// The IdP's word: an Identity Center record's user named first; "out" ends the person's
    /// sessions and holds them (and when the IdP said so is recorded after), "back in" lifts
    /// its own holds; a name the store gave is remembered last, so nothing delays the ending.
    pub(crate) async fn idp(&mut self, event: &IdpEvent) -> Result<(), HandlerError> {
        let (event, learned) = self.named_by_directory(event).await;
        let mut ended = Ok(());
        if event.says == Says::BackIn {
            Box::pin(self.idp_release(&event)).await;
        } else {
            let selectors = self.idp_selectors(&event);
            let mut people: Vec<String> = selectors
                .iter()
                .flat_map(|s| s.usernames.iter().map(|u| u.value.clone()))
                .collect();
            ended = Box::pin(self.incident(selectors)).await;
            // Whom a person is asked about is not out yet.
            let asked: Vec<&String> = self
                .response
                .approval_requests
                .iter()
                .flat_map(|a| &a.people)
                .collect();
            let same = &self.app.config.people;
            people.retain(|p| !asked.iter().any(|a| same.same(a, p)));
            self.idp_said_out(&event, &people).await;
        }
        if let Some(learned) = learned {
            self.remember(learned).await;
        }
        ended
    }

    /// Where the event came from, for the answer; and the origin its entries carry.
    fn idp_origin(&mut self, event: &IdpEvent) -> Origin {
        let why = match event.says {
            Says::Out(why) => why,
            Says::BackIn => "back in at the IdP",
            Says::Nothing => "",
        };
        let login = event.user.as_ref().map(|(login, _)| login.as_str());
        let reason = match login {
            Some(login) if !why.is_empty() => format!("{login} {why} ({})", event.event_type),
            _ => event.event_type.clone(),
        };
        let trigger = &mut self.response.trigger;
        trigger.reason = Some(reason.clone());
        trigger.time = event.published.map(|t| t.to_rfc3339());
        Origin {
            source: trigger.source,
            finding_id: Some(event.finding_id()),
            finding_type: Some(event.event_type.clone()),
            severity: None,
            reason: Some(reason),
            idp: Some(event.idp.clone()),
        }
    }

    fn idp_skipped(&mut self, origin: &Origin, reason: Reason, detail: String) {
        let entry = Entry::finding_skipped(origin, reason, detail);
        report::log_skipped(&entry, origin);
        self.response.skipped.push(entry);
    }

    /// The event's login as VPN usernames are written (as every other name is mapped), and where
    /// it was read; or none, with a `skipped` entry saying why.
    fn idp_user(&mut self, event: &IdpEvent, origin: &Origin) -> Option<(String, String)> {
        let (login, path) = event.user.clone()?;
        let Some(vpn) = self.app.config.mapping.map(&login) else {
            let detail = format!("{login} maps to no VPN username (CVPN_USERNAME_TEMPLATE)");
            self.idp_skipped(origin, Reason::NoIdentity, detail);
            return None;
        };
        let named = match vpn == login {
            true => path,
            false => format!("mapped from {login} at {path}"),
        };
        Some((vpn, named))
    }

    /// The selector an "out" event gives: its one user, or none (with a `skipped` entry saying
    /// why).
    pub(crate) fn idp_selectors(&mut self, event: &IdpEvent) -> Vec<Selector> {
        let origin = self.idp_origin(event);
        if let Some((reason, detail)) = refusal(event, self.app.config.idp.trust()) {
            self.idp_skipped(&origin, reason, detail);
            return Vec::new();
        }
        let Some((vpn, named)) = self.idp_user(event, &origin) else {
            return Vec::new();
        };
        vec![Selector {
            origin,
            match_by: self.app.config.match_by.clone(),
            usernames: vec![Named {
                value: vpn,
                origin: named,
            }],
            ips: Vec::new(),
            connection_ids: Vec::new(),
            endpoint_ids: Vec::new(),
            seen_from: None,
            seen_at: event.published,
            // What earlier attempts at this event ended counts against the cap.
            since: event.time,
        }]
    }

    /// Records when this IdP said the selectors' people are out, by its clock, so that a "back
    /// in" it said earlier and that arrives later lifts nothing. After the sessions ended: it
    /// must not delay them. A failure is said; the hold stands either way.
    pub(crate) async fn idp_said_out(&mut self, event: &IdpEvent, people: &[String]) {
        let (Some(store), Some(at), false) =
            (&self.app.store, event.published, self.response.dry_run)
        else {
            return;
        };
        let now = chrono::Utc::now().timestamp();
        for name in people {
            let person = Subject::new(SubjectKind::Username, name, &self.app.config.people);
            let call = store.said_out(&event.idp, &person.name, at.timestamp(), now);
            if let Err(e) = self.budget.call(call).await {
                report::log_call_warning(
                    "PutItem",
                    &e,
                    "when the IdP said the person is out was not recorded: a late \"back in\" \
                     from it could lift the hold",
                );
            }
        }
    }

    /// A "back in" event: lifts the holds on its user that this IdP's word alone placed (a hold a
    /// finding, a person or another IdP also placed stays), when the team asked for it.
    pub(crate) async fn idp_release(&mut self, event: &IdpEvent) {
        let origin = self.idp_origin(event);
        let config = &self.app.config;
        let refused = release_refusal(event, config.idp.trust(), config.idp.release_on_reactivate);
        if let Some((reason, detail)) = refused {
            self.idp_skipped(&origin, reason, detail);
            return;
        }
        let Some((vpn, _)) = self.idp_user(event, &origin) else {
            return;
        };
        let Some(store) = &self.app.store else {
            let detail = "no CVPN_STATE_TABLE: there is no quarantine to lift".to_owned();
            self.idp_skipped(&origin, Reason::NotOut, detail);
            return;
        };
        let people = &self.app.config.people;
        let by = format!("{} ({})", event.idp, event.event_type);
        let person = Subject::new(SubjectKind::Username, &vpn, people);
        if self.response.dry_run {
            return self.held(HoldEntry {
                outcome: HoldOutcome::Kept,
                reason: Some("dry run: no hold is lifted".into()),
                requested_by: Some(by),
                ..HoldEntry::not_held(&person)
            });
        }
        let now = chrono::Utc::now().timestamp();
        match self
            .budget
            .call(store.last_out(&event.idp, &person.name))
            .await
        {
            Ok(out) if back_after_out(event.published, out) => {}
            Ok(out) => {
                let when = out.and_then(|o| chrono::DateTime::from_timestamp(o, 0));
                let when = when.map_or_else(String::new, |t| t.to_rfc3339());
                return self.held(HoldEntry {
                    outcome: HoldOutcome::Kept,
                    reason: Some(format!(
                        "{} said the person is out at {when}, after this \"back in\": it came late",
                        event.idp
                    )),
                    requested_by: Some(by),
                    ..HoldEntry::not_held(&person)
                });
            }
            Err(e) => {
                return self
                    .response
                    .step_failed(CallError::new(None, "GetItem", e))
            }
        }
        let mut entries = self.lift_idp_holds(event, &vpn, &by, now).await;
        if entries.is_empty() {
            entries.push(HoldEntry::not_held(&person));
        }
        for entry in entries {
            self.held(HoldEntry {
                requested_by: Some(by.clone()),
                ..entry
            });
        }
    }

    /// Lifts each of the person's holds that this IdP's word alone placed; one that stays says
    /// why. A failed call is the response's failed step.
    async fn lift_idp_holds(
        &mut self,
        event: &IdpEvent,
        vpn: &str,
        by: &str,
        now: i64,
    ) -> Vec<HoldEntry> {
        let app = self.app;
        let Some(store) = &app.store else {
            return Vec::new();
        };
        let mut entries = Vec::new();
        for held in Subject::holding(vpn, &app.config.people) {
            let back = BackIn {
                idp: &event.idp,
                said: event.published,
            };
            let call = store.release(&held, Some(by), now, Some(back));
            match self.budget.call(call).await {
                Ok(Some(before)) if before.in_force(now) => {
                    entries.push(HoldEntry::new(&before, HoldOutcome::Released));
                }
                Ok(_) => {}
                Err(e) if e.code == HOLD_STAYS => entries.push(HoldEntry {
                    outcome: HoldOutcome::Kept,
                    reason: Some(e.message),
                    ..HoldEntry::not_held(&held)
                }),
                Err(e) => self
                    .response
                    .step_failed(CallError::new(None, "DeleteItem", e)),
            }
        }
        entries
    }
}
