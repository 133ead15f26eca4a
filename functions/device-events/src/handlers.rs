//! The two routes: parse, authorize, one service call, render.

use crate::stream::Tail;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use http::{header, HeaderMap, StatusCode};
use serde::Deserialize;
use std::time::{Duration, SystemTime};
use trustplane_core::domain::Scope;
use trustplane_core::http::{auth, AppState, Caller, CorrelationId, LenientJson};
use trustplane_core::services::devices::{events, ticket, Devices};
use trustplane_core::{Error, Result};

/// The stream's query: `session_id` (filter), `last_event_id` (resume when the header cannot
/// be set), `named=false` (unnamed mode), `ticket` (auth without headers).
#[derive(Debug, Default, Deserialize)]
pub struct StreamQuery {
    session_id: Option<String>,
    last_event_id: Option<String>,
    named: Option<String>,
    ticket: Option<String>,
}

/// How long before the Lambda invocation's deadline a stream ends.
const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

/// `GET /api/v1/provisioning/batch/events`; 404 `SESSION_NOT_FOUND` when `session_id` names
/// no session.
pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<StreamQuery>,
    lambda: Option<Extension<lambda_http::Context>>,
) -> Result<Response> {
    let session = session_filter(query.session_id.as_deref())?;
    let cursor = resume_after(&headers, query.last_event_id.as_deref())?;
    let named = named_mode(query.named.as_deref())?;
    authorize(&state, &headers, query.ticket.as_deref(), session.as_deref()).await?;
    if let Some(id) = &session {
        Devices::new(&state.ports, state.config.clone()).session(id).await?;
    }
    let lifetime = lifetime(state.config.device_events.max_stream, lambda.map(|Extension(c)| c.deadline()));
    tracing::info!(lifetime_ms = lifetime.as_millis() as u64, filtered = session.is_some(), resumed = cursor.is_some(), named, "stream opened");
    let tail = Tail::new(state.ports.store.clone(), &state.config.device_events, session, cursor, named, lifetime);
    let headers = [
        (header::CONTENT_TYPE, "text/event-stream"),
        (header::CACHE_CONTROL, "no-cache, no-store"),
        (header::HeaderName::from_static("x-accel-buffering"), "no"),
    ];
    Ok((headers, tail.into_body()).into_response())
}

fn session_filter(raw: Option<&str>) -> Result<Option<String>> {
    match raw {
        None | Some("") => Ok(None),
        Some(s) if events::is_session_id(s) => Ok(Some(s.to_owned())),
        Some(_) => Err(Error::validation("session_id must be 1 to 128 of A-Z a-z 0-9 - _ . :")),
    }
}

/// `Last-Event-ID` (what `EventSource` sends on reconnecting) or else `?last_event_id=`.
fn resume_after(headers: &HeaderMap, query: Option<&str>) -> Result<Option<String>> {
    let header = headers.get("last-event-id").map(|v| v.to_str().map_err(|_| bad_event_id())).transpose()?;
    match header.or(query).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(id) if events::is_event_id(id) => Ok(Some(id.to_owned())),
        Some(_) => Err(bad_event_id()),
    }
}

fn bad_event_id() -> Error {
    Error::validation("Last-Event-ID must be an event id this stream sent (32 lower-case hex digits)")
}

fn named_mode(raw: Option<&str>) -> Result<bool> {
    match raw {
        None | Some("true" | "1" | "") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(_) => Err(Error::validation("named must be true or false")),
    }
}

/// An `X-API-Key` with `devices:read`, or else a live ticket that permits `session`.
async fn authorize(state: &AppState, headers: &HeaderMap, ticket: Option<&str>, session: Option<&str>) -> Result<()> {
    if let Some(key) = headers.get(auth::HEADER).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty()) {
        return Caller(state.api_keys.authenticate(key).await?).require(Scope::DevicesRead);
    }
    let Some(token) = ticket.filter(|t| !t.is_empty()) else {
        return Err(Error::Unauthorized("missing API key (X-API-Key header) or stream ticket (?ticket=)".into()));
    };
    let claims = ticket::verify(state.ports.mac.as_ref(), token, time::OffsetDateTime::now_utc().unix_timestamp()).await?;
    if claims.permits(session) {
        Ok(())
    } else {
        Err(Error::Forbidden("this ticket is bound to another session".into()))
    }
}

