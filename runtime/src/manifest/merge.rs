//! A handler's `merge = { window_ms, max_events, same_sender }` into [`MergeSettings`]: bounds
//! from [`MergeSettings`]'s checks, and the queue and subscription it needs, each problem at
//! its own line and column.

use toml::Spanned;

use super::handlers::Problems;
use super::raw::RawMerge;
use crate::dispatch::router::EventPattern;
use crate::queue::merge::{MergeSettings, MERGEABLE_EVENT_TYPE};
use crate::queue::QueueSettings;

/// The merge settings of one `[[handler]]` (`None` without the key); problems go to `p`,
/// prefixed with `who`. `queue` is `[queue]` when it is valid (else its own errors suffice).
pub(super) fn merge_settings(
    p: &mut Problems<'_, '_>,
    raw: &Option<Spanned<RawMerge>>,
    who: &str,
    queue: Option<&QueueSettings>,
    events: &[EventPattern],
) -> Option<MergeSettings> {
    let raw = raw.as_ref()?;
    let d = MergeSettings::default();
    let m = raw.get_ref();
    let window = p.checked(
        &m.window_ms,
        "handler.merge.window_ms",
        MergeSettings::check_window_ms,
        d.window,
    );
    let max_events = p.checked(
        &m.max_events,
        "handler.merge.max_events",
        MergeSettings::check_max_events,
        d.max_events,
    );
    if let Some(why) = queue.and_then(|q| MergeSettings::check_queue(q).err()) {
        p.add(&raw.span(), "handler.merge", format!("{who}: {why}"));
    }
    if !events.iter().any(|e| e.matches(MERGEABLE_EVENT_TYPE)) {
        p.add(
            &raw.span(),
            "handler.merge",
            format!(
                "{who}: merges {MERGEABLE_EVENT_TYPE} messages, which its events do not include"
            ),
        );
    }
    Some(MergeSettings {
        window,
        max_events,
        same_sender: m.same_sender.as_ref().is_some_and(|v| *v.get_ref()),
    })
}
