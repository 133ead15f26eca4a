//! OCSP (RFC 6960) messages: the CertIDs and nonce of an `OCSPRequest` (§4.1.1), a
//! `BasicOCSPResponse` (§4.2.1) signed by a delegated responder, and the responder's
//! certificate (§4.2.2.2: EKU `id-kp-OCSPSigning`, `id-pkix-ocsp-nocheck`).

use super::leaf::LeafKey;
use super::names::SubjectName;
use super::{keys, sign, IssuedCert, IssuerRef, Serial};
use crate::custody::KeyAlgorithm;
use crate::error::{Error, Result};
use rcgen::{CertificateParams, CustomExtension, ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyUsagePurpose};
use time::OffsetDateTime;
use yasna::models::{GeneralizedTime, ObjectIdentifier};
use yasna::{ASN1Error, ASN1ErrorKind, ASN1Result, BERReader, DERWriter, Tag};

const SHA1: &[u64] = &[1, 3, 14, 3, 2, 26];
const SHA256: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 1];
const NONCE: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1, 2];
const BASIC: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1, 1];
const NOCHECK: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1, 5];

/// `OCSPResponseStatus` (§4.2.1) other than `successful`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    MalformedRequest = 1,
    InternalError = 2,
    TryLater = 3,
    Unauthorized = 6,
}

/// The hash a `CertID` was computed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlg {
    Sha1,
    Sha256,
}

impl HashAlg {
    fn oid(self) -> ObjectIdentifier {
        ObjectIdentifier::from_slice(match self {
            HashAlg::Sha1 => SHA1,
            HashAlg::Sha256 => SHA256,
        })
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let alg = match self {
            HashAlg::Sha1 => &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            HashAlg::Sha256 => &aws_lc_rs::digest::SHA256,
        };
        aws_lc_rs::digest::digest(alg, data).as_ref().to_vec()
    }
}

/// One `CertID`: which certificate of which issuer is asked about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertId {
    /// `None` for a hash this responder does not compute (answered `unknown`).
    pub hash: Option<HashAlg>,
    hash_oid: ObjectIdentifier,
    pub issuer_name_hash: Vec<u8>,
    pub issuer_key_hash: Vec<u8>,
    pub serial: Serial,
}

/// What an `OCSPRequest` asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub certs: Vec<CertId>,
    /// The nonce extension's value (§4.4.1), echoed in the response.
    pub nonce: Option<Vec<u8>>,
}

/// A certificate's status (§4.2.1 `CertStatus`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Good,
    /// Revocation time and RFC 5280 `CRLReason` code.
    Revoked { at: OffsetDateTime, reason: Option<u8> },
    Unknown,
}

/// Parses a DER `OCSPRequest`; its optional signature is ignored (requests are not signed
/// by the clients this serves).
pub fn parse_request(der: &[u8]) -> Result<Request> {
    yasna::parse_der(der, |r| {
        r.read_sequence(|r| {
            let request = r.next().read_sequence(read_tbs_request)?;
            r.read_optional(|r| r.read_tagged(Tag::context(0), |r| r.read_der()))?;
            Ok(request)
        })
    })
    .map_err(|e| Error::validation(format!("malformed OCSP request: {e}")))
}

fn read_tbs_request(r: &mut yasna::BERReaderSeq<'_, '_>) -> ASN1Result<Request> {
    r.read_optional(|r| r.read_tagged(Tag::context(0), |r| r.read_i64()))?;
    r.read_optional(|r| r.read_tagged(Tag::context(1), |r| r.read_der()))?;
    let mut certs = Vec::new();
    r.next().read_sequence_of(|r| {
        r.read_sequence(|r| {
            certs.push(read_cert_id(r.next())?);
            r.read_optional(|r| r.read_tagged(Tag::context(0), |r| r.read_der()))?;
            Ok(())
        })
    })?;
    let nonce = r.read_optional(|r| r.read_tagged(Tag::context(2), read_nonce))?.flatten();
    if certs.is_empty() {
        return Err(ASN1Error::new(ASN1ErrorKind::Invalid));
    }
    Ok(Request { certs, nonce })
}

