//! Every limit and timeout of the runtime, in one place, each with its default and reason.
//! Other modules refer to these constants instead of writing numbers of their own.

use std::time::Duration;

use crate::protocol::reassembly::ReassemblyLimits;

/// A count outside `1..=max`; its message is the one wording of a count bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be between 1 and {max} (got {got})")]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub struct OutOfRange {
    /// The largest value allowed.
    pub max: u64,
    /// The value given.
    pub got: u64,
}

/// `n` when it is in `1..=max`, else [`OutOfRange`]. Each subsystem's settings type checks its
/// count fields with it; the manifest attaches the key and the line.
pub fn within(n: u64, max: u64) -> Result<u64, OutOfRange> {
    if n == 0 || n > max {
        Err(OutOfRange { max, got: n })
    } else {
        Ok(n)
    }
}

/// Default `connection.connection_timeout_ms`: applies to the endpoint request and, separately,
/// to the WebSocket handshake (TCP + TLS + upgrade). Same 15 s as Node's endpoint timeout
/// (§1.1); a slower answer is treated as retryable.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(15);

/// Largest endpoint answer read (64 KiB). A real answer is a URL and four numbers (< 1 KiB);
/// anything bigger is refused as a retryable error instead of being buffered.
pub const ENDPOINT_MAX_BODY_BYTES: usize = 64 * 1024;

/// Extra time beyond the ping interval before a connection with no inbound frame is declared
/// dead and replaced. 30 s matches the 150 s users settled on for a 120 s ping
/// (openclaw-lark#599) and tolerates lossy networks (lark-coding-agent-bridge#252).
pub const LIVENESS_GRACE: Duration = Duration::from_secs(30);

/// Least pause between two failed reconnect attempts, whatever the server or the manifest say
/// (ReconnectInterval may be 0): keeps an endpoint outage from turning into a hot loop of
/// requests (the reconnect storms of node-sdk#177), yet is short enough not to delay recovery.
pub const RECONNECT_INTERVAL_FLOOR: Duration = Duration::from_millis(200);

/// Fragment reassembly TTL: 5 s refreshed per fragment, as Go and Python (§5.1).
pub const REASSEMBLY_TTL: Duration = Duration::from_secs(5);

/// Largest `sum` accepted. Real events are a few KiB; 64 parts covers any real payload at the
/// emulator's and server's fragment sizes.
pub const REASSEMBLY_MAX_PARTS: u32 = 64;

/// Largest reassembled message (16 MiB): far above any real event, small enough to bound memory.
pub const REASSEMBLY_MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// Most incomplete messages held at once; the oldest is dropped first (it gets redelivered).
pub const REASSEMBLY_MAX_PENDING_MESSAGES: usize = 256;

/// Most bytes held over all incomplete messages (64 MiB).
pub const REASSEMBLY_MAX_PENDING_BYTES: usize = 64 * 1024 * 1024;

/// Largest single WebSocket message read from the socket (32 MiB): a frame larger than any
/// reassembled message plus framing is hostile.
pub const MAX_WS_MESSAGE_BYTES: usize = 32 * 1024 * 1024;

/// Events being handled at once per connection before the reader stops reading (backpressure,
/// never a drop). Manifest: `connection.receive_queue_capacity`.
pub const RECEIVE_QUEUE_CAPACITY: usize = 1024;

/// Upper bound for `connection.receive_queue_capacity`: each slot may hold a whole event (up to
/// [`REASSEMBLY_MAX_MESSAGE_BYTES`]) while its handler runs, so the bound caps memory; it is also far
/// below tokio's semaphore limit.
pub const MAX_RECEIVE_QUEUE_CAPACITY: usize = 65_536;

/// How often the session sweeps the reassembly cache for expired incomplete messages, so a lost
/// fragment's siblings are freed even when no further frame arrives (the Go/Python caches sweep
/// every 30 s; 1 s keeps memory tight at negligible cost).
pub const REASSEMBLY_SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// After sending our close frame (code 1000) on shutdown, how long to wait for the server's close
/// answer before dropping the socket.
pub const CLOSE_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);

/// Default `connection.liveness`: on, because silent dead sockets are the most reported failure
/// (oapi-sdk-go#224, openclaw-lark#543); no SDK has it on by default.
pub const LIVENESS_DEFAULT: bool = true;

/// Default `connection.auto_reconnect`: on, as in every SDK (§8.3).
pub const AUTO_RECONNECT_DEFAULT: bool = true;

/// Outbound frames (acks, pings) queued for the single writer task.
pub const WRITER_QUEUE_CAPACITY: usize = 1024;

