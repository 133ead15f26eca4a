//! Operational metrics as CloudWatch embedded metric format (EMF) documents: one JSON line on
//! stdout per event inside Lambda, which CloudWatch Logs turns into metrics without an API call
//! (README, "Metrics"). Outside Lambda nothing is printed. Tests observe the documents with
//! [`capture`].

use serde_json::{json, Map, Value};
use std::sync::Mutex;

/// The CloudWatch namespace of every Trustplane metric.
pub const NAMESPACE: &str = "Trustplane";

/// A metric's unit (CloudWatch `StandardUnit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    Seconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Seconds => "Seconds",
        }
    }
}

/// One event's metrics: their dimensions (besides `Stack`, always present) and values.
#[derive(Clone, Debug, Default)]
pub struct Event<'a> {
    pub dimensions: Vec<(&'a str, String)>,
    pub values: Vec<(&'a str, f64, Unit)>,
}

impl<'a> Event<'a> {
    /// An event counting one `name` (e.g. `CertificatesIssued`).
    pub fn count(name: &'a str) -> Self {
        Event { dimensions: Vec::new(), values: vec![(name, 1.0, Unit::Count)] }
    }

    /// Adds a dimension (e.g. `Channel` = `puppet`).
    pub fn by(mut self, dimension: &'a str, value: impl Into<String>) -> Self {
        self.dimensions.push((dimension, value.into()));
        self
    }

    /// Adds a value to the same document.
    pub fn with(mut self, name: &'a str, value: f64, unit: Unit) -> Self {
        self.values.push((name, value, unit));
        self
    }

    /// The EMF document: metrics aggregated per stack and per stack and all the dimensions.
    pub fn document(&self, stack: &str, now_ms: i64) -> Value {
        let names: Vec<&str> = self.dimensions.iter().map(|(d, _)| *d).collect();
        let mut sets = vec![vec!["Stack"]];
        if !names.is_empty() {
            sets.push(std::iter::once("Stack").chain(names.iter().copied()).collect());
        }
        let metrics: Vec<Value> = self.values.iter().map(|(name, _, unit)| json!({ "Name": name, "Unit": unit.as_str() })).collect();
        let mut doc = Map::new();
        doc.insert("_aws".into(), json!({ "Timestamp": now_ms, "CloudWatchMetrics": [{ "Namespace": NAMESPACE, "Dimensions": sets, "Metrics": metrics }] }));
        doc.insert("Stack".into(), Value::String(stack.to_owned()));
        for (dimension, value) in &self.dimensions {
            doc.insert((*dimension).into(), Value::String(value.clone()));
        }
        for (name, value, _) in &self.values {
            doc.insert((*name).into(), json!(value));
        }
        Value::Object(doc)
    }

    /// Prints the document inside Lambda (`AWS_LAMBDA_FUNCTION_NAME` set); hands it to a
    /// [`capture`] when one is active.
    pub fn emit(&self) {
        let captured = CAPTURED.lock().unwrap_or_else(|p| p.into_inner()).is_some();
        let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
        if !captured && !in_lambda {
            return;
        }
        let doc = self.document(&std::env::var("STACK_NAME").unwrap_or_default(), crate::clock::now().unix_timestamp() * 1000);
        if in_lambda {
            println!("{doc}");
        }
        if let Some(sink) = CAPTURED.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            sink.push(doc);
        }
    }
}

static CAPTURED: Mutex<Option<Vec<Value>>> = Mutex::new(None);
static CAPTURING: Mutex<()> = Mutex::new(());

/// Collects every document emitted in this process until the guard drops (tests). Captures
/// take turns: a second one waits for the first to drop.
pub fn capture() -> Captured {
    let turn = CAPTURING.lock().unwrap_or_else(|p| p.into_inner());
    *CAPTURED.lock().unwrap_or_else(|p| p.into_inner()) = Some(Vec::new());
    Captured { _turn: turn }
}

/// See [`capture`].
pub struct Captured {
    _turn: std::sync::MutexGuard<'static, ()>,
}

impl Captured {
    /// The documents emitted so far.
    pub fn documents(&self) -> Vec<Value> {
        CAPTURED.lock().unwrap_or_else(|p| p.into_inner()).clone().unwrap_or_default()
    }
}

impl Drop for Captured {
    fn drop(&mut self) {
        *CAPTURED.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// The EMF documents in a function's log (its stdout), in order; other lines are skipped.
pub fn documents_in(log: &str) -> Vec<Value> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line.trim()).ok())
        .filter(|doc| doc.get("_aws").is_some())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_declares_each_metric_per_stack_and_per_its_dimensions() {
        let doc = Event::count("CertificatesIssued").by("Channel", "puppet").with("CrlEntries", 3.0, Unit::Count).document("prod", 1_700_000_000_000);
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["Stack"], ["Stack", "Channel"]]));
        assert_eq!(directive["Metrics"], json!([{ "Name": "CertificatesIssued", "Unit": "Count" }, { "Name": "CrlEntries", "Unit": "Count" }]));
        assert_eq!((doc["Stack"].as_str(), doc["Channel"].as_str()), (Some("prod"), Some("puppet")));
        assert_eq!((doc["CertificatesIssued"].as_f64(), doc["CrlEntries"].as_f64()), (Some(1.0), Some(3.0)));
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000_i64);
    }
}
