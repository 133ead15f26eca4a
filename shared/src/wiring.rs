//! The set of ports a function or `serve` runs on, chosen once at start from [`Config`].

use std::sync::Arc;

/// Every port, behind its narrow trait: what the adapters of the configured backend hand back.
pub use crate::adapters::AdapterPorts as Ports;

/// Opens the ports the configuration names. The embedded backend also returns its queue, which
/// `serve` drains in-process; on AWS, SQS triggers the worker functions instead.
pub async fn open(config: &crate::config::Config) -> crate::Result<(Ports, Option<Arc<crate::adapters::local::LocalQueue>>)> {
    match config.backend {
        crate::config::Backend::Aws => Ok((aws_ports(config).await?, None)),
        crate::config::Backend::Local => {
            let (ports, queue) = open_local(config)?;
            Ok((ports, Some(queue)))
        }
    }
}

/// The AWS backend's ports, the SDK configuration read from the environment
/// (see [`crate::adapters::aws::ports`]).
pub async fn aws_ports(config: &crate::config::Config) -> crate::Result<Ports> {
    Ok(crate::adapters::aws::ports(config).await?.into())
}

/// The AWS backend's ports from an explicit SDK configuration (tests, tools; see
/// [`crate::adapters::aws::ports_with`]).
pub fn aws_ports_with(sdk: &aws_config::SdkConfig, config: &crate::config::Config) -> crate::Result<Ports> {
    Ok(crate::adapters::aws::ports_with(sdk, config)?.into())
}

/// [`aws_ports_with`] whose SDK clients count their calls in `calls` (the call budget tests).
pub fn aws_ports_counted(sdk: &aws_config::SdkConfig, config: &crate::config::Config, calls: &crate::adapters::aws::AwsCalls) -> crate::Result<Ports> {
    Ok(crate::adapters::aws::ports_counted(sdk, config, calls)?.into())
}

/// The embedded backend's ports and its queue (see [`crate::adapters::local::open`]).
pub fn open_local(config: &crate::config::Config) -> crate::Result<(Ports, Arc<crate::adapters::local::LocalQueue>)> {
    let (parts, queue) = crate::adapters::local::open(config)?;
    Ok((parts.into(), queue))
}
