use crate::error::{Error, Result};

/// The public prefix of a provision key (seed 000 `key_prefix`): `sk_` and the first 8
/// characters of the key's base64url body. Case matters, as in the key itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyPrefix(String);

impl KeyPrefix {
    /// Parses the path segment naming a provision key: anything else names none, 404.
    pub fn in_path(raw: &str) -> Result<Self> {
        let body_ok = |body: &str| body.len() == 8 && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        match raw.strip_prefix("sk_") {
            Some(body) if body_ok(body) => Ok(KeyPrefix(raw.to_owned())),
            _ => Err(Error::NotFound("provision key".into())),
        }
    }

    /// The prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::KeyPrefix;

    #[test]
    fn prefixes_are_sk_and_eight_base64url_characters() {
        assert_eq!(KeyPrefix::in_path("sk_Ab-_09xZ").unwrap().as_str(), "sk_Ab-_09xZ");
        for bad in ["sk_", "sk_abcdefg", "sk_abcdefghi", "SK_abcdefgh", "sk_abc#defg", "sk_abc/defg", &"x".repeat(1000)] {
            assert!(KeyPrefix::in_path(bad).is_err(), "{bad}");
        }
    }
}
