//! The OCSP responder (RFC 6960) of every authority. Responses are signed by a delegated
//! responder (§4.2.2.2): a key in custody per authority (`<authorityId>-ocsp`), certified by
//! the authority for [`RESPONDER_VALIDITY`]. Once two thirds of it have passed the responder
//! is rotated: a new key is created in custody, certified, and the old key discarded (KMS:
//! scheduled for deletion; key files: removed), so a responder key signs for at most
//! [`RESPONDER_VALIDITY`] and the CA key signs a responder certificate a few times a month.
//!
//! Layout: `OCSP#<authorityId>` / `RESPONDER` ([`Responder`], versioned: the version is the
//! responder's generation); pre-signed answers in the blob store under `ocsp/` ([`CACHE_FOR`]),
//! each tagged with the generation that signed it, so a rotation invalidates them all.

use super::records::{AuthorityStatus, CertStatus};
use super::{now, Pki};
use crate::error::{Error, Result};
use crate::pki::leaf::LeafKey;
use crate::pki::ocsp::{self, CertId, Failure, HashAlg, ResponseData, Status};
use crate::domain::BlobKey;
use crate::pki::SubjectName;
use crate::ports::{Condition, Item, KeyHandle};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// How long a responder certificate is valid.
pub const RESPONDER_VALIDITY: Duration = Duration::days(30);
/// How long a response may be cached (`nextUpdate − thisUpdate`).
pub const RESPONSE_VALIDITY: Duration = Duration::hours(1);

/// An authority's delegated responder: its custody key and current certificate.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Responder {
    pub key: KeyHandle,
    /// DER, standard base64.
    pub certificate_der: String,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
}

/// How long a pre-signed answer without a nonce is served again (RFC 5019 §2.2: responders
/// may answer from pre-produced responses): half its validity, so clients that cache until
/// `nextUpdate` still refresh in time. The status is part of the entry, so a revocation is
/// answered at once.
const CACHE_FOR: Duration = Duration::minutes(30);

/// Where a single-certificate, nonce-less answer is kept: `ocsp/<authorityId>/<serial>-<hash>`
/// in the blob store, with the time it was produced, the status it says and the responder
/// generation that signed it.
struct CacheEntry {
    key: BlobKey,
    status: u8,
}

fn cache_entry(authority_id: &str, id: &CertId, status: &Status) -> Result<CacheEntry> {
    let hash = match id.hash {
        Some(HashAlg::Sha1) => "sha1",
        Some(HashAlg::Sha256) => "sha256",
        None => "other",
    };
    let key = BlobKey::parse(&format!("ocsp/{authority_id}/{}-{hash}.der", id.serial.to_hex().to_ascii_lowercase()))?;
    let status = match status {
        Status::Good => 1,
        Status::Revoked { .. } => 2,
        Status::Unknown => 3,
    };
    Ok(CacheEntry { key, status })
}

fn responder_pk(authority_id: &str) -> String {
    format!("OCSP#{authority_id}")
}

/// The stored responder and its generation (the item version).
type Stored = Option<(Responder, u64)>;

/// Whether the responder certificate still has more than a third of its validity left.
fn is_current(responder: &Responder) -> bool {
    responder.not_after - now() > RESPONDER_VALIDITY / 3
}

impl Pki {
    /// The DER `OCSPResponse` to `request` (DER) addressed to `authority_id`: a signed answer
    /// for each certificate asked about (`unknown` for another issuer's or one never issued),
    /// or an unsuccessful status: `malformedRequest`, `unauthorized` (no such authority).
    pub async fn ocsp(&self, authority_id: &str, request: &[u8]) -> Result<Vec<u8>> {
        let Ok(request) = ocsp::parse_request(request) else { return Ok(ocsp::failure_response(Failure::MalformedRequest)) };
        let Ok(authority) = self.get_authority(authority_id).await else { return Ok(ocsp::failure_response(Failure::Unauthorized)) };
        let issuer_der = authority.der()?;
        let mut answers = Vec::with_capacity(request.certs.len());
        for id in request.certs {
            let status = self.ocsp_status(authority_id, &issuer_der, &id).await?;
            answers.push((id, status));
        }
        let cache = match (&request.nonce, answers.as_slice()) {
            (None, [(id, status)]) => Some(cache_entry(authority_id, id, status)?),
            _ => None,
        };
        let stored = self.stored_responder(authority_id).await?;
        let generation = stored.as_ref().filter(|(r, _)| is_current(r)).map(|(_, g)| *g);
        if let Some(hit) = self.cached(cache.as_ref(), generation).await {
            return Ok(hit);
        }
        let (responder, generation, signer) = self.responder(&authority, stored).await?;
        let at = now();
        let response = sign_answers(&responder, &signer, &answers, at, request.nonce.as_deref())?;
        self.remember(cache.as_ref(), generation, at, &response).await;
        Ok(response)
    }

