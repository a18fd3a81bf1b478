//! Turning cloud identities into VPN usernames. An IAM user, an SSO session name and a VPN login are
//! often spelled differently (`alice@example.com` against `alice` or `CORP\alice`), so a template
//! rewrites the identity, and case is folded or not when names are compared.

/// How names are compared: Active Directory and most IdPs treat usernames case-insensitively.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CaseRule {
    #[default]
    Insensitive,
    Sensitive,
}

impl CaseRule {
    pub fn fold(self, name: &str) -> String {
        match self {
            Self::Insensitive => name.to_lowercase(),
            Self::Sensitive => name.to_owned(),
        }
    }

    pub fn same(self, a: &str, b: &str) -> bool {
        match self {
            Self::Insensitive => a.to_lowercase() == b.to_lowercase(),
            Self::Sensitive => a == b,
        }
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
    pub case: CaseRule,
}

impl Default for UsernameMapping {
    fn default() -> Self {
        Self {
            parts: vec![Part::User],
            case: CaseRule::default(),
        }
    }
}

impl UsernameMapping {
    pub fn new(template: &str, case: CaseRule) -> Result<Self, String> {
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
        Ok(Self { parts, case })
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
        UsernameMapping::new(template, CaseRule::Insensitive)
            .unwrap()
            .map(identity)
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
            assert!(
                UsernameMapping::new(t, CaseRule::Insensitive).is_err(),
                "{t}"
            );
        }
    }

    #[test]
    fn case_rules() {
        assert!(CaseRule::Insensitive.same("Alice", "aLICE"));
        assert!(!CaseRule::Sensitive.same("Alice", "alice"));
        assert_eq!(CaseRule::Insensitive.fold("ÄLICE"), "älice");
    }
}
