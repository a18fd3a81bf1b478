//! Turning cloud identities into VPN usernames. An IAM user, an SSO session name and a VPN login are
//! often spelled differently (`alice@example.com` against `alice` or `CORP\alice`), so a template
//! rewrites the identity, and case is folded or not when names are compared.

/// How names are compared: Active Directory and most IdPs treat usernames case-insensitively.
///
/// Insensitive folds ASCII letters only. Unicode case folding maps look-alikes onto ordinary
/// letters (the Kelvin sign U+212A folds to `k`), which would let a name nobody has end `kate`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CaseRule {
    #[default]
    Insensitive,
    Sensitive,
}

impl CaseRule {
    pub fn fold(self, name: &str) -> String {
        match self {
            Self::Insensitive => name.to_ascii_lowercase(),
            Self::Sensitive => name.to_owned(),
        }
    }

    pub fn same(self, a: &str, b: &str) -> bool {
        match self {
            Self::Insensitive => a.eq_ignore_ascii_case(b),
            Self::Sensitive => a == b,
        }
    }
}

/// An entry of a user list (`CVPN_PROTECTED_USERS`, `CVPN_EXTENDED_USERS`): a name, or a pattern
/// with `*`, compared under the one case rule of `CVPN_USERNAME_CASE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamePattern {
    folded: String,
    case: CaseRule,
}

impl NamePattern {
    pub fn new(entry: &str, case: CaseRule) -> Result<Self, String> {
        if entry.is_empty() {
            return Err("an empty entry".into());
        }
        if entry.contains("**") {
            return Err(format!("`{entry}`: use a single `*`"));
        }
        if entry.chars().any(char::is_control) {
            return Err(format!("{entry:?} holds a control character"));
        }
        Ok(Self {
            folded: case.fold(entry),
            case,
        })
    }

    /// Whether it matches every name, which a list of protected users must not do.
    pub fn matches_everyone(&self) -> bool {
        self.folded.bytes().all(|b| b == b'*')
    }

    pub fn matches(&self, name: &str) -> bool {
        crate::domain::pattern::glob(self.folded.as_bytes(), self.case.fold(name).as_bytes())
    }
}

impl std::fmt::Display for NamePattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.folded)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    User,
    Local,
    Domain,
}

/// A template over `{user}` (the identity as found), `{local}` (before `@`, or after `DOMAIN\`) and
/// `{domain}` (after `@`, or before `\`): `{local}` strips a domain, `{local}@corp.example.com` sets
/// one, `CORP\{local}` writes the down-level form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsernameMapping {
    parts: Vec<Part>,
}

impl Default for UsernameMapping {
    fn default() -> Self {
        Self {
            parts: vec![Part::User],
        }
    }
}

impl UsernameMapping {
    pub fn new(template: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| format!("`{template}` has a `{{` without its `}}`"))?;
            parts.push(match &rest[open + 1..open + close] {
                "user" => Part::User,
                "local" => Part::Local,
                "domain" => Part::Domain,
                other => {
                    return Err(format!(
                        "`{{{other}}}` is not a placeholder; use {{user}}, {{local}} or {{domain}}"
                    ))
                }
            });
            rest = &rest[open + close + 1..];
        }
        if rest.contains('}') {
            return Err(format!("`{template}` has a `}}` without its `{{`"));
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        // A template without a placeholder would map every identity to the same user.
        if parts.iter().all(|p| matches!(p, Part::Text(_))) {
            return Err(format!(
                "`{template}` has no placeholder; use {{user}}, {{local}} or {{domain}}"
            ));
        }
        Ok(Self { parts })
    }

    /// The VPN username for `identity`, or `None` when it has nothing the template needs.
    pub fn map(&self, identity: &str) -> Option<String> {
        let identity = identity.trim();
        if identity.is_empty() {
            return None;
        }
        let (local, domain) = split_identity(identity);
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::User => out.push_str(identity),
                Part::Local => out.push_str(local),
                Part::Domain => out.push_str(domain?),
            }
        }
        (!out.trim().is_empty()).then_some(out)
    }
}

fn split_identity(identity: &str) -> (&str, Option<&str>) {
    if let Some((local, domain)) = identity.rsplit_once('@') {
        (local, Some(domain).filter(|d| !d.is_empty()))
    } else if let Some((domain, local)) = identity.split_once('\\') {
        (local, Some(domain).filter(|d| !d.is_empty()))
    } else {
        (identity, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(template: &str, identity: &str) -> Option<String> {
        UsernameMapping::new(template).unwrap().map(identity)
    }

    #[test]
    fn identity_by_default() {
        assert_eq!(
            UsernameMapping::default().map(" alice@example.com "),
            Some("alice@example.com".into())
        );
        assert_eq!(UsernameMapping::default().map("  "), None);
    }

    #[test]
    fn strips_sets_and_rewrites_domains() {
        assert_eq!(map("{local}", "alice@example.com"), Some("alice".into()));
        assert_eq!(map("{local}", "CORP\\alice"), Some("alice".into()));
        assert_eq!(map("{local}", "alice"), Some("alice".into()));
        assert_eq!(
            map("{local}@corp.example.com", "alice@example.com"),
            Some("alice@corp.example.com".into())
        );
        assert_eq!(
            map("CORP\\{local}", "alice@example.com"),
            Some("CORP\\alice".into())
        );
        assert_eq!(
            map("{domain}/{local}", "alice@example.com"),
            Some("example.com/alice".into())
        );
    }

    #[test]
    fn no_mapping_when_the_template_needs_a_missing_domain() {
        assert_eq!(map("{local}@{domain}", "alice"), None);
        assert_eq!(map("{local}", "@example.com"), None);
    }

    #[test]
    fn refuses_bad_templates() {
        for t in ["{nick}", "{user", "user}", "admin", ""] {
            assert!(UsernameMapping::new(t).is_err(), "{t}");
        }
    }

    #[test]
    fn case_rules() {
        assert!(CaseRule::Insensitive.same("Alice", "aLICE"));
        assert!(!CaseRule::Sensitive.same("Alice", "alice"));
        // ASCII only: a look-alike is another name.
        assert_eq!(CaseRule::Insensitive.fold("ÄLICE"), "Älice");
        assert!(!CaseRule::Insensitive.same("\u{212A}ate", "kate"));
        assert!(!CaseRule::Insensitive.same("ǅ", "ǆ"));
    }

    #[test]
    fn name_patterns_share_the_case_rule() {
        let p = NamePattern::new("Break*", CaseRule::Insensitive).unwrap();
        assert!(p.matches("breakglass") && p.matches("BREAK") && !p.matches("xbreak"));
        assert!(!p.matches("\u{212A}reak"));
        let s = NamePattern::new("Break*", CaseRule::Sensitive).unwrap();
        assert!(s.matches("Breakglass") && !s.matches("breakglass"));
        assert!(NamePattern::new("*", CaseRule::Insensitive)
            .unwrap()
            .matches_everyone());
        for bad in ["", "a**", "a\u{7}b"] {
            assert!(
                NamePattern::new(bad, CaseRule::Insensitive).is_err(),
                "{bad:?}"
            );
        }
    }
}
