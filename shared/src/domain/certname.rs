use crate::error::{Error, Result};

/// A Puppet certname (seed 001 `:certname`): `^[a-z0-9][a-z0-9._-]{0,252}$` without `..`.
/// It becomes a store key (`CSR#<certname>`) and a certificate's CN, so it is checked before
/// it touches either.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Certname(String);

impl Certname {
    /// Parses a certname.
    pub fn parse(raw: &str) -> Result<Self> {
        let mut chars = raw.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
        if first_ok && rest_ok && raw.len() <= 253 && !raw.contains("..") {
            Ok(Certname(raw.to_owned()))
        } else {
            Err(Error::validation("certname must match ^[a-z0-9][a-z0-9._-]{0,252}$ and must not contain \"..\""))
        }
    }

    /// The certname.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Certname {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Certname;

    #[test]
    fn certnames_follow_the_documented_pattern_and_refuse_traversal() {
        for ok in ["node.example.com", "a", "web01", "0_x-y.z", &"a".repeat(253)] {
            assert!(Certname::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".node", "-a", "Node", "a b", "a/b", "a..b", "../etc", "a%2f", &"a".repeat(254)] {
            assert!(Certname::parse(bad).is_err(), "{bad}");
        }
    }
}
