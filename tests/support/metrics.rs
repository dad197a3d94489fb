//! What tests read from a `/metrics` scrape once parsed, and where a test's own server listens.

use std::collections::BTreeMap;

/// Samples of a scrape: (metric name, labels) → value.
pub type Samples = BTreeMap<(String, BTreeMap<String, String>), f64>;

/// The value of `name` with exactly `labels`; panics naming the sample when it is absent.
pub fn metric(m: &Samples, name: &str, labels: &[(&str, &str)]) -> f64 {
    let key = (
        name.to_string(),
        labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    *m.get(&key)
        .unwrap_or_else(|| panic!("no sample {name}{labels:?} in /metrics"))
}

/// A port on 127.0.0.1 that was free a moment ago (for a server the test starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
