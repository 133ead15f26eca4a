use crate::error::{echo, Error, Result};

/// A blob store key such as `crl/<authority-id>.crl`: lowercase ASCII letters, digits, `._-`,
/// `/`-separated, no empty, `.` or `..` segment, at most 512 bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    /// Parses and validates a key.
    pub fn parse(raw: &str) -> Result<Self> {
        let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        let valid = !raw.is_empty()
            && raw.len() <= 512
            && raw.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != ".." && seg.chars().all(ok_char));
        if valid {
            Ok(BlobKey(raw.to_owned()))
        } else {
            Err(Error::validation(format!("invalid blob key: {}", echo(raw))))
        }
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BlobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_key_accepts_crl_paths_and_refuses_traversal() {
        assert!(BlobKey::parse("crl/0b1c.crl").is_ok());
        for bad in ["", "../etc/passwd", "crl//x", "crl/./x", "/abs", "a b", "crl/x/"] {
            assert!(BlobKey::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
