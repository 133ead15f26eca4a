//! The cross-backend contract suite: the same assertions against the embedded adapters
//! (`sqlite_*`, in a temporary directory) and the AWS adapters (`moto_*`, against the moto
//! server at `TRUSTPLANE_TEST_AWS_ENDPOINT`; without it those tests fail, never skip).

mod backend;
mod blobs;
mod cursors;
mod custody;
mod queue;
mod store;
mod tenant_databases_sqlite;
mod tenants;

/// One test per backend for each `check => sqlite_name, moto_name;` line; `check` is an
/// `async fn(backend::Backend)`.
macro_rules! contract_tests {
    ($($check:path => $sqlite:ident, $moto:ident;)*) => {$(
        #[tokio::test(flavor = "multi_thread")]
        async fn $sqlite() {
            $check(backend::Backend::sqlite().await).await
        }

        #[tokio::test(flavor = "multi_thread")]
        async fn $moto() {
            $check(backend::Backend::moto().await).await
        }
    )*};
}

contract_tests! {
    store::conditional_put_conflicts_when_item_exists
        => sqlite_conditional_put_conflicts_when_item_exists, moto_conditional_put_conflicts_when_item_exists;
    store::update_with_a_stale_version_conflicts_and_the_current_version_succeeds
        => sqlite_update_with_a_stale_version_conflicts_and_the_current_version_succeeds,
           moto_update_with_a_stale_version_conflicts_and_the_current_version_succeeds;
    store::writes_conditioned_on_state_or_existence_hold_only_when_it_matches
        => sqlite_writes_conditioned_on_state_or_existence_hold_only_when_it_matches,
           moto_writes_conditioned_on_state_or_existence_hold_only_when_it_matches;
    store::transaction_whose_last_condition_fails_leaves_no_write_behind
        => sqlite_transaction_whose_last_condition_fails_leaves_no_write_behind,
           moto_transaction_whose_last_condition_fails_leaves_no_write_behind;
    store::transaction_applies_every_write_when_all_conditions_hold
        => sqlite_transaction_applies_every_write_when_all_conditions_hold,
           moto_transaction_applies_every_write_when_all_conditions_hold;
    store::pages_of_ten_walk_twenty_five_items_in_order_both_ways
        => sqlite_pages_of_ten_walk_twenty_five_items_in_order_both_ways,
           moto_pages_of_ten_walk_twenty_five_items_in_order_both_ways;
    store::gsi1_pages_are_ordered_and_stable_across_equal_index_sort_keys
        => sqlite_gsi1_pages_are_ordered_and_stable_across_equal_index_sort_keys,
           moto_gsi1_pages_are_ordered_and_stable_across_equal_index_sort_keys;
    store::sort_key_ranges_select_prefixes_exact_keys_and_inclusive_spans
        => sqlite_sort_key_ranges_select_prefixes_exact_keys_and_inclusive_spans,
           moto_sort_key_ranges_select_prefixes_exact_keys_and_inclusive_spans;
    store::expired_items_are_invisible_and_count_as_absent
        => sqlite_expired_items_are_invisible_and_count_as_absent, moto_expired_items_are_invisible_and_count_as_absent;
    custody::ec_p256_ca_certificate_and_large_crl_verify_with_openssl
        => sqlite_ec_p256_ca_certificate_and_large_crl_verify_with_openssl,
           moto_ec_p256_ca_certificate_and_large_crl_verify_with_openssl;
    custody::ec_p384_ca_certificate_and_large_crl_verify_with_openssl
        => sqlite_ec_p384_ca_certificate_and_large_crl_verify_with_openssl,
           moto_ec_p384_ca_certificate_and_large_crl_verify_with_openssl;
    custody::rsa_2048_ca_certificate_and_large_crl_verify_with_openssl
        => sqlite_rsa_2048_ca_certificate_and_large_crl_verify_with_openssl,
           moto_rsa_2048_ca_certificate_and_large_crl_verify_with_openssl;
    queue::successful_jobs_complete_and_only_the_failing_one_is_retried
        => sqlite_successful_jobs_complete_and_only_the_failing_one_is_retried,
           moto_successful_jobs_complete_and_only_the_failing_one_is_retried;
    blobs::a_stored_blob_reads_back_and_a_missing_one_is_none
        => sqlite_a_stored_blob_reads_back_and_a_missing_one_is_none,
           moto_a_stored_blob_reads_back_and_a_missing_one_is_none;
    cursors::paging_with_sealed_cursors_returns_every_item_exactly_once
        => sqlite_paging_with_sealed_cursors_returns_every_item_exactly_once,
           moto_paging_with_sealed_cursors_returns_every_item_exactly_once;
    cursors::a_cursor_reveals_nothing_of_the_keys_behind_it
        => sqlite_a_cursor_reveals_nothing_of_the_keys_behind_it, moto_a_cursor_reveals_nothing_of_the_keys_behind_it;
    cursors::a_cursor_is_refused_by_another_partition_index_range_or_direction
        => sqlite_a_cursor_is_refused_by_another_partition_index_range_or_direction,
           moto_a_cursor_is_refused_by_another_partition_index_range_or_direction;
    cursors::edited_truncated_or_forged_cursors_are_refused
        => sqlite_edited_truncated_or_forged_cursors_are_refused, moto_edited_truncated_or_forged_cursors_are_refused;
    cursors::a_cursor_survives_a_restart_but_not_another_deployment
        => sqlite_a_cursor_survives_a_restart_but_not_another_deployment,
           moto_a_cursor_survives_a_restart_but_not_another_deployment;
    tenants::mac_tags_verify_and_any_flipped_byte_is_refused
        => sqlite_mac_tags_verify_and_any_flipped_byte_is_refused, moto_mac_tags_verify_and_any_flipped_byte_is_refused;
    tenants::mac_of_the_same_message_is_stable_and_differs_per_message
        => sqlite_mac_of_the_same_message_is_stable_and_differs_per_message,
           moto_mac_of_the_same_message_is_stable_and_differs_per_message;
    tenants::tenant_database_is_created_migrated_and_seeded_idempotently
        => sqlite_tenant_database_is_created_migrated_and_seeded_idempotently,
           moto_tenant_database_is_created_migrated_and_seeded_idempotently;
    tenants::migrate_and_seed_on_a_missing_database_are_not_found
        => sqlite_migrate_and_seed_on_a_missing_database_are_not_found,
           moto_migrate_and_seed_on_a_missing_database_are_not_found;
    tenants::drop_removes_the_database_and_is_idempotent
        => sqlite_drop_removes_the_database_and_is_idempotent, moto_drop_removes_the_database_and_is_idempotent;
}

