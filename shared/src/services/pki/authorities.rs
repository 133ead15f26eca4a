//! Certification authorities (seed 004 §2): promoting a subject to a root or an intermediate,
//! the policy rules (RFC 5280 §4.2.1.9 path length, validity nesting) and chains.

use super::records::{decode, item, AuthorityRecord, AuthorityStatus, AuthorityType, KeySpec, Policy};
use super::{is_id, new_id, now, Pki};
use crate::error::{Error, Result};
use crate::pki::ca::{self, CaProfile};
use crate::pki::{CaSigner, IssuedCert, IssuerRef, Serial, SubjectName};
use crate::ports::{Condition, KeyAlgorithm, KeyHandle, Write};
use super::policy::IssuancePolicy;
use super::tokens::Claimed;
use time::{Duration, OffsetDateTime};

const INDEX_PK: &str = "AUTHS";
const MAX_CHAIN: usize = 16;

fn pk(id: &str) -> String {
    format!("AUTH#{id}")
}

/// A request to promote a subject to an authority (seed 004 `POST /authorities`), before the
/// rules are applied. Omitted: `keySpec` → EC P-256; `validityYears` → 10 for a root, 5 for
/// an intermediate; `pathLenConstraint` → unconstrained for a root, the parent's − 1 for an
/// intermediate; `crlDistributionPoint` (where the new authority's own certificate is
/// checked, written into it by its parent) → the parent's published CRL.
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

/// What [`Pki::create_authority_with`] takes beyond seed 004's request.
#[derive(Clone, Debug, Default)]
pub struct AuthorityOptions {
    pub issuance: IssuancePolicy,
    /// Makes the creation idempotent: 1..=64 characters `[A-Za-z0-9._:-]`.
    pub client_token: Option<String>,
    /// RFC 5280 §4.2.1.10 name constraints for the new CA certificate.
    pub name_constraints: crate::pki::constraints::NameConstraints,
}

/// An authority ready to sign: its record, certificate DER, custody signer and the URL its
/// CRL is published at.
#[derive(Clone)]
pub(crate) struct Signing {
    pub record: AuthorityRecord,
    pub der: Vec<u8>,
    pub signer: CaSigner,
    pub crl_url: String,
    /// Its OCSP responder, for the AIA of what it signs (`OCSP_BASE_URL`).
    pub ocsp_url: Option<String>,
}

