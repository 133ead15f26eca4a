//! The default issuing authority: what agent provisioning (seed 000) and the Puppet CA
//! (seed 001) sign with. `DEFAULT_ISSUER_ID` names it on AWS; `serve` (and `admin init-ca`)
//! create a root and an issuing intermediate on first start and record it as
//! `SETTING#default-issuer`/`SETTING`.
//!
//! First starts that overlap take turns, so a deployment never gets two hierarchies: the first
//! claims the setting item with a conditional put (a claim with a lease) and creates the
//! hierarchy; the others wait until it is recorded, or take the claim over once its lease has
//! run out (its holder died). A store that cannot be read is an error, never "no issuer yet".

use crate::config::Config;
use crate::error::{Error, Result};
use crate::pki::SubjectName;
use crate::ports::{Condition, Item, Store};
use crate::services::pki::{AuthorityType, KeySpec, NewAuthority, Pki};
use serde_json::json;
use std::time::Duration;

const SETTING_PK: &str = "SETTING#default-issuer";
const SETTING_SK: &str = "SETTING";
/// The setting item's state while a first start creates the hierarchy.
const CREATING: &str = "creating";
/// How long a claim keeps other first starts waiting before they may take it over; creating
/// the hierarchy takes seconds.
const CLAIM_LEASE_SECONDS: i64 = 60;
/// How often a waiting first start reads the setting again.
const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// How long a first start waits for others in all: a lease, and another one in case the
/// hierarchy's creator was itself taken over.
const MAX_WAIT: Duration = Duration::from_secs(2 * CLAIM_LEASE_SECONDS as u64);

/// The setting item, read.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Setting {
    /// No default issuer, and nobody creating one.
    Missing,
    /// A first start is creating the hierarchy: the item's version and the claim's lease end
    /// (unix seconds).
    Claimed { version: u64, until: i64 },
    /// The default issuer's authority id.
    Recorded(String),
}

impl Setting {
    fn of(item: Option<Item>) -> Result<Setting> {
        let Some(item) = item else { return Ok(Setting::Missing) };
        if let Some(id) = item.data["authorityId"].as_str() {
            return Ok(Setting::Recorded(id.to_owned()));
        }
        let until = item.data["claimUntil"].as_i64().ok_or_else(|| Error::internal("the default issuer setting names no authority and no claim"))?;
        Ok(Setting::Claimed { version: item.version, until })
    }
}

async fn read_setting(store: &dyn Store) -> Result<Setting> {
    Setting::of(store.get(SETTING_PK, SETTING_SK).await?)
}

/// The configured or recorded default issuer's id; 503 when there is none (yet), and the
/// store's own error when the setting cannot be read.
pub async fn default_issuer(config: &Config, store: &dyn Store) -> Result<String> {
    if let Some(id) = &config.default_issuer_id {
        return Ok(id.clone());
    }
    match read_setting(store).await? {
        Setting::Recorded(id) => Ok(id),
        Setting::Claimed { .. } => Err(Error::Unavailable("the default issuing authority is being created".into())),
        Setting::Missing => Err(Error::Unavailable("no default issuing authority (set DEFAULT_ISSUER_ID)".into())),
    }
}

