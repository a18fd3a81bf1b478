use super::*;
use proptest::prelude::*;

fn corp() -> People {
    People::new(
        CaseRule::Insensitive,
        Directory::parse("CORP=corp.example.com,ad.corp.example.com").unwrap(),
    )
}

#[test]
fn directory_forms_are_one_person() {
    let p = corp();
    for form in [
        "alice",
        "CORP\\alice",
        "corp\\Alice",
        "alice@corp.example.com",
        "ALICE@AD.CORP.EXAMPLE.COM",
        "corp.example.com\\alice",
        " alice ",
    ] {
        assert!(p.same("alice", form), "{form}");
        assert_eq!(p.key(form), "alice", "{form}");
    }
    // Other domains stay as they are.
    for other in [
        "alice@example.com",
        "OTHER\\alice",
        "alice@corp.example.com.evil",
    ] {
        assert!(!p.same("alice", other), "{other}");
        assert_eq!(p.canonical(other), other);
    }
    // Without a directory, every spelling is its own person.
    let bare = People::default();
    assert!(!bare.same("alice", "CORP\\alice"));
    assert!(bare.same("alice@example.com", "ALICE@example.com"));
}

#[test]
fn directory_settings_are_checked() {
    assert!(Directory::parse("").unwrap().is_empty());
    let two = Directory::parse("CORP=corp.example.com; OLD=old.example.com").unwrap();
    assert_eq!(two.account("OLD\\bob"), Some("bob"));
    for bad in [
        "corp.example.com",
        "=corp.example.com",
        "CORP=",
        "CORP=corp",
        "TOO-LONG-NETBIOS-NAME=a.example.com",
        "CORP=a..example.com",
        "CO RP=a.example.com",
    ] {
        assert!(Directory::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn ending_is_precise_and_keeping_out_folds_all_of_unicode() {
    let p = People::default();
    let kelvin = "\u{212A}ate";
    assert!(!p.same("kate", kelvin), "a look-alike is never ended");
    assert!(p.keeps_out(&p.key("kate"), kelvin), "but it is kept out");
    assert!(p.keeps_out(&p.key("jörg@example.com"), "JÖRG@example.com"));
    assert!(p.keeps_out(&p.key("strasse"), "STRAßE"));
    assert!(!p.same("jörg", "JÖRG"), "ASCII letters only when ending");
    // Sensitive: ending compares exactly; keeping out still errs toward holding.
    let s = People::new(CaseRule::Sensitive, Directory::EMPTY);
    assert!(!s.same("Alice", "alice"));
    assert!(s.keeps_out(&s.key("alice"), "Alice"));
}

#[test]
fn holds_written_before_keep_working() {
    let p = corp();
    // Earlier versions stored the name as written, folded per the case rule.
    assert!(p.keeps_out("corp\\alice", "CORP\\alice"));
    assert!(p.keeps_out("alice", "alice@corp.example.com"));
    let s = People::new(CaseRule::Sensitive, Directory::EMPTY);
    assert!(s.keeps_out("Alice", "Alice"));
}

#[test]
fn user_lists_match_every_form() {
    let p = corp();
    let list = [
        p.pattern("CORP\\breakglass").unwrap(),
        p.pattern("svc-*").unwrap(),
    ];
    for name in [
        "breakglass",
        "breakglass@corp.example.com",
        "corp\\BREAKGLASS",
        "svc-x",
    ] {
        assert!(p.listed(&list, name), "{name}");
    }
    for name in ["breakglass@example.com", "\u{212A}reakglass", "xsvc-"] {
        assert!(!p.listed(&list, name), "{name}");
    }
    assert!(p.pattern("CORP\\*").unwrap().matches_everyone());
}

#[test]
fn the_forms_of_one_person_are_told_once() {
    let p = corp();
    let seen = [
        "CORP\\alice",
        "bob",
        "alice@corp.example.com",
        "CORP\\alice",
    ];
    assert_eq!(
        p.forms("alice", seen),
        vec![
            "CORP\\alice".to_owned(),
            "alice@corp.example.com".to_owned()
        ]
    );
}

/// A name's letters with their case changed one by one, and `k` written as the Kelvin sign.
fn case_variant(name: &str, flips: &[u8]) -> String {
    name.chars()
        .zip(flips.iter().cycle())
        .map(|(c, f)| match (c, f % 3) {
            ('k', 2) => '\u{212A}'.to_string(),
            (c, 1) => c.to_uppercase().collect(),
            (c, _) => c.to_lowercase().collect(),
        })
        .collect()
}

proptest! {
    #[test]
    fn every_form_and_case_of_a_held_name_is_kept_out(
        local in "[a-zäöüßkσ]{1,10}",
        flips in proptest::collection::vec(any::<u8>(), 1..12),
        form in 0usize..4,
    ) {
        let p = corp();
        let variant = case_variant(&local, &flips);
        let written = match form {
            0 => variant.clone(),
            1 => format!("CORP\\{variant}"),
            2 => format!("{variant}@corp.example.com"),
            _ => format!("{variant}@AD.Corp.Example.Com"),
        };
        prop_assert!(p.keeps_out(&p.key(&local), &written), "{written} for {local}");
    }

    #[test]
    fn nothing_but_an_ascii_case_variant_of_the_person_is_ended(
        a in "[a-zA-Z\u{212A}äÄ@.\\\\]{1,8}",
        b in "[a-zA-Z\u{212A}äÄ@.\\\\]{1,8}",
    ) {
        let p = corp();
        if p.same(&a, &b) {
            prop_assert!(p.canonical(&a).eq_ignore_ascii_case(p.canonical(&b)));
        }
    }
}
