use super::*;
use crate::domain::model::{Cidr, ConnectionStatus, Endpoint};
use crate::domain::plan::{MatchBy, Origin};
use crate::domain::trigger::evidence::Named;
use crate::domain::trigger::source::TriggerSource;
use proptest::prelude::*;

const USERS: [&str; 5] = ["alice", "ALICE", "bob", "ceo", "dave"];
const ENDPOINT: &str = "cvpn-endpoint-0000000000000000a";

fn people() -> People {
    People::default()
}

static PEOPLE: People = People {
    case: crate::domain::mapping::CaseRule::Insensitive,
    directory: crate::domain::person::Directory::EMPTY,
};

fn nobody_protected(_: &str) -> bool {
    false
}

/// The rules matching runs by: everyone in the default directory, nobody protected.
fn rules(endpoints: &[Endpoint]) -> Rules<'_> {
    Rules {
        people: &PEOPLE,
        is_protected: &nobody_protected,
        endpoints,
    }
}

fn connection(i: usize, user: Option<&str>, cn: Option<&str>, ip: u8) -> Connection {
    Connection {
        place: Default::default(),
        endpoint_id: ENDPOINT.into(),
        connection_id: format!("cvpn-connection-{i:017x}"),
        username: user.map(str::to_owned),
        common_name: cn.map(str::to_owned),
        client_ip: Some(format!("10.0.0.{ip}").parse().unwrap()),
        status: ConnectionStatus::Active,
        established: Some("2026-11-22T07:30:00Z".parse().unwrap()),
        ended: None,
        observed: None,
        ingress_bytes: 0,
        egress_bytes: 0,
    }
}

fn selector(id: &str, severity: Option<f64>, users: &[&str], ips: &[u8]) -> Selector {
    Selector {
        origin: Origin {
            source: TriggerSource::GuardDuty,
            finding_id: Some(id.into()),
            severity,
            ..Origin::of(TriggerSource::GuardDuty)
        },
        match_by: MatchBy::ALL,
        usernames: users
            .iter()
            .map(|u| Named {
                value: (*u).to_owned(),
                origin: "test".into(),
            })
            .collect(),
        ips: ips
            .iter()
            .map(|i| Named {
                value: format!("10.0.0.{i}").parse().unwrap(),
                origin: "test".into(),
            })
            .collect(),
        connection_ids: Vec::new(),
        endpoint_ids: Vec::new(),
        seen_from: None,
        since: None,
        seen_at: Some("2026-11-22T09:00:00Z".parse().unwrap()),
    }
}

fn endpoints() -> Vec<Endpoint> {
    vec![Endpoint {
        place: Default::default(),
        id: ENDPOINT.into(),
        client_cidr: Cidr::parse("10.0.0.0/24"),
        connect_handler: None,
    }]
}

fn asking(below: Option<f64>, users: &[&str], over_cap: bool) -> AskRules {
    AskRules {
        below_severity: below,
        users: users.iter().map(|u| people().pattern(u).unwrap()).collect(),
        over_cap,
        ..AskRules::default()
    }
}

#[test]
fn a_finding_below_the_asking_severity_or_naming_an_asked_person_asks() {
    let eps = endpoints();
    let rules = rules(&eps);
    let conns = [
        connection(1, Some("CEO"), None, 9),
        connection(2, Some("bob"), None, 5),
    ];
    let ask = asking(Some(7.0), &["ceo"], false);
    let selectors = vec![
        selector("high-bob", Some(8.0), &["bob"], &[]),
        selector("medium-bob", Some(5.0), &["bob"], &[]),
        selector("high-ceo", Some(9.0), &["Ceo"], &[]),
        // An address that is the executive's connection asks too.
        selector("high-ip", Some(9.0), &[], &[9]),
    ];
    let split = split(selectors.clone(), &conns, &rules, &ask, ChosenBy::Evidence);
    let ids = |v: &[Selector]| -> Vec<String> {
        v.iter()
            .map(|s| s.origin.finding_id.clone().unwrap())
            .collect()
    };
    assert_eq!(ids(&split.act), ["high-bob"]);
    assert_eq!(ids(&split.ask), ["medium-bob", "high-ceo", "high-ip"]);
    assert!(
        split.why.contains(&AskWhy::User {
            person: "Ceo".into()
        }) || split.why.iter().any(|w| matches!(w, AskWhy::User { .. }))
    );
    // What a person chose never asks.
    let chosen = super::split(selectors, &conns, &rules, &ask, ChosenBy::Person);
    assert_eq!(chosen.act.len(), 4);
    assert!(chosen.ask.is_empty());
}