    /// A pre-signed answer still fresh for the same status, if one is stored.
    /// Signed by `generation` of the responder, which must be current (`None`: none is).
    async fn cached(&self, entry: Option<&CacheEntry>, generation: Option<u64>) -> Option<Vec<u8>> {
        let (entry, generation) = (entry?, generation?);
        let stored = self.ports.blobs.get(&entry.key).await.ok().flatten()?;
        let (head, response) = stored.split_at_checked(17)?;
        let produced = i64::from_be_bytes(head[..8].try_into().ok()?);
        let signed_by = u64::from_be_bytes(head[9..17].try_into().ok()?);
        let fresh = now().unix_timestamp() - produced < CACHE_FOR.whole_seconds();
        (fresh && head[8] == entry.status && signed_by == generation).then(|| response.to_vec())
    }

    /// Stores a signed answer for [`Pki::cached`] (best effort: a failure costs a signature).
    async fn remember(&self, entry: Option<&CacheEntry>, generation: u64, produced: OffsetDateTime, response: &[u8]) {
        let Some(entry) = entry else { return };
        let mut stored = produced.unix_timestamp().to_be_bytes().to_vec();
        stored.push(entry.status);
        stored.extend_from_slice(&generation.to_be_bytes());
        stored.extend_from_slice(response);
        if let Err(e) = self.ports.blobs.put(&entry.key, stored, "application/octet-stream").await {
            tracing::warn!(key = %entry.key, error = %e, "could not cache an OCSP response");
        }
    }

    async fn ocsp_status(&self, authority_id: &str, issuer_der: &[u8], id: &CertId) -> Result<Status> {
        let Some(hash) = id.hash else { return Ok(Status::Unknown) };
        if ocsp::issuer_hashes(issuer_der, hash)? != (id.issuer_name_hash.clone(), id.issuer_key_hash.clone()) {
            return Ok(Status::Unknown);
        }
        let Some(pointer) = self.ports.store.get(&format!("SERIAL#{authority_id}#{}", id.serial.to_hex()), "SERIAL").await? else {
            return Ok(Status::Unknown);
        };
        if let Some(cert_id) = pointer.data["certId"].as_str() {
            let record = self.get_certificate(cert_id).await?;
            return Ok(match (record.status, record.revoked_at) {
                (CertStatus::Revoked, Some(at)) => Status::Revoked { at, reason: record.revocation_reason.map(|r| r.code()) },
                _ => Status::Good,
            });
        }
        let Some(child) = pointer.data["authorityId"].as_str() else { return Ok(Status::Unknown) };
        let child = self.get_authority(child).await?;
        Ok(match (child.status, child.revocation) {
            (AuthorityStatus::Revoked, Some(revocation)) if revocation.serial_numbers.contains(&id.serial.to_hex()) => {
                Status::Revoked { at: revocation.revoked_at, reason: Some(revocation.reason.code()) }
            }
            _ => Status::Good,
        })
    }

    async fn stored_responder(&self, authority_id: &str) -> Result<Stored> {
        let Some(item) = self.ports.store.get(&responder_pk(authority_id), "RESPONDER").await? else { return Ok(None) };
        let responder = serde_json::from_value::<Responder>(item.data).map_err(Error::internal)?;
        Ok(Some((responder, item.version)))
    }

    /// The authority's responder and its generation, created or rotated when due.
    async fn responder(&self, authority: &super::AuthorityRecord, stored: Stored) -> Result<(Responder, u64, crate::pki::CaSigner)> {
        match stored {
            Some((responder, generation)) if is_current(&responder) => {
                let signer = self.ports.custody.signer(&responder.key).await?;
                Ok((responder, generation, signer))
            }
            previous => self.rotate_responder(authority, previous).await,
        }
    }