/// Frames the writer queues before it flushes the socket: under load, up to this many acks
/// share one write (and one TCP segment train) instead of one syscall each; when the queue is
/// empty it flushes at once, so a lone ack is never delayed.
pub const WRITER_BATCH_FRAMES: usize = 64;

/// On shutdown, how long to wait for handlers in flight: the connection's, so their acks can
/// still be sent, and the queue's running jobs, so they are committed (a job cut off here
/// simply runs again at the next start).
pub const SHUTDOWN_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The reassembly bounds above, as the protocol module's type.
pub fn reassembly_limits() -> ReassemblyLimits {
    ReassemblyLimits {
        max_parts: REASSEMBLY_MAX_PARTS,
        max_message_bytes: REASSEMBLY_MAX_MESSAGE_BYTES,
        max_pending_messages: REASSEMBLY_MAX_PENDING_MESSAGES,
        max_pending_bytes: REASSEMBLY_MAX_PENDING_BYTES,
        ttl: REASSEMBLY_TTL,
    }
}

/// How long a handled event id is remembered to answer redeliveries: in memory (without the
/// queue), and the default `queue.dedupe_window_secs` of the durable queue. Feishu's retry
/// ladder (15 s, 5 min, 1 h, 6 h) spans about 7.1 h; 8 h outlasts it (§7; botmux settled on the
/// same after AionCore#796 was bitten by a 5-minute window).
pub const DEDUPE_WINDOW: Duration = Duration::from_secs(8 * 3600);

/// Most event ids remembered for dedupe (oldest forgotten first): ~100 B each, ~10 MiB at most.
pub const DEDUPE_MAX_ENTRIES: usize = 100_000;

/// Defaults and bounds of the handler sandbox ([`crate::sandbox`]), each with its reason.
/// Measurements cited are in `docs/sandbox.md`, "Fuel" (wasmtime 48, 2-core VM).
pub mod sandbox {
    use std::time::Duration;

    /// Largest `timeout` a handler may ask for: a stuck handler holds an instance slot and a
    /// concurrency permit for this long at most.
    pub const MAX_TIMEOUT: Duration = Duration::from_secs(300);

    /// Largest single linear memory any handler may have (the pooling allocator's slot size;
    /// `HandlerLimits` refuses a handler `memory` above it). Each slot reserves this much
    /// virtual address space (never committed until used), times [`MEMORIES_PER_INSTANCE`] ×
    /// [`POOL_INSTANCES`].
    pub const MAX_MEMORY_BYTES: u64 = 1024 * 1024 * 1024;

    /// Default fuel budget: none. Fuel is a deterministic instruction budget, useful when
    /// results must not depend on machine speed; the wall-clock timeout is always on.
    /// Rough calibration on the 2-core VM: about 10 M fuel per ms of guest CPU.
    pub const DEFAULT_FUEL: Option<u64> = None;

    /// Fuel given to a call of a handler without a fuel budget when its fuel is metered anyway
    /// (`aviary invoke` meters every handler, to show what it uses): effectively unlimited, the
    /// timeout ends the call.
    pub const UNLIMITED_FUEL: u64 = u64::MAX;

    /// Period of the epoch ticker thread. A busy guest yields to the executor every tick and
    /// traps at the first tick past its deadline, so timeouts fire at most about one tick
    /// late. Spin uses 10 ms; the ticker costs ~100 wake-ups per second.
    pub const EPOCH_TICK: Duration = Duration::from_millis(10);

    /// Most guest log lines kept per call (over `log`, stdout and stderr together); later
    /// lines are counted and dropped, and one final line says how many.
    pub const MAX_LOG_LINES: usize = 256;

    /// Most bytes of guest log text kept per call (64 KiB), so a flooding handler cannot grow
    /// host memory; the rest is counted and dropped.
    pub const MAX_LOG_BYTES: usize = 64 * 1024;

    /// Longest single log line kept (8 KiB); longer lines are cut and marked.
    pub const MAX_LOG_LINE_BYTES: usize = 8 * 1024;

    /// Component instances alive at once over all handlers of one engine (events in flight plus
    /// idle reused instances; handlers with a fuel budget have their own engine and pool).
    /// Above this, instantiation fails with a host error instead of growing memory.
    pub const POOL_INSTANCES: u32 = 256;

    /// Linear memories in the pool per instance slot (most components have one; a component
    /// with several uses several slots, up to [`MAX_MEMORIES_PER_MODULE`] per core module).
    pub const MEMORIES_PER_INSTANCE: u32 = 2;

    /// Core module instances in the pool per instance slot: a Rust wasip2 component holds 3–4
    /// (its module plus canonical-ABI shims).
    pub const CORE_INSTANCES_PER_INSTANCE: u32 = 8;