fn read_cert_id(r: BERReader<'_, '_>) -> ASN1Result<CertId> {
    r.read_sequence(|r| {
        let hash_oid = r.next().read_sequence(|r| {
            let oid = r.next().read_oid()?;
            r.read_optional(|r| r.read_null())?;
            Ok(oid)
        })?;
        let hash = [HashAlg::Sha1, HashAlg::Sha256].into_iter().find(|h| h.oid() == hash_oid);
        let issuer_name_hash = r.next().read_bytes()?;
        let issuer_key_hash = r.next().read_bytes()?;
        let (serial, _) = r.next().read_bigint_bytes()?;
        Ok(CertId { hash, hash_oid, issuer_name_hash, issuer_key_hash, serial: Serial::from_bytes(&serial) })
    })
}

fn read_nonce(r: BERReader<'_, '_>) -> ASN1Result<Option<Vec<u8>>> {
    let mut nonce = None;
    r.read_sequence_of(|r| {
        r.read_sequence(|r| {
            let oid = r.next().read_oid()?;
            r.read_optional(|r| r.read_bool())?;
            let value = r.next().read_bytes()?;
            if oid == ObjectIdentifier::from_slice(NONCE) {
                nonce = Some(value);
            }
            Ok(())
        })
    })?;
    Ok(nonce)
}

/// An unsuccessful `OCSPResponse` (no `responseBytes`).
pub fn failure_response(failure: Failure) -> Vec<u8> {
    yasna::construct_der(|w| w.write_sequence(|w| w.next().write_enum(failure as i64)))
}

/// What one response says and who says it.
pub struct ResponseData<'a> {
    /// SHA-1 of the responder certificate's public key bits (`ResponderID.byKey`).
    pub responder_key_hash: Vec<u8>,
    pub produced_at: OffsetDateTime,
    pub answers: &'a [(CertId, Status)],
    pub this_update: OffsetDateTime,
    pub next_update: OffsetDateTime,
    pub nonce: Option<&'a [u8]>,
}

impl ResponseData<'_> {
    /// The DER `ResponseData` (§4.2.1), which the responder signs.
    pub fn to_der(&self) -> Vec<u8> {
        yasna::construct_der(|w| {
            w.write_sequence(|w| {
                w.next().write_tagged(Tag::context(2), |w| w.write_bytes(&self.responder_key_hash));
                w.next().write_generalized_time(&GeneralizedTime::from_datetime(self.produced_at));
                w.next().write_sequence_of(|w| {
                    for (id, status) in self.answers {
                        w.next().write_sequence(|w| self.write_single(w, id, status));
                    }
                });
                if let Some(nonce) = self.nonce {
                    w.next().write_tagged(Tag::context(1), |w| {
                        w.write_sequence_of(|w| {
                            w.next().write_sequence(|w| {
                                w.next().write_oid(&ObjectIdentifier::from_slice(NONCE));
                                w.next().write_bytes(nonce);
                            })
                        })
                    });
                }
            })
        })
    }

    fn write_single(&self, w: &mut yasna::DERWriterSeq<'_>, id: &CertId, status: &Status) {
        w.next().write_sequence(|w| {
            w.next().write_sequence(|w| {
                w.next().write_oid(&id.hash_oid);
                w.next().write_null();
            });
            w.next().write_bytes(&id.issuer_name_hash);
            w.next().write_bytes(&id.issuer_key_hash);
            w.next().write_bigint_bytes(id.serial.as_bytes(), true);
        });
        write_status(w.next(), status);
        w.next().write_generalized_time(&GeneralizedTime::from_datetime(self.this_update));
        w.next().write_tagged(Tag::context(0), |w| w.write_generalized_time(&GeneralizedTime::from_datetime(self.next_update)));
    }
}

