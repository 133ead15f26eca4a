//! Newtypes parsed at the boundary; services never see raw strings.

mod agent_id;
mod blob_key;
mod certname;
mod entity_id;
mod key_prefix;
mod listed_name;
mod mac;
mod paging;
mod scope;
mod tenant;

pub use agent_id::AgentId;
pub use blob_key::BlobKey;
pub use certname::Certname;
pub use entity_id::EntityId;
pub use key_prefix::KeyPrefix;
pub use listed_name::ListedName;
pub use mac::MacAddress;
pub use paging::{whole_number, Limit};
pub use scope::{Scope, Scopes};
pub use tenant::{DbName, Plan, Slug, TenantName};
