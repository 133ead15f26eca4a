//! Log lines captured in memory, as JSON, for tests that assert what the service logs.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// A buffer every captured log line is written to.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync {
        let writer = self.clone();
        tracing_subscriber::fmt().json().flatten_event(true).with_max_level(tracing::Level::INFO).with_writer(move || writer.clone()).finish()
    }

    /// Captures this thread's logs (the test's own task) until the guard drops.
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        tracing::subscriber::set_default(self.subscriber())
    }

    /// Captures every thread's logs for the rest of the process (one per test binary).
    pub fn global() -> &'static Captured {
        static GLOBAL: OnceLock<Captured> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            let captured = Captured::default();
            let _ = tracing::subscriber::set_global_default(captured.subscriber());
            captured
        })
    }

    /// The JSON lines so far.
    pub fn lines(&self) -> Vec<serde_json::Value> {
        let bytes = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        String::from_utf8_lossy(&bytes).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }
}
