//! The one wildcard syntax of every list setting: `*` stands for any run of characters, every other
//! character stands for itself. Pure.

/// Whether `text` matches `pattern`, byte for byte but for `*`.
pub fn glob(pattern: &[u8], text: &[u8]) -> bool {
    // Iterative matching with one backtrack point per `*`: linear enough for short names.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn stars_and_literals() {
        assert!(glob(b"a*b*c", b"aXbYbZc"));
        assert!(!glob(b"a*b*c", b"aXbYbZ"));
        assert!(glob(b"*", b""));
        assert!(glob(b"break*", b"breakglass"));
        assert!(!glob(b"exact", b"exactly"));
    }
}
