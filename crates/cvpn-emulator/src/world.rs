//! The emulated world the state file loads into: endpoints by ID with their connections, each
//! endpoint in its account and Region, and the roles `AssumeRole` accepts.

use crate::accounts::{check_account, Place, DEFAULT_ACCOUNT};
use crate::state::{
    AccountState, ConnectionState, EndpointState, RegionState, RoleState, StateFile,
};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

pub struct Endpoint {
    pub place: Place,
    pub meta: EndpointState,
    /// Keyed by connection ID, so that pagination can resume after the last ID it returned.
    pub connections: BTreeMap<String, ConnectionState>,
}

/// Endpoints keyed by ID (unique across accounts and Regions, as in AWS), with their connections
/// and where they live; the roles `AssumeRole` accepts, by account.
#[derive(Default)]
pub struct World {
    pub endpoints: BTreeMap<String, Endpoint>,
    pub default_account: String,
    pub roles: BTreeMap<String, Vec<RoleState>>,
    /// The Regions each account names: its flat endpoints answer in the others.
    named: BTreeMap<String, BTreeSet<String>>,
}

impl World {
    pub fn load(file: StateFile) -> Result<Self, String> {
        let default = file
            .account_id
            .unwrap_or_else(|| DEFAULT_ACCOUNT.to_owned());
        check_account(&default, "accountId")?;
        let mut world = World {
            default_account: default.clone(),
            ..World::default()
        };
        world.roles.insert(default.clone(), file.roles);
        world.place(&default, None, file.endpoints)?;
        world.regions(&default, file.regions)?;
        for (i, account) in file.accounts.into_iter().enumerate() {
            let id = account.account_id;
            check_account(&id, &format!("accounts[{i}].accountId"))?;
            if world.roles.contains_key(&id) {
                return Err(format!("accounts[{i}].accountId: account {id} appears twice (the default account's endpoints and roles go at the top level)"));
            }
            world.roles.insert(id.clone(), account.roles);
            world.regions(&id, account.regions)?;
        }
        Ok(world)
    }

    fn regions(
        &mut self,
        account: &str,
        regions: BTreeMap<String, RegionState>,
    ) -> Result<(), String> {
        for (region, state) in regions {
            self.named
                .entry(account.to_owned())
                .or_default()
                .insert(region.clone());
            self.place(account, Some(region), state.endpoints)?;
        }
        Ok(())
    }

    fn place(
        &mut self,
        account: &str,
        region: Option<String>,
        endpoints: Vec<EndpointState>,
    ) -> Result<(), String> {
        for mut endpoint in endpoints {
            let id = endpoint.client_vpn_endpoint_id.clone();
            let connections = std::mem::take(&mut endpoint.connections);
            if self.endpoints.contains_key(&id) {
                return Err(format!("endpoint {id} appears twice"));
            }
            self.endpoints.insert(
                id.clone(),
                Endpoint {
                    place: Place {
                        account: account.to_owned(),
                        region: region.clone(),
                    },
                    meta: endpoint,
                    connections: BTreeMap::new(),
                },
            );
            self.upsert_connections(&id, connections)?;
        }
        Ok(())
    }

    /// Whether an endpoint at `place` answers a caller at `caller` (whose Region is known).
    pub fn serves(&self, place: &Place, caller: &Place) -> bool {
        place.account == caller.account
            && match (&place.region, &caller.region) {
                (Some(r), Some(c)) => r == c,
                (None, Some(c)) => !self
                    .named
                    .get(&place.account)
                    .is_some_and(|n| n.contains(c)),
                (_, None) => false,
            }
    }

    /// The endpoint, if `caller` can see it: another account's or Region's is as absent as in AWS.
    pub fn visible_mut(&mut self, id: &str, caller: &Place) -> Option<&mut Endpoint> {
        let seen = self
            .endpoints
            .get(id)
            .is_some_and(|e| self.serves(&e.place, caller));
        self.endpoints.get_mut(id).filter(|_| seen)
    }

    /// Adds connections to an endpoint, replacing those with the same ID. A connection ID must be
    /// unique across endpoints, as it is in AWS.
    pub fn upsert_connections(
        &mut self,
        endpoint_id: &str,
        connections: Vec<ConnectionState>,
    ) -> Result<usize, String> {
        for c in &connections {
            if let Some(other) = self.endpoint_of(&c.connection_id) {
                if other != endpoint_id {
                    return Err(format!(
                        "connection {} already belongs to endpoint {other}",
                        c.connection_id
                    ));
                }
            }
        }
        let endpoint = self
            .endpoints
            .get_mut(endpoint_id)
            .ok_or_else(|| format!("no endpoint {endpoint_id}"))?;
        let count = connections.len();
        for c in connections {
            endpoint.connections.insert(c.connection_id.clone(), c);
        }
        Ok(count)
    }

    pub fn endpoint_of(&self, connection_id: &str) -> Option<&str> {
        self.endpoints
            .iter()
            .find(|(_, e)| e.connections.contains_key(connection_id))
            .map(|(id, _)| id.as_str())
    }

    pub fn connection(&self, connection_id: &str) -> Option<&ConnectionState> {
        self.endpoints
            .values()
            .find_map(|e| e.connections.get(connection_id))
    }

    pub fn connection_mut(&mut self, connection_id: &str) -> Option<&mut ConnectionState> {
        self.endpoints
            .values_mut()
            .find_map(|e| e.connections.get_mut(connection_id))
    }

    /// The world in the state file's shape, each endpoint where it lives.
    pub fn snapshot(&mut self, now: DateTime<Utc>) -> StateFile {
        let mut file = StateFile {
            account_id: (self.default_account != DEFAULT_ACCOUNT)
                .then(|| self.default_account.clone()),
            roles: self
                .roles
                .get(&self.default_account)
                .cloned()
                .unwrap_or_default(),
            accounts: self
                .roles
                .iter()
                .filter(|(id, _)| **id != self.default_account)
                .map(|(id, roles)| AccountState {
                    account_id: id.clone(),
                    roles: roles.clone(),
                    regions: BTreeMap::new(),
                })
                .collect(),
            ..StateFile::default()
        };
        for e in self.endpoints.values_mut() {
            let mut meta = e.meta.clone();
            meta.connections = e
                .connections
                .values_mut()
                .map(|c| {
                    c.settle(now);
                    c.clone()
                })
                .collect();
            let default = e.place.account == self.default_account;
            let regions = if default {
                &mut file.regions
            } else {
                let account = file
                    .accounts
                    .iter_mut()
                    .find(|a| a.account_id == e.place.account)
                    .expect("every endpoint's account has an entry");
                &mut account.regions
            };
            match &e.place.region {
                None => file.endpoints.push(meta),
                Some(r) => regions.entry(r.clone()).or_default().endpoints.push(meta),
            }
        }
        // A Region named without endpoints is still named.
        for (account, named) in &self.named {
            for r in named {
                if *account == self.default_account {
                    file.regions.entry(r.clone()).or_default();
                } else if let Some(a) = file.accounts.iter_mut().find(|a| a.account_id == *account)
                {
                    a.regions.entry(r.clone()).or_default();
                }
            }
        }
        file
    }
}