    /// Tables in the pool per instance slot: one or two per core instance that has any.
    pub const TABLES_PER_INSTANCE: u32 = 4;

    /// Most linear memories one core module may define (wasmtime's pool default is 1, which
    /// would refuse multi-memory guests outright). `memory_mb` is the total over all of them.
    pub const MAX_MEMORIES_PER_MODULE: u32 = 4;

    /// Bytes of each linear memory reset in place (memset/copy from the image) when its pool
    /// slot is reused, instead of being returned to the kernel with madvise and faulted in
    /// again by the next instance. With PAGEMAP_SCAN (Linux ≥ 6.7) only the pages the call
    /// dirtied are reset, up to this many bytes; 1 MiB covers what a small guest touches per
    /// event (the top of a Rust guest's 1 MiB stack, its data, a fresh heap) with room, while
    /// bounding the per-drop copy. Measured on the 2-core VM (example handler on an ignored
    /// event type, instantiate + call + drop, p50): 64 KiB without PAGEMAP_SCAN 31 µs, 1 MiB
    /// with it 15 µs (the slot no longer page-faults after each reset).
    pub const MEMORY_KEEP_RESIDENT_BYTES: usize = 1024 * 1024;

    /// Bytes of each table reset in place when its slot is reused. One host page: tables of
    /// Rust guests are a few hundred entries, 8 bytes each (the example: 122 and 10), and a
    /// table of at most one page kept resident is reset with a memset, without the
    /// PAGEMAP_SCAN ioctl wasmtime uses for larger ones (one ioctl per table per drop).
    pub const TABLE_KEEP_RESIDENT_BYTES: usize = 4096;

    /// Most instances of one handler kept idle for reuse (`reuse = N` handlers only).
    pub const MAX_IDLE_REUSED_INSTANCES: usize = 8;

    /// Largest `reuse` accepted: an instance accumulates guest state (and heap fragmentation)
    /// for this many events at most before it is replaced.
    pub const MAX_REUSE: u32 = 10_000;

    /// Events one instance serves when the manifest sets no `reuse` and the component is a
    /// guest with a heavy runtime: JavaScript (QuickJS or StarlingMonkey), Python or Go, as named
    /// by the `aviary:guest` custom section their build commands write. Measured on the 2-core VM
    /// (`cargo bench -p aviary-tests --bench languages`, 500 events): a fresh instance costs
    /// p50 0.33 ms (QuickJS), 1.3 ms (StarlingMonkey), 1.9 ms (Python) per event against
    /// 15–47 µs reused; Go (`--bench go_guest`): 1.8–7.8 ms fresh against 4–115 µs reused;
    /// Rust's fresh instance costs 15–30 µs. Rust, C and unmarked components keep a fresh
    /// instance per event by default.
    pub const HEAVY_GUEST_DEFAULT_REUSE: u32 = 1_000;

    /// Most elements in a guest table (guests with huge tables are hostile).
    pub const MAX_TABLE_ELEMENTS: usize = 100_000;

    /// Most frames kept in a trap backtrace.
    pub const MAX_BACKTRACE_FRAMES: usize = 32;

    // --- Start-up: compiling components (issue 15 §4; `sandbox::compiler`) ---

    /// Default memory budget for compiling components at once (`aviary run
    /// --compile-memory-mb`): compiles run in parallel while the sum of their estimated peaks
    /// fits; one always runs, on one thread when it alone is over. 384 MiB leaves room for the
    /// running process (~150 MiB with the four example handlers) under a 512 MiB container limit.
    pub const COMPILE_MEMORY_BUDGET_BYTES: u64 = 384 * 1024 * 1024;

    /// Estimated memory of a compile besides the component's share: the compiler process
    /// itself (binary, engine, Cranelift's working set). Measured (release, 2-core VM): a
    /// 0.55 MB Rust component compiles in 137–150 MiB peak on every core, 90 MiB on one.
    pub const COMPILE_BASE_BYTES: u64 = 112 * 1024 * 1024;

    /// Estimated compile memory per byte of component (Cranelift on every core). Measured
    /// peaks (release, 2-core VM): the 18.4 MB Python component 600–630 MiB (515 MiB on one
    /// thread), the 4.6 MB Go one ~235 MiB, the 1.8 MB QuickJS one ~185 MiB.
    pub const COMPILE_BYTES_PER_BYTE: u64 = 32;
}

/// Defaults and bounds of `[[handler]]` entries and `[dispatch]` ([`crate::dispatch`]), each
/// with its reason.
pub mod dispatch {
    use std::time::Duration;

