//! Delta CRLs (RFC 5280 §5.2.4), published at `crl/<authorityId>-delta.crl` alongside every
//! complete CRL but an authority's first.
//!
//! Each publication of complete CRL n also issues delta CRL n: the same number, as §5.2.4
//! requires of a complete and a delta CRL issued together, naming as its base the complete
//! CRL m that was stored before n replaced it, and listing every entry of n that m does not.
//! The delta is derived from the two signed CRLs, not from the revocation records, so base m
//! plus delta n carries exactly n's revocation information whatever was committed while n was
//! built. A relying party holding base m (or any later one) needs only the small delta.
//! The upload is the same compare-and-swap on the CRL number as the complete CRL's, so the
//! stored delta never goes backwards; a failed delta is logged, never fatal: complete CRL n
//! is already published, and a delta numbered at or below a base's is ignored with it.

use super::authorities::Signing;
use super::records::CrlState;
use super::Pki;
use crate::domain::BlobKey;
use crate::error::Result;
use crate::pki::crl::CrlProfile;
use crate::pki::{crl, delta_crl};
use time::Duration;

/// The blob key of an authority's published delta CRL.
pub fn delta_blob_key(authority_id: &str) -> Result<BlobKey> {
    BlobKey::parse(&format!("crl/{authority_id}-delta.crl"))
}

impl Pki {
    /// Where the authority's delta CRL is published, named by the Freshest CRL extension
    /// (§5.2.6) of its complete CRLs: `<CRL_BASE_URL>/crl/<id>-delta.crl`.
    pub fn delta_crl_url(&self, authority_id: &str) -> String {
        format!("{}/crl/{authority_id}-delta.crl", self.config.crl_base_url.trim_end_matches('/'))
    }

    /// A delta CRL's nextUpdate − thisUpdate: `CRL_DELTA_VALIDITY_HOURS`, or a quarter of
    /// `CRL_VALIDITY_HOURS`.
    pub(crate) fn delta_validity(&self) -> Duration {
        match self.config.crl_delta_validity_hours {
            Some(hours) => Duration::hours(i64::from(hours)),
            None => Duration::hours(i64::from(self.config.crl_validity_hours)) / 4,
        }
    }

    /// The complete CRL stored now, before the one being published replaces it: the base of
    /// the next delta. `None` when none was ever stored or it cannot be read.
    pub(super) async fn previous_base(&self, key: &BlobKey, may_exist: bool) -> Option<Vec<u8>> {
        if !may_exist {
            return None;
        }
        match self.ports.blobs.get(key).await {
            Ok(found) => found.filter(|der| crl::number(der).is_some()),
            Err(e) => {
                tracing::warn!(%key, error = %e, "the stored CRL cannot be read; no delta CRL this time");
                None
            }
        }
    }

    /// Issues and uploads delta CRL `state.number` naming `previous` as its base, for the
    /// just-published complete CRL `base` (see the module docs).
    pub(super) async fn publish_delta(&self, signing: &Signing, state: &CrlState, base: &[u8], previous: &[u8]) {
        let authority_id = signing.record.id.as_str();
        if let Err(e) = self.try_publish_delta(signing, state, base, previous).await {
            tracing::warn!(authority_id, number = state.number, error = %e, "delta CRL not published");
        }
    }

    async fn try_publish_delta(&self, signing: &Signing, state: &CrlState, base: &[u8], previous: &[u8]) -> Result<()> {
        let authority_id = signing.record.id.as_str();
        let base_number = crl::number(previous).unwrap_or(0);
        let entries = delta_crl::changes(base, previous)?;
        let profile = CrlProfile { number: state.number, this_update: state.this_update, next_update: state.this_update + self.delta_validity() };
        let der = delta_crl::build_delta(&profile, base_number, &entries, &signing.issuer())?;
        let key = delta_blob_key(authority_id)?;
        match self.upload(&key, &der, state.number, true).await? {
            Some(by) => tracing::info!(authority_id, number = state.number, by, "delta CRL superseded before its upload"),
            None => tracing::info!(authority_id, number = state.number, base_number, entries = entries.len(), "delta CRL published"),
        }
        Ok(())
    }
}
