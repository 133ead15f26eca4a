//! Certificate details (seed 001 `GET /api/v1/ca/certificates/{certname}`), read back from
//! the DER with x509-parser: RFC 4514 issuer and subject, extensions as `{name, value}` in
//! OpenSSL's vocabulary, the public key as PEM.

use super::PuppetCa;
use crate::domain::{Certname, ListedName};
use crate::error::{Error, Result};
use crate::pki::pem;
use crate::services::pki::{CertificateRecord, Channel};
use x509_parser::der_parser::asn1_rs::ToDer;
use x509_parser::extensions::{GeneralName, ParsedExtension, X509Extension};
use x509_parser::objects::{oid2sn, oid_registry};
use x509_parser::oid_registry as oids;
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

/// One extension, named by its OpenSSL short name (or dotted OID) with a readable value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    pub name: String,
    pub value: String,
}

/// What seed 001 shows of a certificate beyond its inventory record.
#[derive(Clone, Debug)]
pub struct CertificateDetails {
    pub record: CertificateRecord,
    /// SHA-256 of the DER, colon-separated uppercase hex.
    pub fingerprint: String,
    /// RFC 4514.
    pub issuer: String,
    /// RFC 4514.
    pub subject: String,
    pub extensions: Vec<Extension>,
    /// The SubjectPublicKeyInfo, PEM `PUBLIC KEY`.
    pub public_key_pem: String,
}

fn der_of(record: &CertificateRecord) -> Result<Vec<u8>> {
    let blocks = pem::decode_all(&record.certificate_pem)?;
    blocks.into_iter().find(|(label, _)| label == "CERTIFICATE").map(|(_, der)| der).ok_or_else(|| Error::internal(format!("certificate {} has no PEM", record.id)))
}

/// Seed 001 `fingerprint` of a certificate: SHA-256 of its DER, colon-separated hex.
pub fn fingerprint(record: &CertificateRecord) -> Result<String> {
    Ok(crate::pki::csr::fingerprint(&der_of(record)?))
}

/// The details of an inventory certificate.
pub fn details(record: CertificateRecord) -> Result<CertificateDetails> {
    let der = der_of(&record)?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).map_err(|e| Error::internal(format!("certificate {} does not parse: {e}", record.id)))?;
    Ok(CertificateDetails {
        fingerprint: crate::pki::csr::fingerprint(&der),
        issuer: rfc4514(cert.issuer()),
        subject: rfc4514(cert.subject()),
        extensions: cert.extensions().iter().map(extension).collect(),
        public_key_pem: pem::encode("PUBLIC KEY", cert.public_key().raw),
        record,
    })
}

impl PuppetCa {
    /// The details of the newest certificate of `certname` in whichever one channel has it;
    /// 404 `CERT_NOT_FOUND`, 409 `INVALID_OPERATION` naming the channels when several do.
    pub async fn certificate_details(&self, certname: &Certname) -> Result<CertificateDetails> {
        self.certificate_details_in(certname, None).await
    }

    /// [`PuppetCa::certificate_details`] of the certificate listed under `name` (a certname or
    /// any other listed common name), in `channel` when given.
    pub async fn certificate_details_in(&self, name: impl Into<ListedName>, channel: Option<Channel>) -> Result<CertificateDetails> {
        let name = name.into();
        let mut certs = self.resolved(&name, channel).await?;
        details(certs.pop().ok_or_else(|| super::certificates::cert_not_found(&name))?)
    }
}

/// A distinguished name as RFC 4514 §2 writes it: the last RDN first, `,` between RDNs, `+`
/// within one, short names for the §3 attribute types (and `emailAddress`), else dotted OIDs.
pub fn rfc4514(name: &X509Name<'_>) -> String {
    let rdns: Vec<String> = name.iter_rdn().map(|rdn| rdn.iter().map(attribute).collect::<Vec<_>>().join("+")).collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

fn attribute(attr: &AttributeTypeAndValue<'_>) -> String {
    let oid = attr.attr_type();
    let known = [
        (&oids::OID_X509_COMMON_NAME, "CN"),
        (&oids::OID_X509_LOCALITY_NAME, "L"),
        (&oids::OID_X509_STATE_OR_PROVINCE_NAME, "ST"),
        (&oids::OID_X509_ORGANIZATION_NAME, "O"),
        (&oids::OID_X509_ORGANIZATIONAL_UNIT, "OU"),
        (&oids::OID_X509_COUNTRY_NAME, "C"),
        (&oids::OID_X509_STREET_ADDRESS, "STREET"),
        (&oids::OID_DOMAIN_COMPONENT, "DC"),
        (&oids::OID_USERID, "UID"),
        (&oids::OID_PKCS9_EMAIL_ADDRESS, "emailAddress"),
    ];
    let ty = known.iter().find(|(o, _)| *o == oid).map_or_else(|| oid.to_id_string(), |(_, n)| (*n).to_owned());
    match attr.as_str() {
        Ok(text) => format!("{ty}={}", escape(text)),
        Err(_) => format!("{ty}=#{}", hex::encode(attr.attr_value().to_der_vec().unwrap_or_default())),
    }
}

/// RFC 4514 §2.4 escaping.
fn escape(value: &str) -> String {
    let last = value.chars().count().saturating_sub(1);
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => out.extend(['\\', c]),
            ' ' | '#' if i == 0 => out.extend(['\\', c]),
            ' ' if i == last => out.extend(['\\', c]),
            '\0' => out.push_str("\\00"),
            _ => out.push(c),
        }
    }
    out
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

