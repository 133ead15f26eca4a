//! `serve`'s shutdown ends the open streams (its graceful drain would otherwise wait out their
//! lifetimes). Its own test binary: `end_streams` is process-wide.

mod support;

use std::time::Duration;
use support::*;

#[tokio::test]
async fn ending_the_streams_closes_open_ones_with_a_retry_hint_and_new_ones_at_once() {
    let b = Backend::sqlite().await;
    let mut open = b.open_keyed("/api/v1/provisioning/batch/events", &[]).await;
    assert_eq!(open.reader.event(Duration::from_secs(10)).await.unwrap().kind(), "connection.established");
    device_events::end_streams();
    let closing = open.reader.block(Duration::from_secs(5)).await.expect("a closing block");
    assert_eq!(closing.retry, Some(1000));
    assert!(open.reader.block(Duration::from_secs(5)).await.is_none() && open.reader.ended());
    let mut late = b.open_keyed("/api/v1/provisioning/batch/events", &[]).await;
    assert_eq!(late.reader.event(Duration::from_secs(5)).await.unwrap().kind(), "connection.established");
    assert!(late.reader.block(Duration::from_secs(5)).await.unwrap().retry.is_some());
    assert!(late.reader.block(Duration::from_secs(5)).await.is_none() && late.reader.ended());
}
