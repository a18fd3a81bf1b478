//! Text that came from outside (a finding's types and names, a custom action's name, a request's
//! reason, a VPN username) as people will read it in a message, a note or an outcome event: one
//! line, and never a link, a mention or markup. A security tool's notification is the most
//! credible phishing channel there is, and a product that imports findings (or anyone who can
//! write one) chooses that text. Links people see are only the ones the function builds
//! (`console.rs`). Pure.

/// What stands in for text that would reach people as a link, a mention or markup.
pub const WITHHELD: &str = "(withheld: it looks like a link, a mention or markup)";

/// Schemes that make a link without any slash (`mailto:`, `javascript:`, …; `ms-…` and
/// `search-ms…` too); any scheme followed by a slash or a backslash is a link whatever its name
/// (`https:/x`, `hxxp://x`).
const BARE_SCHEMES: [&str; 42] = [
    "about",
    "blob",
    "callto",
    "data",
    "facetime",
    "feed",
    "file",
    "ftp",
    "ftps",
    "gopher",
    "http",
    "https",
    "im",
    "intent",
    "irc",
    "itms",
    "javascript",
    "ldap",
    "magnet",
    "mailto",
    "market",
    "msteams",
    "news",
    "nntp",
    "notes",
    "onenote",
    "outlook",
    "search",
    "sftp",
    "sip",
    "skype",
    "slack",
    "smb",
    "sms",
    "ssh",
    "tel",
    "telnet",
    "vbscript",
    "webcal",
    "ws",
    "wss",
    "xmpp",
];
/// Top-level domains that chat tools and mail clients link bare (`evil.com`), besides every
/// two-letter country code.
const LINKED_TLDS: [&str; 40] = [
    "com", "net", "org", "info", "biz", "app", "dev", "xyz", "top", "site", "online", "shop",
    "click", "link", "zip", "mov", "live", "page", "cloud", "tech", "store", "blog", "email",
    "support", "help", "login", "secure", "services", "edu", "gov", "mil", "name", "pro", "mobi",
    "icu", "vip", "work", "world", "website", "host",
];
/// Markdown links (inline and by reference) and `www.`.
const MARKUP: [&str; 4] = ["](", "][", "]:", "www."];
/// Encoded forms of `<` and `>` that a later step may decode and render.
const ENCODED: [&str; 4] = ["&#", "&lt", "&gt", "%3c"];
/// Mentions chat tools expand to whole channels.
const MENTIONS: [&str; 4] = ["@channel", "@here", "@everyone", "@all"];

/// `text` as one line people may read: every control character, line or paragraph separator and
/// invisible character (bidirectional overrides, zero-width characters, fillers) becomes a space;
/// text that would be a link, a mention or markup anywhere it is shown is [`WITHHELD`] whole.
pub fn plain(text: &str) -> String {
    let line: String = text
        .chars()
        .map(|c| if hidden_or_breaking(c) { ' ' } else { c })
        .collect();
    // Looked at with them gone, too: `w\u{34f}ww.` shows as `www.`.
    let joined: String = text.chars().filter(|c| !hidden_or_breaking(*c)).collect();
    if steers(&line) || steers(&joined) {
        WITHHELD.into()
    } else {
        line
    }
}

/// Control characters (NEL included), U+2028 and U+2029, Unicode's format characters (Cf), the
/// other default-ignorable ones (variation selectors, the combining grapheme joiner, Hangul
/// fillers, tags) and the blank Braille pattern: each breaks a line or shows as nothing.
fn hidden_or_breaking(c: char) -> bool {
    c.is_control()
        || matches!(
            c as u32,
            0x2028 | 0x2029 | 0xAD | 0x34F | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x890..=0x891
                | 0x8E2 | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
                | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x2800 | 0x3164
                | 0xFE00..=0xFE0F | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFFB | 0x110BD | 0x110CD
                | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF
        )
}

/// Fullwidth ASCII as ASCII, and punctuation that renders as (or is read by browsers as) `.`,
/// `/`, `:`, `@`, `<` or `\`, folded to it before looking; letters in lowercase.
fn fold(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => fold(char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)),
        '。' | '｡' | '︒' | '․' => '.',
        '⁄' | '∕' | '⧸' => '/',
        '꞉' | '∶' | '﹕' => ':',
        '﹫' => '@',
        '﹤' | '〈' | '⟨' => '<',
        '﹨' => '\\',
        c => c.to_lowercase().next().unwrap_or(c),
    }
}

/// Whether one line of text would reach people as a link, a mention or markup.
pub fn steers(line: &str) -> bool {
    let t: Vec<char> = line.chars().map(fold).collect();
    let s: String = t.iter().collect();
    s.contains('<')
        || MARKUP.iter().any(|m| s.contains(m))
        || ENCODED.iter().any(|e| s.contains(e))
        || MENTIONS.iter().any(|m| at_word_start(&t, m))
        || (0..t.len()).any(|i| link_at(&t, i) || bare_domain_at(&t, i))
}

