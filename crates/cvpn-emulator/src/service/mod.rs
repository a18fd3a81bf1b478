//! The emulator's state behind one lock, and the operations on it: API calls and the admin API's
//! changes. The HTTP layer (`http.rs`) only translates requests into these calls.

use crate::accounts::{self, Credential, Issued, Place, STS_VERSION};
use crate::actions::{self, Ctx};
use crate::connect::{self, LambdaOptions};
use crate::faults::{
    ActionStats, FaultState, Faults, Verdict, ACTIONS, ASSUME_ROLE, GET_CALLER_IDENTITY,
};
use crate::pagination::Pages;
use crate::protocol::{ApiError, Params, API_VERSION};
use crate::state::{api_time, Clock, ConnectionState, StateFile};
use crate::world::World;
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// The longest terminate delay accepted: a year of emulated time, far beyond any test's need and
/// far from the limits of chrono's times, so adding it to the clock cannot overflow.
pub const MAX_TERMINATE_DELAY: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// How the emulator behaves beyond its state.
#[derive(Clone, Debug)]
pub struct Options {
    /// Emulated time a connection spends `terminating` before it is `terminated`; at most
    /// [`MAX_TERMINATE_DELAY`].
    pub terminate_delay: Duration,
    pub faults: Faults,
    /// How to reach connect handlers.
    pub lambda: LambdaOptions,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            terminate_delay: Duration::from_secs(2),
            faults: Faults::default(),
            lambda: LambdaOptions::default(),
        }
    }
}

struct Inner {
    world: World,
    issued: Issued,
    clock: Clock,
    pages: Pages,
    faults: FaultState,
    terminate_delay: TimeDelta,
    requests: u64,
}

pub struct Service {
    inner: Mutex<Inner>,
    lambda: LambdaOptions,
}

/// An HTTP status and an XML body.
pub type Reply = (u16, String);

/// A change to one connection's traffic counters: `add*` fields add, the others set.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrafficChange {
    pub connection_id: String,
    #[serde(default)]
    pub add_ingress_bytes: u64,
    #[serde(default)]
    pub add_egress_bytes: u64,
    #[serde(default)]
    pub add_ingress_packets: u64,
    #[serde(default)]
    pub add_egress_packets: u64,
    #[serde(default)]
    pub ingress_bytes: Option<u64>,
    #[serde(default)]
    pub egress_bytes: Option<u64>,
}

/// `now` sets the time (and freezes the clock unless `frozen` is false); `advanceSeconds` moves it
/// on; `frozen` alone stops or restarts it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClockChange {
    #[serde(default)]
    pub now: Option<String>,
    #[serde(default)]
    pub advance_seconds: Option<i64>,
    #[serde(default)]
    pub frozen: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClockView {
    pub now: String,
    pub frozen: bool,
}

