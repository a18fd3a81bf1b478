//! Who a name is: the one identity model every place that compares names asks (matching, holds,
//! releases, the connect handler, the per-user limit, protected and extended users, what is told).
//! Pure.
//!
//! A directory account is written several ways: `alice`, `CORP\alice`, `alice@corp.example.com`
//! (Active Directory reports the name as the user typed it). With `CVPN_DIRECTORY_DOMAINS` naming
//! the directory's NetBIOS names and UPN suffixes, all of them are one person, whose canonical name
//! is the account (`alice`); a name of any other domain stays as it is.
//!
//! Two comparisons, on purpose different: ending a session errs toward precision (ASCII letters
//! folded, or none under `CVPN_USERNAME_CASE=sensitive`: a Kelvin-sign `Kate` is never ended for
//! `kate`); keeping out errs toward holding (full Unicode case folding: the same `Kate` is refused
//! while `kate` is held).

use crate::domain::mapping::{CaseRule, NamePattern};
use unicase::UniCase;

/// One directory's NetBIOS names and UPN suffixes, ASCII-lowercased (DNS and NetBIOS names
/// compare without regard to ASCII case).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Directory {
    netbios: Vec<String>,
    suffixes: Vec<String>,
}

impl Directory {
    /// No directory: every name is its own person.
    pub const EMPTY: Directory = Directory {
        netbios: Vec::new(),
        suffixes: Vec::new(),
    };

    /// `NETBIOS=SUFFIX[,SUFFIX…]`, groups of one directory separated by `;`
    /// (`CORP=corp.example.com,ad.corp.example.com`); empty: no directory.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut out = Self::default();
        for group in text.split(';').map(str::trim).filter(|g| !g.is_empty()) {
            let (netbios, suffixes) = group.split_once('=').ok_or_else(|| {
                format!("`{group}` is not NETBIOS=SUFFIX[,SUFFIX…] (e.g. CORP=corp.example.com)")
            })?;
            let netbios = netbios.trim();
            if !is_netbios(netbios) {
                return Err(format!(
                    "`{netbios}` is not a NetBIOS domain name (1 to 15 letters, digits, `-` or `_`)"
                ));
            }
            out.netbios.push(netbios.to_ascii_lowercase());
            for suffix in suffixes.split(',').map(str::trim) {
                if !is_dns_name(suffix) {
                    return Err(format!(
                        "`{suffix}` is not a UPN suffix (a DNS name such as corp.example.com)"
                    ));
                }
                out.suffixes.push(suffix.to_ascii_lowercase());
            }
        }
        out.netbios.dedup();
        Ok(out)
    }

    pub fn is_empty(&self) -> bool {
        self.netbios.is_empty() && self.suffixes.is_empty()
    }

    /// The account a directory form names: `CORP\alice` and `alice@corp.example.com` give
    /// `alice`; a name of another domain gives `None`.
    fn account<'a>(&self, name: &'a str) -> Option<&'a str> {
        let same = |list: &[String], d: &str| list.iter().any(|x| x.eq_ignore_ascii_case(d));
        let (domain, local, known) = if let Some((domain, local)) = name.split_once('\\') {
            // Some clients write the DNS name in the down-level form too.
            let known = same(&self.netbios, domain) || same(&self.suffixes, domain);
            (domain, local, known)
        } else {
            let (local, domain) = name.rsplit_once('@')?;
            (domain, local, same(&self.suffixes, domain))
        };
        let plain = !local.is_empty() && !local.contains(['\\', '@']);
        (known && plain && !domain.is_empty()).then_some(local)
    }
}

fn is_netbios(name: &str) -> bool {
    (1..=15).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_dns_name(name: &str) -> bool {
    name.contains('.')
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The identity model: the directory and the case rule of `CVPN_USERNAME_CASE`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct People {
    pub case: CaseRule,
    pub directory: Directory,
}

impl People {
    pub fn new(case: CaseRule, directory: Directory) -> Self {
        Self { case, directory }
    }

    /// The person's canonical name: a directory account's name, else the name as written
    /// (trimmed of ASCII white space only: an ideographic space is part of another name).
    pub fn canonical<'a>(&self, name: &'a str) -> &'a str {
        let name = name.trim_ascii();
        self.directory.account(name).unwrap_or(name)
    }

    /// Whether two names are one person, for ending sessions: the precise comparison.
    pub fn same(&self, a: &str, b: &str) -> bool {
        let (a, b) = (self.canonical(a), self.canonical(b));
        !a.is_empty() && self.case.same(a, b)
    }

    /// The key a hold on this person is stored and compared under: the canonical name with full
    /// Unicode case folding, whatever the case rule (keeping out errs toward holding).
    pub fn key(&self, name: &str) -> String {
        UniCase::unicode(self.canonical(name)).to_folded_case()
    }

    /// Every key a hold on this person may be stored under: [`People::key`], and the keys earlier
    /// versions wrote (the name as written, folded per the case rule), so their holds keep working.
    pub fn keys(&self, name: &str) -> Vec<String> {
        let mut keys = vec![self.key(name)];
        for old in [name.trim_ascii(), self.canonical(name)] {
            let old = self.case.fold(old);
            if !old.is_empty() && !keys.contains(&old) {
                keys.push(old);
            }
        }
        keys
    }

    /// Whether a hold stored under `key` keeps out `name`.
    pub fn keeps_out(&self, key: &str, name: &str) -> bool {
        self.keys(name).iter().any(|k| k == key)
    }

    /// A user-list entry (`CVPN_PROTECTED_USERS`, `CVPN_EXTENDED_USERS`), matched on a name's
    /// every form.
    pub fn pattern(&self, entry: &str) -> Result<UserPattern, String> {
        let written = NamePattern::new(entry, self.case)?;
        let canonical = self.canonical(entry);
        let canonical = (canonical != entry.trim_ascii())
            .then(|| NamePattern::new(canonical, self.case))
            .transpose()?;
        Ok(UserPattern { written, canonical })
    }

    /// Whether `name` is one of `list`'s people: as written or as its canonical name.
    pub fn listed(&self, list: &[UserPattern], name: &str) -> bool {
        let forms = [name.trim_ascii(), self.canonical(name)];
        list.iter().any(|p| {
            forms
                .iter()
                .any(|n| p.written.matches(n) || p.canonical.as_ref().is_some_and(|c| c.matches(n)))
        })
    }

    /// The forms of one person among `names`, in order and without repeats, for what people are
    /// told (`alice` seen as `CORP\alice` and `alice@corp.example.com`).
    pub fn forms<'a>(&self, person: &str, names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let mut forms: Vec<String> = Vec::new();
        for n in names.into_iter().map(str::trim_ascii) {
            if self.same(person, n) && !forms.iter().any(|f| f == n) {
                forms.push(n.to_owned());
            }
        }
        forms
    }
}

/// An entry of a user list as written and, for a directory form, as its account
/// (`CORP\breakglass` protects `breakglass` in every form).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserPattern {
    written: NamePattern,
    canonical: Option<NamePattern>,
}

impl UserPattern {
    /// Whether it matches every name, which a list of protected users must not do.
    pub fn matches_everyone(&self) -> bool {
        self.written.matches_everyone()
            || self
                .canonical
                .as_ref()
                .is_some_and(|c| c.matches_everyone())
    }
}

impl std::fmt::Display for UserPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.written.fmt(f)
    }
}

#[cfg(test)]
mod tests;
