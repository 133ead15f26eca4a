//! The state every endpoint group's router carries.

use crate::config::Config;
use crate::services::api_keys::ApiKeys;
use crate::wiring::Ports;
use std::sync::Arc;

/// Configuration, ports and the shared services, built once at start.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub ports: Ports,
    pub api_keys: ApiKeys,
}

impl AppState {
    /// Builds the state over already-opened ports.
    pub fn new(config: Config, ports: Ports) -> Self {
        let api_keys = ApiKeys::new(ports.store.clone());
        AppState { config: Arc::new(config), ports, api_keys }
    }
}
