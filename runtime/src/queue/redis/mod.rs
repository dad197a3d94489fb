//! The `redis://` backend: one queue shared by several Aviary instances of one app.
//! `rediss://` connects with TLS (rustls; Mozilla's roots, or only the CA of
//! [`RedisUrl::with_tls_ca`]).
//!
//! **Layout.** Every key starts with `aviary:{<app id>}:` (the braces are a Redis Cluster hash
//! tag, so one app's keys live in one slot; several apps share a Redis without meeting):
//!
//! - `stream`: a Redis Stream with one entry (`job` = id) per held job, read through the
//!   consumer group `aviary`; each instance is one consumer. `XLEN` is the job count (settled
//!   entries are acked and deleted), so capacity is checked against it.
//! - `job:<id>`: a hash: `rec` = the JSON [`JobRecord`] (every handler's own state, so a retry
//!   re-runs only the failed handler), `sid` = its stream entry, `chat` = its chat id (or empty).
//! - `dedupe:<dedupe id>`: set with `NX PX <window>`; `dedupe_ids`: a sorted set of the ids by
//!   admission time (Redis `TIME`), pruned of ids older than the window and trimmed to
//!   `dedupe_max_entries` (oldest first, their keys deleted) in the commit script, at most
//!   [`lim::DEDUPE_PRUNE_PER_COMMIT`] (+ the batch's admissions) per commit.
//! - `dead`: a stream of dead letters (`id`, `rec`), read by `aviary dlq`.
//! - `next_id`: `INCR`ed for each admitted job (ids are unique across instances and increase in
//!   arrival order).
//! - `lane:<chat id>`: a sorted set of the chat's unfinished job ids; `chat:<chat id>`: the
//!   consumer that holds the chat (the lease), deleted when the lane empties.
//! - `alive:<consumer>`: `<host> <pid> <token>` of the live process using that consumer name,
//!   expiring after the claim timeout, renewed by every heartbeat.
//! - `inbox:<consumer>`: a list of job ids other instances forwarded to that consumer.
//!
//! **Ownership.** The instance that admits an event reads it into its own pending entries list
//! (PEL) in the same script, so it runs it — unless the event's chat has unfinished jobs held by
//! another consumer: then the script moves the entry to that consumer's PEL (`XCLAIM`) and
//! pushes its id to that consumer's inbox, which it waits on (`BLPOP`). So every unfinished job
//! of a chat is held by one instance, which runs them in id order; before it runs one, it checks
//! that the job is the head of the chat's lane and still in its PEL. Every
//! [`lim::REDIS_CLAIM_INTERVAL`] an instance renews its `alive` key, then touches every entry
//! it holds (`XCLAIM … JUSTID`, which resets the idle time) and claims entries idle for longer
//! than the claim timeout (`XAUTOCLAIM`): those of an instance that was killed. A claimed entry
//! of a chat whose holder is dead moves the whole lane to the claimer in the same script (so the
//! chat's order holds); one whose holder is alive is forwarded to it. A settlement is applied
//! only if the entry is still in the settling instance's PEL, so a stalled instance whose
//! entries were claimed cannot settle them under the new owner.
//!
//! **Names.** An instance's consumer name is stable (`[queue] instance`, or host + manifest
//! path), so a restarted instance reads its own PEL at start and resumes at once; its `alive`
//! key keeps two live processes from sharing a name.
//!
//! Each [`QueueStore::commit`] is one Lua script, so a batch is atomic. Durability is Redis':
//! with `appendonly yes` and `appendfsync always` an acked event survives a Redis crash; with
//! `everysec` up to a second can be lost; with persistence off, a Redis restart loses the queue.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Value};

use super::store::{Admission, Batch, ChatTurn, JobRecord, QueueStore, Settle, StoreError};
use crate::limits::queue as lim;

const GROUP: &str = "aviary";

/// Where the Redis backend is: a `redis://` or `rediss://` (TLS) URL whose password is never
/// shown (`Display` and `Debug` redact it), and for `rediss://` the PEM file of the CA that
/// signed the server's certificate (`[queue] tls_ca`), if not one of Mozilla's roots.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl {
    url: String,
    tls_ca: Option<PathBuf>,
}

impl RedisUrl {
    /// Wraps a URL (not validated here; [`RedisStore::open`] reports a bad one).
    pub fn new(url: impl Into<String>) -> RedisUrl {
        RedisUrl {
            url: url.into(),
            tls_ca: None,
        }
    }

    /// For a `rediss://` URL: trust only the CA certificate(s) in this PEM file (instead of the
    /// built-in Mozilla roots), e.g. for a self-signed deployment. Read when connecting.
    pub fn with_tls_ca(mut self, pem_file: impl Into<PathBuf>) -> RedisUrl {
        self.tls_ca = Some(pem_file.into());
        self
    }

    /// The CA file set by [`RedisUrl::with_tls_ca`].
    pub fn tls_ca(&self) -> Option<&Path> {
        self.tls_ca.as_deref()
    }

    /// Whether the URL asks for TLS (`rediss://`).
    pub fn is_tls(&self) -> bool {
        self.url.trim_start().starts_with("rediss://")
    }

    /// The URL with its password, for connecting only.
    pub fn expose(&self) -> &str {
        &self.url
    }

    /// The URL with the password replaced by `***` (what logs and errors show).
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.url) {
            Ok(mut u) => {
                if u.password().is_some() {
                    let _ = u.set_password(Some("***"));
                }
                u.to_string()
            }
            Err(_) => "<unparsable redis URL>".into(),
        }
    }

    /// A client for this URL: for `rediss://` with [`RedisUrl::tls_ca`], one that trusts that
    /// CA only. Errors say what is wrong (not naming the URL; the caller does).
    fn client(&self) -> Result<redis::Client, String> {
        let Some(ca) = &self.tls_ca else {
            return redis::Client::open(self.expose()).map_err(|e| format!("bad URL: {e}"));
        };
        let pem = read_tls_ca(ca)?;
        redis::Client::build_with_tls(
            self.expose(),
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem),
            },
        )
        .map_err(|e| format!("cannot use tls_ca `{}`: {e}", ca.display()))
    }
}

/// For a `rediss://` connection whose TLS handshake failed on the server's certificate: what
/// was trusted, and what to do about it (appended to the error).
fn tls_hint(url: &RedisUrl, error: &str) -> String {
    if !url.is_tls() || !error.to_ascii_lowercase().contains("certificate") {
        return String::new();
    }
    match url.tls_ca() {
        Some(ca) => format!(
            " (TLS: the server's certificate is not signed by the CA in tls_ca `{}`, or does \
             not name the URL's host)",
            ca.display()
        ),
        None => " (TLS: the server's certificate is not signed by a public CA (Mozilla's \
                 roots), or does not name the URL's host; for a private CA set `[queue] tls_ca`)"
            .into(),
    }
}

/// Reads a CA file for `tls_ca`: bounded, and it must hold at least one PEM certificate.
pub(crate) fn read_tls_ca(path: &Path) -> Result<Vec<u8>, String> {
    let what = |e: &dyn std::fmt::Display| format!("cannot read tls_ca `{}`: {e}", path.display());
    let len = std::fs::metadata(path).map_err(|e| what(&e))?.len();
    if len > lim::REDIS_TLS_CA_MAX_BYTES {
        return Err(format!(
            "tls_ca `{}` is {len} bytes, more than the {} a CA bundle needs",
            path.display(),
            lim::REDIS_TLS_CA_MAX_BYTES
        ));
    }
    let pem = std::fs::read(path).map_err(|e| what(&e))?;
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
        return Err(format!(
            "tls_ca `{}` holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)",
            path.display()
        ));
    }
    Ok(pem)
}

impl std::fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisUrl({})", self.redacted())
    }
}

