//! Logging: JSON lines on Lambda (CloudWatch), human text locally.

use crate::config::LogFormat;

/// Installs the global subscriber once; `RUST_LOG` filters (default `info`).
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).without_time().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
