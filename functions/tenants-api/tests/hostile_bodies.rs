//! Hostile input on the operators' tenant list, on the embedded backend (`::sqlite`) and on
//! the AWS adapters against moto (`::moto`): `limit` is plain digits and a bad `status` is
//! refused without echoing it.

mod support;

use support::{admin, Backend};
use trustplane_core::on_both_backends;

on_both_backends!(the_tenant_list_takes_only_plain_digit_limits_and_known_statuses);

async fn the_tenant_list_takes_only_plain_digit_limits_and_known_statuses(b: Backend) {
    for limit in ["%2B5", "-1", "0", "101", "5%20", "abc", "1e2"] {
        let reply = admin(&b, "GET", &format!("/api/v1/tenants?limit={limit}")).await;
        assert_eq!((reply.status.as_u16(), reply.header("content-type")), (400, Some("application/problem+json")), "{limit}");
        assert_eq!(reply.json()["detail"], "limit: expected a whole number 1..=100", "{limit}");
    }
    let status = admin(&b, "GET", &format!("/api/v1/tenants?status={}", "x".repeat(30_000))).await;
    assert_eq!(status.status.as_u16(), 400);
    assert!(status.body.len() < 1024, "{} bytes", status.body.len());
    assert_eq!(admin(&b, "GET", "/api/v1/tenants?limit=100&status=Active").await.status.as_u16(), 200);
}
