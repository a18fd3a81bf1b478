use super::*;
use crate::domain::model::{By, StatusChange};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A place whose endpoint listing counts the listings in flight across all places.
struct Counted<'a> {
    now: &'a AtomicUsize,
    most: &'a AtomicUsize,
}

impl ClientVpnApi for Counted<'_> {
    async fn endpoints_page(&self, _: Option<String>) -> Result<Page<Endpoint>, ApiError> {
        self.in_flight().await;
        Ok(Page {
            items: Vec::new(),
            next_token: None,
        })
    }

    async fn connections_page(
        &self,
        _: &str,
        _: Option<String>,
    ) -> Result<Page<Connection>, ApiError> {
        self.in_flight().await;
        Ok(Page {
            items: Vec::new(),
            next_token: None,
        })
    }

    async fn user_connections(&self, _: &str, _: &str) -> Result<Vec<Connection>, ApiError> {
        unreachable!("only listings are counted here")
    }

    async fn terminate(&self, _: &str, _: &By, _: bool) -> Result<Vec<StatusChange>, ApiError> {
        unreachable!("only listings are counted here")
    }
}

impl Counted<'_> {
    /// One listing in flight, counted, giving every other listing the chance to start
    /// before this one ends.
    async fn in_flight(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `n` places in eu-west-1, each counting into `now` and `most`.
fn counted<'a>(n: usize, now: &'a AtomicUsize, most: &'a AtomicUsize) -> Vec<Target<Counted<'a>>> {
    (0..n)
        .map(|n| Target {
            place: Place {
                account: Some(format!("{n:012}")),
                region: Some("eu-west-1".into()),
            },
            api: Counted { now, most },
        })
        .collect()
}

#[tokio::test]
async fn places_are_listed_a_bounded_number_at_a_time() {
    let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let targets = counted(40, &now, &most);
    let all: Vec<&Target<Counted>> = targets.iter().collect();
    let budget = Budget::new(None);
    for places in [1, 3, 16] {
        most.store(0, Ordering::SeqCst);
        let (endpoints, failed) = list_endpoints(&all, places, &budget).await;
        assert!(endpoints.is_empty() && failed.is_empty());
        assert_eq!(most.load(Ordering::SeqCst), places, "{places} at a time");
    }
}

#[tokio::test]
async fn connections_are_listed_per_place_and_places_at_once() {
    let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let places = counted(6, &now, &most);
    let home = places[0].place.clone();
    let targets = Targets::new(places, home);
    // Five endpoints in each of the six places, given place by place in turn.
    let endpoints: Vec<Endpoint> = (0..30)
        .map(|n| Endpoint {
            id: format!("cvpn-endpoint-{n:017x}"),
            place: targets.iter().nth(n % 6).unwrap().place.clone(),
            client_cidr: None,
            connect_handler: None,
        })
        .collect();
    let budget = Budget::new(None);
    // (places at once, listings in a place) → the most in flight.
    // At 256 listings a place, one place at a time however many are asked for.
    for (places, per_place, expected) in [
        (1, 1, 1),
        (6, 1, 6),
        (1, 3, 3),
        (4, 2, 8),
        (32, 8, 30),
        (256, 256, 5),
    ] {
        most.store(0, Ordering::SeqCst);
        let spread = Spread { places, per_place };
        let (connections, failed) = list_connections(&targets, &endpoints, spread, &budget).await;
        assert!(connections.is_empty() && failed.is_empty());
        assert_eq!(most.load(Ordering::SeqCst), expected, "{spread:?}");
    }
}