impl Service {
    pub fn new(state: StateFile, options: Options) -> Result<Self, String> {
        options.faults.validate()?;
        if options.terminate_delay > MAX_TERMINATE_DELAY {
            return Err(format!(
                "terminate delay: {} s is longer than the maximum of {} s (a year)",
                options.terminate_delay.as_secs_f64(),
                MAX_TERMINATE_DELAY.as_secs()
            ));
        }
        Ok(Self {
            inner: Mutex::new(Inner {
                world: World::load(state)?,
                issued: Issued::default(),
                clock: Clock::running(),
                pages: Pages::default(),
                faults: FaultState::new(options.faults),
                terminate_delay: TimeDelta::from_std(options.terminate_delay)
                    .map_err(|e| format!("terminate delay: {e}"))?,
                requests: 0,
            }),
            lambda: options.lambda,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic inside the lock cannot leave the world half-changed in a way later calls care
        // about more than losing the emulator would, so keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answers one signed API request whose parameters are `body` (form-encoded), in the
    /// account and Region of `credential`.
    pub async fn call(&self, body: &[u8], credential: &Credential) -> Reply {
        let request_id = {
            let mut inner = self.lock();
            inner.requests += 1;
            format!("00000000-0000-4000-8000-{:012x}", inner.requests)
        };
        match self.dispatch(body, credential, &request_id).await {
            Ok(xml) => (200, xml),
            Err(e) => (e.status, e.to_xml(&request_id)),
        }
    }

    async fn dispatch(
        &self,
        body: &[u8],
        credential: &Credential,
        request_id: &str,
    ) -> Result<String, ApiError> {
        let params = Params::parse(body)?;
        let (action, sts) = action_of(&params)?;
        let caller = {
            let inner = self.lock();
            let account = inner
                .issued
                .account_of(&credential.access_key)
                .unwrap_or(&inner.world.default_account);
            Place {
                account: account.to_owned(),
                region: Some(credential.region.clone()),
            }
        };

        // EC2 and STS throttle per account and Region.
        let at = format!("{}/{}", caller.account, credential.region);
        let (verdict, latency) = self.lock().faults.admit(action, &at);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        refusal(verdict, sts, action)?;

        let mut guard = self.lock();
        let inner = &mut *guard;
        let result = if action == GET_CALLER_IDENTITY {
            accounts::caller_identity(&params, &caller.account, &credential.access_key, request_id)
        } else if sts {
            accounts::assume_role(&params, &inner.world.roles, &mut inner.issued, request_id)
        } else {
            let ctx = Ctx {
                world: &mut inner.world,
                caller: &caller,
                pages: &mut inner.pages,
                now: inner.clock.now(),
                terminate_delay: inner.terminate_delay,
                request_id,
            };
            match action {
                "DescribeClientVpnEndpoints" => actions::describe_endpoints(ctx, &params),
                "DescribeClientVpnConnections" => actions::describe_connections(ctx, &params),
                "ModifyClientVpnEndpoint" => connect::modify_endpoint(ctx, &params),
                _ => actions::terminate_connections(ctx, &params),
            }
        };
        if result.is_err() {
            inner.faults.count_client_error(action);
        }
        result
    }

    pub fn snapshot(&self) -> StateFile {
        let mut inner = self.lock();
        let now = inner.clock.now();
        inner.world.snapshot(now)
    }

    /// Replaces the whole world; every pagination token issued before is refused afterwards.
    pub fn replace_state(&self, state: StateFile) -> Result<(), String> {
        let world = World::load(state)?;
        let mut inner = self.lock();
        inner.world = world;
        inner.pages.clear();
        Ok(())
    }

    pub fn upsert_connections(
        &self,
        endpoint_id: &str,
        connections: Vec<ConnectionState>,
    ) -> Result<usize, String> {
        self.lock()
            .world
            .upsert_connections(endpoint_id, connections)
    }

    pub fn clock(&self) -> ClockView {
        let inner = self.lock();
        ClockView {
            now: inner
                .clock
                .now()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            frozen: inner.clock.frozen(),
        }
    }

    /// Sets, moves, freezes or restarts the clock. A time outside [`Clock::EARLIEST`] to
    /// [`Clock::LATEST`] (what RFC 3339 can write) is refused and leaves the clock as it was.
    pub fn set_clock(&self, change: &ClockChange) -> Result<ClockView, String> {
        let range = || {
            format!(
                "{} to {}",
                Clock::EARLIEST.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                Clock::LATEST.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
        };
        {
            let mut inner = self.lock();
            let clock = &mut inner.clock;
            let mut now = clock.now();
            let mut frozen = clock.frozen();
            if let Some(text) = &change.now {
                now = api_time::parse(text)
                    .ok_or_else(|| format!("now: `{text}` is not an RFC 3339 time"))?;
                if !Clock::in_range(now) {
                    return Err(format!(
                        "now: `{text}` is outside the clock's range, {}",
                        range()
                    ));
                }
                frozen = true;
            }
            if let Some(seconds) = change.advance_seconds {
                now = TimeDelta::try_seconds(seconds)
                    .and_then(|delta| now.checked_add_signed(delta))
                    .filter(|t| Clock::in_range(*t))
                    .ok_or_else(|| {
                        format!(
                            "advanceSeconds: {seconds} moves the clock from {} outside its range, {}",
                            now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                            range()
                        )
                    })?;
            }
            clock.set(now, change.frozen.unwrap_or(frozen));
        }
        Ok(self.clock())
    }

    pub fn faults(&self) -> Faults {
        self.lock().faults.config().clone()
    }

    pub fn set_faults(&self, faults: Faults) -> Result<(), String> {
        faults.validate()?;
        self.lock().faults.replace(faults);
        Ok(())
    }

    pub fn stats(&self) -> BTreeMap<String, ActionStats> {
        self.lock().faults.stats.clone()
    }

    pub fn reset_stats(&self) {
        self.lock().faults.reset_stats();
    }
}

mod attempt;

/// The request's action, and whether it is STS's: known, and in the version its service speaks.
fn action_of(params: &Params) -> Result<(&'static str, bool), ApiError> {
    let action = match params.get("Action") {
        Some(a) if !a.is_empty() => a,
        _ => {
            return Err(ApiError::new(
                400,
                "MissingAction",
                "The request must contain the parameter Action",
            ))
        }
    };
    let Some(action) = ACTIONS.iter().copied().find(|a| *a == action) else {
        return Err(ApiError::new(
            400,
            "InvalidAction",
            format!("The action {action} is not valid for this web service"),
        ));
    };
    let sts = action == ASSUME_ROLE || action == GET_CALLER_IDENTITY;
    let in_protocol = |e: ApiError| if sts { e.sts() } else { e };
    let version = if sts { STS_VERSION } else { API_VERSION };
    match params.get("Version") {
        Some(v) if v == version => {}
        None => return Err(in_protocol(ApiError::missing("Version"))),
        Some(other) => {
            return Err(in_protocol(ApiError::invalid_value(format!(
                "Version {other} is not supported; use {version}"
            ))))
        }
    }
    Ok((action, sts))
}

/// The error an injected fault answers with, in the protocol of the action's service.
fn refusal(verdict: Verdict, sts: bool, action: &str) -> Result<(), ApiError> {
    let in_protocol = |e: ApiError| if sts { e.sts() } else { e };
    match verdict {
        Verdict::Proceed => Ok(()),
        Verdict::Throttled if sts => Err(ApiError::new(400, "Throttling", "Rate exceeded").sts()),
        Verdict::Throttled => Err(ApiError::new(
            503,
            "RequestLimitExceeded",
            "Request limit exceeded.",
        )),
        Verdict::ServerError => Err(in_protocol(ApiError::new(
            500,
            "InternalError",
            "An internal error has occurred (injected by the emulator)",
        ))),
        Verdict::Denied if sts => Err(ApiError::new(
            403,
            "AccessDenied",
            format!("Not authorized to perform sts:{action} (injected by the emulator)"),
        )
        .sts()),
        Verdict::Denied => Err(ApiError::new(
            403,
            "UnauthorizedOperation",
            format!("You are not authorized to perform this operation: ec2:{action}"),
        )),
    }
}

#[cfg(test)]
mod tests;
mod traffic;
