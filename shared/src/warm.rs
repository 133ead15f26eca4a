//! State a warm process keeps between requests, attached to one instance of a port (one
//! deployment's store or MAC key) rather than to the process, so two deployments in one
//! process (tests) never share it.

use std::sync::{Arc, Mutex, Weak};

/// Values of type `V`, one per live instance of `K`, made at first use. An entry holds a
/// `Weak` to its instance, so the instance's address is not reused by another while the entry
/// stands; entries of dropped instances are pruned on insertion.
pub struct PerInstance<K: ?Sized, V> {
    entries: Mutex<Vec<(Weak<K>, Arc<V>)>>,
}

impl<K: ?Sized, V> PerInstance<K, V> {
    /// An empty registry (usable in a `static`).
    pub const fn new() -> Self {
        PerInstance { entries: Mutex::new(Vec::new()) }
    }

    /// The value of `instance`, if one was made.
    pub fn get(&self, instance: &Arc<K>) -> Option<Arc<V>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let key = Arc::downgrade(instance);
        entries.iter().find(|(weak, _)| weak.ptr_eq(&key)).map(|(_, value)| value.clone())
    }

    /// The value of `instance`: the one made before, or else `fresh`, kept.
    pub fn insert(&self, instance: &Arc<K>, fresh: Arc<V>) -> Arc<V> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|(weak, _)| weak.strong_count() > 0);
        let key = Arc::downgrade(instance);
        if let Some((_, kept)) = entries.iter().find(|(weak, _)| weak.ptr_eq(&key)) {
            return kept.clone();
        }
        entries.push((key, fresh.clone()));
        fresh
    }

    /// The value of `instance`, made by `make` at first use.
    pub fn get_or_make(&self, instance: &Arc<K>, make: impl FnOnce() -> V) -> Arc<V> {
        self.get(instance).unwrap_or_else(|| self.insert(instance, Arc::new(make())))
    }
}

impl<K: ?Sized, V> Default for PerInstance<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_instance_has_its_own_value_and_a_dropped_ones_value_is_not_inherited() {
        let registry: PerInstance<str, u32> = PerInstance::new();
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
        assert_eq!(*registry.get_or_make(&a, || 1), 1);
        assert_eq!(*registry.get_or_make(&a, || 2), 1);
        assert_eq!(*registry.get_or_make(&b, || 3), 3);
        drop(a);
        let c: Arc<str> = Arc::from("c");
        assert_eq!(*registry.get_or_make(&c, || 4), 4);
    }
}
