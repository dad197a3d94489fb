//! What the tests that run the `recorder` guest (tests/guests/recorder) under the real
//! `aviary run` share — the queue, crash, Redis, dead-letter and OpenAPI tests: a manifest
//! writer, numbered message events, the emulator settings for restarts, the parsing of the
//! guest's `effect <id> attempt <n>` log lines, and the exactly-once-by-effect check on the
//! recorder's replies.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use aviary_emulator::{Emulator, EmulatorConfig};

/// The emulator's app id (what every manifest here names).
pub const APP_ID: &str = "cli_0123456789abcdef";

/// Builds the `recorder` test guest and returns its path.
pub fn recorder_wasm() -> PathBuf {
    crate::guests::guest("recorder")
}

/// Message event `i`: event `ev-<i>`, message `om_<i>` in chat `oc_<i mod 40>`, saying `text`.
pub fn envelope(i: usize, text: &str) -> serde_json::Value {
    crate::message_event(
        &format!("ev-{i}"),
        &format!("om_{i}"),
        &format!("oc_{}", i % 40),
        text,
    )
}

/// `effect <id> attempt <n>` lines of one log: (id, attempt) in order.
pub fn effects(log: &Path) -> Vec<(String, u32)> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines().filter_map(effect_of_line).collect()
}

/// The (id, attempt) of one `effect <id> attempt <n>` log line, if it is one.
pub fn effect_of_line(line: &str) -> Option<(String, u32)> {
    let rest = &line[line.find("effect ")? + 7..];
    let mut words = rest.split_whitespace();
    let id = words.next()?.to_string();
    (words.next()? == "attempt").then_some(())?;
    let n = words
        .next()?
        .trim_end_matches(|c: char| !c.is_ascii_digit());
    Some((id, n.parse().ok()?))
}

/// The emulator for tests that kill and restart `aviary run`: [`crate::emulator_config`] with
/// a long ladder of short steps, so events pushed to a process that is then killed come back
/// quickly however often that happens. The ack deadline is longer than Feishu's 3 s: these
/// tests run a debug build on a shared 2-core machine, and what they check is that nothing is
/// lost or run twice, not latency.
pub fn emulator_config() -> EmulatorConfig {
    let mut c = crate::emulator_config();
    c.redelivery.scale = 1.0;
    c.redelivery.ack_timeout = Duration::from_secs(10);
    c.redelivery.ladder = [1, 2, 4]
        .into_iter()
        .chain(std::iter::repeat_n(5, 30))
        .map(Duration::from_secs)
        .collect();
    // These tests reply to thousands of events in a burst: Feishu's per-app limits (50 per
    // second, 1,000 per minute) would spread that over minutes. The manifests raise the
    // host's pacing to the same numbers (`APP_SENDS`).
    c.app_send_limits = aviary_emulator::AppSendLimits {
        per_second: 100_000,
        per_minute: 6_000_000,
    };
    c
}

/// `[feishu]` lines that raise the host's per-app pacing to the emulator's
/// ([`emulator_config`]).
pub const APP_SENDS: &str = "app_sends_per_second = 100000\napp_sends_per_minute = 6000000\n";

/// Writes `aviary.toml` in `dir`: the emulator's app, per-chat ordering, the `[queue]` table
/// `queue_table`, and one handler `rec` (the recorder guest) on every event with `retry`
/// (its `max_attempts`/backoff lines).
pub fn write_manifest(dir: &Path, emu: &Emulator, queue_table: &str, retry: &str) -> PathBuf {
    let wasm = recorder_wasm();
    let text = format!(
        "[feishu]\napp_id = \"{APP_ID}\"\napp_secret = \"emulator-secret\"\ndomain = \"{}\"\n{APP_SENDS}\n\
         [dispatch]\nper_chat_ordering = true\nmax_in_flight = 32\n\n\
         [queue]\n{queue_table}\n\
         [[handler]]\nname = \"rec\"\ncomponent = \"{}\"\nevents = [\"*\"]\n{retry}",
        emu.domain(),
        wasm.display()
    );
    let path = dir.join("aviary.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `[[handler]]` lines that let the recorder reply to messages and make it reply to every
/// event (its effect, which the emulator records; a re-run sends the same `uuid`).
pub const REPLY: &str =
    "openapi = [\"/open-apis/im/v1/messages\"]\n[handler.config]\nreply = \"yes\"\n";

/// How many replies the emulator created for each message id.
pub fn replies_per_message(emu: &Emulator) -> HashMap<String, usize> {
    let mut per = HashMap::new();
    for m in emu.sent_messages() {
        if let Some(parent) = m.reply_to {
            *per.entry(parent).or_insert(0) += 1;
        }
    }
    per
}

/// Exactly once by effect, for events `om_0` … `om_<n-1>` handled by the replying recorder:
/// the emulator sent exactly one message per event, a reply to it saying `effect <id>`, and
/// nothing else, whatever ran more than once. Returns how many repeated replies the emulator
/// suppressed by `uuid` (re-runs after a crash, retries).
pub fn assert_one_reply_per_event(emu: &Emulator, n: usize) -> u64 {
    let replies = replies_per_message(emu);
    let not_once: Vec<(&String, &usize)> = replies.iter().filter(|(_, &k)| k != 1).collect();
    assert!(
        not_once.is_empty(),
        "events with more than one reply: {not_once:?}"
    );
    let expected: HashSet<String> = (0..n).map(|i| format!("om_{i}")).collect();
    let replied: HashSet<String> = replies.keys().cloned().collect();
    let missing: Vec<&String> = expected.difference(&replied).take(20).collect();
    let extra: Vec<&String> = replied.difference(&expected).take(20).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} of {n} events replied to; missing (first 20): {missing:?}; replies to unknown \
         messages: {extra:?}",
        replied.intersection(&expected).count()
    );
    let sent = emu.sent_messages();
    assert_eq!(sent.len(), n, "no other message was sent");
    for m in &sent {
        let parent = m.reply_to.as_deref().unwrap_or_default();
        assert!(
            m.content.contains(&format!("effect {parent}\"")),
            "the reply to {parent} is another event's: {}",
            m.content
        );
    }
    emu.duplicate_messages_suppressed()
}
