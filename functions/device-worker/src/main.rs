use device_worker::{function_handler, DeviceWorker};
use std::sync::Arc;
use trustplane_core::config::Config;
use trustplane_core::services::devices::Devices;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = Config::from_env()?;
    trustplane_core::telemetry::init(config.log_format);
    let (ports, _) = trustplane_core::wiring::open(&config).await?;
    let worker = DeviceWorker::new(Devices::new(&ports, Arc::new(config)));
    lambda_runtime::run(lambda_runtime::service_fn(|event| function_handler(&worker, event))).await
}
