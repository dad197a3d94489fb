//! The Lua scripts (in `lua/`, compiled into the binary): each runs atomically in Redis, so
//! no entry can be routed, claimed or settled between the steps of one script.
//!
//! - `routing.lua`: shared by the scripts that hand entries to instances (spliced into
//!   `commit.lua` and `take.lua` at `--ROUTING--`): `route(id, sid)` for an entry just read into
//!   `consumer`'s PEL decides who runs it (the chat's lease holder while the chat has other
//!   unfinished jobs, else `consumer`, which then takes the lease); `forward` moves an entry to
//!   another consumer's PEL and inbox.
//! - `commit.lua`: one [`crate::queue::QueueStore::commit`] (see [`super::admission`]); the
//!   key-value functions of [`crate::queue::kv::redis`] are spliced in at `--KV--`.
//! - `take.lua`: hands this consumer what it should take over: entries other instances
//!   forwarded to it (its inbox), entries nobody has read yet (replayed dead letters), and
//!   entries idle for ARGV[3] ms (a dead instance's). A chat whose lease holder is dead moves
//!   here whole (every unfinished job of it), so its order holds; an idle entry of a chat whose
//!   holder is alive is forwarded to that holder. Returns job ids.
//! - `alive.lua`: sets the instance's liveness key KEYS[1] to ARGV[1] (`<host> <pid> <token>`)
//!   for ARGV[3] ms when it is free, already ours, or holds ARGV[2] (a holder the caller found
//!   dead). Returns 1, or the current holder's value.
//! - `is_next.lua`: 1 when job ARGV[4] is the head of chat ARGV[3]'s lane (or the lane is
//!   empty) and still in consumer ARGV[2]'s PEL; 0 when an earlier job of the chat is
//!   unfinished; 2 when the job is gone or no longer in the PEL (an instance that stalled and
//!   lost its entries).
//! - `release.lua`: deletes the liveness key if it is still ours.
//! - `forget_consumers.lua`: deletes the group's consumers (not ours) that hold no entry and did
//!   nothing for ARGV[3] ms (a live instance reads every few seconds; if it was only stalled,
//!   its next read recreates it).
//! - `replay.lua`: moves dead letters (id, dead entry, revived record, chat) back into the
//!   stream and their chats' lanes; the next instance to read new entries routes them.

const ROUTING: &str = include_str!("lua/routing.lua");
const COMMIT: &str = include_str!("lua/commit.lua");
const TAKE: &str = include_str!("lua/take.lua");
const ALIVE: &str = include_str!("lua/alive.lua");
const IS_NEXT: &str = include_str!("lua/is_next.lua");
const RELEASE: &str = include_str!("lua/release.lua");
pub(super) const FORGET_CONSUMERS: &str = include_str!("lua/forget_consumers.lua");
const REPLAY: &str = include_str!("lua/replay.lua");

/// Every script, hashed once per store (a [`redis::Script`] is sent by its SHA1 and loaded on
/// the first `NOSCRIPT`).
pub(super) struct Scripts {
    pub commit: redis::Script,
    pub take: redis::Script,
    pub alive: redis::Script,
    pub is_next: redis::Script,
    pub release: redis::Script,
    pub forget_consumers: redis::Script,
    pub replay: redis::Script,
}

impl Scripts {
    pub(super) fn new() -> Scripts {
        let routed = |script: &str| redis::Script::new(&script.replace("--ROUTING--", ROUTING));
        Scripts {
            commit: redis::Script::new(
                &COMMIT
                    .replace("--ROUTING--", ROUTING)
                    .replace("--KV--", crate::queue::kv::redis::KV_LUA),
            ),
            take: routed(TAKE),
            alive: redis::Script::new(ALIVE),
            is_next: redis::Script::new(IS_NEXT),
            release: redis::Script::new(RELEASE),
            forget_consumers: redis::Script::new(FORGET_CONSUMERS),
            replay: redis::Script::new(REPLAY),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_routing_functions_are_spliced_into_the_scripts_that_route() {
        for script in [COMMIT, TAKE] {
            assert_eq!(script.matches("--ROUTING--").count(), 1);
            let routed = script.replace("--ROUTING--", ROUTING);
            assert!(routed.contains("local function route(id, sid)"));
            assert!(routed.contains("local function forward(owner, id, sid)"));
        }
    }
}
