use crate::error::{Error, Result};

/// A page size (the `limit` query parameter): decimal digits only, no sign or space, 1..=max.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit(u32);

impl Limit {
    /// Parses `raw`; absent is `default`.
    pub fn parse(raw: Option<&str>, default: u32, max: u32) -> Result<Self> {
        let bad = || Error::validation(format!("limit: expected a whole number 1..={max}"));
        let Some(raw) = raw else { return Ok(Limit(default)) };
        let limit = whole_number("limit", raw).map_err(|_| bad())?;
        u32::try_from(limit).ok().filter(|l| (1..=max).contains(l)).map(Limit).ok_or_else(bad)
    }

    /// The page size.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// A non-negative whole number in a query parameter `name`: decimal digits only (no sign, no
/// space, no exponent), at most 19 of them.
pub fn whole_number(name: &str, raw: &str) -> Result<u64> {
    let digits = !raw.is_empty() && raw.len() <= 19 && raw.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| raw.parse().ok()).flatten().ok_or_else(|| Error::validation(format!("{name}: expected a whole number")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_plain_digits_within_bounds() {
        assert_eq!(Limit::parse(None, 50, 100).unwrap().get(), 50);
        assert_eq!(Limit::parse(Some("100"), 50, 100).unwrap().get(), 100);
        assert_eq!(Limit::parse(Some("007"), 50, 100).unwrap().get(), 7);
        for bad in ["+5", "-1", " 5", "5 ", "0", "101", "5e1", "0x10", "", "99999999999999999999999"] {
            let err = Limit::parse(Some(bad), 50, 100).unwrap_err();
            assert_eq!(err.public_message(), "limit: expected a whole number 1..=100", "{bad:?}");
        }
    }

    #[test]
    fn whole_numbers_refuse_signs_and_overflow() {
        assert_eq!(whole_number("offset", "0").unwrap(), 0);
        for bad in ["+0", "-0", "1.0", &"9".repeat(20)] {
            assert_eq!(whole_number("offset", bad).unwrap_err().public_message(), "offset: expected a whole number", "{bad}");
        }
    }
}
