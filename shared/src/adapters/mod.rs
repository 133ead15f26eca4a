//! Port implementations: `aws` (the SDKs) and `local` (embedded).

pub mod aws;
pub mod local;
pub mod sealed_cursors;
pub mod tenant_data;
pub mod webhook;