/// Creates "Trustplane Root CA" (EC P-256, pathLen 1, 10 years) and "Trustplane Issuing CA"
/// (EC P-256, pathLen 0, 5 years) unless a default issuer is configured or recorded; returns
/// its id. Concurrent callers over one store create one hierarchy between them (see the
/// module docs); a store error is returned as it is, and creates nothing.
pub async fn ensure_default_hierarchy(pki: &Pki, config: &Config, store: &dyn Store) -> Result<String> {
    if let Some(id) = &config.default_issuer_id {
        return Ok(id.clone());
    }
    let deadline = tokio::time::Instant::now() + MAX_WAIT;
    loop {
        let claimed = match read_setting(store).await? {
            Setting::Recorded(id) => return Ok(id),
            Setting::Missing => claim(store, Condition::Absent, 1).await?,
            Setting::Claimed { version, until } if until <= unix_now() => claim(store, Condition::Version(version), version + 1).await?,
            Setting::Claimed { .. } => None,
        };
        if let Some(version) = claimed {
            if let Some(id) = create_and_record(pki, store, version).await? {
                return Ok(id);
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Unavailable("another process has been creating the default issuing authority for too long".into()));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Puts a claim on the setting at `version` if `condition` holds; `Some(version)` if this
/// caller now holds it, `None` if another got there first.
async fn claim(store: &dyn Store, condition: Condition, version: u64) -> Result<Option<u64>> {
    let mut item = Item::new(SETTING_PK, SETTING_SK, json!({ "claimId": uuid::Uuid::new_v4().to_string(), "claimUntil": unix_now() + CLAIM_LEASE_SECONDS }));
    item.state = Some(CREATING.into());
    item.version = version;
    match store.put(item, condition).await {
        Ok(()) => Ok(Some(version)),
        Err(Error::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates the hierarchy under the claim at `claim_version` and records its issuing CA;
/// `None` if the claim was taken over meanwhile (this caller's lease ran out), in which case
/// the hierarchy made here is left unused. On failure the claim is given up at once.
async fn create_and_record(pki: &Pki, store: &dyn Store, claim_version: u64) -> Result<Option<String>> {
    let created = async {
        let root = authority(pki, "Trustplane Root CA", AuthorityType::Root, None, 10, 1).await?;
        let issuing = authority(pki, "Trustplane Issuing CA", AuthorityType::Intermediate, Some(root.clone()), 5, 0).await?;
        Ok::<_, Error>((root, issuing))
    }
    .await;
    let (root, issuing) = match created {
        Ok(ids) => ids,
        Err(e) => {
            release(store, claim_version).await;
            return Err(e);
        }
    };
    let mut setting = Item::new(SETTING_PK, SETTING_SK, json!({ "authorityId": issuing }));
    setting.version = claim_version + 1;
    match store.put(setting, Condition::Version(claim_version)).await {
        Ok(()) => Ok(Some(issuing)),
        Err(Error::Conflict(_)) => {
            tracing::warn!(root_id = %root, issuing_id = %issuing, "the default issuer claim was taken over before it was recorded; this hierarchy stays unused");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Gives up the claim at `version` so that a retry need not wait for its lease.
async fn release(store: &dyn Store, version: u64) {
    if let Err(e) = store.delete(SETTING_PK, SETTING_SK, Condition::Version(version)).await {
        tracing::warn!(error = %e, "could not give up the default issuer claim; it lapses with its lease");
    }
}

async fn authority(pki: &Pki, cn: &str, kind: AuthorityType, parent: Option<String>, years: u32, path_len: u32) -> Result<String> {
    let subject = pki.create_subject(SubjectName::parse(SubjectName {
        common_name: cn.into(),
        organization: Some("Trustplane".into()),
        organizational_unit: None,
        country: None,
        state: None,
        locality: None,
        email: None,
    })?).await?;
    let new = NewAuthority {
        subject_id: subject.id,
        kind: Some(kind),
        parent_authority_id: parent,
        key_spec: Some(KeySpec { algorithm: "EC".into(), size: 256 }),
        validity_years: Some(years),
        path_len_constraint: Some(path_len),
        crl_distribution_point: None,
        ocsp_responder_url: None,
    };
    Ok(pki.create_authority(new).await?.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(data: serde_json::Value, version: u64) -> Option<Item> {
        let mut item = Item::new(SETTING_PK, SETTING_SK, data);
        item.version = version;
        Some(item)
    }

    #[test]
    fn a_setting_reads_as_missing_claimed_or_recorded() {
        assert_eq!(Setting::of(None).unwrap(), Setting::Missing);
        assert_eq!(Setting::of(item(json!({ "claimId": "c", "claimUntil": 7 }), 3)).unwrap(), Setting::Claimed { version: 3, until: 7 });
        assert_eq!(Setting::of(item(json!({ "authorityId": "a" }), 4)).unwrap(), Setting::Recorded("a".into()));
        assert!(matches!(Setting::of(item(json!({}), 1)), Err(Error::Internal(_))));
    }
}
