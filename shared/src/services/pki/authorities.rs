//! Certification authorities (seed 004 §2): promoting a subject to a root or an intermediate,
//! the policy rules (RFC 5280 §4.2.1.9 path length, validity nesting) and chains.

use super::records::{decode, item, AuthorityRecord, AuthorityStatus, AuthorityType, KeySpec, Policy};
use super::{is_id, new_id, now, Pki};
use crate::error::{Error, Result};
use crate::pki::ca::{self, CaProfile};
use crate::pki::{CaSigner, IssuedCert, IssuerRef, Serial, SubjectName};
use crate::ports::{Condition, KeyAlgorithm, KeyHandle};
use time::{Duration, OffsetDateTime};

const INDEX_PK: &str = "AUTHS";
const MAX_CHAIN: usize = 16;

fn pk(id: &str) -> String {
    format!("AUTH#{id}")
}

/// A request to promote a subject to an authority (seed 004 `POST /authorities`), before the
/// rules are applied. Omitted: `keySpec` → EC P-256; `validityYears` → 10 for a root, 5 for
/// an intermediate; `pathLenConstraint` → unconstrained for a root, the parent's − 1 for an
/// intermediate; `crlDistributionPoint` → `<CRL_BASE_URL>/crl/<authorityId>.crl`.
#[derive(Clone, Debug, Default)]
pub struct NewAuthority {
    pub subject_id: String,
    pub kind: Option<AuthorityType>,
    pub parent_authority_id: Option<String>,
    pub key_spec: Option<KeySpec>,
    pub validity_years: Option<u32>,
    pub path_len_constraint: Option<u32>,
    pub crl_distribution_point: Option<String>,
    pub ocsp_responder_url: Option<String>,
}

/// An authority ready to sign: its record, certificate DER and custody signer.
#[derive(Clone)]
pub(crate) struct Signing {
    pub record: AuthorityRecord,
    pub der: Vec<u8>,
    pub signer: CaSigner,
}

impl Signing {
    /// The issuer as the PKI core wants it, carrying the authority's CRL DP and OCSP URL.
    pub fn issuer(&self) -> IssuerRef<'_> {
        IssuerRef {
            cert_der: &self.der,
            signer: &self.signer,
            crl_distribution_point: Some(&self.record.policy.crl_distribution_point),
            ocsp_responder_url: self.record.policy.ocsp_responder_url.as_deref(),
        }
    }
}

/// What `create_authority` decided before any key exists.
struct Plan {
    kind: AuthorityType,
    algorithm: KeyAlgorithm,
    parent: Option<AuthorityRecord>,
    path_len: Option<u8>,
    validity_years: u16,
    not_after: OffsetDateTime,
}

fn url(field: &str, raw: Option<&String>) -> Result<Option<String>> {
    let Some(raw) = raw.map(|r| r.trim()).filter(|r| !r.is_empty()) else { return Ok(None) };
    let ok = (raw.starts_with("http://") || raw.starts_with("https://")) && raw.len() <= 2048 && !raw.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then(|| Some(raw.to_owned())).ok_or_else(|| Error::validation(format!("policy.{field} must be an http(s) URL")))
}

fn add_years(t: OffsetDateTime, years: u16) -> Result<OffsetDateTime> {
    let year = t.year() + i32::from(years);
    t.replace_year(year).or_else(|_| (t - Duration::days(1)).replace_year(year)).map_err(Error::internal)
}

fn path_len(requested: Option<u32>, parent: Option<&AuthorityRecord>) -> Result<Option<u8>> {
    let requested = requested.map(|p| u8::try_from(p).map_err(|_| Error::validation("policy.pathLenConstraint must be 0..=255"))).transpose()?;
    let Some(parent) = parent else { return Ok(requested) };
    match (parent.path_len_constraint, requested) {
        (Some(0), _) => Err(Error::Unprocessable(format!("parent authority {} has pathLenConstraint 0 and cannot sign a CA", parent.id))),
        (Some(p), Some(c)) if c >= p => Err(Error::Unprocessable(format!("pathLenConstraint {c} must be less than the parent authority's {p}"))),
        (Some(p), None) => Ok(Some(p - 1)),
        (_, child) => Ok(child),
    }
}

