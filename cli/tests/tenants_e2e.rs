//! Seed 003 end to end: the seed's own bash client, saved unchanged in `seed003/`, against a
//! real `trustplane serve --listen 127.0.0.1:5000`; and the seed's log lines from its JSON logs.

mod common;

use common::Server;
use std::process::Command;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/seed003/provision-tenant.sh");

fn run_seed_script() -> (bool, String) {
    let out = Command::new("bash").arg(SCRIPT).output().expect("bash");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn the_seeds_bash_script_provisions_acme_against_serve_and_every_seed_log_line_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(5000, dir.path(), &[("LOG_FORMAT", "json")]);
    let (ok, output) = run_seed_script();
    assert!(ok, "the seed script failed:\n{output}");
    assert!(output.contains("Estado actual: Active"), "{output}");
    assert!(output.contains("\"dbName\": \"ecom_tenant_acme\""), "{output}");
    assert!(dir.path().join("tenants/ecom_tenant_acme.db").exists(), "the tenant database file exists");
    let (again, output) = run_seed_script();
    assert!(!again && output.contains("Error: No se pudo inicializar"), "a second run meets the taken slug:\n{output}");
    let logs = server.stop().stderr;
    let lines: Vec<serde_json::Value> = logs.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let find = |prefix: &str| lines.iter().find(|l| l["message"].as_str().is_some_and(|m| m.starts_with(prefix))).unwrap_or_else(|| panic!("no log line {prefix:?} in {logs}"));
    let init = find("Tenant provisioning initialized. TenantId: ");
    let id = init["TenantId"].as_str().unwrap().to_owned();
    assert_eq!(init["message"], format!("Tenant provisioning initialized. TenantId: {id}, Slug: acme, Plan: Premium"));
    assert_eq!((init["Slug"].as_str(), init["Plan"].as_str(), init["level"].as_str()), (Some("acme"), Some("Premium"), Some("INFO")));
    let expected = [
        format!("Tenant provisioning confirmed and queued. TenantId: {id}, Slug: acme"),
        format!("Processing provisioning for tenant {id}"),
        format!("Creating database ecom_tenant_acme for tenant {id}"),
        format!("Database ecom_tenant_acme created for tenant {id}"),
        format!("Applying migrations to database ecom_tenant_acme for tenant {id}"),
        format!("Migrations applied to ecom_tenant_acme for tenant {id}"),
        format!("Seeding data for tenant {id} in database ecom_tenant_acme"),
        format!("Data seeded for tenant {id}"),
        format!("Provisioning completed successfully for tenant {id}"),
    ];
    for message in expected {
        let line = lines.iter().find(|l| l["message"] == message.as_str()).unwrap_or_else(|| panic!("no log line {message:?}"));
        assert_eq!(line["TenantId"].as_str(), Some(id.as_str()), "{message}: TenantId is a structured field");
    }
    assert_eq!(find("Creating database")["DbName"], "ecom_tenant_acme");
}
