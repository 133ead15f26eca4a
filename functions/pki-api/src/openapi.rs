//! The group's OpenAPI 3.1 document: seed 004's subjects, authorities, issuance, inventory,
//! revocation, CRLs and the OCSP responder, errors as RFC 9457 problems. The response shapes
//! are those of [`crate::views`].

use crate::authorities::{CreateAuthority, IssuancePolicyBody, KeySpecBody, PolicyBody, RevokeBody as RevokeAuthorityBody, StatusBody};
use crate::certificates::{IssueBody, RevokeBody as RevokeCertificateBody, San};
use crate::subjects::SubjectBody;
use serde::Serialize;
use trustplane_core::http::openapi::finish;
use trustplane_core::http::ErrorFormat;
use trustplane_core::pki::constraints::NameConstraints;
use trustplane_core::pki::crl::RevocationReason;
use trustplane_core::pki::leaf::Template;
use trustplane_core::services::pki::{AuthorityStatus, AuthorityType, CertStatus, Channel, IssuancePolicy, KeySpec};
use utoipa::{OpenApi, ToSchema};

/// A subject (an Identity Service distinguished name).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    pub id: String,
    pub common_name: String,
    pub organization: Option<String>,
    pub organizational_unit: Option<String>,
    pub country: Option<String>,
    pub state: Option<String>,
    pub locality: Option<String>,
    pub email: Option<String>,
    pub created_at: String,
}

/// A page of subjects.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubjectPage {
    pub data: Vec<Subject>,
    pub next_cursor: Option<String>,
}

/// Where an authority sits in its hierarchy.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Hierarchy {
    pub is_root: bool,
    pub path_len_constraint: Option<u8>,
}

/// An authority's revocation.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorityRevocation {
    pub revoked_at: String,
    pub reason: RevocationReason,
    pub comment: Option<String>,
    pub serial_numbers: Vec<String>,
    pub revoked_by: Option<String>,
}

/// An authority (seed 004 §2.1).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Authority {
    pub id: String,
    pub subject_id: String,
    #[serde(rename = "type")]
    pub kind: AuthorityType,
    pub status: AuthorityStatus,
    pub parent_authority_id: Option<String>,
    pub serial_number: String,
    pub thumbprint: String,
    pub not_before: String,
    pub not_after: String,
    pub hierarchy: Hierarchy,
    pub key_spec: KeySpec,
    /// The CRL and OCSP locations, the issuance policy and name constraints.
    #[schema(value_type = Object)]
    pub policy: serde_json::Value,
    /// PEM.
    pub certificate_content: String,
    pub created_at: String,
    pub crl_url: String,
    pub revocation: Option<AuthorityRevocation>,
}

/// A page of authorities.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorityPage {
    pub data: Vec<Authority>,
    pub next_cursor: Option<String>,
}

/// A certificate's subject alternative names.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SanView {
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<String>,
    /// Only when it has any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub uris: Vec<String>,
}

/// An inventory entry, its status as of now.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Certificate {
    pub id: String,
    pub serial_number: String,
    pub issuer_id: String,
    pub subject_id: Option<String>,
    pub common_name: String,
    pub template: Template,
    pub status: CertStatus,
    pub not_before: String,
    pub not_after: String,
    pub san: SanView,
    pub certificate_content: String,
    /// `PEM`.
    pub format: String,
    pub revoked_at: Option<String>,
    pub revocation_reason: Option<RevocationReason>,
    pub comment: Option<String>,
    pub created_at: String,
    pub channel: Channel,
    pub requested_by: Option<String>,
    pub revoked_by: Option<String>,
}

/// A page of the inventory.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificatePage {
    pub data: Vec<Certificate>,
    pub next_cursor: Option<String>,
}

/// Seed 004 §3.1's issuance response.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Issued {
    pub id: String,
    pub serial_number: String,
    pub certificate_content: String,
    pub format: String,
    /// The issuer's chain, PEM, the issuer first.
    pub chain: Vec<String>,
    pub not_before: String,
    pub not_after: String,
    /// Without a CSR only, shown this once.
    #[schema(required = false)]
    pub private_key_content: String,
}

/// The 202 body of a certificate's revocation.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevokedCertificate {
    pub id: String,
    /// `REVOKED`.
    pub status: String,
    pub revoked_at: Option<String>,
    pub reason: Option<RevocationReason>,
    pub revoked_by: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    paths(
        crate::subjects::create, crate::subjects::list, crate::subjects::show,
        crate::authorities::create, crate::authorities::list, crate::authorities::show, crate::authorities::chain,
        crate::authorities::set_status, crate::authorities::set_policy, crate::authorities::revoke,
        crate::certificates::issue, crate::certificates::crl, crate::certificates::list, crate::certificates::show, crate::certificates::revoke,
        crate::ocsp::post, crate::ocsp::get,
    ),
    components(schemas(
        SubjectBody, CreateAuthority, KeySpecBody, PolicyBody, IssuancePolicyBody, StatusBody, RevokeAuthorityBody, IssueBody, San,
        RevokeCertificateBody, NameConstraints, IssuancePolicy,
    ))
)]
struct Doc;

/// The group's paths, errors as problem+json.
pub fn document() -> utoipa::openapi::OpenApi {
    finish(Doc::openapi(), ErrorFormat::Problem)
}
