//! The `device-events` Lambda function: the SSE stream behind a Function URL in
//! `RESPONSE_STREAM` mode (API Gateway HTTP APIs cannot stream). Wiring only.

use trustplane_core::config::Config;
use trustplane_core::http::AppState;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let config = Config::from_env()?;
    trustplane_core::telemetry::init(config.log_format);
    let (ports, _) = trustplane_core::wiring::open(&config).await?;
    lambda_http::run_with_streaming_response(device_events::app(AppState::new(config, ports))).await
}
