//! Seed 002's SSE stream settings (`DEVICE_EVENTS_*`).

use super::{number, Backend};
use crate::error::Result;
use std::time::Duration;

/// How `GET /api/v1/provisioning/batch/events` tails the event log (part of [`super::Config`]).
#[derive(Clone, Debug)]
pub struct DeviceEventsConfig {
    /// `DEVICE_EVENTS_POLL_MS`: how often a stream reads the log for new events when writers
    /// are other processes (default 250 in `serve`, 500 on AWS; 10..=60000); `serve`'s
    /// streams are woken by commits ([`crate::services::devices::live`]).
    pub poll: Duration,
    /// `DEVICE_EVENTS_SETTLE_MS`: how far behind now a stream reads, so an event whose writer
    /// drew its id earlier but committed later (or a lagging DynamoDB index) is still read in
    /// order (default 500 in `serve`, 2000 on AWS; 0..=60000); in `serve`, how long an id
    /// whose commit never returned holds streams back.
    pub settle: Duration,
    /// `DEVICE_EVENTS_HEARTBEAT_MS`: the period of `connection.heartbeat` events (default
    /// 15000; 10..=600000).
    pub heartbeat: Duration,
    /// `DEVICE_EVENTS_MAX_STREAM_SECS`: how long one stream lasts before it ends with a
    /// `retry:` hint and the client reconnects with `Last-Event-ID` (default 840, below the
    /// function's 900 s timeout; 1..=86400). On Lambda the invocation's own deadline (less
    /// 10 s) bounds it too.
    pub max_stream: Duration,
    /// `DEVICE_EVENTS_RETRY_MS`: the `retry:` reconnection delay a closing stream advises
    /// (default 1000; 0..=600000).
    pub retry: Duration,
    /// `DEVICE_EVENTS_TICKET_TTL_SECS`: how long a stream ticket is valid (default and at
    /// most 60; 1..=60).
    pub ticket_ttl_secs: i64,
}

impl DeviceEventsConfig {
    /// Reads the stream settings through `get`; defaults depend on the backend.
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>, backend: Backend) -> Result<Self> {
        let aws = backend == Backend::Aws;
        Ok(DeviceEventsConfig {
            poll: Duration::from_millis(number(get, "DEVICE_EVENTS_POLL_MS", if aws { 500 } else { 250 }, 10..=60_000)?),
            settle: Duration::from_millis(number(get, "DEVICE_EVENTS_SETTLE_MS", if aws { 2000 } else { 500 }, 0..=60_000)?),
            heartbeat: Duration::from_millis(number(get, "DEVICE_EVENTS_HEARTBEAT_MS", 15_000, 10..=600_000)?),
            max_stream: Duration::from_secs(number(get, "DEVICE_EVENTS_MAX_STREAM_SECS", 840, 1..=86_400)?),
            retry: Duration::from_millis(number(get, "DEVICE_EVENTS_RETRY_MS", 1000, 0..=600_000)?),
            ticket_ttl_secs: number(get, "DEVICE_EVENTS_TICKET_TTL_SECS", 60, 1..=60)? as i64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_defaults_follow_the_backend_and_out_of_range_values_are_refused() {
        let local = DeviceEventsConfig::from_lookup(&|_| None, Backend::Local).unwrap();
        let aws = DeviceEventsConfig::from_lookup(&|_| None, Backend::Aws).unwrap();
        assert_eq!((local.poll.as_millis(), aws.poll.as_millis()), (250, 500));
        assert_eq!((aws.heartbeat.as_secs(), aws.max_stream.as_secs(), aws.ticket_ttl_secs), (15, 840, 60));
        assert!(DeviceEventsConfig::from_lookup(&|k| (k == "DEVICE_EVENTS_TICKET_TTL_SECS").then(|| "61".into()), Backend::Aws).is_err());
        assert!(DeviceEventsConfig::from_lookup(&|k| (k == "DEVICE_EVENTS_POLL_MS").then(|| "fast".into()), Backend::Aws).is_err());
    }
}