impl Pki {
    /// Promotes a subject to a root (new custody key, self-signed) or an intermediate (new
    /// custody key, signed by its ACTIVE parent within the parent's path length and validity),
    /// then publishes its first, empty CRL.
    pub async fn create_authority(&self, new: NewAuthority) -> Result<AuthorityRecord> {
        let plan = self.plan(&new).await?;
        let subject = self.referenced_subject(&new.subject_id).await?;
        let id = new_id();
        let policy = Policy {
            validity_years: plan.validity_years,
            path_len_constraint: plan.path_len,
            crl_distribution_point: url("crlDistributionPoint", new.crl_distribution_point.as_ref())?
                .unwrap_or_else(|| format!("{}/crl/{id}.crl", self.config.crl_base_url.trim_end_matches('/'))),
            ocsp_responder_url: url("ocspResponderUrl", new.ocsp_responder_url.as_ref())?,
        };
        let key = self.create_key(&id, plan.algorithm).await?;
        let cert = self.sign_ca(&plan, &subject.name, &key).await?;
        let record = AuthorityRecord {
            id: id.clone(),
            subject_id: subject.id,
            kind: plan.kind,
            status: AuthorityStatus::Active,
            parent_authority_id: plan.parent.map(|p| p.id),
            key,
            certificate_der: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &cert.der),
            serial_number: cert.serial.to_hex(),
            thumbprint: cert.thumbprint,
            not_before: cert.not_before,
            not_after: cert.not_after,
            path_len_constraint: plan.path_len,
            policy,
            created_at: now(),
        };
        let mut stored = item(pk(&id), "AUTH", Some((INDEX_PK.into(), id.clone())), &record)?;
        stored.state = Some("active".into());
        self.ports.store.put(stored, Condition::Absent).await?;
        self.publish_first_crl(&id).await?;
        Ok(record)
    }

    async fn plan(&self, new: &NewAuthority) -> Result<Plan> {
        let kind = new.kind.ok_or_else(|| Error::validation("type must be ROOT or INTERMEDIATE"))?;
        let algorithm = new.key_spec.as_ref().map(KeySpec::parse).transpose()?.unwrap_or(KeyAlgorithm::EcP256);
        let default_years = if kind == AuthorityType::Root { 10 } else { 5 };
        let validity_years = new.validity_years.unwrap_or(default_years);
        if !(1..=30).contains(&validity_years) {
            return Err(Error::validation("policy.validityYears must be between 1 and 30"));
        }
        let validity_years = validity_years as u16;
        let parent = match (kind, new.parent_authority_id.as_deref()) {
            (AuthorityType::Root, None) => None,
            (AuthorityType::Root, Some(_)) => return Err(Error::validation("a ROOT authority has no parentAuthorityId")),
            (AuthorityType::Intermediate, None) => return Err(Error::validation("parentAuthorityId is required for an INTERMEDIATE authority")),
            (AuthorityType::Intermediate, Some(parent)) => Some(self.active_parent(parent).await?),
        };
        let path_len = path_len(new.path_len_constraint, parent.as_ref())?;
        let not_after = add_years(now(), validity_years)?;
        if let Some(p) = parent.as_ref().filter(|p| not_after > p.not_after) {
            return Err(Error::Unprocessable(format!(
                "validityYears {validity_years} would outlast the parent authority {}, valid until {}",
                p.id,
                super::rfc3339(p.not_after)
            )));
        }
        Ok(Plan { kind, algorithm, parent, path_len, validity_years, not_after })
    }

    /// A new custody key; RSA generation (seconds of CPU in embedded custody) runs behind the
    /// process-wide [`cpu`](super::cpu) limit, so a refused request creates nothing.
    async fn create_key(&self, id: &str, algorithm: KeyAlgorithm) -> Result<KeyHandle> {
        if !algorithm.is_rsa() {
            return self.ports.custody.create_key(id, algorithm).await;
        }
        let (custody, id) = (self.ports.custody.clone(), id.to_owned());
        super::cpu::process().run("RSA key generation", async move { custody.create_key(&id, algorithm).await }).await
    }

    async fn active_parent(&self, id: &str) -> Result<AuthorityRecord> {
        let parent = self.find_authority(id).await?.ok_or_else(|| Error::Unprocessable(format!("parentAuthorityId {id:?} does not name a known authority")))?;
        if parent.status != AuthorityStatus::Active {
            return Err(Error::Conflict(format!("parent authority {id} is not ACTIVE")));
        }
        Ok(parent)
    }

    async fn sign_ca(&self, plan: &Plan, subject: &SubjectName, key: &KeyHandle) -> Result<IssuedCert> {
        let signer = self.ports.custody.signer(key).await?;
        let now = now();
        let profile = CaProfile { subject, serial: Serial::random(), not_before: now - Duration::seconds(60), not_after: plan.not_after, path_len: plan.path_len };
        match &plan.parent {
            None => ca::self_signed_root(&profile, &signer),
            Some(parent) => {
                let issuer = self.signing(parent.clone()).await?;
                ca::intermediate(&profile, &signer, &issuer.issuer())
            }
        }
    }

    /// The authority, or 404.
    pub async fn get_authority(&self, id: &str) -> Result<AuthorityRecord> {
        self.find_authority(id).await?.ok_or_else(|| Error::NotFound(format!("authority {id}")))
    }

    /// A page of authorities in creation order.
    pub async fn list_authorities(&self, limit: u32, cursor: Option<String>) -> Result<(Vec<AuthorityRecord>, Option<String>)> {
        let page = self.index_page(INDEX_PK.into(), limit, cursor).await?;
        let authorities = page.items.iter().map(decode).collect::<Result<Vec<_>>>()?;
        Ok((authorities, page.cursor))
    }

    /// Every authority, in creation order.
    pub async fn all_authorities(&self) -> Result<Vec<AuthorityRecord>> {
        let (mut all, mut cursor) = self.list_authorities(super::MAX_PAGE, None).await?;
        while let Some(next) = cursor {
            let (more, after) = self.list_authorities(super::MAX_PAGE, Some(next)).await?;
            all.extend(more);
            cursor = after;
        }
        Ok(all)
    }

    /// The DER certificates from `authority_id` up to its root: authority first, root last
    /// (RFC 8555 §9.1 order, without a leaf).
    pub async fn chain(&self, authority_id: &str) -> Result<Vec<Vec<u8>>> {
        let mut current = self.get_authority(authority_id).await?;
        let mut chain = vec![current.der()?];
        while let Some(parent) = current.parent_authority_id.clone() {
            if chain.len() >= MAX_CHAIN {
                return Err(Error::internal(format!("authority {authority_id} has a chain longer than {MAX_CHAIN}")));
            }
            current = self.find_authority(&parent).await?.ok_or_else(|| Error::internal(format!("authority {} names a missing parent {parent}", current.id)))?;
            chain.push(current.der()?);
        }
        Ok(chain)
    }

    pub(crate) async fn find_authority(&self, id: &str) -> Result<Option<AuthorityRecord>> {
        if !is_id(id) {
            return Ok(None);
        }
        self.ports.store.get(&pk(id), "AUTH").await?.as_ref().map(decode).transpose()
    }

    pub(crate) async fn signing(&self, record: AuthorityRecord) -> Result<Signing> {
        let der = record.der()?;
        let signer = self.ports.custody.signer(&record.key).await?;
        Ok(Signing { record, der, signer })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parent(path_len: Option<u8>) -> AuthorityRecord {
        let json = serde_json::json!({
            "id": "p", "subjectId": "s", "type": "ROOT", "status": "ACTIVE", "parentAuthorityId": null,
            "key": { "key_ref": "k", "algorithm": "EC_P256" }, "certificateDer": "", "serialNumber": "01", "thumbprint": "",
            "notBefore": "2026-01-01T00:00:00Z", "notAfter": "2036-01-01T00:00:00Z", "pathLenConstraint": path_len,
            "policy": { "validityYears": 10, "pathLenConstraint": path_len, "crlDistributionPoint": "http://x/crl/p.crl", "ocspResponderUrl": null },
            "createdAt": "2026-01-01T00:00:00Z",
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_child_path_len_must_stay_below_its_parents_and_defaults_to_one_less() {
        assert!(matches!(path_len(None, Some(&parent(Some(0)))), Err(Error::Unprocessable(m)) if m.contains("cannot sign a CA")));
        assert!(matches!(path_len(Some(2), Some(&parent(Some(2)))), Err(Error::Unprocessable(_))));
        assert_eq!(path_len(None, Some(&parent(Some(2)))).unwrap(), Some(1));
        assert_eq!(path_len(Some(5), Some(&parent(None))).unwrap(), Some(5));
        assert_eq!(path_len(None, None).unwrap(), None);
        assert!(matches!(path_len(Some(256), None), Err(Error::Validation(_))));
    }

    #[test]
    fn validity_years_land_on_the_same_day_and_feb_29_falls_back_to_feb_28() {
        let leap = time::macros::datetime!(2028-02-29 12:00 UTC);
        assert_eq!(add_years(leap, 1).unwrap(), time::macros::datetime!(2029-02-28 12:00 UTC));
        assert_eq!(add_years(leap, 4).unwrap(), time::macros::datetime!(2032-02-29 12:00 UTC));
    }

    #[test]
    fn policy_urls_must_be_http_or_https() {
        assert_eq!(url("x", Some(&"https://pki.example/crl/a.crl".into())).unwrap().as_deref(), Some("https://pki.example/crl/a.crl"));
        assert_eq!(url("x", Some(&"  ".into())).unwrap(), None);
        for bad in ["ftp://x", "http://a b", "javascript:alert(1)"] {
            assert!(url("x", Some(&bad.to_owned())).is_err(), "{bad}");
        }
    }
}
