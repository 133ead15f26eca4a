//! Redriving the AWS queues on moto: a poison message in `<queue>-dlq` goes back to its queue.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::config::Credentials;
use trustplane_core::adapters::aws::bootstrap::{create_resources_with, redrive_dead_letters_with};
use trustplane_core::config::Config;

/// Test credentials and moto's endpoint (`TRUSTPLANE_TEST_AWS_ENDPOINT`, which infra/test.sh sets).
async fn moto_sdk_config() -> SdkConfig {
    let endpoint = std::env::var("TRUSTPLANE_TEST_AWS_ENDPOINT").expect("TRUSTPLANE_TEST_AWS_ENDPOINT: run through infra/test.sh");
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "redrive-tests"))
        .load()
        .await
}

/// Fresh, uniquely named queues (and the other bootstrap resources) on moto.
async fn fresh_config(sdk: &SdkConfig) -> Config {
    let name = format!("tp-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let env = [("TRUSTPLANE_BACKEND", "aws"), ("TABLE_NAME", &name), ("CRL_BUCKET", &name), ("STACK_NAME", &name), ("S3_FORCE_PATH_STYLE", "true")];
    let config = Config::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
    create_resources_with(sdk, &Config { kms_alias_prefix: format!("alias/{name}"), ..config }).await.unwrap()
}

async fn dead_letter_queue_url(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> String {
    let name = format!("{}-dlq", queue_url.rsplit('/').next().unwrap());
    sqs.get_queue_url().queue_name(name).send().await.unwrap().queue_url.unwrap()
}

async fn bodies_in(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<String> {
    let out = sqs.receive_message().queue_url(queue_url).max_number_of_messages(10).wait_time_seconds(1).send().await.unwrap();
    out.messages.unwrap_or_default().into_iter().filter_map(|m| m.body).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn redrive_moves_a_poison_message_from_each_dead_letter_queue_back_to_its_queue() {
    let sdk = moto_sdk_config().await;
    let config = fresh_config(&sdk).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    for (queue, body) in [(&config.job_queue_url, "poison job"), (&config.tenants.queue_url, "poison tenant")] {
        let dlq = dead_letter_queue_url(&sqs, queue).await;
        sqs.send_message().queue_url(dlq).message_body(body).send().await.unwrap();
    }
    assert_eq!(redrive_dead_letters_with(&sdk, &config).await.unwrap().iter().map(|(_, n)| n).sum::<usize>(), 2);
    assert_eq!(bodies_in(&sqs, &config.job_queue_url).await, ["poison job"]);
    assert_eq!(bodies_in(&sqs, &config.tenants.queue_url).await, ["poison tenant"]);
    assert!(bodies_in(&sqs, &dead_letter_queue_url(&sqs, &config.job_queue_url).await).await.is_empty());
    assert_eq!(redrive_dead_letters_with(&sdk, &config).await.unwrap().iter().map(|(_, n)| n).sum::<usize>(), 0, "nothing left to move");
}