    /// Default `handler.timeout_ms`: the wall-clock budget of one call. With the durable queue
    /// (the default) plain events are acked once persisted, so a slow handler costs nothing on
    /// the connection; with `ack = "after-handle"` Feishu redelivers an event not acked within
    /// 3 s, and the dedupe layer makes such a copy wait for the first one, so a slow handler
    /// costs a redelivery, not a double run. 10 s bounds a stuck handler without cutting off
    /// one that calls a slow API once.
    pub const HANDLER_TIMEOUT: Duration = Duration::from_secs(10);

    /// Default `handler.memory_mb`: total linear memory of one instance. 128 MiB fits a Rust
    /// guest with room to spare and a JavaScript engine guest (which needs tens of MiB).
    pub const HANDLER_MEMORY_MB: u64 = 128;

    /// Default `handler.max_concurrency`: calls of one handler at once. Bounds the worst-case
    /// memory of a handler at 8 × `memory_mb` (1 GiB at the default) while letting a handler
    /// that waits on the network overlap a few events.
    pub const HANDLER_MAX_CONCURRENCY: usize = 8;

    /// Largest `handler.max_concurrency` and `dispatch.max_in_flight`: far below tokio's
    /// semaphore limit, and beyond anything 2 GiB of instances could serve.
    pub const MAX_CONCURRENCY_BOUND: usize = 65_536;

    /// Default `dispatch.max_in_flight`: events whose handlers run at once, over all handlers.
    /// Below the connection's receive queue (1024) so events beyond it wait in dispatch holding
    /// their receive slot; once those are gone the connection stops reading (backpressure, never
    /// a drop). 256 keeps a burst moving without letting it exhaust memory.
    pub const MAX_IN_FLIGHT: usize = 256;

    /// Default `dispatch.callback_deadline_ms`: how long a card callback (`kind == callback`)
    /// waits for its handlers before acking without an answer. Feishu shows an error when the
    /// answer takes more than 3 s; 2.5 s leaves 500 ms for the ack's trip back.
    pub const CALLBACK_DEADLINE: Duration = Duration::from_millis(2500);

    /// Largest `dispatch.callback_deadline_ms`: an answer after Feishu's 3 s window is useless.
    pub const MAX_CALLBACK_DEADLINE: Duration = Duration::from_millis(3000);

    /// How often `aviary run` logs the dispatch counters (totals and per handler), when they
    /// changed; they are also logged once on shutdown. A minute keeps an idle log quiet and a
    /// busy one readable until metrics export exists.
    pub const STATS_LOG_INTERVAL: Duration = Duration::from_secs(60);

    /// Most distinct event types remembered for "no handler for this type" logging (logged once
    /// per type); beyond it, new types are logged every time rather than remembered.
    pub const NO_HANDLER_TYPES_REMEMBERED: usize = 1024;
}

/// Defaults and bounds of the durable queue (`[queue]`, [`crate::queue`]) and of the per-handler
/// retry settings, each with its reason.
pub mod queue {
    use std::time::Duration;

    /// Default `queue.path`, relative to the manifest's directory: next to the manifest, so
    /// two apps in two directories never share a queue by accident.
    pub const DEFAULT_PATH: &str = ".aviary/queue.redb";

    /// Default `queue.capacity`: jobs held (waiting, running, retrying). ~100k events of a few
    /// KiB is a few hundred MiB on disk — hours of a busy bot's traffic while handlers are down —
    /// and bounds what a restart must reload. Beyond it deliveries are not acked (Feishu
    /// redelivers on its ladder), never dropped.
    pub const CAPACITY: u64 = 100_000;

    /// Largest `queue.capacity` (the scheduler keeps each held job's record in memory).
    pub const MAX_CAPACITY: u64 = 10_000_000;

    /// Shortest `queue.dedupe_window_secs` accepted: the ladder's first step (15 s) plus the 3 s
    /// ack deadline; anything shorter lets the first redelivery through.
    pub const MIN_DEDUPE_WINDOW: Duration = Duration::from_secs(18);

    /// Default `queue.dedupe_max_entries`: ids remembered (oldest forgotten first). 1 M ids is
    /// ~40 events/s sustained for the whole 8 h window, at ~100 B each on disk.
    pub const DEDUPE_MAX_ENTRIES: u64 = 1_000_000;

    /// Most expired dedupe ids removed per commit, so pruning never makes one commit (and the
    /// acks waiting for it) slow; expiry catches up over the next commits.
    pub const DEDUPE_PRUNE_PER_COMMIT: usize = 2_000;

    /// Most operations (admissions + settlements) in one group commit. Under load a batch is
    /// whatever arrived during the previous fsync; the cap keeps one transaction (and the
    /// latency of the acks waiting for it) bounded: 2,000 events of ~1 KiB is a 2 MiB write.
    pub const GROUP_COMMIT_MAX: usize = 2_000;

