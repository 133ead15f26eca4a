//! The EMF document the publisher prints per publication, which the template's `CrlAgeAlarm`
//! watches (namespace `Trustplane`, metric `CrlAgeSeconds`, dimension `Stack`).

use serde_json::json;

#[test]
fn a_publication_reports_its_age_per_stack_and_per_authority_in_embedded_metric_format() {
    let doc = crl_publisher::emf_document("prod", "auth-1", 1_700_000_090, Some(1_700_000_000));
    assert_eq!(doc["_aws"]["Timestamp"], json!(1_700_000_090_000i64));
    let directive = &doc["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "Trustplane");
    assert_eq!(directive["Dimensions"], json!([["Stack"], ["Stack", "AuthorityId"]]));
    let names: Vec<&str> = directive["Metrics"].as_array().unwrap().iter().map(|m| m["Name"].as_str().unwrap()).collect();
    assert_eq!(names, ["CrlPublished", "CrlAgeSeconds"]);
    assert_eq!((&doc["Stack"], &doc["AuthorityId"], &doc["CrlPublished"], &doc["CrlAgeSeconds"]), (&json!("prod"), &json!("auth-1"), &json!(1), &json!(90)));
}

#[test]
fn a_publication_without_a_request_time_reports_age_zero() {
    assert_eq!(crl_publisher::emf_document("prod", "auth-1", 1_700_000_090, None)["CrlAgeSeconds"], json!(0));
}
