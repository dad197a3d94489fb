//! The `kv-*` imports: a run's reads and writes of its namespace (manifest `kv`; no grant
//! means denied). Reads see committed state plus the run's own writes; writes stay in the
//! call's [`crate::kv::run::RunState`] until the sandbox hands them out with the outcome
//! ([`crate::handler::Invocation::kv`]). Every call is counted per operation and outcome; a
//! refused call is an `err` for the guest (never a trap) and a warn line in the call's log.

use crate::handler::LogLevel;
use crate::kv::run::{CallError, Failed, Scope};
use crate::kv::stats::Op;
use crate::sandbox::spec::KvAccess;
use crate::sandbox::state::HostState;

/// The message of a call without a grant: names the handler and the manifest key.
fn denied(state: &HostState, op: Op) -> String {
    format!(
        "{}: denied: handler `{}` has no key-value grant; add `kv = true` (its own namespace) \
         or `kv = \"name\"` (a shared one) to its [[handler]] in the manifest",
        op.name(),
        state.call.handler
    )
}

/// The grant, or the denial (counted and logged).
fn access(state: &HostState, op: Op) -> Result<KvAccess, String> {
    match &state.kv {
        Some(a) => Ok(a.clone()),
        None => {
            state.kv_calls.count(op, Some(Failed::Denied));
            let message = denied(state, op);
            state.logs.log(LogLevel::Warn, message.clone());
            Err(message)
        }
    }
}

/// Counts the call and turns a failure into the guest's error (logged at warn).
fn finish<T>(
    state: &HostState,
    access: &KvAccess,
    op: Op,
    result: Result<T, CallError>,
) -> Result<T, String> {
    match result {
        Ok(v) => {
            state.kv_calls.count(op, None);
            Ok(v)
        }
        Err(e) => {
            state.kv_calls.count(op, Some(e.kind));
            let message = format!(
                "{}: {} (handler `{}`, namespace `{}`)",
                op.name(),
                e.message,
                state.call.handler,
                access.namespace
            );
            state.logs.log(LogLevel::Warn, message.clone());
            Err(message)
        }
    }
}

fn scope(a: &KvAccess) -> Scope<'_> {
    Scope {
        store: a.store.as_ref(),
        namespace: &a.namespace,
        quotas: &a.quotas,
    }
}

/// `kv-get`.
pub(crate) async fn get(state: &mut HostState, key: String) -> Result<Option<String>, String> {
    let a = access(state, Op::Get)?;
    let r = state.kv_run.get(&scope(&a), &key).await;
    finish(state, &a, Op::Get, r)
}

/// `kv-set`.
pub(crate) async fn set(
    state: &mut HostState,
    key: String,
    value: String,
    ttl_secs: u32,
) -> Result<(), String> {
    let a = access(state, Op::Set)?;
    let r = state.kv_run.set(&scope(&a), &key, value, ttl_secs).await;
    finish(state, &a, Op::Set, r)
}

/// `kv-delete`.
pub(crate) async fn delete(state: &mut HostState, key: String) -> Result<(), String> {
    let a = access(state, Op::Delete)?;
    let r = state.kv_run.delete(&scope(&a), &key).await;
    finish(state, &a, Op::Delete, r)
}

/// `kv-increment`.
pub(crate) async fn increment(
    state: &mut HostState,
    key: String,
    delta: i32,
) -> Result<String, String> {
    let a = access(state, Op::Increment)?;
    let r = state
        .kv_run
        .increment(&scope(&a), &key, i64::from(delta))
        .await;
    finish(state, &a, Op::Increment, r).map(|n| n.to_string())
}

/// `kv-list`.
pub(crate) async fn list(
    state: &mut HostState,
    prefix: String,
    after: String,
    limit: u32,
) -> Result<Vec<String>, String> {
    let a = access(state, Op::List)?;
    let r = state.kv_run.list(&scope(&a), &prefix, &after, limit).await;
    finish(state, &a, Op::List, r)
}
