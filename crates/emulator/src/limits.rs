//! Every default and bound of the emulator, each with its reason. The emulator keeps its own
//! numbers (it is Feishu's side, not the client's): where one equals a client limit of the
//! runtime, both follow Feishu's documentation, not each other.

use std::time::Duration;

/// `service_id` put into endpoint URLs: the value seen in production URLs (§1.2).
pub const SERVICE_ID: i32 = 33554678;

/// Live connections per app before the gateway refuses with 514/1000040350: Feishu's
/// documented limit of 50 connections per app (§7).
pub const MAX_CONNECTIONS: usize = 50;

/// Payloads larger than this are split into `sum`/`seq` fragments. 64 KiB keeps every
/// WebSocket message far below Python `websockets`' 1 MiB limit (§2, §10 scenario 27).
pub const FRAGMENT_SIZE: usize = 64 * 1024;

/// How long a client has to ack an event: the documented 3-second deadline (§7).
pub const ACK_TIMEOUT: Duration = Duration::from_secs(3);

/// Waits before each redelivery: the webhook retry schedule the docs say applies to long
/// connections too (15 s, 5 min, 1 h, 6 h; §7).
pub const REDELIVERY_LADDER: [Duration; 4] = [
    Duration::from_secs(15),
    Duration::from_secs(5 * 60),
    Duration::from_secs(60 * 60),
    Duration::from_secs(6 * 60 * 60),
];

/// Most messages the delivery engine sends per hold of the state lock. A burst (100k
/// events in the benchmark) goes out in slices, so acks — which need the same lock — are
/// matched while it is sent instead of queueing behind the whole burst.
pub const SEND_BATCH: usize = 256;

/// Most queued frames the gateway writes to one socket before it flushes: a burst shares
/// writes (as a real server's buffered socket does) instead of one syscall per frame; an
/// idle queue flushes at once, so a lone frame is never delayed.
pub const WRITE_BATCH_FRAMES: usize = 64;

/// Most inbound messages already in a connection's read buffer handled under one hold of
/// the state lock: a client that acks in batches costs one lock, one engine wake-up and one
/// change notice per batch instead of per ack.
pub const READ_BATCH_MESSAGES: usize = 64;

/// Lifetime of an issued tenant_access_token: Feishu's 2 h (§9.1).
pub const TENANT_TOKEN_TTL: Duration = Duration::from_secs(2 * 60 * 60);

/// Most entries kept in each record log (acks, pings, requests, …); the oldest are dropped
/// first. Far above any test, small enough to bound a long-running demo's memory.
pub const MAX_RECORDS: usize = 100_000;

/// How long a send/reply `uuid` is remembered: Feishu sends at most one message per uuid
/// within 1 hour (§9.2); a later request with the same uuid sends a new message.
pub const MESSAGE_UUID_WINDOW: Duration = Duration::from_secs(60 * 60);

/// Most bytes of a junk message kept in its record: enough to see what it was.
pub const MAX_RECORDED_JUNK_BYTES: usize = 4 * 1024;

/// Largest WebSocket message accepted from a client (16 MiB): acks are tiny, so anything
/// near this is hostile; the limit keeps one connection from exhausting memory.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// An unused connection ticket expires after this long. Clients dial within seconds of the
/// endpoint answer; expiry only bounds memory.
pub const TICKET_TTL: Duration = Duration::from_secs(10 * 60);

/// Most unused tickets held; the oldest are dropped first.
pub const MAX_OUTSTANDING_TICKETS: usize = 10_000;

/// After sending a close frame, how long to wait for the client's close reply before
/// dropping the TCP connection (§8.2: a server should close TCP after its close frame).
pub const CLOSE_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);

/// Time allowed for a WebSocket upgrade request to arrive after TCP accept, so an idle
/// socket cannot hold a gateway slot forever.
pub const UPGRADE_TIMEOUT: Duration = Duration::from_secs(10);

/// Feishu's limit of the send and reply APIs per receiver: 5 messages per second to one user
/// or one chat (§9.4). More is answered HTTP 429 with [`RATE_LIMITED_CODE`].
pub const RECEIVER_SEND_LIMIT: usize = 5;

/// The window of [`RECEIVER_SEND_LIMIT`].
pub const RECEIVER_SEND_WINDOW: Duration = Duration::from_secs(1);

/// Feishu's "too many requests" code, sent with HTTP 429 and `x-ogw-ratelimit-reset`.
pub const RATE_LIMITED_CODE: i64 = 99991400;

/// Receivers whose recent sends are remembered before idle ones are forgotten (a bound on
/// memory; an idle receiver has nothing left to count).
pub const MAX_RATE_LIMITED_RECEIVERS: usize = 10_000;

// ---- Per-app and per-card limits, uploads (sdk) ----

/// Feishu's per-app limit on sends and replies in any second (the default of
/// [`crate::AppSendLimits`]).
pub const APP_SENDS_PER_SECOND: usize = 50;

/// Feishu's per-app limit on sends and replies in any minute.
pub const APP_SENDS_PER_MINUTE: usize = 1_000;

/// CardKit's limit of operations on one card in any [`CARD_OPS_WINDOW`] (streamed content
/// updates included); more is answered 429.
pub const CARD_OPS_LIMIT: usize = 10;

/// The window of [`CARD_OPS_LIMIT`].
pub const CARD_OPS_WINDOW: Duration = Duration::from_secs(1);

/// Cards whose recent operations are remembered before idle ones are forgotten (a bound on
/// memory, like [`MAX_RATE_LIMITED_RECEIVERS`]).
pub const MAX_RATE_LIMITED_CARDS: usize = 10_000;

/// Feishu's largest image upload (`im/v1/images`): 10 MB.
pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;

/// Feishu's largest file upload (`im/v1/files`): 30 MB.
pub const MAX_FILE_BYTES: usize = 30 * 1024 * 1024;

/// The largest request body the OpenAPI routes read: a 30 MB file plus its form (axum's
/// default of 2 MB would refuse uploads before they are judged).
pub const MAX_OPENAPI_BODY_BYTES: usize = MAX_FILE_BYTES + 1024 * 1024;

/// A card callback's token serves deferred updates for 30 minutes (from its first use here).
pub const CARD_TOKEN_TTL: Duration = Duration::from_secs(30 * 60);

/// A card callback's token serves at most two deferred updates.
pub const CARD_TOKEN_UPDATES: usize = 2;

/// CardKit card entities kept; the oldest is dropped first (a bound on memory).
pub const MAX_CARDS: usize = 10_000;

// ---- end (sdk) ----
