use trustplane_core::config::Config;
use trustplane_core::http::AppState;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let config = Config::from_env()?;
    trustplane_core::telemetry::init(config.log_format);
    let (ports, _) = trustplane_core::wiring::open(&config).await?;
    lambda_http::run(devices_api::app(AppState::new(config, ports))).await
}
