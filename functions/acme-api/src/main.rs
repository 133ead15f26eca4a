use trustplane_core::config::Config;
use trustplane_core::http::AppState;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let config = Config::from_env()?;
    trustplane_core::telemetry::init(config.log_format);
    let (ports, _) = trustplane_core::wiring::open(&config).await?;
    let state = acme_api::AcmeState::from_env(AppState::new(config, ports))?;
    lambda_http::run(acme_api::app(state)).await
}
