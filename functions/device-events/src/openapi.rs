//! The group's OpenAPI 3.1 document: seed 002's event stream and its tickets, failures in the
//! seed's envelope. The operations are described on stubs here; the handlers are in
//! `handlers.rs`.

use serde::Serialize;
use trustplane_core::http::openapi::finish;
use trustplane_core::http::ErrorFormat;
use utoipa::{IntoParams, OpenApi, ToSchema};

/// The stream's query.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct StreamQuery {
    /// Only this session's events (1 to 128 of `A-Z a-z 0-9 - _ . :`).
    session_id: Option<String>,
    /// Resume after this event id, when the `Last-Event-ID` header cannot be set.
    last_event_id: Option<String>,
    /// `false` sends every event as an unnamed `message`.
    named: Option<bool>,
    /// A ticket from `POST /api/v1/provisioning/batch/events/ticket`, instead of `X-API-Key`.
    ticket: Option<String>,
}

/// One server-sent event (WHATWG HTML §9.2): `data` is a JSON event `{version, type,
/// timestamp, payload}`; a stream's last event carries only `retry`.
#[derive(Serialize, ToSchema)]
pub struct ServerSentEvent {
    #[schema(required = false)]
    pub id: String,
    /// The event's type, unless `named=false`.
    #[schema(required = false)]
    pub event: String,
    #[schema(required = false)]
    pub data: String,
    /// Milliseconds before reconnecting.
    #[schema(required = false)]
    pub retry: u64,
}

/// The ticket request's optional body.
#[derive(Serialize, ToSchema)]
pub struct TicketRequest {
    /// The only session the ticket's stream may follow.
    pub session_id: Option<String>,
}

/// A ticket.
#[derive(Serialize, ToSchema)]
pub struct Ticket {
    pub ticket: String,
    pub expires_at: String,
    /// Seconds.
    pub expires_in: i64,
    #[schema(required = false)]
    pub session_id: String,
}

/// Seed 002's success envelope around a [`Ticket`].
#[derive(Serialize, ToSchema)]
pub struct TicketOk {
    pub success: bool,
    pub data: Ticket,
    pub correlation_id: String,
    pub timestamp: String,
}

/// `GET /api/v1/provisioning/batch/events`: the device event log as server-sent events.
#[utoipa::path(get, path = "/api/v1/provisioning/batch/events", tag = "device-events", params(
    StreamQuery, ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id"),
), security(("api_key" = [])), responses(
    (status = 200, description = "The event stream (`id:`, `event:`, `data:` lines)", content_type = "text/event-stream", body = ServerSentEvent),
    (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED: neither a key nor a live ticket"),
    (status = 403, description = "FORBIDDEN: the key lacks `devices:read`, or the ticket is bound to another session"),
    (status = 404, description = "SESSION_NOT_FOUND"),
))]
#[allow(dead_code)]
fn events() {}

/// `POST /api/v1/provisioning/batch/events/ticket`: a short-lived ticket for `EventSource`.
#[utoipa::path(post, path = "/api/v1/provisioning/batch/events/ticket", tag = "device-events",
    request_body(content = Option<TicketRequest>, description = "Optional, JSON whatever the Content-Type"), security(("api_key" = [])), responses(
    (status = 201, description = "The ticket", body = TicketOk), (status = 400, description = "VALIDATION_FAILED"), (status = 401, description = "UNAUTHORIZED"),
    (status = 403, description = "FORBIDDEN: the key lacks `devices:read`"),
))]
#[allow(dead_code)]
fn ticket() {}

#[derive(OpenApi)]
#[openapi(paths(events, ticket))]
struct Doc;

/// The group's paths, failures in the envelope.
pub fn document() -> utoipa::openapi::OpenApi {
    finish(Doc::openapi(), ErrorFormat::Envelope)
}
