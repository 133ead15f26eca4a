//! Domain logic over the ports; no HTTP and no SDK types here.

pub mod acme;
pub mod api_keys;
pub mod pki;
pub mod default_issuer;
pub mod devices;
pub mod provisioning;
pub mod puppet_ca;
pub mod rate_limit;
pub mod tenants;
