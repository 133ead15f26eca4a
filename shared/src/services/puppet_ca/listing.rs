//! What the list endpoints share (seed 001 "Pagination & Filtering"): certname patterns,
//! sort order and the limit/offset window.

use crate::error::{Error, Result};

/// Results per page by default (seed 001 `limit` default 50).
pub const DEFAULT_LIMIT: u64 = 50;
/// The largest page (seed 001 `limit` max 1000).
pub const MAX_LIMIT: u64 = 1000;

/// A certname pattern (seed 001 `search`, "pattern match on certname"): a glob when it holds
/// `*` (any run of characters) or `?` (one character), matched against the whole certname;
/// otherwise a substring. Lowercased; certname characters and wildcards only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern(String);

impl Pattern {
    /// Parses a pattern named `field` in error messages.
    pub fn parse(field: &str, raw: &str) -> Result<Self> {
        let pattern = raw.trim().to_ascii_lowercase();
        let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-*?".contains(c);
        if pattern.is_empty() || pattern.len() > 253 || !pattern.chars().all(ok_char) {
            return Err(Error::validation(format!("{field} must be 1 to 253 certname characters (a-z 0-9 . _ -) or wildcards (* ?)")));
        }
        Ok(Pattern(pattern))
    }

    /// The pattern as parsed (lowercase).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True if `certname` matches.
    pub fn matches(&self, certname: &str) -> bool {
        if self.0.contains(['*', '?']) {
            glob_matches(&self.0, certname)
        } else {
            certname.contains(&self.0)
        }
    }
}

/// True if the whole of `text` matches `glob` (`*` any run, `?` one character, else literal).
pub fn glob_matches(glob: &str, text: &str) -> bool {
    let (g, t) = (glob.as_bytes(), text.as_bytes());
    let (mut gi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match g.get(gi) {
            Some(b'*') => {
                star = Some((gi, ti));
                gi += 1;
            }
            Some(&c) if c == b'?' || c == t[ti] => {
                gi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sg, st)) => {
                    gi = sg + 1;
                    ti = st + 1;
                    star = Some((sg, st + 1));
                }
                None => return false,
            },
        }
    }
    g[gi..].iter().all(|c| *c == b'*')
}

/// Seed 001 `sort_order`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortOrder {
    #[default]
    Asc,
    Desc,
}

impl SortOrder {
    /// Parses `asc` or `desc`.
    pub fn parse(raw: &str) -> Result<Self> {
        match raw {
            "asc" => Ok(SortOrder::Asc),
            "desc" => Ok(SortOrder::Desc),
            _ => Err(Error::validation(format!("sort_order must be asc or desc, not {}", crate::error::echo(raw)))),
        }
    }

    /// `ordering` in this direction.
    pub fn apply(self, ordering: std::cmp::Ordering) -> std::cmp::Ordering {
        match self {
            SortOrder::Asc => ordering,
            SortOrder::Desc => ordering.reverse(),
        }
    }
}

/// Seed 001 `limit` (1..=1000, default 50) and `offset` (0+, default 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub limit: u64,
    pub offset: u64,
}

impl Default for Window {
    fn default() -> Self {
        Window { limit: DEFAULT_LIMIT, offset: 0 }
    }
}

impl Window {
    /// The window, refusing a limit outside 1..=1000.
    pub fn new(limit: Option<u64>, offset: Option<u64>) -> Result<Self> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::validation(format!("limit must be between 1 and {MAX_LIMIT}")));
        }
        Ok(Window { limit, offset: offset.unwrap_or(0) })
    }

    /// The window's slice of `all`, and how many there were in all.
    pub fn apply<T>(self, all: Vec<T>) -> (Vec<T>, usize) {
        let total = all.len();
        let skip = usize::try_from(self.offset).unwrap_or(usize::MAX);
        (all.into_iter().skip(skip).take(self.limit as usize).collect(), total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_certnames_and_plain_patterns_match_substrings() {
        assert!(glob_matches("*.example.com", "web01.example.com"));
        assert!(glob_matches("web0?.example.com", "web07.example.com"));
        assert!(glob_matches("*", "") && glob_matches("a*b*c", "axxbyyc"));
        assert!(!glob_matches("*.example.com", "example.com.evil"));
        assert!(!glob_matches("web0?", "web10"));
        let pattern = Pattern::parse("search", "Example").unwrap();
        assert!(pattern.matches("node.example.com") && !pattern.matches("node.lab"));
        assert!(Pattern::parse("search", "a/b").is_err() && Pattern::parse("search", " ").is_err());
    }

    #[test]
    fn windows_refuse_limits_outside_one_to_a_thousand_and_slice_with_a_total() {
        assert_eq!(Window::new(None, None).unwrap(), Window { limit: 50, offset: 0 });
        assert!(Window::new(Some(0), None).is_err() && Window::new(Some(1001), None).is_err());
        let (page, total) = Window::new(Some(2), Some(1)).unwrap().apply(vec![1, 2, 3, 4]);
        assert_eq!((page, total), (vec![2, 3], 4));
        assert_eq!(SortOrder::parse("desc").unwrap().apply(1.cmp(&2)), std::cmp::Ordering::Greater);
        assert!(SortOrder::parse("DESC").is_err());
    }
}
