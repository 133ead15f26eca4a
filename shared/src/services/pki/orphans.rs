//! Custody keys no authority holds: keys tagged orphan when their authority could not be
//! stored (see [`Pki::create_authority_with`]), and keys whose owner names no stored authority
//! (a process that died between creating the key and storing the authority).

use super::{is_id, Pki};
use crate::error::Result;
use crate::ports::CustodyKey;
use serde::Serialize;
use std::collections::HashSet;

/// A custody key no authority holds, and why it is listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrphanKey {
    #[serde(flatten)]
    pub key: CustodyKey,
    /// `tagged` (marked orphan when its authority was not stored) or `untracked` (its owner
    /// names no stored authority: an authority being created right now looks the same).
    pub reason: &'static str,
}

impl Pki {
    /// The enabled custody keys no stored authority holds.
    pub async fn orphan_keys(&self) -> Result<Vec<OrphanKey>> {
        let authorities = self.all_authorities().await?;
        let held: HashSet<String> = authorities.iter().map(|a| a.key.key_ref.clone()).collect();
        let owners: HashSet<String> = authorities.into_iter().map(|a| a.id).collect();
        let keys = self.ports.custody.list_keys().await?;
        Ok(keys
            .into_iter()
            .filter(|k| k.enabled && !held.contains(&k.key_ref))
            .filter_map(|key| {
                let untracked = key.owner.as_deref().is_some_and(|o| is_id(o) && !owners.contains(o));
                let reason = if key.orphan { "tagged" } else if untracked { "untracked" } else { return None };
                Some(OrphanKey { key, reason })
            })
            .collect())
    }

    /// Schedules the deletion of every key tagged orphan that no authority holds; returns them.
    pub async fn discard_tagged_orphans(&self) -> Result<Vec<OrphanKey>> {
        let tagged: Vec<OrphanKey> = self.orphan_keys().await?.into_iter().filter(|k| k.reason == "tagged").collect();
        for orphan in &tagged {
            self.ports.custody.discard_key(&orphan.key.key_ref).await?;
            tracing::warn!(key_ref = %orphan.key.key_ref, owner = ?orphan.key.owner, "orphan CA key scheduled for deletion");
        }
        Ok(tagged)
    }
}
