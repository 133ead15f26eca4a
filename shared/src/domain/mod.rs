//! Newtypes parsed at the boundary; services never see raw strings.

mod agent_id;
mod blob_key;
mod certname;
mod scope;
mod tenant;

pub use agent_id::AgentId;
pub use blob_key::BlobKey;
pub use certname::Certname;
pub use scope::{Scope, Scopes};
pub use tenant::{DbName, Plan, Slug, TenantName};