#[test]
fn over_the_cap_asks_only_when_the_team_said_so() {
    let on = asking(None, &[], true);
    assert_eq!(
        cap_asks(&on, ChosenBy::Evidence, 11, 10),
        Some(AskWhy::OverCap {
            planned: 11,
            cap: 10
        })
    );
    assert_eq!(cap_asks(&on, ChosenBy::Evidence, 10, 10), None);
    assert_eq!(cap_asks(&on, ChosenBy::Person, 11, 10), None);
    assert_eq!(
        cap_asks(&asking(None, &[], false), ChosenBy::Evidence, 11, 10),
        None
    );
}

fn answering(identity: &str, verified: bool) -> Who {
    let approver = Approver {
        identity: identity.into(),
        verified,
    };
    let mapping = crate::domain::mapping::UsernameMapping::new("{local}").unwrap();
    who(
        &approver,
        &crate::domain::naming::Naming::default(),
        &mapping,
        &people(),
    )
}

#[test]
fn an_answer_counts_once_in_time_never_from_the_person_cut_off() {
    let p = people();
    let affected = ["dave".to_owned()];
    fn asked<'a>(
        state: State,
        prior: &'a [Who],
        required: u32,
        affected: &'a [String],
    ) -> Asked<'a> {
        Asked {
            state,
            asks_until: 1_000,
            required,
            affected,
            prior,
        }
    }
    let asked = |state, prior, required| asked(state, prior, required, &affected);
    let at = |a: &Asked, w: &Who, yes: bool, now| decide(a, w, "x", yes, now, &p);
    let soc = answering(
        "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Sec_1/soc@example.com",
        true,
    );
    let lead = answering("arn:aws:iam::111122223333:user/lead", true);
    let said = answering("soc-bot", false);
    let pending = asked(State::Pending, &[], 1);
    assert_eq!(at(&pending, &said, true, 500), Ok(Decision::CarryOut));
    assert_eq!(at(&pending, &said, false, 500), Ok(Decision::Deny));
    // Two people: only verified identities that name a person count, each once.
    let two = asked(State::Pending, &[], 2);
    assert!(at(&two, &said, true, 500).is_err());
    assert_eq!(
        at(&two, &soc, true, 500),
        Ok(Decision::Counted { have: 1, need: 2 })
    );
    let after_soc = [soc.clone()];
    let two_soc = asked(State::Pending, &after_soc, 2);
    assert!(at(&two_soc, &soc, true, 500).is_err());
    assert_eq!(at(&two_soc, &lead, true, 500), Ok(Decision::CarryOut));
    // A role whose session names its caller chooses names nobody: two sessions are one role.
    let ops = |s| {
        answering(
            &format!("arn:aws:sts::111122223333:assumed-role/Ops/{s}"),
            true,
        )
    };
    assert!(!ops("alice").person);
    assert!(at(&two, &ops("alice"), true, 500).is_err());
    assert_eq!(ops("alice").key, ops("carol").key);
    let fed = answering("arn:aws:sts::111122223333:federated-user/anyone", true);
    assert!(!fed.person);
    // The person cut off never answers, by any form of the name, chosen or not, mapped or not.
    for dave in [
        "dave",
        "DAVE",
        "dave@example.com",
        "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Dev_2/Dave",
        "arn:aws:sts::111122223333:assumed-role/Ops/dave",
        "arn:aws:iam::111122223333:user/dave",
    ] {
        let w = answering(dave, true);
        let err = at(&pending, &w, true, 500).unwrap_err();
        assert!(err.0.contains("their own"), "{dave}: {}", err.0);
        assert!(at(&pending, &w, false, 500).is_err());
    }
    // Expired, denied, carried out: nothing.
    assert!(at(&pending, &soc, true, 1_000)
        .unwrap_err()
        .0
        .contains("stopped asking"));
    assert!(at(&asked(State::Denied, &[], 1), &soc, true, 500).is_err());
    assert!(at(&asked(State::Done, &[], 1), &soc, true, 500).is_err());
    // Approved but cut short: carried out again for a while, by one who could have approved it.
    let approved = asked(State::Approved, &[], 2);
    assert_eq!(at(&approved, &soc, true, 1_500), Ok(Decision::CarryOut));
    assert!(at(&approved, &soc, true, 1_000 + 3_600).is_err());
    assert!(at(&approved, &said, true, 500).is_err());
    assert!(at(&approved, &soc, false, 500).is_err());
}

