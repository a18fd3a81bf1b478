use super::*;
use proptest::prelude::*;

#[test]
fn what_findings_name_reads_as_written() {
    for kept in [
        "TTPs/Initial Access/x",
        "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
        "CryptoCurrency:EC2/BitcoinTool.B!DNS",
        "Impact:EC2/BitcoinDomainRequest.Reputation",
        "Software and Configuration Checks/AWS Security Best Practices",
        "arn:aws:securityhub:eu-west-1:111122223333:subscription/aws-foundational-security-best-practices/v/1.0.0/IAM.5/finding/0a1b",
        "arn:aws:securityhub:eu-west-1::product/aws/guardduty",
        "alice@example.com",
        "CORP\\alice",
        "alice.smith",
        "jörg@example.com",
        "2026-12-02T10:00:00Z",
        "connected 780 min (limit 720)",
        "session of bob (cvpn-connection-0123456789abcdef0)",
        "v1.2.3",
        "a > b",
        "Backdoor:EC2/C&CActivity.B!DNS",
        "event.detail.findings[0].Resources[0].Details.AwsIamAccessKey.PrincipalName",
        "first.last",
    ] {
        assert_eq!(plain(kept), kept, "{kept}");
    }
}

#[test]
fn every_link_mention_and_markup_form_is_withheld() {
    for hostile in [
        "Re-enrol at https://evil.example/x",
        "see WWW.evil.example",
        "hxxp://x",
        "https:/vpn-reset.example.com/login",
        "https:vpn-reset.example.com",
        "go to vpn-reset-portal.com/enrol now",
        "//vpn-reset.example.com/restore",
        "\\\\vpn-reset.example.com\\share",
        "[Restore access](javascript:alert(1))",
        "javascript:alert(1)",
        "mailto:soc@evil.example",
        "MAILTO:soc@evil.example",
        "<mailto:soc@evil.example|Contact the SOC>",
        "<!channel> please re-enrol",
        "<!here>",
        "<@U012AB3CD> look",
        "<https://evil.example|the portal>",
        "<a href=x>y</a>",
        "hey @channel",
        "@here now",
        "@everyone",
        "visit 203.0.113.7/login",
        "http://[2001:db8::1]/x",
        "[2001:db8::1]",
        "203.0.113.7",
        "portal.evil.example:8443",
        "vpn-reset-portal．com／enrol",
        "evil.com?next=1",
        "evil.com#x",
        "xn--80ak6aa92e.com/x",
        "data:text/html,hi",
        "ftp:evil",
        "Re-enrol at vpn-reset-portal.com today",
        "evil.com",
        "evil.com.",
        "telnet:evil",
        "ms-settings:privacy",
        "search-ms:query=x",
        "webcal:evil",
        "ｗｗｗ.evil",
        "ｅｖｉｌ．ｃｏｍ／x",
        "@channel\u{3164}",
        "\u{3164}@here",
        "w\u{34f}ww.evil",
        "[x][1]",
        "[1]: evil",
        "&lt;!channel&gt;",
        "&#60;!here&#62;",
        "%3C!channel%3E",
        "é@here",
    ] {
        assert_eq!(plain(hostile), WITHHELD, "{hostile}");
    }
}

#[test]
fn separators_controls_and_invisible_characters_become_spaces() {
    assert_eq!(plain("a\nb\u{7}c"), "a b c");
    assert_eq!(plain("a\u{2028}b\u{2029}c\u{85}d\r\te"), "a b c d  e");
    assert_eq!(plain("ad\u{202e}nimda"), "ad nimda");
    assert_eq!(plain("ev\u{200b}il"), "ev il");
    // A link split by an invisible character is still a link.
    assert_eq!(plain("https:\u{200b}//evil.example"), WITHHELD);
}

/// Hostile text as an attacker would write it: a link, a mention or markup in one of its forms,
/// around a host that must never reach people, with ordinary words around it.
pub fn hostile() -> impl Strategy<Value = (String, String)> {
    let host = "[a-z]{3,8}".prop_map(|h| format!("{h}-steer.example"));
    let form = prop_oneof![
        Just("https://{h}/login"),
        Just("HTTPS:/{h}/login"),
        Just("hxxps://{h}"),
        Just("//{h}/restore"),
        Just("\\\\{h}\\share"),
        Just("{h}/enrol"),
        Just("{h}?next=/"),
        Just("{h}:8443"),
        Just("[Restore access](https://{h})"),
        Just("[Restore access](javascript:go('{h}'))"),
        Just("<https://{h}|Restore access>"),
        Just("<mailto:soc@{h}|Contact the SOC>"),
        Just("<!channel> {h}"),
        Just("<!here> {h}"),
        Just("<@U0123ABCD> {h}"),
        Just("@channel {h}"),
        Just("<a href=\"//{h}\">x</a>"),
        Just("mailto:soc@{h}"),
        Just("javascript:location='{h}'"),
        Just("www.{h}"),
        Just("{h}．example／x"),
        Just("203.0.113.9/{h}"),
        Just("[2001:db8::9]/{h}"),
    ];
    let words = "[A-Za-z ]{0,12}";
    let separator = prop_oneof![
        Just(""),
        Just("\n"),
        Just("\u{2028}"),
        Just("\u{2029}"),
        Just("\u{85}"),
        Just("\u{202e}"),
        Just("\u{200b}"),
        Just("\r\n"),
    ];
    (
        host,
        form,
        words,
        separator.clone(),
        separator,
        "[A-Za-z ]{0,12}",
    )
        .prop_map(|(host, form, before, s1, s2, after)| {
            (
                format!("{before} {s1}{}{s2} {after}", form.replace("{h}", &host)),
                host,
            )
        })
}

/// Whether people could read `text` as anything but one line of words.
pub fn breaks_lines(text: &str) -> bool {
    text.chars().any(|c| {
        c.is_control()
            || matches!(
                c,
                '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{200b}'
            )
    })
}

proptest! {
    #[test]
    fn no_generated_hostile_text_passes(
        (text, host) in hostile()
    ) {
        let out = plain(&text);
        let first_label = host.split('.').next().unwrap();
        prop_assert!(!out.contains(first_label), "{:?} gave {:?}", text, out);
        prop_assert!(!breaks_lines(&out), "{:?} gave {:?}", text, out);
    }

    #[test]
    fn plain_words_pass_whole_on_one_line(text in "[A-Za-z0-9 _-]{0,40}") {
        prop_assert_eq!(plain(&text), text);
    }
}
