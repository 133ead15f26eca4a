//! The default issuing authority: what agent provisioning (seed 000) and the Puppet CA
//! (seed 001) sign with. `DEFAULT_ISSUER_ID` names it on AWS; `serve` creates a root and an
//! issuing intermediate on first start and records it as `SETTING#default-issuer`/`SETTING`.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::pki::SubjectName;
use crate::ports::{Condition, Item, Store};
use crate::services::pki::{AuthorityType, KeySpec, NewAuthority, Pki};
use serde_json::json;

const SETTING_PK: &str = "SETTING#default-issuer";
const SETTING_SK: &str = "SETTING";

/// The configured or recorded default issuer's id; 503 when there is none.
pub async fn default_issuer(config: &Config, store: &dyn Store) -> Result<String> {
    if let Some(id) = &config.default_issuer_id {
        return Ok(id.clone());
    }
    let item = store.get(SETTING_PK, SETTING_SK).await?;
    item.and_then(|i| i.data["authorityId"].as_str().map(str::to_owned))
        .ok_or_else(|| Error::Unavailable("no default issuing authority (set DEFAULT_ISSUER_ID)".into()))
}

/// Creates "Trustplane Root CA" (EC P-256, pathLen 1, 10 years) and "Trustplane Issuing CA"
/// (EC P-256, pathLen 0, 5 years) unless a default issuer exists; returns its id.
pub async fn ensure_default_hierarchy(pki: &Pki, config: &Config, store: &dyn Store) -> Result<String> {
    if let Ok(id) = default_issuer(config, store).await {
        return Ok(id);
    }
    let root = authority(pki, "Trustplane Root CA", AuthorityType::Root, None, 10, 1).await?;
    let issuing = authority(pki, "Trustplane Issuing CA", AuthorityType::Intermediate, Some(root), 5, 0).await?;
    let setting = Item::new(SETTING_PK, SETTING_SK, json!({ "authorityId": issuing }));
    match store.put(setting, Condition::Absent).await {
        Ok(()) => Ok(issuing),
        Err(Error::Conflict(_)) => default_issuer(config, store).await,
        Err(e) => Err(e),
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
