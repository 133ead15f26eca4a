//! One documented configuration, read once at start. Variable names match `template.yaml`
//! and the README's configuration table.

use crate::error::{Error, Result};
use std::path::PathBuf;

mod device_events;
mod tenants;

/// The number variable `name` holds (`default` when unset or empty), refused outside `range`.
pub(crate) fn number<T>(get: &impl Fn(&str) -> Option<String>, name: &str, default: T, range: std::ops::RangeInclusive<T>) -> Result<T>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    match get(name).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| Error::validation(format!("{name} must be a number in {}..={}", range.start(), range.end()))),
    }
}

pub use device_events::DeviceEventsConfig;
pub use tenants::TenantConfig;

/// Which family of adapters backs the ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// DynamoDB, KMS, SQS, S3 (the Lambda functions; moto in tests).
    Aws,
    /// SQLite file, key files, in-process queue, a directory (`trustplane serve`).
    Local,
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// Everything the functions, workers and `serve` read from the environment.
#[derive(Clone, Debug)]
pub struct Config {
    /// `TRUSTPLANE_BACKEND`: `aws` or `local` (default `aws` on Lambda, `local` elsewhere).
    pub backend: Backend,
    /// `TRUSTPLANE_DATA_DIR`: the embedded backend's directory (default `./.trustplane`).
    pub data_dir: PathBuf,
    /// `TABLE_NAME`: the DynamoDB table (AWS backend).
    pub table_name: String,
    /// `CRL_BUCKET`: the S3 bucket for CRLs and backups (AWS backend).
    pub blob_bucket: String,
    /// `JOB_QUEUE_URL`: the SQS queue workers consume (AWS backend).
    pub job_queue_url: String,
    /// `KMS_ALIAS_PREFIX`: prefix of the alias given to every CA key (default `alias/trustplane`).
    pub kms_alias_prefix: String,
    /// `STACK_NAME`: value of the `trustplane:stack` tag on KMS keys, which IAM policies match.
    pub stack_name: String,
    /// `DEPLOYMENT_MAC_KEY_ID`: the KMS `HMAC_256` key (id, ARN or alias) every function derives
    /// its list-cursor and device-secret keys from and MACs device-event tickets with (AWS
    /// backend). Never the confirm-token key (`TENANT_TOKEN_KEY_ID`).
    pub mac_key_id: String,
    /// `S3_FORCE_PATH_STYLE`: `true` for S3 emulators (moto) that lack virtual-host addressing.
    pub s3_force_path_style: bool,
    /// `PUBLIC_BASE_URL`: the URL relying parties use to reach the API and published blobs.
    pub public_base_url: String,
    /// `CRL_BASE_URL`: public base URL of published CRLs; an authority's default CRL distribution
    /// point is `<CRL_BASE_URL>/crl/<authorityId>.crl` (default: `PUBLIC_BASE_URL`, which `serve`
    /// answers at that path; on AWS the CRL bucket's regional URL).
    pub crl_base_url: String,
    /// `OCSP_BASE_URL`: base of the OCSP responder URL written into the AIA of what each
    /// authority signs (`<base>/ocsp/<authorityId>`). Default: `PUBLIC_BASE_URL` when set, or,
    /// on the embedded backend, its default (`serve` answers there); on AWS without either,
    /// no OCSP URL is written.
    pub ocsp_base_url: Option<String>,
    /// `CRL_VALIDITY_HOURS`: a CRL's nextUpdate − thisUpdate (default 24).
    pub crl_validity_hours: u32,
    /// `CRL_DELTA_VALIDITY_HOURS`: a delta CRL's nextUpdate − thisUpdate (RFC 5280 §5.2.4),
    /// shorter than `CRL_VALIDITY_HOURS`; unset, a quarter of it.
    pub crl_delta_validity_hours: Option<u32>,
    /// `DEFAULT_ISSUER_ID`: the authority agent provisioning and the Puppet CA sign with.
    pub default_issuer_id: Option<String>,
    /// `AGENT_CERT_VALIDITY_DAYS`: validity of certificates from `POST /api/v1/provision` (default 90).
    pub agent_cert_validity_days: u32,
    /// `PUPPET_AUTOSIGN`: comma-separated certname globs (`*` any run, `?` one character) whose
    /// Puppet CA requests are signed on arrival (default: none, every request waits for
    /// `POST /api/v1/ca/sign/{certname}`).
    pub puppet_autosign: Vec<String>,
    /// `PUPPET_MAX_PENDING`: how many pending Puppet certificate requests the CA holds at most
    /// (default 10000, 1..=1000000); further submissions get 503 `TOO_MANY_PENDING_REQUESTS`.
    pub puppet_max_pending: usize,
    /// `MAX_BODY_BYTES`: request body limit (default 1 MiB); larger bodies get 413.
    pub max_body_bytes: usize,
    /// `LOG_FORMAT`: `json` or `text` (default `json` on Lambda, `text` elsewhere).
    pub log_format: LogFormat,
    /// `QUEUE_RETRY_BACKOFF`: `false` or `0` makes the embedded queue retry a failed job on its
    /// next drain instead of backing off exponentially (default on; tests that drain in a loop).
    pub queue_retry_backoff: bool,
    /// Seed 003's settings (`TENANT_*`, `TRUST_FORWARDED_FOR`).
    pub tenants: TenantConfig,
    /// Seed 002's SSE stream settings (`DEVICE_EVENTS_*`).
    pub device_events: DeviceEventsConfig,
    /// Seed 002's per-API-key rate limit and circuit breaker (`DEVICES_RATE_PER_SEC`,
    /// `DEVICES_RATE_BURST`, `DEVICES_BREAKER_FAILURES`, `DEVICES_BREAKER_COOLDOWN_SECONDS`).
    pub devices_guard: crate::services::devices::guard::GuardConfig,
    /// `DEVICE_QUEUE_URL`: the SQS queue the device worker consumes (seed 002; AWS backend).
    pub device_queue_url: String,
    /// `DEVICE_ISSUER_ID`: the authority device certificates are issued from (default: the
    /// default issuing authority, as agent provisioning).
    pub device_issuer_id: Option<String>,
    /// `DEVICE_CERT_VALIDITY_DAYS`: validity of device certificates (default 365, 1..=3650;
    /// clipped to end with the issuer).
    pub device_cert_validity_days: u32,
    /// `DEVICE_MAX_RECEIVES`: deliveries of one device job before the device is `failed`
    /// (default 5; the template's `maxReceiveCount`).
    pub device_max_receives: u32,
    /// `DEVICE_GATEWAY_TIMEOUT_SECONDS`: a session whose gateway has been silent this long
    /// (or with a device in `provisioning` this long) is recoverable (default 120).
    pub device_gateway_timeout_secs: u64,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads configuration through `get` (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let on_lambda = get("AWS_LAMBDA_FUNCTION_NAME").is_some();
        let backend = match get("TRUSTPLANE_BACKEND").as_deref() {
            Some("aws") => Backend::Aws,
            Some("local") => Backend::Local,
            None if on_lambda => Backend::Aws,
            None => Backend::Local,
            Some(other) => return Err(Error::validation(format!("TRUSTPLANE_BACKEND must be aws or local, not {other:?}"))),
        };
        let log_format = match get("LOG_FORMAT").as_deref() {
            Some("json") => LogFormat::Json,
            Some("text") => LogFormat::Text,
            None if on_lambda => LogFormat::Json,
            None => LogFormat::Text,
            Some(other) => return Err(Error::validation(format!("LOG_FORMAT must be json or text, not {other:?}"))),
        };
        let max_body_bytes = match get("MAX_BODY_BYTES") {
            Some(v) => v.parse().map_err(|_| Error::validation("MAX_BODY_BYTES must be a byte count"))?,
            None => 1024 * 1024,
        };
        let public_base_url = get("PUBLIC_BASE_URL").filter(|v| !v.is_empty()).unwrap_or_else(|| "http://127.0.0.1:8080".into());
        let crl_validity_hours = match get("CRL_VALIDITY_HOURS") {
            Some(v) => v.parse().ok().filter(|h| (1..=24 * 31).contains(h)).ok_or_else(|| Error::validation("CRL_VALIDITY_HOURS must be 1..=744"))?,
            None => 24,
        };
        let crl_delta_validity_hours = match get("CRL_DELTA_VALIDITY_HOURS").filter(|v| !v.is_empty()) {
            Some(v) => Some(v.parse().ok().filter(|h| (1..crl_validity_hours).contains(h)).ok_or_else(|| Error::validation("CRL_DELTA_VALIDITY_HOURS must be at least 1 and less than CRL_VALIDITY_HOURS"))?),
            None => None,
        };
        let agent_cert_validity_days = match get("AGENT_CERT_VALIDITY_DAYS") {
            Some(v) => v.parse().ok().filter(|d| (1..=3650).contains(d)).ok_or_else(|| Error::validation("AGENT_CERT_VALIDITY_DAYS must be 1..=3650"))?,
            None => 90,
        };
        let puppet_autosign = autosign_globs(get("PUPPET_AUTOSIGN").as_deref().unwrap_or(""))?;
        let puppet_max_pending = match get("PUPPET_MAX_PENDING").filter(|v| !v.is_empty()) {
            Some(v) => v.parse().ok().filter(|n| (1..=1_000_000).contains(n)).ok_or_else(|| Error::validation("PUPPET_MAX_PENDING must be 1..=1000000"))?,
            None => 10_000,
        };
        let tenants = TenantConfig::from_lookup(&get)?;
        let device_events = DeviceEventsConfig::from_lookup(&get, backend)?;
        let devices_guard = crate::services::devices::guard::GuardConfig::from_lookup(&get)?;
        Ok(Config {
            tenants,
            device_events,
            devices_guard,
            device_queue_url: get("DEVICE_QUEUE_URL").unwrap_or_default(),
            device_issuer_id: get("DEVICE_ISSUER_ID").filter(|v| !v.is_empty()),
            device_cert_validity_days: number(&get, "DEVICE_CERT_VALIDITY_DAYS", 365, 1..=3650)?,
            device_max_receives: number(&get, "DEVICE_MAX_RECEIVES", 5, 1..=1000)?,
            device_gateway_timeout_secs: number(&get, "DEVICE_GATEWAY_TIMEOUT_SECONDS", 120, 1..=86_400)?,
            agent_cert_validity_days,
            puppet_autosign,
            puppet_max_pending,
            crl_base_url: get("CRL_BASE_URL").filter(|v| !v.is_empty()).unwrap_or_else(|| public_base_url.clone()),
            ocsp_base_url: match get("OCSP_BASE_URL").or_else(|| get("PUBLIC_BASE_URL")).filter(|v| !v.is_empty()) {
                Some(base) => Some(base),
                None if backend == Backend::Local => Some(public_base_url.clone()),
                None => None,
            },
            crl_validity_hours,
            crl_delta_validity_hours,
            default_issuer_id: get("DEFAULT_ISSUER_ID").filter(|v| !v.is_empty()),
            backend,
            data_dir: get("TRUSTPLANE_DATA_DIR").unwrap_or_else(|| "./.trustplane".into()).into(),
            table_name: get("TABLE_NAME").unwrap_or_else(|| "trustplane".into()),
            blob_bucket: get("CRL_BUCKET").unwrap_or_else(|| "trustplane-crl".into()),
            job_queue_url: get("JOB_QUEUE_URL").unwrap_or_default(),
            kms_alias_prefix: get("KMS_ALIAS_PREFIX").unwrap_or_else(|| "alias/trustplane".into()),
            stack_name: get("STACK_NAME").unwrap_or_else(|| "trustplane".into()),
            mac_key_id: get("DEPLOYMENT_MAC_KEY_ID").unwrap_or_default(),
            s3_force_path_style: get("S3_FORCE_PATH_STYLE").is_some_and(|v| v == "true" || v == "1"),
            public_base_url,
            max_body_bytes,
            log_format,
            queue_retry_backoff: !get("QUEUE_RETRY_BACKOFF").is_some_and(|v| v == "false" || v == "0"),
        })
    }
}

