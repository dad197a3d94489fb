//! Operators' key-value operations (`aviary kv`): data in ([`KvOp`]), data out ([`KvResult`]),
//! on a store — the running process's (through its control socket, [`crate::queue::control`])
//! or one opened by the CLI. Writes are checked against the same quotas as a handler's.

use serde::{Deserialize, Serialize};

use crate::kv::run::{RunState, Scope};
use crate::kv::{KvGrant, KvQuotas, KvStore};

/// One operation on a namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KvOp {
    /// Keys starting with `prefix`, after `after`, at most `limit` (0: the most allowed).
    List {
        /// The namespace.
        namespace: String,
        /// Only keys starting with this.
        prefix: String,
        /// Only keys after this one (byte order).
        after: String,
        /// At most this many (0: the most one call returns).
        limit: u32,
    },
    /// One key's value.
    Get {
        /// The namespace.
        namespace: String,
        /// The key.
        key: String,
    },
    /// Sets a key (expiring after `ttl_secs`; 0: never).
    Set {
        /// The namespace.
        namespace: String,
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// Seconds to expiry; 0: never.
        ttl_secs: u32,
    },
    /// Deletes a key.
    Delete {
        /// The namespace.
        namespace: String,
        /// The key.
        key: String,
    },
}

impl KvOp {
    /// The namespace it works on.
    pub fn namespace(&self) -> &str {
        match self {
            KvOp::List { namespace, .. }
            | KvOp::Get { namespace, .. }
            | KvOp::Set { namespace, .. }
            | KvOp::Delete { namespace, .. } => namespace,
        }
    }
}

/// What an operation returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KvResult {
    /// The keys listed, in order.
    Keys(Vec<String>),
    /// The value (`None`: absent).
    Value(Option<String>),
    /// The write was committed.
    Written,
}

/// Runs `op` on `store`. The error is one line (a bad namespace or key, a quota, the store).
pub async fn execute(store: &dyn KvStore, op: &KvOp) -> Result<KvResult, String> {
    let ns = op.namespace();
    KvGrant::check_namespace(ns)?;
    let quotas = KvQuotas::default();
    let scope = Scope {
        store,
        namespace: ns,
        quotas: &quotas,
    };
    let mut run = RunState::default();
    let fail = |e: crate::kv::run::CallError| e.message;
    match op {
        KvOp::List {
            prefix,
            after,
            limit,
            ..
        } => run
            .list(&scope, prefix, after, *limit)
            .await
            .map(KvResult::Keys)
            .map_err(fail),
        KvOp::Get { key, .. } => run
            .get(&scope, key)
            .await
            .map(KvResult::Value)
            .map_err(fail),
        KvOp::Set {
            key,
            value,
            ttl_secs,
            ..
        } => {
            run.set(&scope, key, value.clone(), *ttl_secs)
                .await
                .map_err(fail)?;
            store.apply(&run.take(ns)).await.map_err(|e| e.0)?;
            Ok(KvResult::Written)
        }
        KvOp::Delete { key, .. } => {
            run.delete(&scope, key).await.map_err(fail)?;
            store.apply(&run.take(ns)).await.map_err(|e| e.0)?;
            Ok(KvResult::Written)
        }
    }
}
