//! Guards the module layering (issue 9, item 26): adapters hand back their parts and `wiring`
//! assembles `Ports`; `custody` sits below `ports`; services take time from `clock`, not from
//! the HTTP layer. Each check fails naming the file that brings a cycle back.

use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for entry in entries {
            rust_files(&entry, out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

/// The files under `rel` (a file or a directory) whose code, comments aside, names any of
/// `needles`, with the offending line.
fn offenders(rel: &str, needles: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&src().join(rel), &mut files);
    assert!(!files.is_empty(), "no Rust files under src/{rel}");
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            if needles.iter().any(|needle| code.contains(needle)) {
                found.push(format!("{}:{}: {}", file.strip_prefix(src()).unwrap().display(), n + 1, code));
            }
        }
    }
    found
}

#[test]
fn adapters_do_not_depend_on_wiring() {
    let found = offenders("adapters", &["crate::wiring", "super::wiring"]);
    assert!(found.is_empty(), "adapters import wiring (a cycle: wiring assembles Ports from the adapters):\n{}", found.join("\n"));
}

#[test]
fn custody_does_not_depend_on_ports() {
    let found = offenders("custody.rs", &["crate::ports", "super::ports"]);
    assert!(found.is_empty(), "custody imports ports (a cycle: ports uses custody::CaSigner):\n{}", found.join("\n"));
}

#[test]
fn services_take_time_from_clock_not_http() {
    let found = offenders("services", &["http::render"]);
    assert!(found.is_empty(), "services reach up into http::render (use crate::clock):\n{}", found.join("\n"));
}
