//! The admin API's traffic changes: connections' counters set or added to, all or none.

use super::{Service, TrafficChange};
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

impl Service {
    /// Applies every change or none: an unknown connection ID, or a counter that would overflow,
    /// refuses the whole batch. Changes are worked out on copies of the counters, in order (so
    /// several changes to one connection add up), and stored only once all of them fit.
    pub fn change_traffic(&self, changes: &[TrafficChange]) -> Result<usize, String> {
        let mut inner = self.lock();
        let mut staged: BTreeMap<&str, [u64; 4]> = BTreeMap::new();
        for (i, change) in changes.iter().enumerate() {
            let id = change.connection_id.as_str();
            let counters = match staged.entry(id) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => {
                    let c = inner
                        .world
                        .connection(id)
                        .ok_or_else(|| format!("traffic[{i}].connectionId: no connection {id}"))?;
                    e.insert([
                        c.ingress_bytes,
                        c.egress_bytes,
                        c.ingress_packets,
                        c.egress_packets,
                    ])
                }
            };
            apply_traffic(counters, change).map_err(|e| format!("traffic[{i}].{e}"))?;
        }
        for (id, [ingress_bytes, egress_bytes, ingress_packets, egress_packets]) in staged {
            let c = inner.world.connection_mut(id).expect("looked up above");
            c.ingress_bytes = ingress_bytes;
            c.egress_bytes = egress_bytes;
            c.ingress_packets = ingress_packets;
            c.egress_packets = egress_packets;
        }
        Ok(changes.len())
    }
}

/// Applies one change to a connection's counters (ingress bytes, egress bytes, ingress packets,
/// egress packets); on overflow, names the field and leaves the counters half-changed (they are a
/// copy the caller discards).
fn apply_traffic(counters: &mut [u64; 4], change: &TrafficChange) -> Result<(), String> {
    let steps = [
        (
            "ingressBytes",
            "addIngressBytes",
            change.ingress_bytes,
            change.add_ingress_bytes,
        ),
        (
            "egressBytes",
            "addEgressBytes",
            change.egress_bytes,
            change.add_egress_bytes,
        ),
        (
            "ingressPackets",
            "addIngressPackets",
            None,
            change.add_ingress_packets,
        ),
        (
            "egressPackets",
            "addEgressPackets",
            None,
            change.add_egress_packets,
        ),
    ];
    for (counter, (name, add_name, set, add)) in counters.iter_mut().zip(steps) {
        let base = set.unwrap_or(*counter);
        *counter = base.checked_add(add).ok_or_else(|| {
            format!(
                "{add_name}: {name} {base} + {add} overflows the 64-bit counter of connection {}",
                change.connection_id
            )
        })?;
    }
    Ok(())
}