    /// After a failed commit, wait this long before trying the pending settlements again (a
    /// full disk does not clear in microseconds; retrying in a loop would only flood the log).
    pub const COMMIT_RETRY_DELAY: Duration = Duration::from_millis(500);

    /// Redis backend: a pending entry whose owner has not touched it for this long is claimed
    /// (XAUTOCLAIM) by another instance, i.e. how long a SIGKILLed instance's events wait before
    /// someone else runs them. Live instances touch every entry they hold (running or waiting
    /// for a retry) every [`REDIS_CLAIM_INTERVAL`], so only a dead or stalled instance (a pause
    /// longer than this) loses its entries; 30 s is far above any GC-free stall of a healthy
    /// process yet short next to Feishu's first redelivery step that a human would notice.
    pub const REDIS_CLAIM_IDLE: Duration = Duration::from_secs(30);

    /// Shortest `queue.claim_idle_secs`: three heartbeats must fit in it.
    pub const MIN_REDIS_CLAIM_IDLE: Duration = Duration::from_secs(1);

    /// Redis backend: how often an instance touches its entries (heartbeat), looks for entries
    /// to claim, and reads replayed dead letters. A third of the smallest idle timeout it is
    /// paired with would be ideal; the store uses `min(this, claim_idle / 3)`.
    pub const REDIS_CLAIM_INTERVAL: Duration = Duration::from_secs(5);

    /// Redis backend, default instance names: a process whose name (`<host>-<hash>`) is held by
    /// a live process tries `<name>-2`, `<name>-3`, … up to this many, so this many instances can
    /// run from one manifest on one host without `[queue] instance`.
    pub const REDIS_INSTANCE_SLOTS: usize = 64;

    /// Largest `queue.tls_ca` file read: a CA bundle (even all of Mozilla's roots, ~250 KiB)
    /// fits; anything bigger is not a CA file.
    pub const REDIS_TLS_CA_MAX_BYTES: u64 = 1024 * 1024;

    /// Longest `queue.instance` (it is part of Redis key names and the consumer name).
    pub const MAX_INSTANCE_NAME: usize = 128;

    /// Redis backend: how long one blocking wait (`BLPOP`) for jobs forwarded by other instances
    /// lasts before it is renewed: short, so a stopping instance is not held up, long enough
    /// that an idle instance costs Redis one command a second.
    pub const REDIS_INBOX_WAIT: Duration = Duration::from_secs(1);

    /// Redis backend: most entries claimed or read per poll, so one poll stays short.
    pub const REDIS_CLAIM_BATCH: usize = 1_000;

    /// Redis backend: how long one Redis command may take before the store reports an error
    /// (the events waiting for it are then not acked, exactly as with a full disk).
    pub const REDIS_RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

    /// `aviary dlq` through a running `aviary run`'s socket: how long the CLI waits for the
    /// answer (a replay of many dead letters rewrites them all in one transaction).
    pub const DLQ_SOCKET_TIMEOUT: Duration = Duration::from_secs(30);

    /// "Queue full" is logged at most this often (every refusal is counted).
    pub const FULL_LOG_INTERVAL: Duration = Duration::from_secs(1);

    /// Default `handler.max_attempts`: runs of one (event, handler) pair, the first included,
    /// before it is dead-lettered. With the default backoff the last try comes ~1 min after the
    /// first: long enough to ride out a brief outage, short enough to see a broken handler soon.
    pub const MAX_ATTEMPTS: u32 = 5;

    /// Largest `handler.max_attempts`.
    pub const MAX_MAX_ATTEMPTS: u32 = 1_000;

    /// Default `handler.backoff_ms`: the wait before the second run; it doubles per run.
    pub const BACKOFF: Duration = Duration::from_secs(2);

    /// Default `handler.backoff_max_ms`: the wait never grows beyond 5 minutes.
    pub const BACKOFF_MAX: Duration = Duration::from_secs(300);
}

/// The host side of the `feishu-request` import ([`crate::openapi`]), each with its reason.
pub mod openapi {
    use std::time::Duration;

    /// Longest single OpenAPI request (token fetch included). Feishu answers in well under a
    /// second; 10 s rides out a slow moment. A call never outlives the handler's `timeout_ms`
    /// either: the shorter of the two applies.
    pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

    /// Largest response body handed to a guest (1 MiB). Message APIs answer with a few KiB; a
    /// list API page is well below this. A bigger answer is an error, not buffered.
    pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

    /// Largest request body a guest may send (1 MiB): the biggest card or post is far smaller.
    pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;