#[test]
fn a_request_is_carried_out_on_the_people_and_connections_it_saw() {
    let eps = endpoints();
    let rules = rules(&eps);
    let conns = [
        connection(1, Some("dave"), None, 9),
        connection(2, None, Some("laptop"), 7),
    ];
    let selectors = vec![selector("f-1", Some(5.0), &["dave"], &[7])];
    let targets = plan::select(&selectors, &conns, &rules).targets;
    assert_eq!(targets.len(), 2);
    let why = vec![AskWhy::OverCap { planned: 2, cap: 1 }];
    let r = ApprovalRequest::new("delivery-1", 100, 60, 1, why.clone(), &selectors, &targets);
    let again = ApprovalRequest::new("delivery-1", 100, 60, 1, why.clone(), &selectors, &targets);
    assert_eq!(
        r.id, again.id,
        "a retry of the same event finds the same request"
    );
    assert_ne!(
        r.id,
        ApprovalRequest::new("delivery-2", 100, 60, 1, why, &selectors, &targets).id
    );
    assert_eq!((r.count, r.asks_until), (2, 3_700));
    assert_eq!(r.people, ["dave", "laptop"]);
    let back = r.selectors(&MatchBy::ALL);
    assert_eq!(back[0].usernames[0].value, "dave");
    assert_eq!(back[0].connection_ids.len(), 2);
    assert!(back[0].ips.is_empty() && !back[0].match_by.client_ip);
    assert_eq!(back[0].origin.finding_id.as_deref(), Some("f-1"));
    let stored: ApprovalRequest =
        serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(stored, r);
}

proptest! {
    /// A finding the settings say to ask about is never acted on without an approval: no selector
    /// acted on is below the asking severity or names an asked person, no connection it matches
    /// is an asked person's, and nothing is lost.
    #[test]
    fn what_the_settings_ask_about_is_never_acted_on(
        raw in prop::collection::vec(
            (0.0..10.0f64, prop::collection::vec(0..USERS.len(), 0..3),
             prop::collection::vec(0..6u8, 0..2)),
            0..6),
        conns in prop::collection::vec((prop::option::of(0..USERS.len()), prop::option::of(0..USERS.len()), 0..6u8), 0..8),
        below in prop::option::of(0.0..10.0f64),
        asked in prop::collection::vec(0..USERS.len(), 0..2),
        by_person in any::<bool>(),
    ) {
        let p = &PEOPLE;
        let eps = endpoints();
        let rules = rules(&eps);
        let connections: Vec<Connection> = conns
            .iter()
            .enumerate()
            .map(|(i, (u, cn, ip))| connection(i, u.map(|u| USERS[u]), cn.map(|c| USERS[c]), *ip))
            .collect();
        let selectors: Vec<Selector> = raw
            .iter()
            .enumerate()
            .map(|(i, (sev, users, ips))| {
                let users: Vec<&str> = users.iter().map(|u| USERS[*u]).collect();
                selector(&format!("f-{i}"), Some(*sev), &users, ips)
            })
            .collect();
        let asked_names: Vec<&str> = asked.iter().map(|u| USERS[*u]).collect();
        let ask = asking(below, &asked_names, false);
        let chosen = if by_person { ChosenBy::Person } else { ChosenBy::Evidence };
        let out = split(selectors.clone(), &connections, &rules, &ask, chosen);
        prop_assert_eq!(out.act.len() + out.ask.len(), selectors.len());
        if chosen == ChosenBy::Person {
            prop_assert!(out.ask.is_empty());
            return Ok(());
        }
        let is_asked = |n: &str| asked_names.iter().any(|a| p.same(a, n));
        for s in &out.act {
            if let Some(b) = below {
                prop_assert!(s.origin.severity.unwrap() >= b);
            }
            prop_assert!(s.usernames.iter().all(|u| !is_asked(&u.value)));
        }
        for t in plan::select(&out.act, &connections, &rules).targets {
            let c = &t.connection;
            prop_assert!(c.username.iter().chain(c.common_name.iter()).all(|n| !is_asked(n)));
        }
    }
}
