//! `[queue]`: built into [`QueueSettings`] (a type of [`crate::queue`]) with the queue's own
//! checks; this file only reads the values and locates what those checks refuse.

use std::path::Path;

use toml::Spanned;

use super::raw::RawQueue;
use super::{Context, ManifestError};
use crate::queue::{AckMode, QueueBackend, QueueSettingError, QueueSettings};

impl Context<'_> {
    pub(super) fn queue(&self, raw: RawQueue) -> Result<QueueSettings, ManifestError> {
        let dir = self.path.parent().unwrap_or(Path::new("")).to_path_buf();
        let mut q = QueueSettings::defaults_in(&dir);
        q.manifest_path = self.path.to_path_buf();
        let mut problems = Vec::new();
        // What a check refused, at the value's line and `key`.
        let refused = |span: std::ops::Range<usize>, key: &str, e: QueueSettingError| {
            self.located(&span, key, e.to_string())
        };
        let number = |v: &Spanned<u64>| *v.get_ref();
        if let Some(b) = &raw.backend {
            match self.expand(b, "queue.backend") {
                Err(e) => problems.push(e),
                Ok(v) => match QueueBackend::from_name(&v) {
                    Ok(backend) => q.backend = backend,
                    Err(e) => problems.push(refused(b.span(), "queue.backend", e)),
                },
            }
        }
        if let Some(p) = &raw.path {
            match self.non_empty(p, "queue.path") {
                Ok(v) => q.path = dir.join(v.trim()),
                Err(e) => problems.push(e),
            }
        }
        if let Some(v) = &raw.capacity {
            match QueueSettings::check_capacity(number(v)) {
                Ok(n) => q.capacity = n,
                Err(e) => problems.push(refused(v.span(), "queue.capacity", e)),
            }
        }
        if let Some(v) = &raw.dedupe_window_secs {
            match QueueSettings::check_dedupe_window_secs(number(v)) {
                Ok(d) => q.dedupe_window = d,
                Err(e) => problems.push(refused(v.span(), "queue.dedupe_window_secs", e)),
            }
        }
        if let Some(v) = &raw.dedupe_max_entries {
            match QueueSettings::check_dedupe_max_entries(number(v)) {
                Ok(n) => q.dedupe_max_entries = n,
                Err(e) => problems.push(refused(v.span(), "queue.dedupe_max_entries", e)),
            }
        }
        if let Some(v) = &raw.claim_idle_secs {
            match QueueSettings::check_claim_idle_secs(number(v)) {
                Ok(d) => q.claim_idle = d,
                Err(e) => problems.push(refused(v.span(), "queue.claim_idle_secs", e)),
            }
        }
        if let Some(v) = &raw.instance {
            match QueueSettings::check_instance(v.get_ref()) {
                Ok(name) => q.instance = Some(name),
                Err(e) => problems.push(refused(v.span(), "queue.instance", e)),
            }
        }
        if let Some(v) = &raw.tls_ca {
            if let Err(e) = q.set_tls_ca(dir.join(v.get_ref().trim())) {
                problems.push(refused(v.span(), "queue.tls_ca", e));
            }
        }
        if let Some(a) = &raw.ack {
            match AckMode::from_name(a.get_ref()) {
                Ok(mode) => q.ack = mode,
                Err(e) => problems.push(refused(a.span(), "queue.ack", e)),
            }
        }
        match ManifestError::from_list(problems) {
            None => Ok(q),
            Some(e) => Err(e),
        }
    }
}
