//! Newtypes parsed at the boundary; services never see raw strings.

mod blob_key;
mod scope;

pub use blob_key::BlobKey;
pub use scope::{Scope, Scopes};