/// Whether `word` stands in `t` on its own (no ASCII letter or digit on either side).
fn at_word_start(t: &[char], word: &str) -> bool {
    let w: Vec<char> = word.chars().collect();
    (0..t.len()).any(|i| {
        t[i..].starts_with(&w)
            && (i == 0 || !t[i - 1].is_ascii_alphanumeric())
            && t.get(i + w.len())
                .is_none_or(|c| !c.is_ascii_alphanumeric())
    })
}

/// A bare domain starting at `i` that chat tools and mail clients link without any path
/// (`vpn-reset-portal.com`): labels ending in one of [`LINKED_TLDS`] or a two-letter top-level
/// domain, not inside a path or an address (`alice@example.com` names a person).
fn bare_domain_at(t: &[char], i: usize) -> bool {
    if !label_char(t[i]) || t[i] == '.' {
        return false;
    }
    if i > 0 && (label_char(t[i - 1]) || matches!(t[i - 1], '@' | '/' | '\\')) {
        return false;
    }
    let token: String = t[i..].iter().take_while(|c| label_char(**c)).collect();
    let labels: Vec<&str> = token.trim_end_matches('.').split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty())
        && labels.last().is_some_and(|tld| {
            LINKED_TLDS.contains(tld)
                || (tld.len() == 2 && tld.bytes().all(|b| b.is_ascii_lowercase()))
        })
}

/// A link form starting at `i`: a scheme (`x:/`, `x:\`, a known scheme with anything after it),
/// a protocol-relative or UNC start (`//host`, `\\host`), a bare domain followed by a path, a
/// query, a fragment or a port, or an IP literal.
fn link_at(t: &[char], i: usize) -> bool {
    let slash = |c: Option<&char>| matches!(c, Some('/' | '\\'));
    match t[i] {
        ':' => {
            let scheme = token_before(t, i, |c| c.is_ascii_alphanumeric() || "+.-".contains(c));
            let starts_alpha = scheme.first().is_some_and(char::is_ascii_alphabetic);
            let name: String = scheme.iter().collect();
            let known = BARE_SCHEMES.contains(&name.as_str())
                || name.starts_with("ms-")
                || name.starts_with("search-ms");
            let port = t.get(i + 1).is_some_and(char::is_ascii_digit)
                && domain(&token_before(t, i, label_char), t, i);
            port || starts_alpha
                && (slash(t.get(i + 1))
                    || (known && t.get(i + 1).is_some_and(|c| !c.is_whitespace())))
        }
        '/' | '\\' if t.get(i + 1) == Some(&t[i]) => t
            .get(i + 2)
            .is_some_and(|c| c.is_alphanumeric() || *c == '['),
        '/' | '?' | '#' => domain(&token_before(t, i, label_char), t, i),
        '[' => {
            t[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_hexdigit() || **c == ':' || **c == '.')
                .filter(|c| **c == ':')
                .count()
                >= 2
        }
        c if c.is_ascii_digit() && (i == 0 || !(t[i - 1].is_ascii_digit() || t[i - 1] == '.')) => {
            ipv4_at(t, i)
        }
        _ => false,
    }
}

fn label_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '.' || c == '_'
}

/// The run of `allowed` characters that ends just before `end`.
fn token_before(t: &[char], end: usize, allowed: impl Fn(char) -> bool) -> Vec<char> {
    let start = t[..end]
        .iter()
        .rposition(|c| !allowed(*c))
        .map_or(0, |p| p + 1);
    t[start..end].to_vec()
}

/// Whether `token`, which ends where `t[at]` (a `/`, `?`, `#` or a port's `:`) starts, is a domain name that
/// does not itself sit inside a path: two or more labels, the last of two or more letters.
fn domain(token: &[char], t: &[char], at: usize) -> bool {
    let start = at - token.len();
    if start > 0 && matches!(t[start - 1], '/' | '\\') {
        return false;
    }
    let text: String = token.iter().collect();
    let labels: Vec<&str> = text.trim_end_matches('.').split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty())
        && labels.last().is_some_and(|tld| {
            (tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic))
                || tld.starts_with("xn--")
        })
}

/// A dotted IPv4 address starting at `i`.
fn ipv4_at(t: &[char], i: usize) -> bool {
    let mut j = i;
    for part in 0..4 {
        let digits = t[j..].iter().take_while(|c| c.is_ascii_digit()).count();
        let number: String = t[j..j + digits].iter().collect();
        if digits == 0 || digits > 3 || number.parse::<u16>().map_or(true, |n| n > 255) {
            return false;
        }
        j += digits;
        if part < 3 {
            if t.get(j) != Some(&'.') {
                return false;
            }
            j += 1;
        }
    }
    let more = |c: &char| {
        c.is_ascii_digit() || *c == '.' && t.get(j + 1).is_some_and(char::is_ascii_digit)
    };
    !t.get(j).is_some_and(more)
}

#[cfg(test)]
#[path = "text_tests.rs"]
pub(crate) mod tests;