    /// Largest path (with its query) a guest may ask for.
    pub const MAX_PATH_BYTES: usize = 4 * 1024;

    /// A cached tenant_access_token is replaced this long before it expires, as the official
    /// Python SDK does (expire − 10 min), so a request never goes out with a token about to
    /// expire on the way.
    pub const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(10 * 60);

    /// Feishu's limit of the send and reply APIs per receiver: 5 messages per second to one
    /// user or one chat (shared by the bots in it). Exceeding it answers HTTP 429 / code
    /// 99991400, so the host paces sends and replies under it for every guest language
    /// (`openapi::pacing`); the emulator enforces the same number with code of its own.
    pub const RECEIVER_SEND_LIMIT: usize = 5;

    /// The window of [`RECEIVER_SEND_LIMIT`].
    pub const RECEIVER_SEND_WINDOW: Duration = Duration::from_secs(1);

    /// The host counts each send window this much longer than Feishu, so scheduling and network
    /// jitter between a send's start here and its arrival there cannot put one send too many
    /// into one of Feishu's windows.
    pub const PACING_MARGIN: Duration = Duration::from_millis(50);

    /// Receivers whose recent sends the pacer remembers before it forgets the idle ones (a
    /// bound on its memory; an idle receiver has nothing left to pace).
    pub const MAX_PACED_RECEIVERS: usize = 10_000;

    /// Feishu's "too many requests" code (with HTTP 429 and `x-ogw-ratelimit-reset`).
    pub const RATE_LIMITED_CODE: i64 = 99991400;

    /// How often one call is retried after Feishu answered 429 (each after the reset it names,
    /// and only while that fits the handler's deadline); then the call fails as rate limited.
    pub const MAX_RATE_LIMIT_RETRIES: u32 = 3;

    /// When Feishu answers 429 without a readable `x-ogw-ratelimit-reset`, the host waits this
    /// long before retrying (Feishu's windows are one second).
    pub const RATE_LIMIT_DEFAULT_RESET: Duration = Duration::from_secs(1);

    // ---- Per-app and per-card pacing (sdk) ----

    /// Default `feishu.app_sends_per_second`: Feishu lets one app send (and reply) 50 messages
    /// per second in all; more are answered 429. The host paces every handler's sends under
    /// it (`openapi::pacing`) and the emulator enforces it.
    pub const APP_SENDS_PER_SECOND: usize = 50;

    /// Default `feishu.app_sends_per_minute`: Feishu's other per-app window, 1,000 messages
    /// per minute. A send that would wait past the handler's deadline fails at once as rate
    /// limited, so the handler can answer `retry`.
    pub const APP_SENDS_PER_MINUTE: usize = 1_000;

    /// Largest `feishu.app_sends_per_second`: a quota Feishu raised for an app, or a test
    /// against the emulator, stays far below this.
    pub const MAX_APP_SENDS_PER_SECOND: usize = 1_000_000;

    /// Largest `feishu.app_sends_per_minute` (see [`MAX_APP_SENDS_PER_SECOND`]).
    pub const MAX_APP_SENDS_PER_MINUTE: usize = 60_000_000;

    /// CardKit's limit per card: 10 operations per second on one card (streamed content
    /// updates included). The host paces every call below `/open-apis/cardkit/v1/cards/{id}`
    /// and the streamed updates of `card-stream-update` under it; the emulator enforces it.
    pub const CARD_UPDATE_LIMIT: usize = 10;

    /// The window of [`CARD_UPDATE_LIMIT`].
    pub const CARD_UPDATE_WINDOW: Duration = Duration::from_secs(1);

    /// Largest file a guest may upload with `feishu-upload`: Feishu's limit for files
    /// (`im/v1/files`, 30 MB; images are limited to 10 MB by Feishu itself).
    pub const MAX_UPLOAD_BYTES: usize = 30 * 1024 * 1024;

    /// Longest upload (token fetch included): 30 MiB at a slow uplink. A call never outlives
    /// the handler's `timeout_ms` either: the shorter of the two applies.
    pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(60);

    /// Card streams (`card-stream-set`) one handler run may open: far above any bot's need,
    /// a bound on the senders one run can leave behind.
    pub const MAX_CARD_STREAMS_PER_RUN: usize = 16;

    // ---- end (sdk) ----

    /// Length of the derived `uuid` idempotency key: 32 hex characters (128 bits of SHA-256),
    /// below Feishu's 50-character limit.
    pub const UUID_HEX_CHARS: usize = 32;
}

/// Bounds of the per-handler filters (`chat_types`, `require_mention`, `ignore_senders`,
/// `max_event_age_secs`, `chats`, `users`; [`crate::dispatch::filter`]), each with its reason.
pub mod filter {
    use std::time::Duration;

