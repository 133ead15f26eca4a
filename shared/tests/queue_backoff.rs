//! The embedded queue `local::open` builds backs off failed jobs unless the configuration opts out.

use async_trait::async_trait;
use trustplane_core::adapters::local::{self, DrainReport};
use trustplane_core::config::Config;
use trustplane_core::jobs::JobHandler;

struct AlwaysFails;

#[async_trait]
impl JobHandler for AlwaysFails {
    async fn handle(&self, _: &str) -> trustplane_core::Result<()> {
        Err(trustplane_core::Error::Unavailable("worker down".into()))
    }
}

fn config_in(dir: &tempfile::TempDir, env: &'static [(&str, &str)]) -> Config {
    let mut config = Config::from_lookup(|k| env.iter().find(|(name, _)| *name == k).map(|(_, v)| v.to_string())).unwrap();
    config.data_dir = dir.path().to_path_buf();
    config
}

async fn two_drains_of_a_failing_job(config: &Config) -> (DrainReport, DrainReport) {
    let (ports, queue) = local::open(config).unwrap();
    ports.queue.send("job".into()).await.unwrap();
    (queue.drain_once(&AlwaysFails).await.unwrap(), queue.drain_once(&AlwaysFails).await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn by_default_a_failed_job_waits_out_its_backoff_before_the_next_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = two_drains_of_a_failing_job(&config_in(&dir, &[])).await;
    assert_eq!(first.failed, 1);
    assert_eq!(second, DrainReport::default(), "retried at once, without backing off");
}

#[tokio::test(flavor = "multi_thread")]
async fn queue_retry_backoff_false_retries_a_failed_job_on_the_next_drain() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = two_drains_of_a_failing_job(&config_in(&dir, &[("QUEUE_RETRY_BACKOFF", "false")])).await;
    assert_eq!((first.failed, second.failed), (1, 1));
}
