//! Trustplane's common crate: configuration, the domain error, newtypes, ports and their AWS
//! and embedded adapters, the PKI core, services and the HTTP plumbing every function shares.

pub mod adapters;
pub mod clock;
pub mod config;
pub mod custody;
pub mod domain;
pub mod error;
pub mod http;
pub mod jobs;
pub mod metrics;
#[cfg(test)]
mod layering_tests;
pub mod pki;
pub mod ports;
pub mod services;
pub mod telemetry;
pub mod warm;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod wiring;

pub use error::{Error, Result};
