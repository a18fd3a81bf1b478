//! What one invocation may spend: the deadline (less the margin) that no call starts after and
//! none runs past, and the count of calls made; and `within`, a bound of its own for the calls that
//! must not wait for the whole invocation.

use crate::domain::model::ApiError;
pub use crate::domain::model::{DEADLINE, NOT_STARTED};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What one invocation may spend: no call starts after `stop_at` and none runs past it (the SDK's
/// own retries included), and every call is counted.
#[derive(Debug, Default)]
pub struct Budget {
    stop_at: Option<Instant>,
    calls: AtomicUsize,
}

impl Budget {
    pub fn new(stop_at: Option<Instant>) -> Self {
        Self {
            stop_at,
            calls: AtomicUsize::new(0),
        }
    }

    /// When no call may run any more.
    pub fn stop_at(&self) -> Option<Instant> {
        self.stop_at
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    /// The part of this budget a first step may spend so that `reserve` is left for what must
    /// follow it; its calls count here once [`Budget::absorb`]ed.
    pub fn leaving(&self, reserve: Duration) -> Budget {
        let now = Instant::now();
        Budget::new(
            self.stop_at
                .map(|s| s.checked_sub(reserve).unwrap_or(now).max(now)),
        )
    }

    /// Counts a part's calls as this budget's.
    pub fn absorb(&self, part: &Budget) {
        self.calls.fetch_add(part.calls(), Ordering::Relaxed);
    }

    pub fn expired(&self) -> bool {
        self.stop_at.is_some_and(|t| Instant::now() >= t)
    }

    /// One API call, counted, and cut off at `stop_at` with a [`DEADLINE`] error: an operation
    /// timeout derived from the time left.
    pub async fn call<T>(
        &self,
        call: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        if self.expired() {
            return Err(ApiError {
                code: NOT_STARTED.into(),
                message: "not started: the invocation's deadline (less CVPN_DEADLINE_MARGIN_SECONDS) had come"
                    .into(),
            });
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        let Some(stop_at) = self.stop_at else {
            return call.await;
        };
        tokio::time::timeout_at(stop_at.into(), call)
            .await
            .unwrap_or_else(|_| {
                Err(ApiError {
                    code: DEADLINE.into(),
                    message:
                        "cut off at the invocation's deadline (less CVPN_DEADLINE_MARGIN_SECONDS)"
                            .into(),
                })
            })
    }
}

/// How long an invocation waits for STS to say which account the function runs in.
pub const STS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// `call` within `limit`, a timeout being an error like any other (`Timeout`): for the calls that
/// must not wait for the whole invocation (the connect handler's reads, bookkeeping).
pub async fn within<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
        Err(ApiError {
            code: "Timeout".into(),
            message: format!("no answer within {limit:?}"),
        })
    })
}