/// The queue in Redis (see the module doc). Its methods block (on a small runtime of its own),
/// as [`QueueStore`] requires; the engine calls them on blocking threads.
pub struct RedisStore {
    rt: Option<tokio::runtime::Runtime>,
    conn: ConnectionManager,
    /// A second connection for the blocking wait on this instance's inbox.
    inbox_conn: ConnectionManager,
    url: RedisUrl,
    prefix: String,
    consumer: String,
    /// This process's value of the liveness key (`<host> <pid> <token>`).
    alive: String,
    claim_idle: Duration,
    commit_script: redis::Script,
    take_script: redis::Script,
    /// Entries this consumer received while admitting (e.g. replayed dead letters) that were
    /// not its own admissions: handed to the engine by the next [`QueueStore::claim`].
    stash: Mutex<Vec<u64>>,
    /// Jobs handed to the engine (admitted or claimed here) and not finished.
    held: Mutex<std::collections::HashSet<u64>>,
    /// Owned entries the engine did not hold at the last heartbeat.
    suspects: Mutex<std::collections::HashSet<u64>>,
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        // A stopped instance frees its name at once, so its restart need not wait.
        let key = self.key(&format!("alive:{}", self.consumer));
        let mut conn = self.conn.clone();
        let alive = self.alive.clone();
        let _ = self.block(
            async move {
                redis::Script::new(RELEASE)
                    .key(key)
                    .arg(alive)
                    .invoke_async::<Value>(&mut conn)
                    .await
            },
            "cannot release the instance name",
        );
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// Lua shared by the scripts that hand entries to instances: `route(id, sid)` for an entry just
/// read into `consumer`'s PEL decides who runs it (the chat's lease holder while the chat has
/// other unfinished jobs, else `consumer`, which then takes the lease); `forward` moves an entry
/// to another consumer's PEL and inbox.
const ROUTING: &str = r#"
local function forward(owner, id, sid)
  redis.call('XCLAIM', stream, 'aviary', owner, 0, sid, 'JUSTID')
  redis.call('RPUSH', p .. 'inbox:' .. owner, id)
end
local function route(id, sid)
  local chat = redis.call('HGET', p .. 'job:' .. id, 'chat')
  if not chat or chat == '' then return true end
  local lk = p .. 'chat:' .. chat
  local owner = redis.call('GET', lk)
  if owner and owner ~= consumer and redis.call('ZCARD', p .. 'lane:' .. chat) > 1 then
    forward(owner, id, sid)
    return false
  end
  redis.call('SET', lk, consumer)
  return true
end
"#;

const COMMIT: &str = r#"
local p, consumer = ARGV[1], ARGV[2]
local window = math.max(tonumber(ARGV[3]), 1)
local cap = tonumber(ARGV[4])
local max_ids = tonumber(ARGV[5])
local prune = tonumber(ARGV[6])
local stream = p .. 'stream'
--ROUTING--
local i = 7
local ns = tonumber(ARGV[i]); i = i + 1
for _ = 1, ns do
  local kind, id, rec = ARGV[i], ARGV[i + 1], ARGV[i + 2]; i = i + 3
  local jk = p .. 'job:' .. id
  local sid = redis.call('HGET', jk, 'sid')
  if sid then
    local mine = redis.call('XPENDING', stream, 'aviary', sid, sid, 1, consumer)
    if #mine > 0 then
      if kind == 'R' then
        redis.call('HSET', jk, 'rec', rec)
      else
        local chat = redis.call('HGET', jk, 'chat')
        redis.call('XACK', stream, 'aviary', sid)
        redis.call('XDEL', stream, sid)
        redis.call('DEL', jk)
        if kind == 'X' then
          redis.call('XADD', p .. 'dead', '*', 'id', id, 'rec', rec, 'chat', chat or '')
        end
        if chat and chat ~= '' then
          local lane = p .. 'lane:' .. chat
          redis.call('ZREM', lane, id)
          if redis.call('ZCARD', lane) == 0 then
            redis.call('DEL', p .. 'chat:' .. chat)
          end
        end
      end
    end
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = p .. 'dedupe_ids'
local na = tonumber(ARGV[i]); i = i + 1
local out, extra, away, target, added = {}, {}, {}, {}, 0
for _ = 1, na do
  local did, rec, chat = ARGV[i], ARGV[i + 1], ARGV[i + 2]; i = i + 3
  local dk = p .. 'dedupe:' .. did
  if redis.call('EXISTS', dk) == 1 then
    out[#out + 1] = 0
  elseif redis.call('XLEN', stream) >= cap then
    out[#out + 1] = -1
  else
    redis.call('SET', dk, '1', 'PX', window)
    redis.call('ZADD', ids, now, did)
    local id = redis.call('INCR', p .. 'next_id')
    local sid = redis.call('XADD', stream, '*', 'job', id)
    redis.call('HSET', p .. 'job:' .. id, 'rec', rec, 'sid', sid, 'chat', chat)
    if chat ~= '' then
      local lane = p .. 'lane:' .. chat
      redis.call('ZADD', lane, id, id)
      local lk = p .. 'chat:' .. chat
      local owner = redis.call('GET', lk)
      if redis.call('ZCARD', lane) > 1 and owner and owner ~= consumer then
        target[tostring(id)] = owner
      else
        redis.call('SET', lk, consumer)
      end
    end
    out[#out + 1] = id
    added = added + 1
  end
end
-- The dedupe set's bounds: ids older than the window leave the index (their keys expired),
-- and beyond max_ids the oldest are forgotten (bounded work per commit).
local old = redis.call('ZRANGEBYSCORE', ids, '-inf', now - window, 'LIMIT', 0, prune)
if #old > 0 then redis.call('ZREM', ids, unpack(old)) end
local over = redis.call('ZCARD', ids) - max_ids
if over > 0 then
  local popped = redis.call('ZPOPMIN', ids, math.min(over, prune + added))
  for k = 1, #popped, 2 do
    redis.call('DEL', p .. 'dedupe:' .. popped[k])
  end
end
if added > 0 then
  local r = redis.call('XREADGROUP', 'GROUP', 'aviary', consumer, 'STREAMS', stream, '>')
  if r then
    for _, e in ipairs(r[1][2]) do
      local id = e[2][2]
      local owner = target[id]
      if owner then
        forward(owner, id, e[1])
        away[#away + 1] = tonumber(id)
      elseif route(id, e[1]) then
        extra[#extra + 1] = tonumber(id)
      end
    end
  end
end
return {out, extra, away}
"#;

/// Hands this consumer what it should take over, in one script (so no entry can be routed in
/// between): entries other instances forwarded to it (its inbox), entries nobody has read yet
/// (replayed dead letters), and entries idle for ARGV[3] ms (a dead instance's). A chat whose
/// lease holder is dead moves here whole (every unfinished job of it), so its order holds; an
/// idle entry of a chat whose holder is alive is forwarded to that holder. Returns job ids.
const TAKE: &str = r#"
local p, consumer, idle, count = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local stream = p .. 'stream'
--ROUTING--
local keep = {}
local inbox = redis.call('LPOP', p .. 'inbox:' .. consumer, count) or {}
for _, id in ipairs(inbox) do
  local sid = redis.call('HGET', p .. 'job:' .. id, 'sid')
  if sid and #redis.call('XPENDING', stream, 'aviary', sid, sid, 1, consumer) > 0 then
    keep[#keep + 1] = tonumber(id)
  end
end
local r = redis.call('XREADGROUP', 'GROUP', 'aviary', consumer, 'COUNT', count, 'STREAMS', stream, '>')
if r then
  for _, e in ipairs(r[1][2]) do
    if route(e[2][2], e[1]) then keep[#keep + 1] = tonumber(e[2][2]) end
  end
end
local c = redis.call('XAUTOCLAIM', stream, 'aviary', consumer, idle, '0-0', 'COUNT', count)
for _, e in ipairs(c[2]) do
  if e and e[2] then
    local id = e[2][2]
    local chat = redis.call('HGET', p .. 'job:' .. id, 'chat')
    if not chat or chat == '' then
      keep[#keep + 1] = tonumber(id)
    else
      local lk = p .. 'chat:' .. chat
      local owner = redis.call('GET', lk)
      if owner == consumer then
        keep[#keep + 1] = tonumber(id)
      elseif owner and redis.call('EXISTS', p .. 'alive:' .. owner) == 1 then
        forward(owner, id, e[1])
      else
        redis.call('SET', lk, consumer)
        for _, jid in ipairs(redis.call('ZRANGE', p .. 'lane:' .. chat, 0, -1)) do
          local sid = redis.call('HGET', p .. 'job:' .. jid, 'sid')
          if sid then
            redis.call('XCLAIM', stream, 'aviary', consumer, 0, sid, 'JUSTID')
            keep[#keep + 1] = tonumber(jid)
          end
        end
      end
    end
  end
end
return keep
"#;

/// Sets the instance's liveness key KEYS[1] to ARGV[1] (`<host> <pid> <token>`) for ARGV[3] ms
/// when it is free, already ours, or holds ARGV[2] (a holder the caller found dead). Returns 1,
/// or the current holder's value.
const ALIVE: &str = r#"
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] and cur ~= ARGV[2] then
  return cur
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
"#;

/// 1 when job ARGV[4] is the head of chat ARGV[3]'s lane (or the lane is empty) and still in
/// consumer ARGV[2]'s PEL; 0 when an earlier job of the chat is unfinished; 2 when the job is
/// gone or no longer in the PEL (an instance that stalled and lost its entries).
const IS_NEXT: &str = r#"
local p, consumer, chat, id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local sid = redis.call('HGET', p .. 'job:' .. id, 'sid')
if not sid then return 2 end
if #redis.call('XPENDING', p .. 'stream', 'aviary', sid, sid, 1, consumer) == 0 then return 2 end
local head = redis.call('ZRANGE', p .. 'lane:' .. chat, 0, 0)
if #head > 0 and head[1] ~= id then return 0 end
return 1
"#;

/// Deletes the liveness key if it is still ours.
const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
"#;

/// Deletes the group's consumers (not ours) that hold no entry and did nothing for ARGV[3] ms
/// (a live instance reads every few seconds; if it was only stalled, its next read recreates it).
const FORGET_CONSUMERS: &str = r#"
local stream, me, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', stream, 'aviary')) do
  local f = {}
  for k = 1, #c, 2 do f[c[k]] = c[k + 1] end
  if f['name'] ~= me and tonumber(f['pending']) == 0 and tonumber(f['idle']) > limit then
    redis.call('XGROUP', 'DELCONSUMER', stream, 'aviary', f['name'])
  end
end
return 0
"#;

/// Moves dead letters (id, dead entry, revived record, chat) back into the stream and their
/// chats' lanes; the next instance to read new entries routes them.
const REPLAY: &str = r#"
local p = ARGV[1]
local moved = {}
local i = 2
while i <= #ARGV do
  local id, dsid, rec, chat = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]; i = i + 4
  if redis.call('XDEL', p .. 'dead', dsid) == 1 then
    local sid = redis.call('XADD', p .. 'stream', '*', 'job', id)
    redis.call('HSET', p .. 'job:' .. id, 'rec', rec, 'sid', sid, 'chat', chat)
    if chat ~= '' then
      redis.call('ZADD', p .. 'lane:' .. chat, id, id)
    end
    moved[#moved + 1] = tonumber(id)
  end
end
return moved
"#;

/// This host's name (`HOSTNAME`, else `/etc/hostname`, else `host`), without spaces.
pub fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().replace(' ', "_"))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into())
}

/// Whether process `pid` of this host runs (Linux: `/proc/<pid>`; elsewhere it is assumed to,
/// so a name is never taken from a live process).
fn process_runs(pid: &str) -> bool {
    match pid.parse::<u32>() {
        Ok(pid) if cfg!(target_os = "linux") => {
            pid == std::process::id() || std::path::Path::new(&format!("/proc/{pid}")).exists()
        }
        _ => true,
    }
}

fn encode(record: &JobRecord) -> String {
    serde_json::to_string(record).expect("a job record always serializes")
}

/// Stream entries as (entry id, job id).
fn entries(v: &Value) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let Value::Array(items) = v else {
        return out;
    };
    for e in items {
        let Value::Array(parts) = e else { continue };
        let (Some(sid), Some(Value::Array(fields))) = (parts.first(), parts.get(1)) else {
            continue;
        };
        let Ok(sid) = redis::from_redis_value_ref::<String>(sid) else {
            continue;
        };
        let mut job = None;
        for pair in fields.chunks(2) {
            if let [k, v] = pair {
                if redis::from_redis_value_ref::<String>(k).ok().as_deref() == Some("job") {
                    job = redis::from_redis_value_ref::<u64>(v).ok();
                }
            }
        }
        if let Some(job) = job {
            out.push((sid, job));
        }
    }
    out
}

impl RedisStore {
    /// Connects to `url` and makes sure the consumer group exists. Keys start with
    /// `aviary:{<app_id>}:`; this instance is consumer `consumer` and claims other consumers'
    /// entries idle for longer than `claim_idle`. The name is registered as live
    /// (`alive:<consumer>`, renewed by every heartbeat); if another live process holds it the
    /// open fails, saying so. Errors name the (redacted) URL and what failed.
    pub fn open(
        url: &RedisUrl,
        app_id: &str,
        consumer: &str,
        claim_idle: Duration,
    ) -> Result<RedisStore, StoreError> {
        let mut store = RedisStore::connect(url, app_id, claim_idle)?;
        match store.register(consumer)? {
            None => Ok(store),
            Some(holder) => Err(StoreError(format!(
                "queue {url}: instance name `{consumer}` is in use by another live process \
                 ({holder}); give each process its own `[queue] instance`, or, if that process \
                 just died on another host, start again after claim_idle_secs ({} s)",
                claim_idle.as_secs()
            ))),
        }
    }

    /// Like [`RedisStore::open`] for `aviary run`'s default identity: consumer `base`, or, when
    /// a live process holds that name, `base-2`, `base-3`, … (up to
    /// [`lim::REDIS_INSTANCE_SLOTS`]): the first name that is free or whose holder was a process
    /// of this host that is gone. So a restarted instance gets its predecessor's name back and
    /// resumes its pending entries at once, and several instances started from one manifest on
    /// one host get distinct names.
    pub fn open_instance(
        url: &RedisUrl,
        app_id: &str,
        base: &str,
        claim_idle: Duration,
    ) -> Result<RedisStore, StoreError> {
        let mut store = RedisStore::connect(url, app_id, claim_idle)?;
        for slot in 1..=lim::REDIS_INSTANCE_SLOTS {
            let name = if slot == 1 {
                base.to_string()
            } else {
                format!("{base}-{slot}")
            };
            if store.register(&name)?.is_none() {
                return Ok(store);
            }
        }
        Err(StoreError(format!(
            "queue {url}: the instance names `{base}` … `{base}-{}` are all held by live \
             processes; set `[queue] instance` to tell this process apart",
            lim::REDIS_INSTANCE_SLOTS
        )))
    }

    /// Takes `name` as this store's consumer if its liveness key is free, ours, or held by a
    /// process of this host that no longer runs. Returns the holder's description otherwise.
    fn register(&mut self, name: &str) -> Result<Option<String>, StoreError> {
        let key = self.key(&format!("alive:{name}"));
        let ms = self.claim_idle.as_millis() as u64;
        let mut stale = String::new();
        for _ in 0..2 {
            let mut conn = self.conn.clone();
            let script = redis::Script::new(ALIVE);
            let (k, me, st) = (key.clone(), self.alive.clone(), stale.clone());
            let got: Value = self.block(
                async move {
                    script
                        .key(k)
                        .arg(me)
                        .arg(st)
                        .arg(ms)
                        .invoke_async(&mut conn)
                        .await
                },
                "cannot register the instance name",
            )?;
            let holder = match got {
                Value::Int(1) => {
                    self.consumer = name.to_string();
                    return Ok(None);
                }
                other => redis::from_redis_value::<String>(other).unwrap_or_default(),
            };
            let mut parts = holder.split(' ');
            let (host, pid) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            if host == hostname() && !process_runs(pid) && stale.is_empty() {
                // Our host's process that held the name is gone (killed): take over its name.
                stale = holder;
                continue;
            }
            return Ok(Some(format!("process {pid} on host {host}")));
        }
        Ok(Some("a process that keeps re-registering".into()))
    }

    fn connect(
        url: &RedisUrl,
        app_id: &str,
        claim_idle: Duration,
    ) -> Result<RedisStore, StoreError> {
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            StoreError(format!(
                "queue {}: {what}: {e}{}",
                url.redacted(),
                tls_hint(url, &e.to_string())
            ))
        };
        let client = url
            .client()
            .map_err(|e| StoreError(format!("queue {}: {e}", url.redacted())))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("aviary-redis")
            .enable_all()
            .build()
            .map_err(|e| fail("cannot start its runtime", &e))?;
        let prefix = format!("aviary:{{{app_id}}}:");
        let stream = format!("{prefix}stream");
        // Connect on a thread of our own: `open` may be called from async code, where
        // blocking on another runtime is not allowed.
        let connected = std::thread::scope(|s| {
            s.spawn(|| {
                rt.block_on(async {
                    let config = redis::aio::ConnectionManagerConfig::new()
                        .set_connection_timeout(Some(lim::REDIS_RESPONSE_TIMEOUT))
                        .set_response_timeout(Some(lim::REDIS_RESPONSE_TIMEOUT))
                        .set_number_of_retries(2);
                    let mut conn =
                        ConnectionManager::new_with_config(client.clone(), config.clone())
                            .await
                            .map_err(|e| fail("cannot connect", &e))?;
                    let inbox = ConnectionManager::new_with_config(client, config)
                        .await
                        .map_err(|e| fail("cannot connect", &e))?;
                    let created: redis::RedisResult<()> = redis::cmd("XGROUP")
                        .arg("CREATE")
                        .arg(&stream)
                        .arg(GROUP)
                        .arg("0")
                        .arg("MKSTREAM")
                        .query_async(&mut conn)
                        .await;
                    match created {
                        Ok(()) => {}
                        Err(e) if e.code() == Some("BUSYGROUP") => {}
                        Err(e) => return Err(fail("cannot create the consumer group", &e)),
                    }
                    Ok((conn, inbox))
                })
            })
            .join()
            .unwrap_or_else(|_| {
                Err(StoreError(
                    "queue redis: the connect thread panicked".into(),
                ))
            })
        });
        let connected = match connected {
            Ok(c) => c,
            Err(e) => {
                // `open` may be called from async code, where dropping a runtime (which waits
                // for its blocking threads) panics.
                rt.shutdown_background();
                return Err(e);
            }
        };
        Ok(RedisStore {
            rt: Some(rt),
            conn: connected.0,
            inbox_conn: connected.1,
            url: url.clone(),
            prefix,
            consumer: String::new(),
            alive: format!(
                "{} {} {:016x}",
                hostname(),
                std::process::id(),
                rand::random::<u64>()
            ),
            claim_idle,
            commit_script: redis::Script::new(&COMMIT.replace("--ROUTING--", ROUTING)),
            take_script: redis::Script::new(&TAKE.replace("--ROUTING--", ROUTING)),
            stash: Mutex::new(Vec::new()),
            held: Mutex::default(),
            suspects: Mutex::default(),
        })
    }

    /// This instance's consumer name.
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    fn block<T: Send>(
        &self,
        f: impl std::future::Future<Output = redis::RedisResult<T>> + Send,
        what: &str,
    ) -> Result<T, StoreError> {
        let rt = self.rt.as_ref().expect("open until dropped");
        let result = if tokio::runtime::Handle::try_current().is_ok() {
            // Inside some runtime (e.g. a caller's async fn): blocking on ours here is not
            // allowed, so block on a thread of our own.
            std::thread::scope(|s| s.spawn(|| rt.block_on(f)).join()).unwrap_or_else(|_| {
                Err(redis::RedisError::from((redis::ErrorKind::Io, "panicked")))
            })
        } else {
            rt.block_on(f)
        };
        result.map_err(|e| StoreError(format!("queue {}: {what}: {e}", self.url)))
    }

    fn key(&self, k: &str) -> String {
        format!("{}{k}", self.prefix)
    }

    /// Reads the records of `ids` (an entry whose record is gone is acked and deleted).
    async fn records(
        conn: &mut ConnectionManager,
        prefix: &str,
        stream: &str,
        found: Vec<(String, u64)>,
    ) -> redis::RedisResult<Vec<JobRecord>> {
        let mut out = Vec::new();
        for (sid, id) in found {
            let rec: Option<String> = conn.hget(format!("{prefix}job:{id}"), "rec").await?;
            match rec.and_then(|r| serde_json::from_str::<JobRecord>(&r).ok()) {
                Some(mut r) => {
                    r.id = id;
                    out.push(r);
                }
                None => {
                    let _: () = conn.xack(stream, GROUP, &[&sid]).await?;
                    let _: () = conn.xdel(stream, &[&sid]).await?;
                }
            }
        }
        Ok(out)
    }
}

impl QueueStore for RedisStore {
    fn describe(&self) -> String {
        format!("redis {} (consumer {})", self.url, self.consumer)
    }

    fn commit(&self, batch: Batch) -> Result<Vec<Admission>, StoreError> {
        let mut call = self.commit_script.prepare_invoke();
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
        let mut conn = self.conn.clone();
        let (out, extra, away): (Vec<i64>, Vec<u64>, Vec<u64>) =
            self.block(call.invoke_async(&mut conn), "cannot commit")?;
        let away: std::collections::HashSet<u64> = away.into_iter().collect();
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
        let mine: std::collections::HashSet<u64> = out
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

    fn pending(&self) -> Result<Vec<JobRecord>, StoreError> {
        self.take(true)
    }

    fn claim(&self) -> Result<Vec<JobRecord>, StoreError> {
        self.take(false)
    }

    fn wait_forwarded(&self) -> Result<Vec<JobRecord>, StoreError> {
        let inbox = self.key(&format!("inbox:{}", self.consumer));
        let stream = self.key("stream");
        let prefix = self.prefix.clone();
        let consumer = self.consumer.clone();
        let mut wait = self.inbox_conn.clone();
        let mut conn = self.conn.clone();
        let records = self.block(
            async move {
                let first: Option<(String, u64)> = redis::cmd("BLPOP")
                    .arg(&inbox)
                    .arg(lim::REDIS_INBOX_WAIT.as_secs_f64())
                    .query_async(&mut wait)
                    .await?;
                let Some((_, first)) = first else {
                    return Ok(Vec::new());
                };
                let more: Option<Vec<u64>> = redis::cmd("LPOP")
                    .arg(&inbox)
                    .arg(lim::REDIS_CLAIM_BATCH)
                    .query_async(&mut conn)
                    .await?;
                let mut found = Vec::new();
                for id in std::iter::once(first).chain(more.unwrap_or_default()) {
                    let sid: Option<String> = conn.hget(format!("{prefix}job:{id}"), "sid").await?;
                    let Some(sid) = sid else { continue };
                    // Still ours (not taken over while it waited here).
                    let mine: Vec<Value> = redis::cmd("XPENDING")
                        .arg(&stream)
                        .arg(GROUP)
                        .arg(&sid)
                        .arg(&sid)
                        .arg(1)
                        .arg(&consumer)
                        .query_async(&mut conn)
                        .await?;
                    if !mine.is_empty() {
                        found.push((sid, id));
                    }
                }
                RedisStore::records(&mut conn, &prefix, &stream, found).await
            },
            "cannot read the forwarded jobs",
        )?;
        self.held
            .lock()
            .expect("held lock")
            .extend(records.iter().map(|r| r.id));
        Ok(records)
    }

    fn is_next_of_chat(&self, record: &JobRecord) -> Result<ChatTurn, StoreError> {
        let Some(chat) = &record.job.chat_id else {
            return Ok(ChatTurn::Next);
        };
        let mut conn = self.conn.clone();
        let script = redis::Script::new(IS_NEXT);
        let mut call = script.prepare_invoke();
        call.arg(&self.prefix)
            .arg(&self.consumer)
            .arg(chat)
            .arg(record.id);
        let turn: i64 = self.block(call.invoke_async(&mut conn), "cannot read a chat's lane")?;
        Ok(match turn {
            1 => ChatTurn::Next,
            2 => {
                self.held.lock().expect("held lock").remove(&record.id);
                ChatTurn::Lost
            }
            _ => ChatTurn::NotYet,
        })
    }

    fn claim_interval(&self) -> Option<Duration> {
        Some(lim::REDIS_CLAIM_INTERVAL.min(self.claim_idle / 3))
    }

    fn dead_letters(&self) -> Result<Vec<JobRecord>, StoreError> {
        Ok(self.dead_entries()?.into_iter().map(|(_, r)| r).collect())
    }

    fn replay(&self, ids: Option<&[u64]>, now_ms: u64) -> Result<Vec<u64>, StoreError> {
        let replay = redis::Script::new(REPLAY);
        let mut script = replay.prepare_invoke();
        script.arg(&self.prefix);
        for (dsid, mut r) in self.dead_entries()? {
            if ids.is_some_and(|ids| !ids.contains(&r.id)) {
                continue;
            }
            r.revive(now_ms);
            let chat = r.job.chat_id.clone().unwrap_or_default();
            script.arg(r.id).arg(dsid).arg(encode(&r)).arg(chat);
        }
        let mut conn = self.conn.clone();
        self.block(script.invoke_async(&mut conn), "cannot replay")
    }

    fn purge(&self) -> Result<u64, StoreError> {
        let dead = self.key("dead");
        let mut conn = self.conn.clone();
        self.block(
            async move {
                let n: u64 = conn.xlen(&dead).await?;
                let _: () = conn.del(&dead).await?;
                Ok(n)
            },
            "cannot purge the dead letters",
        )
    }
}

impl RedisStore {
    /// The heartbeat and takeover: renews the liveness key, touches every entry this consumer
    /// holds, and returns what it should run that the engine does not hold yet (at `start`:
    /// every entry it holds, i.e. what this instance name left when it stopped or was killed).
    fn take(&self, start: bool) -> Result<Vec<JobRecord>, StoreError> {
        let stream = self.key("stream");
        let prefix = self.prefix.clone();
        let consumer = self.consumer.clone();
        let idle = self.claim_idle.as_millis() as u64;
        let stashed: Vec<u64> = std::mem::take(&mut *self.stash.lock().expect("stash lock"));
        let known = self.held.lock().expect("held lock").clone();
        let previous = std::mem::take(&mut *self.suspects.lock().expect("suspects lock"));
        let alive_key = self.key(&format!("alive:{consumer}"));
        let alive = self.alive.clone();
        let take = self.take_script.clone();
        let mut conn = self.conn.clone();
        let (records, suspects, lost_name) = self.block(
            async move {
                // Liveness first, then the entries: a dead instance's key has expired by the
                // time its entries are idle enough to claim.
                let renewed: Value = redis::Script::new(ALIVE)
                    .key(&alive_key)
                    .arg(&alive)
                    .arg("")
                    .arg(idle)
                    .invoke_async(&mut conn)
                    .await?;
                let lost_name = !matches!(renewed, Value::Int(1));
                // Heartbeat: touch every entry we hold, so nobody claims a live instance's work.
                let held: Vec<(String, String, u64, u64)> = redis::cmd("XPENDING")
                    .arg(&stream)
                    .arg(GROUP)
                    .arg("-")
                    .arg("+")
                    .arg(1_000_000)
                    .arg(&consumer)
                    .query_async(&mut conn)
                    .await?;
                let mut ours: Vec<(String, u64)> = Vec::new();
                for chunk in held.chunks(lim::REDIS_CLAIM_BATCH) {
                    let mut c = redis::cmd("XCLAIM");
                    c.arg(&stream).arg(GROUP).arg(&consumer).arg(0);
                    for (sid, ..) in chunk {
                        c.arg(sid);
                    }
                    let v: Value = c.query_async(&mut conn).await?;
                    ours.extend(entries(&v));
                }
                let mut found: Vec<(String, u64)> = Vec::new();
                // Entries we own that the engine does not hold (a commit that ran in Redis but
                // whose reply was lost): seen twice in a row, one interval apart, so an admission
                // whose reply is on its way is not taken for one. At start, all of them.
                let mut suspects = std::collections::HashSet::new();
                for (sid, id) in ours {
                    if !known.contains(&id) {
                        if start || previous.contains(&id) {
                            found.push((sid, id));
                        } else {
                            suspects.insert(id);
                        }
                    }
                }
                // Forwarded to us, replayed dead letters, a dead instance's entries.
                let taken: Vec<u64> = take
                    .arg(&prefix)
                    .arg(&consumer)
                    .arg(idle)
                    .arg(lim::REDIS_CLAIM_BATCH)
                    .invoke_async(&mut conn)
                    .await?;
                for id in taken.into_iter().chain(stashed) {
                    let sid: Option<String> = conn.hget(format!("{prefix}job:{id}"), "sid").await?;
                    if let Some(sid) = sid {
                        found.push((sid, id));
                    }
                }
                // Forget consumers of stopped instances once their entries were claimed. One
                // script, so no entry can reach a consumer between the check and the delete.
                let _: Value = redis::Script::new(FORGET_CONSUMERS)
                    .arg(&stream)
                    .arg(&consumer)
                    .arg(idle.max(60_000))
                    .invoke_async(&mut conn)
                    .await?;
                found.sort_by_key(|(_, id)| *id);
                found.dedup_by_key(|(_, id)| *id);
                let records = RedisStore::records(&mut conn, &prefix, &stream, found).await?;
                Ok((records, suspects, lost_name))
            },
            "cannot read or claim pending entries",
        )?;
        if lost_name {
            tracing::error!(
                instance = %self.consumer,
                "queue: another process registered this instance name while this one was \
                 stalled; two processes now share one name — give each its own [queue] instance"
            );
        }
        *self.suspects.lock().expect("suspects lock") = suspects;
        self.held
            .lock()
            .expect("held lock")
            .extend(records.iter().map(|r| r.id));
        Ok(records)
    }

    /// Every dead letter with its entry id in the `dead` stream, by id.
    fn dead_entries(&self) -> Result<Vec<(String, JobRecord)>, StoreError> {
        let dead = self.key("dead");
        let mut conn = self.conn.clone();
        let rows: Vec<(String, Vec<(String, String)>)> = self.block(
            async move {
                let v: Value = conn.xrange_all(&dead).await?;
                let mut out = Vec::new();
                if let Value::Array(items) = v {
                    for e in items {
                        let (sid, fields): (String, Vec<(String, String)>) =
                            redis::from_redis_value(e)?;
                        out.push((sid, fields));
                    }
                }
                Ok(out)
            },
            "cannot read the dead letters",
        )?;
        let mut out = Vec::new();
        for (sid, fields) in rows {
            let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
            let (Some(id), Some(rec)) = (get("id"), get("rec")) else {
                continue;
            };
            let mut r: JobRecord = serde_json::from_str(rec).map_err(|e| {
                StoreError(format!(
                    "queue {}: a dead letter is unreadable: {e}",
                    self.url
                ))
            })?;
            r.id = id.parse().unwrap_or(r.id);
            out.push((sid, r));
        }
        out.sort_by_key(|(_, r)| r.id);
        Ok(out)
    }
}

/// A throwaway `redis-server` for tests: a free 127.0.0.1 port, a temp dir, no persistence;
/// killed when dropped. Panics (failing the test, never skipping it) when `redis-server` is not
/// installed, saying how to install it.
#[doc(hidden)]
pub mod test_server {
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    /// A running `redis-server` (killed on drop).
    pub struct RedisServer {
        child: Child,
        port: u16,
        dir: std::path::PathBuf,
        tls: bool,
    }

    impl RedisServer {
        /// Starts one (no persistence) and waits until it answers.
        pub fn start() -> RedisServer {
            RedisServer::start_with(&["--appendonly", "no"])
        }

        /// Starts one with these extra arguments (e.g. `--appendonly yes --appendfsync always`).
        pub fn start_with(extra: &[&str]) -> RedisServer {
            RedisServer::spawn(None, extra)
        }

        /// Starts one that only speaks TLS (`--port 0 --tls-port <free port>`) with this
        /// certificate and key (PEM files) and no client certificates; [`RedisServer::url`] is
        /// then `rediss://`.
        pub fn start_tls(cert: &std::path::Path, key: &std::path::Path) -> RedisServer {
            RedisServer::spawn(Some((cert, key)), &["--appendonly", "no"])
        }

        fn spawn(tls: Option<(&std::path::Path, &std::path::Path)>, extra: &[&str]) -> RedisServer {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let dir =
                std::env::temp_dir().join(format!("aviary-redis-{}-{port}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("temp dir");
            let mut cmd = Command::new("redis-server");
            match tls {
                None => {
                    cmd.args(["--port", &port.to_string()]);
                }
                Some((cert, key)) => {
                    cmd.args(["--port", "0", "--tls-port", &port.to_string()])
                        .arg("--tls-cert-file")
                        .arg(cert)
                        .arg("--tls-key-file")
                        .arg(key)
                        .args(["--tls-auth-clients", "no"]);
                }
            }
            let child = cmd
                .args(["--bind", "127.0.0.1"])
                .args(["--save", ""])
                .args(extra)
                .arg("--dir")
                .arg(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!(
                        "cannot start redis-server ({e}): the Redis tests need it; run \
                         scripts/setup-tests.sh (installs it with apt-get)"
                    )
                });
            let mut server = RedisServer {
                child,
                port,
                dir,
                tls: tls.is_some(),
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return server;
                }
                if let Ok(Some(status)) = server.child.try_wait() {
                    panic!(
                        "redis-server exited at once ({status}){}",
                        if server.tls {
                            " (is it built with TLS? `redis-server --tls-port` needs it)"
                        } else {
                            ""
                        }
                    );
                }
                assert!(
                    Instant::now() < deadline,
                    "redis-server did not start in 10 s"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }

        /// Its port.
        pub fn port(&self) -> u16 {
            self.port
        }

        /// `redis://127.0.0.1:<port>/<db>` (`rediss://` for [`RedisServer::start_tls`]).
        pub fn url(&self, db: u32) -> String {
            let scheme = if self.tls { "rediss" } else { "redis" };
            format!("{scheme}://127.0.0.1:{}/{db}", self.port)
        }
    }

    impl Drop for RedisServer {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_server::RedisServer;
    use super::*;
    use crate::queue::store::{ChatTurn, HandlerStatus, NewJob};

    /// An event of its own chat (`oc_<id>`).
    fn job(id: &str) -> NewJob {
        chat_job(id, &format!("oc_{id}"))
    }

    fn chat_job(id: &str, chat: &str) -> NewJob {
        NewJob {
            dedupe_id: id.into(),
            event_id: id.into(),
            event_type: "im.message.receive_v1".into(),
            chat_id: Some(chat.into()),
            trace_id: String::new(),
            envelope: "{}".into(),
            handlers: vec!["a".into(), "b".into()],
        }
    }

    fn batch(admit: Vec<NewJob>, settle: Vec<Settle>, now_ms: u64) -> Batch {
        Batch {
            admit,
            settle,
            now_ms,
            dedupe_window: Duration::from_secs(2),
            dedupe_max_entries: 3,
            capacity: 2,
        }
    }

    fn open(server: &RedisServer, app: &str, consumer: &str) -> RedisStore {
        open_idle(server, app, consumer, Duration::from_millis(600))
    }

    fn open_idle(server: &RedisServer, app: &str, consumer: &str, idle: Duration) -> RedisStore {
        RedisStore::open(&RedisUrl::new(server.url(0)), app, consumer, idle).unwrap()
    }

    fn accepted(a: &Admission) -> JobRecord {
        match a {
            Admission::Accepted(r) => (**r).clone(),
            other => panic!("not accepted: {other:?}"),
        }
    }

    #[test]
    fn admits_dedupes_bounds_retries_dead_letters_and_replays() {
        let server = RedisServer::start();
        let idle = Duration::from_secs(30);
        let store = open_idle(&server, "cli_a", "one", idle);
        let out = store
            .commit(batch(
                vec![job("a"), job("a"), job("b"), job("c")],
                vec![],
                1000,
            ))
            .unwrap();
        let a = accepted(&out[0]);
        assert_eq!(a.id, 1);
        assert_eq!(out[1], Admission::Duplicate, "a duplicate within one batch");
        let b = accepted(&out[2]);
        assert_eq!(b.id, 2);
        assert_eq!(out[3], Admission::Full, "capacity 2");
        // Another app on the same Redis is not affected by cli_a's keys.
        let other = open(&server, "cli_b", "x");
        assert!(matches!(
            other.commit(batch(vec![job("a")], vec![], 1000)).unwrap()[0],
            Admission::Accepted(_)
        ));

        // Retry: only handler a failed; the stored record keeps b done.
        let mut retry = a.clone();
        retry.states[0].attempts = 1;
        retry.states[0].next_at_ms = 5000;
        retry.states[1].status = HandlerStatus::Done;
        retry.states[1].attempts = 1;
        let out = store
            .commit(batch(
                vec![job("c")],
                vec![Settle::of(retry.clone()), Settle::Done(2)],
                2000,
            ))
            .unwrap();
        assert_eq!(accepted(&out[0]).id, 3, "c got b's room");
        // A fresh consumer sees nothing to claim yet (entries are not idle).
        let second = open_idle(&server, "cli_a", "two", idle);
        assert!(second.claim().unwrap().is_empty());
        assert_eq!(store.dead_letters().unwrap(), vec![], "nothing dead yet");

        // Dead: handler a gave up.
        let mut dead = retry.clone();
        dead.states[0].status = HandlerStatus::Dead;
        dead.states[0].last_error = Some("boom".into());
        store
            .commit(batch(vec![], vec![Settle::of(dead.clone())], 3000))
            .unwrap();
        let letters = store.dead_letters().unwrap();
        assert_eq!(letters, vec![dead.clone()]);
        // a stays deduped after it finished (within the window)...
        assert_eq!(
            store.commit(batch(vec![job("a")], vec![], 3000)).unwrap()[0],
            Admission::Duplicate
        );
        // ...and is new again after it (Redis expiry: the window is 2 s here).
        std::thread::sleep(Duration::from_millis(2100));
        let again = accepted(&store.commit(batch(vec![job("a")], vec![], 5000)).unwrap()[0]);
        assert_eq!(again.id, 4);
        store
            .commit(batch(vec![], vec![Settle::Done(4)], 5000))
            .unwrap();

        // Replay: only the dead handler is pending again; another instance picks it up.
        assert_eq!(store.replay(Some(&[99]), 6000).unwrap(), Vec::<u64>::new());
        assert_eq!(store.replay(None, 6000).unwrap(), vec![1]);
        assert!(store.dead_letters().unwrap().is_empty());
        let picked = second.claim().unwrap();
        assert_eq!(picked.len(), 1);
        assert_eq!(picked[0].id, 1);
        assert_eq!(picked[0].states[0].status, HandlerStatus::Pending);
        assert_eq!(picked[0].states[0].attempts, 0);
        assert_eq!(picked[0].states[1].status, HandlerStatus::Done);

        // Purge.
        let mut dead = picked[0].clone();
        dead.states[0].status = HandlerStatus::Dead;
        second
            .commit(batch(vec![], vec![Settle::of(dead)], 7000))
            .unwrap();
        assert_eq!(store.purge().unwrap(), 1);
        assert!(store.dead_letters().unwrap().is_empty());
    }

    #[test]
    fn a_dead_consumers_entries_are_claimed_after_the_idle_timeout_and_a_live_ones_are_not() {
        let server = RedisServer::start();
        let dying = open(&server, "cli_a", "dying");
        let live = open(&server, "cli_a", "live");
        let claimer = open(&server, "cli_a", "claimer");
        let d = accepted(&dying.commit(batch(vec![job("d")], vec![], 1)).unwrap()[0]);
        let l = accepted(&live.commit(batch(vec![job("l")], vec![], 1)).unwrap()[0]);
        let mut got = Vec::new();
        for _ in 0..5 {
            std::thread::sleep(Duration::from_millis(200));
            // The live instance's heartbeat (it may claim the dying one's entry, too).
            got.extend(live.claim().unwrap().into_iter().map(|r| (r.id, "live")));
        }
        got.extend(
            claimer
                .claim()
                .unwrap()
                .into_iter()
                .map(|r| (r.id, "claimer")),
        );
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(
            got[0].0, d.id,
            "only the silent consumer's entry is claimed: {got:?}"
        );
        let new_owner = if got[0].1 == "live" { &live } else { &claimer };
        // The dying instance (if it was only stalled) can no longer settle what was claimed.
        let mut retry = d.clone();
        retry.states[0].attempts = 9;
        dying
            .commit(batch(vec![], vec![Settle::Retry(retry)], 2))
            .unwrap();
        let mut conn = redis::Client::open(server.url(0))
            .unwrap()
            .get_connection()
            .unwrap();
        let rec: String = redis::cmd("HGET")
            .arg(format!("aviary:{{cli_a}}:job:{}", d.id))
            .arg("rec")
            .query(&mut conn)
            .unwrap();
        assert!(!rec.contains("\"attempts\":9"), "{rec}");
        new_owner
            .commit(batch(vec![], vec![Settle::Done(d.id)], 2))
            .unwrap();
        live.commit(batch(vec![], vec![Settle::Done(l.id)], 2))
            .unwrap();
        assert!(claimer.claim().unwrap().is_empty());
        let len: u64 = redis::cmd("XLEN")
            .arg("aviary:{cli_a}:stream")
            .query(&mut conn)
            .unwrap();
        assert_eq!(len, 0, "every job settled once");
    }

    #[test]
    fn consumers_of_stopped_instances_are_forgotten_once_empty() {
        let server = RedisServer::start();
        let gone = open(&server, "cli_a", "gone");
        let live = open(&server, "cli_a", "live");
        let j = accepted(&gone.commit(batch(vec![job("g")], vec![], 1)).unwrap()[0]);
        drop(gone);
        let mut conn = redis::Client::open(server.url(0))
            .unwrap()
            .get_connection()
            .unwrap();
        let names = |conn: &mut redis::Connection| -> Vec<String> {
            let v: Vec<Vec<Value>> = redis::cmd("XINFO")
                .arg("CONSUMERS")
                .arg("aviary:{cli_a}:stream")
                .arg("aviary")
                .query(conn)
                .unwrap();
            let mut n: Vec<String> = v
                .iter()
                .map(|c| redis::from_redis_value_ref(&c[1]).unwrap())
                .collect();
            n.sort();
            n
        };
        std::thread::sleep(Duration::from_millis(700));
        assert_eq!(
            live.claim().unwrap()[0].id,
            j.id,
            "claimed from the stopped one"
        );
        // Its idle time (over 700 ms) is below the 60 s floor: still listed.
        assert_eq!(names(&mut conn), vec!["gone", "live"]);
        redis::Script::new(FORGET_CONSUMERS)
            .arg("aviary:{cli_a}:stream")
            .arg("live")
            .arg(500)
            .invoke::<Value>(&mut conn)
            .unwrap();
        assert_eq!(
            names(&mut conn),
            vec!["live"],
            "empty and silent: forgotten"
        );
        live.commit(batch(vec![], vec![Settle::Done(j.id)], 2))
            .unwrap();
    }

    #[test]
    fn a_settlement_from_a_stalled_owner_is_not_applied_after_a_claim() {
        let server = RedisServer::start();
        let stalled = open(&server, "cli_a", "stalled");
        let claimer = open(&server, "cli_a", "claimer");
        let j = accepted(&stalled.commit(batch(vec![job("j")], vec![], 1)).unwrap()[0]);
        std::thread::sleep(Duration::from_millis(700));
        assert_eq!(claimer.claim().unwrap().len(), 1);
        let mut dead = j.clone();
        dead.states[0].status = HandlerStatus::Dead;
        stalled
            .commit(batch(vec![], vec![Settle::of(dead)], 2))
            .unwrap();
        assert!(
            stalled.dead_letters().unwrap().is_empty(),
            "the stalled owner's outcome is dropped"
        );
        assert!(
            stalled.describe().starts_with("redis redis://127.0.0.1:")
                && stalled.describe().ends_with("(consumer stalled)"),
            "{}",
            stalled.describe()
        );
    }

    #[test]
    fn instances_admitting_the_same_event_at_once_accept_it_once() {
        let server = RedisServer::start();
        let stores: Vec<RedisStore> = (0..4)
            .map(|i| open_idle(&server, "cli_a", &format!("c{i}"), Duration::from_secs(30)))
            .collect();
        let accepted: usize = std::thread::scope(|s| {
            let handles: Vec<_> = stores
                .iter()
                .map(|st| {
                    let mut b = batch((0..50).map(|i| job(&format!("e{i}"))).collect(), vec![], 1);
                    b.capacity = 1_000;
                    s.spawn(move || st.commit(b).unwrap())
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap()
                        .iter()
                        .filter(|a| matches!(a, Admission::Accepted(_)))
                        .count()
                })
                .sum()
        });
        assert_eq!(
            accepted, 50,
            "each of the 50 events accepted by exactly one instance"
        );
    }

    #[test]
    fn an_admission_whose_reply_was_lost_is_handed_over_by_the_heartbeat() {
        let server = RedisServer::start();
        let store = open_idle(&server, "cli_a", "one", Duration::from_secs(30));
        let kept = accepted(&store.commit(batch(vec![job("k")], vec![], 1)).unwrap()[0]);
        let lost = accepted(&store.commit(batch(vec![job("l")], vec![], 1)).unwrap()[0]);
        // As if the reply of `lost`'s commit never arrived: the engine does not hold it.
        store.held.lock().unwrap().remove(&lost.id);
        assert!(
            store.claim().unwrap().is_empty(),
            "first sighting: only a suspect"
        );
        let back = store.claim().unwrap();
        assert_eq!(back.iter().map(|r| r.id).collect::<Vec<_>>(), vec![lost.id]);
        assert!(store.claim().unwrap().is_empty(), "now held again");
        store
            .commit(batch(
                vec![],
                vec![Settle::Done(kept.id), Settle::Done(lost.id)],
                2,
            ))
            .unwrap();
        assert!(store.held.lock().unwrap().is_empty());
    }

    fn ids(records: &[JobRecord]) -> Vec<u64> {
        records.iter().map(|r| r.id).collect()
    }

    #[test]
    fn a_chats_later_events_go_to_the_instance_holding_its_earlier_ones() {
        let server = RedisServer::start();
        let idle = Duration::from_secs(30);
        let a = open_idle(&server, "cli_a", "a", idle);
        let b = open_idle(&server, "cli_a", "b", idle);
        let mut big = batch(vec![chat_job("1", "oc_x")], vec![], 1);
        big.capacity = 100;
        let x1 = accepted(&a.commit(big.clone()).unwrap()[0]);
        big.admit = vec![chat_job("2", "oc_x"), chat_job("3", "oc_y")];
        let out = b.commit(big.clone()).unwrap();
        let Admission::Forwarded(x2) = out[0] else {
            panic!("oc_x's earlier event is unfinished on a: {:?}", out[0]);
        };
        let y3 = accepted(&out[1]);
        assert!(b.claim().unwrap().is_empty(), "b must not run x2");
        assert_eq!(ids(&a.claim().unwrap()), vec![x2], "a's inbox");
        assert!(a.claim().unwrap().is_empty(), "handed over once");
        // While x2 is unfinished (even waiting for a retry), oc_x stays with a.
        big.admit = vec![];
        big.settle = vec![Settle::Done(x1.id)];
        a.commit(big.clone()).unwrap();
        big.settle = vec![];
        big.admit = vec![chat_job("4", "oc_x")];
        let Admission::Forwarded(x4) = b.commit(big.clone()).unwrap()[0] else {
            panic!("x2 is unfinished on a");
        };
        assert_eq!(ids(&a.claim().unwrap()), vec![x4]);
        big.admit = vec![];
        big.settle = vec![Settle::Done(x2), Settle::Done(x4)];
        a.commit(big.clone()).unwrap();
        // The chat is free again: its next event stays with whoever admits it.
        big.settle = vec![Settle::Done(y3.id)];
        big.admit = vec![chat_job("5", "oc_x")];
        let x5 = accepted(&b.commit(big.clone()).unwrap()[0]);
        assert!(x5.id > x4);
        let mut conn = redis::Client::open(server.url(0))
            .unwrap()
            .get_connection()
            .unwrap();
        let owner: String = redis::cmd("GET")
            .arg("aviary:{cli_a}:chat:oc_x")
            .query(&mut conn)
            .unwrap();
        assert_eq!(owner, "b");
        big.admit = vec![];
        big.settle = vec![Settle::Done(x5.id)];
        b.commit(big).unwrap();
        let left: Vec<String> = redis::cmd("KEYS")
            .arg("aviary:{cli_a}:*")
            .query(&mut conn)
            .unwrap();
        assert!(
            !left
                .iter()
                .any(|k| k.contains(":lane:") || k.contains(":chat:")),
            "no lane or lease left once every job settled: {left:?}"
        );
    }

    #[test]
    fn a_dead_holders_chat_moves_whole_to_one_claimer() {
        let server = RedisServer::start();
        let dying = open(&server, "cli_a", "dying");
        let one = open(&server, "cli_a", "one");
        let two = open(&server, "cli_a", "two");
        let mut big = batch(
            vec![chat_job("1", "oc_x"), chat_job("2", "oc_x")],
            vec![],
            1,
        );
        big.capacity = 100;
        let first: Vec<u64> = dying
            .commit(big.clone())
            .unwrap()
            .iter()
            .map(|a| accepted(a).id)
            .collect();
        // As if SIGKILLed: its liveness key expires and its entries go idle.
        std::mem::forget(dying);
        std::thread::sleep(Duration::from_millis(700));
        // A new event of the chat still joins its (dead) holder: it must not run before 1 and 2.
        big.admit = vec![chat_job("3", "oc_x")];
        let Admission::Forwarded(third) = one.commit(big.clone()).unwrap()[0] else {
            panic!("x3 must follow x1 and x2");
        };
        // 1 and 2 are idle, 3 is not: the claimer still takes the whole chat, in order.
        let got = two.claim().unwrap();
        assert_eq!(ids(&got), vec![first[0], first[1], third]);
        assert!(one.claim().unwrap().is_empty(), "nothing of oc_x for one");
        big.admit = vec![chat_job("4", "oc_x")];
        assert!(matches!(
            one.commit(big.clone()).unwrap()[0],
            Admission::Forwarded(_)
        ));
        assert_eq!(two.claim().unwrap().len(), 1, "x4 joins two");
    }

    #[test]
    fn a_chats_job_runs_only_as_its_lanes_head_and_a_stalled_holder_learns_it_lost_the_chat() {
        let server = RedisServer::start();
        let stalled = open(&server, "cli_a", "stalled");
        let other = open(&server, "cli_a", "other");
        let mut big = batch(
            vec![chat_job("1", "oc_x"), chat_job("2", "oc_x"), job("3")],
            vec![],
            1,
        );
        big.capacity = 100;
        let out: Vec<JobRecord> = stalled.commit(big).unwrap().iter().map(accepted).collect();
        assert_eq!(stalled.is_next_of_chat(&out[0]).unwrap(), ChatTurn::Next);
        assert_eq!(stalled.is_next_of_chat(&out[1]).unwrap(), ChatTurn::NotYet);
        assert_eq!(stalled.is_next_of_chat(&out[2]).unwrap(), ChatTurn::Next);
        // No heartbeat for longer than the claim timeout: its chat moves to `other`.
        std::thread::sleep(Duration::from_millis(700));
        assert_eq!(
            ids(&other.claim().unwrap()),
            vec![out[0].id, out[1].id, out[2].id]
        );
        assert_eq!(stalled.is_next_of_chat(&out[0]).unwrap(), ChatTurn::Lost);
        assert_eq!(other.is_next_of_chat(&out[0]).unwrap(), ChatTurn::Next);
        assert_eq!(other.is_next_of_chat(&out[1]).unwrap(), ChatTurn::NotYet);
    }

    #[test]
    fn the_dedupe_set_is_bounded_by_count_as_well_as_by_the_window() {
        let server = RedisServer::start();
        let store = open_idle(&server, "cli_a", "one", Duration::from_secs(30));
        let mut b = batch(
            ["a", "b", "c", "d", "e"].iter().map(|i| job(i)).collect(),
            vec![],
            1,
        );
        b.capacity = 100;
        b.dedupe_window = Duration::from_secs(3600);
        let out = store.commit(b.clone()).unwrap();
        assert!(out.iter().all(|a| matches!(a, Admission::Accepted(_))));
        let mut conn = redis::Client::open(server.url(0))
            .unwrap()
            .get_connection()
            .unwrap();
        let kept: u64 = redis::cmd("ZCARD")
            .arg("aviary:{cli_a}:dedupe_ids")
            .query(&mut conn)
            .unwrap();
        assert_eq!(kept, 3, "dedupe_max_entries = 3");
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("aviary:{cli_a}:dedupe:*")
            .query(&mut conn)
            .unwrap();
        assert_eq!(keys.len(), 3, "{keys:?}");
        // The oldest (a, b) are forgotten, the newest (e) is still a duplicate.
        b.admit = vec![job("e"), job("a")];
        let out = store.commit(b).unwrap();
        assert_eq!(out[0], Admission::Duplicate);
        assert!(matches!(out[1], Admission::Accepted(_)), "{:?}", out[1]);
    }

    #[test]
    fn an_instance_name_is_held_by_one_live_process_and_resumed_after_it_died() {
        let server = RedisServer::start();
        let idle = Duration::from_secs(30);
        let url = RedisUrl::new(server.url(0));
        let first = open_idle(&server, "cli_a", "inst", idle);
        let e = RedisStore::open(&url, "cli_a", "inst", idle)
            .err()
            .expect("the name is held");
        assert!(
            e.0.contains("instance name `inst` is in use by another live process"),
            "{e}"
        );
        // The default identity falls back to the next free name.
        let second = RedisStore::open_instance(&url, "cli_a", "inst", idle).unwrap();
        assert_eq!(second.consumer(), "inst-2");
        drop(second);
        let j = accepted(&first.commit(batch(vec![job("j")], vec![], 1)).unwrap()[0]);
        // Killed (its key stays): a holder on this host whose process is gone is replaced...
        std::mem::forget(first);
        let mut conn = redis::Client::open(server.url(0))
            .unwrap()
            .get_connection()
            .unwrap();
        let _: () = redis::cmd("SET")
            .arg("aviary:{cli_a}:alive:inst")
            .arg(format!("{} 4000000000 dead", hostname()))
            .query(&mut conn)
            .unwrap();
        let again = open_idle(&server, "cli_a", "inst", idle);
        // ...and the restarted instance resumes its entries at once, not after `idle`.
        assert_eq!(ids(&again.pending().unwrap()), vec![j.id]);
        drop(again);
        // A holder on another host is never replaced.
        let _: () = redis::cmd("SET")
            .arg("aviary:{cli_a}:alive:inst")
            .arg("elsewhere 1 tok")
            .query(&mut conn)
            .unwrap();
        let e = RedisStore::open(&url, "cli_a", "inst", idle)
            .err()
            .expect("held on another host");
        assert!(e.0.contains("host elsewhere"), "{e}");
    }

    #[test]
    fn a_password_never_appears_in_errors() {
        let server = RedisServer::start();
        let url = RedisUrl::new(format!("redis://:hunter2@127.0.0.1:{}/0", server.port()));
        let e = RedisStore::open(&url, "cli_a", "c", Duration::from_secs(1))
            .err()
            .expect("no password is set on the server, so AUTH fails");
        assert!(!e.0.contains("hunter2"), "{e}");
        assert!(e.0.contains("redis://:***@127.0.0.1"), "{e}");

        // Nothing listening: a clear error, still without the password.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = RedisUrl::new(format!("redis://app:hunter2@127.0.0.1:{port}/0"));
        let e = RedisStore::open(&url, "cli_a", "c", Duration::from_secs(1))
            .err()
            .expect("nothing listens there");
        assert!(!e.0.contains("hunter2"), "{e}");
        assert!(
            e.0.contains(&format!("redis://app:***@127.0.0.1:{port}/0"))
                && e.0.contains("cannot connect"),
            "{e}"
        );
    }
}
