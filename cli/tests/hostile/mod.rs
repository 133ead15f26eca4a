//! What the hostile-input properties share: every route with its group's error format, the
//! strategies (JSON of any shape and depth, path ids, cursors) and the format checks.
#![allow(dead_code)]

use proptest::prelude::*;
use serde_json::Value;

/// The error body format a route group uses (see `shared/seeds/README.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Seed 000: `{"error": "..."}`.
    Simple,
    /// Seed 001: `{"error", "code", "details": {"certname", "timestamp"}}`.
    Puppet,
    /// Seed 003's public routes: RFC 7807 as ASP.NET writes it.
    Tenant,
    /// RFC 9457 problem+json (seed 004, operator APIs).
    Problem,
    /// Seed 002: `{"success": false, "error": {"code", "message", "retryable", …},
    /// "correlation_id", "timestamp"}`.
    Envelope,
}

/// One route: method, path with `{}` for the id, its format, and the status its contract
/// gives a body that is not one JSON object (400 where the body is read; what the route
/// answers first where it is not).
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub format: Format,
    pub malformed: u16,
}

const fn r(method: &'static str, path: &'static str, format: Format) -> Route {
    Route { method, path, format, malformed: 400 }
}

/// A route whose contract answers `malformed` to a malformed body.
const fn refusing(method: &'static str, path: &'static str, format: Format, malformed: u16) -> Route {
    Route { method, path, format, malformed }
}

/// A list route and the query parameter its property forges: `cursor` (any value but one the
/// list returned is a 400) or `limit` (anything but digits 1..=100 is a 400).
pub struct ListRoute {
    pub route: Route,
    pub param: &'static str,
}

const fn list(path: &'static str, format: Format, param: &'static str) -> ListRoute {
    ListRoute { route: r("GET", path, format), param }
}

/// Routes that take a JSON body.
pub const BODY_ROUTES: &[Route] = &[
    r("POST", "/api/v1/api-keys", Format::Problem),
    r("POST", "/api/v1/subjects", Format::Problem),
    r("POST", "/api/v1/authorities", Format::Problem),
    r("PUT", "/api/v1/authorities/{}/policy", Format::Problem),
    r("POST", "/api/v1/authorities/{}/status", Format::Problem),
    r("POST", "/api/v1/authorities/{}/revocation", Format::Problem),
    r("POST", "/api/v1/issuers/{}/certificates", Format::Problem),
    r("POST", "/api/v1/certificates/{}/revocation", Format::Problem),
    r("POST", "/api/v1/provision", Format::Simple),
    r("POST", "/api/v1/provision-keys", Format::Simple),
    r("POST", "/api/v1/ca/sign/{}", Format::Puppet),
    r("POST", "/api/v1/ca/reject/{}", Format::Puppet),
    r("POST", "/api/v1/ca/autosign-tokens", Format::Puppet),
    r("POST", "/api/v1/ca/renew", Format::Puppet),
    r("DELETE", "/api/v1/ca/certificates/{}", Format::Puppet),
    r("POST", "/provision/tenants/init", Format::Tenant),
    refusing("POST", "/provision/tenants/confirm", Format::Tenant, 401),
    r("POST", "/api/v1/provisioning/allowlist", Format::Envelope),
    r("PATCH", "/api/v1/provisioning/allowlist/{}", Format::Envelope),
    r("POST", "/api/v1/provisioning/allowlist/bulk", Format::Envelope),
    r("POST", "/api/v1/provisioning/allowlist/bulk-remove", Format::Envelope),
    r("POST", "/api/v1/provisioning/batch", Format::Envelope),
    r("POST", "/api/v1/provisioning/batch/{}/provision-all", Format::Envelope),
    r("POST", "/api/v1/provisioning/gateway/network", Format::Envelope),
    r("POST", "/api/v1/provisioning/gateway/sessions/{}/devices", Format::Envelope),
    r("POST", "/api/v1/provisioning/gateway/sessions/{}/devices/{}/failed", Format::Envelope),
    r("POST", "/api/v1/provisioning/batch/events/ticket", Format::Envelope),
];

/// Routes that take an id in the path.
pub const ID_ROUTES: &[Route] = &[
    r("DELETE", "/api/v1/api-keys/{}", Format::Problem),
    r("GET", "/api/v1/subjects/{}", Format::Problem),
    r("GET", "/api/v1/authorities/{}", Format::Problem),
    r("GET", "/api/v1/authorities/{}/chain", Format::Problem),
    r("GET", "/api/v1/issuers/{}/crl", Format::Problem),
    r("GET", "/api/v1/certificates/{}", Format::Problem),
    r("DELETE", "/api/v1/provision-keys/{}", Format::Simple),
    r("POST", "/api/v1/ca/sign/{}", Format::Puppet),
    r("GET", "/api/v1/ca/certificates/{}", Format::Puppet),
    r("GET", "/puppet-ca/v1/certificate/{}", Format::Puppet),
    r("GET", "/puppet-ca/v1/certificate_request/{}", Format::Puppet),
    r("GET", "/provision/tenants/{}/status", Format::Tenant),
    r("GET", "/api/v1/tenants/{}", Format::Problem),
    r("POST", "/api/v1/tenants/{}/retry", Format::Problem),
    r("GET", "/api/v1/provisioning/allowlist/{}", Format::Envelope),
    r("DELETE", "/api/v1/provisioning/allowlist/{}", Format::Envelope),
    r("GET", "/api/v1/provisioning/batch/{}", Format::Envelope),
    r("POST", "/api/v1/provisioning/batch/{}/pause", Format::Envelope),
    r("POST", "/api/v1/provisioning/batch/{}/devices/{}/provision", Format::Envelope),
    r("POST", "/api/v1/provisioning/sessions/{}/resume", Format::Envelope),
    r("DELETE", "/api/v1/provisioning/sessions/{}", Format::Envelope),
    r("GET", "/api/v1/provisioning/gateway/sessions/{}/devices/{}/bundle", Format::Envelope),
];

