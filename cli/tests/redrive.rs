//! `trustplane admin redrive`: dead-lettered jobs of the embedded backend go back to the queue.

use async_trait::async_trait;
use std::process::Command;
use trustplane_core::adapters::local::{DEAD_LETTER_PARTITION, QUEUE_PARTITION};
use trustplane_core::config::Config;
use trustplane_core::jobs::JobHandler;
use trustplane_core::ports::Query;

struct AlwaysFails;

#[async_trait]
impl JobHandler for AlwaysFails {
    async fn handle(&self, _: &str) -> trustplane_core::Result<()> {
        Err(trustplane_core::Error::Unavailable("worker down".into()))
    }
}

fn config_in(dir: &std::path::Path) -> Config {
    let mut config = Config::from_lookup(|_| None).unwrap();
    config.data_dir = dir.to_path_buf();
    config.queue_retry_backoff = false;
    config
}

async fn partition_len(config: &Config, partition: &str) -> usize {
    let (ports, _) = trustplane_core::wiring::open_local(config).unwrap();
    ports.store.query(Query::partition(partition)).await.unwrap().items.len()
}

fn redrive(data_dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_trustplane"))
        .args(["admin", "redrive", "--data-dir"])
        .arg(data_dir)
        .env("TRUSTPLANE_BACKEND", "local")
        .output()
        .expect("run trustplane admin redrive")
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_redrive_moves_every_dead_letter_back_to_the_job_queue() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path());
    {
        let (ports, queue) = trustplane_core::wiring::open_local(&config).unwrap();
        for body in ["one", "two"] {
            ports.queue.send(body.into()).await.unwrap();
        }
        for _ in 0..config.tenants.max_receives {
            queue.drain_once(&AlwaysFails).await.unwrap();
        }
    }
    assert_eq!((partition_len(&config, QUEUE_PARTITION).await, partition_len(&config, DEAD_LETTER_PARTITION).await), (0, 2));
    let out = redrive(dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(printed, serde_json::json!({ "redriven": 2 }));
    assert_eq!((partition_len(&config, QUEUE_PARTITION).await, partition_len(&config, DEAD_LETTER_PARTITION).await), (2, 0));
}

#[test]
fn admin_redrive_with_nothing_dead_lettered_moves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = redrive(dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(), serde_json::json!({ "redriven": 0 }));
}
