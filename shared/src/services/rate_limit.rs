//! A token bucket per client kept in the store, so the limit holds across Lambda instances.
//! Updates are optimistic (`Condition::Version`/`Absent`); a lost race re-reads and retries.

use crate::error::{Error, Result};
use crate::ports::{Condition, Item, Store};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

const MAX_ATTEMPTS: u32 = 64;

/// How many requests a client may make at once (`burst`) and how fast it regains them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub burst: u32,
    pub per_minute: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Bucket {
    tokens: f64,
    /// Unix milliseconds of the last refill.
    at_ms: i64,
}

/// Token buckets under `RATE#<name>#<client>`/`BUCKET`, expiring once full again.
#[derive(Clone)]
pub struct RateLimiter {
    store: Arc<dyn Store>,
    name: &'static str,
    rate: Rate,
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

impl RateLimiter {
    /// Buckets named `name` (one per client) with `rate`.
    pub fn new(store: Arc<dyn Store>, name: &'static str, rate: Rate) -> Self {
        RateLimiter { store, name, rate }
    }

    fn per_ms(&self) -> f64 {
        f64::from(self.rate.per_minute) / 60_000.0
    }

    /// Takes one token from `client`'s bucket, or fails with 429 and the seconds until one is back.
    pub async fn take(&self, client: &str) -> Result<()> {
        let pk = format!("RATE#{}#{client}", self.name);
        for attempt in 0..MAX_ATTEMPTS {
            let current = self.store.get(&pk, "BUCKET").await?;
            let now = now_ms();
            let (mut bucket, condition, version) = match &current {
                Some(item) => (self.refilled(item, now)?, Condition::Version(item.version), item.version + 1),
                None => (Bucket { tokens: f64::from(self.rate.burst), at_ms: now }, Condition::Absent, 1),
            };
            if bucket.tokens < 1.0 {
                let wait_ms = (1.0 - bucket.tokens) / self.per_ms();
                return Err(Error::TooManyRequests {
                    message: "Too many requests from this address; retry later".into(),
                    retry_after_secs: (wait_ms / 1000.0).ceil().max(1.0) as u64,
                });
            }
            bucket.tokens -= 1.0;
            match self.store.put(self.item(&pk, &bucket, version, now)?, condition).await {
                Ok(()) => return Ok(()),
                Err(Error::Conflict(_)) => tokio::time::sleep(Duration::from_millis(1 + u64::from(attempt % 4))).await,
                Err(e) => return Err(e),
            }
        }
        Err(Error::TooManyRequests { message: "Too many concurrent requests from this address".into(), retry_after_secs: 1 })
    }

    fn refilled(&self, item: &Item, now: i64) -> Result<Bucket> {
        let mut bucket: Bucket = serde_json::from_value(item.data.clone()).map_err(Error::internal)?;
        let elapsed = (now - bucket.at_ms).max(0) as f64;
        bucket.tokens = (bucket.tokens + elapsed * self.per_ms()).min(f64::from(self.rate.burst));
        bucket.at_ms = now;
        Ok(bucket)
    }

    fn item(&self, pk: &str, bucket: &Bucket, version: u64, now: i64) -> Result<Item> {
        let mut item = Item::new(pk, "BUCKET", serde_json::to_value(bucket).map_err(Error::internal)?);
        item.version = version;
        let refill_ms = (f64::from(self.rate.burst) - bucket.tokens) / self.per_ms();
        item.expires_at = Some((now + refill_ms as i64) / 1000 + 60);
        Ok(item)
    }
}