    /// A new responder key and certificate (RFC 6960 §4.2.2.2), stored over `previous` if no
    /// one else rotated first; the key of `previous` is then discarded, as is this attempt's
    /// key if another won. The key's owner names the generation (`<authorityId>-ocsp-<n>`;
    /// the first is `<authorityId>-ocsp`), so KMS aliases stay unique and a concurrent
    /// rotation to the same generation is refused by custody. The key is created behind the
    /// [`cpu`](super::cpu) limit: an unauthenticated request may be what creates it.
    async fn rotate_responder(&self, authority: &super::AuthorityRecord, previous: Stored) -> Result<(Responder, u64, crate::pki::CaSigner)> {
        let owner = match &previous {
            Some((_, generation)) => format!("{}-ocsp-{}", authority.id, generation + 1),
            None => format!("{}-ocsp", authority.id),
        };
        let key = match super::cpu::create_key(&self.ports.custody, &owner, authority.key.algorithm).await {
            Ok(key) => key,
            Err(Error::Conflict(_)) => return self.rotated_by_another(&authority.id).await,
            Err(e) => return Err(e),
        };
        let signer = self.ports.custody.signer(&key).await?;
        let responder = match self.certify_responder(authority, key.clone(), &signer).await {
            Ok(responder) => responder,
            Err(e) => {
                self.discard_responder_key(&authority.id, &key).await;
                return Err(e);
            }
        };
        let mut item = Item::new(responder_pk(&authority.id), "RESPONDER", serde_json::to_value(&responder).map_err(Error::internal)?);
        let condition = match &previous {
            Some((_, generation)) => {
                item.version = generation + 1;
                Condition::Version(*generation)
            }
            None => Condition::Absent,
        };
        let generation = item.version;
        match self.ports.store.put(item, condition).await {
            Ok(()) => {
                if let Some((old, _)) = &previous {
                    self.discard_responder_key(&authority.id, &old.key).await;
                }
                tracing::info!(authority_id = %authority.id, generation, "OCSP responder key rotated");
                Ok((responder, generation, signer))
            }
            Err(Error::Conflict(_)) => {
                self.discard_responder_key(&authority.id, &key).await;
                self.rotated_by_another(&authority.id).await
            }
            Err(e) => Err(e),
        }
    }

    /// The responder a concurrent rotation stored (503 while it has stored none yet).
    async fn rotated_by_another(&self, authority_id: &str) -> Result<(Responder, u64, crate::pki::CaSigner)> {
        let stored = self.stored_responder(authority_id).await?.filter(|(r, _)| is_current(r));
        let (winner, generation) = stored.ok_or_else(|| Error::Unavailable("the OCSP responder is being rotated".into()))?;
        let signer = self.ports.custody.signer(&winner.key).await?;
        Ok((winner, generation, signer))
    }

    /// Discards a responder key no responder holds (best effort: a key that cannot be
    /// discarded is marked orphan for `trustplane admin orphan-keys`).
    async fn discard_responder_key(&self, authority_id: &str, key: &KeyHandle) {
        if let Err(e) = self.ports.custody.discard_key(&key.key_ref).await {
            tracing::warn!(authority_id, key_ref = %key.key_ref, error = %e, "could not discard a retired OCSP responder key");
            let _ = self.ports.custody.mark_orphan(key).await;
        }
    }

    async fn certify_responder(&self, authority: &super::AuthorityRecord, key: KeyHandle, signer: &crate::pki::CaSigner) -> Result<Responder> {
        let signing = self.signing(authority.clone()).await?;
        let subject = SubjectName::common_name_only(&format!("OCSP responder {}", authority.id))?;
        let spki = rcgen::PublicKeyData::subject_public_key_info(signer);
        let leaf = LeafKey { spki_der: spki, is_rsa: key.algorithm.is_rsa() };
        let not_before = now() - Duration::minutes(5);
        let not_after = (now() + RESPONDER_VALIDITY).min(authority.not_after);
        let issued = ocsp::responder_certificate(&subject, not_before, not_after, &leaf, &signing.issuer())?;
        tracing::info!(authority_id = %authority.id, serial = %issued.serial, "OCSP responder certified");
        Ok(Responder { key, certificate_der: base64::engine::general_purpose::STANDARD.encode(&issued.der), not_after: issued.not_after })
    }
}

/// Signs the answers with the responder's key (RFC 6960 §4.2.1), naming it by key hash.
fn sign_answers(responder: &Responder, signer: &crate::pki::CaSigner, answers: &[(CertId, Status)], at: OffsetDateTime, nonce: Option<&[u8]>) -> Result<Vec<u8>> {
    let responder_der = base64::engine::general_purpose::STANDARD.decode(&responder.certificate_der).map_err(Error::internal)?;
    let (_, responder_cert) = x509_parser::parse_x509_certificate(&responder_der).map_err(|e| Error::internal(format!("responder certificate: {e}")))?;
    let data = ResponseData {
        responder_key_hash: HashAlg::Sha1.digest(&responder_cert.public_key().subject_public_key.data),
        produced_at: at,
        answers,
        this_update: at,
        next_update: at + RESPONSE_VALIDITY,
        nonce,
    }
    .to_der();
    let signature = signer.sign_message(&data)?;
    Ok(ocsp::signed_response(&data, signer.algorithm(), &signature, &responder_der))
}
