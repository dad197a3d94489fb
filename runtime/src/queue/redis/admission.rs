//! [`crate::queue::QueueStore::commit`] on Redis: one run of `commit.lua`, so a batch is
//! atomic. Settlements first (each applied only while the entry is still in this consumer's
//! PEL, so a stalled instance whose entries were claimed cannot settle them under the new
//! owner), then the admissions: deduped (`dedupe:<id>` with `NX PX <window>`), bounded by the
//! stream's length, and read into this consumer's PEL — or forwarded to the instance that holds
//! the earlier, unfinished events of their chat.

use std::collections::HashSet;

use super::{encode, RedisStore};
use crate::limits::queue as lim;
use crate::queue::store::{Admission, Batch, JobRecord, Settle, StoreError};

impl RedisStore {
    /// Applies `batch` (see the module doc) and records which jobs the engine now holds.
    pub(super) async fn commit_batch(&self, batch: Batch) -> Result<Vec<Admission>, StoreError> {
        let mut call = self.scripts.commit.prepare_invoke();
        call.arg(&self.prefix)
            .arg(&self.consumer)
            .arg(batch.dedupe_window.as_millis() as u64)
            .arg(batch.capacity)
            .arg(batch.dedupe_max_entries.max(1))
            .arg(lim::DEDUPE_PRUNE_PER_COMMIT)
            .arg(batch.settle.len());
        for s in &batch.settle {
            match s {
                Settle::Done(id) => call.arg("D").arg(*id).arg(""),
                Settle::Retry(r) => call.arg("R").arg(r.id).arg(encode(r)),
                Settle::Dead(r) => call.arg("X").arg(r.id).arg(encode(r)),
            };
        }
        call.arg(batch.admit.len());
        let mut fresh = Vec::with_capacity(batch.admit.len());
        for job in &batch.admit {
            let record = JobRecord::new(0, batch.now_ms, job.clone());
            call.arg(&job.dedupe_id)
                .arg(encode(&record))
                .arg(job.chat_id.as_deref().unwrap_or(""));
            fresh.push(record);
        }
        crate::queue::kv::redis::commit_args(&mut call, &batch.kv);
        let mut conn = self.conn.clone();
        let (out, extra, away): (Vec<i64>, Vec<u64>, Vec<u64>) = call
            .invoke_async(&mut conn)
            .await
            .map_err(self.fail("cannot commit"))?;
        let away: HashSet<u64> = away.into_iter().collect();
        let admitted: Vec<Admission> = out
            .iter()
            .zip(fresh)
            .map(|(&r, mut record)| match r {
                0 => Admission::Duplicate,
                r if r < 0 => Admission::Full,
                id if away.contains(&(id as u64)) => Admission::Forwarded(id as u64),
                id => {
                    record.id = id as u64;
                    Admission::Accepted(Box::new(record))
                }
            })
            .collect();
        let mine: HashSet<u64> = out
            .iter()
            .filter(|&&r| r > 0)
            .map(|&r| r as u64)
            .filter(|id| !away.contains(id))
            .collect();
        let others: Vec<u64> = extra.into_iter().filter(|id| !mine.contains(id)).collect();
        if !others.is_empty() {
            self.stash.lock().expect("stash lock").extend(others);
        }
        let mut held = self.held.lock().expect("held lock");
        held.extend(mine.iter().copied());
        for s in &batch.settle {
            if !matches!(s, Settle::Retry(_)) {
                held.remove(&s.id());
            }
        }
        drop(held);
        Ok(admitted)
    }
}
