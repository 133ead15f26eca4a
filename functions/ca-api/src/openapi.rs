//! The group's OpenAPI 3.1 document: seed 001's admin API and Puppet's CA v1 API, errors as
//! seed 001's `{"error", "code", "details"}`. The response shapes are those of [`crate::views`].

use crate::admin::{RenewBody, ReasonBody, RevokeBody, SignBody, TokenBody};
use serde::{Deserialize, Serialize};
use trustplane_core::http::openapi::finish;
use trustplane_core::http::ErrorFormat;
use utoipa::{IntoParams, OpenApi, ToSchema};

/// The `{certname}` of a path: lower-case letters, digits, `.`, `-`, `_`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CertnamePath {
    #[param(pattern = "^[a-z0-9][a-z0-9._-]{0,252}$")]
    pub certname: String,
}

/// Request states (seed 001).
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RequestState {
    Pending,
    Signed,
    Rejected,
}

/// Certificate states (seed 001).
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CertState {
    Valid,
    Expired,
    PuppetRevoked,
}

/// The channels the admin routes tell apart.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AdminChannel {
    Pki,
    Agent,
    Puppet,
}

/// `asc` (default) or `desc`.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    Asc,
    Desc,
}

/// The `{certname}` of the certificate routes: the name a certificate is listed under, which
/// for the `pki` and `agent` channels may be any common name.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path, names("certname"))]
pub struct ListedNamePath(pub String);

/// `GET /api/v1/ca/requests` parameters ([`crate::params::REQUEST_PARAMS`]).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestParams {
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    pub offset: Option<u64>,
    /// A glob or substring.
    pub certname: Option<String>,
    pub search: Option<String>,
    pub status: Option<RequestState>,
    /// `certname` or `request_time`.
    pub sort_by: Option<String>,
    pub sort_order: Option<SortOrder>,
}

/// `GET /api/v1/ca/certificates` parameters ([`crate::params::CERTIFICATE_PARAMS`]).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CertificateParams {
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    pub offset: Option<u64>,
    /// Exact.
    pub certname: Option<String>,
    pub search: Option<String>,
    pub status: Option<CertState>,
    /// `certname`, `not_after` or `not_before`.
    pub sort_by: Option<String>,
    pub sort_order: Option<SortOrder>,
    pub channel: Option<AdminChannel>,
}

/// `?channel=` of the named-certificate routes.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChannelParam {
    pub channel: Option<AdminChannel>,
}

/// `GET /api/v1/ca/status`.
#[derive(Serialize, ToSchema)]
pub struct CaStatus {
    /// `running` or `unavailable`.
    pub service_status: String,
    pub ca_certificate: Option<Validity>,
    pub pending_requests: u64,
    pub signed_certificates: u64,
    pub last_operation: Option<LastOperation>,
}

/// A validity period, RFC 3339.
#[derive(Serialize, ToSchema)]
pub struct Validity {
    pub not_before: String,
    pub not_after: String,
}

/// The CA's latest operation.
#[derive(Serialize, ToSchema)]
pub struct LastOperation {
    #[serde(rename = "type")]
    pub kind: String,
    pub certname: Option<String>,
    pub timestamp: String,
    pub status: String,
}

/// One certificate request.
#[derive(Serialize, ToSchema)]
pub struct PendingRequest {
    pub certname: String,
    pub fingerprint: String,
    pub request_time: String,
    pub status: RequestState,
    /// The certname's earlier submissions, oldest first.
    pub fingerprint_history: Vec<EarlierRequest>,
}

/// An earlier submission of a certname.
#[derive(Serialize, ToSchema)]
pub struct EarlierRequest {
    pub fingerprint: String,
    pub request_time: String,
    pub status: String,
}

