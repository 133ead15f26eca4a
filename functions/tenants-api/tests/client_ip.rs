//! Which address the per-IP init limit counts, shown by which inits a burst of 2 lets through:
//! in the Lambda, API Gateway's `requestContext.http.sourceIp` (a client's `X-Forwarded-For`
//! is ignored); behind a trusted proxy (`TRUST_FORWARDED_FOR=true`), the header's last entry;
//! in `serve`, the socket's peer unless the header is trusted. Events go through the router
//! in-process on SQLite and through the built bootstrap under the emulator on moto.

mod support;

use support::{request, slug, Backend};
use trustplane_core::config::Config;
use trustplane_core::testkit::{call, fixture_text, moto, replay_in_process, replay_through_rie, rie::Rie};

const BURST: u32 = 2;

fn limits(c: &mut Config, trust: bool) {
    (c.tenants.init_burst, c.tenants.init_per_minute, c.tenants.max_pending_per_ip) = (BURST, 1, 1000);
    c.tenants.trust_forwarded_for = trust;
}

/// The gateway event of an init from `source` whose client claims `forwarded`.
fn event(source: &str, forwarded: &str) -> String {
    let s = slug("ip");
    fixture_text("tenants-api", "init-rate-limited", &[("SLUG", s.as_str()), ("SOURCE_IP", source), ("FORWARDED_FOR", forwarded)])
}

/// `BURST + 1` inits from one source address whose `X-Forwarded-For` ends in a new address
/// each time, and as many from new source addresses whose header ends in one address (what a
/// client claims comes first, the proxy appends the peer): whichever the limit counts is the
/// one that runs out.
async fn check<F, Fut>(send: F, trusted: bool)
where
    F: Fn(String, String) -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let (mut one_source, mut one_header) = (Vec::new(), Vec::new());
    for i in 0..=BURST {
        one_source.push(send("198.51.100.70".into(), format!("203.0.113.250, 192.0.2.{i}")).await);
        one_header.push(send(format!("198.51.100.{}", 80 + i), format!("203.0.113.{i}, 192.0.2.99")).await);
    }
    let (limited, free) = (vec![200, 200, 429], vec![200, 200, 200]);
    match trusted {
        false => assert_eq!((one_source, one_header), (limited, free), "the source address counts; X-Forwarded-For is ignored"),
        true => assert_eq!((one_source, one_header), (free, limited), "behind a trusted proxy, X-Forwarded-For counts"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn in_process_the_gateways_source_ip_counts_unless_x_forwarded_for_is_trusted() {
    for trusted in [false, true] {
        let b = Backend::sqlite_with(|c| limits(c, trusted)).await;
        check(|source, forwarded| {
            let app = b.app.clone();
            async move { replay_in_process(&app, &event(&source, &forwarded)).await.0 }
        }, trusted)
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lambda_counts_the_gateways_source_ip_unless_x_forwarded_for_is_trusted() {
    for trusted in [false, true] {
        let b = Backend::moto_with(|c| limits(c, trusted)).await;
        let mut env = moto::lambda_env(&b.state.config);
        env.extend([("TENANT_INIT_BURST", BURST.to_string()), ("TENANT_INIT_PER_MINUTE", "1".into()), ("TENANT_MAX_PENDING_PER_IP", "1000".into())].map(|(k, v)| (k.to_owned(), v)));
        env.push(("TRUST_FORWARDED_FOR".into(), trusted.to_string()));
        let rie = std::sync::Arc::new(Rie::start("tenants-api", &env));
        check(|source, forwarded| {
            let rie = rie.clone();
            async move { tokio::task::block_in_place(|| replay_through_rie(&rie, &event(&source, &forwarded))).0 }
        }, trusted)
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_serve_the_socket_peer_counts_unless_x_forwarded_for_is_trusted() {
    for trusted in [false, true] {
        let b = Backend::sqlite_with(|c| limits(c, trusted)).await;
        check(|peer, forwarded| {
            let body = serde_json::json!({ "name": "Acme Corporation", "slug": slug("ip"), "plan": "Basic" }).to_string();
            let headers = [("content-type", "application/json"), ("x-forwarded-for", forwarded.as_str())];
            let req = request("POST", "/provision/tenants/init", Some(body), &headers, Some(&peer));
            let app = b.app.clone();
            async move { call(&app, req).await.status.as_u16() }
        }, trusted)
        .await;
    }
}
