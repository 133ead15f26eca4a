use std::sync::Arc;
use tenant_worker::{function_handler, TenantWorker};
use trustplane_core::config::Config;
use trustplane_core::services::tenants::Tenants;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = Config::from_env()?;
    trustplane_core::telemetry::init(config.log_format);
    let (ports, _) = trustplane_core::wiring::open(&config).await?;
    let worker = TenantWorker::new(Tenants::new(&ports, Arc::new(config)));
    lambda_runtime::run(lambda_runtime::service_fn(|event| function_handler(&worker, event))).await
}
