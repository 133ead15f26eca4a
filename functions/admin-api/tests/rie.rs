//! Every `events/admin-api/` fixture through the built bootstrap under the Lambda Runtime
//! Interface Emulator, on the AWS adapters against moto.

use std::sync::Arc;
use trustplane_core::wiring::aws_ports_with as ports_with;
use trustplane_core::services::api_keys::{ApiKeys, KeyName};
use trustplane_core::testkit::{fixture_text, moto, rie::Rie};

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_answers_its_status_through_the_lambda_runtime_emulator() {
    let config = moto::fresh_config().await;
    let ports = ports_with(&moto::sdk_config().await, &config).unwrap();
    let keys = ApiKeys::new(Arc::clone(&ports.store));
    let admin = keys.create(KeyName::parse("rie").unwrap(), trustplane_core::domain::Scopes::all()).await.unwrap();
    let victim = keys.create(KeyName::parse("victim").unwrap(), trustplane_core::domain::Scopes::all()).await.unwrap();
    let rie = Rie::start("admin-api", &moto::lambda_env(&config));
    let subs = [("ADMIN_KEY", admin.secret.as_str()), ("KEY_ID", victim.record.id.as_str())];
    let cases = [
        ("health", 200),
        ("create-key", 201),
        ("create-key-no-key", 401),
        ("create-key-bad-json", 400),
        ("create-key-wrong-content-type", 415),
        ("list-keys", 200),
        ("list-keys-unknown-key", 401),
        ("delete-key", 204),
    ];
    for (fixture, status) in cases {
        let reply = tokio::task::block_in_place(|| rie.invoke(&fixture_text("admin-api", fixture, &subs)));
        assert_eq!(reply["statusCode"], status, "{fixture}: {reply}");
    }
    let revoked = keys.authenticate(&victim.secret).await;
    assert!(matches!(revoked, Err(trustplane_core::Error::Unauthorized(_))), "delete-key through the emulator revoked the key in DynamoDB: {revoked:?}");
    assert!(keys.authenticate(&admin.secret).await.is_ok(), "the store answers: only the victim was revoked");
}
