//! The one place domain errors become HTTP bodies, once per contract format. Handlers return
//! `Result<_, Error>`; `Error::into_response` tags the response with a [`Failure`], and the
//! [`render_errors`] middleware of each group writes the body in that group's format. It also
//! rewrites axum's own plain-text rejections (unknown route, wrong method, bad path) so that
//! no bare text error reaches a client.

use super::correlation::CorrelationId;
use crate::error::{truncate, Error, MAX_ECHO_CHARS};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde_json::{json, Value};

/// The longest message a body carries: a last guard, as messages quote at most 64 characters of
/// caller input ([`crate::error::echo`]).
pub const MAX_MESSAGE_CHARS: usize = 300;
/// The longest request path (`instance`) or certname an error body echoes.
const MAX_PATH_CHARS: usize = 256;

/// The error body format of a contract (see `shared/seeds/README.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorFormat {
    /// Seed 000: `{"error": "..."}`.
    Simple,
    /// Seed 001: `{"error", "code", "details": {"certname", "timestamp"}}`.
    PuppetCa,
    /// Seed 002: the `success`/`error`/`correlation_id`/`timestamp` envelope.
    Envelope,
    /// Seed 004 and the operator APIs: RFC 9457 (formerly 7807) `application/problem+json`.
    Problem,
    /// Seed 003: RFC 7807 problem details exactly as its ASP.NET service writes them: `type` is
    /// the RFC 7231/7235/6585 section of the status, `title` the seed's title, and validation
    /// failures are `ValidationProblemDetails` with an `errors` map.
    TenantProblem,
    /// The ACME server (RFC 8555 §6.7): `application/problem+json` with `type`
    /// `urn:ietf:params:acme:error:<type>`, `detail` and `status`.
    Acme,
}

/// What a failed response carries until the group's middleware renders it.
#[derive(Clone, Debug)]
pub struct Failure {
    pub status: StatusCode,
    pub message: String,
    pub code: Option<&'static str>,
    pub retryable: bool,
    /// A contract-specific title (seed 003).
    pub title: Option<&'static str>,
    /// Invalid fields → messages (seed 003's `errors`).
    pub fields: Option<std::collections::BTreeMap<String, Vec<String>>>,
    /// Seconds for the `Retry-After` header (429).
    pub retry_after: Option<u64>,
}

impl Failure {
    fn plain(status: StatusCode, message: String, retryable: bool) -> Self {
        Failure { status, message, code: None, retryable, title: None, fields: None, retry_after: None }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let failure = Failure {
            status,
            message: self.public_message(),
            code: self.code(),
            retryable: self.retryable(),
            title: self.title(),
            fields: self.fields().cloned(),
            retry_after: self.retry_after(),
        };
        let mut response = render(ErrorFormat::Problem, &failure, &Context::default());
        response.extensions_mut().insert(failure);
        response
    }
}

/// Request facts some formats echo back.
#[derive(Default)]
struct Context {
    correlation_id: String,
    path: String,
    certname: Option<String>,
}

impl Context {
    fn of(path: &str, correlation_id: String) -> Self {
        let certname = certname_of(path).map(|name| truncate(&name, MAX_PATH_CHARS));
        Context { correlation_id, path: truncate(path, MAX_PATH_CHARS), certname }
    }
}

/// Middleware: renders every failure of this group in `format`.
pub async fn render_errors(format: ErrorFormat, req: Request, next: Next) -> Response {
    let correlation_id = req.extensions().get::<CorrelationId>().map(|c| c.0.clone()).unwrap_or_default();
    let ctx = Context::of(req.uri().path(), correlation_id);
    let response = next.run(req).await;
    let failure = match response.extensions().get::<Failure>() {
        Some(f) => f.clone(),
        None if is_bare_rejection(&response) => bare_failure(response).await,
        None => return response,
    };
    render(format, &failure, &ctx)
}

fn is_bare_rejection(response: &Response) -> bool {
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"));
    (status.is_client_error() || status.is_server_error()) && !json
}