/// The fault-injection suite uses `testkit::faults` (the `testkit` feature, which
/// `cargo test --workspace` turns on through the function crates' dev-dependencies).
#[cfg(feature = "testkit")]
mod faults;

#[cfg(feature = "testkit")]
mod under_faults {
    use super::{backend, faults};

    contract_tests! {
        faults::raw_stores_refuse_forged_cursors_and_oversized_pages_as_invalid_requests
            => sqlite_raw_stores_refuse_forged_cursors_and_oversized_pages_as_invalid_requests,
               moto_raw_stores_refuse_forged_cursors_and_oversized_pages_as_invalid_requests;
        faults::revoking_an_api_key_twice_under_gsi_lag_is_harmless
            => sqlite_revoking_an_api_key_twice_under_gsi_lag_is_harmless,
               moto_revoking_an_api_key_twice_under_gsi_lag_is_harmless;
        faults::an_api_key_revocation_retried_after_a_lost_success_reports_success
            => sqlite_an_api_key_revocation_retried_after_a_lost_success_reports_success,
               moto_an_api_key_revocation_retried_after_a_lost_success_reports_success;
        faults::an_api_key_is_revoked_by_id_past_empty_and_short_pages
            => sqlite_an_api_key_is_revoked_by_id_past_empty_and_short_pages,
               moto_an_api_key_is_revoked_by_id_past_empty_and_short_pages;
        faults::a_provision_key_whose_claim_was_released_under_gsi_lag_can_be_revoked
            => sqlite_a_provision_key_whose_claim_was_released_under_gsi_lag_can_be_revoked,
               moto_a_provision_key_whose_claim_was_released_under_gsi_lag_can_be_revoked;
        faults::a_provision_key_is_revoked_by_prefix_past_empty_pages
            => sqlite_a_provision_key_is_revoked_by_prefix_past_empty_pages,
               moto_a_provision_key_is_revoked_by_prefix_past_empty_pages;
        faults::a_provisioning_whose_commit_was_cancelled_by_a_transaction_conflict_succeeds_when_retried
            => sqlite_a_provisioning_whose_commit_was_cancelled_by_a_transaction_conflict_succeeds_when_retried,
               moto_a_provisioning_whose_commit_was_cancelled_by_a_transaction_conflict_succeeds_when_retried;
        faults::a_crl_lists_every_revocation_when_pages_come_back_short_or_empty
            => sqlite_a_crl_lists_every_revocation_when_pages_come_back_short_or_empty,
               moto_a_crl_lists_every_revocation_when_pages_come_back_short_or_empty;
    }
}