    /// Largest `handler.max_event_age_secs`: 30 days. Feishu's redelivery ladder ends after
    /// about 7.1 h and the dedupe window is 8 h, so any useful bound is far below this; the cap
    /// only refuses values that are surely typos (milliseconds written as seconds).
    pub const MAX_EVENT_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

    /// Most entries of one `chats` or `users` allow-list: a set this size is checked in
    /// constant time per event and costs well under a MiB; a longer list belongs in the
    /// handler's own storage, not in the manifest.
    pub const MAX_ALLOW_LIST: usize = 10_000;

    /// `aviary run` asks `GET /open-apis/bot/v3/info` for the bot's open_id (when a filter
    /// needs it and `[feishu] bot_open_id` is unset) up to this many times before it gives up
    /// with an error: enough to ride out a brief network problem at start, short enough that a
    /// wrong app (no bot ability) is reported within seconds.
    pub const BOT_INFO_ATTEMPTS: u32 = 5;

    /// The pause between two of those attempts.
    pub const BOT_INFO_RETRY_DELAY: Duration = Duration::from_secs(2);

    /// The bound of one such request (token fetch included).
    pub const BOT_INFO_TIMEOUT: Duration = Duration::from_secs(10);
}

/// Bounds of burst merge per chat (`handler.merge`, [`crate::queue::merge`]), each with its
/// reason.
pub mod merge {
    use std::time::Duration;

    /// Default `merge.window_ms`: 1.5 s, about the pause between messages a user types in a
    /// row (the Channel SDK debounces 600 ms; typing a second line takes longer).
    pub const DEFAULT_WINDOW: Duration = Duration::from_millis(1500);

    /// Default `merge.max_events`: a turn of 10 messages is a long burst.
    pub const DEFAULT_MAX_EVENTS: usize = 10;

    /// Largest `merge.window_ms`: a minute. Events are acked when persisted, so the window
    /// never delays an ack; it delays the handler, and a user waits for the bot's answer that
    /// long. Channel SDKs debounce for well under a second; a minute covers anyone typing a
    /// long burst.
    pub const MAX_WINDOW: Duration = Duration::from_secs(60);

    /// Largest `merge.max_events`: one turn carries at most this many messages (the Channel
    /// SDK merges 8 by default).
    pub const MAX_EVENTS: usize = 100;

    /// Most bytes of original envelopes in one turn (4 MiB): a turn never grows past this, so
    /// the merged event stays far below the guest's memory limit; real messages are a few KiB.
    pub const MAX_TURN_BYTES: usize = 4 * 1024 * 1024;
}

/// The operator surface of a running app: the admin server (`[admin]`) and what it reports.
pub mod admin {
    use std::time::Duration;

    /// Default port of the admin server (`[admin] listen = "127.0.0.1:9464"`), a conventional
    /// metrics port (OpenTelemetry's Prometheus exporter uses it too); on loopback, so nothing
    /// is reachable from outside the machine unless the operator chooses an address.
    pub const DEFAULT_PORT: u16 = 9464;

    /// The dead letters are counted (a store read of every dead letter) at most this often for
    /// `/status` and `/metrics`; a scrape every 15 s costs one read, a burst of scrapes none.
    pub const DEAD_LETTER_RECOUNT: Duration = Duration::from_secs(5);

    /// How long `aviary ctl` waits for the admin server's answer. A reconnect answers once the
    /// new connection is up (an endpoint request and a handshake, each bounded by
    /// `connection_timeout_ms`, 15 s by default), so the wait covers both with room.
    pub const CTL_TIMEOUT: Duration = Duration::from_secs(40);

    /// How long `aviary ctl reload` waits: a reload answers once changed components are
    /// compiled (a large guest takes tens of seconds in a debug build, more on a busy machine).
    pub const CTL_RELOAD_TIMEOUT: Duration = Duration::from_secs(600);
}

/// Outbound HTTP from handlers ([`crate::outbound`], manifest `allowed_outbound_hosts` and
/// `[handler.http]`), each with its reason. The per-handler overrides are bounded by the `MAX_*`
/// values here.
pub mod http {
    use std::time::Duration;

    /// Default `http.max_request_bytes`: the largest body a guest may send (1 MiB). A webhook
    /// payload or an LLM prompt with context is far smaller; the bound keeps one call from
    /// copying a guest's whole memory onto the network.
    pub const MAX_REQUEST_BYTES: u64 = 1024 * 1024;

