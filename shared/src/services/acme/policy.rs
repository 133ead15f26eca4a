//! Per-authority ACME policy: whether its server requires an external account binding and
//! how long what it issues is valid, each defaulting to the deployment's settings
//! (`ACME_EAB_REQUIRED`, `ACME_CERT_VALIDITY_DAYS`). Which names it issues for is the
//! authority's issuance policy and name constraints, as for every group.

use super::records::{decode, item};
use super::Acme;
use crate::error::{Error, Result};
use crate::ports::Condition;
use serde::{Deserialize, Serialize};

/// What an operator set for one authority's ACME server; unset fields take the settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcmePolicy {
    #[serde(default)]
    pub eab_required: Option<bool>,
    #[serde(default)]
    pub validity_days: Option<u32>,
}

/// The policy an authority's server follows, defaults filled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EffectivePolicy {
    pub eab_required: bool,
    pub validity_days: u32,
}

fn policy_key(authority_id: &str) -> String {
    format!("ACMEPOLICY#{authority_id}")
}

impl Acme {
    /// The policy stored for `authority_id` (all unset if none).
    pub async fn stored_policy(&self, authority_id: &str) -> Result<AcmePolicy> {
        Ok(self.ports.store.get(&policy_key(authority_id), "POLICY").await?.as_ref().map(decode).transpose()?.unwrap_or_default())
    }

    /// The policy `authority_id`'s server follows.
    pub async fn policy(&self, authority_id: &str) -> Result<EffectivePolicy> {
        let stored = self.stored_policy(authority_id).await?;
        Ok(EffectivePolicy {
            eab_required: stored.eab_required.unwrap_or(self.settings.eab_required),
            validity_days: stored.validity_days.unwrap_or(self.settings.validity_days),
        })
    }

    /// [`Acme::policy`] for the admin API: 404 if the authority is unknown.
    pub async fn authority_policy(&self, authority_id: &str) -> Result<EffectivePolicy> {
        self.pki.get_authority(authority_id).await?;
        self.policy(authority_id).await
    }

    /// Replaces the ACME policy of `authority_id` (404 if unknown); `validityDays` 1–3650.
    pub async fn set_policy(&self, authority_id: &str, policy: AcmePolicy) -> Result<AcmePolicy> {
        if policy.validity_days.is_some_and(|d| !(1..=3650).contains(&d)) {
            return Err(Error::validation("validityDays must be between 1 and 3650"));
        }
        self.pki.get_authority(authority_id).await?;
        self.ports.store.put(item(policy_key(authority_id), "POLICY", None, &policy)?, Condition::Always).await?;
        Ok(policy)
    }
}