/// List routes and the query parameter each forges.
pub const LIST_ROUTES: &[ListRoute] = &[
    list("/api/v1/api-keys", Format::Problem, "cursor"),
    list("/api/v1/subjects", Format::Problem, "cursor"),
    list("/api/v1/authorities", Format::Problem, "cursor"),
    list("/api/v1/certificates", Format::Problem, "cursor"),
    list("/api/v1/provision-keys", Format::Simple, "cursor"),
    list("/api/v1/tenants", Format::Problem, "cursor"),
    list("/api/v1/provisioning/sessions/history", Format::Envelope, "limit"),
];

/// Whether `value` (unencoded) is one a list accepts for `param` without having returned it:
/// none for `cursor` (an empty one is no cursor), plain digits 1..=100 for `limit`.
pub fn accepted(param: &str, value: &str) -> bool {
    match param {
        "cursor" => value.is_empty(),
        _ => !value.is_empty() && value.len() <= 3 && value.bytes().all(|b| b.is_ascii_digit()) && (1..=100).contains(&value.parse::<u32>().unwrap_or(0)),
    }
}

/// Any JSON value, up to a few levels deep, with hostile strings and numbers.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        hostile_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(field_name(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Field names: the real ones of the routes, typos of them, and noise.
pub fn field_name() -> impl Strategy<Value = String> {
    let real = ["name", "scopes", "commonName", "subjectId", "type", "keySpec", "policy", "pathLen", "pathLenConstraint", "template", "csr", "san", "reason", "comment", "provision_key", "agent_id", "ttl_seconds", "slug", "plan", "validityDays", "backup", "fingerprint"];
    prop_oneof![prop::sample::select(real.to_vec()).prop_map(str::to_owned), "[a-zA-Z_]{1,12}", hostile_string()]
}

/// Strings that have broken parsers before.
pub fn hostile_string() -> impl Strategy<Value = String> {
    let fixed = [
        "", " ", "' OR 1=1--", "*", "%", "_", "../../etc/passwd", "..%2F..%2F", "\u{0}", "\u{202e}", "🦀", "A".repeat(300).leak() as &str,
        "3FA85F64-5717-4562-B3FC-2C963F66AFA6", "3fa85f64-5717-4562-b3fc-2c963f66afa6", "-1", "+5", "1e309", "NaN", "null", "[]", "{}",
    ];
    prop_oneof![prop::sample::select(fixed.to_vec()).prop_map(str::to_owned), any::<String>(), "[ -~]{0,40}"]
}

/// Path segments: ids of every shape, percent-encoded where a raw byte could not travel.
pub fn path_id() -> impl Strategy<Value = String> {
    hostile_string().prop_map(|s| percent_encode(&s))
}

/// Query values, unencoded: base64-ish noise, JSON arrays, real-looking cursor shapes (a
/// position as base64url JSON) and near-miss numbers.
pub fn query_value() -> impl Strategy<Value = String> {
    let fixed = [
        "WyIiLCIiLCIiXQ", "[\"\",\"\",\"\"]", "0.", "4.abc", "AAAA", "=", "..", "null", "eyJpc3N1ZXIiOiJ4IiwiYWZ0ZXIiOiJ-fiJ9",
        "eyJpc3N1ZXIiOiJ4IiwiYWZ0ZXIiOm51bGx9", "+5", "05 ", "0", "101", "1e2", "0x10", "99999999999999999999",
    ];
    prop_oneof![prop::sample::select(fixed.to_vec()).prop_map(str::to_owned), "[A-Za-z0-9_=+/.-]{0,200}", "[0-9]{1,4}", hostile_string()]
}

/// Percent-encodes everything but unreserved characters (RFC 3986 §2.3).
pub fn percent_encode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// The route's path with `id` in place of `{}` (a fixed valid-looking id when none is asked for).
pub fn path_of(route: &Route, id: &str) -> String {
    route.path.replace("{}", id)
}

/// Checks an answer: never a 5xx other than a retryable 503, never an empty error body, and
/// every error in the route group's format.
pub fn check(format: Format, status: u16, body: &[u8]) -> Result<(), String> {
    if status >= 500 && status != 503 {
        return Err(format!("{status}: {}", String::from_utf8_lossy(body)));
    }
    if status < 400 {
        return Ok(());
    }
    let v: Value = serde_json::from_slice(body).map_err(|_| format!("{status} with a non-JSON body: {:?}", String::from_utf8_lossy(body)))?;
    if body.len() > 8 * 1024 {
        return Err(format!("{status} error body of {} bytes echoes too much", body.len()));
    }
    let ok = match format {
        Format::Simple => v.as_object().is_some_and(|o| o.len() == 1 && v["error"].is_string()),
        Format::Puppet => v["error"].is_string() && v["code"].is_string() && v["details"]["timestamp"].is_string(),
        Format::Tenant => v["type"].is_string() && v["title"].is_string() && v["status"] == status && (v["detail"].is_string() || v["errors"].is_object()),
        Format::Problem => v["type"].is_string() && v["title"].is_string() && v["status"] == status && v["detail"].is_string(),
        Format::Envelope => {
            let error = &v["error"];
            v["success"] == false && error["code"].is_string() && error["message"].is_string() && error["retryable"].is_boolean() && v["correlation_id"].is_string() && v["timestamp"].is_string()
        }
    };
    ok.then_some(()).ok_or_else(|| format!("{status} not in the {format:?} format: {v}"))
}