fn write_status(w: DERWriter<'_>, status: &Status) {
    match status {
        Status::Good => w.write_tagged_implicit(Tag::context(0), |w| w.write_null()),
        Status::Unknown => w.write_tagged_implicit(Tag::context(2), |w| w.write_null()),
        Status::Revoked { at, reason } => w.write_tagged_implicit(Tag::context(1), |w| {
            w.write_sequence(|w| {
                w.next().write_generalized_time(&GeneralizedTime::from_datetime(*at));
                if let Some(code) = reason {
                    w.next().write_tagged(Tag::context(0), |w| w.write_enum(i64::from(*code)));
                }
            })
        }),
    }
}

/// The successful `OCSPResponse` around a signed `ResponseData`, with the responder's
/// certificate so clients can check the delegation (§4.2.2.2).
pub fn signed_response(response_data: &[u8], algorithm: KeyAlgorithm, signature: &[u8], responder_cert: &[u8]) -> Vec<u8> {
    let basic = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_der(response_data);
            write_signature_algorithm(w.next(), algorithm);
            w.next().write_bitvec_bytes(signature, signature.len() * 8);
            w.next().write_tagged(Tag::context(0), |w| w.write_sequence(|w| w.next().write_der(responder_cert)));
        })
    });
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_enum(0);
            w.next().write_tagged(Tag::context(0), |w| {
                w.write_sequence(|w| {
                    w.next().write_oid(&ObjectIdentifier::from_slice(BASIC));
                    w.next().write_bytes(&basic);
                })
            });
        })
    })
}

fn write_signature_algorithm(w: DERWriter<'_>, algorithm: KeyAlgorithm) {
    w.write_sequence(|w| match algorithm {
        KeyAlgorithm::EcP256 => w.next().write_oid(&ObjectIdentifier::from_slice(&[1, 2, 840, 10045, 4, 3, 2])),
        KeyAlgorithm::EcP384 => w.next().write_oid(&ObjectIdentifier::from_slice(&[1, 2, 840, 10045, 4, 3, 3])),
        _ => {
            w.next().write_oid(&ObjectIdentifier::from_slice(&[1, 2, 840, 113549, 1, 1, 11]));
            w.next().write_null();
        }
    })
}

/// The hashes a `CertID` names an issuer by: of its subject name and of its public key bits.
pub fn issuer_hashes(issuer_cert_der: &[u8], hash: HashAlg) -> Result<(Vec<u8>, Vec<u8>)> {
    let (_, cert) = x509_parser::parse_x509_certificate(issuer_cert_der).map_err(|e| Error::internal(format!("issuer certificate: {e}")))?;
    Ok((hash.digest(cert.tbs_certificate.subject.as_raw()), hash.digest(&cert.public_key().subject_public_key.data)))
}

/// The delegated responder certificate for `key`, signed by `issuer`: digitalSignature,
/// EKU OCSPSigning, `id-pkix-ocsp-nocheck` (clients do not check its own revocation).
pub fn responder_certificate(subject: &SubjectName, not_before: OffsetDateTime, not_after: OffsetDateTime, key: &LeafKey, issuer: &IssuerRef<'_>) -> Result<IssuedCert> {
    let subject_key = keys::accept(&key.spki_der)?;
    sign::check_validity(not_before, not_after)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = subject.to_rcgen();
    params.serial_number = Some(Serial::random().to_rcgen());
    params.not_before = not_before;
    params.not_after = not_after;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
    params.custom_extensions = vec![CustomExtension::from_oid_content(NOCHECK, vec![0x05, 0x00])];
    params.use_authority_key_identifier_extension = true;
    params.key_identifier_method = KeyIdMethod::PreSpecified(sign::key_identifier(rcgen::PublicKeyData::der_bytes(&subject_key)));
    sign::sign_by(&params, &subject_key, issuer)
}
