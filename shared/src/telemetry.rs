//! Logging: JSON lines on Lambda (CloudWatch), human text locally.

use crate::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// Targets that log whole requests or events (API keys, tickets in query strings, bodies) at
/// `trace`: capped at `debug` whatever `RUST_LOG` asks for.
const CAPPED: [&str; 5] = ["lambda_runtime", "lambda_runtime_api_client", "lambda_http", "aws_smithy_runtime", "hyper"];

/// Installs the global subscriber once; `RUST_LOG` filters (default `info`).
pub fn init(format: LogFormat) {
    let builder = tracing_subscriber::fmt().with_env_filter(filter(std::env::var("RUST_LOG").ok().as_deref())).with_target(false).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).without_time().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// `RUST_LOG` (default `info`) with the [`CAPPED`] targets held at `debug` at most.
fn filter(rust_log: Option<&str>) -> EnvFilter {
    let mut filter = rust_log.and_then(|raw| EnvFilter::try_new(raw).ok()).unwrap_or_else(|| EnvFilter::new("info"));
    for target in CAPPED {
        if let Ok(directive) = format!("{target}=debug").parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn rust_log_trace_still_keeps_the_runtimes_raw_events_out_of_the_log() {
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt().with_env_filter(filter(Some("trace"))).with_writer(move || writer.clone()).finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(target: "lambda_runtime", "raw event x-api-key=tp_secret");
            tracing::trace!(target: "lambda_http", "query ticket=tk_secret");
            tracing::debug!(target: "lambda_runtime", "next invocation");
            tracing::trace!(target: "trustplane_core", "our own trace");
        });
        let logged = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert!(!logged.contains("tp_secret") && !logged.contains("tk_secret"), "{logged}");
        assert!(logged.contains("next invocation") && logged.contains("our own trace"), "{logged}");
    }
}
