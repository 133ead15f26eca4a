//! The one domain error type. Adapters translate SDK and driver faults into it; the HTTP layer
//! (`crate::http::render`) maps it to each contract's error body format.

/// What went wrong, in domain terms.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is malformed or breaks a rule; the message is safe to show the caller.
    #[error("{0}")]
    Validation(String),
    /// The request is well formed but refers to something unusable (e.g. an unknown subject id).
    #[error("{0}")]
    Unprocessable(String),
    /// The thing asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A store condition failed: the item exists, or its version or state moved on.
    #[error("conflict: {0}")]
    Conflict(String),
    /// No credential, or one that is not known.
    #[error("{0}")]
    Unauthorized(String),
    /// A known credential without the required scope.
    #[error("{0}")]
    Forbidden(String),
    /// The request body is larger than the configured limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// The request body is not of a content type the endpoint accepts.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A backend (store, key custody, queue, blobs) did not answer; retrying may help.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected backend answer. Logged, never shown to the caller.
    #[error("internal error: {0}")]
    Internal(String),
    /// An error with a contract-specific machine code (e.g. seed 001's `CSR_NOT_FOUND`).
    #[error("{1}")]
    Coded(&'static str, Box<Error>),
    /// An error with a contract-specific problem title (e.g. seed 003's "Slug Already Exists").
    #[error("{1}")]
    Titled(&'static str, Box<Error>),
    /// Several invalid fields at once: field name → messages (seed 003's `errors` map).
    #[error("One or more validation errors occurred.")]
    Fields(std::collections::BTreeMap<String, Vec<String>>),
    /// The service is at capacity for this kind of work; retry after this many seconds
    /// (503, `Retry-After`).
    #[error("{message}")]
    Busy { message: String, retry_after_secs: u64 },
    /// Too many requests from one client; retry after this many seconds (429, `Retry-After`).
    #[error("{message}")]
    TooManyRequests { message: String, retry_after_secs: u64 },
}

/// Result alias used across the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How many characters of caller input an error message may echo.
pub const MAX_ECHO_CHARS: usize = 64;

/// The first `max` characters of `raw`, with `…` in place of the rest when there is more.
pub fn truncate(raw: &str, max: usize) -> String {
    match raw.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &raw[..cut]),
        None => raw.to_owned(),
    }
}

/// Caller input as an error message quotes it: in double quotes with control characters
/// escaped, cut to [`MAX_ECHO_CHARS`] characters.
pub fn echo(raw: &str) -> String {
    format!("{:?}", truncate(raw, MAX_ECHO_CHARS))
}

impl Error {
    /// Shorthand for [`Error::Internal`] from anything printable (logged, never rendered).
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Error::Internal(cause.to_string())
    }

    /// Shorthand for [`Error::Validation`].
    pub fn validation(msg: impl Into<String>) -> Self {
        Error::Validation(msg.into())
    }

    /// The HTTP status this error maps to in every contract.
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            Error::Validation(_) => S::BAD_REQUEST,
            Error::Unprocessable(_) => S::UNPROCESSABLE_ENTITY,
            Error::NotFound(_) => S::NOT_FOUND,
            Error::Conflict(_) => S::CONFLICT,
            Error::Unauthorized(_) => S::UNAUTHORIZED,
            Error::Forbidden(_) => S::FORBIDDEN,
            Error::PayloadTooLarge => S::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType(_) => S::UNSUPPORTED_MEDIA_TYPE,
            Error::Unavailable(_) => S::SERVICE_UNAVAILABLE,
            Error::Internal(_) => S::INTERNAL_SERVER_ERROR,
            Error::Coded(_, inner) | Error::Titled(_, inner) => inner.status(),
            Error::Fields(_) => S::BAD_REQUEST,
            Error::TooManyRequests { .. } => S::TOO_MANY_REQUESTS,
            Error::Busy { .. } => S::SERVICE_UNAVAILABLE,
        }
    }

    /// True for faults a client may retry (seed 002's `retryable`).
    pub fn retryable(&self) -> bool {
        match self {
            Error::Coded(_, inner) | Error::Titled(_, inner) => inner.retryable(),
            other => matches!(other, Error::Unavailable(_) | Error::Internal(_) | Error::Busy { .. }),
        }
    }

    /// Attaches a contract-specific machine code.
    pub fn with_code(self, code: &'static str) -> Self {
        Error::Coded(code, Box::new(self))
    }

    /// The contract-specific machine code, if one was attached.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Error::Coded(code, _) => Some(code),
            Error::Titled(_, inner) => inner.code(),
            _ => None,
        }
    }

    /// Attaches a contract-specific problem title.
    pub fn titled(self, title: &'static str) -> Self {
        Error::Titled(title, Box::new(self))
    }

    /// The contract-specific problem title, if one was attached.
    pub fn title(&self) -> Option<&'static str> {
        match self {
            Error::Titled(title, _) => Some(title),
            Error::Coded(_, inner) => inner.title(),
            _ => None,
        }
    }

    /// The invalid fields of an [`Error::Fields`].
    pub fn fields(&self) -> Option<&std::collections::BTreeMap<String, Vec<String>>> {
        match self {
            Error::Fields(fields) => Some(fields),
            Error::Coded(_, inner) | Error::Titled(_, inner) => inner.fields(),
            _ => None,
        }
    }

    /// Seconds a client should wait before retrying (`Retry-After`), for 429s.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::TooManyRequests { retry_after_secs, .. } | Error::Busy { retry_after_secs, .. } => Some(*retry_after_secs),
            Error::Coded(_, inner) | Error::Titled(_, inner) => inner.retry_after(),
            _ => None,
        }
    }

    /// The message a caller may see: server faults are generic, their cause goes to the log.
    pub fn public_message(&self) -> String {
        match self {
            Error::Unavailable(_) => "service temporarily unavailable".into(),
            Error::Internal(_) => "internal server error".into(),
            Error::Titled(_, inner) => match inner.as_ref() {
                Error::Conflict(detail) => detail.clone(),
                other => other.public_message(),
            },
            Error::Coded(_, inner) => inner.public_message(),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_input_is_quoted_and_cut_to_64_characters_with_an_ellipsis() {
        assert_eq!(echo("BORED"), "\"BORED\"");
        let long = "é".repeat(1_000_000);
        let echoed = echo(&long);
        assert_eq!(echoed.chars().count(), 64 + 3);
        assert!(echoed.ends_with("…\""), "{echoed}");
        assert_eq!(truncate(&"a".repeat(64), 64), "a".repeat(64));
    }
}
