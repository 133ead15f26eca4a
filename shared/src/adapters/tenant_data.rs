//! The data every tenant database gets (`shared/tenant-data/`): migrations and per-plan seeds,
//! compiled in so a Lambda package carries them.

use crate::domain::Plan;
use crate::error::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;

/// One demo catalog product.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Product {
    pub sku: String,
    pub name: String,
    pub category: String,
    pub price_cents: i64,
    pub stock: i64,
}

/// A plan's seed: products (keyed by `sku`) and settings (keyed by name).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct SeedData {
    pub products: Vec<Product>,
    pub settings: BTreeMap<String, String>,
}

/// The seed of `plan`, from `shared/tenant-data/seed/<plan>.json`.
pub fn seed_data(plan: Plan) -> Result<SeedData> {
    let text = match plan {
        Plan::Basic => include_str!("../../tenant-data/seed/basic.json"),
        Plan::Premium => include_str!("../../tenant-data/seed/premium.json"),
        Plan::Enterprise => include_str!("../../tenant-data/seed/enterprise.json"),
    };
    serde_json::from_str(text).map_err(|e| Error::internal(format!("seed data of {}: {e}", plan.as_str())))
}

/// The embedded backend's migrations: (version, SQL), ascending.
pub const SQLITE_MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("../../tenant-data/migrations/sqlite/0001_catalog.sql")),
    (2, include_str!("../../tenant-data/migrations/sqlite/0002_product_search.sql")),
];

/// The schema version every backend's migrations reach.
pub const LATEST_SCHEMA_VERSION: u32 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_plan_has_a_distinct_seed_with_unique_skus() {
        let mut sizes = Vec::new();
        for plan in Plan::ALL {
            let seed = seed_data(plan).unwrap();
            let mut skus: Vec<_> = seed.products.iter().map(|p| &p.sku).collect();
            skus.sort();
            skus.dedup();
            assert_eq!(skus.len(), seed.products.len(), "{plan:?}");
            assert!(seed.settings.contains_key("currency"));
            sizes.push(seed.products.len());
        }
        assert!(sizes[0] < sizes[1] && sizes[1] < sizes[2]);
        assert_eq!(SQLITE_MIGRATIONS.last().unwrap().0, LATEST_SCHEMA_VERSION);
    }
}
