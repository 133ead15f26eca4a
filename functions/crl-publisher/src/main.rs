use crl_publisher::{function_handler, CrlWorker};
use std::sync::Arc;
use trustplane_core::adapters::http01::HttpFetcher;
use trustplane_core::config::Config;
use trustplane_core::services::acme::{Acme, AcmeSettings};
use trustplane_core::services::pki::Pki;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = Arc::new(Config::from_env()?);
    trustplane_core::telemetry::init(config.log_format);
    let (ports, _) = trustplane_core::wiring::open(&config).await?;
    let acme = Acme::new(ports.clone(), config.clone(), Arc::new(AcmeSettings::from_env()?), Arc::new(HttpFetcher::new()));
    let worker = CrlWorker::new(Pki::new(ports, config)).with_acme(acme);
    lambda_runtime::run(lambda_runtime::service_fn(|event| function_handler(&worker, event))).await
}
