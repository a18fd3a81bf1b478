//! A client built on first use. Building an AWS SDK client builds its configuration and runtime
//! plugins (and, with the SDK's default HTTP client, a TLS connector made only to be dropped, which
//! `http.rs` spares): a start need not pay that for clients the invocation never calls, nor an
//! organization's start for every place.

use std::sync::{Arc, OnceLock};

type Make<C> = Box<dyn Fn() -> C + Send + Sync>;

/// Cheap to clone: the clones share the one client.
pub struct Lazy<C>(Arc<Inner<C>>);

struct Inner<C> {
    cell: OnceLock<C>,
    make: Make<C>,
}

impl<C> std::fmt::Debug for Lazy<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = if self.0.cell.get().is_some() {
            "built"
        } else {
            "not built yet"
        };
        write!(f, "Lazy({state})")
    }
}

impl<C> Clone for Lazy<C> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<C> Lazy<C> {
    /// Built by `make` when first asked for.
    pub fn new(make: impl Fn() -> C + Send + Sync + 'static) -> Self {
        Self(Arc::new(Inner {
            cell: OnceLock::new(),
            make: Box::new(make),
        }))
    }

    /// Built already (tests, and callers that hold a client).
    pub fn ready(client: C) -> Self {
        Self(Arc::new(Inner {
            cell: OnceLock::from(client),
            make: Box::new(|| unreachable!("a ready client is never built again")),
        }))
    }

    pub fn get(&self) -> &C {
        self.0.cell.get_or_init(&self.0.make)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn built_once_on_first_use_and_shared_by_clones() {
        let made = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&made);
        let lazy = Lazy::new(move || counter.fetch_add(1, Ordering::SeqCst) + 10);
        let clone = lazy.clone();
        assert_eq!(made.load(Ordering::SeqCst), 0);
        assert_eq!((*clone.get(), *lazy.get()), (10, 10));
        assert_eq!(made.load(Ordering::SeqCst), 1);
        assert_eq!(*Lazy::ready(3).get(), 3);
    }
}
