//! AWS adapters: DynamoDB, KMS, SQS, S3.
