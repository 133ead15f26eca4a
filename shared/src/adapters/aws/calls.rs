//! Counting the AWS calls a deployment makes ([`AwsCalls`]): the calls per operation are the
//! cost model (every KMS `Sign`, DynamoDB request and S3 request is billed), so tests hold
//! each operation to its budget.

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// An SDK interceptor counting every attempt (retries count: each is billed) by
/// `Service.Operation`, e.g. `DynamoDB.GetItem`, `KMS.Sign`.
#[derive(Clone, Debug, Default)]
pub struct AwsCalls(Arc<Mutex<BTreeMap<String, u64>>>);

impl AwsCalls {
    /// The counts so far.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The calls made since `before` (a [`AwsCalls::snapshot`]), without zero entries.
    pub fn since(&self, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
        self.snapshot()
            .into_iter()
            .map(|(op, n)| {
                let made = n - before.get(&op).copied().unwrap_or(0);
                (op, made)
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

impl Intercept for AwsCalls {
    fn name(&self) -> &'static str {
        "AwsCalls"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if let Some(operation) = cfg.load::<Metadata>() {
            let key = format!("{}.{}", operation.service(), operation.name());
            *self
                .0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(key)
                .or_default() += 1;
        }
        Ok(())
    }
}
