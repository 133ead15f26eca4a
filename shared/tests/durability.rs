//! Crash durability of the embedded adapters, observed from the outside with `strace`: every
//! file is flushed before it is renamed or linked into place, and every directory whose
//! entries change (create, rename, link, unlink) is flushed afterwards — the file's own
//! `fsync` does not persist its directory entry (ext4/xfs; `fsync(2)` NOTES). Lock files
//! (opened without `O_EXCL`) and temporary files carry nothing to keep.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use trustplane_core::adapters::local::{DirBlobs, KeyFileCustody, KeyFileMac};
use trustplane_core::domain::BlobKey;
use trustplane_core::ports::{BlobCondition, Blobs, KeyAlgorithm, KeyCustody};

const CHILD_DIR: &str = "TRUSTPLANE_DURABILITY_DIR";

/// The writes the parent test watches; run only under it (it sets the directory).
#[tokio::test]
#[ignore = "run under strace by embedded_adapters_flush_files_before_publishing_and_directories_after"]
async fn child_writes_every_kind_of_file() {
    let root = PathBuf::from(std::env::var(CHILD_DIR).expect("run by the strace test"));
    let blobs = DirBlobs::new(root.join("blobs")).unwrap();
    let key = BlobKey::parse("crl/a.crl").unwrap();
    blobs.put(&key, b"one".to_vec(), "application/pkix-crl").await.unwrap();
    let tag = blobs.get_tagged(&key).await.unwrap().expect("just written").tag;
    blobs.put_if(&key, b"two".to_vec(), "application/pkix-crl", BlobCondition::Tagged(tag)).await.unwrap();
    let custody = KeyFileCustody::new(root.join("keys")).unwrap();
    let kept = custody.create_key("ca-kept", KeyAlgorithm::EcP256).await.unwrap();
    custody.mark_orphan(&kept).await.unwrap();
    let dropped = custody.create_key("ca-dropped", KeyAlgorithm::EcP256).await.unwrap();
    custody.discard_key(&dropped.key_ref).await.unwrap();
    KeyFileMac::open(&root.join("mac.key")).unwrap();
}

#[test]
fn embedded_adapters_flush_files_before_publishing_and_directories_after() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let log = root.join("strace.log");
    let status = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=openat,open,creat,rename,renameat,renameat2,link,linkat,unlink,unlinkat,fsync,fdatasync,close", "-o"])
        .arg(&log)
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "child_writes_every_kind_of_file", "--ignored", "--test-threads=1"])
        .env(CHILD_DIR, &root)
        .status()
        .expect("strace is installed by infra/test.sh");
    assert!(status.success(), "the traced writes failed");
    let calls = parse(&std::fs::read_to_string(&log).unwrap());
    let published = check(&calls, &root);
    for kind in ["rename", "link", "unlink", "create"] {
        assert!(published.iter().any(|p| p.starts_with(kind)), "no {kind} observed under {}: {published:?}", root.display());
    }
}

/// One traced system call: name, the quoted paths among its arguments, its flags text, result.
#[derive(Debug)]
struct Call {
    name: String,
    paths: Vec<String>,
    args: String,
    ret: i64,
}

fn parse(log: &str) -> Vec<Call> {
    let mut pending: HashMap<String, String> = HashMap::new();
    let mut calls = Vec::new();
    for line in log.lines() {
        let (pid, rest) = line.split_once(' ').unwrap_or(("", line));
        let rest = rest.trim_start();
        let whole = if let Some(head) = rest.strip_suffix("<unfinished ...>") {
            pending.insert(pid.to_owned(), head.to_owned());
            continue;
        } else if rest.starts_with("<...") {
            let tail = rest.split_once("resumed>").map(|(_, t)| t).unwrap_or("");
            format!("{}{}", pending.remove(pid).unwrap_or_default(), tail)
        } else {
            rest.to_owned()
        };
        let Some((name, tail)) = whole.split_once('(') else { continue };
        let Some((args, ret)) = tail.rsplit_once(" = ") else { continue };
        let Some(args) = args.trim_end().strip_suffix(')') else { continue };
        let ret = ret.split_whitespace().next().and_then(|r| r.parse().ok()).unwrap_or(-1);
        let paths = args.split('"').skip(1).step_by(2).map(str::to_owned).collect();
        calls.push(Call { name: name.to_owned(), paths, args: args.to_owned(), ret });
    }
    calls
}

/// Checks the ordering rules under `root`; returns what was published, e.g. `rename <path>`.
fn check(calls: &[Call], root: &Path) -> Vec<String> {
    let under = |p: &str| Path::new(p).starts_with(root) && !p.ends_with("strace.log");
    let mut open: HashMap<i64, String> = HashMap::new();
    let mut flushed_files: Vec<String> = Vec::new();
    let mut dirty_dirs: Vec<(String, String)> = Vec::new();
    let mut published = Vec::new();
    for call in calls {
        match call.name.as_str() {
            "openat" | "open" | "creat" if call.ret >= 0 => {
                let path = call.paths.last().cloned().unwrap_or_default();
                open.insert(call.ret, path.clone());
                if under(&path) && call.args.contains("O_EXCL") && !is_temp(&path) {
                    dirty_dirs.push((parent(&path), format!("create {path}")));
                }
            }
            "fsync" | "fdatasync" => {
                let fd: i64 = call.args.trim().parse().unwrap_or(-1);
                if let Some(path) = open.get(&fd) {
                    flushed_files.push(path.clone());
                    dirty_dirs.retain(|(dir, what)| {
                        let done = dir == path;
                        if done {
                            published.push(what.clone());
                        }
                        !done
                    });
                }
            }
            "close" => {
                let fd: i64 = call.args.trim().parse().unwrap_or(-1);
                open.remove(&fd);
            }
            name if (name.starts_with("rename") || name.starts_with("link")) && call.ret == 0 => {
                let (Some(from), Some(to)) = (call.paths.first(), call.paths.last()) else { continue };
                if under(to) {
                    assert!(flushed_files.contains(from), "{name} {from} -> {to} before {from} was flushed");
                    let kind = if name.starts_with("rename") { "rename" } else { "link" };
                    dirty_dirs.push((parent(to), format!("{kind} {to}")));
                }
            }
            name if name.starts_with("unlink") && call.ret == 0 => {
                let Some(path) = call.paths.last() else { continue };
                if under(path) && !is_temp(path) {
                    dirty_dirs.push((parent(path), format!("unlink {path}")));
                }
            }
            _ => {}
        }
    }
    let dirty: Vec<&(String, String)> = dirty_dirs.iter().filter(|(_, what)| !is_temp(what)).collect();
    assert!(dirty.is_empty(), "directory never flushed after: {dirty:?}");
    published
}

/// Temporary files (`.<name>.<uuid>.tmp`, `<name>.tmp-<uuid>`) need no durable entry.
fn is_temp(path: &str) -> bool {
    Path::new(path).file_name().is_some_and(|n| n.to_string_lossy().contains(".tmp"))
}

fn parent(path: &str) -> String {
    Path::new(path).parent().map(|p| p.display().to_string()).unwrap_or_default()
}