fn general_name(name: &GeneralName<'_>) -> String {
    match name {
        GeneralName::DNSName(d) => format!("DNS:{d}"),
        GeneralName::RFC822Name(e) => format!("email:{e}"),
        GeneralName::URI(u) => format!("URI:{u}"),
        GeneralName::DirectoryName(dn) => format!("DirName:{}", rfc4514(dn)),
        GeneralName::IPAddress(b) => match <[u8; 4]>::try_from(*b).map(std::net::IpAddr::from).or_else(|_| <[u8; 16]>::try_from(*b).map(std::net::IpAddr::from)) {
            Ok(ip) => format!("IP Address:{ip}"),
            Err(_) => format!("IP Address:{}", colon_hex(b)),
        },
        other => other.to_string(),
    }
}

fn key_usage(ku: &x509_parser::extensions::KeyUsage) -> String {
    let names = ["digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"];
    names.iter().enumerate().filter(|(bit, _)| ku.flags >> bit & 1 == 1).map(|(_, n)| *n).collect::<Vec<_>>().join(", ")
}

fn extended_key_usage(eku: &x509_parser::extensions::ExtendedKeyUsage<'_>) -> String {
    let flags = [
        (eku.any, "anyExtendedKeyUsage"),
        (eku.client_auth, "clientAuth"),
        (eku.server_auth, "serverAuth"),
        (eku.code_signing, "codeSigning"),
        (eku.email_protection, "emailProtection"),
        (eku.time_stamping, "timeStamping"),
        (eku.ocsp_signing, "OCSPSigning"),
    ];
    let known = flags.iter().filter(|(on, _)| *on).map(|(_, n)| (*n).to_owned());
    known.chain(eku.other.iter().map(|o| o.to_id_string())).collect::<Vec<_>>().join(", ")
}

fn extension(ext: &X509Extension<'_>) -> Extension {
    let name = oid2sn(&ext.oid, oid_registry()).map(str::to_owned).unwrap_or_else(|_| ext.oid.to_id_string());
    let names = |list: &[GeneralName<'_>]| list.iter().map(general_name).collect::<Vec<_>>().join(", ");
    let value = match ext.parsed_extension() {
        ParsedExtension::KeyUsage(ku) => key_usage(ku),
        ParsedExtension::ExtendedKeyUsage(eku) => extended_key_usage(eku),
        ParsedExtension::BasicConstraints(bc) => match (bc.ca, bc.path_len_constraint) {
            (true, Some(n)) => format!("CA:TRUE, pathlen:{n}"),
            (ca, _) => format!("CA:{}", if ca { "TRUE" } else { "FALSE" }),
        },
        ParsedExtension::SubjectKeyIdentifier(id) => colon_hex(id.0),
        ParsedExtension::AuthorityKeyIdentifier(aki) => aki.key_identifier.as_ref().map(|id| format!("keyid:{}", colon_hex(id.0))).unwrap_or_default(),
        ParsedExtension::SubjectAlternativeName(san) => names(&san.general_names),
        ParsedExtension::CRLDistributionPoints(points) => points
            .iter()
            .filter_map(|p| match &p.distribution_point {
                Some(x509_parser::extensions::DistributionPointName::FullName(list)) => Some(names(list)),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(", "),
        ParsedExtension::AuthorityInfoAccess(aia) => aia
            .iter()
            .map(|d| {
                let method = oid2sn(&d.access_method, oid_registry()).map(str::to_owned).unwrap_or_else(|_| d.access_method.to_id_string());
                let method = match method.as_str() { "id-ad-ocsp" => "OCSP".to_owned(), "id-ad-caIssuers" => "CA Issuers".to_owned(), _ => method };
                format!("{method} - {}", general_name(&d.access_location))
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => colon_hex(ext.value),
    };
    Extension { name, value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4514_escapes_specials_and_leading_or_trailing_blanks() {
        assert_eq!(escape("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape(" #x "), "\\ #x\\ ");
        assert_eq!(escape("#x"), "\\#x");
        assert_eq!(escape("node.example.com"), "node.example.com");
    }

    #[test]
    fn names_read_back_last_rdn_first() {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(rcgen::DnType::CountryName, "US");
        params.distinguished_name.push(rcgen::DnType::OrganizationName, "Puppet, Inc");
        params.distinguished_name.push(rcgen::DnType::CommonName, "node1.example.com");
        let key = rcgen::KeyPair::generate().unwrap();
        let der = params.self_signed(&key).unwrap().der().to_vec();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        assert_eq!(rfc4514(cert.subject()), "CN=node1.example.com,O=Puppet\\, Inc,C=US");
    }
}
