//! Seed 002's two guards: per-API-key rate limiting (429 `RATE_LIMITED`) and the circuit
//! breaker around the PKI/KMS issuance path (503 `CIRCUIT_OPEN`).
//!
//! - The rate limit is a token bucket per API key in the store ([`RateLimiter`], the same
//!   buckets seed 003 keeps per client IP), so it holds across Lambda instances. The devices
//!   API applies it to every route (`devices_api::limits`).
//! - The [`CircuitBreaker`] lives in the process (one per Lambda instance or `serve`): after
//!   `failures` consecutive server-side failures it opens for `cooldown`, answering
//!   `CIRCUIT_OPEN` (retryable, `Retry-After`) without calling the wrapped path; then one
//!   half-open probe is let through, and its success closes the breaker again (its failure
//!   re-opens it for another cool-down).

use crate::config::number;
use crate::error::{Error, Result};
use crate::ports::Store;
use crate::services::rate_limit::{Rate, RateLimiter};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The devices guards' configuration (part of [`crate::config::Config`], `devices_guard`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuardConfig {
    /// `DEVICES_RATE_PER_SEC`: requests per second one API key regains (default 20, 1..=100000).
    pub rate_per_sec: u32,
    /// `DEVICES_RATE_BURST`: requests one API key may make at once (default 40, 1..=1000000).
    pub rate_burst: u32,
    /// `DEVICES_BREAKER_FAILURES`: consecutive failures that open the breaker (default 5, 1..=1000).
    pub breaker_failures: u32,
    /// `DEVICES_BREAKER_COOLDOWN_SECONDS`: how long it stays open (default 30, 1..=3600).
    pub breaker_cooldown_secs: u32,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig { rate_per_sec: 20, rate_burst: 40, breaker_failures: 5, breaker_cooldown_secs: 30 }
    }
}

impl GuardConfig {
    /// Reads the `DEVICES_RATE_*` and `DEVICES_BREAKER_*` settings through `get`.
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self> {
        let d = GuardConfig::default();
        Ok(GuardConfig {
            rate_per_sec: number(get, "DEVICES_RATE_PER_SEC", d.rate_per_sec, 1..=100_000)?,
            rate_burst: number(get, "DEVICES_RATE_BURST", d.rate_burst, 1..=1_000_000)?,
            breaker_failures: number(get, "DEVICES_BREAKER_FAILURES", d.breaker_failures, 1..=1000)?,
            breaker_cooldown_secs: number(get, "DEVICES_BREAKER_COOLDOWN_SECONDS", d.breaker_cooldown_secs, 1..=3600)?,
        })
    }

    /// The breaker settings of this configuration.
    pub fn breaker(&self) -> BreakerSettings {
        BreakerSettings { failures: self.breaker_failures, cooldown: Duration::from_secs(u64::from(self.breaker_cooldown_secs)) }
    }
}

/// Takes one token from the bucket of API key `key_id` (`RATE#devices#<key id>`), or fails
/// with 429 `RATE_LIMITED`, `Retry-After` and `retry_after_seconds`.
pub async fn take_for_key(store: Arc<dyn Store>, config: &GuardConfig, key_id: &str) -> Result<()> {
    let rate = Rate { burst: config.rate_burst, per_minute: config.rate_per_sec.saturating_mul(60) };
    match RateLimiter::new(store, "devices", rate).take(key_id).await {
        Err(Error::TooManyRequests { retry_after_secs, .. }) => Err(Error::TooManyRequests {
            message: format!("Too many requests for this API key; retry in {retry_after_secs} s"),
            retry_after_secs,
        }
        .with_code("RATE_LIMITED")),
        other => other,
    }
}

/// When a breaker opens and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failures that open it.
    pub failures: u32,
    /// How long it stays open before a probe is let through.
    pub cooldown: Duration,
}

#[derive(Debug)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    /// A probe is running; everyone else is refused until it ends.
    HalfOpen,
}

/// A consecutive-failure circuit breaker (see the module docs). Only server-side failures
/// (5xx: backend unavailable, internal errors) count; a caller's mistake (4xx) neither opens
/// nor closes it.
#[derive(Debug)]
pub struct CircuitBreaker {
    name: &'static str,
    settings: BreakerSettings,
    state: Mutex<State>,
}

/// Releases a half-open probe that ended without a verdict (its future was dropped).
struct Probe<'a>(&'a CircuitBreaker, bool);

impl Drop for Probe<'_> {
    fn drop(&mut self) {
        if !self.1 {
            let mut state = self.0.lock();
            if matches!(*state, State::HalfOpen) {
                *state = State::Open { until: Instant::now() };
            }
        }
    }
}

impl CircuitBreaker {
    /// A closed breaker named `name` (the name appears in logs and error messages).
    pub fn new(name: &'static str, settings: BreakerSettings) -> Self {
        CircuitBreaker { name, settings, state: Mutex::new(State::Closed { failures: 0 }) }
    }

    /// The process-wide breaker named `name`, created with `settings` on first use; every
    /// later caller in this process shares its state (e.g. `shared("pki", cfg.breaker())`).
    pub fn shared(name: &'static str, settings: BreakerSettings) -> Arc<CircuitBreaker> {
        static ALL: OnceLock<Mutex<HashMap<&'static str, Arc<CircuitBreaker>>>> = OnceLock::new();
        let mut all = ALL.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
        all.entry(name).or_insert_with(|| Arc::new(CircuitBreaker::new(name, settings))).clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True while calls are refused (open, or a probe is running).
    pub fn is_open(&self) -> bool {
        !matches!(*self.lock(), State::Closed { .. })
    }

    /// Runs `f` unless the breaker is open; records its outcome. While open: 503
    /// `CIRCUIT_OPEN` (retryable) with the seconds left of the cool-down as `Retry-After`.
    pub async fn call<T, F, Fut>(&self, f: F) -> Result<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let probing = self.admit()?;
        let mut probe = Probe(self, !probing);
        let outcome = f().await;
        probe.1 = true;
        self.record(outcome.as_ref().err());
        outcome
    }

