//! Delta CRLs (RFC 5280 §5.2.4) and the Freshest CRL pointer of their base CRLs (§5.2.6).
//!
//! rcgen 0.14's CRL parameters carry no extensions beyond AKI, CRL number and the issuing
//! distribution point, so rcgen builds the TBSCertList, the Delta CRL Indicator or Freshest
//! CRL extension (DER written with yasna) is appended to its `crlExtensions`, and the result
//! is signed once through key custody.

use super::crl::{self, CrlProfile, RevocationReason, RevokedEntry};
use super::der::{self, SEQUENCE};
use super::sign::check_url;
use super::{IssuerRef, Serial};
use crate::custody::CaSigner;
use crate::error::{Error, Result};
use rcgen::{PublicKeyData, SigningKey};
use std::collections::HashSet;
use std::sync::Mutex;
use yasna::models::ObjectIdentifier;
use yasna::Tag;

/// id-ce-deltaCRLIndicator (RFC 5280 §5.2.4).
const DELTA_CRL_INDICATOR: [u64; 4] = [2, 5, 29, 27];
/// id-ce-freshestCRL (RFC 5280 §5.2.6).
const FRESHEST_CRL: [u64; 4] = [2, 5, 29, 46];
const BIT_STRING: u8 = 0x03;

/// Builds and signs a delta CRL: `entries` are the revocations since base CRL `base_number`,
/// marked by the critical Delta CRL Indicator (§5.2.4) carrying that number. The delta's own
/// number comes from the base CRLs' sequence (§5.2.3), so it must exceed `base_number`.
pub fn build_delta(profile: &CrlProfile, base_number: u64, entries: &[RevokedEntry], issuer: &IssuerRef<'_>) -> Result<Vec<u8>> {
    if profile.number <= base_number {
        return Err(Error::validation("a delta CRL's number must exceed its base CRL's (RFC 5280 §5.2.4)"));
    }
    let indicator = yasna::construct_der(|w| w.write_u64(base_number));
    build_extended(profile, entries, issuer, &extension(&DELTA_CRL_INDICATOR, true, &indicator))
}

/// Builds and signs a base (full) CRL whose non-critical Freshest CRL extension (§5.2.6)
/// names `delta_url`, where its delta CRLs are published.
pub fn build_base(profile: &CrlProfile, entries: &[RevokedEntry], issuer: &IssuerRef<'_>, delta_url: &str) -> Result<Vec<u8>> {
    check_url(delta_url)?;
    build_extended(profile, entries, issuer, &extension(&FRESHEST_CRL, false, &distribution_points(delta_url)))
}

/// The base CRL number a delta CRL's Delta CRL Indicator names; `None` for a CRL without one.
pub fn base_number(der: &[u8]) -> Option<u64> {
    let (_, crl) = x509_parser::parse_x509_crl(der).ok()?;
    let oid = x509_parser::oid_registry::OID_X509_EXT_DELTA_CRL_INDICATOR;
    let ext = crl.extensions().iter().find(|e| e.oid == oid)?;
    yasna::parse_der(ext.value, |r| r.read_u64()).ok()
}

/// The entries of complete CRL `base` that CRL `previous` does not list: what a delta CRL
/// naming `previous` carries so that `previous` and the delta together give `base`'s
/// revocation information (RFC 5280 §5.2.4). Entries `previous` lists but `base` dropped
/// (expired certificates) need no removeFromCRL entry.
pub fn changes(base: &[u8], previous: &[u8]) -> Result<Vec<RevokedEntry>> {
    let (_, previous) = x509_parser::parse_x509_crl(previous).map_err(|e| Error::internal(format!("the previous CRL does not parse: {e}")))?;
    let listed: HashSet<&[u8]> = previous.iter_revoked_certificates().map(|r| r.raw_serial()).collect();
    let (_, base) = x509_parser::parse_x509_crl(base).map_err(|e| Error::internal(format!("the base CRL does not parse: {e}")))?;
    base.iter_revoked_certificates().filter(|r| !listed.contains(r.raw_serial())).map(entry).collect()
}

fn entry(revoked: &x509_parser::revocation_list::RevokedCertificate<'_>) -> Result<RevokedEntry> {
    let code = revoked.reason_code().map_or(0, |(_, reason)| reason.0);
    let reason = RevocationReason::from_code(code).ok_or_else(|| Error::internal(format!("CRL reason code {code} is not one this CA issues")))?;
    Ok(RevokedEntry { serial: Serial::from_bytes(revoked.raw_serial()), revoked_at: revoked.revocation_date.to_datetime(), reason })
}

/// `Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }`
/// (RFC 5280 §4.1).
fn extension(oid: &[u64], critical: bool, value: &[u8]) -> Vec<u8> {
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_oid(&ObjectIdentifier::from_slice(oid));
            if critical {
                w.next().write_bool(true);
            }
            w.next().write_bytes(value);
        })
    })
}