/// The `PUPPET_AUTOSIGN` globs: trimmed, empty entries dropped, each of certname characters
/// (`a-z 0-9 . _ -`) and the wildcards `*` and `?`, at most 253 characters, and with at
/// least two labels free of wildcards (`*`, `*.com` or `web?.*.com` would sign nearly anyone).
fn autosign_globs(raw: &str) -> Result<Vec<String>> {
    let ok = |g: &str| g.len() <= 253 && g.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-*?".contains(c));
    let globs: Vec<String> = raw.split(',').map(str::trim).filter(|g| !g.is_empty()).map(str::to_owned).collect();
    if let Some(bad) = globs.iter().find(|g| !ok(g)) {
        return Err(Error::validation(format!("PUPPET_AUTOSIGN: {bad:?} is not a certname glob (a-z 0-9 . _ - * ?)")));
    }
    match globs.iter().find(|g| too_broad(g)) {
        Some(bad) => Err(Error::validation(format!("PUPPET_AUTOSIGN: {bad:?} is too broad; name at least two literal domain labels (e.g. *.lab.example.com)"))),
        None => Ok(globs),
    }
}

/// True if `glob` has fewer than two labels without wildcards after its last wildcard.
fn too_broad(glob: &str) -> bool {
    let literal_tail = glob.rsplit('.').take_while(|label| !label.is_empty() && !label.contains(['*', '?'])).count();
    glob.contains(['*', '?']) && literal_tail < 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn config_defaults_to_local_text_outside_lambda_and_aws_json_on_lambda() {
        let local = cfg(&[]).unwrap();
        assert_eq!((local.backend, local.log_format), (Backend::Local, LogFormat::Text));
        let lambda = cfg(&[("AWS_LAMBDA_FUNCTION_NAME", "f")]).unwrap();
        assert_eq!((lambda.backend, lambda.log_format), (Backend::Aws, LogFormat::Json));
    }

    #[test]
    fn config_rejects_unknown_backend_and_bad_body_limit() {
        assert!(cfg(&[("TRUSTPLANE_BACKEND", "gcp")]).is_err());
        assert!(cfg(&[("MAX_BODY_BYTES", "lots")]).is_err());
    }

    #[test]
    fn puppet_autosign_is_a_comma_separated_list_of_certname_globs_defaulting_to_none() {
        assert!(cfg(&[]).unwrap().puppet_autosign.is_empty());
        let globs = cfg(&[("PUPPET_AUTOSIGN", " *.lab.example.com, ,web0?.example.com ")]).unwrap().puppet_autosign;
        assert_eq!(globs, ["*.lab.example.com", "web0?.example.com"]);
        assert!(cfg(&[("PUPPET_AUTOSIGN", "*.Example.com")]).is_err());
        assert!(cfg(&[("PUPPET_AUTOSIGN", "a/b")]).is_err());
    }

    #[test]
    fn puppet_autosign_refuses_a_lone_star_and_single_label_wildcards() {
        for broad in ["*", "*.com", "web?", "*.*", "node.*", "*.example.*", "a*b.com"] {
            assert!(cfg(&[("PUPPET_AUTOSIGN", broad)]).is_err(), "{broad}");
        }
        for narrow in ["*.example.com", "web0?.lab.example.com", "node.example.com"] {
            assert!(cfg(&[("PUPPET_AUTOSIGN", narrow)]).is_ok(), "{narrow}");
        }
    }
}