impl Signing {
    /// The issuer of end-entity certificates and CRLs: what it signs names the CRL it really
    /// publishes (RFC 5280 §4.2.1.13), whatever its own policy says.
    pub fn issuer(&self) -> IssuerRef<'_> {
        IssuerRef { cert_der: &self.der, signer: &self.signer, crl_distribution_point: Some(&self.crl_url), ocsp_responder_url: self.ocsp_url.as_deref() }
    }

    /// The issuer of a child CA certificate: the child's policy says where the child is
    /// checked (CRL DP §4.2.1.13, OCSP AIA §4.2.2.1); without one, this authority's CRL.
    pub fn issuer_of<'a>(&'a self, child: &'a Policy) -> IssuerRef<'a> {
        IssuerRef {
            cert_der: &self.der,
            signer: &self.signer,
            crl_distribution_point: Some(child.crl_distribution_point.as_deref().unwrap_or(&self.crl_url)),
            ocsp_responder_url: child.ocsp_responder_url.as_deref(),
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

/// The record of a new authority.
fn assemble(id: String, subject_id: String, plan: Plan, key: KeyHandle, cert: IssuedCert, policy: Policy, client_token: Option<String>) -> AuthorityRecord {
    let inherited_constraints = plan.parent.as_ref().map(|p| p.chain_constraints().into_iter().cloned().collect()).unwrap_or_default();
    AuthorityRecord {
        id,
        subject_id,
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
        revocation: None,
        inherited_constraints,
        client_token,
    }
}

impl Pki {
    /// Promotes a subject to a root or an intermediate with the default issuance policy and
    /// no client token; see [`Pki::create_authority_with`].
    pub async fn create_authority(&self, new: NewAuthority) -> Result<AuthorityRecord> {
        self.create_authority_with(new, AuthorityOptions::default()).await
    }

    /// Promotes a subject to a root (new custody key, self-signed) or an intermediate (new
    /// custody key, signed by its ACTIVE parent within the parent's path length and validity),
    /// then publishes its first, empty CRL. With a client token the call is idempotent: a
    /// repeated request answers the authority the first one created. A key whose authority
    /// could not be stored is tagged orphan in custody for `trustplane admin orphan-keys`.
    pub async fn create_authority_with(&self, new: NewAuthority, options: AuthorityOptions) -> Result<AuthorityRecord> {
        let plan = self.plan(&new).await?;
        let subject = self.referenced_subject(&new.subject_id).await?;
        let policy = Policy {
            validity_years: plan.validity_years,
            path_len_constraint: plan.path_len,
            crl_distribution_point: url("crlDistributionPoint", new.crl_distribution_point.as_ref())?,
            ocsp_responder_url: url("ocspResponderUrl", new.ocsp_responder_url.as_ref())?,
            issuance: options.issuance.validated()?,
            name_constraints: options.name_constraints.validated()?,
        };
        let id = match options.client_token.as_deref() {
            Some(token) => match self.claim_token(token, &(&new, &policy.issuance)).await? {
                Claimed::Existing(record) => return Ok(*record),
                Claimed::Id(id) => id,
            },
            None => new_id(),
        };
        let key = self.create_key(&id, plan.algorithm).await?;
        let cert = match self.sign_ca(&plan, &subject.name, &key, &policy).await {
            Ok(cert) => cert,
            Err(e) => return Err(self.orphaned(&id, &key, e).await),
        };
        let record = assemble(id.clone(), subject.id, plan, key.clone(), cert, policy, options.client_token);
        if let Err(e) = self.store_new(&record).await {
            let e = self.orphaned(&id, &key, e).await;
            return match (&e, record.client_token.as_deref()) {
                (Error::Conflict(_), Some(_)) => self.get_authority(&id).await,
                _ => Err(e),
            };
        }
        self.publish_first_crl(&id).await?;
        Ok(record)
    }

    async fn store_new(&self, record: &AuthorityRecord) -> Result<()> {
        let mut stored = item(pk(&record.id), "AUTH", Some((INDEX_PK.into(), record.id.clone())), record)?;
        stored.state = Some(record.status.state().into());
        let mut writes = vec![Write::Put { item: stored, condition: Condition::Absent }];
        writes.extend(super::lifecycle::ca_certificate_writes(record)?);
        self.ports.store.transact(writes).await
    }

    /// Tags `key` orphan in custody (best effort) and hands back `cause`.
    async fn orphaned(&self, id: &str, key: &KeyHandle, cause: Error) -> Error {
        tracing::error!(authority_id = id, key_ref = %key.key_ref, error = %cause, "authority not stored; its new key is an orphan");
        if let Err(e) = self.ports.custody.mark_orphan(key).await {
            tracing::error!(authority_id = id, key_ref = %key.key_ref, error = %e, "could not tag the orphan key");
        }
        cause
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

    async fn sign_ca(&self, plan: &Plan, subject: &SubjectName, key: &KeyHandle, policy: &Policy) -> Result<IssuedCert> {
        let signer = self.ports.custody.signer(key).await?;
        let now = now();
        let profile = CaProfile { subject, serial: Serial::random(), not_before: now - Duration::seconds(60), not_after: plan.not_after, path_len: plan.path_len, name_constraints: Some(&policy.name_constraints) };
        match &plan.parent {
            None => ca::self_signed_root(&profile, &signer),
            Some(parent) => {
                let issuer = self.signing(parent.clone()).await?;
                ca::intermediate(&profile, &signer, &issuer.issuer_of(policy))
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
        self.chain_of(&self.get_authority(authority_id).await?).await
    }

    /// [`Pki::chain`] of an authority already read; the certificates above it come from the
    /// warm cache while its own certificate is unchanged.
    pub(crate) async fn chain_of(&self, authority: &AuthorityRecord) -> Result<Vec<Vec<u8>>> {
        let der = authority.der()?;
        if let Some(kept) = self.warm.chain(&authority.id, &der) {
            return Ok(kept);
        }
        let mut chain = vec![der];
        let mut current = authority.clone();
        while let Some(parent) = current.parent_authority_id.clone() {
            if chain.len() >= MAX_CHAIN {
                return Err(Error::internal(format!("authority {} has a chain longer than {MAX_CHAIN}", authority.id)));
            }
            current = self.find_authority(&parent).await?.ok_or_else(|| Error::internal(format!("authority {} names a missing parent {parent}", current.id)))?;
            chain.push(current.der()?);
        }
        self.warm.keep_chain(&authority.id, &chain);
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
        let crl_url = self.crl_url(&record.id);
        let ocsp_url = self.config.ocsp_base_url.as_deref().map(|base| format!("{}/ocsp/{}", base.trim_end_matches('/'), record.id));
        Ok(Signing { record, der, signer, crl_url, ocsp_url })
    }

    /// Where the authority's CRL is published: `<CRL_BASE_URL>/crl/<id>.crl`.
    pub fn crl_url(&self, authority_id: &str) -> String {
        format!("{}/crl/{authority_id}.crl", self.config.crl_base_url.trim_end_matches('/'))
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