/// `CRLDistributionPoints` with one full-name URI (RFC 5280 §4.2.1.13), FreshestCRL's syntax.
fn distribution_points(url: &str) -> Vec<u8> {
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_sequence(|w| {
                w.next().write_tagged(Tag::context(0), |w| {
                    w.write_tagged_implicit(Tag::context(0), |w| {
                        w.write_sequence(|w| w.next().write_tagged_implicit(Tag::context(6), |w| w.write_ia5_string(url)))
                    })
                })
            })
        })
    })
}

/// rcgen's CRL with `extra` appended to its extensions, signed through custody.
fn build_extended(profile: &CrlProfile, entries: &[RevokedEntry], issuer: &IssuerRef<'_>, extra: &[u8]) -> Result<Vec<u8>> {
    let params = crl::params(profile, entries, issuer)?;
    let draft_key = Draft { signer: issuer.signer, tbs: Mutex::new(None) };
    let rc_issuer = rcgen::Issuer::from_ca_cert_der(&issuer.cert_der.into(), &draft_key)
        .map_err(|e| Error::internal(format!("the issuer certificate is unusable: {e}")))?;
    let draft = params.signed_by(&rc_issuer).map_err(|e| Error::internal(format!("X.509 encoding failed: {e}")))?;
    let tbs = draft_key.tbs.lock().unwrap_or_else(|p| p.into_inner()).take();
    let tbs = with_extension(&tbs.ok_or_else(|| Error::internal("rcgen signed no TBSCertList"))?, extra)?;
    let (_, after_tbs) = split(content(draft.der(), SEQUENCE)?.0)?;
    let (algorithm, _) = split(after_tbs)?;
    let mut signature = vec![0];
    signature.extend(issuer.signer.sign_message(&tbs)?);
    let der = der::tlv(SEQUENCE, &[tbs, algorithm.to_vec(), der::tlv(BIT_STRING, &signature)].concat());
    crl::check_signature(&der, issuer.cert_der)?;
    Ok(der)
}

/// A signing key that records the TBSCertList rcgen hands it instead of signing it.
struct Draft<'a> {
    signer: &'a CaSigner,
    tbs: Mutex<Option<Vec<u8>>>,
}

impl PublicKeyData for Draft<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.signer.der_bytes()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        PublicKeyData::algorithm(self.signer)
    }
}

impl SigningKey for Draft<'_> {
    fn sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, rcgen::Error> {
        *self.tbs.lock().unwrap_or_else(|p| p.into_inner()) = Some(msg.to_vec());
        Ok(Vec::new())
    }
}

/// `tbs` (a TBSCertList whose last field is `crlExtensions [0] EXPLICIT Extensions`, as rcgen
/// always writes it) with the DER extension `extra` appended (RFC 5280 §5.1).
fn with_extension(tbs: &[u8], extra: &[u8]) -> Result<Vec<u8>> {
    let (fields, _) = content(tbs, SEQUENCE)?;
    let mut rest = fields;
    let mut head = Vec::new();
    while !rest.is_empty() {
        let (field, after) = split(rest)?;
        if field[0] == der::context(0, true) && after.is_empty() {
            let (extensions, _) = content(content(field, der::context(0, true))?.0, SEQUENCE)?;
            let extensions = der::tlv(SEQUENCE, &[extensions, extra].concat());
            head.extend(der::tlv(der::context(0, true), &extensions));
            return Ok(der::tlv(SEQUENCE, &head));
        }
        head.extend_from_slice(field);
        rest = after;
    }
    Err(Error::internal("rcgen's TBSCertList has no crlExtensions"))
}

/// The content of the TLV at the start of `bytes`, which must carry `tag`, and what follows.
fn content(bytes: &[u8], tag: u8) -> Result<(&[u8], &[u8])> {
    let (whole, rest) = split(bytes)?;
    if whole[0] != tag {
        return Err(Error::internal(format!("expected DER tag {tag:#04x}, found {:#04x}", whole[0])));
    }
    Ok((&whole[header_len(whole)?.0..], rest))
}

/// Splits the first TLV off `bytes`: (the whole TLV, what follows).
fn split(bytes: &[u8]) -> Result<(&[u8], &[u8])> {
    let (header, len) = header_len(bytes)?;
    let end = header.checked_add(len).filter(|end| *end <= bytes.len()).ok_or_else(truncated)?;
    Ok(bytes.split_at(end))
}

/// (header length, content length) of a definite-length DER TLV (X.690 §8.1.3).
fn header_len(bytes: &[u8]) -> Result<(usize, usize)> {
    let first = *bytes.get(1).ok_or_else(truncated)?;
    if first < 0x80 {
        return Ok((2, usize::from(first)));
    }
    let count = usize::from(first & 0x7f);
    let octets = bytes.get(2..2 + count).filter(|_| count <= 4).ok_or_else(truncated)?;
    Ok((2 + count, octets.iter().fold(0, |len, b| len << 8 | usize::from(*b))))
}

fn truncated() -> Error {
    Error::internal("truncated DER in a built CRL")
}

#[cfg(test)]
#[path = "delta_crl_tests.rs"]
mod tests;
