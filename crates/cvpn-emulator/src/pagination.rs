//! Opaque `NextToken`s. A token names a cursor kept here: the scope of the listing it belongs to
//! (action, endpoint, filters) and the last key returned, so pages stay stable while connections
//! come and go. A token that was never issued, belongs to another listing, or was issued before the
//! state was replaced is refused with `InvalidPaginationToken`.

use crate::protocol::ApiError;
use std::collections::{HashMap, VecDeque};

/// Oldest tokens are forgotten beyond this many, bounding memory under endless listing.
const MAX_TOKENS: usize = 100_000;

#[derive(Default)]
pub struct Pages {
    cursors: HashMap<String, (String, String)>,
    order: VecDeque<String>,
}

impl Pages {
    /// The key to resume after, or `None` to start from the beginning.
    pub fn resume(&self, token: Option<&str>, scope: &str) -> Result<Option<String>, ApiError> {
        let Some(token) = token else { return Ok(None) };
        match self.cursors.get(token) {
            Some((s, after)) if s == scope => Ok(Some(after.clone())),
            _ => Err(ApiError::new(
                400,
                "InvalidPaginationToken",
                "The token provided is not valid for this request",
            )),
        }
    }

    pub fn issue(&mut self, scope: String, after: String) -> String {
        let token = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        self.cursors.insert(token.clone(), (scope, after));
        self.order.push_back(token.clone());
        if self.order.len() > MAX_TOKENS {
            if let Some(old) = self.order.pop_front() {
                self.cursors.remove(&old);
            }
        }
        token
    }

    pub fn clear(&mut self) {
        self.cursors.clear();
        self.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_their_scope_and_forgotten_on_clear() {
        let mut pages = Pages::default();
        let token = pages.issue("scope-a".into(), "k".into());
        assert_eq!(
            pages.resume(Some(&token), "scope-a").unwrap().as_deref(),
            Some("k")
        );
        assert_eq!(
            pages.resume(Some(&token), "scope-b").unwrap_err().code,
            "InvalidPaginationToken"
        );
        assert_eq!(
            pages.resume(Some("forged"), "scope-a").unwrap_err().code,
            "InvalidPaginationToken"
        );
        assert_eq!(pages.resume(None, "scope-a").unwrap(), None);
        pages.clear();
        assert!(pages.resume(Some(&token), "scope-a").is_err());
    }
}
