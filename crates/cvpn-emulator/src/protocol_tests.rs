use super::*;

#[test]
fn parses_lists_and_filters_in_index_order() {
    let p = Params::parse(
        b"Action=X&Filter.2.Name=username&Filter.2.Value.1=bob&Filter.1.Name=connection-id\
          &Filter.1.Value.2=b&Filter.1.Value.1=a&ClientVpnEndpointId.10=z&ClientVpnEndpointId.2=y",
    )
    .unwrap();
    assert_eq!(p.list("ClientVpnEndpointId"), ["y", "z"]);
    assert_eq!(
        p.filters().unwrap(),
        vec![
            (
                "connection-id".to_owned(),
                vec!["a".to_owned(), "b".to_owned()]
            ),
            ("username".to_owned(), vec!["bob".to_owned()])
        ]
    );
}

#[test]
fn refuses_malformed_bodies() {
    for body in [
        &b"Action"[..],
        b"A=%zz",
        b"A=1&A=2",
        b"=x",
        b"A=\xff",
        b"Filter.0.Name=x",
    ] {
        let err = Params::parse(body)
            .and_then(|p| p.filters().map(|_| ()))
            .unwrap_err();
        assert_eq!(err.code, "InvalidQueryParameter", "{body:?}");
    }
}

#[test]
fn decodes_percent_and_plus() {
    let p = Params::parse(b"Username=alice%40example.com&Reason=a+b").unwrap();
    assert_eq!(p.get("Username"), Some("alice@example.com"));
    assert_eq!(p.get("Reason"), Some("a b"));
}

#[test]
fn only_accepts_declared_parameters() {
    let p = Params::parse(b"Action=X&Version=1&Filter.1.Name=a&Filter.1.Value.3=b&Id.4=c").unwrap();
    assert!(p.only(&["Filter.N", "Id.N"]).is_ok());
    assert_eq!(p.only(&["Filter.N"]).unwrap_err().code, "UnknownParameter");
    let p = Params::parse(b"Filter.1.Bogus=a").unwrap();
    assert_eq!(p.only(&["Filter.N"]).unwrap_err().code, "UnknownParameter");
}

#[test]
fn escapes_xml() {
    assert_eq!(escape("a<b&\"c'>"), "a&lt;b&amp;&quot;c&apos;&gt;");
    let err = ApiError::invalid_value("bad <x>");
    assert!(err
        .to_xml("r-1")
        .contains("<Message>bad &lt;x&gt;</Message>"));
}

#[test]
fn replaces_characters_xml_forbids() {
    let forbidden: String = ('\u{0}'..='\u{8}')
        .chain(['\u{b}', '\u{c}'])
        .chain('\u{e}'..='\u{1f}')
        .chain(['\u{fffe}', '\u{ffff}'])
        .collect();
    assert_eq!(forbidden.chars().count(), 31);
    assert_eq!(
        escape(&format!("a{forbidden}b")),
        format!("a{}b", "\u{fffd}".repeat(31))
    );
    // Allowed: tab, LF, CR (as a reference, so parsing keeps it), DEL, C1 controls, the rest of
    // the BMP and beyond.
    assert_eq!(
        escape("1\t2\n3\r4\u{7f}\u{85}\u{fffd}\u{d7ff}\u{e000}\u{10ffff}"),
        "1\t2\n3&#xD;4\u{7f}\u{85}\u{fffd}\u{d7ff}\u{e000}\u{10ffff}"
    );
    let err = ApiError::invalid_value("user `\u{1b}[31m\u{0}`");
    assert!(err
        .to_xml("r-1")
        .contains("<Message>user `\u{fffd}[31m\u{fffd}`</Message>"));
}
