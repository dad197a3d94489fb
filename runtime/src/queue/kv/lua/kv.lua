-- Key-value state (queue/kv/redis.rs), spliced into commit.lua and kv_apply.lua at --KV--; uses
-- the prefix `p` of the script it is spliced into. The same rules as queue/kv/apply.rs:
--   kv:<ns>:<key>  the value (a plain string, so INCRBY adds exactly in 64 bits)
--   kvkeys:<ns>    sorted set (score 0) of the namespace's keys, for listing by prefix
--   kvexp          sorted set of '<ns>:<key>' by expiry (ms); namespaces have no ':'
--   kvuse:<ns>     hash: keys, bytes (keys + values), kept exact by every write and removal
local function kv_k(ns, key) return p .. 'kv:' .. ns .. ':' .. key end

local function kv_drop(ns, key, v)
  redis.call('DEL', kv_k(ns, key))
  redis.call('ZREM', p .. 'kvkeys:' .. ns, key)
  redis.call('ZREM', p .. 'kvexp', ns .. ':' .. key)
  local u = p .. 'kvuse:' .. ns
  redis.call('HINCRBY', u, 'keys', -1)
  redis.call('HINCRBY', u, 'bytes', -(#key + #v))
end

-- The live value and its expiry (0: none); an expired entry is removed and reads as absent.
local function kv_live(ns, key, now)
  local v = redis.call('GET', kv_k(ns, key))
  if not v then return nil, 0 end
  local at = redis.call('ZSCORE', p .. 'kvexp', ns .. ':' .. key)
  at = at and tonumber(at) or 0
  if at ~= 0 and at <= now then
    kv_drop(ns, key, v)
    return nil, 0
  end
  return v, at
end

-- One write: kind 'S' (a = value, b = ttl secs), 'D', or 'A' (a = delta, decimal).
local function kv_write(ns, key, kind, a, b, now)
  local old, at = kv_live(ns, key, now)
  if kind == 'D' then
    if old then kv_drop(ns, key, old) end
    return
  end
  local k = kv_k(ns, key)
  local new
  if kind == 'S' then
    new = a
    local ttl = tonumber(b)
    if ttl > 0 then at = now + ttl * 1000 else at = 0 end
    redis.call('SET', k, new)
  elseif old then
    local r = redis.pcall('INCRBY', k, a)
    if type(r) == 'table' and r.err then
      -- Overflow saturates; a value that is not an integer is replaced by the delta.
      if string.find(r.err, 'overflow', 1, true) then
        if string.sub(a, 1, 1) == '-' then new = '-9223372036854775808' else new = '9223372036854775807' end
      else
        new = a
      end
      redis.call('SET', k, new)
    else
      new = redis.call('GET', k)
    end
  else
    new = a
    redis.call('SET', k, new)
  end
  local u = p .. 'kvuse:' .. ns
  if old then
    redis.call('HINCRBY', u, 'bytes', #new - #old)
  else
    redis.call('ZADD', p .. 'kvkeys:' .. ns, 0, key)
    redis.call('HINCRBY', u, 'keys', 1)
    redis.call('HINCRBY', u, 'bytes', #key + #new)
  end
  if at ~= 0 then
    redis.call('ZADD', p .. 'kvexp', at, ns .. ':' .. key)
  else
    redis.call('ZREM', p .. 'kvexp', ns .. ':' .. key)
  end
end

-- Removes up to `max` expired entries.
local function kv_prune(now, max)
  local due = redis.call('ZRANGEBYSCORE', p .. 'kvexp', '-inf', now, 'LIMIT', 0, max)
  for _, m in ipairs(due) do
    local c = string.find(m, ':', 1, true)
    local ns, key = string.sub(m, 1, c - 1), string.sub(m, c + 1)
    local v = redis.call('GET', kv_k(ns, key))
    if v then kv_drop(ns, key, v) else redis.call('ZREM', p .. 'kvexp', m) end
  end
end

-- The key-value section of the arguments from ARGV[i]: max pruned, then the number of write
-- sets, each: job id, number of writes, then 5 arguments per write (ns, key, kind, a, b). A
-- set is applied only if its job's settlement was (`applied`), or for job '0' (no job).
local function kv_commit(i, now, applied)
  local max = tonumber(ARGV[i])
  local nk = tonumber(ARGV[i + 1]); i = i + 2
  for _ = 1, nk do
    local job, n = ARGV[i], tonumber(ARGV[i + 1]); i = i + 2
    local ok = job == '0' or applied[job]
    for _ = 1, n do
      if ok then kv_write(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], now) end
      i = i + 5
    end
  end
  kv_prune(now, max)
  return i
end
