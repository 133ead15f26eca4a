use crate::error::{Error, Result};
use std::fmt;

/// The id of a stored entity (subject, authority, certificate, API key): a UUID written
/// 8-4-4-4-12 in hex digits, kept lowercase. Upper- and mixed-case input names the same
/// entity, so every verb and every filter treats an id alike.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityId(String);

impl EntityId {
    /// Parses `raw` given as `field` (a body field or a query parameter): 400 naming the field.
    pub fn parse(field: &str, raw: &str) -> Result<Self> {
        Self::canonical(raw).ok_or_else(|| Error::validation(format!("{field}: expected a UUID such as 0190a1b2-0000-7000-8000-000000000001")))
    }

    /// Parses the path segment naming a `what`: a malformed id names nothing, 404.
    pub fn in_path(what: &str, raw: &str) -> Result<Self> {
        Self::canonical(raw).ok_or_else(|| Error::NotFound(what.to_owned()))
    }

    fn canonical(raw: &str) -> Option<Self> {
        let hyphen_at = |i: usize| matches!(i, 8 | 13 | 18 | 23);
        let well_formed = raw.len() == 36 && raw.bytes().enumerate().all(|(i, b)| if hyphen_at(i) { b == b'-' } else { b.is_ascii_hexdigit() });
        well_formed.then(|| EntityId(raw.to_ascii_lowercase()))
    }

    /// The id, lowercase.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::EntityId;
    use crate::Error;

    #[test]
    fn ids_are_hyphenated_uuids_of_any_case_kept_lowercase() {
        let id = EntityId::parse("issuerId", "0190A1B2-0000-7000-8000-00000000000F").unwrap();
        assert_eq!(id.as_str(), "0190a1b2-0000-7000-8000-00000000000f");
        assert_eq!(EntityId::in_path("certificate", id.as_str()).unwrap(), id);
    }

    #[test]
    fn anything_else_is_a_400_naming_the_field_or_a_404_in_a_path() {
        let bad = ["", "*", "' OR 1=1--", "0190a1b2000070008000000000000001", "{0190a1b2-0000-7000-8000-000000000001}", "0190a1b2-0000-7000-8000-00000000000g", "0190a1b2-0000-7000-8000-0000000000011"];
        for raw in bad {
            let err = EntityId::parse("issuerId", raw).unwrap_err();
            assert!(matches!(&err, Error::Validation(m) if m.starts_with("issuerId: expected a UUID")), "{raw}: {err}");
            assert!(matches!(EntityId::in_path("certificate", raw), Err(Error::NotFound(w)) if w == "certificate"), "{raw}");
        }
    }
}
