//! Batch device provisioning (seed 002, PiDashboard client): allowlist, sessions, devices,
//! gateway reports, device certificates from the PKI core, and the event log the SSE
//! streams read.

pub mod allowlist;
pub mod bundle;
pub mod changes;
pub mod gateway;
pub mod records;
pub mod recovery;
pub mod secrets;
pub mod sessions;
pub mod worker;
pub mod events;
pub mod guard;
pub mod live;
pub mod network;
pub mod ticket;

pub use sessions::Devices;
