//! JSON request bodies, parsed strictly at the boundary: UTF-8, one JSON object nested at most
//! [`MAX_DEPTH`] levels, and only the fields its type names (every request body struct is
//! `#[serde(deny_unknown_fields)]`). Rejections are domain errors, so each contract renders
//! them in its own format: 400 naming the offending field and the kind of value expected, 413
//! too large, 415 wrong content type. serde's own wording, which names Rust types and echoes
//! input, never reaches a caller.

mod describe;

use crate::error::{Error, Result};
use axum::extract::{FromRequest, OptionalFromRequest, Request};
use axum::response::{IntoResponse, Response};
use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::marker::PhantomData;

/// How deeply objects and arrays may nest in a request body.
pub const MAX_DEPTH: usize = 32;

/// `Json<T>`: requires `Content-Type: application/json` (or `+json`), parses strictly.
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

/// A JSON body read whatever the `Content-Type` (`curl -d` sends form encoding), for the
/// routes whose contract's clients send JSON without saying so (seed 000's `POST
/// /api/v1/provision`, seed 001's admin API); parsed as strictly as [`Json`]. As
/// `Option<LenientJson<T>>`, an empty body is `None`.
#[derive(Debug, Clone)]
pub struct LenientJson<T>(pub T);

fn is_json(req: &Request) -> bool {
    let Some(ct) = req.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<axum::body::Bytes> {
    axum::body::Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
            Error::PayloadTooLarge
        } else {
            Error::validation("could not read the request body")
        }
    })
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(Error::UnsupportedMediaType("expected Content-Type: application/json".into()));
        }
        parse(&read_body(req, state).await?).map(Json)
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for LenientJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        parse(&read_body(req, state).await?).map(LenientJson)
    }
}

impl<T: DeserializeOwned, S: Send + Sync> OptionalFromRequest<S> for LenientJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(|b| describe::is_whitespace(*b)) {
            return Ok(None);
        }
        parse(&bytes).map(|body| Some(LenientJson(body)))
    }
}

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Parses a request body into `T`: it must be UTF-8 and one JSON object nested at most
/// [`MAX_DEPTH`] levels; a value of the wrong kind or a field `T` does not name is a 400 that
/// says where (`policy.pathLen: unknown field (expected one of …)`, `scopes[0]: expected a
/// string`), echoing no more than 64 characters of the input.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let text = std::str::from_utf8(bytes).map_err(|_| Error::validation("the request body is not valid UTF-8"))?;
    describe::check_shape(text)?;
    serde_json::from_str(text).map_err(|e| describe::refusal(text, &e))
}

/// `#[serde(deserialize_with = "object")]` for a nested body struct: only a JSON object, never
/// the array of its fields' values that serde's derive would also take.
pub fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<T, D::Error> {
    deserializer.deserialize_map(ObjectOnly(PhantomData))
}

/// [`object`] for an optional struct: `null` or absent (with `#[serde(default)]`) is `None`.
pub fn optional_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    deserializer.deserialize_option(OptionalObject(PhantomData))
}

struct ObjectOnly<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectOnly<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

