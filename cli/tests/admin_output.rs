//! `trustplane admin --output json|table`, bulk key creation's progress bar, and
//! `trustplane completions`, on the embedded backend.

use std::path::Path;
use std::process::{Command, Output};
use trustplane_core::config::Config;
use trustplane_core::services::api_keys::ApiKeys;

const TRUSTPLANE: &str = env!("CARGO_BIN_EXE_trustplane");

fn trustplane(args: &[&str], data_dir: &Path) -> Output {
    let out = Command::new(TRUSTPLANE).args(args).arg("--data-dir").arg(data_dir).env("TRUSTPLANE_BACKEND", "local").output().expect("run trustplane");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 on stdout")
}

async fn authenticates(data_dir: &Path, secret: &str) -> bool {
    let mut config = Config::from_lookup(|_| None).unwrap();
    config.data_dir = data_dir.to_path_buf();
    let (ports, _) = trustplane_core::wiring::open_local(&config).unwrap();
    ApiKeys::new(ports.store).authenticate(secret).await.is_ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn create_key_with_output_json_prints_one_document_with_the_id_name_scopes_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = trustplane(&["admin", "--output", "json", "create-key", "--name", "ops", "--scopes", "ca:read,admin"], dir.path());
    let printed: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON on stdout");
    let fields: Vec<&String> = printed.as_object().unwrap().keys().collect();
    assert_eq!(fields, ["id", "key", "name", "scopes"]);
    assert_eq!((&printed["name"], &printed["scopes"]), (&serde_json::json!("ops"), &serde_json::json!(["admin", "ca:read"])));
    assert!(authenticates(dir.path(), printed["key"].as_str().unwrap()).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn bulk_create_key_with_output_table_prints_a_header_and_one_row_per_working_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = trustplane(&["admin", "create-key", "--name", "fleet", "--count", "3", "--scopes", "admin", "--output", "table"], dir.path());
    let text = stdout(&out);
    let lines: Vec<Vec<&str>> = text.lines().map(|line| line.split_whitespace().collect()).collect();
    assert_eq!(lines[0], ["ID", "NAME", "SCOPES", "KEY"], "{text}");
    assert_eq!(lines.len(), 4, "{text}");
    for (i, row) in lines[1..].iter().enumerate() {
        assert_eq!((row[1], row[2]), (format!("fleet-{}", i + 1).as_str(), "admin"), "{text}");
        assert!(authenticates(dir.path(), row[3]).await, "row {i}: {text}");
    }
    assert!(!String::from_utf8_lossy(&out.stderr).contains("creating keys"), "no progress bar when stderr is not a terminal");
}

#[test]
fn bulk_create_key_on_a_terminal_draws_a_progress_bar_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let command = format!("{TRUSTPLANE} admin create-key --name bar --count 5 --data-dir {} >/dev/null", dir.path().display());
    let out = Command::new("script").args(["--quiet", "--return", "--command", &command, "/dev/null"]).env("TRUSTPLANE_BACKEND", "local").output().expect("script (util-linux) gives it a terminal");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let terminal = String::from_utf8_lossy(&out.stdout);
    assert!(terminal.contains("creating keys [") && terminal.contains("/5"), "the terminal showed: {terminal:?}");
}

#[test]
fn redrive_and_orphan_keys_with_output_table_print_their_headers() {
    let dir = tempfile::tempdir().unwrap();
    let redrive = stdout(&trustplane(&["admin", "--output", "table", "redrive"], dir.path()));
    assert_eq!(redrive, "QUEUE  REDRIVEN\njobs   0\n");
    let orphans = stdout(&trustplane(&["admin", "--output", "table", "orphan-keys"], dir.path()));
    assert_eq!(orphans, "KEY  OWNER  REASON  SCHEDULED FOR DELETION\n");
}

#[test]
fn an_unknown_output_format_is_refused_with_the_choices() {
    let out = Command::new(TRUSTPLANE).args(["admin", "--output", "yaml", "redrive"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("json") && stderr.contains("table"), "{stderr}");
}

#[test]
fn completions_for_bash_zsh_and_fish_name_every_subcommand() {
    for (shell, marker) in [("bash", "complete -F"), ("zsh", "#compdef trustplane"), ("fish", "complete -c trustplane")] {
        let out = Command::new(TRUSTPLANE).args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}: {}", String::from_utf8_lossy(&out.stderr));
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(marker), "{shell} script without {marker:?}");
        for subcommand in ["serve", "admin", "provision", "completions", "create-key", "init-ca", "orphan-keys", "redrive"] {
            assert!(script.contains(subcommand), "{shell} completions lack {subcommand}");
        }
    }
}

#[test]
fn the_bash_completion_script_loads_in_bash_and_completes_the_admin_subcommands() {
    let out = Command::new(TRUSTPLANE).args(["completions", "bash"]).output().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("trustplane.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let probe = format!(
        "source {}; COMP_WORDS=(trustplane admin ''); COMP_CWORD=2; COMP_LINE='trustplane admin '; COMP_POINT=${{#COMP_LINE}}; _trustplane trustplane '' admin; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let completed = Command::new("bash").args(["--norc", "-c", &probe]).output().unwrap();
    let words = String::from_utf8_lossy(&completed.stdout);
    for subcommand in ["create-key", "init-ca", "orphan-keys", "redrive"] {
        assert!(words.lines().any(|w| w == subcommand), "bash completed `trustplane admin ` with {words:?} ({})", String::from_utf8_lossy(&completed.stderr));
    }
}
