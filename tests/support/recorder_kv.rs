//! The key-value proof of the crash tests: the recorder, with `kv_counter = "yes"`, adds 1 to
//! `count:<chat_id>` in its namespace `rec` on every run and writes `failed:<id>:<attempt>` on
//! runs that end in a retry or a reject. Only runs that end `done` may leave writes, each
//! exactly once, whatever was killed and re-run; the tests read the state back with
//! `aviary kv`.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::Command;

use crate::binary::Aviary;

/// `[[handler]]` line: the key-value grant (before REPLY's `[handler.config]` table).
pub const KV_GRANT: &str = "kv = true\n";

/// `[handler.config]` line (after REPLY) that turns the counter on.
pub const KV_COUNTER: &str = "kv_counter = \"yes\"\n";

/// `aviary kv <args…> -m <manifest> --namespace rec`: its stdout; asserts it succeeded.
pub fn kv_cli(aviary: &Aviary, manifest: &Path, args: &[&str]) -> String {
    let out = Command::new(aviary.path())
        .arg("kv")
        .args(args)
        .arg("-m")
        .arg(manifest)
        .args(["--namespace", "rec"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "aviary kv {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What each chat's counter must be: events `om_0` … `om_<n-1>` (chat `oc_<i % 40>`, as
/// [`crate::recorder::envelope`] makes them) except those that never end `done` (`dead`).
pub fn expected_counts(n: usize, dead: &HashSet<String>) -> BTreeMap<String, u64> {
    let mut want = BTreeMap::new();
    for i in 0..n {
        if !dead.contains(&format!("om_{i}")) {
            *want.entry(format!("count:oc_{}", i % 40)).or_insert(0) += 1;
        }
    }
    want
}

/// Reads every counter and every `failed:` key with `aviary kv` and asserts the counters are
/// exactly `want` and no failed run left a write. Returns the number of counters checked.
pub fn assert_counts(aviary: &Aviary, manifest: &Path, want: &BTreeMap<String, u64>) -> usize {
    let failed = kv_cli(aviary, manifest, &["list", "--prefix", "failed:"]);
    assert!(
        failed.trim().is_empty(),
        "writes of runs that did not end done were committed:\n{failed}"
    );
    let keys: Vec<String> = kv_cli(aviary, manifest, &["list", "--prefix", "count:"])
        .lines()
        .map(String::from)
        .collect();
    let mut got = BTreeMap::new();
    for key in &keys {
        let v = kv_cli(aviary, manifest, &["get", key]);
        got.insert(key.clone(), v.trim().parse::<u64>().unwrap());
    }
    assert_eq!(&got, want, "each chat's counter equals its handled events");
    got.len()
}