/// The configured lifetime, cut to end [`DEADLINE_MARGIN`] before a Lambda deadline (at
/// least a second). A deadline already past is no deadline: `cargo lambda watch` sends the
/// timeout itself (600000 ms after the epoch) where Lambda sends an instant.
fn lifetime(max: Duration, deadline: Option<SystemTime>) -> Duration {
    match deadline.and_then(|d| d.duration_since(SystemTime::now()).ok()) {
        Some(left) => max.min(left.saturating_sub(DEADLINE_MARGIN)).max(Duration::from_secs(1)),
        None => max,
    }
}

/// The ticket request's optional body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketRequest {
    session_id: Option<String>,
}

/// `POST /api/v1/provisioning/batch/events/ticket`: 201 `{ticket, expires_at, expires_in}`.
pub async fn ticket(
    State(state): State<AppState>,
    caller: Caller,
    ctx: CorrelationId,
    body: Option<LenientJson<TicketRequest>>,
) -> Result<Response> {
    caller.require(Scope::DevicesRead)?;
    let request = body.map(|LenientJson(b)| b).unwrap_or_default();
    let session = session_filter(request.session_id.as_deref())?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let ttl = state.config.device_events.ticket_ttl_secs;
    let issued = ticket::issue(state.ports.mac.as_ref(), caller.key_id(), session.as_deref(), now, ttl).await?;
    let expires_at = time::OffsetDateTime::from_unix_timestamp(issued.expires_at).map_err(Error::internal)?;
    let mut data = serde_json::json!({
        "ticket": issued.token,
        "expires_at": trustplane_core::clock::rfc3339(expires_at),
        "expires_in": issued.expires_in,
    });
    if let Some(s) = session {
        data["session_id"] = serde_json::Value::String(s);
    }
    let body = serde_json::json!({
        "success": true,
        "data": data,
        "correlation_id": ctx.0,
        "timestamp": trustplane_core::clock::now_rfc3339(),
    });
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_ends_ten_seconds_before_the_lambda_deadline_or_at_its_configured_bound() {
        let max = Duration::from_secs(840);
        assert_eq!(lifetime(max, None), max);
        let soon = SystemTime::now() + Duration::from_secs(100);
        let cut = lifetime(max, Some(soon));
        assert!(cut <= Duration::from_secs(90) && cut >= Duration::from_secs(88), "{cut:?}");
        assert_eq!(lifetime(max, Some(SystemTime::now() + Duration::from_secs(3600))), max);
        assert_eq!(lifetime(max, Some(SystemTime::now() + Duration::from_secs(5))), Duration::from_secs(1));
        assert_eq!(lifetime(max, Some(SystemTime::UNIX_EPOCH + Duration::from_millis(600_000))), max);
    }

    #[test]
    fn resume_takes_the_header_before_the_query_and_refuses_anything_but_an_event_id() {
        let id = "0192f0a0b1c27d3e8f90a1b2c3d4e5f6";
        let mut headers = HeaderMap::new();
        assert_eq!(resume_after(&headers, Some(id)).unwrap().as_deref(), Some(id));
        headers.insert("last-event-id", "../etc".parse().unwrap());
        assert!(resume_after(&headers, Some(id)).is_err());
        headers.insert("last-event-id", id.parse().unwrap());
        assert_eq!(resume_after(&headers, None).unwrap().as_deref(), Some(id));
    }

    #[test]
    fn a_ticket_request_with_a_field_it_does_not_name_is_refused_naming_it() {
        let refused = trustplane_core::http::json::parse::<TicketRequest>(br#"{"session_id":"s-1","sesion_id":"s-2"}"#).unwrap_err();
        assert_eq!(refused.public_message(), "sesion_id: unknown field (expected session_id)");
        let parsed = trustplane_core::http::json::parse::<TicketRequest>(br#"{"session_id":"s-1"}"#).unwrap();
        assert_eq!(parsed.session_id.as_deref(), Some("s-1"));
    }
}
