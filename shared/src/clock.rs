//! Wall-clock time as Trustplane records it: UTC, whole seconds (as X.509 and the seeds'
//! timestamps carry it), RFC 3339 on the wire. The one place below services and HTTP that
//! reads the clock and formats timestamps.

use time::OffsetDateTime;

/// The current time, whole seconds.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// `t` as an RFC 3339 UTC timestamp.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// The current time as an RFC 3339 UTC timestamp, second precision.
pub fn now_rfc3339() -> String {
    rfc3339(now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_rfc3339() {
        assert_eq!(now().nanosecond(), 0);
        let s = now_rfc3339();
        assert!(s.ends_with('Z') && !s.contains('.'), "{s}");
        assert_eq!(rfc3339(OffsetDateTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }
}