/// `{data, total, limit, offset}` of requests.
#[derive(Serialize, ToSchema)]
pub struct RequestPage {
    pub data: Vec<PendingRequest>,
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

/// `POST /api/v1/ca/sign/{certname}`.
#[derive(Serialize, ToSchema)]
pub struct Signed {
    pub certname: String,
    /// Decimal.
    pub serial: String,
    pub fingerprint: String,
    pub not_before: String,
    pub not_after: String,
    pub status: CertState,
}

/// `POST /api/v1/ca/autosign-tokens`.
#[derive(Serialize, ToSchema)]
pub struct AutosignToken {
    pub id: String,
    /// The challenge password, shown this once.
    pub token: String,
    pub certname_pattern: Option<String>,
    pub created_at: String,
    pub expires_at: String,
}

/// `POST /api/v1/ca/reject/{certname}`.
#[derive(Serialize, ToSchema)]
pub struct Rejected {
    pub message: String,
    pub certname: String,
    pub timestamp: String,
}

/// One entry of `GET /api/v1/ca/certificates`.
#[derive(Serialize, ToSchema)]
pub struct PuppetCertificate {
    pub certname: String,
    pub serial: String,
    pub fingerprint: String,
    pub not_before: String,
    pub not_after: String,
    pub status: CertState,
    /// Negative once expired.
    pub days_until_expiry: i64,
    pub channel: String,
    pub requested_by: Option<String>,
    pub revoked_by: Option<String>,
}

/// `{data, total, limit, offset}` of certificates.
#[derive(Serialize, ToSchema)]
pub struct PuppetCertificatePage {
    pub data: Vec<PuppetCertificate>,
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

/// An X.509 extension, named and rendered as text.
#[derive(Serialize, ToSchema)]
pub struct CertificateExtension {
    pub name: String,
    pub value: String,
}

/// `GET /api/v1/ca/certificates/{certname}`.
#[derive(Serialize, ToSchema)]
pub struct PuppetCertificateDetails {
    pub certname: String,
    pub serial: String,
    pub fingerprint: String,
    pub issuer: String,
    pub subject: String,
    pub not_before: String,
    pub not_after: String,
    pub status: CertState,
    pub extensions: Vec<CertificateExtension>,
    /// PEM.
    pub public_key: String,
    pub channel: String,
    pub requested_by: Option<String>,
    pub revoked_by: Option<String>,
}

/// `DELETE /api/v1/ca/certificates/{certname}`.
#[derive(Serialize, ToSchema)]
pub struct PuppetRevoked {
    pub message: String,
    pub certname: String,
    pub status: String,
    pub timestamp: String,
    pub revocation_reason: Option<String>,
    pub channel: Option<String>,
}

/// A CA certificate's fingerprint and validity.
#[derive(Serialize, ToSchema)]
pub struct CaCertificate {
    #[schema(required = false)]
    pub not_before: String,
    pub not_after: String,
    pub fingerprint: String,
}

/// `POST /api/v1/ca/renew`.
#[derive(Serialize, ToSchema)]
pub struct Renewed {
    pub message: String,
    pub old_certificate: CaCertificate,
    pub new_certificate: CaCertificate,
    pub backup_path: Option<String>,
    pub timestamp: String,
}

#[derive(OpenApi)]
#[openapi(
    paths(
        crate::admin::status, crate::admin::requests, crate::admin::sign, crate::admin::reject, crate::admin::mint_token,
        crate::admin::certificates, crate::admin::certificate, crate::admin::revoke, crate::admin::renew,
        crate::agent::submit, crate::agent::request, crate::agent::withdraw, crate::agent::certificate,
        crate::agent::ca_certificate, crate::agent::crl, crate::agent::renew,
    ),
    components(schemas(SignBody, TokenBody, ReasonBody, RevokeBody, RenewBody, RequestState, CertState, AdminChannel, SortOrder))
)]
struct Doc;

/// The group's paths, errors in seed 001's format.
pub fn document() -> utoipa::openapi::OpenApi {
    finish(Doc::openapi(), ErrorFormat::PuppetCa)
}