    /// Default `http.max_response_bytes`: the largest body handed back (1 MiB), read without
    /// buffering more. API answers are KiBs; the answer lands in guest memory (for Go guests in
    /// the argument arena, 4 MiB by default), so a bigger one is an error, not a trap.
    pub const MAX_RESPONSE_BYTES: u64 = 1024 * 1024;

    /// Largest `http.max_request_bytes` and `http.max_response_bytes`: 64 MiB, half the default
    /// `memory_mb` of a handler; above it a body cannot be held next to the guest's own heap.
    pub const MAX_BODY_BYTES_BOUND: u64 = 64 * 1024 * 1024;

    /// Default `http.timeout_ms`: one request, redirects and body included. 10 s rides out a
    /// slow API once (as for the OpenAPI); a request never outlives the handler's `timeout_ms`
    /// either: the shorter of the two applies.
    pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

    /// Default `http.max_requests`: requests one call of a handler may make. Ten covers a chain
    /// of API calls per event; a handler looping on requests is stopped after them.
    pub const MAX_REQUESTS_PER_CALL: u32 = 10;

    /// Largest `http.max_requests`.
    pub const MAX_REQUESTS_PER_CALL_BOUND: u32 = 1_000;

    /// Redirects followed per request (each hop checked like the first request); more is an
    /// error. Browsers allow 20; a real API redirects once or twice.
    pub const MAX_REDIRECTS: u32 = 5;

    /// Longest URL a guest may send (8 KiB, the common server limit for a request line).
    pub const MAX_URL_BYTES: usize = 8 * 1024;

    /// Most bytes of request headers a guest may send (64 KiB over all names and values):
    /// servers commonly refuse more than 8–64 KiB.
    pub const MAX_REQUEST_HEADER_BYTES: usize = 64 * 1024;

    /// Most response header bytes handed back (64 KiB); a larger header block is an error.
    pub const MAX_RESPONSE_HEADER_BYTES: usize = 64 * 1024;

    /// Entries in one handler's `allowed_outbound_hosts` (a list longer than this is a
    /// mistake, and every request walks it).
    pub const MAX_ALLOWED_HOSTS: usize = 256;

    /// Largest `http.tls_ca` file read: a CA bundle (even all of Mozilla's roots, ~250 KiB)
    /// fits; anything bigger is not a CA file.
    pub const TLS_CA_MAX_BYTES: u64 = 1024 * 1024;

    /// An idle pooled connection of a handler's client is closed after this long: long enough
    /// for a burst of events to reuse it, short enough not to hold sockets for idle handlers.
    pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
}

/// Key-value state of handlers ([`crate::kv`]): the quotas a handler's writes are checked
/// against (an over-quota write is an error the guest gets, never a trap), and the bounds that
/// keep one run's write set and one commit short.
pub mod kv {
    /// Longest key (bytes). Keys are names (`chat:oc_…:history`), not data; 512 bytes holds any
    /// composite of Feishu ids with room to spare.
    pub const MAX_KEY_BYTES: usize = 512;

    /// Largest value (256 KiB): enough for a chat's recent conversation as JSON, small enough
    /// that a commit carrying a run's writes stays far below a Redis request's and a redb
    /// page-cache's comfort.
    pub const MAX_VALUE_BYTES: usize = 256 * 1024;

    /// Most keys in one namespace (100,000): a counter or a conversation per chat for a large
    /// tenant. Beyond it a write that adds a key is refused (deletes and updates still work).
    pub const MAX_KEYS_PER_NAMESPACE: u64 = 100_000;

    /// Most bytes (keys + values) in one namespace (64 MiB): bounds what one app's handlers keep
    /// in the queue's file or Redis next to the queue itself.
    pub const MAX_BYTES_PER_NAMESPACE: u64 = 64 * 1024 * 1024;

    /// Most distinct keys one run may write (1,000): the run's writes travel in the commit that
    /// settles its event, which must stay short (one write transaction, one Lua script).
    pub const MAX_WRITES_PER_RUN: usize = 1_000;

    /// Most keys one `kv-list` call returns (also its default when the guest asks for 0): a
    /// page; the guest continues after the last key it got.
    pub const MAX_LIST_KEYS: u32 = 1_000;

    /// Expired entries removed per commit (oldest first), so one commit stays short; reads never
    /// see an expired entry, so this only bounds how fast their space is given back.
    pub const EXPIRE_PRUNE_PER_COMMIT: usize = 256;
}

/// Hot reload (`app/reload.rs`, `app/watch.rs`).
pub mod reload {
    use std::time::Duration;

    /// How often `aviary run --watch` looks at the manifest and the components: quick enough
    /// to feel immediate in a development loop, and a handful of `stat` calls per poll.
    pub const WATCH_POLL: Duration = Duration::from_millis(500);
}