async fn bare_failure(response: Response) -> Failure {
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&body).trim().to_owned();
    let message = match status {
        StatusCode::NOT_FOUND => "no such route".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed".to_owned(),
        s if s.is_client_error() && !text.is_empty() => rejection_message(&text),
        s => s.canonical_reason().unwrap_or("error").to_ascii_lowercase(),
    };
    if status.is_server_error() {
        tracing::error!(status = status.as_u16(), body = %text, "unrendered server error");
        return Failure::plain(status, "internal server error".to_owned(), true);
    }
    Failure::plain(status, message, false)
}

/// axum's wording of a rejection as a body carries it: a query string's says so and what serde
/// found, cut to [`MAX_ECHO_CHARS`] as it may quote the input (`unknown variant "…"`).
fn rejection_message(text: &str) -> String {
    match text.strip_prefix("Failed to deserialize query string: ") {
        Some(found) => format!("query string: {}", truncate(found, MAX_ECHO_CHARS)),
        None => text.to_owned(),
    }
}

fn certname_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/api/v1/ca/")?;
    let mut parts = rest.split('/');
    match (parts.next(), parts.next()) {
        (Some("sign" | "reject" | "certificates"), Some(name)) if !name.is_empty() => Some(shown_name(name)),
        _ => None,
    }
}

/// The name as the route saw it (percent-decoded), unless that would echo control characters.
fn shown_name(segment: &str) -> String {
    let decoded = percent_decoded(segment);
    if decoded.chars().any(char::is_control) {
        segment.to_owned()
    } else {
        decoded
    }
}

/// A path segment with its `%XX` escapes undone (lossily, as UTF-8), as the router sees it.
fn percent_decoded(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn default_code(format: ErrorFormat, status: StatusCode) -> &'static str {
    match (format, status.as_u16()) {
        (_, 400) => "VALIDATION_FAILED",
        (_, 401) => "UNAUTHORIZED",
        (ErrorFormat::PuppetCa, 403) => "PERMISSION_DENIED",
        (_, 403) => "FORBIDDEN",
        (_, 404) => "NOT_FOUND",
        (_, 405) => "METHOD_NOT_ALLOWED",
        (_, 408) => "REQUEST_TIMEOUT",
        (ErrorFormat::PuppetCa, 409) => "INVALID_OPERATION",
        (_, 409) => "CONFLICT",
        (_, 413) => "PAYLOAD_TOO_LARGE",
        (_, 414) => "URI_TOO_LONG",
        (_, 415) => "UNSUPPORTED_MEDIA_TYPE",
        (_, 422) => "UNPROCESSABLE_ENTITY",
        (_, 429) => "RATE_LIMITED",
        (_, 431) => "REQUEST_HEADER_FIELDS_TOO_LARGE",
        (ErrorFormat::PuppetCa, 503) => "CA_UNAVAILABLE",
        (ErrorFormat::Envelope, 503) => "CIRCUIT_OPEN",
        (_, 503) => "SERVICE_UNAVAILABLE",
        _ => "INTERNAL_ERROR",
    }
}

/// The error format of the group that owns `path` (by prefix), for failures that happen
/// before routing (unknown routes, rejected connections); problem+json for the rest.
pub fn format_for_path(path: &str) -> ErrorFormat {
    let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
    if under("/api/v1/provision") || under("/api/v1/provision-keys") {
        ErrorFormat::Simple
    } else if under("/api/v1/ca") || under("/puppet-ca") {
        ErrorFormat::PuppetCa
    } else if under("/api/v1/provisioning") {
        ErrorFormat::Envelope
    } else if under("/provision/tenants") {
        ErrorFormat::TenantProblem
    } else if under("/acme") {
        ErrorFormat::Acme
    } else {
        ErrorFormat::Problem
    }
}

/// A complete error response for `path` in its group's format (see [`format_for_path`]).
pub fn failure_response(path: &str, status: StatusCode, message: &str, correlation_id: &str) -> Response {
    let failure = Failure::plain(status, message.to_owned(), status.is_server_error());
    render(format_for_path(path), &failure, &Context::of(path, correlation_id.to_owned()))
}