struct OptionalObject<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for OptionalObject<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_none<E>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        object(deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Policy {
        validity_years: Option<u32>,
        path_len_constraint: Option<u32>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Body {
        name: Option<String>,
        scopes: Option<Vec<String>>,
        #[serde(default, deserialize_with = "optional_object")]
        policy: Option<Policy>,
        ttl_seconds: Option<i64>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        #[serde(default, deserialize_with = "object")]
        policy: Toggle,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Toggle {
        on: Option<bool>,
    }

    fn refusal(body: &str) -> String {
        match parse::<Body>(body.as_bytes()) {
            Err(Error::Validation(message)) => message,
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn a_well_formed_body_parses() {
        let body: Body = parse(br#"{"name":"a","scopes":["x"],"policy":{"validityYears":5,"pathLenConstraint":0},"ttlSeconds":-1}"#).unwrap();
        assert_eq!((body.name.as_deref(), body.scopes, body.ttl_seconds), (Some("a"), Some(vec!["x".to_owned()]), Some(-1)));
        let policy = body.policy.unwrap();
        assert_eq!((policy.validity_years, policy.path_len_constraint), (Some(5), Some(0)));
    }

    #[test]
    fn unknown_fields_are_named_with_their_path_and_the_expected_ones() {
        assert_eq!(refusal(r#"{"policy":{"pathLen":0}}"#), "policy.pathLen: unknown field (expected one of validityYears, pathLenConstraint)");
        assert_eq!(refusal("{\n \"name\": \"a\",\n \"colour\": 1}"), "colour: unknown field (expected one of name, scopes, policy, ttlSeconds)");
    }

    #[test]
    fn values_of_the_wrong_kind_name_the_field_and_the_kind_never_a_rust_type() {
        assert_eq!(refusal(r#"{"scopes":["a", 5]}"#), "scopes[1]: expected a string");
        assert_eq!(refusal(r#"{"policy":{"validityYears":-1}}"#), "policy.validityYears: expected a whole number 0..=4294967295");
        assert_eq!(refusal(r#"{"ttlSeconds":1.5}"#), "ttlSeconds: expected a whole number");
        assert_eq!(refusal(r#"{"name":{"a":1}}"#), "name: expected a string");
        assert_eq!(refusal(r#"{"scopes":"admin"}"#), "scopes: expected an array");
        assert_eq!(refusal(r#"{"policy":[]}"#), "policy: expected an object");
        assert_eq!(refusal(r#"{"policy":[5, 1]}"#), "policy: expected an object");
        assert_eq!(refusal(r#"{"policy":{"validityYears":true}}"#), "policy.validityYears: expected a whole number 0..=4294967295");
        assert_eq!(refusal(r#"{"name":"a","name":"b"}"#), "name: given more than once");
    }

    #[test]
    fn nested_structs_take_objects_null_or_nothing_but_never_arrays() {
        assert!(parse::<Body>(br#"{"policy":null}"#).unwrap().policy.is_none());
        assert!(parse::<Body>(br#"{}"#).unwrap().policy.is_none());
        assert_eq!(parse::<Outer>(br#"{"policy":{"on":true}}"#).unwrap().policy.on, Some(true));
        assert_eq!(parse::<Outer>(br#"{}"#).unwrap().policy.on, None);
        for body in [r#"{"policy":[true]}"#, r#"{"policy":null}"#, r#"{"policy":"on"}"#] {
            assert!(matches!(parse::<Outer>(body.as_bytes()), Err(Error::Validation(m)) if m == "policy: expected an object"), "{body}");
        }
    }

    #[test]
    fn only_an_object_is_a_body() {
        for body in ["[true]", "[]", "true", "null", "\"x\"", "5", "", "  "] {
            assert_eq!(refusal(body), "the request body must be a JSON object", "{body:?}");
        }
    }

    #[test]
    fn nesting_deeper_than_32_levels_is_refused_before_parsing() {
        let deep = |n: usize| format!("{{\"name\":{}{}}}", "[".repeat(n), "]".repeat(n));
        assert_eq!(refusal(&deep(10_000)), "the request body nests deeper than 32 levels");
        assert_eq!(refusal(&deep(31)), "name: expected a string");
    }

    #[test]
    fn invalid_utf8_is_refused_even_inside_strings() {
        assert!(matches!(parse::<Body>(b"{\"name\":\"\xff\"}"), Err(Error::Validation(m)) if m == "the request body is not valid UTF-8"));
    }

    #[test]
    fn malformed_json_says_where_without_echoing_it() {
        assert_eq!(refusal(r#"{"name": "#), "invalid JSON: EOF while parsing a value at line 1 column 9");
        assert_eq!(refusal(r#"{"name": "a"} [true]"#), "invalid JSON: trailing characters at line 1 column 15");
    }

    #[test]
    fn echoed_field_names_are_cut_to_64_characters() {
        let message = refusal(&format!("{{\"{}\":1}}", "k".repeat(1_000_000)));
        assert!(message.starts_with(&format!("{}…: unknown field", "k".repeat(64))), "{message}");
    }
}
