//! ACME error types (RFC 8555 §6.7): the service attaches one to the domain error as its
//! code; the `acme-api` function renders it as `urn:ietf:params:acme:error:<code>`.

use crate::error::Error;
use serde_json::{json, Value};

/// The namespace of ACME problem types (RFC 8555 §6.7, §9.7.1).
pub const PROBLEM_PREFIX: &str = "urn:ietf:params:acme:error:";

/// The ACME problem types this server raises (RFC 8555 §6.7 table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemType {
    AccountDoesNotExist,
    AlreadyRevoked,
    BadCsr,
    BadNonce,
    BadPublicKey,
    BadRevocationReason,
    BadSignatureAlgorithm,
    Connection,
    ExternalAccountRequired,
    IncorrectResponse,
    InvalidContact,
    Malformed,
    OrderNotReady,
    RejectedIdentifier,
    ServerInternal,
    Unauthorized,
    UnsupportedContact,
    UnsupportedIdentifier,
}

impl ProblemType {
    /// The type's name after [`PROBLEM_PREFIX`].
    pub fn code(self) -> &'static str {
        match self {
            ProblemType::AccountDoesNotExist => "accountDoesNotExist",
            ProblemType::AlreadyRevoked => "alreadyRevoked",
            ProblemType::BadCsr => "badCSR",
            ProblemType::BadNonce => "badNonce",
            ProblemType::BadPublicKey => "badPublicKey",
            ProblemType::BadRevocationReason => "badRevocationReason",
            ProblemType::BadSignatureAlgorithm => "badSignatureAlgorithm",
            ProblemType::Connection => "connection",
            ProblemType::ExternalAccountRequired => "externalAccountRequired",
            ProblemType::IncorrectResponse => "incorrectResponse",
            ProblemType::InvalidContact => "invalidContact",
            ProblemType::Malformed => "malformed",
            ProblemType::OrderNotReady => "orderNotReady",
            ProblemType::RejectedIdentifier => "rejectedIdentifier",
            ProblemType::ServerInternal => "serverInternal",
            ProblemType::Unauthorized => "unauthorized",
            ProblemType::UnsupportedContact => "unsupportedContact",
            ProblemType::UnsupportedIdentifier => "unsupportedIdentifier",
        }
    }

    /// The domain error of the type's HTTP status: 403 for `unauthorized` and `orderNotReady`
    /// (RFC 8555 §7.4), 500 for `serverInternal`, 400 for the rest.
    fn error(self, detail: String) -> Error {
        match self {
            ProblemType::Unauthorized | ProblemType::OrderNotReady => Error::Forbidden(detail),
            ProblemType::ServerInternal => Error::Internal(detail),
            _ => Error::Validation(detail),
        }
    }

    /// A problem document as an order or challenge carries it (RFC 8555 §7.1.3, §8).
    pub fn document(self, detail: &str) -> Value {
        let status = self.error(String::new()).status().as_u16();
        json!({ "type": format!("{PROBLEM_PREFIX}{}", self.code()), "detail": detail, "status": status })
    }
}

/// The domain error carrying ACME type `kind`.
pub fn problem(kind: ProblemType, detail: impl Into<String>) -> Error {
    kind.error(detail.into()).with_code(kind.code())
}

/// An ACME resource that does not exist: 404 `malformed` (as Boulder answers).
pub(crate) fn not_found(what: impl Into<String>) -> Error {
    Error::NotFound(what.into()).with_code(ProblemType::Malformed.code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_carry_their_type_as_code_and_the_status_rfc_8555_gives_it() {
        let e = problem(ProblemType::BadNonce, "stale");
        assert_eq!((e.code(), e.status().as_u16(), e.public_message().as_str()), (Some("badNonce"), 400, "stale"));
        assert_eq!(problem(ProblemType::OrderNotReady, "x").status().as_u16(), 403);
        assert_eq!(problem(ProblemType::Unauthorized, "x").status().as_u16(), 403);
        assert_eq!(not_found("order").status().as_u16(), 404);
        let doc = ProblemType::Connection.document("refused");
        assert_eq!(doc["type"], "urn:ietf:params:acme:error:connection");
        assert_eq!(doc["status"], 400);
    }
}