/// RFC 3339 UTC timestamp, second precision (as the seeds show); lives in [`crate::clock`].
pub use crate::clock::now_rfc3339;

fn body(format: ErrorFormat, f: &Failure, ctx: &Context) -> Value {
    let code = f.code.unwrap_or_else(|| default_code(format, f.status));
    let message = truncate(&f.message, MAX_MESSAGE_CHARS);
    match format {
        ErrorFormat::Simple => json!({ "error": message }),
        ErrorFormat::PuppetCa => json!({
            "error": message,
            "code": code,
            "details": { "certname": ctx.certname, "timestamp": now_rfc3339() },
        }),
        ErrorFormat::Envelope => envelope(code, message, f, ctx),
        ErrorFormat::TenantProblem => tenant_problem(f, message),
        ErrorFormat::Acme => json!({ "type": format!("urn:ietf:params:acme:error:{}", acme_type(f)), "detail": message, "status": f.status.as_u16() }),
        ErrorFormat::Problem => json!({
            "type": "about:blank",
            "title": f.title.unwrap_or_else(|| f.status.canonical_reason().unwrap_or("Error")),
            "status": f.status.as_u16(),
            "detail": message,
            "instance": ctx.path,
            "code": code,
            "correlation_id": ctx.correlation_id,
        }),
    }
}

/// The ACME problem type of a failure (RFC 8555 §6.7): the type the ACME service attached as
/// its code (RFC 8555 names them in lowerCamelCase, unlike the other groups' upper-case codes),
/// else the one its status implies.
fn acme_type(f: &Failure) -> &'static str {
    match (f.code, f.status.as_u16()) {
        (Some(code), _) if code.starts_with(|c: char| c.is_ascii_lowercase()) => code,
        (_, 401 | 403) => "unauthorized",
        (_, 429) => "rateLimited",
        (_, 500..) => "serverInternal",
        _ => "malformed",
    }
}

/// The RFC section ASP.NET Core names as a status's problem `type`.
fn problem_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "https://tools.ietf.org/html/rfc7231#section-6.5.1",
        401 => "https://tools.ietf.org/html/rfc7235#section-3.1",
        403 => "https://tools.ietf.org/html/rfc7231#section-6.5.3",
        404 => "https://tools.ietf.org/html/rfc7231#section-6.5.4",
        405 => "https://tools.ietf.org/html/rfc7231#section-6.5.5",
        408 => "https://tools.ietf.org/html/rfc7231#section-6.5.7",
        409 => "https://tools.ietf.org/html/rfc7231#section-6.5.8",
        413 => "https://tools.ietf.org/html/rfc7231#section-6.5.11",
        414 => "https://tools.ietf.org/html/rfc7231#section-6.5.12",
        415 => "https://tools.ietf.org/html/rfc7231#section-6.5.13",
        422 => "https://tools.ietf.org/html/rfc4918#section-11.2",
        429 => "https://tools.ietf.org/html/rfc6585#section-4",
        431 => "https://tools.ietf.org/html/rfc6585#section-5",
        503 => "https://tools.ietf.org/html/rfc7231#section-6.6.4",
        _ => "https://tools.ietf.org/html/rfc7231#section-6.6.1",
    }
}

fn tenant_problem(f: &Failure, message: String) -> Value {
    let status = f.status.as_u16();
    if let Some(fields) = &f.fields {
        return json!({
            "type": problem_type(f.status),
            "title": "One or more validation errors occurred.",
            "status": status,
            "errors": fields,
        });
    }
    let title = f.title.map(str::to_owned).unwrap_or_else(|| f.status.canonical_reason().unwrap_or("Error").to_owned());
    json!({ "type": problem_type(f.status), "title": title, "status": status, "detail": message })
}

