//! One SSE stream: `connection.established`, then the event log past the last id sent: woken
//! by the writers when they share the process (`serve`, [`live`]), else tailed by short polling
//! `settle` behind the clock (`events::read_after`); `connection.heartbeat` every heartbeat
//! period, and, once the stream's lifetime is up (or `serve` shuts down), a `retry:` hint
//! and the end, so `EventSource` reconnects with `Last-Event-ID`. Dropping the body (the
//! client went away) drops the stream and stops the polling.
//!
//! Wire format as seed 002 shows it, without a space after the colon:
//! `event:<type>\ndata:<envelope>\n\n`, plus `id:<event id>` on logged events. In unnamed mode
//! (`?named=false`) the `event:` lines are left out so `EventSource.onmessage` (the
//! PiDashboard's `useSSE`) receives every event.

use bytes::Bytes;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use trustplane_core::config::DeviceEventsConfig;
use trustplane_core::ports::Store;
use trustplane_core::services::devices::{events, live};

/// Events read per poll; a full page is followed by another read at once.
const PAGE: u32 = 200;

fn ending() -> &'static watch::Sender<bool> {
    static ENDING: OnceLock<watch::Sender<bool>> = OnceLock::new();
    ENDING.get_or_init(|| watch::channel(false).0)
}

/// Ends every open stream of this process (with its `retry:` hint) and every stream opened
/// after: `serve` calls it on shutdown, whose graceful drain would otherwise wait for the
/// streams' lifetimes.
pub fn end_streams() {
    ending().send_replace(true);
}

/// What a stream reads and how it frames it.
pub struct Tail {
    store: Arc<dyn Store>,
    session: Option<String>,
    cursor: Option<String>,
    named: bool,
    poll: Duration,
    settle: Duration,
    heartbeat: Duration,
    retry: Duration,
    opening: Option<Bytes>,
    ends_at: Instant,
    next_beat: Instant,
    next_poll: Instant,
    stop: watch::Receiver<bool>,
    writes: Option<watch::Receiver<u64>>,
    done: bool,
}

impl Tail {
    /// A stream of `session`'s events (every event when `None`) after `cursor`, lasting `lifetime`.
    pub fn new(store: Arc<dyn Store>, config: &DeviceEventsConfig, session: Option<String>, cursor: Option<String>, named: bool, lifetime: Duration) -> Self {
        let now = Instant::now();
        let hello = events::connection_established(session.as_deref(), time::OffsetDateTime::now_utc());
        let opening = Bytes::from(frame(None, events::EventKind::ConnectionEstablished.as_str(), &hello, named));
        Tail {
            store,
            session,
            cursor,
            named,
            poll: config.poll,
            settle: config.settle,
            heartbeat: config.heartbeat,
            retry: config.retry,
            opening: Some(opening),
            ends_at: now + lifetime,
            next_beat: now + config.heartbeat,
            next_poll: now,
            stop: ending().subscribe(),
            writes: live::enabled().then(live::subscribe),
            done: false,
        }
    }

    /// The body: the frames as they come.
    pub fn into_body(self) -> axum::body::Body {
        let frames = futures::stream::unfold(self, |mut tail| async move { tail.next().await.map(|b| (Ok::<_, std::convert::Infallible>(b), tail)) });
        axum::body::Body::from_stream(frames)
    }

    async fn next(&mut self) -> Option<Bytes> {
        if let Some(opening) = self.opening.take() {
            return Some(opening);
        }
        loop {
            if self.done {
                return None;
            }
            let now = Instant::now();
            if now >= self.ends_at || *self.stop.borrow() {
                self.done = true;
                return Some(Bytes::from(format!(": stream ends; reconnect with Last-Event-ID\nretry:{}\n\n", self.retry.as_millis())));
            }
            if now >= self.next_beat {
                self.next_beat = now + self.heartbeat;
                let data = events::heartbeat(self.session.as_deref(), time::OffsetDateTime::now_utc());
                return Some(Bytes::from(frame(None, events::EventKind::ConnectionHeartbeat.as_str(), &data, self.named)));
            }
            if now >= self.next_poll {
                let (chunk, again) = self.read().await;
                self.next_poll = again.map_or(self.ends_at, |after| now + after);
                if !chunk.is_empty() {
                    return Some(chunk);
                }
                continue;
            }
            let wake = self.next_poll.min(self.next_beat).min(self.ends_at);
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {}
                _ = self.stop.changed() => {}
                () = written(&mut self.writes) => self.next_poll = Instant::now(),
            }
        }
    }

    /// One read past the cursor: the frames, and when to read again unwoken (`None`: only
    /// when a writer wakes the stream).
    async fn read(&mut self) -> (Bytes, Option<Duration>) {
        let (read, held) = if self.writes.is_some() {
            let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).max(0) as u64;
            let (upper, held) = live::horizon(now_ms, self.settle);
            (events::read_through(self.store.as_ref(), self.session.as_deref(), self.cursor.as_deref(), &upper, PAGE).await, held)
        } else {
            let settle = time::Duration::try_from(self.settle).unwrap_or(time::Duration::ZERO);
            let now = time::OffsetDateTime::now_utc();
            (events::read_after(self.store.as_ref(), self.session.as_deref(), self.cursor.as_deref(), now, settle, PAGE).await, true)
        };
        let read = match read {
            Ok(read) => read,
            Err(e) => {
                tracing::warn!(error = %e, "reading the device event log failed; retrying at the next poll");
                return (Bytes::new(), Some(self.poll));
            }
        };
        let mut out = String::new();
        for event in &read {
            out.push_str(&frame(Some(&event.id), event.kind.as_str(), &event.envelope_text(), self.named));
        }
        if let Some(last) = read.last() {
            self.cursor = Some(last.id.clone());
        }
        let again = match (read.len() == PAGE as usize, held) {
            (true, _) => Some(Duration::ZERO),
            (false, true) if self.writes.is_some() => Some(self.settle),
            (false, true) => Some(self.poll),
            (false, false) => None,
        };
        (Bytes::from(out), again)
    }
}

/// Resolves when a writer of this process commits events; never without [`live`].
async fn written(writes: &mut Option<watch::Receiver<u64>>) {
    let closed = match writes {
        Some(rx) => rx.changed().await.is_err(),
        None => true,
    };
    if closed {
        std::future::pending::<()>().await;
    }
}

/// `id:` (logged events), `event:` (named mode), `data:`, blank line.
fn frame(id: Option<&str>, kind: &str, data: &str, named: bool) -> String {
    let mut out = String::with_capacity(data.len() + 64);
    if let Some(id) = id {
        out.push_str("id:");
        out.push_str(id);
        out.push('\n');
    }
    if named {
        out.push_str("event:");
        out.push_str(kind);
        out.push('\n');
    }
    out.push_str("data:");
    out.push_str(data);
    out.push_str("\n\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_follow_the_seed_without_a_space_after_the_colon_and_unnamed_frames_have_no_event_line() {
        assert_eq!(frame(None, "connection.established", "{}", true), "event:connection.established\ndata:{}\n\n");
        assert_eq!(frame(Some("0a"), "error", "{}", true), "id:0a\nevent:error\ndata:{}\n\n");
        assert_eq!(frame(Some("0a"), "error", "{}", false), "id:0a\ndata:{}\n\n");
    }
}
