use crate::domain::Certname;
use crate::error::{Error, Result};

/// The common name a certificate is listed under in the CA's admin inventory (seed 001
/// `GET /api/v1/ca/certificates`), whichever channel issued it: a Puppet certname, an agent id
/// or a pki-api subject's CN, which may hold uppercase letters, spaces and punctuation. The
/// admin routes look certificates up by it; it never becomes a store key of its own, so it is
/// only bounded (1 to [`ListedName::MAX_CHARS`] characters) and free of control characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListedName(String);

impl ListedName {
    /// The longest name accepted, in characters: a Puppet certname's 253 with room to spare
    /// over RFC 5280's 64-character CN.
    pub const MAX_CHARS: usize = 256;

    /// Parses an already percent-decoded name.
    pub fn parse(raw: &str) -> Result<Self> {
        let length = raw.chars().count();
        if length == 0 || length > Self::MAX_CHARS || raw.chars().any(char::is_control) {
            return Err(Error::validation(format!("certname must be 1 to {} characters without control characters", Self::MAX_CHARS)));
        }
        Ok(ListedName(raw.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as a Puppet certname, when it is one.
    pub fn certname(&self) -> Option<Certname> {
        Certname::parse(&self.0).ok()
    }
}

impl From<&Certname> for ListedName {
    fn from(certname: &Certname) -> Self {
        ListedName(certname.as_str().to_owned())
    }
}

impl From<&ListedName> for ListedName {
    fn from(name: &ListedName) -> Self {
        name.clone()
    }
}

impl std::fmt::Display for ListedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::ListedName;

    #[test]
    fn listed_names_take_any_printable_common_name_and_refuse_control_characters_or_overlong_ones() {
        for ok in ["Web Server 01", "node.example.com", "Ünïcode, Inc.", "a/b", &"x".repeat(256)] {
            assert_eq!(ListedName::parse(ok).unwrap().as_str(), ok);
        }
        for bad in ["", "a\nb", "tab\there", "nul\0", "\u{7f}", &"x".repeat(257)] {
            assert!(ListedName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
