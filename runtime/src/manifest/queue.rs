//! `[queue]`: the durable queue's backend and bounds, validated into [`QueueSettings`] (a type of [`crate::queue`]).

use std::path::Path;
use std::time::Duration;

use super::raw::RawQueue;
use super::{Context, ManifestError};
use crate::limits::queue as lim;
use crate::queue::redis::RedisUrl;
use crate::queue::{AckMode, QueueBackend, QueueSettings};

impl Context<'_> {
    pub(super) fn queue(&self, raw: RawQueue) -> Result<QueueSettings, ManifestError> {
        let dir = self.path.parent().unwrap_or(Path::new("")).to_path_buf();
        let mut q = QueueSettings::defaults_in(&dir);
        q.manifest_path = self.path.to_path_buf();
        let mut problems = Vec::new();
        let mut push = |r: Result<(), ManifestError>| {
            if let Err(e) = r {
                problems.push(e);
            }
        };
        if let Some(b) = &raw.backend {
            let value = self.expand(b, "queue.backend");
            push(value.and_then(|v| {
                match v.trim() {
                    "disk" => q.backend = QueueBackend::Disk,
                    "memory" => q.backend = QueueBackend::Memory,
                    other if other.starts_with("redis://") || other.starts_with("rediss://") => {
                        let shown = RedisUrl::new(other).redacted();
                        match url::Url::parse(other) {
                            Err(e) => {
                                return self.invalid(
                                    &b.span(),
                                    "queue.backend",
                                    format!("`{shown}` is not a valid Redis URL: {e}"),
                                )
                            }
                            Ok(u) if u.fragment().is_some() => {
                                return self.invalid(
                                    &b.span(),
                                    "queue.backend",
                                    format!(
                                        "`{shown}`: a URL fragment (`#…`, e.g. `#insecure`) is \
                                         not supported; the server's certificate is always \
                                         verified (for a private CA set `tls_ca`)"
                                    ),
                                )
                            }
                            Ok(_) => {}
                        }
                        q.backend = QueueBackend::Redis(RedisUrl::new(other));
                    }
                    other => {
                        return self.invalid(
                            &b.span(),
                            "queue.backend",
                            format!(
                                "`{other}` is not \"disk\", \"memory\", a redis:// or a \
                                 rediss:// URL"
                            ),
                        )
                    }
                }
                Ok(())
            }));
        }
        if let Some(p) = &raw.path {
            push(
                self.non_empty(p, "queue.path")
                    .map(|v| q.path = dir.join(v.trim())),
            );
        }
        if let Some(v) = &raw.capacity {
            let n = *v.get_ref();
            if n == 0 || n > lim::MAX_CAPACITY {
                push(self.invalid(
                    &v.span(),
                    "queue.capacity",
                    format!("must be between 1 and {} (got {n})", lim::MAX_CAPACITY),
                ));
            } else {
                q.capacity = n;
            }
        }
        if let Some(v) = &raw.dedupe_window_secs {
            let secs = *v.get_ref();
            if Duration::from_secs(secs) < lim::MIN_DEDUPE_WINDOW {
                push(self.invalid(
                    &v.span(),
                    "queue.dedupe_window_secs",
                    format!(
                        "must be at least {} (Feishu's first redelivery comes ~18 s after the \
                         first push; the default {} outlasts its whole ladder)",
                        lim::MIN_DEDUPE_WINDOW.as_secs(),
                        lim::DEDUPE_WINDOW.as_secs()
                    ),
                ));
            } else {
                q.dedupe_window = Duration::from_secs(secs);
            }
        }
        if let Some(v) = &raw.dedupe_max_entries {
            if *v.get_ref() == 0 {
                push(self.invalid(
                    &v.span(),
                    "queue.dedupe_max_entries",
                    "must be greater than 0",
                ));
            } else {
                q.dedupe_max_entries = *v.get_ref();
            }
        }
        if let Some(v) = &raw.claim_idle_secs {
            let secs = *v.get_ref();
            if Duration::from_secs(secs) < lim::MIN_REDIS_CLAIM_IDLE {
                push(self.invalid(
                    &v.span(),
                    "queue.claim_idle_secs",
                    format!(
                        "must be at least {} (default {})",
                        lim::MIN_REDIS_CLAIM_IDLE.as_secs(),
                        lim::REDIS_CLAIM_IDLE.as_secs()
                    ),
                ));
            } else {
                q.claim_idle = Duration::from_secs(secs);
            }
        }
        if let Some(v) = &raw.instance {
            let name = v.get_ref().trim();
            if name.is_empty()
                || name.len() > lim::MAX_INSTANCE_NAME
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                push(self.invalid(
                    &v.span(),
                    "queue.instance",
                    format!(
                        "`{name}` is not a valid instance name: 1 to {} characters of A-Z a-z \
                         0-9 - _ .",
                        lim::MAX_INSTANCE_NAME
                    ),
                ));
            } else {
                q.instance = Some(name.to_string());
            }
        }
        if let Some(v) = &raw.tls_ca {
            let path = dir.join(v.get_ref().trim());
            match &mut q.backend {
                QueueBackend::Redis(url) if url.is_tls() => {
                    match crate::queue::redis::read_tls_ca(&path) {
                        Ok(_) => *url = url.clone().with_tls_ca(path),
                        Err(e) => push(self.invalid(&v.span(), "queue.tls_ca", e)),
                    }
                }
                _ => push(self.invalid(
                    &v.span(),
                    "queue.tls_ca",
                    "only applies to a rediss:// (TLS) backend",
                )),
            }
        }
        if let Some(a) = &raw.ack {
            match a.get_ref().trim() {
                "after-persist" => q.ack = AckMode::AfterPersist,
                "after-handle" => q.ack = AckMode::AfterHandle,
                other => push(self.invalid(
                    &a.span(),
                    "queue.ack",
                    format!("`{other}` is neither \"after-persist\" nor \"after-handle\""),
                )),
            }
        }
        match ManifestError::from_list(problems) {
            None => Ok(q),
            Some(e) => Err(e),
        }
    }
}