    /// Lets a call through (`Ok(true)` when it is the half-open probe) or refuses it.
    fn admit(&self) -> Result<bool> {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => Ok(false),
            State::Open { until } if Instant::now() >= until => {
                *state = State::HalfOpen;
                Ok(true)
            }
            State::Open { until } => Err(self.refusal(until.saturating_duration_since(Instant::now()))),
            State::HalfOpen => Err(self.refusal(Duration::from_secs(1))),
        }
    }

    fn refusal(&self, left: Duration) -> Error {
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        Error::Busy { message: format!("The {} service is recovering; retry later", self.name), retry_after_secs: secs.max(1) }.with_code("CIRCUIT_OPEN")
    }

    fn record(&self, error: Option<&Error>) {
        let failed = error.is_some_and(|e| e.status().is_server_error());
        let mut state = self.lock();
        *state = match (&*state, failed) {
            (State::Closed { failures }, true) if failures + 1 < self.settings.failures => State::Closed { failures: failures + 1 },
            (_, true) => {
                tracing::warn!(breaker = self.name, cooldown_secs = self.settings.cooldown.as_secs(), "circuit breaker opened");
                State::Open { until: Instant::now() + self.settings.cooldown }
            }
            (State::Closed { failures }, false) if error.is_some() => State::Closed { failures: *failures },
            (State::Open { until }, false) => State::Open { until: *until },
            (_, false) => State::Closed { failures: 0 },
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(failures: u32, cooldown_ms: u64) -> CircuitBreaker {
        CircuitBreaker::new("pki", BreakerSettings { failures, cooldown: Duration::from_millis(cooldown_ms) })
    }

    async fn fail(b: &CircuitBreaker) -> Error {
        b.call(|| async { Err::<(), _>(Error::Unavailable("kms down".into())) }).await.unwrap_err()
    }

    #[tokio::test]
    async fn the_breaker_opens_after_n_consecutive_failures_and_refuses_without_calling() {
        let b = breaker(3, 60_000);
        for _ in 0..3 {
            assert_eq!(fail(&b).await.code(), None, "the failure itself passes through");
        }
        let called = std::sync::atomic::AtomicBool::new(false);
        let refused = b.call(|| async { called.store(true, std::sync::atomic::Ordering::SeqCst); Ok(()) }).await.unwrap_err();
        assert!(!called.load(std::sync::atomic::Ordering::SeqCst), "an open breaker does not call");
        assert_eq!((refused.code(), refused.status().as_u16(), refused.retryable()), (Some("CIRCUIT_OPEN"), 503, true));
        assert!((59..=60).contains(&refused.retry_after().unwrap()), "{:?}", refused.retry_after());
    }

    #[tokio::test]
    async fn a_success_resets_the_count_and_client_errors_do_not_count() {
        let b = breaker(2, 60_000);
        fail(&b).await;
        b.call(|| async { Ok(()) }).await.unwrap();
        fail(&b).await;
        let _ = b.call(|| async { Err::<(), _>(Error::validation("bad csr")) }).await;
        assert!(!b.is_open(), "one server failure since the last success, and a 400 that does not count");
        fail(&b).await;
        assert!(b.is_open());
    }

    #[tokio::test]
    async fn after_the_cooldown_one_probe_goes_through_and_its_success_closes_the_breaker() {
        let b = breaker(1, 150);
        fail(&b).await;
        assert_eq!(b.call(|| async { Ok(1) }).await.unwrap_err().code(), Some("CIRCUIT_OPEN"));
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let probe = b.call(|| async { rx.await.ok(); Ok(7) });
        let other = async {
            tokio::task::yield_now().await;
            let refused = b.call(|| async { Ok(0) }).await.unwrap_err();
            tx.send(()).unwrap();
            refused
        };
        let (probed, refused) = tokio::join!(probe, other);
        assert_eq!((probed.unwrap(), refused.code()), (7, Some("CIRCUIT_OPEN")), "only the probe runs while half-open");
        assert_eq!(b.call(|| async { Ok(2) }).await.unwrap(), 2, "closed again");
    }

    #[tokio::test]
    async fn a_failed_probe_reopens_the_breaker_for_another_cooldown() {
        let b = breaker(1, 100);
        fail(&b).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
        fail(&b).await;
        assert_eq!(b.call(|| async { Ok(()) }).await.unwrap_err().code(), Some("CIRCUIT_OPEN"));
    }

    #[test]
    fn shared_breakers_are_one_per_name_in_the_process() {
        let s = BreakerSettings { failures: 1, cooldown: Duration::from_secs(1) };
        assert!(Arc::ptr_eq(&CircuitBreaker::shared("test-a", s), &CircuitBreaker::shared("test-a", s)));
        assert!(!Arc::ptr_eq(&CircuitBreaker::shared("test-a", s), &CircuitBreaker::shared("test-b", s)));
    }

    #[test]
    fn guard_settings_have_documented_defaults_and_bounds() {
        let none = |_: &str| None;
        assert_eq!(GuardConfig::from_lookup(&none).unwrap(), GuardConfig::default());
        let zero = |k: &str| (k == "DEVICES_RATE_PER_SEC").then(|| "0".to_owned());
        assert!(GuardConfig::from_lookup(&zero).is_err());
    }
}