/// Seed 002's error envelope: `message` is the code's title ("Validation failed"),
/// `details` what went wrong (omitted, never `null`, when there is nothing more to say),
/// `retryable` true exactly for the seed table's RATE_LIMITED, CIRCUIT_OPEN and
/// INTERNAL_ERROR, and `retry_after_seconds` with every `Retry-After`.
fn envelope(code: &str, message: String, f: &Failure, ctx: &Context) -> Value {
    let title = envelope_title(code);
    let mut error = json!({ "code": code, "message": title, "retryable": matches!(code, "RATE_LIMITED" | "CIRCUIT_OPEN" | "INTERNAL_ERROR") });
    if !message.is_empty() && !message.eq_ignore_ascii_case(&title) {
        error["details"] = Value::String(message);
    }
    if let Some(secs) = f.retry_after {
        error["retry_after_seconds"] = json!(secs);
    }
    json!({ "success": false, "error": error, "correlation_id": ctx.correlation_id, "timestamp": now_rfc3339() })
}

fn envelope_title(code: &str) -> String {
    let lower = code.replace('_', " ").to_ascii_lowercase();
    let mut chars = lower.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

fn render(format: ErrorFormat, f: &Failure, ctx: &Context) -> Response {
    let content_type = match format {
        ErrorFormat::Problem | ErrorFormat::TenantProblem | ErrorFormat::Acme => "application/problem+json",
        _ => "application/json",
    };
    let mut response = (f.status, body(format, f, ctx).to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(secs) = f.retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: StatusCode) -> Failure {
        Failure::plain(status, "bad thing".into(), false)
    }

    #[test]
    fn transport_refusals_get_their_own_codes_and_problem_types() {
        for (status, code, section) in [(408, "REQUEST_TIMEOUT", "rfc7231#section-6.5.7"), (414, "URI_TOO_LONG", "rfc7231#section-6.5.12"), (431, "REQUEST_HEADER_FIELDS_TOO_LARGE", "rfc6585#section-5")] {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(default_code(ErrorFormat::PuppetCa, status), code);
            assert!(problem_type(status).ends_with(section));
        }
    }

    #[test]
    fn paths_map_to_their_groups_format_by_prefix() {
        assert_eq!(format_for_path("/api/v1/provision-keys/"), ErrorFormat::Simple);
        assert_eq!(format_for_path("/api/v1/provisioning/batch"), ErrorFormat::Envelope);
        assert_eq!(format_for_path("/api/v1/ca/sign/"), ErrorFormat::PuppetCa);
        assert_eq!(format_for_path("/provision/tenants/x"), ErrorFormat::TenantProblem);
        assert_eq!(format_for_path("/api/v1/provisionx"), ErrorFormat::Problem);
        assert_eq!(format_for_path("/acme/a1/nowhere"), ErrorFormat::Acme);
        assert_eq!(format_for_path("/acmex/a1"), ErrorFormat::Problem);
    }

    #[test]
    fn acme_problems_carry_the_services_acme_type_or_the_one_their_status_implies() {
        let typed = |code: Option<&'static str>, status: u16| {
            let f = Failure { code, ..failure(StatusCode::from_u16(status).unwrap()) };
            body(ErrorFormat::Acme, &f, &Context::default())
        };
        let want = json!({ "type": "urn:ietf:params:acme:error:badNonce", "detail": "bad thing", "status": 400 });
        assert_eq!(typed(Some("badNonce"), 400), want);
        for (code, status, kind) in [(None, 404, "malformed"), (Some("FORBIDDEN"), 403, "unauthorized"), (None, 429, "rateLimited"), (Some("SERVICE_UNAVAILABLE"), 503, "serverInternal"), (None, 415, "malformed")] {
            assert_eq!(typed(code, status)["type"], format!("urn:ietf:params:acme:error:{kind}"), "{code:?} {status}");
        }
    }

    #[test]
    fn tenant_problems_carry_the_seed_type_title_and_detail_only() {
        let mut f = failure(StatusCode::CONFLICT);
        f.title = Some("Slug Already Exists");
        let v = body(ErrorFormat::TenantProblem, &f, &Context::default());
        let want = json!({"type": "https://tools.ietf.org/html/rfc7231#section-6.5.8", "title": "Slug Already Exists", "status": 409, "detail": "bad thing"});
        assert_eq!(v, want);
        f.fields = Some([("slug".to_owned(), vec!["x".to_owned()])].into_iter().collect());
        let v = body(ErrorFormat::TenantProblem, &f, &Context::default());
        assert_eq!((v["errors"]["slug"][0].as_str(), v.get("detail")), (Some("x"), None));
    }

    #[test]
    fn envelope_errors_carry_code_title_details_and_correlation_id() {
        let ctx = Context { correlation_id: "c-1".into(), path: "/x".into(), certname: None };
        let v = body(ErrorFormat::Envelope, &failure(StatusCode::BAD_REQUEST), &ctx);
        assert_eq!(v["success"], false);
        assert_eq!(v["error"]["code"], "VALIDATION_FAILED");
        assert_eq!(v["error"]["message"], "Validation failed");
        assert_eq!(v["error"]["details"], "bad thing");
        assert_eq!(v["correlation_id"], "c-1");
    }

    #[test]
    fn envelope_errors_are_retryable_by_code_carry_retry_after_seconds_and_omit_empty_details() {
        let mut f = Failure::plain(StatusCode::TOO_MANY_REQUESTS, "slow down".into(), false);
        f.retry_after = Some(7);
        let v = body(ErrorFormat::Envelope, &f, &Context::default());
        assert_eq!((v["error"]["code"].as_str(), v["error"]["retryable"].as_bool(), v["error"]["retry_after_seconds"].as_u64()), (Some("RATE_LIMITED"), Some(true), Some(7)));
        let conflict = body(ErrorFormat::Envelope, &Failure::plain(StatusCode::CONFLICT, String::new(), true), &Context::default());
        assert_eq!(conflict["error"]["retryable"], false, "only the seed's three codes are retryable");
        assert!(conflict["error"].get("details").is_none() && conflict["error"].get("retry_after_seconds").is_none(), "{conflict}");
    }

    #[test]
    fn puppet_errors_name_the_certname_from_the_path() {
        assert_eq!(certname_of("/api/v1/ca/sign/web01.example"), Some("web01.example".into()));
        assert_eq!(certname_of("/api/v1/ca/status"), None);
        assert_eq!(certname_of("/api/v1/ca/certificates/Web%20Server%2001"), Some("Web Server 01".into()));
        assert_eq!(certname_of("/api/v1/ca/certificates/100%"), Some("100%".into()));
        assert_eq!(certname_of("/api/v1/ca/certificates/Not%07Valid"), Some("Not%07Valid".into()), "no control character is echoed");
        let ctx = Context { certname: Some("web01".into()), ..Context::default() };
        let v = body(ErrorFormat::PuppetCa, &failure(StatusCode::FORBIDDEN), &ctx);
        assert_eq!((v["code"].as_str(), v["details"]["certname"].as_str()), (Some("PERMISSION_DENIED"), Some("web01")));
    }

    #[test]
    fn every_format_cuts_long_messages_paths_and_certnames() {
        let huge = "x".repeat(1_000_000);
        let f = Failure::plain(StatusCode::BAD_REQUEST, huge.clone(), false);
        let ctx = Context::of(&format!("/api/v1/ca/sign/{huge}"), "c-1".into());
        for format in [ErrorFormat::Simple, ErrorFormat::PuppetCa, ErrorFormat::Envelope, ErrorFormat::Problem, ErrorFormat::TenantProblem, ErrorFormat::Acme] {
            let rendered = body(format, &f, &ctx).to_string();
            assert!(rendered.len() < 1024, "{format:?}: {} bytes", rendered.len());
        }
    }

    #[test]
    fn problem_details_follow_rfc_9457_members() {
        let v = body(ErrorFormat::Problem, &failure(StatusCode::NOT_FOUND), &Context::default());
        assert_eq!((v["status"].as_u64(), v["title"].as_str()), (Some(404), Some("Not Found")));
        assert_eq!(v["detail"], "bad thing");
    }
}
